"""``bridge/info`` and the bridge device: the vehicles, the accounts and their request
figures, and the configuration's summary."""

from __future__ import annotations

import json

from carnet import __version__
from carnet.config import Config, mask_email, summary
from carnet.mqtt import bridge_device
from carnet.mqtt.publisher import StatePublisher
from carnet.mqtt.topics import Topics
from carnet.runtime.registry import FleetRegistry


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

    def publish_info(self) -> None:
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
                for v in self._fleet.vehicles().values()
            ],
            "accounts": [
                {
                    "email": mask_email(a.config.email),
                    "state": "error" if a.error else ("online" if a.enrolled else "starting"),
                    "error": a.error,
                    "commands": a.client.commands_enabled,
                    "budget": self._budgets.get(a.config.email, {}),
                }
                for a in self._fleet.accounts()
            ],
            "config": summary(self._config),
        }
        self._publisher.retained(self._topics.bridge_info, json.dumps(info, sort_keys=True))

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
        emails = [account.config.email for account in self._fleet.accounts()]
        mode = self._config.mqtt.discovery.mode
        configs = bridge_device.bridge_configs(self._topics, emails, mode, self._node_prefix)
        for topic, payload in configs:
            self._publisher.retained(topic, json.dumps(payload, sort_keys=True))
