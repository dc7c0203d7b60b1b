"""The myVW reads and the physics of charging and climate on this generation."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from carnet.simulator import Simulator
from tests.test_simulator_myvw_support import MyvwClient
from tests.test_simulator_support import (
    EV_VIN,
    ICE_VIN,
    make_sim,
    sim_patch,
    sim_vehicle,
)

ID4_VIN = "1V2GMPE2XMP000003"
CHARGE = "/ev/v1/vehicle/{vid}/charge/summary"
CLIMATE = "/ev/v1/vehicle/{vid}/climate/summary"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = make_sim(demo_id4=True, rate_limit=1000, ev_command_gap=0)
    yield simulator
    simulator.stop()


def _get(client: MyvwClient, path: str, vin: str, token: str | None = None,
         **params: str) -> requests.Response:
    return client.get(path.format(vid=client.vid(vin)), token, **params)


def test_status_has_the_car_net_shape_and_the_extras(sim: Simulator) -> None:
    client = MyvwClient(sim).login()
    r = _get(client, "/rvs/v1/vehicle/{vid}", ID4_VIN)
    assert r.status_code == 200
    data = r.json()["data"]
    assert {"currentMileage", "timestamp", "nextMaintenanceMilestone", "exteriorStatus",
            "powerStatus", "lastParkedLocation", "clampState", "clampStateTimestamp",
            "platform", "lockStatus"} <= set(data)
    assert data["platform"] == "MEB"
    ext = data["exteriorStatus"]
    assert {"secure", "doorStatus", "doorLockStatus", "windowStatus", "lightStatus"} <= set(ext)
    assert {"trunk", "hood", "leftCargo", "rightCargo", "doorStatusTimestamp"} <= \
        set(ext["doorStatus"])
    assert {"sunRoof", "rearSunRoof", "convertibleTop", "windowStatusTimestamp"} <= \
        set(ext["windowStatus"])
    assert {"parking", "tail", "fog"} <= set(ext["lightStatus"])
    assert {"latitude", "longitude", "timestamp"} <= set(data["lastParkedLocation"])
    assert {"cruiseRange", "fuelPercentRemaining", "cruiseRangeUnits", "cruiseRangeFirst"} <= \
        set(data["powerStatus"])
    assert client.send("PUT", f"/rvs/v1/vehicle/{client.vid(EV_VIN)}").status_code == 405


def test_charge_summary_shape_and_ice_refusal(sim: Simulator) -> None:
    client = MyvwClient(sim).login()
    for token in (None, client.vehicle_token(EV_VIN)):  # access or vehicle token
        r = _get(client, CHARGE, EV_VIN, token)
        assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert set(data) == {"carCapturedTimestamp", "batteryStatus", "chargingStatus",
                         "plugStatus", "chargeSettings"}
    assert data["batteryStatus"]["currentSOCPct"] == 80
    assert set(data["batteryStatus"]["cruisingRange"]) == {"engineType", "range"}
    assert {"currentChargeState", "chargeType", "chargeMode", "chargePower", "chargeRate",
            "remainingChargingTimeToComplete", "chargeTargetTime"} <= set(data["chargingStatus"])
    assert data["plugStatus"]["plugConnectionState"] == "connected"
    assert data["plugStatus"]["plugLockState"] in ("locked", "unlocked")
    assert data["chargeSettings"] == {"maxChargingCurrent": "max",
                                      "autoUnlockPlugWhenCharged": "off",
                                      "targetSOCPercentage": 100,
                                      "chargeModeSelection": "manual"}
    ice = _get(client, CHARGE, ICE_VIN)
    assert ice.status_code == 403 and ice.json()["error"]["errorCode"] == "USER_NOT_AUTHORIZED"
    assert _get(client, CLIMATE, ICE_VIN).status_code == 403


def test_climate_summary_and_settings_shapes(sim: Simulator) -> None:
    client = MyvwClient(sim).login()
    data = _get(client, CLIMATE, EV_VIN).json()["data"]
    report = data["climateStatusReport"]
    assert report["climateStatusInd"] == "off" and report["remainingClimatizationTimeMin"] == 0
    settings = data["climateSettings"]
    assert settings["targetTemperature"] == {"temperature": 72, "unit": "fahrenheit",
                                             "measurementState": "valid"}
    assert {"climatizationAtUnlock", "mirrorHeatingEnabled", "zoneFrontLeftEnabled",
            "zoneFrontRightEnabled", "zoneRearLeftEnabled", "zoneRearRightEnabled"} == \
        set(settings["climatizationElementSettings"])
    assert "windowHeatingStatus" in data
    celsius = _get(client, "/ev/v1/vehicle/{vid}/pretripclimate/settings", EV_VIN,
                   tempUnit="celsius").json()["data"]
    assert celsius["targetTemperature"]["unit"] == "celsius"
    assert celsius["targetTemperature"]["temperature"] == 22.0


def test_vehicle_token_summary_location_and_health(sim: Simulator) -> None:
    client = MyvwClient(sim).login()
    path = f"/ev/v1/user/{client.user_id}/vehicle/{client.vid(EV_VIN)}/summary"
    assert client.get(path, tempUnit="fahrenheit").status_code == 403  # access token
    r = client.get(path, client.vehicle_token(EV_VIN), tempUnit="fahrenheit")
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert {"batteryStatus", "chargingStatus", "plugStatus", "chargeSettings",
            "chargeModeOptions"} <= set(data["batteryAndPlugStatus"])
    assert {"climateSettings", "climateStatusReport", "temperature"} <= \
        set(data["climateStatus"])
    location = _get(client, "/rvs/v1/location/vehicle/{vid}", EV_VIN,
                    client.vehicle_token(EV_VIN))
    assert location.status_code == 200 and "latitude" in location.json()["data"]
    health = _get(client, "/vhs/v2/vehicle/{vid}", EV_VIN)
    assert health.status_code == 200 and "vhrTimeStamp" in health.json()["data"]


def test_charging_has_power_and_stops_at_the_target() -> None:
    # 600 simulated seconds per real second
    with make_sim(demo_id4=True, rate_limit=1000, ev_command_gap=0, time_scale=600) as sim:
        client = MyvwClient(sim).login()
        sim_patch(sim, ID4_VIN, {"battery_level": 70})
        assert client.command("POST", ID4_VIN, "/ev/v1/vehicle/{vid}/charging/start",
                              {"actionMode": "immediate"}).status_code == 200
        status = _get(client, CHARGE, ID4_VIN).json()["data"]["chargingStatus"]
        assert status["currentChargeState"] == "chargingHVBattery"
        assert status["chargePower"] == pytest.approx(11.0, abs=0.2)  # the ID.4's 11 kW
        # 10 % of 77 kWh at 11 kW: 42 minutes to the 80 % target (to 100 % would be 126)
        assert 0 < status["remainingChargingTimeToComplete"] <= 42
        assert sim_vehicle(sim, ID4_VIN)["charge_power_kw"] == pytest.approx(11.0, abs=0.2)
        deadline = time.monotonic() + 10
        while sim_vehicle(sim, ID4_VIN)["charging"] and time.monotonic() < deadline:
            time.sleep(0.1)
        data = _get(client, CHARGE, ID4_VIN).json()["data"]
        assert data["batteryStatus"]["currentSOCPct"] == 80
        assert data["chargingStatus"]["chargePower"] == 0
        assert data["chargingStatus"]["currentChargeState"] != "chargingHVBattery"
        egolf = client.command("POST", EV_VIN, "/ev/v1/vehicle/{vid}/charging/start")
        assert egolf.status_code == 200
        assert _get(client, CHARGE, EV_VIN).json()["data"]["chargingStatus"]["chargePower"] \
            == pytest.approx(7.2)


def test_climate_ends_after_thirty_minutes_and_a_second_start_does_not_extend() -> None:
    with make_sim(rate_limit=1000, ev_command_gap=0, time_scale=600) as sim:
        client = MyvwClient(sim).login()
        start = "/ev/v1/vehicle/{vid}/pretripclimate/start"
        assert client.command("POST", EV_VIN, start, {}).status_code == 200
        report = _get(client, CLIMATE, EV_VIN).json()["data"]["climateStatusReport"]
        assert report["climateStatusInd"] == "on"
        assert 0 < report["remainingClimatizationTimeMin"] <= 30
        state = sim_vehicle(sim, EV_VIN)
        first_off = state["climate_off_at"]
        assert first_off - state["timestamp"] == 30 * 60 * 1000  # from the start
        time.sleep(1.0)  # ten simulated minutes
        assert client.command("POST", EV_VIN, start, {}).status_code == 200
        assert sim_vehicle(sim, EV_VIN)["climate_off_at"] == first_off
        remaining = _get(client, CLIMATE, EV_VIN).json()["data"]["climateStatusReport"]
        assert remaining["remainingClimatizationTimeMin"] <= 20
        deadline = time.monotonic() + 10
        while sim_vehicle(sim, EV_VIN)["climate_on"] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not sim_vehicle(sim, EV_VIN)["climate_on"]
        assert _get(client, CLIMATE, EV_VIN).json()["data"]["climateStatusReport"][
            "climateStatusInd"] == "off"


def test_vehicle_token_lists(sim: Simulator) -> None:
    client = MyvwClient(sim).login()
    token = client.vehicle_token(EV_VIN)
    for path in ("/history/activity/v1/vehicle/{vid}",
                 f"/messagecenter/v2/user/{client.user_id}/vehicle/{{vid}}",
                 "/poi/v1/vehicle/{vid}/trip"):
        assert _get(client, path, EV_VIN).status_code == 403  # the access token
        r = _get(client, path, EV_VIN, token)
        assert r.status_code == 200 and r.json() == {"data": []}


def test_reads_refuse_a_wrong_verb(sim: Simulator) -> None:
    client = MyvwClient(sim).login()
    vid, uid = client.vid(EV_VIN), client.user_id
    for path in ("/account/v1/garage", f"/rrs/v1/privileges/user/{uid}/vehicle/{vid}",
                 f"/ev/v1/vehicle/{vid}/charge/summary", f"/ev/v1/vehicle/{vid}/climate/summary",
                 f"/ev/v1/user/{uid}/vehicle/{vid}/summary", f"/rvs/v1/location/vehicle/{vid}",
                 f"/vhs/v2/vehicle/{vid}", f"/history/v1/vehicle/{vid}/correlationId/x/ro/"):
        r = client.send("POST", path, {})
        assert r.status_code == 405, path
        assert r.json()["error"]["errorCode"] == "METHOD_NOT_ALLOWED"
        assert "GET" in r.headers["Allow"]
