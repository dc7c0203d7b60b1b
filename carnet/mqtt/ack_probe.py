"""Finding acknowledgements the broker dropped.

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

import time
from collections.abc import Collection

ACK_TIMEOUT = 30.0
"""Seconds without any acknowledgement while messages are in flight. MQTT allows sending
an unacknowledged message again only on a new connection, so then the link reconnects.
The probe finds lost acknowledgements sooner; this is the net under it, for when the
broker drops the probe's answer too."""

PROBE_AFTER = 2.0
"""Seconds the oldest message in flight waits for its acknowledgement before the link
probes."""

PROBE_GRACE = 1.0
"""Seconds the acknowledgements may still take after the probe's answer (a broker that
does not answer strictly in order) before they count as lost."""


class AckProbe:
    """The probe's state: its UNSUBSCRIBE's message id, the messages in flight when it
    was sent, and when its answer came. The caller holds the outbox's lock throughout."""

    def __init__(self, topic_filter: str) -> None:
        self.topic_filter = topic_filter
        self._mid: int | None = None
        self._covers: frozenset[int] = frozenset()
        self._answered: float | None = None
        self._next = 0.0  # no probe before (time.monotonic)

    def clear(self) -> None:
        self._mid = None
        self._covers = frozenset()
        self._answered = None

    def check(self, in_flight: Collection[int], oldest_sent: float, progress: float) -> str | None:
        """With messages ``in_flight`` (their ids): ``probe`` when it is time to probe,
        ``lost`` when the probe proved acknowledgements lost, ``stalled`` after
        ACK_TIMEOUT without any since ``progress``; otherwise None."""
        now = time.monotonic()
        if self._mid is not None and self._covers.isdisjoint(in_flight):
            self.clear()  # everything it covered was acknowledged after all
            self._next = now + PROBE_AFTER  # a slow broker: not one probe per ack
        if self._answered is not None:
            return "lost" if now - self._answered >= PROBE_GRACE else None
        if now - progress > ACK_TIMEOUT:
            return "stalled"
        waited = now - oldest_sent
        if self._mid is None and waited >= PROBE_AFTER and now >= self._next:
            return "probe"
        return None

    def sent(self, mid: int, in_flight: Collection[int]) -> None:
        """The probe went out as ``mid``, behind the messages ``in_flight``."""
        self._mid = mid
        self._covers = frozenset(in_flight)

    def not_sent(self) -> None:
        self._next = time.monotonic() + PROBE_AFTER  # link down: not at once

    def answer(self, mid: int) -> bool:
        """An UNSUBSCRIBE was answered; whether it was the probe's (first answer)."""
        if mid == self._mid and self._answered is None:
            self._answered = time.monotonic()
            return True
        return False
