"""The two listeners, request dispatch, the request log, and the Simulator object."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from carnet.simulator.admin import AdminApi, RequestLog
from carnet.simulator.context import Context
from carnet.simulator.generations import MYVW
from carnet.simulator.identity import IdentityService
from carnet.simulator.myvw.account_api import AccountApi
from carnet.simulator.myvw.command_api import CommandApi
from carnet.simulator.myvw.reads import ReadApi
from carnet.simulator.myvw.state import MyvwStore
from carnet.simulator.oidc import OidcService
from carnet.simulator.options import SimulatorOptions
from carnet.simulator.vehicle_api import VehicleApi
from carnet.simulator.web import Request, Response, Router, api_error, json_response

_LOG = logging.getLogger(__name__)

_MAX_BODY = 1 << 20


class _Listener(ThreadingHTTPServer):
    """One host. Tracks its connections so that stop() can cut idle and hung ones."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], kind: str, app: _App) -> None:
        self.kind = kind
        self.app = app
        self.connections: set[socket.socket] = set()
        self.handler_threads: set[threading.Thread] = set()
        self.guard = threading.Lock()
        super().__init__(address, _Handler)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        thread = threading.current_thread()
        with self.guard:
            self.handler_threads.add(thread)
            self.connections.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.guard:
                self.handler_threads.discard(thread)
                self.connections.discard(request)

    def cut_connections(self) -> None:
        with self.guard:
            connections = list(self.connections)
        for conn in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real client's session expects
    server_version = "nginx"
    # headers and body leave in one write: separate small writes meet Nagle's algorithm
    # and the client's delayed ACK, and every answer would take 40 ms
    wbufsize = 1 << 16
    sys_version = ""
    server: _Listener

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _handle(self) -> None:
        length = _content_length(self.headers.get("Content-Length"))
        if length is None:
            self.send_error(400, "Bad Request", "Content-Length must be a whole number")
            return
        if length > _MAX_BODY:
            self.send_error(413, "Payload Too Large", f"the body may be at most {_MAX_BODY} bytes")
            return
        body = self.rfile.read(length) if length > 0 else b""
        parts = urlsplit(self.path)
        request = Request(self.command, parts.path or "/", dict(parse_qsl(parts.query)),
                          self.headers, body, self.server.kind)
        response = self.server.app.handle(request)
        if response is None:  # a hung request, released: drop the connection unanswered
            self.close_connection = True
            return
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        _LOG.debug("%s %s", self.server.kind, format % args)


def _content_length(value: str | None) -> int | None:
    """The body length a Content-Length header announces (0 without one); None when it is
    not a non-negative whole number. send_error closes the connection, so an unread body
    never reaches the next request."""
    if value is None or not value.strip():
        return 0
    text = value.strip()
    if not text.isascii() or not text.isdigit():
        return None
    return int(text)


