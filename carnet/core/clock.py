"""One monotonic clock for every timer, so tests can turn it instead of sleeping.

``Clock.now`` never follows the wall clock: a daylight-saving change or a jump of the
system time leaves every interval as it was. ``Clock.wait`` sleeps on an event until a
deadline of that clock, and ``Clock.wait_until`` waits on a condition until an
absolute time of it; ``ManualClock`` only moves when told to, and wakes its sleepers when
it does.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a monotonic scale; only differences mean anything."""

    def wait(self, event: threading.Event, timeout: float) -> bool:
        """Wait for ``event`` at most ``timeout`` seconds of this clock; True when set."""

    def wait_until(self, condition: threading.Condition, deadline: float | None) -> None:
        """Wait on ``condition`` (held by the caller) until notified or until this clock
        reads ``deadline`` (None: no deadline). May return early: callers look again."""


class MonotonicClock:
    """The process's real monotonic clock."""

    def now(self) -> float:
        return time.monotonic()

    def wait(self, event: threading.Event, timeout: float) -> bool:
        return event.wait(max(timeout, 0.0))

    def wait_until(self, condition: threading.Condition, deadline: float | None) -> None:
        if deadline is None:
            condition.wait()
        else:
            condition.wait(max(deadline - time.monotonic(), 0.0))


class ManualClock:
    """A clock that stands still until ``advance`` moves it; for tests."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._moved = threading.Condition()
        # Conditions waited on until a time of this clock: notified when it moves.
        self._sleepers: list[threading.Condition] = []  # one entry per waiting thread

    def now(self) -> float:
        with self._moved:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._moved:
            self._now += seconds
            self._moved.notify_all()
            sleepers = set(self._sleepers)
        # Outside the clock's lock: a sleeper holding its condition may be reading now().
        for condition in sleepers:
            with condition:
                condition.notify_all()

    def wait(self, event: threading.Event, timeout: float) -> bool:
        with self._moved:
            deadline = self._now + timeout
            # Short real waits too, so a set event is seen without an advance.
            while not event.is_set() and self._now < deadline:
                self._moved.wait(0.01)
        return event.is_set()

    def wait_until(self, condition: threading.Condition, deadline: float | None) -> None:
        with self._moved:
            if deadline is not None and self._now >= deadline:
                return
            # Registered before the caller's condition is released by its wait, so an
            # advance from now on finds it (advance needs that condition to notify).
            self._sleepers.append(condition)
        try:
            condition.wait()
        finally:
            with self._moved:
                self._sleepers.remove(condition)


REAL_CLOCK = MonotonicClock()
