"""The entity catalog: one entry per vehicle attribute, the single source of truth.

State parsing, plain and JSON payloads, ``/set`` validation, Home Assistant discovery
and the README's topic table are all derived from ``ENTITIES``. Adding an attribute means
adding one entry here; nothing else keeps a second list of keys.

Support is decided by data: an entity with a ``source`` exists for a vehicle when its
getter returned a value; one without a source exists when the keys in ``requires`` have
values (or always, for bridge-side entities such as ``refresh``).
"""

from __future__ import annotations

import enum
import hmac
import json
import logging
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from carnet.catalog.state import RawVehicleData, VehicleState
    from carnet.vendor.carnet_app.client import CarNetClient, Vehicle

_LOG = logging.getLogger(__name__)

Getter = Callable[["RawVehicleData"], Any]
# (raw data, account temperature unit "°F"/"°C") -> unit of the value, or None when unknown
UnitGetter = Callable[["RawVehicleData", str], "str | None"]

# Markers the vendor uses for parts a car lacks; they mean "absent", like a missing field.
ABSENT_MARKERS = frozenset({"NOTAVAILABLE", "UNSUPPORTED"})


class MalformedData(ValueError):
    """A field has a shape the vendor does not document (a list where an object belongs)."""


class InvalidPayload(ValueError):
    """A ``/set`` payload that the attribute does not accept; the message says why."""


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


# --- reading the raw sections ------------------------------------------------------------


def _walk(section: Any, *path: str) -> Any:
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


_NUMBER_TEXT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def _number(value: Any) -> int | float | None:
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
    if isinstance(value, str) and _NUMBER_TEXT.match(value.strip()):
        return _number(float(value)) if "." in value else int(value)
    raise MalformedData(f"expected a number, got {value!r}")


def _flag(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise MalformedData(f"expected true or false, got {value!r}")


def _enum(key: str, value: Any, known: Mapping[str, Any]) -> Any:
    """Map a vendor enum; an unknown value is kept as it came (and logged once)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedData(f"expected text, got {value!r}")
    if value in known:
        return known[value]
    warn_once(
        f"{key}:unknown value",
        f"{key}: unknown value {value!r} from Car-Net, passed on unchanged "
        "(later unknown values of it are not logged)",
    )
    return value


def _epoch(value: Any) -> datetime | None:
    """Epoch milliseconds (or an ISO 8601 string) as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str) and not _NUMBER_TEXT.match(value.strip()):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise MalformedData(f"expected a timestamp, got {value!r}") from exc
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    millis = _number(value)
    if millis is None or not 946684800000 <= millis <= 4102444800000:  # 2000 .. 2100
        raise MalformedData(f"timestamp out of range: {value!r}")
    return datetime.fromtimestamp(millis / 1000, UTC)


def _section(raw: RawVehicleData, name: str) -> Any:
    return getattr(raw, name)


def number_at(section: str, *path: str) -> Getter:
    return lambda raw: _number(_walk(_section(raw, section), *path))


def flag_at(section: str, *path: str) -> Getter:
    return lambda raw: _flag(_walk(_section(raw, section), *path))


def enum_at(key: str, known: Mapping[str, Any], section: str, *path: str) -> Getter:
    return lambda raw: _enum(key, _walk(_section(raw, section), *path), known)


def _distance_unit(text: Any) -> str | None:
    if not isinstance(text, str):
        return None
    unit = text.strip().lower()
    if unit in ("km", "kilometer", "kilometers", "kilometre", "kilometres"):
        return "km"
    if unit in ("mi", "mile", "miles"):
        return "mi"
    return None


def _status_distance_unit(raw: RawVehicleData) -> str | None:
    return _distance_unit(_walk(raw.status, "powerStatus", "cruiseRangeUnits"))


# --- derived values ---------------------------------------------------------------------

_OPEN = {"OPEN": True, "CLOSED": False}
# A vented (tilted) window is open as far as a binary sensor can say.
_WINDOW = {"OPEN": True, "VENTED": True, "CLOSED": False}
_LOCKED = {"LOCKED": "LOCKED", "UNLOCKED": "UNLOCKED"}
_PLUG = {"PLUGGEDIN": True, "UNPLUGGED": False}
# The vendor's priority codes; the names follow the legend of the health report.
HEALTH_CODES = {"A": "stop", "B": "repair", "C": "service", "D": "ok", "E": "info"}


