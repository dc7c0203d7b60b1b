"""The myVW client against the simulator over real HTTP: the garage and capabilities,
every read, every intent's vendor request, outcomes, refusals and limits."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from carnet.config import AccountConfig, VendorConfig
from carnet.core.errors import (
    BadRequest,
    CommandRefused,
    PinRefused,
    RateLimited,
    VendorUnavailable,
    WakeupsUsedUp,
)
from carnet.runtime.daemon import wait_until
from carnet.simulator import Simulator
from carnet.vendor.myvw_app.client import MyvwClient
from carnet.vendor.protocol import Part, Progress, Receipt, RequestClass, Vehicle
from tests.support.myvw_bearers import SimBearers
from tests.test_simulator_myvw_support import MYVW_CA_CLIENT_ID
from tests.test_simulator_myvw_support import MyvwClient as SignIn
from tests.test_simulator_support import (
    DEMO_EMAIL,
    DEMO_PASSWORD,
    DEMO_PIN,
    EV_VIN,
    ICE_VIN,
    ID4_VIN,
    TIMEOUT,
    make_sim,
    sim_fault,
    sim_patch,
    sim_vehicle,
)

EV_INTENTS = {"wake", "set_lock", "horn_lights", "set_charging",
              "set_max_charge_current", "set_target_soc", "set_climate",
              "set_unplugged_climate", "set_window_heating"}


class Counter:
    def __init__(self) -> None:
        self.kinds: list[RequestClass] = []

    def record(self, kind: RequestClass) -> None:
        self.kinds.append(kind)


def client_for(sim: Simulator, *, commands: bool = True, unit: str = "auto",
               recorder: Counter | None = None, sign_in: SignIn | None = None,
               **pacing: Any) -> MyvwClient:
    account = AccountConfig(email=DEMO_EMAIL, password=DEMO_PASSWORD,
                            pin=DEMO_PIN if commands else None, temperature_unit=unit)
    bearers = SimBearers(sign_in or SignIn(sim), commands=commands)
    return MyvwClient(VendorConfig(api_base=sim.api_url, timeout=5), account, bearers,
                      recorder=recorder, **pacing)


def by_vin(client: MyvwClient) -> dict[str, Vehicle]:
    return {vehicle.vin: vehicle for vehicle in client.vehicles()}


def request_log(sim: Simulator) -> list[dict[str, Any]]:
    return list(requests.get(f"{sim.api_url}/_sim/requests", timeout=TIMEOUT).json())


def clear_log(sim: Simulator) -> None:
    requests.delete(f"{sim.api_url}/_sim/requests", timeout=TIMEOUT)


def sent(sim: Simulator) -> list[tuple[str, str, str | None]]:
    """(method, path, bearer) of every API request since the log was cleared."""
    return [(entry["method"], entry["path"], entry["bearer"]) for entry in request_log(sim)
            if not entry["path"].startswith(("/_sim", "/ss/"))]


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = make_sim(rate_limit=1000, ev_command_gap=0, myvw_command_limit=1000)
    yield simulator
    simulator.stop()


def test_vehicles_and_their_capabilities(sim: Simulator) -> None:
    sign_in = SignIn(sim)
    vehicles = by_vin(client_for(sim, sign_in=sign_in))
    assert set(vehicles) == {EV_VIN, ICE_VIN, ID4_VIN}
    egolf, jetta = vehicles[EV_VIN], vehicles[ICE_VIN]
    assert (egolf.model_name, egolf.model_year) == ("e-Golf", "2016")
    assert (jetta.model_name, jetta.model_year) == ("Jetta", "2020")
    assert egolf.key == sign_in.vid(EV_VIN)
    assert egolf.capabilities.intents == EV_INTENTS
    assert vehicles[ID4_VIN].capabilities.intents == EV_INTENTS
    assert jetta.capabilities.intents == {"wake", "set_lock", "horn_lights"}
    for vehicle in vehicles.values():
        capabilities = vehicle.capabilities
        assert "set_defrost" not in capabilities.intents
        assert capabilities.charge_currents == ("max", "reduced")
        assert capabilities.costly_parts == frozenset()
        assert capabilities.climate_targets["°F"].minimum == 61
        assert capabilities.climate_targets["°F"].maximum == 85
        assert capabilities.climate_targets["°C"].step == 0.5
        assert capabilities.climate_targets["°C"].maximum == 29.5


def test_every_read_and_its_values(sim: Simulator) -> None:
    client = client_for(sim)
    vehicles = by_vin(client)
    sim_patch(sim, ID4_VIN, {"battery_level": 50})
    id4 = vehicles[ID4_VIN]
    parts = {part: client.read(id4, part) for part in Part}
    report = client.interpret(id4, parts, "auto")
    values = report.values
    assert values["battery_level"] == 50 and values["plug_connected"] is True
    assert values["charging"] is False and values["charging_state"] == "ready"
    assert values["target_soc"] == 80 and values["max_charge_current"] == "max"
    assert values["plug_lock"] is True and values["charge_power"] == 0.0
    assert values["climate"] is False and values["climate_remaining"] == 0
    assert values["climate_target_temperature"] == 70
    assert report.units["climate_target_temperature"] == "°F"
    assert values["unplugged_climate"] is False and values["window_heating"] is False
    assert values["odometer"] == sim_vehicle(sim, ID4_VIN)["mileage"]  # km back to miles
    assert report.units["odometer"] == report.units["range"] == "mi"
    assert values["health"] == "ok" and "service_due_distance" in values
    assert values["lock"] == "LOCKED" and values["door_front_left"] is False
    assert "fuel_level" not in values and "location" in values and "last_update" in values
    client.set_charging(id4, True)
    report = client.interpret(id4, {Part.STATUS: client.read(id4, Part.STATUS)}, "auto")
    assert report.values["charging"] is True and report.values["charging_state"] == "charging"
    assert report.values["charge_power"] == pytest.approx(11.0, abs=0.2)
    assert report.values["charge_rate"] > 0 and report.units["charge_rate"] == "mph"
    assert report.values["charge_remaining_minutes"] > 0
    jetta = vehicles[ICE_VIN]
    assert client.read(jetta, Part.CLIMATE) == {}  # a combustion car has no climate summary
    report = client.interpret(jetta, {part: client.read(jetta, part) for part in Part}, "C")
    assert report.values["fuel_level"] == sim_vehicle(sim, ICE_VIN)["fuel_level"]
    assert "battery_level" not in report.values and "charging" not in report.values


def test_a_celsius_account_reads_and_sets_celsius(sim: Simulator) -> None:
    client = client_for(sim, unit="C")
    egolf = by_vin(client)[EV_VIN]
    report = client.interpret(egolf, {Part.CLIMATE: client.read(egolf, Part.CLIMATE)}, "C")
    assert report.values["climate_target_temperature"] == 22  # 72 °F
    assert report.units["climate_target_temperature"] == "°C"
    client.set_climate(egolf, True, 21.5)
    state = sim_vehicle(sim, EV_VIN)
    assert state["target_temperature"] == 71 and state["climate_on"] is True  # °F account
    with pytest.raises(BadRequest, match=r"16 to 29\.5"):
        client.set_climate(egolf, True, 30)


def test_a_read_that_wants_the_vehicle_token_gets_it(sim: Simulator) -> None:
    client = client_for(sim)
    egolf = by_vin(client)[EV_VIN]
    refusal = {"error": {"errorCode": "USER_NOT_AUTHORIZED", "errorDescription": "locked"}}
    sim_fault(sim, {"kind": "answer", "path": "/charge/summary$", "status": 403,
                    "body": refusal, "times": 1})
    clear_log(sim)
    parts = client.read(egolf, Part.STATUS)
    assert parts.charge["batteryStatus"]["currentSOCPct"] == 80
    summaries = [bearer for _m, path, bearer in sent(sim) if path.endswith("/charge/summary")]
    assert summaries[-1] == "vehicle" and len(summaries) == 2
    # without commands there is no vehicle token: the status is reported without it
    reader = client_for(sim, commands=False)
    sim_fault(sim, {"kind": "answer", "path": "/charge/summary$", "status": 403,
                    "body": refusal, "times": 1})
    parts = reader.read(by_vin(reader)[EV_VIN], Part.STATUS)
    assert parts.charge is None and parts.status["vehicleId"] == egolf.key


def test_every_intent_sends_its_vendor_request(sim: Simulator) -> None:
    client = client_for(sim)
    egolf = by_vin(client)[EV_VIN]
    vid = egolf.key
    ev = f"/ev/v1/vehicle/{vid}"
    sim_patch(sim, EV_VIN, {"battery_level": 50})
    cases: list[tuple[Any, list[tuple[str, str]], tuple[str, Any] | None]] = [
        (lambda: client.set_lock(egolf, False), [("PUT", f"/lockunlock/v1/vehicle/{vid}")],
         ("locked", False)),
        (lambda: client.horn_lights(egolf, True, False),
         [("PUT", f"/honkflash/v1/vehicle/{vid}")], None),
        (lambda: client.set_charging(egolf, True), [("POST", f"{ev}/charging/start")],
         ("charging", True)),
        (lambda: client.set_charging(egolf, False), [("POST", f"{ev}/charging/stop")],
         ("charging", False)),
        (lambda: client.set_target_soc(egolf, 90),
         [("GET", f"{ev}/charging/settings"), ("PUT", f"{ev}/charging/settings")],
         ("target_soc", 90)),
        (lambda: client.set_max_charge_current(egolf, "reduced"),
         [("GET", f"{ev}/charging/settings"), ("PUT", f"{ev}/charging/settings")],
         ("max_charge_current", 10)),
        (lambda: client.set_climate(egolf, True, 68),
         [("GET", f"{ev}/climate/summary"), ("PUT", f"{ev}/pretripclimate/settings"),
          ("POST", f"{ev}/pretripclimate/start")], ("target_temperature", 68)),
        (lambda: client.set_climate(egolf, False, 68),
         [("GET", f"{ev}/climate/summary"), ("POST", f"{ev}/pretripclimate/stop")],
         ("climate_on", False)),
        (lambda: client.set_unplugged_climate(egolf, True),
         [("GET", f"{ev}/pretripclimate/settings"), ("PUT", f"{ev}/pretripclimate/settings")],
         ("unplugged_climate", True)),
        (lambda: client.set_window_heating(egolf, True),
         [("POST", f"{ev}/pretripclimate/windowheating/start")], ("defrost_on", True)),
        (lambda: client.set_window_heating(egolf, False),
         [("POST", f"{ev}/pretripclimate/windowheating/stop")], ("defrost_on", False)),
    ]
    for send, expected, effect in cases:
        clear_log(sim)
        receipt = send()
        assert isinstance(receipt, Receipt), expected
        log = sent(sim)
        assert [(method, path) for method, path, _b in log] == expected
        commands = [bearer for method, _p, bearer in log if method != "GET"]
        assert commands == ["vehicle"] * len(commands)
        if effect is not None:
            assert sim_vehicle(sim, EV_VIN)[effect[0]] == effect[1], expected
        assert client.outcome(egolf, receipt).progress is Progress.SUCCEEDED
    clear_log(sim)
    assert client.wake(egolf) is None
    assert sent(sim) == [("POST", f"/rvs/v1/vehicle/{vid}/refresh", "vehicle")]
    # No request for a new health report: nothing is sent (a wake-up would spend the day's).
    clear_log(sim)
    with pytest.raises(BadRequest, match="health report"):
        client.refresh_health(egolf)
    assert sent(sim) == []


def test_bad_values_are_refused_before_anything_is_sent(sim: Simulator) -> None:
    client = client_for(sim)
    egolf = by_vin(client)[EV_VIN]
    clear_log(sim)
    for send, words in ((lambda: client.set_target_soc(egolf, 85), "50, 60"),
                        (lambda: client.set_max_charge_current(egolf, "13"), "max, reduced"),
                        (lambda: client.horn_lights(egolf, False, False), "horn, lights"),
                        (lambda: client.set_climate(egolf, True, 90), "61 to 85"),
                        (lambda: client.set_defrost(egolf, True), "window heating")):
        with pytest.raises(BadRequest, match=words):
            send()
    assert sent(sim) == []


def test_outcomes_pending_succeeded_and_failed() -> None:
    with make_sim(apply_delay=0.5, rate_limit=1000, ev_command_gap=0) as sim:
        counter = Counter()
        client = client_for(sim, recorder=counter)
        egolf = by_vin(client)[EV_VIN]
        receipt = client.set_lock(egolf, False)
        assert receipt is not None
        counter.kinds.clear()
        pending = client.outcome(egolf, receipt)
        assert pending.progress is Progress.PENDING and "RO_QUEUED" in pending.detail
        assert counter.kinds == [RequestClass.READ]
        time.sleep(0.6)
        done = client.outcome(egolf, receipt)
        assert done.progress is Progress.SUCCEEDED and "4101 : RO_DOOR_SUCCESS" in done.detail
        sim_patch(sim, EV_VIN, {"plugged_in": False})
        failed = client.set_charging(egolf, True)
        assert failed is not None
        time.sleep(0.6)
        outcome = client.outcome(egolf, failed)
        assert outcome.progress is Progress.FAILED
        assert outcome.detail == "the car refused: 4302 : RO_CHARGING_FAILED"


def test_back_to_back_ev_commands_are_rate_limited_for_that_car() -> None:
    with make_sim(rate_limit=1000, ev_command_gap=3) as sim:
        client = client_for(sim)
        egolf = by_vin(client)[EV_VIN]
        assert client.set_window_heating(egolf, True) is not None
        with pytest.raises(RateLimited) as caught:
            client.set_window_heating(egolf, False)
        assert caught.value.retry_after is not None and caught.value.retry_after >= 1
        assert client.request_wait() == 0  # the account's other commands go on
        assert client.set_lock(egolf, False) is not None


def test_a_new_target_waits_out_the_ev_pacing_before_the_start() -> None:
    with make_sim(rate_limit=1000, ev_command_gap=1) as sim:
        client = client_for(sim)
        egolf = by_vin(client)[EV_VIN]
        assert client.set_climate(egolf, True, 66) is not None
        state = sim_vehicle(sim, EV_VIN)
        assert state["target_temperature"] == 66 and state["climate_on"] is True


def test_refused_commands(sim: Simulator) -> None:
    client = client_for(sim)
    vehicles = by_vin(client)
    with pytest.raises(CommandRefused) as caught:
        client.set_charging(vehicles[ICE_VIN], True)  # not an EV: 403 USER_NOT_AUTHORIZED
    assert caught.value.status == 403 and "USER_NOT_AUTHORIZED" in caught.value.detail
    sim_fault(sim, {"kind": "answer", "path": "/lockunlock/", "status": 200, "times": 1,
                    "body": {"data": {"result": 1, "errorCode": "RO_NOT_ALLOWED"}}})
    with pytest.raises(CommandRefused, match="RO_NOT_ALLOWED"):
        client.set_lock(vehicles[EV_VIN], True)
    reader = client_for(sim, commands=False)
    clear_log(sim)
    with pytest.raises(PinRefused):
        reader.set_lock(vehicles[EV_VIN], True)
    assert sent(sim) == []


def test_a_refused_token_is_renewed_once(sim: Simulator) -> None:
    client = client_for(sim)
    bearers = client._bearers
    assert isinstance(bearers, SimBearers)
    egolf = by_vin(client)[EV_VIN]
    stale = bearers.access_token()
    dead = {"error": {"errorCode": "UNAUTHORIZED", "errorDescription": "expired"}}
    sim_fault(sim, {"kind": "answer", "path": "^/vhs/", "status": 401, "body": dead,
                    "times": 1})
    assert client.read(egolf, Part.HEALTH)["vhrTimeStamp"]
    assert bearers.rejected_access == [stale]
    sim_fault(sim, {"kind": "answer", "path": "^/lockunlock/", "status": 401, "body": dead,
                    "times": 1})
    assert client.set_lock(egolf, False) is not None
    assert bearers.rejected_vehicles == [egolf.key]
    assert sim_vehicle(sim, EV_VIN)["locked"] is False


def test_unavailable_reads_are_retried_and_commands_are_not(sim: Simulator) -> None:
    client = client_for(sim)
    egolf = by_vin(client)[EV_VIN]
    sim_fault(sim, {"kind": "answer", "path": "^/vhs/", "status": 503, "body": {}, "times": 1})
    assert client.read(egolf, Part.HEALTH)["vhrTimeStamp"]
    sim_fault(sim, {"kind": "answer", "path": "^/lockunlock/", "status": 503, "body": {},
                    "times": 1})
    with pytest.raises(VendorUnavailable):
        client.set_lock(egolf, False)
    assert sim_vehicle(sim, EV_VIN)["locked"] is True
    sim_fault(sim, {"kind": "answer", "path": "^/lockunlock/", "method": "PUT", "status": 405,
                    "body": {"error": {"errorCode": "METHOD_NOT_ALLOWED"}}, "times": 1})
    with pytest.raises(BadRequest):
        client.set_lock(egolf, False)


def test_the_account_rate_limit_pauses_its_commands(sim: Simulator) -> None:
    client = client_for(sim)
    egolf = by_vin(client)[EV_VIN]
    sim_fault(sim, {"kind": "answer", "path": "^/lockunlock/", "status": 429, "times": 1,
                    "headers": {"Retry-After": "30"},
                    "body": {"error": {"errorCode": "TOO_MANY_REQUESTS"}}})
    with pytest.raises(RateLimited) as caught:
        client.set_lock(egolf, False)
    assert caught.value.retry_after == 30
    assert client.request_wait() > 29
    clear_log(sim)
    with pytest.raises(RateLimited):
        client.horn_lights(egolf, True, True)
    assert sent(sim) == []


def test_the_per_minute_budget(sim: Simulator) -> None:
    counter = Counter()
    client = client_for(sim, recorder=counter, max_per_minute=2, min_interval=0.2)
    egolf = by_vin(client)[EV_VIN]
    assert client.spare_requests() == 2 and client.request_wait() == 0
    counter.kinds.clear()
    client.set_lock(egolf, False)
    assert client.spare_requests() == 1 and 0 < client.request_wait() <= 0.2
    started = time.monotonic()
    client.set_lock(egolf, True)
    assert time.monotonic() - started >= 0.15  # min_interval apart
    assert client.spare_requests() == 0 and client.request_wait() > 50
    assert counter.kinds == [RequestClass.COMMAND, RequestClass.COMMAND]


def test_canada() -> None:
    with make_sim(region="ca", rate_limit=1000, ev_command_gap=0) as sim:
        client = client_for(sim, sign_in=SignIn(sim, client_id=MYVW_CA_CLIENT_ID))
        vehicles = by_vin(client)
        egolf = vehicles[EV_VIN]
        assert egolf.capabilities.intents == EV_INTENTS  # SPIN:ALL is NOT_APPLICABLE there
        report = client.interpret(egolf, {Part.STATUS: client.read(egolf, Part.STATUS)}, "auto")
        assert report.values["battery_level"] == 80
        receipt = client.set_lock(egolf, False)
        assert receipt is not None
        assert client.outcome(egolf, receipt).progress is Progress.SUCCEEDED
        client.close()
        assert client._bearers.closed  # type: ignore[attr-defined]


def test_no_token_reaches_the_log(sim: Simulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    client = client_for(sim)
    egolf = by_vin(client)[EV_VIN]
    client.read(egolf, Part.STATUS)
    sim_fault(sim, {"kind": "answer", "path": "^/lockunlock/", "status": 401, "times": 1,
                    "body": {"error": {"errorCode": "UNAUTHORIZED"}}})
    client.set_lock(egolf, False)
    bearers = client._bearers
    assert isinstance(bearers, SimBearers)
    secrets = {bearers.access_token(), bearers.vehicle_token(egolf.key, "WCT"),
               bearers.sign_in.tokens["id_token"]}
    assert "myVW refused the vehicle token" in caplog.text
    for secret in secrets:
        assert secret not in caplog.text


def test_wake_ups_in_a_row_meet_the_battery_protection() -> None:
    with make_sim(rate_limit=1000, wakeup_limit=1) as sim:
        client = client_for(sim)
        egolf = by_vin(client)[EV_VIN]
        assert client.wake(egolf) is None
        with pytest.raises(WakeupsUsedUp):
            client.wake(egolf)
        assert client.request_wait() == 0  # the account's budget is not paused


def test_a_new_target_while_the_climate_runs_is_refused_without_a_request(
        sim: Simulator) -> None:
    client = client_for(sim)
    egolf = by_vin(client)[EV_VIN]
    ev = f"/ev/v1/vehicle/{egolf.key}"
    client.set_climate(egolf, True, 70)
    assert wait_until(lambda: sim_vehicle(sim, EV_VIN)["climate_on"], 5)
    clear_log(sim)
    with pytest.raises(CommandRefused, match="only while the climate is off"):
        client.set_climate(egolf, True, 75)
    assert [(method, path) for method, path, _ in sent(sim)] == [("GET", f"{ev}/climate/summary")]
    client.set_climate(egolf, False, 75)  # stopping does not need the target
    assert wait_until(lambda: not sim_vehicle(sim, EV_VIN)["climate_on"], 5)
