"""One account's OAuth tokens: stored, refreshed before they expire, or from a login.

Token acquisition is serialised by a lock, since a poller thread and an executor thread
share one client. A login is never run twice for one need: a thread that waited for a
login that was refused gets that refusal.
"""

from __future__ import annotations

import logging
import threading
import time

from carnet.config import AccountConfig, VendorConfig, mask_email
from carnet.core import redact
from carnet.core.errors import AuthError
from carnet.vendor.carnet_app.login import Authenticator
from carnet.vendor.tokens import TokenSet, TokenStore

_LOG = logging.getLogger(__name__)

TOKEN_MARGIN = 60.0  # refresh this long before the access token expires


def bearer(tokens: TokenSet) -> dict[str, str]:
    """The headers of a request with the access token."""
    return {"Authorization": f"Bearer {tokens.access_token}", "Accept": "application/json"}


class AccountTokens:
    """The tokens of one account. Thread-safe."""

    def __init__(self, vendor: VendorConfig, account: AccountConfig, store: TokenStore,
                 auth: Authenticator) -> None:
        self._vendor = vendor
        self._account = account
        self._store = store
        self._auth = auth
        self._token_lock = threading.RLock()
        # The last login's refusal and when it came: for a moment, whoever else needs
        # tokens gets this outcome instead of logging in again.
        self._refusal: AuthError | None = None
        self._refused_at = 0.0
        self.stored: TokenSet | None = store.load(account.email, vendor.client_id,
                                                  vendor.api_base)
        if self.stored is not None:
            for secret in (self.stored.access_token, self.stored.id_token,
                           self.stored.refresh_token, self.stored.code_verifier):
                redact.register_secret(secret)
            _LOG.debug("Using stored tokens for %s", mask_email(account.email))

    def current(self) -> TokenSet:
        """Valid tokens: stored, refreshed before expiry, or from a full login."""
        with self._token_lock:
            tokens = self.stored
            if tokens is None:
                return self._login()
            if tokens.expires_within(TOKEN_MARGIN):
                return self._refresh_or_login(tokens)
            return tokens

    def renew(self, rejected: TokenSet, *, login: bool = False) -> TokenSet:
        """After the API refused ``rejected``: renew (with ``login``, by a full login, not
        a refresh), unless another thread already did."""
        with self._token_lock:
            current = self.stored
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
        self.stored = tokens
        try:
            self._store.save(self._account.email, self._vendor.client_id,
                             self._vendor.api_base, tokens)
        except OSError as exc:
            _LOG.warning("Cannot save tokens in %s (%s); they will not survive a restart",
                         self._store.directory, exc.strerror or type(exc).__name__)
