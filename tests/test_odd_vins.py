"""VINs that do not make topic names by themselves: every vehicle still gets its own."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from carnet.config import parse_config
from carnet.daemon import wait_until
from carnet.discovery import DeviceInfo, node_id
from carnet.simulator import Simulator, SimulatorOptions
from carnet.topics import distinct_name, vehicle_name, vehicle_topic_name
from tests.support.broker import Broker
from tests.support.failures import BASE, retained_snapshot, wait_online
from tests.support.mqtt_probe import Probe

EMAIL = "odd.vins@example.org"
PASSWORD = "odd-vins-password"
SPACED = "ABC 1234567890123"
SLASHED = "abc/1234567890123"  # the same topic name as SPACED
HASHES = "#" * 17  # no letters or digits at all
PLAIN = "WVWZZZAUZGW000777"  # after the odd ones: it must not be skipped


@pytest.fixture
def odd_simulator(tmp_path: Path) -> Iterator[Simulator]:
    accounts = tmp_path / "accounts.yaml"
    accounts.write_text(yaml.safe_dump({"accounts": [{
        "email": EMAIL, "password": PASSWORD, "pin": "2468",
        "vehicles": [{"vin": vin, "type": "ev"} for vin in (SPACED, SLASHED, HASHES, PLAIN)],
    }]}))
    options = SimulatorOptions(apply_delay=0.0, rate_limit=1000, daily_budget=100000,
                               accounts_file=str(accounts))
    with Simulator(options) as sim:
        yield sim


def test_odd_vins_get_distinct_topic_names(
    odd_simulator: Simulator, broker: Broker, probe: Probe, run_bridge, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    config = parse_config({
        "mqtt": {"host": "127.0.0.1", "port": broker.port, "client_id": "carnet2mqtt-odd"},
        "carnet": {"api_base": odd_simulator.api_url,
                   "identity_base": odd_simulator.identity_url, "timeout": 5},
        "accounts": [{"email": EMAIL, "password": PASSWORD, "pin": "2468"}],
        "commands": {"min_interval": 0, "max_per_minute": 60},  # four climate reads at once
        "state_dir": str(tmp_path / "state"),
    }, {})
    bridge = run_bridge(config)
    assert wait_until(lambda: len(bridge.vehicles) == 4, 15), sorted(bridge.vehicles)
    by_vin = {v.api.vin: v for v in bridge.vehicles.values()}
    hashes_id = by_vin[HASHES].api.vehicle_id
    names = {vin: vehicle.name for vin, vehicle in by_vin.items()}
    assert names == {
        SPACED: "abc_1234567890123",
        SLASHED: "abc_1234567890123_2",
        HASHES: vehicle_topic_name(hashes_id),  # the vehicle id stands in for the VIN
        PLAIN: "wvwzzzauzgw000777",
    }
    wait_online(probe, *names.values())
    assert "both map to the topic name abc_1234567890123; the second is named " \
           "abc_1234567890123_2" in caplog.text

    # Each vehicle's own state topic and Home Assistant device, and an online account.
    retained = retained_snapshot(broker)
    for vin, name in names.items():
        assert json.loads(retained[f"{BASE}/{name}"].payload), vin
    devices = {topic.split("/")[2] for topic in retained if topic.startswith("homeassistant/")}
    devices.discard("carnet2mqtt_bridge_carnet2mqtt")  # the bridge's own device
    assert len(devices) == 4, devices
    info = json.loads(retained[f"{BASE}/bridge/info"].payload)
    assert sorted(v["name"] for v in info["vehicles"]) == sorted(names.values())
    assert [a["state"] for a in info["accounts"]] == ["online"]

    # A new enrollment (the daily one) keeps every name where it is.
    account, enrolled = bridge.accounts[0], threading.Event()
    account.reads.enqueue("enroll-again", lambda: bridge._enroll(account), then=enrolled.set)
    assert enrolled.wait(10)
    assert {v.api.vin: v.name for v in bridge.vehicles.values()} == names


def test_vehicle_name_falls_back_to_the_vehicle_id_then_a_hash() -> None:
    assert vehicle_name("WVWZZZAUZGW000001", "id-1", "egolf") == "egolf"
    assert vehicle_name("WVWZZZAUZGW000001", "id-1") == "wvwzzzauzgw000001"
    assert vehicle_name(HASHES, "8d2f-41aa") == "8d2f-41aa"
    fallback = vehicle_name(HASHES, "###")
    assert fallback == vehicle_name(HASHES, "###")  # stable
    assert fallback.startswith("vehicle_") and fallback != vehicle_name("#" * 16, "###")


def test_distinct_name_counts_up() -> None:
    assert distinct_name("golf", {}) == "golf"
    assert distinct_name("golf", {"golf"}) == "golf_2"
    assert distinct_name("golf", {"golf", "golf_2", "golf_3"}) == "golf_4"


def test_odd_vins_get_distinct_discovery_ids() -> None:
    ids = {node_id(DeviceInfo(vin=vin, name="x")) for vin in (SPACED, SLASHED, HASHES, "#" * 16)}
    assert len(ids) == 4
    assert node_id(DeviceInfo(vin="WVWZZZAUZGW000001", name="x")) == "carnet2mqtt_wvwzzzauzgw000001"
