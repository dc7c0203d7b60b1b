"""The bridge itself as a Home Assistant device, as zigbee2mqtt shows its bridge.

Its connection and version, and per account the figures of the daily budget: requests
in the last 24 hours, what is left, the effective poll interval and the commands
waiting. The account figures are plain retained topics under
``<base>/bridge/accounts/<id>/``, where ``<id>`` is derived from the e-mail address
without showing it; the same numbers are in ``bridge/info``.
"""

from __future__ import annotations

import re
from typing import Any

from carnet import __version__
from carnet.config import mask_email
from carnet.mqtt.ha_device import ORIGIN_NAME, origin_block
from carnet.mqtt.topics import Topics
from carnet.vendor.tokens import account_key

# key, name, unit, device class, icon
ACCOUNT_FIGURES = (
    ("requests_today", "requests in 24 h", None, None, "mdi:counter"),
    ("budget_left", "request budget left", None, None, "mdi:gauge"),
    ("poll_interval", "poll interval", "s", "duration", "mdi:timer-outline"),
    ("commands_waiting", "commands waiting", None, None, "mdi:timer-sand"),
)


def account_id(email: str) -> str:
    return account_key(email)[:8]


def account_topic(topics: Topics, email: str, key: str) -> str:
    return topics.bridge_account(account_id(email), key)


def account_values(budget: dict[str, Any]) -> dict[str, int]:
    """The plain values of an account's ``bridge/info`` budget."""
    return {
        "requests_today": sum(budget["requests_24h"].values()),
        "budget_left": budget["left"],
        "poll_interval": budget["poll_interval"],
        "commands_waiting": budget["commands_waiting"],
    }


def _node(topics: Topics, node_prefix: str) -> str:
    """One device per bridge: two bridges with their own base topics stay apart, and a
    guest (the demo) has a prefix of its own."""
    base = re.sub(r"[^a-z0-9]+", "_", topics.base.lower()).strip("_")
    return f"{node_prefix}_bridge_{base}"


def bridge_configs(
    topics: Topics, emails: list[str], mode: str = "component", node_prefix: str = ORIGIN_NAME
) -> list[tuple[str, dict[str, Any]]]:
    """The discovery messages of the bridge device, in the configured layout."""
    node = _node(topics, node_prefix)
    device = {
        "identifiers": [node],
        "name": "carnet2mqtt bridge",
        "manufacturer": "carnet2mqtt",
        "model": "Volkswagen app API to MQTT bridge",
        "sw_version": __version__,
    }
    online = [{"topic": topics.bridge_state, "value_template": "{{ value_json.state }}"}]

    def config(component: str, key: str, name: str, **specifics: Any) -> tuple[str, dict]:
        payload = {
            "name": name,
            "unique_id": f"{node}_{key}",
            "object_id": f"{node}_{key}",  # the entity id on Home Assistant before 2025.10
            "default_entity_id": f"{component}.{node}_{key}",
            "device": device,
            "origin": origin_block(),
            **specifics,
        }
        return topics.discovery_component(component, node, key), payload

    messages = [
        config("binary_sensor", "connection", "Connection", state_topic=topics.bridge_state,
               value_template="{{ value_json.state }}", payload_on="online",
               payload_off="offline", device_class="connectivity",
               entity_category="diagnostic"),
        config("sensor", "version", "Version", state_topic=topics.bridge_info,
               value_template="{{ value_json.version }}", entity_category="diagnostic",
               icon="mdi:information-outline", availability=online),
    ]
    for email in emails:
        for key, name, unit, device_class, icon in ACCOUNT_FIGURES:
            specifics: dict[str, Any] = {"state_topic": account_topic(topics, email, key),
                                         "icon": icon, "state_class": "measurement",
                                         "availability": online}
            if unit:
                specifics["unit_of_measurement"] = unit
            if device_class:
                specifics["device_class"] = device_class
            messages.append(config("sensor", f"{account_id(email)}_{key}",
                                   f"{mask_email(email)} {name}", **specifics))
    if mode != "device":
        return messages
    components = {}
    for topic, payload in messages:
        component, key = topic.split("/")[-4], topic.split("/")[-2]
        entry = {k: v for k, v in payload.items() if k not in ("device", "origin")}
        components[key] = {"p": component, **entry}
    return [(topics.discovery_device(node), {"dev": device, "o": origin_block(),
                                              "cmps": components})]
