"""Per-account request limits of the endpoints that take a TSP token.

The real service limits the whole account, whatever the token: a sliding one-minute
window (about 7 requests) and a rolling daily budget (roughly 500). Refused requests do
not count against either. The myVW commands have a limiter of their own (see
``Context.myvw_limiter``).
"""

from __future__ import annotations

import logging
import math
from collections import deque

from carnet.simulator.clock import real_now

_LOG = logging.getLogger(__name__)

MINUTE = 60.0
DAY = 86_400.0


class RateLimiter:
    """Sliding windows per account. Callers hold the simulator's lock."""

    def __init__(self, per_minute: int, per_day: int) -> None:
        self.per_minute = per_minute
        self.per_day = per_day
        self._minute: dict[str, deque[float]] = {}
        self._day: dict[str, deque[float]] = {}

    def check(self, account: str, per_minute: int | None = None) -> int | None:
        """Count one request; None when allowed, else the seconds until a slot frees.

        ``per_minute`` overrides the configured limit (the ``rate_limit`` fault).
        """
        retry = self.refusal(account, per_minute)
        if retry is None:
            self.count(account)
        return retry

    def refusal(self, account: str, per_minute: int | None = None) -> int | None:
        """Like :meth:`check` but without counting: for requests that may still fail."""
        now = real_now()
        limit = self.per_minute if per_minute is None else per_minute
        minute = self._window(self._minute, account, now - MINUTE)
        day = self._window(self._day, account, now - DAY)
        if len(minute) >= limit:
            return retry_after(minute[0] + MINUTE - now if minute else MINUTE)
        if len(day) >= self.per_day:
            return retry_after(day[0] + DAY - now if day else DAY)
        return None

    def count(self, account: str) -> None:
        """Count one request that was let through."""
        now = real_now()
        self._window(self._minute, account, now - MINUTE).append(now)
        self._window(self._day, account, now - DAY).append(now)

    def usage(self, account: str) -> dict[str, int]:
        now = real_now()
        return {"last_minute": len(self._window(self._minute, account, now - MINUTE)),
                "last_day": len(self._window(self._day, account, now - DAY))}

    @staticmethod
    def _window(store: dict[str, deque[float]], account: str, since: float) -> deque[float]:
        window = store.setdefault(account, deque())
        while window and window[0] <= since:
            window.popleft()
        return window


def retry_after(seconds: float) -> int:
    """Whole seconds, rounded up and at least 1, as a ``Retry-After`` value."""
    return max(1, math.ceil(seconds))
