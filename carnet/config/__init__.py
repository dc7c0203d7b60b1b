"""The configuration: YAML in, frozen dataclasses out.

Every key of config.example.yaml is a field here, with the same default. Errors name
the key path (``accounts[0].pin``) and say what is accepted; all problems are
collected so the user fixes them in one go.

``${VAR}`` and ``${VAR:-default}`` (the default may hold another ``${...}``) in any
string value come from the environment, so secrets stay out of the file. Without a
``state_dir`` key the default is ``${CARNET2MQTT_STATE_DIR:-./state}``: the container
image and the systemd unit set that variable, so one configuration file works in both.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import logging
import math
import os
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from carnet.core import redact
from carnet.core.errors import ConfigError
from carnet.mqtt.topics import _NAME as _VEHICLE_NAME  # the topic-level rule, kept in one place
from carnet.mqtt.topics import BRIDGE, check_topic
from carnet.vendor.carnet_app import defaults as carnet_app_defaults

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class TlsConfig:
    enabled: bool = False
    ca_certs: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    insecure: bool = False


@dataclass(frozen=True)
class DiscoveryConfig:
    enabled: bool = True
    prefix: str = "homeassistant"
    mode: str = "component"  # component | device


@dataclass(frozen=True)
class MqttConfig:
    host: str = "localhost"
    port: int = 1883
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    client_id: str = "carnet2mqtt"
    base_topic: str = "carnet2mqtt"
    protocol: str = "5"  # "5" | "3.1.1"
    qos: int = 1
    keepalive: int = 60
    output: str = "attribute_and_json"  # json | attribute | attribute_and_json
    # MQTT 5 response topics the bridge answers on; any other is refused, so that a client
    # cannot make the bridge write where the client's own ACL does not reach.
    response_topics: tuple[str, ...] = ("replies/#",)
    tls: TlsConfig = field(default_factory=TlsConfig)
    discovery: DiscoveryConfig = field(default_factory=DiscoveryConfig)


@dataclass(frozen=True)
class VendorConfig:
    api_base: str = carnet_app_defaults.API_BASE
    identity_base: str = carnet_app_defaults.IDENTITY_BASE
    client_id: str = carnet_app_defaults.CLIENT_ID
    redirect_uri: str = carnet_app_defaults.REDIRECT_URI
    user_agent: str = carnet_app_defaults.USER_AGENT
    token_helper: str | None = field(default=None, repr=False)  # may carry a secret
    timeout: float = 30.0
    login_retry: float = 900.0  # first wait after a refused login; doubles up to login_retry_max
    login_retry_max: float = 21600.0


@dataclass(frozen=True)
class VehicleConfig:
    name: str | None = None
    poll_interval: int | None = None
    enabled: bool = True


@dataclass(frozen=True)
class AccountConfig:
    email: str
    password: str = field(repr=False)
    pin: str | None = field(default=None, repr=False)
    temperature_unit: str = "auto"  # auto | F | C (the unit of the account's climate settings)
    vehicles: dict[str, VehicleConfig] = field(default_factory=dict)  # keyed by VIN or vehicleId


@dataclass(frozen=True)
class PollingConfig:
    interval: int = 600
    active_interval: int = 120
    health_interval: int = 86400
    wakeups_per_day: int = 6
    max_interval: int = 3600  # the longest the daily budget may stretch the poll interval


@dataclass(frozen=True)
class LimitsConfig:
    # All vendor requests of one account in a rolling 24 h. Owners report Car-Net blocking
    # at roughly 480-550 a day; 400 keeps a margin for the phone app.
    daily_requests: int = 400
    command_reserve: float = 0.2  # share of daily_requests polling leaves to commands


@dataclass(frozen=True)
class CommandsConfig:
    unlock: bool = True
    unlock_code: str | None = field(default=None, repr=False)
    max_age: float = 120.0
    queue_size: int = 20
    min_interval: float = 2.0
    max_per_minute: int = 6  # TSP-token requests per account per minute (vendor: about 7)
    verify_after: float = 25.0
    skip_unchanged: float = 300.0  # a command for the state read this recently sends nothing


@dataclass(frozen=True)
class Config:
    accounts: tuple[AccountConfig, ...]
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    carnet: VendorConfig = field(default_factory=VendorConfig)
    polling: PollingConfig = field(default_factory=PollingConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    commands: CommandsConfig = field(default_factory=CommandsConfig)
    state_dir: str = "./state"
    log_level: str = "info"


# --------------------------------------------------------------------------- loading

STATE_DIR_ENV = "CARNET2MQTT_STATE_DIR"
"""When the file has no ``state_dir``, this variable (else ``./state``) is used, so one
container image or unit file can place the tokens without editing the user's file."""

