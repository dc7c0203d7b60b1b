"""How a value becomes its plain payload and its value in the vehicle's JSON (SPEC §4)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from carnet.catalog.model import Encoding, Entity


def _plain_number(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _timestamp(value: Any) -> str:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    return str(value)


def json_value(item: Entity, value: Any) -> Any:
    """The value as it appears in the ``<base>/<vehicle>`` JSON object."""
    if isinstance(value, bool):
        if item.encoding is Encoding.SWITCH:
            return "ON" if value else "OFF"
        if item.encoding is Encoding.OPEN_CLOSED:
            return "OPEN" if value else "CLOSED"
        if item.encoding is Encoding.LOCKED_UNLOCKED:
            return "LOCKED" if value else "UNLOCKED"
        return value
    if item.encoding is Encoding.TIMESTAMP:
        return _timestamp(value)
    if item.encoding is Encoding.NUMBER:
        return _plain_number(value)
    if item.encoding is Encoding.LOCATION and isinstance(value, dict):
        return {"latitude": value.get("latitude"), "longitude": value.get("longitude")}
    return value


def encode(item: Entity, value: Any) -> str:
    """The plain payload of ``<base>/<vehicle>/<attribute>`` (SPEC §4)."""
    if value is None:
        raise ValueError(f"{item.key}: an absent value has no payload")
    result = json_value(item, value)
    if isinstance(result, str):
        return result
    return json.dumps(result, separators=(",", ":"))
