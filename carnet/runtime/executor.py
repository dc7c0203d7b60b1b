"""One command queue per account: the only place that sends commands to the vendor.

The vendor rate-limits whole accounts, answers commands slowly and applies them later,
while automations send bursts. So commands of one account wait in one bounded queue and
go out one at a time; a newer command for the same attribute of the same vehicle makes a
queued one obsolete (``superseded``), a command older than ``max_age`` is never sent
(``expired``), a command that would change nothing is answered at once (``ok``, nothing
sent), and a 429 is waited out (``Retry-After``) as long as the command is still
young enough. Every job ends in exactly one call to its listener: ``sent`` or ``done``.
A command that must wait longer than ``ANNOUNCE_WAIT`` for the account's budget or a
``Retry-After`` says so once (a log line and ``Job.waiting``), and the number of such
commands per vehicle is reported to ``on_waiting`` whenever it changes.

Background jobs (the climate reads the poller schedules) spend the same budget, so they
queue here too, behind the owner's commands: one is taken only when no owner job waits
and the account's minute still has more than ``owner_reserve`` requests to spare, so
that a burst of commands after the start-up never waits for the bridge's own reads.

The queues send on a bounded pool of threads shared by all accounts
(``carnet.runtime.command_pool``), one request at a time per account. Every wait (the
budget, a ``Retry-After``, an expiry) is a time of one injectable clock, the scheduler's,
at which the pool gives the account its next turn, so no thread sleeps through it and a
test turns the clock instead of sleeping.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable

from carnet.core.clock import Clock
from carnet.core.errors import CarNetError, RateLimited
from carnet.runtime.command_pool import CommandPool
from carnet.runtime.job import Job, Outcome, vendor_failure

_LOG = logging.getLogger(__name__)

# Without a Retry-After header, wait this long before trying a rate-limited command again.
DEFAULT_RATE_LIMIT_WAIT = 30.0

# A command that must wait longer than this before it may be sent tells the user so.
ANNOUNCE_WAIT = 2.0

# A background job held back for the owner's share of the minute looks again this often.
BACKGROUND_RECHECK = 1.0

# vehicle, how many of its commands wait, seconds until the account's next may be sent
WaitingReport = Callable[[str, int, float], None]


class Executor:
    """Queue, coalesce and send the commands of one account, one at a time."""

    def __init__(
        self,
        name: str,
        max_age: float,
        queue_size: int,
        pool: CommandPool | None = None,
        budget: Callable[[], float] = lambda: 0.0,
        on_waiting: WaitingReport = lambda vehicle, count, seconds: None,
        spare: Callable[[], int] = lambda: 1_000_000,
        owner_reserve: int = 0,
    ) -> None:
        self._name = name
        self._max_age = max_age
        self._queue_size = queue_size
        # Without a shared pool (a single account, a test): a pool of its own, one thread.
        self._own_pool = pool is None
        self._pool = CommandPool(1) if pool is None else pool
        self._clock: Clock = self._pool.clock
        # Seconds until the account's client may send (its per-minute budget). Waited out
        # here, not inside the request, so that a waiting command can still be superseded
        # or expire.
        self._budget = budget
        # Requests the account's minute has left, and how many of them background jobs
        # leave to the owner.
        self._spare = spare
        self._owner_reserve = owner_reserve
        self._queue: list[Job] = []
        self._in_flight: Job | None = None
        # Whether the command in flight got its one result; when the bridge stops before
        # the vendor answers, ``stop`` reports it and the late outcome is dropped.
        self._in_flight_reported = False
        self._not_before = 0.0  # set by a 429: nothing is sent before this time
        self._condition = threading.Condition()
        self._stopping = False
        self._on_waiting = on_waiting
        self._announced: set[int] = set()  # queued jobs that were told they wait
        self._waiting: dict[str, int] = {}  # vehicle -> announced jobs, as last reported

    def submit(self, job: Job) -> None:
        """Queue a command; never blocks. Obsolete, overflowing and unchanging commands are
        reported now."""
        reports: list[tuple[Job, Outcome]] = []
        key = (job.work.vehicle, job.work.key)
        busy = False
        with self._condition:
            stopping = self._stopping
            if not stopping:
                kept = []
                for queued in self._queue:
                    if (queued.work.vehicle, queued.work.key) == key:
                        reports.append(
                            (queued, Outcome("superseded", f"replaced by {job.work.shown!r}"))
                        )
                    else:
                        kept.append(queued)
                self._queue = kept
                in_flight = self._in_flight
                busy = in_flight is not None and (
                    in_flight.work.vehicle, in_flight.work.key) == key
        # The replaced ones first: their pending values go before this one is judged.
        for done, outcome in reports:
            self._report(done, outcome)
        reports = []
        # Asked outside the lock: it reads the vehicle's state under the vehicle's lock.
        # With the same attribute in flight its outcome is unknown, so the job queues.
        unchanged = None if stopping or busy else self._unchanged(job)
        with self._condition:
            if self._stopping:
                reports.append((job, Outcome("error", "the bridge is shutting down")))
            elif unchanged is not None:
                reports.append((job, Outcome("ok", unchanged)))
            elif len(self._queue) >= self._queue_size:
                reports.append(
                    (job, Outcome("rejected", f"command queue full ({self._queue_size} waiting)"))
                )
            else:
                self._queue.append(job)
                self._condition.notify_all()
        if not reports:
            self._pool.offer(self)
        for done, outcome in reports:
            self._report(done, outcome)
        self._announce_waiting()

    @property
    def pending(self) -> int:
        """Jobs queued or in flight, but not the background ones held back for the owner:
        they wait for a quiet minute, which may be long in coming."""
        with self._condition:
            queued = len(self._queue)
            if self._spare() <= self._owner_reserve:
                queued -= sum(1 for job in self._queue if job.work.background)
            return queued + (1 if self._in_flight else 0)

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
                abandoned.work.key,
                abandoned.work.vehicle,
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
        if self._own_pool:
            self._pool.stop(max(deadline - time.monotonic(), 0.0))

    def close(self) -> None:
        """Accept no more commands and report the queued ones; never blocks on the vendor."""
        with self._condition:
            self._stopping = True
            dropped, self._queue = self._queue, []
            self._condition.notify_all()
        for job in dropped:
            self._deliver(job, Outcome("error", "the bridge stopped before sending it"))

    def turn(self) -> float | None:
        """On a pool thread: send the next job if it may go now. Returns the clock time
        at which to look again, or None when nothing is queued."""
        self._announce_waiting()
        job, again = self._take()
        if job is None:
            return again
        self._announce_waiting()  # it no longer waits
        try:
            self._execute(job)
        finally:
            with self._condition:
                self._in_flight = None
                self._condition.notify_all()
        return self._clock.now()

    def _take(self) -> tuple[Job | None, float | None]:
        """The job to send now, else when to look again (for the budget, a Retry-After,
        a background job held back, or the oldest queued job's expiry)."""
        while True:
            with self._condition:
                if self._stopping or not self._queue:
                    return None, None
                now = self._clock.now()
                expired = [job for job in self._queue if now - job.work.received > self._max_age]
                if not expired:
                    head = self._head()
                    wait = max(self._not_before - now, self._budget())
                    held = head is not None and head.work.background
                    if held and self._spare() <= self._owner_reserve:
                        # The minute's last requests are the owner's: look again shortly.
                        wait = max(wait, BACKGROUND_RECHECK)
                    if head is not None and wait <= 0:
                        self._queue.remove(head)
                        self._in_flight = head
                        self._in_flight_reported = False
                        return head, None
                    oldest = min(job.work.received for job in self._queue)
                    return None, now + max(0.01, min(wait, oldest + self._max_age - now + 0.01))
                gone = {id(job) for job in expired}
                self._queue = [job for job in self._queue if id(job) not in gone]
            for job in expired:
                self._report(job, Outcome("expired", f"waited longer than {self._max_age:g}s"))

    def _head(self) -> Job | None:
        """The next job to send: the oldest of the owner's, else the oldest background one
        (condition held)."""
        owner = next((job for job in self._queue if not job.work.background), None)
        return owner if owner is not None else next(iter(self._queue), None)

    def _announce_waiting(self) -> None:
        """Tell the queued commands that must wait longer than ``ANNOUNCE_WAIT`` (once
        each), and report each vehicle whose number of waiting commands changed."""
        with self._condition:
            now = self._clock.now()
            retry_after = self._not_before - now
            wait = max(retry_after, self._budget()) if self._queue else 0.0
            if retry_after > 0 and retry_after >= wait:
                reason = "the vendor's rate limit (Retry-After)"
            else:
                reason = "the account's request budget (commands.max_per_minute, min_interval)"
            fresh: list[Job] = []
            if wait > ANNOUNCE_WAIT:
                fresh = [
                    job for job in self._queue
                    if id(job) not in self._announced and not job.work.background
                ]
                self._announced.update(id(job) for job in fresh)
            self._announced &= {id(job) for job in self._queue}
            counts = Counter(
                job.work.vehicle for job in self._queue if id(job) in self._announced
            )
            changed = {job.work.vehicle for job in fresh} | {
                vehicle
                for vehicle in set(counts) | set(self._waiting)
                if counts[vehicle] != self._waiting.get(vehicle, 0)
            }
            self._waiting = dict(counts)
        for job in fresh:
            _LOG.info(
                "%s %s=%s waits %.0f s before it is sent: %s",
                job.work.vehicle, job.work.key, job.work.shown, wait, reason,
            )
            try:
                job.waiting(wait, reason)
            except Exception:
                _LOG.exception("showing the waiting command %s failed", job.work.key)
        for vehicle in sorted(changed):
            try:
                self._on_waiting(vehicle, counts[vehicle], wait if counts[vehicle] else 0.0)
            except Exception:
                _LOG.exception("reporting the waiting commands of %s failed", vehicle)

    def _age(self, job: Job) -> float:
        return self._clock.now() - job.work.received

    def _unchanged(self, job: Job) -> str | None:
        try:
            return job.unchanged()
        except Exception:  # a bug must not lose the command: then it is sent
            _LOG.exception("checking whether %s changes anything failed", job.work.key)
            return None

    def _execute(self, job: Job) -> None:
        if self._age(job) > self._max_age:
            self._report(job, Outcome("expired", f"waited longer than {self._max_age:g}s"))
            return
        # A read while it waited may have shown the car already in that state.
        unchanged = self._unchanged(job)
        if unchanged is not None:
            self._report(job, Outcome("ok", unchanged))
            return
        try:
            receipt = job.send()
        except RateLimited as exc:
            self._rate_limited(job, exc)
            return
        except CarNetError as exc:
            self._report(job, vendor_failure(exc))
            return
        except Exception:  # a bug must not kill the worker or lose the result
            _LOG.exception("command %s failed unexpectedly", job.work.key)
            self._report(job, Outcome("error", "internal error, see the bridge log"))
            return
        if not self._claim(job):
            return
        try:
            job.listener.sent(job, receipt)
        except Exception:
            _LOG.exception("handling the sent command %s failed", job.work.key)

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
            "account %s rate limited; retrying %s in %.0fs", self._name, job.work.key, wait
        )
        with self._condition:
            self._not_before = self._clock.now() + wait
            # Back at the head of the queue unless a newer command replaced it meanwhile.
            key = (job.work.vehicle, job.work.key)
            if any((q.work.vehicle, q.work.key) == key for q in self._queue):
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
            _LOG.exception("reporting the result of %s failed", job.work.key)
