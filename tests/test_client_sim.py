"""The API client against the Car-Net simulator, over real HTTP."""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import re
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from carnet.config import AccountConfig, VendorConfig
from carnet.core.errors import (
    AuthError,
    BadRequest,
    LoginChanged,
    PinRefused,
    RateLimited,
    VendorUnavailable,
)
from carnet.simulator import Simulator, SimulatorOptions
from carnet.vendor.carnet_app import defaults
from carnet.vendor.carnet_app.client import CarNetClient
from carnet.vendor.carnet_app.vehicles import carnet_vehicle, ids
from carnet.vendor.protocol import Vehicle
from carnet.vendor.tokens import TokenStore

EMAIL = "demo@example.com"
EV_VIN = "WVWZZZAUZGW000001"
GAS_VIN = "3VWZZZ1KZLM000002"
ID4_VIN = "1V2GMPE2XMP000003"  # the demo account's myVW-era EV, enrolled for Car-Net too

# An account with long secrets, so that "not in the logs" means something.
OWNER_EMAIL = "owner@example.net"
OWNER_PASSWORD = "Correct-Horse-Battery-7"
OWNER_PIN = "8642"
OWNER_VIN = "WVWZZZAUZHW000077"
ACCOUNTS_YAML = f"""
accounts:
  - email: {OWNER_EMAIL}
    password: {OWNER_PASSWORD}
    pin: "{OWNER_PIN}"
    vehicles:
      - vin: {OWNER_VIN}
        type: ev
        model_name: e-Golf
        plugged_in: true
        battery_level: 50
"""


class Sim:
    """A running simulator and its /_sim/ API."""

    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator
        self.api_url = simulator.api_url
        self.identity_url = simulator.identity_url

    def log(self, path: str = "", method: str | None = None) -> list[dict[str, Any]]:
        entries = requests.get(f"{self.api_url}/_sim/requests", timeout=5).json()
        return [
            e for e in entries
            if not e["path"].startswith("/_sim/") and path in e["path"]
            and (method is None or e["method"] == method)
        ]

    def count(self, path: str, method: str | None = None) -> int:
        return len(self.log(path, method))

    def clear_log(self) -> None:
        requests.delete(f"{self.api_url}/_sim/requests", timeout=5).raise_for_status()

    def fault(self, **spec: Any) -> None:
        requests.post(f"{self.api_url}/_sim/fault", json=spec, timeout=5).raise_for_status()

    def clear_faults(self) -> None:
        requests.delete(f"{self.api_url}/_sim/fault", timeout=5).raise_for_status()

    def expire_tokens(self) -> None:
        requests.post(f"{self.api_url}/_sim/expire_tokens", timeout=5).raise_for_status()

    def vehicle(self, vin: str) -> dict[str, Any]:
        vehicles = requests.get(f"{self.api_url}/_sim/vehicles", timeout=5).json()
        return next(v for v in vehicles if v["vin"] == vin)

    def patch(self, vin: str, **changes: Any) -> None:
        requests.patch(f"{self.api_url}/_sim/vehicles/{vin}", json=changes,
                       timeout=5).raise_for_status()


@pytest.fixture
def start_sim(tmp_path: Path) -> Iterator[Callable[..., Sim]]:
    started: list[Simulator] = []
    accounts = tmp_path / "accounts.yaml"
    accounts.write_text(ACCOUNTS_YAML)

    def start(**overrides: Any) -> Sim:
        options: dict[str, Any] = {
            "port": 0, "identity_port": 0, "apply_delay": 0.0, "seed": 0,
            "rate_limit": 1000, "daily_budget": 100000, "accounts_file": str(accounts),
        }
        options.update(overrides)
        simulator = Simulator(SimulatorOptions(**options))
        simulator.start()
        started.append(simulator)
        return Sim(simulator)

    yield start
    for simulator in started:
        simulator.stop()


