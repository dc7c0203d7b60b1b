"""myVW's token grants: the authorization code and the refresh token, with the fields a
``carnet.token_helper`` adds (the Play Integrity attestation), and the token set made from
the answer.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import requests

from carnet.config import AccountConfig, VendorConfig
from carnet.core import redact
from carnet.core.errors import AuthError, LoginChanged, VendorUnavailable
from carnet.vendor.http import Http
from carnet.vendor.myvw_app.login_refusals import CHANGED_HINT, step_name
from carnet.vendor.token_helper import run_token_helper
from carnet.vendor.tokens import TokenSet, sendable

_LOG = logging.getLogger(__name__)

DEFAULT_LIFETIME = 1800.0  # seconds, when the answer gives none


class TokenGrants:
    """The token endpoint of one account's logins and refreshes."""

    def __init__(self, vendor: VendorConfig, account: AccountConfig, http: Http) -> None:
        self._vendor = vendor
        self._account = account
        self._http = http

    @property
    def token_url(self) -> str:
        return self._vendor.api_base.rstrip("/") + "/oidc/v1/token"

    def authorization_code(self, session: requests.Session, code: str,
                           verifier: str) -> TokenSet:
        """Login step 4: the code from the redirect and the PKCE verifier, for tokens."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": self._vendor.client_id,
            "redirect_uri": self._vendor.redirect_uri,
            "code_verifier": verifier,
        }
        return self._grant(session, form, verifier, "token", None)

    def refresh(self, tokens: TokenSet) -> TokenSet:
        """New tokens for the refresh token; the vendor wants the login's verifier again."""
        _LOG.debug("Refreshing myVW tokens")
        form = {
            "grant_type": "refresh_token",
            "client_id": self._vendor.client_id,
            "refresh_token": tokens.refresh_token,
            "code_verifier": tokens.code_verifier,
        }
        with requests.Session() as session:
            return self._grant(session, form, tokens.code_verifier, "refresh", tokens)

    def _grant(self, session: requests.Session, form: dict[str, str], verifier: str,
               step: str, previous: TokenSet | None) -> TokenSet:
        if self._vendor.token_helper:
            extra = run_token_helper(
                self._vendor.token_helper,
                self._vendor.timeout,
                step,
                (self._account.password, self._account.pin, *redact.permanent_secrets()),
            )
            form = {**extra, **form}
        headers = {"Accept": "application/json", "User-Agent": self._vendor.user_agent}
        response = self._http(session, "POST", self.token_url, step=step, data=form,
                              headers=headers)
        try:
            body = response.json()
        except ValueError:
            raise VendorUnavailable(
                f"{step_name(step)}: the token endpoint answered with something that is "
                "not JSON"
            ) from None
        return token_set(body, verifier, previous, step)


def token_set(body: Any, verifier: str, previous: TokenSet | None, step: str) -> TokenSet:
    """The tokens of a grant's answer; a refresh that brings no new refresh token (or id
    token) keeps the old one, and its expiry."""
    if not isinstance(body, dict):
        body = {}
    access = body.get("access_token")
    id_token = body.get("id_token") or (previous.id_token if previous else None)
    new_refresh = body.get("refresh_token")
    refresh = new_refresh or (previous.refresh_token if previous else None)
    if not all(isinstance(t, str) for t in (access, id_token, refresh)):
        raise LoginChanged(f"{step_name(step)}: the token endpoint answered without the "
                           f"expected tokens; {CHANGED_HINT}", step=step)
    assert isinstance(access, str) and isinstance(id_token, str) and isinstance(refresh, str)
    if not all(sendable(t) for t in (access, id_token, refresh)):
        raise AuthError(f"{step_name(step)}: the token endpoint answered with a token that "
                        "cannot be sent in an HTTP header; it is discarded and the bridge "
                        "logs in again", step=step)
    for secret in (access, id_token, refresh):
        redact.register_secret(secret)
    now = time.time()
    expires_in = _seconds(body.get("expires_in"), DEFAULT_LIFETIME)
    id_expires_in = _seconds(body.get("id_expires_in"), expires_in)
    if new_refresh and body.get("refresh_expires_in") is not None:
        refresh_expires_at: float | None = now + _seconds(body["refresh_expires_in"], 0.0)
    else:
        refresh_expires_at = previous.refresh_expires_at if previous else None
    return TokenSet(
        access_token=access,
        id_token=id_token,
        refresh_token=refresh,
        # The id token goes into the S-PIN session request: expire with the shorter.
        expires_at=now + min(expires_in, id_expires_in),
        code_verifier=verifier,
        refresh_expires_at=refresh_expires_at,
        obtained_at=now,
    )


def _seconds(value: Any, default: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if number > 0 else default
