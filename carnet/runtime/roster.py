"""The account's vehicles: the vehicle list read after login, each vehicle named under a
topic name no other vehicle uses, and those that left the account removed."""

from __future__ import annotations

import logging
from collections.abc import Callable

from carnet.config import Config, VehicleConfig, mask_email
from carnet.core.errors import AuthError, CarNetError
from carnet.mqtt.link import MqttLink
from carnet.mqtt.topics import Topics, distinct_name, plain_name_owners, vehicle_name
from carnet.runtime.assumed import AssumedStore
from carnet.runtime.discovery_sync import DiscoverySync
from carnet.runtime.poller import Poller
from carnet.runtime.registry import FleetRegistry
from carnet.runtime.scheduler import Scheduler
from carnet.runtime.vehicle import AccountRuntime, VehicleRuntime
from carnet.vendor.protocol import Vehicle

_LOG = logging.getLogger(__name__)


class Roster:
    def __init__(
        self,
        config: Config,
        *,
        topics: Topics,
        link: MqttLink,
        scheduler: Scheduler,
        poller: Poller,
        discovery: DiscoverySync,
        assumed: AssumedStore,
        fleet: FleetRegistry,
        login_refused: Callable[[AccountRuntime, AuthError], None],
        publish_info: Callable[[], None],
    ) -> None:
        """``login_refused``: what a refused login means for the account's vehicles;
        ``publish_info``: sends ``bridge/info`` once the account's vehicles are known."""
        self.config = config
        self.topics = topics
        self.link = link
        self.scheduler = scheduler
        self.poller = poller
        self.discovery = discovery
        self.assumed = assumed
        self.fleet = fleet
        self._login_refused = login_refused
        self.publish_info = publish_info

    def enroll(self, account: AccountRuntime) -> None:
        account.reads.enqueue("enroll", lambda: self._enroll(account))

    def _enroll(self, account: AccountRuntime) -> None:
        if self.poller.logins.blocked(account):
            return
        try:
            vehicles = account.client.vehicles()
        except AuthError as exc:
            self._login_refused(account, exc)
            return
        except CarNetError as exc:
            _LOG.warning(
                "vehicle list of %s not read (%s); retrying in 5 minutes",
                mask_email(account.config.email),
                exc,
            )
            self.scheduler.later(300, lambda: self.enroll(account))
            return
        self.poller.logins.succeeded(account)
        account.enrolled = True
        seen: set[str] = set()
        owners = plain_name_owners(
            (v.vin, self._wanted_name(account, v))
            for v in vehicles
            if getattr(self._settings(account, v), "enabled", True)
        )
        for api_vehicle in vehicles:
            try:
                self._enroll_vehicle(account, api_vehicle, seen, owners)
            except Exception:  # one odd vehicle must not keep the account's others away
                _LOG.exception(
                    "vehicle %r of %s could not be added; the account's other vehicles go on",
                    api_vehicle.vin,
                    mask_email(account.config.email),
                )
        for vehicle in [v for v in self.fleet.vehicles_of(account) if v.name not in seen]:
            self.forget_vehicle(vehicle)
        self.publish_info()

    @staticmethod
    def _settings(account: AccountRuntime, api_vehicle: Vehicle) -> VehicleConfig | None:
        vehicles = account.config.vehicles
        return vehicles.get(api_vehicle.vin) or vehicles.get(api_vehicle.key)

    def _wanted_name(self, account: AccountRuntime, api_vehicle: Vehicle) -> str:
        settings = self._settings(account, api_vehicle)
        return vehicle_name(
            api_vehicle.vin, api_vehicle.key, settings.name if settings else None
        )

    def _enroll_vehicle(
        self, account: AccountRuntime, api_vehicle: Vehicle, seen: set[str],
        owners: dict[str, str],
    ) -> None:
        """Add one vehicle of the account's list (or note that it is known already) under
        a topic name no other vehicle uses; ``owners``: which VIN gets each name plain."""
        known = next(
            (v for v in self.fleet.vehicles_of(account) if v.api.vin == api_vehicle.vin), None
        )
        if known is not None:
            seen.add(known.name)
            return
        settings = self._settings(account, api_vehicle)
        name = self._wanted_name(account, api_vehicle)
        if settings is not None and not settings.enabled:
            self.discovery.remove_vehicle(name, api_vehicle)
            return
        interval = (
            settings.poll_interval
            if settings and settings.poll_interval
            else self.config.polling.interval
        )
        # Readers of several accounts enroll at once: choosing a free name and taking it
        # is one step.
        with self.fleet.changing():
            holder = self.fleet.vehicles().get(name)
            if holder is not None and holder.api.vin == api_vehicle.vin:
                return  # the same car through another account: it is published once
            owner = owners.get(name, api_vehicle.vin)
            if holder is not None or owner != api_vehicle.vin:
                wanted = name
                taken = {*self.fleet.vehicles(), wanted}
                name = distinct_name(wanted, api_vehicle.vin, taken)
                _LOG.warning(
                    "vehicles %r and %r both map to the topic name %s; %r is named %s "
                    "(give each a name under accounts[].vehicles to choose)",
                    holder.api.vin if holder is not None else owner,
                    api_vehicle.vin,
                    wanted,
                    api_vehicle.vin,
                    name,
                )
            seen.add(name)
            vehicle = VehicleRuntime(name, api_vehicle, account, interval)
            vehicle.assumed["poll_interval"] = interval
            vehicle.assumed["commands_waiting"] = 0
            vehicle.notes["commands_waiting"] = {"seconds": 0, "next_at": None}
            if account.client.commands_enabled:  # what the car does not report, last set
                values, notes = self.assumed.values(api_vehicle.vin)
                vehicle.assumed.update(values)
                vehicle.notes.update(notes)
            self.fleet.add_vehicle(vehicle)
        _LOG.info(
            "vehicle %s (%s %s) found",
            name,
            api_vehicle.model_name or "?",
            api_vehicle.model_year or "",
        )
        self.poller.add(vehicle)

    def forget_vehicle(self, vehicle: VehicleRuntime) -> None:
        _LOG.info("vehicle %s is gone from the account; removing it", vehicle.name)
        self.poller.remove(vehicle)
        self.fleet.remove_vehicle(vehicle)
        self.discovery.remove_vehicle(vehicle.name, vehicle.api)
        self.link.publish(self.topics.availability(vehicle.name), "offline", True)
