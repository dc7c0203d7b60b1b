"""The vehicle as a Home Assistant device: who it is, the ids of its entities, and the
device and origin blocks every discovery config carries."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from carnet import __version__
from carnet.catalog.model import Entity
from carnet.vendor.protocol import NumberRange

_PLAIN_VIN = re.compile(r"[A-Z0-9]+")

ORIGIN_NAME = "carnet2mqtt"

@dataclass(frozen=True)
class DeviceInfo:
    """The vehicle as Home Assistant shows it; ``name`` is the vehicle's topic level."""

    vin: str
    name: str
    display_name: str | None = None
    model: str | None = None
    model_year: str | None = None
    node_prefix: str = ORIGIN_NAME
    """Starts the node and unique ids. The demo has its own, so its devices can never be
    taken for (or clear the configs of) a bridge's on the same broker."""
    charge_currents: tuple[str, ...] = ()  # what its charge current select offers
    # Its climate target temperatures by unit, when they differ from the catalog's.
    climate_targets: Mapping[str, NumberRange] = field(default_factory=dict)


def node_id(device: DeviceInfo) -> str:
    """Stable across renames: derived from the VIN, never from the configured name."""
    return f"{device.node_prefix}_{_vin_slug(device.vin)}"


def unique_id(device: DeviceInfo, item: Entity) -> str:
    return f"{node_id(device)}_{item.key}"


def _vin_slug(vin: str) -> str:
    """A real VIN (capital letters and digits) in lower case. Any other VIN also gets a
    hash of itself: the slug drops what tells ``ABC 123`` from ``abc/123`` apart."""
    slug = _slug(vin)
    if _PLAIN_VIN.fullmatch(vin):
        return slug
    digest = hashlib.sha256(vin.encode()).hexdigest()[:8]
    return f"{slug}_{digest}" if slug else digest


def _slug(text: str) -> str:
    """An entity-id-safe slug: lower-case letters, digits and single inner underscores."""
    return re.sub(r"_+", "_", re.sub(r"[^a-z0-9]+", "_", text.lower())).strip("_")


def default_entity_id(device: DeviceInfo, item: Entity) -> str:
    return f"{item.component}.{object_id(device, item.key)}"


def object_id(device: DeviceInfo, key: str) -> str:
    """The entity id without its domain: ``<vehicle>_<attribute>``.

    Sent as ``object_id`` too: Home Assistant before 2025.10 names the entity from it and
    ignores ``default_entity_id``; later versions use ``default_entity_id`` and deprecate
    ``object_id`` (they may say so in their log).
    """
    return _slug(f"{device.name}_{key}")


def device_block(device: DeviceInfo) -> dict[str, Any]:
    block: dict[str, Any] = {
        # The VIN, as ever, for the bridge's own devices; the node id for the demo's,
        # which Home Assistant would otherwise merge with a bridge's device of that VIN.
        "identifiers": [device.vin if device.node_prefix == ORIGIN_NAME else node_id(device)],
        "manufacturer": "Volkswagen",
        "name": device.display_name or device.name,
        "serial_number": device.vin,
    }
    if device.model:
        block["model"] = device.model
    if device.model_year:
        block["hw_version"] = device.model_year  # Home Assistant has no model-year field
    return block


def origin_block() -> dict[str, Any]:
    return {"name": ORIGIN_NAME, "sw_version": __version__}
