"""Delivery against a default mosquitto 2.0: every retained topic arrives at QoS 0, 1 and 2
with MQTT 5 and 3.1.1, also for a fleet, and a flood of commands gets its results."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from carnet.config import parse_config
from carnet.mqtt.link import Inbound, MqttLink
from carnet.runtime.daemon import Bridge, wait_until
from carnet.runtime.inbox import INBOX_LIMIT
from carnet.simulator import Simulator, SimulatorOptions
from tests.conftest import config_dict, merge
from tests.support.broker import Broker
from tests.support.failures import BASE, retained_snapshot, wait_online
from tests.support.flood import ResultCounter, flood


@pytest.fixture
def sent(monkeypatch) -> dict[str, str | bytes]:
    """The last retained payload the bridge queued per topic (its own link's publish,
    wrapped: what reaches the broker is read back from the broker)."""
    record: dict[str, str | bytes] = {}
    publish = MqttLink.publish

    def recording(self, topic: str, payload: str | bytes, retain: bool = False) -> None:
        if retain:
            record[topic] = payload
        publish(self, topic, payload, retain)

    monkeypatch.setattr(MqttLink, "publish", recording)
    return record


def retained_in_parts(broker: Broker, filters: list[str]) -> dict[str, bytes]:
    """Like ``retained_snapshot``, one filter at a time: a default mosquitto queues at most
    1000 messages for a subscriber and drops the rest of a fleet's retained topics."""
    held: dict[str, bytes] = {}
    marker = threading.Event()

    def on_message(client, userdata, message) -> None:
        if message.topic == "test/marker":
            marker.set()
        elif message.retain and message.payload:
            held[message.topic] = bytes(message.payload)

    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"late-{time.monotonic_ns()}")
    client.on_message = on_message
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        client.subscribe("test/marker", qos=1)
        client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for start in range(0, len(filters), 10):  # about 500 retained messages at a time
            batch = filters[start : start + 10]
            marker.clear()
            client.subscribe([(topic_filter, 1) for topic_filter in batch])
            # In order: the marker follows every retained message of the filters.
            client.publish("test/marker", "x", qos=1)
            assert marker.wait(10), f"the marker did not come back after {batch}"
            client.unsubscribe(batch)
        return dict(held)
    finally:
        client.disconnect()  # wakes the network thread, so loop_stop() returns at once
        client.loop_stop()


def as_bytes(payload: str | bytes) -> bytes:
    return payload.encode() if isinstance(payload, str) else payload


@pytest.fixture(scope="module")
def fleet() -> Iterator[Simulator]:
    options = SimulatorOptions(
        apply_delay=0.0, rate_limit=100000, daily_budget=1000000, fleet=(50, 4)
    )
    with Simulator(options) as sim:
        yield sim


def fleet_accounts(count: int) -> list[dict[str, Any]]:
    return [
        {"email": f"fleet-{i}@example.com", "password": "fleet", "pin": "1234"}
        for i in range(1, count + 1)
    ]


def run_until_published(
    bridge: Bridge, sent: dict[str, str | bytes], vehicles: int, timeout: float
) -> dict[str, bytes]:
    """Start the bridge, wait until all vehicles were published and nothing is left to
    deliver; return the last non-empty retained payload it published per topic."""
    bridge.start()
    try:

        def settled() -> bool:
            return (
                len(bridge.vehicles) == vehicles
                and all(v.state is not None for v in bridge.vehicles.values())
                and bridge.idle()
                and bridge.link.backlog == 0
            )

        deadline = time.monotonic() + timeout
        while True:
            assert wait_until(settled, deadline - time.monotonic()), (
                f"{len(bridge.vehicles)} vehicles, {bridge.link.backlog} messages undelivered"
            )
            before = dict(sent)
            time.sleep(0.5)  # a republish after the connect may still be on its way
            if settled() and sent == before:
                return {topic: as_bytes(payload) for topic, payload in before.items() if payload}
    except BaseException:
        bridge.stop()
        raise


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
@pytest.mark.parametrize("qos", [0, 1, 2])
def test_every_retained_topic_arrives(
    simulator, broker, tmp_path: Path, sent, qos, protocol
) -> None:
    """A default mosquitto takes 20 messages in flight from a client; more are refused
    (MQTT 5: quota exceeded) or lost (3.1.1)."""
    config = parse_config(
        merge(
            config_dict(simulator, broker, tmp_path / "state"),
            {"mqtt": {"qos": qos, "protocol": protocol}},
        ),
        {},
    )
    bridge = Bridge(config)
    expected = run_until_published(bridge, sent, 2, timeout=30)
    try:
        snapshot = retained_snapshot(broker)
    finally:
        bridge.stop()
    assert len(expected) > 140
    missing = sorted(set(expected) - set(snapshot))
    assert not missing, f"{len(missing)} of {len(expected)} retained topics missing: {missing[:20]}"
    stale = [t for t in expected if snapshot[t].payload != expected[t]]
    assert not stale, stale[:20]


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
@pytest.mark.slow(31)
def test_every_retained_topic_of_200_vehicles_arrives_at_qos_2(
    fleet: Simulator, tmp_path: Path, sent, protocol
) -> None:
    broker = Broker().start()
    try:
        config = parse_config(
            merge(
                config_dict(fleet, broker, tmp_path / "state"),
                {
                    "mqtt": {"qos": 2, "protocol": protocol},
                    "accounts": fleet_accounts(50),
                    "commands": {"max_per_minute": 60},
                },
            ),
            {},
        )
        bridge = Bridge(config)
        expected = run_until_published(bridge, sent, 200, timeout=120)
        try:
            vins = [v.api.vin.lower() for v in bridge.vehicles.values()]
            filters = [
                "carnet2mqtt/bridge/#",
                *(f"carnet2mqtt/{vin}/#" for vin in vins),
                *(f"homeassistant/+/carnet2mqtt_{vin}/#" for vin in vins),
                "homeassistant/+/carnet2mqtt_bridge_carnet2mqtt/#",  # the bridge's own device
            ]
            snapshot = retained_in_parts(broker, filters)
        finally:
            bridge.stop()
    finally:
        broker.close()
    assert len(expected) > 200 * 60
    missing = sorted(set(expected) - set(snapshot))
    assert not missing, f"{len(missing)} of {len(expected)} retained topics missing: {missing[:20]}"


