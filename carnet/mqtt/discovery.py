"""Catalog entry + vehicle -> Home Assistant MQTT discovery messages; pure functions.

Two layouts: one retained config per entity (``component`` mode, understood by every
Home Assistant version and by openHAB), or one config per vehicle listing its entities
under ``cmps`` (``device`` mode, Home Assistant 2024.11 or later). Both are built from
the same per-entity payload, so they cannot drift apart.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from carnet.catalog.encoding import encode
from carnet.catalog.model import Encoding, Entity
from carnet.catalog.state import VehicleState
from carnet.catalog.support import is_supported, read_only
from carnet.catalog.table import ENTITIES, entity
from carnet.mqtt import events
from carnet.mqtt.ha_device import (
    DeviceInfo,
    default_entity_id,
    device_block,
    node_id,
    object_id,
    origin_block,
    unique_id,
)
from carnet.mqtt.topics import Topics
from carnet.vendor.fields import guess_temperature_unit

_LOG = logging.getLogger(__name__)

_PAYLOADS_ON_OFF = {
    Encoding.OPEN_CLOSED: ("OPEN", "CLOSED"),
    Encoding.BOOLEAN: ("true", "false"),
    Encoding.SWITCH: ("ON", "OFF"),
}


def availability(device: DeviceInfo, topics: Topics, item: Entity | None = None) -> list[
    dict[str, str]
]:
    """The bridge must be online, and the vehicle too unless the entity says why it is not."""
    return _availability(device, topics, item is not None and item.stays_available)


def _availability(device: DeviceInfo, topics: Topics, stays_available: bool) -> list[
    dict[str, str]
]:
    bridge = {"topic": topics.bridge_state, "value_template": "{{ value_json.state }}"}
    if stays_available:
        return [bridge]
    return [bridge, {"topic": topics.availability(device.name)}]


def code_format(code: str) -> str:
    """A regex for the code's shape (a keypad for digits), never the code itself."""
    return f"^\\d{{{len(code)}}}$" if code.isdigit() else "^.+$"


def _binary_payloads(item: Entity) -> tuple[str, str]:
    """Home Assistant's binary sensor class ``lock`` is on when unlocked."""
    if item.device_class == "lock":
        return "UNLOCKED", "LOCKED"
    return _PAYLOADS_ON_OFF[item.encoding]


def _unit(item: Entity, state: VehicleState) -> str | None:
    return state.units.get(item.key) or item.unit


def _number_bounds(item: Entity, device: DeviceInfo, state: VehicleState) -> dict[str, Any]:
    ranges = item.ranges_for(device.climate_targets)
    unit = _unit(item, state)
    if unit not in ranges:
        value = state.values.get(item.key)
        unit = guess_temperature_unit(value) if isinstance(value, int | float) else "°F"
    bounds = ranges.get(unit) or next(iter(ranges.values()))
    return {"min": bounds.minimum, "max": bounds.maximum, "step": bounds.step}


def _specifics(
    item: Entity, device: DeviceInfo, state: VehicleState, topics: Topics, unlock_code: str | None
) -> dict[str, Any]:
    """The keys that depend on the component."""
    v = device.name
    state_topic = topics.attribute(v, item.key)
    command_topic = topics.attribute_set(v, item.writes or item.key)
    component = item.component
    if component in ("sensor", "binary_sensor"):
        config: dict[str, Any] = {"state_topic": state_topic}
        if component == "binary_sensor":
            config.update(zip(("payload_on", "payload_off"), _binary_payloads(item), strict=True))
        options = item.options_for(device.charge_currents)
        if options:
            current = state.values.get(item.key)
            extra = () if current is None or str(current) in options else (str(current),)
            config["options"] = [*options, *extra]
        return config
    if component == "lock":
        config = {
            "state_topic": state_topic,
            "command_topic": command_topic,
            "payload_lock": "LOCK",
            "payload_unlock": "UNLOCK",
            "state_locked": "LOCKED",
            "state_unlocked": "UNLOCKED",
            "state_locking": "LOCKING",
            "state_unlocking": "UNLOCKING",
        }
        if unlock_code:
            config["code_format"] = code_format(unlock_code)
            # tojson quotes and escapes the code, so any code gives valid JSON.
            config["command_template"] = '{"state":"{{ value }}","code":{{ code | tojson }}}'
        return config
    if component == "switch":
        return {"state_topic": state_topic, "command_topic": command_topic,
                "payload_on": "ON", "payload_off": "OFF"}
    if component == "select":
        return {"state_topic": state_topic, "command_topic": command_topic,
                "options": list(item.options_for(device.charge_currents))}
    if component == "number":
        mode = "slider" if item.device_class == "temperature" else "box"
        return {"state_topic": state_topic, "command_topic": command_topic, "mode": mode,
                **_number_bounds(item, device, state)}
    if component == "button":
        return {"command_topic": command_topic, "payload_press": item.payload_press}
    if component == "device_tracker":
        return {"json_attributes_topic": state_topic, "source_type": "gps"}
    if component == "climate":
        return _climate(item, device, state, topics)
    raise ValueError(f"{item.key}: no discovery for component {component!r}")


