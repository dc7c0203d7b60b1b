"""The README's recipes, as the tools in them really talk MQTT: what evcc and Node-RED
publish reaches the car through the bridge, and what they read is there in the shape
they parse. Against the simulator and a real mosquitto. The evcc recipe is read from the
README and checked against the configuration keys evcc accepts; its getters are
evaluated as evcc's MQTT plugin does (its jq through the jq program)."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from typing import Any

import pytest
import yaml

from tests.conftest import EV_VIN, GAS_VIN, SimControl
from tests.support.mqtt_probe import Probe, Received
from tests.test_readme import _code_blocks

BASE = "carnet2mqtt"
CHARGE_PATH = "/status/charging"
CURRENT_PATH = "/settings/max_charge_current"

# --- what evcc accepts, from its source (github.com/evcc-io/evcc) ------------------------
# evcc decodes with mapstructure, case-insensitively, and refuses keys it does not know.

#: util/config: every configured device is a ``config.Named`` (name, type, the rest).
EVCC_NAMED = {"name", "type"}
#: vehicle/embed.go: the fields every vehicle has.
EVCC_VEHICLE_EMBED = {
    "title", "icon", "capacity", "phases", "identifiers", "features", "onidentify",
}
#: vehicle/vehicle.go (type ``custom``): soc is required, the rest are optional plugins.
EVCC_CUSTOM_VEHICLE = {
    "soc", "limitsoc", "status", "range", "odometer", "climater", "maxcurrent",
    "getmaxcurrent", "finishtime", "wakeup", "chargeenable", "chargedenergy", "position",
}
#: vehicle/vehicle.go: what each plugin of the custom vehicle is read or written as.
EVCC_CUSTOM_VEHICLE_KINDS = {
    "soc": "float", "status": "status", "range": "int", "odometer": "float",
    "climater": "bool", "limitsoc": "int", "chargeenable": "bool setter",
    "maxcurrent": "int setter",
}
#: api/feature.go (master, July 2026): the feature names; api.FeatureString (generated
#: into api/feature_enumer.go) refuses any other with "... does not belong to Feature
#: values". ``WakeUpDisabled`` ("vehicle - do not send wake-up calls") came with evcc
#: pull request 31461 (July 2026); core/ checks ``hasFeature(v, api.WakeUpDisabled)``
#: before every wake-up. The charger's demand forecast names are still changing there;
#: the recipe uses none of them.
EVCC_FEATURES = {
    "coarsecurrent", "integrateddevice", "switchdevice", "heating", "demandweekday",
    "demandtemperature", "continuous", "average", "cacheable", "offline", "retryable",
    "streaming", "welcomecharge", "climaterdisabled", "autodetectdisabled",
    "wakeupdisabled",
}
#: plugin/config.go (``source``) and plugin/mqtt.go: the MQTT plugin's own keys, its
#: client's (plugin/mqtt/client.go ``Config``) and its pipeline's
#: (plugin/pipeline/pipeline.go ``Settings``).
EVCC_MQTT_PLUGIN = {
    "source", "topic", "payload", "retained", "scale", "timeout",
    "broker", "user", "password", "clientid", "insecure", "cacert", "clientcert", "clientkey",
    "allowempty", "quote", "regex", "default", "jq", "unpack", "decode",
}
#: charger/vehicle-api.go.
EVCC_VEHICLE_API_CHARGER = {"geofence_enabled", "lat", "lon", "radius"}
#: core/loadpoint.go: the loadpoint's yaml keys (minCurrent, maxCurrent, phases and
#: guardduration are read only for compatibility and ignored, so not listed).
EVCC_LOADPOINT = {
    "circuit", "charger", "vehicle", "meter", "soc", "enable", "disable", "mode", "title",
    "priority",
}
#: api/chargemode.go.
EVCC_MODES = {"off", "now", "minpv", "pv"}
#: api/globalconfig/types.go: the top-level sections (``All``).
EVCC_TOP_LEVEL = {
    "network", "log", "sponsortoken", "plant", "telemetry", "metrics", "profile", "levels",
    "interval", "database", "mqtt", "modbusproxy", "javascript", "go", "influx", "eebus",
    "hems", "messaging", "meters", "chargers", "vehicles", "tariffs", "site", "loadpoints",
    "circuits",
}
#: api/globalconfig/types.go: the top-level mqtt section (client config plus ``topic``).
EVCC_MQTT_SECTION = {
    "broker", "user", "password", "clientid", "insecure", "cacert", "clientcert", "clientkey",
    "topic",
}
#: Go's strconv.ParseBool, which evcc's bool getter uses (through spf13/cast).
GO_BOOLS = {
    "1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
    "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False,
}
MILE_KM = 1.609344


def evcc_recipe() -> dict[str, Any]:
    (recipe,) = [yaml.safe_load(b) for b in _code_blocks("yaml") if "vehicle-api" in b]
    return recipe


def evcc_vehicle() -> dict[str, Any]:
    (vehicle,) = evcc_recipe()["vehicles"]
    return vehicle


def lowered(mapping: dict[str, Any]) -> set[str]:
    return {str(key).lower() for key in mapping}


def evcc_read(plugin: dict[str, Any], payload: str) -> str:
    """What evcc's MQTT plugin makes of a received payload: its pipeline (``quote``
    then ``jq``, printed as Go's %v prints a scalar), before the getter parses it."""
    text = payload
    expression = plugin.get("jq")
    if expression is not None:
        if plugin.get("quote"):
            text = json.dumps(text)
        jq = shutil.which("jq")
        assert jq, "the evcc recipe's test runs jq (apt-get install jq)"
        done = subprocess.run(
            [jq, "-r", expression], input=text, capture_output=True, text=True, timeout=10
        )
        assert done.returncode == 0, f"jq {expression!r} on {text!r}: {done.stderr}"
        text = done.stdout.strip()
    return text