def _fuel_level(raw: RawVehicleData) -> Any:
    """Fuel is absent on an EV: it reports 0 % fuel next to a battery level."""
    fuel = _number(_walk(raw.status, "powerStatus", "fuelPercentRemaining"))
    if fuel == 0 and _battery_present(raw):
        return None
    return fuel


def _battery_present(raw: RawVehicleData) -> bool:
    try:
        return _battery_level(raw) is not None
    except MalformedData:
        return False


_battery_level = number_at("status", "powerStatus", "battery", "chargePercentRemaining")
_plug_connected = enum_at("plug_connected", _PLUG, "status", "powerStatus", "battery", "chargePlug")
_minutes_to_full = number_at("status", "powerStatus", "battery", "minutesUntilFullCharge")


def _charging(raw: RawVehicleData) -> bool | None:
    """The status has no charging flag: the car charges while plugged in with minutes left.

    A full battery does not charge, whatever minutes the car still reports (the API
    description's own example has 100 % with 15 minutes to go).
    """
    plugged = _plug_connected(raw)
    if plugged is False:
        return False
    if plugged is not True:
        return None
    minutes = _minutes_to_full(raw)
    if minutes is None:
        return None
    try:
        level = _battery_level(raw)
    except MalformedData:  # reported with the battery level itself
        level = None
    return minutes > 0 and (level is None or level < 100)


def _odometer(raw: RawVehicleData) -> tuple[Any, str | None] | None:
    """The status mileage in the range's unit, else the health report's reading."""
    mileage = _number(_walk(raw.status, "currentMileage"))
    if mileage is not None:
        return mileage, _status_distance_unit(raw)
    reading = _number(_walk(raw.health, "odoReadCount"))
    if reading is not None:
        return reading, _distance_unit(_walk(raw.health, "odoUOM"))
    return None


def _maint_events(raw: RawVehicleData) -> list[dict[str, Any]]:
    events = _walk(raw.health, "vhrMaintEvents")
    if events is None:
        return []
    if not isinstance(events, list):
        raise MalformedData("vhrMaintEvents is not a list")
    return [event for event in events if isinstance(event, dict)]


def _next_service(raw: RawVehicleData, field_name: str) -> dict[str, Any] | None:
    """The maintenance event due soonest by ``field_name`` (distance or daysCount)."""
    best = None
    for event in _maint_events(raw):
        value = _number(_walk(event, field_name))
        if value is not None and (best is None or value < best[0]):
            best = (value, event)
    return None if best is None else {"value": best[0], "event": best[1]}


def _service_distance(raw: RawVehicleData) -> Any:
    found = _next_service(raw, "distance")
    return None if found is None else found["value"]


def _service_distance_unit(raw: RawVehicleData, _temperature: str) -> str | None:
    found = _next_service(raw, "distance")
    unit = None if found is None else _distance_unit(_walk(found["event"], "uom"))
    return unit or _distance_unit(_walk(raw.health, "odoUOM"))


def _service_days(raw: RawVehicleData) -> Any:
    found = _next_service(raw, "daysCount")
    return None if found is None else found["value"]


def _coordinates(node: Any) -> dict[str, float] | None:
    if node is None:
        return None
    latitude = _number(_walk(node, "latitude"))
    longitude = _number(_walk(node, "longitude"))
    if latitude is None or longitude is None or (latitude == 0 and longitude == 0):
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise MalformedData(f"coordinates out of range: {latitude}, {longitude}")
    return {"latitude": float(latitude), "longitude": float(longitude)}


def _location(raw: RawVehicleData) -> dict[str, float] | None:
    """Where the car is; where it was parked last when the live position is not given."""
    return _coordinates(_walk(raw.status, "location")) or _coordinates(
        _walk(raw.status, "lastParkedLocation")
    )


def _health(raw: RawVehicleData) -> Any:
    return _enum("health", _walk(raw.health, "overallPriorityCode"), HEALTH_CODES)