def _climate(
    item: Entity, device: DeviceInfo, state: VehicleState, topics: Topics
) -> dict[str, Any]:
    """The HA climate entity: a view over the climate switch and the target temperature.

    Which two entities it shows is what it ``requires``: the switch, then the target.
    """
    v = device.name
    switch, target = (entity(key) for key in item.requires)
    outdoor = entity("outdoor_temperature")
    bounds = _number_bounds(target, device, state)
    unit = _unit(target, state) or "°F"
    on = encode(switch, True)
    config: dict[str, Any] = {
        "modes": ["off", "heat_cool"],
        "mode_state_topic": topics.attribute(v, switch.key),
        "mode_state_template": f"{{{{ 'heat_cool' if value == '{on}' else 'off' }}}}",
        "mode_command_topic": topics.attribute_set(v, switch.key),
        "temperature_state_topic": topics.attribute(v, target.key),
        "temperature_command_topic": topics.attribute_set(v, target.key),
        "temperature_unit": unit.lstrip("°"),
        "min_temp": bounds["min"],
        "max_temp": bounds["max"],
        "temp_step": bounds["step"],
        # The finest Home Assistant offers that the step needs (0.5 for half degrees).
        "precision": next((p for p in (1.0, 0.5) if (bounds["step"] / p).is_integer()), 0.1),
    }
    if state.values.get(outdoor.key) is not None:
        config["current_temperature_topic"] = topics.attribute(v, outdoor.key)
    return config


def entity_payload(
    item: Entity,
    device: DeviceInfo,
    state: VehicleState,
    topics: Topics,
    unlock_code: str | None = None,
) -> dict[str, Any]:
    """The discovery payload of one entity, without ``device``/``origin`` (added per mode)."""
    config: dict[str, Any] = {
        "name": item.name,
        "unique_id": unique_id(device, item),
        "object_id": object_id(device, item.key),
        "default_entity_id": default_entity_id(device, item),
        "availability": availability(device, topics, item),
        "availability_mode": "all",
    }
    config.update(_specifics(item, device, state, topics, unlock_code))
    unit = _unit(item, state)
    optional = {
        "device_class": item.device_class if item.component != "select" else None,
        "state_class": item.state_class,
        "unit_of_measurement": unit if item.component in ("sensor", "number") else None,
        "entity_category": item.entity_category,
        "icon": item.icon,
    }
    config.update({key: value for key, value in optional.items() if value is not None})
    if item.component == "sensor" and item.encoding is Encoding.NUMBER:
        config["suggested_display_precision"] = item.precision
    if item.has_details or item.key in state.attributes:
        config["json_attributes_topic"] = topics.attribute_details(device.name, item.key)
    return config


def event_payload(
    family: events.EventFamily, device: DeviceInfo, topics: Topics
) -> dict[str, Any]:
    """An ``event`` entity for one family; every family reads the vehicle's one event topic.

    The value template hands the entity only its own event types (an empty result is
    ignored), so another family's event is not logged as an invalid event type.
    """
    types = events.event_types(family)
    listed = ", ".join(f"'{event_type}'" for event_type in types)
    return {
        "name": family.name,
        "unique_id": f"{node_id(device)}_{family.key}",
        "object_id": object_id(device, family.key),
        "default_entity_id": f"event.{object_id(device, family.key)}",
        "availability": _availability(device, topics, family.stays_available),
        "availability_mode": "all",
        "state_topic": topics.event(device.name),
        "event_types": list(types),
        "value_template": f"{{{{ value if value_json.event_type in [{listed}] else '' }}}}",
        "icon": family.icon,
    }


def _event_configs(
    device: DeviceInfo, state: VehicleState, topics: Topics
) -> list[tuple[events.EventFamily, dict[str, Any]]]:
    return [
        (family, event_payload(family, device, topics))
        for family in events.supported_families(state.values)
    ]


