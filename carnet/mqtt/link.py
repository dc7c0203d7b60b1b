"""A thin layer over paho-mqtt: connection, last will, reconnect, resubscribe.

Callbacks run on paho's network thread, so they only hand work over (a queue put, a
flag): nothing here waits on HTTP. Subscriptions are remembered and renewed on every
connect, because a broker that restarted without persistence has forgotten them.

paho 2 re-raises an exception from a callback, which ends its network thread for good:
no message arrives and no reconnect happens after that. So the callbacks here catch and
log what the bridge's handlers raise, paho is told to do the same for its own, and
``alive`` reports whether the network thread still runs (the heartbeat checks it).

Outgoing messages wait in the outbox (``carnet.mqtt.outbox``), whose sender thread keeps
within the broker's window and finds lost acknowledgements (``carnet.mqtt.ack_probe``);
another client with the same client id is backed off from (``carnet.mqtt.takeover``).
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
import time
from collections.abc import Callable

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from carnet.config import MqttConfig
from carnet.mqtt.inbound import Inbound
from carnet.mqtt.outbox import IN_FLIGHT, Outbox, Outgoing
from carnet.mqtt.takeover import TakeoverWatch

_LOG = logging.getLogger(__name__)

ONLINE = json.dumps({"state": "online"}, separators=(",", ":"))
OFFLINE = json.dumps({"state": "offline"}, separators=(",", ":"))


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
        self._lock = threading.Lock()
        self.connected = threading.Event()
        self._v5 = config.protocol == "5"
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
        self._takeover = TakeoverWatch(self._client, config.client_id, self._v5)
        self._outbox = Outbox(self._client, config.qos, f"{state_topic}/ack-probe")
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

    def start(self) -> None:
        """Connect in the background; paho keeps retrying until the broker answers."""
        _LOG.info("connecting to MQTT broker %s:%s", self._config.host, self._config.port)
        self._outbox.start()
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
        self._outbox.queue(Outgoing(topic, payload, retain))

    def respond(self, response_topic: str, payload: str, correlation_data: bytes | None) -> None:
        """MQTT 5 request/response: answer on the requester's response topic."""
        properties = None
        if self._v5 and correlation_data is not None:
            properties = Properties(PacketTypes.PUBLISH)
            properties.CorrelationData = correlation_data
        self._outbox.queue(Outgoing(response_topic, payload, False, properties))

    @property
    def backlog(self) -> int:
        """Messages queued or in flight, not yet delivered."""
        return self._outbox.backlog

    def flush(self, timeout: float) -> bool:
        """Wait until every queued message has been delivered (acknowledged at QoS > 0)."""
        return self._outbox.flush(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Say ``offline`` (retained) and disconnect cleanly; when retained topics are
        tracked, clear them and the state topic instead."""
        self._outbox.stopping = True
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
        self._outbox.stop(timeout)

    # paho's callbacks (network thread) -----------------------------------------

    def _clear_retained(self, retained: set[str]) -> None:
        """Queue an empty retained message to every tracked topic and the state topic."""
        with self._lock:
            topics = [*sorted(retained), self._state_topic]
            retained.clear()
        for topic in topics:
            self._outbox.queue(Outgoing(topic, b"", True))
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
        connected_at = self._takeover.connected()
        receive_maximum = getattr(properties, "ReceiveMaximum", None) if self._v5 else None
        # Ahead of everything that waited: the broker says offline until this arrives.
        self._outbox.connected(
            receive_maximum, connected_at, Outgoing(self._state_topic, ONLINE, True)
        )
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
        if self._takeover.connected_at is not None and not self._outbox.stopping:
            certainty = self._takeover.taken_over(reason_code)
            if certainty:
                self._takeover.back_off(reason_code, sure=certainty == 2)
            elif self.connected.is_set():
                _LOG.warning("MQTT connection lost (%s); reconnecting with back-off", reason_code)
        self.connected.clear()
        self._outbox.disconnected()

    def _handle_publish(self, client, userdata, mid, reason_code, properties) -> None:
        self._outbox.acknowledged(mid, reason_code)

    def _handle_unsubscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        self._outbox.unsubscribed(mid)

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
