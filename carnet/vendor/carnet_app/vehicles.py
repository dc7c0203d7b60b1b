"""Car-Net's vehicles: what each accepts, and the ids its URLs need, from the enrollment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from carnet.vendor.protocol import Capabilities, Part

# What every vehicle on the Car-Net app API accepts: the service does not tell them apart.
CAPABILITIES = Capabilities(
    intents=frozenset({
        "wake", "refresh_health", "set_lock", "horn_lights", "set_charging",
        "set_max_charge_current", "set_climate", "set_defrost", "set_unplugged_climate",
    }),
    charge_currents=("5", "10", "13", "max"),
    # The climate details are a TSP request: they spend the command budget.
    costly_parts=frozenset({Part.CLIMATE}),
    confirmed_by={
        key: Part.CLIMATE
        for key in ("climate", "climate_target_temperature", "outdoor_temperature",
                    "defrost", "unplugged_climate")
    },
)
# The values the charge current command sends: amps as numbers, else the word.
CHARGE_CURRENT_VALUES = tuple(
    int(value) if value.isdigit() else value for value in CAPABILITIES.charge_currents
)


@dataclass(frozen=True)
class Vehicle:
    vehicle_id: str  # enrollment vehicleId (status/health URLs)
    vin: str
    tsp_account_num: str  # rolesAndRights.tspAccountNum (command URLs)
    tsp: str  # vehicle.tspProvider
    model_name: str | None
    model_year: str | None

    @property
    def capabilities(self) -> Capabilities:
        return CAPABILITIES


def enrolled_vehicle(entry: Any) -> Vehicle | None:
    if not isinstance(entry, dict):
        return None
    details = entry.get("vehicle") if isinstance(entry.get("vehicle"), dict) else {}
    rights = entry.get("rolesAndRights") if isinstance(entry.get("rolesAndRights"), dict) else {}
    vehicle_id = entry.get("vehicleId") or details.get("vehicleId")
    vin = details.get("vin")
    account = rights.get("tspAccountNum")
    if not vehicle_id or not vin or account in (None, ""):
        return None
    year = details.get("modelYear")
    return Vehicle(
        vehicle_id=str(vehicle_id),
        vin=str(vin),
        tsp_account_num=str(account),
        tsp=str(details.get("tspProvider") or ""),
        model_name=str(details["modelName"]) if details.get("modelName") else None,
        model_year=str(year) if year not in (None, "") else None,
    )
