"""The seam between the bridge and a vendor API generation.

The runtime and the catalog speak to a vendor only through these types: the account's
vehicles with their capabilities, reads of named parts, a report of values keyed by the
catalog's attribute keys, and intents (lock, charging, climate with a target, ...).
Everything a generation knows about hosts, paths, bodies and response shapes stays in
that generation's package; this module names no vendor path and no vendor JSON key.

A read is split into parts because the parts cost differently: on the Car-Net app API
the climate details spend the account's command budget, the status does not; on the
myVW app API one selective-status request carries them all. The runtime keeps the last
raw answer of each part (opaque to it) and asks the generation to interpret them
together, since some values draw on more than one part (an odometer from the status
or, failing that, the health report).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol


class Part(enum.StrEnum):
    """What one vendor read returns."""

    STATUS = "status"  # doors, windows, lock, battery, range, location, charging, ...
    CLIMATE = "climate"  # climate, defrost, target and outdoor temperature
    HEALTH = "health"  # the health report: warnings, service due, odometer


class RequestClass(enum.StrEnum):
    """How a vendor request counts against the account's daily budget."""

    LOGIN = "login"  # password logins and token grants
    READ = "read"  # status and health reads
    COMMAND = "command"  # commands, wake-ups and reads that spend the command budget


class RequestRecorder(Protocol):
    """Where a client counts each request it sends (the runtime keeps the day's count)."""

    def record(self, kind: RequestClass) -> None: ...


@dataclass(frozen=True)
class NumberRange:
    minimum: float
    maximum: float
    step: float = 1


@dataclass(frozen=True)
class Capabilities:
    """What one vehicle accepts, as its generation and the vehicle itself say.

    ``intents`` names the :class:`VendorClient` methods this vehicle accepts (the catalog
    offers a command only when its intent is here). ``charge_currents`` are the values
    ``max_charge_current`` accepts, in the order a control lists them; numeric ones are
    amps.
    """

    intents: frozenset[str]
    charge_currents: tuple[str, ...] = ()
    # The part whose read confirms a command on this attribute, when it is not STATUS.
    confirmed_by: Mapping[str, Part] = field(default_factory=dict)
    # Parts whose read spends the account's per-minute command budget (Car-Net's climate
    # details); the runtime reads them as background jobs of the account's executor.
    costly_parts: frozenset[Part] = frozenset()
    # Climate target temperatures by unit ("°F", "°C") when the generation's differ from
    # the catalog's; ``climate_target_temperature`` accepts and offers these.
    climate_targets: Mapping[str, NumberRange] = field(default_factory=dict)


@dataclass(frozen=True)
class Vehicle:
    """One vehicle of the account. ``handle`` is the generation's own (ids for its URLs);
    nothing outside the generation reads it. ``key`` is the generation's name of the
    vehicle for users: what names it when the VIN cannot, and what may configure it
    besides the VIN (``accounts[].vehicles``)."""

    vin: str
    model_name: str | None
    model_year: str | None
    capabilities: Capabilities
    key: str = ""
    handle: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Report:
    """What a vehicle reported: values by catalog attribute key (absent when not
    reported), their units, and JSON details for attributes that have them."""

    values: dict[str, Any]
    units: dict[str, str]
    attributes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def with_value(self, key: str, value: Any) -> Report:
        """A copy with one value set (None removes it); for pending and bridge-side values."""
        values = dict(self.values)
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
        return replace(self, values=values)


@dataclass(frozen=True)
class Receipt:
    """An accepted command whose outcome the vendor reports: ``handle`` is the
    generation's own (a correlation id) and opaque outside it."""

    handle: Any = field(compare=False, repr=False)


class Progress(enum.StrEnum):
    PENDING = "pending"  # queued or on its way to the car
    SUCCEEDED = "succeeded"  # the car did it
    FAILED = "failed"  # the car refused or could not do it


@dataclass(frozen=True)
class CommandOutcome:
    """What the vendor reports of a command; ``detail`` is its words for users."""

    progress: Progress
    detail: str = ""


class VendorClient(Protocol):
    """One account on one API generation. Methods raise :mod:`carnet.core.errors` types.

    An intent returns a :class:`Receipt` when the generation reports the command's
    outcome: the runtime then follows :meth:`outcome` instead of a re-poll. When it
    returns None, the runtime confirms the intent by reading the attribute's part
    (``Capabilities.confirmed_by``, else the status) after ``commands.verify_after``.
    """

    @property
    def commands_enabled(self) -> bool: ...

    @property
    def commands_refusal(self) -> str | None:
        """Why commands are disabled, in the generation's words (None: they are not)."""
        ...

    def vehicles(self) -> list[Vehicle]: ...

    def read(self, vehicle: Vehicle, part: Part) -> Any:
        """The raw answer of one part; opaque outside the generation."""
        ...

    def interpret(
        self, vehicle: Vehicle, parts: Mapping[Part, Any], temperature_unit: str
    ) -> Report:
        """Every value the parts provide. ``temperature_unit`` is ``F``, ``C`` or ``auto``.

        Never raises for a malformed part: a field with an unexpected shape costs the
        values that depend on it and nothing else.
        """
        ...

    def request_wait(self) -> float:
        """Seconds until the account's per-minute command budget allows another request."""
        ...

    def spare_requests(self) -> int:
        """How many more command-class requests the account's current minute allows."""
        ...

    def wake(self, vehicle: Vehicle) -> Receipt | None: ...

    def refresh_health(self, vehicle: Vehicle) -> None: ...

    def set_lock(self, vehicle: Vehicle, locked: bool) -> Receipt | None: ...

    def horn_lights(self, vehicle: Vehicle, horn: bool, lights: bool) -> Receipt | None: ...

    def set_charging(self, vehicle: Vehicle, active: bool) -> Receipt | None: ...

    def set_max_charge_current(self, vehicle: Vehicle, value: str) -> Receipt | None: ...

    def set_climate(
        self, vehicle: Vehicle, active: bool, target_temperature: float
    ) -> Receipt | None: ...

    def set_defrost(self, vehicle: Vehicle, active: bool) -> Receipt | None: ...

    def set_unplugged_climate(self, vehicle: Vehicle, enabled: bool) -> Receipt | None: ...

    def set_target_soc(self, vehicle: Vehicle, percent: int) -> Receipt | None: ...

    def set_window_heating(self, vehicle: Vehicle, active: bool) -> Receipt | None: ...

    def outcome(self, vehicle: Vehicle, receipt: Receipt) -> CommandOutcome:
        """What became of a command that returned ``receipt``; a read, not a command."""
        ...

    def close(self) -> None: ...
