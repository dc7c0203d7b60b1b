"""Home Assistant discovery payloads built from the catalog."""

from __future__ import annotations

import copy
import json
import re

import pytest

from carnet import __version__
from carnet.catalog.state import VehicleState
from carnet.catalog.table import ENTITIES, entity
from carnet.mqtt.discovery import (
    DeviceInfo,
    code_format,
    component_configs,
    configs,
    device_config,
    entity_payload,
    possible_topics,
    removal,
)
from carnet.mqtt.events import FAMILIES
from carnet.mqtt.topics import Topics
from carnet.vendor.carnet_app.readings import RawVehicleData
from carnet.vendor.carnet_app.vehicles import CAPABILITIES
from tests.support.reports import parse_state
from tests.test_state import CLIMATE, GAS_STATUS, example

TOPICS = Topics("carnet2mqtt")
EV = DeviceInfo(vin="WVWZZZAUZGW000001", name="egolf", display_name="egolf", model="e-Golf",
                model_year="2016", charge_currents=CAPABILITIES.charge_currents)
GAS = DeviceInfo(vin="3VWZZZ1KZLM000002", name="jetta", model="Jetta", model_year="2020")


def has(payload: dict, expected: dict) -> bool:
    """Whether ``payload`` holds every key of ``expected`` with the same value."""
    return {key: payload.get(key) for key in expected} == expected


def by_key(messages: list[tuple[str, dict]]) -> dict[str, dict]:
    return {topic.split("/")[-2]: payload for topic, payload in messages}


def test_component_mode_topics_and_common_keys() -> None:
    messages = component_configs(EV, parse_state(example()), TOPICS)
    topics = [topic for topic, _ in messages]
    assert "homeassistant/lock/carnet2mqtt_wvwzzzauzgw000001/lock/config" in topics
    assert "homeassistant/sensor/carnet2mqtt_wvwzzzauzgw000001/range/config" in topics
    assert len(set(topics)) == len(topics)
    for topic, payload in messages:
        json.dumps(payload)  # serialisable
        bridge = {"topic": "carnet2mqtt/bridge/state", "value_template": "{{ value_json.state }}"}
        # A command can fail while the car is offline: its events need only the bridge.
        if payload["unique_id"].endswith("_command_events"):
            assert payload["availability"] == [bridge]
        else:
            assert payload["availability"] == [bridge, {"topic": "carnet2mqtt/egolf/availability"}]
        assert payload["availability_mode"] == "all"
        assert payload["device"] == {
            "identifiers": ["WVWZZZAUZGW000001"],
            "manufacturer": "Volkswagen",
            "name": "egolf",
            "serial_number": "WVWZZZAUZGW000001",
            "model": "e-Golf",
            "hw_version": "2016",
        }
        assert payload["origin"]["name"] == "carnet2mqtt"
        assert payload["origin"]["sw_version"] == __version__
        assert payload["unique_id"].startswith("carnet2mqtt_wvwzzzauzgw000001_")
        component = topic.split("/")[1]
        assert re.fullmatch(rf"{component}\.egolf_[a-z0-9_]+", payload["default_entity_id"])
        # object_id names the entity on Home Assistant before 2025.10 (which ignores
        # default_entity_id); later versions do not warn when both are given.
        assert f"{component}.{payload['object_id']}" == payload["default_entity_id"]


def test_only_reported_attributes_are_discovered() -> None:
    ev = by_key(component_configs(EV, parse_state(example()), TOPICS))
    gas = by_key(component_configs(GAS, parse_state(RawVehicleData(copy.deepcopy(GAS_STATUS))),
                                   TOPICS))
    assert "fuel_level" not in ev and "fuel_level" in gas
    assert "battery_level" in ev and "battery_level" not in gas
    assert "max_charge_current" in ev and "max_charge_current" not in gas
    assert "charging" in ev and "charging" not in gas
    # no climate details read yet: neither the switch nor the climate entity
    assert "climate" not in gas and "climate_control" not in gas
    for always in ("horn_lights", "horn", "lights", "refresh", "poll_interval"):
        assert always in ev and always in gas


def test_sensor_payloads() -> None:
    configs_ = by_key(component_configs(EV, parse_state(example()), TOPICS))
    assert has(configs_["battery_level"], {
        "state_topic": "carnet2mqtt/egolf/battery_level", "device_class": "battery",
        "state_class": "measurement", "unit_of_measurement": "%",
    })
    assert configs_["range"]["unit_of_measurement"] == "km"
    assert configs_["odometer"]["state_class"] == "total_increasing"
    assert configs_["minutes_to_full_charge"]["device_class"] == "duration"
    assert configs_["minutes_to_full_charge"]["unit_of_measurement"] == "min"
    assert configs_["outdoor_temperature"]["unit_of_measurement"] == "°F"
    assert configs_["last_update"]["device_class"] == "timestamp"
    assert configs_["last_update"]["entity_category"] == "diagnostic"
    assert "unit_of_measurement" not in configs_["last_update"]
    health = configs_["health"]
    assert health["device_class"] == "enum"
    assert health["options"] == ["stop", "repair", "service", "ok", "info"]
    assert health["json_attributes_topic"] == "carnet2mqtt/egolf/health/attributes"


