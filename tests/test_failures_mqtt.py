"""The broker goes away: restarts, is missing at start-up, and the bridge is stopped by SIGTERM."""

from __future__ import annotations

import json
import logging
import os
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from carnet.config import parse_config
from carnet.runtime.daemon import wait_until
from tests.conftest import EV_VIN, GAS_VIN, SimControl, config_dict, merge
from tests.support.broker import Broker, free_port
from tests.support.failures import (
    BASE,
    fast,
    results,
    retained_snapshot,
    wait_online,
    wait_results,
)
from tests.support.flood import flood
from tests.support.mqtt_probe import Probe

REPO = Path(__file__).resolve().parent.parent


def lock_command_sent(sim: SimControl) -> bool:
    return any("/status/exterior/doors" in r["path"] for r in sim.commands())


@pytest.mark.slow(7)
def test_broker_restart_republishes_everything_and_resubscribes(
    make_config, run_bridge, probe, broker, sim
):
    bridge = run_bridge(make_config())
    wait_online(probe, "egolf", "jetta")
    probe.wait_for(lambda m: m.topic.startswith("homeassistant/"), count=60)

    broker.restart()  # no persistence: every retained message and subscription is gone

    wanted = {
        f"{BASE}/bridge/state",
        f"{BASE}/bridge/info",
        f"{BASE}/egolf/availability",
        f"{BASE}/egolf/lock",
        f"{BASE}/jetta/availability",
        f"{BASE}/jetta/fuel_level",
        f"homeassistant/lock/carnet2mqtt_{EV_VIN.lower()}/lock/config",
        f"homeassistant/lock/carnet2mqtt_{GAS_VIN.lower()}/lock/config",
    }
    snapshot: dict = {}

    def republished() -> bool:
        nonlocal snapshot
        snapshot = retained_snapshot(broker)
        return wanted <= set(snapshot)

    assert wait_until(republished, 20, step=0.5), sorted(wanted - set(snapshot))
    assert json.loads(snapshot[f"{BASE}/bridge/state"].text) == {"state": "online"}
    assert snapshot[f"{BASE}/egolf/availability"].text == "online"
    assert snapshot[f"{BASE}/egolf/lock"].text == "LOCKED"
    assert sum(t.startswith("homeassistant/") for t in snapshot) >= 60
    assert bridge.link.connected.is_set()

    # Resubscribed: a command sent after the restart is carried out.
    assert wait_until(probe.client.is_connected, 10)
    probe.wait_for(lambda m: m.topic == f"{BASE}/bridge/state")  # the probe is subscribed again
    probe.publish(f"{BASE}/egolf/lock/set", "UNLOCK")
    done = wait_results(probe, "egolf", lambda r: r["attribute"] == "lock", timeout=15)
    assert done[0]["status"] == "ok", done
    assert sim.vehicles()[EV_VIN]["locked"] is False
    assert lock_command_sent(sim)


@pytest.fixture
def persistent_broker():
    """mosquitto that keeps sessions (and their queued messages) across a restart."""
    directory = tempfile.mkdtemp(prefix="carnet-persist-")
    instance = Broker(extra_config=f"persistence true\npersistence_location {directory}/\n")
    instance.start()
    yield instance
    instance.close()


