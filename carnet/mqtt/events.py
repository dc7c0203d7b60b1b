"""Vehicle events: what changed between two reads, and commands that failed.

Events go to ``<base>/<vehicle>/event``, not retained, as JSON ``{"event_type": …, …}``
(the payload Home Assistant's MQTT ``event`` entity reads). They are derived from the
vendor's reported values only, never from a command's pending value, and only between two
known values: the first read after a start, or a value that appears for the first time
(the climate details arrive after the first status), is no event.

The rules are a table: adding an event means adding one row to ``RULES``; discovery and
the README's table are generated from it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from carnet.mqtt.topics import Topics

_LOG = logging.getLogger(__name__)

Values = Mapping[str, Any]
Publish = Callable[[str, str, bool], None]


@dataclass(frozen=True)
class EventFamily:
    """One Home Assistant ``event`` entity: the event types that belong together."""

    key: str
    name: str
    icon: str
    # Watches the attributes in ``watches``; a family without any (commands) always exists.
    watches: tuple[str, ...] = ()
    # Available while the vehicle is offline: a command can fail then too.
    stays_available: bool = False


@dataclass(frozen=True)
class EventRule:
    """``event_type`` fires when one of ``keys`` goes from ``before`` to ``after``.

    ``when`` further narrows it on the new values (a full battery tells a completed
    charge from a stopped one); ``names`` is the payload field that says which of the
    keys changed (``door``), for rules that watch several.
    """

    event_type: str
    family: str
    keys: tuple[str, ...]
    before: Any
    after: Any
    description: str
    when: Callable[[Values], bool] | None = None
    names: str | None = None


def _full(values: Values) -> bool:
    level = values.get("battery_level")
    return isinstance(level, int | float) and level >= 100


DOORS = (
    "door_front_left", "door_front_right", "door_rear_left", "door_rear_right", "trunk", "hood",
)

FAMILIES: tuple[EventFamily, ...] = (
    EventFamily("charging_events", "Charging events", "mdi:ev-station", ("charging",)),
    EventFamily("plug_events", "Plug events", "mdi:ev-plug-type1", ("plug_connected",)),
    EventFamily("door_events", "Door events", "mdi:car-door", DOORS),
    EventFamily("lock_events", "Lock events", "mdi:car-key", ("lock",)),
    EventFamily("climate_events", "Climate events", "mdi:air-conditioner", ("climate",)),
    EventFamily("command_events", "Command events", "mdi:alert-circle-outline",
                stays_available=True),
)

RULES: tuple[EventRule, ...] = (
    EventRule("charging_started", "charging_events", ("charging",), False, True,
              "`charging` turns ON"),
    EventRule("charging_complete", "charging_events", ("charging",), True, False,
              "`charging` turns OFF with the battery at 100 %", when=_full),
    EventRule("charging_stopped", "charging_events", ("charging",), True, False,
              "`charging` turns OFF before the battery is full",
              when=lambda values: not _full(values)),
    EventRule("plugged_in", "plug_events", ("plug_connected",), False, True,
              "`plug_connected` turns true"),
    EventRule("unplugged", "plug_events", ("plug_connected",), True, False,
              "`plug_connected` turns false"),
    EventRule("door_opened", "door_events", DOORS, False, True,
              "a door, the trunk or the hood opens; `door` names it", names="door"),
    EventRule("locked", "lock_events", ("lock",), "UNLOCKED", "LOCKED",
              "`lock` goes from UNLOCKED to LOCKED"),
    EventRule("unlocked", "lock_events", ("lock",), "LOCKED", "UNLOCKED",
              "`lock` goes from LOCKED to UNLOCKED"),
    EventRule("climate_started", "climate_events", ("climate",), False, True,
              "`climate` turns ON"),
    EventRule("climate_stopped", "climate_events", ("climate",), True, False,
              "`climate` turns OFF"),
)

COMMAND_FAILED = "command_failed"
# Results that mean the command did not do what was asked (ok and superseded did, or
# gave way to a newer command).
FAILED_STATUSES = frozenset({"rejected", "expired", "error", "unconfirmed"})
COMMAND_FAILED_DESCRIPTION = (
    "a command's result is " + ", ".join(f"`{s}`" for s in sorted(FAILED_STATUSES))
    + "; `attribute`, `status` and `detail` say which and why"
)


def event_types(family: EventFamily) -> tuple[str, ...]:
    """The event types of one family, in table order."""
    types = tuple(rule.event_type for rule in RULES if rule.family == family.key)
    return types if family.watches else (COMMAND_FAILED,)


def supported_families(values: Values) -> tuple[EventFamily, ...]:
    """The families this vehicle has: one of its watched attributes is reported."""
    return tuple(
        family
        for family in FAMILIES
        if not family.watches or any(values.get(key) is not None for key in family.watches)
    )


def transitions(before: Values | None, after: Values) -> list[dict[str, Any]]:
    """The events between two reads' values; none without an earlier read."""
    if before is None:
        return []
    events: list[dict[str, Any]] = []
    for rule in RULES:
        for key in rule.keys:
            old, new = before.get(key), after.get(key)
            if old is None or new is None or old != rule.before or new != rule.after:
                continue
            if rule.when is not None and not rule.when(after):
                continue
            event: dict[str, Any] = {"event_type": rule.event_type}
            if rule.names:
                event[rule.names] = key
            events.append(event)
    return events


def command_failed(attribute: str, status: str, detail: str) -> dict[str, Any] | None:
    """The event for a command's result, None when the command did not fail."""
    if status not in FAILED_STATUSES:
        return None
    return {"event_type": COMMAND_FAILED, "attribute": attribute, "status": status,
            "detail": detail}


class EventSink:
    """Publishes events, never retained: an event replayed at a reconnect would be a lie."""

    def __init__(self, topics: Topics, publish: Publish) -> None:
        self._topics = topics
        self._publish = publish

    def send(self, vehicle: str, events: list[dict[str, Any]]) -> None:
        for event in events:
            _LOG.info("event %s: %s", vehicle, event["event_type"])
            self._publish(self._topics.event(vehicle), json.dumps(event, sort_keys=True), False)
