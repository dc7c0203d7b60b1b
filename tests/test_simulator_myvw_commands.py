"""Every myVW command of the facts file with its method, the outcome endpoint in both
forms, and EV_THRESHOLD_EXCEEDED."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from carnet.simulator import Simulator
from tests.test_simulator_myvw_support import MyvwClient
from tests.test_simulator_support import EV_VIN, ICE_VIN, make_sim, sim_patch, sim_vehicle

EV = "/ev/v1/vehicle/{vid}"
#: (method, path, body, the car's state after it as a key of /_sim/vehicles and value)
COMMANDS: list[tuple[str, str, Any, tuple[str, Any] | None]] = [
    ("PUT", "/lockunlock/v1/vehicle/{vid}", {"lock": False, "action": "unlock"},
     ("locked", False)),
    ("PUT", "/lockunlock/v1/vehicle/{vid}", {"lock": True}, ("locked", True)),
    ("PUT", "/honkflash/v1/vehicle/{vid}", {"horn": True, "lights": True}, None),
    ("POST", f"{EV}/charging/start", {"actionMode": "immediate"}, ("charging", True)),
    ("POST", f"{EV}/charging/stop", {"actionMode": "immediate"}, ("charging", False)),
    ("PUT", f"{EV}/charging/settings",
     {"maxChargingCurrent": "reduced", "autoUnlockPlugWhenCharged": "on",
      "targetSOCPercentage": 90, "chargeModeSelection": "manual"}, ("target_soc", 90)),
    ("PUT", f"{EV}/pretripclimate/settings",
     {"targetTemperature": {"temperature": 70, "unit": "fahrenheit"},
      "climatizationWithoutExternalPower": True,
      "climatizationElementSettings": {"mirrorHeatingEnabled": True}},
     ("target_temperature", 70)),
    ("POST", f"{EV}/pretripclimate/start", {}, ("climate_on", True)),
    ("POST", f"{EV}/pretripclimate/stop", {}, ("climate_on", False)),
    ("POST", f"{EV}/pretripclimate/windowheating/start", {}, ("defrost_on", True)),
    ("POST", f"{EV}/pretripclimate/windowheating/stop", {}, ("defrost_on", False)),
]
WRONG_VERB = {"PUT": "POST", "POST": "PUT"}


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = make_sim(rate_limit=1000, ev_command_gap=0)
    yield simulator
    simulator.stop()


@pytest.mark.parametrize(("method", "path", "body", "effect"), COMMANDS,
                         ids=[f"{c[0]} {c[1]}" for c in COMMANDS])
def test_command_answers_and_changes_the_car(sim: Simulator, method: str, path: str,
                                             body: Any, effect: tuple[str, Any] | None) -> None:
    client = MyvwClient(sim).login()
    sim_patch(sim, EV_VIN, {"battery_level": 50})
    if "stop" in path:  # something to stop
        start = path.replace("stop", "start")
        assert client.command("POST", EV_VIN, start, {}).status_code == 200
    r = client.command(method, EV_VIN, path, body)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["result"] == 0 and re.fullmatch(r"[0-9a-f-]{36}", data["correlationId"])
    if effect is not None:
        assert sim_vehicle(sim, EV_VIN)[effect[0]] == effect[1]
    wrong = client.command(WRONG_VERB[method], EV_VIN, path, body)
    assert wrong.status_code == 405
    assert wrong.json()["error"]["errorCode"] == "METHOD_NOT_ALLOWED"


def test_charging_settings_get_and_put_validation(sim: Simulator) -> None:
    client = MyvwClient(sim).login()
    path = f"{EV}/charging/settings"
    got = client.command("GET", EV_VIN, path)
    assert got.status_code == 200
    settings = got.json()["data"]["chargingSettings"]
    for bad in ({"targetSOCPercentage": 85}, {"targetSOCPercentage": 40},
                {"maxChargingCurrent": "13"}, {"maxChargingCurrent": ["max"]},
                {"targetSOCPercentage": {"x": 1}}, {"autoUnlockPlugWhenCharged": "sometimes"}):
        r = client.command("PUT", EV_VIN, path, {**settings, **bad})
        assert r.status_code == 400, bad
        assert r.json()["error"]["errorCode"] == "INVALID_REQUEST"
    partial = client.command("PUT", EV_VIN, path, {"targetSOCPercentage": 60})
    assert partial.status_code == 400 and "full settings object" in partial.text
    ok = client.command("PUT", EV_VIN, path, {"chargingSettings": {**settings,
                                                                  "targetSOCPercentage": 60}})
    assert ok.status_code == 200
    assert client.command("GET", EV_VIN, path).json()["data"]["chargingSettings"][
        "targetSOCPercentage"] == 60
    assert client.command("DELETE", EV_VIN, path).status_code == 405


def test_climate_settings_limits_and_only_while_off(sim: Simulator) -> None:
    client = MyvwClient(sim).login()
    path = f"{EV}/pretripclimate/settings"
    for temperature, unit in ((60, "fahrenheit"), (86, "fahrenheit"), (15.5, "celsius"),
                              (22.3, "celsius")):
        body = {"targetTemperature": {"temperature": temperature, "unit": unit}}
        assert client.command("PUT", EV_VIN, path, body).status_code == 400
    celsius = {"targetTemperature": {"temperature": 21.5, "unit": "celsius"}}
    assert client.command("PUT", EV_VIN, path, celsius, tempUnit="celsius").status_code == 200
    assert sim_vehicle(sim, EV_VIN)["target_temperature"] == 71  # the account is in °F
    assert client.command("POST", EV_VIN, f"{EV}/pretripclimate/start", {}).status_code == 200
    r = client.command("PUT", EV_VIN, path,
                       {"targetTemperature": {"temperature": 80, "unit": "fahrenheit"}})
    assert r.status_code == 200  # accepted, but the car does not apply it while running
    assert sim_vehicle(sim, EV_VIN)["target_temperature"] == 71
    outcome = client.outcome(EV_VIN, r.json()["data"]["correlationId"])
    assert outcome["eventStatus"]["responseOutcome"] == 3


def test_wake_up_refreshes_the_status(sim: Simulator) -> None:
    client = MyvwClient(sim).login()
    before = sim_vehicle(sim, ICE_VIN)["timestamp"]
    time.sleep(0.01)
    r = client.command("POST", ICE_VIN, "/rvs/v1/vehicle/{vid}/refresh")
    assert r.status_code == 200 and r.json() == {"data": {"result": 0}}
    assert sim_vehicle(sim, ICE_VIN)["timestamp"] > before
    assert client.command("GET", ICE_VIN, "/rvs/v1/vehicle/{vid}/refresh").status_code == 405


def test_ev_commands_refused_for_a_combustion_car(sim: Simulator) -> None:
    client = MyvwClient(sim).login()
    r = client.command("POST", ICE_VIN, f"{EV}/charging/start", {"actionMode": "immediate"})
    assert r.status_code == 403 and r.json()["error"]["errorCode"] == "USER_NOT_AUTHORIZED"
    assert client.command("PUT", ICE_VIN, "/lockunlock/v1/vehicle/{vid}",
                          {"lock": False}).status_code == 200


def test_bad_bodies_say_what_is_accepted(sim: Simulator) -> None:
    client = MyvwClient(sim).login()
    r = client.command("PUT", EV_VIN, "/lockunlock/v1/vehicle/{vid}", {"action": "lock"})
    assert r.status_code == 400 and "lock must be a JSON boolean" in r.text
    r = client.command("PUT", EV_VIN, "/honkflash/v1/vehicle/{vid}", {"horn": False,
                                                                      "lights": False})
    assert r.status_code == 400


def test_outcome_is_queued_until_the_car_carries_it_out() -> None:
    with make_sim(apply_delay=0.6, rate_limit=1000, ev_command_gap=0) as sim:
        client = MyvwClient(sim).login()
        r = client.command("PUT", EV_VIN, "/lockunlock/v1/vehicle/{vid}", {"lock": False})
        cid = r.json()["data"]["correlationId"]
        queued = client.outcome(EV_VIN, cid)
        assert queued["eventStatus"]["responseOutcome"] == 1
        assert queued["eventStatus"]["responseStatus"] != 1
        assert "SUCCESS" not in queued["eventStatus"]["responseCode"]
        assert sim_vehicle(sim, EV_VIN)["locked"] is True
        time.sleep(0.7)
        done = client.outcome(EV_VIN, cid)["eventStatus"]
        assert done == {"responseStatus": 1, "responseCode": "4101 : RO_DOOR_SUCCESS",
                        "responseOutcome": 2}
        assert sim_vehicle(sim, EV_VIN)["locked"] is False
        # the outcome is read with the access token as well as the vehicle token
        path = f"/history/v1/vehicle/{client.vid(EV_VIN)}/correlationId/{cid}/ro/"
        assert client.get(path, client.vehicle_token(EV_VIN)).status_code == 200
        assert client.get(path.replace(cid, "nope")).status_code == 404
        sim_patch(sim, EV_VIN, {"plugged_in": False})
        failed = client.command("POST", EV_VIN, f"{EV}/charging/start")
        time.sleep(0.7)
        event = client.outcome(EV_VIN, failed.json()["data"]["correlationId"])["eventStatus"]
        assert event["responseOutcome"] == 3 and "FAILED" in event["responseCode"]


def test_back_to_back_ev_commands_exceed_the_threshold() -> None:
    with make_sim(rate_limit=1000, ev_command_gap=0.5) as sim:
        client = MyvwClient(sim).login()
        start = f"{EV}/pretripclimate/start"
        assert client.command("POST", EV_VIN, start, {}).status_code == 200
        r = client.command("POST", EV_VIN, f"{EV}/pretripclimate/stop", {})
        assert r.status_code == 429
        assert r.json()["error"]["errorCode"] == "EV_THRESHOLD_EXCEEDED"
        assert "errorDescription" in r.json()["error"]
        assert int(r.headers["Retry-After"]) >= 1
        # other cars and non-EV commands are not held back
        assert client.command("PUT", EV_VIN, "/lockunlock/v1/vehicle/{vid}",
                              {"lock": False}).status_code == 200
        time.sleep(0.55)
        assert client.command("POST", EV_VIN, f"{EV}/pretripclimate/stop", {}).status_code \
            == 200


def test_remote_start_of_a_combustion_car_with_a_second_challenge(sim: Simulator) -> None:
    client = MyvwClient(sim).login()
    from tests.test_simulator_myvw_support import spin_hash
    check = f"/ss/v1/user/{client.user_id}/vehicle/{client.vid(ICE_VIN)}/operation/" \
        "climateControl/check"
    token = client.vehicle_token(ICE_VIN)
    challenge = client.challenge()["challenge"]
    r = client.send("POST", check, {"spinHash": spin_hash(challenge, "1234")}, token)
    assert r.status_code == 200, r.text
    ro_token = r.json()["data"]["roToken"]
    again = client.send("POST", check, {"spinHash": spin_hash(challenge, "1234")}, token)
    assert again.status_code == 404  # the second challenge is single-use too
    assert client.command("POST", ICE_VIN, "/rst/v1/vehicle/{vid}", {}).status_code == 400
    start = client.command("POST", ICE_VIN, "/rst/v1/vehicle/{vid}", {"roToken": ro_token})
    assert start.status_code == 200 and start.json()["data"]["result"] == 0
    state = sim_vehicle(sim, ICE_VIN)
    assert state["engine_running"] and state["climate_on"]
    stop = client.command("DELETE", ICE_VIN, "/rst/v1/vehicle/{vid}", {"roToken": ro_token})
    assert stop.status_code == 200
    assert not sim_vehicle(sim, ICE_VIN)["engine_running"]
    assert client.command("PUT", ICE_VIN, "/rst/v1/vehicle/{vid}", {}).status_code == 405
    ev = client.command("POST", EV_VIN, "/rst/v1/vehicle/{vid}", {"roToken": ro_token})
    assert ev.status_code == 403


def test_wake_ups_in_a_row_meet_the_battery_protection() -> None:
    with make_sim(rate_limit=1000, wakeup_limit=2) as sim:
        client = MyvwClient(sim).login()
        for _ in range(2):
            assert client.command("POST", EV_VIN, "/rvs/v1/vehicle/{vid}/refresh").ok
        r = client.command("POST", EV_VIN, "/rvs/v1/vehicle/{vid}/refresh")
        assert r.status_code == 429
        assert r.json()["error"]["errorCode"] == "VEHICLE_WAKEUP_LIMIT"
        assert "Retry-After" not in r.headers
        assert sim_vehicle(sim, EV_VIN)["wakeups"] == 2