def _health_attributes(raw: RawVehicleData) -> dict[str, Any] | None:
    """The report's details, for the health sensor's attributes."""
    if _health(raw) is None:
        return None
    legend = {
        item.get("priorityCode"): item.get("priorityDescription")
        for item in _walk(raw.health, "priorityCodeLegend") or []
        if isinstance(item, dict)
    }
    code = _walk(raw.health, "overallPriorityCode")
    categories = {
        str(item.get("categoryDesc") or item.get("categoryCode")): HEALTH_CODES.get(
            item.get("categoryPriorityCode"), item.get("categoryPriorityCode")
        )
        for item in _walk(raw.health, "applicableCategories") or []
        if isinstance(item, dict)
    }
    report_time = _epoch(_walk(raw.health, "vhrTimeStamp"))
    attributes = {
        "code": code,
        "description": _walk(raw.health, "overAllPriorityDescription"),
        "meaning": legend.get(code),
        "categories": categories,
        "report_time": report_time.isoformat() if report_time else None,
        "service": [
            {
                "type": event.get("eventTypeDesc") or event.get("eventType"),
                "status": event.get("eventStatusDesc"),
                "distance": event.get("distance"),
                "days": event.get("daysCount"),
                "unit": _distance_unit(event.get("uom")),
            }
            for event in _maint_events(raw)
        ],
    }
    return {key: value for key, value in attributes.items() if value not in (None, {}, [])}


def _temperature_unit(_raw: RawVehicleData, temperature: str) -> str:
    return temperature


# --- payload parsers for /set ------------------------------------------------------------


@dataclass(frozen=True)
class ParseContext:
    """What a parser needs beyond the payload: the value's unit and the unlock policy."""

    unit: str | None = None
    unlock_enabled: bool = True
    unlock_code: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class NumberRange:
    minimum: float
    maximum: float
    step: float = 1


_TRUE = frozenset({"on", "true", "1"})
_FALSE = frozenset({"off", "false", "0"})


def _parse_switch(text: str, _ctx: ParseContext) -> bool:
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise InvalidPayload(f"{text!r} is not a switch value")


def _parse_climate(text: str, ctx: ParseContext) -> bool:
    """The switch values, plus the HA climate entity's modes ``heat_cool`` and ``off``."""
    if text.strip().lower() == "heat_cool":
        return True
    return _parse_switch(text, ctx)


def _parse_integer(text: str) -> int:
    word = text.strip()
    if not _NUMBER_TEXT.match(word):
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


def guess_temperature_unit(value: float) -> str:
    """Car-Net gives no unit: nobody sets a cabin to 40 °C, nor to below 40 °F."""
    return "°F" if value >= 40 else "°C"


def _parse_target_temperature(text: str, ctx: ParseContext) -> int:
    value = _parse_integer(text)
    unit = ctx.unit if ctx.unit in TARGET_TEMPERATURE else guess_temperature_unit(value)
    return _in_range(value, TARGET_TEMPERATURE[unit], unit)


def _parse_poll_interval(text: str, _ctx: ParseContext) -> int:
    return _in_range(_parse_integer(text), POLL_INTERVAL["s"], "s")


CHARGE_CURRENTS = (5, 10, 13)
CHARGE_CURRENT_OPTIONS = (*(str(amps) for amps in CHARGE_CURRENTS), "max")


def _parse_charge_current(text: str, _ctx: ParseContext) -> int | str:
    """``max`` or amps; amps map down to the highest setting not above them (evcc sends amps)."""
    word = text.strip().lower()
    if word == "max":
        return "max"
    if not _NUMBER_TEXT.match(word):
        raise InvalidPayload(f"{text!r} is neither a current in amps nor max")
    amps = float(word)
    allowed = [value for value in CHARGE_CURRENTS if value <= amps]
    if not allowed:
        raise InvalidPayload(f"{text!r} A is below the lowest setting, {CHARGE_CURRENTS[0]} A")
    return allowed[-1]


def _parse_lock(text: str, ctx: ParseContext) -> str:
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


def _parse_horn_lights(text: str, _ctx: ParseContext) -> str:
    word = text.strip().upper()
    if word == "PRESS":
        return "BOTH"
    if word in HORN_LIGHTS:
        return word
    raise InvalidPayload(f"{text!r} is not PRESS, BOTH, HORN or LIGHTS")


