"""Helpers of the failure tests: shortened clocks, result collection, persistent probes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from carnet.config import Config
from tests.support.broker import Broker
from tests.support.mqtt_probe import Probe, Received

BASE = "carnet2mqtt"


def fast(
    config: Config,
    *,
    interval: int | None = None,
    timeout: float | None = None,
    login_retry: float | None = None,
    login_retry_max: float | None = None,
    **commands: Any,
) -> Config:
    """The configuration with clocks shorter than validation allows (tests only)."""
    polling = config.polling
    if interval is not None:
        polling = replace(polling, interval=interval, active_interval=interval)
    vendor = config.carnet
    if timeout is not None:
        vendor = replace(vendor, timeout=timeout)
    if login_retry is not None:
        vendor = replace(vendor, login_retry=login_retry)
    if login_retry_max is not None:
        vendor = replace(vendor, login_retry_max=login_retry_max)
    return replace(
        config, polling=polling, carnet=vendor, commands=replace(config.commands, **commands)
    )


def wait_online(probe: Probe, *vehicles: str, timeout: float = 15.0) -> None:
    for vehicle in vehicles:
        probe.wait_for(
            lambda m, v=vehicle: m.topic == f"{BASE}/{v}/availability" and m.text == "online",
            timeout,
        )


def results(probe: Probe, vehicle: str | None = None) -> list[dict[str, Any]]:
    """Every result message received so far (of one vehicle, or of all)."""
    found = []
    for message in list(probe.messages):
        parts = message.topic.split("/")
        is_result = len(parts) == 3 and parts[0] == BASE and parts[2] == "result"
        if is_result and (vehicle is None or parts[1] == vehicle):
            found.append(json.loads(message.payload))
    return found


def wait_results(
    probe: Probe,
    vehicle: str,
    predicate: Callable[[dict[str, Any]], bool],
    count: int = 1,
    timeout: float = 10.0,
) -> list[dict[str, Any]]:
    def matches(message: Received) -> bool:
        topic = f"{BASE}/{vehicle}/result"
        return message.topic == topic and predicate(json.loads(message.payload))

    return [json.loads(m.payload) for m in probe.wait_for(matches, timeout, count)]


def retained_snapshot(broker: Broker, topic_filter: str = "#") -> dict[str, Received]:
    """Everything the broker holds retained under ``topic_filter``, read by a new client."""
    late = Probe(broker.port, topic_filter, client_id=f"late-{time.monotonic_ns()}")
    try:
        # A marker published after subscribing arrives after every retained message.
        late.publish("test/marker", "x")
        late.wait_topic("test/marker", timeout=5)
        return {m.topic: m for m in late.messages if m.retain and m.payload}
    finally:
        late.close()
