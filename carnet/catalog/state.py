"""What a vehicle reported, as the bridge holds and publishes it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any


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
