"""The configuration loader: the example file, every kind of error, and the summary."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml

from carnet.config import (
    AccountConfig,
    CommandsConfig,
    Config,
    DiscoveryConfig,
    LimitsConfig,
    MqttConfig,
    PollingConfig,
    TlsConfig,
    VehicleConfig,
    VendorConfig,
    load_config,
    mask_email,
    parse_config,
    summary,
)
from carnet.core.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.yaml"
ENV = {"CARNET_PASSWORD": "pw-Sekr1t", "CARNET_PIN": "0123"}


def minimal(**sections: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"accounts": [{"email": "daniel@example.com", "password": "pw"}]}
    data.update(sections)
    return data


def problems_of(data: Any, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, environ or {})
    return caught.value.problems


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ the example


def test_example_loads_with_the_real_defaults() -> None:
    config = load_config(EXAMPLE, ENV)
    assert config.mqtt == MqttConfig()
    assert config.carnet == VendorConfig()
    assert config.polling == PollingConfig()
    assert config.limits == LimitsConfig()
    assert config.commands == CommandsConfig()
    assert config.state_dir == Config.__dataclass_fields__["state_dir"].default
    assert config.log_level == "info"
    (account,) = config.accounts
    assert account.password == "pw-Sekr1t"
    assert account.pin == "0123"
    assert account.temperature_unit == "auto"
    assert account.vehicles == {
        "WVWZZZAUZGW000001": VehicleConfig(name="egolf", poll_interval=300, enabled=True)
    }


def test_example_state_dir_follows_the_environment() -> None:
    config = load_config(EXAMPLE, {**ENV, "CARNET2MQTT_STATE_DIR": "/state"})
    assert config.state_dir == "/state"


def _known_keys(cls: type, prefix: str = "") -> set[str]:
    """Every key path the loader accepts, from the dataclasses themselves."""
    keys: set[str] = set()
    for f in dataclasses.fields(cls):
        path = f"{prefix}{f.name}"
        keys.add(path)
        hint = typing.get_type_hints(cls)[f.name]
        args = typing.get_args(hint)
        if dataclasses.is_dataclass(hint):
            keys |= _known_keys(hint, path + ".")
        elif typing.get_origin(hint) is tuple and dataclasses.is_dataclass(args[0]):
            keys |= _known_keys(args[0], path + "[].")
        elif typing.get_origin(hint) is dict:
            keys |= _known_keys(args[1], path + ".*.")
    return keys


def _example_keys(data: Any, prefix: str = "") -> set[str]:
    keys: set[str] = set()
    if isinstance(data, dict):
        for key, value in data.items():
            level = "*" if prefix.endswith("vehicles.") else str(key)
            path = f"{prefix}{level}"
            if level != "*":
                keys.add(path)
            keys |= _example_keys(value, path + ".")
    elif isinstance(data, list):
        for value in data:
            keys |= _example_keys(value, prefix[:-1] + "[].")
    return keys


def test_every_known_key_is_in_the_example_and_nothing_else() -> None:
    known = _known_keys(Config)
    in_example = _example_keys(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")))
    assert "accounts[].vehicles.*.poll_interval" in known
    assert "carnet.login_retry_max" in known
    assert known - in_example == set(), "missing from config.example.yaml"
    assert in_example - known == set(), "in config.example.yaml but unknown to the loader"


def _declared_defaults(cls: type, loaded: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """Each declared key that has a default, with that default and the example's value."""
    rows: list[tuple[str, Any, Any]] = []
    for f in dataclasses.fields(cls):
        path, value = f"{prefix}{f.name}", getattr(loaded, f.name)
        if dataclasses.is_dataclass(value):
            rows += _declared_defaults(type(value), value, path + ".")
        elif f.default is not dataclasses.MISSING:
            rows.append((path, f.default, value))
    return rows


def test_every_declared_default_is_the_example_value() -> None:
    """The example is the documented form of the declarations: outside the accounts,
    whose values are samples, each key it sets holds the declared default."""
    loaded = load_config(EXAMPLE, ENV)
    rows = [row for row in _declared_defaults(Config, loaded) if row[0] != "accounts"]
    assert {path for path, _, _ in rows} >= {"mqtt.tls.enabled", "carnet.login_retry_max"}
    for path, default, in_example in rows:
        assert in_example == default, f"{path}: config.example.yaml holds {in_example!r}"


