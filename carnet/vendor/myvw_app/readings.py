"""Where each catalog attribute sits in the myVW app API's answers.

One reading per attribute, keyed by the catalog's attribute key. The status
(``/rvs/v1/vehicle``) and the health report (``/vhs/v2/vehicle``) are the Car-Net app's
shapes, so their doors, windows, locks, location, timestamp and health values are read
by Car-Net's readings; the charge and climate summaries are myVW's own. Distances the
summaries give in kilometres (and the mileage, always kilometres here) are converted to
the unit the status reports its range in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from carnet.vendor.carnet_app import readings as carnet_readings
from carnet.vendor.fields import (
    TEMPERATURE_UNITS,
    MalformedData,
    Reading,
    distance_unit,
    enum,
    flag,
    number,
    run_readings,
    walk,
    warn_once,
)
from carnet.vendor.protocol import Report

KM_PER_MILE = 1.609344


@dataclass(frozen=True)
class StatusParts:
    """What a status read returns: the status and, for an EV, the charge summary."""

    status: dict[str, Any] | None = None
    charge: dict[str, Any] | None = None


@dataclass(frozen=True)
class RawMyvwData:
    """The ``data`` objects of the status, charge summary, climate summary and health report."""

    status: dict[str, Any] | None = None
    charge: dict[str, Any] | None = None
    climate: dict[str, Any] | None = None
    health: dict[str, Any] | None = None
    # The unit climate temperatures are reported in ("°F"/"°C"), as interpret decides it.
    temperature_unit: str = "°F"


Getter = Callable[[RawMyvwData], Any]


def _at(section: str, *path: str) -> Callable[[RawMyvwData], Any]:
    return lambda raw: walk(getattr(raw, section), *path)


def _number_at(section: str, *path: str) -> Getter:
    at = _at(section, *path)
    return lambda raw: number(at(raw))


def _whole_at(section: str, *path: str) -> Getter:
    at = _at(section, *path)
    return lambda raw: None if (value := number(at(raw))) is None else round(value)


def _enum_at(key: str, known: Mapping[str, Any], section: str, *path: str) -> Getter:
    at = _at(section, *path)
    return lambda raw: enum(key, at(raw), known)


def _known_only(key: str, known: Mapping[str, Any], section: str, *path: str) -> Getter:
    """An enum whose unknown values are left out (the catalog lists the states it offers).

    Its own words are taken as they come: "unsupported" is one of them, not a marker of
    an absent field.
    """
    parent = _at(section, *path[:-1])

    def read(raw: RawMyvwData) -> Any:
        node = parent(raw)
        if node is not None and not isinstance(node, dict):
            raise MalformedData(f"{'.'.join(path[:-1])} is not an object")
        value = None if node is None else node.get(path[-1])
        if value is None or (isinstance(value, str) and value in known):
            return None if value is None else known[value]
        if not isinstance(value, str):
            raise MalformedData(f"expected text, got {value!r}")
        warn_once(f"{key}:unknown value", f"{key}: unknown value {value!r} from the vendor, "
                  "left out (later unknown values of it are not logged)")
        return None
    return read


# --- distances ---------------------------------------------------------------------------


def _distance_unit(raw: RawMyvwData, _temperature: str = "") -> str:
    """The account's distance unit: the one the status gives its range in, else km."""
    return distance_unit(walk(raw.status, "powerStatus", "cruiseRangeUnits")) or "km"


def _from_km(raw: RawMyvwData, km: Any, digits: int | None = None) -> Any:
    value = number(km)
    if value is None:
        return None
    if _distance_unit(raw) == "mi":
        value = value / KM_PER_MILE
    return round(value, digits) if digits else round(value)


def _range(raw: RawMyvwData) -> Any:
    """The status range (in its own unit), else the charge summary's (kilometres)."""
    cruise = number(walk(raw.status, "powerStatus", "cruiseRange"))
    if cruise is not None:
        return cruise
    return _from_km(raw, walk(raw.charge, "batteryStatus", "cruisingRange", "range"))


