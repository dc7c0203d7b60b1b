"""``/set`` payloads -> a validated ``Command``, or a ``Rejection`` that says what is accepted.

Everything here is pure and never raises on any input: the payload comes from whoever
can publish to the broker. What each attribute accepts is the catalog's business
(``CommandSpec.parse``); this module frames it: size limits, UTF-8, JSON objects of
several commands, retained messages, unknown and read-only attributes. A rejection never
repeats an unlock code.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from carnet.catalog.model import Entity, InvalidPayload, ParseContext
from carnet.catalog.table import find, writable
from carnet.vendor.protocol import NumberRange

if TYPE_CHECKING:
    from carnet.catalog.state import VehicleState

_LOG = logging.getLogger(__name__)

MAX_PLAIN_BYTES = 1024
MAX_JSON_BYTES = 16 * 1024
MAX_DEPTH = 4  # {"lock": {"state": ..., "code": ...}} is 2 deep
RESERVED_KEYS = ("transaction", "code", "force")
_SHOWN = 200  # characters of a payload echoed in results


@dataclass(frozen=True)
class Command:
    vehicle: str  # vehicle topic name
    attribute: str  # entity key
    value: Any  # normalised: "LOCK", True, 72, 13, "max", "HORN", ...
    raw: str  # what the user sent (unlock codes masked), for the result message
    transaction: Any = None  # echoed from JSON requests
    received: float = field(default_factory=time.monotonic)
    response_topic: str | None = None
    correlation_data: bytes | None = None
    force: bool = False  # send even when the car already is in the state asked for


@dataclass(frozen=True)
class Rejection:
    attribute: str
    raw: str
    detail: str  # says what is accepted
    transaction: Any = None
    vehicle: str = ""
    response_topic: str | None = None
    correlation_data: bytes | None = None

    def result(self) -> dict[str, Any]:
        """The result message of SPEC §6."""
        return {
            "attribute": self.attribute,
            "value": self.raw,
            "status": "rejected",
            "detail": self.detail,
            "transaction": self.transaction,
        }


@dataclass(frozen=True)
class _Message:
    """What every command of one MQTT message shares."""

    vehicle: str
    state: VehicleState | None
    unlock_enabled: bool
    unlock_code: str | None
    received: float
    response_topic: str | None
    correlation_data: bytes | None
    transaction: Any = None
    force: bool = False
    charge_currents: tuple[str, ...] = ()
    climate_targets: Mapping[str, NumberRange] = field(default_factory=dict)

    def context(self, attribute: str) -> ParseContext:
        state = self.state
        return ParseContext(
            unit=state.units.get(attribute) if state is not None else None,
            unlock_enabled=self.unlock_enabled,
            unlock_code=self.unlock_code,
            charge_currents=self.charge_currents,
            climate_targets=self.climate_targets,
        )

    def reject(self, attribute: str, raw: str, detail: str) -> Rejection:
        return Rejection(attribute[:_SHOWN], raw, detail, self.transaction, self.vehicle,
                         self.response_topic, self.correlation_data)


def _writable_list() -> str:
    return ", ".join(item.key for item in writable())


def not_offered(attribute: str, intents: frozenset[str]) -> str | None:
    """Why a vehicle whose capabilities list ``intents`` cannot take a command on
    ``attribute`` (its generation or the car lacks it); None when it can."""
    item = find(attribute)
    spec = item.command if item is not None else None
    if spec is None or spec.intent is None or spec.intent in intents:
        return None
    offered = (i.key for i in writable()
               if i.command is not None and i.command.intent in (None, *intents))
    return (f"{attribute} is not offered for this vehicle; its writable attributes: "
            f"{', '.join(offered)}")


def _mask(raw: str) -> str:
    """The payload as shown in results: truncated, with any ``code`` replaced."""
    if '"code"' in raw:
        try:
            document = json.loads(raw)
        except (ValueError, RecursionError):
            return "(payload with a code)"
        if isinstance(document, dict) and "code" in document:
            document["code"] = "***"
            raw = json.dumps(document, separators=(",", ":"))
    return raw if len(raw) <= _SHOWN else raw[:_SHOWN] + "…"


def _decode(payload: bytes | str, limit: int) -> str:
    if isinstance(payload, str):
        payload = payload.encode("utf-8", "surrogatepass")
    if len(payload) > limit:
        raise InvalidPayload(f"payload too large ({len(payload)} bytes, at most {limit})")
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidPayload("payload is not valid UTF-8") from exc


def _depth(value: Any) -> int:
    """Nesting depth of parsed JSON, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
    return deepest


