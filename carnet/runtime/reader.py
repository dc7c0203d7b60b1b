"""One read of every vehicle, without MQTT: what ``--dump`` prints.

This is how an owner checks that the login works before wiring up a broker, so a
failure of one account is reported and the others are still read.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from carnet.catalog.encoding import json_value
from carnet.catalog.support import state_from_report
from carnet.catalog.table import ENTITIES
from carnet.config import Config, mask_email
from carnet.core.errors import AuthError, CarNetError
from carnet.mqtt.topics import distinct_name, plain_name_owners, vehicle_name
from carnet.vendor.generations import open_client
from carnet.vendor.protocol import Part, Vehicle, VendorClient
from carnet.vendor.tokens import TokenStore

_LOG = logging.getLogger(__name__)


def read_all(config: Config) -> Iterator[tuple[str, dict[str, Any] | CarNetError]]:
    """Per account: its masked e-mail and {vehicle name: details}, or the error that stopped it.

    The details are the VIN, model, model year, the state as the vehicle's JSON topic
    would carry it (``CLOSED``, ``ON``, ISO 8601 timestamps) and the unit of each number.
    """
    store = TokenStore(config.state_dir)
    for account in config.accounts:
        client = open_client(
            config.carnet, account, store, min_interval=config.commands.min_interval,
            max_per_minute=config.commands.max_per_minute, recorder=None,
        )
        try:
            yield mask_email(account.email), _read_account(client, account, config)
        except CarNetError as exc:
            yield mask_email(account.email), exc
        finally:
            client.close()


def _read_part(client: VendorClient, vehicle: Vehicle, part: Part, name: str) -> Any:
    """One part; a costly one only with commands enabled, and its failure costs only it."""
    if part not in vehicle.capabilities.costly_parts:
        return client.read(vehicle, part)
    if not client.commands_enabled:
        return None
    try:
        return client.read(vehicle, part)
    except AuthError:
        raise
    except CarNetError as exc:
        _LOG.warning("%s of %s not read: %s", part.value, name, exc)
        return None


def _read_account(client: VendorClient, account: Any, config: Config) -> dict[str, Any]:
    result: dict[str, Any] = {}
    wanted: list[tuple[Vehicle, str]] = []
    for vehicle in client.vehicles():
        settings = account.vehicles.get(vehicle.vin) or account.vehicles.get(vehicle.key)
        if settings is not None and not settings.enabled:
            continue
        configured = settings.name if settings else None
        wanted.append((vehicle, vehicle_name(vehicle.vin, vehicle.key, configured)))
    owners = plain_name_owners((vehicle.vin, name) for vehicle, name in wanted)
    for vehicle, plain in wanted:
        taken = {*result, plain} if owners[plain] != vehicle.vin else result
        name = distinct_name(plain, vehicle.vin, taken)
        parts = {part: _read_part(client, vehicle, part, name) for part in Part}
        state = state_from_report(client.interpret(vehicle, parts, account.temperature_unit))
        values = state.values
        result[name] = {
            "vin": vehicle.vin,
            "model": vehicle.model_name,
            "model_year": vehicle.model_year,
            # As the ``<base>/<vehicle>`` JSON topic carries them, in catalog order.
            "state": {
                item.key: json_value(item, values[item.key])
                for item in ENTITIES
                if values.get(item.key) is not None
            },
            "units": dict(sorted(state.units.items())),
        }
    return result
