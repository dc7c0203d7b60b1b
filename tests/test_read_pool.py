"""The read pool: a few threads for all accounts, each account's reads one at a time."""

from __future__ import annotations

import threading
import time

from carnet.runtime.daemon import wait_until as poll_until
from carnet.runtime.reads import READ_THREADS, ReadPool


def wait_until(condition, timeout: float = 5.0) -> bool:
    return poll_until(condition, timeout, step=0.005)


def reader_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith("reads-"))


def test_threads_do_not_grow_with_accounts_and_every_read_runs() -> None:
    before = reader_threads()
    pool = ReadPool()
    try:
        accounts = [pool.account(f"account-{i}") for i in range(500)]
        done: set[str] = set()
        lock = threading.Lock()

        def read(key: str) -> None:
            time.sleep(0.0005)
            with lock:
                done.add(key)

        for account in accounts:
            for vehicle in ("a", "b"):
                key = f"{account.name}/{vehicle}"
                account.enqueue(f"poll:{vehicle}", lambda k=key: read(k))
        assert reader_threads() - before == READ_THREADS
        assert wait_until(lambda: len(done) == 1000, 30), len(done)
        assert all(account.idle() for account in accounts)
    finally:
        pool.stop()


def test_the_reads_of_one_account_never_overlap() -> None:
    pool = ReadPool(4)
    try:
        account = pool.account("one")
        running, most, runs = [0], [0], []
        lock = threading.Lock()

        def read(number: int) -> None:
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            time.sleep(0.01)
            with lock:
                running[0] -= 1
                runs.append(number)

        for number in range(20):
            account.enqueue(f"poll:{number}", lambda n=number: read(n))
        assert wait_until(lambda: len(runs) == 20, 10)
        assert most[0] == 1
        assert runs == list(range(20)), "an account's reads ran out of order"
    finally:
        pool.stop()


def test_a_slow_account_holds_one_thread_and_the_others_go_on() -> None:
    size = 3
    pool = ReadPool(size)
    release = threading.Event()
    try:
        slow = pool.account("slow")
        started = threading.Event()

        def hang() -> None:
            started.set()
            release.wait(10)

        slow.enqueue("poll:stuck", hang)
        slow.enqueue("poll:next", lambda: None)  # waits behind it, holds no thread
        assert started.wait(5)
        others = [pool.account(f"fast-{i}") for i in range(50)]
        done: list[str] = []
        begun = time.monotonic()
        for account in others:
            account.enqueue("poll", lambda n=account.name: done.append(n))
        assert wait_until(lambda: len(done) == 50, 5), len(done)
        assert time.monotonic() - begun < 2.0
        assert not slow.idle()
    finally:
        release.set()
        pool.stop()


def test_a_waiting_read_is_not_queued_twice() -> None:
    pool = ReadPool(1)
    release = threading.Event()
    try:
        account = pool.account("one")
        runs: list[str] = []
        account.enqueue("block", lambda: release.wait(10))
        assert account.enqueue("poll:egolf", lambda: runs.append("read"))
        assert not account.enqueue("poll:egolf", lambda: runs.append("read"),
                                   then=lambda: runs.append("then"))
        release.set()
        assert wait_until(account.idle)
        assert runs == ["read", "then"]
    finally:
        release.set()
        pool.stop()