def test_every_example_key_has_a_comment() -> None:
    for number, line in enumerate(EXAMPLE.read_text(encoding="utf-8").splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith(":") and not stripped.startswith("- "):
            continue  # a section heading or a VIN key
        assert " # " in line, f"line {number} has no comment: {line!r}"


_RANGE = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\.\.(\d+(?:\.\d+)?)(?![\d.])")


def _example_comments() -> dict[str, str]:
    """Each key path of the example (``accounts.vehicles.*.poll_interval``) and its comment."""
    comments: dict[str, str] = {}
    parents: list[tuple[int, str]] = []
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        body, _, comment = line.partition(" # ")
        match = re.match(r"^( *)(- )?([^\s:#]+):", body)
        if not match:
            continue
        indent = len(match.group(1)) + len(match.group(2) or "")
        while parents and parents[-1][0] >= indent:
            parents.pop()
        levels = [name for _, name in parents]
        key = "*" if levels[-1:] == ["vehicles"] else match.group(3)
        comments[".".join([*levels, key])] = comment
        parents.append((indent, key))
    return comments


def _with_value(path: str, value: Any) -> dict[str, Any]:
    # login_retry_max may not be less than login_retry: give both room.
    data = minimal(carnet={"login_retry": 60, "login_retry_max": 86400})
    *levels, leaf = path.split(".")
    target: Any = data
    for level in levels:
        if level == "accounts":
            target = target["accounts"][0]
        else:
            target = target.setdefault("VIN1" if level == "*" else level, {})
    target[leaf] = value
    return data


def test_every_duration_in_the_example_states_its_range() -> None:
    durations = {k: c for k, c in _example_comments().items() if "seconds" in c}
    assert {"carnet.timeout", "carnet.login_retry", "commands.max_age"} <= set(durations)
    assert [key for key, comment in durations.items() if not _RANGE.search(comment)] == []


def test_the_ranges_the_example_states_are_the_loaders() -> None:
    ranges = {k: _RANGE.search(c) for k, c in _example_comments().items()}
    stated = {k: (float(m.group(1)), float(m.group(2))) for k, m in ranges.items() if m}
    assert len(stated) >= 15, stated
    for path, (low, high) in stated.items():
        for inside in (low, high):
            parse_config(_with_value(path, int(inside) if inside.is_integer() else inside), {})
        for outside in (low - 1, high + 1):
            problems = problems_of(_with_value(path, outside))
            where = path.replace("accounts.", "accounts[0].").replace("*", "VIN1")
            assert [p for p in problems if p.startswith(f"{where}: ")], (path, outside, problems)


@pytest.mark.parametrize(
    ("section", "key", "value", "expected"),
    [
        ("carnet", "timeout", 1e300, "carnet.timeout: 1e+300 is out of range (seconds, 1..300)"),
        (
            "carnet",
            "login_retry",
            0.001,
            "carnet.login_retry: 0.001 is out of range (seconds, 60..86400)",
        ),
        (
            "polling",
            "health_interval",
            10**7,
            "polling.health_interval: 10000000 is out of range (whole seconds, 3600..604800)",
        ),
        ("commands", "max_age", 1e9, "commands.max_age: 1000000000.0 is out of range "
         "(seconds, 1..3600)"),
    ],
)
def test_absurd_durations_are_refused(section: str, key: str, value: Any, expected: str) -> None:
    assert problems_of(minimal(**{section: {key: value}})) == [expected]


# -------------------------------------------------------------------- defaults


def test_minimal_config_takes_the_defaults() -> None:
    config = parse_config(minimal(), {})
    assert config.mqtt == MqttConfig()
    assert config.state_dir == "./state"
    assert config.accounts[0] == AccountConfig(email="daniel@example.com", password="pw")


def test_missing_state_dir_follows_the_environment() -> None:
    config = parse_config(minimal(), {"CARNET2MQTT_STATE_DIR": "/var/lib/carnet2mqtt"})
    assert config.state_dir == "/var/lib/carnet2mqtt"


def test_port_defaults_to_8883_with_tls_only_when_not_given() -> None:
    tls = parse_config(minimal(mqtt={"tls": {"enabled": True}}), {})
    assert tls.mqtt.port == 8883
    assert tls.mqtt.tls == TlsConfig(enabled=True)
    explicit = parse_config(minimal(mqtt={"port": 8884, "tls": {"enabled": True}}), {})
    assert explicit.mqtt.port == 8884
    assert parse_config(minimal(mqtt={"tls": {"enabled": False}}), {}).mqtt.port == 1883


@pytest.mark.parametrize(
    ("given", "expected"), [(5, "5"), ("5", "5"), ("3.1.1", "3.1.1"), ("v3.1.1", "3.1.1")]
)
def test_protocol_forms(given: object, expected: str) -> None:
    assert parse_config(minimal(mqtt={"protocol": given}), {}).mqtt.protocol == expected


def test_unquoted_protocol_in_yaml(tmp_path: Path) -> None:
    path = write(
        tmp_path, "mqtt: {protocol: 3.1.1}\naccounts: [{email: a@b.example, password: p}]\n"
    )
    assert load_config(path, {}).mqtt.protocol == "3.1.1"


def test_values_from_the_environment_are_coerced() -> None:
    data = minimal(
        mqtt={"port": "${PORT}", "qos": "${QOS:-0}", "tls": {"enabled": "${TLS}"}},
        commands={"max_age": "${AGE}"},
    )
    config = parse_config(data, {"PORT": "1884", "TLS": "true", "AGE": "90.5"})
    assert config.mqtt.port == 1884
    assert config.mqtt.qos == 0
    assert config.mqtt.tls.enabled is True
    assert config.commands.max_age == 90.5


def test_enums_are_case_insensitive_and_canonical() -> None:
    data = minimal(log_level="DEBUG", mqtt={"output": "ATTRIBUTE", "discovery": {"mode": "Device"}})
    data["accounts"][0]["temperature_unit"] = "f"
    config = parse_config(data, {})
    assert config.log_level == "debug"
    assert config.mqtt.output == "attribute"
    assert config.mqtt.discovery == DiscoveryConfig(mode="device")
    assert config.accounts[0].temperature_unit == "F"


def test_empty_sections_and_vehicle_entries_take_defaults() -> None:
    data = minimal(mqtt=None, polling={})
    data["accounts"][0]["vehicles"] = {"WVWZZZAUZGW000002": None, 12345: {"name": "golf"}}
    config = parse_config(data, {})
    assert config.polling == PollingConfig()
    assert config.accounts[0].vehicles == {
        "WVWZZZAUZGW000002": VehicleConfig(),
        "12345": VehicleConfig(name="golf"),
    }


# ------------------------------------------------------------ ${VAR} substitution


def test_unset_variable_names_it_and_the_key_path() -> None:
    data = minimal()
    data["accounts"][0]["password"] = "${CARNET_PASSWORD}"
    assert problems_of(data) == [
        "accounts[0].password: environment variable CARNET_PASSWORD is not set "
        "(set it, or give a default with ${CARNET_PASSWORD:-default})"
    ]


def test_default_applies_when_unset_or_empty() -> None:
    data = minimal(mqtt={"host": "${MQTT_HOST:-broker.lan}", "client_id": "cn-${SUFFIX:-x}-1"})
    assert parse_config(data, {}).mqtt.host == "broker.lan"
    assert parse_config(data, {"MQTT_HOST": ""}).mqtt.host == "broker.lan"
    config = parse_config(data, {"MQTT_HOST": "mqtt", "SUFFIX": "a"})
    assert (config.mqtt.host, config.mqtt.client_id) == ("mqtt", "cn-a-1")


def test_empty_default_means_null_for_optional_keys() -> None:
    data = minimal(mqtt={"password": "${MQTT_PASSWORD:-}"})
    data["accounts"][0]["pin"] = "${CARNET_PIN:-}"
    config = parse_config(data, {})
    assert config.mqtt.password is None
    assert config.accounts[0].pin is None


def test_doubled_dollar_is_a_literal() -> None:
    data = minimal()
    data["accounts"][0]["password"] = "a$${b}c"
    assert parse_config(data, {}).accounts[0].password == "a${b}c"


def test_a_default_may_hold_another_reference() -> None:
    data = minimal(mqtt={"host": "${P:-${Q}}", "client_id": "${P:-${Q:-${R:-x}}}-id"})
    assert parse_config(data, {"Q": "q"}).mqtt.host == "q"
    config = parse_config(data, {"P": "p"})  # Q is not needed, so unset is fine
    assert (config.mqtt.host, config.mqtt.client_id) == ("p", "p-id")
    assert parse_config(data, {"Q": "q", "R": ""}).mqtt.client_id == "q-id"
    assert parse_config({**data, "mqtt": {"host": "${P:-${Q:-x}}"}}, {}).mqtt.host == "x"
    assert problems_of(data) == [
        "mqtt.host: environment variable Q is not set "
        "(set it, or give a default with ${Q:-default})"
    ]


def test_malformed_reference() -> None:
    (problem,) = problems_of(minimal(mqtt={"host": "${1BAD}"}))
    assert problem.startswith("mqtt.host: malformed variable reference (")
    (problem,) = problems_of(minimal(mqtt={"host": "${OPEN"}))
    assert problem.startswith("mqtt.host: malformed variable reference (")
    (problem,) = problems_of(minimal(mqtt={"host": "${P:-${Q}"}))  # the default is not closed
    assert problem.startswith("mqtt.host: malformed variable reference (")


# ---------------------------------------------------------------------- errors


def test_unknown_key_suggests_the_closest_and_lists_the_accepted() -> None:
    (problem,) = problems_of(minimal(mqtt={"hots": "broker"}))
    assert problem.startswith("mqtt.hots: unknown key; did you mean 'host'? (accepted here: host, ")
    assert "base_topic" in problem


def test_unknown_keys_at_every_level() -> None:
    data = minimal(mqt={}, polling={"intervall": 600})
    data["accounts"][0]["vehicles"] = {"VIN1": {"nmae": "x"}}
    data["accounts"][0]["pinn"] = "1"
    problems = problems_of(data)
    assert len(problems) == 4
    assert any(p.startswith("mqt: unknown key; did you mean 'mqtt'?") for p in problems)
    assert any(
        p.startswith("polling.intervall: unknown key; did you mean 'interval'?") for p in problems
    )
    assert any(
        p.startswith("accounts[0].vehicles.VIN1.nmae: unknown key; did you mean 'name'?")
        for p in problems
    )
    assert any(p.startswith("accounts[0].pinn: unknown key; did you mean 'pin'?") for p in problems)


def test_unknown_key_without_a_close_match() -> None:
    (problem,) = problems_of(minimal(commands={"zzzz": 1}))
    assert problem.startswith("commands.zzzz: unknown key (accepted here: unlock, ")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            minimal(mqtt={"port": "abc"}),
            "mqtt.port: 'abc' is not a whole number (a port number, 1..65535)",
        ),
        (
            minimal(mqtt={"port": True}),
            "mqtt.port: true is not a whole number (a port number, 1..65535)",
        ),
        (minimal(mqtt={"qos": 1.5}), "mqtt.qos: 1.5 is not a whole number (0, 1 or 2)"),
        (
            minimal(mqtt={"host": 42}),
            "mqtt.host: 42 is a number; put it in quotes to make it text (a host name or address)",
        ),
        (
            minimal(mqtt={"tls": {"enabled": "maybe"}}),
            "mqtt.tls.enabled: 'maybe' is not true or false (true or false)",
        ),
        (
            minimal(mqtt={"tls": [1]}),
            "mqtt.tls: a list is not a mapping "
            "(keys: enabled, ca_certs, certfile, keyfile, insecure)",
        ),
        (
            minimal(mqtt={"protocol": 4}),
            'mqtt.protocol: 4 is not an MQTT protocol version (5 or "3.1.1")',
        ),
        (
            minimal(commands={"max_age": "soon"}),
            "commands.max_age: 'soon' is not a number (seconds, 1..3600)",
        ),
        (
            minimal(commands={"min_interval": "nan"}),
            "commands.min_interval: 'nan' is not a finite number (seconds, 0..600)",
        ),
        (
            {"accounts": {"email": "x"}},
            "accounts: a mapping is not a list "
            "(a list of at least one account with email and password)",
        ),
        (
            [1, 2],
            "(top level): a list is not a mapping "
            "(keys: accounts, mqtt, carnet, polling, limits, commands, state_dir, log_level)",
        ),
        (
            minimal(carnet={"api_base": "ftp://x"}),
            "carnet.api_base: 'ftp://x' is not an http(s) URL (an http(s) URL)",
        ),
    ],
)
def test_bad_types(data: Any, expected: str) -> None:
    assert problems_of(data) == [expected]


