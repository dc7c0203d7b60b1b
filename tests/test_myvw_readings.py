"""myVW answers -> catalog values: plain unit tests on payloads, malformed ones included."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from carnet.vendor.myvw_app.outcome import command_outcome
from carnet.vendor.myvw_app.readings import (
    CHARGE_STATES,
    RawMyvwData,
    converted_temperature,
    interpret,
)
from carnet.vendor.protocol import Progress

STATUS: dict[str, Any] = {
    "currentMileage": 16093,  # km, whatever the car shows
    "timestamp": 1764700000000,
    "lockStatus": "UNLOCKED",
    "exteriorStatus": {
        "secure": "INSECURE",
        "doorStatus": {"frontLeft": "OPEN", "frontRight": "CLOSED", "rearLeft": "CLOSED",
                       "rearRight": "CLOSED", "trunk": "CLOSED", "hood": "CLOSED",
                       "leftCargo": "NOTAVAILABLE", "rightCargo": "NOTAVAILABLE"},
        "doorLockStatus": {"frontLeft": "UNLOCKED", "frontRight": "LOCKED",
                           "rearLeft": "LOCKED", "rearRight": "LOCKED"},
        "windowStatus": {"frontLeft": "VENTED", "frontRight": "CLOSED", "rearLeft": "CLOSED",
                         "rearRight": "CLOSED", "sunRoof": "CLOSED"},
    },
    "powerStatus": {"cruiseRange": 150, "fuelPercentRemaining": 0, "cruiseRangeUnits": "MI"},
    "lastParkedLocation": {"latitude": 45.5, "longitude": -73.6, "timestamp": 1764700000000},
    "platform": "MEB",
}
CHARGE: dict[str, Any] = {
    "carCapturedTimestamp": "2026-12-02T18:00:00Z",
    "batteryStatus": {"currentSOCPct": 64, "cruisingRange": {"engineType": "electric",
                                                             "range": 241}},
    "chargingStatus": {"currentChargeState": "chargingHVBattery", "chargePower": 11,
                       "chargeRate": 56, "remainingChargingTimeToComplete": 42.0},
    "plugStatus": {"plugConnectionState": "connected", "plugLockState": "locked",
                   "infrastructureState": "ready"},
    "chargeSettings": {"maxChargingCurrent": "reduced", "autoUnlockPlugWhenCharged": "off",
                       "targetSOCPercentage": 80, "chargeModeSelection": "manual"},
}
CLIMATE: dict[str, Any] = {
    "climateStatusReport": {"climateStatusInd": "on", "remainingClimatizationTimeMin": 27},
    "climateSettings": {"targetTemperature": {"temperature": 72, "unit": "fahrenheit"},
                        "climatizationWithoutExternalPower": True},
    "windowHeatingStatus": {"windowHeatingStatus": [
        {"windowLocation": "front", "windowHeatingState": "off"},
        {"windowLocation": "rear", "windowHeatingState": "on"}]},
}
HEALTH: dict[str, Any] = {
    "odoReadCount": 10000, "odoUOM": "mi", "overallPriorityCode": "D",
    "vhrTimeStamp": 1764700000000,
    "vhrMaintEvents": [{"distance": 3000, "daysCount": 40, "uom": "mi"}],
}


def raw(**changes: Any) -> RawMyvwData:
    parts = {"status": STATUS, "charge": CHARGE, "climate": CLIMATE, "health": HEALTH}
    parts.update(changes)
    return RawMyvwData(**copy.deepcopy(parts))


def test_an_electric_car_reports_every_value() -> None:
    report = interpret(raw())
    values = report.values
    assert values["lock"] == "UNLOCKED" and values["door_front_left"] is True
    assert values["window_front_left"] is True and values["door_lock_front_left"] == "UNLOCKED"
    assert values["trunk"] is False and values["hood"] is False
    assert values["battery_level"] == 64 and values["range"] == 150
    assert "fuel_level" not in values  # 0 % fuel on an EV
    assert values["odometer"] == 10000 and report.units["odometer"] == "mi"  # 16093 km
    assert values["plug_connected"] is True and values["plug_lock"] is True
    assert values["charging"] is True and values["charging_state"] == "charging"
    assert values["charge_power"] == 11.0 and isinstance(values["charge_power"], float)
    assert values["charge_rate"] == pytest.approx(34.8) and report.units["charge_rate"] == "mph"
    assert values["charge_remaining_minutes"] == 42
    assert values["max_charge_current"] == "reduced" and values["target_soc"] == 80
    assert values["climate"] is True and values["climate_remaining"] == 27
    assert values["climate_target_temperature"] == 72
    assert report.units["climate_target_temperature"] == "°F"
    assert values["unplugged_climate"] is True and values["window_heating"] is True
    assert values["location"] == {"latitude": 45.5, "longitude": -73.6}
    assert values["last_update"] == datetime.fromtimestamp(1764700000, UTC)
    assert values["health"] == "ok" and values["service_due_distance"] == 3000
    assert values["service_due_days"] == 40
    assert "defrost" not in values and "outdoor_temperature" not in values


def test_kilometres_stay_kilometres() -> None:
    status = {**STATUS, "powerStatus": {"cruiseRange": 241, "cruiseRangeUnits": "KM"}}
    report = interpret(raw(status=status))
    assert report.values["odometer"] == 16093 and report.units["odometer"] == "km"
    assert report.values["charge_rate"] == 56.0 and report.units["charge_rate"] == "km/h"
    assert report.units["range"] == "km"


def test_the_range_of_an_ev_without_a_cruise_range_comes_from_the_charge_summary() -> None:
    status = {**STATUS, "powerStatus": {"fuelPercentRemaining": 0, "cruiseRangeUnits": "MI"}}
    report = interpret(raw(status=status))
    assert report.values["range"] == 150 and report.units["range"] == "mi"  # 241 km


def test_a_combustion_car() -> None:
    status = {**STATUS, "powerStatus": {"cruiseRange": 300, "fuelPercentRemaining": 62,
                                        "cruiseRangeUnits": "MI"}}
    report = interpret(RawMyvwData(status=status, health=HEALTH))
    assert report.values["fuel_level"] == 62
    for key in ("battery_level", "charging", "plug_connected", "climate", "target_soc"):
        assert key not in report.values


@pytest.mark.parametrize(("vendor", "state"), sorted(CHARGE_STATES.items()))
def test_charging_states(vendor: str, state: str) -> None:
    charge = {**CHARGE, "chargingStatus": {"currentChargeState": vendor}}
    values = interpret(raw(charge=charge)).values
    assert values["charging_state"] == state
    assert values["charging"] is (state == "charging")


def test_the_listed_states_and_an_unknown_one() -> None:
    assert CHARGE_STATES["chargePurposeReachedAndConservation"] == "complete"
    assert CHARGE_STATES["chargePurposeReachedAndNotConservationCharging"] == "complete"
    assert CHARGE_STATES["readyForCharging"] == "ready"
    assert CHARGE_STATES["notReadyForCharging"] == "not_ready"
    charge = {**CHARGE, "chargingStatus": {"currentChargeState": "levitating"}}
    values = interpret(raw(charge=charge)).values
    assert "charging_state" not in values and "charging" not in values
    assert values["battery_level"] == 64


def test_temperatures_follow_the_account_unit() -> None:
    celsius = interpret(raw(), "C")
    assert celsius.values["climate_target_temperature"] == 22
    assert celsius.units["climate_target_temperature"] == "°C"
    climate = {**CLIMATE, "climateSettings": {"targetTemperature": {"temperature": 21.5,
                                                                    "unit": "celsius"}}}
    auto = interpret(raw(climate=climate))
    assert auto.values["climate_target_temperature"] == 21.5
    assert auto.units["climate_target_temperature"] == "°C"
    assert interpret(raw(climate=climate), "F").values["climate_target_temperature"] == 71
    assert converted_temperature(70, "°F", "°C") == 21.0
    assert converted_temperature(22.5, "°C", "°F") == 72.0


@pytest.mark.parametrize("changes", [
    {"status": ["not", "an", "object"]},
    {"charge": {**CHARGE, "chargingStatus": {"chargePower": "lots", "chargeRate": True,
                                             "currentChargeState": 7}}},
    {"charge": {**CHARGE, "plugStatus": "connected", "chargeSettings": []}},
    {"climate": {**CLIMATE, "climateSettings": {"targetTemperature": {"temperature": 72}},
                 "windowHeatingStatus": "on"}},
    {"climate": {"climateStatusReport": {"climateStatusInd": ["on"],
                                         "remainingClimatizationTimeMin": "soon"}}},
    {"health": {"vhrMaintEvents": {"not": "a list"}, "overallPriorityCode": 4}},
    {"status": {**STATUS, "currentMileage": {"km": 1}, "timestamp": "yesterday"}},
])
def test_a_malformed_field_costs_only_its_values(changes: dict[str, Any]) -> None:
    whole = interpret(raw()).values
    report = interpret(raw(**changes))
    assert report.values  # the rest is still there
    lost = set(whole) - set(report.values)
    assert lost and len(lost) < len(whole)
    for key, value in report.values.items():
        assert value == whole[key] or key in ("range", "battery_level"), key


def test_nothing_at_all() -> None:
    assert interpret(RawMyvwData()).values == {}


@pytest.mark.parametrize(("event", "progress", "detail"), [
    ({"responseStatus": 0, "responseCode": "4100 : RO_QUEUED", "responseOutcome": 1},
     Progress.PENDING, "on its way to the car: 4100 : RO_QUEUED"),
    ({"responseStatus": 1, "responseCode": "4101 : RO_DOOR_SUCCESS", "responseOutcome": 2},
     Progress.SUCCEEDED, "the car did it: 4101 : RO_DOOR_SUCCESS"),
    ({"responseStatus": 1, "responseCode": "4302 : RO_CHARGING_FAILED", "responseOutcome": 3},
     Progress.FAILED, "the car refused: 4302 : RO_CHARGING_FAILED"),
    ({"responseOutcome": 0, "responseCode": "REJECTED"}, Progress.FAILED,
     "the car refused: REJECTED"),
    ({"responseStatus": 1, "responseCode": "4101 : RO_DOOR_SUCCESS"}, Progress.SUCCEEDED,
     "the car did it: 4101 : RO_DOOR_SUCCESS"),
    ({"responseStatus": 0, "responseCode": "4100 : RO_QUEUED"}, Progress.PENDING,
     "on its way to the car: 4100 : RO_QUEUED"),
    ({"responseStatus": 1, "responseCode": "4102 : RO_DOOR_FAILED"}, Progress.FAILED,
     "the car refused: 4102 : RO_DOOR_FAILED"),
])
def test_outcomes_in_both_forms(event: dict[str, Any], progress: Progress,
                                detail: str) -> None:
    outcome = command_outcome({"responseBody": json.dumps({"eventStatus": event})})
    assert (outcome.progress, outcome.detail) == (progress, detail)


@pytest.mark.parametrize("data", [None, [], {}, {"responseBody": "{not json"},
                                  {"responseBody": "[]"}, {"responseBody": 5}])
def test_an_outcome_without_an_event_is_pending(data: Any) -> None:
    assert command_outcome(data).progress is Progress.PENDING
