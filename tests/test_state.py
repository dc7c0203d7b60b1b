"""Parsing the description's example responses, and the ways real responses differ."""

from __future__ import annotations

import copy
import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from carnet.catalog.encoding import encode
from carnet.catalog.state import VehicleState
from carnet.catalog.table import entity
from carnet.vendor import fields
from carnet.vendor.carnet_app.readings import RawVehicleData, account_temperature_unit
from tests.support.reports import parse_state

# The "data" objects of the examples in the API description (elided values filled in).
STATUS: dict[str, Any] = {
    "currentMileage": 25000,
    "nextMaintenanceMilestone": {"mileageInterval": 0, "absoluteMileage": 30000},
    "timestamp": 1597203545000,
    "exteriorStatus": {
        "secure": "SECURE",
        "doorStatus": {
            "frontLeft": "CLOSED", "frontRight": "CLOSED", "rearLeft": "CLOSED",
            "rearRight": "CLOSED", "trunk": "CLOSED", "hood": "CLOSED",
        },
        "doorLockStatus": {
            "frontLeft": "LOCKED", "frontRight": "LOCKED", "rearLeft": "LOCKED",
            "rearRight": "LOCKED",
        },
        "windowStatus": {
            "frontLeft": "CLOSED", "frontRight": "CLOSED", "rearLeft": "CLOSED",
            "rearRight": "CLOSED",
        },
        "lightStatus": {},
    },
    "powerStatus": {
        "cruiseRange": 148,
        "fuelPercentRemaining": 0,
        "cruiseRangeUnits": "KM",
        "cruiseRangeFirst": 148,
        "battery": {
            "chargePercentRemaining": 100,
            "minutesUntilFullCharge": 15,
            "chargePlug": "PLUGGEDIN",
            "triggeredByTimer": "false",
        },
    },
    "location": {"latitude": 37.4219, "longitude": -122.084},
    "lastParkedLocation": {"latitude": 37.42, "longitude": -122.08},
    "lockStatus": "LOCKED",
}
CLIMATE: dict[str, Any] = {
    "outdoor_temperature": 74,
    "target_temperature": 77,
    "climate_on": False,
    "defrost_on": False,
    "unplugged_climate_control_enabled": True,
    "triggered_by_timer": False,
}
HEALTH: dict[str, Any] = {
    "odoReadCount": 55000,
    "odoUOM": "km",
    "vehicleId": "abcdef12-3456-7890-abcd-abcdef0123456",
    "vhrTimeStamp": 1597203545000,
    "overallPriorityCode": "D",
    "overAllPriorityDescription": "ALL_GOOD",
    "applicableCategories": [
        {"categoryCode": "ELECTRIC_SYS", "categoryDesc": "Electric System",
         "categoryPriorityCode": "D", "diagnosticMessages": []},
        {"categoryCode": "TIRES_BRAKES", "categoryDesc": "Tires & Brakes",
         "categoryPriorityCode": "C", "diagnosticMessages": []},
    ],
    "vhrMaintEvents": [
        {"distance": 21000, "daysCount": 72, "eventStatusCode": "2",
         "eventStatusDesc": "Service in", "eventType": "INSPECTION",
         "eventTypeDesc": "Service inspection", "uom": "km", "uomDesc": "Kilometer"},
        {"distance": 9000, "daysCount": 300, "eventType": "OIL", "uom": "km"},
    ],
    "priorityCodeLegend": [
        {"priorityCode": "D", "priorityDescription": "Green - Vehicle OK"},
    ],
}

# A combustion car as the simulator's second demo vehicle: miles, fuel, no battery values.
GAS_STATUS: dict[str, Any] = {
    **copy.deepcopy(STATUS),
    "powerStatus": {
        "cruiseRange": 310,
        "fuelPercentRemaining": 64,
        "cruiseRangeUnits": "MI",
        "battery": {
            "chargePercentRemaining": "NOTAVAILABLE",
            "minutesUntilFullCharge": "NOTAVAILABLE",
            "chargePlug": "NOTAVAILABLE",
        },
    },
}