@pytest.fixture
def sim(start_sim: Callable[..., Sim]) -> Sim:
    return start_sim()


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def make_client(sim: Sim, state_dir: Path) -> Iterator[Callable[..., CarNetClient]]:
    clients: list[CarNetClient] = []

    def make(target: Sim | None = None, *, email: str = EMAIL, password: str = "demo",
             pin: str | None = "1234", min_interval: float = 0.0,
             **vendor: Any) -> CarNetClient:
        where = target or sim
        settings: dict[str, Any] = {"api_base": where.api_url,
                                    "identity_base": where.identity_url, "timeout": 5.0}
        settings.update(vendor)
        client = CarNetClient(VendorConfig(**settings),
                              AccountConfig(email=email, password=password, pin=pin),
                              TokenStore(state_dir), min_interval=min_interval)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def _by_vin(client: CarNetClient) -> dict[str, Vehicle]:
    return {v.vin: v for v in client.vehicles()}


def _helper(tmp_path: Path, body: str) -> str:
    script = tmp_path / "helper.py"
    script.write_text(body)
    return f"{sys.executable} {script}"


# --------------------------------------------------------------------------- login


def test_login_hidden_inputs_and_enrollment(sim: Sim, make_client: Callable[..., CarNetClient],
                                            state_dir: Path) -> None:
    client = make_client()
    vehicles = _by_vin(client)
    assert set(vehicles) == {EV_VIN, GAS_VIN, ID4_VIN}
    ev, gas = vehicles[EV_VIN], vehicles[GAS_VIN]
    assert ev.model_name == "e-Golf" and ev.model_year == "2016"
    assert gas.model_name == "Jetta"
    expected = sim.vehicle(EV_VIN)
    assert ids(ev).vehicle_id == expected["vehicleId"]
    assert ids(ev).tsp_account_num == expected["tspAccountNum"]
    assert ids(ev).tsp  # tspProvider
    flow = [(e["method"], e["host"], e["path"]) for e in sim.log()]
    assert flow[0] == ("GET", "api", "/oidc/v1/authorize")
    posts = [(m, h, p.rsplit("/", 2)[-2:]) for m, h, p in flow if m == "POST"]
    assert posts == [("POST", "identity", ["login", "identifier"]),
                     ("POST", "identity", ["login", "authenticate"]),
                     ("POST", "api", ["v1", "token"])]
    assert flow[-1] == ("GET", "api", "/account/v1/enrollment/status")
    assert not any(p.startswith("car-net") for _, _, p in flow)
    token_file = TokenStore(state_dir).path_for(EMAIL)
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert EMAIL not in token_file.name


def test_login_template_model_password_page(sim: Sim,
                                            make_client: Callable[..., CarNetClient]) -> None:
    sim.fault(kind="password_page", variant="template_model")
    client = make_client()
    assert len(client.vehicles()) == 3
    assert sim.count("/login/authenticate", "POST") == 1
    assert sim.count("/oidc/v1/token", "POST") == 1


def test_unknown_email_fails_at_identifier(sim: Sim,
                                           make_client: Callable[..., CarNetClient]) -> None:
    client = make_client(email="nobody@example.com")
    with pytest.raises(AuthError) as caught:
        client.vehicles()
    assert caught.value.step == "identifier"
    assert not isinstance(caught.value, LoginChanged)
    assert "step 2" in str(caught.value) and "e-mail" in str(caught.value)
    assert sim.count("/login/authenticate", "POST") == 0


def test_wrong_password_fails_at_authenticate(sim: Sim,
                                              make_client: Callable[..., CarNetClient]) -> None:
    client = make_client(password="not-the-password")
    with pytest.raises(AuthError) as caught:
        client.status(carnet_vehicle("x", EV_VIN, "1", "VZT", None, None))
    assert caught.value.step == "authenticate"
    assert "step 3" in str(caught.value) and "password" in str(caught.value)
    assert "not-the-password" not in str(caught.value)
    assert sim.count("/oidc/v1/token") == 0


def test_restart_reuses_stored_tokens(sim: Sim,
                                      make_client: Callable[..., CarNetClient]) -> None:
    first = make_client()
    vehicle = _by_vin(first)[EV_VIN]
    first.close()
    second = make_client()
    assert second.status(vehicle)["powerStatus"]
    assert set(_by_vin(second)) == {EV_VIN, GAS_VIN, ID4_VIN}
    assert sim.count("/oidc/v1/authorize") == 1
    assert sim.count("/oidc/v1/token") == 1


