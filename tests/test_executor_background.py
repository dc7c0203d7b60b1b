"""The bridge's own background requests share the account's executor with the owner's."""

from __future__ import annotations

import threading
import time

from carnet.core.clock import ManualClock
from carnet.runtime.command_pool import CommandPool
from carnet.runtime.executor import BACKGROUND_RECHECK, Executor
from carnet.runtime.job import Job, Outcome, Work


class Recorder:
    def __init__(self) -> None:
        self.sent: list[str] = []
        self.done: list[tuple[str, str]] = []
        self.finished = threading.Semaphore(0)

    def listener(self, name: str) -> object:
        recorder = self

        class Listener:
            def sent(self, job: Job, receipt: object) -> None:
                recorder.sent.append(name)
                recorder.finished.release()

            def done(self, job: Job, outcome: Outcome) -> None:
                recorder.done.append((name, outcome.status))
                recorder.finished.release()

        return Listener()


def job(recorder: Recorder, name: str, key: str, send=lambda: None, **options) -> Job:
    work = Work("egolf", key, name, **options)
    return Job(work, send, recorder.listener(name))  # type: ignore[arg-type]


def test_owner_jobs_go_before_a_queued_background_read_which_coalesces_and_expires():
    recorder = Recorder()
    executor = Executor("test", max_age=5.0, queue_size=10)
    release = threading.Event()
    executor.submit(job(recorder, "lock", "lock", send=lambda: release.wait(5)))
    executor.submit(job(recorder, "old read", "climate_details", background=True))
    executor.submit(job(recorder, "read", "climate_details", background=True))
    executor.submit(job(recorder, "charging", "charging"))
    release.set()
    for _ in range(4):
        assert recorder.finished.acquire(timeout=5)
    assert recorder.sent == ["lock", "charging", "read"]
    assert recorder.done == [("old read", "superseded")]
    stale = time.monotonic() - 10
    executor.submit(job(recorder, "stale read", "climate_details", background=True,
                        received=stale))
    assert recorder.finished.acquire(timeout=5)
    assert recorder.done[-1] == ("stale read", "expired")
    executor.stop()


def test_a_background_read_leaves_the_owner_reserve_of_the_minute():
    recorder = Recorder()
    spare = [5]
    clock = ManualClock()
    pool = CommandPool(1, clock)
    executor = Executor("test", max_age=30.0, queue_size=10, pool=pool,
                        spare=lambda: spare[0], owner_reserve=5)
    executor.submit(job(recorder, "read", "climate_details", background=True,
                        received=clock.now()))
    assert executor.pending == 0  # held back: the bridge counts as idle
    clock.advance(BACKGROUND_RECHECK)  # looked again: the minute is still the owner's
    assert not recorder.finished.acquire(timeout=0.1)
    assert recorder.sent == []
    spare[0] = 6
    assert not recorder.finished.acquire(timeout=0.1)  # not before it looks again
    clock.advance(BACKGROUND_RECHECK)
    assert recorder.finished.acquire(timeout=5)
    assert recorder.sent == ["read"]
    executor.stop()
    pool.stop()


def test_a_bridge_request_is_a_job_that_coalesces_with_its_own_kind_only():
    recorder = Recorder()
    executor = Executor("test", max_age=5.0, queue_size=10)
    release = threading.Event()
    executor.submit(job(recorder, "lock", "lock", send=lambda: release.wait(5)))
    executor.submit(job(recorder, "old refresh", "bridge:refresh"))
    executor.submit(job(recorder, "health", "bridge:health_refresh"))
    executor.submit(job(recorder, "refresh", "bridge:refresh"))
    release.set()
    for _ in range(4):
        assert recorder.finished.acquire(timeout=5)
    assert recorder.sent == ["lock", "health", "refresh"]
    assert recorder.done == [("old refresh", "superseded")]
    executor.stop()
