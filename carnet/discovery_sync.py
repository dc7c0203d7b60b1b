"""Keeps Home Assistant's discovery in step with what each vehicle reports.

``carnet.discovery`` builds the payloads; this module remembers what was announced, so
a config is only re-sent when it changed, an entity that stopped being reported is
removed with an empty retained config, and everything is announced again when the broker
or Home Assistant restarts.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from carnet import discovery
from carnet.api import Vehicle
from carnet.config import Config
from carnet.entities import ENTITIES, Entity
from carnet.state import VehicleState
from carnet.topics import Topics
from carnet.vehicle import VehicleRuntime

_LOG = logging.getLogger(__name__)

Send = Callable[[str, str, bool], None]


def device_info(name: str, api: Vehicle) -> discovery.DeviceInfo:
    return discovery.DeviceInfo(
        vin=api.vin, name=name, model=api.model_name, model_year=api.model_year
    )


class DiscoverySync:
    def __init__(self, config: Config, topics: Topics, send: Send) -> None:
        self._enabled = config.mqtt.discovery.enabled
        self._mode = config.mqtt.discovery.mode
        self._unlock_code = config.commands.unlock_code
        self._topics = topics
        self._send = send
        self._sent: dict[str, dict[str, str]] = {}  # vehicle -> {topic: payload}
        self._keys: dict[str, set[str]] = {}  # vehicle -> entity keys announced
        self._lock = threading.Lock()

    def publish_vehicle(self, vehicle: VehicleRuntime) -> int:
        """Announce the vehicle's entities; remove those it no longer has."""
        if not self._enabled:
            return 0
        device = device_info(vehicle.name, vehicle.api)
        state = vehicle.published_state()
        keys = {item.key for item in discovery.supported(state)}
        with self._lock:
            previous = self._keys.get(vehicle.name, set())
            self._keys[vehicle.name] = keys
        removed = [item for item in ENTITIES if item.key in previous - keys]
        messages = {
            topic: json.dumps(payload, sort_keys=True)
            for topic, payload in self._configs(device, state, removed)
        }
        with self._lock:
            before = self._sent.get(vehicle.name, {})
            changed = {t: p for t, p in messages.items() if before.get(t) != p}
            gone = [t for t in before if t not in messages]
            self._sent[vehicle.name] = messages
        for topic in gone:
            self._send(topic, "", True)
        for topic, payload in changed.items():
            self._send(topic, payload, True)
        if changed or gone:
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
        for topic, payload in discovery.removal(
            device_info(name, api), self._topics, mode=self._mode
        ):
            self._send(topic, payload, True)

    def forget(self) -> None:
        """Forget what was announced, so the next ``publish_vehicle`` sends everything."""
        with self._lock:
            self._sent.clear()

    def _configs(
        self, device: discovery.DeviceInfo, state: VehicleState, removed: list[Entity]
    ) -> list[tuple[str, dict[str, Any]]]:
        if self._mode == "device":
            # Device mode deletes a single entity by listing it with its platform only;
            # component mode deletes it by the empty config sent for its topic.
            return [
                discovery.device_config(
                    device, state, self._topics, self._unlock_code, removed=removed
                )
            ]
        return discovery.configs(
            device, state, self._topics, mode=self._mode, unlock_code=self._unlock_code
        )
