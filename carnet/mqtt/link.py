"""A thin layer over paho-mqtt: connection, last will, reconnect, resubscribe.

Callbacks run on paho's network thread, so they only hand work over (a queue put, a
flag): nothing here waits on HTTP. Subscriptions are remembered and renewed on every
connect, because a broker that restarted without persistence has forgotten them.

paho 2 re-raises an exception from a callback, which ends its network thread for good:
no message arrives and no reconnect happens after that. So the callbacks here catch and
log what the bridge's handlers raise, paho is told to do the same for its own, and
``alive`` reports whether the network thread still runs (the heartbeat checks it).

Outgoing messages wait in the link's own outbox, which never drops one, and a sender
thread hands them to paho in order, never more at a time than the broker accepts (its
MQTT 5 Receive Maximum, else a window mosquitto's defaults accept). paho alone would
either send everything at once, which a broker answers with "quota exceeded" and loses,
or keep its own queue, whose 16-bit message ids wrap in a flood ("Message queue full").
A message the broker refuses with a failure reason code is sent again.

mosquitto 2.0 caps what it has queued for one client (``max_queued_messages``, 1000 by
default) and drops whatever comes beyond, acknowledgements included: when a flood of
commands arrives faster than the bridge reads, the PUBACKs of the bridge's own messages
are lost and the window stays full. MQTT forbids sending such a message again on the same
connection, so the link finds out and reconnects: when acknowledgements stop coming, it
sends an UNSUBSCRIBE for a filter it never subscribed to. The broker answers it after the
acknowledgements of everything sent before it, so an answer while those are missing
proves them lost.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from carnet.config import MqttConfig
from carnet.core.memory import release_freed_memory

_LOG = logging.getLogger(__name__)

ONLINE = json.dumps({"state": "online"}, separators=(",", ":"))
OFFLINE = json.dumps({"state": "offline"}, separators=(",", ":"))


@dataclass(frozen=True)
class Inbound:
    """One received message, detached from paho's objects."""

    topic: str
    payload: bytes
    retain: bool
    response_topic: str | None = None
    correlation_data: bytes | None = None
    # When paho handed it over (time.monotonic): a command's max_age counts from here,
    # not from when a busy dispatcher got round to it.
    received: float = field(default_factory=time.monotonic)


IN_FLIGHT = 20
"""Messages in flight (sent, not yet acknowledged) at most: mosquitto's default
max_inflight_messages, which it also announces as Receive Maximum. MQTT 3.1.1 has no
way to learn the broker's limit, so this is the window there."""

QOS0_WINDOW = 200
"""At QoS 0 the broker acknowledges nothing; this bounds what paho buffers instead."""

MAX_ATTEMPTS = 10
"""A message the broker refuses this many times (not a quota: an ACL, a bad topic) is
logged and dropped rather than sent forever."""

ACK_TIMEOUT = 30.0
"""Seconds without any acknowledgement while messages are in flight. MQTT allows sending
an unacknowledged message again only on a new connection, so then the link reconnects.
The probe (below) finds lost acknowledgements sooner; this is the net under it, for when
the broker drops the probe's answer too."""

PROBE_AFTER = 2.0
"""Seconds the oldest message in flight waits for its acknowledgement before the link
probes."""

OUTBOX_HIGH = 5_000
"""Messages waiting in the outbox from which a publisher other than paho's network thread
waits (at most BACKPRESSURE_WAIT) for room, while the link is up: the dispatcher then
falls behind, and a flood is answered "overloaded" (one shared payload) rather than
queueing a result of its own for every message."""

BACKPRESSURE_WAIT = 10.0

RELEASE_AFTER = 10_000
"""A backlog this deep, once drained, has its memory handed back to the OS."""

PROBE_GRACE = 1.0
"""Seconds the acknowledgements may still take after the probe's answer (a broker that
does not answer strictly in order) before they count as lost."""

QUOTA_EXCEEDED = 0x97
SESSION_TAKEN_OVER = 0x8E

