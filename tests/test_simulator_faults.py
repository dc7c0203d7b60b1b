"""Outage, hang, answer and slow faults, the request log, accounts (fleet, YAML), start/stop and
the CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from carnet.simulator import Simulator, SimulatorOptions
from tests.test_simulator_support import (
    DEMO_EMAIL,
    EV_VIN,
    TIMEOUT,
    Client,
    make_sim,
    pkce,
    sim_fault,
    sim_get,
    sim_vehicle,
)


def test_outage_on_both_hosts() -> None:
    with make_sim() as sim:
        client = Client(sim).login()
        assert client.enrollment().status_code == 200
        assert sim_fault(sim, {"kind": "outage", "status": 503}).ok
        assert client.status(EV_VIN).status_code == 503
        assert requests.get(f"{sim.identity_url}/signin-service/v1/anything",
                            timeout=TIMEOUT).status_code == 503
        assert sim_get(sim, "fault") == [{"kind": "outage", "status": 503}]
        assert requests.delete(f"{sim.api_url}/_sim/fault", timeout=TIMEOUT).ok
        assert client.status(EV_VIN).status_code == 200
        assert sim_fault(sim, {"kind": "outage", "status": 200}).status_code == 400
        assert sim_fault(sim, {"kind": "meteor"}).status_code == 400


def test_hang_times_out_and_stop_is_still_quick() -> None:
    sim = make_sim()
    client = Client(sim).login()
    vehicle_id = client.vehicle(EV_VIN)["vehicleId"]
    assert sim_fault(sim, {"kind": "hang"}).ok
    with pytest.raises(requests.exceptions.Timeout):
        requests.get(f"{sim.api_url}/rvs/v1/vehicle/{vehicle_id}", headers=client.bearer(),
                     timeout=0.3)
    with pytest.raises(requests.exceptions.Timeout):
        requests.get(f"{sim.identity_url}/signin-service/v1/x", timeout=0.3)
    outcome: list[object] = []

    def long_wait() -> None:
        try:
            outcome.append(requests.get(f"{sim.api_url}/oidc/v1/authorize", timeout=30))
        except requests.RequestException as exc:
            outcome.append(exc)

    waiter = threading.Thread(target=long_wait)
    waiter.start()
    time.sleep(0.2)
    assert any(e["status"] is None for e in sim_get(sim, "requests"))  # logged, unanswered
    start = time.monotonic()
    sim.stop()
    assert time.monotonic() - start < 1.5
    waiter.join(5)
    assert not waiter.is_alive()
    assert isinstance(outcome[0], requests.RequestException)


def test_hang_cleared_serves_again() -> None:
    with make_sim() as sim:
        client = Client(sim).login()
        assert sim_fault(sim, {"kind": "hang"}).ok
        with pytest.raises(requests.exceptions.Timeout):
            requests.get(f"{sim.api_url}/rvs/v1/vehicle/x", headers=client.bearer(), timeout=0.3)
        assert requests.delete(f"{sim.api_url}/_sim/fault/hang", timeout=TIMEOUT).ok
        assert client.status(EV_VIN).status_code == 200


def test_request_log() -> None:
    with make_sim() as sim:
        started = time.time()
        client = Client(sim, password="wrong")
        with pytest.raises(Exception):  # noqa: B017 (any login failure)
            client.login_code()
        assert requests.delete(f"{sim.api_url}/_sim/requests", timeout=TIMEOUT).ok
        assert sim_get(sim, "requests") == []
        client = Client(sim).login()
        assert client.status(EV_VIN).status_code == 200
        assert requests.get(f"{sim.api_url}/rvs/v1/vehicle/x", timeout=TIMEOUT).status_code == 401
        log = sim_get(sim, "requests")
        assert all(set(e) == {"time", "method", "host", "path", "status", "account",
                              "generation", "bearer", "body"} for e in log)
        assert all(e["body"] is None for e in log if e["method"] == "GET")
        assert all(started <= e["time"] <= time.time() for e in log)
        assert [e["time"] for e in log] == sorted(e["time"] for e in log)
        assert not any(e["path"].startswith("/_sim/") for e in log)
        assert not any("?" in e["path"] for e in log)
        first, *_ = log
        assert (first["method"], first["host"], first["path"], first["status"]) == (
            "GET", "api", "/oidc/v1/authorize", 302)
        assert first["account"] is None
        assert {e["host"] for e in log} == {"api", "identity"}
        token = next(e for e in log if e["path"] == "/oidc/v1/token")
        assert (token["method"], token["status"], token["account"]) == ("POST", 200, DEMO_EMAIL)
        vehicle_id = client.vehicle(EV_VIN)["vehicleId"]
        status = [e for e in log if e["path"] == f"/rvs/v1/vehicle/{vehicle_id}"]
        assert status and status[0]["account"] == DEMO_EMAIL and status[0]["status"] == 200
        assert (status[0]["generation"], status[0]["bearer"]) == ("carnet", "access")
        assert log[-1]["path"] == "/rvs/v1/vehicle/x" and log[-1]["status"] == 401
        assert log[-1]["account"] is None
        assert (log[-1]["generation"], log[-1]["bearer"]) == (None, None)


def test_fleet_generation_is_deterministic() -> None:
    with make_sim(fleet=(3, 2), seed=7) as a, make_sim(fleet=(3, 2), seed=7) as b, \
            make_sim(fleet=(3, 2), seed=8) as c:
        va, vb, vc = (sim_get(s, "vehicles") for s in (a, b, c))
        assert len(va) == 3 + 3 * 2  # the demo account's three cars and the fleet
        assert [v["vehicleId"] for v in va] == [v["vehicleId"] for v in vb]
        assert [v["vehicleId"] for v in va] != [v["vehicleId"] for v in vc]
        accounts = {v["account"] for v in va}
        assert accounts == {DEMO_EMAIL, "fleet-1@example.com", "fleet-2@example.com",
                            "fleet-3@example.com"}
        client = Client(a, email="fleet-2@example.com", password="fleet").login()
        enrolled = client.enrollment().json()["data"]["vehicleEnrollmentStatus"]
        assert len(enrolled) == 2
        vin = enrolled[0]["vehicle"]["vin"]
        assert client.session(vin).status_code == 200
        assert client.command("PUT", vin, "status/fresh").status_code == 200


def test_large_fleet_starts_quickly() -> None:
    start = time.monotonic()
    with make_sim(fleet=(100, 5)) as sim:
        assert time.monotonic() - start < 1.0
        assert len(sim_get(sim, "vehicles")) == 503


def test_accounts_file(tmp_path: Path) -> None:
    path = tmp_path / "accounts.yaml"
    path.write_text(
        "accounts:\n"
        "  - email: ada@example.com\n"
        "    password: secret\n"
        "    pin: '4321'\n"
        "    temperature_unit: C\n"
        "    vehicles:\n"
        "      - vin: WVWZZZAUZGW123456\n"
        "        battery_level: 33\n"
        "        plugged_in: false\n"
        "      - {vin: 3VWZZZ1KZLM123457, type: combustion, fuel_level: 12}\n",
        encoding="utf-8")
    with make_sim(accounts_file=str(path)) as sim:
        client = Client(sim, email="ada@example.com", password="secret", pin="4321").login()
        battery = client.status("WVWZZZAUZGW123456").json()["data"]["powerStatus"]["battery"]
        assert battery["chargePercentRemaining"] == 33 and battery["chargePlug"] == "UNPLUGGED"
        power = client.status("3VWZZZ1KZLM123457").json()["data"]["powerStatus"]
        assert power["fuelPercentRemaining"] == 12
        details = client.command("PUT", "WVWZZZAUZGW123456", "status/climate/details")
        assert details.json()["data"]["target_temperature"] == 22  # Celsius account
    path.write_text("accounts:\n  - {email: x@example.com, password: p, pin: '1', wings: 2}\n",
                    encoding="utf-8")
    with pytest.raises(ValueError, match="wings"):
        Simulator(SimulatorOptions(accounts_file=str(path)))


def test_start_and_stop_are_quick_and_free_the_ports() -> None:
    start = time.monotonic()
    sim = Simulator(SimulatorOptions(port=0, identity_port=0))
    sim.start()
    assert time.monotonic() - start < 0.5
    assert sim.api_url.startswith("http://127.0.0.1:") and sim.identity_url != sim.api_url
    keepalive = requests.Session()
    assert keepalive.get(f"{sim.api_url}/_sim/vehicles", timeout=TIMEOUT).ok  # idle connection
    start = time.monotonic()
    sim.stop()
    assert time.monotonic() - start < 1.0
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{sim.api_url}/_sim/vehicles", timeout=TIMEOUT)


def test_command_line() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "carnet.simulator", "--port", "0", "--identity-port", "0",
         "--apply-delay", "0", "--rate-limit", "5", "--fleet", "2x1", "--seed", "3"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        cwd=Path(__file__).resolve().parent.parent)
    try:
        lines = []
        assert proc.stdout is not None
        while len(lines) < 3:
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else ""
            lines.append(line)
        api = lines[0].split()[-1]
        identity = lines[1].split()[-1]
        assert api.startswith("http://") and identity.startswith("http://")
        assert "demo@example.com" in lines[2] and "1234" in lines[2]
        assert "1V2GMPE2XMP000003" in lines[2]  # the ID.4, there by default
        vehicles = requests.get(f"{api}/_sim/vehicles", timeout=TIMEOUT).json()
        assert len(vehicles) == 5
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_answer_replaces_matching_requests_and_changes_nothing() -> None:
    refusal = {"error": {"code": "FORBIDDEN", "message": "secondary user may not unlock"}}
    with make_sim() as sim:
        client = Client(sim).login()
        assert sim_fault(sim, {"kind": "answer", "path": "/status/exterior/doors$",
                               "method": "PUT", "status": 403, "body": refusal,
                               "headers": {"X-Reason": "secondary"}}).ok
        locked_before = sim_vehicle(sim, EV_VIN)["locked"]
        for _ in range(2):  # every matching request, until cleared
            refused = client.command("PUT", EV_VIN, "status/exterior/doors",
                                     lock=not locked_before)
            assert refused.status_code == 403 and refused.json() == refusal
            assert refused.headers["X-Reason"] == "secondary"
        assert sim_vehicle(sim, EV_VIN)["locked"] == locked_before
        # Another method or path is served as usual.
        assert client.command("PUT", EV_VIN, "status/exterior/horn_and_lights",
                              horn=False, lights=True).status_code == 200
        assert client.status(EV_VIN).status_code == 200
        assert sim_get(sim, "fault")[0]["kind"] == "answer"


def test_answer_times_ends_the_fault() -> None:
    with make_sim() as sim:
        client = Client(sim).login()
        assert sim_fault(sim, {"kind": "answer", "path": "/status/fresh$", "status": 429,
                               "headers": {"Retry-After": "1"}, "times": 1}).ok
        first = client.command("PUT", EV_VIN, "status/fresh")
        assert first.status_code == 429 and first.headers["Retry-After"] == "1"
        assert client.command("PUT", EV_VIN, "status/fresh").status_code == 200
        assert sim_get(sim, "fault") == []


def test_answer_can_say_no_with_a_200_and_carry_any_token() -> None:
    with make_sim() as sim:
        client = Client(sim).login()
        assert sim_fault(sim, {"kind": "answer", "path": "/horn_and_lights$",
                               "body": {"data": {"result": 1}}}).ok
        said = client.command("PUT", EV_VIN, "status/exterior/horn_and_lights", lights=True)
        assert said.status_code == 200 and said.json() == {"data": {"result": 1}}
        bad = {"access_token": "abc\r\ndef", "id_token": "i", "refresh_token": "r"}
        assert sim_fault(sim, {"kind": "answer", "path": "^/oidc/v1/token$", "body": bad,
                               "times": 1}).ok
        verifier, _challenge = pkce()
        assert client.exchange("any-code", verifier).json()["access_token"] == "abc\r\ndef"


def test_slow_delays_only_matching_requests() -> None:
    with make_sim() as sim:
        client = Client(sim).login()
        assert sim_fault(sim, {"kind": "slow", "path": "^/rvs/", "seconds": 0.6,
                               "times": 1}).ok
        started = time.monotonic()
        assert client.health(EV_VIN).status_code == 200
        assert time.monotonic() - started < 0.5
        started = time.monotonic()
        assert client.status(EV_VIN).status_code == 200
        assert time.monotonic() - started >= 0.6
        started = time.monotonic()
        assert client.status(EV_VIN).status_code == 200  # times: 1 is spent
        assert time.monotonic() - started < 0.5


@pytest.mark.parametrize("fault", [
    {"kind": "answer"},
    {"kind": "answer", "path": "("},
    {"kind": "answer", "path": "/x", "status": 99},
    {"kind": "answer", "path": "/x", "times": 0},
    {"kind": "answer", "path": "/x", "headers": {"A": "b\r\nc"}},
    {"kind": "answer", "path": "/x", "method": "P T"},
    {"kind": "slow", "path": "/x"},
    {"kind": "slow", "path": "/x", "seconds": 61},
])
def test_answer_and_slow_refuse_bad_parameters(fault: dict) -> None:
    with make_sim() as sim:
        refused = sim_fault(sim, fault)
        assert refused.status_code == 400
        assert fault["kind"] in refused.json()["error"]["message"]