def _with_account(**fields: Any) -> dict[str, Any]:
    account = {"email": "daniel@example.com", "password": "pw", **fields}
    return {"accounts": [{k: v for k, v in account.items() if v is not ...}]}


@pytest.mark.parametrize(
    ("data", "path", "accepted"),
    [
        (minimal(mqtt={"qos": 3}), "mqtt.qos", "(0, 1 or 2)"),
        (minimal(mqtt={"qos": -1}), "mqtt.qos", "(0, 1 or 2)"),
        (minimal(mqtt={"port": 0}), "mqtt.port", "(a port number, 1..65535)"),
        (minimal(mqtt={"port": 65536}), "mqtt.port", "(a port number, 1..65535)"),
        (minimal(mqtt={"keepalive": 0}), "mqtt.keepalive", "(whole seconds, 1..65535)"),
        (minimal(mqtt={"output": "xml"}), "mqtt.output", "(json, attribute or attribute_and_json)"),
        (
            minimal(mqtt={"discovery": {"mode": "entity"}}),
            "mqtt.discovery.mode",
            "(component or device)",
        ),
        (minimal(mqtt={"base_topic": "car/+"}), "mqtt.base_topic", "(topic levels without +, #"),
        (minimal(mqtt={"base_topic": "car/#"}), "mqtt.base_topic", "(topic levels without +, #"),
        (minimal(mqtt={"base_topic": "/car"}), "mqtt.base_topic", "(topic levels without +, #"),
        (minimal(mqtt={"base_topic": "car/"}), "mqtt.base_topic", "(topic levels without +, #"),
        (minimal(mqtt={"base_topic": ""}), "mqtt.base_topic", "(topic levels without +, #"),
        (minimal(mqtt={"discovery": {"prefix": "ha/#"}}), "mqtt.discovery.prefix", "(topic levels"),
        (minimal(mqtt={"discovery": {"prefix": "/ha"}}), "mqtt.discovery.prefix", "(topic levels"),
        (minimal(mqtt={"client_id": " "}), "mqtt.client_id", "(non-empty text)"),
        (minimal(polling={"interval": 59}), "polling.interval", "(whole seconds, 60..86400)"),
        (minimal(polling={"interval": 86401}), "polling.interval", "(whole seconds, 60..86400)"),
        (
            minimal(polling={"active_interval": 0}),
            "polling.active_interval",
            "(whole seconds, 60..86400)",
        ),
        (
            minimal(polling={"health_interval": 60}),
            "polling.health_interval",
            "(whole seconds, 3600..604800)",
        ),
        (
            minimal(polling={"wakeups_per_day": -1}),
            "polling.wakeups_per_day",
            "(a whole number, 0..48",
        ),
        (minimal(commands={"max_age": 0}), "commands.max_age", "(seconds, 1..3600)"),
        (
            minimal(commands={"min_interval": -5}),
            "commands.min_interval",
            "(seconds, 0..600)",
        ),
        (
            minimal(commands={"verify_after": -1}),
            "commands.verify_after",
            "(seconds, 0..600)",
        ),
        (minimal(commands={"queue_size": 0}), "commands.queue_size", "(a whole number, 1..1000)"),
        (minimal(carnet={"timeout": 0}), "carnet.timeout", "(seconds, 1..300)"),
        (
            minimal(carnet={"login_retry": 900, "login_retry_max": 60}),
            "carnet.login_retry_max",
            "(seconds, 60..86400, not less than login_retry)",
        ),
        (minimal(log_level="loud"), "log_level", "(debug, info, warning or error)"),
        ({"accounts": []}, "accounts", "(a list of at least one account"),
        ({}, "accounts", "(a list of at least one account"),
        (_with_account(email=...), "accounts[0].email", "(the login e-mail address"),
        (_with_account(email="nobody"), "accounts[0].email", "(the login e-mail address"),
        (_with_account(password=...), "accounts[0].password", "(the account's password"),
        (_with_account(password=""), "accounts[0].password", "(the account's password"),
        (_with_account(pin="12a4"), "accounts[0].pin", '(digits only, quoted like "1234"'),
        (_with_account(temperature_unit="K"), "accounts[0].temperature_unit", "(auto, F or C)"),
        (
            _with_account(vehicles={"VIN1": {"name": "My Golf"}}),
            "accounts[0].vehicles.VIN1.name",
            "(lower-case letters, digits, _ and -",
        ),
        (
            _with_account(vehicles={"VIN1": {"name": "a/b"}}),
            "accounts[0].vehicles.VIN1.name",
            "(lower-case letters",
        ),
        (
            _with_account(vehicles={"VIN1": {"poll_interval": 30}}),
            "accounts[0].vehicles.VIN1.poll_interval",
            "(whole seconds, 60..86400, or null",
        ),
        (
            _with_account(vehicles=["VIN1"]),
            "accounts[0].vehicles",
            "(a mapping of VIN or vehicleId",
        ),
        (
            minimal(mqtt={"tls": {"keyfile": "/k.pem"}}),
            "mqtt.tls.keyfile",
            "(a client certificate in certfile",
        ),
    ],
)
def test_ranges_and_required_values(data: Any, path: str, accepted: str) -> None:
    (problem,) = problems_of(data)
    assert problem.startswith(f"{path}: ")
    assert accepted in problem