def test_unknown_enum_value_joins_the_options() -> None:
    raw = example()
    raw.health["overallPriorityCode"] = "F"
    health = by_key(component_configs(EV, parse_state(raw), TOPICS))["health"]
    assert health["options"][-1] == "F"


def test_binary_sensor_payloads() -> None:
    configs_ = by_key(component_configs(EV, parse_state(example()), TOPICS))
    assert has(configs_["door_front_left"], {
        "device_class": "door", "payload_on": "OPEN", "payload_off": "CLOSED",
        "state_topic": "carnet2mqtt/egolf/door_front_left",
    })
    assert configs_["window_rear_right"]["device_class"] == "window"
    assert has(configs_["plug_connected"], {
        "device_class": "plug", "payload_on": "true", "payload_off": "false",
    })
    assert has(configs_["door_lock_front_left"], {
        "device_class": "lock", "payload_on": "UNLOCKED", "payload_off": "LOCKED",
    })


def test_lock_without_and_with_code() -> None:
    state = parse_state(example())
    plain = entity_payload(entity("lock"), EV, state, TOPICS)
    assert has(plain, {
        "state_topic": "carnet2mqtt/egolf/lock",
        "command_topic": "carnet2mqtt/egolf/lock/set",
        "payload_lock": "LOCK", "payload_unlock": "UNLOCK",
        "state_locked": "LOCKED", "state_unlocked": "UNLOCKED",
        "state_locking": "LOCKING", "state_unlocking": "UNLOCKING",
    })
    assert "code_format" not in plain and "command_template" not in plain
    coded = entity_payload(entity("lock"), EV, state, TOPICS, unlock_code="4711")
    assert coded["code_format"] == "^\\d{4}$"
    assert coded["command_template"] == '{"state":"{{ value }}","code":{{ code | tojson }}}'
    assert "4711" not in json.dumps(coded)
    worded = entity_payload(entity("lock"), EV, state, TOPICS, unlock_code="open sesame")
    assert worded["code_format"] == "^.+$"
    assert "sesame" not in json.dumps(worded)


@pytest.mark.parametrize(
    "code", ["4711", 'say "open"', "back\\slash", "tab\there", "ünï", "</script>"]
)
def test_lock_command_template_renders_valid_json_for_any_code(code: str) -> None:
    """Rendered as Home Assistant renders it: ``tojson`` is a JSON encoding of the code."""
    state = parse_state(example())
    template = entity_payload(entity("lock"), EV, state, TOPICS, unlock_code=code)[
        "command_template"
    ]
    rendered = template.replace("{{ value }}", "UNLOCK").replace(
        "{{ code | tojson }}", json.dumps(code)
    )
    assert json.loads(rendered) == {"state": "UNLOCK", "code": code}


@pytest.mark.parametrize("code", ["0000", "123456", "x", "pass word"])
def test_code_format_matches_the_code_shape(code: str) -> None:
    assert re.fullmatch(code_format(code), code)
    assert code not in code_format(code)


def test_switch_select_number_button() -> None:
    configs_ = by_key(component_configs(EV, parse_state(example()), TOPICS))
    assert has(configs_["charging"], {
        "state_topic": "carnet2mqtt/egolf/charging",
        "command_topic": "carnet2mqtt/egolf/charging/set",
        "payload_on": "ON", "payload_off": "OFF",
    })
    assert configs_["unplugged_climate"]["entity_category"] == "config"
    assert has(configs_["max_charge_current"], {
        "options": ["5", "10", "13", "max"],
        "command_topic": "carnet2mqtt/egolf/max_charge_current/set",
    })
    target = configs_["climate_target_temperature"]
    assert has(target, {"min": 60, "max": 85, "step": 1, "unit_of_measurement": "°F",
                           "device_class": "temperature"})
    assert target["mode"] in ("box", "slider")
    poll = configs_["poll_interval"]
    assert has(poll, {"min": 60, "max": 86400, "entity_category": "config",
                         "unit_of_measurement": "s", "mode": "box"})
    presses = {key: (configs_[key]["command_topic"], configs_[key]["payload_press"])
               for key in ("horn_lights", "horn", "lights")}
    assert presses == {
        "horn_lights": ("carnet2mqtt/egolf/horn_lights/set", "BOTH"),
        "horn": ("carnet2mqtt/egolf/horn_lights/set", "HORN"),
        "lights": ("carnet2mqtt/egolf/horn_lights/set", "LIGHTS"),
    }
    assert configs_["refresh"]["payload_press"] == "PRESS"
    assert "state_topic" not in configs_["refresh"]


