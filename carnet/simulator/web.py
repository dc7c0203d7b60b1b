"""Requests and responses as plain values, so the endpoints never touch sockets."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl

_LOG = logging.getLogger(__name__)


@dataclass
class Request:
    method: str
    path: str  # without the query string
    query: dict[str, str]
    headers: Message
    body: bytes
    host: str  # "api" or "identity"

    def header(self, name: str) -> str:
        return self.headers.get(name, "") or ""

    def content_type(self) -> str:
        return self.header("Content-Type").split(";")[0].strip().lower()

    def params(self) -> dict[str, str] | None:
        """The request parameters as the Spring services behind the real hosts read them:
        the query string, overridden by a url-encoded body. None when the body is
        anything else (multipart…)."""
        params = dict(self.query)
        if self.body:
            form = self.form()
            if form is None:
                return None
            params.update(form)
        return params

    def form(self) -> dict[str, str] | None:
        """The url-encoded form, or None when the body is anything else (multipart…)."""
        if self.content_type() != "application/x-www-form-urlencoded":
            return None
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))

    def json(self) -> Any:
        """The JSON body; raises ValueError when it is not JSON."""
        return json.loads(self.body.decode("utf-8"))

    def cookies(self) -> dict[str, str]:
        jar = SimpleCookie()
        try:
            jar.load(self.header("Cookie"))
        except Exception:  # a malformed Cookie header is treated as no cookies
            return {}
        return {key: morsel.value for key, morsel in jar.items()}

    def bearer(self) -> str | None:
        match = re.fullmatch(r"\s*[Bb]earer\s+(\S+)\s*", self.header("Authorization"))
        return match.group(1) if match else None


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    account: str | None = None  # who made the request, for the request log
    generation: str | None = None  # "carnet" or "myvw", for the request log
    bearer: str | None = None  # "access" or "vehicle": the token kind the request used


def json_response(status: int, payload: Any, headers: list[tuple[str, str]] | None = None,
                  account: str | None = None) -> Response:
    body = json.dumps(payload).encode("utf-8")
    return Response(status, body, [("Content-Type", "application/json;charset=UTF-8"),
                                   *(headers or [])], account)


def api_error(status: int, code: str, message: str, account: str | None = None,
              headers: list[tuple[str, str]] | None = None) -> Response:
    """The error body of the vehicle API: ``{"error": {"code", "message"}}``."""
    return json_response(status, {"error": {"code": code, "message": message}}, headers,
                         account)


def oauth_error(status: int, error: str, description: str,
                account: str | None = None) -> Response:
    """The error body of the OIDC endpoints (RFC 6749 §5.2)."""
    return json_response(status, {"error": error, "error_description": description},
                         [("Cache-Control", "no-store")], account)


def html_response(status: int, text: str, headers: list[tuple[str, str]] | None = None,
                  account: str | None = None) -> Response:
    return Response(status, text.encode("utf-8"),
                    [("Content-Type", "text/html;charset=UTF-8"), *(headers or [])], account)


def redirect(location: str, status: int = 302, headers: list[tuple[str, str]] | None = None,
             account: str | None = None) -> Response:
    return Response(status, b"", [("Location", location), *(headers or [])], account)


Handler = Callable[[Request, "re.Match[str]"], Response]


class Router:
    """Method and path-pattern dispatch; a known path with another method gets 405."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append((method, re.compile(pattern), handler))

    def dispatch(self, request: Request) -> Response:
        allowed: list[str] = []
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            if method == request.method:
                return handler(request, match)
            allowed.append(method)
        if allowed:
            message = f"{request.method} is not allowed here"
            # both error shapes: {"code", "message"} (Car-Net app) and
            # {"errorCode", "errorDescription"} (myVW app)
            return json_response(405, {"error": {
                "code": "METHOD_NOT_ALLOWED", "message": message,
                "errorCode": "METHOD_NOT_ALLOWED", "errorDescription": message}},
                [("Allow", ", ".join(sorted(set(allowed))))])
        return api_error(404, "NOT_FOUND", f"no resource at {request.path}")