@pytest.mark.slow(8)
def test_commands_accepted_before_a_broker_outage_are_not_lost(
    make_config, run_bridge, persistent_broker, sim
):
    config = make_config()
    config = replace(config, mqtt=replace(config.mqtt, port=persistent_broker.port))
    # The unlock waits 3 s for its verification; the horn queues behind min_interval.
    config = fast(config, verify_after=3.0, min_interval=2.0)
    watcher = Probe(persistent_broker.port, f"{BASE}/#", client_id="watcher", persistent=True)
    try:
        bridge = run_bridge(config)
        wait_online(watcher, "egolf", "jetta")
        watcher.publish(f"{BASE}/egolf/lock/set", "UNLOCK")
        watcher.publish(f"{BASE}/jetta/horn_lights/set", "LIGHTS")
        assert wait_until(lambda: lock_command_sent(sim), 10)
        persistent_broker.stop()
        restarted_at = time.monotonic()
        # Both results become due while the broker is away: the verification after 3 s,
        # the queued lights after the 2 s spacing.
        time.sleep(4.0)
        assert any("horn_and_lights" in r["path"] for r in sim.commands())
        assert not results(watcher)
        persistent_broker.start()
        unlock = wait_results(watcher, "egolf", lambda r: r["attribute"] == "lock", timeout=20)
        flash = wait_results(
            watcher, "jetta", lambda r: r["attribute"] == "horn_lights", timeout=20
        )
        assert unlock[0]["status"] == "ok", unlock
        assert flash[0]["status"] == "ok", flash
        assert time.monotonic() - restarted_at > 4.0
        # Exactly one result each, and the state shows the unlock: once the bridge is idle
        # and its messages are delivered, a second result would be in already.
        assert wait_until(bridge.idle, 10)
        assert bridge.link.flush(10)
        watcher.sync()
        assert len(results(watcher, "egolf")) == 1
        assert len(results(watcher, "jetta")) == 1
        watcher.wait_for(lambda m: m.topic == f"{BASE}/egolf/lock" and m.text == "UNLOCKED")
    finally:
        watcher.close()


def test_broker_unreachable_at_start_up(make_config, run_bridge, sim, caplog):
    caplog.set_level(logging.INFO)
    port = free_port()
    config = make_config()
    config = replace(config, mqtt=replace(config.mqtt, port=port))
    bridge = run_bridge(config)

    def link_lines() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == "carnet.mqtt.link"]

    # Still running, still trying, and saying so.
    assert wait_until(
        lambda: any(f"127.0.0.1:{port} does not answer" in line for line in link_lines()), 10
    ), link_lines()
    assert not bridge.link.connected.is_set()
    assert any(t.name == "dispatcher" and t.is_alive() for t in threading.enumerate())
    # Vehicles are read meanwhile; nothing waits for the broker.
    assert wait_until(lambda: all(v.online for v in bridge.vehicles.values()), 10)

    late = Broker(port=port).start()
    try:
        probe = Probe(port)
        try:
            wait_online(probe, "egolf", "jetta", timeout=90)
            state = probe.wait_topic(f"{BASE}/bridge/state", timeout=5)
            assert json.loads(state.text) == {"state": "online"}
            assert any("connected to MQTT broker" in r.getMessage() for r in caplog.records)
        finally:
            probe.close()
    finally:
        bridge_stop_before(late, bridge)


def bridge_stop_before(broker: Broker, bridge) -> None:
    """Stop the bridge while its broker still runs (run_bridge stops it again harmlessly)."""
    bridge.request_stop()
    bridge.stop()
    broker.close()


