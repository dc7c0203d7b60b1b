"""A message received from the broker, detached from paho's objects."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Inbound:
    """One received message, detached from paho's objects."""

    topic: str
    payload: bytes
    retain: bool
    response_topic: str | None = None
    correlation_data: bytes | None = None
    # When paho handed it over (time.monotonic): a command's max_age counts from here,
    # not from when a busy dispatcher got round to it.
    received: float = field(default_factory=time.monotonic)
