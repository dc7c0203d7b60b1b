"""Timing and threads: one scheduler thread, one serial worker per account.

The scheduler thread only decides *when*, from a heap of timers on one monotonic clock
(``carnet.core.clock``), so a daylight-saving change or a jump of the wall clock never
moves a poll. It hands every vendor read to the worker of the vehicle's account, so a
slow or failing account never delays another, and the reads of one account never
overlap. A read that is already waiting is not queued twice: its follow-ups are attached
to the waiting one instead, so a burst of refresh requests costs one status read.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from carnet.core.clock import REAL_CLOCK, Clock

_LOG = logging.getLogger(__name__)

Task = Callable[[], None]

# Follow-ups attached to one waiting read. More pile up only while a read hangs; those
# run at once instead (see ``SerialWorker.enqueue``).
MAX_FOLLOWUPS = 100

# The longest the scheduler thread sleeps without looking at its stop flag.
MAX_IDLE = 1.0


@dataclass(eq=False)
class Job:
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
        self._heap: list[tuple[float, int, Job]] = []
        self._jobs: set[Job] = set()
        self._order = itertools.count()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def every(self, seconds: float, task: Task) -> Job:
        return self._add(seconds, task, once=False)

    def later(self, seconds: float, task: Task) -> Job:
        """Run ``task`` once, ``seconds`` from now."""
        return self._add(max(seconds, 0.0), task, once=True)

    def cancel(self, job: Job | None) -> None:
        if job is not None:
            with self._lock:
                job.cancelled = True
                self._jobs.discard(job)

    def jobs(self) -> list[Job]:
        """The jobs that will still run."""
        with self._lock:
            return list(self._jobs)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def _add(self, seconds: float, task: Task, once: bool) -> Job:
        with self._lock:
            job = Job(seconds, task, once, self._clock.now() + seconds)
            self._jobs.add(job)
            self._push(job)
        self._wake.set()
        return job

    def _push(self, job: Job) -> None:
        heapq.heappush(self._heap, (job.due, next(self._order), job))

    def _run(self) -> None:
        while not self._stop.is_set():
            for job in self._take_due():
                self._guarded(job.task)
                self._again(job)
            self._clock.wait(self._wake, self._idle())
            self._wake.clear()

    def _take_due(self) -> list[Job]:
        now = self._clock.now()
        due: list[Job] = []
        with self._lock:
            while self._heap and self._heap[0][0] <= now:
                job = heapq.heappop(self._heap)[2]
                if job.cancelled:
                    continue
                if job.once:
                    self._jobs.discard(job)
                due.append(job)
        return due

    def _again(self, job: Job) -> None:
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


class SerialWorker:
    """Runs tasks of one account in order, one at a time, on its own thread."""

    def __init__(self, name: str) -> None:
        self._tasks: OrderedDict[str, tuple[Task, list[Task]]] = OrderedDict()
        self._condition = threading.Condition()
        self._stopping = False
        self._busy = False
        self._thread = threading.Thread(target=self._run, name=f"reads-{name}", daemon=True)
        self._thread.start()

    def enqueue(self, key: str, task: Task, then: Task | None = None) -> bool:
        """Queue ``task`` under ``key``; if one is already waiting, attach ``then`` to it.

        Returns True when the task was queued, False when it joined a waiting one.

        A waiting read takes at most ``MAX_FOLLOWUPS`` follow-ups. Further ones run at
        once, on the caller's thread, with what is known now: a follow-up is how a command
        gets its one result and a bridge request its answer, so dropping it would leave
        them waiting for ever, while the queue must not grow without bound when a read
        hangs.
        """
        with self._condition:
            if self._stopping:
                return False
            if key not in self._tasks:
                self._tasks[key] = (task, [then] if then is not None else [])
                self._condition.notify_all()
                return True
            followups = self._tasks[key][1]
            if then is None:
                return False
            if len(followups) < MAX_FOLLOWUPS:
                followups.append(then)
                return False
        _LOG.warning(
            "%d follow-ups already wait for %s; running this one now with the current state",
            MAX_FOLLOWUPS,
            key,
        )
        try:
            then()
        except Exception:
            _LOG.exception("background task failed")
        return False

    def idle(self) -> bool:
        with self._condition:
            return not self._tasks and not self._busy

    def stop(self, timeout: float = 10.0) -> None:
        with self._condition:
            self._stopping = True
            self._tasks.clear()
            self._condition.notify_all()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._tasks and not self._stopping:
                    self._condition.wait()
                if self._stopping:
                    return
                _, (task, followups) = self._tasks.popitem(last=False)
                self._busy = True
            try:
                for step in (task, *followups):
                    try:
                        step()
                    except Exception:
                        _LOG.exception("background task failed")
            finally:
                with self._condition:
                    self._busy = False
