"""Keeps Home Assistant's discovery in step with what each vehicle reports.

``carnet.mqtt.discovery`` builds the payloads; this module remembers what was announced, so
a config is only re-sent when it changed, an entity that stopped being reported is
removed with an empty retained config, and everything is announced again when the broker
or Home Assistant restarts.

An entity can also vanish while the bridge is down; nothing in this process announced it,
yet its retained config is still on the broker. So once every section the bridge reads for
a vehicle has been read in this process (the climate details come after the first
status), its announcement also removes every catalog entry the vehicle does not have
(clearing a config that never existed is harmless). Not earlier: the climate entities
would be removed at every start, only to come back a few seconds later.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from carnet.catalog.model import Entity
from carnet.catalog.state import VehicleState
from carnet.catalog.table import ENTITIES
from carnet.config import Config
from carnet.mqtt import discovery
from carnet.mqtt.ha_device import ORIGIN_NAME, DeviceInfo
from carnet.mqtt.topics import Topics
from carnet.runtime.vehicle import VehicleRuntime
from carnet.vendor.protocol import Part, Vehicle

_LOG = logging.getLogger(__name__)

Send = Callable[[str, str, bool], None]


def data_complete(vehicle: VehicleRuntime) -> bool:
    """Whether every part the bridge reads for this vehicle has been read once; a costly
    part is not read without commands enabled, so then it is not waited for."""
    costly = vehicle.api.capabilities.costly_parts
    commands = vehicle.account.client.commands_enabled
    return all(
        vehicle.parts.get(part) is not None or (part in costly and not commands)
        for part in Part
    )


def device_info(
    name: str, api: Vehicle, node_prefix: str = ORIGIN_NAME
) -> DeviceInfo:
    return DeviceInfo(
        vin=api.vin, name=name, model=api.model_name, model_year=api.model_year,
        node_prefix=node_prefix, charge_currents=api.capabilities.charge_currents,
        climate_targets=api.capabilities.climate_targets,
    )


class DiscoverySync:
    def __init__(
        self, config: Config, topics: Topics, send: Send, node_prefix: str = ORIGIN_NAME
    ) -> None:
        self._node_prefix = node_prefix
        self._enabled = config.mqtt.discovery.enabled
        self._mode = config.mqtt.discovery.mode
        self._unlock_code = config.commands.unlock_code
        self._topics = topics
        self._send = send
        # vehicle -> {topic: hash of the payload}: a fleet's configs are megabytes of JSON,
        # and telling "changed" from "the same" needs only a fingerprint.
        self._sent: dict[str, dict[str, int]] = {}
        self._keys: dict[str, set[str]] = {}  # vehicle -> entity keys announced
        self._cleaned: set[str] = set()  # vehicles whose leftovers from before were removed
        self._lock = threading.Lock()

    def publish_vehicle(self, vehicle: VehicleRuntime) -> int:
        """Announce the vehicle's entities; remove those it no longer has."""
        if not self._enabled:
            return 0
        device = device_info(vehicle.name, vehicle.api, self._node_prefix)
        state = vehicle.published_state()
        commands = vehicle.account.client.commands_enabled
        keys = {item.key for item in discovery.supported(state, commands)}
        complete = data_complete(vehicle)
        # One critical section, sends included: two threads announcing the same vehicle
        # (a poll, a republish) leave the broker with what is remembered here.
        with self._lock:
            cleanup = complete and vehicle.name not in self._cleaned
            if cleanup:
                self._cleaned.add(vehicle.name)
            previous = self._keys.get(vehicle.name, set())
            self._keys[vehicle.name] = keys
            if cleanup:  # whatever a previous run announced that this vehicle does not have
                removed = [item for item in ENTITIES if item.key not in keys]
            else:
                removed = [item for item in ENTITIES if item.key in previous - keys]
            messages = {
                topic: json.dumps(payload, sort_keys=True)
                for topic, payload in self._configs(device, state, removed, commands)
            }
            before = self._sent.get(vehicle.name, {})
            changed = {t: p for t, p in messages.items() if before.get(t) != hash(p)}
            gone = [t for t in before if t not in messages]
            if self._mode == "component":
                # Component mode deletes an entity with an empty config; this also covers
                # one that vanished while nothing was remembered (a restart, ``forget``).
                stale = [t for t, _ in discovery.removal(device, self._topics, removed)]
                if cleanup:  # read-only counterparts and event families it lacks too
                    stale += discovery.possible_topics(device, self._topics)
                gone += [t for t in stale if t not in gone and t not in messages]
            self._sent[vehicle.name] = {t: hash(p) for t, p in messages.items()}
            for topic in gone:
                self._send(topic, "", True)
            for topic, payload in changed.items():
                self._send(topic, payload, True)
        if cleanup:
            _LOG.info(
                "discovery of %s: %d entity config(s) sent, %d it does not have cleared",
                vehicle.name,
                len(changed),
                len(removed),
            )
        elif changed or gone:
            _LOG.info(
                "discovery of %s: %d entity config(s) sent, %d removed",
                vehicle.name,
                len(changed),
                len(gone),
            )
        return len(changed) + len(gone)

    def remove_vehicle(self, name: str, api: Vehicle) -> None:
        """Clear every config this vehicle could have (it left the account or was disabled)."""
        if not self._enabled:
            return
        with self._lock:
            self._sent.pop(name, None)
            self._keys.pop(name, None)
            self._cleaned.discard(name)
        for topic, payload in discovery.removal(
            device_info(name, api, self._node_prefix), self._topics, mode=self._mode
        ):
            self._send(topic, payload, True)

    def forget(self) -> None:
        """Forget what was announced, so the next ``publish_vehicle`` sends everything."""
        with self._lock:
            self._sent.clear()

    def _configs(
        self,
        device: DeviceInfo,
        state: VehicleState,
        removed: list[Entity],
        commands: bool,
    ) -> list[tuple[str, dict[str, Any]]]:
        if self._mode == "device":
            # Device mode deletes a single entity by listing it with its platform only;
            # component mode deletes it by the empty config sent for its topic.
            return [
                discovery.device_config(
                    device, state, self._topics, self._unlock_code, removed=removed,
                    commands=commands,
                )
            ]
        return discovery.configs(
            device, state, self._topics, mode=self._mode, unlock_code=self._unlock_code,
            commands=commands,
        )
