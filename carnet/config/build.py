"""Parsed YAML in, a :class:`Config` out: every key is converted and checked by its
declaration, and every problem is collected, so the user fixes the file in one go."""

from __future__ import annotations

import dataclasses
import difflib
import functools
import os
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

from carnet.config import checks
from carnet.config.checks import SCALARS, Invalid
from carnet.config.fields import coercion_of, is_secret, rule_of
from carnet.config.model import (
    AccountConfig,
    Config,
    DiscoveryConfig,
    MqttConfig,
    TlsConfig,
    VendorConfig,
)
from carnet.config.substitution import Context, expand, join
from carnet.core.errors import ConfigError
from carnet.core.topic_rules import VEHICLE_NAME

STATE_DIR_ENV = "CARNET2MQTT_STATE_DIR"
"""When the file has no ``state_dir``, this variable (else ``./state``) is used, so one
container image or unit file can place the tokens without editing the user's file."""

_FAILED: Any = object()


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


def _accepted(cls: type, name: str) -> str:
    return rule_of(cls, name).accepted


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _unknown_key(path: str, key: object, names: list[str]) -> str:
    close = difflib.get_close_matches(str(key), names, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"{join(path, key)}: unknown key{hint} (accepted here: {', '.join(names)})"


def _build(cls: type, data: Any, path: str, ctx: Context) -> Any:
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
        sub = join(path, f.name)
        if f.name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                ctx.problems.append(f"{sub}: missing ({_accepted(cls, f.name)})")
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


def _field(cls: type, name: str, hint: Any, raw: Any, path: str, ctx: Context) -> Any:
    if path in ctx.unresolved:
        return _FAILED  # already reported; the half-substituted text would only add noise
    secret = is_secret(cls, name)
    rule = rule_of(cls, name)
    try:
        override = coercion_of(cls, name)
        value = override(raw) if override else _convert(hint, raw, path, ctx)
        if value is not _FAILED and value is not None and rule.check:
            value = rule.check(value)
        return value
    except Invalid as exc:
        wrong = exc.wrong.format(value=_show(raw, secret))
        ctx.problems.append(f"{path}: {wrong} ({_accepted(cls, name)})")
        return _FAILED


def _convert(hint: Any, raw: Any, path: str, ctx: Context) -> Any:
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
    if origin is tuple and args[0] in SCALARS:
        if not isinstance(raw, (list, tuple)):
            raise Invalid("{value} is not a list")
        return tuple(SCALARS[args[0]](value) for value in raw)
    if origin is tuple:
        return _build_list(args[0], raw, path, ctx)
    return SCALARS[hint](raw)


def _build_list(item: type, raw: Any, path: str, ctx: Context) -> Any:
    if not isinstance(raw, (list, tuple)):
        raise Invalid("{value} is not a list")
    built = [_build(item, value, f"{path}[{i}]", ctx) for i, value in enumerate(raw)]
    return _FAILED if any(value is _FAILED for value in built) else tuple(built)


def _build_vehicles(item: type, raw: Any, path: str, ctx: Context) -> Any:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise Invalid("{value} is not a mapping")
    result: dict[str, Any] = {}
    failed = False
    for key, value in raw.items():
        sub = join(path, key)
        if isinstance(key, bool) or not isinstance(key, (str, int)) or not str(key).strip():
            ctx.problems.append(f"{sub}: not a VIN or vehicleId (the VIN or vehicleId as text)")
            failed = True
            continue
        vehicle = _build(item, value, sub, ctx)
        if vehicle is _FAILED:
            failed = True
            name = value.get("name") if isinstance(value, Mapping) else None
            if isinstance(name, str) and VEHICLE_NAME.fullmatch(name):
                _claim_name(name, join(sub, "name"), ctx)  # still worth a duplicate check
            continue
        result[str(key)] = vehicle
        _claim_name(vehicle.name or str(key).lower(), join(sub, "name"), ctx)
    return _FAILED if failed else result


def _claim_name(name: str, path: str, ctx: Context) -> None:
    """Vehicle names are topic levels shared by all accounts, so they must be unique."""
    first = ctx.vehicle_names.setdefault(name, path)
    if first != path:
        ctx.problems.append(
            f"{path}: vehicle name '{name}' is already used by {first} "
            "(a name unique across all accounts)"
        )


# -------------------------------------------------------- cross-field checks


def _post_mqtt(values: dict[str, Any], raw: Mapping[str, Any], path: str, ctx: Context) -> bool:
    tls = values.get("tls")
    if "port" not in raw and isinstance(tls, TlsConfig) and tls.enabled:
        values["port"] = 8883
    discovery = values.get("discovery", DiscoveryConfig())
    if values.get("output") == "json" and getattr(discovery, "enabled", False):
        # Home Assistant's entities read the per-attribute topics.
        ctx.problems.append(
            f"{join(path, 'output')}: json leaves Home Assistant discovery without the "
            "per-attribute topics it reads (attribute or attribute_and_json, or set "
            "mqtt.discovery.enabled: false)"
        )
        return False
    return True


def _post_tls(values: dict[str, Any], raw: Mapping[str, Any], path: str, ctx: Context) -> bool:
    ok = True
    if values.get("keyfile") and not values.get("certfile"):
        ctx.problems.append(
            f"{join(path, 'keyfile')}: set without certfile "
            "(a client certificate in certfile, its key in keyfile)"
        )
        ok = False
    if values.get("enabled"):
        # Checked here, so that a missing file is one line from --check and not a
        # traceback from the daemon's first connection.
        for name in ("ca_certs", "certfile", "keyfile"):
            file = values.get(name)
            problem = checks.unreadable(file) if file else None
            if problem:
                ctx.problems.append(
                    f"{join(path, name)}: {file!r} {problem} "  # the whole path, not cut
                    f"({rule_of(TlsConfig, name).accepted})"
                )
                ok = False
    return ok


def _post_vendor(values: dict[str, Any], raw: Mapping[str, Any], path: str, ctx: Context) -> bool:
    first = values.get("login_retry", VendorConfig.login_retry)
    limit = values.get("login_retry_max", VendorConfig.login_retry_max)
    if limit < first:
        ctx.problems.append(
            f"{join(path, 'login_retry_max')}: {limit:g} is less than login_retry {first:g} "
            f"({rule_of(VendorConfig, 'login_retry_max').accepted})"
        )
        return False
    return True


def _post_account(values: dict[str, Any], raw: Mapping[str, Any], path: str, ctx: Context) -> bool:
    email = values.get("email")
    if not email:
        return True
    sub = join(path, "email")
    first = ctx.emails.setdefault(email.lower(), sub)
    if first != sub:
        ctx.problems.append(f"{sub}: the same account as {first} (each account once)")
        return False
    return True


_PostCheck = Callable[[dict[str, Any], Mapping[str, Any], str, Context], bool]
_POST: dict[type, _PostCheck] = {
    MqttConfig: _post_mqtt,
    TlsConfig: _post_tls,
    VendorConfig: _post_vendor,
    AccountConfig: _post_account,
}


def parse_config(data: object, environ: Mapping[str, str] | None = None) -> Config:
    """Turn parsed YAML into a :class:`Config`, or raise :class:`ConfigError` listing
    every problem, one line each, so a user fixes the file in one go."""
    ctx = Context(environ=os.environ if environ is None else environ)
    if data is None:
        data = {}
    if isinstance(data, Mapping) and "state_dir" not in data:
        data = {**data, "state_dir": f"${{{STATE_DIR_ENV}:-./state}}"}
    expanded = expand(data, "", ctx)
    config = _build(Config, expanded, "", ctx)
    if ctx.problems:
        raise ConfigError(list(dict.fromkeys(ctx.problems)))
    return typing.cast(Config, config)
