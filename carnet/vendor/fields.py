"""Reading fields out of a vendor's JSON, one value at a time.

Generation-neutral helpers for the per-attribute readings of a generation package, and
the runner that turns those readings into a :class:`~carnet.vendor.protocol.Report`.
Each reading runs on its own, so a section with an unexpected shape costs the values
that depend on it and nothing else, and a new vendor enum value never fails a poll.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from carnet.vendor.protocol import Report

_LOG = logging.getLogger(__name__)

Raw = TypeVar("Raw")

# Markers vendors use for parts a car lacks; they mean "absent", like a missing field.
ABSENT_MARKERS = frozenset({"NOTAVAILABLE", "UNSUPPORTED"})
NUMBER_TEXT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
TEMPERATURE_UNITS = {"F": "°F", "C": "°C"}


class MalformedData(ValueError):
    """A field has a shape the vendor does not document (a list where an object belongs)."""


# --- warnings that would otherwise repeat on every poll --------------------------------

_WARNED: set[str] = set()
_WARNED_MAX = 1000


def warn_once(key: str, message: str) -> None:
    """Log a data problem once per process, so a vendor quirk does not flood the log.

    ``key`` names the problem without its changing details (attribute and kind), so a
    value that differs on every poll is logged once and does not use up the cap.
    """
    if key in _WARNED or len(_WARNED) >= _WARNED_MAX:
        return
    _WARNED.add(key)
    _LOG.warning("%s", message)


# --- fields -----------------------------------------------------------------------------


def walk(section: Any, *path: str) -> Any:
    """The field at ``path``, or None when it (or a parent) is missing or marked absent."""
    node = section
    for depth, step in enumerate(path):
        if node is None:
            return None
        if not isinstance(node, dict):
            where = ".".join(path[:depth]) or "section"
            raise MalformedData(f"{where} is a {type(node).__name__}, not an object")
        node = node.get(step)
    if isinstance(node, str) and node.strip().upper() in ABSENT_MARKERS:
        return None
    return node


def number(value: Any) -> int | float | None:
    """A finite number; numeric strings are accepted because some fields arrive quoted."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise MalformedData(f"expected a number, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise MalformedData(f"expected a finite number, got {value!r}")
        return int(value) if value.is_integer() else value
    if isinstance(value, str) and NUMBER_TEXT.match(value.strip()):
        return number(float(value)) if "." in value else int(value)
    raise MalformedData(f"expected a number, got {value!r}")


def flag(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise MalformedData(f"expected true or false, got {value!r}")


def enum(key: str, value: Any, known: Mapping[str, Any]) -> Any:
    """Map a vendor enum; an unknown value is kept as it came (and logged once)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedData(f"expected text, got {value!r}")
    if value in known:
        return known[value]
    warn_once(
        f"{key}:unknown value",
        f"{key}: unknown value {value!r} from the vendor, passed on unchanged "
        "(later unknown values of it are not logged)",
    )
    return value


def epoch(value: Any) -> datetime | None:
    """Epoch milliseconds (or an ISO 8601 string) as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str) and not NUMBER_TEXT.match(value.strip()):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise MalformedData(f"expected a timestamp, got {value!r}") from exc
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    millis = number(value)
    if millis is None or not 946684800000 <= millis <= 4102444800000:  # 2000 .. 2100
        raise MalformedData(f"timestamp out of range: {value!r}")
    return datetime.fromtimestamp(millis / 1000, UTC)


def distance_unit(text: Any) -> str | None:
    if not isinstance(text, str):
        return None
    unit = text.strip().lower()
    if unit in ("km", "kilometer", "kilometers", "kilometre", "kilometres"):
        return "km"
    if unit in ("mi", "mile", "miles"):
        return "mi"
    return None


def guess_temperature_unit(value: float) -> str:
    """For a vendor that gives no unit: nobody sets a cabin to 40 °C, nor to below 40 °F."""
    return "°F" if value >= 40 else "°C"


# --- readings ---------------------------------------------------------------------------

# (raw parts, account temperature unit "°F"/"°C") -> unit of the value, or None when unknown
UnitReading = Callable[[Raw, str], "str | None"]


@dataclass(frozen=True)
class Reading(Generic[Raw]):
    """How one catalog attribute is read from a generation's raw parts.

    ``unit`` is given only where the vendor decides it (distances, temperatures); a fixed
    unit belongs to the catalog entry. ``details`` are extra JSON attributes.
    """

    value: Callable[[Raw], Any]
    unit: UnitReading[Raw] | None = None
    details: Callable[[Raw], dict[str, Any] | None] | None = None


def _run(key: str, what: str, getter: Callable[..., Any], *args: Any) -> Any:
    """Call one reading; any failure costs this one value and is logged once."""
    try:
        return getter(*args)
    except Exception as exc:  # isolation is the point: one bad field never loses the rest
        warn_once(
            f"{key}:malformed {what}",
            f"{key}: ignoring malformed {what} from the vendor ({exc}); "
            "not logged again for this attribute",
        )
        return None


def run_readings(readings: Mapping[str, Reading[Raw]], raw: Raw, account_unit: str) -> Report:
    """Every value the readings find in ``raw``, with the units the vendor decides."""
    values: dict[str, Any] = {}
    units: dict[str, str] = {}
    attributes: dict[str, dict[str, Any]] = {}
    for key, reading in readings.items():
        value = _run(key, "value", reading.value, raw)
        if value is None:
            continue
        if reading.unit is not None:
            unit = _run(key, "unit", reading.unit, raw, account_unit)
            if unit is None:
                warn_once(
                    f"{key}:no unit",
                    f"{key}: no unit reported by the vendor, value not published",
                )
                continue
            units[key] = unit
        values[key] = value
        if reading.details is not None:
            details = _run(key, "details", reading.details, raw)
            if details:
                attributes[key] = details
    return Report(values, units, attributes)