def _parse_press(text: str, _ctx: ParseContext) -> str:
    if text.strip().upper() != "PRESS":
        raise InvalidPayload(f"{text!r} is not PRESS")
    return "PRESS"


# --- commands ----------------------------------------------------------------------------

Parser = Callable[[str, ParseContext], Any]
Sender = Callable[["CarNetClient", "Vehicle", Any, "VehicleState"], None]


@dataclass(frozen=True)
class CommandSpec:
    """What a writable attribute accepts and what a valid value makes the bridge do.

    ``send`` is None for commands the bridge carries out itself (refresh, poll interval).
    ``pending`` gives the value shown at once, ``confirmed`` the value the re-poll must
    show; either returns None when there is nothing to show or nothing to verify.
    """

    accepts: str
    parse: Parser
    send: Sender | None
    pending: Callable[[Any], Any] = lambda value: None
    confirmed: Callable[[Any], Any] = lambda value: None
    ranges: Mapping[str, NumberRange] = field(default_factory=dict)
    # Carried out by the bridge itself, so it works without a PIN too (the poll interval).
    bridge_only: bool = False


def _same(value: Any) -> Any:
    return value


SWITCH_ACCEPTS = "ON, OFF, true, false, 1, 0 (any case)"


def _switch(send: Sender) -> CommandSpec:
    return CommandSpec(SWITCH_ACCEPTS, _parse_switch, send, pending=_same, confirmed=_same)


def _current_target(state: VehicleState) -> int:
    """The target to send with climate on/off; a comfortable default when none is known."""
    target = state.values.get("climate_target_temperature")
    if isinstance(target, int | float) and not isinstance(target, bool):
        return int(target)
    unit = state.units.get("climate_target_temperature") or state.units.get("outdoor_temperature")
    return DEFAULT_TARGET.get(unit or "°F", DEFAULT_TARGET["°F"])


def _send_horn_lights(client: CarNetClient, vehicle: Vehicle, value: Any, _s: VehicleState) -> None:
    client.horn_lights(vehicle, horn=value in ("BOTH", "HORN"), lights=value in ("BOTH", "LIGHTS"))


LOCK_COMMAND = CommandSpec(
    accepts='LOCK, UNLOCK, or JSON {"state": "UNLOCK", "code": "..."}',
    parse=_parse_lock,
    send=lambda client, vehicle, value, _s: client.set_lock(vehicle, value == "LOCK"),
    pending=lambda value: "LOCKING" if value == "LOCK" else "UNLOCKING",
    confirmed=lambda value: "LOCKED" if value == "LOCK" else "UNLOCKED",
)
CLIMATE_COMMAND = CommandSpec(
    accepts=SWITCH_ACCEPTS + ", heat_cool",
    parse=_parse_climate,
    send=lambda client, vehicle, value, state: client.set_climate(
        vehicle, value, _current_target(state)
    ),
    pending=_same,
    confirmed=_same,
)
TARGET_COMMAND = CommandSpec(
    accepts="a whole number: 60..85 in °F accounts, 16..29 in °C accounts",
    parse=_parse_target_temperature,
    send=lambda client, vehicle, value, state: client.set_climate(
        vehicle, state.values.get("climate") is True, value
    ),
    pending=_same,
    confirmed=_same,
    ranges=TARGET_TEMPERATURE,
)
CHARGE_CURRENT_COMMAND = CommandSpec(
    accepts=(
        f"{', '.join(CHARGE_CURRENT_OPTIONS)}, or amps (mapped down to "
        f"{', '.join(map(str, CHARGE_CURRENTS[:-1]))} or {CHARGE_CURRENTS[-1]})"
    ),
    parse=_parse_charge_current,
    send=lambda client, vehicle, value, _s: client.set_max_charge_current(vehicle, value),
    pending=_same,  # the status does not report it: the bridge keeps what it set
)
HORN_LIGHTS_COMMAND = CommandSpec(
    accepts="PRESS or BOTH (horn and lights), HORN, LIGHTS",
    parse=_parse_horn_lights,
    send=_send_horn_lights,
)
REFRESH_COMMAND = CommandSpec(accepts="PRESS", parse=_parse_press, send=None)
POLL_INTERVAL_COMMAND = CommandSpec(
    accepts="whole seconds, 60..86400",
    parse=_parse_poll_interval,
    send=None,
    pending=_same,
    ranges=POLL_INTERVAL,
    bridge_only=True,
)


