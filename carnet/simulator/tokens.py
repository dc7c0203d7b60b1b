"""Authorization codes, OAuth tokens, TSP (command) tokens and myVW vehicle tokens.

Car-Net app tokens are opaque random strings (the real ones look like JWTs, but no client
may look inside). The myVW generation's are JWTs whose claims clients do read: ``sub``
(the userId) in the access and id tokens, ``exp`` in the carnetVehicleToken; their
signature is random, since nobody can check it. Lifetimes are on the real monotonic
clock. Every store maps a token to what it grants; a token absent from its store, or
past its expiry, is refused with 401.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

from carnet.simulator.clock import real_now

_LOG = logging.getLogger(__name__)


@dataclass(slots=True)
class AuthCode:
    account: str  # e-mail
    client_id: str
    redirect_uri: str  # as the authorize request sent it; "" when it sent none
    challenge: str  # base64url(SHA-256(verifier)) without padding
    expires: float


@dataclass(slots=True)
class Grant:
    """What an access, id or refresh token stands for."""

    account: str
    expires: float
    client_id: str = ""
    verifier: str = ""  # refresh tokens only: the original code_verifier


@dataclass(slots=True)
class TspGrant:
    account: str
    vin: str
    expires: float


@dataclass(slots=True)
class VehicleGrant:
    """What a myVW carnetVehicleToken stands for."""

    account: str
    vin: str
    expires: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def jwt(claims: dict[str, Any]) -> str:
    """A JWT-shaped token with these claims and a random signature."""
    header = {"alg": "RS256", "typ": "JWT", "kid": "sim"}
    return ".".join((_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode()),
                     _b64(secrets.token_bytes(64))))


def _opaque() -> str:
    # the "eyJ" prefix keeps logs and tokens looking like the real service's JWTs
    return "eyJ" + secrets.token_urlsafe(96)


class TokenStore:
    """All live credentials. Callers hold the simulator's lock."""

    def __init__(self, token_ttl: float, refresh_ttl: float, tsp_ttl: float,
                 code_ttl: float) -> None:
        self.token_ttl = token_ttl
        self.refresh_ttl = refresh_ttl
        self.tsp_ttl = tsp_ttl
        self.code_ttl = code_ttl
        self.codes: dict[str, AuthCode] = {}
        self.access: dict[str, Grant] = {}
        self.ids: dict[str, Grant] = {}
        self.refresh: dict[str, Grant] = {}
        self.tsp: dict[str, TspGrant] = {}
        self.vehicle: dict[str, VehicleGrant] = {}
        self.vehicle_ttl = 1800.0

    # ---- codes ------------------------------------------------------------------------

    def new_code(self, account: str, client_id: str, redirect_uri: str,
                   challenge: str) -> str:
        self._purge()
        code = secrets.token_hex(48)  # 96 lower-case hex characters, like the real ones
        self.codes[code] = AuthCode(account, client_id, redirect_uri, challenge,
                                    real_now() + self.code_ttl)
        return code

    def take_code(self, code: str) -> AuthCode | None:
        """The code's grant, once: a code is single-use even when the exchange fails."""
        grant = self.codes.pop(code, None)
        if grant is None or grant.expires <= real_now():
            return None
        return grant

    # ---- OAuth tokens -----------------------------------------------------------------

    def new_tokens(self, account: str, client_id: str, verifier: str,
                   subject: str | None = None) -> dict[str, object]:
        """Access, id and refresh token; JWTs carrying ``sub`` when ``subject`` is given
        (the myVW generation), opaque otherwise."""
        self._purge()
        now = real_now()
        if subject is None:
            access, id_token, refresh = _opaque(), _opaque(), _opaque()
        else:
            access, id_token, refresh = (self._claims_token(subject, client_id, kind)
                                         for kind in ("access_token", "id_token",
                                                      "refresh_token"))
        self.access[access] = Grant(account, now + self.token_ttl, client_id)
        self.ids[id_token] = Grant(account, now + self.token_ttl, client_id)
        self.refresh[refresh] = Grant(account, now + self.refresh_ttl, client_id, verifier)
        return {
            "access_token": access,
            "expires_in": int(self.token_ttl),
            "id_token": id_token,
            "id_expires_in": int(self.token_ttl),
            "token_type": "Bearer",
            "refresh_token": refresh,
            "refresh_expires_in": int(self.refresh_ttl),
        }

    def _claims_token(self, subject: str, client_id: str, kind: str) -> str:
        issued = int(time.time())
        ttl = self.refresh_ttl if kind == "refresh_token" else self.token_ttl
        return jwt({"sub": subject, "aud": client_id, "jtt": kind, "iat": issued,
                    "exp": issued + int(ttl), "jti": secrets.token_hex(16)})

    def peek_refresh(self, token: str) -> Grant | None:
        grant = self.refresh.get(token)
        return grant if grant is not None and grant.expires > real_now() else None

    def revoke_refresh(self, token: str) -> None:
        self.refresh.pop(token, None)

    def access_account(self, token: str | None) -> str | None:
        return self._live(self.access, token)

    def access_client(self, token: str | None) -> str | None:
        """The client id an access token was issued to."""
        grant = self.access.get(token or "")
        return grant.client_id if grant is not None else None

    def id_account(self, token: str | None) -> str | None:
        return self._live(self.ids, token)

    @staticmethod
    def _live(store: dict[str, Grant], token: str | None) -> str | None:
        if not token:
            return None
        grant = store.get(token)
        if grant is None:
            return None
        if grant.expires <= real_now():
            del store[token]
            return None
        return grant.account

    # ---- TSP tokens -------------------------------------------------------------------

    def new_tsp(self, account: str, vin: str) -> str:
        self._purge()
        token = secrets.token_hex(160)  # long hex, like the real ones
        self.tsp[token] = TspGrant(account, vin, real_now() + self.tsp_ttl)
        return token

    def tsp_grant(self, token: str) -> TspGrant | None:
        grant = self.tsp.get(token)
        if grant is None:
            return None
        if grant.expires <= real_now():
            del self.tsp[token]
            return None
        return grant

    def revoke_tsp_of(self, account: str) -> None:
        for token in [t for t, g in self.tsp.items() if g.account == account]:
            del self.tsp[token]

    # ---- myVW vehicle tokens ------------------------------------------------------------

    def new_vehicle_token(self, account: str, vin: str, claims: dict[str, Any]) -> str:
        self._purge()
        issued = int(time.time())
        token = jwt({**claims, "jtt": "carnet_vehicle_token", "iat": issued,
                     "exp": issued + int(self.vehicle_ttl), "jti": secrets.token_hex(16)})
        self.vehicle[token] = VehicleGrant(account, vin, real_now() + self.vehicle_ttl)
        return token

    def vehicle_grant(self, token: str | None) -> VehicleGrant | None:
        grant = self.vehicle.get(token or "")
        if grant is None:
            return None
        if grant.expires <= real_now():
            del self.vehicle[token or ""]
            return None
        return grant

    def revoke_vehicle_tokens_of(self, account: str) -> None:
        for token in [t for t, g in self.vehicle.items() if g.account == account]:
            del self.vehicle[token]

    # ---- housekeeping -----------------------------------------------------------------

    def expire_all(self) -> None:
        """Every access, id, refresh, TSP and vehicle token becomes invalid (codes too)."""
        for store in (self.codes, self.access, self.ids, self.refresh, self.tsp,
                      self.vehicle):
            store.clear()

    def _purge(self) -> None:
        """Drop expired entries now and then, so long runs do not grow without bound."""
        now = real_now()
        for store in (self.codes, self.access, self.ids, self.refresh, self.tsp,
                      self.vehicle):
            if len(store) > 256:
                for token in [t for t, g in store.items() if g.expires <= now]:
                    del store[token]
