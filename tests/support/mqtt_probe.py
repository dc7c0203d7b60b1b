"""A paho client that records everything it receives, for asserting what the bridge published."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool
    properties: Properties | None = None

    @property
    def text(self) -> str:
        return self.payload.decode()


class Probe:
    """Subscribes to a filter and keeps every message, in order."""

    def __init__(
        self,
        port: int,
        topic_filter: str = "#",
        client_id: str = "probe",
        configure: Callable[[paho.Client], None] | None = None,
        persistent: bool = False,
    ) -> None:
        """``persistent``: an MQTT 5 session that outlives the connection (and a persistent
        broker's restart), so messages sent while the probe is away are delivered later."""
        self.messages: list[Received] = []
        self._lock = threading.Condition()
        self._filter = topic_filter
        # A topic of the probe's own, outside what it records: see ``sync``.
        self._marker_topic = f"probe-marker/{client_id}"
        self._markers_seen = 0
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5
        )
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self._subscribed = threading.Event()
        self.client.on_subscribe = lambda *args: self._subscribed.set()
        if configure is not None:  # credentials, TLS
            configure(self.client)
        if persistent:
            self.client.reconnect_delay_set(min_delay=1, max_delay=1)
            session = Properties(PacketTypes.CONNECT)
            session.SessionExpiryInterval = 3600
            self.client.connect("127.0.0.1", port, clean_start=False, properties=session)
        else:
            self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if not self._subscribed.wait(5):
            raise RuntimeError("probe could not subscribe")

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        client.subscribe([(self._filter, 1), (self._marker_topic, 1)])

    def _on_message(self, client, userdata, message) -> None:
        with self._lock:
            if message.topic == self._marker_topic:
                self._markers_seen += 1
                self._lock.notify_all()
                return
            self.messages.append(
                Received(
                    message.topic,
                    message.payload,
                    bool(message.retain),
                    getattr(message, "properties", None),
                )
            )
            self._lock.notify_all()

    def wait_for(
        self, predicate: Callable[[Received], bool], timeout: float = 10.0, count: int = 1
    ) -> list[Received]:
        """Wait until ``count`` received messages satisfy ``predicate``; return them."""
        deadline = time.monotonic() + timeout
        found: list[Received] = []
        scanned = 0
        with self._lock:
            while True:
                if scanned > len(self.messages):  # cleared meanwhile: start over
                    found, scanned = [], 0
                found.extend(m for m in self.messages[scanned:] if predicate(m))
                scanned = len(self.messages)
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = sorted({m.topic for m in self.messages})[:50]
                    raise AssertionError(
                        f"timed out waiting for {count} matching message(s), got {len(found)}; "
                        f"topics seen (first 50): {seen}"
                    )
                self._lock.wait(remaining)

    def settle(self, quiet: float = 0.5, timeout: float = 10.0) -> None:
        """Wait until nothing has arrived for ``quiet`` seconds (the start-up burst is over)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while time.monotonic() < deadline:
                count = len(self.messages)
                self._lock.wait(quiet)
                if len(self.messages) == count:
                    return
        raise AssertionError(f"messages kept arriving for {timeout}s")

    def sync(self, timeout: float = 10.0) -> None:
        """Wait until everything the broker had received before now has reached the probe.

        The probe sends itself a marker and waits for it: the broker forwards messages in
        the order it received them, so whatever a client published (and had acknowledged)
        before the marker arrives first. Unlike ``settle`` it costs no quiet time."""
        with self._lock:
            wanted = self._markers_seen + 1
        self.publish(self._marker_topic, b"")
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._markers_seen < wanted:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"the probe's marker did not come back in {timeout}s")
                self._lock.wait(remaining)

    def wait_topic(self, topic: str, timeout: float = 10.0) -> Received:
        return self.wait_for(lambda m: m.topic == topic, timeout)[-1]

    def latest(self) -> dict[str, Received]:
        """The last message of each topic."""
        with self._lock:
            return {m.topic: m for m in self.messages}

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()

    def publish(
        self,
        topic: str,
        payload: str | bytes,
        retain: bool = False,
        response_topic: str | None = None,
        correlation_data: bytes | None = None,
    ) -> None:
        properties = None
        if response_topic is not None:
            properties = Properties(PacketTypes.PUBLISH)
            properties.ResponseTopic = response_topic
            if correlation_data is not None:
                properties.CorrelationData = correlation_data
        self.client.publish(
            topic, payload, qos=1, retain=retain, properties=properties
        ).wait_for_publish(5)

    def close(self) -> None:
        # Disconnecting first wakes the network thread at once; stopping the loop first
        # leaves it asleep in select() for up to a second.
        self.client.disconnect()
        self.client.loop_stop()
