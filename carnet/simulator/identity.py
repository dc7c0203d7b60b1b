"""The identity host: the sign-in pages of steps 1 to 3 of the login.

The chain, as a client sees it::

    GET  api  /oidc/v1/authorize?...                    302 -> identity signin
    GET  id   /signin-service/v1/signin/<app>?relayState  302 (sets the SESSION cookie)
    GET  id   /signin-service/v1/<app>/login/identifier?relayState   200 e-mail page
    POST id   /signin-service/v1/<app>/login/identifier   303
    GET  id   /signin-service/v1/<app>/login/authenticate?relayState&email  200 password page
    POST id   /signin-service/v1/<app>/login/authenticate 302
    GET  id   /signin-service/v1/consent/users/<userId>/<app>?relayState&sso  302
    GET  api  /oidc/v1/oauth/client/callback?relayState&sso
              302 Location: car-net:///oauth-callback?state=…&code=…

``_csrf`` belongs to the browser session (the SESSION cookie), so a client without a cookie
jar is refused; ``hmac`` is new on every page and only the latest one is accepted.
"""

from __future__ import annotations

import html
import json
import logging
import secrets
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from carnet.simulator.context import Context
from carnet.simulator.options import APP_ID
from carnet.simulator.web import Request, Response, Router, html_response, redirect

_LOG = logging.getLogger(__name__)

PREFIX = f"/signin-service/v1/{APP_ID}"
COOKIE = "SESSION"
_MAX_PENDING = 2000  # login transactions kept before the oldest are dropped


@dataclass
class LoginTx:
    """One authorize request on its way through the sign-in pages, keyed by relayState."""

    relay_state: str
    client_id: str
    redirect_uri: str  # as the authorize request sent it; "" when it sent none
    challenge: str
    state: str | None
    session: str | None = None
    email: str | None = None
    email_hmac: str = ""
    password_hmac: str = ""
    handoff: str | None = None
    created: float = field(default_factory=time.monotonic)