class _App:
    """Routes each request to its host's endpoints, applies faults, keeps the log."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.log = RequestLog()
        self.identity = IdentityService(ctx)
        self.api_router = Router()
        self.identity_router = Router()
        self.admin_router = Router()
        OidcService(ctx, self.identity).register(self.api_router)
        carnet = VehicleApi(ctx)
        # the myVW routes first: on the paths both generations share, they hand a
        # request whose bearer is no myVW token on to the Car-Net handler
        myvw = MyvwStore()
        AccountApi(ctx, myvw, carnet.session).register(self.api_router)
        ReadApi(ctx, myvw, carnet.status).register(self.api_router)
        CommandApi(ctx, myvw).register(self.api_router)
        carnet.register(self.api_router)
        self.identity.register(self.identity_router)
        AdminApi(ctx, self.log).register(self.admin_router)

    def handle(self, request: Request) -> Response | None:
        if request.host == "api" and request.path.startswith("/_sim/"):
            return self._safe(self.admin_router, request)
        faults = self.ctx.faults
        bearer = self._bearer_kind(request)
        if faults.get("hang") is not None:
            self._record(request, None, None)
            while faults.get("hang") is not None and not self.ctx.stopping.is_set():
                self.ctx.stopping.wait(0.05)
            return None
        slow = faults.take("slow", request.method, request.path)
        if slow is not None:
            self.ctx.stopping.wait(slow["seconds"])
        outage = faults.get("outage")
        answer = faults.take("answer", request.method, request.path)
        if outage is not None:
            response = api_error(outage["status"], "SERVICE_UNAVAILABLE",
                                 "the service is temporarily unavailable")
        elif answer is not None:
            response = json_response(answer["status"], answer["body"],
                                     list(answer["headers"].items()))
        else:
            router = self.api_router if request.host == "api" else self.identity_router
            response = self._safe(router, request)
        if bearer is not None:
            response.generation = response.generation or bearer[0]
            response.bearer = response.bearer or bearer[1]
        self._record(request, response.status, response.account, response)
        return response

    def _bearer_kind(self, request: Request) -> tuple[str, str] | None:
        """(generation, "access"|"id"|"vehicle") of the request's bearer token, if live."""
        token = request.bearer()
        if token is None:
            return None
        tokens = self.ctx.tokens
        with self.ctx.lock:
            if token in tokens.vehicle:
                return MYVW, "vehicle"
            for kind, store in (("access", tokens.access), ("id", tokens.ids)):
                grant = store.get(token)
                if grant is not None:
                    generation = self.ctx.generations.by_client(grant.client_id)
                    return (generation.name if generation else "carnet"), kind
        return None

    def _record(self, request: Request, status: int | None, account: str | None,
                response: Response | None = None) -> None:
        with self.ctx.lock:
            self.log.add({"time": time.time(), "method": request.method, "host": request.host,
                          "path": request.path, "status": status, "account": account,
                          "generation": response.generation if response else None,
                          "bearer": response.bearer if response else None,
                          "body": _json_body(request)})

    @staticmethod
    def _safe(router: Router, request: Request) -> Response:
        try:
            return router.dispatch(request)
        except Exception:  # a simulator bug must show as a 500, not as a dropped connection
            _LOG.exception("error handling %s %s", request.method, request.path)
            return api_error(500, "INTERNAL_ERROR", "internal error")


def _url(host: str, port: int) -> str:
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


class Simulator:
    """The Car-Net cloud on two local listeners. See the package docstring."""

    def __init__(self, options: SimulatorOptions | None = None) -> None:
        self.options = options or SimulatorOptions()
        self.ctx = Context(self.options)
        self._app = _App(self.ctx)
        self._listeners: list[_Listener] = []
        self._threads: list[threading.Thread] = []
        self.api_url = ""
        self.identity_url = ""

    def start(self) -> Simulator:
        if self._listeners:
            raise RuntimeError("simulator already started")
        opts = self.options
        api = _Listener((opts.host, opts.port), "api", self._app)
        try:
            identity = _Listener((opts.host, opts.identity_port), "identity", self._app)
        except OSError:
            api.server_close()
            raise
        self._listeners = [api, identity]
        self.api_url = self.ctx.api_url = _url(opts.host, api.server_address[1])
        self.identity_url = self.ctx.identity_url = _url(opts.host, identity.server_address[1])
        self.ctx.api_port = api.server_address[1]
        self.ctx.identity_port = identity.server_address[1]
        for listener in self._listeners:
            thread = threading.Thread(target=listener.serve_forever, kwargs={"poll_interval": 0.05},
                                      name=f"carnet-sim-{listener.kind}", daemon=True)
            thread.start()
            self._threads.append(thread)
        _LOG.info("Car-Net simulator: API %s, identity %s", self.api_url, self.identity_url)
        return self

    def stop(self) -> None:
        """Close the listeners, release hung requests, cut connections, join threads."""
        self.ctx.stopping.set()
        for listener in self._listeners:
            listener.shutdown()
            listener.server_close()
        for listener in self._listeners:
            listener.cut_connections()
        deadline = time.monotonic() + 2.0
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        for listener in self._listeners:
            with listener.guard:
                handlers = list(listener.handler_threads)
            for thread in handlers:
                thread.join(max(0.0, deadline - time.monotonic()))
        self._listeners = []
        self._threads = []

    @property
    def requests_log(self) -> list[dict[str, Any]]:
        """The request log, as ``GET /_sim/requests`` returns it."""
        with self.ctx.lock:
            return list(self._app.log.entries)

    def __enter__(self) -> Simulator:
        return self if self._listeners else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _json_body(request: Request) -> Any:
    """The JSON body of a request, for the log (tests check what a command sent); None
    for a request without one, such as the sign-in forms."""
    if not request.body or request.content_type() != "application/json":
        return None
    try:
        return request.json()
    except ValueError:
        return None