def test_device_tracker() -> None:
    tracker = by_key(component_configs(EV, parse_state(example()), TOPICS))["location"]
    assert tracker["json_attributes_topic"] == "carnet2mqtt/egolf/location"
    assert tracker["source_type"] == "gps"
    assert tracker["default_entity_id"] == "device_tracker.egolf_location"


def test_climate_entity_fahrenheit_and_celsius() -> None:
    climate = by_key(component_configs(EV, parse_state(example()), TOPICS))["climate_control"]
    assert has(climate, {
        "modes": ["off", "heat_cool"],
        "mode_state_topic": "carnet2mqtt/egolf/climate",
        "mode_command_topic": "carnet2mqtt/egolf/climate/set",
        "temperature_state_topic": "carnet2mqtt/egolf/climate_target_temperature",
        "temperature_command_topic": "carnet2mqtt/egolf/climate_target_temperature/set",
        "current_temperature_topic": "carnet2mqtt/egolf/outdoor_temperature",
        "temperature_unit": "F", "min_temp": 60, "max_temp": 85,
    })
    assert "heat_cool" in climate["mode_state_template"]
    celsius = parse_state(RawVehicleData(climate=dict(CLIMATE, target_temperature=21,
                                                      outdoor_temperature="NOTAVAILABLE")))
    climate_c = by_key(component_configs(EV, celsius, TOPICS))["climate_control"]
    assert has(climate_c, {"temperature_unit": "C", "min_temp": 16, "max_temp": 29})
    assert "current_temperature_topic" not in climate_c


def test_device_mode() -> None:
    state = parse_state(example())
    topic, payload = device_config(EV, state, TOPICS, unlock_code="1234")
    assert topic == "homeassistant/device/carnet2mqtt_wvwzzzauzgw000001/config"
    assert payload["dev"]["identifiers"] == ["WVWZZZAUZGW000001"]
    assert payload["o"]["name"] == "carnet2mqtt"
    messages = component_configs(EV, state, TOPICS, unlock_code="1234")
    per_entity = by_key(messages)
    platforms = {topic.split("/")[-2]: topic.split("/")[1] for topic, _ in messages}
    assert set(payload["cmps"]) == set(per_entity)
    for key, component in payload["cmps"].items():
        expected = {k: v for k, v in per_entity[key].items() if k not in ("device", "origin")}
        assert component == {"p": platforms[key], **expected}
    assert configs(EV, state, TOPICS, mode="device") == [device_config(EV, state, TOPICS)]


def test_device_mode_removes_single_components() -> None:
    state = parse_state(RawVehicleData(copy.deepcopy(GAS_STATUS)))
    _, payload = device_config(GAS, state, TOPICS, removed=[entity("battery_level")])
    assert payload["cmps"]["battery_level"] == {"p": "sensor"}


def test_removal() -> None:
    gone = removal(EV, TOPICS, [entity("fuel_level"), entity("lock")])
    assert gone == [
        ("homeassistant/sensor/carnet2mqtt_wvwzzzauzgw000001/fuel_level/config", ""),
        ("homeassistant/lock/carnet2mqtt_wvwzzzauzgw000001/lock/config", ""),
    ]
    everything = removal(EV, TOPICS)
    # every entity, its read-only counterpart, every event entity
    assert sorted(t for t, _ in everything) == sorted(possible_topics(EV, TOPICS))
    assert len(everything) > len(ENTITIES) + len(FAMILIES)
    node = "carnet2mqtt_wvwzzzauzgw000001"
    assert ("homeassistant/binary_sensor/" + node + "/lock/config", "") in everything
    assert all(payload == "" for _, payload in everything)
    assert removal(EV, TOPICS, mode="device") == [
        ("homeassistant/device/carnet2mqtt_wvwzzzauzgw000001/config", "")
    ]
    with pytest.raises(ValueError):
        configs(EV, parse_state(example()), TOPICS, mode="nonsense")


def test_default_entity_id_is_a_valid_entity_id() -> None:
    odd = DeviceInfo(vin="WVW1", name="my-e-golf_")
    for topic, payload in component_configs(odd, parse_state(example()), TOPICS):
        domain, object_id = payload["default_entity_id"].split(".")
        assert domain == topic.split("/")[1]
        assert re.fullmatch(r"(?!_)(?!.*__)[a-z0-9_]+(?<!_)", object_id), object_id


def test_api_state_stays_available_while_the_vehicle_is_offline() -> None:
    device = DeviceInfo(vin="VIN1", name="egolf")
    state = VehicleState({"api_state": "vendor_down", "lock": "LOCKED"}, {})
    topics = Topics("carnet2mqtt")
    api = entity_payload(entity("api_state"), device, state, topics)
    assert [a["topic"] for a in api["availability"]] == ["carnet2mqtt/bridge/state"]
    assert api["options"][0] == "ok" and api["entity_category"] == "diagnostic"
    lock = entity_payload(entity("lock"), device, state, topics)
    assert [a["topic"] for a in lock["availability"]] == [
        "carnet2mqtt/bridge/state",
        "carnet2mqtt/egolf/availability",
    ]
