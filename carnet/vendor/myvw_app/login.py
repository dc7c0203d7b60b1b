"""The myVW login: the app's OAuth flow with PKCE, replayed over the sign-in pages.

1. ``authorize``: GET ``/oidc/v1/authorize`` on the API host with an S256 challenge;
   redirects land on the identity host's e-mail form (``_csrf``, ``relayState``,
   ``hmac``).
2. ``identifier``: POST the e-mail; the password page carries its values in a script,
   ``window._IDK = {templateModel: {...}, csrf_token: '...'}``. An unknown account gets
   that page with ``registerCredentialsPath: "register"``.
3. ``authenticate``: POST the password; redirects are followed by hand (``userId`` rides
   on the first) until a ``Location`` on ``kombi:///login``, which is never requested:
   ``code`` and ``state`` are read from it.
4. ``token``: POST the code and the verifier (:mod:`.grants`).

The sign-in pages are the identity host's, shared with the Car-Net app, so they are read
with the same page reader. Statuses become errors in :mod:`.login_refusals` only.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

from carnet.config import AccountConfig, VendorConfig
from carnet.core import redact
from carnet.core.errors import AuthError, LoginChanged
from carnet.vendor.carnet_app.pages import parse_page, resolve_post_action, template_model
from carnet.vendor.http import Http
from carnet.vendor.myvw_app import defaults
from carnet.vendor.myvw_app.grants import TokenGrants
from carnet.vendor.myvw_app.login_refusals import (
    CHANGED_HINT,
    sign_in_refusal,
    unknown_account,
)
from carnet.vendor.myvw_app.pkce import make_pkce
from carnet.vendor.tokens import TokenSet

_LOG = logging.getLogger(__name__)

MAX_REDIRECTS = 10
_REDIRECTS = (301, 302, 303, 307, 308)


@dataclass(frozen=True)
class SignedIn:
    """A login's tokens and the user id the sign-in named (None when it named none)."""

    tokens: TokenSet
    user_id: str | None


