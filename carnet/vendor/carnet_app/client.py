"""The Car-Net API client: one :class:`CarNetClient` per account, every endpoint.

HTTP statuses, timeouts and connection errors become :mod:`carnet.core.errors` exceptions
in one function, :func:`~carnet.vendor.carnet_app.errors.error_for_response` (and
:class:`~carnet.vendor.http.Http` for transport errors),
so callers decide from the type what to do.

Bearer reads (enrollment, status, health) are idempotent: retried with a short back-off
when the vendor is unavailable; a refused access token is renewed by a refresh, then if
need be by a fresh login, before it counts as a login problem. The tokens are kept by
:mod:`.account_tokens`; commands and the climate details are TSP requests, paced and
sent by :mod:`.tsp`.

One client is shared by a poller thread and an executor thread.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any

import requests

from carnet.config import AccountConfig, VendorConfig, mask_email
from carnet.core import redact
from carnet.core.errors import (
    BadRequest,
    CommandRefused,
    VendorUnavailable,
)
from carnet.vendor.carnet_app import defaults, readings
from carnet.vendor.carnet_app.account_tokens import AccountTokens, bearer
from carnet.vendor.carnet_app.answers import data_object, refusal
from carnet.vendor.carnet_app.errors import TokenRejected, error_for_response, request_class
from carnet.vendor.carnet_app.login import Authenticator
from carnet.vendor.carnet_app.tsp import TspChannel
from carnet.vendor.carnet_app.vehicles import CHARGE_CURRENT_VALUES, enrolled_vehicle, ids
from carnet.vendor.http import Http
from carnet.vendor.protocol import CommandOutcome, Part, Receipt, Report, RequestRecorder, Vehicle
from carnet.vendor.tokens import TokenStore

_LOG = logging.getLogger(__name__)


class CarNetClient:
    """Every Car-Net endpoint for one account. Thread-safe."""

    READ_TRIES = 3
    READ_BACKOFF = (0.5, 1.0)  # seconds before the 2nd and 3rd try

    def __init__(
        self,
        vendor: VendorConfig,
        account: AccountConfig,
        store: TokenStore,
        min_interval: float = 0.0,
        max_per_minute: int = 60,
        recorder: RequestRecorder | None = None,
    ) -> None:
        redact.protect()
        redact.register_secret(account.password, permanent=True)
        redact.register_secret(account.pin, permanent=True)
        vendor = defaults.resolved(vendor)
        self._vendor = vendor
        self._account = account
        self._base = vendor.api_base.rstrip("/")
        self._http = Http(
            "Car-Net",
            vendor.timeout,
            error_for_response,
            None if recorder is None
            else lambda url: recorder.record(request_class(url, vendor.identity_base)),
        )
        self._session = requests.Session()
        self._session.headers["User-Agent"] = vendor.user_agent
        self._tokens = AccountTokens(vendor, account, store,
                                     Authenticator(vendor, account, self._http))

        self._profile_lock = threading.Lock()
        self._user_id: str | None = None
        self._vw_id: str | None = None

        self._tsp = TspChannel(self._base, account, self._http, self._session, self._tokens,
                               self._profile, str(uuid.uuid4()), min_interval, max_per_minute)

    def __repr__(self) -> str:
        return f"CarNetClient(account={mask_email(self._account.email)!r})"

    @property
    def commands_enabled(self) -> bool:
        """False without a PIN, or after the PIN was refused."""
        return self._tsp.commands_enabled

    @property
    def commands_refusal(self) -> str | None:
        """Why commands are disabled (None: they are not)."""
        if self.commands_enabled:
            return None
        if not self._account.pin:
            return "no PIN configured (accounts[].pin)"
        return "Car-Net refused the PIN; fix accounts[].pin and restart"

    def request_wait(self) -> float:
        """Seconds until a TSP request may go out (0: now), without taking the slot.

        The command executor waits this long with the command still queued, where a
        newer command can replace it and ``max_age`` still applies.
        """
        return self._tsp.request_wait()

    def spare_requests(self) -> int:
        """How many more TSP requests the last 60 s allow."""
        return self._tsp.spare_requests()

    def close(self) -> None:
        self._session.close()

    # Bearer reads ---------------------------------------------------------

    def _read(self, path: str, what: str, *, with_id_token: bool = False) -> dict[str, Any]:
        url = self._base + path
        started = time.monotonic()
        # A refused token is renewed by a refresh, and if the refreshed one is refused
        # too, by a full login; only a token from a fresh login refused is a login problem.
        renewed = False
        logged_in = False
        tries = 0
        while True:
            tokens = self._tokens.current()
            params = {"idToken": tokens.id_token} if with_id_token else None
            tries += 1
            try:
                response = self._http(self._session, "GET", url, step="api", params=params,
                                      headers=bearer(tokens))
                return data_object(response, what)
            except TokenRejected:
                if logged_in:
                    raise
                tries -= 1
                if not renewed:
                    renewed = True
                    _LOG.info("Car-Net refused the access token for %s; renewing it", what)
                    # A refresh replays the verifier; a login makes a new one.
                    logged_in = self._tokens.renew(tokens).code_verifier != tokens.code_verifier
                else:
                    _LOG.info("Car-Net refused the renewed access token for %s; logging in "
                              "again", what)
                    self._tokens.renew(tokens, login=True)
                    logged_in = True
            except VendorUnavailable as exc:
                if tries >= self.READ_TRIES:
                    raise
                delay = self.READ_BACKOFF[min(tries, len(self.READ_BACKOFF)) - 1]
                if time.monotonic() - started + delay > self._vendor.timeout:
                    raise
                _LOG.warning("%s; retrying %s in %g s", exc, what, delay)
                time.sleep(delay)

    def vehicles(self) -> list[Vehicle]:
        """The account's vehicles (enrollment); also learns userId and vwId."""
        data = self._read("/account/v1/enrollment/status", "the enrollment request",
                          with_id_token=True)
        customer = data.get("customer") if isinstance(data.get("customer"), dict) else {}
        user_id, vw_id = customer.get("userId"), customer.get("vwId")
        if not isinstance(user_id, str) or not isinstance(vw_id, str):
            raise VendorUnavailable("The enrollment answer has no customer userId/vwId")
        with self._profile_lock:
            self._user_id, self._vw_id = user_id, vw_id
        entries = data.get("vehicleEnrollmentStatus")
        if not isinstance(entries, list):
            _LOG.warning("The enrollment answer lists no vehicles")
            return []
        found: list[Vehicle] = []
        for index, entry in enumerate(entries):
            vehicle = enrolled_vehicle(entry)
            if vehicle is None:
                _LOG.warning("Skipping enrollment entry %d: vehicleId, vin or "
                             "tspAccountNum missing", index)
                continue
            found.append(vehicle)
        _LOG.debug("Enrollment lists %d vehicle(s)", len(found))
        return found

    def status(self, vehicle: Vehicle) -> dict[str, Any]:
        """The ``data`` of ``GET /rvs/v1/vehicle/<vehicleId>``."""
        return self._read(f"/rvs/v1/vehicle/{ids(vehicle).vehicle_id}", "the status request")

    def health(self, vehicle: Vehicle) -> dict[str, Any]:
        """The ``data`` of ``GET /vhs/v2/vehicle/<vehicleId>``."""
        return self._read(f"/vhs/v2/vehicle/{ids(vehicle).vehicle_id}", "the health report request")

    def interpret(
        self, vehicle: Vehicle, parts: Mapping[Part, Any], temperature_unit: str
    ) -> Report:
        """Every value the status, climate details and health report provide."""
        raw = readings.RawVehicleData(
            status=parts.get(Part.STATUS),
            climate=parts.get(Part.CLIMATE),
            health=parts.get(Part.HEALTH),
        )
        return readings.interpret(raw, temperature_unit)

    def _profile(self) -> tuple[str, str]:
        with self._profile_lock:
            if self._user_id and self._vw_id:
                return self._user_id, self._vw_id
        self.vehicles()
        with self._profile_lock:
            assert self._user_id is not None and self._vw_id is not None
            return self._user_id, self._vw_id


    def _command(self, vehicle: Vehicle, method: str, suffix: str, what: str,
                 body: dict[str, Any]) -> None:
        answer = self._tsp.send(vehicle, method, suffix, what, body)
        said_no = refusal(answer)
        if said_no:
            # A 200 that says no: the vendor did not take the command.
            raise CommandRefused(f"Car-Net refused {what} ({said_no})", 200, said_no)
        data = None
        if isinstance(answer, dict):
            data = answer.get("data") if isinstance(answer.get("data"), dict) else answer.get(
                "value")
        if not isinstance(data, dict):
            _LOG.warning("Car-Net answered %s without a data object", what)
            return
        _LOG.debug("Car-Net accepted %s (%s)", what, data.get("command"))

    def climate_details(self, vehicle: Vehicle) -> dict[str, Any]:
        """The ``data`` of ``PUT .../status/climate/details`` (a TSP request)."""
        answer = self._tsp.send(vehicle, "PUT", "status/climate/details",
                                "the climate details request", read=True)
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, dict):
            raise VendorUnavailable("Car-Net answered the climate details request without data")
        return data

    def read(self, vehicle: Vehicle, part: Part) -> dict[str, Any]:
        """The ``data`` of one part's answer; the climate details spend the command budget."""
        if part is Part.STATUS:
            return self.status(vehicle)
        if part is Part.HEALTH:
            return self.health(vehicle)
        return self.climate_details(vehicle)

    def wake(self, vehicle: Vehicle) -> None:
        """Ask the car for a fresh status (wakes its modem)."""
        self._command(vehicle, "PUT", "status/fresh", "the status refresh", {})

    def refresh_health(self, vehicle: Vehicle) -> None:
        self._command(vehicle, "POST", "health/fresh", "the health report refresh", {})

    def set_lock(self, vehicle: Vehicle, locked: bool) -> None:
        self._command(vehicle, "PUT", "status/exterior/doors",
                      "the lock command" if locked else "the unlock command",
                      {"lock": bool(locked)})

    def horn_lights(self, vehicle: Vehicle, horn: bool, lights: bool) -> None:
        if not horn and not lights:
            raise BadRequest("horn_lights needs horn, lights or both")
        self._command(vehicle, "PUT", "status/exterior/horn_and_lights",
                      "the horn and lights command", {"horn": bool(horn), "lights": bool(lights)})

    def set_charging(self, vehicle: Vehicle, active: bool) -> None:
        self._command(vehicle, "PATCH", "status/charging", "the charging command",
                      {"active": bool(active)})

    def set_max_charge_current(self, vehicle: Vehicle, value: int | str) -> None:
        if isinstance(value, bool) or value not in CHARGE_CURRENT_VALUES:
            raise BadRequest(f"max_charge_current must be one of 5, 10, 13 or \"max\", "
                             f"not {value!r}")
        self._command(vehicle, "PUT", "settings/max_charge_current",
                      "the max charge current setting", {"max_charge_current": value})

    def set_climate(self, vehicle: Vehicle, active: bool, target_temperature: int) -> None:
        if isinstance(target_temperature, bool) or not isinstance(target_temperature, int | float):
            raise BadRequest("target_temperature must be a number")
        self._command(vehicle, "PUT", "status/climate", "the climate command",
                      {"active": bool(active),
                       "target_temperature": round(float(target_temperature))})

    def set_defrost(self, vehicle: Vehicle, active: bool) -> None:
        self._command(vehicle, "PUT", "status/defrost", "the defrost command",
                      {"active": bool(active)})

    def set_unplugged_climate(self, vehicle: Vehicle, enabled: bool) -> None:
        self._command(vehicle, "PUT", "settings/unplugged_climate_control",
                      "the unplugged climate setting", {"enabled": bool(enabled)})

    # Not in Car-Net's intents, so never called; the protocol asks for them.

    def set_target_soc(self, vehicle: Vehicle, percent: int) -> None:
        raise BadRequest("Car-Net does not offer a target charge level")

    def set_window_heating(self, vehicle: Vehicle, active: bool) -> None:
        raise BadRequest("Car-Net does not offer window heating")

    def outcome(self, vehicle: Vehicle, receipt: Receipt) -> CommandOutcome:
        raise BadRequest("Car-Net does not report command outcomes")