# --- the catalog -------------------------------------------------------------------------


class Encoding(enum.Enum):
    """How a value becomes a plain payload (SPEC §4) and a JSON value."""

    NUMBER = "number"  # 87, 21.5
    SWITCH = "switch"  # ON / OFF
    OPEN_CLOSED = "open_closed"  # OPEN / CLOSED
    BOOLEAN = "boolean"  # true / false
    TEXT = "text"  # enums as they are: LOCKED, ok, max
    TIMESTAMP = "timestamp"  # ISO 8601 with offset
    LOCATION = "location"  # {"latitude": ..., "longitude": ...}
    NONE = "none"  # entities without a state of their own


@dataclass(frozen=True)
class Entity:
    key: str
    name: str
    component: str
    source: Getter | None
    encoding: Encoding
    device_class: str | None = None
    state_class: str | None = None
    unit: str | UnitGetter | None = None
    entity_category: str | None = None
    icon: str | None = None
    command: CommandSpec | None = None
    requires: tuple[str, ...] = ()  # keys that must have values too (all, for no source)
    writes: str | None = None  # publishes to this entity's set topic instead of its own
    payload_press: str | None = None  # buttons
    options: tuple[str, ...] = ()  # select options, enum sensor states
    attributes: Getter | None = None  # extra details published as JSON attributes
    # Available while the vehicle is offline, because it tells why (the API state).
    stays_available: bool = False
    # While this is ON the car changes by the minute: poll at polling.active_interval.
    speeds_polling: bool = False
    # Shown until the bridge sets a value, for what the car never reports (flagged assumed).
    assumed_default: Any = None


class ApiState(enum.StrEnum):
    """How the last read of a vehicle went: the ``api_state`` diagnostic entity."""

    OK = "ok"
    # Not "unavailable": Home Assistant reserves that word for an entity that is gone, and
    # this entity is alive to say that the vendor is down.
    VENDOR_DOWN = "vendor_down"  # 5xx, timeouts, connection errors
    RATE_LIMITED = "rate_limited"  # 429: the account's budget is spent for now
    LOGIN_REFUSED = "login_refused"  # wrong password or a vendor login change
    ERROR = "error"  # the vendor refused the request itself


def _door(key: str, name: str, field_name: str) -> Entity:
    return Entity(
        key, name, "binary_sensor",
        enum_at(key, _OPEN, "status", "exteriorStatus", "doorStatus", field_name),
        Encoding.OPEN_CLOSED, device_class="door",
    )


def _window(key: str, name: str, field_name: str) -> Entity:
    return Entity(
        key, name, "binary_sensor",
        enum_at(key, _WINDOW, "status", "exteriorStatus", "windowStatus", field_name),
        Encoding.OPEN_CLOSED, device_class="window",
    )


def _door_lock(key: str, name: str, field_name: str) -> Entity:
    """Per-door lock state; binary_sensor class ``lock`` is on when unlocked."""
    return Entity(
        key, name, "binary_sensor",
        enum_at(key, _LOCKED, "status", "exteriorStatus", "doorLockStatus", field_name),
        Encoding.TEXT, device_class="lock", entity_category="diagnostic",
    )


_SIDES = (
    ("front_left", "front left", "frontLeft"),
    ("front_right", "front right", "frontRight"),
    ("rear_left", "rear left", "rearLeft"),
    ("rear_right", "rear right", "rearRight"),
)


def _climate(key: str, name: str, field_name: str, **options: Any) -> Entity:
    return Entity(key, name, "switch", flag_at("climate", field_name), Encoding.SWITCH, **options)