class MyvwLogin:
    """Logs one account in, and refreshes its tokens."""

    def __init__(self, vendor: VendorConfig, account: AccountConfig, http: Http) -> None:
        self._vendor = vendor
        self._account = account
        self._http = http
        self._grants = TokenGrants(vendor, account, http)
        redact.register_secret(account.password, permanent=True)

    def __repr__(self) -> str:
        return f"MyvwLogin(client_id={self._vendor.client_id!r})"

    def login(self) -> SignedIn:
        """The full login. Raises AuthError/LoginChanged (with ``step``) or
        VendorUnavailable."""
        verifier, challenge = make_pkce()
        redact.register_secret(verifier)
        state = str(uuid.uuid4())
        _LOG.info("Logging in to myVW")
        with requests.Session() as session:
            session.headers.update(defaults.LOGIN_HEADERS)
            url, fields = self._authorize(session, challenge, state)
            url, values = self._identifier(session, url, fields)
            code, user_id = self._authenticate(session, values, state)
            redact.register_secret(code)
            tokens = self._grants.authorization_code(session, code, verifier)
        _LOG.info("Logged in to myVW")
        return SignedIn(tokens, user_id)

    def refresh(self, tokens: TokenSet) -> TokenSet:
        return self._grants.refresh(tokens)

    def _authorize(self, session: requests.Session, challenge: str,
                   state: str) -> tuple[str, dict[str, str]]:
        params = {
            "redirect_uri": self._vendor.redirect_uri,
            "scope": "openid",  # a wider scope signs in, then brings no code
            "prompt": "login",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": state,
            "response_type": "code",
            "client_id": self._vendor.client_id,
        }
        url = self._vendor.api_base.rstrip("/") + "/oidc/v1/authorize"
        response = self._http(session, "GET", url, step="authorize", params=params)
        page = parse_page(response.text)
        form = page.form("emailPasswordForm") or next(
            (f for f in page.forms if "hmac" in f.fields), None)
        missing = [k for k in ("_csrf", "relayState", "hmac") if form is None
                   or not form.fields.get(k)]
        if form is None or not form.action or missing:
            raise LoginChanged(
                "myVW login step 1 (authorize) failed: the sign-in page has no e-mail form "
                f"with {', '.join(missing or ['an action'])}; {CHANGED_HINT}",
                step="authorize",
            )
        fields = {k: form.fields[k] for k in ("_csrf", "relayState", "hmac")}
        return urljoin(response.url, form.action), fields

    def _identifier(self, session: requests.Session, action: str,
                    fields: dict[str, str]) -> tuple[str, dict[str, str]]:
        data = {**fields, "email": self._account.email}
        response = self._http(session, "POST", action, step="identifier", data=data)
        page = parse_page(response.text)
        model = template_model(page.scripts)
        if model is None:
            raise LoginChanged(
                "myVW login step 2 (e-mail) failed: the page after the e-mail address has "
                f"no window._IDK templateModel; {CHANGED_HINT}",
                step="identifier",
            )
        if model.get("registerCredentialsPath") == "register":
            raise unknown_account()
        refusal = sign_in_refusal(_text(model.get("error")))
        if refusal is not None:
            raise refusal
        if not _text(model.get("hmac")) or not _text(model.get("_csrf")):
            raise LoginChanged(
                "myVW login step 2 (e-mail) failed: the password page's templateModel has "
                f"no hmac or csrf_token; {CHANGED_HINT}",
                step="identifier",
            )
        post_action = _text(model.get("postAction")) or "login/authenticate"
        values = {
            "action": resolve_post_action(post_action, response.url, action, model),
            "_csrf": _text(model.get("_csrf")),
            "relayState": _text(model.get("relayState")) or fields["relayState"],
            "hmac": _text(model.get("hmac")),
        }
        return response.url, values

    def _authenticate(self, session: requests.Session, values: dict[str, str],
                      state: str) -> tuple[str, str | None]:
        url = values["action"]
        self._check_identity_host(url)
        data = {
            "_csrf": values["_csrf"],
            "relayState": values["relayState"],
            "hmac": values["hmac"],
            "email": self._account.email,
            "password": self._account.password,
        }
        response = self._http(session, "POST", url, step="authenticate", data=data,
                              allow_redirects=False)
        user_id: str | None = None
        for _ in range(MAX_REDIRECTS):
            location = response.headers.get("Location")
            if response.status_code not in _REDIRECTS or not location:
                break
            query = parse_qs(urlsplit(location).query)
            user_id = user_id or _first(query, "userId")
            if location.startswith(self._vendor.redirect_uri):
                return self._read_callback(query, state), user_id
            refusal = sign_in_refusal(_first(query, "error"), urlsplit(location).path)
            if refusal is not None:
                raise refusal
            url = urljoin(url, location)
            response = self._http(session, "GET", url, step="authenticate",
                                  allow_redirects=False)
        else:
            raise LoginChanged(
                f"myVW login step 3 (password) failed: more than {MAX_REDIRECTS} redirects "
                f"without reaching {self._vendor.redirect_uri}; {CHANGED_HINT}",
                step="authenticate",
            )
        # A page instead of the redirect: throttling shows one, a refused password too.
        model = template_model(parse_page(response.text).scripts) or {}
        refusal = sign_in_refusal(_text(model.get("error")) or "login.errors.unknown",
                                  urlsplit(response.url or "").path)
        assert refusal is not None
        raise refusal

    def _check_identity_host(self, url: str) -> None:
        """The password only ever goes to the configured identity host."""
        expected = urlsplit(self._vendor.identity_base)
        actual = urlsplit(url)
        if (actual.scheme, actual.netloc) != (expected.scheme, expected.netloc):
            raise LoginChanged(
                f"myVW login step 3 (password) stopped: the sign-in form posts to "
                f"{actual.scheme}://{actual.netloc}, not to carnet.identity_base "
                f"{self._vendor.identity_base}; the password was not sent. If the vendor "
                "moved its sign-in pages, set carnet.identity_base to the new address",
                step="authenticate",
            )

    @staticmethod
    def _read_callback(query: dict[str, list[str]], state: str) -> str:
        error = _first(query, "error")
        if error:
            raise LoginChanged(f"myVW login step 3 (password) failed: the redirect carries "
                               f"no code but {error[:80]}; {CHANGED_HINT}",
                               step="authenticate")
        if _first(query, "state") != state:
            raise AuthError("myVW login step 3 (password) failed: the redirect carries "
                            "another state than the one sent (a stale login); trying again "
                            "at the next attempt", step="authenticate")
        code = _first(query, "code")
        if not code:
            raise LoginChanged("myVW login step 3 (password) failed: the redirect carries "
                               f"no code; {CHANGED_HINT}", step="authenticate")
        return code


def _first(query: dict[str, list[str]], key: str) -> str | None:
    values = query.get(key)
    return values[0] if values else None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