def _reject_constant(name: str) -> Any:
    raise InvalidPayload(f"{name} is not a number")


def _load_json(text: str) -> Any:
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except RecursionError as exc:
        raise InvalidPayload(f"JSON nested too deeply (at most {MAX_DEPTH} levels)") from exc
    except ValueError as exc:  # includes JSONDecodeError and InvalidPayload
        raise InvalidPayload(str(exc) if isinstance(exc, InvalidPayload) else
                             "payload is not valid JSON") from exc
    if _depth(document) > MAX_DEPTH:
        raise InvalidPayload(f"JSON nested too deeply (at most {MAX_DEPTH} levels)")
    return document


def _entity_for(attribute: str) -> Entity | str:
    """The writable entity, or the reason the attribute cannot be set."""
    item = find(attribute)
    if item is None:
        return f"unknown attribute; writable attributes: {_writable_list()}"
    if item.command is None:
        if item.writes:
            return f"no set topic of its own: send {item.payload_press} to {item.writes}"
        return f"{attribute} is read-only; writable attributes: {_writable_list()}"
    return item


def _validate(message: _Message, attribute: str, text: str, shown: str) -> Command | Rejection:
    """Parse one attribute's payload text with the catalog's parser."""
    item = _entity_for(attribute)
    if isinstance(item, str):
        return message.reject(attribute, shown, item)
    spec = item.command
    assert spec is not None
    context = message.context(attribute)
    try:
        value = spec.parse(text, context)
    except InvalidPayload as exc:
        if attribute == "lock" and "UNLOCK" in str(exc):
            _LOG.warning("unlock of %s refused: %s", message.vehicle, exc)
        return message.reject(attribute, shown, f"{exc}; accepted: {spec.accepted(context)}")
    except Exception:  # a parser bug must not take the subscriber down
        _LOG.exception("parsing %s for %s failed", attribute, message.vehicle)
        return message.reject(attribute, shown,
                              f"could not parse; accepted: {spec.accepted(context)}")
    return Command(message.vehicle, attribute, value, shown, message.transaction,
                   message.received, message.response_topic, message.correlation_data,
                   message.force)


def _plain_text(text: str) -> str:
    """A JSON string literal (``"ON"``) means its content; anything else is taken as is."""
    stripped = text.strip()
    if len(stripped) >= 2 and stripped[0] == stripped[-1] == '"':
        try:
            value = json.loads(stripped)
        except ValueError:
            return stripped
        if isinstance(value, str):
            return value.strip()
    return stripped


def _message(
    vehicle: str,
    state: VehicleState | None,
    unlock_enabled: bool,
    unlock_code: str | None,
    received: float | None,
    response_topic: str | None,
    correlation_data: bytes | None,
    charge_currents: tuple[str, ...],
    climate_targets: Mapping[str, NumberRange],
) -> _Message:
    return _Message(
        vehicle, state, unlock_enabled, unlock_code,
        time.monotonic() if received is None else received, response_topic, correlation_data,
        charge_currents=charge_currents, climate_targets=climate_targets,
    )


