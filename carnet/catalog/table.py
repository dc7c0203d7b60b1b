"""The entity catalog: one entry per vehicle attribute, the single source of truth.

State filtering, plain and JSON payloads, ``/set`` validation, Home Assistant discovery
and the README's topic table are all derived from ``ENTITIES``. Adding an attribute means
adding one entry here, plus a reading in each generation that reports it.

Support is decided by data: a ``reported`` entity exists for a vehicle when its report
has a value for it; one that is not reported exists when the keys in ``requires`` have
values (or always, for bridge-side entities such as ``refresh``).
"""

from __future__ import annotations

from typing import Any

from carnet.catalog.model import ApiState, Encoding, Entity
from carnet.catalog.specs import (
    CHARGE_CURRENT_COMMAND,
    CHARGING_COMMAND,
    CLIMATE_COMMAND,
    DEFROST_COMMAND,
    HORN_LIGHTS_COMMAND,
    LOCK_COMMAND,
    POLL_INTERVAL_COMMAND,
    REFRESH_COMMAND,
    TARGET_COMMAND,
    TARGET_SOC_COMMAND,
    UNPLUGGED_CLIMATE_COMMAND,
    WINDOW_HEATING_COMMAND,
)

# The names of the health report's states, worst first.
HEALTH_STATES = ("stop", "repair", "service", "ok", "info")
# What the charging is doing, as the generations that report it name it.
CHARGING_STATES = (
    "off", "ready", "not_ready", "conservation", "complete", "charging", "discharging",
    "error", "unsupported",
)


def _door(key: str, name: str) -> Entity:
    return Entity(key, name, "binary_sensor", True, Encoding.OPEN_CLOSED, device_class="door")


def _window(key: str, name: str) -> Entity:
    return Entity(key, name, "binary_sensor", True, Encoding.OPEN_CLOSED, device_class="window")


def _door_lock(key: str, name: str) -> Entity:
    """Per-door lock state; binary_sensor class ``lock`` is on when unlocked."""
    return Entity(key, name, "binary_sensor", True, Encoding.TEXT, device_class="lock",
                  entity_category="diagnostic")


_SIDES = (
    ("front_left", "front left"),
    ("front_right", "front right"),
    ("rear_left", "rear left"),
    ("rear_right", "rear right"),
)


def _climate(key: str, name: str, **options: Any) -> Entity:
    return Entity(key, name, "switch", True, Encoding.SWITCH, **options)


