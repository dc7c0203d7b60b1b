"""Every vehicle API request of the description against the simulator, with its shape."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
import requests

from carnet.simulator import Simulator
from tests.test_simulator_support import (
    DEMO_EMAIL,
    EV_VIN,
    ICE_VIN,
    ID4_VIN,
    TIMEOUT,
    Client,
    make_sim,
)


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = make_sim(rate_limit=1000)
    yield simulator
    simulator.stop()


@pytest.fixture
def client(sim: Simulator) -> Client:
    return Client(sim).login()


def test_enrollment_shape(client: Client) -> None:
    r = client.enrollment()
    assert r.status_code == 200
    data = r.json()["data"]
    customer = data["customer"]
    assert re.fullmatch(r"[0-9a-f-]{36}", customer["userId"])
    assert customer["vwId"].endswith("vwcarnetportal-prod-002-appserver-000")
    assert {"firstName", "lastName", "emails", "phones", "address"} <= set(customer)
    vins = {}
    for entry in data["vehicleEnrollmentStatus"]:
        vehicle, rights = entry["vehicle"], entry["rolesAndRights"]
        assert entry["vehicleId"] == vehicle["vehicleId"] == rights["vehicleId"]
        assert rights["userId"] == customer["userId"]
        assert re.fullmatch(r"\d{8}", rights["tspAccountNum"])
        assert vehicle["brand"] == "VW" and vehicle["tspProvider"] == "VZT"
        assert {"modelName", "modelYear", "modelCode", "ocuSim", "stolenFlag"} <= set(vehicle)
        vins[vehicle["vin"]] = (vehicle["modelName"], vehicle["modelYear"])
    assert vins == {EV_VIN: ("e-Golf", "2016"), ICE_VIN: ("Jetta", "2020"),
                    ID4_VIN: ("ID.4", "2021")}


def test_enrollment_needs_the_users_id_token(sim: Simulator, client: Client) -> None:
    other = Client(sim).login()
    r = requests.get(f"{sim.api_url}/account/v1/enrollment/status",
                     params={"idToken": "nonsense"}, headers=client.bearer(), timeout=TIMEOUT)
    assert r.status_code == 401
    r = requests.get(f"{sim.api_url}/account/v1/enrollment/status",
                     params={"idToken": client.tokens["id_token"]}, timeout=TIMEOUT)
    assert r.status_code == 401  # no Bearer
    assert other.enrollment().status_code == 200


def test_ev_status_shape(client: Client) -> None:
    r = client.status(EV_VIN)
    assert r.status_code == 200
    data = r.json()["data"]
    assert isinstance(data["currentMileage"], int)
    assert set(data["nextMaintenanceMilestone"]) == {"mileageInterval", "absoluteMileage"}
    assert abs(data["timestamp"] / 1000 - time.time()) < 3600
    ext = data["exteriorStatus"]
    assert ext["secure"] == "SECURE"
    assert {"frontLeft", "frontRight", "rearLeft", "rearRight", "trunk", "hood"} <= set(
        ext["doorStatus"])
    assert set(ext["doorLockStatus"]) == {"frontLeft", "frontRight", "rearLeft", "rearRight"}
    assert {"frontLeft", "frontRight", "rearLeft", "rearRight"} <= set(ext["windowStatus"])
    assert isinstance(ext["lightStatus"], dict)
    power = data["powerStatus"]
    assert power["cruiseRangeUnits"] == "KM"
    assert power["fuelPercentRemaining"] == 0  # as the description's e-Golf
    assert power["cruiseRange"] == power["cruiseRangeFirst"] > 0
    assert power["battery"] == {"chargePercentRemaining": 80, "minutesUntilFullCharge": 0,
                                "chargePlug": "PLUGGEDIN", "triggeredByTimer": "false"}
    assert set(data["location"]) == {"latitude", "longitude"}
    assert set(data["lastParkedLocation"]) == {"latitude", "longitude"}
    assert data["lockStatus"] == "LOCKED"


def test_combustion_status_shape(client: Client) -> None:
    data = client.status(ICE_VIN).json()["data"]
    power = data["powerStatus"]
    assert power["cruiseRangeUnits"] == "MI"
    assert power["fuelPercentRemaining"] == 62
    assert power["battery"]["chargePercentRemaining"] == "NOTAVAILABLE"
    assert power["battery"]["chargePlug"] == "NOTAVAILABLE"
    assert data["exteriorStatus"]["windowStatus"]["sunroof"] == "UNSUPPORTED"


def test_health_shape(client: Client) -> None:
    r = client.health(EV_VIN)
    assert r.status_code == 200
    data = r.json()["data"]
    assert data["odoUOM"] == "km" and isinstance(data["odoReadCount"], int)
    assert data["vehicleId"] == client.vehicle(EV_VIN)["vehicleId"]
    assert isinstance(data["vhrTimeStamp"], int)
    assert data["overallPriorityCode"] == "D"
    assert data["overAllPriorityDescription"] == "ALL_GOOD"
    assert {c["categoryCode"] for c in data["applicableCategories"]} >= {"ELECTRIC_SYS"}
    event = data["vhrMaintEvents"][0]
    assert set(event) == {"distance", "daysCount", "eventStatusCode", "eventStatusDesc",
                          "eventType", "eventTypeDesc", "uom", "uomDesc"}
    assert [p["priorityCode"] for p in data["priorityCodeLegend"]] == list("ABCDE")
    assert client.health(ICE_VIN).json()["data"]["odoUOM"] == "mi"


def test_reads_refuse_unknown_and_foreign_vehicles(sim: Simulator, client: Client) -> None:
    r = requests.get(f"{sim.api_url}/rvs/v1/vehicle/nope", headers=client.bearer(),
                     timeout=TIMEOUT)
    assert r.status_code == 404
    r = requests.get(f"{sim.api_url}/rvs/v1/vehicle/{client.vehicle(EV_VIN)['vehicleId']}",
                     headers={"authorization": "Bearer forged"}, timeout=TIMEOUT)
    assert r.status_code == 401


def test_session_gives_a_long_hex_tsp_token(client: Client) -> None:
    r = client.session(EV_VIN)
    assert r.status_code == 200
    assert re.fullmatch(r"[0-9a-f]{64,}", r.json()["data"]["tspToken"])


def test_wrong_pins_lock_commands(sim: Simulator, client: Client) -> None:
    for left in (2, 1, 0):
        r = client.session(EV_VIN, pin="0000")
        assert r.status_code == 403
        assert r.json()["error"]["remainingAttempts"] == left
    r = client.session(EV_VIN)  # the right PIN, too late
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "PIN_LOCKED"
    # the lock is the account's: it covers every vehicle and every command
    assert client.session(ICE_VIN).status_code == 403
    r = requests.patch(f"{sim.api_url}/_sim/accounts/{DEMO_EMAIL}", json={"pin_locked": False},
                       timeout=TIMEOUT)
    assert r.ok
    assert client.session(EV_VIN).status_code == 200


def test_an_account_password_can_be_changed_and_bad_changes_are_refused(sim) -> None:
    url = f"{sim.api_url}/_sim/accounts/{DEMO_EMAIL}"
    for bad in ({}, {"password": ""}, {"password": 1}, {"pin_locked": "no"}, {"name": "x"}):
        r = requests.patch(url, json=bad, timeout=TIMEOUT)
        assert r.status_code == 400, bad
        assert "password" in r.json()["error"]["message"], bad
    r = requests.patch(url, json={"password": "changed"}, timeout=TIMEOUT)
    assert r.ok
    assert r.json()["password"] == "changed"


def test_a_right_pin_resets_the_count(client: Client) -> None:
    assert client.session(EV_VIN, pin="0000").status_code == 403
    assert client.session(EV_VIN, pin="0000").status_code == 403
    assert client.session(EV_VIN).status_code == 200
    r = client.session(EV_VIN, pin="0000")
    assert r.json()["error"]["remainingAttempts"] == 2


def test_tsp_token_expires() -> None:
    with make_sim(tsp_ttl=0.5) as sim:
        client = Client(sim).login()
        assert client.command("PUT", EV_VIN, "status/fresh").status_code == 200
        time.sleep(0.6)
        r = client.command("PUT", EV_VIN, "status/fresh")
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "INVALID_TSP_TOKEN"
        assert client.session(EV_VIN).status_code == 200
        assert client.command("PUT", EV_VIN, "status/fresh").status_code == 200


def test_tsp_token_is_bound_to_its_vehicle(client: Client) -> None:
    assert client.session(EV_VIN).status_code == 200
    client.tsp_tokens[ICE_VIN] = client.tsp_tokens[EV_VIN]
    assert client.command("PUT", ICE_VIN, "status/fresh").status_code == 401


ACKS = [
    ("PUT", "status/fresh", {}, "fetch_vehicle_status"),
    ("PUT", "status/exterior/doors", {"lock": True}, "lock_doors"),
    ("PUT", "status/exterior/doors", {"lock": False}, "unlock_doors"),
    ("PUT", "status/exterior/horn_and_lights", {"horn": True, "lights": True},
     "flash_lights_and_honk_horn"),
    ("PUT", "settings/max_charge_current", {"max_charge_current": "max"},
     "set_max_charge_current"),
    ("PUT", "settings/max_charge_current", {"max_charge_current": 13}, "set_max_charge_current"),
    ("PUT", "status/defrost", {"active": True}, "start_defrost"),
    ("PUT", "status/defrost", {"active": False}, "stop_defrost"),
    ("PUT", "status/climate", {"active": True, "target_temperature": 77}, "start_climate"),
    ("PUT", "status/climate", {"active": False, "target_temperature": 77}, "stop_climate"),
    ("PUT", "settings/unplugged_climate_control", {"enabled": True},
     "enable_unplugged_climate_control"),
    ("PUT", "settings/unplugged_climate_control", {"enabled": False},
     "disable_unplugged_climate_control"),
]


@pytest.mark.parametrize(("method", "suffix", "fields", "name"), ACKS)
def test_command_acknowledgement(client: Client, method: str, suffix: str, fields: dict,
                                 name: str) -> None:
    r = client.command(method, EV_VIN, suffix, **fields)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["command"] == name
    assert data["result"] == 0
    assert data["correlationId"]


@pytest.mark.parametrize(("active", "name"), [(True, "start_charge"), (False, "stop_charge")])
def test_charging_is_patch_and_answers_value(client: Client, active: bool, name: str) -> None:
    r = client.command("PATCH", EV_VIN, "status/charging", active=active)
    assert r.status_code == 200
    value = r.json()["value"]
    assert value["command"] == name and value["transaction_id"]
    assert client.command("PUT", EV_VIN, "status/charging", active=active).status_code == 405


def test_climate_details(client: Client) -> None:
    r = client.command("PUT", EV_VIN, "status/climate/details")
    assert r.status_code == 200
    assert r.json()["data"] == {"outdoor_temperature": 64, "target_temperature": 72,
                                "climate_on": False, "defrost_on": False,
                                "unplugged_climate_control_enabled": False,
                                "triggered_by_timer": False}


def test_health_fresh(client: Client) -> None:
    before = client.health(EV_VIN).json()["data"]["vhrTimeStamp"]
    r = client.command("POST", EV_VIN, "health/fresh")
    assert r.status_code == 200
    assert r.json() == {"data": {"requested": True}}
    assert client.health(EV_VIN).json()["data"]["vhrTimeStamp"] > before


@pytest.mark.parametrize(("suffix", "fields", "says"), [
    ("status/exterior/doors", {"lock": "true"}, "lock"),
    ("status/exterior/doors", {}, "lock"),
    ("status/exterior/horn_and_lights", {"horn": False, "lights": False}, "horn"),
    ("settings/max_charge_current", {"max_charge_current": 7}, "max_charge_current"),
    ("settings/max_charge_current", {"max_charge_current": "13"}, "max_charge_current"),
    ("status/climate", {"active": True, "target_temperature": 72.5}, "target_temperature"),
    ("status/climate", {"active": True, "target_temperature": 120}, "target_temperature"),
    ("status/defrost", {"active": 1}, "active"),
    ("settings/unplugged_climate_control", {}, "enabled"),
    ("status/fresh", {"email": "other@example.com"}, "email"),
    ("status/fresh", {"vw_id": "someone"}, "vw_id"),
    ("status/fresh", {"tsp_token": ""}, "tsp_token"),
])
def test_bodies_are_validated(client: Client, suffix: str, fields: dict, says: str) -> None:
    r = client.command("PUT", EV_VIN, suffix, **fields)
    assert r.status_code == 400
    assert says in r.json()["error"]["message"]


def test_command_needs_bearer_but_not_the_app_headers(sim: Simulator, client: Client) -> None:
    assert client.session(EV_VIN).status_code == 200
    r = client.command("PUT", EV_VIN, "status/fresh", headers={"authorization": "Bearer no"})
    assert r.status_code == 401
    tsp = client.vehicle(EV_VIN)["rolesAndRights"]["tspAccountNum"]
    r = requests.put(f"{sim.api_url}/mps/v1/vehicles/{tsp}/status/fresh",
                     json={"tsp_token": client.tsp_tokens[EV_VIN], "email": DEMO_EMAIL,
                           "vw_id": client.profile["customer"]["vwId"]},
                     headers={**client.bearer(), "x-user-id": ""}, timeout=TIMEOUT)
    assert r.status_code == 200
    r = requests.put(f"{sim.api_url}/mps/v1/vehicles/{tsp}/status/fresh", data="not json",
                     headers=client.bearer(), timeout=TIMEOUT)
    assert r.status_code == 400


def test_latency_slows_command_answers() -> None:
    with make_sim(latency=0.3) as sim:
        client = Client(sim).login()
        assert client.session(EV_VIN).status_code == 200
        start = time.monotonic()
        assert client.status(EV_VIN).status_code == 200
        assert time.monotonic() - start < 0.2
        start = time.monotonic()
        assert client.command("PUT", EV_VIN, "status/fresh").status_code == 200
        assert time.monotonic() - start >= 0.3
