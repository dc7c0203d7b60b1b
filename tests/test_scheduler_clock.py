"""The scheduler's timers: one monotonic clock, deaf to time zones and wall-clock jumps."""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Iterator

import pytest

from carnet.core.clock import REAL_CLOCK, ManualClock
from carnet.runtime.daemon import wait_until as poll_until
from carnet.runtime.scheduler import Scheduler


def wait_until(condition, timeout: float = 5.0) -> bool:
    return poll_until(condition, timeout, step=0.005)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=1000.0)


@pytest.fixture
def scheduler(clock: ManualClock) -> Iterator[Scheduler]:
    running = Scheduler(clock)
    running.start()
    yield running
    running.stop()


def test_a_timer_runs_when_the_clock_is_turned_not_before(clock, scheduler):
    runs: list[float] = []
    scheduler.every(600, lambda: runs.append(clock.now()))
    time.sleep(0.05)
    assert runs == []
    clock.advance(599)
    time.sleep(0.05)
    assert runs == []
    clock.advance(1)
    assert wait_until(lambda: runs == [1600.0])
    clock.advance(600)
    assert wait_until(lambda: runs == [1600.0, 2200.0])


def test_a_one_shot_runs_once_and_a_cancelled_job_never(clock, scheduler):
    once: list[int] = []
    cancelled: list[int] = []
    scheduler.later(5, lambda: once.append(1))
    job = scheduler.every(5, lambda: cancelled.append(1))
    scheduler.cancel(job)
    for _ in range(3):
        clock.advance(5)
        time.sleep(0.03)
    assert once == [1] and cancelled == []
    assert scheduler.jobs() == []


@pytest.fixture
def zone_with_dst() -> Iterator[None]:
    before = os.environ.get("TZ")
    yield
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


def test_intervals_hold_across_a_daylight_saving_change(zone_with_dst):
    # Europe/Berlin moves from +01:00 to +02:00 while the scheduler runs, as at the end
    # of March: the local clock jumps an hour, the poll intervals must not.
    os.environ["TZ"] = "CET-1CEST,M3.5.0,M10.5.0/3"
    time.tzset()
    scheduler = Scheduler(REAL_CLOCK)
    runs: list[float] = []
    scheduler.every(0.05, lambda: runs.append(time.monotonic()))
    scheduler.start()
    try:
        assert wait_until(lambda: len(runs) >= 3)
        offset_before = time.localtime().tm_gmtoff
        os.environ["TZ"] = "CET-2"  # an hour ahead, as after the change
        time.tzset()
        assert time.localtime().tm_gmtoff == offset_before + 3600
        count = len(runs)
        assert wait_until(lambda: len(runs) >= count + 3)
    finally:
        scheduler.stop()
    gaps = [later - earlier for earlier, later in itertools.pairwise(runs)]
    assert all(0.04 <= gap < 0.5 for gap in gaps), gaps


def test_a_wall_clock_jump_does_not_move_a_timer(clock, scheduler, monkeypatch):
    runs: list[float] = []
    scheduler.every(60, lambda: runs.append(clock.now()))
    # The wall clock jumps a day ahead; only the monotonic clock times the scheduler.
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 86400)
    time.sleep(0.05)
    assert runs == []
    clock.advance(60)
    assert wait_until(lambda: runs == [1060.0])


def test_the_lock_is_free_while_a_task_runs(clock, scheduler):
    started = threading.Event()
    release = threading.Event()

    def slow_task() -> None:  # a republish of 200 vehicles, say
        started.set()
        release.wait(5)

    scheduler.later(0, slow_task)
    clock.advance(0)
    assert started.wait(5)
    try:
        # paho's connect callback schedules work; it must not wait for the task.
        added = threading.Event()
        caller = threading.Thread(target=lambda: (scheduler.later(0, lambda: None), added.set()))
        caller.start()
        assert added.wait(1), "adding a job waited for a running task"
        assert scheduler._lock.acquire(timeout=1), "the scheduler's lock is held"
        scheduler._lock.release()
        scheduler.cancel(scheduler.every(10, lambda: None))
        assert len(scheduler.jobs()) == 1
    finally:
        release.set()
        caller.join(5)


def test_a_waiting_sleeper_wakes_when_the_clock_advances(clock):
    event = threading.Event()
    woke: list[bool] = []
    sleeper = threading.Thread(target=lambda: woke.append(clock.wait(event, 30)))
    sleeper.start()
    time.sleep(0.05)
    assert woke == []
    clock.advance(30)
    sleeper.join(2)
    assert woke == [False]
