"""The fleet: every account, every vehicle by topic name, each account's vehicles.

Reader threads enroll and forget vehicles while the dispatcher, the scheduler and the
bridge's info iterate them. Every change builds new immutable collections under one lock
and swaps them in together, so a reader takes a snapshot without locking and never sees a
roster halfway through a change (a vehicle in the fleet but not in its account's list).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType

from carnet.runtime.vehicle import AccountRuntime, VehicleRuntime


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
            self._roster = Roster(
                (*old.accounts, account),
                old.vehicles,
                MappingProxyType({**old.by_account, id(account): ()}),
            )

    def add_vehicle(self, vehicle: VehicleRuntime) -> None:
        """Enter a vehicle under its name and in its account's list, in one step."""
        with self._lock:
            old = self._roster
            key = id(vehicle.account)
            self._roster = Roster(
                old.accounts,
                MappingProxyType({**old.vehicles, vehicle.name: vehicle}),
                MappingProxyType(
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
            self._roster = Roster(
                old.accounts,
                MappingProxyType(vehicles),
                MappingProxyType({**old.by_account, key: kept}),
            )
