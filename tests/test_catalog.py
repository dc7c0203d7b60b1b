"""Tests over the whole entity catalog, its payload encodings and the commands it sends."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from carnet.catalog.encoding import encode, json_value
from carnet.catalog.model import Encoding, Entity, InvalidPayload, ParseContext
from carnet.catalog.specs import CHARGE_CURRENT_COMMAND
from carnet.catalog.state import VehicleState
from carnet.catalog.support import is_supported
from carnet.catalog.table import ENTITIES, entity
from carnet.mqtt.discovery import DeviceInfo, component_configs, unique_id
from carnet.mqtt.events import FAMILIES
from carnet.mqtt.topics import Topics
from carnet.vendor.carnet_app.readings import HEALTH_CODES, READINGS, RawVehicleData, reads_climate
from carnet.vendor.carnet_app.vehicles import CAPABILITIES
from carnet.vendor.protocol import Part
from scripts import topic_table
from tests.support.reports import parse_state
from tests.test_state import example

ROOT = Path(__file__).resolve().parent.parent
COMPONENTS = {"sensor", "binary_sensor", "lock", "switch", "select", "number", "button",
              "device_tracker", "climate"}
# Units Home Assistant accepts for a sensor/number device class (a unit is then required).
UNITS = {
    "battery": {"%"},
    "distance": {"km", "mi"},
    "duration": {"s", "min", "h", "d"},
    "temperature": {"°C", "°F"},
    "power": {"W", "kW"},
    "speed": {"km/h", "mph"},
}
UNITLESS = {"timestamp", "enum", "door", "window", "plug", "lock", "battery_charging"}
# Keys Home Assistant requires (or that this bridge always sets) per component.
REQUIRED = {
    "sensor": {"state_topic"},
    "binary_sensor": {"state_topic", "payload_on", "payload_off"},
    "lock": {"state_topic", "command_topic", "payload_lock", "payload_unlock", "state_locked",
             "state_unlocked", "state_locking", "state_unlocking"},
    "switch": {"state_topic", "command_topic", "payload_on", "payload_off"},
    "select": {"state_topic", "command_topic", "options"},
    "number": {"state_topic", "command_topic", "min", "max", "step", "mode"},
    "button": {"command_topic", "payload_press"},
    "device_tracker": {"json_attributes_topic", "source_type"},
    "climate": {"modes", "mode_state_topic", "mode_command_topic", "temperature_state_topic",
                "temperature_command_topic", "temperature_unit", "min_temp", "max_temp"},
    "event": {"state_topic", "event_types"},
}
COMMON = {"name", "unique_id", "default_entity_id", "availability", "availability_mode",
          "device", "origin"}


# What only the myVW generation reports, with values of the types its report carries.
MYVW_ONLY = {
    "charge_power": 7.2, "charge_rate": 40, "charging_state": "charging", "target_soc": 80,
    "plug_lock": True, "climate_remaining": 15, "window_heating": False,
    "charge_remaining_minutes": 95,
}
MYVW_UNITS = {"charge_rate": "km/h"}  # units the myVW report gives


def full_state() -> VehicleState:
    """Every entity present: the example, plus what only a combustion car, the myVW
    generation or the bridge has."""
    state = parse_state(example())
    bridge_side = (
        ("fuel_level", 64), ("max_charge_current", 13), ("poll_interval", 600), ("api_state", "ok"),
        ("commands_waiting", 0), *MYVW_ONLY.items(),
    )
    for key, value in bridge_side:
        state = state.with_value(key, value)
    return dataclasses.replace(state, units={**state.units, **MYVW_UNITS})


def test_keys_are_unique_and_topic_safe() -> None:
    keys = [item.key for item in ENTITIES]
    assert len(keys) == len(set(keys))
    assert all(key.replace("_", "").isalnum() and key.islower() for key in keys)
    device = DeviceInfo(vin="WVWZZZAUZGW000001", name="egolf")
    assert len({unique_id(device, item) for item in ENTITIES}) == len(ENTITIES)


def test_spec_minimum_is_covered() -> None:
    keys = {item.key for item in ENTITIES}
    minimum = {
        "lock", "door_front_left", "door_front_right", "door_rear_left", "door_rear_right",
        "trunk", "hood", "window_front_left", "window_front_right", "window_rear_left",
        "window_rear_right", "battery_level", "range", "fuel_level", "odometer",
        "plug_connected", "charging", "minutes_to_full_charge", "max_charge_current", "climate",
        "climate_target_temperature", "outdoor_temperature", "defrost", "unplugged_climate",
        "horn_lights", "refresh", "health", "service_due_distance", "service_due_days",
        "location", "last_update", "poll_interval",
    }
    assert minimum <= keys


@pytest.mark.parametrize("item", ENTITIES, ids=lambda item: item.key)
def test_entity_is_consistent(item: Entity) -> None:
    assert item.component in COMPONENTS
    assert item.entity_category in (None, "diagnostic", "config")
    writes_commands = item.component in ("lock", "switch", "select", "number", "button")
    if writes_commands:
        assert item.command is not None or entity(item.writes or "").command is not None
    else:
        assert item.command is None
    if item.component in ("switch", "select", "number", "lock"):
        assert item.command is not None, "a writable entity needs a command"
    if item.command is None and item.writes is None:
        assert item.reported or item.requires, "no state and no command"
    if item.component == "button":
        assert item.payload_press and not item.reported
    if item.device_class in UNITS and item.component in ("sensor", "number"):
        reading = READINGS.get(item.key)
        vendor_unit = (reading is not None and reading.unit is not None) or item.key in MYVW_UNITS
        assert item.unit is not None or vendor_unit, f"{item.device_class} needs a unit"
        if item.unit:
            assert item.unit in UNITS[item.device_class]
    if item.device_class in UNITLESS:
        assert item.unit is None
    if item.device_class == "enum":
        assert item.options


def test_dynamic_units_are_ones_home_assistant_accepts() -> None:
    state = full_state()
    for key, reading in READINGS.items():
        if reading.unit is not None and key in state.units:
            assert state.units[key] in UNITS[entity(key).device_class or ""], key


def test_every_component_payload_has_its_required_keys() -> None:
    device = DeviceInfo(vin="VIN1", name="egolf", charge_currents=CAPABILITIES.charge_currents)
    messages = component_configs(device, full_state(),
                                 Topics("carnet2mqtt"), unlock_code="1234")
    seen = {topic.split("/")[1] for topic, _ in messages}
    assert seen == COMPONENTS | {"event"}
    assert len(messages) == len(ENTITIES) + len(FAMILIES)
    for topic, payload in messages:
        component = topic.split("/")[1]
        missing = (REQUIRED[component] | COMMON) - set(payload)
        assert not missing, f"{topic}: {missing}"
        for key, value in payload.items():
            if key.endswith("_topic"):
                assert "+" not in value and "#" not in value and "//" not in value
        assert "1234" not in json.dumps(payload)


@pytest.mark.parametrize(
    ("key", "value", "plain", "typed"),
    [
        ("battery_level", 87, "87", 87),
        ("battery_level", 87.0, "87", 87),
        ("outdoor_temperature", 21.5, "21.5", 21.5),
        ("charging", True, "ON", "ON"),
        ("defrost", False, "OFF", "OFF"),
        ("lock", "LOCKED", "LOCKED", "LOCKED"),
        ("lock", "UNLOCKING", "UNLOCKING", "UNLOCKING"),
        ("door_front_left", True, "OPEN", "OPEN"),
        ("hood", False, "CLOSED", "CLOSED"),
        ("trunk", "AJAR", "AJAR", "AJAR"),
        ("plug_connected", True, "true", True),
        ("plug_connected", False, "false", False),
        ("max_charge_current", 13, "13", 13),
        ("max_charge_current", "max", "max", "max"),
        ("health", "ok", "ok", "ok"),
        ("location", {"latitude": 1.5, "longitude": -2.25},
         '{"latitude":1.5,"longitude":-2.25}', {"latitude": 1.5, "longitude": -2.25}),
        ("last_update", datetime(2020, 8, 12, 3, 39, 5, tzinfo=UTC),
         "2020-08-12T03:39:05+00:00", "2020-08-12T03:39:05+00:00"),
        ("last_update", datetime(2020, 8, 12, 3, 39, 5, tzinfo=timezone(timedelta(hours=-4))),
         "2020-08-12T03:39:05-04:00", "2020-08-12T03:39:05-04:00"),
    ],
)
def test_encodings(key: str, value: Any, plain: str, typed: Any) -> None:
    assert encode(entity(key), value) == plain
    assert json_value(entity(key), value) == typed


def test_encode_refuses_absent_values() -> None:
    with pytest.raises(ValueError):
        encode(entity("lock"), None)


def test_every_parsed_value_encodes() -> None:
    state = full_state()
    document = {key: json_value(entity(key), value) for key, value in state.values.items()}
    json.dumps(document)
    for key, value in state.values.items():
        assert encode(entity(key), value)


class Recorder:
    """Stands in for CarNetClient: records the method called and its arguments."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> None:
            self.calls.append((name, args, kwargs))
        return call


