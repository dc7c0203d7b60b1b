"""What a refused myVW login, token grant or S-PIN session means, in one clear message.

Each message names the cause and the remedy. A refusal that is not about the password
(a demanded attestation, a retired or other region's client id) never reads like a wrong
password: the user would change a correct password and still fail. Client id refusals are
:class:`AuthError`, not :class:`LoginChanged`, whose hint points at the token helper.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import requests

from carnet.core.errors import (
    AuthError,
    CarNetError,
    CommandRefused,
    LoginChanged,
    PinRefused,
    RateLimited,
    VendorUnavailable,
)
from carnet.vendor.http import parse_retry_after, vendor_message, vendor_words
from carnet.vendor.protocol import RequestClass

CHANGED_HINT = (
    "the vendor may have changed its login; check the carnet.* settings (api_base, "
    "identity_base, client_id, redirect_uri)"
)
ATTESTATION_README = "see the README's \"Attestation\" section"

_STEPS = {
    "authorize": "myVW login step 1 (authorize)",
    "identifier": "myVW login step 2 (e-mail)",
    "authenticate": "myVW login step 3 (password)",
    "token": "myVW login step 4 (token)",
    "refresh": "myVW token refresh",
    "challenge": "The myVW S-PIN challenge",
    "spin_session": "The myVW S-PIN session",
}


class BearerRefused(AuthError):
    """The API refused the access token: worth one renewal and one retry."""


def step_name(step: str) -> str:
    return _STEPS.get(step, f"myVW {step}")


def request_class(url: str, identity_base: str) -> RequestClass:
    """The class of the daily ledger a request counts in: sign-in, token grants and the
    S-PIN session are logins."""
    if url.startswith(identity_base.rstrip("/")):
        return RequestClass.LOGIN
    path = urlsplit(url).path
    if path.startswith(("/oidc/", "/ss/")):
        return RequestClass.LOGIN
    return RequestClass.READ


def client_refused(step: str, client_id: str, said: str) -> AuthError:
    return AuthError(
        f"{step_name(step)} failed: the vendor does not accept the myVW app's client id "
        f"{client_id}{said}; check carnet.region (us or ca: each region's client works on "
        "its own region's host only) or set carnet.client_id to the myVW app's current "
        "client id",
        step=step,
    )


def attestation_refused(step: str, helper_configured: bool) -> LoginChanged:
    refusal = (
        f"{step_name(step)} failed: the token endpoint answered 401 INVALID_REQUEST "
        "(CarnetSPAuthorizationServer) after a successful sign-in; the e-mail and "
        "password are fine. "
    )
    if helper_configured:
        return LoginChanged(
            refusal + "The Play Integrity attestation (play_integrity_token) that "
            "carnet.token_helper supplied was refused: the helper must relay a fresh "
            f"token made by a phone with the myVW app ({ATTESTATION_README})",
            step=step,
        )
    return LoginChanged(
        refusal + "The vendor demands a Play Integrity attestation (play_integrity_token) "
        "that only a phone with the myVW app can make; carnet.token_helper must supply one "
        f"({ATTESTATION_README})",
        step=step,
    )


def sign_in_refusal(error: str | None, location: str = "") -> AuthError | None:
    """The refusal a sign-in page or redirect reports (its ``error`` key or a
    terms-and-conditions page), or None."""
    if "terms-and-conditions" in location:
        return AuthError(
            "myVW login step 3 (password) stopped: the account must accept new terms and "
            "conditions; sign in once in the myVW app, accept them, and the bridge logs in "
            "at its next attempt",
            step="authenticate",
        )
    if not error:
        return None
    if "password_invalid" in error:
        return AuthError(
            "myVW login step 3 (password) failed: the password was refused "
            f"({error[:80]}); check accounts[].password",
            step="authenticate",
        )
    if "throttled" in error:
        return AuthError(
            "myVW login step 3 (password) failed: the sign-in service is throttling this "
            f"account after too many logins ({error[:80]}); the bridge waits for its login "
            "back-off, and signing in elsewhere meanwhile prolongs the block",
            step="authenticate",
        )
    if "user_not_found" in error:
        return unknown_account()
    return AuthError(f"myVW login step 3 (password) failed: the sign-in service refused the "
                     f"login ({error[:80]})", step="authenticate")


def unknown_account() -> AuthError:
    return AuthError(
        "myVW login step 2 (e-mail) failed: no Volkswagen ID account has this e-mail "
        "address (the sign-in offers to register it); check accounts[].email and, for a "
        "Canadian account, carnet.region: ca",
        step="identifier",
    )


def error_for_response(response: requests.Response, step: str, client_id: str,
                       helper_configured: bool) -> CarNetError:
    """The exception for an error answer of a login step or the S-PIN session."""
    status = response.status_code
    path = urlsplit(response.url or "").path or "?"
    detail = vendor_message(response)
    said = f" (HTTP {status}: {detail})" if detail else f" (HTTP {status})"
    words = vendor_words(response).upper() + " " + (response.text or "")[:2000].upper()
    name = step_name(step)
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        when = f"; retry after {retry_after:g} s" if retry_after is not None else ""
        return RateLimited(f"myVW rate limit reached on {path} (HTTP 429){when}", retry_after)
    if status >= 500:
        return VendorUnavailable(f"myVW is unavailable: HTTP {status} on {path}{said}")
    if step in ("authorize", "token", "refresh") and "INVALID_CLIENT" in words:
        return client_refused(step, client_id, said)
    if step in ("token", "refresh") and status == 401 and "INVALID_REQUEST" in words:
        return attestation_refused(step, helper_configured)
    if step in ("challenge", "spin_session"):
        return _spin_refusal(status, path, detail, words, step)
    if step == "authorize":
        return LoginChanged(f"{name} failed{said}: {CHANGED_HINT}", step=step)
    if step == "refresh":
        return AuthError(f"{name} failed{said}: the refresh token was refused (expired or "
                         "revoked); a full login is needed", step=step)
    if step == "token":
        return LoginChanged(f"{name} failed{said}: the token endpoint refused the "
                            f"authorization code; {CHANGED_HINT}", step=step)
    return AuthError(f"{name} failed{said}", step=step)


def _spin_refusal(status: int, path: str, detail: str, words: str, step: str) -> CarNetError:
    said = f" (HTTP {status}: {detail})" if detail else f" (HTTP {status})"
    if status == 401:
        return BearerRefused(f"myVW refused the access token on {path}{said}", step="api")
    if status == 403 and ("SPIN" in words or not detail):
        # A refusal without a reason is taken for an S-PIN refusal too: sending a wrong
        # S-PIN again is what locks the account.
        return PinRefused(
            f"myVW refused the S-PIN{said}; commands are disabled (check accounts[].pin "
            "and restart; repeated wrong S-PINs lock the account)"
        )
    return CommandRefused(f"{step_name(step)} was refused on {path}{said}", status, detail)
