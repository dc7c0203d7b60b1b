"""The S-PIN session: a challenge, the S-PIN's hash, and the carnetVehicleToken it opens.

The S-PIN never travels: ``spinHash = hex(SHA-512(challenge + "." + spin))``. Each vehicle's
token is reused until two minutes before its JWT ``exp``. Wrong S-PINs lock the account,
so after one refusal nothing is sent again, and below :data:`MIN_TRIES` remaining tries
the hash is not sent at all.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable

import requests

from carnet.config import AccountConfig, VendorConfig
from carnet.core import redact
from carnet.core.errors import CommandRefused, PinRefused, VendorUnavailable
from carnet.vendor.http import Http
from carnet.vendor.myvw_app import defaults
from carnet.vendor.myvw_app.login_refusals import BearerRefused
from carnet.vendor.myvw_app.token_claims import expiry
from carnet.vendor.tokens import TokenSet

_LOG = logging.getLogger(__name__)

MIN_TRIES = 3  # below this many remaining tries the S-PIN is not risked
REUSE_MARGIN = 120.0  # seconds before its exp a vehicle token is replaced
FALLBACK_LIFETIME = 900.0  # seconds, for a vehicle token without an exp claim


def spin_hash(challenge: str, spin: str) -> str:
    """hex(SHA-512(challenge + "." + spin)), lower case like the app."""
    return hashlib.sha512(f"{challenge}.{spin}".encode()).hexdigest()


class SpinSessions:
    """The vehicle tokens of one account. Thread-safe."""

    def __init__(self, vendor: VendorConfig, account: AccountConfig, http: Http,
                 session: requests.Session, tokens: Callable[[], TokenSet],
                 user_id: Callable[[], str], rejected: Callable[[str], None]) -> None:
        self._vendor = vendor
        self._account = account
        self._http = http
        self._session = session
        self._tokens = tokens  # valid account tokens
        self._user_id = user_id
        self._rejected = rejected  # told of an access token the API refused
        self._lock = threading.Lock()
        self._vehicle_tokens: dict[str, tuple[str, float]] = {}  # vehicle id: (token, until)
        self._refusal: str | None = None if account.pin else (
            "no S-PIN configured: commands need accounts[].pin")

    @property
    def commands_enabled(self) -> bool:
        return self._refusal is None

    @property
    def refusal(self) -> str | None:
        """Why commands are disabled (None: they are not)."""
        return self._refusal

    def forget(self, vehicle_id: str) -> None:
        with self._lock:
            self._vehicle_tokens.pop(vehicle_id, None)

    def vehicle_token(self, vehicle_id: str, tsp: str) -> str:
        with self._lock:
            cached = self._vehicle_tokens.get(vehicle_id)
            if cached is not None and time.time() < cached[1]:
                return cached[0]
            if self._refusal is not None:
                raise PinRefused(f"commands are disabled: {self._refusal}")
            try:
                return self._open(vehicle_id, tsp, renewed=False)
            except PinRefused as exc:
                self._disable(str(exc))
                raise

    def _open(self, vehicle_id: str, tsp: str, renewed: bool) -> str:
        tokens = self._tokens()
        try:
            challenge = self._challenge(tokens)
            token = self._session_request(vehicle_id, tsp, tokens, challenge)
        except BearerRefused:
            if renewed:
                raise
            _LOG.info("myVW refused the access token for the S-PIN session; renewing it")
            self._rejected(tokens.access_token)
            return self._open(vehicle_id, tsp, renewed=True)
        until = (expiry(token) or time.time() + FALLBACK_LIFETIME) - REUSE_MARGIN
        self._vehicle_tokens[vehicle_id] = (token, until)
        _LOG.debug("Obtained a vehicle token for vehicle %s", vehicle_id)
        return token

    def _base(self) -> str:
        return self._vendor.api_base.rstrip("/") + f"/ss/v1/user/{self._user_id()}"

    def _challenge(self, tokens: TokenSet) -> str:
        response = self._http(self._session, "GET", self._base() + "/challenge",
                              step="challenge",
                              headers=defaults.api_headers(self._vendor, tokens.access_token))
        data = _data(response, "S-PIN challenge")
        challenge, tries = data.get("challenge"), data.get("remainingTries")
        if not isinstance(challenge, str) or not challenge:
            raise VendorUnavailable("The myVW S-PIN challenge answer carries no challenge")
        if not isinstance(tries, int) or isinstance(tries, bool) or tries < MIN_TRIES:
            left = tries if isinstance(tries, int) else "an unknown number of"
            raise PinRefused(
                f"myVW allows only {left} more S-PIN tries; the S-PIN was not sent, and "
                "commands are disabled so the account is not locked (enter the S-PIN once "
                "in the myVW app to reset the count, then restart)")
        return challenge

    def _session_request(self, vehicle_id: str, tsp: str, tokens: TokenSet,
                         challenge: str) -> str:
        assert self._account.pin is not None
        hashed = spin_hash(challenge, self._account.pin)
        redact.register_secret(hashed)
        body = {"idToken": tokens.id_token, "spinHash": hashed, "tsp": tsp}
        headers = {**defaults.api_headers(self._vendor, tokens.access_token),
                   "Content-Type": "application/json"}
        try:
            response = self._http(self._session, "POST",
                                  f"{self._base()}/vehicle/{vehicle_id}/session",
                                  step="spin_session", data=json.dumps(body),
                                  headers=headers)
        except CommandRefused as exc:
            raise CommandRefused(f"myVW refused the S-PIN session for vehicle {vehicle_id} "
                                 f"(HTTP {exc.status}); its commands fail, the S-PIN is "
                                 "fine", exc.status, exc.detail) from None
        token = _data(response, "S-PIN session").get("carnetVehicleToken")
        if not isinstance(token, str) or not token:
            raise VendorUnavailable("The myVW S-PIN session answer carries no "
                                    "carnetVehicleToken")
        redact.register_secret(token)
        return token

    def _disable(self, reason: str) -> None:
        if self._refusal is None:
            _LOG.error("myVW commands are disabled for this account (reading continues): %s",
                       reason)
        self._refusal = reason


def _data(response: requests.Response, what: str) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        body = None
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise VendorUnavailable(f"The myVW {what} answer is not the expected JSON object")
    return data
