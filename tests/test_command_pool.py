"""Many accounts' commands on a few shared threads: the threads stay bounded, every command
gets one result, and each account's commands go one at a time, in order."""

from __future__ import annotations

import threading
import time
from collections import defaultdict

from carnet.runtime.command_pool import CommandPool
from carnet.runtime.daemon import wait_until
from carnet.runtime.executor import Executor
from carnet.runtime.job import Job, Outcome, Work

ACCOUNTS = 200
COMMANDS_EACH = 3
POOL = 4  # more than the bridge's own, so a bound above 1 is tested


def test_200_accounts_share_a_bounded_pool_serial_and_in_order_per_account():
    pool = CommandPool(POOL)
    lock = threading.Lock()
    results: dict[str, list[tuple[str, str]]] = defaultdict(list)
    sent: dict[str, list[str]] = defaultdict(list)
    in_flight: dict[str, int] = defaultdict(int)
    overlaps: list[str] = []
    peak_threads = [0]

    class Listener:
        def __init__(self, account: str) -> None:
            self.account = account

        def sent(self, job: Job, receipt: object) -> None:
            with lock:
                results[self.account].append((job.work.shown, "sent"))

        def done(self, job: Job, outcome: Outcome) -> None:
            with lock:
                results[self.account].append((job.work.shown, outcome.status))

    def request(account: str, name: str):
        def send() -> None:
            with lock:
                in_flight[account] += 1
                if in_flight[account] > 1:
                    overlaps.append(account)
                peak_threads[0] = max(peak_threads[0], pool.threads())
            time.sleep(0.001)  # an HTTP request, briefly
            with lock:
                sent[account].append(name)
                in_flight[account] -= 1

        return send

    executors = [Executor(f"account{i}", 60.0, 10, pool) for i in range(ACCOUNTS)]
    before = threading.active_count()
    for n in range(COMMANDS_EACH):
        for i, executor in enumerate(executors):
            account = f"account{i}"
            name = f"{account}-{n}"
            work = Work(f"car{i}", f"attribute{n}", name)  # distinct keys: none replaced
            executor.submit(Job(work, request(account, name), Listener(account)))
            peak_threads[0] = max(peak_threads[0], pool.threads())

    total = ACCOUNTS * COMMANDS_EACH
    assert wait_until(lambda: sum(len(r) for r in results.values()) >= total, 60, step=0.01)
    time.sleep(0.05)  # a second result would show now
    assert threading.active_count() <= before + POOL
    assert 1 <= peak_threads[0] <= POOL
    assert overlaps == []
    for i in range(ACCOUNTS):
        account = f"account{i}"
        expected = [f"{account}-{n}" for n in range(COMMANDS_EACH)]
        assert results[account] == [(name, "sent") for name in expected]  # one each, in order
        assert sent[account] == expected
    for executor in executors:
        executor.stop()
    pool.stop()
    assert pool.threads() == 0


def test_no_thread_before_the_first_command_and_a_stopped_pool_takes_none():
    pool = CommandPool(POOL)
    executors = [Executor(f"account{i}", 60.0, 10, pool) for i in range(50)]
    assert pool.threads() == 0
    outcomes: list[str] = []

    class Listener:
        def sent(self, job: Job, receipt: object) -> None:
            outcomes.append("sent")

        def done(self, job: Job, outcome: Outcome) -> None:
            outcomes.append(outcome.status)

    executors[0].submit(Job(Work("car", "lock", "LOCK"), lambda: None, Listener()))
    assert wait_until(lambda: outcomes == ["sent"], 5)
    assert pool.threads() == POOL
    for executor in executors:
        executor.stop()
    pool.stop()
    assert pool.threads() == 0
