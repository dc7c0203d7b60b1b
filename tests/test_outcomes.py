"""Following a command's outcome as the vendor reports it: the decisions, and the asking
on the account's read queue, timed by the scheduler."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from carnet.core.clock import ManualClock
from carnet.core.errors import VendorUnavailable
from carnet.runtime.daemon import wait_until
from carnet.runtime.outcomes import (
    OUTCOME_POLL,
    Decision,
    OutcomeFollower,
    Step,
    decide,
    outcome_deadline,
)
from carnet.runtime.reads import ReadPool
from carnet.runtime.scheduler import Scheduler
from carnet.vendor.protocol import CommandOutcome, Progress, Receipt

PENDING = CommandOutcome(Progress.PENDING)


def test_a_success_is_confirmed_by_the_car() -> None:
    assert decide(CommandOutcome(Progress.SUCCEEDED), 1, 60) == Decision(
        Step.CONFIRMED, "confirmed by the car"
    )


def test_a_failure_carries_the_vendors_words() -> None:
    words = "the car refused: 4302 : RO_CHARGING_FAILED"
    assert decide(CommandOutcome(Progress.FAILED, words), 2, 60) == Decision(Step.REFUSED, words)
    assert decide(CommandOutcome(Progress.FAILED), 1, 60).detail == "the car refused it"


def test_pending_asks_again_until_the_deadline_then_verifies_by_read() -> None:
    assert decide(PENDING, 1, 60).step is Step.ASK_AGAIN
    assert decide(PENDING, 19, 60).step is Step.ASK_AGAIN  # the 20th question is at 60 s
    assert decide(PENDING, 20, 60).step is Step.VERIFY


def test_a_failed_question_falls_back_to_the_re_poll() -> None:
    assert decide(None, 1, 60) == Decision(Step.VERIFY)


def test_the_deadline_is_twice_verify_after_and_at_least_a_minute() -> None:
    assert outcome_deadline(25) == 60
    assert outcome_deadline(45) == 90


class _Vendor:
    """Answers the outcome questions from a script, on the read pool's threads."""

    def __init__(self, answers: list[CommandOutcome | Exception]) -> None:
        self.answers = answers
        self.threads: list[str] = []

    def outcome(self, vehicle: object, receipt: Receipt) -> CommandOutcome:
        self.threads.append(threading.current_thread().name)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=100.0)


@pytest.fixture
def scheduler(clock: ManualClock) -> Iterator[Scheduler]:
    running = Scheduler(clock)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def pool() -> Iterator[ReadPool]:
    running = ReadPool(2)
    yield running
    running.stop()


def _follow(vendor: _Vendor, scheduler: Scheduler, pool: ReadPool, clock: ManualClock,
            limit: float = 60) -> list[Decision]:
    decided: list[Decision] = []
    follower = OutcomeFollower(vendor, object(), "id4", Receipt("abc"),  # type: ignore[arg-type]
                               pool.account("a***@example.com"), scheduler, limit,
                               decided.append)
    follower.start()
    for _ in range(40):
        # The next question is timed: turn the clock to it, and wait for it to be asked.
        assert wait_until(lambda: bool(decided) or bool(scheduler.jobs()), 2.0, step=0.005)
        if decided:
            break
        asked = len(vendor.threads)
        clock.advance(OUTCOME_POLL)
        assert wait_until(lambda asked=asked: len(vendor.threads) > asked, 2.0, step=0.005)
    assert wait_until(lambda: bool(decided), 2.0, step=0.005)
    return decided


def test_the_follower_asks_on_the_read_queue_until_the_car_did_it(
    scheduler: Scheduler, pool: ReadPool, clock: ManualClock
) -> None:
    vendor = _Vendor([PENDING, PENDING, CommandOutcome(Progress.SUCCEEDED)])
    assert _follow(vendor, scheduler, pool, clock) == [
        Decision(Step.CONFIRMED, "confirmed by the car")
    ]
    assert len(vendor.threads) == 3
    assert all(name.startswith("reads-") for name in vendor.threads)


def test_the_follower_falls_back_when_asking_fails(
    scheduler: Scheduler, pool: ReadPool, clock: ManualClock
) -> None:
    vendor = _Vendor([PENDING, VendorUnavailable("HTTP 503")])
    assert _follow(vendor, scheduler, pool, clock) == [Decision(Step.VERIFY)]


def test_the_follower_gives_up_waiting_at_the_deadline(
    scheduler: Scheduler, pool: ReadPool, clock: ManualClock
) -> None:
    vendor = _Vendor([PENDING] * 10)
    assert _follow(vendor, scheduler, pool, clock, limit=4 * OUTCOME_POLL) == [
        Decision(Step.VERIFY)
    ]
    assert len(vendor.answers) == 6  # asked four times
