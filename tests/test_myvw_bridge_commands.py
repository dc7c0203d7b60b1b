"""Every myVW command through the whole bridge (the simulator over HTTP, a real
mosquitto): MQTT ``/set`` -> the exact vendor request (method, path and body in the
simulator's request log) -> the outcome the vendor reports -> the car's state -> exactly
one result on ``<base>/<vehicle>/result``; a refusal by the car; the charge currents
myVW accepts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from carnet.simulator import Simulator, SimulatorOptions
from tests.conftest import EV_VIN, SimControl
from tests.support.mqtt_probe import Probe
from tests.support.myvw_bridge import BASE, myvw_config
from tests.test_bridge_commands import command, mqtt_value, results, wait_delivered
from tests.test_bridge_state import wait_online

COMMAND_METHODS = ("POST", "PUT", "DELETE")
CHARGE_SETTINGS = {"maxChargingCurrent", "autoUnlockPlugWhenCharged", "targetSOCPercentage",
                   "chargeModeSelection"}


def vendor_commands(sim: SimControl) -> list[tuple[str, str, Any]]:
    """(method, path without the vehicle id, body) of every command request; the token
    and S-PIN requests aside."""
    vehicle_id = sim.vehicles()[EV_VIN]["vehicleId"]
    return [(r["method"], r["path"].replace(vehicle_id, "<vid>"), r["body"])
            for r in sim.requests() if r["method"] in COMMAND_METHODS
            and not r["path"].startswith(("/oidc/", "/ss/", "/signin-service/"))]


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    # No EV pacing between the commands of one car: each command is one request here
    # (the pacing is the client tests' subject).
    with Simulator(SimulatorOptions(apply_delay=0.0, rate_limit=1000, daily_budget=100000,
                                    demo_id4=False, ev_command_gap=0)) as sim:
        yield sim


@pytest.fixture
def bridge(make_config, run_bridge, probe: Probe) -> Any:
    # verify_after longer than the test waits: a result inside it came from the outcome.
    running = run_bridge(myvw_config(make_config, commands={"verify_after": 120}))
    wait_online(probe, "egolf", "jetta", timeout=30)
    wait_delivered(running, probe)
    return running


EV = "/ev/v1/vehicle/<vid>"
# (attribute, payload, the command request: method, path, body (a dict: these keys of
#  it), simulator field -> value afterwards, MQTT value afterwards)
COMMANDS: list[tuple[str, str, tuple[str, str, dict[str, Any]], dict[str, Any], str | None]] = [
    ("lock", "UNLOCK", ("PUT", "/lockunlock/v1/vehicle/<vid>", {"lock": False}),
     {"locked": False}, "UNLOCKED"),
    ("lock", "LOCK", ("PUT", "/lockunlock/v1/vehicle/<vid>", {"lock": True}),
     {"locked": True}, "LOCKED"),
    ("charging", "ON", ("POST", f"{EV}/charging/start", {"actionMode": "immediate"}),
     {"charging": True}, "ON"),
    ("charging", "OFF", ("POST", f"{EV}/charging/stop", {"actionMode": "immediate"}),
     {"charging": False}, "OFF"),
    ("target_soc", "80", ("PUT", f"{EV}/charging/settings", {"targetSOCPercentage": 80}),
     {"target_soc": 80}, "80"),
    ("max_charge_current", "reduced",
     ("PUT", f"{EV}/charging/settings", {"maxChargingCurrent": "reduced",
                                         "targetSOCPercentage": 80}),
     {}, "reduced"),
    ("max_charge_current", "max",
     ("PUT", f"{EV}/charging/settings", {"maxChargingCurrent": "max"}),
     {"max_charge_current": "max"}, "max"),
    # A new target goes to the car's settings while the climate is off.
    ("climate_target_temperature", "75",
     ("PUT", f"{EV}/pretripclimate/settings",
      {"targetTemperature": {"temperature": 75, "unit": "fahrenheit"}}),
     {"target_temperature": 75, "climate_on": False}, "75"),
    ("climate", "ON", ("POST", f"{EV}/pretripclimate/start", {}),
     {"climate_on": True, "target_temperature": 75}, "ON"),
    ("climate", "OFF", ("POST", f"{EV}/pretripclimate/stop", {}), {"climate_on": False}, "OFF"),
    ("window_heating", "ON", ("POST", f"{EV}/pretripclimate/windowheating/start", {}),
     {"defrost_on": True}, "ON"),
    ("window_heating", "OFF", ("POST", f"{EV}/pretripclimate/windowheating/stop", {}),
     {"defrost_on": False}, "OFF"),
    ("unplugged_climate", "ON",
     ("PUT", f"{EV}/pretripclimate/settings", {"climatizationWithoutExternalPower": True}),
     {"unplugged_climate": True}, "ON"),
    ("unplugged_climate", "OFF",
     ("PUT", f"{EV}/pretripclimate/settings", {"climatizationWithoutExternalPower": False}),
     {"unplugged_climate": False}, "OFF"),
    ("horn_lights", "BOTH", ("PUT", "/honkflash/v1/vehicle/<vid>",
                             {"horn": True, "lights": True}), {}, None),
    ("horn_lights", "LIGHTS", ("PUT", "/honkflash/v1/vehicle/<vid>",
                               {"horn": False, "lights": True}), {}, None),
    ("refresh", "PRESS", ("POST", "/rvs/v1/vehicle/<vid>/refresh", {}), {}, None),
]


@pytest.mark.slow(50)
def test_every_myvw_command_end_to_end(bridge, probe: Probe, sim: SimControl) -> None:
    for index, (attribute, payload, request, car, shown) in enumerate(COMMANDS):
        where = f"{attribute}={payload}"
        sim.clear_requests()
        result = command(probe, attribute, payload, timeout=30)
        assert result["attribute"] == attribute, where
        assert result["status"] == "ok", (where, result)
        sent = vendor_commands(sim)
        assert len(sent) == 1, (where, sent)
        method, path, body = sent[0]
        assert (method, path) == request[:2], (where, sent)
        assert isinstance(body, dict), (where, sent)
        assert {k: body.get(k) for k in request[2]} == request[2], (where, body)
        if path.endswith("/charging/settings"):  # the whole settings object, one changed
            assert set(body) == CHARGE_SETTINGS, (where, body)
        elif not path.endswith("/pretripclimate/settings"):
            assert body == request[2], (where, body)
        state = sim.vehicles()[EV_VIN]
        for key, expected in car.items():
            assert state[key] == expected, (where, key, state[key])
        if attribute == "max_charge_current" and payload == "reduced":
            assert state["max_charge_current"] != "max", state
        if shown is not None:
            probe.wait_for(lambda m, a=attribute, v=shown: m.topic == f"{BASE}/egolf/{a}"
                           and m.text == v, 30)
        wait_delivered(bridge, probe)
        # Exactly one result per command, none for the other car.
        got = results(probe)
        assert len(got) == index + 1, (where, got)
        assert results(probe, "jetta") == []
    # The wake-up counts against the day's wake-ups.
    assert bridge.vehicles["egolf"].wakeups_left(
        bridge.config.polling.wakeups_per_day) == bridge.config.polling.wakeups_per_day - 1


def test_amps_are_refused_with_the_currents_myvw_accepts(
    bridge, probe: Probe, sim: SimControl
) -> None:
    sim.clear_requests()
    result = command(probe, "max_charge_current", "13", timeout=30)
    assert result["status"] == "rejected", result
    assert "max" in result["detail"] and "reduced" in result["detail"], result
    wait_delivered(bridge, probe)
    assert vendor_commands(sim) == []
    assert mqtt_value(probe, "egolf", "max_charge_current") == "max"


def test_a_refusal_by_the_car_is_an_error_with_its_words_and_an_event(
    bridge, probe: Probe, sim: SimControl
) -> None:
    sim.patch_vehicle(EV_VIN, plugged_in=False)
    sim.clear_requests()
    result = command(probe, "charging", "ON", timeout=30)
    assert result["status"] == "error", result
    assert result["detail"].startswith("the car refused: "), result
    assert [(m, p) for m, p, _b in vendor_commands(sim)] == [
        ("POST", "/ev/v1/vehicle/<vid>/charging/start")]
    event = probe.wait_for(lambda m: m.topic == f"{BASE}/egolf/event"
                           and json.loads(m.text).get("event_type") == "command_failed", 30)
    body = json.loads(event[-1].text)
    assert (body["attribute"], body["status"]) == ("charging", "error"), body
    assert body["detail"] == result["detail"], body
    wait_delivered(bridge, probe)
    assert len(results(probe)) == 1
    assert sim.vehicles()[EV_VIN]["charging"] is False
    assert mqtt_value(probe, "egolf", "charging") != "ON"