def test_duplicate_vehicle_names_across_accounts() -> None:
    data = {
        "accounts": [
            {"email": "a@example.com", "password": "p", "vehicles": {"VIN1": {"name": "golf"}}},
            {"email": "b@example.com", "password": "p", "vehicles": {"VIN2": {"name": "golf"}}},
        ]
    }
    assert problems_of(data) == [
        "accounts[1].vehicles.VIN2.name: vehicle name 'golf' is already used by "
        "accounts[0].vehicles.VIN1.name (a name unique across all accounts)"
    ]


def test_duplicate_accounts() -> None:
    data = {"accounts": [{"email": "a@example.com", "password": "p"}] * 2}
    assert problems_of(data) == [
        "accounts[1].email: the same account as accounts[0].email (each account once)"
    ]


def test_all_problems_are_collected_one_line_each() -> None:
    data = minimal(mqtt={"qos": 7, "port": "x", "hots": 1}, polling={"interval": 1}, log_level=3)
    data["accounts"][0]["password"] = "${UNSET}"
    problems = problems_of(data)
    assert len(problems) == 6
    for problem in problems:
        assert "\n" not in problem
        path, _, rest = problem.partition(": ")
        assert path and " " not in path, problem
        assert rest.endswith(")"), problem


# --------------------------------------------------------------------- secrets

