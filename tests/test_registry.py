"""The fleet registry under concurrent readers and writers: no reader ever sees a roster
halfway through a change, and every write lands."""

from __future__ import annotations

import threading
from dataclasses import replace
from types import SimpleNamespace
from typing import Any, cast

from carnet.runtime.registry import LOGGED_IN, FleetRegistry, LoginState
from carnet.runtime.vehicle import AccountRuntime, VehicleRuntime

WRITERS = 4
VEHICLES_PER_WRITER = 300
READERS = 4


def _account(name: str) -> AccountRuntime:
    return cast(AccountRuntime, SimpleNamespace(name=name))


def _vehicle(name: str, account: AccountRuntime) -> VehicleRuntime:
    return cast(VehicleRuntime, SimpleNamespace(name=name, account=account))


def _torn(registry: FleetRegistry) -> str | None:
    """What is inconsistent in one snapshot, or None."""
    roster = registry.roster()
    listed: dict[str, Any] = {}
    for account in roster.accounts:
        for vehicle in roster.by_account.get(id(account), ()):
            if vehicle.account is not account:
                return f"{vehicle.name} listed under another account"
            listed[vehicle.name] = vehicle
    if listed.keys() != roster.vehicles.keys():
        return f"by name {sorted(roster.vehicles)} but by account {sorted(listed)}"
    if any(roster.vehicles[name] is not vehicle for name, vehicle in listed.items()):
        return "a name maps to another vehicle than its account lists"
    return None


def test_concurrent_readers_never_see_a_torn_roster_and_every_write_lands() -> None:
    registry = FleetRegistry()
    accounts = [_account(f"account{i}") for i in range(WRITERS)]
    done = threading.Event()
    start = threading.Barrier(WRITERS + READERS)
    torn: list[str] = []
    reads = [0] * READERS
    kept: dict[str, VehicleRuntime] = {}
    kept_lock = threading.Lock()

    def write(index: int) -> None:
        account = accounts[index]
        start.wait()
        registry.add_account(account)
        for n in range(VEHICLES_PER_WRITER):
            vehicle = _vehicle(f"car{index}_{n}", account)
            registry.add_vehicle(vehicle)
            if n % 3 == 0:  # every third one leaves again, the others stay
                registry.remove_vehicle(vehicle)
            else:
                with kept_lock:
                    kept[vehicle.name] = vehicle

    def read(index: int) -> None:
        start.wait()
        while not done.is_set():
            problem = _torn(registry)
            if problem is not None:
                torn.append(problem)
                return
            reads[index] += 1

    writers = [threading.Thread(target=write, args=(i,)) for i in range(WRITERS)]
    readers = [threading.Thread(target=read, args=(i,)) for i in range(READERS)]
    for thread in writers + readers:
        thread.start()
    for thread in writers:
        thread.join(60)
    done.set()
    for thread in readers:
        thread.join(60)

    assert torn == []
    assert all(count > 0 for count in reads), reads
    assert {id(a) for a in registry.accounts()} == {id(a) for a in accounts}
    assert dict(registry.vehicles()) == kept
    for account in accounts:
        names = [v.name for v in registry.vehicles_of(account)]
        expected = [n for n in kept if kept[n].account is account]
        assert sorted(names) == sorted(expected)
    assert _torn(registry) is None


def test_a_check_and_the_change_after_it_are_one_step() -> None:
    """Writers that choose a free name under ``changing()`` never take the same one."""
    registry = FleetRegistry()
    account = _account("account")
    registry.add_account(account)
    start = threading.Barrier(8)

    def claim() -> None:
        start.wait()
        for _ in range(50):
            with registry.changing():
                taken = registry.vehicles()
                name = next(f"car{n}" for n in range(len(taken) + 1) if f"car{n}" not in taken)
                registry.add_vehicle(_vehicle(name, account))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(registry.vehicles()) == 8 * 50
    assert len(registry.vehicles_of(account)) == 8 * 50


def test_an_account_added_twice_is_listed_once() -> None:
    registry = FleetRegistry()
    account = _account("account")
    registry.add_account(account)
    registry.add_account(account)
    assert len(registry.accounts()) == 1
    assert registry.vehicles_of(_account("other")) == ()


def _refused_again(login: LoginState) -> LoginState:
    failures = login.failures + 1
    return replace(login, error=f"refused {failures}", failures=failures, retry_at=failures)


def test_login_states_change_in_one_step_and_snapshots_show_them_whole() -> None:
    """Refusals met at once by several threads all count; a reader never sees an error
    without its back-off, nor the state of a moment other than its roster's."""
    registry = FleetRegistry()
    accounts = [_account(f"account{i}") for i in range(WRITERS)]
    for account in accounts:
        registry.add_account(account)
    per_thread = 500
    done = threading.Event()
    start = threading.Barrier(WRITERS * 2 + READERS)
    torn: list[str] = []
    reads = [0] * READERS

    def refuse(account: AccountRuntime) -> None:
        start.wait()
        for _ in range(per_thread):
            registry.change_login(account, _refused_again)

    def read(index: int) -> None:
        # Every reader is reading before the writers start, however the threads are
        # scheduled, so the reads overlap the writes.
        first = True
        while first or not done.is_set():
            roster = registry.roster()
            for account in roster.accounts:
                login = roster.login(account)
                if login == LOGGED_IN:
                    continue
                if login.error != f"refused {login.failures}" or login.retry_at != login.failures:
                    torn.append(f"{account.name}: {login}")
                    start.abort()
                    return
            reads[index] += 1
            if first:
                first = False
                start.wait()

    # Two writers per account, like its reader and its command worker.
    writers = [threading.Thread(target=refuse, args=(a,)) for a in accounts for _ in range(2)]
    readers = [threading.Thread(target=read, args=(i,)) for i in range(READERS)]
    for thread in writers + readers:
        thread.start()
    for thread in writers:
        thread.join(60)
    done.set()
    for thread in readers:
        thread.join(60)

    assert torn == []
    assert all(count > 0 for count in reads), reads
    for account in accounts:
        assert registry.login(account).failures == 2 * per_thread
    before, after = registry.change_login(accounts[0], lambda login: LOGGED_IN)
    assert before.failures == 2 * per_thread and after == LOGGED_IN
    assert id(accounts[0]) not in registry.roster().logins  # a fine login takes no entry
    assert registry.login(accounts[1]).failures == 2 * per_thread  # the others keep theirs


def test_a_change_of_the_roster_keeps_the_login_states() -> None:
    registry = FleetRegistry()
    account = _account("account")
    registry.add_account(account)
    registry.change_login(account, _refused_again)
    registry.add_vehicle(_vehicle("car", account))
    registry.add_account(_account("other"))
    assert registry.login(account).error == "refused 1"
    registry.remove_vehicle(registry.vehicles()["car"])
    assert registry.login(account).failures == 1
