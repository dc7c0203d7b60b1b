"""The rules of a topic level, shared by the configuration (which checks names and
prefixes before anything runs) and the MQTT side (which builds the topics)."""

from __future__ import annotations

import re

BRIDGE = "bridge"  # reserved level: no vehicle may use it as its name
VEHICLE_NAME = re.compile(r"^[a-z0-9_-]+$")


def check_topic(topic: str) -> str:
    """Refuse wildcards, empty levels and NUL in a topic we publish to or build on."""
    if not topic or "+" in topic or "#" in topic or "\0" in topic:
        raise ValueError(f"invalid topic {topic!r}: empty, wildcard or NUL")
    if any(level == "" for level in topic.split("/")):
        raise ValueError(f"invalid topic {topic!r}: empty level")
    return topic