def _odometer(raw: RawMyvwData) -> tuple[Any, str] | None:
    """The status mileage (kilometres on myVW) in the account's unit, else the health
    report's reading in its own unit."""
    mileage = _from_km(raw, walk(raw.status, "currentMileage"))
    if mileage is not None:
        return mileage, _distance_unit(raw)
    reading = number(walk(raw.health, "odoReadCount"))
    unit = distance_unit(walk(raw.health, "odoUOM"))
    return None if reading is None or unit is None else (reading, unit)


def _charge_rate_unit(raw: RawMyvwData, _temperature: str) -> str:
    """Range gained per hour, spelled as Home Assistant's speed device class accepts."""
    return "mph" if _distance_unit(raw) == "mi" else "km/h"


# --- battery and charging ----------------------------------------------------------------

_PLUG = {"connected": True, "disconnected": False}
_PLUG_LOCK = {"locked": True, "unlocked": False}
_CURRENT = {"max": "max", "reduced": "reduced"}
CHARGE_STATES = {
    "off": "off",
    "readyForCharging": "ready",
    "notReadyForCharging": "not_ready",
    "conservation": "conservation",
    "chargePurposeReachedAndConservation": "complete",
    "chargePurposeReachedAndNotConservationCharging": "complete",
    "chargingHVBattery": "charging",
    "discharging": "discharging",
    "error": "error",
    "unsupported": "unsupported",
}
_charging_state = _known_only("charging_state", CHARGE_STATES, "charge", "chargingStatus",
                              "currentChargeState")


def _battery_level(raw: RawMyvwData) -> Any:
    level = number(walk(raw.charge, "batteryStatus", "currentSOCPct"))
    if level is not None:
        return level
    return number(walk(raw.status, "powerStatus", "battery", "chargePercentRemaining"))


def _electric(raw: RawMyvwData) -> bool:
    if raw.charge is not None:
        return True
    try:
        return _battery_level(raw) is not None
    except MalformedData:
        return False


def _fuel_level(raw: RawMyvwData) -> Any:
    """An EV reports 0 % fuel: no fuel level for it."""
    fuel = number(walk(raw.status, "powerStatus", "fuelPercentRemaining"))
    return None if fuel == 0 and _electric(raw) else fuel


def _charging(raw: RawMyvwData) -> bool | None:
    state = _charging_state(raw)
    return None if state is None else state == "charging"


def _charge_power(raw: RawMyvwData) -> float | None:
    power = number(walk(raw.charge, "chargingStatus", "chargePower"))
    return None if power is None else float(power)


def _charge_rate(raw: RawMyvwData) -> float | None:
    rate = _from_km(raw, walk(raw.charge, "chargingStatus", "chargeRate"), 1)
    return None if rate is None else float(rate)


# --- climate -----------------------------------------------------------------------------

# climateStatusInd: "on"/"off"; the heating, cooling and ventilation words mean on too.
_CLIMATE = {"on": True, "off": False, "heating": True, "cooling": True, "ventilation": True}
_TEMPERATURE_WORDS = {"celsius": "°C", "fahrenheit": "°F"}


def _vendor_target(raw: RawMyvwData) -> tuple[float, str] | None:
    value = number(walk(raw.climate, "climateSettings", "targetTemperature", "temperature"))
    unit = walk(raw.climate, "climateSettings", "targetTemperature", "unit")
    if value is None:
        return None
    if not isinstance(unit, str) or unit.lower() not in _TEMPERATURE_WORDS:
        raise MalformedData(f"targetTemperature.unit is {unit!r}, not celsius or fahrenheit")
    return value, _TEMPERATURE_WORDS[unit.lower()]


def converted_temperature(value: float, unit: str, wanted: str) -> float:
    """A temperature in ``wanted`` ("°F"/"°C"), on the app's steps: half degrees
    Celsius, whole degrees Fahrenheit."""
    if unit == wanted:
        return value
    if wanted == "°C":
        return round((value - 32) * 5 / 9 * 2) / 2
    return float(round(value * 9 / 5 + 32))


def _target_temperature(raw: RawMyvwData) -> Any:
    target = _vendor_target(raw)
    if target is None:
        return None
    value = converted_temperature(target[0], target[1], raw.temperature_unit)
    return int(value) if float(value).is_integer() else value


