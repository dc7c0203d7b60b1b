"""The link's outbox and the sender thread that empties it into paho.

Outgoing messages wait in the outbox, which never drops one, and the sender thread hands
them to paho in order, never more at a time than the broker accepts (its MQTT 5 Receive
Maximum, else a window mosquitto's defaults accept). paho alone would either send
everything at once, which a broker answers with "quota exceeded" and loses, or keep its
own queue, whose 16-bit message ids wrap in a flood ("Message queue full"). A message the
broker refuses with a failure reason code is sent again.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass

import paho.mqtt.client as paho
from paho.mqtt.properties import Properties

from carnet.core.memory import release_freed_memory
from carnet.mqtt.ack_probe import ACK_TIMEOUT, PROBE_GRACE, AckProbe

# The link's logger: its messages read as the connection's, whichever module sends them.
_LOG = logging.getLogger("carnet.mqtt.link")

IN_FLIGHT = 20
"""Messages in flight (sent, not yet acknowledged) at most: mosquitto's default
max_inflight_messages, which it also announces as Receive Maximum. MQTT 3.1.1 has no
way to learn the broker's limit, so this is the window there."""

QOS0_WINDOW = 200
"""At QoS 0 the broker acknowledges nothing; this bounds what paho buffers instead."""

MAX_ATTEMPTS = 10
"""A message the broker refuses this many times (not a quota: an ACL, a bad topic) is
logged and dropped rather than sent forever."""

OUTBOX_HIGH = 5_000
"""Messages waiting in the outbox from which a publisher other than paho's network thread
waits (at most BACKPRESSURE_WAIT) for room, while the link is up: the dispatcher then
falls behind, and a flood is answered "overloaded" (one shared payload) rather than
queueing a result of its own for every message."""

BACKPRESSURE_WAIT = 10.0

RELEASE_AFTER = 10_000
"""A backlog this deep, once drained, has its memory handed back to the OS."""

QUOTA_EXCEEDED = 0x97


@dataclass(slots=True)
class Outgoing:
    """One queued message: a flood queues them by the hundred thousand, hence the slots."""

    topic: str
    payload: str | bytes
    retain: bool
    properties: Properties | None = None
    attempts: int = 0
    sent: float = 0.0  # when handed to paho (time.monotonic), or the link came back since


