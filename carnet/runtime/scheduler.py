"""Timing and threads: one scheduler thread, one serial worker per account.

The scheduler thread (the ``schedule`` library) only decides *when*; it hands every
vendor read to the worker of the vehicle's account, so a slow or failing account never
delays another, and the reads of one account never overlap. A read that is already
waiting is not queued twice: its follow-ups are attached to the waiting one instead, so a
burst of refresh requests costs one status read.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable

import schedule

_LOG = logging.getLogger(__name__)

Task = Callable[[], None]

# Follow-ups attached to one waiting read. More pile up only while a read hangs; those
# run at once instead (see ``SerialWorker.enqueue``).
MAX_FOLLOWUPS = 100


class Scheduler:
    """Periodic and one-shot jobs, run on one thread; safe to call from any thread."""

    def __init__(self) -> None:
        self._schedule = schedule.Scheduler()
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def every(self, seconds: float, task: Task) -> schedule.Job:
        with self._lock:
            job = self._schedule.every(seconds).seconds.do(self._guarded, task)
        self._wake.set()
        return job

    def later(self, seconds: float, task: Task) -> schedule.Job:
        """Run ``task`` once, ``seconds`` from now."""

        def once() -> type[schedule.CancelJob]:
            self._guarded(task)
            return schedule.CancelJob

        with self._lock:
            job = self._schedule.every(max(seconds, 0.001)).seconds.do(once)
        self._wake.set()
        return job

    def cancel(self, job: schedule.Job | None) -> None:
        if job is not None:
            with self._lock:
                self._schedule.cancel_job(job)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                self._schedule.run_pending()
                idle = self._schedule.idle_seconds
            timeout = 1.0 if idle is None else min(max(idle, 0.01), 1.0)
            self._wake.wait(timeout)
            self._wake.clear()

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
