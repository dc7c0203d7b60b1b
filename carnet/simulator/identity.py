"""The identity host: the sign-in pages of steps 1 to 3 of the login.

The chain, as a client sees it (``<app>`` is the generation's sign-in application id)::

    GET  api  /oidc/v1/authorize?...                    302 -> identity signin
    GET  id   /signin-service/v1/signin/<app>?relayState  302 (sets the SESSION cookie)
    GET  id   /signin-service/v1/<app>/login/identifier?relayState   200 e-mail page
    POST id   /signin-service/v1/<app>/login/identifier   303
    GET  id   /signin-service/v1/<app>/login/authenticate?relayState&email  200 password page
    POST id   /signin-service/v1/<app>/login/authenticate 302
    GET  id   /signin-service/v1/consent/users/<userId>/<app>?relayState&sso  302
    GET  api  /oidc/v1/oauth/client/callback?relayState&sso
              302 Location: car-net:///oauth-callback?state=…&code=…  (Car-Net app)
              302 Location: kombi:///login?code=…&state=…             (myVW app)

``_csrf`` belongs to the browser session (the SESSION cookie), so a client without a cookie
jar is refused; ``hmac`` is new on every page and only the latest one is accepted.

What the real service evidently accepted from the public clients of 2022 and 2023 is
accepted here too: form fields in the query string with an empty body (the Spring
services read request parameters from either), every ``Location`` absolute, and the
SESSION cookie sent again with every page, so that a client keeping only the cookies of
the last page of a redirect chain still has it. The myVW generation always serves the
``window._IDK`` password page and adds ``userId`` to the redirect after the password.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
import uuid
from collections import deque
from urllib.parse import quote, urlencode

from carnet.simulator import signin_pages as pages
from carnet.simulator.context import Context
from carnet.simulator.generations import MYVW, Generation
from carnet.simulator.signin_pages import LoginTx, prefix
from carnet.simulator.web import Request, Response, Router, html_response, redirect

_LOG = logging.getLogger(__name__)

COOKIE = "SESSION"
_MAX_PENDING = 2000  # login transactions kept before the oldest are dropped
_EXPIRED = "Your sign-in request has expired. Please start again."
_THROTTLE_WINDOW = 600.0  # seconds over which the login_throttle fault counts passwords


class IdentityService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.sessions: dict[str, str] = {}  # SESSION cookie -> _csrf
        self.txs: dict[str, LoginTx] = {}
        self.password_posts: dict[str, deque[float]] = {}  # under the login_throttle fault

    # ---- used by the OIDC endpoints on the API host -----------------------------------

    def begin(self, generation: Generation, redirect_uri: str, challenge: str,
              state: str | None, identity_base: str, scope_ok: bool = True) -> str:
        """Open a login transaction; returns the URL of the first sign-in hop."""
        if len(self.txs) >= _MAX_PENDING:
            for key in sorted(self.txs, key=lambda k: self.txs[k].created)[:_MAX_PENDING // 2]:
                del self.txs[key]
        relay = secrets.token_hex(20)
        country = "CA" if self.ctx.options.region == "ca" else "US"
        self.txs[relay] = LoginTx(relay, generation, redirect_uri, challenge, state, country,
                                  scope_ok)
        return (f"{identity_base}/signin-service/v1/signin/{generation.app_id}"
                f"?relayState={relay}")

    def redeem(self, relay_state: str, handoff: str) -> LoginTx | None:
        """The finished transaction for a handoff, once."""
        tx = self.txs.get(relay_state)
        if tx is None or tx.handoff is None or not secrets.compare_digest(tx.handoff, handoff):
            return None
        del self.txs[relay_state]
        return tx

    # ---- routes -----------------------------------------------------------------------

    def register(self, router: Router) -> None:
        app = r"([^/]+@apps_vw-dilab_com)"
        router.add("GET", rf"/signin-service/v1/signin/{app}", self.signin)
        router.add("GET", rf"/signin-service/v1/{app}/login/identifier", self.email_page)
        router.add("POST", rf"/signin-service/v1/{app}/login/identifier", self.submit_email)
        router.add("GET", rf"/signin-service/v1/{app}/login/authenticate", self.password_page)
        router.add("POST", rf"/signin-service/v1/{app}/login/authenticate",
                   self.submit_password)
        router.add("GET", rf"/signin-service/v1/consent/users/([^/]+)/{app}", self.consent)

    def signin(self, req: Request, m: re.Match[str]) -> Response:
        with self.ctx.lock:
            tx = self._tx(req.query.get("relayState", ""), m)
            if tx is None:
                return pages.error_page(400, _EXPIRED)
            _sid, cookie = self._session(req, tx)
            return self._redirect(req, tx, f"/login/identifier?relayState={tx.relay_state}",
                                  302, cookie)

    def email_page(self, req: Request, m: re.Match[str]) -> Response:
        with self.ctx.lock:
            tx = self._tx(req.query.get("relayState", ""), m)
            if tx is None:
                return pages.error_page(400, _EXPIRED)
            sid, cookie = self._session(req, tx)
            tx.email_hmac = secrets.token_hex(32)
            page = pages.email_page(self.sessions[sid], tx, req.query.get("error"))
            return self._page(tx, page, cookie)

    def submit_email(self, req: Request, m: re.Match[str]) -> Response:
        form = req.params()
        if form is None:
            return Response(400)  # the real service says nothing either
        with self.ctx.lock:
            tx, refusal = self._verify(req, form, "email_hmac", m)
            if refusal:
                return refusal
            assert tx is not None
            _sid, cookie = self._session(req)
            account = self.ctx.registry.account(form.get("email"))
            if account is None and tx.generation.name == MYVW:
                # the later service shows the password page with an offer to register
                tx.unknown_email = form.get("email", "")
                tx.email_hmac = ""
                return self._redirect(req, tx, f"/login/authenticate?relayState="
                                      f"{tx.relay_state}&email={quote(tx.unknown_email)}",
                                      303, cookie)
            if account is None:
                return self._redirect(req, tx, f"/login/identifier?relayState={tx.relay_state}"
                                      "&error=login.errors.user_not_found", 303, cookie)
            tx.email, tx.unknown_email = account.email, None
            tx.email_hmac = ""
            return self._redirect(req, tx, f"/login/authenticate?relayState={tx.relay_state}"
                                  f"&email={quote(account.email)}", 303, cookie, account.email)

    def password_page(self, req: Request, m: re.Match[str]) -> Response:
        with self.ctx.lock:
            tx = self._tx(req.query.get("relayState", ""), m)
            if tx is None:
                return pages.error_page(400, _EXPIRED)
            sid, cookie = self._session(req, tx)
            csrf = self.sessions[sid]
            error = req.query.get("error")
            if tx.email is None and tx.unknown_email is not None:
                page = pages.template_password_page(csrf, tx, "login.errors.user_not_found",
                                                    unknown_account=True)
                return self._page(tx, page, cookie)
            if tx.email is None:
                return self._redirect(req, tx, f"/login/identifier?relayState={tx.relay_state}",
                                      303, cookie)
            tx.password_hmac = secrets.token_hex(32)
            # the generation's own page, unless the password_page fault names a variant
            fault = self.ctx.faults.get("password_page")
            variant = fault["variant"] if fault else (
                "template_model" if tx.generation.name == MYVW else "hidden_inputs")
            if variant == "template_model":
                page = pages.template_password_page(csrf, tx, error)
            else:
                page = pages.password_page(csrf, tx, error)
            return self._page(tx, page, cookie, tx.email)

    def submit_password(self, req: Request, m: re.Match[str]) -> Response:
        form = req.params()
        if form is None:
            return Response(400)
        with self.ctx.lock:
            tx, refusal = self._verify(req, form, "password_hmac", m)
            if refusal:
                return refusal
            assert tx is not None and tx.email is not None
            account = self.ctx.registry.account(tx.email)
            if account is None or (form.get("email") or "").strip().lower() != tx.email.lower():
                return pages.error_page(400, "The e-mail address does not match this sign-in.")
            tx.password_hmac = ""
            _sid, cookie = self._session(req)
            if self._throttled(account.email):
                return self._redirect(req, tx, f"/login/authenticate?relayState="
                                      f"{tx.relay_state}&email={quote(account.email)}"
                                      "&error=login.error.throttled", 303, cookie,
                                      account.email)
            if not secrets.compare_digest(form.get("password", "").encode(),
                                          account.password.encode()):
                _LOG.info("wrong password for %s", account.email)
                return self._redirect(req, tx, f"/login/authenticate?relayState="
                                      f"{tx.relay_state}&email={quote(account.email)}"
                                      "&error=login.errors.password_invalid", 303, cookie,
                                      account.email)
            if self.ctx.faults.get("terms") is not None:
                # new terms to accept: the sign-in stops on their page, with no code
                return self._redirect(req, tx, f"/terms-and-conditions?relayState="
                                      f"{tx.relay_state}", 302, cookie, account.email)
            tx.handoff = secrets.token_hex(16)
            params = {"relayState": tx.relay_state, "sso": tx.handoff}
            if tx.generation.name == MYVW:
                params["userId"] = account.user_id
            base = self.ctx.base_url(req.header("Host"), "identity")
            location = (f"{base}/signin-service/v1/consent/users/{account.user_id}/"
                        f"{tx.generation.app_id}?{urlencode(params)}")
            return self._tag(redirect(location, 302, account=account.email), tx)

    def consent(self, req: Request, m: re.Match[str]) -> Response:
        # consent was given long ago in the app; this hop only hands over to the API host
        with self.ctx.lock:
            tx = self.txs.get(req.query.get("relayState", ""))
            if tx is None or tx.handoff is None or tx.generation.app_id != m.group(2):
                return pages.error_page(400, _EXPIRED)
            query = urlencode({"relayState": tx.relay_state, "sso": req.query.get("sso", "")})
            api_base = self.ctx.base_url(req.header("Host"), "api")
            return self._tag(redirect(f"{api_base}/oidc/v1/oauth/client/callback?{query}",
                                      302, account=tx.email), tx)

    # ---- helpers ----------------------------------------------------------------------

    def _throttled(self, email: str) -> bool:
        """Under the login_throttle fault: True once ``after`` password posts of the
        account fell within the window (the real service throttles quick logins)."""
        fault = self.ctx.faults.get("login_throttle")
        if fault is None:
            self.password_posts.clear()
            return False
        now = time.monotonic()
        posts = self.password_posts.setdefault(email, deque())
        while posts and posts[0] <= now - _THROTTLE_WINDOW:
            posts.popleft()
        if len(posts) >= fault["after"]:
            return True
        posts.append(now)
        return False

    def _tx(self, relay_state: str, m: re.Match[str]) -> LoginTx | None:
        """The transaction of a relayState, if the path names its generation's app id."""
        tx = self.txs.get(relay_state)
        if tx is None or tx.generation.app_id != m.group(1):
            return None
        return tx

    @staticmethod
    def _tag(response: Response, tx: LoginTx) -> Response:
        response.generation = tx.generation.name
        return response

    def _page(self, tx: LoginTx, page: str, cookie: str, account: str | None = None) -> Response:
        return self._tag(html_response(200, page, [("Set-Cookie", cookie)], account), tx)

    def _redirect(self, req: Request, tx: LoginTx, path: str, status: int, cookie: str,
                  account: str | None = None) -> Response:
        """An absolute redirect to a page of the transaction's application."""
        base = self.ctx.base_url(req.header("Host"), "identity")
        location = f"{base}{prefix(tx.generation.app_id)}{path}"
        return self._tag(redirect(location, status, [("Set-Cookie", cookie)], account), tx)

    def _session(self, req: Request, tx: LoginTx | None = None) -> tuple[str, str]:
        """The browser session of the request (a new one when it has none), and its
        Set-Cookie value, sent with every page so the last page always carries it.

        A page GET without a session cookie binds ``tx`` to the new session: a client
        that follows a redirect chain without keeping the cookies of its hops arrives
        cookieless, and the real service let it through."""
        sid = req.cookies().get(COOKIE, "")
        if sid not in self.sessions:
            if tx is not None:
                tx.session = None
            sid = secrets.token_hex(16)
            self.sessions[sid] = str(uuid.uuid4())
            if len(self.sessions) > 4 * _MAX_PENDING:
                for old in list(self.sessions)[:_MAX_PENDING]:
                    del self.sessions[old]
        if tx is not None and tx.session is None:
            tx.session = sid
        return sid, f"{COOKIE}={sid}; Path=/; HttpOnly; SameSite=Lax"

    def _verify(self, req: Request, form: dict[str, str], hmac_attr: str,
                m: re.Match[str]) -> tuple[LoginTx | None, Response | None]:
        """Check session cookie, ``_csrf``, ``relayState`` and ``hmac`` of a posted form."""
        sid = req.cookies().get(COOKIE, "")
        csrf = self.sessions.get(sid)
        tx = self._tx(form.get("relayState", ""), m)
        if csrf is None or not secrets.compare_digest(form.get("_csrf", "").encode(),
                                                      csrf.encode()):
            _LOG.info("sign-in form refused: bad _csrf or no session cookie")
            return None, pages.error_page(403, "Invalid CSRF token. Please start again.")
        if tx is None or tx.session != sid:
            return None, pages.error_page(403, _EXPIRED)
        expected = getattr(tx, hmac_attr)
        if not expected or not secrets.compare_digest(form.get("hmac", "").encode(),
                                                      expected.encode()):
            return None, pages.error_page(403,
                                          "The request could not be verified. Please start again.")
        return tx, None