@pytest.mark.parametrize(
    ("key", "payload", "state_values", "call"),
    [
        ("lock", "LOCK", {}, ("set_lock", ("car", True), {})),
        ("lock", "UNLOCK", {}, ("set_lock", ("car", False), {})),
        ("charging", "ON", {}, ("set_charging", ("car", True), {})),
        ("max_charge_current", "16", {}, ("set_max_charge_current", ("car", 13), {})),
        ("max_charge_current", "max", {}, ("set_max_charge_current", ("car", "max"), {})),
        ("climate", "ON", {"climate_target_temperature": 75},
         ("set_climate", ("car", True, 75), {})),
        ("climate", "OFF", {}, ("set_climate", ("car", False, 72), {})),
        ("climate_target_temperature", "70", {"climate": True},
         ("set_climate", ("car", True, 70), {})),
        ("climate_target_temperature", "70", {"climate": False},
         ("set_climate", ("car", False, 70), {})),
        ("defrost", "1", {}, ("set_defrost", ("car", True), {})),
        ("unplugged_climate", "false", {}, ("set_unplugged_climate", ("car", False), {})),
        ("horn_lights", "PRESS", {}, ("horn_lights", ("car",), {"horn": True, "lights": True})),
        ("horn_lights", "HORN", {}, ("horn_lights", ("car",), {"horn": True, "lights": False})),
        ("horn_lights", "LIGHTS", {}, ("horn_lights", ("car",), {"horn": False, "lights": True})),
    ],
)
def test_commands_send_one_client_call(key: str, payload: str, state_values: dict,
                                       call: tuple) -> None:
    spec = entity(key).command
    assert spec is not None and spec.send is not None
    value = spec.parse(payload, ParseContext(unit="°F",
                                            charge_currents=CAPABILITIES.charge_currents))
    client = Recorder()
    spec.send(client, "car", value, VehicleState(dict(state_values), {}))  # type: ignore[arg-type]
    assert client.calls == [call]


