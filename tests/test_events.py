"""Vehicle events: the rules as pure functions, then the bridge against the simulator."""

from __future__ import annotations

import json
import time

import jinja2  # Home Assistant's template engine

from carnet.mqtt.discovery import DeviceInfo, component_configs, event_payload
from carnet.mqtt.events import (
    COMMAND_FAILED,
    FAMILIES,
    RULES,
    command_failed,
    event_types,
    supported_families,
    transitions,
)
from carnet.mqtt.topics import Topics
from tests.conftest import EV_VIN, GAS_VIN, SimControl
from tests.support.mqtt_probe import Probe, Received
from tests.support.reports import parse_state
from tests.test_state import example

BASE = "carnet2mqtt"
EV = DeviceInfo(vin=EV_VIN, name="egolf")


def types(events: list[dict]) -> list[str]:
    return [event["event_type"] for event in events]


# --- pure rules --------------------------------------------------------------------------


def test_no_events_without_an_earlier_read() -> None:
    assert transitions(None, {"charging": True, "lock": "UNLOCKED", "trunk": True}) == []


def test_a_value_seen_for_the_first_time_is_no_event() -> None:
    # The climate details arrive after the first status: climate None -> ON is no start.
    assert transitions({"lock": "LOCKED"}, {"lock": "LOCKED", "climate": True}) == []


def test_each_transition_gives_its_event() -> None:
    cases = [
        ({"charging": False}, {"charging": True}, ["charging_started"]),
        ({"charging": True, "battery_level": 80}, {"charging": False, "battery_level": 81},
         ["charging_stopped"]),
        ({"charging": True, "battery_level": 99}, {"charging": False, "battery_level": 100},
         ["charging_complete"]),
        ({"plug_connected": False}, {"plug_connected": True}, ["plugged_in"]),
        ({"plug_connected": True}, {"plug_connected": False}, ["unplugged"]),
        ({"lock": "UNLOCKED"}, {"lock": "LOCKED"}, ["locked"]),
        ({"lock": "LOCKED"}, {"lock": "UNLOCKED"}, ["unlocked"]),
        ({"climate": False}, {"climate": True}, ["climate_started"]),
        ({"climate": True}, {"climate": False}, ["climate_stopped"]),
        ({"trunk": True}, {"trunk": False}, []),  # closing is no event
        ({"charging": True}, {"charging": True}, []),
    ]
    for before, after, expected in cases:
        assert types(transitions(before, after)) == expected, (before, after)


def test_door_opened_says_which() -> None:
    before = {"door_front_left": False, "trunk": False, "hood": False}
    after = {"door_front_left": True, "trunk": True, "hood": False}
    assert transitions(before, after) == [
        {"event_type": "door_opened", "door": "door_front_left"},
        {"event_type": "door_opened", "door": "trunk"},
    ]


def test_command_failed_only_for_failures() -> None:
    assert command_failed("lock", "error", "HTTP 500") == {
        "event_type": "command_failed", "attribute": "lock", "status": "error",
        "detail": "HTTP 500",
    }
    for status in ("rejected", "expired", "unconfirmed"):
        assert command_failed("charging", status, "x") is not None
    assert command_failed("lock", "ok", "confirmed") is None
    assert command_failed("lock", "superseded", "replaced") is None


def test_every_event_type_belongs_to_exactly_one_family() -> None:
    listed = [t for family in FAMILIES for t in event_types(family)]
    assert sorted(listed) == sorted({rule.event_type for rule in RULES} | {COMMAND_FAILED})
    assert len(listed) == len(set(listed))
    assert {
        "charging_started", "charging_stopped", "charging_complete", "plugged_in", "unplugged",
        "door_opened", "locked", "unlocked", "climate_started", "climate_stopped",
        "command_failed",
    } == set(listed)


def test_families_follow_the_vehicle_data() -> None:
    assert {f.key for f in supported_families({"lock": "LOCKED"})} == {
        "lock_events", "command_events"
    }
    assert "charging_events" in {f.key for f in supported_families({"charging": False})}


def test_event_entities_are_discovered_with_their_types() -> None:
    topics = Topics(BASE)
    messages = dict(component_configs(EV, parse_state(example()), topics))
    charging = messages[f"homeassistant/event/carnet2mqtt_{EV_VIN.lower()}/charging_events/config"]
    assert charging["state_topic"] == "carnet2mqtt/egolf/event"
    assert charging["event_types"] == ["charging_started", "charging_complete", "charging_stopped"]
    assert charging["default_entity_id"] == "event.egolf_charging_events"
    assert "retain" not in charging


