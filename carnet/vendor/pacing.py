"""The per-minute command budget of one account, shared by every generation's client.

Vendors count command requests per account and refuse them past a few a minute; a
client spaces them ``min_interval`` apart, sends at most ``max_per_minute`` in any 60 s,
and after a rate-limit answer sends none until the vendor's pause has passed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

from carnet.core.errors import RateLimited

_LOG = logging.getLogger(__name__)


class RequestBudget:
    """Slots for one account's command requests. Thread-safe."""

    def __init__(self, vendor: str, min_interval: float, max_per_minute: int) -> None:
        self._vendor = vendor  # the service's name, for messages
        self._min_interval = max(0.0, float(min_interval))
        self._max_per_minute = max(1, int(max_per_minute))
        self._recent: deque[float] = deque()  # when the requests of the last minute went
        self._lock = threading.Lock()
        self._blocked_until = 0.0

    def request_wait(self) -> float:
        """Seconds until a request may go out (0: now), without taking the slot.

        The command executor waits this long with the command still queued, where a
        newer command can replace it and ``max_age`` still applies.
        """
        with self._lock:
            now = time.monotonic()
            return max(self._budget_wait(now), self._blocked_until - now)

    def spare_requests(self) -> int:
        """How many more requests the last 60 s allow (``max_per_minute`` minus those sent)."""
        with self._lock:
            now = time.monotonic()
            while self._recent and now - self._recent[0] >= 60.0:
                self._recent.popleft()
            return self._max_per_minute - len(self._recent)

    def _budget_wait(self, now: float) -> float:
        """Seconds from ``now`` until the budget allows one more (lock held).

        Requests are spaced ``min_interval`` apart, and no more than ``max_per_minute``
        go out in any 60 s: the vendor counts per account.
        """
        while self._recent and now - self._recent[0] >= 60.0:
            self._recent.popleft()
        waits = [0.0]
        if self._recent:
            waits.append(self._recent[-1] + self._min_interval - now)
        if len(self._recent) >= self._max_per_minute:
            waits.append(self._recent[0] + 60.0 - now)
        return max(waits)

    def wait_turn(self) -> None:
        """Wait until the next request may go, and take that slot."""
        while True:
            with self._lock:
                now = time.monotonic()
                wait = self._budget_wait(now)
                if wait <= 0:
                    self._recent.append(now)
                    return
            _LOG.debug("waiting %.1f s for the account's request budget", wait)
            time.sleep(wait)

    def check_block(self) -> None:
        """RateLimited while the pause after a rate-limit answer lasts."""
        remaining = self._blocked_until - time.monotonic()
        if remaining > 0:
            raise RateLimited(
                f"{self._vendor} rate limit: not sending for another {remaining:.0f} s",
                remaining,
            )

    def block(self, pause: float) -> None:
        """Send nothing for ``pause`` seconds (the vendor said so)."""
        self._blocked_until = time.monotonic() + pause
        _LOG.warning("%s rate limit reached; no command requests for %g s", self._vendor, pause)
