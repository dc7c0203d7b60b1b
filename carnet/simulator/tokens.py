"""Authorization codes, OAuth tokens and TSP (command) tokens.

Tokens are opaque random strings (the real ones look like JWTs, but no client may look
inside). Lifetimes are on the real monotonic clock. Every store maps a token to what it
grants; a token absent from its store, or past its expiry, is refused with 401.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

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

    def new_tokens(self, account: str, client_id: str, verifier: str) -> dict[str, object]:
        self._purge()
        now = real_now()
        access, id_token, refresh = _opaque(), _opaque(), _opaque()
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

    def peek_refresh(self, token: str) -> Grant | None:
        grant = self.refresh.get(token)
        return grant if grant is not None and grant.expires > real_now() else None

    def revoke_refresh(self, token: str) -> None:
        self.refresh.pop(token, None)

    def access_account(self, token: str | None) -> str | None:
        return self._live(self.access, token)

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

    # ---- housekeeping -----------------------------------------------------------------

    def expire_all(self) -> None:
        """Every access, id, refresh and TSP token becomes invalid (codes too)."""
        for store in (self.codes, self.access, self.ids, self.refresh, self.tsp):
            store.clear()

    def _purge(self) -> None:
        """Drop expired entries now and then, so long runs do not grow without bound."""
        now = real_now()
        for store in (self.codes, self.access, self.ids, self.refresh, self.tsp):
            if len(store) > 256:
                for token in [t for t, g in store.items() if g.expires <= now]:
                    del store[token]