def test_celsius_default_target_when_none_known() -> None:
    spec = entity("climate").command
    assert spec is not None and spec.send is not None
    client = Recorder()
    spec.send(client, "car", True, VehicleState({}, {"outdoor_temperature": "°C"}))  # type: ignore[arg-type]
    assert client.calls == [("set_climate", ("car", True, 22), {})]


@pytest.mark.parametrize(
    ("key", "value", "pending", "confirmed"),
    [
        ("lock", "LOCK", "LOCKING", "LOCKED"),
        ("lock", "UNLOCK", "UNLOCKING", "UNLOCKED"),
        ("charging", True, True, True),
        ("climate", False, False, False),
        ("climate_target_temperature", 70, 70, 70),
        ("max_charge_current", 13, 13, None),
        ("horn_lights", "HORN", None, None),
        ("refresh", "PRESS", None, None),
        ("poll_interval", 300, 300, None),
    ],
)
def test_pending_and_confirmed(key: str, value: Any, pending: Any, confirmed: Any) -> None:
    spec = entity(key).command
    assert spec is not None
    assert spec.pending(value) == pending
    assert spec.confirmed(value) == confirmed


def test_bridge_side_commands_have_no_sender() -> None:
    assert entity("refresh").command.send is None  # type: ignore[union-attr]
    assert entity("poll_interval").command.send is None  # type: ignore[union-attr]


