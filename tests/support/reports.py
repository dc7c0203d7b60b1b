"""Raw Car-Net sections to the state the bridge holds, as a poll makes it."""

from __future__ import annotations

from carnet.catalog.state import VehicleState
from carnet.catalog.support import state_from_report
from carnet.vendor.carnet_app.readings import RawVehicleData, interpret


def parse_state(raw: RawVehicleData, temperature_unit: str = "auto") -> VehicleState:
    return state_from_report(interpret(raw, temperature_unit))