_SECRET_FIELDS = frozenset({"password", "pin", "unlock_code", "token_helper"})
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
_SPECIAL = re.compile(r"\$\$\{|\$\{|\}")  # what ${VAR} substitution looks at
_NAME_AT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PIN = re.compile(r"[0-9]+")
_FAILED: Any = object()


class _Invalid(Exception):
    """A value is wrong. ``wrong`` is a template with ``{value}``, so the caller decides
    whether the value may be shown (never for secrets)."""

    def __init__(self, wrong: str) -> None:
        super().__init__(wrong)
        self.wrong = wrong


@dataclass(frozen=True)
class _Rule:
    accepted: str  # what this key accepts, shown with every problem of the key
    check: Callable[[Any], Any] | None = None  # normalises a coerced value or raises _Invalid


@dataclass
class _Context:
    environ: Mapping[str, str]
    problems: list[str] = field(default_factory=list)
    vehicle_names: dict[str, str] = field(default_factory=dict)  # name -> key path
    emails: dict[str, str] = field(default_factory=dict)  # lower-case e-mail -> key path
    unresolved: set[str] = field(default_factory=set)  # key paths whose ${VAR} failed


# ----------------------------------------------------------------- value checks


def _range(low: float, high: float | None = None) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value < low or (high is not None and value > high):
            raise _Invalid("{value} is out of range")
        return value

    return check


def _one_of(*choices: str) -> Callable[[Any], Any]:
    """Case-insensitive choice that returns the canonical spelling."""
    canonical = {choice.lower(): choice for choice in choices}

    def check(value: Any) -> Any:
        try:
            return canonical[value.strip().lower()]
        except KeyError:
            raise _Invalid("{value} is not one of the accepted values") from None

    return check


def _non_empty(value: str) -> str:
    if not value.strip():
        raise _Invalid("{value} is empty")
    return value


def _topic(value: str) -> str:
    """A topic prefix: wildcards would subscribe to strangers' topics, and a leading or
    trailing slash silently creates an empty topic level. :func:`carnet.mqtt.topics.check_topic`
    decides; this only says which part of the rule is broken."""
    try:
        return check_topic(value)
    except ValueError:
        pass
    if not value:
        raise _Invalid("{value} is empty")
    if "+" in value or "#" in value:
        raise _Invalid("{value} contains a wildcard")
    if "\0" in value:
        raise _Invalid("{value} contains a NUL character")
    raise _Invalid("{value} has an empty topic level")


def _topic_filters(value: tuple[str, ...]) -> tuple[str, ...]:
    """Response-topic filters: each a valid MQTT filter (``#`` last and alone in its level,
    ``+`` alone in its level), so that matching means what the ACL-minded reader expects."""
    for topic_filter in value:
        levels = topic_filter.split("/")
        if not topic_filter or "\0" in topic_filter:
            raise _Invalid("{value} contains an empty filter or a NUL character")
        for n, level in enumerate(levels):
            if ("#" in level and (level != "#" or n != len(levels) - 1)) or (
                "+" in level and level != "+"
            ):
                raise _Invalid(f"{{value}} contains the malformed filter {topic_filter!r}")
    return value


def _url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _Invalid("{value} is not an http(s) URL")
    return value.strip().rstrip("/")


def _email(value: str) -> str:
    local, at, domain = value.strip().rpartition("@")
    if not at or not local or not domain:
        raise _Invalid("{value} is not an e-mail address")
    return value.strip()


def _pin(value: str) -> str:
    if not _PIN.fullmatch(value):
        raise _Invalid("{value} is not digits only")
    return value


def _vehicle_name(value: str) -> str:
    if not _VEHICLE_NAME.fullmatch(value):
        raise _Invalid("{value} is not a valid topic level")
    if value == BRIDGE:
        raise _Invalid("{value} is reserved for the bridge's own topics")
    return value