class Outbox:
    """What waits to be sent and what is in flight, and the thread that sends it."""

    def __init__(self, client: paho.Client, qos: int, probe_filter: str) -> None:
        self._client = client
        self._qos = qos
        self.stopping = False  # the link is stopping: publishers no longer wait for room
        # The outbox and what the network thread reports, under one condition. The sender
        # thread alone calls paho's publish and alone owns ``_handed``.
        self._out = threading.Condition()
        self._outbox: deque[Outgoing] = deque()
        self._events: deque[tuple[int, paho.ReasonCode | None]] = deque()  # (mid, code)
        self._online = False  # CONNACK received, not yet disconnected
        self._window = self._full_window()
        self._unacked = 0  # len(_handed), readable under ``_out``
        self._handed: dict[int, Outgoing] = {}  # mid -> message, in the order sent
        self._progress = time.monotonic()  # the last ack, or a send into an empty window
        self._probe = AckProbe(probe_filter)  # under ``_out``
        self._deepest = 0  # the outbox's longest since it was last drained
        self._network_ident: int | None = None  # paho's network thread, known at connect
        self._sender = threading.Thread(target=self._send_loop, name="mqtt-out", daemon=True)
        self._sender_stop = False

    def _full_window(self, receive_maximum: int | None = None) -> int:
        if self._qos == 0:
            return QOS0_WINDOW
        return max(1, min(IN_FLIGHT, receive_maximum or IN_FLIGHT))

    def start(self) -> None:
        self._sender.start()

    def stop(self, timeout: float) -> None:
        with self._out:
            self._sender_stop = True
            self._out.notify_all()
        if self._sender.is_alive():
            self._sender.join(timeout)

    def queue(self, message: Outgoing, first: bool = False) -> None:
        with self._out:
            if not first and threading.get_ident() != self._network_ident:
                self._wait_for_room()
            if first:
                self._outbox.appendleft(message)
            else:
                self._outbox.append(message)
            self._deepest = max(self._deepest, len(self._outbox))
            self._out.notify_all()

    def _wait_for_room(self) -> None:
        """Under ``_out``: wait while the link is up and the outbox is full; never on
        paho's network thread, which must keep reading (and answering) meanwhile."""
        deadline = time.monotonic() + BACKPRESSURE_WAIT
        while self._online and not self.stopping and len(self._outbox) >= OUTBOX_HIGH:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._out.wait(remaining)

    @property
    def backlog(self) -> int:
        """Messages queued or in flight, not yet delivered."""
        with self._out:
            return len(self._outbox) + self._unacked

    def flush(self, timeout: float) -> bool:
        """Wait until every queued message has been delivered (acknowledged at QoS > 0)."""
        deadline = time.monotonic() + timeout
        with self._out:
            while self._outbox or self._unacked:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._out.wait(remaining)
        return True

    # what paho's network thread reports ----------------------------------------

    def connected(self, receive_maximum: int | None, at: float, first: Outgoing) -> None:
        """The broker accepted the connection at ``at``: ``first`` goes ahead of
        everything that waited."""
        self._network_ident = threading.get_ident()  # before ``_online``: never waits
        with self._out:
            self._window = self._full_window(receive_maximum)
            self._online = True
            for message in self._handed.values():
                message.sent = at  # paho sends them again now
            self._outbox.appendleft(first)
            self._out.notify_all()

    def disconnected(self) -> None:
        with self._out:
            self._online = False
            self._probe.clear()
            self._events.append((0, None))
            self._out.notify_all()

    def acknowledged(self, mid: int, reason_code: paho.ReasonCode | None) -> None:
        # Under paho's message lock: only note it; the sender thread does the rest.
        with self._out:
            self._events.append((mid, reason_code))
            self._out.notify_all()

    def unsubscribed(self, mid: int) -> None:
        with self._out:
            if self._probe.answer(mid):
                self._out.notify_all()

    # the sender thread ------------------------------------------------------

    def _send_loop(self) -> None:
        while True:
            with self._out:
                while not self._sender_stop and not self._events and not self._can_send():
                    if self._ack_check() is not None:
                        break
                    self._out.wait(PROBE_GRACE / 2 if self._handed else ACK_TIMEOUT / 3)
                if self._sender_stop:
                    return
                events = list(self._events)
                self._events.clear()
                check = None if events else self._ack_check()
            if check == "probe":
                self._send_probe()
            elif check is not None:
                self._reconnect_stalled(check)
            for mid, code in events:
                self._settle(mid, code)
            self._send_some()
            with self._out:
                drained = self._deepest >= RELEASE_AFTER and not (self._outbox or self._handed)
                if drained:
                    self._deepest = 0
            if drained:
                release_freed_memory()

    def _ack_check(self) -> str | None:
        """Under ``_out``: what the probe makes of the messages in flight, if any."""
        if not (self._online and self._qos > 0 and self._handed):
            self._probe.clear()
            return None
        oldest = next(iter(self._handed.values()))
        return self._probe.check(self._handed.keys(), oldest.sent, self._progress)

    def _send_probe(self) -> None:
        with self._out:
            # Under ``_out``, so that the answer cannot come before its id is known;
            # paho's unsubscribe takes none of the locks its network thread holds then.
            rc, mid = self._client.unsubscribe(self._probe.topic_filter)
            if rc == paho.MQTT_ERR_SUCCESS and mid is not None:
                self._probe.sent(mid, self._handed.keys())
            else:
                self._probe.not_sent()

    def _reconnect_stalled(self, why: str) -> None:
        if why == "lost":
            _LOG.warning(
                "MQTT broker dropped the acknowledgements of %d messages (its queue for "
                "this client was full); reconnecting to send them again",
                self._unacked,
            )
        else:
            _LOG.warning(
                "MQTT broker has acknowledged none of %d messages for %.0f s; reconnecting "
                "to send them again",
                self._unacked,
                ACK_TIMEOUT,
            )
        with self._out:
            self._progress = time.monotonic()
            self._probe.clear()
        sock = self._client.socket()
        if sock is not None:
            # paho's network thread sees the connection end, reconnects and sends what is
            # unacknowledged again; closing the socket here would race with that thread.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _can_send(self) -> bool:
        """Under ``_out``: the link is up, something waits and the window has room."""
        return self._online and bool(self._outbox) and self._unacked < self._window

    def _send_some(self) -> None:
        while True:
            with self._out:
                if not self._can_send():
                    return
                message = self._outbox.popleft()
                self._unacked += 1  # reserved: ``flush`` waits for it meanwhile
            try:
                info = self._client.publish(
                    message.topic,
                    message.payload,
                    qos=self._qos,
                    retain=message.retain,
                    properties=message.properties,
                )
            except ValueError as exc:  # a topic paho refuses: no retry can help
                _LOG.error("MQTT message to %s not sent: %s", message.topic, exc)
                self._sent(None, None)
                continue
            if info.rc == paho.MQTT_ERR_SUCCESS or (
                info.rc == paho.MQTT_ERR_NO_CONN and self._qos > 0
            ):
                # At QoS > 0 paho keeps an unsent message and sends it on reconnect.
                self._sent(info.mid, message)
            elif info.rc == paho.MQTT_ERR_NO_CONN:
                self._sent(None, message)  # QoS 0 while down: wait for the link
                return
            else:
                _LOG.error(
                    "MQTT message to %s not sent: %s", message.topic, paho.error_string(info.rc)
                )
                self._sent(None, None)

    def _sent(self, mid: int | None, message: Outgoing | None) -> None:
        """After paho's publish: in flight under ``mid``, back to the queue, or gone."""
        with self._out:
            if mid is not None and message is not None:
                message.sent = time.monotonic()
                if not self._handed:
                    self._progress = message.sent
                self._handed[mid] = message
            elif message is not None:
                self._outbox.appendleft(message)
            self._unacked = len(self._handed)
            self._out.notify_all()

    def _settle(self, mid: int, code: paho.ReasonCode | None) -> None:
        """Sender thread: one acknowledgement (``code``), or the link lost (mid 0)."""
        if mid == 0:
            if self._qos == 0:
                # paho discards unwritten QoS 0 messages at reconnect: send them again.
                with self._out:
                    self._outbox.extendleft(reversed(self._handed.values()))
                    self._handed.clear()
                    self._unacked = 0
                    self._out.notify_all()
            return
        # One step under the lock: ``flush`` must never see a refused message as gone.
        with self._out:
            message = self._handed.pop(mid, None)
            self._unacked = len(self._handed)
            self._progress = time.monotonic()
            if message is not None and code is not None and code.is_failure:
                self._refused(message, code)
            self._out.notify_all()

    def _refused(self, message: Outgoing, code: paho.ReasonCode) -> None:
        """Under ``_out``: the broker refused ``message``; queue it first, unless hopeless."""
        if code.value == QUOTA_EXCEEDED:
            # The broker takes fewer than it announced (or than the 3.1.1 window).
            self._window = max(1, min(self._window, self._unacked))
        message.attempts += 1
        if message.attempts >= MAX_ATTEMPTS:
            _LOG.error(
                "MQTT message to %s refused %d times by the broker (%s); dropped",
                message.topic,
                message.attempts,
                code,
            )
        elif message.retain and self._newer_pending(message.topic):
            pass  # a newer retained value for the topic is on its way: it wins
        else:
            _LOG.debug("MQTT message to %s refused (%s); sending it again", message.topic, code)
            self._outbox.appendleft(message)

    def _newer_pending(self, topic: str) -> bool:
        """Under ``_out``: another message for ``topic`` waits or is in flight."""
        return any(m.topic == topic for m in self._outbox) or any(
            m.topic == topic for m in self._handed.values()
        )
