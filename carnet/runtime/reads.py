"""Vendor reads on a bounded pool: a few threads for every account, each account serial.

An account's reads never overlap (one login, one token, one rate limit per account),
and a slow or failing account holds at most one of the pool's threads, so the others
go on. The number of threads does not grow with the number of accounts. A read that is
already waiting is not queued twice: its follow-ups are attached to the waiting one
instead, so a burst of refresh requests costs one status read.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

_LOG = logging.getLogger(__name__)

Task = Callable[[], None]

# Follow-ups attached to one waiting read. More pile up only while a read hangs; those
# run at once instead (see ``AccountReads.enqueue``).
MAX_FOLLOWUPS = 100

# Threads for all accounts' reads. A read is one HTTP request of a few hundred
# milliseconds; six in flight keep 1,000 vehicles within a 10-minute interval with room
# to spare, and bound the threads a hanging vendor can hold.
READ_THREADS = 6


class ReadPool:
    """A fixed set of threads that take turns over the accounts with reads waiting."""

    def __init__(self, size: int = READ_THREADS) -> None:
        self._ready: deque[AccountReads] = deque()  # accounts with a task, none running
        self._condition = threading.Condition()
        self._stopping = False
        self._threads = [
            threading.Thread(target=self._run, name=f"reads-{i}", daemon=True)
            for i in range(max(size, 1))
        ]
        for thread in self._threads:
            thread.start()

    def account(self, name: str) -> AccountReads:
        return AccountReads(name, self)

    def stop(self, timeout: float = 10.0) -> None:
        with self._condition:
            self._stopping = True
            self._ready.clear()
            self._condition.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(deadline - time.monotonic(), 0.0))

    def _offer(self, account: AccountReads) -> None:
        with self._condition:
            if not self._stopping:
                self._ready.append(account)
                self._condition.notify()

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._ready and not self._stopping:
                    self._condition.wait()
                if self._stopping:
                    return
                account = self._ready.popleft()
            account._run_one()


class AccountReads:
    """The queue of one account's reads; its tasks run on the pool, one at a time."""

    def __init__(self, name: str, pool: ReadPool) -> None:
        self.name = name
        self._pool = pool
        self._tasks: OrderedDict[str, tuple[Task, list[Task]]] = OrderedDict()
        self._condition = threading.Condition()
        self._stopping = False
        self._active = False  # offered to the pool or running: never twice at once
        self._busy = False

    def enqueue(self, key: str, task: Task, then: Task | None = None) -> bool:
        """Queue ``task`` under ``key``; if one is already waiting, attach ``then`` to it.

        Returns True when the task was queued, False when it joined a waiting one.

        A waiting read takes at most ``MAX_FOLLOWUPS`` follow-ups. Further ones run at
        once, on the caller's thread, with what is known now: a follow-up is how a command
        gets its one result and a bridge request its answer, so dropping it would leave
        them waiting for ever, while the queue must not grow without bound when a read
        hangs.
        """
        overflow: Task | None = None
        offer = False
        with self._condition:
            if self._stopping:
                return False
            if key not in self._tasks:
                self._tasks[key] = (task, [then] if then is not None else [])
                offer, self._active = not self._active, True
            elif then is None:
                return False
            elif len(self._tasks[key][1]) < MAX_FOLLOWUPS:
                self._tasks[key][1].append(then)
                return False
            else:
                overflow = then
        if overflow is not None:
            _LOG.warning(
                "%d follow-ups already wait for %s; running this one now with the current state",
                MAX_FOLLOWUPS,
                key,
            )
            try:
                overflow()
            except Exception:
                _LOG.exception("background task failed")
            return False
        if offer:
            self._pool._offer(self)
        return True

    def idle(self) -> bool:
        with self._condition:
            return not self._tasks and not self._busy

    def stop(self, timeout: float = 10.0) -> None:
        """Drop what waits and wait at most ``timeout`` for the running read."""
        deadline = time.monotonic() + timeout
        with self._condition:
            self._stopping = True
            self._tasks.clear()
            while self._busy and time.monotonic() < deadline:
                self._condition.wait(max(deadline - time.monotonic(), 0.0))

    def _run_one(self) -> None:
        with self._condition:
            if self._stopping or not self._tasks:
                self._active = False
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
                self._condition.notify_all()
                more = bool(self._tasks) and not self._stopping
                self._active = more
        if more:
            # To the back of the line: one account's backlog never starves the others.
            self._pool._offer(self)
