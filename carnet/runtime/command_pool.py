"""Command threads on a bounded pool: a few threads for every account, each account serial.

A fleet's accounts send commands (and the bridge's budget-spending reads) rarely, and an
account must never have two requests in flight. So the accounts' executors take turns
on a fixed set of threads: an executor with a job that may go now is *ready*; one whose
jobs wait for the account's budget, a ``Retry-After`` or an expiry is *parked* until
that time of the clock (no thread waits for it); one with nothing queued is *idle*. An
executor is in one of these states, or running on one thread, never two at once.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import deque
from typing import Protocol

from carnet.core.clock import REAL_CLOCK, Clock

_LOG = logging.getLogger(__name__)

# Threads for all accounts' commands. An account sends one request at a time, spaced by
# its budget (seconds apart), so the requests of a whole fleet are few: two threads
# send them, and a vendor that hangs on one account's request holds one thread, not all.
COMMAND_THREADS = 2

_READY = "ready"
_RUNNING = "running"
_AGAIN = "running, offered again"  # something new arrived while it ran


class Turn(Protocol):
    """What the pool runs: one step of an account's executor."""

    def turn(self) -> float | None:
        """Send at most one job; the clock time to look again, or None when nothing waits."""


class CommandPool:
    """A fixed set of threads that take turns over the accounts with commands to send."""

    def __init__(self, size: int = COMMAND_THREADS, clock: Clock = REAL_CLOCK) -> None:
        self._clock = clock
        self._condition = threading.Condition()
        self._ready: deque[Turn] = deque()
        self._parked: list[tuple[float, int, Turn]] = []  # heap: (time, order, executor)
        self._order = itertools.count()
        # Each known executor's state: ready, running, or the order of its parking entry
        # (an entry whose order no longer matches is stale, skipped when it comes due).
        self._state: dict[Turn, str | int] = {}
        self._stopping = False
        self._size = max(size, 1)
        self._threads: list[threading.Thread] = []

    @property
    def clock(self) -> Clock:
        return self._clock

    def offer(self, executor: Turn) -> None:
        """``executor`` has something that may go now: give it a turn soon."""
        with self._condition:
            if self._stopping:
                return
            state = self._state.get(executor)
            if state in (_READY, _AGAIN):
                return
            if state == _RUNNING:
                self._state[executor] = _AGAIN
                return
            self._make_ready(executor)
            self._start_threads()

    def threads(self) -> int:
        with self._condition:
            return sum(1 for thread in self._threads if thread.is_alive())

    def stop(self, timeout: float = 10.0) -> None:
        with self._condition:
            self._stopping = True
            self._ready.clear()
            self._parked.clear()
            self._condition.notify_all()
            threads = list(self._threads)
        deadline = time.monotonic() + timeout
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(max(deadline - time.monotonic(), 0.0))

    def _start_threads(self) -> None:
        """Started by the first command (condition held): most fleets send none for long."""
        while len(self._threads) < self._size:
            thread = threading.Thread(
                target=self._run, name=f"commands-{len(self._threads)}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _make_ready(self, executor: Turn) -> None:
        self._state[executor] = _READY
        self._ready.append(executor)
        self._condition.notify()

    def _next(self) -> Turn | None:
        with self._condition:
            while not self._stopping:
                now = self._clock.now()
                while self._parked and self._parked[0][0] <= now:
                    _, order, executor = heapq.heappop(self._parked)
                    if self._state.get(executor) == order:
                        self._make_ready(executor)
                if self._ready:
                    executor = self._ready.popleft()
                    self._state[executor] = _RUNNING
                    return executor
                self._clock.wait_until(
                    self._condition, self._parked[0][0] if self._parked else None
                )
            return None

    def _run(self) -> None:
        while True:
            executor = self._next()
            if executor is None:
                return
            again: float | None = None
            try:
                again = executor.turn()
            except Exception:  # a bug must not kill the pool's thread
                _LOG.exception("an account's command turn failed")
            self._settle(executor, again)

    def _settle(self, executor: Turn, again: float | None) -> None:
        with self._condition:
            if self._stopping:
                return
            if self._state.get(executor) == _AGAIN or (
                again is not None and again <= self._clock.now()
            ):
                # To the back of the line: one account's backlog never starves the others.
                self._make_ready(executor)
            elif again is None:
                del self._state[executor]
            else:
                order = next(self._order)
                self._state[executor] = order
                heapq.heappush(self._parked, (again, order, executor))
                self._condition.notify()  # a sleeping thread may have to wake sooner
