"""When and what to read from the vendor, per vehicle.

The status read is the cheap one and runs every interval, faster while the car charges
or runs its climate. Parts the vehicle's capabilities call costly (Car-Net's climate
details) count against the account's command budget, so they are jobs of the account's
executor: read when first needed, while the climate runs and otherwise once per
``health_interval`` as background jobs, and to confirm a command as the owner's. Other
parts are read with every poll; the health report once per ``health_interval``.

Every read and every job waits behind the account's login gate (:mod:`.login_gate`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from carnet.catalog.model import ApiState
from carnet.catalog.state import VehicleState
from carnet.catalog.support import state_from_report
from carnet.config import Config
from carnet.core.errors import (
    AuthError,
    CarNetError,
    RateLimited,
    VendorUnavailable,
)
from carnet.runtime.budget import within_budget
from carnet.runtime.job import Job, JobListener, Outcome, Work
from carnet.runtime.login_gate import LoginGate
from carnet.runtime.registry import FleetRegistry
from carnet.runtime.scheduler import Scheduler, Timer
from carnet.runtime.vehicle import AccountRuntime, VehicleRuntime
from carnet.vendor.protocol import Part, Receipt

_LOG = logging.getLogger(__name__)

# The executor's keys for a vehicle's reads of its costly parts, in the background and to
# confirm a command: no entity has these names, and the two never replace each other.
COSTLY_READ = "costly_parts"
COSTLY_VERIFY = "costly_parts_to_confirm"
# How log lines name a part.
_PART_NAMES = {
    Part.STATUS: "status",
    Part.CLIMATE: "climate details",
    Part.HEALTH: "health report",
}


def _names(vehicle: VehicleRuntime) -> str:
    """The vehicle's costly parts as log lines name them."""
    return " and ".join(_PART_NAMES[part] for part in sorted(vehicle.api.capabilities.costly_parts))

FIRST_RETRY = (
    30.0  # seconds before the first retry of a failed poll; doubles, capped by the interval
)


def api_state_for(exc: CarNetError) -> ApiState:
    if isinstance(exc, AuthError):
        return ApiState.LOGIN_REFUSED
    if isinstance(exc, RateLimited):
        return ApiState.RATE_LIMITED
    if isinstance(exc, VendorUnavailable):
        return ApiState.VENDOR_DOWN
    return ApiState.ERROR


