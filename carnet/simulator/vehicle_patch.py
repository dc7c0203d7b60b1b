"""Direct changes of a simulated car through ``PATCH /_sim/vehicles/<vin>``."""

from __future__ import annotations

import copy
import logging
from typing import Any

from carnet.simulator.vehicle import CHARGE_CURRENTS, NA, OPEN_CLOSED, UNSUPPORTED, Vehicle

_LOG = logging.getLogger(__name__)


def patch(v: Vehicle, changes: dict[str, Any], now: float) -> None:
    """Apply a partial state at once; raises ValueError naming what is wrong."""
    unknown = sorted(set(changes) - set(PATCHABLE))
    if unknown:
        raise ValueError(f"unknown keys {unknown}; accepted: {sorted(PATCHABLE)}")
    saved = {name: copy.copy(getattr(v, name)) for name in Vehicle.__slots__}
    try:
        for key, value in changes.items():
            PATCHABLE[key](v, value)
    except ValueError:
        for name, value in saved.items():  # all or nothing
            setattr(v, name, value)
        raise
    if v.charging and not (v.ev and v.plugged_in):
        v.charging = False
    if (v.climate_on or v.defrost_on) and not v.can_climate():
        v.climate_on = v.defrost_on = False
    v.mark_changed(now)


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be a boolean")
    return value


def _number(name: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValueError(f"{name} must be a number from {low} to {high}")
    return value


def _parts(name: str, current: dict[str, str], value: Any, allowed: tuple[str, ...]) -> None:
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be an object")
    for part, state in value.items():
        if part not in current:
            raise ValueError(f"{name}: unknown part {part!r}; known: {sorted(current)}")
        if state not in (*allowed, UNSUPPORTED, NA):
            raise ValueError(f"{name}.{part} must be one of {[*allowed, UNSUPPORTED, NA]}")
    current.update(value)


def _ev_only(vehicle: Vehicle, name: str) -> None:
    if not vehicle.ev:
        raise ValueError(f"{name} applies to electric vehicles only")


def _set_plugged(v: Vehicle, value: Any) -> None:
    _ev_only(v, "plugged_in")
    v.plugged_in = _bool("plugged_in", value)


def _set_charging(v: Vehicle, value: Any) -> None:
    _ev_only(v, "charging")
    v.charging = _bool("charging", value)


def _set_battery(v: Vehicle, value: Any) -> None:
    _ev_only(v, "battery_level")
    v.battery_level = float(_number("battery_level", value, 0, 100))


def _set_fuel(v: Vehicle, value: Any) -> None:
    if v.ev:
        raise ValueError("fuel_level applies to combustion vehicles only")
    v.fuel_level = int(_number("fuel_level", value, 0, 100))


def _set_location(v: Vehicle, value: Any) -> None:
    if not isinstance(value, dict) or set(value) != {"latitude", "longitude"}:
        raise ValueError("location must be {\"latitude\": …, \"longitude\": …}")
    location = {"latitude": _number("latitude", value["latitude"], -90, 90),
                "longitude": _number("longitude", value["longitude"], -180, 180)}
    v.location = location
    v.last_parked = dict(location)  # a car that moved has parked there


def _set_current(v: Vehicle, value: Any) -> None:
    if value not in CHARGE_CURRENTS or isinstance(value, bool):
        raise ValueError(f"max_charge_current must be one of {list(CHARGE_CURRENTS)}")
    v.max_charge_current = value


def _setter(attr: str, low: float, high: float) -> Any:
    def set_number(v: Vehicle, value: Any) -> None:
        setattr(v, attr, _number(attr, value, low, high))
    return set_number


def _flag(attr: str) -> Any:
    def set_flag(v: Vehicle, value: Any) -> None:
        setattr(v, attr, _bool(attr, value))
    return set_flag


PATCHABLE: dict[str, Any] = {
    "plugged_in": _set_plugged,
    "charging": _set_charging,
    "battery_level": _set_battery,
    "fuel_level": _set_fuel,
    "doors": lambda v, value: _parts("doors", v.doors, value, OPEN_CLOSED),
    "windows": lambda v, value: _parts("windows", v.windows, value, (*OPEN_CLOSED, "VENTED")),
    "lights": lambda v, value: _parts("lights", v.lights, value, ("ON", "OFF")),
    "locked": _flag("locked"),
    "location": _set_location,
    "mileage": lambda v, value: setattr(v, "mileage", int(_number("mileage", value, 0, 1e7))),
    "climate_on": _flag("climate_on"),
    "defrost_on": _flag("defrost_on"),
    "unplugged_climate": _flag("unplugged_climate"),
    "target_temperature": _setter("target_temperature", 15, 90),
    "outdoor_temperature": _setter("outdoor_temperature", -60, 130),
    "max_charge_current": _set_current,
    "target_soc": lambda v, value: setattr(
        v, "target_soc", int(_number("target_soc", value, 50, 100))),
}
