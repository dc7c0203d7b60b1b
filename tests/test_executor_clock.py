"""The executor's waits (the account's budget, a Retry-After, max_age) are times of one
clock, turned here by hand: nothing is sent before its time, and nothing sleeps."""

from __future__ import annotations

import threading
from collections.abc import Callable

from carnet.core.clock import ManualClock
from carnet.core.errors import RateLimited
from carnet.runtime.command_pool import CommandPool
from carnet.runtime.daemon import wait_until
from carnet.runtime.executor import ANNOUNCE_WAIT, Executor
from carnet.runtime.job import Job, Outcome, Work


class Recorder:
    """Every result, with the clock's time it came at."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.results: list[tuple[str, str, float]] = []  # name, sent or status, when
        self.waits: list[tuple[str, float, str]] = []
        self.lock = threading.Lock()

    def job(self, name: str, key: str | None = None, send: Callable[[], None] = lambda: None,
            vehicle: str = "egolf") -> Job:
        recorder = self

        class Listener:
            def sent(self, job: Job, receipt: object) -> None:
                with recorder.lock:
                    recorder.results.append((name, "sent", recorder.clock.now()))

            def done(self, job: Job, outcome: Outcome) -> None:
                with recorder.lock:
                    recorder.results.append((name, outcome.status, recorder.clock.now()))

        def waiting(seconds: float, reason: str) -> None:
            self.waits.append((name, seconds, reason))

        work = Work(vehicle, key or name, name, received=self.clock.now())
        return Job(work, send, Listener(), waiting=waiting)  # type: ignore[arg-type]

    def got(self, count: int) -> bool:
        return wait_until(lambda: len(self.results) >= count, 5, step=0.002)


class Paced:
    """An account's budget: requests at least ``spacing`` seconds of the clock apart."""

    def __init__(self, clock: ManualClock, spacing: float) -> None:
        self.clock = clock
        self.spacing = spacing
        self.last: float | None = None

    def wait(self) -> float:
        return 0.0 if self.last is None else max(self.last + self.spacing - self.clock.now(), 0)

    def send(self) -> None:
        self.last = self.clock.now()


def still(recorder: Recorder, count: int) -> bool:
    """No further result arrives within a moment of real time."""
    return not wait_until(lambda: len(recorder.results) > count, 0.1, step=0.01)


def test_commands_wait_for_the_budget_on_the_clock_and_say_so_once():
    clock = ManualClock(1000.0)
    recorder = Recorder(clock)
    budget = Paced(clock, 60.0)
    waiting: list[tuple[str, int, float]] = []
    pool = CommandPool(1, clock)
    executor = Executor("test", max_age=300.0, queue_size=10, pool=pool,
                        budget=budget.wait,
                        on_waiting=lambda v, count, seconds: waiting.append((v, count, seconds)))
    executor.submit(recorder.job("lock", send=budget.send))
    assert recorder.got(1)
    executor.submit(recorder.job("climate", send=budget.send))
    executor.submit(recorder.job("charging", send=budget.send))
    assert still(recorder, 1)
    # Both wait longer than ANNOUNCE_WAIT for the budget: each is told once, with why.
    assert [(n, s) for n, s, _ in recorder.waits] == [("climate", 60.0), ("charging", 60.0)]
    assert all("budget" in reason for _, _, reason in recorder.waits)
    assert waiting[-1] == ("egolf", 2, 60.0)
    clock.advance(59.0)
    assert still(recorder, 1)
    clock.advance(1.0)
    assert recorder.got(2)
    assert still(recorder, 2)
    clock.advance(60.0)
    assert recorder.got(3)
    assert recorder.results == [
        ("lock", "sent", 1000.0), ("climate", "sent", 1060.0), ("charging", "sent", 1120.0)
    ]
    assert wait_until(lambda: waiting[-1] == ("egolf", 0, 0.0), 5, step=0.002)
    assert len(recorder.waits) == 2  # told once each, not again at every look
    executor.stop()
    pool.stop()


def test_a_command_waiting_for_the_budget_expires_at_max_age_of_the_clock():
    clock = ManualClock()
    recorder = Recorder(clock)
    sent: list[str] = []
    pool = CommandPool(1, clock)
    executor = Executor("test", max_age=30.0, queue_size=10, pool=pool,
                        budget=lambda: 100.0)
    executor.submit(recorder.job("lock", send=lambda: sent.append("lock")))
    assert still(recorder, 0)
    clock.advance(30.0)
    assert still(recorder, 0)  # not older than max_age yet
    clock.advance(0.5)
    assert recorder.got(1)
    assert recorder.results == [("lock", "expired", 30.5)]
    assert sent == []
    executor.stop()
    pool.stop()


def test_a_rate_limited_command_is_sent_again_after_retry_after_of_the_clock():
    clock = ManualClock()
    recorder = Recorder(clock)
    tries: list[float] = []

    def send() -> None:
        tries.append(clock.now())
        if len(tries) == 1:
            raise RateLimited("slow down", 20.0)

    pool = CommandPool(1, clock)
    executor = Executor("test", max_age=60.0, queue_size=10, pool=pool)
    executor.submit(recorder.job("lock", send=send))
    assert wait_until(lambda: tries == [0.0], 5, step=0.002)
    executor.submit(recorder.job("climate"))  # behind the rate-limited one, also held
    clock.advance(ANNOUNCE_WAIT + 1)
    assert still(recorder, 0)
    assert [(n, reason) for n, _, reason in recorder.waits] == [
        ("lock", "the vendor's rate limit (Retry-After)"),
        ("climate", "the vendor's rate limit (Retry-After)"),
    ]
    clock.advance(20.0 - ANNOUNCE_WAIT - 1)
    assert recorder.got(2)
    assert tries == [0.0, 20.0]
    assert recorder.results == [("lock", "sent", 20.0), ("climate", "sent", 20.0)]
    executor.stop()
    pool.stop()


def test_a_retry_after_past_max_age_ends_the_command_expired_without_waiting():
    clock = ManualClock()
    recorder = Recorder(clock)

    def send() -> None:
        raise RateLimited("slow down", 120.0)

    pool = CommandPool(1, clock)
    executor = Executor("test", max_age=60.0, queue_size=10, pool=pool)
    executor.submit(recorder.job("lock", send=send))
    assert recorder.got(1)
    name, status, when = recorder.results[0]
    assert (name, status, when) == ("lock", "expired", 0.0)
    executor.stop()
    pool.stop()


def test_one_account_waiting_for_its_budget_holds_no_thread_of_the_pool():
    clock = ManualClock()
    recorder = Recorder(clock)
    pool = CommandPool(1, clock)  # one thread for both accounts
    slow = Paced(clock, 3600.0)
    first = Executor("first", max_age=7200.0, queue_size=10, pool=pool, budget=slow.wait)
    second = Executor("second", max_age=7200.0, queue_size=10, pool=pool)
    first.submit(recorder.job("lock", send=slow.send))
    assert recorder.got(1)
    first.submit(recorder.job("climate", send=slow.send))  # waits an hour of the clock
    second.submit(recorder.job("horn", vehicle="jetta"))
    assert recorder.got(2)
    assert recorder.results[1] == ("horn", "sent", 0.0)
    clock.advance(3600.0)
    assert recorder.got(3)
    assert recorder.results[2] == ("climate", "sent", 3600.0)
    first.stop()
    second.stop()
    pool.stop()