def example() -> RawVehicleData:
    return RawVehicleData(copy.deepcopy(STATUS), copy.deepcopy(CLIMATE), copy.deepcopy(HEALTH))


def with_status(**changes: Any) -> RawVehicleData:
    status = copy.deepcopy(STATUS)
    status.update(changes)
    return RawVehicleData(status, copy.deepcopy(CLIMATE), copy.deepcopy(HEALTH))


@pytest.fixture(autouse=True)
def _fresh_warnings() -> None:
    """Each test sees its own once-only warnings."""
    fields._WARNED.clear()


def test_description_example_values() -> None:
    state = parse_state(example())
    assert state.values == {
        "lock": "LOCKED",
        "door_front_left": False, "door_front_right": False, "door_rear_left": False,
        "door_rear_right": False, "trunk": False, "hood": False,
        "window_front_left": False, "window_front_right": False,
        "window_rear_left": False, "window_rear_right": False,
        "door_lock_front_left": "LOCKED", "door_lock_front_right": "LOCKED",
        "door_lock_rear_left": "LOCKED", "door_lock_rear_right": "LOCKED",
        "battery_level": 100,
        "range": 148,
        "odometer": 25000,
        "plug_connected": True,
        "charging": False,  # 100 %: full, whatever minutes the car still reports
        "minutes_to_full_charge": 15,
        "climate": False,
        "climate_target_temperature": 77,
        "outdoor_temperature": 74,
        "defrost": False,
        "unplugged_climate": True,
        "health": "ok",
        "service_due_distance": 9000,
        "service_due_days": 72,
        "location": {"latitude": 37.4219, "longitude": -122.084},
        "last_update": datetime(2020, 8, 12, 3, 39, 5, tzinfo=UTC),
    }


def test_description_example_units() -> None:
    state = parse_state(example())
    assert state.units == {
        "battery_level": "%",
        "range": "km",
        "odometer": "km",
        "minutes_to_full_charge": "min",
        "climate_target_temperature": "°F",
        "outdoor_temperature": "°F",
        "service_due_distance": "km",
        "service_due_days": "d",
    }


def test_health_details() -> None:
    details = parse_state(example()).attributes["health"]
    assert details["code"] == "D"
    assert details["description"] == "ALL_GOOD"
    assert details["meaning"] == "Green - Vehicle OK"
    assert details["categories"] == {"Electric System": "ok", "Tires & Brakes": "service"}
    assert details["report_time"] == "2020-08-12T03:39:05+00:00"
    assert [event["type"] for event in details["service"]] == ["Service inspection", "OIL"]


def test_combustion_car_has_fuel_and_miles_but_no_battery() -> None:
    state = parse_state(RawVehicleData(copy.deepcopy(GAS_STATUS)))
    assert state.values["fuel_level"] == 64
    assert state.values["range"] == 310
    assert state.units["range"] == "mi"
    assert state.units["odometer"] == "mi"
    for absent in ("battery_level", "minutes_to_full_charge", "plug_connected", "charging"):
        assert absent not in state.values


def test_ev_zero_fuel_is_absent_but_real_zero_fuel_is_kept() -> None:
    assert "fuel_level" not in parse_state(example()).values
    empty_tank = copy.deepcopy(GAS_STATUS)
    empty_tank["powerStatus"]["fuelPercentRemaining"] = 0
    assert parse_state(RawVehicleData(empty_tank)).values["fuel_level"] == 0


