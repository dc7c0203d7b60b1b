"""The catalog entries only the myVW generation reports, and the capabilities that change
what a vehicle's commands accept: parsing, payloads and discovery."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from carnet.catalog.commands import Command, Rejection, parse_set
from carnet.catalog.encoding import encode
from carnet.catalog.state import VehicleState
from carnet.catalog.table import CHARGING_STATES, entity
from carnet.mqtt.discovery import DeviceInfo, component_configs
from carnet.mqtt.topics import Topics
from carnet.vendor.protocol import NumberRange
from tests.test_catalog import MYVW_ONLY, MYVW_UNITS

TOPICS = Topics("carnet2mqtt")
WORDS = ("max", "reduced")  # a myVW vehicle's charge currents
HALF_DEGREES = {"°C": NumberRange(15.5, 30, 0.5), "°F": NumberRange(59, 86)}
DEVICE = DeviceInfo(vin="WVGZZZE2ZMP000003", name="id4", charge_currents=WORDS)


def myvw_state(**values: Any) -> VehicleState:
    units = {**MYVW_UNITS, "climate_target_temperature": "°C"}
    return VehicleState({**MYVW_ONLY, **values}, units)


def parse(attribute: str, payload: str, **options: Any) -> Command | Rejection:
    return parse_set("id4", attribute, payload, **options)


def value(attribute: str, payload: str, **options: Any) -> Any:
    result = parse(attribute, payload, **options)
    assert isinstance(result, Command), result
    return result.value


def refusal(attribute: str, payload: str, **options: Any) -> str:
    result = parse(attribute, payload, **options)
    assert isinstance(result, Rejection), result
    return result.detail


# ------------------------------------------------------------------ target_soc


@pytest.mark.parametrize(("payload", "expected"), [("50", 50), ("80", 80), ("100", 100),
                                                   ("70.0", 70)])
def test_target_soc_takes_tens_from_50_to_100(payload: str, expected: int) -> None:
    assert value("target_soc", payload) == expected


@pytest.mark.parametrize(("payload", "problem"), [
    ("40", "40 is outside 50..100 %"),
    ("110", "110 is outside 50..100 %"),
    ("55", "55 is not in steps of 10 from 50"),
    ("72.5", "'72.5' is not a whole number"),
    ("full", "'full' is not a number"),
])
def test_target_soc_refusals_say_what_is_accepted(payload: str, problem: str) -> None:
    assert refusal("target_soc", payload) == (
        f"{problem}; accepted: a whole number of percent: 50..100 in steps of 10"
    )


def test_target_soc_and_window_heating_show_and_confirm_the_value() -> None:
    for key, sent in (("target_soc", 80), ("window_heating", True)):
        spec = entity(key).command
        assert spec is not None
        assert spec.pending(sent) == sent and spec.confirmed(sent) == sent
    assert value("window_heating", "ON") is True
    assert value("window_heating", "off") is False


class _Intents:
    """Records the intent a command's sender calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def set_target_soc(self, vehicle: Any, percent: int) -> None:
        self.calls.append(("set_target_soc", percent))

    def set_window_heating(self, vehicle: Any, active: bool) -> None:
        self.calls.append(("set_window_heating", active))


def test_target_soc_and_window_heating_call_their_intents() -> None:
    client = _Intents()
    for key, sent in (("target_soc", 90), ("window_heating", False)):
        spec = entity(key).command
        assert spec is not None and spec.send is not None
        spec.send(client, "car", sent, myvw_state())  # type: ignore[arg-type]
    assert client.calls == [("set_target_soc", 90), ("set_window_heating", False)]


# ---------------------------------------------------------- max_charge_current


def test_word_charge_currents_accept_exactly_those_words() -> None:
    assert value("max_charge_current", "Reduced", charge_currents=WORDS) == "reduced"
    assert value("max_charge_current", "max", charge_currents=WORDS) == "max"
    for payload in ("16", "low"):
        assert refusal("max_charge_current", payload, charge_currents=WORDS) == (
            f"{payload!r} is not max or reduced; accepted: exactly max or reduced"
        )


def test_amps_still_map_down_when_the_currents_are_numeric() -> None:
    assert value("max_charge_current", "12", charge_currents=("5", "10", "13", "max")) == 10


