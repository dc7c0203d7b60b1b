"""How the myVW app API's error answers become :mod:`carnet.core.errors` exceptions.

The only place its API statuses and error bodies are read (the login's are the login
modules'); callers decide from the type. Error bodies come as
``{"error": {"errorCode", "errorDescription"}}`` or ``{"errorCode", "origin"}``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests

from carnet.core.errors import (
    AccessDenied,
    AuthError,
    BadRequest,
    CarNetError,
    CommandRefused,
    PinRefused,
    RateLimited,
    VendorUnavailable,
    WakeupsUsedUp,
)
from carnet.vendor.http import parse_retry_after, vendor_message

# The kinds of API request, as the ``step`` of :func:`error_for_response`.
READ = "api"  # a read with the access token or the vehicle token
COMMAND = "command"  # a command with the vehicle token

EV_THRESHOLD = "EV_THRESHOLD_EXCEEDED"
EV_THRESHOLD_PAUSE = 5.0  # seconds; the app retries three times five seconds apart
_NOT_AUTHORIZED = "USER_NOT_AUTHORIZED"
_WAKEUP_LIMIT = "WAKEUP"  # VEHICLE_WAKEUP_LIMIT
_PIN_CODES = ("SPIN_LOCKED", "INVALID_SPIN")


class TokenRejected(AuthError):
    """The API answered 401 to the bearer: worth one renewal and one retry."""


class EvThreshold(RateLimited):
    """An EV command came too soon after the last one for this car: that car waits a few
    seconds, the account's other requests do not."""


class VehicleTokenNeeded(AccessDenied):
    """A read refused the access token with 403 USER_NOT_AUTHORIZED: on some accounts it
    takes the vehicle token instead."""


def error_code(response: requests.Response) -> str:
    """The vendor's ``errorCode`` of an error body, upper case; empty when none."""
    try:
        body: Any = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    nested = body.get("error")
    code = nested.get("errorCode") if isinstance(nested, dict) else body.get("errorCode")
    return code.upper() if isinstance(code, str) else ""


def error_for_response(response: requests.Response, step: str) -> CarNetError:
    """The exception for an error answer of an API read (``api``) or a command
    (``command``)."""
    status = response.status_code
    path = urlsplit(response.url or "").path or "?"
    code = error_code(response)
    detail = vendor_message(response)
    said = f" ({detail})" if detail else ""
    if status == 429 and _WAKEUP_LIMIT in code:
        return WakeupsUsedUp(
            f"the car refuses more wake-ups for now (HTTP 429 on {path}{said}); "
            "its 12 V battery is protected, the status is still read on schedule"
        )
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if code == EV_THRESHOLD:
        pause = EV_THRESHOLD_PAUSE if retry_after is None else retry_after
        return EvThreshold(f"myVW is still busy with the last EV command for this car "
                           f"(HTTP {status} on {path}{said}); retry after {pause:g} s", pause)
    if status == 429:
        when = f"; retry after {retry_after:g} s" if retry_after is not None else ""
        return RateLimited(f"myVW rate limit reached on {path} (HTTP 429{said}){when}",
                           retry_after)
    if status >= 500:
        return VendorUnavailable(f"myVW is unavailable: HTTP {status} on {path}{said}")
    if status == 401:
        return TokenRejected(f"myVW refused the token on {path} (HTTP 401){said}", step="api")
    if status == 403 and code in _PIN_CODES:
        return PinRefused(f"myVW refused the S-PIN (HTTP 403{said}); commands are disabled "
                          "(check accounts[].pin; repeated wrong PINs lock the account)")
    if status == 403 and step == COMMAND:
        # One command refused (no remote access for this user, not this car's kind): the
        # login is fine, reading and the other commands go on.
        return CommandRefused(f"myVW refused the request to {path} (HTTP 403){said}",
                              status, detail)
    if status == 403 and code == _NOT_AUTHORIZED:
        return VehicleTokenNeeded(f"myVW denied access to {path} (HTTP 403){said}")
    if status == 403:
        return AccessDenied(f"myVW denied access to {path} (HTTP 403){said}")
    return BadRequest(f"myVW rejected the request to {path}: HTTP {status}{said}")
