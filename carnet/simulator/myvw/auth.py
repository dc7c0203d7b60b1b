"""Who is asking on the myVW side: the access token (T1) or the vehicle token (T2)."""

from __future__ import annotations

import logging
from typing import Any

from carnet.simulator.accounts import Account
from carnet.simulator.context import Context
from carnet.simulator.generations import MYVW
from carnet.simulator.vehicle import Vehicle
from carnet.simulator.web import Request, Response, json_response

_LOG = logging.getLogger(__name__)

ACCESS = "access"
VEHICLE = "vehicle"


def error(status: int, code: str, description: str, account: str | None = None,
          headers: list[tuple[str, str]] | None = None, **extra: Any) -> Response:
    """The myVW error body: ``{"error": {"errorCode", "errorDescription", …}}``."""
    response = json_response(status, {"error": {"errorCode": code,
                                                "errorDescription": description, **extra}},
                             headers, account)
    response.generation = MYVW
    return response


def unauthorized() -> Response:
    return error(401, "UNAUTHORIZED", "token missing, unknown or expired",
                 headers=[("WWW-Authenticate", 'Bearer error="invalid_token"')])


def not_authorized(account: str, description: str) -> Response:
    return error(403, "USER_NOT_AUTHORIZED", description, account)


def vehicle_token_refused(ctx: Context, req: Request) -> Response | None:
    """403 for a vehicle token on an access-token endpoint, None for any other bearer.

    A 401 would tell the client its tokens are dead, and a client that refreshes and
    signs in again on 401 would loop; the service answers 403 ``USER_NOT_AUTHORIZED``.
    """
    grant = ctx.tokens.vehicle_grant(req.bearer())
    if grant is None:
        return None
    return not_authorized(grant.account, "this endpoint takes the access token, "
                          "not a carnetVehicleToken")


class Caller:
    """The account, and the vehicle a vehicle token is for, behind a request's bearer."""

    def __init__(self, account: Account, kind: str, vin: str | None = None) -> None:
        self.account = account
        self.kind = kind  # ACCESS or VEHICLE
        self.vin = vin


def caller(ctx: Context, req: Request) -> Caller | None:
    """The caller of a request, from an access token or a vehicle token; None if neither."""
    token = req.bearer()
    email = ctx.tokens.access_account(token)
    if email is not None:
        account = ctx.registry.account(email)
        return Caller(account, ACCESS) if account is not None else None
    grant = ctx.tokens.vehicle_grant(token)
    if grant is not None:
        account = ctx.registry.account(grant.account)
        return Caller(account, VEHICLE, grant.vin) if account is not None else None
    return None


def vehicle_of(ctx: Context, who: Caller, vehicle_id: str, *, vehicle_token: bool,
               access_token: bool = True) -> tuple[Vehicle | None, Response | None]:
    """The caller's vehicle by vehicleId, checking the token kind the endpoint takes."""
    email = who.account.email
    vehicle = ctx.registry.by_vehicle_id.get(vehicle_id)
    if vehicle is None:
        return None, error(404, "VEHICLE_NOT_FOUND", "no such vehicle", email)
    if vehicle.account != email:
        return None, not_authorized(email, "the vehicle is not in this user's garage")
    if who.kind == VEHICLE and (not vehicle_token or who.vin != vehicle.vin):
        return None, not_authorized(email, "the vehicle token is not for this request")
    if who.kind == ACCESS and not access_token:
        return None, not_authorized(email, "a carnetVehicleToken is required")
    return vehicle, None