def test_support_is_decided_by_data() -> None:
    empty = parse_state(RawVehicleData())
    assert not is_supported(entity("max_charge_current"), empty.values)
    assert is_supported(entity("max_charge_current"), {"battery_level": 50})
    assert not is_supported(entity("climate_control"), {"climate": True})
    assert is_supported(entity("climate_control"),
                        {"climate": True, "climate_target_temperature": 70})
    assert is_supported(entity("refresh"), {})
    assert not is_supported(entity("lock"), {})


def test_topic_table_lists_every_attribute() -> None:
    table = topic_table.table()
    for item in ENTITIES:
        if item.writes is None:
            assert f"| `{item.key}` |" in table
    assert "`<base>/<vehicle>/lock`" in table


def test_topic_table_render_and_check(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{topic_table.START}\nold\n{topic_table.END}\n\nrest\n")
    assert topic_table.main(["--check", "--readme", str(readme)]) == 1
    assert topic_table.main(["--write", "--readme", str(readme)]) == 0
    assert topic_table.main(["--check", "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith("# x\n") and text.endswith("\n\nrest\n")
    assert topic_table.table() in text
    with pytest.raises(ValueError):
        topic_table.render("no markers here")


def test_readme_table_is_current() -> None:
    """README.md's generated block matches the catalog (when the README has the block)."""
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.exists() else ""
    if topic_table.START in text:
        result = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "topic_table.py"), "--check"],
            capture_output=True, text=True, check=False,
        )
        assert result.returncode == 0, result.stderr
    else:
        assert topic_table.render(f"{topic_table.START}{topic_table.END}").count("|") > 0


def test_encoding_enum_is_exhaustive_for_payloads() -> None:
    used = {item.encoding for item in ENTITIES}
    assert used == set(Encoding)


def test_parse_context_does_not_show_the_unlock_code() -> None:
    context = ParseContext(unit="°F", unlock_code="735190264")
    assert "735190264" not in repr(context) and "735190264" not in str(context)
    assert context.unlock_code == "735190264"


def test_charge_current_options_are_the_vehicles_currents_and_max() -> None:
    select = entity("max_charge_current")
    context = ParseContext(charge_currents=CAPABILITIES.charge_currents)
    options = select.options_for(context.charge_currents)
    assert options == ("5", "10", "13", "max") and not select.options
    for option in options:
        parsed = CHARGE_CURRENT_COMMAND.parse(option, context)
        assert parsed == (int(option) if option.isdigit() else option)
        assert option in CHARGE_CURRENT_COMMAND.accepted(context)


def test_charge_currents_follow_the_vehicle() -> None:
    context = ParseContext(charge_currents=("6", "16", "32", "max"))
    assert CHARGE_CURRENT_COMMAND.parse("20", context) == 16
    assert CHARGE_CURRENT_COMMAND.parse("max", context) == "max"
    assert CHARGE_CURRENT_COMMAND.accepted(context) == (
        "6, 16, 32, max, or amps (mapped down to 6, 16 or 32)"
    )
    with pytest.raises(InvalidPayload, match="below the lowest setting, 6 A"):
        CHARGE_CURRENT_COMMAND.parse("5", context)


def test_every_car_net_reading_is_a_reported_catalog_entity() -> None:
    for key, reading in READINGS.items():
        assert entity(key).reported, key
        assert entity(key).has_details == (reading.details is not None), key
    assert {item.key for item in ENTITIES if item.reported} == set(READINGS) | set(MYVW_ONLY)


def test_health_states_are_the_car_net_codes_names() -> None:
    assert entity("health").options == tuple(HEALTH_CODES.values())


def test_car_net_capabilities_match_the_catalog() -> None:
    currents = CAPABILITIES.charge_currents
    assert entity("max_charge_current").options_for(currents) == currents
    for key, part in CAPABILITIES.confirmed_by.items():
        assert part is Part.CLIMATE and entity(key).reported, key
        assert reads_climate(key, example()), key
    assert {item.key for item in ENTITIES if item.reported and reads_climate(item.key, example())
            } == set(CAPABILITIES.confirmed_by)
