"""Which entities a vehicle gets, and how Home Assistant shows them: pure functions, then
the bridge against the simulator and a real mosquitto."""

from __future__ import annotations

import json

from carnet.catalog.model import ApiState, Encoding
from carnet.catalog.support import read_only
from carnet.catalog.table import ENTITIES, entity
from carnet.mqtt.discovery import DeviceInfo, component_configs, supported
from carnet.vendor.carnet_app.vehicles import CAPABILITIES
from tests.conftest import DEMO_EMAIL, EV_VIN, GAS_VIN, SimControl
from tests.support.failures import retained_snapshot
from tests.support.reports import parse_state
from tests.test_state import example

BASE = "carnet2mqtt"
EV = DeviceInfo(vin=EV_VIN, name="egolf", charge_currents=CAPABILITIES.charge_currents)
EV_NODE = f"carnet2mqtt_{EV_VIN.lower()}"
GAS_NODE = f"carnet2mqtt_{GAS_VIN.lower()}"


def test_connection_words_are_not_reserved_by_home_assistant() -> None:
    words = {state.value for state in ApiState}
    assert words == {"ok", "vendor_down", "rate_limited", "login_refused", "error"}
    assert not words & {"unavailable", "unknown", "none", ""}


def test_read_only_counterparts() -> None:
    state = parse_state(example()).with_value("poll_interval", 600)
    writable = {item.key: item.component for item in supported(state)}
    readable = {item.key: item for item in supported(state, commands=False)}
    assert writable["lock"] == "lock" and writable["charging"] == "switch"
    assert readable["lock"].component == "binary_sensor"
    assert readable["lock"].device_class == "lock"
    assert readable["charging"].component == "binary_sensor"
    assert readable["climate_target_temperature"].component == "sensor"
    # nothing to press or to set on the vendor; the bridge's own poll interval stays
    for gone in ("horn_lights", "horn", "lights", "refresh", "climate_control"):
        assert gone not in readable
    assert readable["poll_interval"].component == "number"
    assert all(item.command is None for key, item in readable.items() if key != "poll_interval")
    assert read_only(entity("max_charge_current")) is None  # only the bridge's own commands
    assert read_only(entity("battery_level")) is entity("battery_level")


def test_numeric_sensors_suggest_a_display_precision() -> None:
    for topic, payload in component_configs(EV, parse_state(example()), _topics()):
        key = topic.split("/")[-2]
        item = next((i for i in ENTITIES if i.key == key), None)
        numeric = item is not None and item.component == "sensor" and (
            item.encoding is Encoding.NUMBER
        )
        assert ("suggested_display_precision" in payload) == numeric, key


def _topics():
    from carnet.mqtt.topics import Topics

    return Topics(BASE)


# --- against the simulator and a real mosquitto ------------------------------------------


def wait_discovered(probe, topic: str) -> dict:
    return json.loads(probe.wait_for(lambda m: m.topic == topic and m.payload, 20)[-1].payload)


def test_combustion_car_has_no_climate_on_battery(make_config, run_bridge, probe, broker):
    # Not about the budget: under the default one the second car's start-up climate read
    # waits for a quiet minute, leaving the minute to the owner's commands.
    run_bridge(make_config(commands={"max_per_minute": 60}))
    # the climate details are read: the climate switch is announced, climate on battery not
    wait_discovered(probe, f"homeassistant/switch/{GAS_NODE}/climate/config")
    wait_discovered(probe, f"homeassistant/switch/{EV_NODE}/unplugged_climate/config")
    probe.settle(quiet=0.5)
    snapshot = retained_snapshot(broker)
    assert f"homeassistant/switch/{GAS_NODE}/unplugged_climate/config" not in snapshot
    assert f"{BASE}/jetta/unplugged_climate" not in snapshot
    assert f"{BASE}/egolf/unplugged_climate" in snapshot


def test_read_only_account_gets_read_only_entities(
    make_config, run_bridge, probe, broker, generation
):
    account = {"email": DEMO_EMAIL, "password": "demo",  # no PIN: read-only
               "vehicles": {EV_VIN: {"name": "egolf"}, GAS_VIN: {"name": "jetta"}}}
    run_bridge(make_config(accounts=[account]))
    lock = wait_discovered(probe, f"homeassistant/binary_sensor/{EV_NODE}/lock/config")
    assert lock["device_class"] == "lock" and "command_topic" not in lock
    charging = wait_discovered(probe, f"homeassistant/binary_sensor/{EV_NODE}/charging/config")
    assert "command_topic" not in charging
    probe.settle(quiet=0.5)
    snapshot = retained_snapshot(broker)
    configs = {t: json.loads(m.payload) for t, m in snapshot.items()
               if t.startswith("homeassistant/")}
    writable = [t for t, c in configs.items() if "command_topic" in c]
    assert all(t.endswith("/poll_interval/config") for t in writable), writable
    assert not any(t.startswith("homeassistant/button/") for t in configs)
    assert f"homeassistant/select/{EV_NODE}/max_charge_current/config" not in configs
    assert snapshot[f"{BASE}/egolf/lock"].text == "LOCKED"


