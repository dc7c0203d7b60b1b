"""Car-Net's TSP requests (every ``/mps/`` endpoint) and the session that allows them.

The vendor rate-limits them per account: they go one at a time, at least
``min_interval`` apart and at most ``max_per_minute`` in any minute, and after a 429
none is sent until ``Retry-After`` has passed. A command is never retried blindly; only
a refused token (401: nothing was executed) leads to one more attempt with a new TSP
session. A 401 or 403 that stays is that request's :class:`CommandRefused`, never a
login problem. The TSP session request carries the PIN: after one refusal it is never
sent again, because repeated wrong PINs lock the account.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from carnet.config import AccountConfig
from carnet.core import redact
from carnet.core.errors import CommandRefused, PinRefused, RateLimited, VendorUnavailable
from carnet.vendor.carnet_app.account_tokens import AccountTokens, bearer
from carnet.vendor.carnet_app.answers import data_object, json_body
from carnet.vendor.carnet_app.errors import TokenRejected
from carnet.vendor.carnet_app.vehicles import ids
from carnet.vendor.http import Http
from carnet.vendor.pacing import RequestBudget
from carnet.vendor.protocol import Vehicle
from carnet.vendor.tokens import TokenSet

_LOG = logging.getLogger(__name__)


class TspChannel:
    """The TSP requests of one account, paced by its budget. Thread-safe."""

    TOKEN_TTL = 45 * 60.0  # the vendor gives no expiry; about 45 minutes in practice
    RATE_LIMIT_DEFAULT = 60.0  # pause after a 429 without Retry-After

    def __init__(
        self,
        base: str,
        account: AccountConfig,
        http: Http,
        session: requests.Session,
        tokens: AccountTokens,
        profile: Callable[[], tuple[str, str]],
        app_uuid: str,
        min_interval: float,
        max_per_minute: int,
    ) -> None:
        self._base = base
        self._account = account
        self._http = http
        self._session = session
        self._tokens = tokens
        self._profile = profile  # (userId, vwId), from the enrollment
        self._app_uuid = app_uuid
        self._lock = threading.Lock()
        self.session_tokens: dict[str, tuple[str, float]] = {}  # vehicle id: (token, when)
        # Its own lock: the executor asks for the next free slot without the TSP lock.
        self._budget = RequestBudget("Car-Net", min_interval, max_per_minute)
        self._commands_enabled = bool(account.pin)

    @property
    def commands_enabled(self) -> bool:
        """False without a PIN, or after the PIN was refused."""
        return self._commands_enabled

    def _require_commands(self) -> None:
        if not self._account.pin:
            raise PinRefused("no PIN configured: commands need accounts[].pin")
        if not self._commands_enabled:
            raise PinRefused("commands are disabled: Car-Net refused the PIN earlier "
                             "(check accounts[].pin and restart)")

    def request_wait(self) -> float:
        """Seconds until a TSP request may go out (0: now), without taking the slot."""
        return self._budget.request_wait()

    def spare_requests(self) -> int:
        """How many more TSP requests the last 60 s allow."""
        return self._budget.spare_requests()

    def _disable_commands(self) -> None:
        if not self._commands_enabled:
            return
        self._commands_enabled = False
        _LOG.error("Car-Net refused the PIN: commands are disabled for this account "
                   "(reading continues); check accounts[].pin and restart")

    def _session_token(self, vehicle: Vehicle, tokens: TokenSet, user_id: str,
                       renewed: bool) -> str:
        cached = self.session_tokens.get(ids(vehicle).vehicle_id)
        if cached is not None and time.monotonic() - cached[1] < self.TOKEN_TTL:
            return cached[0]
        if not self._commands_enabled:
            self._require_commands()
        url = f"{self._base}/ss/v1/user/{user_id}/vehicle/{ids(vehicle).vehicle_id}/session"
        body = {
            "accountNumber": ids(vehicle).tsp_account_num,
            "idToken": tokens.id_token,
            "tspPin": self._account.pin,
            "tsp": ids(vehicle).tsp,
        }
        headers = {**bearer(tokens), "Content-Type": "application/json;charset=UTF-8"}
        try:
            response = self._http(self._session, "POST", url, step="session",
                                  data=json.dumps(body), headers=headers)
        except TokenRejected as exc:
            if renewed:
                # Fresh tokens refused again: do not risk another PIN attempt.
                raise PinRefused(f"Car-Net refused the TSP session twice ({exc}); "
                                 "commands are disabled") from None
            raise
        data = data_object(response, "the TSP session request")
        token = data.get("tspToken")
        if not isinstance(token, str) or not token:
            raise VendorUnavailable("The TSP session answer carries no tspToken")
        redact.register_secret(token)
        self.session_tokens[ids(vehicle).vehicle_id] = (token, time.monotonic())
        _LOG.debug("Obtained a TSP token for vehicle %s", ids(vehicle).vehicle_id)
        return token

    def send(
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
        url = f"{self._base}/mps/v1/vehicles/{ids(vehicle).tsp_account_num}/{suffix}"
        with self._lock:
            self._budget.check_block()
            try:
                return self._send_locked(vehicle, method, url, what, body or {}, read)
            except PinRefused:
                self._disable_commands()
                raise
            except RateLimited as exc:
                pause = exc.retry_after
                if pause is None:
                    pause = self.RATE_LIMIT_DEFAULT
                self._budget.block(pause)
                raise

    def _send_locked(self, vehicle: Vehicle, method: str, url: str, what: str,
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
            self._budget.wait_turn()
            tokens = self._tokens.current()
            try:
                tsp_token = self._session_token(vehicle, tokens, user_id, session_renewed)
            except TokenRejected:
                session_renewed = True
                _LOG.info("Car-Net refused the token for the TSP session; renewing it")
                self._tokens.renew(tokens)
                continue
            except CommandRefused as exc:
                # Refused for this vehicle only (not the PIN): no token to keep for it.
                self.session_tokens.pop(ids(vehicle).vehicle_id, None)
                said = f": {exc.detail}" if exc.detail else ""
                raise CommandRefused(f"Car-Net refused the TSP session for {what} "
                                     f"(HTTP {exc.status}{said})", exc.status,
                                     exc.detail) from None
            payload = {"tsp_token": tsp_token, "email": self._account.email, "vw_id": vw_id,
                       **body}
            headers = {
                **bearer(tokens),
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
                self.session_tokens.pop(ids(vehicle).vehicle_id, None)
                _LOG.info("Car-Net refused %s (HTTP %d); trying once more with a new TSP "
                          "session", what, exc.status)
                continue
            return json_body(response, what)
