"""The Car-Net login: four scraped steps and PKCE; the pages are read in :mod:`.pages`,
the token grants sent by :mod:`.grants`.

The vendor offers no API login for third parties: the app's OAuth flow is replayed.

1. ``authorize``: GET ``/oidc/v1/authorize`` on the API host with a PKCE challenge;
   redirects land on the identity host's e-mail form (``_csrf``, ``relayState``,
   ``hmac``, a relative form action).
2. ``identifier``: POST the e-mail; redirects land on the password page, either a
   ``credentialsForm`` with hidden inputs or (later versions) a ``templateModel``
   object and a ``csrf_token`` in a script.
3. ``authenticate``: POST the password; redirects are followed by hand until a
   ``Location`` on the app's custom-scheme redirect URI, which is never requested:
   ``code`` and ``state`` are read from it.
4. ``token``: POST the code and the PKCE verifier to ``/oidc/v1/token``.

Every failure says which step failed and the likely cause. Vendors change logins;
:class:`~carnet.core.errors.LoginChanged` says so, and ``carnet.token_helper``
(:mod:`carnet.vendor.token_helper`) lets a user add a new required token field without a
code change.

HTTP status codes become errors in the client (:mod:`.client`) only: this module sends through
a :class:`Sender` supplied by the client.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import uuid
from collections.abc import Mapping
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

from carnet.config import AccountConfig, VendorConfig
from carnet.core import redact
from carnet.core.errors import AuthError, LoginChanged
from carnet.vendor.carnet_app import defaults
from carnet.vendor.carnet_app.grants import CHANGED_HINT, Sender, TokenGrants
from carnet.vendor.carnet_app.pages import (
    LoginForm,
    LoginPage,
    csrf_anywhere,
    missing_fields,
    parse_page,
    resolve_post_action,
    template_model,
)
from carnet.vendor.tokens import TokenSet

_LOG = logging.getLogger(__name__)

MAX_REDIRECTS = 10


def make_pkce() -> tuple[str, str]:
    """(verifier, challenge): a 64-hex-character verifier and its S256 challenge.

    The challenge keeps its ``=`` padding, as the app sends it; the server accepts
    both forms.
    """
    verifier = secrets.token_hex(32)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).decode("ascii")
    return verifier, challenge


class Authenticator:
    """Obtains and refreshes the OAuth tokens of one account."""

    def __init__(self, vendor: VendorConfig, account: AccountConfig, send: Sender) -> None:
        vendor = defaults.resolved(vendor)
        self._vendor = vendor
        self._account = account
        self._send = send
        self._grants = TokenGrants(vendor, account, send)
        redact.register_secret(account.password, permanent=True)

    def __repr__(self) -> str:
        return f"Authenticator(client_id={self._vendor.client_id!r})"

    # The four steps -------------------------------------------------------

    def login(self) -> TokenSet:
        """Run the full login. Raises AuthError/LoginChanged (with ``step``) or
        VendorUnavailable."""
        verifier, challenge = make_pkce()
        redact.register_secret(verifier)
        state = str(uuid.uuid4())
        _LOG.info("Logging in to Car-Net")
        with requests.Session() as session:
            session.headers["User-Agent"] = self._vendor.user_agent
            session.headers["Accept-Language"] = "en-us"
            url, email_form = self._authorize(session, challenge, state)
            url, values = self._identifier(session, url, email_form)
            code = self._authenticate(session, url, values, state)
            redact.register_secret(code)
            tokens = self._grants.authorization_code(session, code, verifier)
        _LOG.info("Logged in to Car-Net")
        return tokens

    def _authorize(
        self, session: requests.Session, challenge: str, state: str
    ) -> tuple[str, LoginForm]:
        params = {
            "redirect_uri": self._vendor.redirect_uri,
            "scope": "openid",
            "prompt": "login",
            "code_challenge": challenge,
            "state": state,
            "response_type": "code",
            "client_id": self._vendor.client_id,
        }
        url = self._vendor.api_base.rstrip("/") + "/oidc/v1/authorize"
        response = self._send(session, "GET", url, step="authorize", params=params)
        page = parse_page(response.text)
        form = page.form("emailPasswordForm", "emailForm", "identifierForm")
        if form is None:
            form = next(
                (f for f in page.forms if "email" in f.fields and "hmac" in f.fields), None
            )
        missing = missing_fields(form, ("_csrf", "relayState", "hmac"))
        if form is None or form.action is None or missing:
            raise LoginChanged(
                "Login step 1 (authorize) failed: the sign-in page has no e-mail form "
                f"with {', '.join(missing or ['an action'])}; {CHANGED_HINT}",
                step="authorize",
            )
        return response.url, form

    def _identifier(
        self, session: requests.Session, page_url: str, form: LoginForm
    ) -> tuple[str, dict[str, str]]:
        assert form.action is not None
        action = urljoin(page_url, form.action)
        data = {
            "_csrf": form.fields["_csrf"],
            "relayState": form.fields["relayState"],
            "email": self._account.email,
            "hmac": form.fields["hmac"],
        }
        response = self._send(session, "POST", action, step="identifier", data=data)
        page = parse_page(response.text)
        values = self._password_values(page, response.url, action, data)
        if values is not None:
            return response.url, values
        if page.form("emailPasswordForm", "emailForm", "identifierForm") or page.forms or (
            "error" in urlsplit(response.url).query
        ):
            # Back on the e-mail form (with an error): the address is not known.
            raise AuthError(
                "Login step 2 (e-mail) failed: Car-Net did not accept the e-mail address "
                "(no password form followed); check accounts[].email",
                step="identifier",
            )
        raise LoginChanged(
            "Login step 2 (e-mail) failed: the page after the e-mail address has neither a "
            f"password form nor a templateModel; {CHANGED_HINT}",
            step="identifier",
        )

    def _password_values(
        self, page: LoginPage, page_url: str, identifier_action: str, sent: Mapping[str, str]
    ) -> dict[str, str] | None:
        """The action URL and the fields for step 3, from either page variant."""
        form = page.form("credentialsForm")
        if form is not None and form.action and form.fields.get("hmac"):
            return {
                "action": urljoin(page_url, form.action),
                "_csrf": form.fields.get("_csrf") or csrf_anywhere(page) or sent["_csrf"],
                "relayState": form.fields.get("relayState") or sent["relayState"],
                "hmac": form.fields["hmac"],
            }
        model = template_model(page.scripts)
        if model and isinstance(model.get("hmac"), str) and model.get("hmac"):
            post_action = model.get("postAction")
            if not isinstance(post_action, str) or not post_action:
                post_action = "login/authenticate"
            return {
                "action": resolve_post_action(post_action, page_url, identifier_action, model),
                "_csrf": str(model.get("_csrf") or sent["_csrf"]),
                "relayState": str(model.get("relayState") or sent["relayState"]),
                "hmac": model["hmac"],
            }
        return None

    def _authenticate(
        self, session: requests.Session, page_url: str, values: dict[str, str], state: str
    ) -> str:
        data = {
            "_csrf": values["_csrf"],
            "relayState": values["relayState"],
            "email": self._account.email,
            "hmac": values["hmac"],
            "password": self._account.password,
        }
        url = values["action"]
        self._check_identity_host(url)
        response = self._send(
            session, "POST", url, step="authenticate", data=data, allow_redirects=False
        )
        for _ in range(MAX_REDIRECTS):
            if response.status_code not in (301, 302, 303, 307, 308):
                break
            location = response.headers.get("Location")
            if not location:
                break
            if self._is_callback(location):
                return self._read_callback(location, state)
            url = urljoin(url, location)
            response = self._send(
                session, "GET", url, step="authenticate", allow_redirects=False
            )
        else:
            raise AuthError(
                f"Login step 3 (password) failed: more than {MAX_REDIRECTS} redirects "
                "without reaching the app's redirect URI; " + CHANGED_HINT,
                step="authenticate",
            )
        page = parse_page(response.text)
        if page.form("credentialsForm") or template_model(page.scripts) or page.forms:
            cause = "the password was refused (check accounts[].password)"
        else:
            cause = (
                "Car-Net answered with a page instead of the app's redirect; the password "
                "is probably wrong, or the account needs attention on the Car-Net web site "
                "(new terms to accept, locked account)"
            )
        raise AuthError(f"Login step 3 (password) failed: {cause}", step="authenticate")

    def _check_identity_host(self, url: str) -> None:
        """The password only ever goes to the configured identity host.

        A sign-in form that posts elsewhere means the vendor moved its login, or a
        redirect was tampered with; either way the user decides by changing
        ``carnet.identity_base``, not the bridge by following it.
        """
        expected = urlsplit(self._vendor.identity_base)
        actual = urlsplit(url)
        if (actual.scheme, actual.netloc) != (expected.scheme, expected.netloc):
            raise LoginChanged(
                f"Login step 3 (password) stopped: the sign-in form posts to "
                f"{actual.scheme}://{actual.netloc}, not to carnet.identity_base "
                f"{self._vendor.identity_base}; the password was not sent. If the vendor "
                "moved its sign-in pages, set carnet.identity_base to the new address",
                step="authenticate",
            )

    def _is_callback(self, location: str) -> bool:
        redirect_uri = self._vendor.redirect_uri
        if location.startswith(redirect_uri):
            return True
        scheme = urlsplit(location).scheme.lower()
        return bool(scheme) and scheme not in ("http", "https")

    def _read_callback(self, location: str, state: str) -> str:
        query = parse_qs(urlsplit(location).query)
        if not location.startswith(self._vendor.redirect_uri):
            raise LoginChanged(
                "Login step 3 (password) failed: the final redirect does not go to "
                f"carnet.redirect_uri; {CHANGED_HINT}",
                step="authenticate",
            )
        if "error" in query:
            reason = query["error"][0][:100]
            raise AuthError(
                f"Login step 3 (password) failed: Car-Net refused the login ({reason})",
                step="authenticate",
            )
        if query.get("state", [None])[0] != state:
            raise AuthError(
                "Login step 3 (password) failed: the redirect carries a different state "
                "than the one sent (a stale or foreign login session); try again",
                step="authenticate",
            )
        code = query.get("code", [""])[0]
        if not code:
            raise LoginChanged(
                f"Login step 3 (password) failed: the redirect carries no code; {CHANGED_HINT}",
                step="authenticate",
            )
        return code

    def refresh(self, tokens: TokenSet) -> TokenSet:
        """Exchange the refresh token (replaying the stored verifier) for new tokens."""
        return self._grants.refresh(tokens)