# ------------------------------------------------------------- climate targets


def test_climate_targets_of_the_vehicle_replace_the_catalogs() -> None:
    state = myvw_state()
    options = {"state": state, "climate_targets": HALF_DEGREES}
    assert value("climate_target_temperature", "21.5", **options) == 21.5
    assert value("climate_target_temperature", "30", **options) == 30
    assert refusal("climate_target_temperature", "21.25", **options) == (
        "21.25 is not in steps of 0.5 from 15.5; accepted: a number: 15.5..30 in steps "
        "of 0.5 in °C accounts, 59..86 in °F accounts"
    )
    # Without them the catalog's whole degrees, 16..29 °C, apply.
    assert refusal("climate_target_temperature", "30", state=state).startswith(
        "30 is outside 16..29 °C; accepted: a whole number: 60..85 in °F accounts, "
        "16..29 in °C accounts"
    )


def test_climate_targets_set_the_discovered_bounds() -> None:
    state = myvw_state(climate=False, climate_target_temperature=21.5)
    device = dataclasses.replace(DEVICE, climate_targets=HALF_DEGREES)
    configs = {topic.split("/")[-2]: payload
               for topic, payload in component_configs(device, state, TOPICS)}
    number = configs["climate_target_temperature"]
    assert (number["min"], number["max"], number["step"]) == (15.5, 30, 0.5)
    climate = configs["climate_control"]
    assert (climate["min_temp"], climate["max_temp"], climate["temp_step"],
            climate["precision"]) == (15.5, 30, 0.5, 0.5)
    plain = {topic.split("/")[-2]: payload
             for topic, payload in component_configs(DEVICE, state, TOPICS)}
    assert (plain["climate_target_temperature"]["min"],
            plain["climate_target_temperature"]["max"]) == (16, 29)


# ------------------------------------------------------------------ discovery


def _configs(state: VehicleState) -> dict[str, tuple[str, dict[str, Any]]]:
    return {topic.split("/")[-2]: (topic.split("/")[1], payload)
            for topic, payload in component_configs(DEVICE, state, TOPICS)}


def test_myvw_entities_are_discovered_with_their_classes_and_units() -> None:
    configs = _configs(myvw_state())
    expected = {
        "charge_power": ("sensor", "power", "kW"),
        "charge_rate": ("sensor", "speed", "km/h"),
        "climate_remaining": ("sensor", "duration", "min"),
        "charge_remaining_minutes": ("sensor", "duration", "min"),
        "target_soc": ("number", "battery", "%"),
    }
    for key, (component, device_class, unit) in expected.items():
        found, payload = configs[key]
        assert (found, payload["device_class"], payload["unit_of_measurement"]) == (
            component, device_class, unit
        ), key
    assert configs["charge_power"][1]["suggested_display_precision"] == 1
    soc = configs["target_soc"][1]
    assert (soc["min"], soc["max"], soc["step"]) == (50, 100, 10)
    assert soc["command_topic"] == "carnet2mqtt/id4/target_soc/set"
    component, heating = configs["window_heating"]
    assert component == "switch"
    assert heating["command_topic"] == "carnet2mqtt/id4/window_heating/set"


def test_charging_state_offers_exactly_the_states() -> None:
    assert CHARGING_STATES == ("off", "ready", "not_ready", "conservation", "complete",
                               "charging", "discharging", "error", "unsupported")
    _, payload = _configs(myvw_state())["charging_state"]
    assert payload["device_class"] == "enum"
    assert payload["options"] == list(CHARGING_STATES)


def test_plug_lock_is_off_in_home_assistant_when_the_plug_is_locked() -> None:
    item = entity("plug_lock")
    assert encode(item, True) == "LOCKED" and encode(item, False) == "UNLOCKED"
    component, payload = _configs(myvw_state())["plug_lock"]
    assert component == "binary_sensor" and payload["device_class"] == "lock"
    # Home Assistant's lock class is on when unlocked.
    assert (payload["payload_on"], payload["payload_off"]) == ("UNLOCKED", "LOCKED")


def test_a_vehicle_without_a_value_gets_no_entity() -> None:
    configs = _configs(VehicleState({"battery_level": 80}, {}))
    assert not set(MYVW_ONLY) & set(configs)
