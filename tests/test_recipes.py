"""The README's recipes, as the tools in them really talk MQTT: what evcc and Node-RED
publish reaches the car through the bridge, and what they read is there in the shape
they parse. Against the simulator and a real mosquitto."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import EV_VIN, SimControl
from tests.support.mqtt_probe import Probe, Received

BASE = "carnet2mqtt"
CHARGE_PATH = "/status/charging"
CURRENT_PATH = "/settings/max_charge_current"


def wait_online(probe: Probe, vehicle: str = "egolf", timeout: float = 15.0) -> None:
    probe.wait_for(
        lambda m: m.topic == f"{BASE}/{vehicle}/availability" and m.text == "online", timeout
    )


def results(probe: Probe, count: int = 1, timeout: float = 15.0) -> list[dict[str, Any]]:
    found = probe.wait_for(lambda m: m.topic == f"{BASE}/egolf/result", timeout, count)
    return [json.loads(m.text) for m in found]


def latest(probe: Probe, attribute: str) -> str:
    return probe.latest()[f"{BASE}/egolf/{attribute}"].text


def evcc_status(document: dict[str, Any]) -> str:
    """What the evcc recipe's jq expression computes from the vehicle's JSON topic."""
    if document.get("charging") == "ON":
        return "C"
    return "B" if document.get("plug_connected") is True else "A"


@pytest.fixture
def bridge(make_config, run_bridge, probe: Probe, sim: SimControl) -> Probe:
    run_bridge(make_config())
    wait_online(probe)
    probe.wait_for(lambda m: m.topic == f"{BASE}/egolf/charging")
    sim.clear_requests()
    return probe


# --- evcc: a custom vehicle with soc, status, chargeenable and maxcurrent over MQTT ------


def test_evcc_chargeenable_true_and_false_start_and_stop_charging(bridge: Probe, sim: SimControl):
    bridge.clear()
    bridge.publish(f"{BASE}/egolf/charging/set", "true")  # evcc: ${chargeenable} of a bool
    (first,) = results(bridge)
    assert first["attribute"] == "charging"
    assert first["status"] == "ok", first
    assert sim.vehicles()[EV_VIN]["charging"] is True
    assert len(sim.requests(CHARGE_PATH, method="PATCH")) == 1
    bridge.wait_for(lambda m: m.topic == f"{BASE}/egolf/charging" and m.text == "ON")

    bridge.publish(f"{BASE}/egolf/charging/set", "false")
    second = results(bridge, count=2)[-1]
    assert second["status"] == "ok", second
    assert sim.vehicles()[EV_VIN]["charging"] is False
    assert len(sim.requests(CHARGE_PATH, method="PATCH")) == 2
    bridge.wait_for(lambda m: m.topic == f"{BASE}/egolf/charging" and m.text == "OFF")


@pytest.mark.parametrize(("amps", "setting"), [("16", 13), ("6", 5), ("10", 10), ("32", 13)])
def test_evcc_maxcurrent_in_whole_amps_maps_down_to_a_car_setting(
    bridge: Probe, sim: SimControl, amps: str, setting: int
):
    bridge.clear()
    bridge.publish(f"{BASE}/egolf/max_charge_current/set", amps)  # evcc: ${maxcurrent}
    (result,) = results(bridge)
    assert result["status"] == "ok", result
    assert result["value"] == setting
    assert len(sim.requests(CURRENT_PATH, method="PUT")) == 1
    assert sim.vehicles()[EV_VIN]["max_charge_current"] == setting
    bridge.wait_for(lambda m: m.topic == f"{BASE}/egolf/max_charge_current")
    assert latest(bridge, "max_charge_current") == str(setting)


def test_evcc_maxcurrent_below_the_lowest_setting_is_rejected_without_a_request(
    bridge: Probe, sim: SimControl
):
    bridge.clear()
    bridge.publish(f"{BASE}/egolf/max_charge_current/set", "4")
    (result,) = results(bridge)
    assert result["status"] == "rejected"
    assert "5" in result["detail"]
    assert not sim.commands()


def test_evcc_reads_soc_and_status(bridge: Probe, sim: SimControl):
    # soc: the plain battery level parses as a number.
    assert float(latest(bridge, "battery_level")) == 80
    # status: plugged in, not charging -> B; then charging -> C; unplugged -> A.
    document = json.loads(bridge.latest()[f"{BASE}/egolf"].text)
    assert evcc_status(document) == "B"

    bridge.clear()
    bridge.publish(f"{BASE}/egolf/charging/set", "true")
    assert results(bridge)[0]["status"] == "ok"

    def charging_document(m: Received) -> bool:
        return m.topic == f"{BASE}/egolf" and json.loads(m.text).get("charging") == "ON"

    document = json.loads(bridge.wait_for(charging_document)[-1].text)
    assert evcc_status(document) == "C"

    sim.patch_vehicle(EV_VIN, plugged_in=False, charging=False)
    bridge.publish(f"{BASE}/bridge/request/poll", json.dumps({"vehicle": "egolf"}))
    bridge.wait_topic(f"{BASE}/bridge/response/poll")

    def unplugged(m: Received) -> bool:
        return m.topic == f"{BASE}/egolf" and json.loads(m.text).get("plug_connected") is False

    document = json.loads(bridge.wait_for(unplugged)[-1].text)
    assert evcc_status(document) == "A"


# --- Node-RED: JSON-parsed payloads, serialised back by the mqtt out node --------------


def test_node_red_reads_battery_level_as_a_number(bridge: Probe):
    # The mqtt in node with "a parsed JSON object" output: 80, not "80".
    assert json.loads(latest(bridge, "battery_level")) == 80
    document = json.loads(bridge.latest()[f"{BASE}/egolf"].text)
    assert isinstance(document["battery_level"], int)


def test_node_red_json_object_on_the_vehicle_set_topic(bridge: Probe, sim: SimControl):
    bridge.clear()
    # msg.payload = {charging: true, transaction: "nr-1"} -> JSON.stringify
    bridge.publish(f"{BASE}/egolf/set", json.dumps({"charging": True, "transaction": "nr-1"}))
    (result,) = results(bridge)
    assert result == {
        "attribute": "charging",
        "value": "ON",
        "status": "ok",
        "detail": result["detail"],
        "transaction": "nr-1",
    }
    assert sim.vehicles()[EV_VIN]["charging"] is True
    assert len(sim.requests(CHARGE_PATH, method="PATCH")) == 1


def test_node_red_boolean_and_number_payloads_on_attribute_topics(
    bridge: Probe, sim: SimControl
):
    bridge.clear()
    # msg.payload = true and msg.payload = 10 are sent as "true" and "10".
    bridge.publish(f"{BASE}/egolf/charging/set", json.dumps(True))
    bridge.publish(f"{BASE}/egolf/max_charge_current/set", json.dumps(10))
    found = results(bridge, count=2)
    assert {r["attribute"]: r["status"] for r in found} == {
        "charging": "ok",
        "max_charge_current": "ok",
    }
    vehicle = sim.vehicles()[EV_VIN]
    assert vehicle["charging"] is True and vehicle["max_charge_current"] == 10


def test_node_red_several_commands_in_one_object_get_one_result_each(
    bridge: Probe, sim: SimControl
):
    bridge.clear()
    bridge.publish(
        f"{BASE}/egolf/set", json.dumps({"max_charge_current": 13, "charging": False})
    )
    found = results(bridge, count=2)
    assert sorted(r["attribute"] for r in found) == ["charging", "max_charge_current"]
    assert all(r["status"] == "ok" for r in found), found
    assert sim.vehicles()[EV_VIN]["max_charge_current"] == 13


def test_node_red_retained_command_is_ignored(bridge: Probe, sim: SimControl):
    bridge.clear()
    bridge.publish(f"{BASE}/egolf/set", json.dumps({"charging": True}), retain=True)
    try:
        (result,) = results(bridge)
        assert result["status"] == "rejected"
        assert "retained" in result["detail"]
        assert not sim.commands()
    finally:
        bridge.publish(f"{BASE}/egolf/set", b"", retain=True)