class IdentityService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.sessions: dict[str, str] = {}  # SESSION cookie -> _csrf
        self.txs: dict[str, LoginTx] = {}

    # ---- used by the OIDC endpoints on the API host -----------------------------------

    def begin(self, client_id: str, redirect_uri: str, challenge: str,
              state: str | None, identity_base: str) -> str:
        """Open a login transaction; returns the URL of the first sign-in hop."""
        if len(self.txs) >= _MAX_PENDING:
            for key in sorted(self.txs, key=lambda k: self.txs[k].created)[:_MAX_PENDING // 2]:
                del self.txs[key]
        relay = secrets.token_hex(20)
        self.txs[relay] = LoginTx(relay, client_id, redirect_uri, challenge, state)
        return f"{identity_base}/signin-service/v1/signin/{APP_ID}?relayState={relay}"

    def redeem(self, relay_state: str, handoff: str) -> LoginTx | None:
        """The finished transaction for a handoff, once."""
        tx = self.txs.get(relay_state)
        if tx is None or tx.handoff is None or not secrets.compare_digest(tx.handoff, handoff):
            return None
        del self.txs[relay_state]
        return tx

    # ---- routes -----------------------------------------------------------------------

    def register(self, router: Router) -> None:
        router.add("GET", rf"/signin-service/v1/signin/{_re(APP_ID)}", self.signin)
        router.add("GET", rf"{_re(PREFIX)}/login/identifier", self.email_page)
        router.add("POST", rf"{_re(PREFIX)}/login/identifier", self.submit_email)
        router.add("GET", rf"{_re(PREFIX)}/login/authenticate", self.password_page)
        router.add("POST", rf"{_re(PREFIX)}/login/authenticate", self.submit_password)
        router.add("GET", rf"/signin-service/v1/consent/users/([^/]+)/{_re(APP_ID)}",
                   self.consent)

    def signin(self, req: Request, _m: object) -> Response:
        with self.ctx.lock:
            tx = self.txs.get(req.query.get("relayState", ""))
            if tx is None:
                return _error_page(400, "Your sign-in request has expired. Please start again.")
            sid, cookie = self._session(req)
            if tx.session is None:
                tx.session = sid
            headers = [("Set-Cookie", cookie)] if cookie else []
            return redirect(f"{PREFIX}/login/identifier?relayState={tx.relay_state}",
                            302, headers)

    def email_page(self, req: Request, _m: object) -> Response:
        with self.ctx.lock:
            tx = self.txs.get(req.query.get("relayState", ""))
            if tx is None:
                return _error_page(400, "Your sign-in request has expired. Please start again.")
            sid, cookie = self._session(req)
            tx.session = tx.session or sid
            tx.email_hmac = secrets.token_hex(32)
            error = req.query.get("error")
            headers = [("Set-Cookie", cookie)] if cookie else []
            return html_response(200, _email_page(self.sessions[sid], tx, error), headers)

    def submit_email(self, req: Request, _m: object) -> Response:
        form = req.form()
        if form is None:
            return Response(400)  # the real service says nothing either
        with self.ctx.lock:
            tx, refusal = self._verify(req, form, "email_hmac")
            if refusal:
                return refusal
            assert tx is not None
            account = self.ctx.registry.account(form.get("email"))
            if account is None:
                return redirect(f"{PREFIX}/login/identifier?relayState={tx.relay_state}"
                                "&error=login.errors.user_not_found", 303)
            tx.email = account.email
            tx.email_hmac = ""
            return redirect(f"{PREFIX}/login/authenticate?relayState={tx.relay_state}"
                            f"&email={quote(account.email)}", 303, account=account.email)

    def password_page(self, req: Request, _m: object) -> Response:
        with self.ctx.lock:
            tx = self.txs.get(req.query.get("relayState", ""))
            if tx is None:
                return _error_page(400, "Your sign-in request has expired. Please start again.")
            if tx.email is None:
                return redirect(f"{PREFIX}/login/identifier?relayState={tx.relay_state}", 303)
            sid, cookie = self._session(req)
            tx.password_hmac = secrets.token_hex(32)
            headers = [("Set-Cookie", cookie)] if cookie else []
            fault = self.ctx.faults.get("password_page")
            csrf = self.sessions[sid]
            error = req.query.get("error")
            if fault and fault["variant"] == "template_model":
                page = _template_password_page(csrf, tx, error)
            else:
                page = _password_page(csrf, tx, error)
            return html_response(200, page, headers, account=tx.email)

    def submit_password(self, req: Request, _m: object) -> Response:
        form = req.form()
        if form is None:
            return Response(400)
        with self.ctx.lock:
            tx, refusal = self._verify(req, form, "password_hmac")
            if refusal:
                return refusal
            assert tx is not None and tx.email is not None
            account = self.ctx.registry.account(tx.email)
            if account is None or (form.get("email") or "").strip().lower() != tx.email.lower():
                return _error_page(400, "The e-mail address does not match this sign-in.")
            tx.password_hmac = ""
            if not secrets.compare_digest(form.get("password", "").encode(),
                                          account.password.encode()):
                _LOG.info("wrong password for %s", account.email)
                return redirect(f"{PREFIX}/login/authenticate?relayState={tx.relay_state}"
                                f"&email={quote(account.email)}"
                                "&error=login.errors.password_invalid", 303,
                                account=account.email)
            tx.handoff = secrets.token_hex(16)
            query = urlencode({"relayState": tx.relay_state, "sso": tx.handoff})
            return redirect(f"/signin-service/v1/consent/users/{account.user_id}/{APP_ID}"
                            f"?{query}", 302, account=account.email)

    def consent(self, req: Request, _m: object) -> Response:
        # consent was given long ago in the app; this hop only hands over to the API host
        with self.ctx.lock:
            tx = self.txs.get(req.query.get("relayState", ""))
            if tx is None or tx.handoff is None:
                return _error_page(400, "Your sign-in request has expired. Please start again.")
            query = urlencode({"relayState": tx.relay_state, "sso": req.query.get("sso", "")})
            api_base = self.ctx.base_url(req.header("Host"), "api")
            return redirect(f"{api_base}/oidc/v1/oauth/client/callback?{query}", 302,
                            account=tx.email)

    # ---- helpers ----------------------------------------------------------------------

    def _session(self, req: Request) -> tuple[str, str | None]:
        """The browser session of the request, and a Set-Cookie value when it is new."""
        sid = req.cookies().get(COOKIE, "")
        if sid in self.sessions:
            return sid, None
        sid = secrets.token_hex(16)
        self.sessions[sid] = str(uuid.uuid4())
        if len(self.sessions) > 4 * _MAX_PENDING:
            for old in list(self.sessions)[:_MAX_PENDING]:
                del self.sessions[old]
        return sid, f"{COOKIE}={sid}; Path=/; HttpOnly; SameSite=Lax"

    def _verify(self, req: Request, form: dict[str, str],
                hmac_attr: str) -> tuple[LoginTx | None, Response | None]:
        """Check session cookie, ``_csrf``, ``relayState`` and ``hmac`` of a posted form."""
        sid = req.cookies().get(COOKIE, "")
        csrf = self.sessions.get(sid)
        tx = self.txs.get(form.get("relayState", ""))
        if csrf is None or not secrets.compare_digest(form.get("_csrf", "").encode(),
                                                      csrf.encode()):
            _LOG.info("sign-in form refused: bad _csrf or no session cookie")
            return None, _error_page(403, "Invalid CSRF token. Please start again.")
        if tx is None or tx.session != sid:
            return None, _error_page(403, "Your sign-in request has expired. Please start again.")
        expected = getattr(tx, hmac_attr)
        if not expected or not secrets.compare_digest(form.get("hmac", "").encode(),
                                                      expected.encode()):
            return None, _error_page(403, "The request could not be verified. Please start again.")
        return tx, None


def _re(text: str) -> str:
    return text.replace(".", r"\.")


def _e(value: str | None) -> str:
    return html.escape(value or "", quote=True)


def _page(title: str, body: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
        '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n'
        '<html xmlns="http://www.w3.org/1999/xhtml" lang="en" xml:lang="en">\n'
        "<head>\n"
        '<meta http-equiv="Content-Type" content="text/html; charset=UTF-8"/>\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1"/>\n'
        f"<title>{_e(title)}</title>\n"
        "</head>\n"
        f'<body class="signin-service">\n<div id="app">\n{body}\n</div>\n</body>\n</html>\n'
    )


_ERRORS = {
    "login.errors.user_not_found": "We could not find an account for this e-mail address.",
    "login.errors.password_invalid": "The e-mail address or password is incorrect.",
}


def _error_block(error: str | None) -> str:
    if not error:
        return ""
    text = _ERRORS.get(error, "Something went wrong. Please try again.")
    return f'<div class="error" id="error" role="alert" data-error="{_e(error)}">{_e(text)}</div>\n'


def _error_page(status: int, message: str) -> Response:
    body = (f'<h1>Sign-in failed</h1>\n<div class="error" id="error" role="alert">'
            f"{_e(message)}</div>\n")
    return html_response(status, _page("Volkswagen ID - Error", body))


def _email_page(csrf: str, tx: LoginTx, error: str | None) -> str:
    body = (
        "<h1>Sign in to Car-Net</h1>\n"
        f"{_error_block(error)}"
        '<form class="content" id="emailPasswordForm"\n'
        '      name="emailPasswordForm"\n'
        '      method="POST"\n'
        '      novalidate="true"\n'
        f'      action="{PREFIX}/login/identifier">\n'
        f'<input type="hidden" id="csrf" name="_csrf" value="{_e(csrf)}"/>\n'
        f'<input type="hidden" id="input_relayState" name="relayState" '
        f'value="{_e(tx.relay_state)}"/>\n'
        f'<input type="hidden" id="hmac" name="hmac" value="{_e(tx.email_hmac)}"/>\n'
        '<label for="input_email">E-mail address</label>\n'
        '<input type="email" id="input_email" name="email" value="" autocomplete="username"/>\n'
        '<button type="submit" id="next-btn">Next</button>\n'
        "</form>"
    )
    return _page("Volkswagen ID", body)


def _password_page(csrf: str, tx: LoginTx, error: str | None) -> str:
    body = (
        "<h1>Enter your password</h1>\n"
        f"{_error_block(error)}"
        '<form class="content" id="credentialsForm"\n'
        '      name="credentialsForm"\n'
        '      method="POST"\n'
        f'      action="{PREFIX}/login/authenticate">\n'
        f'<input type="hidden" id="csrf" name="_csrf" value="{_e(csrf)}"/>\n'
        f'<input type="hidden" id="input_relayState" name="relayState" '
        f'value="{_e(tx.relay_state)}"/>\n'
        f'<input type="hidden" id="email" name="email" value="{_e(tx.email)}"/>\n'
        f'<input type="hidden" id="hmac" name="hmac" value="{_e(tx.password_hmac)}"/>\n'
        '<label for="password">Password</label>\n'
        '<input type="password" id="password" name="password" value=""'
        ' autocomplete="current-password"/>\n'
        '<button type="submit" id="next-btn">Sign in</button>\n'
        "</form>"
    )
    return _page("Volkswagen ID", body)


def _template_password_page(csrf: str, tx: LoginTx, error: str | None) -> str:
    """The later page: no form in the markup, the values sit in a script."""
    model = {
        "clientLegalEntityModel": {"clientId": APP_ID, "clientName": "Car-Net",
                                   "countryOfRegistration": "US"},
        "template": "loginAuthenticate",
        "hmac": tx.password_hmac,
        "relayState": tx.relay_state,
        "emailPasswordForm": {"email": tx.email, "password": None},
        "error": error,
        "postAction": "login/authenticate",
        "identifierUrl": "login/identifier",
        "titleKey": "title.login.password",
    }
    # "<" escaped so the JSON can never close the script element or the CDATA section
    model_json = json.dumps(model).replace("<", "\\u003c").replace("]]>", "]]\\u003e")
    body = (
        "<h1>Enter your password</h1>\n"
        f"{_error_block(error)}"
        '<div id="loginRoot"></div>\n'
        '<script type="text/javascript">\n'
        "//<![CDATA[\n"
        "window._IDK = {\n"
        f"  templateModel: {model_json},\n"
        f"  csrf_parameterName: '_csrf',\n"
        f"  csrf_token: '{csrf}',\n"
        "  userSession: {userId: null, countryOfResidence: null},\n"
        "  baseUrl: '/signin-service/v1'\n"
        "};\n"
        "//]]>\n"
        "</script>"
    )
    return _page("Volkswagen ID", body)
