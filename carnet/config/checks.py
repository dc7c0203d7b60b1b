"""What a key's value must be: the checks and conversions its declaration names.

A check normalises a converted value or raises :class:`Invalid`; the message is a
template with ``{value}``, so the builder decides whether the value may be shown.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from carnet.core.topic_rules import BRIDGE, VEHICLE_NAME, check_topic

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
_PIN = re.compile(r"[0-9]+")


class Invalid(Exception):
    """A value is wrong. ``wrong`` is a template with ``{value}``, so the caller decides
    whether the value may be shown (never for secrets)."""

    def __init__(self, wrong: str) -> None:
        super().__init__(wrong)
        self.wrong = wrong


@dataclass(frozen=True)
class Rule:
    accepted: str  # what this key accepts, shown with every problem of the key
    check: Callable[[Any], Any] | None = None  # normalises a coerced value or raises Invalid


def within(low: float, high: float | None = None) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value < low or (high is not None and value > high):
            raise Invalid("{value} is out of range")
        return value

    return check


def one_of(*choices: str) -> Callable[[Any], Any]:
    """Case-insensitive choice that returns the canonical spelling."""
    canonical = {choice.lower(): choice for choice in choices}

    def check(value: Any) -> Any:
        try:
            return canonical[value.strip().lower()]
        except KeyError:
            raise Invalid("{value} is not one of the accepted values") from None

    return check


def non_empty(value: str) -> str:
    if not value.strip():
        raise Invalid("{value} is empty")
    return value


def topic(value: str) -> str:
    """A topic prefix: wildcards would subscribe to strangers' topics, and a leading or
    trailing slash silently creates an empty topic level.
    :func:`carnet.core.topic_rules.check_topic` decides; this only says which part of the
    rule is broken."""
    try:
        return check_topic(value)
    except ValueError:
        pass
    if not value:
        raise Invalid("{value} is empty")
    if "+" in value or "#" in value:
        raise Invalid("{value} contains a wildcard")
    if "\0" in value:
        raise Invalid("{value} contains a NUL character")
    raise Invalid("{value} has an empty topic level")


def topic_filters(value: tuple[str, ...]) -> tuple[str, ...]:
    """Response-topic filters: each a valid MQTT filter (``#`` last and alone in its level,
    ``+`` alone in its level), so that matching means what the ACL-minded reader expects."""
    for topic_filter in value:
        levels = topic_filter.split("/")
        if not topic_filter or "\0" in topic_filter:
            raise Invalid("{value} contains an empty filter or a NUL character")
        for n, level in enumerate(levels):
            if ("#" in level and (level != "#" or n != len(levels) - 1)) or (
                "+" in level and level != "+"
            ):
                raise Invalid(f"{{value}} contains the malformed filter {topic_filter!r}")
    return value


def url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Invalid("{value} is not an http(s) URL")
    return value.strip().rstrip("/")


def email(value: str) -> str:
    local, at, domain = value.strip().rpartition("@")
    if not at or not local or not domain:
        raise Invalid("{value} is not an e-mail address")
    return value.strip()


def pin(value: str) -> str:
    if not _PIN.fullmatch(value):
        raise Invalid("{value} is not digits only")
    return value


def vehicle_name(value: str) -> str:
    if not VEHICLE_NAME.fullmatch(value):
        raise Invalid("{value} is not a valid topic level")
    if value == BRIDGE:
        raise Invalid("{value} is reserved for the bridge's own topics")
    return value


def unreadable(file: str) -> str | None:
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


def non_empty_list(value: tuple[Any, ...]) -> tuple[Any, ...]:
    if not value:
        raise Invalid("the list is empty")
    return value


def seconds(low: float, high: float, more: str = "") -> Rule:
    """A duration: every one has both bounds, so that neither ``1e300`` (an overflow
    downstream) nor ``0.001`` (a busy loop, a defeated back-off) gets through."""
    return Rule(f"seconds, {low:g}..{high:g}{more}", within(low, high))


def as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise Invalid("{value} is not true or false")


def as_int(value: Any) -> int:
    """Environment variables are text, so digits in a string count as a number too."""
    if isinstance(value, bool):
        raise Invalid("{value} is not a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip(), 10)
        except ValueError:
            pass
    raise Invalid("{value} is not a whole number")


def as_float(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        result = float(value)
    elif isinstance(value, str):
        try:
            result = float(value.strip())
        except ValueError:
            raise Invalid("{value} is not a number") from None
    else:
        raise Invalid("{value} is not a number")
    if not math.isfinite(result):
        raise Invalid("{value} is not a finite number")
    return result


def as_str(value: Any) -> str:
    """Numbers are refused rather than converted: YAML reads an unquoted ``0123`` as
    the octal number 83, which would silently change a PIN or a password."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise Invalid("{value} is a number; put it in quotes to make it text")
    raise Invalid("{value} is not text")


def as_protocol(value: Any) -> str:
    if isinstance(value, bool):
        raise Invalid("{value} is not an MQTT protocol version")
    if isinstance(value, (int, float)) and value == 5:
        return "5"
    if isinstance(value, str) and value.strip().lower() in ("5", "5.0", "v5", "3.1.1", "v3.1.1"):
        return "5" if "5" in value else "3.1.1"
    raise Invalid("{value} is not an MQTT protocol version")


SCALARS: dict[Any, Callable[[Any], Any]] = {
    bool: as_bool,
    int: as_int,
    float: as_float,
    str: as_str,
}
