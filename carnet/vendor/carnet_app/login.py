"""The Car-Net login: four scraped steps, PKCE, the token grants and the token helper.

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
:class:`~carnet.errors.LoginChanged` says so, and ``carnet.token_helper`` lets a user
add a new required token field without a code change.

HTTP status codes become errors in the client (:mod:`.client`) only: this module sends through
a :class:`Sender` supplied by the client.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import re
import secrets
import selectors
import shlex
import signal
import subprocess
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, Protocol
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

from carnet.config import AccountConfig, VendorConfig
from carnet.core import redact
from carnet.core.errors import AuthError, CarNetError, LoginChanged, VendorUnavailable
from carnet.vendor.carnet_app import defaults
from carnet.vendor.tokens import TokenSet, sendable

_LOG = logging.getLogger(__name__)

MAX_REDIRECTS = 10

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


def make_pkce() -> tuple[str, str]:
    """(verifier, challenge): a 64-hex-character verifier and its S256 challenge.

    The challenge keeps its ``=`` padding, as the app sends it; the server accepts
    both forms.
    """
    verifier = secrets.token_hex(32)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).decode("ascii")
    return verifier, challenge


# --------------------------------------------------------------------------- forms


@dataclass
class LoginForm:
    """What a sign-in page offers: the form action and the hidden values."""

    form_id: str | None
    action: str | None
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class LoginPage:
    forms: list[LoginForm] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    def form(self, *ids: str) -> LoginForm | None:
        for form in self.forms:
            if form.form_id in ids:
                return form
        return None


class _PageParser(HTMLParser):
    """Collects forms (with their inputs), script bodies and visible text.

    ``html.parser`` copes with unclosed tags and odd attribute quoting, which a
    regular expression over the whole page would not.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = LoginPage()
        self._form: LoginForm | None = None
        self._in_script = False
        self._script: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k.lower(): (v or "") for k, v in attrs}
        if tag == "form":
            self._form = LoginForm(
                form_id=attributes.get("id") or attributes.get("name") or None,
                action=attributes.get("action") or None,
            )
            self.page.forms.append(self._form)
        elif tag == "input":
            name = attributes.get("name")
            if name:
                target = self._form
                if target is None:  # an input outside any form still counts
                    target = LoginForm(form_id=None, action=None)
                    self.page.forms.append(target)
                    self._form = target
                target.fields.setdefault(name, attributes.get("value", ""))
        elif tag == "script":
            self._in_script = True
            self._script = []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag == "script":
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "script" and self._in_script:
            self._in_script = False
            self.page.scripts.append("".join(self._script))

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self._script.append(data)
        elif data.strip():
            self.page.text.append(data.strip())


def parse_page(html: str) -> LoginPage:
    parser = _PageParser()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # a parser error must not hide what was found so far
        _LOG.debug("Sign-in page did not parse cleanly")
    if parser._in_script:
        parser.page.scripts.append("".join(parser._script))
    return parser.page


_TEMPLATE_KEYS = ("hmac", "relayState", "postAction", "identifierUrl", "error", "errorCode")
_CSRF_IN_SCRIPT = re.compile(r"""csrf_token\s*[:=]\s*(['"])(?P<v>[^'"]*)\1""")


def _template_model(scripts: list[str]) -> dict[str, Any] | None:
    """Values of the ``templateModel`` object of the script variant of the page.

    The object is tried as JSON first (it usually is); when that fails, the known
    keys are picked out individually so a single odd value does not lose the rest.
    """
    for script in scripts:
        start = script.find("templateModel")
        if start < 0:
            continue
        brace = script.find("{", start)
        if brace < 0:
            continue
        blob = _balanced(script, brace)
        model: dict[str, Any] = {}
        try:
            parsed = json.loads(blob)
            if isinstance(parsed, dict):
                model = parsed
        except ValueError:
            for key in _TEMPLATE_KEYS:
                match = re.search(rf"""["']?{key}["']?\s*:\s*(["'])(?P<v>[^"']*)\1""", blob)
                if match:
                    model[key] = match.group("v")
        csrf = _CSRF_IN_SCRIPT.search(script)
        if csrf:
            model.setdefault("_csrf", csrf.group("v"))
        return model
    return None


