"""The Car-Net API client: one :class:`CarNetClient` per account, every endpoint.

HTTP statuses, timeouts and connection errors become :mod:`carnet.core.errors` exceptions
in one function, :func:`~carnet.vendor.carnet_app.errors.error_for_response` (and
:class:`~carnet.vendor.http.Http` for transport errors),
so callers decide from the type what to do.

Three kinds of request, three policies:

* Bearer reads (enrollment, status, health) are idempotent: retried with a short
  back-off when the vendor is unavailable; a refused access token is renewed by a
  refresh, then if need be by a fresh login, before it counts as a login problem.
* TSP requests (every ``/mps/`` endpoint) are rate-limited by the vendor per account:
  they go one at a time, at least ``min_interval`` apart and at most
  ``max_per_minute`` in any minute, and after a 429 none is
  sent until ``Retry-After`` has passed. A command is never retried blindly; only a
  refused token (401: nothing was executed) leads to one more attempt with a new TSP
  session. A 401 or 403 that stays is that request's :class:`CommandRefused`, never a
  login problem.
* The TSP session request carries the PIN: after one refusal it is never sent again
  by this client, because repeated wrong PINs lock the account.

One client is shared by a poller thread and an executor thread: token acquisition is
serialised by a lock, and TSP requests by another. A login is never run twice for one
need: a thread that waited for a login that was refused gets that refusal.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

from carnet.config import AccountConfig, VendorConfig, mask_email
from carnet.core import redact
from carnet.core.errors import (
    AuthError,
    BadRequest,
    CommandRefused,
    PinRefused,
    RateLimited,
    VendorUnavailable,
)
from carnet.vendor.carnet_app import readings
from carnet.vendor.carnet_app.errors import TokenRejected, error_for_response, request_class
from carnet.vendor.carnet_app.login import Authenticator
from carnet.vendor.http import Http, pick_message
from carnet.vendor.protocol import Capabilities, Part, Report, RequestRecorder
from carnet.vendor.tokens import TokenSet, TokenStore

_LOG = logging.getLogger(__name__)

# What every vehicle on the Car-Net app API accepts: the service does not tell them apart.
CAPABILITIES = Capabilities(
    intents=frozenset({
        "wake", "refresh_health", "set_lock", "horn_lights", "set_charging",
        "set_max_charge_current", "set_climate", "set_defrost", "set_unplugged_climate",
    }),
    charge_currents=("5", "10", "13", "max"),
    # The climate details are a TSP request: they spend the command budget.
    costly_parts=frozenset({Part.CLIMATE}),
    confirmed_by={
        key: Part.CLIMATE
        for key in ("climate", "climate_target_temperature", "outdoor_temperature",
                    "defrost", "unplugged_climate")
    },
)
# The values the charge current command sends: amps as numbers, else the word.
_CHARGE_CURRENT_VALUES = tuple(
    int(value) if value.isdigit() else value for value in CAPABILITIES.charge_currents
)


@dataclass(frozen=True)
class Vehicle:
    vehicle_id: str  # enrollment vehicleId (status/health URLs)
    vin: str
    tsp_account_num: str  # rolesAndRights.tspAccountNum (command URLs)
    tsp: str  # vehicle.tspProvider
    model_name: str | None
    model_year: str | None

    @property
    def capabilities(self) -> Capabilities:
        return CAPABILITIES


def _json(response: requests.Response, what: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise VendorUnavailable(
            f"Car-Net answered {what} with malformed JSON (HTTP {response.status_code})"
        ) from None


def _data(response: requests.Response, what: str, key: str = "data") -> dict[str, Any]:
    body = _json(response, what)
    data = body.get(key) if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise VendorUnavailable(f"Car-Net answered {what} without a '{key}' object")
    return data


# --------------------------------------------------------------------------- client


class CarNetClient:
    """Every Car-Net endpoint for one account. Thread-safe."""

    TOKEN_MARGIN = 60.0  # refresh this long before the access token expires
    TSP_TOKEN_TTL = 45 * 60.0  # the vendor gives no expiry; about 45 minutes in practice
    READ_TRIES = 3
    READ_BACKOFF = (0.5, 1.0)  # seconds before the 2nd and 3rd try
    RATE_LIMIT_DEFAULT = 60.0  # pause after a 429 without Retry-After

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
        self._vendor = vendor
        self._account = account
        self._store = store
        self._min_interval = max(0.0, float(min_interval))
        self._max_per_minute = max(1, int(max_per_minute))
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
        self._auth = Authenticator(vendor, account, self._http)
        self._app_uuid = str(uuid.uuid4())

        self._token_lock = threading.RLock()
        # The last login's refusal and when it came: for a moment, whoever else needs
        # tokens gets this outcome instead of logging in again.
        self._refusal: AuthError | None = None
        self._refused_at = 0.0
        self._tokens: TokenSet | None = store.load(account.email, vendor.client_id, vendor.api_base)
        if self._tokens is not None:
            for secret in (self._tokens.access_token, self._tokens.id_token,
                           self._tokens.refresh_token, self._tokens.code_verifier):
                redact.register_secret(secret)
            _LOG.debug("Using stored tokens for %s", mask_email(account.email))

        self._profile_lock = threading.Lock()
        self._user_id: str | None = None
        self._vw_id: str | None = None

        self._tsp_lock = threading.Lock()
        self._tsp_tokens: dict[str, tuple[str, float]] = {}
        self._recent_tsp: deque[float] = deque()  # when the TSP requests of the last minute went
        # Guards _recent_tsp: the executor asks for the next free slot without the TSP lock.
        self._budget_lock = threading.Lock()
        self._blocked_until = 0.0
        self._commands_enabled = bool(account.pin)

    def __repr__(self) -> str:
        return f"CarNetClient(account={mask_email(self._account.email)!r})"

    @property
    def commands_enabled(self) -> bool:
        """False without a PIN, or after the PIN was refused."""
        return self._commands_enabled

    def close(self) -> None:
        self._session.close()

    # Tokens ---------------------------------------------------------------

    def _current_tokens(self) -> TokenSet:
        """Valid tokens: stored, refreshed before expiry, or from a full login."""
        with self._token_lock:
            tokens = self._tokens
            if tokens is None:
                return self._login()
            if tokens.expires_within(self.TOKEN_MARGIN):
                return self._refresh_or_login(tokens)
            return tokens

    def _renew(self, rejected: TokenSet, *, login: bool = False) -> TokenSet:
        """After the API refused ``rejected``: renew (with ``login``, by a full login, not
        a refresh), unless another thread already did."""
        with self._token_lock:
            current = self._tokens
            if current is not None and current.access_token != rejected.access_token:
                return current
            if current is None or login:
                return self._login()
            return self._refresh_or_login(current)

    def _refresh_or_login(self, tokens: TokenSet) -> TokenSet:
        self._raise_recent_refusal()
        if not tokens.refresh_expired():
            try:
                fresh = self._auth.refresh(tokens)
            except AuthError as exc:
                _LOG.info("Token refresh refused (%s); logging in again", exc)
            else:
                self._keep(fresh)
                _LOG.debug("Tokens refreshed")
                return fresh
        return self._login()

    def _login(self) -> TokenSet:
        """A full login (token lock held, so one at a time).

        The poller's back-off decides when the next login goes; a request that was
        already on its way when a login was refused (the reader's, the command
        worker's) gets that refusal, the same exception, so it is counted once.
        """
        self._raise_recent_refusal()
        try:
            tokens = self._auth.login()
        except AuthError as exc:
            self._refusal, self._refused_at = exc, time.monotonic()
            raise
        self._refusal = None
        self._keep(tokens)
        return tokens

    def _raise_recent_refusal(self) -> None:
        # Half the shortest back-off step: long enough for the requests that waited for
        # the login, never so long that the poller's next attempt meets the old refusal.
        refusal = self._refusal
        window = self._vendor.login_retry / 2
        if refusal is not None and time.monotonic() - self._refused_at < window:
            raise refusal

    def _keep(self, tokens: TokenSet) -> None:
        self._tokens = tokens
        try:
            self._store.save(self._account.email, self._vendor.client_id,
                             self._vendor.api_base, tokens)
        except OSError as exc:
            _LOG.warning("Cannot save tokens in %s (%s); they will not survive a restart",
                         self._store.directory, exc.strerror or type(exc).__name__)

    @staticmethod
    def _bearer(tokens: TokenSet) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens.access_token}", "Accept": "application/json"}

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
            tokens = self._current_tokens()
            params = {"idToken": tokens.id_token} if with_id_token else None
            tries += 1
            try:
                response = self._http(self._session, "GET", url, step="api", params=params,
                                      headers=self._bearer(tokens))
                return _data(response, what)
            except TokenRejected:
                if logged_in:
                    raise
                tries -= 1
                if not renewed:
                    renewed = True
                    _LOG.info("Car-Net refused the access token for %s; renewing it", what)
                    # A refresh replays the verifier; a login makes a new one.
                    logged_in = self._renew(tokens).code_verifier != tokens.code_verifier
                else:
                    _LOG.info("Car-Net refused the renewed access token for %s; logging in "
                              "again", what)
                    self._renew(tokens, login=True)
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
            vehicle = _vehicle(entry)
            if vehicle is None:
                _LOG.warning("Skipping enrollment entry %d: vehicleId, vin or "
                             "tspAccountNum missing", index)
                continue
            found.append(vehicle)
        _LOG.debug("Enrollment lists %d vehicle(s)", len(found))
        return found

    def status(self, vehicle: Vehicle) -> dict[str, Any]:
        """The ``data`` of ``GET /rvs/v1/vehicle/<vehicleId>``."""
        return self._read(f"/rvs/v1/vehicle/{vehicle.vehicle_id}", "the status request")

    def health(self, vehicle: Vehicle) -> dict[str, Any]:
        """The ``data`` of ``GET /vhs/v2/vehicle/<vehicleId>``."""
        return self._read(f"/vhs/v2/vehicle/{vehicle.vehicle_id}", "the health report request")

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

    # TSP requests ---------------------------------------------------------

    def _require_commands(self) -> None:
        if not self._account.pin:
            raise PinRefused("no PIN configured: commands need accounts[].pin")
        if not self._commands_enabled:
            raise PinRefused("commands are disabled: Car-Net refused the PIN earlier "
                             "(check accounts[].pin and restart)")

    def _check_rate_block(self) -> None:
        remaining = self._blocked_until - time.monotonic()
        if remaining > 0:
            raise RateLimited(
                f"Car-Net rate limit: not sending for another {remaining:.0f} s", remaining
            )

    def request_wait(self) -> float:
        """Seconds until a TSP request may go out (0: now), without taking the slot.

        The command executor waits this long with the command still queued, where a
        newer command can replace it and ``max_age`` still applies.
        """
        with self._budget_lock:
            now = time.monotonic()
            return max(self._budget_wait(now), self._blocked_until - now)

    def _budget_wait(self, now: float) -> float:
        """Seconds from ``now`` until the request budget allows one more (budget lock held).

        Requests are spaced ``min_interval`` apart, and no more than ``max_per_minute``
        go out in any 60 s: the vendor counts per account and answers 429 past about 7.
        """
        while self._recent_tsp and now - self._recent_tsp[0] >= 60.0:
            self._recent_tsp.popleft()
        waits = [0.0]
        if self._recent_tsp:
            waits.append(self._recent_tsp[-1] + self._min_interval - now)
        if len(self._recent_tsp) >= self._max_per_minute:
            waits.append(self._recent_tsp[0] + 60.0 - now)
        return max(waits)

    def _wait_turn(self) -> None:
        """Wait until the next TSP request may go, and take that slot (TSP lock held)."""
        while True:
            with self._budget_lock:
                now = time.monotonic()
                wait = self._budget_wait(now)
                if wait <= 0:
                    self._recent_tsp.append(now)
                    return
            _LOG.debug("waiting %.1f s for the account's request budget", wait)
            time.sleep(wait)

    def _disable_commands(self) -> None:
        if not self._commands_enabled:
            return
        self._commands_enabled = False
        _LOG.error("Car-Net refused the PIN: commands are disabled for this account "
                   "(reading continues); check accounts[].pin and restart")

    def _tsp_token(self, vehicle: Vehicle, tokens: TokenSet, user_id: str,
                   renewed: bool) -> str:
        cached = self._tsp_tokens.get(vehicle.vehicle_id)
        if cached is not None and time.monotonic() - cached[1] < self.TSP_TOKEN_TTL:
            return cached[0]
        if not self._commands_enabled:
            self._require_commands()
        url = f"{self._base}/ss/v1/user/{user_id}/vehicle/{vehicle.vehicle_id}/session"
        body = {
            "accountNumber": vehicle.tsp_account_num,
            "idToken": tokens.id_token,
            "tspPin": self._account.pin,
            "tsp": vehicle.tsp,
        }
        headers = {**self._bearer(tokens), "Content-Type": "application/json;charset=UTF-8"}
        try:
            response = self._http(self._session, "POST", url, step="session",
                                  data=json.dumps(body), headers=headers)
        except TokenRejected as exc:
            if renewed:
                # Fresh tokens refused again: do not risk another PIN attempt.
                raise PinRefused(f"Car-Net refused the TSP session twice ({exc}); "
                                 "commands are disabled") from None
            raise
        data = _data(response, "the TSP session request")
        token = data.get("tspToken")
        if not isinstance(token, str) or not token:
            raise VendorUnavailable("The TSP session answer carries no tspToken")
        redact.register_secret(token)
        self._tsp_tokens[vehicle.vehicle_id] = (token, time.monotonic())
        _LOG.debug("Obtained a TSP token for vehicle %s", vehicle.vehicle_id)
        return token

    def _tsp(
        self,
        vehicle: Vehicle,
        method: str,
        suffix: str,
        what: str,
        body: dict[str, Any] | None = None,
        *,
        read: bool = False,
    ) -> Any:
        """One ``/mps/`` request; returns the decoded JSON body. ``read``: it changes
        nothing in the car, so a refusal may be tried once more."""
        self._require_commands()
        url = f"{self._base}/mps/v1/vehicles/{vehicle.tsp_account_num}/{suffix}"
        with self._tsp_lock:
            self._check_rate_block()
            try:
                return self._tsp_locked(vehicle, method, url, what, body or {}, read)
            except PinRefused:
                self._disable_commands()
                raise
            except RateLimited as exc:
                pause = exc.retry_after
                if pause is None:
                    pause = self.RATE_LIMIT_DEFAULT
                self._blocked_until = time.monotonic() + pause
                _LOG.warning("Car-Net rate limit reached; no command requests for %g s", pause)
                raise

    def _tsp_locked(self, vehicle: Vehicle, method: str, url: str, what: str,
                    body: dict[str, Any], read: bool) -> Any:
        """The request with its tokens, and at most one more attempt.

        A refused Bearer token on the session request is renewed once. A 401 on the
        request itself (a stale TSP token: nothing was executed), or a 401/403 on a
        read, is tried once more with a new TSP session. A 403 on a command is final:
        the vendor received it and said no, and sending it again could act twice.
        """
        user_id, vw_id = self._profile()
        session_renewed = False
        retried = False
        while True:
            # Wait for the account's turn first: the wait can be long, and tokens taken
            # before it could expire while waiting.
            self._wait_turn()
            tokens = self._current_tokens()
            try:
                tsp_token = self._tsp_token(vehicle, tokens, user_id, session_renewed)
            except TokenRejected:
                session_renewed = True
                _LOG.info("Car-Net refused the token for the TSP session; renewing it")
                self._renew(tokens)
                continue
            except CommandRefused as exc:
                # Refused for this vehicle only (not the PIN): no token to keep for it.
                self._tsp_tokens.pop(vehicle.vehicle_id, None)
                said = f": {exc.detail}" if exc.detail else ""
                raise CommandRefused(f"Car-Net refused the TSP session for {what} "
                                     f"(HTTP {exc.status}{said})", exc.status,
                                     exc.detail) from None
            payload = {"tsp_token": tsp_token, "email": self._account.email, "vw_id": vw_id,
                       **body}
            headers = {
                **self._bearer(tokens),
                "Content-Type": "application/json;charset=UTF-8",
                "x-user-id": user_id,
                "x-user-agent": "mobile-ios",
                "x-app-uuid": self._app_uuid,
            }
            try:
                response = self._http(self._session, method, url, step="tsp",
                                      data=json.dumps(payload), headers=headers)
            except CommandRefused as exc:
                if retried or (exc.status == 403 and not read):
                    said = f": {exc.detail}" if exc.detail else ""
                    raise CommandRefused(f"Car-Net refused {what} (HTTP {exc.status}{said})",
                                         exc.status, exc.detail) from None
                retried = True
                self._tsp_tokens.pop(vehicle.vehicle_id, None)
                _LOG.info("Car-Net refused %s (HTTP %d); trying once more with a new TSP "
                          "session", what, exc.status)
                continue
            return _json(response, what)

    def _command(self, vehicle: Vehicle, method: str, suffix: str, what: str,
                 body: dict[str, Any]) -> None:
        answer = self._tsp(vehicle, method, suffix, what, body)
        refusal = _refusal(answer)
        if refusal:
            # A 200 that says no: the vendor did not take the command.
            raise CommandRefused(f"Car-Net refused {what} ({refusal})", 200, refusal)
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
        answer = self._tsp(vehicle, "PUT", "status/climate/details", "the climate details request",
                           read=True)
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
        if isinstance(value, bool) or value not in _CHARGE_CURRENT_VALUES:
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


def _refusal(answer: Any) -> str:
    """Why a 200 answer to a command says no: an ``error`` object or a non-zero
    ``result`` (masked, short); empty when the command was taken."""
    if not isinstance(answer, dict):
        return ""
    error = answer.get("error")
    if error not in (None, "", {}, []):
        return redact.redact(pick_message({"error": error})[:200]) or "error"
    data = answer.get("data") if isinstance(answer.get("data"), dict) else answer.get("value")
    if not isinstance(data, dict):
        return ""
    result = data.get("result", 0)
    if result in (0, "0", None):
        return ""
    said = pick_message({key: value for key, value in data.items() if key != "result"})
    return redact.redact(f"result {result}" + (f": {said}" if said else ""))[:200]


def _vehicle(entry: Any) -> Vehicle | None:
    if not isinstance(entry, dict):
        return None
    details = entry.get("vehicle") if isinstance(entry.get("vehicle"), dict) else {}
    rights = entry.get("rolesAndRights") if isinstance(entry.get("rolesAndRights"), dict) else {}
    vehicle_id = entry.get("vehicleId") or details.get("vehicleId")
    vin = details.get("vin")
    account = rights.get("tspAccountNum")
    if not vehicle_id or not vin or account in (None, ""):
        return None
    year = details.get("modelYear")
    return Vehicle(
        vehicle_id=str(vehicle_id),
        vin=str(vin),
        tsp_account_num=str(account),
        tsp=str(details.get("tspProvider") or ""),
        model_name=str(details["modelName"]) if details.get("modelName") else None,
        model_year=str(year) if year not in (None, "") else None,
    )