ENTITIES: tuple[Entity, ...] = (
    Entity("lock", "Lock", "lock", enum_at("lock", _LOCKED, "status", "lockStatus"),
           Encoding.TEXT, command=LOCK_COMMAND),
    *(_door(f"door_{key}", f"Door {name}", field) for key, name, field in _SIDES),
    _door("trunk", "Trunk", "trunk"),
    _door("hood", "Hood", "hood"),
    *(_window(f"window_{key}", f"Window {name}", field) for key, name, field in _SIDES),
    *(_door_lock(f"door_lock_{key}", f"Door lock {name}", field) for key, name, field in _SIDES),
    Entity("battery_level", "Battery level", "sensor", _battery_level, Encoding.NUMBER,
           device_class="battery", state_class="measurement", unit="%"),
    Entity("range", "Range", "sensor", number_at("status", "powerStatus", "cruiseRange"),
           Encoding.NUMBER, device_class="distance", state_class="measurement",
           unit=lambda raw, _t: _status_distance_unit(raw), icon="mdi:map-marker-distance"),
    Entity("fuel_level", "Fuel level", "sensor", _fuel_level, Encoding.NUMBER,
           state_class="measurement", unit="%", icon="mdi:gas-station"),
    Entity("odometer", "Odometer", "sensor",
           lambda raw: (_odometer(raw) or (None, None))[0], Encoding.NUMBER,
           device_class="distance", state_class="total_increasing",
           unit=lambda raw, _t: (_odometer(raw) or (None, None))[1], icon="mdi:counter"),
    Entity("plug_connected", "Plug", "binary_sensor", _plug_connected, Encoding.BOOLEAN,
           device_class="plug"),
    Entity("charging", "Charging", "switch", _charging, Encoding.SWITCH,
           icon="mdi:ev-station", speeds_polling=True,
           command=_switch(lambda client, vehicle, value, _s: client.set_charging(vehicle, value))),
    Entity("minutes_to_full_charge", "Time to full charge", "sensor", _minutes_to_full,
           Encoding.NUMBER, device_class="duration", state_class="measurement", unit="min"),
    # Car-Net does not report it; a car leaves the factory charging at its maximum.
    Entity("max_charge_current", "Max charge current", "select", None, Encoding.TEXT,
           entity_category="config", icon="mdi:current-ac", requires=("battery_level",),
           options=CHARGE_CURRENT_OPTIONS, command=CHARGE_CURRENT_COMMAND,
           assumed_default="max"),
    _climate("climate", "Climate", "climate_on", icon="mdi:air-conditioner",
             command=CLIMATE_COMMAND, speeds_polling=True),
    Entity("climate_control", "Climate control", "climate", None, Encoding.NONE,
           requires=("climate", "climate_target_temperature")),
    Entity("climate_target_temperature", "Target temperature", "number",
           number_at("climate", "target_temperature"), Encoding.NUMBER,
           device_class="temperature", unit=_temperature_unit, command=TARGET_COMMAND),
    Entity("outdoor_temperature", "Outdoor temperature", "sensor",
           number_at("climate", "outdoor_temperature"), Encoding.NUMBER,
           device_class="temperature", state_class="measurement", unit=_temperature_unit),
    _climate("defrost", "Defrost", "defrost_on", icon="mdi:car-defrost-front",
             speeds_polling=True, command=_switch(
                 lambda client, vehicle, value, _s: client.set_defrost(vehicle, value))),
    # The climate details report this for combustion cars too; it means nothing without a
    # traction battery.
    _climate("unplugged_climate", "Climate on battery", "unplugged_climate_control_enabled",
             entity_category="config", icon="mdi:power-plug-off", requires=("battery_level",),
             command=_switch(
                 lambda client, vehicle, value, _s: client.set_unplugged_climate(vehicle, value))),
    Entity("horn_lights", "Horn and lights", "button", None, Encoding.NONE,
           icon="mdi:car-light-alert", payload_press="BOTH", command=HORN_LIGHTS_COMMAND),
    Entity("horn", "Horn", "button", None, Encoding.NONE, icon="mdi:bullhorn",
           writes="horn_lights", payload_press="HORN"),
    Entity("lights", "Flash lights", "button", None, Encoding.NONE, icon="mdi:car-light-high",
           writes="horn_lights", payload_press="LIGHTS"),
    Entity("refresh", "Refresh", "button", None, Encoding.NONE, icon="mdi:refresh",
           payload_press="PRESS", command=REFRESH_COMMAND),
    Entity("health", "Health", "sensor", _health, Encoding.TEXT, device_class="enum",
           icon="mdi:car-wrench", options=tuple(HEALTH_CODES.values()),
           attributes=_health_attributes),
    Entity("service_due_distance", "Service due in", "sensor", _service_distance,
           Encoding.NUMBER, device_class="distance", state_class="measurement",
           unit=_service_distance_unit, icon="mdi:wrench-clock"),
    Entity("service_due_days", "Service due in days", "sensor", _service_days, Encoding.NUMBER,
           device_class="duration", state_class="measurement", unit="d", icon="mdi:wrench-clock"),
    Entity("location", "Location", "device_tracker", _location, Encoding.LOCATION),
    Entity("last_update", "Last update", "sensor",
           lambda raw: _epoch(_walk(raw.status, "timestamp")), Encoding.TIMESTAMP,
           device_class="timestamp", entity_category="diagnostic"),
    Entity("api_state", "Car-Net connection", "sensor", None, Encoding.TEXT,
           device_class="enum", entity_category="diagnostic", icon="mdi:cloud-check-outline",
           options=tuple(state.value for state in ApiState), stays_available=True,
           requires=("api_state",)),  # the bridge's own value: discovered once it has one
    # Commands waiting for the account's per-minute budget; seconds and next_at in the
    # JSON attributes.
    Entity("commands_waiting", "Commands waiting", "sensor", None, Encoding.NUMBER,
           state_class="measurement", entity_category="diagnostic", icon="mdi:timer-sand",
           stays_available=True, requires=("commands_waiting",)),
    Entity("poll_interval", "Poll interval", "number", None, Encoding.NUMBER,
           device_class="duration", unit="s", entity_category="config", icon="mdi:timer-outline",
           command=POLL_INTERVAL_COMMAND),
)

