"""The fleet: every account, every vehicle by topic name, each account's vehicles, and
each account's login state.

Reader threads enroll and forget vehicles and meet refused logins while the dispatcher,
the scheduler and the bridge's info iterate them. Every change builds new immutable
collections and records under one lock and swaps them in together, so a reader takes a
snapshot without locking and never sees a roster halfway through a change (a vehicle in
the fleet but not in its account's list, an error without its back-off).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from carnet.runtime.vehicle import AccountRuntime, VehicleRuntime


@dataclass(frozen=True)
class LoginState:
    """How an account's logins go: a refused one blocks the account until ``retry_at``."""

    error: str | None = None  # shown in bridge/info while the login is refused
    failures: int = 0  # refusals in a row: the back-off doubles with each
    retry_at: float = 0.0  # time of the scheduler's clock before which no login is tried
    since: float | None = None  # wall-clock time of the first refusal in a row
    counted: Exception | None = None  # the refused login the back-off last counted


LOGGED_IN = LoginState()


@dataclass(frozen=True)
class Roster:
    """One consistent view of the fleet."""

    accounts: tuple[AccountRuntime, ...] = ()
    vehicles: Mapping[str, VehicleRuntime] = field(
        default_factory=lambda: MappingProxyType({})
    )
    # Per account (by identity, accounts are not hashable): its vehicles, oldest first.
    by_account: Mapping[int, tuple[VehicleRuntime, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    # Per account (by identity): its login state; absent while it is fine.
    logins: Mapping[int, LoginState] = field(default_factory=lambda: MappingProxyType({}))

    def login(self, account: AccountRuntime) -> LoginState:
        return self.logins.get(id(account), LOGGED_IN)


class FleetRegistry:
    def __init__(self) -> None:
        self._roster = Roster()
        # Reentrant: a caller that chooses a free name and takes it holds it around both.
        self._lock = threading.RLock()

    def roster(self) -> Roster:
        return self._roster  # one attribute read: always a whole roster

    def accounts(self) -> tuple[AccountRuntime, ...]:
        return self._roster.accounts

    def vehicles(self) -> Mapping[str, VehicleRuntime]:
        return self._roster.vehicles

    def vehicles_of(self, account: AccountRuntime) -> tuple[VehicleRuntime, ...]:
        return self._roster.by_account.get(id(account), ())

    def login(self, account: AccountRuntime) -> LoginState:
        return self._roster.login(account)

    def change_login(
        self, account: AccountRuntime, change: Callable[[LoginState], LoginState]
    ) -> tuple[LoginState, LoginState]:
        """Replace the account's login state by ``change(current)`` in one step (the
        reader and the command worker of an account meet refusals at once); returns the
        state before and after."""
        with self._lock:
            old = self._roster
            before = old.login(account)
            after = change(before)
            if after is not before:
                logins = {**old.logins, id(account): after}
                if after == LOGGED_IN:
                    del logins[id(account)]
                self._roster = replace(old, logins=MappingProxyType(logins))
            return before, after

    @contextmanager
    def changing(self) -> Iterator[None]:
        """Hold the roster still around a check and the change that follows it."""
        with self._lock:
            yield

    def add_account(self, account: AccountRuntime) -> None:
        with self._lock:
            old = self._roster
            if any(a is account for a in old.accounts):
                return
            self._roster = replace(
                old,
                accounts=(*old.accounts, account),
                by_account=MappingProxyType({**old.by_account, id(account): ()}),
            )

    def add_vehicle(self, vehicle: VehicleRuntime) -> None:
        """Enter a vehicle under its name and in its account's list, in one step."""
        with self._lock:
            old = self._roster
            key = id(vehicle.account)
            self._roster = replace(
                old,
                vehicles=MappingProxyType({**old.vehicles, vehicle.name: vehicle}),
                by_account=MappingProxyType(
                    {**old.by_account, key: (*old.by_account.get(key, ()), vehicle)}
                ),
            )

    def remove_vehicle(self, vehicle: VehicleRuntime) -> None:
        with self._lock:
            old = self._roster
            key = id(vehicle.account)
            vehicles = dict(old.vehicles)
            if vehicles.get(vehicle.name) is vehicle:
                del vehicles[vehicle.name]
            kept = tuple(v for v in old.by_account.get(key, ()) if v is not vehicle)
            self._roster = replace(
                old,
                vehicles=MappingProxyType(vehicles),
                by_account=MappingProxyType({**old.by_account, key: kept}),
            )