def _balanced(text: str, start: int) -> str:
    """The ``{...}`` block starting at ``start``, respecting strings."""
    depth = 0
    quote: str | None = None
    escaped = False
    for index in range(start, len(text)):
        char = text[index]
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[start : index + 1]
    return text[start:]


def _csrf_anywhere(page: LoginPage) -> str | None:
    for script in page.scripts:
        match = _CSRF_IN_SCRIPT.search(script)
        if match:
            return match.group("v")
    return None


# --------------------------------------------------------------------------- helper


HELPER_OUTPUT_LIMIT = 64 * 1024
"""The most a token helper may print: a few tokens, never megabytes."""

HELPER_SECRET_LENGTH = 8
"""Helper output values shorter than this are not masked in the log: a token is long,
while a short value (``android``, ``1``) is a flag that would mask ordinary words."""

HELPER_WITHHELD_VARIABLES = frozenset(
    {"CARNET_PASSWORD", "CARNET_PIN", "CARNET_UNLOCK_CODE", "MQTT_PASSWORD"}
)
"""Variables never passed to the token helper, whatever their value: the names the
README and config.example.yaml suggest for the bridge's secrets."""

_HELPER_POLL = 0.05  # seconds between checks whether the helper has exited


def helper_environment(
    environ: Mapping[str, str], secret_values: Iterable[str | None]
) -> dict[str, str]:
    """The token helper's environment: the bridge's own, without its secrets.

    Dropped are :data:`HELPER_WITHHELD_VARIABLES` and every variable whose value is a
    configured secret (a password, a PIN, the MQTT password, the unlock code) or
    contains one of at least :data:`HELPER_SECRET_LENGTH` characters, whatever the
    variable is called.
    """
    known = {secret for secret in secret_values if secret}
    long = [secret for secret in known if len(secret) >= HELPER_SECRET_LENGTH]
    return {
        name: value
        for name, value in environ.items()
        if name not in HELPER_WITHHELD_VARIABLES
        and value not in known
        and not any(secret in value for secret in long)
    }


def run_token_helper(
    command: str, timeout: float, step: str, secret_values: Iterable[str | None] = ()
) -> dict[str, str]:
    """Run ``carnet.token_helper`` and return the form fields it prints.

    The command is split like a shell would but run without one, in a session (and
    process group) of its own, with :func:`helper_environment` built from ``secret_values``.
    Waiting ends when the helper exits, even if a child it left behind still holds its
    output open; on a timeout or too much output the whole group is killed. Its output
    is a secret (it exists to carry tokens) and is never logged; its error output,
    which may echo it, is discarded.
    """
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise AuthError(f"carnet.token_helper cannot be parsed ({exc})", step=step) from None
    if not argv:
        raise AuthError("carnet.token_helper is empty", step=step)
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            env=helper_environment(os.environ, secret_values),
        )
    except OSError as exc:
        raise AuthError(
            f"carnet.token_helper could not be started: {exc.strerror or type(exc).__name__} "
            f"({argv[0]})",
            step=step,
        ) from None
    try:
        output = _read_helper(process, timeout, step)
    finally:
        assert process.stdout is not None
        process.stdout.close()
    values = _helper_fields(output, step)
    for value in values.values():
        if len(value) >= HELPER_SECRET_LENGTH:
            redact.register_secret(value)
    _LOG.debug("carnet.token_helper supplied %d field(s): %s", len(values), sorted(values))
    return values