_BY_KEY = {item.key: item for item in ENTITIES}


def entity(key: str) -> Entity:
    """The catalog entry for ``key``; KeyError for an unknown attribute."""
    return _BY_KEY[key]


def find(key: str) -> Entity | None:
    return _BY_KEY.get(key)


def writable() -> tuple[Entity, ...]:
    """Entities with a ``/set`` topic of their own."""
    return tuple(item for item in ENTITIES if item.command is not None)


def is_supported(item: Entity, values: Mapping[str, Any]) -> bool:
    """Whether a vehicle with these values has this entity (decided by data, not by name)."""
    if item.source is not None and values.get(item.key) is None:
        return False
    return all(values.get(key) is not None for key in item.requires)


# What shows a writable entity's value on an account without commands (no PIN). Components
# not listed (buttons, the climate view over other entities) have nothing to show then.
READ_ONLY_COUNTERPARTS = {
    "lock": ("binary_sensor", "lock"),
    "switch": ("binary_sensor", None),
    "select": ("sensor", "enum"),
    "number": ("sensor", None),
}


def read_only(item: Entity) -> Entity | None:
    """The entity as an account without commands has it, or None when it has none.

    A writable entity becomes its read-only counterpart (the lock a lock binary sensor,
    a switch a binary sensor); one whose value only the bridge's own commands give (the
    charge current) is dropped, as are buttons. The bridge's own commands stay writable.
    """
    if item.command is not None and item.command.bridge_only:
        return item
    if item.command is None and item.writes is None and item.component != "climate":
        return item
    counterpart = READ_ONLY_COUNTERPARTS.get(item.component)
    if counterpart is None or item.source is None:
        return None
    component, device_class = counterpart
    return replace(item, component=component, command=None,
                   device_class=device_class or item.device_class)


def meaningful(values: Mapping[str, Any]) -> dict[str, Any]:
    """The values whose ``requires`` are met: climate on battery means nothing without a
    battery, nor a charge current."""
    return {
        key: value
        for key, value in values.items()
        if all(values.get(needed) is not None for needed in _BY_KEY[key].requires)
    }


def static_unit(item: Entity) -> str | None:
    return item.unit if isinstance(item.unit, str) else None


# --- payloads ----------------------------------------------------------------------------


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