def parse_set(
    vehicle: str,
    attribute: str,
    payload: bytes | str,
    *,
    state: VehicleState | None = None,
    unlock_enabled: bool = True,
    unlock_code: str | None = None,
    retained: bool = False,
    received: float | None = None,
    response_topic: str | None = None,
    correlation_data: bytes | None = None,
    charge_currents: tuple[str, ...] = (),
    climate_targets: Mapping[str, NumberRange] | None = None,
) -> Command | Rejection:
    """A plain payload on ``<base>/<vehicle>/<attribute>/set``.

    ``state`` gives the units numbers are checked in (the account's temperature unit);
    ``charge_currents`` and ``climate_targets`` are the vehicle's, from its capabilities.
    """
    message = _message(vehicle, state, unlock_enabled, unlock_code, received, response_topic,
                       correlation_data, charge_currents, climate_targets or {})
    try:
        text = _decode(payload, MAX_PLAIN_BYTES)
    except InvalidPayload as exc:
        return message.reject(attribute, "", _problem_detail(message, attribute, str(exc)))
    shown = _mask(text.strip())
    if retained:
        return message.reject(attribute, shown, "retained command ignored")
    text = _plain_text(text)
    if not text:
        return message.reject(attribute, shown, _empty_detail(message, attribute))
    return _validate(message, attribute, text, shown)


def _problem_detail(message: _Message, attribute: str, problem: str) -> str:
    """``problem``, followed by what the attribute accepts (or why it accepts nothing)."""
    item = _entity_for(attribute)
    if isinstance(item, str):
        return f"{problem}; {item}"
    assert item.command is not None
    return f"{problem}; accepted: {item.command.accepted(message.context(attribute))}"


def _empty_detail(message: _Message, attribute: str) -> str:
    item = _entity_for(attribute)
    if isinstance(item, str) or item.command is None:
        return "empty payload"
    return f"empty payload; accepted: {item.command.accepted(message.context(attribute))}"


def _json_text(value: Any) -> str | None:
    """A JSON value as the text a plain ``/set`` payload would carry."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float | dict):
        return json.dumps(value)
    return None


def parse_vehicle_set(
    vehicle: str,
    payload: bytes | str,
    *,
    state: VehicleState | None = None,
    unlock_enabled: bool = True,
    unlock_code: str | None = None,
    retained: bool = False,
    received: float | None = None,
    response_topic: str | None = None,
    correlation_data: bytes | None = None,
    charge_currents: tuple[str, ...] = (),
    climate_targets: Mapping[str, NumberRange] | None = None,
) -> list[Command | Rejection]:
    """A JSON object on ``<base>/<vehicle>/set``: one Command or Rejection per attribute.

    ``transaction`` is echoed in every result; ``code`` is the unlock code for a plain
    ``"lock": "UNLOCK"`` entry; ``"force": true`` sends even a command that would change
    nothing.
    """
    message = _message(vehicle, state, unlock_enabled, unlock_code, received, response_topic,
                       correlation_data, charge_currents, climate_targets or {})
    try:
        document = _load_json(_decode(payload, MAX_JSON_BYTES))
    except InvalidPayload as exc:
        return [message.reject("", "", f"{exc}; send a JSON object {{attribute: value, ...}}")]
    if not isinstance(document, dict):
        return [message.reject("", _mask(json.dumps(document)),
                               "send a JSON object {attribute: value, ...}")]
    transaction = document.get("transaction")
    message = replace(message, transaction=transaction)
    if retained:
        return [message.reject("", "", "retained command ignored")]
    force = document.get("force", False)
    if not isinstance(force, bool):
        return [message.reject("force", _mask(json.dumps(force)),
                               "force must be true or false (true: send even if unchanged)")]
    message = replace(message, force=force)
    entries = {key: value for key, value in document.items() if key not in RESERVED_KEYS}
    if not entries:
        return [message.reject("", "", f"no attribute given; writable attributes: "
                                       f"{_writable_list()}")]
    results: list[Command | Rejection] = []
    for attribute, value in entries.items():
        if attribute == "lock" and isinstance(value, str) and "code" in document:
            value = {"state": value, "code": document["code"]}
        text = _json_text(value)
        shown = _mask(text if text is not None else json.dumps(value))
        if text is None or not text.strip():
            results.append(message.reject(attribute, shown, _empty_detail(message, attribute)))
            continue
        results.append(_validate(message, attribute, text, shown))
    return results
