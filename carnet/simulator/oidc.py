"""The OIDC endpoints of the API host: authorize (step 1), the callback that hands out the
code (end of step 3), and the token endpoint (step 4 and refresh).

The client id picks the app generation (:mod:`carnet.simulator.generations`). For the
myVW generation the token endpoint also checks ``play_integrity_token`` when
``attestation`` is "present" (any value) or "required" (the simulator's value), issues
JWTs carrying ``sub``, and answers a refresh without a new refresh token (clients keep
the old one, which stays valid).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from urllib.parse import urlencode

from carnet.simulator.context import Context
from carnet.simulator.generations import MYVW, Generation
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


#: What the real token endpoint answers a myVW request without a valid attestation.
ATTESTATION_REFUSAL = {"errorCode": "INVALID_REQUEST", "origin": "CarnetSPAuthorizationServer"}


class OidcService:
    def __init__(self, ctx: Context, identity: IdentityService) -> None:
        self.ctx = ctx
        self.identity = identity

    def register(self, router: Router) -> None:
        router.add("GET", r"/oidc/v1/authorize", self.authorize)
        router.add("GET", r"/oidc/v1/oauth/client/callback", self.callback)
        router.add("POST", r"/oidc/v1/token", self.token)

    def _generation(self, client_id: str | None, status: int) -> tuple[Generation | None,
                                                                      Response | None]:
        """The generation of a client id, or the refusal of an unknown or retired one."""
        generations = self.ctx.generations
        if client_id == generations.other_region_client:
            return None, oauth_error(400, "invalid_client", "client_id is not valid in this "
                                     "region")
        generation = generations.by_client(client_id)
        if generation is None or generation.name in self.ctx.faults.retired():
            return None, oauth_error(status, "invalid_client", "unknown client_id")
        return generation, None

    def authorize(self, req: Request, _m: object) -> Response:
        q = req.query
        generation, refusal = self._generation(q.get("client_id"), 400)
        if refusal:
            return refusal
        assert generation is not None
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
        if sent_uri and sent_uri != generation.redirect_uri:
            # never redirect to an unregistered URI: the error stays on this host
            return oauth_error(400, "invalid_request",
                               "redirect_uri is not registered for this client")
        with self.ctx.lock:
            # the myVW client takes exactly "openid": a wider scope signs in, then no code
            scope_ok = generation.name != MYVW or q.get("scope", "").split() == ["openid"]
            location = self.identity.begin(generation, sent_uri, challenge, q.get("state"),
                                           self.ctx.base_url(req.header("Host"), "identity"),
                                           scope_ok)
        response = redirect(location, 302)
        response.generation = generation.name
        return response

    def callback(self, req: Request, _m: object) -> Response:
        with self.ctx.lock:
            tx = self.identity.redeem(req.query.get("relayState", ""),
                                      req.query.get("sso", ""))
            if tx is None or tx.email is None:
                return oauth_error(400, "invalid_request", "unknown or used sign-in handoff")
            code = self.ctx.tokens.new_code(tx.email, tx.generation.client_id,
                                            tx.redirect_uri, tx.challenge) if tx.scope_ok else None
        if code is None:
            params = {"error": "invalid_scope", "error_description": "scope must be openid",
                      **({"state": tx.state} if tx.state is not None else {})}
        elif tx.generation.name == MYVW:
            params = {"code": code, **({"state": tx.state} if tx.state is not None else {})}
        else:
            params = {"state": tx.state, "code": code} if tx.state is not None \
                else {"code": code}
        target = tx.redirect_uri or tx.generation.redirect_uri
        sep = "&" if "?" in target else "?"
        response = redirect(f"{target}{sep}{urlencode(params)}", 302, account=tx.email)
        response.generation = tx.generation.name
        return response

    def token(self, req: Request, _m: object) -> Response:
        form = req.params()
        if form is None:
            return oauth_error(400, "invalid_request",
                               "expected application/x-www-form-urlencoded")
        fault = self.ctx.faults.get("login_change")
        if fault is not None:
            sent = form.get(fault["require_field"])
            if sent is None or (fault["value"] is not None and sent != fault["value"]):
                # what the vendor's change looked like: the sign-in passed, the token
                # request gets the refusal the myVW clients met when attestation came in
                return json_response(401, ATTESTATION_REFUSAL, [("Cache-Control", "no-store")])
        generation, refusal = self._generation(form.get("client_id"), 401)
        if refusal:
            return refusal
        assert generation is not None
        if generation.name == MYVW and not self._attested(form.get("play_integrity_token")):
            response = json_response(401, ATTESTATION_REFUSAL, [("Cache-Control", "no-store")])
            response.generation = MYVW
            return response
        grant_type = form.get("grant_type")
        with self.ctx.lock:
            if grant_type == "authorization_code":
                response = self._code_grant(form, generation)
            elif grant_type == "refresh_token":
                response = self._refresh_grant(form, generation)
            else:
                response = oauth_error(400, "unsupported_grant_type",
                                       "grant_type must be authorization_code or refresh_token")
        response.generation = generation.name
        return response

    def _attested(self, sent: str | None) -> bool:
        """Whether a myVW token request passes the attestation the options ask for."""
        mode = self.ctx.options.attestation
        if mode == "present":
            return bool(sent)
        if mode == "required":
            return secrets.compare_digest((sent or "").encode(),
                                          self.ctx.attestation_token.encode())
        return True

    def _subject(self, generation: Generation, email: str) -> str | None:
        """The ``sub`` claim of myVW tokens: the account's userId."""
        account = self.ctx.registry.account(email)
        return account.user_id if generation.name == MYVW and account is not None else None

    def _code_grant(self, form: dict[str, str], generation: Generation) -> Response:
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
                              generation.redirect_uri):
            return oauth_error(400, "invalid_grant",
                               "redirect_uri differs from the one of the authorize request",
                               grant.account)
        if not secrets.compare_digest(s256(verifier), grant.challenge):
            return oauth_error(400, "invalid_grant", "code_verifier does not match",
                               grant.account)
        tokens = self.ctx.tokens.new_tokens(grant.account, grant.client_id, verifier,
                                            self._subject(generation, grant.account))
        _LOG.info("tokens granted to %s (%s)", grant.account, generation.name)
        return json_response(200, tokens, [("Cache-Control", "no-store")], grant.account)

    def _refresh_grant(self, form: dict[str, str], generation: Generation) -> Response:
        token, verifier = form.get("refresh_token", ""), form.get("code_verifier", "")
        if not token:
            return oauth_error(400, "invalid_request", "refresh_token is required")
        grant = self.ctx.tokens.peek_refresh(token)
        if grant is None or grant.client_id != generation.client_id:
            return oauth_error(401, "invalid_grant", "refresh_token is unknown or expired")
        if not verifier:
            message = ("Internal Service validation failure" if generation.name == MYVW
                       else "code_verifier is required")
            return oauth_error(400, "invalid_request", message, grant.account)
        if not secrets.compare_digest(verifier.encode(), grant.verifier.encode()):
            return oauth_error(400, "invalid_grant", "code_verifier does not match",
                               grant.account)
        tokens = self.ctx.tokens.new_tokens(grant.account, grant.client_id, grant.verifier,
                                            self._subject(generation, grant.account))
        if generation.name == MYVW:
            # no new refresh token comes back: the client keeps using the old one
            self.ctx.tokens.revoke_refresh(str(tokens.pop("refresh_token")))
            tokens.pop("refresh_expires_in")
        else:
            self.ctx.tokens.revoke_refresh(token)  # rotation: the old refresh token is spent
        return json_response(200, tokens, [("Cache-Control", "no-store")], grant.account)


def _same_redirect(sent: str, at_authorize: str, registered: str) -> bool:
    """RFC 6749 4.1.3: a redirect_uri sent with the authorize request must be sent again,
    identical; without one there, the token request may omit it or name the registered one.
    """
    if at_authorize:
        return sent == at_authorize
    return sent in ("", registered)