SECRETS = ("hunter2-Sekr1t", "98765x", "unlock-Sekr1t", "mqtt-Sekr1t")


def test_no_secret_value_in_any_message() -> None:
    data = {
        "mqtt": {"password": ["mqtt-Sekr1t"]},
        "commands": {"unlock_code": {"code": "unlock-Sekr1t"}},
        "accounts": [
            {"email": "a@example.com", "password": 123456789, "pin": "98765x"},
            {"email": "b@example.com", "password": ["hunter2-Sekr1t"], "pin": 98765},
        ],
    }
    with pytest.raises(ConfigError) as caught:
        parse_config(data, {})
    problems = caught.value.problems
    assert len(problems) == 6
    text = str(caught.value) + "\n".join(problems)
    for secret in (*SECRETS, "123456789", "98765"):
        assert secret not in text
    assert "accounts[1].pin: the value is a number; put it in quotes" in text


def test_no_secret_in_yaml_syntax_errors(tmp_path: Path) -> None:
    path = write(tmp_path, 'accounts:\n  - email: a@example.com\n    password: "hunter2-Sekr1t\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert "hunter2-Sekr1t" not in str(caught.value)


# ------------------------------------------------------------------------ files


def test_yaml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "mqtt:\n  host: a\n   port: 1883\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    (problem,) = caught.value.problems
    assert problem.startswith(f"{path}: YAML syntax error at line 3, column 8: ")


def test_duplicate_yaml_key_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "mqtt:\n  host: a\nmqtt:\n  port: 1\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert caught.value.problems == [
        f"{path}: YAML syntax error at line 3, column 1: found duplicate key 'mqtt'; "
        "while reading a mapping (valid YAML)"
    ]


