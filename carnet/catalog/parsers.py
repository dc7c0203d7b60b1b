"""Parsers of ``/set`` payloads: what each writable attribute accepts, and why not."""

from __future__ import annotations

import hmac
import json

from carnet.catalog.model import InvalidPayload, ParseContext
from carnet.vendor.fields import NUMBER_TEXT, guess_temperature_unit
from carnet.vendor.protocol import NumberRange

_TRUE = frozenset({"on", "true", "1"})
_FALSE = frozenset({"off", "false", "0"})


def parse_switch(text: str, _ctx: ParseContext) -> bool:
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise InvalidPayload(f"{text!r} is not a switch value")


def parse_climate(text: str, ctx: ParseContext) -> bool:
    """The switch values, plus the HA climate entity's modes ``heat_cool`` and ``off``."""
    if text.strip().lower() == "heat_cool":
        return True
    return parse_switch(text, ctx)


def parse_integer(text: str) -> int:
    word = text.strip()
    if not NUMBER_TEXT.match(word):
        raise InvalidPayload(f"{text!r} is not a number")
    value = float(word)
    if not value.is_integer():
        raise InvalidPayload(f"{text!r} is not a whole number")
    return int(value)


def _in_range(value: int, bounds: NumberRange, unit: str) -> int:
    if not bounds.minimum <= value <= bounds.maximum:
        raise InvalidPayload(
            f"{value} is outside {bounds.minimum:g}..{bounds.maximum:g} {unit}".rstrip()
        )
    return value


TARGET_TEMPERATURE = {"°F": NumberRange(60, 85), "°C": NumberRange(16, 29)}
POLL_INTERVAL = {"s": NumberRange(60, 86400)}
DEFAULT_TARGET = {"°F": 72, "°C": 22}


def parse_target_temperature(text: str, ctx: ParseContext) -> int:
    value = parse_integer(text)
    unit = ctx.unit if ctx.unit in TARGET_TEMPERATURE else guess_temperature_unit(value)
    return _in_range(value, TARGET_TEMPERATURE[unit], unit)


def parse_poll_interval(text: str, _ctx: ParseContext) -> int:
    return _in_range(parse_integer(text), POLL_INTERVAL["s"], "s")


def _charge_amps(ctx: ParseContext) -> list[int]:
    """The vehicle's numeric charge current settings, lowest first."""
    return sorted(int(value) for value in ctx.charge_currents if value.isdigit())


def charge_current_accepts(ctx: ParseContext) -> str:
    amps = [str(value) for value in _charge_amps(ctx)]
    if not amps:
        return ", ".join(ctx.charge_currents) or "nothing: the vehicle has no charge currents"
    mapped = f"{', '.join(amps[:-1])} or {amps[-1]}" if len(amps) > 1 else amps[0]
    return f"{', '.join(ctx.charge_currents)}, or amps (mapped down to {mapped})"


def parse_charge_current(text: str, ctx: ParseContext) -> int | str:
    """``max`` or amps; amps map down to the highest setting not above them (evcc sends amps)."""
    word = text.strip().lower()
    if word == "max" and "max" in ctx.charge_currents:
        return "max"
    if not NUMBER_TEXT.match(word):
        raise InvalidPayload(f"{text!r} is neither a current in amps nor max")
    amps = float(word)
    settings = _charge_amps(ctx)
    allowed = [value for value in settings if value <= amps]
    if not allowed:
        lowest = f"{settings[0]} A" if settings else "none"
        raise InvalidPayload(f"{text!r} A is below the lowest setting, {lowest}")
    return allowed[-1]


def parse_lock(text: str, ctx: ParseContext) -> str:
    """LOCK/UNLOCK plain, or JSON ``{"state": ..., "code": ...}`` as the HA lock sends it."""
    code: str | None = None
    word = text.strip()
    if word.startswith("{"):
        try:
            document = json.loads(word)
        except (ValueError, RecursionError) as exc:
            raise InvalidPayload("the JSON payload does not parse") from exc
        if not isinstance(document, dict) or not isinstance(document.get("state"), str):
            raise InvalidPayload('JSON must be {"state": "LOCK"|"UNLOCK", "code": "..."}')
        word = document["state"]
        raw_code = document.get("code")
        code = None if raw_code is None or isinstance(raw_code, dict | list) else str(raw_code)
    action = word.strip().upper()
    if action == "LOCK":
        return "LOCK"
    if action != "UNLOCK":
        raise InvalidPayload(f"{word!r} is not LOCK or UNLOCK")
    if not ctx.unlock_enabled:
        raise InvalidPayload("unlocking is disabled in this bridge's configuration")
    if ctx.unlock_code is not None and not (
        code is not None and hmac.compare_digest(code.encode(), ctx.unlock_code.encode())
    ):
        raise InvalidPayload("UNLOCK needs the right code")
    return "UNLOCK"


HORN_LIGHTS = ("BOTH", "HORN", "LIGHTS")


def parse_horn_lights(text: str, _ctx: ParseContext) -> str:
    word = text.strip().upper()
    if word == "PRESS":
        return "BOTH"
    if word in HORN_LIGHTS:
        return word
    raise InvalidPayload(f"{text!r} is not PRESS, BOTH, HORN or LIGHTS")


def parse_press(text: str, _ctx: ParseContext) -> str:
    if text.strip().upper() != "PRESS":
        raise InvalidPayload(f"{text!r} is not PRESS")
    return "PRESS"
