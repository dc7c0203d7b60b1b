"""Which entities a vehicle has, decided by its data, and what a report becomes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from carnet.catalog.model import Entity
from carnet.catalog.state import VehicleState
from carnet.catalog.table import ENTITIES, entity
from carnet.vendor.protocol import Report


def is_supported(item: Entity, values: Mapping[str, Any]) -> bool:
    """Whether a vehicle with these values has this entity (decided by data, not by name)."""
    if item.reported and values.get(item.key) is None:
        return False
    return all(values.get(key) is not None for key in item.requires)


# What shows a writable entity's value on an account without commands (no PIN). Components
# not listed (buttons, the climate view over other entities) have nothing to show then.
READ_ONLY_COUNTERPARTS = {
    "lock": ("binary_sensor", "lock"),
    "switch": ("binary_sensor", None),
    "select": ("sensor", "enum"),
    "number": ("sensor", None),
}


def read_only(item: Entity) -> Entity | None:
    """The entity as an account without commands has it, or None when it has none.

    A writable entity becomes its read-only counterpart (the lock a lock binary sensor,
    a switch a binary sensor); one whose value only the bridge's own commands give (the
    charge current) is dropped, as are buttons. The bridge's own commands stay writable.
    """
    if item.command is not None and item.command.bridge_only:
        return item
    if item.command is None and item.writes is None and item.component != "climate":
        return item
    counterpart = READ_ONLY_COUNTERPARTS.get(item.component)
    if counterpart is None or not item.reported:
        return None
    component, device_class = counterpart
    return replace(item, component=component, command=None,
                   device_class=device_class or item.device_class)


def meaningful(values: Mapping[str, Any]) -> dict[str, Any]:
    """The values whose ``requires`` are met: climate on battery means nothing without a
    battery, nor a charge current."""
    return {
        key: value
        for key, value in values.items()
        if all(values.get(needed) is not None for needed in entity(key).requires)
    }


def state_from_report(report: Report) -> VehicleState:
    """The report as the bridge holds it: values whose ``requires`` are met, each with its
    unit (the report's where the vendor decides it, else the catalog's fixed one)."""
    values = meaningful(report.values)
    units: dict[str, str] = {}
    for item in ENTITIES:
        if item.key in values:
            unit = report.units.get(item.key) or item.unit
            if unit is not None:
                units[item.key] = unit
    attributes = {key: details for key, details in report.attributes.items() if key in values}
    return VehicleState(values, units, attributes)
