"""What the bridge knows about each vehicle and account while it runs.

The vehicle's published values are three layers, in this order of precedence: values
shown while a command is being verified (``pending``), values only the bridge knows
(``assumed``: the charge current it last set, the poll interval), and what the vendor
reported at the last poll (``state``).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from carnet.catalog.model import ApiState
from carnet.catalog.state import VehicleState
from carnet.catalog.support import meaningful
from carnet.catalog.table import ENTITIES
from carnet.config import AccountConfig
from carnet.core.errors import VendorUnavailable, WakeupsUsedUp
from carnet.runtime.executor import Executor
from carnet.runtime.ledger import RequestLedger
from carnet.runtime.reads import AccountReads
from carnet.vendor.protocol import Part, Vehicle, VendorClient

DAY = 86400.0


def from_costly_part(key: str, vehicle: VehicleRuntime) -> bool:
    """Whether the attribute's value comes from a part whose read spends the command
    budget (Car-Net's climate details)."""
    capabilities = vehicle.api.capabilities
    part = capabilities.confirmed_by.get(key)
    return part in capabilities.costly_parts and vehicle.parts.get(part) is not None


@dataclass
class VehicleRuntime:
    name: str  # the topic level
    api: Vehicle
    account: AccountRuntime
    poll_interval: int
    # The last raw answer of each part, opaque to the runtime (see VendorClient.interpret).
    parts: dict[Part, Any] = field(default_factory=dict)
    state: VehicleState | None = None
    pending: dict[str, Any] = field(default_factory=dict)
    pending_owner: dict[str, int] = field(default_factory=dict)  # which command set it
    assumed: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, dict[str, Any]] = field(default_factory=dict)  # bridge-side JSON details
    online: bool = False
    failures: int = 0
    status_read_at: float | None = None  # monotonic times of the last successful reads
    costly_read_at: float | None = None  # of the parts that spend the command budget
    sent_at: dict[str, float] = field(default_factory=dict)  # last command accepted, per key
    health_read_at: float | None = None
    wakeups: deque[float] = field(default_factory=deque)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def values(self) -> dict[str, Any]:
        with self.lock:
            # What the car reports wins over what the bridge assumes (the charge current:
            # Car-Net never reports it, myVW does); a pending command's value over both.
            merged = dict(self.assumed)
            merged.update(self.state.values if self.state else {})
            merged.update(self.pending)
            return meaningful(merged)

    def published_state(self) -> VehicleState:
        """The state as published: vendor values overlaid with the bridge's own."""
        with self.lock:
            reported = self.state.values if self.state else {}
            units = dict(self.state.units) if self.state else {}
            attributes = dict(self.state.attributes) if self.state else {}
            # an "assumed" note is wrong on a value the car reports
            attributes.update({key: note for key, note in self.notes.items()
                               if key not in reported or key not in self.assumed})
            values = self.values()
            details = {key: note for key, note in attributes.items() if key in values}
            return VehicleState(values, units, details)

    def set_api_state(self, state: ApiState, error: str | None = None) -> None:
        """Record how the last read went, with the reason when it failed."""
        with self.lock:
            self.assumed["api_state"] = state.value
            self.notes["api_state"] = {"error": error} if error else {}

    def active(self) -> bool:
        """Charging or climate running: poll faster."""
        values = self.values()
        return any(values.get(item.key) is True for item in ENTITIES if item.speeds_polling)

    def costly_running(self) -> bool:
        """Something runs whose state only a costly part reports (Car-Net: climate, defrost)."""
        values = self.values()
        return any(
            values.get(item.key) is True and from_costly_part(item.key, self)
            for item in ENTITIES
            if item.speeds_polling
        )

    def wakeups_left(self, per_day: int, now: float | None = None) -> int:
        """How many of the day's modem wake-ups are left (a rolling 24 hours)."""
        now = time.time() if now is None else now
        with self.lock:
            while self.wakeups and now - self.wakeups[0] > DAY:
                self.wakeups.popleft()
            return max(per_day - len(self.wakeups), 0)

    def wake(self, per_day: int) -> None:
        """Ask the car for a fresh status (``status/fresh``), within the day's budget.

        Only a wake-up the vendor accepted counts, or one whose answer was lost (it may
        have woken the car). One the vendor refused (a 429 waited out and sent again, a
        401/403, a 200 that says no) costs nothing, nor does a refresh that was
        superseded or expired in the queue. Wake-ups of one account are sent by its one
        command worker, so the budget cannot be overtaken between check and count.
        """
        self.check_wakeup(per_day)
        try:
            self.account.client.wake(self.api)
        except VendorUnavailable:
            self._count_wakeup()
            raise
        self._count_wakeup()

    def _count_wakeup(self) -> None:
        with self.lock:
            self.wakeups.append(time.time())

    def check_wakeup(self, per_day: int) -> None:
        """Raise ``WakeupsUsedUp`` when none of the day's wake-ups is left."""
        if not self.wakeups_left(per_day):
            raise WakeupsUsedUp(
                f"wake-up budget used up ({per_day} per day, polling.wakeups_per_day); "
                "the status is still read on schedule"
            )


@dataclass
class AccountRuntime:
    """An account's collaborators; its login state is the fleet registry's."""

    config: AccountConfig
    client: VendorClient
    reads: AccountReads
    commands: Executor | None = None
    ledger: RequestLedger | None = None  # the day's requests, which the client records
    enrolled: bool = False
    poll_interval: float | None = None  # the effective one, once the daily budget stretched it
    over_budget: bool = False  # polling.max_interval polls more than the daily budget allows

    def commands_refusal(self) -> str | None:
        """Why this account sends no commands (nor any other request that spends the
        command budget), or None when it may."""
        if self.client.commands_enabled:
            return None
        if self.config.pin is None:
            return "commands disabled: no PIN configured: the bridge is read-only for this account"
        # the generation says why (refused, or too few tries left to risk another)
        reason = self.client.commands_refusal or "the PIN was refused; fix accounts[].pin"
        return f"commands disabled: {reason}"
