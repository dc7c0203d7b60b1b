"""The OIDC endpoints of the API host: authorize (step 1), the callback that hands out the
code (end of step 3), and the token endpoint (step 4 and refresh)."""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from urllib.parse import urlencode

from carnet.simulator.context import Context
from carnet.simulator.identity import IdentityService
from carnet.simulator.web import (
    Request,
    Response,
    Router,
    json_response,
    oauth_error,
    redirect,
)

_LOG = logging.getLogger(__name__)


def s256(verifier: str) -> str:
    """base64url(SHA-256(verifier)) without padding, the PKCE S256 challenge."""
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


class OidcService:
    def __init__(self, ctx: Context, identity: IdentityService) -> None:
        self.ctx = ctx
        self.identity = identity

    def register(self, router: Router) -> None:
        router.add("GET", r"/oidc/v1/authorize", self.authorize)
        router.add("GET", r"/oidc/v1/oauth/client/callback", self.callback)
        router.add("POST", r"/oidc/v1/token", self.token)

    def authorize(self, req: Request, _m: object) -> Response:
        q = req.query
        if q.get("client_id") != self.ctx.options.client_id:
            return oauth_error(400, "invalid_client", "unknown client_id")
        if q.get("response_type") != "code":
            return oauth_error(400, "unsupported_response_type", "response_type must be code")
        if "openid" not in q.get("scope", "").split():
            return oauth_error(400, "invalid_scope", "scope must include openid")
        challenge = q.get("code_challenge", "").rstrip("=")  # sent with or without padding
        if not challenge:
            return oauth_error(400, "invalid_request", "code_challenge is required")
        if q.get("code_challenge_method", "S256") != "S256":
            return oauth_error(400, "invalid_request", "code_challenge_method must be S256")
        sent_uri = q.get("redirect_uri", "")
        if sent_uri and sent_uri != self.ctx.options.redirect_uri:
            # never redirect to an unregistered URI: the error stays on this host
            return oauth_error(400, "invalid_request",
                               "redirect_uri is not registered for this client")
        with self.ctx.lock:
            location = self.identity.begin(q["client_id"], sent_uri, challenge, q.get("state"),
                                           self.ctx.base_url(req.header("Host"), "identity"))
        return redirect(location, 302)

    def callback(self, req: Request, _m: object) -> Response:
        with self.ctx.lock:
            tx = self.identity.redeem(req.query.get("relayState", ""),
                                      req.query.get("sso", ""))
            if tx is None or tx.email is None:
                return oauth_error(400, "invalid_request", "unknown or used sign-in handoff")
            code = self.ctx.tokens.new_code(tx.email, tx.client_id, tx.redirect_uri,
                                              tx.challenge)
        params = {"state": tx.state, "code": code} if tx.state is not None else {"code": code}
        target = tx.redirect_uri or self.ctx.options.redirect_uri
        sep = "&" if "?" in target else "?"
        return redirect(f"{target}{sep}{urlencode(params)}", 302, account=tx.email)

    def token(self, req: Request, _m: object) -> Response:
        form = req.form()
        if form is None:
            return oauth_error(400, "invalid_request",
                               "expected application/x-www-form-urlencoded")
        fault = self.ctx.faults.get("login_change")
        if fault is not None:
            sent = form.get(fault["require_field"])
            if sent is None or (fault["value"] is not None and sent != fault["value"]):
                # what the vendor's change looks like: indistinguishable from bad credentials
                return oauth_error(401, "INVALID_REQUEST", "The request could not be validated")
        if form.get("client_id") != self.ctx.options.client_id:
            return oauth_error(401, "invalid_client", "unknown client_id")
        grant_type = form.get("grant_type")
        with self.ctx.lock:
            if grant_type == "authorization_code":
                return self._code_grant(form)
            if grant_type == "refresh_token":
                return self._refresh_grant(form)
        return oauth_error(400, "unsupported_grant_type",
                           "grant_type must be authorization_code or refresh_token")

    def _code_grant(self, form: dict[str, str]) -> Response:
        code, verifier = form.get("code", ""), form.get("code_verifier", "")
        if not code or not verifier:
            return oauth_error(400, "invalid_request", "code and code_verifier are required")
        grant = self.ctx.tokens.take_code(code)
        if grant is None:
            return oauth_error(400, "invalid_grant", "code is unknown, expired or already used")
        if grant.client_id != form.get("client_id"):
            return oauth_error(400, "invalid_grant", "code belongs to another client",
                               grant.account)
        if not _same_redirect(form.get("redirect_uri", ""), grant.redirect_uri,
                              self.ctx.options.redirect_uri):
            return oauth_error(400, "invalid_grant",
                               "redirect_uri differs from the one of the authorize request",
                               grant.account)
        if not secrets.compare_digest(s256(verifier), grant.challenge):
            return oauth_error(400, "invalid_grant", "code_verifier does not match",
                               grant.account)
        tokens = self.ctx.tokens.new_tokens(grant.account, grant.client_id, verifier)
        _LOG.info("tokens granted to %s", grant.account)
        return json_response(200, tokens, [("Cache-Control", "no-store")], grant.account)

    def _refresh_grant(self, form: dict[str, str]) -> Response:
        token, verifier = form.get("refresh_token", ""), form.get("code_verifier", "")
        if not token:
            return oauth_error(400, "invalid_request", "refresh_token is required")
        grant = self.ctx.tokens.peek_refresh(token)
        if grant is None:
            return oauth_error(401, "invalid_grant", "refresh_token is unknown or expired")
        if not verifier:
            return oauth_error(400, "invalid_request", "code_verifier is required",
                               grant.account)
        if not secrets.compare_digest(verifier.encode(), grant.verifier.encode()):
            return oauth_error(400, "invalid_grant", "code_verifier does not match",
                               grant.account)
        self.ctx.tokens.revoke_refresh(token)  # rotation: the old refresh token is spent
        tokens = self.ctx.tokens.new_tokens(grant.account, grant.client_id, grant.verifier)
        return json_response(200, tokens, [("Cache-Control", "no-store")], grant.account)


def _same_redirect(sent: str, at_authorize: str, registered: str) -> bool:
    """RFC 6749 4.1.3: a redirect_uri sent with the authorize request must be sent again,
    identical; without one there, the token request may omit it or name the registered one.
    """
    if at_authorize:
        return sent == at_authorize
    return sent in ("", registered)
