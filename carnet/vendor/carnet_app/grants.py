"""Car-Net's token grants: the authorization code and the refresh token, with the
fields a ``carnet.token_helper`` adds, and the token set made from the answer.

HTTP status codes become errors in the client only: requests go through a
:class:`Sender` the client supplies.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

import requests

from carnet.config import AccountConfig, VendorConfig
from carnet.core import redact
from carnet.core.errors import AuthError, CarNetError, LoginChanged, VendorUnavailable
from carnet.vendor.token_helper import run_token_helper
from carnet.vendor.tokens import TokenSet, sendable

_LOG = logging.getLogger(__name__)

CHANGED_HINT = (
    "the vendor may have changed its login; check the carnet.* settings "
    "(api_base, identity_base, client_id, redirect_uri) and, if the token endpoint now "
    "requires an extra field, supply it with the carnet.token_helper setting"
)


class Sender(Protocol):
    """Sends one HTTP request and turns transport errors and error statuses into
    :mod:`carnet.core.errors` exceptions. ``step`` names the login step for messages;
    with ``check=False`` only transport errors raise (the caller reads the status).
    """

    def __call__(
        self,
        session: requests.Session,
        method: str,
        url: str,
        *,
        step: str,
        check: bool = True,
        **kwargs: Any,
    ) -> requests.Response: ...



class TokenGrants:
    """The token endpoint of one account's logins and refreshes."""

    def __init__(self, vendor: VendorConfig, account: AccountConfig, send: Sender) -> None:
        self._vendor = vendor
        self._account = account
        self._send = send

    @property
    def token_url(self) -> str:
        return self._vendor.api_base.rstrip("/") + "/oidc/v1/token"

    def authorization_code(
        self, session: requests.Session, code: str, verifier: str
    ) -> TokenSet:
        """Login step 4: the code from the redirect and the PKCE verifier, for tokens."""
        return self._grant(
            session,
            {
                "grant_type": "authorization_code",
                "code": code,
                "client_id": self._vendor.client_id,
                "redirect_uri": self._vendor.redirect_uri,
                "code_verifier": verifier,
            },
            verifier,
            step="token",
            previous=None,
        )


    def refresh(self, tokens: TokenSet) -> TokenSet:
        """Exchange the refresh token (replaying the stored verifier) for new tokens."""
        _LOG.debug("Refreshing Car-Net tokens")
        with requests.Session() as session:
            session.headers["User-Agent"] = self._vendor.user_agent
            return self._grant(
                session,
                {
                    "code_verifier": tokens.code_verifier,
                    "grant_type": "refresh_token",
                    "client_id": self._vendor.client_id,
                    "refresh_token": tokens.refresh_token,
                },
                tokens.code_verifier,
                step="refresh",
                previous=tokens,
            )

    def _grant(
        self,
        session: requests.Session,
        form: dict[str, str],
        verifier: str,
        *,
        step: str,
        previous: TokenSet | None,
    ) -> TokenSet:
        if self._vendor.token_helper:
            extra = run_token_helper(
                self._vendor.token_helper,
                self._vendor.timeout,
                step,
                (self._account.password, self._account.pin, *redact.permanent_secrets()),
            )
            form = {**extra, **form}
        headers = {
            "Accept": "*/*",
            "Accept-Language": "en-us",
            "User-Agent": self._vendor.user_agent,
        }
        response = self._send(
            session, "POST", self.token_url, step=step, data=form, headers=headers
        )
        try:
            body = response.json()
        except ValueError:
            raise VendorUnavailable(
                f"Login step {'4 (token)' if step == 'token' else '(refresh)'}: the token "
                "endpoint answered with something that is not JSON"
            ) from None
        return _token_set(body, verifier, previous, step)


def _token_set(body: Any, verifier: str, previous: TokenSet | None, step: str) -> TokenSet:
    if not isinstance(body, dict):
        raise CarNetError(f"The token endpoint answered with an unexpected document ({step})")
    access = body.get("access_token")
    id_token = body.get("id_token") or (previous.id_token if previous else None)
    refresh = body.get("refresh_token") or (previous.refresh_token if previous else None)
    if not isinstance(access, str) or not isinstance(id_token, str) or not isinstance(
        refresh, str
    ):
        raise LoginChanged(
            f"The token endpoint answered without the expected tokens ({step}); {CHANGED_HINT}",
            step=step,
        )
    unsendable = [name for name, token in (("access token", access), ("id token", id_token),
                                            ("refresh token", refresh)) if not sendable(token)]
    if unsendable:
        # Kept, it would fail every request as if the vendor were down; discarded, the
        # next login (within the back-off) gets a usable one.
        raise AuthError(
            f"The token endpoint answered with a token that cannot be sent in an HTTP "
            f"header (the {unsendable[0]} holds a line break or another control character; "
            f"{step}); it is discarded and the bridge logs in again",
            step=step,
        )
    for secret in (access, id_token, refresh):
        redact.register_secret(secret)
    now = time.time()
    expires_in = _number(body.get("expires_in"), 1800.0)
    id_expires_in = _number(body.get("id_expires_in"), expires_in)
    refresh_in = body.get("refresh_expires_in")
    return TokenSet(
        access_token=access,
        id_token=id_token,
        refresh_token=refresh,
        # The id token goes into enrollment and session requests: expire with the
        # shorter of the two.
        expires_at=now + min(expires_in, id_expires_in),
        code_verifier=verifier,
        refresh_expires_at=now + _number(refresh_in, 0.0) if refresh_in is not None else None,
        obtained_at=now,
    )


def _number(value: Any, default: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if number > 0 else default
