"""The shapes of the entity catalog: entries, encodings, command specs, the API state."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from carnet.catalog.state import VehicleState
from carnet.vendor.protocol import NumberRange, Receipt, Vehicle, VendorClient


class InvalidPayload(ValueError):
    """A ``/set`` payload that the attribute does not accept; the message says why."""


@dataclass(frozen=True)
class ParseContext:
    """What a parser needs beyond the payload: the value's unit, the unlock policy, and
    the charge currents and climate targets the vehicle accepts (its capabilities; no
    climate targets: the catalog's)."""

    unit: str | None = None
    unlock_enabled: bool = True
    unlock_code: str | None = field(default=None, repr=False)
    charge_currents: tuple[str, ...] = ()
    climate_targets: Mapping[str, NumberRange] = field(default_factory=dict)


Parser = Callable[[str, ParseContext], Any]
Sender = Callable[[VendorClient, Vehicle, Any, VehicleState], Receipt | None]


class CarriedOutBy(enum.Enum):
    """Who carries out a valid command."""

    VENDOR = "vendor"  # ``send`` asks the vendor
    WAKE_UP = "wake_up"  # a refresh: the car is woken (within the day's wake-ups), then read
    POLL_INTERVAL = "poll_interval"  # the bridge's own polling setting: no vendor request


@dataclass(frozen=True)
class CommandSpec:
    """What a writable attribute accepts and what a valid value makes the bridge do.

    ``accepts`` is the text, or builds it from the context when it depends on the vehicle.
    ``by`` says who carries it out; ``send`` is None unless that is the vendor.
    ``pending`` gives the value shown at once, ``confirmed`` the value the re-poll must
    show; either returns None when there is nothing to show or nothing to verify.
    ``intent`` is the capability a vehicle must list for it (None: the bridge's own).
    """

    accepts: str | Callable[[ParseContext], str]
    parse: Parser
    send: Sender | None
    pending: Callable[[Any], Any] = lambda value: None
    confirmed: Callable[[Any], Any] = lambda value: None
    ranges: Mapping[str, NumberRange] = field(default_factory=dict)
    by: CarriedOutBy = CarriedOutBy.VENDOR
    intent: str | None = None

    def accepted(self, context: ParseContext) -> str:
        """What this vehicle accepts, as rejections and the README say it."""
        return self.accepts(context) if callable(self.accepts) else self.accepts

    @property
    def bridge_only(self) -> bool:
        """Carried out by the bridge without the vendor, so it works without a PIN too."""
        return self.by is CarriedOutBy.POLL_INTERVAL


class Encoding(enum.Enum):
    """How a value becomes a plain payload (SPEC §4) and a JSON value."""

    NUMBER = "number"  # 87, 21.5
    SWITCH = "switch"  # ON / OFF
    OPEN_CLOSED = "open_closed"  # OPEN / CLOSED
    BOOLEAN = "boolean"  # true / false
    TEXT = "text"  # enums as they are: LOCKED, ok, max
    TIMESTAMP = "timestamp"  # ISO 8601 with offset
    LOCATION = "location"  # {"latitude": ..., "longitude": ...}
    LOCKED_UNLOCKED = "locked_unlocked"  # LOCKED / UNLOCKED from a boolean (True: locked)
    NONE = "none"  # entities without a state of their own


@dataclass(frozen=True)
class Entity:
    """One vehicle attribute as the bridge presents it.

    ``reported`` entities take their value from the vendor's report (a generation's
    readings); the others are the bridge's own or exist when the keys in ``requires``
    have values. ``unit`` is the fixed unit; where the vendor decides it (distances,
    temperatures) it comes with the report instead.
    """

    key: str
    name: str
    component: str
    reported: bool
    encoding: Encoding
    device_class: str | None = None
    state_class: str | None = None
    unit: str | None = None
    entity_category: str | None = None
    icon: str | None = None
    command: CommandSpec | None = None
    requires: tuple[str, ...] = ()  # keys that must have values too (all, when not reported)
    writes: str | None = None  # publishes to this entity's set topic instead of its own
    payload_press: str | None = None  # buttons
    options: tuple[str, ...] = ()  # select options, enum sensor states
    # The select's options are the vehicle's charge currents (its capabilities), not ``options``.
    options_are_charge_currents: bool = False
    # The number's ranges are the vehicle's climate targets when its capabilities give them.
    ranges_are_climate_targets: bool = False
    precision: int = 0  # decimals Home Assistant shows of a number sensor
    has_details: bool = False  # the report brings extra details, published as JSON attributes
    # Available while the vehicle is offline, because it tells why (the API state).
    stays_available: bool = False
    # While this is ON the car changes by the minute: poll at polling.active_interval.
    speeds_polling: bool = False
    # Shown until the bridge sets a value, for what the car never reports (flagged assumed).
    assumed_default: Any = None

    def options_for(self, charge_currents: tuple[str, ...]) -> tuple[str, ...]:
        """The select options or sensor states, for a vehicle with these charge currents."""
        return charge_currents if self.options_are_charge_currents else self.options

    def ranges_for(self, climate_targets: Mapping[str, NumberRange]) -> Mapping[str, NumberRange]:
        """The number's ranges by unit, for a vehicle with these climate targets."""
        if self.ranges_are_climate_targets and climate_targets:
            return climate_targets
        return self.command.ranges if self.command else {}


class ApiState(enum.StrEnum):
    """How the last read of a vehicle went: the ``api_state`` diagnostic entity."""

    OK = "ok"
    # Not "unavailable": Home Assistant reserves that word for an entity that is gone, and
    # this entity is alive to say that the vendor is down.
    VENDOR_DOWN = "vendor_down"  # 5xx, timeouts, connection errors
    RATE_LIMITED = "rate_limited"  # 429: the account's budget is spent for now
    LOGIN_REFUSED = "login_refused"  # wrong password or a vendor login change
    ERROR = "error"  # the vendor refused the request itself
