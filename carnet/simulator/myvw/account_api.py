"""The myVW garage, privileges, S-PIN challenge and session (the carnetVehicleToken).

The session path is the Car-Net app's TSP session path too: a request whose bearer is
not a myVW token goes on to the Car-Net handler.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from typing import Any

from carnet.simulator.accounts import Account
from carnet.simulator.clock import real_now
from carnet.simulator.context import Context
from carnet.simulator.generations import MYVW
from carnet.simulator.myvw import shapes
from carnet.simulator.myvw.auth import (
    ACCESS,
    caller,
    error,
    not_authorized,
    unauthorized,
    vehicle_of,
)
from carnet.simulator.myvw.state import MyvwStore
from carnet.simulator.web import Request, Response, Router, json_response

_LOG = logging.getLogger(__name__)

RO_TOKEN_TTL = 300.0  # real seconds a remote start token lasts (unreported; a guess)
TSPS = ("WCT", "ATC")  # sources differ on which a car takes, so both are accepted


def spin_hash(challenge: str, spin: str) -> str:
    """hex(SHA-512(challenge + "." + spin)), lower case."""
    return hashlib.sha512(f"{challenge}.{spin}".encode()).hexdigest()


class AccountApi:
    def __init__(self, ctx: Context, store: MyvwStore,
                 carnet_session: Callable[[Request, Any], Response]) -> None:
        self.ctx = ctx
        self.store = store
        self.carnet_session = carnet_session

    def register(self, router: Router) -> None:
        router.add("GET", r"/account/v1/garage", self.garage)
        router.add("GET", r"/rrs/v1/privileges/user/([^/]+)/vehicle/([^/]+)", self.privileges)
        router.add("GET", r"/ss/v1/user/([^/]+)/challenge", self.challenge)
        router.add("POST", r"/ss/v1/user/([^/]+)/vehicle/([^/]+)/session", self.session)
        router.add("POST", r"/ss/v1/user/([^/]+)/vehicle/([^/]+)/operation/climateControl"
                   r"/check", self.climate_control_check)

    @property
    def canada(self) -> bool:
        return self.ctx.options.region == "ca"

    def _user(self, req: Request, user_id: str | None) -> tuple[Account | None,
                                                                Response | None]:
        """The account of an access token (and of ``user_id`` when given)."""
        who = caller(self.ctx, req)
        if who is not None and who.kind != ACCESS:
            return None, not_authorized(who.account.email, "this endpoint takes the access "
                                        "token, not a carnetVehicleToken")
        if who is None:
            return None, unauthorized()
        if user_id is not None and user_id != who.account.user_id:
            return None, not_authorized(who.account.email, "userId is not this token's user")
        return who.account, None

    def garage(self, req: Request, _m: object) -> Response:
        with self.ctx.lock:
            account, refusal = self._user(req, None)
            if refusal:
                return refusal
            assert account is not None
            return json_response(200, shapes.garage(account, self.canada), account=account.email)

    def privileges(self, req: Request, m: Any) -> Response:
        with self.ctx.lock:
            account, refusal = self._user(req, m.group(1))
            if refusal:
                return refusal
            assert account is not None
            who = caller(self.ctx, req)
            assert who is not None
            vehicle, refusal = vehicle_of(self.ctx, who, m.group(2), vehicle_token=False)
            if refusal:
                return refusal
            assert vehicle is not None
            return json_response(200, {"data": {
                "userId": account.user_id, "vehicleId": vehicle.vehicle_id,
                "services": shapes.services(vehicle, self.canada)}}, account=account.email)

    def challenge(self, req: Request, m: Any) -> Response:
        with self.ctx.lock:
            account, refusal = self._user(req, m.group(1))
            if refusal:
                return refusal
            assert account is not None
            return json_response(200, {"data": {
                "challenge": self.store.new_challenge(account.email),
                "remainingTries": self._tries_left(account)}}, account=account.email)

    def _tries_left(self, account: Account) -> int:
        if account.pin_locked:
            return 0
        return max(0, self.ctx.options.pin_attempts - account.failed_pins)

    def session(self, req: Request, m: Any) -> Response:
        token = req.bearer()
        with self.ctx.lock:
            tokens = self.ctx.tokens
            id_grant = tokens.ids.get(token or "")
            if id_grant is not None and self._is_myvw(id_grant.client_id):
                return error(401, "UNAUTHORIZED", "jtt must be 'access_token'", id_grant.account)
            if not self._is_myvw(tokens.access_client(token)):
                return self.carnet_session(req, m)
            account, refusal = self._user(req, m.group(1))
            if refusal:
                return refusal
            assert account is not None
            return self._open_session(req, account, m.group(2))

    def _is_myvw(self, client_id: str | None) -> bool:
        generation = self.ctx.generations.by_client(client_id)
        return generation is not None and generation.name == MYVW

    def _open_session(self, req: Request, account: Account, vehicle_id: str) -> Response:
        email = account.email
        who = caller(self.ctx, req)
        assert who is not None
        vehicle, refusal = vehicle_of(self.ctx, who, vehicle_id, vehicle_token=False)
        if refusal:
            return refusal
        assert vehicle is not None
        try:
            body = req.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return error(400, "INVALID_REQUEST", "body must be a JSON object", email)
        missing = [k for k in ("idToken", "spinHash", "tsp") if not isinstance(body.get(k), str)
                   or not body[k]]
        if missing:
            return error(400, "INVALID_REQUEST", f"missing {', '.join(missing)}", email)
        if body["tsp"] not in TSPS:
            return error(400, "INVALID_REQUEST", f"tsp must be one of {list(TSPS)}", email)
        if self.ctx.tokens.id_account(body["idToken"]) != email:
            return error(401, "INVALID_ID_TOKEN", "idToken is invalid, expired or not this "
                         "user's", email)
        refusal = self._check_spin(account, body["spinHash"])
        if refusal:
            return refusal
        return self._vehicle_token(account, vehicle.vin, body["tsp"])

    def _check_spin(self, account: Account, spin_hash_sent: str) -> Response | None:
        """None when the hash answers a live challenge with the right S-PIN (spending
        it); else the refusal, counting a wrong S-PIN."""
        email = account.email
        if account.pin_locked:
            return error(403, "SPIN_LOCKED", "too many wrong S-PINs: the S-PIN is locked",
                         email, remainingTries=0)
        sent = spin_hash_sent.lower().encode("utf-8", "replace")
        for challenge in self.store.live_challenges(email):
            if secrets.compare_digest(sent, spin_hash(challenge, account.pin).encode()):
                self.store.spend(challenge)
                account.failed_pins = 0
                return None
        if any(secrets.compare_digest(sent, spin_hash(c, account.pin).encode())
               for c in self.store.used_challenges(email)):
            return error(404, "SPIN_CHALLENGE_NOT_FOUND", "the challenge was already used",
                         email)
        live = self.store.live_challenges(email)
        if not live:
            return error(404, "SPIN_CHALLENGE_NOT_FOUND", "no challenge to answer", email)
        self.store.spend(live[-1])  # a wrong answer spends the latest challenge
        return self._wrong_spin(account)

    def climate_control_check(self, req: Request, m: Any) -> Response:
        """The second challenge of a remote start: a roToken for ``/rst/v1``."""
        with self.ctx.lock:
            who = caller(self.ctx, req)
            if who is None:
                return unauthorized()
            email = who.account.email
            if m.group(1) != who.account.user_id:
                return not_authorized(email, "userId is not this token's user")
            vehicle, refusal = vehicle_of(self.ctx, who, m.group(2), vehicle_token=True)
            if refusal:
                return refusal
            assert vehicle is not None
            try:
                body = req.json()
            except ValueError:
                body = None
            if not isinstance(body, dict) or not isinstance(body.get("spinHash"), str):
                return error(400, "INVALID_REQUEST", "spinHash is required", email)
            if vehicle.ev:
                return not_authorized(email, "remote start is for combustion cars")
            refusal = self._check_spin(who.account, body["spinHash"])
            if refusal:
                return refusal
            token = self.store.new_ro_token(email, vehicle.vin, real_now() + RO_TOKEN_TTL)
            return json_response(200, {"data": {"roToken": token}}, account=email)

    def _wrong_spin(self, account: Account) -> Response:
        account.failed_pins += 1
        left = self._tries_left(account)
        if left == 0:
            account.pin_locked = True
            self.ctx.tokens.revoke_tsp_of(account.email)
            self.ctx.tokens.revoke_vehicle_tokens_of(account.email)
            _LOG.warning("S-PIN locked for %s after wrong answers", account.email)
        return error(403, "INVALID_SPIN", "the S-PIN is wrong", account.email,
                     remainingTries=left)

    def _vehicle_token(self, account: Account, vin: str, tsp: str) -> Response:
        vehicle = self.ctx.registry.by_vin[vin]
        token = self.ctx.tokens.new_vehicle_token(account.email, vin, {
            "sub": account.user_id, "vehicleId": vehicle.vehicle_id, "tsp": tsp})
        return json_response(200, {"data": {
            "carnetVehicleToken": token,
            "rolesAndRights": {
                "vehicleId": vehicle.vehicle_id, "userId": account.user_id,
                "privileges": shapes.privilege_ids(vehicle, self.canada),
                "roles": ["PRIMARY"], "services": shapes.services(vehicle, self.canada),
                "tsp": tsp}}}, account=account.email)
