"""myVW's vehicles: the garage entries, what each accepts by its privileges, and the ids
its URLs need."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from carnet.vendor.protocol import Capabilities, NumberRange, Vehicle

# The values of chargeSettings.maxChargingCurrent, as the control lists them.
CHARGE_CURRENTS = ("max", "reduced")
# The app's limits of the climate target (its settings request refuses others).
CLIMATE_TARGETS = {"°F": NumberRange(61, 85, 1), "°C": NumberRange(16, 29.5, 0.5)}
# Intents every vehicle accepts, whatever its privileges say. Not refresh_health: myVW
# has no request for a new health report (only the wake-up, which spends the day's).
ALWAYS = frozenset({"wake"})
# The intents each privilege (``service:operation``) allows, and whether only EVs have them.
PRIVILEGE_INTENTS: dict[str, tuple[frozenset[str], bool]] = {
    "LockAndUnlock": (frozenset({"set_lock"}), False),
    "HonkAndFlash": (frozenset({"horn_lights"}), False),
    "RemoteCharging": (frozenset({"set_charging", "set_max_charge_current",
                                  "set_target_soc"}), True),
    "RemotePretripClimate": (frozenset({"set_climate", "set_unplugged_climate",
                                        "set_window_heating"}), True),
}
_EV_ENGINES = frozenset({"BEV", "PHEV", "ELECTRIC"})
_EV_TSP = "WCT"  # WirelessCar serves the electric cars
_COMBUSTION_TSP = "ATC"  # Aeris the combustion ones


@dataclass(frozen=True)
class MyvwIds:
    """What a myVW vehicle's URLs and S-PIN session name it by (its ``handle``)."""

    vehicle_id: str  # garage vehicleId (a UUID)
    tsp: str  # garage tspProvider: WCT or ATC
    electric: bool  # it has a traction battery: the /ev/ reads and commands apply


def ids(vehicle: Vehicle) -> MyvwIds:
    """The myVW ids of a vehicle this generation listed."""
    handle = vehicle.handle
    if not isinstance(handle, MyvwIds):
        raise TypeError(f"not a myVW vehicle: {vehicle.vin!r}")
    return handle


def available_services(privileges: Any) -> frozenset[str]:
    """The services with an AVAILABLE operation in a privileges ``data`` object."""
    services = privileges.get("services") if isinstance(privileges, dict) else None
    found: set[str] = set()
    for service in services if isinstance(services, list) else []:
        if not isinstance(service, dict) or not isinstance(service.get("longCode"), str):
            continue
        operations = service.get("operations")
        for operation in operations if isinstance(operations, list) else []:
            if isinstance(operation, dict) and operation.get("capabilityStatus") == "AVAILABLE":
                found.add(service["longCode"])
    return frozenset(found)


def is_electric(entry: dict[str, Any], services: frozenset[str]) -> bool:
    engine = entry.get("engineType")
    if isinstance(engine, str) and engine.upper() in _EV_ENGINES:
        return True
    return "RemoteCharging" in services or entry.get("tspProvider") == _EV_TSP


def tsp_of(entry: dict[str, Any], electric: bool) -> str:
    """The garage's tspProvider; when it is missing, the one that serves this kind of car."""
    tsp = entry.get("tspProvider")
    if isinstance(tsp, str) and tsp:
        return tsp
    return _EV_TSP if electric else _COMBUSTION_TSP


def capabilities(services: frozenset[str], electric: bool) -> Capabilities:
    intents = set(ALWAYS)
    for service, (allowed, ev_only) in PRIVILEGE_INTENTS.items():
        if service in services and (electric or not ev_only):
            intents |= allowed
    return Capabilities(intents=frozenset(intents), charge_currents=CHARGE_CURRENTS,
                        climate_targets=CLIMATE_TARGETS)


def garage_vehicle(entry: Any, privileges: Any) -> Vehicle | None:
    """A vehicle of the garage with the privileges read for it; None without an id or VIN."""
    if not isinstance(entry, dict):
        return None
    vehicle_id, vin = entry.get("vehicleId"), entry.get("vin")
    if not isinstance(vehicle_id, str) or not vehicle_id or not isinstance(vin, str) or not vin:
        return None
    services = available_services(privileges)
    electric = is_electric(entry, services)
    year = entry.get("modelYear")
    name = entry.get("modelName")
    return Vehicle(
        vin=vin,
        model_name=str(name) if name else None,
        model_year=str(year) if year not in (None, "") and not isinstance(year, bool) else None,
        capabilities=capabilities(services, electric),
        key=vehicle_id,
        handle=MyvwIds(vehicle_id, tsp_of(entry, electric), electric),
    )
