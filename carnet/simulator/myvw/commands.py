"""The myVW commands, with the vehicle token as bearer, and their outcomes.

Every command answers ``{"data": {"result": 0, "correlationId": …}}`` (the wake-up
``{"data": {"result": 0}}``) and changes the car ``apply_delay`` seconds later. Its
outcome, ``GET /history/v1/vehicle/<id>/correlationId/<cid>/ro/``, is QUEUED until then
and then SUCCESS, or FAILED when the car could not do it (charging while unplugged,
climate settings while the climate runs…). Back-to-back EV commands for one car within
``ev_command_gap`` seconds get 429 ``EV_THRESHOLD_EXCEEDED``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from carnet.simulator.accounts import Account
from carnet.simulator.clock import real_now
from carnet.simulator.context import Context
from carnet.simulator.myvw import shapes
from carnet.simulator.myvw.state import MyvwStore
from carnet.simulator.vehicle import Vehicle

_LOG = logging.getLogger(__name__)

#: A command's effect: (state command for the car or None, can the car do it).
Effect = tuple[tuple[str, Any] | None, bool]


class BadBody(ValueError):
    """The body is not what the endpoint takes; the message says what is."""


def _flag(body: dict[str, Any], name: str) -> bool:
    if not isinstance(body.get(name), bool):
        raise BadBody(f"{name} must be a JSON boolean")
    return bool(body[name])


@dataclass(frozen=True)
class Command:
    method: str
    path: str  # regex after the host, the vehicleId as group 1
    code: int  # outcome code of success; failure is code + 1
    name: str  # outcome name, e.g. RO_DOOR
    ev: bool  # an EV command: electric cars only, paced by ev_command_gap
    effect: Callable[[Context, MyvwStore, dict[str, Any], Vehicle, Account], Effect]
    combustion: bool = False  # combustion cars only (remote start)


def _lock(ctx: Context, st: MyvwStore, body: dict[str, Any], v: Vehicle, a: Account) -> Effect:
    return ("lock", _flag(body, "lock")), True  # an "action" key is ignored


def _honk(ctx: Context, st: MyvwStore, body: dict[str, Any], v: Vehicle, a: Account) -> Effect:
    horn, lights = _flag(body, "horn"), _flag(body, "lights")
    if not (horn or lights):
        raise BadBody("horn or lights must be true")
    return ("horn_lights", (horn, lights)), True


def _action_mode(body: dict[str, Any]) -> None:
    if body.get("actionMode", "immediate") != "immediate":
        raise BadBody('actionMode must be "immediate"')


def _charge(start: bool) -> Any:
    def effect(ctx: Context, st: MyvwStore, body: dict[str, Any], v: Vehicle,
               a: Account) -> Effect:
        _action_mode(body)
        feasible = not start or (bool(v.plugged_in) and (v.battery_level or 0) < v.target_soc)
        return ("charge", start), feasible
    return effect


_CHARGE_KEYS = ("maxChargingCurrent", "autoUnlockPlugWhenCharged", "targetSOCPercentage",
                "chargeModeSelection")


def _charge_settings(ctx: Context, st: MyvwStore, body: dict[str, Any], v: Vehicle,
                     a: Account) -> Effect:
    settings = body.get("chargingSettings", body)  # the GET's wrapper may be sent back
    if not isinstance(settings, dict) or not set(_CHARGE_KEYS) <= set(settings):
        raise BadBody(f"the full settings object is required: {list(_CHARGE_KEYS)}")
    target = settings["targetSOCPercentage"]
    if isinstance(target, bool) or target not in range(50, 101, 10):
        raise BadBody("targetSOCPercentage must be 50, 60, 70, 80, 90 or 100")
    if not isinstance(settings["maxChargingCurrent"], str) or \
            settings["maxChargingCurrent"] not in shapes.CURRENTS:
        raise BadBody(f"maxChargingCurrent must be one of {list(shapes.CURRENTS)}")
    if settings["autoUnlockPlugWhenCharged"] not in shapes.AUTO_UNLOCK:
        raise BadBody(f"autoUnlockPlugWhenCharged must be one of {list(shapes.AUTO_UNLOCK)}")
    st.of(v.vin).auto_unlock = settings["autoUnlockPlugWhenCharged"]
    current = shapes.CURRENTS[settings["maxChargingCurrent"]]
    if current != "max" and v.max_charge_current != "max":
        current = v.max_charge_current  # "reduced" keeps a reduced Car-Net setting
    return ("charge_settings", (int(target), current)), True


def _climate(start: bool) -> Any:
    def effect(ctx: Context, st: MyvwStore, body: dict[str, Any], v: Vehicle,
               a: Account) -> Effect:
        feasible = not start or v.can_climate()
        return ("pretrip_climate", (start, ctx.options.climate_minutes)), feasible
    return effect


def _climate_settings(ctx: Context, st: MyvwStore, body: dict[str, Any], v: Vehicle,
                      a: Account) -> Effect:
    target = body.get("targetTemperature")
    if not isinstance(target, dict):
        raise BadBody("targetTemperature {temperature, unit} is required")
    unit = {"celsius": "C", "fahrenheit": "F"}.get(str(target.get("unit", "")).lower())
    value = target.get("temperature")
    if unit is None:
        raise BadBody('targetTemperature.unit must be "celsius" or "fahrenheit"')
    low, high, step = (16.0, 29.5, 0.5) if unit == "C" else (61.0, 85.0, 1.0)
    if isinstance(value, bool) or not isinstance(value, int | float) or \
            not low <= value <= high or (value - low) % step:
        raise BadBody(f"targetTemperature.temperature must be from {low} to {high} "
                      f"in steps of {step} ({target['unit']})")
    unplugged = body.get("climatizationWithoutExternalPower", v.unplugged_climate)
    if not isinstance(unplugged, bool):
        raise BadBody("climatizationWithoutExternalPower must be a JSON boolean")
    elements = body.get("climatizationElementSettings", {})
    extras = st.of(v.vin)
    if not isinstance(elements, dict) or any(k not in extras.climate_elements or
                                             not isinstance(x, bool)
                                             for k, x in elements.items()):
        raise BadBody("climatizationElementSettings takes booleans: "
                      f"{sorted(extras.climate_elements)}")
    if v.climate_on:
        return None, False  # applies only while the climate is off
    extras.climate_elements.update(elements)
    in_account_unit = shapes.temperature(float(value), unit, a.temperature_unit)
    return ("climate_settings", (in_account_unit, unplugged)), True


def _window_heating(start: bool) -> Any:
    def effect(ctx: Context, st: MyvwStore, body: dict[str, Any], v: Vehicle,
               a: Account) -> Effect:
        return ("defrost", start), not start or v.can_climate()
    return effect


#: simulated minutes a remote start runs the engine (unreported; the usual 15)
REMOTE_START_MINUTES = 15.0


def _remote_start(start: bool) -> Any:
    def effect(ctx: Context, st: MyvwStore, body: dict[str, Any], v: Vehicle,
               a: Account) -> Effect:
        grant = st.ro_tokens.get(str(body.get("roToken", "")))
        if grant is None or grant[0] != a.email or grant[1] != v.vin or \
                grant[2] <= real_now():
            raise BadBody("roToken is missing, expired or not for this vehicle; "
                          "get one from operation/climateControl/check")
        return ("remote_start", (start, REMOTE_START_MINUTES)), True
    return effect


_EV = r"/ev/v1/vehicle/([^/]+)"
COMMANDS = (
    Command("PUT", r"/lockunlock/v1/vehicle/([^/]+)", 4101, "RO_DOOR", False, _lock),
    Command("PUT", r"/honkflash/v1/vehicle/([^/]+)", 4201, "RO_HONK_FLASH", False, _honk),
    Command("POST", rf"{_EV}/charging/start", 4301, "RO_CHARGING", True, _charge(True)),
    Command("POST", rf"{_EV}/charging/stop", 4301, "RO_CHARGING", True, _charge(False)),
    Command("PUT", rf"{_EV}/charging/settings", 4311, "RO_CHARGE_SETTINGS", True,
            _charge_settings),
    Command("POST", rf"{_EV}/pretripclimate/start", 4401, "RO_CLIMATE", True, _climate(True)),
    Command("POST", rf"{_EV}/pretripclimate/stop", 4401, "RO_CLIMATE", True, _climate(False)),
    Command("PUT", rf"{_EV}/pretripclimate/settings", 4411, "RO_CLIMATE_SETTINGS", True,
            _climate_settings),
    Command("POST", rf"{_EV}/pretripclimate/windowheating/start", 4501, "RO_WINDOW_HEATING",
            True, _window_heating(True)),
    Command("POST", rf"{_EV}/pretripclimate/windowheating/stop", 4501, "RO_WINDOW_HEATING",
            True, _window_heating(False)),
    Command("POST", r"/rst/v1/vehicle/([^/]+)", 4801, "RO_REMOTE_START", False,
            _remote_start(True), combustion=True),
    Command("DELETE", r"/rst/v1/vehicle/([^/]+)", 4801, "RO_REMOTE_START", False,
            _remote_start(False), combustion=True),
    Command("POST", r"/rvs/v1/vehicle/([^/]+)/refresh", 4701, "RO_REFRESH", False,
            lambda ctx, st, body, v, a: (("fresh", None), True)),
)
WAKE = COMMANDS[-1]
EV_THRESHOLD = "EV_THRESHOLD_EXCEEDED"
WAKEUP_LIMIT = "VEHICLE_WAKEUP_LIMIT"
