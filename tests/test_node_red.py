"""The README's Node-RED flow in a real Node-RED (from npm, cached): deployed through the
admin API as printed, pointed at a real mosquitto, with the bridge against the simulator."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import EV_VIN, SimControl
from tests.support.broker import Broker
from tests.support.mqtt_probe import Probe
from tests.support.node_red import NodeRed, ensure_installed
from tests.test_readme import _code_blocks

BASE = "carnet2mqtt"
CHARGE_PATH = "/status/charging"


def readme_flow() -> list[dict[str, Any]]:
    (flow,) = [json.loads(b) for b in _code_blocks("json") if '"mqtt out"' in b]
    return flow


def test_the_flow_brings_its_tab_and_every_node_is_on_it():
    flow = readme_flow()
    (tab,) = [node for node in flow if node["type"] == "tab"]
    for node in flow:
        if node["type"] in ("tab", "mqtt-broker"):  # config nodes belong to no tab
            continue
        assert node["z"] == tab["id"], node["id"]


def test_the_function_code_shown_is_the_code_in_the_flow():
    (function,) = [node for node in readme_flow() if node["type"] == "function"]
    (shown,) = _code_blocks("js")
    assert function["func"] == shown.rstrip("\n")


def pointed_at(flow: list[dict[str, Any]], broker: Broker) -> list[dict[str, Any]]:
    """The flow after "set the broker node's address", as the README asks."""
    flow = copy.deepcopy(flow)
    for node in flow:
        if node["type"] == "mqtt-broker":
            node.update(broker="127.0.0.1", port=str(broker.port))
    return flow


@pytest.fixture(scope="module")
def red_js():
    return ensure_installed()


@pytest.fixture
def node_red(red_js) -> Iterator[NodeRed]:
    instance = NodeRed(red_js)
    yield instance
    instance.close()


def poll(probe: Probe) -> None:
    probe.clear()
    probe.publish(f"{BASE}/bridge/request/poll", json.dumps({"vehicle": "egolf"}))
    probe.wait_topic(f"{BASE}/bridge/response/poll")


def logged_results(node_red: NodeRed, count: int, timeout: float = 20.0) -> list[str]:
    """The results the flow's debug node printed to Node-RED's log, as printed there
    (Node-RED's inspection of the object: ``{ attribute: 'charging', status: 'ok' }``)."""
    node_red.wait_log("[debug:result]", timeout, count)
    blocks = node_red.log().split("[debug:result]")[1:]
    return [" ".join(block.split("\n}", 1)[0].split()) + " }" for block in blocks]


def test_the_flow_charges_once_when_the_level_crosses_below_50(
    node_red: NodeRed, broker: Broker, make_config, run_bridge, probe: Probe, sim: SimControl
):
    run_bridge(make_config())
    probe.wait_for(lambda m: m.topic == f"{BASE}/egolf/battery_level" and m.text == "80")
    probe.wait_for(lambda m: m.topic == f"{BASE}/egolf/charging" and m.text == "OFF")
    sim.clear_requests()

    node_red.deploy(pointed_at(readme_flow(), broker))
    deployed = node_red.flows()
    assert any(node["type"] == "tab" for node in deployed)
    node_red.wait_log("Connected to broker")

    # Above 50 %: nothing. Then the reading that crosses below: one command.
    poll(probe)
    sim.patch_vehicle(EV_VIN, battery_level=45)
    poll(probe)
    probe.wait_for(lambda m: m.topic == f"{BASE}/egolf/battery_level" and m.text == "45")
    command = probe.wait_for(lambda m: m.topic == f"{BASE}/egolf/set", 20)[0]
    assert json.loads(command.text) == {"charging": True, "transaction": "node-red"}
    assert not command.retain

    (result,) = logged_results(node_red, 1)
    for field in ("attribute: 'charging'", "status: 'ok'", "transaction: 'node-red'"):
        assert field in result, result
    assert sim.vehicles()[EV_VIN]["charging"] is True
    assert len(sim.requests(CHARGE_PATH, method="PATCH")) == 1
    probe.wait_for(lambda m: m.topic == f"{BASE}/egolf/charging" and m.text == "ON")

    # More low readings while charging, even one that dips again: no second command.
    for level in (44, 51, 46):
        sim.patch_vehicle(EV_VIN, battery_level=level)
        poll(probe)
        probe.wait_for(
            lambda m, level=level: m.topic == f"{BASE}/egolf/battery_level"
            and m.text == str(level)
        )
    # The last reading went through the flow before a marker the flow also receives.
    probe.publish(f"{BASE}/egolf/result", json.dumps({"marker": True}))
    assert "marker: true" in logged_results(node_red, 2)[1]
    probe.settle(quiet=1.0)  # a command the flow sent would be on its way by now
    assert not [m for m in probe.messages if m.topic == f"{BASE}/egolf/set"]
    assert len(sim.requests(CHARGE_PATH, method="PATCH")) == 1


def test_a_deploy_while_low_and_charging_sends_nothing(
    node_red: NodeRed, broker: Broker, probe: Probe
):
    # The bridge's retained state as a deploy or a Node-RED restart finds it: the level
    # already below 50 % and the car charging. Node-RED's context starts empty, and the
    # battery node's retained reading may arrive before the charging state.
    probe.publish(f"{BASE}/egolf/battery_level", "45", retain=True)
    probe.publish(f"{BASE}/egolf/charging", "ON", retain=True)

    node_red.deploy(pointed_at(readme_flow(), broker))
    node_red.wait_log("Connected to broker")
    # Markers until the flow has subscribed: the retained readings reached it before.
    for attempt in range(50):
        probe.publish(f"{BASE}/egolf/result", json.dumps({"marker": attempt}))
        try:
            node_red.wait_log("[debug:result]", timeout=0.2)
            break
        except AssertionError:
            continue
    else:
        raise AssertionError(f"the flow never subscribed; log:\n{node_red.log()}")
    probe.settle(quiet=1.0)  # a command the flow sent would be on its way by now
    assert not [m for m in probe.messages if m.topic == f"{BASE}/egolf/set"]
