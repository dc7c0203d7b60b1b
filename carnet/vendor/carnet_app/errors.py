"""How the Car-Net app API's error answers become :mod:`carnet.core.errors` exceptions.

The only place its statuses and error bodies are read; callers decide from the type.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import requests

from carnet.core.errors import (
    AccessDenied,
    AuthError,
    BadRequest,
    CarNetError,
    CommandRefused,
    LoginChanged,
    PinRefused,
    RateLimited,
    VendorUnavailable,
    WakeupsUsedUp,
)
from carnet.vendor.carnet_app.grants import CHANGED_HINT
from carnet.vendor.http import parse_retry_after, vendor_message, vendor_words
from carnet.vendor.protocol import RequestClass


class TokenRejected(AuthError):
    """The API refused the Bearer (or TSP) token: worth one renewal and one retry."""


_LOGIN_STEPS = {
    "authorize": (
        "Login step 1 (authorize)",
        "check carnet.api_base, carnet.client_id and carnet.redirect_uri; " + CHANGED_HINT,
    ),
    "identifier": (
        "Login step 2 (e-mail)",
        "the e-mail address was not accepted (check accounts[].email)",
    ),
    "authenticate": (
        "Login step 3 (password)",
        "the password was refused (check accounts[].password)",
    ),
    "token": (
        "Login step 4 (token)",
        "the token endpoint refused the authorization code",
    ),
    "refresh": (
        "Token refresh",
        "the refresh token was refused (expired or revoked); a full login is needed",
    ),
}


def request_class(url: str, identity_base: str) -> RequestClass:
    """The class of the daily ledger a request to ``url`` counts in (the paths are the
    vendor's, so they are told apart here)."""
    if url.startswith(identity_base.rstrip("/")):
        return RequestClass.LOGIN
    path = urlsplit(url).path
    if path.startswith("/mps/"):
        return RequestClass.COMMAND
    if path.startswith(("/oidc/", "/ss/")):
        return RequestClass.LOGIN
    return RequestClass.READ


def error_for_response(response: requests.Response, step: str) -> CarNetError:
    """The exception for an error response. The only place statuses become errors.

    ``step`` is the login step (``authorize``, ``identifier``, ``authenticate``,
    ``token``, ``refresh``) or the kind of API request: ``api`` (Bearer read),
    ``tsp`` (``/mps/`` request) or ``session`` (TSP token request with the PIN).
    """
    status = response.status_code
    path = urlsplit(response.url or "").path or "?"
    detail = vendor_message(response)
    said = f" ({detail})" if detail else ""
    # Read from the unmasked words: masking may hide the very word ("wrong") that says so.
    pin_refused = says_pin_refused(vendor_words(response))
    if status == 429 and "WAKEUP" in (detail.upper() + response.text[:2000].upper()):
        # The car itself refuses more wake-ups (battery protection); the account's
        # budget is not spent, so other commands go on.
        return WakeupsUsedUp(
            f"the car refuses more wake-ups for now (HTTP 429 on {path}{said}); "
            "its 12 V battery is protected, the status is still read on schedule"
        )
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        when = f"; retry after {retry_after:g} s" if retry_after is not None else ""
        return RateLimited(f"Car-Net rate limit reached on {path} (HTTP 429){when}", retry_after)
    if status >= 500:
        return VendorUnavailable(f"Car-Net is unavailable: HTTP {status} on {path}{said}")
    if step in _LOGIN_STEPS:
        name, cause = _LOGIN_STEPS[step]
        if step in ("authorize", "token", "refresh") and "INVALID_CLIENT" in (
            detail.upper() + response.text[:2000].upper()
        ):
            # Not a changed login (the token helper cannot help) nor a wrong password:
            # the vendor retired the app this generation speaks for.
            return AuthError(
                f"{name} failed with HTTP {status}{said}: the vendor no longer accepts the "
                "Car-Net app's client id; the myVW app's API replaced it: set "
                "carnet.api: myvw (or accounts[].api: myvw for this account)",
                step=step,
            )
        if step in ("token", "refresh") and status == 401 and "INVALID_REQUEST" in (
            detail.upper() + response.text[:2000].upper()
        ):
            return LoginChanged(
                f"{name} failed: the token endpoint answered 401 INVALID_REQUEST although "
                "the credentials were accepted; this is not a wrong password: "
                f"{CHANGED_HINT} (for example a new required field such as "
                "play_integrity_token)",
                step=step,
            )
        if step == "authorize" and 400 <= status < 500:
            return LoginChanged(f"{name} failed with HTTP {status}{said}: {cause}", step=step)
        return AuthError(f"{name} failed with HTTP {status}{said}: {cause}", step=step)
    if step == "session":
        # A 401 about the Bearer or id token was refused before the PIN was looked at.
        token_problem = status == 401 and not pin_refused and (
            "TOKEN" in detail.upper() or "WWW-Authenticate" in response.headers
        )
        if token_problem:
            return TokenRejected(f"Car-Net refused the token on {path} (HTTP 401){said}",
                                  step="api")
        # A refusal that gives no reason is taken for a PIN refusal too: sending a
        # wrong PIN again is what locks the account.
        if pin_refused or not detail:
            return PinRefused(
                f"Car-Net refused the PIN (HTTP {status}{said}); commands are disabled "
                "(check accounts[].pin; repeated wrong PINs lock the account)"
            )
        # Refused for another reason (a secondary user without remote access to this
        # car): this vehicle's commands fail, the account's PIN is fine.
        return CommandRefused(f"Car-Net refused the TSP session on {path} (HTTP {status})"
                              f"{said}", status, detail)
    if step == "tsp" and status in (401, 403) and pin_refused:
        return PinRefused(f"Car-Net refused the command: PIN problem (HTTP {status}{said}); "
                          "commands are disabled")
    if step == "tsp" and status in (401, 403):
        # One command refused (a secondary user may not unlock, a stale TSP token): the
        # login is fine, reading and the other commands go on.
        return CommandRefused(f"Car-Net refused the request to {path} (HTTP {status}){said}",
                              status, detail)
    if status == 401:
        return TokenRejected(f"Car-Net refused the token on {path} (HTTP {status}){said}",
                              step="api")
    if status == 403:
        # The token was accepted and this one resource refused (a car the user may no
        # longer see, a secondary user's limits): only a refused token is a login problem.
        return AccessDenied(f"Car-Net denied access to {path} (HTTP 403){said}")
    return BadRequest(f"Car-Net rejected the request to {path}: HTTP {status}{said}")


# The vendor's words for a wrong or locked PIN ("INVALID_PIN: the PIN is wrong",
# "PIN_LOCKED", "SPIN_LOCKED", "wrong S-PIN"), not any message that names the PIN.
_PIN_REFUSED = re.compile(
    r"\b(?:INVALID|WRONG|INCORRECT|BAD)[ _-]?S?-?PINS?\b"
    r"|\bS?-?PIN[ _-](?:IS[ _-]|WAS[ _-])?(?:LOCKED|INVALID|WRONG|INCORRECT|MISMATCH|REFUSED)\b"
)


def says_pin_refused(detail: str) -> bool:
    """Whether the vendor's message says the PIN itself was refused."""
    return bool(_PIN_REFUSED.search(detail.upper()))
