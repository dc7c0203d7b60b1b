"""Vehicle values -> retained MQTT messages, only those that changed.

What was last sent is remembered per topic; ``forget`` clears that memory after a
(re)connect so everything is sent again, as a broker that lost its retained messages
needs. A vehicle's attribute topics that were sent once and whose value is gone now are
cleared with an empty retained message, so no stale value stays on the broker.

Several threads publish the same vehicle (the reader after a poll, the command worker's
pending values, the scheduler's republish). Each message is handed to ``send`` while the
lock is held, so the order on the broker is the order in which the memory was updated:
the broker never ends with an older value than the one remembered as sent.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from carnet.catalog.encoding import encode, json_value
from carnet.catalog.state import VehicleState
from carnet.catalog.table import ENTITIES
from carnet.mqtt.topics import Topics

_LOG = logging.getLogger(__name__)

Send = Callable[[str, str, bool], None]  # topic, payload, retain


class StatePublisher:
    def __init__(self, send: Send, topics: Topics, output: str) -> None:
        self._send = send
        self._topics = topics
        self._attributes = output in ("attribute", "attribute_and_json")
        self._json = output in ("json", "attribute_and_json")
        # topic -> hash of the payload last sent: a fingerprint tells "changed" apart, and
        # a fleet's JSON documents need not stay in memory twice.
        self._sent: dict[str, int] = {}
        # vehicle -> its attribute topics (values and details) that carry a value
        self._vehicle_topics: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def publish(self, vehicle: str, state: VehicleState) -> int:
        """Send the values that changed since last time; returns how many messages went out."""
        values = state.values
        messages: list[tuple[str, str]] = []
        attribute_topics: set[str] = set()
        document: dict[str, Any] = {}
        for entity in ENTITIES:
            if entity.key not in values or values[entity.key] is None:
                continue
            value = values[entity.key]
            if self._attributes:
                topic = self._topics.attribute(vehicle, entity.key)
                messages.append((topic, encode(entity, value)))
                attribute_topics.add(topic)
            document[entity.key] = json_value(entity, value)
        if self._json:
            messages.append((self._topics.vehicle(vehicle), json.dumps(document, sort_keys=True)))
        # Details behind an entity (Home Assistant's json_attributes_topic), in every mode.
        for key, details in state.attributes.items():
            topic = self._topics.attribute_details(vehicle, key)
            messages.append((topic, json.dumps(details, sort_keys=True)))
            attribute_topics.add(topic)
        return self._send_changed(messages, vehicle, attribute_topics)

    def availability(self, vehicle: str, online: bool) -> int:
        return self._send_changed(
            [(self._topics.availability(vehicle), "online" if online else "offline")]
        )

    def retained(self, topic: str, payload: str) -> int:
        """Any other retained topic that should only be re-sent when it changed."""
        return self._send_changed([(topic, payload)])

    def forget(self) -> None:
        """Forget what was sent, so everything is sent again (after a reconnect).

        Which attribute topics each vehicle has is kept: a value that disappears across a
        reconnect is still cleared.
        """
        with self._lock:
            self._sent.clear()

    def _send_changed(
        self,
        messages: list[tuple[str, str]],
        vehicle: str | None = None,
        attribute_topics: set[str] | None = None,
    ) -> int:
        """Send what changed; with ``vehicle``, also clear its attribute topics now absent.

        ``send`` only queues (paho sends from its own thread, in order), so calling it with
        the lock held costs nothing and keeps the broker's order equal to the memory's.
        """
        count = 0
        with self._lock:
            cleared: list[str] = []
            if vehicle is not None and attribute_topics is not None:
                before = self._vehicle_topics.get(vehicle, set())
                cleared = sorted(before - attribute_topics)
                self._vehicle_topics[vehicle] = set(attribute_topics)
            for topic in cleared:
                self._sent.pop(topic, None)
                self._send(topic, "", True)
                count += 1
            for topic, payload in messages:
                if self._sent.get(topic) == hash(payload):
                    continue
                self._sent[topic] = hash(payload)
                self._send(topic, payload, True)
                count += 1
        if count:
            _LOG.debug("published %d changed message(s)", count)
        return count
