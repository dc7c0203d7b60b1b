"""``bridge/info`` and the bridge device: the vehicles, the accounts and their request
figures, and the configuration's summary."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from carnet import __version__
from carnet.config import Config, mask_email, summary
from carnet.mqtt import bridge_device
from carnet.mqtt.publisher import StatePublisher
from carnet.mqtt.topics import Topics
from carnet.runtime.registry import FleetRegistry, LoginState, Roster
from carnet.runtime.vehicle import AccountRuntime, VehicleRuntime


class BridgeInfo:
    def __init__(
        self,
        config: Config,
        topics: Topics,
        publisher: StatePublisher,
        fleet: FleetRegistry,
        node_prefix: str,
    ) -> None:
        self._config = config
        self._topics = topics
        self._publisher = publisher
        self._fleet = fleet
        self._node_prefix = node_prefix
        self._budgets: dict[str, dict[str, object]] = {}  # account -> numbers for bridge/info
        # What the last document showed of each vehicle and its account (see ``_shown_of``).
        self._shown: dict[str, tuple[object, ...]] = {}

    def publish_if_changed(self, vehicle: VehicleRuntime) -> None:
        """After a poll: the document anew only when what it shows of this vehicle or its
        account changed. Building it costs the whole fleet, and a large fleet polls many
        times a second."""
        if self._shown.get(vehicle.name) != self._shown_of(vehicle, self._fleet.roster()):
            self.publish_info()

    def publish_info(self) -> None:
        # One snapshot: the vehicles, the accounts and their login states of one moment.
        roster = self._fleet.roster()
        self._shown = {v.name: self._shown_of(v, roster) for v in roster.vehicles.values()}
        info = {
            "version": __version__,
            "vehicles": [
                {
                    "name": v.name,
                    "vin": v.api.vin,
                    "model": v.api.model_name,
                    "model_year": v.api.model_year,
                    "account": mask_email(v.account.config.email),
                    "online": v.online,
                }
                for v in roster.vehicles.values()
            ],
            "accounts": [self._account(a, roster.login(a)) for a in roster.accounts],
            "config": summary(self._config),
        }
        self._publisher.retained(self._topics.bridge_info, json.dumps(info, sort_keys=True))

    @staticmethod
    def _shown_of(vehicle: VehicleRuntime, roster: Roster) -> tuple[object, ...]:
        """What a poll can change in the document: the vehicle's availability, and its
        account's login state and commands (a refused PIN is found during a poll)."""
        account = vehicle.account
        return (vehicle.online, account.enrolled, account.client.commands_enabled,
                roster.login(account))

    def _account(self, account: AccountRuntime, login: LoginState) -> dict[str, object]:
        return {
            "email": mask_email(account.config.email),
            "state": "error" if login.error else ("online" if account.enrolled else "starting"),
            "error": login.error,
            "error_since": since(login.since),
            "commands": account.client.commands_enabled,
            "budget": self._budgets.get(account.config.email, {}),
        }

    def count_budget(self) -> None:
        """Take the accounts' request counts for bridge/info, and publish it."""
        limits = self._config.limits
        for account in self._fleet.accounts():
            ledger = account.ledger
            if ledger is None:
                continue
            counts = ledger.counts()
            total = sum(counts.values())
            self._budgets[account.config.email] = {
                "requests_24h": counts,
                "daily_requests": limits.daily_requests,
                "left": max(limits.daily_requests - total, 0),
                "command_reserve": round(limits.daily_requests * limits.command_reserve),
                "poll_interval": round(account.poll_interval or self._config.polling.interval),
                "stretched": account.poll_interval is not None,
                "over_budget": account.over_budget,
                "commands_waiting": account.commands.pending if account.commands else 0,
            }
        self.publish_info()
        self.publish_budget_values()

    def publish_budget_values(self) -> None:
        """The budget figures of bridge/info on plain topics, for the bridge device."""
        for email, budget in list(self._budgets.items()):
            for key, value in bridge_device.account_values(budget).items():
                topic = bridge_device.account_topic(self._topics, email, key)
                self._publisher.retained(topic, str(value))

    def publish_bridge_device(self) -> None:
        if not self._config.mqtt.discovery.enabled:
            return
        emails = [account.config.email for account in self._fleet.roster().accounts]
        mode = self._config.mqtt.discovery.mode
        configs = bridge_device.bridge_configs(self._topics, emails, mode, self._node_prefix)
        for topic, payload in configs:
            self._publisher.retained(topic, json.dumps(payload, sort_keys=True))


def since(moment: float | None) -> str | None:
    """A wall-clock time for bridge/info, to the second."""
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")