FLOOD = 20000


@pytest.mark.slow(28)
def test_a_flood_of_commands_gets_one_result_each(
    make_config, run_bridge, probe, caplog, monkeypatch
) -> None:
    """The dispatcher is held up (a poll holds the vehicle's lock) while 20,000 commands
    arrive: 1000 wait, the rest are answered at once; every one gets exactly one result."""
    caplog.set_level(logging.WARNING)
    received: list[float] = []
    receive = Bridge._receive

    def counting(self, message) -> None:
        if message.topic.endswith("/set"):
            received.append(message.received)
        receive(self, message)

    monkeypatch.setattr(Bridge, "_receive", counting)
    bridge = run_bridge(make_config())
    wait_online(probe, "egolf", "jetta")
    probe.close()  # a Python subscriber to "#" would only compete with the bridge
    port = bridge.config.mqtt.port
    counter = ResultCounter(port, f"{BASE}/egolf/result")
    vehicle = bridge.vehicles["egolf"]
    try:
        payloads = [json.dumps({"poll_interval": 600, "transaction": n}) for n in range(FLOOD)]
        with vehicle.lock:
            flood(port, f"{BASE}/egolf/set", payloads)
            assert wait_until(lambda: len(received) == FLOOD, 30), len(received)
            waiting = bridge._inbox.qsize()
        # Every message gets its one result, none dropped.
        assert wait_until(lambda: len(counter.results) >= FLOOD, 60), (
            f"{len(counter.results)} results for {FLOOD} messages"
        )
        time.sleep(0.5)
        results = list(counter.results)
    finally:
        counter.close()
    assert waiting == INBOX_LIMIT
    assert len(results) == FLOOD
    overloaded = [r for r in results if "bridge overloaded" in r["detail"]]
    # One message was being dispatched, INBOX_LIMIT waited, the rest were answered at once,
    # unparsed: no transaction echoed, no value.
    assert len(overloaded) == FLOOD - INBOX_LIMIT - 1
    assert all(r["status"] == "rejected" for r in overloaded)
    assert all(r["transaction"] is None and r["value"] == "" for r in overloaded)
    transactions = [r["transaction"] for r in results if r not in overloaded]
    assert sorted(transactions) == sorted(set(transactions)), "a message got two results"
    assert len(transactions) == INBOX_LIMIT + 1
    assert "Message queue full" not in caplog.text
    assert f"{FLOOD - INBOX_LIMIT - 1} messages were answered 'rejected'" in caplog.text


def test_max_age_counts_from_receipt(make_config, run_bridge, probe, sim) -> None:
    """A command that waited in the inbox longer than max_age is never sent."""
    bridge = run_bridge(make_config(commands={"max_age": 30}))
    wait_online(probe, "egolf", "jetta")
    sim.clear_requests()
    late = Inbound(
        f"{BASE}/egolf/lock/set", b"UNLOCK", False, received=time.monotonic() - 31
    )
    bridge.dispatcher.handle(late)
    result = probe.wait_for(lambda m: m.topic == f"{BASE}/egolf/result")[0]
    assert json.loads(result.text)["status"] == "expired", result.text
    assert not sim.commands()