def test_yaml_merge_keys_still_work(tmp_path: Path) -> None:
    text = (
        "x-account: &acc {email: a@example.com, password: p}\n"
        "accounts: [{<<: *acc, email: b@example.com}]\n"
    )
    with pytest.raises(ConfigError) as caught:  # x-account is unknown, nothing else is wrong
        load_config(write(tmp_path, text), {})
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith("x-account: unknown key")


def _alias_bomb(levels: int) -> str:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    return "\n".join([*lines, "accounts: [{email: a@b.example, password: p}]", ""])


@pytest.mark.parametrize("levels", [7, 9])
def test_yaml_alias_bomb_is_refused_quickly(tmp_path: Path, levels: int) -> None:
    path = write(tmp_path, _alias_bomb(levels))
    assert path.stat().st_size < 1200
    measure = (
        "import json, re, sys, time\n"
        "from carnet.config import load_config\n"
        "from carnet.core.errors import ConfigError\n"
        "started = time.monotonic()\n"
        "try:\n"
        "    load_config(sys.argv[1], {})\n"
        "    problems = []\n"
        "except ConfigError as exc:\n"
        "    problems = exc.problems\n"
        "print(json.dumps({'problems': problems, 'seconds': time.monotonic() - started,\n"
        "    'peak_kib': int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1])"
        "}))\n"  # VmHWM: this process's peak RSS (ru_maxrss would include its parent's)
    )
    run = subprocess.run([sys.executable, "-c", measure, str(path)], capture_output=True,
                         timeout=30, check=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    outcome = json.loads(run.stdout)
    assert outcome["problems"] == [
        f"{path}: the document holds more than 100000 values once its aliases are expanded "
        "(at most 100000; a configuration holds a few hundred, aliases that repeat each "
        "other multiply)"
    ]
    assert outcome["seconds"] < 2, outcome
    assert outcome["peak_kib"] < 100 * 1024, outcome


def test_yaml_alias_inside_itself_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "x: &x {y: *x}\naccounts: [{email: a@b.example, password: p}]\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert caught.value.problems == [
        f"{path}: an alias refers to a mapping or list that contains it (an alias repeats a "
        "value defined elsewhere, never its own container)"
    ]


def test_yaml_nested_too_deeply_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "x: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert caught.value.problems == [
        f"{path}: mappings or lists nested too deeply (a few levels, as in config.example.yaml)"
    ]


def test_aliases_of_a_real_configuration_still_load(tmp_path: Path) -> None:
    vehicles = ", ".join(f"VIN{i}: *settings" for i in range(200))
    path = write(tmp_path, (
        "accounts:\n"
        "  - email: a@b.example\n"
        "    password: p\n"
        f"    vehicles: {{VIN: &settings {{poll_interval: 300}}, {vehicles}}}\n"
    ))
    vehicles_loaded = load_config(path, {}).accounts[0].vehicles
    assert len(vehicles_loaded) == 201
    assert {v.poll_interval for v in vehicles_loaded.values()} == {300}


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as caught:
        load_config(missing, {})
    assert caught.value.problems == [
        f"{missing}: file not found (a YAML file; copy config.example.yaml to start)"
    ]


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path, {})
    assert caught.value.problems == [f"{tmp_path}: is a directory (a YAML file)"]