class Poller:
    def __init__(
        self,
        config: Config,
        scheduler: Scheduler,
        on_polled: Callable[[VehicleRuntime, VehicleState | None], None],
        on_unavailable: Callable[[VehicleRuntime, CarNetError], None],
        on_login_refused: Callable[[AccountRuntime, AuthError], None],
        fleet: FleetRegistry,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._scheduler = scheduler
        self._on_polled = on_polled
        self._on_unavailable = on_unavailable
        self._on_login_refused = on_login_refused
        self._clock = clock
        self._fleet = fleet
        self.logins = LoginGate(config, fleet, on_login_refused, clock)
        # The periodic job of each vehicle, its interval and the vehicle it polls. Readers
        # (after a poll) and the dispatcher (a new poll interval) reschedule, a reader
        # removes: one lock, so a check and the change after it are one step.
        self._jobs: dict[str, tuple[Timer, float, VehicleRuntime]] = {}
        self._jobs_lock = threading.Lock()

    # scheduling -------------------------------------------------------------

    def add(self, vehicle: VehicleRuntime) -> None:
        """Poll now, then every interval."""
        with self._jobs_lock:
            self._schedule(vehicle)
        self.poll(vehicle)

    def remove(self, vehicle: VehicleRuntime) -> None:
        with self._jobs_lock:
            current = self._jobs.get(vehicle.name)
            if current is None or current[2] is not vehicle:
                return
            del self._jobs[vehicle.name]
            self._scheduler.cancel(current[0])

    def interval(self, vehicle: VehicleRuntime) -> float:
        if vehicle.active():
            base = float(min(self._config.polling.active_interval, vehicle.poll_interval))
        else:
            base = float(vehicle.poll_interval)
        account = vehicle.account
        return within_budget(account, base, len(self._fleet.vehicles_of(account)), self._config)

    def reschedule(self, vehicle: VehicleRuntime) -> None:
        """Recreate the periodic job when the wanted interval changed.

        A vehicle that was removed (or never added) gets no job: a poll finishing after
        the removal must not bring its schedule back.
        """
        with self._jobs_lock:
            current = self._jobs.get(vehicle.name)
            if current is None or current[2] is not vehicle:
                return
            self._schedule(vehicle)

    def _schedule(self, vehicle: VehicleRuntime) -> None:
        """Create or replace the vehicle's periodic job; the caller holds ``_jobs_lock``."""
        wanted = self.interval(vehicle)
        current = self._jobs.get(vehicle.name)
        if current and current[1] == wanted and current[2] is vehicle:
            return
        if current:
            self._scheduler.cancel(current[0])
        job = self._scheduler.every(wanted, lambda: self.poll(vehicle))
        self._jobs[vehicle.name] = (job, wanted, vehicle)
        _LOG.debug("polling %s every %.0fs", vehicle.name, wanted)

    def poll(
        self,
        vehicle: VehicleRuntime,
        then: Callable[[], None] | None = None,
        costly: bool = False,
    ) -> None:
        """Queue a read of ``vehicle`` on its account's worker; ``then`` runs after it.

        ``costly``: a command waits for its costly parts to confirm it. They spend the
        command budget, so they are read as an owner's job of the account's executor,
        which orders, paces and expires them with the commands; the status read follows
        on the account's worker with what they brought."""
        if costly and vehicle.api.capabilities.costly_parts:
            self._verify_costly(vehicle, then)
            return
        vehicle.account.reads.enqueue(f"poll:{vehicle.name}", lambda: self._read(vehicle), then)

    def submit(
        self,
        account: AccountRuntime,
        work: Work,
        send: Callable[[], Receipt | None],
        listener: JobListener,
        unchanged: Callable[[], str | None] = lambda: None,
        waiting: Callable[[float, str], None] = lambda seconds, reason: None,
    ) -> None:
        """The one road into the account's executor for every request that spends the
        command budget (commands, wake-ups, health refreshes, climate reads), behind the
        login gate. While the account's commands are disabled it ends ``rejected`` at once."""
        job = Job(work, self.logins.gated(account, send), listener, unchanged, waiting)
        refusal = account.commands_refusal()
        if refusal is not None or account.commands is None:
            listener.done(job, Outcome("rejected", refusal or "commands disabled"))
            return
        account.commands.submit(job)

    # reading ----------------------------------------------------------------

    def _read(self, vehicle: VehicleRuntime, costly: dict[Part, Any] | None = None) -> None:
        """Read and publish ``vehicle``; ``costly``: its costly parts, just read by the
        executor for a command's verification. Otherwise costly parts that are due are
        queued as a background job: they wait behind the status reads of the other
        vehicles, because the account's command budget spaces them."""
        account = vehicle.account
        if self.logins.blocked(account):
            return
        try:
            parts = self._fetch(vehicle)
        except AuthError as exc:
            self._on_login_refused(account, exc)
            return
        except CarNetError as exc:
            self._failed(vehicle, exc)
            return
        if costly is not None:
            parts.update(costly)
        self._accept(vehicle, parts)
        now = self._clock()
        if costly is None and self._costly_due(vehicle, now):
            self._queue_costly(vehicle, now)

    def _accept(self, vehicle: VehicleRuntime, parts: dict[Part, Any]) -> None:
        account = vehicle.account
        report = account.client.interpret(vehicle.api, parts, account.config.temperature_unit)
        state = state_from_report(report)
        with vehicle.lock:
            before = vehicle.state
            vehicle.parts = parts
            vehicle.state = state
            vehicle.online = True
            vehicle.failures = 0
        vehicle.set_api_state(ApiState.OK)
        self.logins.succeeded(account)
        self.reschedule(vehicle)
        self._on_polled(vehicle, before)

    def _queue_costly(self, vehicle: VehicleRuntime, queued: float) -> None:
        """The costly parts on their own, after the status was published: a background
        job of the account's executor, since they spend the command budget. A newer one
        for the same vehicle replaces it; one held back past ``max_age`` is asked for
        again by the next poll, as the parts are still due then."""
        account = vehicle.account
        fetched: list[dict[Part, Any]] = []

        def fetch() -> None:
            # Not when a read since ``queued`` (a command's verification) brought them.
            if not vehicle.online or (
                vehicle.costly_read_at is not None and vehicle.costly_read_at >= queued
            ):
                return
            fetched.append(self._read_costly(vehicle, self._clock()))

        def accept() -> None:
            self._accept(vehicle, {**vehicle.parts, **fetched[0]})

        class Listener:
            def sent(self, job: Job, receipt: Receipt | None) -> None:
                if fetched:  # published by the account's reader, which owns the state
                    account.reads.enqueue(f"costly:{vehicle.name}", accept)

            def done(self, job: Job, outcome: Outcome) -> None:
                if outcome.status == "error":
                    _LOG.warning("%s of %s not read: %s", _names(vehicle), vehicle.name,
                                 outcome.detail)

        read = Work(vehicle.name, COSTLY_READ, f"read the {_names(vehicle)}", background=True)
        self.submit(account, read, fetch, Listener())

    def _verify_costly(self, vehicle: VehicleRuntime, then: Callable[[], None] | None) -> None:
        """The costly parts for a command's verification, then the status with them."""
        account = vehicle.account
        fetched: list[dict[Part, Any]] = []

        def fetch() -> None:
            fetched.append(self._read_costly(vehicle, self._clock()))

        def read() -> None:
            self._read(vehicle, fetched[0] if fetched else None)

        class Listener:
            def sent(self, job: Job, receipt: Receipt | None) -> None:
                account.reads.enqueue(f"verify:{vehicle.name}", read, then)

            def done(self, job: Job, outcome: Outcome) -> None:
                # Not read (expired, refused): the verification still gets its status read.
                _LOG.warning("%s of %s not read to confirm a command: %s", _names(vehicle),
                             vehicle.name, outcome.detail)
                account.reads.enqueue(f"verify:{vehicle.name}", read, then)

        work = Work(vehicle.name, COSTLY_VERIFY, f"read the {_names(vehicle)} to confirm a command")
        self.submit(account, work, fetch, Listener())

    def _read_costly(self, vehicle: VehicleRuntime, now: float) -> dict[Part, Any]:
        """Read the costly parts; on failure keep the last ones (the status matters more)."""
        client = vehicle.account.client
        costly = vehicle.api.capabilities.costly_parts
        last = {part: vehicle.parts.get(part) for part in costly}
        if not client.commands_enabled:
            return last
        try:
            fresh = {part: client.read(vehicle.api, part) for part in costly}
        except AuthError:
            raise
        except CarNetError as exc:
            _LOG.warning("%s of %s not read: %s", _names(vehicle), vehicle.name, exc)
            return last
        vehicle.costly_read_at = now
        return fresh

    def _read_kept(self, vehicle: VehicleRuntime, part: Part) -> Any:
        """A part besides the status; on failure the last one is kept (the status matters
        more)."""
        try:
            return vehicle.account.client.read(vehicle.api, part)
        except AuthError:
            raise
        except CarNetError as exc:
            _LOG.warning("%s of %s not read: %s", _PART_NAMES[part], vehicle.name, exc)
            return vehicle.parts.get(part)

    def _fetch(self, vehicle: VehicleRuntime) -> dict[Part, Any]:
        """Every part but the costly ones (executor jobs): the status first; the health
        report when due; any other part with every poll."""
        client = vehicle.account.client
        costly = vehicle.api.capabilities.costly_parts
        now = self._clock()
        parts = dict(vehicle.parts)
        parts[Part.STATUS] = client.read(vehicle.api, Part.STATUS)
        vehicle.status_read_at = now
        for part in Part:
            if part in (Part.STATUS, Part.HEALTH) or part in costly:
                continue
            parts[part] = self._read_kept(vehicle, part)
        if self._due(vehicle.health_read_at, self._config.polling.health_interval, now):
            try:
                parts[Part.HEALTH] = client.read(vehicle.api, Part.HEALTH)
                vehicle.health_read_at = now
            except AuthError:
                raise
            except CarNetError as exc:
                _LOG.warning("health report of %s not read: %s", vehicle.name, exc)
        return parts

    def _costly_due(self, vehicle: VehicleRuntime, now: float) -> bool:
        if not vehicle.api.capabilities.costly_parts:
            return False
        return (
            vehicle.costly_running()
            or self._due(vehicle.costly_read_at, self._config.polling.health_interval, now)
        )

    @staticmethod
    def _due(last: float | None, interval: float, now: float) -> bool:
        return last is None or now - last >= interval

    def _failed(self, vehicle: VehicleRuntime, exc: CarNetError) -> None:
        with vehicle.lock:
            vehicle.failures += 1
            vehicle.online = False
            failures = vehicle.failures
        vehicle.set_api_state(api_state_for(exc), str(exc))
        wait = min(FIRST_RETRY * 2 ** (failures - 1), float(vehicle.poll_interval))
        if isinstance(exc, RateLimited) and exc.retry_after:
            wait = max(wait, exc.retry_after)
        _LOG.warning("poll of %s failed (%s); retrying in %.0f s", vehicle.name, exc, wait)
        self._on_unavailable(vehicle, exc)
        if wait < self.interval(vehicle):
            self._scheduler.later(wait, lambda: self.poll(vehicle))