def _unreadable(file: str) -> str | None:
    """Why ``file`` cannot be read as a file, or None when it can."""
    target = Path(file)
    try:
        if not target.exists():
            return "does not exist"
        if not target.is_file():
            return "is not a file"
        with target.open("rb"):
            pass
    except PermissionError:
        return "is not readable by this user"
    except OSError as exc:
        return f"cannot be read: {exc.strerror or type(exc).__name__}"
    return None


def _non_empty_list(value: tuple[Any, ...]) -> tuple[Any, ...]:
    if not value:
        raise _Invalid("the list is empty")
    return value


def _seconds(low: float, high: float, more: str = "") -> _Rule:
    """A duration: every one has both bounds, so that neither ``1e300`` (an overflow
    downstream) nor ``0.001`` (a busy loop, a defeated back-off) gets through."""
    return _Rule(f"seconds, {low:g}..{high:g}{more}", _range(low, high))


_INTERVAL = _Rule("whole seconds, 60..86400", _range(60, 86400))
_TOPIC = _Rule("topic levels without +, # or a leading, trailing or double /", _topic)
_FLAG = _Rule("true or false")

_RULES: dict[tuple[type, str], _Rule] = {
    (TlsConfig, "enabled"): _FLAG,
    (TlsConfig, "ca_certs"): _Rule("a readable CA bundle file, or null for the system's"),
    (TlsConfig, "certfile"): _Rule("a readable client certificate file, or null"),
    (TlsConfig, "keyfile"): _Rule("a readable client key file, or null"),
    (TlsConfig, "insecure"): _FLAG,
    (DiscoveryConfig, "enabled"): _FLAG,
    (DiscoveryConfig, "prefix"): _TOPIC,
    (DiscoveryConfig, "mode"): _Rule("component or device", _one_of("component", "device")),
    (MqttConfig, "host"): _Rule("a host name or address", _non_empty),
    (MqttConfig, "port"): _Rule("a port number, 1..65535", _range(1, 65535)),
    (MqttConfig, "username"): _Rule("text, or null for none"),
    (MqttConfig, "password"): _Rule("text, or null for none"),
    (MqttConfig, "client_id"): _Rule("non-empty text", _non_empty),
    (MqttConfig, "base_topic"): _TOPIC,
    (MqttConfig, "protocol"): _Rule('5 or "3.1.1"'),
    (MqttConfig, "qos"): _Rule("0, 1 or 2", _range(0, 2)),
    (MqttConfig, "keepalive"): _Rule("whole seconds, 1..65535", _range(1, 65535)),
    (MqttConfig, "output"): _Rule(
        "json, attribute or attribute_and_json",
        _one_of("json", "attribute", "attribute_and_json"),
    ),
    (MqttConfig, "response_topics"): _Rule(
        "a list of MQTT topic filters, such as [\"replies/#\"], or [] for none", _topic_filters
    ),
    (MqttConfig, "tls"): _Rule("a mapping with enabled, ca_certs, certfile, keyfile, insecure"),
    (MqttConfig, "discovery"): _Rule("a mapping with enabled, prefix, mode"),
    (VendorConfig, "api_base"): _Rule("an http(s) URL", _url),
    (VendorConfig, "identity_base"): _Rule("an http(s) URL", _url),
    (VendorConfig, "client_id"): _Rule("non-empty text", _non_empty),
    (VendorConfig, "redirect_uri"): _Rule("non-empty text", _non_empty),
    (VendorConfig, "user_agent"): _Rule("non-empty text", _non_empty),
    (VendorConfig, "token_helper"): _Rule("a command line, or null"),
    (VendorConfig, "timeout"): _seconds(1, 300),
    (VendorConfig, "login_retry"): _seconds(60, 86400),
    (VendorConfig, "login_retry_max"): _seconds(60, 86400, ", not less than login_retry"),
    (VehicleConfig, "name"): _Rule(
        f"lower-case letters, digits, _ and - but not '{BRIDGE}', or null for the VIN",
        _vehicle_name,
    ),
    (VehicleConfig, "poll_interval"): _Rule(
        "whole seconds, 60..86400, or null for polling.interval", _range(60, 86400)
    ),
    (VehicleConfig, "enabled"): _FLAG,
    (AccountConfig, "email"): _Rule("the Car-Net login e-mail address", _email),
    (AccountConfig, "password"): _Rule("the Car-Net password, non-empty text", _non_empty),
    (AccountConfig, "pin"): _Rule('digits only, quoted like "1234", or null for read-only', _pin),
    (AccountConfig, "temperature_unit"): _Rule("auto, F or C", _one_of("auto", "F", "C")),
    (AccountConfig, "vehicles"): _Rule(
        "a mapping of VIN or vehicleId to name, poll_interval, enabled"
    ),
    (PollingConfig, "interval"): _INTERVAL,
    (PollingConfig, "active_interval"): _INTERVAL,
    (PollingConfig, "health_interval"): _Rule(
        "whole seconds, 3600..604800", _range(3600, 604800)
    ),
    (PollingConfig, "wakeups_per_day"): _Rule("a whole number, 0..48 (0: never)", _range(0, 48)),
    (PollingConfig, "max_interval"): _Rule("whole seconds, 600..86400", _range(600, 86400)),
    (LimitsConfig, "daily_requests"): _Rule("a whole number, 50..100000", _range(50, 100000)),
    (LimitsConfig, "command_reserve"): _Rule("a share, 0..0.9", _range(0, 0.9)),
    (CommandsConfig, "unlock"): _FLAG,
    (CommandsConfig, "unlock_code"): _Rule("text, or null for no code"),
    (CommandsConfig, "max_age"): _seconds(1, 3600),
    (CommandsConfig, "queue_size"): _Rule("a whole number, 1..1000", _range(1, 1000)),
    (CommandsConfig, "max_per_minute"): _Rule("a whole number, 1..60", _range(1, 60)),
    (CommandsConfig, "min_interval"): _seconds(0, 600),
    (CommandsConfig, "verify_after"): _seconds(0, 600),
    (CommandsConfig, "skip_unchanged"): _Rule(
        "seconds, 0..86400 (0: always send)", _range(0, 86400)
    ),
    (Config, "accounts"): _Rule(
        "a list of at least one account with email and password", _non_empty_list
    ),
    (Config, "mqtt"): _Rule("a mapping of MQTT settings"),
    (Config, "carnet"): _Rule("a mapping of Car-Net endpoint settings"),
    (Config, "polling"): _Rule("a mapping of polling settings"),
    (Config, "limits"): _Rule("a mapping of daily request limits"),
    (Config, "commands"): _Rule("a mapping of command settings"),
    (Config, "state_dir"): _Rule("a directory path", _non_empty),
    (Config, "log_level"): _Rule(
        "debug, info, warning or error", _one_of("debug", "info", "warning", "error")
    ),
}


