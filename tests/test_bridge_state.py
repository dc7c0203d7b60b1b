"""The daemon against the simulator and a real mosquitto: state, availability, discovery."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from carnet.core.errors import (
    AuthError,
    BadRequest,
    CarNetError,
    CommandRefused,
    LoginChanged,
    PinRefused,
    RateLimited,
    VendorUnavailable,
    WakeupsUsedUp,
)
from carnet.runtime.poller import api_state_for
from carnet.simulator.options import DEMO_EMAIL
from tests.conftest import EV_VIN, GAS_VIN, SimControl
from tests.support.failures import retained_snapshot
from tests.support.mqtt_probe import Probe, Received

BASE = "carnet2mqtt"

EGOLF_STATE = {
    "lock": "LOCKED",
    "battery_level": "80",
    "range": None,  # present, value from the simulator
    "plug_connected": "true",
    "charging": "OFF",
    "minutes_to_full_charge": "0",
    "climate": "OFF",
    "climate_target_temperature": "72",
    "defrost": "OFF",
    "unplugged_climate": "OFF",
    "door_front_left": "CLOSED",
    "trunk": "CLOSED",
    "hood": "CLOSED",
    "window_front_left": "CLOSED",
    "health": "ok",
    "poll_interval": "600",
}


# Not about the budget: both cars' start-up climate reads go at once. Under the default
# budget the second waits for a quiet minute, leaving the minute to the owner's commands.
UNTHROTTLED = {"max_per_minute": 60}

def wait_online(probe: Probe, *vehicles: str, timeout: float = 15.0) -> None:
    for vehicle in vehicles:
        probe.wait_for(
            lambda m, v=vehicle: m.topic == f"{BASE}/{v}/availability" and m.text == "online",
            timeout,
        )


def is_announced(m: Received) -> bool:
    """A discovery config (the first announcement also clears configs with empty ones)."""
    return m.topic.startswith("homeassistant/") and bool(m.payload)


def vehicle_topics(snapshot: dict[str, Received], vehicle: str) -> dict[str, str]:
    prefix = f"{BASE}/{vehicle}/"
    return {t[len(prefix) :]: m.text for t, m in snapshot.items() if t.startswith(prefix)}


def test_publishes_retained_state_of_both_vehicles(make_config, run_bridge, probe, broker, sim):
    run_bridge(make_config(commands=UNTHROTTLED))
    wait_online(probe, "egolf", "jetta")
    probe.wait_for(is_announced, count=60)
    # The climate details come in a read of their own, after the status.
    for vehicle in ("egolf", "jetta"):
        probe.wait_topic(f"{BASE}/{vehicle}/climate")
    snapshot = retained_snapshot(broker)

    assert json.loads(snapshot[f"{BASE}/bridge/state"].text) == {"state": "online"}
    egolf = vehicle_topics(snapshot, "egolf")
    for key, expected in EGOLF_STATE.items():
        assert key in egolf, f"egolf/{key} not published"
        if expected is not None:
            assert egolf[key] == expected, key
    # An EV reports no fuel; NOTAVAILABLE values are never published.
    assert "fuel_level" not in egolf
    assert not any("NOTAVAILABLE" in v or "UNSUPPORTED" in v for v in egolf.values())
    assert json.loads(egolf["location"]).keys() == {"latitude", "longitude"}
    assert egolf["availability"] == "online"

    jetta = vehicle_topics(snapshot, "jetta")
    assert jetta["fuel_level"] == "62"
    assert "battery_level" not in jetta and "plug_connected" not in jetta
    assert "max_charge_current" not in jetta  # only cars with a battery can be told amps
    assert not any("NOTAVAILABLE" in v or "UNSUPPORTED" in v for v in jetta.values())

    # The JSON topic carries the same values as the attribute topics.
    document = json.loads(snapshot[f"{BASE}/egolf"].text)
    assert document["battery_level"] == 80
    assert document["lock"] == "LOCKED"
    plain_keys = {k for k in egolf if "/" not in k and k != "availability"}
    assert set(document) == plain_keys

    # Nothing else was published under the base topic.
    allowed_roots = {f"{BASE}/bridge", f"{BASE}/egolf", f"{BASE}/jetta"}
    for topic in snapshot:
        if topic.startswith(f"{BASE}/"):
            assert "/".join(topic.split("/")[:2]) in allowed_roots, topic
    info = json.loads(snapshot[f"{BASE}/bridge/info"].text)
    assert {v["name"] for v in info["vehicles"]} == {"egolf", "jetta"}
    assert info["accounts"][0]["email"] == "d***@example.com"
    assert "demo" not in json.dumps(info["config"]).replace("d***", "")


def discovery_configs(snapshot: dict[str, Received]) -> dict[str, dict[str, Any]]:
    return {t: json.loads(m.text) for t, m in snapshot.items() if t.startswith("homeassistant/")}


def test_discovery_configs_are_complete(make_config, run_bridge, probe, broker, generation):
    run_bridge(make_config())
    wait_online(probe, "egolf", "jetta")
    probe.wait_for(is_announced, count=60)
    configs = discovery_configs(retained_snapshot(broker))

    node = f"carnet2mqtt_{EV_VIN.lower()}"
    lock = configs[f"homeassistant/lock/{node}/lock/config"]
    assert lock["command_topic"] == f"{BASE}/egolf/lock/set"
    assert lock["state_topic"] == f"{BASE}/egolf/lock"
    assert lock["availability_mode"] == "all"
    assert {a["topic"] for a in lock["availability"]} == {
        f"{BASE}/bridge/state",
        f"{BASE}/egolf/availability",
    }
    assert lock["device"]["identifiers"] and lock["device"]["manufacturer"] == "Volkswagen"
    assert lock["origin"]["name"] == "carnet2mqtt"
    assert "code_format" not in lock  # no unlock code configured

    unique_ids = [c["unique_id"] for c in configs.values()]
    assert len(unique_ids) == len(set(unique_ids))
    for topic, config in configs.items():
        assert config["default_entity_id"], topic
        component = topic.split("/")[1]
        if component not in ("button", "device_tracker", "climate"):
            assert config["state_topic"].startswith(f"{BASE}/"), topic
    # No fuel entity for the EV, no battery entity for the combustion car.
    assert f"homeassistant/sensor/{node}/fuel_level/config" not in configs
    gas = f"carnet2mqtt_{GAS_VIN.lower()}"
    assert f"homeassistant/sensor/{gas}/battery_level/config" not in configs
    assert f"homeassistant/sensor/{gas}/fuel_level/config" in configs


def test_only_changed_values_are_republished(
    make_config, run_bridge, probe, sim: SimControl, generation
):
    run_bridge(make_config())
    wait_online(probe, "egolf", "jetta")
    probe.settle()
    sim.patch_vehicle(EV_VIN, doors={"frontLeft": "OPEN"})
    probe.clear()
    probe.publish(f"{BASE}/bridge/request/poll", json.dumps({"vehicle": "egolf", "transaction": 7}))
    response = json.loads(probe.wait_topic(f"{BASE}/bridge/response/poll").text)
    assert response["status"] == "ok" and response["transaction"] == 7
    published = {m.topic for m in probe.messages} - {
        f"{BASE}/bridge/request/poll",
        f"{BASE}/bridge/response/poll",
    }
    assert published == {
        f"{BASE}/egolf/door_front_left",
        f"{BASE}/egolf",
        f"{BASE}/egolf/last_update",
        f"{BASE}/egolf/event",  # the door opened
    }
    assert probe.latest()[f"{BASE}/egolf/door_front_left"].text == "OPEN"
    assert json.loads(probe.latest()[f"{BASE}/egolf/event"].text) == {
        "event_type": "door_opened", "door": "door_front_left"
    }


def test_nothing_is_republished_when_nothing_changed(make_config, run_bridge, probe, generation):
    run_bridge(make_config())
    wait_online(probe, "egolf", "jetta")
    probe.settle()
    probe.clear()
    probe.publish(f"{BASE}/bridge/request/poll", "{}")
    probe.wait_topic(f"{BASE}/bridge/response/poll")
    assert {m.topic for m in probe.messages} == {
        f"{BASE}/bridge/request/poll",
        f"{BASE}/bridge/response/poll",
    }


@pytest.mark.slow(6)
def test_broker_restart_republishes_everything(make_config, run_bridge, probe, broker):
    run_bridge(make_config())
    wait_online(probe, "egolf", "jetta")
    probe.wait_for(is_announced, count=60)
    before = retained_snapshot(broker)
    probe.close()
    broker.restart()  # no persistence: the broker forgets every retained message

    fresh = Probe(broker.port, client_id="after-restart")
    try:
        wait_online(fresh, "egolf", "jetta", timeout=30)
        fresh.wait_for(
            is_announced,
            count=len(discovery_configs(before)),
            timeout=30,
        )
        fresh.wait_for(lambda m: m.topic == f"{BASE}/jetta/window_rear_right", timeout=30)
    finally:
        fresh.close()
    after = retained_snapshot(broker)
    assert set(after) >= set(before) - {"test/marker"}
    assert json.loads(after[f"{BASE}/bridge/state"].text) == {"state": "online"}


def test_home_assistant_online_resends_discovery(make_config, run_bridge, probe):
    def is_config(m: Received) -> bool:
        return is_announced(m) and m.topic.endswith("/config")

    run_bridge(make_config())
    wait_online(probe, "egolf", "jetta")
    probe.wait_for(is_config, count=60)
    probe.settle()  # every first announcement is in
    count = len({m.topic for m in probe.messages if is_config(m)})
    probe.clear()
    probe.publish("homeassistant/status", "online")
    again = probe.wait_for(lambda m: is_config(m) and bool(m.payload), count=count)
    assert len({m.topic for m in again}) == count


@pytest.mark.parametrize(
    ("output", "attribute_topics", "json_topic"),
    [("json", False, True), ("attribute", True, False), ("attribute_and_json", True, True)],
)
def test_output_modes(make_config, run_bridge, probe, broker, output, attribute_topics, json_topic):
    run_bridge(make_config(mqtt={"output": output, "discovery": {"enabled": False}}))
    wait_online(probe, "egolf", "jetta")
    probe.wait_for(lambda m: m.topic == f"{BASE}/bridge/info")
    snapshot = retained_snapshot(broker)
    assert (f"{BASE}/egolf/battery_level" in snapshot) is attribute_topics
    assert (f"{BASE}/egolf" in snapshot) is json_topic
    assert not any(t.startswith("homeassistant/") for t in snapshot)


def test_disabled_vehicle_is_not_polled_and_its_discovery_is_cleared(
    make_config, run_bridge, probe, sim: SimControl
):
    config = make_config(
        accounts=[
            {
                "email": "demo@example.com",
                "password": "demo",
                "pin": "1234",
                "vehicles": {EV_VIN: {"name": "egolf"}, GAS_VIN: {"enabled": False}},
            }
        ]
    )
    run_bridge(config)
    wait_online(probe, "egolf")
    gas = f"carnet2mqtt_{GAS_VIN.lower()}"
    cleared = probe.wait_for(
        lambda m: m.topic == f"homeassistant/sensor/{gas}/fuel_level/config" and not m.payload
    )
    assert cleared
    jetta_id = sim.vehicles()[GAS_VIN]["vehicleId"]
    assert not sim.requests(f"/rvs/v1/vehicle/{jetta_id}")
    assert not any(m.topic.startswith(f"{BASE}/{GAS_VIN.lower()}/") for m in probe.messages)


def test_vehicle_goes_offline_when_the_vendor_fails_and_recovers(
    make_config, run_bridge, probe, sim: SimControl, generation
):
    run_bridge(make_config())
    wait_online(probe, "egolf", "jetta")
    sim.fault(kind="outage", status=503)
    probe.publish(f"{BASE}/bridge/request/poll", json.dumps({"vehicle": "egolf"}))
    probe.wait_for(
        lambda m: m.topic == f"{BASE}/egolf/availability" and m.text == "offline", timeout=20
    )
    # The diagnostic entity says why, and stays available to say it.
    # Not "unavailable", which Home Assistant reserves for an entity that is gone.
    assert probe.wait_topic(f"{BASE}/egolf/api_state").text == "vendor_down"
    details = json.loads(probe.wait_topic(f"{BASE}/egolf/api_state/attributes").text)
    assert "503" in details["error"] or "unavailable" in details["error"].lower()
    sim.clear_faults()
    probe.clear()
    probe.publish(f"{BASE}/bridge/request/poll", json.dumps({"vehicle": "egolf"}))
    probe.wait_for(
        lambda m: m.topic == f"{BASE}/egolf/availability" and m.text == "online", timeout=20
    )
    assert probe.wait_topic(f"{BASE}/egolf/api_state").text == "ok"


@pytest.mark.parametrize(
    ("error", "word"),
    [
        (AuthError("Login step 3 (password) failed", step="authenticate"), "login_refused"),
        (LoginChanged("401 INVALID_REQUEST at the token endpoint"), "login_refused"),
        (RateLimited("HTTP 429", retry_after=30), "rate_limited"),
        (RateLimited("HTTP 429"), "rate_limited"),
        (VendorUnavailable("HTTP 503"), "vendor_down"),
        (BadRequest("HTTP 400"), "error"),
        (CommandRefused("HTTP 403", 403), "error"),
        (PinRefused("PIN refused"), "error"),
        (WakeupsUsedUp("no more wake-ups today"), "error"),
        (CarNetError("an answer that is not JSON"), "error"),
    ],
)
def test_each_failure_has_its_connection_word(error: CarNetError, word: str) -> None:
    assert api_state_for(error) == word
    assert api_state_for(error) != "unavailable"  # Home Assistant's word for a dead entity


def test_api_state_says_rate_limited_on_a_429(
    make_config, run_bridge, probe, sim: SimControl, generation
):
    run_bridge(make_config())
    wait_online(probe, "egolf", "jetta")
    assert probe.wait_topic(f"{BASE}/egolf/api_state").text == "ok"
    egolf_id = sim.vehicles()[EV_VIN]["vehicleId"]
    sim.fault(
        kind="answer", path=f"/rvs/v1/vehicle/{egolf_id}$", method="GET", status=429,
        headers={"Retry-After": "30"},
        body={"error": {"code": "TOO_MANY_REQUESTS", "message": "slow down"}},
    )
    probe.clear()
    probe.publish(f"{BASE}/bridge/request/poll", json.dumps({"vehicle": "egolf"}))
    state = probe.wait_for(lambda m: m.topic == f"{BASE}/egolf/api_state", timeout=20)[-1]
    assert state.text == "rate_limited"
    details = json.loads(probe.wait_topic(f"{BASE}/egolf/api_state/attributes").text)
    assert "429" in details["error"], details


def test_api_state_says_login_refused_on_a_wrong_password(
    make_config, run_bridge, probe, sim: SimControl
):
    run_bridge(make_config())
    wait_online(probe, "egolf", "jetta")
    # The owner changes the password on the vendor's site: the bridge's is now wrong.
    requests.patch(
        f"{sim.url}/_sim/accounts/{DEMO_EMAIL}", json={"password": "changed"}, timeout=5
    ).raise_for_status()
    sim.expire_tokens()
    probe.clear()
    probe.publish(f"{BASE}/bridge/request/poll", json.dumps({"vehicle": "egolf"}))
    for vehicle in ("egolf", "jetta"):
        state = probe.wait_for(
            lambda m, v=vehicle: m.topic == f"{BASE}/{v}/api_state", timeout=20
        )[-1]
        assert state.text == "login_refused", vehicle
        details = json.loads(probe.wait_topic(f"{BASE}/{vehicle}/api_state/attributes").text)
        assert "password" in details["error"], details


def test_a_value_that_disappears_is_cleared_with_its_discovery(
    make_config, run_bridge, probe, broker, sim: SimControl, generation
):
    run_bridge(make_config())
    wait_online(probe, "egolf", "jetta")
    node = f"carnet2mqtt_{EV_VIN.lower()}"
    window_config = f"homeassistant/binary_sensor/{node}/window_front_left/config"
    before = retained_snapshot(broker)
    assert before[f"{BASE}/egolf/window_front_left"].text == "CLOSED"
    assert window_config in before

    sim.patch_vehicle(EV_VIN, windows={"frontLeft": "NOTAVAILABLE"})
    probe.publish(f"{BASE}/bridge/request/poll", json.dumps({"vehicle": "egolf"}))
    probe.wait_topic(f"{BASE}/bridge/response/poll")
    probe.wait_for(lambda m: m.topic == f"{BASE}/egolf/window_front_left" and not m.payload)
    probe.wait_for(lambda m: m.topic == window_config and not m.payload)
    after = retained_snapshot(broker)
    assert f"{BASE}/egolf/window_front_left" not in after
    assert window_config not in after
    assert "window_front_left" not in json.loads(after[f"{BASE}/egolf"].text)
    assert after[f"{BASE}/egolf/window_front_right"].text == "CLOSED"
    assert f"{BASE}/jetta/window_front_left" in after  # the other car keeps its value


def test_discovery_of_entities_that_vanished_while_down_is_cleared_at_first_publish(
    make_config, run_bridge, probe, broker, generation
):
    gas = f"carnet2mqtt_{GAS_VIN.lower()}"
    stale = {
        f"homeassistant/sensor/{gas}/battery_level/config": '{"name": "Battery level"}',
        f"homeassistant/switch/{gas}/charging/config": '{"name": "Charging"}',
    }
    for topic, payload in stale.items():
        probe.client.publish(topic, payload, qos=1, retain=True).wait_for_publish(5)
    assert set(stale) <= set(retained_snapshot(broker))

    run_bridge(make_config(commands=UNTHROTTLED))
    wait_online(probe, "egolf", "jetta")
    for topic in stale:
        probe.wait_for(lambda m, t=topic: m.topic == t and not m.payload)
    snapshot = retained_snapshot(broker)
    assert not set(stale) & set(snapshot)
    assert f"homeassistant/sensor/{gas}/fuel_level/config" in snapshot
