"""Car-Net's vehicles: what each accepts, and the ids its URLs need, from the enrollment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from carnet.vendor.protocol import Capabilities, Part, Vehicle

# What every vehicle on the Car-Net app API accepts: the service does not tell them apart.
CAPABILITIES = Capabilities(
    intents=frozenset({
        "wake", "refresh_health", "set_lock", "horn_lights", "set_charging",
        "set_max_charge_current", "set_climate", "set_defrost", "set_unplugged_climate",
    }),
    charge_currents=("5", "10", "13", "max"),
    confirmed_by={
        key: Part.CLIMATE
        for key in ("climate", "climate_target_temperature", "outdoor_temperature",
                    "defrost", "unplugged_climate")
    },
    costly_parts=frozenset({Part.CLIMATE}),  # the climate details need a TSP token
)
# The values the charge current command sends: amps as numbers, else the word.
CHARGE_CURRENT_VALUES = tuple(
    int(value) if value.isdigit() else value for value in CAPABILITIES.charge_currents
)


@dataclass(frozen=True)
class CarNetIds:
    """What a Car-Net vehicle's URLs and session request name it by (its ``handle``)."""

    vehicle_id: str  # enrollment vehicleId (status/health URLs)
    tsp_account_num: str  # rolesAndRights.tspAccountNum (command URLs)
    tsp: str  # vehicle.tspProvider


def carnet_vehicle(vehicle_id: str, vin: str, tsp_account_num: str, tsp: str,
                   model_name: str | None, model_year: str | None) -> Vehicle:
    """A Car-Net vehicle; its vehicleId is also its key (a name when the VIN cannot be)."""
    return Vehicle(vin=vin, model_name=model_name, model_year=model_year,
                   capabilities=CAPABILITIES, key=vehicle_id,
                   handle=CarNetIds(vehicle_id, tsp_account_num, tsp))


def ids(vehicle: Vehicle) -> CarNetIds:
    """The Car-Net ids of a vehicle this generation listed."""
    handle = vehicle.handle
    if not isinstance(handle, CarNetIds):
        raise TypeError(f"not a Car-Net vehicle: {vehicle.vin!r}")
    return handle


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
    return carnet_vehicle(
        vehicle_id=str(vehicle_id),
        vin=str(vin),
        tsp_account_num=str(account),
        tsp=str(details.get("tspProvider") or ""),
        model_name=str(details["modelName"]) if details.get("modelName") else None,
        model_year=str(year) if year not in (None, "") else None,
    )