def test_refresh_before_expiry(start_sim: Callable[..., Sim],
                               make_client: Callable[..., CarNetClient],
                               state_dir: Path) -> None:
    # 61 s tokens with the 60 s margin: due for refresh one second after the login.
    sim = start_sim(token_ttl=61)
    client = make_client(sim)
    vehicle = _by_vin(client)[EV_VIN]
    stored = json.loads(TokenStore(state_dir).path_for(EMAIL).read_text())["tokens"]
    time.sleep(1.2)
    client.status(vehicle)
    assert sim.count("/oidc/v1/authorize") == 1
    assert sim.count("/oidc/v1/token") == 2  # login, then one refresh
    refreshed = json.loads(TokenStore(state_dir).path_for(EMAIL).read_text())["tokens"]
    assert refreshed["refresh_token"] != stored["refresh_token"]
    assert refreshed["code_verifier"] == stored["code_verifier"]
    # No 401 along the way: the refresh happened before the token expired.
    assert all(e["status"] < 400 for e in sim.log())


def test_expired_tokens_lead_to_exactly_one_login(
        sim: Sim, make_client: Callable[..., CarNetClient]) -> None:
    client = make_client()
    vehicles = _by_vin(client)
    client.set_lock(vehicles[EV_VIN], True)
    sim.expire_tokens()
    client.status(vehicles[EV_VIN])
    client.set_lock(vehicles[EV_VIN], False)
    client.health(vehicles[GAS_VIN])
    assert sim.count("/oidc/v1/authorize") == 2
    assert sim.count("/session", "POST") == 2
    assert sim.vehicle(EV_VIN)["locked"] is False


def test_refused_bearer_on_session_request_is_not_a_pin_refusal(
        sim: Sim, make_client: Callable[..., CarNetClient]) -> None:
    client = make_client()
    ev = _by_vin(client)[EV_VIN]
    sim.expire_tokens()  # the client still believes its tokens are good
    client.set_lock(ev, False)
    assert [e["status"] for e in sim.log("/session")] == [401, 200]
    assert client.commands_enabled
    assert sim.count("/oidc/v1/authorize") == 2
    assert sim.vehicle(EV_VIN)["locked"] is False


def test_threads_share_one_login(sim: Sim, make_client: Callable[..., CarNetClient]) -> None:
    client = make_client()
    errors: list[BaseException] = []

    def read() -> None:
        try:
            client.vehicles()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert not errors
    assert sim.count("/oidc/v1/authorize") == 1


def test_login_change_then_token_helper(sim: Sim, make_client: Callable[..., CarNetClient],
                                        tmp_path: Path) -> None:
    sim.fault(kind="login_change", require_field="play_integrity_token", value="x")
    with pytest.raises(LoginChanged) as caught:
        make_client().vehicles()
    message = str(caught.value)
    assert caught.value.step == "token"
    assert "changed its login" in message and "carnet.token_helper" in message
    assert "INVALID_REQUEST" in message
    helper = _helper(tmp_path, 'import json; print(json.dumps({"play_integrity_token": "x"}))')
    client = make_client(token_helper=helper)
    assert len(client.vehicles()) == 3
    # The helper also feeds the refresh grant.
    tokens = client._tokens
    assert tokens.stored is not None
    tokens.stored = dataclasses.replace(tokens.stored, expires_at=time.time())  # due now
    client.vehicles()
    assert sim.count("/oidc/v1/authorize") == 2
    assert [e["status"] for e in sim.log("/oidc/v1/token")] == [401, 200, 200]


def test_the_earlier_login_change_body_is_recognised_too(
        sim: Sim, make_client: Callable[..., CarNetClient]) -> None:
    # the OAuth-style body of the first reports, beside the attestation refusal
    sim.fault(kind="answer", path="/oidc/v1/token$", method="POST", status=401,
              body={"error": "INVALID_REQUEST", "error_description": "request not valid"})
    with pytest.raises(LoginChanged) as caught:
        make_client().vehicles()
    assert caught.value.step == "token" and "INVALID_REQUEST" in str(caught.value)


