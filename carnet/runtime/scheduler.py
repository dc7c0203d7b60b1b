"""Timing: one scheduler thread over a heap of timers on one monotonic clock.

The scheduler only decides *when* (``carnet.core.clock``), so a daylight-saving change
or a jump of the wall clock never moves a poll; the vendor reads it starts run on the
bounded read pool (``carnet.runtime.reads``).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from carnet.core.clock import REAL_CLOCK, Clock

_LOG = logging.getLogger(__name__)

Task = Callable[[], None]

# The longest the scheduler thread sleeps without looking at its stop flag.
MAX_IDLE = 1.0


@dataclass(eq=False)
class Timer:
    """One timer: ``task`` at ``due``, again every ``interval`` seconds unless ``once``."""

    interval: float
    task: Task
    once: bool
    due: float
    cancelled: bool = field(default=False)


class Scheduler:
    """Periodic and one-shot jobs, run on one thread; safe to call from any thread.

    The lock guards only the heap: tasks run without it, so a thread that adds or
    cancels a job (paho's connect callback, say) never waits for a running task.
    """

    def __init__(self, clock: Clock = REAL_CLOCK) -> None:
        self._clock = clock
        self._heap: list[tuple[float, int, Timer]] = []
        self._jobs: set[Timer] = set()
        self._order = itertools.count()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)

    @property
    def clock(self) -> Clock:
        """The clock of every timer; the executors wait on it too."""
        return self._clock

    def start(self) -> None:
        self._thread.start()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def every(self, seconds: float, task: Task) -> Timer:
        return self._add(seconds, task, once=False)

    def later(self, seconds: float, task: Task) -> Timer:
        """Run ``task`` once, ``seconds`` from now."""
        return self._add(max(seconds, 0.0), task, once=True)

    def cancel(self, job: Timer | None) -> None:
        if job is not None:
            with self._lock:
                job.cancelled = True
                self._jobs.discard(job)

    def jobs(self) -> list[Timer]:
        """The jobs that will still run."""
        with self._lock:
            return list(self._jobs)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def _add(self, seconds: float, task: Task, once: bool) -> Timer:
        with self._lock:
            job = Timer(seconds, task, once, self._clock.now() + seconds)
            self._jobs.add(job)
            self._push(job)
        self._wake.set()
        return job

    def _push(self, job: Timer) -> None:
        heapq.heappush(self._heap, (job.due, next(self._order), job))

    def _run(self) -> None:
        while not self._stop.is_set():
            for job in self._take_due():
                self._guarded(job.task)
                self._again(job)
            self._clock.wait(self._wake, self._idle())
            self._wake.clear()

    def _take_due(self) -> list[Timer]:
        now = self._clock.now()
        due: list[Timer] = []
        with self._lock:
            while self._heap and self._heap[0][0] <= now:
                job = heapq.heappop(self._heap)[2]
                if job.cancelled:
                    continue
                if job.once:
                    self._jobs.discard(job)
                due.append(job)
        return due

    def _again(self, job: Timer) -> None:
        # Like a fixed-rate timer measured from the end of the run: a slow task never
        # makes its successors pile up.
        if job.once:
            return
        with self._lock:
            if not job.cancelled:
                job.due = self._clock.now() + job.interval
                self._push(job)

    def _idle(self) -> float:
        with self._lock:
            if not self._heap:
                return MAX_IDLE
            return min(max(self._heap[0][0] - self._clock.now(), 0.0), MAX_IDLE)

    @staticmethod
    def _guarded(task: Task) -> None:
        try:
            task()
        except Exception:
            _LOG.exception("scheduled task failed")
