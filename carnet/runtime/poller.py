"""When and what to read from the vendor, per vehicle.

The status read (Bearer token only) is the cheap one and runs every interval, faster
while the car charges or runs its climate. The climate details need a TSP token and count
against the account's command budget, so they are read when first needed, while the
climate runs, after a climate command, and otherwise once per ``health_interval``. The
health report is read once per ``health_interval``.

A refused login blocks the whole account: no request until ``login_retry`` seconds have
passed, doubling up to ``login_retry_max``, so a wrong password or a vendor login change
never locks the owner's account.
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
from carnet.config import Config, mask_email
from carnet.core.errors import (
    AuthError,
    CarNetError,
    LoginChanged,
    RateLimited,
    VendorUnavailable,
)
from carnet.runtime.budget import within_budget
from carnet.runtime.job import Job, JobListener, Outcome, Work
from carnet.runtime.registry import FleetRegistry
from carnet.runtime.scheduler import Scheduler, Timer
from carnet.runtime.vehicle import AccountRuntime, VehicleRuntime
from carnet.vendor.protocol import Part, Receipt

_LOG = logging.getLogger(__name__)

# The executor's key for a vehicle's background read of its costly parts: no entity has
# this name.
COSTLY_READ = "costly_parts"
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
        # The periodic job of each vehicle, its interval and the vehicle it polls. Readers
        # (after a poll) and the dispatcher (a new poll interval) reschedule, a reader
        # removes: one lock, so a check and the change after it are one step.
        self._jobs: dict[str, tuple[Timer, float, VehicleRuntime]] = {}
        self._jobs_lock = threading.Lock()
        # The login back-off is advanced by the reader and the command worker of an account.
        self._login_lock = threading.Lock()

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
        """Queue a read of ``vehicle`` on its account's worker; ``then`` runs after it;
        ``costly``: its costly parts too, in this very read."""
        if costly:
            vehicle.costly_wanted = True
        vehicle.account.reads.enqueue(f"poll:{vehicle.name}", lambda: self._read(vehicle), then)

    def login_blocked(self, account: AccountRuntime) -> bool:
        return self._clock() < account.login_retry_at

    def gated(
        self, account: AccountRuntime, request: Callable[[], Receipt | None]
    ) -> Callable[[], Receipt | None]:
        """``request`` (a command) behind the account's login gate.

        A command needs valid tokens too, so while logins are blocked it must not log in,
        and a login it finds refused blocks the account like a refused poll does.
        """

        def run() -> Receipt | None:
            if self.login_blocked(account):
                wait = account.login_retry_at - self._clock()
                raise AuthError(
                    f"the vendor login is refused; next attempt in {wait:.0f} s ({account.error})"
                )
            try:
                return request()
            except AuthError as exc:
                self._on_login_refused(account, exc)
                raise

        return run

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
        job = Job(work, self.gated(account, send), listener, unchanged, waiting)
        refusal = account.commands_refusal()
        if refusal is not None or account.commands is None:
            listener.done(job, Outcome("rejected", refusal or "commands disabled"))
            return
        account.commands.submit(job)

    def login_refused(self, account: AccountRuntime, exc: AuthError) -> float | None:
        """Block the account's logins for the next back-off step; returns the wait.

        None when ``exc`` was already counted and its back-off step still runs (so the
        next attempt is already due): the reader and the command worker can both meet
        the same refused login, which advances the back-off once.
        """
        vendor = self._config.carnet
        # The generation's own words usually name the remedy already; saying it twice
        # buries it.
        hint = (
            " The vendor may have changed its login: see carnet.token_helper in the README."
            if isinstance(exc, LoginChanged) and "carnet.token_helper" not in str(exc)
            else ""
        )
        with self._login_lock:
            if exc is account.counted_refusal and self.login_blocked(account):
                return None
            account.counted_refusal = exc
            account.login_failures += 1
            failures = account.login_failures
            # The exponent is capped: a float overflows long before failures stop coming.
            wait = min(vendor.login_retry * 2 ** min(failures - 1, 32), vendor.login_retry_max)
            account.login_retry_at = self._clock() + wait
            account.error = f"login refused: {exc}{hint}"
        _LOG.error(
            "vendor login for %s refused (%s).%s Next attempt in %.0f s; vehicles are offline.",
            mask_email(account.config.email),
            exc,
            hint,
            wait,
        )
        return wait

    def login_succeeded(self, account: AccountRuntime) -> None:
        with self._login_lock:
            recovered = bool(account.login_failures or account.error)
            account.login_failures = 0
            account.login_retry_at = 0.0
            account.error = None
            account.counted_refusal = None
        if recovered:
            _LOG.info("vendor login for %s works again", mask_email(account.config.email))

    # reading ----------------------------------------------------------------

    def _read(self, vehicle: VehicleRuntime) -> None:
        account = vehicle.account
        if self.login_blocked(account):
            return
        # A command being verified needs the costly parts in this very read; a scheduled
        # costly read waits behind the status reads of the other vehicles, because it is
        # spaced by the account's command budget (seconds per request).
        costly_now = vehicle.costly_wanted
        try:
            parts = self._fetch(vehicle, costly_now)
        except AuthError as exc:
            self._on_login_refused(account, exc)
            return
        except CarNetError as exc:
            self._failed(vehicle, exc)
            return
        self._accept(vehicle, parts)
        now = self._clock()
        if not costly_now and self._costly_due(vehicle, now):
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
        self.login_succeeded(account)
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
        vehicle.costly_wanted = False
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

    def _fetch(self, vehicle: VehicleRuntime, costly_now: bool) -> dict[Part, Any]:
        """Every part: the status first; the health report when due; the costly parts
        when a command waits for them (else they come as a background job); any other
        part with every poll."""
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
        if costly and costly_now:
            parts.update(self._read_costly(vehicle, now))
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
            vehicle.costly_wanted
            or vehicle.costly_running()
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
