"""The vehicle API of the API host: enrollment, status, health, TSP session, commands.

Reads (enrollment, status, health) need only the Bearer token. Every ``/mps/`` endpoint
also needs a TSP token in its JSON body and counts against the account's rate limit.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from carnet.simulator import payloads
from carnet.simulator.accounts import Account
from carnet.simulator.context import Context
from carnet.simulator.myvw.auth import vehicle_token_refused
from carnet.simulator.vehicle import CHARGE_CURRENTS, Vehicle
from carnet.simulator.web import Request, Response, Router, api_error, json_response

_LOG = logging.getLogger(__name__)

#: Error code of a ``status/fresh`` refused by the car's battery protection (HTTP 429).
WAKEUP_LIMIT_CODE = "VEHICLE_WAKEUP_LIMIT"

#: What a command handler returns: the response body, and the change for the car to
#: carry out (``None`` for reads) as (state command, value).
Outcome = tuple[dict[str, Any], tuple[str, Any] | None]


class BadBody(ValueError):
    """A request body field is missing or invalid; the message says which."""


def _flag(body: dict[str, Any], name: str) -> bool:
    if name not in body:
        raise BadBody(f"{name} is required")
    if not isinstance(body[name], bool):
        raise BadBody(f"{name} must be a JSON boolean")
    return body[name]


def _ack(command: str) -> dict[str, Any]:
    return {"data": {"correlationId": str(uuid.uuid4()), "command": command, "result": 0}}


def _fresh(body: dict[str, Any], v: Vehicle, a: Account) -> Outcome:
    return _ack("fetch_vehicle_status"), ("fresh", None)


def _doors(body: dict[str, Any], v: Vehicle, a: Account) -> Outcome:
    lock = _flag(body, "lock")
    return _ack("lock_doors" if lock else "unlock_doors"), ("lock", lock)


def _horn_and_lights(body: dict[str, Any], v: Vehicle, a: Account) -> Outcome:
    horn, lights = _flag(body, "horn"), _flag(body, "lights")
    if not (horn or lights):
        raise BadBody("horn or lights must be true")
    return _ack("flash_lights_and_honk_horn"), ("horn_lights", (horn, lights))


def _charging(body: dict[str, Any], v: Vehicle, a: Account) -> Outcome:
    active = _flag(body, "active")
    payload = {"value": {"transaction_id": str(uuid.uuid4()),
                         "command": "start_charge" if active else "stop_charge"}}
    return payload, ("charge", active)


def _max_charge_current(body: dict[str, Any], v: Vehicle, a: Account) -> Outcome:
    value = body.get("max_charge_current")
    if "max_charge_current" not in body:
        raise BadBody("max_charge_current is required")
    if isinstance(value, bool) or value not in CHARGE_CURRENTS:
        raise BadBody("max_charge_current must be 5, 10, 13 or \"max\"")
    return _ack("set_max_charge_current"), ("max_charge_current", value)


def _climate_details(body: dict[str, Any], v: Vehicle, a: Account) -> Outcome:
    return payloads.climate_details(v), None


def _defrost(body: dict[str, Any], v: Vehicle, a: Account) -> Outcome:
    active = _flag(body, "active")
    return _ack("start_defrost" if active else "stop_defrost"), ("defrost", active)


def _climate(body: dict[str, Any], v: Vehicle, a: Account) -> Outcome:
    active = _flag(body, "active")
    target = body.get("target_temperature")
    low, high = (60, 85) if a.temperature_unit == "F" else (16, 29)
    if target is None:
        if active:
            raise BadBody("target_temperature is required to start the climate")
    elif isinstance(target, bool) or not isinstance(target, int):
        raise BadBody("target_temperature must be an integer")
    elif not low <= target <= high:
        raise BadBody(f"target_temperature must be from {low} to {high} "
                      f"(degrees {a.temperature_unit})")
    return _ack("start_climate" if active else "stop_climate"), ("climate", (active, target))


def _unplugged_climate(body: dict[str, Any], v: Vehicle, a: Account) -> Outcome:
    enabled = _flag(body, "enabled")
    name = "enable_unplugged_climate_control" if enabled else "disable_unplugged_climate_control"
    return _ack(name), ("unplugged_climate", enabled)


def _health_fresh(body: dict[str, Any], v: Vehicle, a: Account) -> Outcome:
    return {"data": {"requested": True}}, ("health_fresh", None)


@dataclass(frozen=True)
class CommandSpec:
    method: str
    suffix: str  # path after /mps/v1/vehicles/<tspAccountNum>/
    handler: Callable[[dict[str, Any], Vehicle, Account], Outcome]


COMMANDS = (
    CommandSpec("PUT", "status/fresh", _fresh),
    CommandSpec("PUT", "status/exterior/doors", _doors),
    CommandSpec("PUT", "status/exterior/horn_and_lights", _horn_and_lights),
    CommandSpec("PATCH", "status/charging", _charging),
    CommandSpec("PUT", "settings/max_charge_current", _max_charge_current),
    CommandSpec("PUT", "status/climate/details", _climate_details),
    CommandSpec("PUT", "status/defrost", _defrost),
    CommandSpec("PUT", "status/climate", _climate),
    CommandSpec("PUT", "settings/unplugged_climate_control", _unplugged_climate),
    CommandSpec("POST", "health/fresh", _health_fresh),
)


class VehicleApi:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def register(self, router: Router) -> None:
        router.add("GET", r"/account/v1/enrollment/status", self.enrollment)
        router.add("GET", r"/rvs/v1/vehicle/([^/]+)", self.status)
        router.add("GET", r"/vhs/v2/vehicle/([^/]+)", self.health)
        router.add("POST", r"/ss/v1/user/([^/]+)/vehicle/([^/]+)/session", self.session)
        for spec in COMMANDS:
            router.add(spec.method, rf"/mps/v1/vehicles/([^/]+)/{spec.suffix}",
                       partial(self.command, spec))

    # ---- reads ------------------------------------------------------------------------

    def enrollment(self, req: Request, _m: object) -> Response:
        with self.ctx.lock:
            account, refusal = self._bearer(req)
            if refusal:
                return refusal
            assert account is not None
            if self.ctx.tokens.id_account(req.query.get("idToken")) != account.email:
                return api_error(401, "INVALID_ID_TOKEN",
                                 "idToken is missing, expired or not this user's", account.email)
            return json_response(200, payloads.enrollment(account, self.ctx.clock.now()),
                                 account=account.email)

    def status(self, req: Request, m: Any) -> Response:
        return self._vehicle_read(req, m.group(1), payloads.status)

    def health(self, req: Request, m: Any) -> Response:
        return self._vehicle_read(req, m.group(1), payloads.health)

    def _vehicle_read(self, req: Request, vehicle_id: str,
                      render: Callable[[Vehicle], dict[str, Any]]) -> Response:
        with self.ctx.lock:
            account, refusal = self._bearer(req)
            if refusal:
                return refusal
            assert account is not None
            vehicle, refusal = self._own(account, self.ctx.registry.by_vehicle_id.get(vehicle_id))
            if refusal:
                return refusal
            assert vehicle is not None
            vehicle.advance(self.ctx.clock.now())
            return json_response(200, render(vehicle), account=account.email)

    # ---- TSP session ------------------------------------------------------------------

    def session(self, req: Request, m: Any) -> Response:
        with self.ctx.lock:
            account, refusal = self._bearer(req)
            if refusal:
                return refusal
            assert account is not None
            email = account.email
            if m.group(1) != account.user_id:
                return api_error(403, "FORBIDDEN", "userId does not belong to this token", email)
            vehicle, refusal = self._own(account, self.ctx.registry.by_vehicle_id.get(m.group(2)))
            if refusal:
                return refusal
            assert vehicle is not None
            body = _json_object(req)
            if body is None:
                return api_error(400, "INVALID_REQUEST", "body must be a JSON object", email)
            missing = [k for k in ("accountNumber", "idToken", "tspPin", "tsp") if not body.get(k)]
            if missing:
                return api_error(400, "INVALID_REQUEST", f"missing {', '.join(missing)}", email)
            if account.pin_locked:
                return api_error(403, "PIN_LOCKED",
                                 "too many wrong PINs: commands are locked for this account",
                                 email)
            if self.ctx.tokens.id_account(str(body["idToken"])) != email:
                return api_error(401, "INVALID_ID_TOKEN",
                                 "idToken is invalid, expired or not this user's", email)
            if str(body["accountNumber"]) != vehicle.tsp_account:
                return api_error(400, "INVALID_REQUEST",
                                 "accountNumber is not this vehicle's tspAccountNum", email)
            if str(body["tsp"]) != vehicle.tsp_provider:
                return api_error(400, "INVALID_REQUEST",
                                 f"tsp must be {vehicle.tsp_provider}", email)
            if str(body["tspPin"]) != account.pin:
                return self._wrong_pin(account)
            account.failed_pins = 0
            token = self.ctx.tokens.new_tsp(email, vehicle.vin)
            return json_response(200, {"data": {
                "tspToken": token,
                "sessionId": str(uuid.uuid4()),
                "userId": account.user_id,
                "vehicleId": vehicle.vehicle_id,
                "accountNumber": vehicle.tsp_account,
                "tsp": vehicle.tsp_provider,
                "status": "ACTIVE",
            }}, account=email)

    def _wrong_pin(self, account: Account) -> Response:
        account.failed_pins += 1
        left = max(0, self.ctx.options.pin_attempts - account.failed_pins)
        if left == 0:
            account.pin_locked = True
            self.ctx.tokens.revoke_tsp_of(account.email)
            _LOG.warning("commands locked for %s after wrong PINs", account.email)
        return json_response(403, {"error": {
            "code": "INVALID_PIN",
            "message": "the PIN is wrong" + ("; commands are now locked" if left == 0 else ""),
            "remainingAttempts": left,
        }}, account=account.email)

    # ---- commands (/mps/) -------------------------------------------------------------

    def command(self, spec: CommandSpec, req: Request, m: Any) -> Response:
        ctx = self.ctx
        with ctx.lock:
            account, refusal = self._bearer(req)
            if refusal:
                return refusal
            assert account is not None
            email = account.email
            vehicle, refusal = self._own(account, ctx.registry.by_tsp.get(m.group(1)))
            if refusal:
                return refusal
            assert vehicle is not None
            fault = ctx.faults.get("rate_limit")
            retry = ctx.limiter.check(email, fault["per_minute"] if fault else None)
            if retry is not None:
                return api_error(429, "TOO_MANY_REQUESTS",
                                 "rate limit exceeded for this account", email,
                                 [("Retry-After", str(retry))])
            if account.pin_locked:
                return api_error(403, "PIN_LOCKED",
                                 "too many wrong PINs: commands are locked for this account",
                                 email)
            body = _json_object(req)
            if body is None:
                return api_error(400, "INVALID_REQUEST", "body must be a JSON object", email)
            refusal = self._check_credentials(body, account, vehicle)
            if refusal:
                return refusal
            now = ctx.clock.now()
            vehicle.advance(now)
            try:
                payload, change = spec.handler(body, vehicle, account)
            except BadBody as exc:
                return api_error(400, "INVALID_REQUEST", str(exc), email)
            opts = ctx.options
            if spec.handler is _fresh and not vehicle.wake(now, opts.wakeup_limit,
                                                           opts.wakeup_window):
                _LOG.info("%s: too many wake-ups in a row, the car does not answer", vehicle.vin)
                return api_error(429, WAKEUP_LIMIT_CODE,
                                 "the vehicle does not answer: too many wake-ups in a row, "
                                 "it protects its 12 V battery", email)
            if change is not None and ctx.faults.get("ignore_commands") is None:
                vehicle.schedule(now + ctx.options.apply_delay, *change)
                vehicle.advance(now)  # a zero delay takes effect before the answer
        if ctx.options.latency > 0:
            ctx.stopping.wait(ctx.options.latency)  # the round trip to the car's modem
        return json_response(200, payload, account=email)

    def _check_credentials(self, body: dict[str, Any], account: Account,
                           vehicle: Vehicle) -> Response | None:
        email = account.email
        for name in ("tsp_token", "email", "vw_id"):
            if not isinstance(body.get(name), str) or not body[name]:
                return api_error(400, "INVALID_REQUEST", f"{name} is required", email)
        grant = self.ctx.tokens.tsp_grant(body["tsp_token"])
        if grant is None or grant.account != email or grant.vin != vehicle.vin:
            return api_error(401, "INVALID_TSP_TOKEN",
                             "tsp_token is invalid, expired or for another vehicle", email)
        if body["email"].strip().lower() != email.lower():
            return api_error(400, "INVALID_REQUEST", "email is not this account's", email)
        if body["vw_id"] != account.vw_id:
            return api_error(400, "INVALID_REQUEST", "vw_id is not this account's", email)
        return None

    # ---- helpers ----------------------------------------------------------------------

    def _bearer(self, req: Request) -> tuple[Account | None, Response | None]:
        email = self.ctx.tokens.access_account(req.bearer())
        account = self.ctx.registry.account(email)
        if account is None:
            refused = vehicle_token_refused(self.ctx, req)  # a myVW client's vehicle token
            if refused is not None:
                return None, refused
            return None, api_error(401, "UNAUTHORIZED", "access token missing, unknown or expired",
                                   headers=[("WWW-Authenticate", 'Bearer error="invalid_token"')])
        return account, None

    @staticmethod
    def _own(account: Account, vehicle: Vehicle | None) -> tuple[Vehicle | None, Response | None]:
        if vehicle is None:
            return None, api_error(404, "VEHICLE_NOT_FOUND", "no such vehicle", account.email)
        if vehicle.account != account.email:
            return None, api_error(403, "FORBIDDEN", "vehicle is not enrolled for this user",
                                   account.email)
        return vehicle, None


def _json_object(req: Request) -> dict[str, Any] | None:
    try:
        body = req.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