def _window_heating(raw: RawMyvwData) -> bool | None:
    """On when any window heats; the states come as a list of windows."""
    node = walk(raw.climate, "windowHeatingStatus")
    if isinstance(node, dict):
        node = walk(node, "windowHeatingStatus")
    if node is None:
        return None
    if not isinstance(node, list):
        raise MalformedData("windowHeatingStatus is not a list")
    states = [enum("window_heating", walk(item, "windowHeatingState"), _CLIMATE)
              for item in node]
    known = [state for state in states if isinstance(state, bool)]
    return any(known) if known else None


def account_temperature_unit(raw: RawMyvwData, setting: str = "auto") -> str:
    """The unit of the account's climate temperatures: configured, else the vendor's."""
    if setting.upper() in TEMPERATURE_UNITS:
        return TEMPERATURE_UNITS[setting.upper()]
    try:
        target = _vendor_target(raw)
    except MalformedData:  # reported by the target's own reading
        target = None
    return "°F" if target is None else target[1]


# --- the table ---------------------------------------------------------------------------


def _car_net(key: str) -> Reading[RawMyvwData]:
    """A value of the status or health report, read as the Car-Net app's shape."""
    reading = carnet_readings.READINGS[key]

    def shared(raw: RawMyvwData) -> carnet_readings.RawVehicleData:
        return carnet_readings.RawVehicleData(status=raw.status, health=raw.health)

    unit = reading.unit
    details = reading.details
    return Reading(
        lambda raw: reading.value(shared(raw)),
        unit=None if unit is None else lambda raw, temperature: unit(shared(raw), temperature),
        details=None if details is None else lambda raw: details(shared(raw)),
    )


_SHARED = (
    "lock", *(f"{kind}_{side}" for kind in ("door", "window", "door_lock")
              for side in ("front_left", "front_right", "rear_left", "rear_right")),
    "trunk", "hood", "health", "service_due_distance", "service_due_days", "location",
    "last_update",
)

READINGS: dict[str, Reading[RawMyvwData]] = {
    **{key: _car_net(key) for key in _SHARED},
    "battery_level": Reading(_battery_level),
    "range": Reading(_range, unit=_distance_unit),
    "fuel_level": Reading(_fuel_level),
    "odometer": Reading(lambda raw: (_odometer(raw) or (None, None))[0],
                        unit=lambda raw, _t: (_odometer(raw) or (None, None))[1]),
    "plug_connected": Reading(_enum_at("plug_connected", _PLUG, "charge", "plugStatus",
                                       "plugConnectionState")),
    "plug_lock": Reading(_enum_at("plug_lock", _PLUG_LOCK, "charge", "plugStatus",
                                  "plugLockState")),
    "charging": Reading(_charging),
    "charging_state": Reading(_charging_state),
    "charge_power": Reading(_charge_power),
    "charge_rate": Reading(_charge_rate, unit=_charge_rate_unit),
    "charge_remaining_minutes": Reading(_whole_at("charge", "chargingStatus",
                                                  "remainingChargingTimeToComplete")),
    "max_charge_current": Reading(_enum_at("max_charge_current", _CURRENT, "charge",
                                           "chargeSettings", "maxChargingCurrent")),
    "target_soc": Reading(_whole_at("charge", "chargeSettings", "targetSOCPercentage")),
    "climate": Reading(_enum_at("climate", _CLIMATE, "climate", "climateStatusReport",
                                "climateStatusInd")),
    "climate_remaining": Reading(_whole_at("climate", "climateStatusReport",
                                           "remainingClimatizationTimeMin")),
    "climate_target_temperature": Reading(_target_temperature,
                                          unit=lambda raw, _t: raw.temperature_unit),
    "unplugged_climate": Reading(lambda raw: flag(walk(
        raw.climate, "climateSettings", "climatizationWithoutExternalPower"))),
    "window_heating": Reading(_window_heating),
}


def interpret(raw: RawMyvwData, temperature_unit: str = "auto") -> Report:
    """Every value the parts provide. ``temperature_unit`` is ``F``, ``C`` or ``auto``."""
    unit = account_temperature_unit(raw, temperature_unit)
    return run_readings(READINGS, replace(raw, temperature_unit=unit), unit)