def supported(state: VehicleState, commands: bool = True) -> tuple[Entity, ...]:
    """The catalog entries this vehicle has, judged from its values.

    Without ``commands`` (an account without a PIN) writable entries are their read-only
    counterparts, or absent.
    """
    chosen = (item for item in ENTITIES if is_supported(item, state.values))
    if commands:
        return tuple(chosen)
    return tuple(view for view in map(read_only, chosen) if view is not None)


def component_configs(
    device: DeviceInfo,
    state: VehicleState,
    topics: Topics,
    unlock_code: str | None = None,
    commands: bool = True,
) -> list[tuple[str, dict[str, Any]]]:
    """One ``(topic, payload)`` per supported entity."""
    messages = []
    for item in supported(state, commands):
        payload = entity_payload(item, device, state, topics, unlock_code)
        payload["device"] = device_block(device)
        payload["origin"] = origin_block()
        topic = topics.discovery_component(item.component, node_id(device), item.key)
        messages.append((topic, payload))
    for family, payload in _event_configs(device, state, topics):
        payload["device"] = device_block(device)
        payload["origin"] = origin_block()
        messages.append((topics.discovery_component("event", node_id(device), family.key), payload))
    return messages


def device_config(
    device: DeviceInfo,
    state: VehicleState,
    topics: Topics,
    unlock_code: str | None = None,
    removed: Iterable[Entity] = (),
    commands: bool = True,
) -> tuple[str, dict[str, Any]]:
    """One ``(topic, payload)`` for the vehicle, its entities under ``cmps``.

    Entities in ``removed`` are listed with only their platform, which is how device
    discovery deletes a single entity while keeping the device.
    """
    components: dict[str, dict[str, Any]] = {}
    for item in removed:
        components[item.key] = {"p": item.component}
    for item in supported(state, commands):
        payload = entity_payload(item, device, state, topics, unlock_code)
        components[item.key] = {"p": item.component, **payload}
    announced = set()
    for family, payload in _event_configs(device, state, topics):
        components[family.key] = {"p": "event", **payload}
        announced.add(family.key)
    # Event families are not catalog entries: whenever entities are removed (at the first
    # announcement, every one the vehicle lacks), the families it lacks go with them.
    for family in events.FAMILIES:
        if family.key not in announced and removed:
            components[family.key] = {"p": "event"}
    payload = {"dev": device_block(device), "o": origin_block(), "cmps": components}
    return topics.discovery_device(node_id(device)), payload


def configs(
    device: DeviceInfo,
    state: VehicleState,
    topics: Topics,
    mode: str = "component",
    unlock_code: str | None = None,
    commands: bool = True,
) -> list[tuple[str, dict[str, Any]]]:
    """Every discovery message of a vehicle in the configured mode."""
    if mode == "device":
        return [device_config(device, state, topics, unlock_code, commands=commands)]
    if mode == "component":
        return component_configs(device, state, topics, unlock_code, commands)
    raise ValueError(f"unknown discovery mode {mode!r}: use component or device")


def removal(
    device: DeviceInfo,
    topics: Topics,
    entities: Iterable[Entity] | None = None,
    mode: str = "component",
) -> list[tuple[str, str]]:
    """Empty retained configs that delete entities from Home Assistant.

    ``entities`` None means the whole vehicle is gone: every catalog entry's config is
    cleared (clearing one that never existed is harmless). In device mode only the whole
    device can be cleared here; ``device_config(removed=...)`` drops single entities.
    """
    if mode == "device":
        if entities is not None:
            raise ValueError("device mode removes single entities with device_config(removed=)")
        return [(topics.discovery_device(node_id(device)), "")]
    chosen = ENTITIES if entities is None else tuple(entities)
    messages = [
        (topics.discovery_component(item.component, node_id(device), item.key), "")
        for item in chosen
    ]
    if entities is None:
        messages += [(t, "") for t in possible_topics(device, topics) if (t, "") not in messages]
    return messages


def possible_topics(device: DeviceInfo, topics: Topics) -> list[str]:
    """Every component-mode discovery topic a vehicle can have: each entity under its
    component and its read-only counterpart's, and every event family."""
    node = node_id(device)
    found: list[str] = []
    for item in ENTITIES:
        for view in (item, read_only(item)):
            if view is not None:
                topic = topics.discovery_component(view.component, node, item.key)
                if topic not in found:
                    found.append(topic)
    found += [topics.discovery_component("event", node, family.key) for family in events.FAMILIES]
    return found