def test_each_event_entity_passes_on_only_its_own_types() -> None:
    """The template Home Assistant renders: another family's event renders empty."""
    family = next(f for f in FAMILIES if f.key == "lock_events")
    template = jinja2.Environment().from_string(
        event_payload(family, EV, Topics(BASE))["value_template"]
    )
    mine = json.dumps({"event_type": "locked"})
    other = json.dumps({"event_type": "charging_started"})
    assert template.render(value=mine, value_json=json.loads(mine)) == mine
    assert template.render(value=other, value_json=json.loads(other)) == ""


# --- against the simulator and a real mosquitto ------------------------------------------


def is_event(vehicle: str):
    return lambda m: m.topic == f"{BASE}/{vehicle}/event"


def poll(probe: Probe, transaction: int) -> None:
    """Read every vehicle now and wait for the bridge's answer."""
    probe.publish(f"{BASE}/bridge/request/poll", json.dumps({"transaction": transaction}))
    probe.wait_for(
        lambda m: m.topic == f"{BASE}/bridge/response/poll"
        and json.loads(m.payload).get("transaction") == transaction,
        timeout=10,
    )


def events_of(probe: Probe, vehicle: str) -> list[Received]:
    return [m for m in probe.messages if is_event(vehicle)(m)]


def test_events_follow_real_changes_and_none_at_start(
    make_config, run_bridge, probe: Probe, sim: SimControl
) -> None:
    bridge = run_bridge(make_config())
    for vehicle in ("egolf", "jetta"):
        probe.wait_for(lambda m, v=vehicle: m.topic == f"{BASE}/{v}/availability"
                       and m.text == "online", 15)
    probe.wait_for(lambda m: m.topic == f"{BASE}/egolf/climate", 15)  # climate details read
    probe.settle(quiet=0.5)
    assert events_of(probe, "egolf") == [] and events_of(probe, "jetta") == []

    sim.patch_vehicle(EV_VIN, plugged_in=False, doors={"trunk": "OPEN"}, locked=False)
    sim.patch_vehicle(GAS_VIN, doors={"frontLeft": "OPEN"})
    poll(probe, 1)
    received = probe.wait_for(is_event("egolf"), count=3)
    payloads = [json.loads(m.payload) for m in received]
    assert {"event_type": "unplugged"} in payloads
    assert {"event_type": "door_opened", "door": "trunk"} in payloads
    assert {"event_type": "unlocked"} in payloads
    assert all(not m.retain for m in received)
    jetta = probe.wait_for(is_event("jetta"))[0]
    assert json.loads(jetta.payload) == {"event_type": "door_opened", "door": "door_front_left"}

    # the same values again: nothing new
    count = len(events_of(probe, "egolf"))
    poll(probe, 2)
    probe.settle(quiet=0.3)
    assert len(events_of(probe, "egolf")) == count

    sim.patch_vehicle(EV_VIN, plugged_in=True)
    poll(probe, 3)
    plugged = probe.wait_for(is_event("egolf"), count=count + 1)[-1]
    assert json.loads(plugged.payload) == {"event_type": "plugged_in"}
    assert bridge.vehicles["egolf"].online


def test_charging_started_and_complete(make_config, run_bridge, probe: Probe, sim) -> None:
    sim.patch_vehicle(EV_VIN, battery_level=99.5)
    run_bridge(make_config())
    probe.wait_for(lambda m: m.topic == f"{BASE}/egolf/availability" and m.text == "online", 15)
    probe.publish(f"{BASE}/egolf/charging/set", "ON")
    started = probe.wait_for(is_event("egolf"), timeout=15)[0]
    assert json.loads(started.payload) == {"event_type": "charging_started"}
    sim.patch_vehicle(EV_VIN, battery_level=100)  # the car stops charging when full
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and len(events_of(probe, "egolf")) < 2:
        poll(probe, int(time.monotonic() * 1000))
    assert json.loads(events_of(probe, "egolf")[1].payload) == {"event_type": "charging_complete"}


def test_a_failed_command_is_an_event(make_config, run_bridge, probe: Probe) -> None:
    run_bridge(make_config())
    probe.wait_for(lambda m: m.topic == f"{BASE}/egolf/availability" and m.text == "online", 15)
    probe.publish(f"{BASE}/egolf/charging/set", "sideways")
    event = json.loads(probe.wait_for(is_event("egolf"))[0].payload)
    assert event["event_type"] == "command_failed"
    assert event["attribute"] == "charging" and event["status"] == "rejected"
    assert "not a switch value" in event["detail"]
    # a command that works is no event
    probe.publish(f"{BASE}/egolf/horn_lights/set", "PRESS")
    probe.wait_for(lambda m: m.topic == f"{BASE}/egolf/result"
                   and json.loads(m.payload)["attribute"] == "horn_lights")
    assert len(events_of(probe, "egolf")) == 1
