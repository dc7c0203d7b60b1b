"""Parsers of ``/set`` payloads: what each writable attribute accepts, and why not."""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping

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


def parse_number(text: str) -> float:
    word = text.strip()
    if not NUMBER_TEXT.match(word):
        raise InvalidPayload(f"{text!r} is not a number")
    return float(word)


def _shown(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _in_range(value: float, bounds: NumberRange, unit: str) -> float:
    if not bounds.minimum <= value <= bounds.maximum:
        raise InvalidPayload(
            f"{_shown(value)} is outside {bounds.minimum:g}..{bounds.maximum:g} {unit}".rstrip()
        )
    steps = (value - bounds.minimum) / bounds.step
    if abs(steps - round(steps)) > 1e-9:
        raise InvalidPayload(
            f"{_shown(value)} is not in steps of {bounds.step:g} from {bounds.minimum:g}"
        )
    return value


TARGET_TEMPERATURE = {"°F": NumberRange(60, 85), "°C": NumberRange(16, 29)}
POLL_INTERVAL = {"s": NumberRange(60, 86400)}
TARGET_SOC = {"%": NumberRange(50, 100, 10)}
DEFAULT_TARGET = {"°F": 72, "°C": 22}


def _whole(bounds: NumberRange) -> bool:
    return float(bounds.minimum).is_integer() and float(bounds.step).is_integer()


def _targets(ctx: ParseContext) -> Mapping[str, NumberRange]:
    """The vehicle's climate targets, else the catalog's."""
    return ctx.climate_targets or TARGET_TEMPERATURE


def target_temperature_accepts(ctx: ParseContext) -> str:
    ranges = _targets(ctx)
    kind = "a whole number" if all(_whole(bounds) for bounds in ranges.values()) else "a number"
    each = ", ".join(
        f"{bounds.minimum:g}..{bounds.maximum:g}"
        + (f" in steps of {bounds.step:g}" if bounds.step != 1 else "")
        + f" in {unit} accounts"
        for unit, bounds in ranges.items()
    )
    return f"{kind}: {each}"


def parse_target_temperature(text: str, ctx: ParseContext) -> int | float:
    ranges = _targets(ctx)
    number = parse_number(text)
    unit = ctx.unit if ctx.unit in ranges else guess_temperature_unit(number)
    bounds = ranges.get(unit) or next(iter(ranges.values()))
    if _whole(bounds):
        return int(_in_range(parse_integer(text), bounds, unit))
    return _in_range(number, bounds, unit)


def parse_target_soc(text: str, _ctx: ParseContext) -> int:
    return int(_in_range(parse_integer(text), TARGET_SOC["%"], "%"))


def parse_poll_interval(text: str, _ctx: ParseContext) -> int:
    return int(_in_range(parse_integer(text), POLL_INTERVAL["s"], "s"))


def _charge_amps(ctx: ParseContext) -> list[int]:
    """The vehicle's numeric charge current settings, lowest first."""
    return sorted(int(value) for value in ctx.charge_currents if value.isdigit())


def _either(words: list[str]) -> str:
    return f"{', '.join(words[:-1])} or {words[-1]}" if len(words) > 1 else words[0]


def _charge_words(ctx: ParseContext) -> list[str]:
    """The vehicle's charge current settings that are words (``max``, ``reduced``)."""
    return [value for value in ctx.charge_currents if not value.isdigit()]


def charge_current_accepts(ctx: ParseContext) -> str:
    amps = [str(value) for value in _charge_amps(ctx)]
    if not ctx.charge_currents:
        return "nothing: the vehicle has no charge currents"
    if not amps:
        return f"exactly {_either(list(ctx.charge_currents))}"
    return f"{', '.join(ctx.charge_currents)}, or amps (mapped down to {_either(amps)})"


def parse_charge_current(text: str, ctx: ParseContext) -> int | str:
    """A setting's word, or amps when the vehicle's settings are amps: those map down to
    the highest setting not above them (evcc sends amps)."""
    word = text.strip().lower()
    words = _charge_words(ctx)
    if word in words:
        return word
    if not _charge_amps(ctx):
        raise InvalidPayload(f"{text!r} is not {_either(words or ['a setting'])}")
    if not NUMBER_TEXT.match(word):
        named = f" nor {_either(words)}" if words else ""
        raise InvalidPayload(f"{text!r} is neither a current in amps{named}")
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