# ------------------------------------------------------------------- coercion


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise _Invalid("{value} is not true or false")


def _as_int(value: Any) -> int:
    """Environment variables are text, so digits in a string count as a number too."""
    if isinstance(value, bool):
        raise _Invalid("{value} is not a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip(), 10)
        except ValueError:
            pass
    raise _Invalid("{value} is not a whole number")


def _as_float(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        result = float(value)
    elif isinstance(value, str):
        try:
            result = float(value.strip())
        except ValueError:
            raise _Invalid("{value} is not a number") from None
    else:
        raise _Invalid("{value} is not a number")
    if not math.isfinite(result):
        raise _Invalid("{value} is not a finite number")
    return result


def _as_str(value: Any) -> str:
    """Numbers are refused rather than converted: YAML reads an unquoted ``0123`` as
    the octal number 83, which would silently change a PIN or a password."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise _Invalid("{value} is a number; put it in quotes to make it text")
    raise _Invalid("{value} is not text")


def _as_protocol(value: Any) -> str:
    if isinstance(value, bool):
        raise _Invalid("{value} is not an MQTT protocol version")
    if isinstance(value, (int, float)) and value == 5:
        return "5"
    if isinstance(value, str) and value.strip().lower() in ("5", "5.0", "v5", "3.1.1", "v3.1.1"):
        return "5" if "5" in value else "3.1.1"
    raise _Invalid("{value} is not an MQTT protocol version")


_SCALARS: dict[Any, Callable[[Any], Any]] = {
    bool: _as_bool,
    int: _as_int,
    float: _as_float,
    str: _as_str,
}
_COERCE_OVERRIDES: dict[tuple[type, str], Callable[[Any], Any]] = {
    (MqttConfig, "protocol"): _as_protocol,
}


# -------------------------------------------------------------- substitution


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


_MALFORMED = (
    "malformed variable reference (${NAME} or ${NAME:-default}, where the default may hold "
    "another ${...}; $${ for a literal ${)"
)


class _Malformed(Exception):
    """A ``${`` that does not start a well-formed reference."""


def _substitute(text: str, path: str, ctx: _Context) -> str:
    """Replace ``${VAR}`` and ``${VAR:-default}``; ``$${`` stands for a literal ``${``.

    The default applies when the variable is unset or empty, as in a POSIX shell, and
    may itself hold references (``${P:-${Q:-x}}``), which are looked at only when the
    default is used.
    """
    reported = len(ctx.problems)
    try:
        value, _ = _substitute_from(text, 0, path, ctx, in_default=False, used=True)
    except _Malformed:
        del ctx.problems[reported:]  # an unset variable inside it is beside the point
        ctx.unresolved.add(path)
        ctx.problems.append(f"{path}: {_MALFORMED}")
        return text
    return value


def _substitute_from(
    text: str, pos: int, path: str, ctx: _Context, *, in_default: bool, used: bool
) -> tuple[str, int]:
    """The text from ``pos`` with its references replaced, and where it ended: at the
    end of ``text``, or in a default just after the brace that closes it."""
    out: list[str] = []
    while True:
        match = _SPECIAL.search(text, pos)
        if match is None:
            if in_default:
                raise _Malformed  # the default's closing brace is missing
            out.append(text[pos:])
            return "".join(out), len(text)
        out.append(text[pos : match.start()])
        pos = match.end()
        if match.group() == "}":
            if in_default:
                return "".join(out), pos
            out.append("}")
        elif match.group() == "$${":
            out.append("${")
        else:
            value, pos = _reference(text, pos, path, ctx, used)
            out.append(value)


def _reference(text: str, pos: int, path: str, ctx: _Context, used: bool) -> tuple[str, int]:
    """The value of the reference whose name starts at ``pos`` (just after ``${``)."""
    name_match = _NAME_AT.match(text, pos)
    if name_match is None:
        raise _Malformed
    name, pos = name_match.group(), name_match.end()
    value = ctx.environ.get(name)
    if text.startswith(":-", pos):
        default, pos = _substitute_from(
            text, pos + 2, path, ctx, in_default=True, used=used and not value
        )
        return value or default, pos
    if not text.startswith("}", pos):
        raise _Malformed
    if value is None and used:
        ctx.unresolved.add(path)
        ctx.problems.append(
            f"{path}: environment variable {name} is not set "
            f"(set it, or give a default with ${{{name}:-default}})"
        )
    return value or "", pos + 1


def _expand(data: Any, path: str, ctx: _Context) -> Any:
    if isinstance(data, str):
        return _substitute(data, path, ctx)
    if isinstance(data, Mapping):
        return {key: _expand(value, _join(path, key), ctx) for key, value in data.items()}
    if isinstance(data, list):
        return [_expand(value, f"{path}[{i}]", ctx) for i, value in enumerate(data)]
    return data


# ------------------------------------------------------------------ building


def _show(value: Any, secret: bool) -> str:
    if secret:
        return "the value"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        shown = repr(value)
        return shown if len(shown) <= 60 else shown[:56] + "...'"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return f"a {type(value).__name__}"


def _accepted(cls: type, name: str, hint: Any) -> str:
    rule = _RULES.get((cls, name))
    if rule is not None:
        return rule.accepted
    return {bool: "true or false", int: "a whole number", float: "a number"}.get(hint, "text")


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _unknown_key(path: str, key: object, names: list[str]) -> str:
    close = difflib.get_close_matches(str(key), names, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"{_join(path, key)}: unknown key{hint} (accepted here: {', '.join(names)})"


def _build(cls: type, data: Any, path: str, ctx: _Context) -> Any:
    """One dataclass from one mapping; every problem is recorded, none is raised."""
    names = [f.name for f in dataclasses.fields(cls)]
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        where = path or "(top level)"
        ctx.problems.append(
            f"{where}: {_show(data, False)} is not a mapping (keys: {', '.join(names)})"
        )
        return _FAILED
    for key in data:
        if key not in names:
            ctx.problems.append(_unknown_key(path, key, names))
    hints = _hints(cls)
    values: dict[str, Any] = {}
    failed = False
    for f in dataclasses.fields(cls):
        sub = _join(path, f.name)
        if f.name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                ctx.problems.append(f"{sub}: missing ({_accepted(cls, f.name, hints[f.name])})")
                failed = True
            continue
        value = _field(cls, f.name, hints[f.name], data[f.name], sub, ctx)
        if value is _FAILED:
            failed = True
        else:
            values[f.name] = value
    post = _POST.get(cls)
    if post is not None and not post(values, data, path, ctx):
        failed = True
    return _FAILED if failed else cls(**values)


def _field(cls: type, name: str, hint: Any, raw: Any, path: str, ctx: _Context) -> Any:
    if path in ctx.unresolved:
        return _FAILED  # already reported; the half-substituted text would only add noise
    secret = name in _SECRET_FIELDS
    rule = _RULES.get((cls, name))
    try:
        override = _COERCE_OVERRIDES.get((cls, name))
        value = override(raw) if override else _convert(hint, raw, path, ctx)
        if value is not _FAILED and value is not None and rule and rule.check:
            value = rule.check(value)
        return value
    except _Invalid as exc:
        wrong = exc.wrong.format(value=_show(raw, secret))
        ctx.problems.append(f"{path}: {wrong} ({_accepted(cls, name, hint)})")
        return _FAILED


def _convert(hint: Any, raw: Any, path: str, ctx: _Context) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        if raw is None or raw == "":
            return None  # so that "${VAR:-}" means "not set"
        (inner,) = (arg for arg in args if arg is not type(None))
        return _convert(inner, raw, path, ctx)
    if dataclasses.is_dataclass(hint):
        return _build(hint, raw, path, ctx)
    if origin is dict:
        return _build_vehicles(args[1], raw, path, ctx)
    if origin is tuple and args[0] in _SCALARS:
        if not isinstance(raw, (list, tuple)):
            raise _Invalid("{value} is not a list")
        return tuple(_SCALARS[args[0]](value) for value in raw)
    if origin is tuple:
        return _build_list(args[0], raw, path, ctx)
    return _SCALARS[hint](raw)


def _build_list(item: type, raw: Any, path: str, ctx: _Context) -> Any:
    if not isinstance(raw, (list, tuple)):
        raise _Invalid("{value} is not a list")
    built = [_build(item, value, f"{path}[{i}]", ctx) for i, value in enumerate(raw)]
    return _FAILED if any(value is _FAILED for value in built) else tuple(built)


def _build_vehicles(item: type, raw: Any, path: str, ctx: _Context) -> Any:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise _Invalid("{value} is not a mapping")
    result: dict[str, Any] = {}
    failed = False
    for key, value in raw.items():
        sub = _join(path, key)
        if isinstance(key, bool) or not isinstance(key, (str, int)) or not str(key).strip():
            ctx.problems.append(f"{sub}: not a VIN or vehicleId (the VIN or vehicleId as text)")
            failed = True
            continue
        vehicle = _build(item, value, sub, ctx)
        if vehicle is _FAILED:
            failed = True
            name = value.get("name") if isinstance(value, Mapping) else None
            if isinstance(name, str) and _VEHICLE_NAME.fullmatch(name):
                _claim_name(name, _join(sub, "name"), ctx)  # still worth a duplicate check
            continue
        result[str(key)] = vehicle
        _claim_name(vehicle.name or str(key).lower(), _join(sub, "name"), ctx)
    return _FAILED if failed else result


def _claim_name(name: str, path: str, ctx: _Context) -> None:
    """Vehicle names are topic levels shared by all accounts, so they must be unique."""
    first = ctx.vehicle_names.setdefault(name, path)
    if first != path:
        ctx.problems.append(
            f"{path}: vehicle name '{name}' is already used by {first} "
            "(a name unique across all accounts)"
        )


# -------------------------------------------------------- cross-field checks


def _post_mqtt(values: dict[str, Any], raw: Mapping[str, Any], path: str, ctx: _Context) -> bool:
    tls = values.get("tls")
    if "port" not in raw and isinstance(tls, TlsConfig) and tls.enabled:
        values["port"] = 8883
    discovery = values.get("discovery", DiscoveryConfig())
    if values.get("output") == "json" and getattr(discovery, "enabled", False):
        # Home Assistant's entities read the per-attribute topics.
        ctx.problems.append(
            f"{_join(path, 'output')}: json leaves Home Assistant discovery without the "
            "per-attribute topics it reads (attribute or attribute_and_json, or set "
            "mqtt.discovery.enabled: false)"
        )
        return False
    return True


def _post_tls(values: dict[str, Any], raw: Mapping[str, Any], path: str, ctx: _Context) -> bool:
    ok = True
    if values.get("keyfile") and not values.get("certfile"):
        ctx.problems.append(
            f"{_join(path, 'keyfile')}: set without certfile "
            "(a client certificate in certfile, its key in keyfile)"
        )
        ok = False
    if values.get("enabled"):
        # Checked here, so that a missing file is one line from --check and not a
        # traceback from the daemon's first connection.
        for name in ("ca_certs", "certfile", "keyfile"):
            file = values.get(name)
            problem = _unreadable(file) if file else None
            if problem:
                ctx.problems.append(
                    f"{_join(path, name)}: {file!r} {problem} "  # the whole path, not cut
                    f"({_RULES[(TlsConfig, name)].accepted})"
                )
                ok = False
    return ok


def _post_vendor(values: dict[str, Any], raw: Mapping[str, Any], path: str, ctx: _Context) -> bool:
    first = values.get("login_retry", VendorConfig.login_retry)
    limit = values.get("login_retry_max", VendorConfig.login_retry_max)
    if limit < first:
        ctx.problems.append(
            f"{_join(path, 'login_retry_max')}: {limit:g} is less than login_retry {first:g} "
            f"({_RULES[(VendorConfig, 'login_retry_max')].accepted})"
        )
        return False
    return True


def _post_account(values: dict[str, Any], raw: Mapping[str, Any], path: str, ctx: _Context) -> bool:
    email = values.get("email")
    if not email:
        return True
    sub = _join(path, "email")
    first = ctx.emails.setdefault(email.lower(), sub)
    if first != sub:
        ctx.problems.append(f"{sub}: the same account as {first} (each account once)")
        return False
    return True


_PostCheck = Callable[[dict[str, Any], Mapping[str, Any], str, _Context], bool]
_POST: dict[type, _PostCheck] = {
    MqttConfig: _post_mqtt,
    TlsConfig: _post_tls,
    VendorConfig: _post_vendor,
    AccountConfig: _post_account,
}


# ---------------------------------------------------------------- public API


def parse_config(data: object, environ: Mapping[str, str] | None = None) -> Config:
    """Turn parsed YAML into a :class:`Config`, or raise :class:`ConfigError` listing
    every problem, one line each, so a user fixes the file in one go."""
    ctx = _Context(environ=os.environ if environ is None else environ)
    if data is None:
        data = {}
    if isinstance(data, Mapping) and "state_dir" not in data:
        data = {**data, "state_dir": f"${{{STATE_DIR_ENV}:-./state}}"}
    expanded = _expand(data, "", ctx)
    config = _build(Config, expanded, "", ctx)
    if ctx.problems:
        raise ConfigError(list(dict.fromkeys(ctx.problems)))
    return typing.cast(Config, config)


MAX_YAML_VALUES = 100_000
"""The most values a configuration file may hold once its aliases are expanded. A real
one has a few hundred; a "billion laughs" file of 1 KB, whose aliases repeat each other,
holds billions and would take minutes and gigabytes to check."""


class _TooLarge(yaml.YAMLError):
    """The document expands past :data:`MAX_YAML_VALUES`, or an alias contains itself."""


class _Loader(yaml.SafeLoader):
    """Safe YAML that refuses duplicate keys (PyYAML keeps the last one silently, so a
    second ``mqtt:`` section would quietly replace the first) and documents whose
    aliases expand past :data:`MAX_YAML_VALUES`, before anything is built from them."""

    def construct_document(self, node: yaml.Node) -> Any:
        _refuse_expansion(node)
        _refuse_duplicate_keys(node)
        return super().construct_document(node)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [item for pair in node.value for item in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _refuse_expansion(root: yaml.Node) -> None:
    """Count the values the document holds with every alias expanded, without expanding
    it: each node's count is computed once from its children's (an alias is the very
    node it names), so the work grows with the file, not with the expansion."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()  # the node being counted and its parents
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, counted_children = stack.pop()
        key = id(node)
        if counted_children:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[key] > MAX_YAML_VALUES:
                raise _TooLarge(
                    f"the document holds more than {MAX_YAML_VALUES} values once its aliases "
                    f"are expanded (at most {MAX_YAML_VALUES}; a configuration holds a few "
                    "hundred, aliases that repeat each other multiply)"
                )
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise _TooLarge(
                "an alias refers to a mapping or list that contains it (an alias repeats a "
                "value defined elsewhere, never its own container)"
            )
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node))


def _refuse_duplicate_keys(root: yaml.Node) -> None:
    stack, seen_nodes = [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key_node, value_node in node.value:
                stack.extend((key_node, value_node))
                if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(
                    key_node, yaml.ScalarNode
                ):
                    continue
                if key_node.value in keys:
                    raise yaml.constructor.ConstructorError(
                        "while reading a mapping",
                        node.start_mark,
                        f"found duplicate key '{key_node.value}'",
                        key_node.start_mark,
                    )
                keys.add(key_node.value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read and check a configuration file; every failure is a :class:`ConfigError`."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [f"{file}: file not found (a YAML file; copy config.example.yaml to start)"]
        ) from None
    except IsADirectoryError:
        raise ConfigError([f"{file}: is a directory (a YAML file)"]) from None
    except PermissionError:
        raise ConfigError([f"{file}: not readable by this user (a readable YAML file)"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{file}: not UTF-8 text (a UTF-8 YAML file)"]) from None
    except OSError as exc:
        raise ConfigError([f"{file}: cannot be read: {exc.strerror} (a YAML file)"]) from None
    try:
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: no arbitrary objects
    except _TooLarge as exc:
        raise ConfigError([f"{file}: {exc}"]) from None
    except RecursionError:
        raise ConfigError(
            [f"{file}: mappings or lists nested too deeply (a few levels, as in "
             "config.example.yaml)"]
        ) from None
    except yaml.MarkedYAMLError as exc:
        # Only the description and position: the excerpt PyYAML adds could show a secret.
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = "; ".join(part for part in (exc.problem, exc.context) if part)
        raise ConfigError([f"{file}: YAML syntax error{where}: {what} (valid YAML)"]) from None
    except yaml.YAMLError:
        raise ConfigError([f"{file}: YAML syntax error (valid YAML)"]) from None
    config = parse_config(data, environ)
    redact.register_config_secrets(config)  # masked in every log record from now on
    _LOG.debug("configuration loaded from %s", file)
    return config


def mask_email(email: str) -> str:
    """``daniel@example.com`` -> ``d***@example.com``: enough to tell accounts apart."""
    local, at, domain = email.rpartition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def summary(config: Config) -> dict[str, Any]:
    """The configuration as published on ``bridge/info``: secrets become booleans that
    say whether they are set, e-mail addresses are masked."""
    mqtt, vendor = config.mqtt, config.carnet
    return {
        "mqtt": {
            "host": mqtt.host,
            "port": mqtt.port,
            "authenticated": mqtt.username is not None or mqtt.password is not None,
            "client_id": mqtt.client_id,
            "base_topic": mqtt.base_topic,
            "protocol": mqtt.protocol,
            "qos": mqtt.qos,
            "keepalive": mqtt.keepalive,
            "output": mqtt.output,
            "response_topics": list(mqtt.response_topics),
            "tls": {
                "enabled": mqtt.tls.enabled,
                "insecure": mqtt.tls.insecure,
                "client_certificate": mqtt.tls.certfile is not None,
            },
            "discovery": dataclasses.asdict(mqtt.discovery),
        },
        "carnet": {
            "api_base": vendor.api_base,
            "identity_base": vendor.identity_base,
            "client_id": vendor.client_id,
            "redirect_uri": vendor.redirect_uri,
            "user_agent": vendor.user_agent,
            "token_helper": vendor.token_helper is not None,
            "timeout": vendor.timeout,
            "login_retry": vendor.login_retry,
            "login_retry_max": vendor.login_retry_max,
        },
        "accounts": [
            {
                "email": mask_email(account.email),
                "commands": account.pin is not None,
                "temperature_unit": account.temperature_unit,
                "vehicles": {
                    key: dataclasses.asdict(vehicle) for key, vehicle in account.vehicles.items()
                },
            }
            for account in config.accounts
        ],
        "polling": dataclasses.asdict(config.polling),
        "limits": dataclasses.asdict(config.limits),
        "commands": {
            "unlock": config.commands.unlock,
            "unlock_code": config.commands.unlock_code is not None,
            "max_age": config.commands.max_age,
            "queue_size": config.commands.queue_size,
            "max_per_minute": config.commands.max_per_minute,
            "min_interval": config.commands.min_interval,
            "verify_after": config.commands.verify_after,
            "skip_unchanged": config.commands.skip_unchanged,
        },
        "state_dir": config.state_dir,
        "log_level": config.log_level,
    }
