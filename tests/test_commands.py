"""/set payload validation: what is accepted, what is rejected, and that nothing raises."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carnet.catalog.commands import (
    MAX_JSON_BYTES,
    MAX_PLAIN_BYTES,
    Command,
    Rejection,
    parse_set,
    parse_vehicle_set,
)
from carnet.catalog.state import VehicleState
from carnet.catalog.table import ENTITIES, entity
from carnet.vendor.carnet_app.readings import RawVehicleData
from carnet.vendor.carnet_app.vehicles import CAPABILITIES
from tests.support.reports import parse_state
from tests.test_state import CLIMATE, example

FAHRENHEIT = parse_state(example())
CELSIUS = parse_state(RawVehicleData(climate=dict(CLIMATE, target_temperature=21)))
CURRENTS = CAPABILITIES.charge_currents  # a Car-Net vehicle's, as dispatch passes them


def parse(attribute: str, payload: bytes | str, **options: Any) -> Command | Rejection:
    return parse_set("egolf", attribute, payload, **{"charge_currents": CURRENTS, **options})


def value(attribute: str, payload: bytes | str, **options: Any) -> Any:
    result = parse(attribute, payload, **options)
    assert isinstance(result, Command), result
    assert result.vehicle == "egolf" and result.attribute == attribute
    return result.value


def rejected(attribute: str, payload: bytes | str, **options: Any) -> Rejection:
    result = parse(attribute, payload, **options)
    assert isinstance(result, Rejection), result
    assert result.attribute == attribute
    return result


@pytest.mark.parametrize("attribute", ["charging", "defrost", "unplugged_climate", "climate"])
@pytest.mark.parametrize(
    ("payload", "expected"),
    [("ON", True), ("on", True), ("true", True), ("True", True), ("1", True), (" ON\n", True),
     ('"ON"', True), ("OFF", False), ("off", False), ("false", False), ("0", False)],
)
def test_switches(attribute: str, payload: str, expected: bool) -> None:
    assert value(attribute, payload) is expected


@pytest.mark.parametrize("payload", ["yes", "2", "", "ONN", "{}", "null"])
def test_switch_rejections_say_what_is_accepted(payload: str) -> None:
    detail = rejected("charging", payload).detail
    assert "ON, OFF, true, false, 1, 0" in detail


def test_climate_entity_modes() -> None:
    assert value("climate", "heat_cool") is True
    assert value("climate", "off") is False
    rejected("climate", "cool")
    rejected("charging", "heat_cool")


@pytest.mark.parametrize(
    ("payload", "state", "expected"),
    [("72", FAHRENHEIT, 72), ("72.0", FAHRENHEIT, 72), ("60", FAHRENHEIT, 60),
     ("85", FAHRENHEIT, 85), ("21", CELSIUS, 21), ("16", CELSIUS, 16), ("29", CELSIUS, 29),
     ("70", None, 70), ("20", None, 20)],
)
def test_target_temperature(payload: str, state: VehicleState | None, expected: int) -> None:
    assert value("climate_target_temperature", payload, state=state) == expected


@pytest.mark.parametrize(
    ("payload", "state"),
    [("59", FAHRENHEIT), ("86", FAHRENHEIT), ("21", FAHRENHEIT), ("72", CELSIUS),
     ("15", CELSIUS), ("72.5", FAHRENHEIT), ("warm", FAHRENHEIT), ("nan", FAHRENHEIT),
     ("1e3", FAHRENHEIT), ("35", None)],
)
def test_target_temperature_rejected(payload: str, state: VehicleState | None) -> None:
    detail = rejected("climate_target_temperature", payload, state=state).detail
    assert "accepted: a whole number: 60..85 in °F accounts, 16..29 in °C accounts" in detail


def test_poll_interval() -> None:
    assert value("poll_interval", "60") == 60
    assert value("poll_interval", "86400") == 86400
    assert "60..86400" in rejected("poll_interval", "59").detail
    rejected("poll_interval", "86401")
    rejected("poll_interval", "5 min")


@pytest.mark.parametrize(
    ("payload", "expected"),
    [("5", 5), ("10", 10), ("13", 13), ("max", "max"), ("MAX", "max"), ("16", 13), ("32", 13),
     ("7", 5), ("12", 10), ("13.9", 13), ("5.0", 5)],
)
def test_max_charge_current(payload: str, expected: Any) -> None:
    assert value("max_charge_current", payload) == expected


@pytest.mark.parametrize("payload", ["4", "0", "-10", "4.9", "fast", ""])
def test_max_charge_current_rejected(payload: str) -> None:
    assert "5, 10, 13, max" in rejected("max_charge_current", payload).detail


@pytest.mark.parametrize(
    ("payload", "expected"),
    [("LOCK", "LOCK"), ("lock", "LOCK"), ("UNLOCK", "UNLOCK"), ("unlock", "UNLOCK"),
     ('{"state":"UNLOCK","code":""}', "UNLOCK"), ('{"state":"LOCK"}', "LOCK")],
)
def test_lock_without_code(payload: str, expected: str) -> None:
    assert value("lock", payload) == expected


def test_lock_with_code() -> None:
    code = {"unlock_code": "4711"}
    assert value("lock", '{"state":"UNLOCK","code":"4711"}', **code) == "UNLOCK"
    assert value("lock", '{"state":"UNLOCK","code":4711}', **code) == "UNLOCK"
    assert value("lock", "LOCK", **code) == "LOCK"  # locking needs no code
    assert value("lock", '{"state":"LOCK","code":""}', **code) == "LOCK"
    for payload in ("UNLOCK", '{"state":"UNLOCK","code":"0000"}', '{"state":"UNLOCK"}',
                    '{"state":"UNLOCK","code":"4711 "}'):
        result = rejected("lock", payload, **code)
        assert "code" in result.detail
        assert "4711" not in result.detail and "4711" not in result.raw
        assert "0000" not in result.raw


def test_command_raw_never_carries_the_code() -> None:
    result = parse_set("egolf", "lock", '{"state":"UNLOCK","code":"4711"}', unlock_code="4711")
    assert isinstance(result, Command)
    assert "4711" not in result.raw


def test_unlock_disabled() -> None:
    assert value("lock", "LOCK", unlock_enabled=False) == "LOCK"
    detail = rejected("lock", '{"state":"UNLOCK","code":"4711"}', unlock_enabled=False,
                      unlock_code="4711").detail
    assert "disabled" in detail and "4711" not in detail


@pytest.mark.parametrize(
    ("payload", "expected"),
    [("PRESS", "BOTH"), ("press", "BOTH"), ("BOTH", "BOTH"), ("HORN", "HORN"),
     ("lights", "LIGHTS")],
)
def test_horn_lights(payload: str, expected: str) -> None:
    assert value("horn_lights", payload) == expected


def test_refresh() -> None:
    assert value("refresh", "PRESS") == "PRESS"
    assert "PRESS" in rejected("refresh", "now").detail


def test_unknown_and_read_only_attributes() -> None:
    unknown = rejected("warp_drive", "ON")
    assert "unknown attribute" in unknown.detail and "charging" in unknown.detail
    read_only = rejected("battery_level", "50")
    assert "read-only" in read_only.detail and "lock" in read_only.detail
    horn = rejected("horn", "PRESS")
    assert "HORN" in horn.detail and "horn_lights" in horn.detail


def test_framing_rejections() -> None:
    assert "UTF-8" in rejected("charging", b"\xff\xfe").detail
    assert "too large" in rejected("charging", b"O" * (MAX_PLAIN_BYTES + 1)).detail
    assert "retained" in rejected("charging", "ON", retained=True).detail


def test_metadata_is_carried() -> None:
    result = parse_set("egolf", "charging", "ON", received=12.5, response_topic="reply/here",
                       correlation_data=b"\x01")
    assert isinstance(result, Command)
    assert (result.received, result.response_topic, result.correlation_data) == (
        12.5, "reply/here", b"\x01")
    assert result.raw == "ON"
    rejection = parse_set("egolf", "charging", "maybe", response_topic="reply/here")
    assert isinstance(rejection, Rejection)
    assert rejection.response_topic == "reply/here" and rejection.vehicle == "egolf"
    assert rejection.result() == {
        "attribute": "charging", "value": "maybe", "status": "rejected",
        "detail": rejection.detail, "transaction": None,
    }


def test_vehicle_set_object() -> None:
    payload = json.dumps({"charging": True, "climate_target_temperature": 72, "defrost": "OFF",
                          "max_charge_current": 16, "transaction": "t-1"})
    results = parse_vehicle_set("egolf", payload, state=FAHRENHEIT, charge_currents=CURRENTS)
    assert [(r.attribute, r.value) for r in results] == [  # type: ignore[union-attr]
        ("charging", True), ("climate_target_temperature", 72), ("defrost", False),
        ("max_charge_current", 13),
    ]
    assert all(isinstance(r, Command) and r.transaction == "t-1" for r in results)


def test_vehicle_set_force() -> None:
    forced = parse_vehicle_set("egolf", '{"charging": true, "defrost": "ON", "force": true}')
    assert [(r.attribute, r.force) for r in forced] == [  # type: ignore[union-attr]
        ("charging", True), ("defrost", True)]
    plain = parse_vehicle_set("egolf", '{"charging": true}')
    assert isinstance(plain[0], Command) and plain[0].force is False
    for bad in ('"yes"', "1", "null"):
        (refused,) = parse_vehicle_set("egolf", f'{{"charging": true, "force": {bad}}}')
        assert isinstance(refused, Rejection) and "true or false" in refused.detail


def test_vehicle_set_mixed_and_lock_code() -> None:
    results = parse_vehicle_set(
        "egolf", '{"lock": "UNLOCK", "code": "4711", "battery_level": 3, "charging": "maybe"}',
        unlock_code="4711",
    )
    assert isinstance(results[0], Command) and results[0].value == "UNLOCK"
    assert "4711" not in results[0].raw
    assert isinstance(results[1], Rejection) and "read-only" in results[1].detail
    assert isinstance(results[2], Rejection) and results[2].attribute == "charging"
    nested = parse_vehicle_set("egolf", '{"lock": {"state": "UNLOCK", "code": "1"}}',
                               unlock_code="4711")
    assert isinstance(nested[0], Rejection) and "1" not in nested[0].raw.replace("***", "")


@pytest.mark.parametrize(
    "payload",
    [b"[1, 2]", b"42", b"not json", b"{}", b'{"transaction": 1}', b"\xff", b"NaN",
     b'{"charging": NaN}', b"[" * 5000, b'{"a":' * 10 + b"1" + b"}" * 10,
     b'{"charging": "' + b"x" * MAX_JSON_BYTES + b'"}'],
)
def test_vehicle_set_rejections(payload: bytes) -> None:
    results = parse_vehicle_set("egolf", payload)
    assert results and all(isinstance(r, Rejection) for r in results)
    assert all(r.detail for r in results)


def test_vehicle_set_retained() -> None:
    results = parse_vehicle_set("egolf", '{"lock": "UNLOCK", "transaction": 7}', retained=True)
    assert len(results) == 1 and isinstance(results[0], Rejection)
    assert results[0].transaction == 7 and "retained" in results[0].detail


# --- never raises ------------------------------------------------------------------------

ATTRIBUTES = st.sampled_from([item.key for item in ENTITIES] + ["", "unknown", "set"])
OPTIONS = st.fixed_dictionaries({
    "state": st.sampled_from([None, FAHRENHEIT, CELSIUS, VehicleState({}, {})]),
    "unlock_enabled": st.booleans(),
    "unlock_code": st.sampled_from([None, "4711", "pass word"]),
    "retained": st.booleans(),
})
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(attribute=ATTRIBUTES, payload=st.binary(max_size=2000) | st.text().map(str.encode),
       options=OPTIONS)
def test_parse_set_never_raises(attribute: str, payload: bytes, options: dict) -> None:
    result = parse_set("egolf", attribute, payload, **options)
    assert isinstance(result, Command | Rejection)
    invalid = (len(payload) > MAX_PLAIN_BYTES or options["retained"]
               or entity_or_none(attribute) is None)
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        invalid = True
    if invalid:
        assert isinstance(result, Rejection) and result.detail


@settings(max_examples=300, deadline=None)
@given(document=JSON, options=OPTIONS)
def test_parse_vehicle_set_never_raises(document: Any, options: dict) -> None:
    results = parse_vehicle_set("egolf", json.dumps(document).encode(), **options)
    assert results
    assert all(isinstance(r, Command | Rejection) for r in results)
    if not isinstance(document, dict) or options["retained"]:
        assert len(results) == 1 and isinstance(results[0], Rejection)


@settings(max_examples=200, deadline=None)
@given(attribute=st.sampled_from(["charging", "defrost", "climate", "unplugged_climate"]),
       text=st.text(max_size=20))
def test_switches_accept_exactly_their_words(attribute: str, text: str) -> None:
    result = parse_set("egolf", attribute, text.encode())
    words = {"on", "off", "true", "false", "1", "0"} | ({"heat_cool"} if attribute == "climate"
                                                        else set())
    word = text.strip()
    if len(word) >= 2 and word[0] == word[-1] == '"':
        return  # a JSON string literal: judged by its content
    assert isinstance(result, Command) == (word.lower() in words)


@settings(max_examples=200, deadline=None)
@given(amps=st.integers(min_value=-100, max_value=1000))
def test_amps_map_down(amps: int) -> None:
    result = parse("max_charge_current", str(amps).encode())
    if amps < 5:
        assert isinstance(result, Rejection)
    else:
        assert isinstance(result, Command)
        assert result.value == max(v for v in (5, 10, 13) if v <= amps)


def entity_or_none(key: str) -> Any:
    try:
        item = entity(key)
    except KeyError:
        return None
    return item if item.command is not None else None