def evcc_value(name: str, payload: str) -> Any:
    """The value evcc's getter for the vehicle's ``name`` plugin returns for a payload,
    or ValueError where evcc's would fail."""
    plugin = evcc_vehicle()[name]
    text = evcc_read(plugin, payload)
    kind = EVCC_CUSTOM_VEHICLE_KINDS[name]
    if kind == "bool":
        if text not in GO_BOOLS:
            raise ValueError(f"strconv.ParseBool: parsing {text!r}: invalid syntax")
        return GO_BOOLS[text]
    if kind == "status":
        if text not in {"A", "B", "C", "D", "E", "F"}:
            raise ValueError(f"invalid status: {text!r}")
        return text
    number = float(text) * float(plugin.get("scale", 1))
    if not math.isfinite(number):
        raise ValueError(f"invalid float value: {text!r}")
    return int(number) if kind == "int" else number


def evcc_write(probe: Probe, name: str, value: bool | int) -> None:
    """Publish as evcc's MQTT setter does: ``%v`` of the value (``true``, ``16``) when
    the plugin has no payload template, not retained unless the plugin says so."""
    plugin = evcc_vehicle()[name]
    assert "payload" not in plugin
    text = str(value).lower() if isinstance(value, bool) else str(value)
    probe.publish(plugin["topic"], text, retain=bool(plugin.get("retained", False)))


def wait_online(probe: Probe, vehicle: str = "egolf", timeout: float = 15.0) -> None:
    probe.wait_for(
        lambda m: m.topic == f"{BASE}/{vehicle}/availability" and m.text == "online", timeout
    )


def results(probe: Probe, count: int = 1, timeout: float = 15.0) -> list[dict[str, Any]]:
    found = probe.wait_for(lambda m: m.topic == f"{BASE}/egolf/result", timeout, count)
    return [json.loads(m.text) for m in found]


def latest(probe: Probe, attribute: str) -> str:
    return probe.latest()[f"{BASE}/egolf/{attribute}"].text


def evcc_status(probe: Probe) -> str:
    return evcc_value("status", probe.latest()[evcc_vehicle()["status"]["topic"]].text)


# --- evcc: the recipe as evcc reads it ----------------------------------------------------


def test_evcc_recipe_uses_only_keys_evcc_accepts():
    recipe = evcc_recipe()
    assert lowered(recipe) <= EVCC_TOP_LEVEL
    assert lowered(recipe["mqtt"]) <= EVCC_MQTT_SECTION
    vehicle = evcc_vehicle()
    assert vehicle["type"] == "custom"
    assert lowered(vehicle) <= EVCC_NAMED | EVCC_VEHICLE_EMBED | EVCC_CUSTOM_VEHICLE
    assert "soc" in vehicle
    assert {str(f).lower() for f in vehicle["features"]} <= EVCC_FEATURES
    assert "coarsecurrent" in vehicle["features"]
    # No wake-ups: each would be a Car-Net command. Without a ``wakeup`` plugin evcc
    # cannot wake the car itself, and ``wakeupdisabled`` stops its wake-up timer and the
    # wake-ups it tries when a command finds the car asleep.
    assert "wakeup" not in lowered(vehicle)
    assert "wakeupdisabled" in vehicle["features"]
    # vehicle/vehicle.go refuses charge or current control without a status.
    assert "status" in vehicle
    for name in lowered(vehicle) & EVCC_CUSTOM_VEHICLE:
        plugin = vehicle[name]
        assert plugin["source"] == "mqtt", name
        assert lowered(plugin) <= EVCC_MQTT_PLUGIN, name
        assert plugin["topic"].startswith(f"{BASE}/egolf"), name
        assert not plugin.get("retained"), name
    assert vehicle["range"]["scale"] == pytest.approx(MILE_KM)

    (charger,) = recipe["chargers"]
    assert charger["type"] == "vehicle-api"
    assert lowered(charger) <= EVCC_NAMED | EVCC_VEHICLE_API_CHARGER
    (loadpoint,) = recipe["loadpoints"]
    assert lowered(loadpoint) <= EVCC_LOADPOINT
    assert loadpoint["charger"] == charger["name"]
    assert loadpoint["vehicle"] == vehicle["name"]
    assert loadpoint["mode"] in EVCC_MODES