def test_empty_file_says_accounts_are_missing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, "# nothing yet\n"), {})
    assert caught.value.problems == [
        "accounts: missing (a list of at least one account with email and password)"
    ]


def test_load_config_uses_os_environ_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARNET_PASSWORD", "from-env")
    monkeypatch.setenv("CARNET_PIN", "1111")
    assert load_config(EXAMPLE).accounts[0].password == "from-env"


# ---------------------------------------------------------------------- summary


def test_mask_email() -> None:
    assert mask_email("daniel@example.com") == "d***@example.com"
    assert mask_email("x@y.example") == "x***@y.example"
    assert mask_email("not-an-address") == "***"


def test_summary_masks_and_hides_secrets() -> None:
    data = minimal(
        mqtt={"username": "mqtt-user", "password": "mqtt-Sekr1t"},
        commands={"unlock_code": "unlock-Sekr1t"},
        carnet={"token_helper": "/usr/local/bin/helper --key hunter2-Sekr1t"},
    )
    data["accounts"][0].update(
        password="hunter2-Sekr1t", pin="98765", vehicles={"VIN1": {"name": "golf"}}
    )
    info = summary(parse_config(data, {}))
    text = json.dumps(info)
    for secret in (*SECRETS, "98765", "mqtt-user", "daniel@"):
        assert secret not in text
    assert info["accounts"] == [
        {
            "email": "d***@example.com",
            "api": "carnet",
            "commands": True,
            "temperature_unit": "auto",
            "vehicles": {"VIN1": {"name": "golf", "poll_interval": None, "enabled": True}},
        }
    ]
    assert info["mqtt"]["authenticated"] is True
    assert info["commands"]["unlock_code"] is True
    assert info["carnet"]["token_helper"] is True
    assert info["mqtt"]["base_topic"] == "carnet2mqtt"
    assert info["polling"] == dataclasses.asdict(PollingConfig())


def test_summary_of_a_read_only_account() -> None:
    info = summary(parse_config(minimal(), {}))
    assert info["accounts"][0]["commands"] is False
    assert info["commands"]["unlock_code"] is False
    assert info["mqtt"]["authenticated"] is False


def test_json_output_needs_discovery_off() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(minimal(mqtt={"output": "json"}), {})
    assert caught.value.problems == [
        "mqtt.output: json leaves Home Assistant discovery without the per-attribute topics "
        "it reads (attribute or attribute_and_json, or set mqtt.discovery.enabled: false)"
    ]
    config = parse_config(minimal(mqtt={"output": "json", "discovery": {"enabled": False}}), {})
    assert config.mqtt.output == "json"


# ------------------------------------------------------------------ TLS files


def _tls(tmp_path: Path, enabled: bool = True, **files: str) -> dict[str, Any]:
    return minimal(mqtt={"tls": {"enabled": enabled, **files}})


def test_tls_files_that_exist_are_accepted(tmp_path: Path) -> None:
    files = {name: tmp_path / f"{name}.pem" for name in ("ca_certs", "certfile", "keyfile")}
    for file in files.values():
        file.write_text("-----BEGIN CERTIFICATE-----\n")
    config = parse_config(_tls(tmp_path, **{k: str(v) for k, v in files.items()}), {})
    assert config.mqtt.tls.ca_certs == str(files["ca_certs"])


@pytest.mark.parametrize("name", ["ca_certs", "certfile", "keyfile"])
def test_missing_tls_file_is_one_line_naming_the_key(tmp_path: Path, name: str) -> None:
    present = tmp_path / "present.pem"
    present.write_text("x")
    files = {"certfile": str(present), name: str(tmp_path / "missing.pem")}
    (problem,) = problems_of(_tls(tmp_path, **files))
    assert problem.startswith(f"mqtt.tls.{name}: '{tmp_path / 'missing.pem'}' does not exist (")
    assert "readable" in problem and "\n" not in problem


def test_tls_file_that_is_a_directory(tmp_path: Path) -> None:
    (problem,) = problems_of(_tls(tmp_path, ca_certs=str(tmp_path)))
    assert problem.startswith("mqtt.tls.ca_certs: ") and "is not a file" in problem


