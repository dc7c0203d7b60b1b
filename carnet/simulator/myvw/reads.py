"""The myVW reads: extended status, charge and climate summaries, the vehicle-token
summary and location, and the charging and climate settings.

Which token each takes (T1 access token, T2 vehicle token) follows ``myvw-api.md``;
where sources differ (the summaries) both are accepted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from carnet.simulator.context import Context
from carnet.simulator.generations import MYVW
from carnet.simulator.myvw import shapes
from carnet.simulator.myvw.auth import caller, not_authorized, unauthorized, vehicle_of
from carnet.simulator.myvw.state import MyvwStore
from carnet.simulator.vehicle import Vehicle
from carnet.simulator.web import Request, Response, Router, json_response

_LOG = logging.getLogger(__name__)

Render = Callable[[Request, Vehicle], dict[str, Any]]


class ReadApi:
    def __init__(self, ctx: Context, store: MyvwStore,
                 carnet_status: Callable[[Request, Any], Response]) -> None:
        self.ctx = ctx
        self.store = store
        self.carnet_status = carnet_status

    def register(self, router: Router) -> None:
        ev = r"/ev/v1/vehicle/([^/]+)"
        router.add("GET", r"/rvs/v1/vehicle/([^/]+)", self.status)
        router.add("GET", rf"{ev}/charge/summary", self._read(self._charge, ev_only=True))
        router.add("GET", rf"{ev}/climate/summary", self._read(self._climate, ev_only=True))
        router.add("GET", rf"{ev}/charging/settings",
                   self._read(self._charging_settings, ev_only=True))
        router.add("GET", rf"{ev}/pretripclimate/settings",
                   self._read(self._climate_settings, ev_only=True))
        router.add("GET", r"/ev/v1/user/([^/]+)/vehicle/([^/]+)/summary", self.summary)
        router.add("GET", r"/rvs/v1/location/vehicle/([^/]+)",
                   self._read(self._location, access_token=False))
        # vehicle-token reads whose fields no source shows: empty lists
        for path in (r"/history/activity/v1/vehicle/([^/]+)",
                     r"/messagecenter/v2/user/[^/]+/vehicle/([^/]+)",
                     r"/poi/v1/vehicle/([^/]+)/trip"):
            router.add("GET", path, self._read(lambda _req, _v: {"data": []},
                                               access_token=False))

    def status(self, req: Request, m: Any) -> Response:
        """The Car-Net app's status read, with the myVW extras for a myVW caller."""
        with self.ctx.lock:
            client = self.ctx.tokens.access_client(req.bearer())
            generation = self.ctx.generations.by_client(client)
            if generation is None or generation.name != MYVW:
                return self.carnet_status(req, m)
        return self._read(lambda _req, v: shapes.status(v))(req, m)

    def _read(self, render: Render, *, ev_only: bool = False,
              access_token: bool = True) -> Callable[[Request, Any], Response]:
        def handler(req: Request, m: Any) -> Response:
            with self.ctx.lock:
                who = caller(self.ctx, req)
                if who is None:
                    return unauthorized()
                vehicle, refusal = vehicle_of(self.ctx, who, m.group(m.lastindex or 1),
                                              vehicle_token=True, access_token=access_token)
                if refusal:
                    return refusal
                assert vehicle is not None
                if ev_only and not vehicle.ev:
                    return not_authorized(who.account.email, "not an electric vehicle")
                vehicle.advance(self.ctx.clock.now())
                return json_response(200, render(req, vehicle), account=who.account.email)
        return handler

    def summary(self, req: Request, m: Any) -> Response:
        with self.ctx.lock:
            who = caller(self.ctx, req)
            if who is not None and m.group(1) != who.account.user_id:
                return not_authorized(who.account.email, "userId is not this token's user")
        return self._read(self._t2_summary, ev_only=True, access_token=False)(req, m)

    def _account(self, vehicle: Vehicle) -> Any:
        return self.ctx.registry.account(vehicle.account)

    def _charge(self, req: Request, v: Vehicle) -> dict[str, Any]:
        return {"data": shapes.charge_blocks(v, self.store.of(v.vin).auto_unlock)}

    def _climate_blocks(self, req: Request, v: Vehicle) -> dict[str, Any]:
        account = self._account(v)
        return {"climateSettings": shapes.climate_settings(
                    v, account, shapes.unit_of(req.query, account),
                    self.store.of(v.vin).climate_elements),
                "climateStatusReport": shapes.climate_report(v, self.ctx.clock.now())}

    def _climate(self, req: Request, v: Vehicle) -> dict[str, Any]:
        return {"data": {**self._climate_blocks(req, v),
                         "windowHeatingStatus": shapes.window_heating(v)}}

    def _charging_settings(self, req: Request, v: Vehicle) -> dict[str, Any]:
        return {"data": {"chargingSettings": shapes.charge_settings(
            v, self.store.of(v.vin).auto_unlock)}}

    def _climate_settings(self, req: Request, v: Vehicle) -> dict[str, Any]:
        account = self._account(v)
        return {"data": shapes.climate_settings(v, account, shapes.unit_of(req.query, account),
                                                self.store.of(v.vin).climate_elements)}

    def _t2_summary(self, req: Request, v: Vehicle) -> dict[str, Any]:
        account = self._account(v)
        unit = shapes.unit_of(req.query, account)
        unit_name = "celsius" if unit == "C" else "fahrenheit"
        # the service's cabin and outdoor temperatures are placeholders (80 °F)
        fake = {"temperature": shapes.temperature(80, "F", unit), "unit": unit_name}
        battery = shapes.charge_blocks(v, self.store.of(v.vin).auto_unlock)
        battery["chargeModeOptions"] = ["manual"]
        return {"data": {"batteryAndPlugStatus": battery, "climateStatus": {
            **self._climate_blocks(req, v),
            "temperature": {"cabinTemperature": dict(fake), "outdoorTemperature": dict(fake)}}}}

    def _location(self, req: Request, v: Vehicle) -> dict[str, Any]:
        return {"data": {"latitude": v.location["latitude"],
                         "longitude": v.location["longitude"], "heading": 0, "parked": True,
                         "timestamp": int(v.timestamp * 1000)}}
