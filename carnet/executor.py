"""One command worker per account: the only place that sends commands to the vendor.

The vendor rate-limits whole accounts, answers commands slowly and applies them later,
while automations send bursts. So commands of one account wait in one bounded queue and
go out one at a time; a newer command for the same attribute of the same vehicle makes a
queued one obsolete (``superseded``), a command older than ``max_age`` is never sent
(``expired``), and a 429 is waited out (``Retry-After``) as long as the command is still
young enough. Every job ends in exactly one call to its listener: ``sent`` or ``done``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from carnet.commands import Command
from carnet.errors import (
    AuthError,
    BadRequest,
    CarNetError,
    PinRefused,
    RateLimited,
    VendorUnavailable,
)

_LOG = logging.getLogger(__name__)

# Without a Retry-After header, wait this long before trying a rate-limited command again.
DEFAULT_RATE_LIMIT_WAIT = 30.0


@dataclass(frozen=True)
class Outcome:
    status: str  # rejected | superseded | expired | error
    detail: str


class JobListener(Protocol):
    """Who hears how a job ended: ``sent`` once the vendor accepted it, else ``done``."""

    def sent(self, job: Job) -> None: ...

    def done(self, job: Job, outcome: Outcome) -> None: ...


@dataclass
class Job:
    """A validated command, the request that carries it out, and who wants to know."""

    command: Command
    send: Callable[[], None]
    listener: JobListener


class Executor:
    """Queue, coalesce and send the commands of one account, one at a time."""

    def __init__(
        self,
        name: str,
        max_age: float,
        queue_size: int,
        clock: Callable[[], float] = time.monotonic,
        budget: Callable[[], float] = lambda: 0.0,
    ) -> None:
        self._name = name
        self._max_age = max_age
        self._queue_size = queue_size
        self._clock = clock
        # Seconds until the account's client may send (its per-minute budget). Waited out
        # here, not inside the request, so that a waiting command can still be superseded
        # or expire.
        self._budget = budget
        self._queue: list[Job] = []
        self._in_flight: Job | None = None
        # Whether the command in flight got its one result; when the bridge stops before
        # the vendor answers, ``stop`` reports it and the late outcome is dropped.
        self._in_flight_reported = False
        self._not_before = 0.0  # set by a 429: nothing is sent before this time
        self._condition = threading.Condition()
        self._stopping = False
        # Started by the first command: most accounts of a fleet never send one, and a
        # thread each would cost memory for nothing.
        self._thread = threading.Thread(target=self._run, name=f"commands-{name}", daemon=True)

    def submit(self, job: Job) -> None:
        """Queue a command; never blocks. Obsolete or overflowing commands are reported now."""
        reports: list[tuple[Job, Outcome]] = []
        with self._condition:
            if self._stopping:
                reports.append((job, Outcome("error", "the bridge is shutting down")))
            else:
                key = (job.command.vehicle, job.command.attribute)
                kept = []
                for queued in self._queue:
                    if (queued.command.vehicle, queued.command.attribute) == key:
                        reports.append(
                            (queued, Outcome("superseded", f"replaced by {job.command.raw!r}"))
                        )
                    else:
                        kept.append(queued)
                self._queue = kept
                if len(self._queue) >= self._queue_size:
                    reports.append(
                        (
                            job,
                            Outcome("rejected", f"command queue full ({self._queue_size} waiting)"),
                        )
                    )
                else:
                    self._queue.append(job)
                    self._condition.notify_all()
                    if not self._thread.is_alive():
                        self._thread.start()
        for done, outcome in reports:
            self._report(done, outcome)

    @property
    def pending(self) -> int:
        with self._condition:
            return len(self._queue) + (1 if self._in_flight else 0)

    def stop(self, timeout: float = 15.0) -> None:
        """Report the queued commands, wait up to ``timeout`` for the one in flight.

        A command the vendor is still handling when ``timeout`` runs out is reported
        then: the bridge must not exit leaving it without a result.
        """
        self.close()
        deadline = time.monotonic() + timeout
        with self._condition:
            while self._in_flight is not None and not self._in_flight_reported:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._condition.wait(remaining)
            abandoned = None
            if self._in_flight is not None and not self._in_flight_reported:
                abandoned, self._in_flight_reported = self._in_flight, True
            # A rate-limited command put back in the queue while this waited.
            dropped, self._queue = self._queue, []
        if abandoned is not None:
            _LOG.warning(
                "stopping while %s of %s waits for the vendor; the vendor may still carry it out",
                abandoned.command.attribute,
                abandoned.command.vehicle,
            )
            self._deliver(
                abandoned,
                Outcome(
                    "error",
                    "the bridge stopped while the vendor handled it; "
                    "the vendor may still carry it out",
                ),
            )
        for job in dropped:
            self._deliver(job, Outcome("error", "the bridge stopped before sending it"))
        if self._thread.is_alive():
            self._thread.join(max(deadline - time.monotonic(), 0.0))

    def close(self) -> None:
        """Accept no more commands and report the queued ones; never blocks on the vendor."""
        with self._condition:
            self._stopping = True
            dropped, self._queue = self._queue, []
            self._condition.notify_all()
        for job in dropped:
            self._deliver(job, Outcome("error", "the bridge stopped before sending it"))

    def _run(self) -> None:
        while True:
            job = self._next_job()
            if job is None:
                return
            try:
                self._execute(job)
            finally:
                with self._condition:
                    self._in_flight = None
                    self._condition.notify_all()

    def _next_job(self) -> Job | None:
        while True:
            with self._condition:
                if self._stopping:
                    return None
                now = self._clock()
                expired = [job for job in self._queue if now - job.command.received > self._max_age]
                if not expired:
                    wait = max(self._not_before - now, self._budget()) if self._queue else 0.0
                    if self._queue and wait <= 0:
                        job = self._queue.pop(0)
                        self._in_flight = job
                        self._in_flight_reported = False
                        return job
                    timeout = None
                    if self._queue:
                        # Wake up for the budget, or when the oldest queued command expires.
                        oldest = min(job.command.received for job in self._queue)
                        timeout = max(0.01, min(wait, oldest + self._max_age - now + 0.01))
                    self._condition.wait(timeout=timeout)
                    continue
                gone = {id(job) for job in expired}
                self._queue = [job for job in self._queue if id(job) not in gone]
            for job in expired:
                self._report(job, Outcome("expired", f"waited longer than {self._max_age:g}s"))

    def _age(self, job: Job) -> float:
        return self._clock() - job.command.received

    def _execute(self, job: Job) -> None:
        if self._age(job) > self._max_age:
            self._report(job, Outcome("expired", f"waited longer than {self._max_age:g}s"))
            return
        try:
            job.send()
        except RateLimited as exc:
            self._rate_limited(job, exc)
            return
        except PinRefused as exc:
            self._report(job, Outcome("error", f"PIN refused, commands disabled: {exc}"))
            return
        except AuthError as exc:
            self._report(job, Outcome("error", f"login failed: {exc}"))
            return
        except VendorUnavailable as exc:
            # Not retried: the car may have carried it out although the answer was lost.
            self._report(
                job,
                Outcome(
                    "error",
                    f"vendor unavailable, not retried; the vendor may still carry it out: {exc}",
                ),
            )
            return
        except BadRequest as exc:
            self._report(job, Outcome("error", f"vendor refused the request: {exc}"))
            return
        except CarNetError as exc:
            self._report(job, Outcome("error", str(exc)))
            return
        except Exception:  # a bug must not kill the worker or lose the result
            _LOG.exception("command %s failed unexpectedly", job.command.attribute)
            self._report(job, Outcome("error", "internal error, see the bridge log"))
            return
        if not self._claim(job):
            return
        try:
            job.listener.sent(job)
        except Exception:
            _LOG.exception("handling the sent command %s failed", job.command.attribute)

    def _rate_limited(self, job: Job, exc: RateLimited) -> None:
        wait = exc.retry_after if exc.retry_after is not None else DEFAULT_RATE_LIMIT_WAIT
        if self._age(job) + wait > self._max_age:
            self._report(
                job,
                Outcome(
                    "expired", f"rate limited by the vendor for {wait:g}s, longer than max_age"
                ),
            )
            return
        _LOG.warning(
            "account %s rate limited; retrying %s in %.0fs", self._name, job.command.attribute, wait
        )
        with self._condition:
            self._not_before = self._clock() + wait
            # Back at the head of the queue unless a newer command replaced it meanwhile.
            key = (job.command.vehicle, job.command.attribute)
            if any((q.command.vehicle, q.command.attribute) == key for q in self._queue):
                superseded = True
            else:
                superseded = False
                self._queue.insert(0, job)
            self._condition.notify_all()
        if superseded:
            self._report(job, Outcome("superseded", "replaced while waiting out a rate limit"))

    def _claim(self, job: Job) -> bool:
        """False when ``stop`` already reported this in-flight job (exactly one result)."""
        with self._condition:
            if job is not self._in_flight:
                return True
            if self._in_flight_reported:
                return False
            self._in_flight_reported = True
            self._condition.notify_all()
            return True

    def _report(self, job: Job, outcome: Outcome) -> None:
        if self._claim(job):
            self._deliver(job, outcome)

    def _deliver(self, job: Job, outcome: Outcome) -> None:
        try:
            job.listener.done(job, outcome)
        except Exception:
            _LOG.exception("reporting the result of %s failed", job.command.attribute)
