"""What each writable attribute's ``/set`` does: its parser, its intent, its pending value."""

from __future__ import annotations

from typing import Any

from carnet.catalog.model import CarriedOutBy, CommandSpec, Sender
from carnet.catalog.parsers import (
    DEFAULT_TARGET,
    POLL_INTERVAL,
    TARGET_SOC,
    TARGET_TEMPERATURE,
    charge_current_accepts,
    parse_charge_current,
    parse_climate,
    parse_horn_lights,
    parse_lock,
    parse_poll_interval,
    parse_press,
    parse_switch,
    parse_target_soc,
    parse_target_temperature,
    target_temperature_accepts,
)
from carnet.catalog.state import VehicleState
from carnet.vendor.protocol import Receipt, Vehicle, VendorClient


def _same(value: Any) -> Any:
    return value


SWITCH_ACCEPTS = "ON, OFF, true, false, 1, 0 (any case)"


def switch_command(send: Sender, intent: str) -> CommandSpec:
    return CommandSpec(SWITCH_ACCEPTS, parse_switch, send, pending=_same, confirmed=_same,
                       intent=intent)


def _current_target(state: VehicleState) -> int:
    """The target to send with climate on/off; a comfortable default when none is known."""
    target = state.values.get("climate_target_temperature")
    if isinstance(target, int | float) and not isinstance(target, bool):
        return int(target)
    unit = state.units.get("climate_target_temperature") or state.units.get("outdoor_temperature")
    return DEFAULT_TARGET.get(unit or "°F", DEFAULT_TARGET["°F"])


def _send_horn_lights(
    client: VendorClient, vehicle: Vehicle, value: Any, _s: VehicleState
) -> Receipt | None:
    horn, lights = value in ("BOTH", "HORN"), value in ("BOTH", "LIGHTS")
    return client.horn_lights(vehicle, horn=horn, lights=lights)


LOCK_COMMAND = CommandSpec(
    accepts='LOCK, UNLOCK, or JSON {"state": "UNLOCK", "code": "..."}',
    parse=parse_lock,
    send=lambda client, vehicle, value, _s: client.set_lock(vehicle, value == "LOCK"),
    pending=lambda value: "LOCKING" if value == "LOCK" else "UNLOCKING",
    confirmed=lambda value: "LOCKED" if value == "LOCK" else "UNLOCKED",
    intent="set_lock",
)
CLIMATE_COMMAND = CommandSpec(
    accepts=SWITCH_ACCEPTS + ", heat_cool",
    parse=parse_climate,
    send=lambda client, vehicle, value, state: client.set_climate(
        vehicle, value, _current_target(state)
    ),
    pending=_same,
    confirmed=_same,
    intent="set_climate",
)
TARGET_COMMAND = CommandSpec(
    accepts=target_temperature_accepts,
    parse=parse_target_temperature,
    send=lambda client, vehicle, value, state: client.set_climate(
        vehicle, state.values.get("climate") is True, value
    ),
    pending=_same,
    confirmed=_same,
    ranges=TARGET_TEMPERATURE,
    intent="set_climate",
)
TARGET_SOC_COMMAND = CommandSpec(
    accepts="a whole number of percent: 50..100 in steps of 10",
    parse=parse_target_soc,
    send=lambda client, vehicle, value, _s: client.set_target_soc(vehicle, value),
    pending=_same,
    confirmed=_same,
    ranges=TARGET_SOC,
    intent="set_target_soc",
)
CHARGE_CURRENT_COMMAND = CommandSpec(
    accepts=charge_current_accepts,
    parse=parse_charge_current,
    send=lambda client, vehicle, value, _s: client.set_max_charge_current(vehicle, value),
    pending=_same,  # the status does not report it: the bridge keeps what it set
    intent="set_max_charge_current",
)
HORN_LIGHTS_COMMAND = CommandSpec(
    accepts="PRESS or BOTH (horn and lights), HORN, LIGHTS",
    parse=parse_horn_lights,
    send=_send_horn_lights,
    intent="horn_lights",
)
REFRESH_COMMAND = CommandSpec(
    accepts="PRESS", parse=parse_press, send=None, by=CarriedOutBy.WAKE_UP, intent="wake"
)
POLL_INTERVAL_COMMAND = CommandSpec(
    accepts="whole seconds, 60..86400",
    parse=parse_poll_interval,
    send=None,
    pending=_same,
    ranges=POLL_INTERVAL,
    by=CarriedOutBy.POLL_INTERVAL,
)
CHARGING_COMMAND = switch_command(
    lambda client, vehicle, value, _s: client.set_charging(vehicle, value), "set_charging"
)
DEFROST_COMMAND = switch_command(
    lambda client, vehicle, value, _s: client.set_defrost(vehicle, value), "set_defrost"
)
UNPLUGGED_CLIMATE_COMMAND = switch_command(
    lambda client, vehicle, value, _s: client.set_unplugged_climate(vehicle, value),
    "set_unplugged_climate",
)
WINDOW_HEATING_COMMAND = switch_command(
    lambda client, vehicle, value, _s: client.set_window_heating(vehicle, value),
    "set_window_heating",
)