def _read_helper(process: subprocess.Popen[bytes], timeout: float, step: str) -> bytes:
    """Read the helper's output, at most :data:`HELPER_OUTPUT_LIMIT` bytes, until it exits."""
    assert process.stdout is not None
    descriptor = process.stdout.fileno()
    deadline = time.monotonic() + timeout
    output = bytearray()
    with selectors.DefaultSelector() as selector:
        selector.register(descriptor, selectors.EVENT_READ)
        reading = True
        while True:
            exited = process.poll() is not None
            if not exited and time.monotonic() >= deadline:
                _kill_group(process)
                raise AuthError(
                    f"carnet.token_helper did not finish within {timeout:g} s", step=step
                )
            # Once the helper has exited, take only what is already in the pipe: a
            # child it left running may hold the pipe open for ever.
            wait = 0.0 if exited else min(_HELPER_POLL, max(deadline - time.monotonic(), 0.0))
            if not reading:
                if exited:
                    break
                time.sleep(wait)
                continue
            if not selector.select(wait):
                if exited:
                    break
                continue
            chunk = os.read(descriptor, HELPER_OUTPUT_LIMIT + 1 - len(output))
            if not chunk:  # end of output; the helper may still be running
                reading = False
                selector.unregister(descriptor)
                continue
            output += chunk
            if len(output) > HELPER_OUTPUT_LIMIT:
                _kill_group(process)
                raise AuthError(
                    f"carnet.token_helper printed more than {HELPER_OUTPUT_LIMIT // 1024} KiB "
                    "(a JSON object of a few form fields)",
                    step=step,
                )
    if process.returncode != 0:
        raise AuthError(
            f"carnet.token_helper failed with exit status {process.returncode}", step=step
        )
    return bytes(output)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill the helper and everything it started (its session's process group)."""
    with contextlib.suppress(ProcessLookupError):  # the group is gone already
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _helper_fields(output: bytes, step: str) -> dict[str, str]:
    try:
        values = json.loads(output.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise AuthError(
            "carnet.token_helper must print a JSON object of string values; its output "
            "is not JSON",
            step=step,
        ) from None
    if not isinstance(values, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in values.items()
    ):
        raise AuthError(
            "carnet.token_helper must print a JSON object of string values", step=step
        )
    return values


# --------------------------------------------------------------------------- login


class Authenticator:
    """Obtains and refreshes the OAuth tokens of one account."""

    def __init__(self, vendor: VendorConfig, account: AccountConfig, send: Sender) -> None:
        self._vendor = defaults.resolved(vendor)
        self._account = account
        self._send = send
        redact.register_secret(account.password, permanent=True)

    def __repr__(self) -> str:
        return f"Authenticator(client_id={self._vendor.client_id!r})"

    @property
    def token_url(self) -> str:
        return self._vendor.api_base.rstrip("/") + "/oidc/v1/token"

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
            tokens = self._token(
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
        missing = _missing(form, ("_csrf", "relayState", "hmac"))
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
                "_csrf": form.fields.get("_csrf") or _csrf_anywhere(page) or sent["_csrf"],
                "relayState": form.fields.get("relayState") or sent["relayState"],
                "hmac": form.fields["hmac"],
            }
        model = _template_model(page.scripts)
        if model and isinstance(model.get("hmac"), str) and model.get("hmac"):
            post_action = model.get("postAction")
            if not isinstance(post_action, str) or not post_action:
                post_action = "login/authenticate"
            return {
                "action": _resolve_post_action(post_action, page_url, identifier_action, model),
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
        if page.form("credentialsForm") or _template_model(page.scripts) or page.forms:
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

    # Token grants ---------------------------------------------------------

    def refresh(self, tokens: TokenSet) -> TokenSet:
        """Exchange the refresh token (replaying the stored verifier) for new tokens."""
        _LOG.debug("Refreshing Car-Net tokens")
        with requests.Session() as session:
            session.headers["User-Agent"] = self._vendor.user_agent
            return self._token(
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

    def _token(
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


def _missing(form: LoginForm | None, names: tuple[str, ...]) -> list[str]:
    if form is None:
        return list(names)
    return [name for name in names if not form.fields.get(name)]


def _resolve_post_action(
    post_action: str, page_url: str, identifier_action: str, model: Mapping[str, Any]
) -> str:
    """Turn the template's ``postAction`` (``login/authenticate``) into a URL.

    It is relative to the sign-in service's client path
    (``/signin-service/v1/<app id>/``), not to the page, so that prefix is taken from
    the template's client id, else from the page or the e-mail form's action.
    """
    if urlsplit(post_action).scheme or post_action.startswith("/"):
        return urljoin(page_url, post_action)
    client = model.get("clientLegalEntityModel")
    if isinstance(client, dict) and isinstance(client.get("clientId"), str):
        base = urljoin(page_url, "/signin-service/v1/" + client["clientId"] + "/")
        return urljoin(base, post_action)
    for candidate in (page_url, identifier_action):
        match = re.match(r"^(.*?/signin-service/v\d+/[^/?#]+/)", candidate)
        if match:
            return match.group(1) + post_action
    return urljoin(identifier_action, post_action)