def test_token_helper_failure_is_clear(sim: Sim, make_client: Callable[..., CarNetClient],
                                       tmp_path: Path) -> None:
    client = make_client(token_helper=_helper(tmp_path, "import sys; sys.exit(4)"))
    with pytest.raises(AuthError) as caught:
        client.vehicles()
    assert "carnet.token_helper" in str(caught.value) and "exit status 4" in str(caught.value)
    assert sim.count("/oidc/v1/token") == 0


def test_token_helper_runs_without_the_account_secrets(
        sim: Sim, make_client: Callable[..., CarNetClient], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OWNER_LOGIN", "demo")  # the account's password, under any name
    monkeypatch.setenv("OWNER_CODE", "1234")  # its PIN
    helper = _helper(tmp_path, (
        "import json, os, sys\n"
        "if {'demo', '1234'} & set(os.environ.values()):\n"
        "    sys.exit(7)\n"
        "print(json.dumps({'play_integrity_token': 'x'}))\n"
    ))
    assert len(make_client(token_helper=helper).vehicles()) == 3


def test_corrupt_token_file_is_discarded(sim: Sim, make_client: Callable[..., CarNetClient],
                                         state_dir: Path,
                                         caplog: pytest.LogCaptureFixture) -> None:
    path = TokenStore(state_dir).path_for(EMAIL)
    state_dir.mkdir(mode=0o700)
    path.write_text('{"format": 1, "tokens": ')
    with caplog.at_level(logging.WARNING, logger="carnet.vendor.tokens"):
        client = make_client()
    assert "Discarding token file" in caplog.text
    assert len(client.vehicles()) == 3
    assert json.loads(path.read_text())["format"] == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# --------------------------------------------------------------------------- endpoints


def test_every_endpoint_sends_the_documented_request(
        sim: Sim, make_client: Callable[..., CarNetClient]) -> None:
    client = make_client()
    vehicles = _by_vin(client)
    ev, gas = vehicles[EV_VIN], vehicles[GAS_VIN]
    tsp = ids(ev).tsp_account_num
    sim.clear_log()
    sent: list[requests.PreparedRequest] = []
    client._session.hooks["response"].append(lambda r, *_a, **_k: sent.append(r.request))

    status = client.status(ev)
    assert status["powerStatus"]["battery"]["chargePercentRemaining"] is not None
    assert client.status(gas)["powerStatus"]["fuelPercentRemaining"] is not None
    assert client.health(ev)["vehicleId"] == ids(ev).vehicle_id
    details = client.climate_details(ev)
    assert {"outdoor_temperature", "target_temperature", "climate_on"} <= set(details)
    client.wake(ev)
    client.refresh_health(ev)
    client.set_lock(ev, False)
    assert sim.vehicle(EV_VIN)["locked"] is False
    client.set_lock(ev, True)
    assert sim.vehicle(EV_VIN)["locked"] is True
    client.horn_lights(ev, horn=True, lights=True)
    client.horn_lights(ev, horn=True, lights=False)
    client.horn_lights(ev, horn=False, lights=True)
    client.set_charging(ev, True)
    assert sim.vehicle(EV_VIN)["charging"] is True
    client.set_charging(ev, False)
    assert sim.vehicle(EV_VIN)["charging"] is False
    client.set_max_charge_current(ev, 10)
    assert sim.vehicle(EV_VIN)["max_charge_current"] == 10
    client.set_max_charge_current(ev, "max")
    assert sim.vehicle(EV_VIN)["max_charge_current"] == "max"
    client.set_climate(ev, True, 70)
    assert sim.vehicle(EV_VIN)["climate_on"] is True
    assert sim.vehicle(EV_VIN)["target_temperature"] == 70
    client.set_climate(ev, False, 70)
    assert sim.vehicle(EV_VIN)["climate_on"] is False
    client.set_defrost(ev, True)
    assert sim.vehicle(EV_VIN)["defrost_on"] is True
    client.set_defrost(ev, False)
    client.set_unplugged_climate(ev, True)
    assert sim.vehicle(EV_VIN)["unplugged_climate"] is True
    client.set_unplugged_climate(ev, False)
    assert sim.vehicle(EV_VIN)["unplugged_climate"] is False

    mps = f"/mps/v1/vehicles/{tsp}"
    expected = [
        ("GET", f"/rvs/v1/vehicle/{ids(ev).vehicle_id}"),
        ("GET", f"/rvs/v1/vehicle/{ids(gas).vehicle_id}"),
        ("GET", f"/vhs/v2/vehicle/{ids(ev).vehicle_id}"),
        ("POST", f"/ss/v1/user/{{user}}/vehicle/{ids(ev).vehicle_id}/session"),
        ("PUT", f"{mps}/status/climate/details"),
        ("PUT", f"{mps}/status/fresh"),
        ("POST", f"{mps}/health/fresh"),
        ("PUT", f"{mps}/status/exterior/doors"),
        ("PUT", f"{mps}/status/exterior/doors"),
        ("PUT", f"{mps}/status/exterior/horn_and_lights"),
        ("PUT", f"{mps}/status/exterior/horn_and_lights"),
        ("PUT", f"{mps}/status/exterior/horn_and_lights"),
        ("PATCH", f"{mps}/status/charging"),
        ("PATCH", f"{mps}/status/charging"),
        ("PUT", f"{mps}/settings/max_charge_current"),
        ("PUT", f"{mps}/settings/max_charge_current"),
        ("PUT", f"{mps}/status/climate"),
        ("PUT", f"{mps}/status/climate"),
        ("PUT", f"{mps}/status/defrost"),
        ("PUT", f"{mps}/status/defrost"),
        ("PUT", f"{mps}/settings/unplugged_climate_control"),
        ("PUT", f"{mps}/settings/unplugged_climate_control"),
    ]
    seen = [(e["method"], re.sub(r"/ss/v1/user/[^/]+/", "/ss/v1/user/{user}/", e["path"]))
            for e in sim.log()]
    assert seen == expected
    assert all(e["status"] == 200 and e["host"] == "api" for e in sim.log())

    # Headers and bodies, as the client sent them.
    user_id = sim.log("/session")[0]["path"].split("/")[4]
    assert [(r.method, r.path_url.split("?")[0]) for r in sent] == [
        (method, path.replace("{user}", user_id)) for method, path in expected
    ]
    session = json.loads(sent[3].body)
    assert session["accountNumber"] == tsp and session["tsp"] == ids(ev).tsp
    assert session["tspPin"] == "1234" and session["idToken"]
    app_uuids = set()
    bodies = []
    for request in sent:
        assert request.headers["Authorization"].startswith("Bearer ey")
        assert request.headers["User-Agent"] == defaults.USER_AGENT
        if "/mps/" not in request.url:
            continue
        assert request.headers["Content-Type"] == "application/json;charset=UTF-8"
        assert request.headers["x-user-id"] == user_id
        assert request.headers["x-user-agent"] == "mobile-ios"
        app_uuids.add(request.headers["x-app-uuid"])
        body = json.loads(request.body)
        assert body.pop("email") == EMAIL
        assert body.pop("vw_id").endswith("appserver-000")
        assert len(body.pop("tsp_token")) > 100
        bodies.append(body)
    assert len(app_uuids) == 1
    assert bodies == [
        {}, {}, {},
        {"lock": False}, {"lock": True},
        {"horn": True, "lights": True}, {"horn": True, "lights": False},
        {"horn": False, "lights": True},
        {"active": True}, {"active": False},
        {"max_charge_current": 10}, {"max_charge_current": "max"},
        {"active": True, "target_temperature": 70}, {"active": False, "target_temperature": 70},
        {"active": True}, {"active": False},
        {"enabled": True}, {"enabled": False},
    ]


def test_invalid_command_values_are_refused_locally(
        sim: Sim, make_client: Callable[..., CarNetClient]) -> None:
    client = make_client()
    ev = _by_vin(client)[EV_VIN]
    sim.clear_log()
    with pytest.raises(BadRequest):
        client.set_max_charge_current(ev, 7)
    with pytest.raises(BadRequest):
        client.horn_lights(ev, horn=False, lights=False)
    assert sim.log() == []


def test_tsp_token_is_reused_then_renewed_when_refused(
        start_sim: Callable[..., Sim], make_client: Callable[..., CarNetClient]) -> None:
    sim = start_sim(tsp_ttl=1.0)
    client = make_client(sim)
    ev = _by_vin(client)[EV_VIN]
    client.set_lock(ev, False)
    client.set_lock(ev, True)
    assert sim.count("/session") == 1
    time.sleep(1.2)  # the simulator drops the TSP token; the client still holds it
    client.set_lock(ev, False)
    doors = sim.log("/status/exterior/doors")
    assert [e["status"] for e in doors] == [200, 200, 401, 200]
    assert sim.count("/session") == 2
    assert sim.count("/oidc/v1/authorize") == 1
    assert sim.vehicle(EV_VIN)["locked"] is False


def test_tsp_token_is_fetched_again_after_its_lifetime(
        sim: Sim, make_client: Callable[..., CarNetClient]) -> None:
    client = make_client()
    client._tsp.TOKEN_TTL = 0.3  # the vendor's is about 45 minutes
    vehicles = _by_vin(client)
    client.wake(vehicles[EV_VIN])
    client.wake(vehicles[GAS_VIN])  # one token per vehicle
    assert sim.count("/session") == 2
    time.sleep(0.4)
    client.wake(vehicles[EV_VIN])
    assert sim.count("/session") == 3
    assert all(e["status"] == 200 for e in sim.log("/mps/"))  # renewed before a refusal


def test_wrong_pin_makes_one_session_request_and_disables_commands(
        sim: Sim, make_client: Callable[..., CarNetClient]) -> None:
    client = make_client(pin="0000")
    vehicles = _by_vin(client)
    assert client.commands_enabled
    with pytest.raises(PinRefused) as caught:
        client.set_lock(vehicles[EV_VIN], False)
    assert "0000" not in str(caught.value)
    assert not client.commands_enabled
    with pytest.raises(PinRefused):
        client.set_charging(vehicles[EV_VIN], True)
    with pytest.raises(PinRefused):
        client.climate_details(vehicles[GAS_VIN])
    assert sim.count("/session") == 1
    assert sim.count("/mps/") == 0
    assert client.status(vehicles[EV_VIN])  # reading still works


def test_no_pin_means_read_only(sim: Sim, make_client: Callable[..., CarNetClient]) -> None:
    client = make_client(pin=None)
    assert not client.commands_enabled
    ev = _by_vin(client)[EV_VIN]
    sim.clear_log()
    with pytest.raises(PinRefused, match="no PIN configured"):
        client.set_lock(ev, True)
    assert sim.log() == []


def test_rate_limit_surfaces_retry_after_and_blocks(
        sim: Sim, make_client: Callable[..., CarNetClient]) -> None:
    client = make_client()
    ev = _by_vin(client)[EV_VIN]
    sim.fault(kind="rate_limit", per_minute=2)
    limited: RateLimited | None = None
    for _ in range(5):
        try:
            client.wake(ev)
        except RateLimited as exc:
            limited = exc
            break
    assert limited is not None
    assert limited.retry_after is not None and 0 < limited.retry_after <= 60
    sent = sim.count("/mps/")
    assert sim.log("/mps/")[-1]["status"] == 429
    with pytest.raises(RateLimited) as again:
        client.set_lock(ev, True)
    assert again.value.retry_after is not None and again.value.retry_after > 0
    assert sim.count("/mps/") == sent  # nothing sent while blocked
    assert client.status(ev)  # Bearer reads are not blocked


def test_min_interval_spaces_tsp_requests(sim: Sim,
                                          make_client: Callable[..., CarNetClient]) -> None:
    client = make_client(min_interval=0.4)
    ev = _by_vin(client)[EV_VIN]
    started = time.monotonic()
    client.wake(ev)
    client.set_lock(ev, True)
    client.climate_details(ev)
    elapsed = time.monotonic() - started
    assert elapsed >= 0.8
    times = [e["time"] for e in sim.log("/mps/")]
    assert len(times) == 3
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(gap >= 0.35 for gap in gaps), gaps
    client.status(ev)  # reads are not spaced
    assert time.monotonic() - started - elapsed < 0.4


def test_outage_bounded_retries_for_reads_none_for_commands(
        sim: Sim, make_client: Callable[..., CarNetClient]) -> None:
    client = make_client()
    ev = _by_vin(client)[EV_VIN]
    client.set_lock(ev, True)  # TSP token in hand
    sim.clear_log()
    sim.fault(kind="outage", status=503)
    started = time.monotonic()
    with pytest.raises(VendorUnavailable, match="503"):
        client.status(ev)
    assert time.monotonic() - started < 4
    assert sim.count("/rvs/v1/vehicle/") == 3
    with pytest.raises(VendorUnavailable):
        client.set_lock(ev, False)
    assert sim.count("/mps/") == 1  # a command is never retried blindly
    sim.clear_faults()
    assert client.status(ev)


def test_hang_becomes_vendor_unavailable_within_timeout(
        sim: Sim, make_client: Callable[..., CarNetClient]) -> None:
    client = make_client(timeout=1.0)
    ev = _by_vin(client)[EV_VIN]
    sim.fault(kind="hang")
    started = time.monotonic()
    try:
        with pytest.raises(VendorUnavailable, match="within 1 s"):
            client.status(ev)
        assert time.monotonic() - started < 2.5
    finally:
        sim.clear_faults()
    assert client.status(ev)


# --------------------------------------------------------------------------- secrets


def test_no_secret_in_debug_logs(start_sim: Callable[..., Sim],
                                 make_client: Callable[..., CarNetClient], state_dir: Path,
                                 caplog: pytest.LogCaptureFixture) -> None:
    sim = start_sim(token_ttl=61)
    secrets: set[str] = {OWNER_PASSWORD, OWNER_PIN}
    path = TokenStore(state_dir).path_for(OWNER_EMAIL)

    def remember_tokens() -> None:
        stored = json.loads(path.read_text())["tokens"]
        secrets.update(stored[k] for k in ("access_token", "id_token", "refresh_token",
                                           "code_verifier"))

    with caplog.at_level(logging.DEBUG):
        client = make_client(sim, email=OWNER_EMAIL, password=OWNER_PASSWORD, pin=OWNER_PIN)
        car = client.vehicles()[0]  # full login
        remember_tokens()
        time.sleep(1.2)
        client.status(car)  # refresh
        remember_tokens()
        client.set_lock(car, False)  # TSP token and a command
        secrets.update(token for token, _ in client._tsp.session_tokens.values())
        sim.fault(kind="outage", status=500)
        with pytest.raises(VendorUnavailable):
            client.set_charging(car, True)  # a failure
        sim.clear_faults()
        wrong = make_client(sim, email=OWNER_EMAIL, password="Wrong-Password-For-Test",
                            pin="9753")
        wrong._tokens.stored = None  # force a login with the wrong password
        with pytest.raises(AuthError):
            wrong._tokens._login()
    secrets.update({"Wrong-Password-For-Test", "9753"})

    assert sim.count("/oidc/v1/token") >= 2 and sim.count("/session") == 1
    # The simulator's own access log stands for the vendor's side and is left out.
    records = [r for r in caplog.records if not r.name.startswith("carnet.simulator")]
    assert any(r.name.startswith("urllib3") for r in records)  # the request lines were seen
    assert any("enrollment/status" in r.getMessage() for r in records)
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    text = "\n".join(formatter.format(r) for r in records)
    leaked = [s for s in secrets if s in text]
    assert leaked == []
    assert re.search(r"code=(?!\*\*\*)", text) is None
    assert re.search(r"idToken=(?!\*\*\*)", text) is None
    assert "Bearer ey" not in text
