"""VINs that do not make topic names by themselves: every vehicle still gets its own."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from carnet.config import Config, parse_config
from carnet.mqtt.discovery import DeviceInfo, node_id
from carnet.mqtt.topics import distinct_name, plain_name_owners, vehicle_name, vehicle_topic_name
from carnet.runtime.daemon import wait_until
from carnet.simulator import Simulator, SimulatorOptions
from tests.conftest import RunningBridge
from tests.support.broker import Broker
from tests.support.failures import BASE, retained_snapshot, wait_online
from tests.support.mqtt_probe import Probe

EMAIL = "odd.vins@example.org"
PASSWORD = "odd-vins-password"
SPACED = "ABC 1234567890123"
SLASHED = "abc/1234567890123"  # the same topic name as SPACED
HASHES = "#" * 17  # no letters or digits at all
PLAIN = "WVWZZZAUZGW000777"  # after the odd ones: it must not be skipped


ODD_VINS = (SPACED, SLASHED, HASHES, PLAIN)


def odd_options(tmp_path: Path, vins: tuple[str, ...]) -> SimulatorOptions:
    accounts = tmp_path / f"accounts-{vins[0].replace('/', '_')}.yaml"
    accounts.write_text(yaml.safe_dump({"accounts": [{
        "email": EMAIL, "password": PASSWORD, "pin": "2468",
        "vehicles": [{"vin": vin, "type": "ev"} for vin in vins],
    }]}))
    return SimulatorOptions(apply_delay=0.0, rate_limit=1000, daily_budget=100000,
                            accounts_file=str(accounts))


def odd_config(sim: Simulator, broker: Broker, state_dir: Path) -> Config:
    return parse_config({
        "mqtt": {"host": "127.0.0.1", "port": broker.port, "client_id": "carnet2mqtt-odd"},
        "carnet": {"api_base": sim.api_url, "identity_base": sim.identity_url, "timeout": 5},
        "accounts": [{"email": EMAIL, "password": PASSWORD, "pin": "2468"}],
        "commands": {"min_interval": 0, "max_per_minute": 60},  # four climate reads at once
        "state_dir": str(state_dir),
    }, {})


# Where several cars want the same name, the lowest VIN keeps it plain; the other's
# suffix comes from its own VIN.
SPACED_NAME = "abc_1234567890123"
SLASHED_NAME = distinct_name(SPACED_NAME, SLASHED, {SPACED_NAME})


@pytest.fixture
def odd_simulator(tmp_path: Path) -> Iterator[Simulator]:
    with Simulator(odd_options(tmp_path, ODD_VINS)) as sim:
        yield sim


def test_odd_vins_get_distinct_topic_names(
    odd_simulator: Simulator, broker: Broker, probe: Probe, run_bridge, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    config = odd_config(odd_simulator, broker, tmp_path / "state")
    bridge = run_bridge(config)
    assert wait_until(lambda: len(bridge.vehicles) == 4, 15), sorted(bridge.vehicles)
    by_vin = {v.api.vin: v for v in bridge.vehicles.values()}
    hashes_id = by_vin[HASHES].api.key
    names = {vin: vehicle.name for vin, vehicle in by_vin.items()}
    assert names == {
        SPACED: SPACED_NAME,
        SLASHED: SLASHED_NAME,
        HASHES: vehicle_topic_name(hashes_id),  # the vehicle id stands in for the VIN
        PLAIN: "wvwzzzauzgw000777",
    }
    wait_online(probe, *names.values())
    assert f"both map to the topic name {SPACED_NAME}; {SLASHED!r} is named " \
           f"{SLASHED_NAME}" in caplog.text

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
    account.reads.enqueue("enroll-again", lambda: bridge.roster._enroll(account), then=enrolled.set)
    assert enrolled.wait(10)
    assert {v.api.vin: v.name for v in bridge.vehicles.values()} == names


def test_colliding_vins_keep_their_names_when_the_vendor_lists_them_in_another_order(
    broker: Broker, probe: Probe, tmp_path: Path
) -> None:
    names: list[dict[str, str]] = []
    for number, vins in enumerate((ODD_VINS, tuple(reversed(ODD_VINS)))):
        # A restart, with the vendor's list in the other order (and no state kept).
        with Simulator(odd_options(tmp_path, vins)) as sim:
            running = RunningBridge(odd_config(sim, broker, tmp_path / f"state-{number}"))
            bridge = running.start().bridge
            try:
                assert wait_until(lambda b=bridge: len(b.vehicles) == 4, 15), \
                    sorted(bridge.vehicles)
                enrolled = bridge.fleet.vehicles_of(bridge.accounts[0])
                assert [v.api.vin for v in enrolled] == list(vins)
                names.append({v.api.vin: v.name for v in bridge.vehicles.values()
                              if v.api.vin != HASHES})  # named by the simulator's id
            finally:
                running.stop()
    assert names[0] == names[1] == {SPACED: SPACED_NAME, SLASHED: SLASHED_NAME,
                                    PLAIN: "wvwzzzauzgw000777"}, names


def test_vehicle_name_falls_back_to_the_vehicle_id_then_a_hash() -> None:
    assert vehicle_name("WVWZZZAUZGW000001", "id-1", "egolf") == "egolf"
    assert vehicle_name("WVWZZZAUZGW000001", "id-1") == "wvwzzzauzgw000001"
    assert vehicle_name(HASHES, "8d2f-41aa") == "8d2f-41aa"
    fallback = vehicle_name(HASHES, "###")
    assert fallback == vehicle_name(HASHES, "###")  # stable
    assert fallback.startswith("vehicle_") and fallback != vehicle_name("#" * 16, "###")


def test_distinct_name_takes_its_suffix_from_the_vin() -> None:
    assert distinct_name("golf", "VIN1", {}) == "golf"
    suffixed = distinct_name("golf", "VIN1", {"golf"})
    assert suffixed == distinct_name("golf", "VIN1", {"golf", "golf_2", "other"})  # stable
    assert suffixed.startswith("golf_") and len(suffixed) == len("golf_") + 6
    assert distinct_name("golf", "VIN2", {"golf"}) != suffixed
    assert distinct_name("golf", "VIN1", {"golf", suffixed}).startswith(suffixed)
    assert plain_name_owners([("B", "golf"), ("A", "golf"), ("C", "polo")]) == \
        {"golf": "A", "polo": "C"}


def test_odd_vins_get_distinct_discovery_ids() -> None:
    ids = {node_id(DeviceInfo(vin=vin, name="x")) for vin in (SPACED, SLASHED, HASHES, "#" * 16)}
    assert len(ids) == 4
    assert node_id(DeviceInfo(vin="WVWZZZAUZGW000001", name="x")) == "carnet2mqtt_wvwzzzauzgw000001"
