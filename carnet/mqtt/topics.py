"""Every MQTT topic the bridge uses is built and parsed here, and nowhere else.

Built topics are checked: a wildcard (``+``, ``#``) or an empty level in a topic we
publish to would either be refused by the broker or, worse, match more than meant.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections.abc import Container, Iterable

from carnet.core.topic_rules import BRIDGE, check_topic
from carnet.core.topic_rules import VEHICLE_NAME as _NAME

_LOG = logging.getLogger(__name__)

_ACTION = re.compile(r"^[A-Za-z0-9_-]+$")


def vehicle_topic_name(name_or_vin: str) -> str:
    """A vehicle's topic level: lower-case letters, digits, ``_`` and ``-`` only (SPEC §4).

    Accents are dropped (``Käfer`` -> ``kafer``), other characters become ``_``. The
    reserved level ``bridge`` becomes ``bridge_``.
    """
    text = unicodedata.normalize("NFKD", name_or_vin).encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-z0-9_-]+", "_", text.strip().lower()).strip("_")
    if not text:
        raise ValueError(f"{name_or_vin!r} has no letters or digits to name a topic with")
    return f"{text}_" if text == BRIDGE else text


def vehicle_name(vin: str, key: str, configured: str | None = None) -> str:
    """The topic level of a vehicle: its configured name, else its VIN, else (a VIN
    without letters or digits, such as ``###``) its key (the vendor's vehicle id), else
    a stable hash of both, so that every vehicle has one."""
    for candidate in (configured, vin, key):
        if not candidate:
            continue
        try:
            return vehicle_topic_name(candidate)
        except ValueError:
            _LOG.warning("%r cannot name a topic (no letters or digits); trying the next "
                         "name for this vehicle", candidate)
    digest = hashlib.sha256(f"{vin}\0{key}".encode()).hexdigest()[:12]
    return f"vehicle_{digest}"


def plain_name_owners(wanted: Iterable[tuple[str, str]]) -> dict[str, str]:
    """For each wanted topic name (pairs of VIN and name), the VIN that gets it plain.

    Where several cars want the same name, the lowest VIN gets it, so that the order of
    the vendor's list never decides which car a topic name means.
    """
    owners: dict[str, str] = {}
    for vin, name in wanted:
        if name not in owners or vin < owners[name]:
            owners[name] = vin
    return owners


def distinct_name(name: str, vin: str, taken: Container[str]) -> str:
    """``name``, or when it is ``taken``, ``name`` with a suffix made from the VIN.

    A suffix from the VIN, not a counter: the same car gets the same name whatever
    order the cars are met in, and a new car cannot move another one's name.
    """
    if name not in taken:
        return name
    digest = hashlib.sha256(vin.encode()).hexdigest()
    for size in range(6, len(digest) + 1, 2):
        candidate = f"{name}_{digest[:size]}"
        if candidate not in taken:
            return candidate
    raise ValueError(f"no free topic name for vehicle {vin!r}")


def _level(value: str, what: str, pattern: re.Pattern[str] = _NAME) -> str:
    if not pattern.match(value):
        raise ValueError(f"invalid {what} {value!r} for a topic level")
    return value


class Topics:
    """Topic names under one base topic and one Home Assistant discovery prefix."""

    def __init__(self, base: str, discovery_prefix: str = "homeassistant") -> None:
        self.base = check_topic(base)
        self.discovery_prefix = check_topic(discovery_prefix)

    def _join(self, *levels: str) -> str:
        return check_topic("/".join((self.base, *levels)))

    def _vehicle(self, vehicle: str) -> str:
        _level(vehicle, "vehicle name")
        if vehicle == BRIDGE:
            raise ValueError("'bridge' is reserved and cannot name a vehicle")
        return vehicle

    # bridge
    @property
    def bridge_state(self) -> str:
        return self._join(BRIDGE, "state")

    @property
    def bridge_info(self) -> str:
        return self._join(BRIDGE, "info")

    def bridge_request(self, action: str) -> str:
        return self._join(BRIDGE, "request", _level(action, "action", _ACTION))

    def bridge_account(self, account_id: str, key: str) -> str:
        """One figure of one account (the bridge device's plain topics)."""
        return self._join(BRIDGE, "accounts", account_id, key)

    def bridge_response(self, action: str) -> str:
        return self._join(BRIDGE, "response", _level(action, "action", _ACTION))

    @property
    def bridge_request_filter(self) -> str:
        """Subscription for every bridge request."""
        return f"{self.base}/{BRIDGE}/request/+"

    def parse_bridge_request(self, topic: str) -> str | None:
        """The action of a bridge request topic, or None for any other topic."""
        prefix = f"{self.base}/{BRIDGE}/request/"
        if not topic.startswith(prefix):
            return None
        action = topic[len(prefix):]
        return action if _ACTION.match(action) else None

    # vehicles
    def vehicle(self, vehicle: str) -> str:
        """The JSON object of every attribute."""
        return self._join(self._vehicle(vehicle))

    def availability(self, vehicle: str) -> str:
        return self._join(self._vehicle(vehicle), "availability")

    def attribute(self, vehicle: str, key: str) -> str:
        return self._join(self._vehicle(vehicle), _level(key, "attribute"))

    def attribute_details(self, vehicle: str, key: str) -> str:
        """JSON details of an attribute (Home Assistant's ``json_attributes_topic``)."""
        return self._join(self._vehicle(vehicle), _level(key, "attribute"), "attributes")

    def attribute_set(self, vehicle: str, key: str) -> str:
        return self._join(self._vehicle(vehicle), _level(key, "attribute"), "set")

    def vehicle_set(self, vehicle: str) -> str:
        return self._join(self._vehicle(vehicle), "set")

    def result(self, vehicle: str) -> str:
        return self._join(self._vehicle(vehicle), "result")

    def event(self, vehicle: str) -> str:
        """Vehicle events, not retained (``carnet.mqtt.events``)."""
        return self._join(self._vehicle(vehicle), "event")

    def set_filters(self) -> tuple[str, str]:
        """Subscriptions for every vehicle's ``/set`` topics (parse with ``parse_set``)."""
        return f"{self.base}/+/set", f"{self.base}/+/+/set"

    def parse_set(self, topic: str) -> tuple[str, str | None] | None:
        """``(vehicle, attribute)`` of a set topic, attribute None for ``<vehicle>/set``.

        None for anything else, including the bridge's own topics.
        """
        prefix = f"{self.base}/"
        if not topic.startswith(prefix):
            return None
        levels = topic[len(prefix):].split("/")
        if len(levels) not in (2, 3) or levels[-1] != "set":
            return None
        vehicle = levels[0]
        if vehicle == BRIDGE or not _NAME.match(vehicle):
            return None
        if len(levels) == 2:
            return vehicle, None
        return (vehicle, levels[1]) if _NAME.match(levels[1]) else None

    # Home Assistant
    @property
    def ha_status(self) -> str:
        """Home Assistant announces ``online`` here when it (re)starts: send discovery again."""
        return f"{self.discovery_prefix}/status"

    def discovery_component(self, component: str, node_id: str, object_id: str) -> str:
        """``<prefix>/<component>/<node_id>/<object_id>/config`` (one entity)."""
        levels = (
            _level(component, "component"),
            _level(node_id, "node id"),
            _level(object_id, "object id"),
        )
        return check_topic("/".join((self.discovery_prefix, *levels, "config")))

    def discovery_device(self, node_id: str) -> str:
        """``<prefix>/device/<node_id>/config`` (a whole device, Home Assistant 2024.11+)."""
        return check_topic(f"{self.discovery_prefix}/device/{_level(node_id, 'node id')}/config")
