"""The myVW command requests: the method, path and JSON body of each intent.

Every command takes the vehicle token as bearer and answers
``{"data": {"result": 0, "correlationId": …}}``; the wake-up has no correlation id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from carnet.core.errors import BadRequest
from carnet.vendor.fields import TEMPERATURE_UNITS, guess_temperature_unit
from carnet.vendor.myvw_app.vehicles import CHARGE_CURRENTS, CLIMATE_TARGETS


@dataclass(frozen=True)
class CommandRequest:
    method: str
    path: str  # after the API host
    what: str  # for messages: "the lock command"
    body: dict[str, Any]
    electric: bool = False  # an /ev/ command: the vendor paces them per car
    params: dict[str, str] | None = None  # the query


def _ev(vehicle_id: str) -> str:
    return f"/ev/v1/vehicle/{vehicle_id}"


def wake(vehicle_id: str) -> CommandRequest:
    return CommandRequest("POST", f"/rvs/v1/vehicle/{vehicle_id}/refresh",
                          "the status refresh", {})


def lock(vehicle_id: str, locked: bool) -> CommandRequest:
    return CommandRequest("PUT", f"/lockunlock/v1/vehicle/{vehicle_id}",
                          "the lock command" if locked else "the unlock command",
                          {"lock": bool(locked)})


def horn_lights(vehicle_id: str, horn: bool, lights: bool) -> CommandRequest:
    if not horn and not lights:
        raise BadRequest("horn_lights needs horn, lights or both")
    return CommandRequest("PUT", f"/honkflash/v1/vehicle/{vehicle_id}",
                          "the horn and lights command",
                          {"horn": bool(horn), "lights": bool(lights)})


def charging(vehicle_id: str, active: bool) -> CommandRequest:
    action = "start" if active else "stop"
    return CommandRequest("POST", f"{_ev(vehicle_id)}/charging/{action}",
                          f"the charging {action} command", {"actionMode": "immediate"},
                          electric=True)


def charging_settings_path(vehicle_id: str) -> str:
    return f"{_ev(vehicle_id)}/charging/settings"


def charging_settings(vehicle_id: str, current: dict[str, Any], change: dict[str, Any],
                      what: str) -> CommandRequest:
    """The full settings object the vendor takes, with one value changed."""
    return CommandRequest("PUT", charging_settings_path(vehicle_id), what,
                          {**current, **change}, electric=True)


def max_charge_current_change(value: str) -> dict[str, Any]:
    if not isinstance(value, str) or value not in CHARGE_CURRENTS:
        raise BadRequest(f"max_charge_current must be one of {', '.join(CHARGE_CURRENTS)}, "
                         f"not {value!r}")
    return {"maxChargingCurrent": value}


def target_soc_change(percent: int) -> dict[str, Any]:
    if isinstance(percent, bool) or not isinstance(percent, int) or \
            percent not in range(50, 101, 10):
        raise BadRequest(f"target_soc must be 50, 60, 70, 80, 90 or 100, not {percent!r}")
    return {"targetSOCPercentage": percent}


def climate(vehicle_id: str, active: bool) -> CommandRequest:
    action = "start" if active else "stop"
    return CommandRequest("POST", f"{_ev(vehicle_id)}/pretripclimate/{action}",
                          f"the climate {action} command", {}, electric=True)


def climate_settings_path(vehicle_id: str) -> str:
    return f"{_ev(vehicle_id)}/pretripclimate/settings"


TEMPERATURE_WORDS = {"°F": "fahrenheit", "°C": "celsius"}
_CLIMATE_SETTINGS = ("targetTemperature", "climatizationWithoutExternalPower",
                     "climatizationElementSettings")


def checked_target(value: Any, unit: str) -> float:
    """A climate target within the app's limits in ``unit`` ("°F"/"°C")."""
    limits = CLIMATE_TARGETS[unit]
    if isinstance(value, bool) or not isinstance(value, int | float) or \
            not limits.minimum <= value <= limits.maximum or \
            (value - limits.minimum) % limits.step:
        raise BadRequest(f"target_temperature must be from {limits.minimum:g} to "
                         f"{limits.maximum:g} {unit} in steps of {limits.step:g}, "
                         f"not {value!r}")
    return value


def climate_settings(vehicle_id: str, current: dict[str, Any], change: dict[str, Any],
                     unit: str, what: str) -> CommandRequest:
    """The climate settings the vendor takes: the target, the battery switch and the
    element settings, as read, with the change."""
    body = {key: current[key] for key in _CLIMATE_SETTINGS if key in current}
    return CommandRequest("PUT", climate_settings_path(vehicle_id), what, {**body, **change},
                          electric=True, params=temperature_query(unit))


def temperature_query(unit: str) -> dict[str, str]:
    """The query that asks for (or sends) temperatures in ``unit``."""
    return {"tempUnit": TEMPERATURE_WORDS[unit]}


def configured_unit(setting: str) -> str | None:
    """The account's temperature unit ("°F"/"°C"), None for ``auto``."""
    return TEMPERATURE_UNITS.get(setting.upper())


def configured_query(setting: str) -> dict[str, str] | None:
    """The query for the account's temperature unit; None (the vendor's) for ``auto``."""
    unit = configured_unit(setting)
    return None if unit is None else temperature_query(unit)


def target_unit(setting: str, value: Any) -> str:
    """The unit of a climate target: the account's, else guessed from the value."""
    unit = configured_unit(setting)
    if unit is not None:
        return unit
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(f"target_temperature must be a number, not {value!r}")
    return guess_temperature_unit(value)


def unit_of_word(word: Any, setting: str) -> str:
    """The unit a settings answer names ("celsius"), else the account's, else °F."""
    for unit, name in TEMPERATURE_WORDS.items():
        if isinstance(word, str) and word.lower() == name:
            return unit
    return configured_unit(setting) or "°F"


def target_change(temperature: float, unit: str) -> dict[str, Any]:
    return {"targetTemperature": {"temperature": temperature,
                                  "unit": TEMPERATURE_WORDS[unit]}}


def window_heating(vehicle_id: str, active: bool) -> CommandRequest:
    action = "start" if active else "stop"
    return CommandRequest("POST", f"{_ev(vehicle_id)}/pretripclimate/windowheating/{action}",
                          f"the window heating {action} command", {}, electric=True)


def climate_now(summary: dict[str, Any]) -> tuple[dict[str, Any], bool, Any]:
    """From a climate summary: its settings, whether the climate runs, the set target."""
    settings = summary.get("climateSettings")
    settings = settings if isinstance(settings, dict) else {}
    report = summary.get("climateStatusReport")
    running = isinstance(report, dict) and report.get("climateStatusInd") not in (None, "off")
    known = settings.get("targetTemperature")
    return settings, running, known.get("temperature") if isinstance(known, dict) else None

