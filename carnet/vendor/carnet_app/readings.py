"""Where each catalog attribute sits in the Car-Net app API's sections.

One reading per attribute, keyed by the catalog's attribute key; the catalog says how a
value is presented, this table says where the vendor puts it and what its words mean.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from carnet.vendor.fields import (
    TEMPERATURE_UNITS,
    MalformedData,
    Reading,
    distance_unit,
    enum,
    epoch,
    flag,
    guess_temperature_unit,
    number,
    run_readings,
    walk,
)
from carnet.vendor.protocol import Report


@dataclass(frozen=True)
class RawVehicleData:
    """The ``data`` objects of the status, climate details and health report responses."""

    status: dict[str, Any] | None = None
    climate: dict[str, Any] | None = None
    health: dict[str, Any] | None = None


Getter = Any  # Callable[[RawVehicleData], Any]; kept short for the table below


def number_at(section: str, *path: str) -> Getter:
    return lambda raw: number(walk(getattr(raw, section), *path))


def flag_at(section: str, *path: str) -> Getter:
    return lambda raw: flag(walk(getattr(raw, section), *path))


def enum_at(key: str, known: Mapping[str, Any], section: str, *path: str) -> Getter:
    return lambda raw: enum(key, walk(getattr(raw, section), *path), known)


def _status_distance_unit(raw: RawVehicleData) -> str | None:
    return distance_unit(walk(raw.status, "powerStatus", "cruiseRangeUnits"))


_OPEN = {"OPEN": True, "CLOSED": False}
# A vented (tilted) window is open as far as a binary sensor can say.
_WINDOW = {"OPEN": True, "VENTED": True, "CLOSED": False}
_LOCKED = {"LOCKED": "LOCKED", "UNLOCKED": "UNLOCKED"}
_PLUG = {"PLUGGEDIN": True, "UNPLUGGED": False}
# The vendor's priority codes; the names follow the legend of the health report.
HEALTH_CODES = {"A": "stop", "B": "repair", "C": "service", "D": "ok", "E": "info"}


def _fuel_level(raw: RawVehicleData) -> Any:
    """Fuel is absent on an EV: it reports 0 % fuel next to a battery level."""
    fuel = number(walk(raw.status, "powerStatus", "fuelPercentRemaining"))
    if fuel == 0 and _battery_present(raw):
        return None
    return fuel


def _battery_present(raw: RawVehicleData) -> bool:
    try:
        return _battery_level(raw) is not None
    except MalformedData:
        return False


_battery_level = number_at("status", "powerStatus", "battery", "chargePercentRemaining")
_plug_connected = enum_at("plug_connected", _PLUG, "status", "powerStatus", "battery", "chargePlug")
_minutes_to_full = number_at("status", "powerStatus", "battery", "minutesUntilFullCharge")
_target_temperature = number_at("climate", "target_temperature")


def _charging(raw: RawVehicleData) -> bool | None:
    """The status has no charging flag: the car charges while plugged in with minutes left.

    A full battery does not charge, whatever minutes the car still reports (the API
    description's own example has 100 % with 15 minutes to go).
    """
    plugged = _plug_connected(raw)
    if plugged is False:
        return False
    if plugged is not True:
        return None
    minutes = _minutes_to_full(raw)
    if minutes is None:
        return None
    try:
        level = _battery_level(raw)
    except MalformedData:  # reported with the battery level itself
        level = None
    return minutes > 0 and (level is None or level < 100)


def _odometer(raw: RawVehicleData) -> tuple[Any, str | None] | None:
    """The status mileage in the range's unit, else the health report's reading."""
    mileage = number(walk(raw.status, "currentMileage"))
    if mileage is not None:
        return mileage, _status_distance_unit(raw)
    reading = number(walk(raw.health, "odoReadCount"))
    if reading is not None:
        return reading, distance_unit(walk(raw.health, "odoUOM"))
    return None


def _maint_events(raw: RawVehicleData) -> list[dict[str, Any]]:
    events = walk(raw.health, "vhrMaintEvents")
    if events is None:
        return []
    if not isinstance(events, list):
        raise MalformedData("vhrMaintEvents is not a list")
    return [event for event in events if isinstance(event, dict)]


def _next_service(raw: RawVehicleData, field_name: str) -> dict[str, Any] | None:
    """The maintenance event due soonest by ``field_name`` (distance or daysCount)."""
    best = None
    for event in _maint_events(raw):
        value = number(walk(event, field_name))
        if value is not None and (best is None or value < best[0]):
            best = (value, event)
    return None if best is None else {"value": best[0], "event": best[1]}


def _service_distance(raw: RawVehicleData) -> Any:
    found = _next_service(raw, "distance")
    return None if found is None else found["value"]


def _service_distance_unit(raw: RawVehicleData, _temperature: str) -> str | None:
    found = _next_service(raw, "distance")
    unit = None if found is None else distance_unit(walk(found["event"], "uom"))
    return unit or distance_unit(walk(raw.health, "odoUOM"))


def _service_days(raw: RawVehicleData) -> Any:
    found = _next_service(raw, "daysCount")
    return None if found is None else found["value"]


def _coordinates(node: Any) -> dict[str, float] | None:
    if node is None:
        return None
    latitude = number(walk(node, "latitude"))
    longitude = number(walk(node, "longitude"))
    if latitude is None or longitude is None or (latitude == 0 and longitude == 0):
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise MalformedData(f"coordinates out of range: {latitude}, {longitude}")
    return {"latitude": float(latitude), "longitude": float(longitude)}


def _location(raw: RawVehicleData) -> dict[str, float] | None:
    """Where the car is; where it was parked last when the live position is not given."""
    return _coordinates(walk(raw.status, "location")) or _coordinates(
        walk(raw.status, "lastParkedLocation")
    )


def _health(raw: RawVehicleData) -> Any:
    return enum("health", walk(raw.health, "overallPriorityCode"), HEALTH_CODES)


def _health_attributes(raw: RawVehicleData) -> dict[str, Any] | None:
    """The report's details, for the health sensor's attributes."""
    if _health(raw) is None:
        return None
    legend = {
        item.get("priorityCode"): item.get("priorityDescription")
        for item in walk(raw.health, "priorityCodeLegend") or []
        if isinstance(item, dict)
    }
    code = walk(raw.health, "overallPriorityCode")
    categories = {
        str(item.get("categoryDesc") or item.get("categoryCode")): HEALTH_CODES.get(
            item.get("categoryPriorityCode"), item.get("categoryPriorityCode")
        )
        for item in walk(raw.health, "applicableCategories") or []
        if isinstance(item, dict)
    }
    report_time = epoch(walk(raw.health, "vhrTimeStamp"))
    attributes = {
        "code": code,
        "description": walk(raw.health, "overAllPriorityDescription"),
        "meaning": legend.get(code),
        "categories": categories,
        "report_time": report_time.isoformat() if report_time else None,
        "service": [
            {
                "type": event.get("eventTypeDesc") or event.get("eventType"),
                "status": event.get("eventStatusDesc"),
                "distance": event.get("distance"),
                "days": event.get("daysCount"),
                "unit": distance_unit(event.get("uom")),
            }
            for event in _maint_events(raw)
        ],
    }
    return {key: value for key, value in attributes.items() if value not in (None, {}, [])}


def _temperature_unit(_raw: RawVehicleData, temperature: str) -> str:
    return temperature


_SIDES = (
    ("front_left", "frontLeft"),
    ("front_right", "frontRight"),
    ("rear_left", "rearLeft"),
    ("rear_right", "rearRight"),
)


def _exterior(kind: str, known: Mapping[str, Any], key: str, field_name: str) -> Reading[Any]:
    return Reading(enum_at(key, known, "status", "exteriorStatus", kind, field_name))


READINGS: dict[str, Reading[RawVehicleData]] = {
    "lock": Reading(enum_at("lock", _LOCKED, "status", "lockStatus")),
    **{f"door_{key}": _exterior("doorStatus", _OPEN, f"door_{key}", field)
       for key, field in _SIDES},
    "trunk": _exterior("doorStatus", _OPEN, "trunk", "trunk"),
    "hood": _exterior("doorStatus", _OPEN, "hood", "hood"),
    **{f"window_{key}": _exterior("windowStatus", _WINDOW, f"window_{key}", field)
       for key, field in _SIDES},
    **{f"door_lock_{key}": _exterior("doorLockStatus", _LOCKED, f"door_lock_{key}", field)
       for key, field in _SIDES},
    "battery_level": Reading(_battery_level),
    "range": Reading(number_at("status", "powerStatus", "cruiseRange"),
                     unit=lambda raw, _t: _status_distance_unit(raw)),
    "fuel_level": Reading(_fuel_level),
    "odometer": Reading(lambda raw: (_odometer(raw) or (None, None))[0],
                        unit=lambda raw, _t: (_odometer(raw) or (None, None))[1]),
    "plug_connected": Reading(_plug_connected),
    "charging": Reading(_charging),
    "minutes_to_full_charge": Reading(_minutes_to_full),
    "climate": Reading(flag_at("climate", "climate_on")),
    "climate_target_temperature": Reading(_target_temperature, unit=_temperature_unit),
    "outdoor_temperature": Reading(number_at("climate", "outdoor_temperature"),
                                   unit=_temperature_unit),
    "defrost": Reading(flag_at("climate", "defrost_on")),
    "unplugged_climate": Reading(flag_at("climate", "unplugged_climate_control_enabled")),
    "health": Reading(_health, details=_health_attributes),
    "service_due_distance": Reading(_service_distance, unit=_service_distance_unit),
    "service_due_days": Reading(_service_days),
    "location": Reading(_location),
    "last_update": Reading(lambda raw: epoch(walk(raw.status, "timestamp"))),
}


def account_temperature_unit(raw: RawVehicleData, setting: str = "auto") -> str:
    """The unit of the account's climate temperatures: configured, else guessed from the target.

    The vendor does not say; a target temperature of 40 or more can only be °F. Without
    a target, °F: the service is North American and defaults to it.
    """
    if setting.upper() in TEMPERATURE_UNITS:
        return TEMPERATURE_UNITS[setting.upper()]
    try:
        target = _target_temperature(raw)
    except Exception:  # a malformed target is reported by its own reading
        target = None
    return "°F" if target is None else guess_temperature_unit(target)


def interpret(raw: RawVehicleData, temperature_unit: str = "auto") -> Report:
    """Every value the raw sections provide, with the units Car-Net decides.

    ``temperature_unit`` is the account's setting: ``F``, ``C`` or ``auto``.
    """
    return run_readings(READINGS, raw, account_temperature_unit(raw, temperature_unit))


def reads_climate(key: str, raw: RawVehicleData) -> bool:
    """Whether the attribute's value comes from the climate details (a TSP-token read)."""
    reading = READINGS.get(key)
    if reading is None or raw.climate is None:
        return False
    try:
        return reading.value(RawVehicleData(climate=raw.climate)) is not None
    except (ValueError, TypeError, AttributeError):
        return False