@pytest.mark.parametrize("marker", ["NOTAVAILABLE", "UNSUPPORTED"])
def test_markers_mean_absent(marker: str) -> None:
    raw = example()
    raw.status["exteriorStatus"]["doorStatus"]["rearLeft"] = marker
    raw.status["exteriorStatus"]["windowStatus"]["rearRight"] = marker
    raw.status["powerStatus"]["cruiseRange"] = marker
    raw.climate["outdoor_temperature"] = marker
    state = parse_state(raw)
    for key in ("door_rear_left", "window_rear_right", "range", "outdoor_temperature"):
        assert key not in state.values
        assert key not in state.units
    assert state.values["door_rear_right"] is False


def test_missing_sections() -> None:
    assert parse_state(RawVehicleData()) == VehicleState({}, {})
    state = parse_state(RawVehicleData(status=copy.deepcopy(STATUS)))
    assert "climate" not in state.values and "health" not in state.values
    assert state.values["lock"] == "LOCKED"
    only_climate = parse_state(RawVehicleData(climate=copy.deepcopy(CLIMATE)))
    # climate on battery needs the battery level, which is in the status
    assert set(only_climate.values) == {
        "climate", "climate_target_temperature", "outdoor_temperature", "defrost",
    }


def test_charging_is_derived_from_plug_minutes_and_level() -> None:
    def charging(plug: str, minutes: Any, level: Any = 80) -> Any:
        raw = example()
        raw.status["powerStatus"]["battery"].update(
            chargePlug=plug, minutesUntilFullCharge=minutes, chargePercentRemaining=level
        )
        return parse_state(raw).values.get("charging")

    assert charging("PLUGGEDIN", 15) is True
    assert charging("PLUGGEDIN", 0) is False
    assert charging("UNPLUGGED", 15) is False
    assert charging("PLUGGEDIN", "NOTAVAILABLE") is None
    assert charging("NOTAVAILABLE", 15) is None
    assert charging("PLUGGEDIN", 15, level=99) is True
    assert charging("PLUGGEDIN", 15, level=100) is False
    # A level that is not known (or not readable) does not decide.
    assert charging("PLUGGEDIN", 15, level="NOTAVAILABLE") is True
    assert charging("PLUGGEDIN", 15, level=[1]) is True


def test_full_battery_of_the_description_example_is_not_charging() -> None:
    battery = STATUS["powerStatus"]["battery"]
    assert (battery["chargePercentRemaining"], battery["minutesUntilFullCharge"]) == (100, 15)
    assert battery["chargePlug"] == "PLUGGEDIN"
    assert parse_state(example()).values["charging"] is False


def test_vented_window_is_open(caplog: pytest.LogCaptureFixture) -> None:
    raw = example()
    raw.status["exteriorStatus"]["windowStatus"]["rearLeft"] = "VENTED"
    with caplog.at_level(logging.WARNING):
        state = parse_state(raw)
    assert state.values["window_rear_left"] is True
    assert state.values["window_front_left"] is False
    item = entity("window_rear_left")
    assert encode(item, state.values["window_rear_left"]) == "OPEN"
    assert "unknown value" not in caplog.text


def test_a_value_that_changes_every_poll_is_warned_once_and_silences_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        for poll in range(fields._WARNED_MAX + 5):
            parse_state(with_status(lockStatus=f"JAMMED_{poll}"))
        unknown = [r for r in caplog.records if "lock: unknown value" in r.getMessage()]
        assert len(unknown) == 1 and "JAMMED_0" in unknown[0].getMessage()
        # Another problem found later is still reported.
        raw = example()
        raw.status["powerStatus"]["cruiseRange"] = True
        parse_state(raw)
    assert any("range: ignoring malformed" in r.getMessage() for r in caplog.records)


def test_wrong_types_lose_only_their_values(caplog: pytest.LogCaptureFixture) -> None:
    raw = with_status(exteriorStatus=["not", "an", "object"], currentMileage={"km": 1})
    raw.status["powerStatus"]["cruiseRange"] = True
    raw.climate["target_temperature"] = "warm"
    raw.health["vhrMaintEvents"] = "soon"
    with caplog.at_level(logging.WARNING):
        state = parse_state(raw)
    for lost in ("door_front_left", "window_front_left", "range", "climate_target_temperature",
                 "service_due_distance", "service_due_days"):
        assert lost not in state.values
    assert "odometer" not in state.values  # a malformed mileage is not replaced by a guess
    assert state.values["lock"] == "LOCKED"
    assert state.values["battery_level"] == 100
    assert state.values["climate"] is False
    assert state.values["health"] == "ok"
    assert "malformed" in caplog.text