SHORT_LIVED = 10.0
"""A connection that ends within this many seconds (plus twice the current takeover
delay) makes the next reconnect wait; twice in a row, it is taken as another client with
the same client id taking the session over. mosquitto 2.0 closes the connection without
saying so, also with MQTT 5 (reason code 0x8E, "session taken over", is recognised)."""

STABLE = 60.0
"""A connection that lasted this long ends a takeover episode: the delay starts over."""

TAKEOVER_FIRST = 5.0
TAKEOVER_MAX = 300.0
"""Reconnect delay after a takeover: doubles from the first to the longest."""


@dataclass(slots=True)
class _Outgoing:
    """One queued message: a flood queues them by the hundred thousand, hence the slots."""

    topic: str
    payload: str | bytes
    retain: bool
    properties: Properties | None = None
    attempts: int = 0
    sent: float = 0.0  # when handed to paho (time.monotonic), or the link came back since


class MqttLink:
    """One broker connection with a last will on ``state_topic``."""

    def __init__(
        self,
        config: MqttConfig,
        state_topic: str,
        on_message: Callable[[Inbound], None],
        on_connected: Callable[[], None],
        track_retained: bool = False,
        says_offline: bool = True,
    ) -> None:
        """``track_retained``: remember the topics of retained messages, so that ``stop``
        can clear them (the demo's way of leaving the broker as it found it).
        ``says_offline``: a last will and ``offline`` at stop on ``state_topic``; off for
        a run that must not overwrite the availability of a daemon beside it."""
        self._config = config
        self._says_offline = says_offline
        self._state_topic = state_topic
        self._on_message = on_message
        self._on_connected = on_connected
        self._filters: list[str] = []
        self._retained: set[str] | None = set() if track_retained else None
        self._network: threading.Thread | None = None
        self._started = False
        self._stopping = False
        self._lock = threading.Lock()
        self.connected = threading.Event()
        self._v5 = config.protocol == "5"
        # The outbox and what the network thread reports, under one condition. The sender
        # thread alone calls paho's publish and alone owns ``_handed``.
        self._out = threading.Condition()
        self._outbox: deque[_Outgoing] = deque()
        self._events: deque[tuple[int, paho.ReasonCode | None]] = deque()  # (mid, code)
        self._online = False  # CONNACK received, not yet disconnected
        self._window = self._full_window()
        self._unacked = 0  # len(_handed), readable under ``_out``
        self._handed: dict[int, _Outgoing] = {}  # mid -> message, in the order sent
        self._progress = time.monotonic()  # the last ack, or a send into an empty window
        # The probe for lost acknowledgements: its UNSUBSCRIBE's message id, the messages in
        # flight when it was sent, and when its answer came (all under ``_out``).
        self._probe_filter = f"{state_topic}/ack-probe"
        self._probe_mid: int | None = None
        self._probe_covers: frozenset[int] = frozenset()
        self._probe_answered: float | None = None
        self._probe_next = 0.0  # no probe before (time.monotonic)
        self._deepest = 0  # the outbox's longest since it was last drained
        self._network_ident: int | None = None  # paho's network thread, known at connect
        self._sender = threading.Thread(target=self._send_loop, name="mqtt-out", daemon=True)
        self._sender_stop = False
        # Takeover detection, on paho's network thread only.
        self._connected_at: float | None = None
        self._short_lived = 0
        self._takeover_delay = 0.0
        self._takeover_reported = False
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=config.client_id,
            protocol=paho.MQTTv5 if self._v5 else paho.MQTTv311,
        )
        # An exception in a callback is logged, never allowed to end the network thread.
        self._client.suppress_exceptions = True
        # The outbox holds what waits; paho never gets more than the window, so its own
        # queue (capped or not) stays empty and its message ids never wrap onto a message
        # still in flight.
        self._client.max_queued_messages_set(0)
        self._client.max_inflight_messages_set(IN_FLIGHT)
        self._client.reconnect_delay_set(min_delay=1, max_delay=60)
        if config.username is not None:
            self._client.username_pw_set(config.username, config.password)
        if config.tls.enabled:
            self._client.tls_set(
                ca_certs=config.tls.ca_certs,
                certfile=config.tls.certfile,
                keyfile=config.tls.keyfile,
                cert_reqs=ssl.CERT_REQUIRED,
            )
            # ``insecure`` skips only the host-name check (a broker reached by an address
            # its certificate does not name); the chain is always verified.
            self._client.tls_insecure_set(config.tls.insecure)
        if says_offline:
            self._client.will_set(state_topic, OFFLINE, qos=config.qos, retain=True)
        self._client.on_connect = self._handle_connect
        self._client.on_disconnect = self._handle_disconnect
        self._client.on_connect_fail = self._handle_connect_fail
        self._client.on_message = self._handle_message
        self._client.on_publish = self._handle_publish
        self._client.on_unsubscribe = self._handle_unsubscribe

    def _full_window(self, receive_maximum: int | None = None) -> int:
        if self._config.qos == 0:
            return QOS0_WINDOW
        return max(1, min(IN_FLIGHT, receive_maximum or IN_FLIGHT))

    def start(self) -> None:
        """Connect in the background; paho keeps retrying until the broker answers."""
        _LOG.info("connecting to MQTT broker %s:%s", self._config.host, self._config.port)
        self._sender.start()
        self._client.connect_async(
            self._config.host, self._config.port, keepalive=self._config.keepalive
        )
        self._client.loop_start()
        self._started = True
        # paho has no public handle on the thread loop_start made; look at it once.
        thread = getattr(self._client, "_thread", None)
        if isinstance(thread, threading.Thread):
            self._network = thread
        else:
            _LOG.warning("paho's network thread is not visible; the heartbeat cannot watch it")

    def alive(self) -> bool:
        """Whether paho's network thread (which also reconnects) still runs."""
        if self._network is None:
            return self._started  # started but not visible: cannot tell, so not reported dead
        return self._network.is_alive()

    def subscribe(self, topic_filter: str) -> None:
        with self._lock:
            if topic_filter not in self._filters:
                self._filters.append(topic_filter)
        if self.connected.is_set():
            self._subscribe_one(topic_filter)

    def publish(self, topic: str, payload: str | bytes, retain: bool = False) -> None:
        """Queue a message; never drops it (it leaves when the link is up). Blocks only
        while the link is up and the outbox full (at most BACKPRESSURE_WAIT), never on
        paho's network thread."""
        if retain and self._retained is not None:
            with self._lock:
                if payload:
                    self._retained.add(topic)
                else:
                    self._retained.discard(topic)
        self._queue(_Outgoing(topic, payload, retain))

    def respond(self, response_topic: str, payload: str, correlation_data: bytes | None) -> None:
        """MQTT 5 request/response: answer on the requester's response topic."""
        properties = None
        if self._v5 and correlation_data is not None:
            properties = Properties(PacketTypes.PUBLISH)
            properties.CorrelationData = correlation_data
        self._queue(_Outgoing(response_topic, payload, False, properties))

    def _queue(self, message: _Outgoing, first: bool = False) -> None:
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
        while self._online and not self._stopping and len(self._outbox) >= OUTBOX_HIGH:
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

    def stop(self, timeout: float = 5.0) -> None:
        """Say ``offline`` (retained) and disconnect cleanly; when retained topics are
        tracked, clear them and the state topic instead."""
        self._stopping = True
        if self.connected.is_set():
            if self._retained is None:
                if self._says_offline:
                    self.publish(self._state_topic, OFFLINE, retain=True)
                what = "offline state" if self._says_offline else "what was published"
            else:
                self._clear_retained(self._retained)
                what = "the clearing of retained topics"
            if not self.flush(timeout):
                _LOG.warning("could not publish %s before disconnecting", what)
        elif self._retained:
            _LOG.warning(
                "not connected: %d retained topic(s) stay on the broker", len(self._retained)
            )
        self._client.disconnect()
        self._client.loop_stop()
        with self._out:
            self._sender_stop = True
            self._out.notify_all()
        if self._sender.is_alive():
            self._sender.join(timeout)

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
        """Under ``_out``, with messages in flight: ``probe`` when it is time to probe,
        ``lost`` when the probe proved acknowledgements lost, ``stalled`` after
        ACK_TIMEOUT without any; otherwise None."""
        if not (self._online and self._config.qos > 0 and self._handed):
            self._clear_probe()
            return None
        now = time.monotonic()
        if self._probe_mid is not None and not self._probe_covers & self._handed.keys():
            self._clear_probe()  # everything it covered was acknowledged after all
            self._probe_next = now + PROBE_AFTER  # a slow broker: not one probe per ack
        if self._probe_answered is not None:
            return "lost" if now - self._probe_answered >= PROBE_GRACE else None
        if now - self._progress > ACK_TIMEOUT:
            return "stalled"
        oldest = next(iter(self._handed.values()))
        waited = now - oldest.sent
        if self._probe_mid is None and waited >= PROBE_AFTER and now >= self._probe_next:
            return "probe"
        return None

    def _clear_probe(self) -> None:
        self._probe_mid = None
        self._probe_covers = frozenset()
        self._probe_answered = None

    def _send_probe(self) -> None:
        with self._out:
            # Under ``_out``, so that the answer cannot come before its id is known;
            # paho's unsubscribe takes none of the locks its network thread holds then.
            rc, mid = self._client.unsubscribe(self._probe_filter)
            if rc == paho.MQTT_ERR_SUCCESS and mid is not None:
                self._probe_mid = mid
                self._probe_covers = frozenset(self._handed)
            else:
                self._probe_next = time.monotonic() + PROBE_AFTER  # link down: not at once

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
            self._clear_probe()
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
                    qos=self._config.qos,
                    retain=message.retain,
                    properties=message.properties,
                )
            except ValueError as exc:  # a topic paho refuses: no retry can help
                _LOG.error("MQTT message to %s not sent: %s", message.topic, exc)
                self._sent(None, None)
                continue
            if info.rc == paho.MQTT_ERR_SUCCESS or (
                info.rc == paho.MQTT_ERR_NO_CONN and self._config.qos > 0
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

    def _sent(self, mid: int | None, message: _Outgoing | None) -> None:
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
            if self._config.qos == 0:
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

    def _refused(self, message: _Outgoing, code: paho.ReasonCode) -> None:
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

    # paho's callbacks (network thread) -----------------------------------------

    def _clear_retained(self, retained: set[str]) -> None:
        """Queue an empty retained message to every tracked topic and the state topic."""
        with self._lock:
            topics = [*sorted(retained), self._state_topic]
            retained.clear()
        for topic in topics:
            self._queue(_Outgoing(topic, b"", True))
        _LOG.info("cleared the %d retained topic(s) published here", len(topics))

    def _subscribe_one(self, topic_filter: str) -> None:
        if self._v5:
            # retainAsPublished keeps the retain flag on live messages, so a retained
            # command is recognised (and refused) the moment it is sent, not only at restart.
            options = SubscribeOptions(qos=self._config.qos, retainAsPublished=True)
            self._client.subscribe(topic_filter, options=options)
        else:
            self._client.subscribe(topic_filter, qos=self._config.qos)

    def _handle_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            _LOG.error("MQTT broker refused the connection: %s", reason_code)
            return
        _LOG.info("connected to MQTT broker %s:%s", self._config.host, self._config.port)
        self._network_ident = threading.get_ident()  # before ``_online``: never waits
        self._connected_at = time.monotonic()
        receive_maximum = getattr(properties, "ReceiveMaximum", None) if self._v5 else None
        with self._out:
            self._window = self._full_window(receive_maximum)
            self._online = True
            for message in self._handed.values():
                message.sent = self._connected_at  # paho sends them again now
            # Ahead of everything that waited: the broker says offline until this arrives.
            self._outbox.appendleft(_Outgoing(self._state_topic, ONLINE, True))
            self._out.notify_all()
        self.connected.set()
        with self._lock:
            filters = list(self._filters)
        for topic_filter in filters:
            self._subscribe_one(topic_filter)
        try:
            self._on_connected()
        except Exception:  # must never end paho's network thread
            _LOG.exception("handling the MQTT connect failed")

    def _handle_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if self._connected_at is not None and not self._stopping:
            certainty = self._taken_over(reason_code)
            if certainty:
                self._back_off_takeover(reason_code, sure=certainty == 2)
            elif self.connected.is_set():
                _LOG.warning("MQTT connection lost (%s); reconnecting with back-off", reason_code)
        self.connected.clear()
        with self._out:
            self._online = False
            self._clear_probe()
            self._events.append((0, None))
            self._out.notify_all()

    def _taken_over(self, reason_code: paho.ReasonCode) -> int:
        """How sure it is that another client with our client id takes the session over:
        0 not at all, 1 suspected (one connection that ended soon after it began), 2 sure
        (the broker said so, or twice in a row)."""
        lasted = time.monotonic() - self._connected_at if self._connected_at else None
        self._connected_at = None
        if getattr(reason_code, "value", None) == SESSION_TAKEN_OVER:
            return 2
        # While backing off, the other client holds the session for about our delay.
        if lasted is not None and lasted < SHORT_LIVED + 2 * self._takeover_delay:
            self._short_lived += 1
            return min(self._short_lived, 2)
        self._short_lived = 0
        if self._takeover_delay and (lasted is None or lasted >= STABLE):
            self._takeover_delay = 0.0  # a connection that held: the episode is over
            self._takeover_reported = False
            self._client.reconnect_delay_set(min_delay=1, max_delay=60)
        return 0

    def _back_off_takeover(self, reason_code: paho.ReasonCode, sure: bool) -> None:
        """Two clients with one client id throw each other out every second: wait longer
        after each takeover, so the other one keeps its connection, and say why once."""
        self._takeover_delay = min(max(self._takeover_delay * 2, TAKEOVER_FIRST), TAKEOVER_MAX)
        delay = self._takeover_delay
        self._client.reconnect_delay_set(min_delay=delay, max_delay=max(delay, 60))
        if sure and not self._takeover_reported:
            self._takeover_reported = True
            _LOG.error(
                "another MQTT client uses the client id %r: the broker hands the session to "
                "whichever connects last (%s). Give each bridge, and each --once run, its own "
                "mqtt.client_id; reconnecting with a growing delay, up to %.0f s",
                self._config.client_id,
                reason_code if self._v5 else "the connection keeps ending right after it began",
                TAKEOVER_MAX,
            )
        elif sure:
            _LOG.info(
                "MQTT session with client id %r taken over again; reconnecting in %.0f s",
                self._config.client_id,
                delay,
            )
        else:
            _LOG.warning(
                "MQTT connection lost right after connecting (%s); reconnecting in %.0f s",
                reason_code,
                delay,
            )

    def _handle_publish(self, client, userdata, mid, reason_code, properties) -> None:
        # Under paho's message lock: only note it; the sender thread does the rest.
        with self._out:
            self._events.append((mid, reason_code))
            self._out.notify_all()

    def _handle_unsubscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        with self._out:
            if mid == self._probe_mid and self._probe_answered is None:
                self._probe_answered = time.monotonic()
                self._out.notify_all()

    def _handle_connect_fail(self, client, userdata) -> None:
        _LOG.warning(
            "MQTT broker %s:%s does not answer; retrying with back-off",
            self._config.host,
            self._config.port,
        )

    def _handle_message(self, client, userdata, message) -> None:
        received = time.monotonic()
        properties = getattr(message, "properties", None)
        response_topic = getattr(properties, "ResponseTopic", None) if properties else None
        correlation = getattr(properties, "CorrelationData", None) if properties else None
        try:
            self._on_message(
                Inbound(
                    message.topic,
                    bytes(message.payload),
                    bool(message.retain),
                    response_topic,
                    correlation,
                    received,
                )
            )
        except Exception:  # must never end paho's network thread
            _LOG.exception("handling a message on %s failed", message.topic)