def test_unreadable_tls_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    real_open = Path.open

    def refuse(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == ca:
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    (problem,) = problems_of(_tls(tmp_path, ca_certs=str(ca)))
    assert problem.startswith("mqtt.tls.ca_certs: ") and "not readable by this user" in problem


def test_tls_files_are_not_checked_while_tls_is_off(tmp_path: Path) -> None:
    config = parse_config(_tls(tmp_path, enabled=False, ca_certs=str(tmp_path / "no.pem")), {})
    assert config.mqtt.tls.enabled is False


def test_tls_file_problems_are_reported_by_load_config(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "mqtt: {tls: {enabled: true, ca_certs: /nonexistent/ca.pem}}\n"
        "accounts: [{email: a@b.example, password: p}]\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert caught.value.problems == [
        "mqtt.tls.ca_certs: '/nonexistent/ca.pem' does not exist "
        "(a readable CA bundle file, or null for the system's)"
    ]


# ------------------------------------------------------------ reserved names


def test_vehicle_may_not_be_named_bridge() -> None:
    (problem,) = problems_of(_with_account(vehicles={"VIN1": {"name": "bridge"}}))
    assert problem == (
        "accounts[0].vehicles.VIN1.name: 'bridge' is reserved for the bridge's own topics "
        "(lower-case letters, digits, _ and - but not 'bridge', or null for the VIN)"
    )


def test_names_like_bridge_are_fine() -> None:
    config = parse_config(_with_account(vehicles={"VIN1": {"name": "bridge_car"}}), {})
    assert config.accounts[0].vehicles["VIN1"].name == "bridge_car"


@pytest.mark.parametrize(
    ("topic", "wrong"),
    [
        ("car/+", "contains a wildcard"),
        ("", "is empty"),
        ("a//b", "has an empty topic level"),
        ("a/b/", "has an empty topic level"),
        ("a\0b", "contains a NUL character"),
    ],
)
def test_topic_problems_say_what_is_wrong(topic: str, wrong: str) -> None:
    (problem,) = problems_of(minimal(mqtt={"base_topic": topic}))
    assert problem.startswith("mqtt.base_topic: ") and wrong in problem


# -------------------------------------------------------------- secrets in reprs


def test_repr_shows_no_secret() -> None:
    config = parse_config(
        minimal(
            mqtt={"username": "broker-user", "password": "Mqtt-Pw-Sekr1t"},
            carnet={"token_helper": "helper --key Helper-Sekr1t"},
            accounts=[{"email": "a@example.com", "password": "Acct-Pw-Sekr1t", "pin": "86420"}],
            commands={"unlock_code": "Unlock-Sekr1t"},
        ),
        {},
    )
    for shown in (repr(config), str(config), repr(config.accounts), repr(config.mqtt)):
        for secret in ("Mqtt-Pw-Sekr1t", "Helper-Sekr1t", "Acct-Pw-Sekr1t", "86420",
                       "Unlock-Sekr1t"):
            assert secret not in shown
    assert "broker-user" in repr(config) and "a@example.com" in repr(config)


def test_example_describes_insecure_tls_as_a_host_name_check_only() -> None:
    (line,) = [
        line for line in EXAMPLE.read_text(encoding="utf-8").splitlines()
        if line.strip().startswith("insecure:")
    ]
    comment = line.split("#", 1)[1].strip()
    assert comment == (
        "true: accept a certificate whose host name does not match (testing only); "
        "the chain is still verified"
    )


# ------------------------------------------------------------ API generations


def test_generation_defaults_to_carnet_in_the_us() -> None:
    config = parse_config(minimal(), {})
    assert (config.carnet.api, config.carnet.region, config.accounts[0].api) == (
        "carnet", "us", None
    )


def test_generation_and_region_are_read_in_any_case() -> None:
    data = minimal(carnet={"api": "MyVW", "region": "CA"})
    data["accounts"][0]["api"] = "Carnet"
    config = parse_config(data, {})
    assert (config.carnet.api, config.carnet.region, config.accounts[0].api) == (
        "myvw", "ca", "carnet"
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (minimal(carnet={"api": "weconnect"}),
         "carnet.api: 'weconnect' is not one of the accepted values "
         "(carnet (the Car-Net app API) or myvw (the myVW app API))"),
        (minimal(carnet={"region": "eu"}),
         "carnet.region: 'eu' is not one of the accepted values (us or ca)"),
        (_with_account(api="id"),
         "accounts[0].api: 'id' is not one of the accepted values "
         "(carnet, myvw, or null for carnet.api)"),
    ],
)
def test_generation_and_region_refusals_say_what_is_accepted(data: Any, expected: str) -> None:
    assert problems_of(data) == [expected]


def test_summary_shows_each_accounts_generation() -> None:
    data = {
        "carnet": {"api": "myvw"},
        "accounts": [
            {"email": "a@example.com", "password": "p"},
            {"email": "b@example.com", "password": "p", "api": "carnet"},
        ],
    }
    info = summary(parse_config(data, {}))
    assert [account["api"] for account in info["accounts"]] == ["myvw", "carnet"]
    assert info["carnet"]["api"] == "myvw"
