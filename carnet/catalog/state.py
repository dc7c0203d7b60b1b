"""Raw Car-Net sections -> one flat ``VehicleState``, driven by the entity catalog.

There is no mapping table here: every value comes from its catalog entry's getter. Each
getter runs on its own, so a section with an unexpected shape costs the values that
depend on it and nothing else, and a new vendor enum value never fails a poll.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

from carnet.catalog.entities import (
    ENTITIES,
    Entity,
    guess_temperature_unit,
    meaningful,
    number_at,
    warn_once,
)

_LOG = logging.getLogger(__name__)

TEMPERATURE_UNITS = {"F": "°F", "C": "°C"}


@dataclass(frozen=True)
class RawVehicleData:
    """The ``data`` objects of the status, climate details and health report responses."""

    status: dict[str, Any] | None = None
    climate: dict[str, Any] | None = None
    health: dict[str, Any] | None = None


@dataclass(frozen=True)
class VehicleState:
    """What a vehicle reported: values by attribute key (absent when not reported) and units.

    ``attributes`` holds extra JSON details for entities that have them (the health report).
    """

    values: dict[str, Any]
    units: dict[str, str]
    attributes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def with_value(self, key: str, value: Any) -> VehicleState:
        """A copy with one value set (None removes it); for pending and bridge-side values."""
        values = dict(self.values)
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
        return replace(self, values=values)


_target_temperature = number_at("climate", "target_temperature")


def account_temperature_unit(raw: RawVehicleData, setting: str = "auto") -> str:
    """The unit of the account's climate temperatures: configured, else guessed from the target.

    The vendor does not say; a target temperature of 40 or more can only be °F. Without
    a target, °F: the service is North American and defaults to it.
    """
    if setting.upper() in TEMPERATURE_UNITS:
        return TEMPERATURE_UNITS[setting.upper()]
    try:
        target = _target_temperature(raw)
    except Exception:  # a malformed target is reported by its own getter
        target = None
    return "°F" if target is None else guess_temperature_unit(target)


def _run(item: Entity, what: str, getter: Any, *args: Any) -> Any:
    """Call one getter; any failure costs this one value and is logged once."""
    try:
        return getter(*args)
    except Exception as exc:  # isolation is the point: one bad field never loses the rest
        warn_once(
            f"{item.key}:malformed {what}",
            f"{item.key}: ignoring malformed {what} from Car-Net ({exc}); "
            "not logged again for this attribute",
        )
        return None


def parse_state(raw: RawVehicleData, temperature_unit: str = "auto") -> VehicleState:
    """Every catalog value the raw sections provide, with its unit.

    ``temperature_unit`` is the account's setting: ``F``, ``C`` or ``auto``.
    """
    account_unit = account_temperature_unit(raw, temperature_unit)
    values: dict[str, Any] = {}
    units: dict[str, str] = {}
    attributes: dict[str, dict[str, Any]] = {}
    for item in ENTITIES:
        if item.source is None:
            continue
        value = _run(item, "value", item.source, raw)
        if value is None:
            continue
        unit = item.unit
        if callable(unit):
            unit = _run(item, "unit", unit, raw, account_unit)
            if unit is None:
                warn_once(
                    f"{item.key}:no unit",
                    f"{item.key}: no unit reported by Car-Net, value not published",
                )
                continue
        values[item.key] = value
        if unit is not None:
            units[item.key] = unit
        if item.attributes is not None:
            details = _run(item, "details", item.attributes, raw)
            if details:
                attributes[item.key] = details
    return VehicleState(meaningful(values), units, attributes)