ENTITIES: tuple[Entity, ...] = (
    Entity("lock", "Lock", "lock", True, Encoding.TEXT, command=LOCK_COMMAND),
    *(_door(f"door_{key}", f"Door {name}") for key, name in _SIDES),
    _door("trunk", "Trunk"),
    _door("hood", "Hood"),
    *(_window(f"window_{key}", f"Window {name}") for key, name in _SIDES),
    *(_door_lock(f"door_lock_{key}", f"Door lock {name}") for key, name in _SIDES),
    Entity("battery_level", "Battery level", "sensor", True, Encoding.NUMBER,
           device_class="battery", state_class="measurement", unit="%"),
    # The report gives the distance unit.
    Entity("range", "Range", "sensor", True, Encoding.NUMBER, device_class="distance",
           state_class="measurement", icon="mdi:map-marker-distance"),
    Entity("fuel_level", "Fuel level", "sensor", True, Encoding.NUMBER,
           state_class="measurement", unit="%", icon="mdi:gas-station"),
    Entity("odometer", "Odometer", "sensor", True, Encoding.NUMBER, device_class="distance",
           state_class="total_increasing", icon="mdi:counter"),
    Entity("plug_connected", "Plug", "binary_sensor", True, Encoding.BOOLEAN,
           device_class="plug"),
    Entity("charging", "Charging", "switch", True, Encoding.SWITCH,
           icon="mdi:ev-station", speeds_polling=True, command=CHARGING_COMMAND),
    Entity("minutes_to_full_charge", "Time to full charge", "sensor", True,
           Encoding.NUMBER, device_class="duration", state_class="measurement", unit="min"),
    Entity("charge_remaining_minutes", "Charging time left", "sensor", True,
           Encoding.NUMBER, device_class="duration", state_class="measurement", unit="min"),
    Entity("charging_state", "Charging state", "sensor", True, Encoding.TEXT,
           device_class="enum", icon="mdi:ev-station", options=CHARGING_STATES),
    Entity("charge_power", "Charge power", "sensor", True, Encoding.NUMBER,
           device_class="power", state_class="measurement", unit="kW", precision=1),
    # The report gives the unit (km/h or mph of range gained).
    Entity("charge_rate", "Charge rate", "sensor", True, Encoding.NUMBER,
           device_class="speed", state_class="measurement", icon="mdi:speedometer"),
    Entity("target_soc", "Target charge level", "number", True, Encoding.NUMBER,
           device_class="battery", unit="%", entity_category="config",
           icon="mdi:battery-charging-80", command=TARGET_SOC_COMMAND),
    # True when the charging plug is locked in its socket.
    Entity("plug_lock", "Plug lock", "binary_sensor", True, Encoding.LOCKED_UNLOCKED,
           device_class="lock", icon="mdi:ev-plug-type2"),
    # The vendor does not report it; a car leaves the factory charging at its maximum.
    Entity("max_charge_current", "Max charge current", "select", False, Encoding.TEXT,
           entity_category="config", icon="mdi:current-ac", requires=("battery_level",),
           options_are_charge_currents=True, command=CHARGE_CURRENT_COMMAND,
           assumed_default="max"),
    _climate("climate", "Climate", icon="mdi:air-conditioner",
             command=CLIMATE_COMMAND, speeds_polling=True),
    Entity("climate_control", "Climate control", "climate", False, Encoding.NONE,
           requires=("climate", "climate_target_temperature")),
    # Temperatures are in the account's unit, which the report gives.
    Entity("climate_target_temperature", "Target temperature", "number", True,
           Encoding.NUMBER, device_class="temperature", command=TARGET_COMMAND,
           ranges_are_climate_targets=True),
    Entity("climate_remaining", "Climate time left", "sensor", True, Encoding.NUMBER,
           device_class="duration", state_class="measurement", unit="min"),
    Entity("outdoor_temperature", "Outdoor temperature", "sensor", True, Encoding.NUMBER,
           device_class="temperature", state_class="measurement"),
    _climate("defrost", "Defrost", icon="mdi:car-defrost-front",
             speeds_polling=True, command=DEFROST_COMMAND),
    _climate("window_heating", "Window heating", icon="mdi:car-defrost-rear",
             speeds_polling=True, command=WINDOW_HEATING_COMMAND),
    # The vendor reports this for combustion cars too; it means nothing without a
    # traction battery.
    _climate("unplugged_climate", "Climate on battery",
             entity_category="config", icon="mdi:power-plug-off", requires=("battery_level",),
             command=UNPLUGGED_CLIMATE_COMMAND),
    Entity("horn_lights", "Horn and lights", "button", False, Encoding.NONE,
           icon="mdi:car-light-alert", payload_press="BOTH", command=HORN_LIGHTS_COMMAND),
    Entity("horn", "Horn", "button", False, Encoding.NONE, icon="mdi:bullhorn",
           writes="horn_lights", payload_press="HORN"),
    Entity("lights", "Flash lights", "button", False, Encoding.NONE, icon="mdi:car-light-high",
           writes="horn_lights", payload_press="LIGHTS"),
    Entity("refresh", "Refresh", "button", False, Encoding.NONE, icon="mdi:refresh",
           payload_press="PRESS", command=REFRESH_COMMAND),
    Entity("health", "Health", "sensor", True, Encoding.TEXT, device_class="enum",
           icon="mdi:car-wrench", options=HEALTH_STATES, has_details=True),
    Entity("service_due_distance", "Service due in", "sensor", True,
           Encoding.NUMBER, device_class="distance", state_class="measurement",
           icon="mdi:wrench-clock"),
    Entity("service_due_days", "Service due in days", "sensor", True, Encoding.NUMBER,
           device_class="duration", state_class="measurement", unit="d", icon="mdi:wrench-clock"),
    Entity("location", "Location", "device_tracker", True, Encoding.LOCATION),
    Entity("last_update", "Last update", "sensor", True, Encoding.TIMESTAMP,
           device_class="timestamp", entity_category="diagnostic"),
    Entity("api_state", "Vendor connection", "sensor", False, Encoding.TEXT,
           device_class="enum", entity_category="diagnostic", icon="mdi:cloud-check-outline",
           options=tuple(state.value for state in ApiState), stays_available=True,
           requires=("api_state",)),  # the bridge's own value: discovered once it has one
    # Commands waiting for the account's per-minute budget; seconds and next_at in the
    # JSON attributes.
    Entity("commands_waiting", "Commands waiting", "sensor", False, Encoding.NUMBER,
           state_class="measurement", entity_category="diagnostic", icon="mdi:timer-sand",
           stays_available=True, requires=("commands_waiting",)),
    Entity("poll_interval", "Poll interval", "number", False, Encoding.NUMBER,
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