def test_sigterm_stops_gracefully(simulator, broker, probe, sim, tmp_path):
    state_dir = tmp_path / "state"
    # A long verification: the command is still in flight when SIGTERM arrives.
    config = merge(
        config_dict(simulator, broker, state_dir),
        {"mqtt": {"client_id": "carnet2mqtt-sigterm"}, "commands": {"verify_after": 20}},
    )
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump(config))
    process = subprocess.Popen(
        [sys.executable, "bridge.py", "--config", str(config_file)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_online(probe, "egolf", "jetta", timeout=20)
        probe.publish(f"{BASE}/egolf/lock/set", "UNLOCK")
        assert wait_until(lambda: lock_command_sent(sim), 10)
        time.sleep(0.3)
        assert not results(probe, "egolf")
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=10)
        took = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
        output = process.communicate()[0]
    assert code == 0, output
    assert took < 5.0, output
    assert "SIGTERM received" in output

    # The command in flight was reported, once.
    reported = wait_results(probe, "egolf", lambda r: r["attribute"] == "lock", timeout=5)
    assert len(results(probe, "egolf")) == 1
    assert reported[0]["status"] in ("ok", "unconfirmed", "error"), reported
    assert reported[0]["detail"]

    snapshot = retained_snapshot(broker)
    assert json.loads(snapshot[f"{BASE}/bridge/state"].text) == {"state": "offline"}
    assert snapshot[f"{BASE}/egolf/availability"].text == "offline"
    assert snapshot[f"{BASE}/jetta/availability"].text == "offline"

    token_files = list(state_dir.glob("tokens-*.json"))
    assert len(token_files) == 1
    assert stat.S_IMODE(os.stat(token_files[0]).st_mode) == 0o600
    assert json.loads(token_files[0].read_text())["tokens"]["refresh_token"]


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
@pytest.mark.slow(15)
def test_two_bridges_with_one_client_id_back_off_instead_of_fighting(
    make_config, run_bridge, probe, tmp_path, caplog, protocol
):
    caplog.set_level(logging.INFO, logger="carnet.mqtt.link")
    flips: list[tuple[float, str]] = []
    started = time.monotonic()
    probe.client.message_callback_add(
        f"{BASE}/bridge/state",
        lambda c, u, m: flips.append((round(time.monotonic() - started, 1), m.payload.decode())),
    )
    for n in (1, 2):
        run_bridge(
            make_config(
                mqtt={"client_id": "carnet2mqtt-shared", "protocol": protocol},
                state_dir=str(tmp_path / f"state-{n}"),
            )
        )
    time.sleep(15)
    errors = [
        r.getMessage()
        for r in caplog.records
        if r.name == "carnet.mqtt.link" and r.levelno == logging.ERROR
    ]
    # Without a back-off the two throw each other out every second: 30 state changes.
    assert len(flips) <= 8, f"{len(flips)} bridge/state messages: {flips}"
    assert 1 <= len(errors) <= 2, errors  # one from each bridge at most
    assert all("'carnet2mqtt-shared'" in e and "another MQTT client uses" in e for e in errors)


@pytest.fixture
def small_queue_broker():
    """mosquitto that queues at most 20 packets for a client and drops the rest, its
    acknowledgements of that client's messages included (mosquitto 2.0 does)."""
    instance = Broker(extra_config="max_queued_messages 20\nlog_type notice\n").start()
    yield instance
    instance.close()


@pytest.mark.slow(11)
def test_acknowledgements_the_broker_drops_in_a_flood_do_not_stall_the_results(
    simulator, small_queue_broker, tmp_path, run_bridge
) -> None:
    """A flood arrives faster than the bridge reads it: the broker's queue for the bridge
    overflows and the PUBACKs of results in flight are lost with the flood's messages. The
    bridge finds out and sends them again at once, instead of holding a full window for the
    30 s its last-resort timeout waits."""
    broker = small_queue_broker
    config = parse_config(
        merge(config_dict(simulator, broker, tmp_path / "state"), {"log_level": "warning"}),
        {},
    )
    bridge = run_bridge(config)
    assert wait_until(lambda: "egolf" in bridge.vehicles and bridge.link.backlog == 0, 20)
    vehicle = bridge.vehicles["egolf"]
    # The dispatcher is held up, so every message beyond the inbox is answered at once,
    # on the thread that reads the flood.
    with vehicle.lock:
        # Large enough to overflow the socket buffers, which would otherwise absorb it.
        pad = "x" * 2000
        payloads = [json.dumps({"poll_interval": 600, "pad": pad, "n": n}) for n in range(20000)]
        flood(broker.port, f"{BASE}/egolf/set", payloads)
        log = broker._dir / "mosquitto.log"
        assert wait_until(
            lambda: f"dropped for client {config.mqtt.client_id}" in log.read_text(), 5
        ), "the broker's queue for the bridge never overflowed: nothing tested\n" + log.read_text()
        started = time.monotonic()
        drained = wait_until(lambda: bridge.link.backlog == 0, 20, 0.1)
        took = time.monotonic() - started
    assert drained, f"{bridge.link.backlog} results still queued or unacknowledged"
    assert took < 15, f"results stalled for {took:.0f} s"