def test_section_of_the_wrong_type() -> None:
    state = parse_state(RawVehicleData(status=["nonsense"], climate=copy.deepcopy(CLIMATE)))  # type: ignore[arg-type]
    assert state.values["climate_target_temperature"] == 77
    assert "lock" not in state.values


def test_unknown_enum_values_are_kept_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    raw = example()
    raw.status["lockStatus"] = "SUPERLOCKED"
    raw.status["exteriorStatus"]["doorStatus"]["trunk"] = "AJAR"
    raw.health["overallPriorityCode"] = "F"
    with caplog.at_level(logging.WARNING):
        state = parse_state(raw)
        parse_state(raw)
    assert state.values["lock"] == "SUPERLOCKED"
    assert state.values["trunk"] == "AJAR"
    assert state.values["health"] == "F"
    assert caplog.text.count("SUPERLOCKED") == 1
    assert caplog.text.count("AJAR") == 1


def test_numeric_strings_are_numbers() -> None:
    raw = example()
    raw.status["powerStatus"]["cruiseRange"] = "148"
    raw.status["powerStatus"]["battery"]["chargePercentRemaining"] = "87.5"
    state = parse_state(raw)
    assert state.values["range"] == 148
    assert state.values["battery_level"] == 87.5


def test_distance_without_unit_is_not_published() -> None:
    raw = example()
    del raw.status["powerStatus"]["cruiseRangeUnits"]
    state = parse_state(raw)
    assert "range" not in state.values
    assert "odometer" not in state.values  # the status mileage has no unit either


def test_odometer_from_health_when_status_has_none() -> None:
    raw = example()
    del raw.status["currentMileage"]
    state = parse_state(raw)
    assert state.values["odometer"] == 55000
    assert state.units["odometer"] == "km"


def test_location_falls_back_to_last_parked() -> None:
    assert parse_state(with_status(location="NOTAVAILABLE")).values["location"] == {
        "latitude": 37.42, "longitude": -122.08,
    }
    assert "location" not in parse_state(
        with_status(location=None, lastParkedLocation={"latitude": 0, "longitude": 0})
    ).values
    assert "location" not in parse_state(
        with_status(location={"latitude": 123.0, "longitude": 0.5}, lastParkedLocation=None)
    ).values


def test_timestamp_out_of_range_is_absent() -> None:
    assert "last_update" not in parse_state(with_status(timestamp=12)).values
    iso = parse_state(with_status(timestamp="2024-05-01T10:00:00Z")).values["last_update"]
    assert iso == datetime(2024, 5, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("setting", "target", "unit"),
    [("auto", 77, "°F"), ("auto", 40, "°F"), ("auto", 21, "°C"), ("auto", None, "°F"),
     ("C", 77, "°C"), ("F", 21, "°F"), ("c", 21, "°C")],
)
def test_temperature_unit(setting: str, target: Any, unit: str) -> None:
    climate = dict(CLIMATE, target_temperature=target if target is not None else "NOTAVAILABLE")
    raw = RawVehicleData(climate=climate)
    assert account_temperature_unit(raw, setting) == unit
    state = parse_state(raw, temperature_unit=setting)
    assert state.units["outdoor_temperature"] == unit


def test_with_value() -> None:
    state = parse_state(example())
    pending = state.with_value("lock", "LOCKING")
    assert pending.values["lock"] == "LOCKING"
    assert state.values["lock"] == "LOCKED"
    assert "lock" not in pending.with_value("lock", None).values
