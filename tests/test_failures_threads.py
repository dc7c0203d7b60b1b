"""State that several threads share: the vehicle roster, the poll schedule, the login
back-off. Each test hammers the bridge's own code paths from many threads at once; the
switch interval is shortened so that the threads interleave often enough to show a race."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from carnet.core.errors import AuthError
from carnet.runtime.daemon import wait_until
from carnet.runtime.registry import LOGGED_IN
from carnet.simulator import Simulator, SimulatorOptions
from tests.support.failures import fast

FLEET = (2, 30)  # accounts, vehicles each


@pytest.fixture
def switch_often() -> Iterator[None]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(before)


@pytest.fixture
def fleet() -> Iterator[Simulator]:
    options = SimulatorOptions(apply_delay=0.0, rate_limit=1000, daily_budget=100000,
                               fleet=FLEET)
    with Simulator(options) as sim:
        yield sim


def hammer(work: Callable[[], Any], threads: int, stop: threading.Event) -> tuple[
    list[threading.Thread], list[BaseException]
]:
    """``threads`` threads calling ``work`` until ``stop``; what they raise is collected."""
    errors: list[BaseException] = []

    def loop() -> None:
        while not stop.is_set():
            try:
                work()
            except Exception as exc:
                errors.append(exc)
                return

    started = [threading.Thread(target=loop, daemon=True) for _ in range(threads)]
    for thread in started:
        thread.start()
    return started, errors


@pytest.mark.slow(12)
def test_bridge_info_while_vehicles_come_and_go(make_config, run_bridge, fleet, caplog):
    """Vehicles added and removed by the account readers while bridge/info is built."""
    accounts = [
        {"email": f"fleet-{i}@example.com", "password": "fleet", "pin": "1234"}
        for i in range(1, FLEET[0] + 1)
    ]
    config = make_config(
        carnet={"api_base": fleet.api_url, "identity_base": fleet.identity_url},
        accounts=accounts,
        polling={"interval": 3600},
    )
    # Every new vehicle's first read includes its climate details, spaced by the budget.
    bridge = run_bridge(fast(config, max_per_minute=10_000))
    total = FLEET[0] * FLEET[1]
    assert wait_until(lambda: len(bridge.vehicles) == total and bridge.idle(), 60)

    stop = threading.Event()
    threads, errors = hammer(bridge.publish_info, 4, stop)
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # after the start: the simulator must not starve meanwhile
    try:
        # What an enrollment does when the account's vehicles leave and come back. One
        # round (120 roster changes under four builders) already meets a roster that is
        # changed in place; more rounds only cost CPU time.
        for account in bridge.accounts:
            for vehicle in bridge.fleet.vehicles_of(account):
                bridge.roster.forget_vehicle(vehicle)
            bridge.enroll(account)
        assert wait_until(lambda: len(bridge.vehicles) == total, 30), len(bridge.vehicles)
    finally:
        sys.setswitchinterval(before)
        stop.set()
        for thread in threads:
            thread.join(10)
    assert errors == [], errors[:3]
    failed = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert failed == [], [r.getMessage() for r in failed[:3]]
    assert {v.name for a in bridge.accounts for v in bridge.fleet.vehicles_of(a)} == set(
        bridge.vehicles)


def test_reschedule_from_two_threads_leaves_one_job(
    make_config, run_bridge, probe, switch_often
):
    bridge = run_bridge(fast(make_config(), interval=3600))
    assert wait_until(lambda: len(bridge.vehicles) == 2, 15)
    vehicle = bridge.vehicles["egolf"]
    scheduled = bridge.scheduler.jobs
    assert wait_until(lambda: bridge.idle(), 15)
    before = len(scheduled())

    stop = threading.Event()
    flips = iter(range(10**9))
    done: list[int] = []  # one entry per reschedule that returned (append is atomic)

    def change_interval() -> None:
        # A poll_interval command and a poll ending at once, as the dispatcher and the
        # account's reader do.
        vehicle.poll_interval = 3600 + next(flips) % 2
        bridge.poller.reschedule(vehicle)
        done.append(1)

    threads, errors = hammer(change_interval, 6, stop)
    assert wait_until(lambda: len(done) >= 10000 or bool(errors), 30), len(done)
    stop.set()
    for thread in threads:
        thread.join(10)
    assert errors == [], errors[:3]
    assert len(scheduled()) == before, "an orphaned poll job survived"

    bridge.poller.remove(vehicle)
    bridge.poller.reschedule(vehicle)  # a poll that ends after the removal
    assert len(scheduled()) == before - 1, "a removed vehicle was scheduled again"


def test_login_backoff_counts_every_refusal(make_config, run_bridge, probe, switch_often):
    bridge = run_bridge(fast(make_config(), interval=3600))
    assert wait_until(lambda: bridge.idle() and bridge.accounts[0].enrolled, 15)
    account = bridge.accounts[0]
    poller = bridge.poller
    logging.getLogger("carnet.runtime.login_gate").disabled = True  # thousands of identical lines
    try:
        per_thread, count = 2000, 6  # also past the 1024th doubling, where a float overflows
        poller.logins.succeeded(account)

        def refuse_many() -> None:
            for _ in range(per_thread):
                # The reader and the command worker find refused logins at once; each is
                # a refusal of its own (one refusal met by both counts once, see
                # test_failures_refusals).
                poller.logins.refused(account, AuthError("refused"))

        threads = [threading.Thread(target=refuse_many) for _ in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert bridge.fleet.login(account).failures == per_thread * count
        poller.logins.succeeded(account)
        assert bridge.fleet.login(account) == LOGGED_IN
    finally:
        logging.getLogger("carnet.runtime.login_gate").disabled = False
