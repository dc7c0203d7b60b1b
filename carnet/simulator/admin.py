"""The ``/_sim/`` inspection and fault-injection endpoints (see the package docstring)."""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

from carnet.simulator.context import Context
from carnet.simulator.vehicle import Vehicle
from carnet.simulator.vehicle_patch import patch
from carnet.simulator.web import Request, Response, Router, api_error, json_response

_LOG = logging.getLogger(__name__)

_LOG_SIZE = 100_000  # request log entries kept; the oldest go first


class RequestLog:
    """Every non-/_sim/ request received, in order. Callers hold the simulator's lock."""

    def __init__(self) -> None:
        self.entries: deque[dict[str, Any]] = deque(maxlen=_LOG_SIZE)

    def add(self, entry: dict[str, Any]) -> None:
        self.entries.append(entry)


class AdminApi:
    def __init__(self, ctx: Context, log: RequestLog) -> None:
        self.ctx = ctx
        self.log = log

    def register(self, router: Router) -> None:
        router.add("GET", r"/_sim/requests", self.get_requests)
        router.add("DELETE", r"/_sim/requests", self.clear_requests)
        router.add("GET", r"/_sim/fault", self.get_faults)
        router.add("POST", r"/_sim/fault", self.add_fault)
        router.add("DELETE", r"/_sim/fault", self.clear_faults)
        router.add("DELETE", r"/_sim/fault/([a-z_]+)", self.clear_fault)
        router.add("POST", r"/_sim/expire_tokens", self.expire_tokens)
        router.add("GET", r"/_sim/vehicles", self.get_vehicles)
        router.add("GET", r"/_sim/vehicles/([A-Za-z0-9]+)", self.get_vehicle)
        router.add("PATCH", r"/_sim/vehicles/([A-Za-z0-9]+)", self.patch_vehicle)
        router.add("GET", r"/_sim/accounts", self.get_accounts)
        router.add("PATCH", r"/_sim/accounts/([^/]+)", self.patch_account)

    def get_requests(self, req: Request, _m: object) -> Response:
        """The log, each entry with its ``generation`` and ``bearer``."""
        with self.ctx.lock:
            entries = list(self.log.entries)
        return json_response(200, entries)

    def clear_requests(self, req: Request, _m: object) -> Response:
        with self.ctx.lock:
            self.log.entries.clear()
        return json_response(200, {"cleared": True})

    def get_faults(self, req: Request, _m: object) -> Response:
        return json_response(200, self.ctx.faults.active())

    def add_fault(self, req: Request, _m: object) -> Response:
        try:
            fault = self.ctx.faults.add(req.json())
        except ValueError as exc:
            return api_error(400, "INVALID_FAULT", str(exc))
        return json_response(200, {"active": self.ctx.faults.active(), "added": fault})

    def clear_faults(self, req: Request, _m: object) -> Response:
        self.ctx.faults.clear()
        return json_response(200, {"active": []})

    def clear_fault(self, req: Request, m: Any) -> Response:
        if not self.ctx.faults.remove(m.group(1)):
            return api_error(404, "NOT_FOUND", f"fault {m.group(1)} is not active")
        return json_response(200, {"active": self.ctx.faults.active()})

    def expire_tokens(self, req: Request, _m: object) -> Response:
        with self.ctx.lock:
            self.ctx.tokens.expire_all()
        return json_response(200, {"expired": True})

    def get_vehicles(self, req: Request, _m: object) -> Response:
        with self.ctx.lock:
            now = self.ctx.clock.now()
            states = []
            for vehicle in self.ctx.registry.vehicles():
                states.append(self._state(vehicle, now))
        return json_response(200, states)

    def _state(self, vehicle: Vehicle, now: float) -> dict[str, Any]:
        vehicle.advance(now)
        state = vehicle.sim_state()
        state["wakeups"] = vehicle.recent_wakeups(now, self.ctx.options.wakeup_window)
        return state

    def get_vehicle(self, req: Request, m: Any) -> Response:
        with self.ctx.lock:
            vehicle = self.ctx.registry.by_vin.get(m.group(1))
            if vehicle is None:
                return api_error(404, "VEHICLE_NOT_FOUND", f"no vehicle with VIN {m.group(1)}")
            return json_response(200, self._state(vehicle, self.ctx.clock.now()))

    def patch_vehicle(self, req: Request, m: Any) -> Response:
        try:
            changes = req.json()
        except ValueError:
            changes = None
        if not isinstance(changes, dict):
            return api_error(400, "INVALID_REQUEST", "body must be a JSON object")
        with self.ctx.lock:
            vehicle = self.ctx.registry.by_vin.get(m.group(1))
            if vehicle is None:
                return api_error(404, "VEHICLE_NOT_FOUND", f"no vehicle with VIN {m.group(1)}")
            now = self.ctx.clock.now()
            vehicle.advance(now)
            try:
                patch(vehicle, changes, now)
            except ValueError as exc:
                return api_error(400, "INVALID_REQUEST", str(exc))
            return json_response(200, self._state(vehicle, now))

    def get_accounts(self, req: Request, _m: object) -> Response:
        with self.ctx.lock:
            return json_response(200, [a.summary() for a in self.ctx.registry.accounts.values()])

    def patch_account(self, req: Request, m: Any) -> Response:
        try:
            changes = req.json()
        except ValueError:
            changes = None
        # The password changes as when the owner changes it on the vendor's site: the
        # next full login with the old one is refused.
        if not isinstance(changes, dict) or not changes or \
                set(changes) - {"pin_locked", "password"} or \
                not isinstance(changes.get("pin_locked", False), bool) or \
                not isinstance(changes.get("password", "x"), str) or \
                not changes.get("password", "x"):
            return api_error(400, "INVALID_REQUEST",
                             'accepted: {"pin_locked": boolean, "password": non-empty text}')
        with self.ctx.lock:
            account = self.ctx.registry.account(m.group(1))
            if account is None:
                return api_error(404, "NOT_FOUND", f"no account {m.group(1)}")
            if "pin_locked" in changes:
                account.pin_locked = changes["pin_locked"]
                account.failed_pins = 0
            if "password" in changes:
                account.password = changes["password"]
            return json_response(200, account.summary())
