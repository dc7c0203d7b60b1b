"""Accounts sharded over two bridge instances on one broker: each with its own client id,
base topic and state directory, and neither disturbs the other's topics, commands or
discovery, also when one of them stops."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from carnet.config import Config
from carnet.simulator import Simulator, SimulatorOptions
from tests.conftest import RunningBridge, SimControl
from tests.support.broker import Broker
from tests.support.mqtt_probe import Probe, Received

SHARDS = ("fleet-a", "fleet-b")
EMAILS = {"fleet-a": "fleet-1@example.com", "fleet-b": "fleet-2@example.com"}
VEHICLE = "car"  # the same name on both: the base topic alone keeps them apart


@pytest.fixture
def fleet() -> Iterator[Simulator]:
    options = SimulatorOptions(apply_delay=0.0, rate_limit=1000, daily_budget=100000,
                               demo_id4=False, fleet=(2, 1))
    with Simulator(options) as sim:
        yield sim


def shard_config(make_config: Callable[..., Config], fleet: Simulator, tmp_path: Path,
                 shard: str) -> Config:
    return make_config(
        mqtt={"client_id": f"carnet2mqtt-{shard}", "base_topic": shard},
        carnet={"api_base": fleet.api_url, "identity_base": fleet.identity_url},
        accounts=[{"email": EMAILS[shard], "password": "fleet", "pin": "1234",
                   "vehicles": {vin_of(fleet, shard): {"name": VEHICLE}}}],
        commands={"max_per_minute": 60, "min_interval": 0, "verify_after": 0.2},
        state_dir=str(tmp_path / shard),
    )


def vehicles(fleet: Simulator) -> list[dict[str, Any]]:
    return list(SimControl(fleet).vehicles().values())


def vin_of(fleet: Simulator, shard: str) -> str:
    (vin,) = [v["vin"] for v in vehicles(fleet) if v["account"] == EMAILS[shard]]
    return vin


def owner(message: Received) -> str:
    """The shard a message belongs to: its base topic, or for a discovery config the base
    topic its payload points at (exactly one)."""
    if not message.topic.startswith("homeassistant/"):
        return message.topic.split("/", 1)[0]
    shards = {shard for shard in SHARDS if f'"{shard}/' in message.text}
    assert len(shards) == 1, (message.topic, shards)
    return shards.pop()


def retained(port: int) -> dict[str, Received]:
    """Every retained message on the broker, as a new subscriber receives it."""
    probe = Probe(port, client_id="retained-reader")
    try:
        probe.settle()
        return {m.topic: m for m in probe.messages if m.retain and m.payload}
    finally:
        probe.close()


def wait_idle(bridge: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not bridge.idle():
        assert time.monotonic() < deadline, "the bridge did not become idle"
        time.sleep(0.05)


def test_two_instances_share_a_broker_and_a_simulator_without_touching_each_other(
    make_config, broker: Broker, fleet: Simulator, tmp_path: Path
) -> None:
    sim = SimControl(fleet)
    probe = Probe(broker.port)
    running = {shard: RunningBridge(shard_config(make_config, fleet, tmp_path, shard)).start()
               for shard in SHARDS}
    try:
        for shard in SHARDS:
            probe.wait_for(lambda m, s=shard: m.topic == f"{s}/{VEHICLE}/availability"
                           and m.text == "online", 20)
        for instance in running.values():
            wait_idle(instance.bridge)
        probe.settle()

        # A consumer finds every instance by one wildcard on the bridge state.
        finder = Probe(broker.port, topic_filter="+/bridge/state", client_id="finder")
        try:
            found = finder.wait_for(lambda m: m.retain, count=len(SHARDS))
        finally:
            finder.close()
        assert {m.topic: json.loads(m.text)["state"] for m in found} == {
            f"{shard}/bridge/state": "online" for shard in SHARDS
        }

        # Every topic is one instance's; the discovery configs, their node ids and unique
        # ids are disjoint; each instance owns its own state directory.
        snapshot = retained(broker.port)
        by_shard: dict[str, dict[str, Received]] = {shard: {} for shard in SHARDS}
        for topic, message in snapshot.items():
            by_shard[owner(message)][topic] = message
        configs = {shard: {t: json.loads(m.text) for t, m in messages.items()
                           if t.startswith("homeassistant/")}
                   for shard, messages in by_shard.items()}
        unique_ids = {shard: {p["unique_id"] for p in c.values() if "unique_id" in p}
                      for shard, c in configs.items()}
        node_ids = {shard: {t.split("/")[2] for t in c} for shard, c in configs.items()}
        for shard in SHARDS:
            assert configs[shard], f"{shard} announced nothing"
            assert f"{shard}/{VEHICLE}/lock" in by_shard[shard]
            assert any((tmp_path / shard).iterdir()), f"{shard} keeps no tokens"
        assert not unique_ids["fleet-a"] & unique_ids["fleet-b"]
        assert not node_ids["fleet-a"] & node_ids["fleet-b"]
        assert len(unique_ids["fleet-a"]) == len(unique_ids["fleet-b"]) > 10

        # A /set on one instance reaches its account's car at the vendor, and only it.
        car_a, car_b = (vin_of(fleet, shard) for shard in SHARDS)
        before = sim.vehicles()
        wanted = "LOCK" if before[car_a]["locked"] is False else "UNLOCK"
        probe.clear()
        sim.clear_requests()
        probe.publish(f"fleet-a/{VEHICLE}/lock/set", wanted)
        (result,) = probe.wait_for(lambda m: m.topic == f"fleet-a/{VEHICLE}/result", 15)
        assert json.loads(result.text)["status"] == "ok"
        wait_idle(running["fleet-a"].bridge)
        after = sim.vehicles()
        assert after[car_a]["locked"] is (wanted == "LOCK")
        assert after[car_b]["locked"] is before[car_b]["locked"]
        commands = sim.commands()
        assert commands and all(before[car_a]["tspAccountNum"] in r["path"] for r in commands)
        assert not [m.topic for m in probe.messages if m.topic.startswith("fleet-b/")]

        # Stopping one leaves the other online, its retained topics and configs as they were.
        probe.clear()
        running.pop("fleet-b").stop()
        probe.wait_for(lambda m: m.topic == "fleet-b/bridge/state"
                       and json.loads(m.text)["state"] == "offline")
        probe.settle()
        touched = [m.topic for m in probe.messages if owner_or_none(m) == "fleet-a"]
        assert touched == [], "stopping fleet-b changed fleet-a's topics"
        remaining = retained(broker.port)
        kept = {t: m.payload for t, m in remaining.items() if owner_or_none(m) == "fleet-a"}
        assert json.loads(kept["fleet-a/bridge/state"])["state"] == "online"
        assert set(kept) >= {t for t in by_shard["fleet-a"] if t != f"fleet-a/{VEHICLE}/lock"}
        for topic in configs["fleet-a"]:
            assert kept[topic] == by_shard["fleet-a"][topic].payload, topic
    finally:
        for instance in running.values():
            instance.stop()
        probe.close()


def owner_or_none(message: Received) -> str | None:
    """The shard of a message, or None for an empty one (a cleared config names no one)."""
    if not message.payload:
        topic = message.topic
        return None if topic.startswith("homeassistant/") else topic.split("/", 1)[0]
    return owner(message)
