"""Vehicle values -> retained MQTT messages, only those that changed.

What was last sent is remembered per topic; ``forget`` clears that memory after a
(re)connect so everything is sent again, as a broker that lost its retained messages
needs.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from carnet.entities import ENTITIES, encode, json_value
from carnet.state import VehicleState
from carnet.topics import Topics

_LOG = logging.getLogger(__name__)

Send = Callable[[str, str, bool], None]  # topic, payload, retain


class StatePublisher:
    def __init__(self, send: Send, topics: Topics, output: str) -> None:
        self._send = send
        self._topics = topics
        self._attributes = output in ("attribute", "attribute_and_json")
        self._json = output in ("json", "attribute_and_json")
        self._sent: dict[str, str] = {}
        self._lock = threading.Lock()

    def publish(self, vehicle: str, state: VehicleState) -> int:
        """Send the values that changed since last time; returns how many messages went out."""
        values = state.values
        messages: list[tuple[str, str]] = []
        document: dict[str, Any] = {}
        for entity in ENTITIES:
            if entity.key not in values or values[entity.key] is None:
                continue
            value = values[entity.key]
            if self._attributes:
                messages.append(
                    (self._topics.attribute(vehicle, entity.key), encode(entity, value))
                )
            document[entity.key] = json_value(entity, value)
        if self._json:
            messages.append((self._topics.vehicle(vehicle), json.dumps(document, sort_keys=True)))
        # Details behind an entity (Home Assistant's json_attributes_topic), in every mode.
        for key, details in state.attributes.items():
            messages.append(
                (self._topics.attribute_details(vehicle, key), json.dumps(details, sort_keys=True))
            )
        return self._send_changed(messages)

    def availability(self, vehicle: str, online: bool) -> int:
        return self._send_changed(
            [(self._topics.availability(vehicle), "online" if online else "offline")]
        )

    def retained(self, topic: str, payload: str) -> int:
        """Any other retained topic that should only be re-sent when it changed."""
        return self._send_changed([(topic, payload)])

    def forget(self, prefix: str | None = None) -> None:
        """Forget what was sent (all, or topics under ``prefix``) so it is sent again."""
        with self._lock:
            if prefix is None:
                self._sent.clear()
            else:
                for topic in [t for t in self._sent if t.startswith(prefix)]:
                    del self._sent[topic]

    def _send_changed(self, messages: list[tuple[str, str]]) -> int:
        count = 0
        with self._lock:
            changed = [(t, p) for t, p in messages if self._sent.get(t) != p]
            for topic, payload in changed:
                self._sent[topic] = payload
        for topic, payload in changed:
            self._send(topic, payload, True)
            count += 1
        if count:
            _LOG.debug("published %d changed message(s)", count)
        return count
