"""One account's myVW session: its tokens (stored, refreshed or from a login), its user
id, and its vehicle tokens (the S-PIN session, :mod:`.spin`).

Tokens survive restarts in ``state_dir``: a restart refreshes, it does not log in again.
Token acquisition is serialised by a lock, since the poller and the command worker
share one session. A thread that waited for a login that was refused gets that refusal
instead of logging in once more, so the runtime's login back-off alone paces logins.
"""

from __future__ import annotations

import logging
import threading
import time

import requests

from carnet.config import AccountConfig, VendorConfig, mask_email
from carnet.core import redact
from carnet.core.errors import AuthError, LoginChanged
from carnet.vendor.http import Http
from carnet.vendor.myvw_app import login_refusals
from carnet.vendor.myvw_app.login import MyvwLogin
from carnet.vendor.myvw_app.spin import SpinSessions
from carnet.vendor.myvw_app.token_claims import subject
from carnet.vendor.protocol import RequestRecorder
from carnet.vendor.tokens import TokenSet, TokenStore

_LOG = logging.getLogger(__name__)

TOKEN_MARGIN = 60.0  # refresh this long before the access token expires


class MyvwSession:
    """The tokens and vehicle tokens of one account. Thread-safe."""

    def __init__(self, vendor: VendorConfig, account: AccountConfig, store: TokenStore,
                 recorder: RequestRecorder | None = None) -> None:
        redact.protect()
        redact.register_secret(account.password, permanent=True)
        redact.register_secret(account.pin, permanent=True)
        self._vendor = vendor  # resolved: every key set
        self._account = account
        self._store = store
        helper = bool(vendor.token_helper)
        self._http = Http(
            "myVW",
            vendor.timeout,
            lambda response, step: login_refusals.error_for_response(
                response, step, vendor.client_id or "", helper),
            None if recorder is None else lambda url: recorder.record(
                login_refusals.request_class(url, vendor.identity_base or "")),
        )
        self._login = MyvwLogin(vendor, account, self._http)
        self._lock = threading.RLock()
        self._rejected: str | None = None  # an access token the API refused
        self._refusal: AuthError | None = None
        self._refused_at = 0.0
        self._user_id: str | None = None
        self._tokens = store.load(account.email, vendor.client_id or "", vendor.api_base or "")
        if self._tokens is not None:
            for secret in (self._tokens.access_token, self._tokens.id_token,
                           self._tokens.refresh_token, self._tokens.code_verifier):
                redact.register_secret(secret)
            _LOG.debug("Using stored myVW tokens for %s", mask_email(account.email))
        self._session = requests.Session()
        self._spin = SpinSessions(vendor, account, self._http, self._session,
                                  self._current, lambda: self.user_id, self.access_rejected)

    def __repr__(self) -> str:
        return f"MyvwSession(account={mask_email(self._account.email)!r})"

    def access_token(self) -> str:
        """A valid access token. Raises AuthError / LoginChanged."""
        return self._current().access_token

    def access_rejected(self, token: str) -> None:
        """An API answered 401 to ``token``: the next :meth:`access_token` renews it."""
        with self._lock:
            if self._tokens is not None and self._tokens.access_token == token:
                self._rejected = token

    @property
    def user_id(self) -> str:
        """The account's user id: the sign-in's, else the tokens' ``sub``."""
        with self._lock:
            if self._user_id:
                return self._user_id
            tokens = self._tokens
        found = subject(tokens.id_token, tokens.access_token) if tokens else None
        if found is None:
            raise LoginChanged("The myVW tokens name no user id (no sub claim) and the "
                               "sign-in gave none; " + login_refusals.CHANGED_HINT,
                               step="token")
        return found

    @property
    def commands_enabled(self) -> bool:
        """False without a PIN, or once the S-PIN was refused or too few tries are left."""
        return self._spin.commands_enabled

    @property
    def commands_refusal(self) -> str | None:
        """Why commands are disabled, or None."""
        return self._spin.refusal

    def vehicle_token(self, vehicle_id: str, tsp: str) -> str:
        """The vehicle's carnetVehicleToken (reused until shortly before it expires).
        Raises PinRefused, after which commands stay disabled."""
        return self._spin.vehicle_token(vehicle_id, tsp)

    def vehicle_token_rejected(self, vehicle_id: str) -> None:
        self._spin.forget(vehicle_id)

    def close(self) -> None:
        self._session.close()

    # Token acquisition (lock held) -----------------------------------------

    def _current(self) -> TokenSet:
        with self._lock:
            tokens = self._tokens
            if tokens is None:
                return self._full_login()
            if self._rejected == tokens.access_token or tokens.expires_within(TOKEN_MARGIN):
                return self._refresh_or_login(tokens)
            return tokens

    def _refresh_or_login(self, tokens: TokenSet) -> TokenSet:
        self._raise_recent_refusal()
        if not tokens.refresh_expired():
            try:
                fresh = self._login.refresh(tokens)
            except LoginChanged as exc:
                # An attestation or client refusal meets a new login just the same.
                self._refused(exc)
                raise
            except AuthError as exc:
                _LOG.info("myVW token refresh refused (%s); logging in again", exc)
            else:
                _LOG.debug("myVW tokens refreshed")
                return self._keep(fresh)
        return self._full_login()

    def _full_login(self) -> TokenSet:
        self._raise_recent_refusal()
        try:
            signed_in = self._login.login()
        except AuthError as exc:
            self._refused(exc)
            raise
        self._refusal = None
        self._user_id = signed_in.user_id
        return self._keep(signed_in.tokens)

    def _refused(self, exc: AuthError) -> None:
        self._refusal, self._refused_at = exc, time.monotonic()

    def _raise_recent_refusal(self) -> None:
        # Half the shortest back-off step: long enough for the requests that waited for
        # the login, never so long that the next scheduled attempt meets the old refusal.
        refusal = self._refusal
        if refusal is not None and time.monotonic() - self._refused_at < \
                self._vendor.login_retry / 2:
            raise refusal

    def _keep(self, tokens: TokenSet) -> TokenSet:
        self._tokens, self._rejected = tokens, None
        try:
            self._store.save(self._account.email, self._vendor.client_id or "",
                             self._vendor.api_base or "", tokens)
        except OSError as exc:
            _LOG.warning("Cannot save the myVW tokens in %s (%s); they will not survive a "
                         "restart", self._store.directory, exc.strerror or type(exc).__name__)
        return tokens
