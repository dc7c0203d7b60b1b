"""The myVW app API client: one :class:`MyvwClient` per account, everything but the login.

Its bearers come from a :class:`~carnet.vendor.myvw_app.bearers.Bearers` (the login):
the access token for reads, a vehicle's carnetVehicleToken for its commands. HTTP
statuses and error bodies become :mod:`carnet.core.errors` exceptions in
:func:`~carnet.vendor.myvw_app.errors.error_for_response`.

Reads are idempotent: retried with a short back-off when the vendor is unavailable, and
a read that refuses the access token for a vehicle token (some accounts) is sent once
more with the vehicle's token. A refused token (401) is renewed once and the request
sent again: nothing was executed. Commands go one at a time, paced by the account's
per-minute budget; they answer with a correlation id, and :meth:`MyvwClient.outcome`
reads what became of them.

One client is shared by a poller thread and an executor thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

import requests

from carnet.config import AccountConfig, VendorConfig, mask_email
from carnet.core import redact
from carnet.core.errors import (
    AccessDenied,
    BadRequest,
    CommandRefused,
    PinRefused,
    RateLimited,
    VendorUnavailable,
)
from carnet.vendor.http import Http
from carnet.vendor.myvw_app import commands, readings
from carnet.vendor.myvw_app.answers import data_object, receipt
from carnet.vendor.myvw_app.bearers import Bearers
from carnet.vendor.myvw_app.commands import CommandRequest
from carnet.vendor.myvw_app.errors import (
    COMMAND,
    READ,
    EvThreshold,
    TokenRejected,
    VehicleTokenNeeded,
    error_for_response,
)
from carnet.vendor.myvw_app.outcome import command_outcome, history_path
from carnet.vendor.myvw_app.vehicles import garage_vehicle, ids
from carnet.vendor.pacing import RequestBudget
from carnet.vendor.protocol import (
    CommandOutcome,
    Part,
    Receipt,
    Report,
    RequestClass,
    RequestRecorder,
    Vehicle,
)

_LOG = logging.getLogger(__name__)

API_USER_AGENT = "MyVW/1.0 Android"


class MyvwClient:
    """Every myVW endpoint but the login's, for one account. Thread-safe."""

    READ_TRIES = 3
    READ_BACKOFF = (0.5, 1.0)  # seconds before the 2nd and 3rd try
    RATE_LIMIT_DEFAULT = 60.0  # pause after a 429 without Retry-After
    # The second request of a compound command (settings, then start) waits out the
    # vendor's EV pacing this many times, as the app does.
    EV_THRESHOLD_TRIES = 3

    def __init__(
        self,
        vendor: VendorConfig,
        account: AccountConfig,
        bearers: Bearers,
        min_interval: float = 0.0,
        max_per_minute: int = 60,
        recorder: RequestRecorder | None = None,
    ) -> None:
        redact.protect()
        redact.register_secret(account.password, permanent=True)
        redact.register_secret(account.pin, permanent=True)
        if not vendor.api_base:
            raise ValueError("MyvwClient needs a resolved vendor configuration (api_base)")
        self._vendor = vendor
        self._account = account
        self._bearers = bearers
        self._recorder = recorder
        self._base = vendor.api_base.rstrip("/")
        self._http = Http("myVW", vendor.timeout, error_for_response)
        self._session = requests.Session()
        self._session.headers.update({"User-Agent": vendor.user_agent or API_USER_AGENT,
                                      "content-version": "1"})
        self._budget = RequestBudget("myVW", min_interval, max_per_minute)
        self._command_lock = threading.Lock()  # commands go one at a time

    def __repr__(self) -> str:
        return f"MyvwClient(account={mask_email(self._account.email)!r})"

    @property
    def commands_enabled(self) -> bool:
        """False without a PIN, or after the S-PIN was refused."""
        return self._bearers.commands_enabled

    @property
    def commands_refusal(self) -> str | None:
        """Why commands are disabled: no S-PIN, refused, or too few tries left."""
        return self._bearers.commands_refusal

    def request_wait(self) -> float:
        """Seconds until a command may go out (0: now), without taking the slot."""
        return self._budget.request_wait()

    def spare_requests(self) -> int:
        """How many more commands the last 60 s allow."""
        return self._budget.spare_requests()

    def close(self) -> None:
        self._session.close()
        self._bearers.close()

    def _unit_query(self) -> dict[str, str] | None:
        """The query for temperatures in the account's unit (none: the vendor's)."""
        return commands.configured_query(self._account.temperature_unit)

    # Requests -------------------------------------------------------------

    def _send(self, method: str, path: str, kind: RequestClass, token: str, step: str,
              **kwargs: Any) -> requests.Response:
        if self._recorder is not None:
            self._recorder.record(kind)
        return self._http(self._session, method, self._base + path, step=step,
                          headers={"Authorization": f"Bearer {token}"}, **kwargs)

    def _read(self, path: str, what: str, vehicle: Vehicle | None = None,
              params: dict[str, str] | None = None) -> dict[str, Any]:
        """The ``data`` of a GET: the access token, else (when the read asks for it and
        commands are enabled) the vehicle's token."""
        started = time.monotonic()
        renewed = with_vehicle_token = False
        wanted: VehicleTokenNeeded | None = None  # the refusal that asked for the vehicle token
        tries = 0
        while True:
            if with_vehicle_token:
                assert vehicle is not None and wanted is not None
                try:
                    token = self._bearers.vehicle_token(ids(vehicle).vehicle_id,
                                                        ids(vehicle).tsp)
                except PinRefused:
                    raise wanted from None  # no vehicle token: the read stays refused
            else:
                token = self._bearers.access_token()
            tries += 1
            try:
                response = self._send("GET", path, RequestClass.READ, token, READ,
                                      params=params)
                return data_object(response, what)
            except TokenRejected:
                if renewed:
                    raise
                renewed = True
                tries -= 1
                _LOG.info("myVW refused the token for %s; renewing it", what)
                if with_vehicle_token:
                    assert vehicle is not None
                    self._bearers.vehicle_token_rejected(ids(vehicle).vehicle_id)
                else:
                    self._bearers.access_rejected(token)
            except VehicleTokenNeeded as exc:
                if with_vehicle_token or vehicle is None or not self.commands_enabled:
                    raise
                with_vehicle_token, wanted = True, exc
                tries -= 1
                _LOG.info("myVW wants the vehicle token for %s; sending it", what)
            except VendorUnavailable as exc:
                if tries >= self.READ_TRIES:
                    raise
                delay = self.READ_BACKOFF[min(tries, len(self.READ_BACKOFF)) - 1]
                if time.monotonic() - started + delay > self._vendor.timeout:
                    raise
                _LOG.warning("%s; retrying %s in %g s", exc, what, delay)
                time.sleep(delay)

    def _command(self, vehicle: Vehicle, request: CommandRequest,
                 after_ev_command: bool = False) -> Receipt | None:
        """One command with the vehicle's token; its receipt when it has a correlation id.

        ``after_ev_command``: the previous request was an EV command for this car, so
        the vendor's EV pacing is waited out instead of reported.
        """
        if not self.commands_enabled:
            raise PinRefused("commands are disabled: no S-PIN configured (accounts[].pin) "
                             "or myVW refused it earlier")
        vehicle_id = ids(vehicle).vehicle_id
        with self._command_lock:
            self._budget.check_block()
            renewed = False
            waits = self.EV_THRESHOLD_TRIES if after_ev_command else 0
            while True:
                self._budget.wait_turn()
                token = self._bearers.vehicle_token(vehicle_id, ids(vehicle).tsp)
                try:
                    response = self._send(request.method, request.path, RequestClass.COMMAND,
                                          token, COMMAND, json=request.body,
                                          params=request.params)
                    return receipt(response, request.what)
                except TokenRejected as exc:
                    if renewed:
                        raise CommandRefused(f"myVW refused {request.what}: the renewed "
                                             f"vehicle token was refused too ({exc})", 401,
                                             "") from None
                    renewed = True
                    _LOG.info("myVW refused the vehicle token for %s; renewing it",
                              request.what)
                    self._bearers.vehicle_token_rejected(vehicle_id)
                except EvThreshold as exc:
                    if waits <= 0:
                        raise
                    waits -= 1
                    _LOG.info("%s; waiting", exc)
                    time.sleep(exc.retry_after or 0.0)
                except RateLimited as exc:
                    pause = exc.retry_after
                    self._budget.block(self.RATE_LIMIT_DEFAULT if pause is None else pause)
                    raise
                except CommandRefused as exc:
                    # Named as the owner knows it, as Car-Net's refusals are, not by its path.
                    said = f": {exc.detail}" if exc.detail else ""
                    raise CommandRefused(f"myVW refused {request.what} (HTTP {exc.status}{said})",
                                         exc.status, exc.detail) from None

    # Vehicles and reads ---------------------------------------------------

    def vehicles(self) -> list[Vehicle]:
        """The garage's vehicles, each with what its privileges allow."""
        data = self._read("/account/v1/garage", "the garage request")
        entries = data.get("vehicles")
        if not isinstance(entries, list):
            _LOG.warning("The garage lists no vehicles")
            return []
        found: list[Vehicle] = []
        for index, entry in enumerate(entries):
            vehicle_id = entry.get("vehicleId") if isinstance(entry, dict) else None
            vehicle = garage_vehicle(entry, self._privileges(vehicle_id) if isinstance(
                vehicle_id, str) and vehicle_id else None)
            if vehicle is None:
                _LOG.warning("Skipping garage entry %d: vehicleId or vin missing", index)
                continue
            found.append(vehicle)
        _LOG.debug("The garage lists %d vehicle(s)", len(found))
        return found

    def _privileges(self, vehicle_id: str) -> dict[str, Any] | None:
        path = f"/rrs/v1/privileges/user/{self._bearers.user_id}/vehicle/{vehicle_id}"
        try:
            return self._read(path, "the privileges request")
        except (AccessDenied, BadRequest) as exc:
            # Without privileges the vehicle is still read; only its commands are unknown.
            _LOG.warning("No privileges for vehicle %s (%s); offering no commands for it",
                         vehicle_id, exc)
            return None

    def read(self, vehicle: Vehicle, part: Part) -> Any:
        """The raw answer of one part: the status with the charge summary, the climate
        summary (empty for a combustion car) or the health report."""
        vehicle_id = ids(vehicle).vehicle_id
        if part is Part.HEALTH:
            return self._read(f"/vhs/v2/vehicle/{vehicle_id}", "the health report request")
        if part is Part.CLIMATE:
            if not ids(vehicle).electric:
                # Nothing to ask, yet read: None would be a part not read yet, and the
                # runtime waits for every part before it removes stale discovery.
                return {}
            return self._read(f"/ev/v1/vehicle/{vehicle_id}/climate/summary",
                              "the climate summary request", vehicle, self._unit_query())
        status = self._read(f"/rvs/v1/vehicle/{vehicle_id}", "the status request")
        charge = None
        if ids(vehicle).electric:
            try:
                charge = self._read(f"/ev/v1/vehicle/{vehicle_id}/charge/summary",
                                    "the charge summary request", vehicle)
            except AccessDenied as exc:  # the status is still worth reporting
                _LOG.warning("%s; reporting the status without the charge summary", exc)
        return readings.StatusParts(status=status, charge=charge)

    def interpret(self, vehicle: Vehicle, parts: Mapping[Part, Any],
                  temperature_unit: str) -> Report:
        """Every value the status, charge and climate summaries and health report provide."""
        status = parts.get(Part.STATUS)
        if not isinstance(status, readings.StatusParts):
            status = readings.StatusParts(status=status if isinstance(status, dict) else None)
        climate, health = parts.get(Part.CLIMATE), parts.get(Part.HEALTH)
        raw = readings.RawMyvwData(
            status=status.status, charge=status.charge,
            climate=climate if isinstance(climate, dict) else None,
            health=health if isinstance(health, dict) else None,
        )
        return readings.interpret(raw, temperature_unit)

    def outcome(self, vehicle: Vehicle, receipt: Receipt) -> CommandOutcome:
        """What the history reports of the command with this receipt (a read)."""
        data = self._read(history_path(ids(vehicle).vehicle_id, str(receipt.handle)),
                          "the command history request")
        return command_outcome(data)

    # Commands -------------------------------------------------------------

    def wake(self, vehicle: Vehicle) -> Receipt | None:
        """Ask the car for a fresh status (wakes its modem); data arrives in 10-60 s."""
        return self._command(vehicle, commands.wake(ids(vehicle).vehicle_id))

    def refresh_health(self, vehicle: Vehicle) -> None:
        """Not offered (no ``refresh_health`` intent): myVW has no request for a new
        health report, and a wake-up would spend one of the day's."""
        raise BadRequest("myVW has no request for a new health report; the report the car "
                         "last sent is read with the status")

    def set_lock(self, vehicle: Vehicle, locked: bool) -> Receipt | None:
        return self._command(vehicle, commands.lock(ids(vehicle).vehicle_id, locked))

    def horn_lights(self, vehicle: Vehicle, horn: bool, lights: bool) -> Receipt | None:
        return self._command(vehicle, commands.horn_lights(ids(vehicle).vehicle_id, horn,
                                                           lights))

    def set_charging(self, vehicle: Vehicle, active: bool) -> Receipt | None:
        return self._command(vehicle, commands.charging(ids(vehicle).vehicle_id, active))

    def set_max_charge_current(self, vehicle: Vehicle, value: str) -> Receipt | None:
        return self._change_charging(vehicle, commands.max_charge_current_change(value),
                                     "the max charge current setting")

    def set_target_soc(self, vehicle: Vehicle, percent: int) -> Receipt | None:
        return self._change_charging(vehicle, commands.target_soc_change(percent),
                                     "the target charge level setting")

    def _change_charging(self, vehicle: Vehicle, change: dict[str, Any],
                         what: str) -> Receipt | None:
        vehicle_id = ids(vehicle).vehicle_id
        data = self._read(commands.charging_settings_path(vehicle_id),
                          "the charging settings request", vehicle)
        current = data.get("chargingSettings")
        if not isinstance(current, dict):
            raise VendorUnavailable("myVW answered the charging settings request without "
                                    "chargingSettings")
        return self._command(vehicle, commands.charging_settings(vehicle_id, current,
                                                                 change, what))

    def set_climate(self, vehicle: Vehicle, active: bool,
                    target_temperature: float) -> Receipt | None:
        """Start or stop the climate; a new target is sent first, while the climate is
        off (the car applies settings only then). Stopping ignores the target."""
        unit = commands.target_unit(self._account.temperature_unit, target_temperature)
        target = commands.checked_target(target_temperature, unit)
        vehicle_id = ids(vehicle).vehicle_id
        summary = self._read(f"/ev/v1/vehicle/{vehicle_id}/climate/summary",
                             "the climate summary request", vehicle,
                             commands.temperature_query(unit))
        settings, running, known = commands.climate_now(summary)
        settings_receipt = None
        if known != target and not running:
            settings_receipt = self._command(vehicle, commands.climate_settings(
                vehicle_id, settings, commands.target_change(target, unit), unit,
                "the climate target setting"))
            if not active:
                return settings_receipt
        elif known != target and active:
            # Starting again would be "confirmed" with the old target still set.
            raise CommandRefused("the car takes a new climate target only while the climate "
                                 "is off: switch it off, then set the target", status=0)
        return self._command(vehicle, commands.climate(vehicle_id, active),
                             after_ev_command=settings_receipt is not None)

    def set_unplugged_climate(self, vehicle: Vehicle, enabled: bool) -> Receipt | None:
        vehicle_id = ids(vehicle).vehicle_id
        settings = self._read(commands.climate_settings_path(vehicle_id),
                              "the climate settings request", vehicle,
                              self._unit_query())
        target = settings.get("targetTemperature")
        word = target.get("unit") if isinstance(target, dict) else None
        unit = commands.unit_of_word(word, self._account.temperature_unit)
        return self._command(vehicle, commands.climate_settings(
            vehicle_id, settings, {"climatizationWithoutExternalPower": bool(enabled)}, unit,
            "the unplugged climate setting"))

    def set_window_heating(self, vehicle: Vehicle, active: bool) -> Receipt | None:
        return self._command(vehicle, commands.window_heating(ids(vehicle).vehicle_id,
                                                              active))

    def set_defrost(self, vehicle: Vehicle, active: bool) -> Receipt | None:
        raise BadRequest("myVW has no defrost command; window heating is its own command")