def test_charge_current_shows_what_the_bridge_set_across_a_restart(
    make_config, run_bridge, probe, broker, sim: SimControl
):
    config = make_config()
    first = run_bridge(config)
    select = wait_discovered(probe, f"homeassistant/select/{EV_NODE}/max_charge_current/config")
    assert select["json_attributes_topic"] == f"{BASE}/egolf/max_charge_current/attributes"
    probe.wait_for(lambda m: m.topic == f"{BASE}/egolf/availability" and m.text == "online", 15)
    snapshot = retained_snapshot(broker)
    assert snapshot[f"{BASE}/egolf/max_charge_current"].text == "max"  # the car's default
    assumed = json.loads(snapshot[f"{BASE}/egolf/max_charge_current/attributes"].text)
    assert assumed["assumed"] is True and "default" in assumed["set_by"]

    probe.publish(f"{BASE}/egolf/max_charge_current/set", "10")
    result = probe.wait_for(lambda m: m.topic == f"{BASE}/egolf/result", 15)[-1]
    assert json.loads(result.payload)["status"] == "ok"
    assert probe.wait_for(lambda m: m.topic == f"{BASE}/egolf/max_charge_current"
                          and m.text == "10", 10)
    details = json.loads(probe.wait_for(
        lambda m: m.topic == f"{BASE}/egolf/max_charge_current/attributes"
        and "this bridge" in m.text, 10)[-1].payload)
    assert details["assumed"] is True and details["set_at"]
    assert sim.vehicles()[EV_VIN]["max_charge_current"] == 10

    first.stop()
    probe.clear()
    run_bridge(config)  # same state_dir
    probe.wait_for(lambda m: m.topic == f"{BASE}/egolf/availability" and m.text == "online", 15)
    probe.settle(quiet=0.5)
    assert retained_snapshot(broker)[f"{BASE}/egolf/max_charge_current"].text == "10"


def test_losing_the_pin_swaps_writable_configs_for_read_only_ones(
    make_config, run_bridge, probe, broker, generation
):
    """A run with a PIN leaves a lock and switches on the broker; a run without clears them."""
    first = run_bridge(make_config())
    wait_discovered(probe, f"homeassistant/lock/{EV_NODE}/lock/config")
    wait_discovered(probe, f"homeassistant/button/{EV_NODE}/horn/config")
    first.stop()
    account = {"email": DEMO_EMAIL, "password": "demo",
               "vehicles": {EV_VIN: {"name": "egolf"}, GAS_VIN: {"name": "jetta"}}}
    run_bridge(make_config(accounts=[account]))
    wait_discovered(probe, f"homeassistant/binary_sensor/{EV_NODE}/lock/config")
    probe.wait_for(lambda m: m.topic == f"homeassistant/lock/{EV_NODE}/lock/config"
                   and not m.payload, 20)
    probe.settle(quiet=0.5)
    configs = [t for t in retained_snapshot(broker) if t.startswith("homeassistant/")]
    assert f"homeassistant/lock/{EV_NODE}/lock/config" not in configs
    assert not [t for t in configs if t.startswith(("homeassistant/button/",
                                                    "homeassistant/switch/"))]


def test_assumed_values_survive_a_restart_and_a_broken_file(tmp_path, caplog) -> None:
    from carnet.runtime.assumed import AssumedStore

    store = AssumedStore(tmp_path)
    assert store.values(EV_VIN)[0] == {"max_charge_current": "max"}
    note = store.remember(EV_VIN, "max_charge_current", 13)
    assert note["assumed"] is True and note["set_by"] == "this bridge"
    values, notes = AssumedStore(tmp_path).values(EV_VIN)
    assert values == {"max_charge_current": 13}
    assert notes["max_charge_current"]["set_at"] == note["set_at"]
    assert AssumedStore(tmp_path).values(GAS_VIN)[0] == {"max_charge_current": "max"}
    (tmp_path / "assumed.json").write_text("{not json")
    assert AssumedStore(tmp_path).values(EV_VIN)[0] == {"max_charge_current": "max"}
    assert "unreadable" in caplog.text
