"""Backing off when another client with the same client id takes the session over.

Two clients with one client id throw each other out every second. mosquitto 2.0 closes
the connection without saying so, also with MQTT 5 (reason code 0x8E, "session taken
over", is recognised), so a connection that ends soon after it began counts too.
"""

from __future__ import annotations

import logging
import time

import paho.mqtt.client as paho

# The link's logger: its messages read as the connection's, whichever module sends them.
_LOG = logging.getLogger("carnet.mqtt.link")

SESSION_TAKEN_OVER = 0x8E

SHORT_LIVED = 10.0
"""A connection that ends within this many seconds (plus twice the current takeover
delay) makes the next reconnect wait; twice in a row, it is taken as another client with
the same client id taking the session over."""

STABLE = 60.0
"""A connection that lasted this long ends a takeover episode: the delay starts over."""

TAKEOVER_FIRST = 5.0
TAKEOVER_MAX = 300.0
"""Reconnect delay after a takeover: doubles from the first to the longest."""


class TakeoverWatch:
    """Takeover detection and paho's reconnect delay; on paho's network thread only."""

    def __init__(self, client: paho.Client, client_id: str, v5: bool) -> None:
        self._client = client
        self._client_id = client_id
        self._v5 = v5
        self.connected_at: float | None = None
        self._short_lived = 0
        self._takeover_delay = 0.0
        self._takeover_reported = False
        self._client.reconnect_delay_set(min_delay=1, max_delay=60)

    def connected(self) -> float:
        """A connection began; when (time.monotonic)."""
        self.connected_at = time.monotonic()
        return self.connected_at

    def taken_over(self, reason_code: paho.ReasonCode) -> int:
        """How sure it is that another client with our client id takes the session over:
        0 not at all, 1 suspected (one connection that ended soon after it began), 2 sure
        (the broker said so, or twice in a row)."""
        lasted = time.monotonic() - self.connected_at if self.connected_at else None
        self.connected_at = None
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

    def back_off(self, reason_code: paho.ReasonCode, sure: bool) -> None:
        """Wait longer after each takeover, so the other client keeps its connection, and
        say why once."""
        self._takeover_delay = min(max(self._takeover_delay * 2, TAKEOVER_FIRST), TAKEOVER_MAX)
        delay = self._takeover_delay
        self._client.reconnect_delay_set(min_delay=delay, max_delay=max(delay, 60))
        if sure and not self._takeover_reported:
            self._takeover_reported = True
            _LOG.error(
                "another MQTT client uses the client id %r: the broker hands the session to "
                "whichever connects last (%s). Give each bridge, and each --once run, its own "
                "mqtt.client_id; reconnecting with a growing delay, up to %.0f s",
                self._client_id,
                reason_code if self._v5 else "the connection keeps ending right after it began",
                TAKEOVER_MAX,
            )
        elif sure:
            _LOG.info(
                "MQTT session with client id %r taken over again; reconnecting in %.0f s",
                self._client_id,
                delay,
            )
        else:
            _LOG.warning(
                "MQTT connection lost right after connecting (%s); reconnecting in %.0f s",
                reason_code,
                delay,
            )