def test_evcc_cannot_parse_on_off_as_a_boolean_without_the_recipe_s_jq():
    plain = {"source": "mqtt", "topic": f"{BASE}/egolf/climate"}
    for payload in ("ON", "OFF"):
        assert evcc_read(plain, payload) not in GO_BOOLS
    assert evcc_value("climater", "ON") is True
    assert evcc_value("climater", "OFF") is False


@pytest.fixture
def bridge(make_config, run_bridge, probe: Probe, sim: SimControl) -> Probe:
    run_bridge(make_config())
    wait_online(probe)
    probe.wait_for(lambda m: m.topic == f"{BASE}/egolf/charging")
    sim.clear_requests()
    return probe


# --- evcc's writes and reads against the bridge -------------------------------------------


def test_evcc_chargeenable_true_and_false_start_and_stop_charging(bridge: Probe, sim: SimControl):
    bridge.clear()
    evcc_write(bridge, "chargeenable", True)
    (first,) = results(bridge)
    assert first["attribute"] == "charging"
    assert first["status"] == "ok", first
    assert sim.vehicles()[EV_VIN]["charging"] is True
    assert len(sim.requests(CHARGE_PATH, method="PATCH")) == 1
    bridge.wait_for(lambda m: m.topic == f"{BASE}/egolf/charging" and m.text == "ON")

    evcc_write(bridge, "chargeenable", False)
    second = results(bridge, count=2)[-1]
    assert second["status"] == "ok", second
    assert sim.vehicles()[EV_VIN]["charging"] is False
    assert len(sim.requests(CHARGE_PATH, method="PATCH")) == 2
    bridge.wait_for(lambda m: m.topic == f"{BASE}/egolf/charging" and m.text == "OFF")


@pytest.mark.parametrize(("amps", "setting"), [(16, 13), (6, 5), (10, 10), (32, 13)])
def test_evcc_maxcurrent_in_whole_amps_maps_down_to_a_car_setting(
    bridge: Probe, sim: SimControl, amps: int, setting: int
):
    bridge.clear()
    evcc_write(bridge, "maxcurrent", amps)
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
    evcc_write(bridge, "maxcurrent", 4)
    (result,) = results(bridge)
    assert result["status"] == "rejected"
    assert "5" in result["detail"]
    assert not sim.commands()


def test_evcc_reads_soc_range_climater_and_status(bridge: Probe, sim: SimControl):
    vehicle = evcc_vehicle()

    def read(name: str) -> Any:
        return evcc_value(name, bridge.wait_topic(vehicle[name]["topic"]).text)

    assert read("soc") == 80.0
    # The range topic carries the car's unit: miles for a US car, scaled to km for evcc.
    jetta_range = f"homeassistant/sensor/carnet2mqtt_{GAS_VIN.lower()}/range/config"
    assert json.loads(bridge.wait_topic(jetta_range).text)["unit_of_measurement"] == "mi"
    jetta_miles = float(bridge.wait_topic(f"{BASE}/jetta/range").text)
    assert evcc_value("range", str(jetta_miles)) == int(jetta_miles * MILE_KM)
    assert read("range") == int(float(latest(bridge, "range")) * MILE_KM)
    assert read("climater") is False
    # status: plugged in, not charging -> B; then charging -> C; unplugged -> A.
    assert evcc_status(bridge) == "B"

    evcc_write(bridge, "chargeenable", True)
    assert results(bridge)[0]["status"] == "ok"

    def charging_document(m: Received) -> bool:
        return m.topic == f"{BASE}/egolf" and json.loads(m.text).get("charging") == "ON"

    bridge.wait_for(charging_document)
    assert evcc_status(bridge) == "C"

    sim.patch_vehicle(EV_VIN, plugged_in=False, charging=False)
    bridge.publish(f"{BASE}/bridge/request/poll", json.dumps({"vehicle": "egolf"}))
    bridge.wait_topic(f"{BASE}/bridge/response/poll")

    def unplugged(m: Received) -> bool:
        return m.topic == f"{BASE}/egolf" and json.loads(m.text).get("plug_connected") is False

    bridge.wait_for(unplugged)
    assert evcc_status(bridge) == "A"


def test_evcc_reads_climate_on(bridge: Probe):
    bridge.publish(f"{BASE}/egolf/climate/set", "ON")
    bridge.wait_for(lambda m: m.topic == f"{BASE}/egolf/climate" and m.text == "ON")
    topic = evcc_vehicle()["climater"]["topic"]
    assert evcc_value("climater", bridge.latest()[topic].text) is True


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
