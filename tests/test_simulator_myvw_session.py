"""The myVW garage, privileges, S-PIN challenge and session, and the vehicle token."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from carnet.simulator import Simulator
from tests.test_simulator_myvw_support import MyvwClient, jwt_claims, spin_hash
from tests.test_simulator_support import EV_VIN, ICE_VIN, TIMEOUT, make_sim, sim_get

ID4_VIN = "1V2GMPE2XMP000003"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = make_sim(demo_id4=True, rate_limit=1000, ev_command_gap=0)
    yield simulator
    simulator.stop()


def test_garage_lists_every_vehicle_with_the_documented_fields(sim: Simulator) -> None:
    client = MyvwClient(sim).login()
    garage = client.load_garage()
    assert garage["user"]["userId"] == client.user_id
    assert garage["user"]["email"] == client.email
    assert {"profileStatus", "spinStatus", "user", "vehicles"} <= set(garage)
    vins = [v["vin"] for v in garage["vehicles"]]
    assert vins == [EV_VIN, ICE_VIN, ID4_VIN]
    for v in garage["vehicles"]:
        assert {"vehicleId", "vin", "modelName", "modelYear", "modelCode", "tspProvider",
                "representativeImgURLComplete", "carnetEnabled", "carnetUserRole",
                "activation", "status"} <= set(v)
        assert isinstance(v["modelYear"], int)
    assert client.vehicle(ID4_VIN)["modelName"] == "ID.4"
    assert client.vehicle(EV_VIN)["tspProvider"] == "WCT"
    assert client.vehicle(ICE_VIN)["tspProvider"] == "ATC"
    # ?idToken= is optional, and the garage needs the access token
    assert client.get("/account/v1/garage").status_code == 200
    assert requests.get(f"{sim.api_url}/account/v1/garage", timeout=TIMEOUT).status_code == 401
    assert client.send("POST", "/account/v1/garage").status_code == 405


def test_privileges_per_vehicle(sim: Simulator) -> None:
    client = MyvwClient(sim).login()
    r = client.get(f"/rrs/v1/privileges/user/{client.user_id}/vehicle/{client.vid(EV_VIN)}")
    assert r.status_code == 200
    services = r.json()["data"]["services"]
    ids = {f"{s['longCode']}:{op['longCode']}" for s in services for op in s["operations"]}
    assert {"LockAndUnlock:ALL", "HonkAndFlash:ALL", "SPIN:ALL"} <= ids
    op = services[0]["operations"][0]
    assert {"longCode", "shortCode", "privilege", "capabilityStatus", "subscriptionStatus",
            "playProtection"} <= set(op)
    assert op["capabilityStatus"] in ("AVAILABLE", "NOT_AVAILABLE", "NOT_APPLICABLE")
    ice = client.get(f"/rrs/v1/privileges/user/{client.user_id}/vehicle/{client.vid(ICE_VIN)}")
    assert "RemoteStart:ALL" in {f"{s['longCode']}:ALL" for s in ice.json()["data"]["services"]}
    other = client.get(f"/rrs/v1/privileges/user/someone/vehicle/{client.vid(EV_VIN)}")
    assert other.status_code == 403


def test_challenge_then_session_gives_a_vehicle_token(sim: Simulator) -> None:
    client = MyvwClient(sim).login()
    challenge = client.challenge()
    assert set(challenge) == {"challenge", "remainingTries"} and challenge["remainingTries"] == 3
    assert client.send("POST", f"/ss/v1/user/{client.user_id}/challenge").status_code == 405
    r = client.session(EV_VIN, challenge=challenge["challenge"])
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    claims = jwt_claims(data["carnetVehicleToken"])
    assert claims["exp"] - time.time() == pytest.approx(1800, abs=5)
    roles = data["rolesAndRights"]
    assert roles["vehicleId"] == client.vid(EV_VIN) and roles["userId"] == client.user_id
    assert "LockAndUnlock:ALL" in roles["privileges"] and roles["services"]
    # the upper-case hash works too
    assert client.session(ICE_VIN, upper=True).status_code == 200
    log = requests.get(f"{sim.api_url}/_sim/requests", timeout=TIMEOUT).json()
    session = [e for e in log if e["path"].endswith("/session")][-1]
    assert (session["generation"], session["bearer"]) == ("myvw", "access")


def test_a_challenge_is_single_use(sim: Simulator) -> None:
    client = MyvwClient(sim).login()
    challenge = client.challenge()["challenge"]
    assert client.session(EV_VIN, challenge=challenge).status_code == 200
    again = client.session(EV_VIN, challenge=challenge)
    assert again.status_code == 404
    assert again.json()["error"]["errorCode"] == "SPIN_CHALLENGE_NOT_FOUND"


def test_wrong_spin_counts_down_and_locks(sim: Simulator) -> None:
    client = MyvwClient(sim).login()
    for left in (2, 1):
        r = client.session(EV_VIN, spin="0000")
        assert r.status_code == 403
        assert r.json()["error"]["remainingTries"] == left
        assert client.challenge()["remainingTries"] == left
    assert client.session(EV_VIN, spin="0000").json()["error"]["remainingTries"] == 0
    locked = client.session(EV_VIN)  # even the right S-PIN now
    assert locked.status_code == 403 and locked.json()["error"]["errorCode"] == "SPIN_LOCKED"
    assert client.load_garage()["spinStatus"] == "LOCKED"
    requests.patch(f"{sim.api_url}/_sim/accounts/{client.email}", json={"pin_locked": False},
                   timeout=TIMEOUT)
    assert client.session(EV_VIN).status_code == 200


def test_session_bearer_must_be_the_access_token(sim: Simulator) -> None:
    client = MyvwClient(sim).login()
    client.load_garage()
    challenge = client.challenge()["challenge"]
    r = client.send("POST", f"/ss/v1/user/{client.user_id}/vehicle/{client.vid(EV_VIN)}/session",
                    {"idToken": client.tokens["id_token"], "spinHash": spin_hash(challenge, "1234"),
                     "tsp": "WCT"}, token=client.tokens["id_token"])
    assert r.status_code == 401 and "jtt must be 'access_token'" in r.text
    missing = client.send("POST", f"/ss/v1/user/{client.user_id}/vehicle/"
                          f"{client.vid(EV_VIN)}/session", {"spinHash": "x"})
    assert missing.status_code == 400


def test_commands_need_the_vehicle_token(sim: Simulator) -> None:
    client = MyvwClient(sim).login()
    path = f"/lockunlock/v1/vehicle/{client.vid(EV_VIN)}"
    r = client.send("PUT", path, {"lock": False})  # the access token
    assert r.status_code == 403 and r.json()["error"]["errorCode"] == "USER_NOT_AUTHORIZED"
    other = client.send("PUT", path, {"lock": False}, token=client.vehicle_token(ICE_VIN))
    assert other.status_code == 403
    ok = client.command("PUT", EV_VIN, "/lockunlock/v1/vehicle/{vid}", {"lock": False})
    assert ok.status_code == 200
    log = requests.get(f"{sim.api_url}/_sim/requests", timeout=TIMEOUT).json()
    assert (log[-1]["generation"], log[-1]["bearer"]) == ("myvw", "vehicle")


def test_vehicle_token_expires() -> None:
    with make_sim(vehicle_token_ttl=0.5) as sim:
        client = MyvwClient(sim).login()
        token = client.vehicle_token(EV_VIN)
        assert jwt_claims(token)["exp"] - time.time() < 2
        time.sleep(0.6)
        r = client.command("PUT", EV_VIN, "/lockunlock/v1/vehicle/{vid}", {"lock": True})
        assert r.status_code == 401


def test_every_vehicle_is_reachable_through_both_generations(sim: Simulator) -> None:
    from tests.test_simulator_support import Client
    carnet = Client(sim).login()
    assert carnet.enrollment().status_code == 200
    myvw = MyvwClient(sim).login()
    for vin in (EV_VIN, ICE_VIN, ID4_VIN):
        assert carnet.status(vin).status_code == 200
        assert myvw.get(f"/rvs/v1/vehicle/{myvw.vid(vin)}").status_code == 200
        assert carnet.vehicle(vin)["vehicleId"] == myvw.vid(vin)
    assert carnet.command("PUT", ID4_VIN, "status/exterior/doors", lock=False).status_code == 200


def test_hostile_session_bodies_get_clear_errors(sim: Simulator) -> None:
    client = MyvwClient(sim).login()
    path = f"/ss/v1/user/{client.user_id}/vehicle/{client.vid(EV_VIN)}/session"
    client.challenge()
    for body in ([], "x", {"idToken": 1, "spinHash": "a", "tsp": "WCT"},
                 {"idToken": client.tokens["id_token"], "spinHash": "a", "tsp": "VZT"}):
        r = client.send("POST", path, body)
        assert r.status_code == 400, body
        assert r.json()["error"]["errorCode"] == "INVALID_REQUEST"
    odd = client.send("POST", path, {"idToken": client.tokens["id_token"],
                                     "spinHash": "é" * 128, "tsp": "WCT"})
    assert odd.status_code == 403 and odd.json()["error"]["errorCode"] == "INVALID_SPIN"


def test_the_demo_account_has_the_id4_unless_left_out() -> None:
    from carnet.simulator.__main__ import parse_args
    assert parse_args([]).demo_id4 is True
    assert parse_args(["--no-id4"]).demo_id4 is False
    with make_sim(demo_id4=False) as sim:
        assert {v["vin"] for v in sim_get(sim, "vehicles")} == {EV_VIN, ICE_VIN}
    with make_sim() as sim:
        assert {v["vin"] for v in sim_get(sim, "vehicles")} == {EV_VIN, ICE_VIN, ID4_VIN}
