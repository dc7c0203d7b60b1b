"""Publishing from several threads, cleaning up what disappeared, and the read queue's limits;
without a broker: ``send`` is a function that records what it is given."""

from __future__ import annotations

import copy
import json
import threading
from types import SimpleNamespace
from typing import Any

from carnet.catalog.state import VehicleState
from carnet.config import parse_config
from carnet.mqtt.discovery import DeviceInfo, possible_topics
from carnet.mqtt.publisher import StatePublisher
from carnet.mqtt.topics import Topics
from carnet.runtime.daemon import Bridge, wait_until
from carnet.runtime.discovery_sync import DiscoverySync
from carnet.runtime.reads import MAX_FOLLOWUPS, ReadPool
from carnet.runtime.vehicle import VehicleRuntime
from carnet.vendor.carnet_app.readings import RawVehicleData
from carnet.vendor.carnet_app.vehicles import carnet_vehicle
from carnet.vendor.protocol import Part
from tests.support.reports import parse_state
from tests.test_state import CLIMATE, GAS_STATUS, HEALTH

BASE = "carnet2mqtt"
LOCK = f"{BASE}/egolf/lock"
GAS_VIN = "3VWZZZ1KZLM000002"


class Recorder:
    """A ``send`` that keeps every message in the order it was handed over."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def __call__(self, topic: str, payload: str, retain: bool) -> None:
        assert retain
        with self._lock:
            self.sent.append((topic, payload))

    def last(self, topic: str) -> str | None:
        payloads = [p for t, p in self.sent if t == topic]
        return payloads[-1] if payloads else None


def lock_state(value: str) -> VehicleState:
    return VehicleState({"lock": value}, {})


# --- 1. the order on the broker is the order of the publisher's memory -------------------


def test_concurrent_publishes_leave_the_broker_with_what_is_remembered() -> None:
    """A sends LOCKING, B sends LOCKED while A is inside ``send``: LOCKED must end last."""
    recorder = Recorder()
    a_sending = threading.Event()
    b_done = threading.Event()

    def send(topic: str, payload: str, retain: bool) -> None:
        if payload == "LOCKING":
            a_sending.set()
            b_done.wait(1.0)  # B gets every chance to overtake A here
        recorder(topic, payload, retain)

    publisher = StatePublisher(send, Topics(BASE), "attribute")

    def thread_b() -> None:
        a_sending.wait(5)
        publisher.publish("egolf", lock_state("LOCKED"))
        b_done.set()

    a = threading.Thread(target=publisher.publish, args=("egolf", lock_state("LOCKING")))
    b = threading.Thread(target=thread_b)
    a.start()
    b.start()
    a.join(5)
    b.join(5)
    assert recorder.last(LOCK) == "LOCKED", recorder.sent
    # The next identical poll sends nothing, and nothing needs correcting.
    assert publisher.publish("egolf", lock_state("LOCKED")) == 0
    assert recorder.last(LOCK) == "LOCKED"


def bridge_for_tests(tmp_path: Any) -> Bridge:
    config = parse_config(
        {
            "accounts": [{"email": "daniel@example.com", "password": "pw"}],
            "mqtt": {"output": "attribute"},
            "state_dir": str(tmp_path / "state"),
        },
        {},
    )
    return Bridge(config)  # not started: nothing connects


def test_bridge_publishes_the_newest_snapshot_last(tmp_path) -> None:
    """A takes its snapshot (LOCKING); B then changes the vehicle and publishes LOCKED.
    A must not publish its older snapshot after B's."""
    bridge = bridge_for_tests(tmp_path)
    recorder = Recorder()
    bridge.publisher = StatePublisher(recorder, bridge.topics, "attribute")
    api = carnet_vehicle("id1", "WVWZZZAUZGW000001", "tsp1", "WCT", "e-Golf", "2016")
    vehicle = VehicleRuntime("egolf", api, None, 600)  # type: ignore[arg-type]
    vehicle.state = lock_state("LOCKED")
    vehicle.pending["lock"] = "LOCKING"
    snapshot_taken = threading.Event()
    b_done = threading.Event()
    original = vehicle.published_state
    thread_a: list[threading.Thread] = []

    def published_state() -> VehicleState:
        state = original()
        if threading.current_thread() in thread_a:
            snapshot_taken.set()
            b_done.wait(1.0)  # B gets every chance to publish before A does
        return state

    vehicle.published_state = published_state  # type: ignore[method-assign]

    def thread_b() -> None:
        snapshot_taken.wait(5)
        with vehicle.lock:  # as the command verification changes it
            vehicle.pending.pop("lock")
        bridge.publish_vehicle(vehicle)
        b_done.set()

    a = threading.Thread(target=bridge.publish_vehicle, args=(vehicle,))
    thread_a.append(a)
    b = threading.Thread(target=thread_b)
    a.start()
    b.start()
    a.join(5)
    b.join(5)
    assert recorder.last(LOCK) == "LOCKED", recorder.sent


# --- 5a. values that disappear are cleared ------------------------------------------------


def test_a_value_that_disappears_gets_an_empty_retained_message() -> None:
    recorder = Recorder()
    publisher = StatePublisher(recorder, Topics(BASE), "attribute_and_json")
    full = VehicleState(
        {"lock": "LOCKED", "location": {"latitude": 1.0, "longitude": 2.0}, "health": "ok"},
        {},
        {"health": {"code": "D"}},
    )
    publisher.publish("egolf", full)
    publisher.publish("jetta", full)
    recorder.sent.clear()

    publisher.publish("egolf", VehicleState({"lock": "LOCKED"}, {}))
    cleared = {t for t, p in recorder.sent if p == ""}
    assert cleared == {
        f"{BASE}/egolf/location",
        f"{BASE}/egolf/health",
        f"{BASE}/egolf/health/attributes",
    }
    assert (f"{BASE}/egolf", '{"lock": "LOCKED"}') in recorder.sent  # the JSON has no gaps
    # Once cleared is enough; another vehicle's topics are not touched.
    recorder.sent.clear()
    assert publisher.publish("egolf", VehicleState({"lock": "LOCKED"}, {})) == 0
    # A value that comes back is sent again.
    publisher.publish("egolf", full)
    assert recorder.last(f"{BASE}/egolf/location") == '{"latitude":1.0,"longitude":2.0}'
    assert not any(t.startswith(f"{BASE}/jetta") for t, _ in recorder.sent)


def test_the_first_publish_clears_nothing_and_a_reconnect_keeps_the_cleanup() -> None:
    recorder = Recorder()
    publisher = StatePublisher(recorder, Topics(BASE), "attribute")
    publisher.publish("egolf", VehicleState({"lock": "LOCKED"}, {}))
    assert all(p for _, p in recorder.sent)  # nothing known from before: nothing cleared

    publisher.publish("egolf", VehicleState({"lock": "LOCKED", "hood": False}, {}))
    publisher.forget()  # a reconnect: everything is sent again
    recorder.sent.clear()
    publisher.publish("egolf", VehicleState({"lock": "LOCKED"}, {}))
    assert recorder.sent == [(f"{BASE}/egolf/hood", ""), (LOCK, "LOCKED")]


# --- 5b. discovery of entities that vanished while the bridge was down --------------------


def sync_for(mode: str) -> tuple[DiscoverySync, Recorder]:
    config = parse_config(
        {
            "accounts": [{"email": "daniel@example.com", "password": "pw"}],
            "mqtt": {"discovery": {"mode": mode}},
        },
        {},
    )
    recorder = Recorder()
    return DiscoverySync(config, Topics(BASE), recorder), recorder


def gas_vehicle(climate_read: bool = True) -> VehicleRuntime:
    """The combustion car after a poll; with or without the climate details read yet."""
    api = carnet_vehicle("id2", GAS_VIN, "tsp2", "WCT", "Jetta", "2020")
    account = SimpleNamespace(client=SimpleNamespace(commands_enabled=True))
    vehicle = VehicleRuntime("jetta", api, account, 600)  # type: ignore[arg-type]
    raw = RawVehicleData(
        copy.deepcopy(GAS_STATUS),
        copy.deepcopy(CLIMATE) if climate_read else None,
        copy.deepcopy(HEALTH),
    )
    vehicle.parts = {Part.STATUS: raw.status, Part.CLIMATE: raw.climate, Part.HEALTH: raw.health}
    vehicle.state = parse_state(raw)
    return vehicle


def test_first_announcement_clears_configs_of_entities_the_vehicle_does_not_have() -> None:
    sync, recorder = sync_for("component")
    vehicle = gas_vehicle()
    sync.publish_vehicle(vehicle)
    node = f"carnet2mqtt_{GAS_VIN.lower()}"
    cleared = {t for t, p in recorder.sent if p == ""}
    announced = {t for t, p in recorder.sent if p}
    assert f"homeassistant/sensor/{node}/battery_level/config" in cleared
    assert f"homeassistant/switch/{node}/charging/config" in cleared
    assert f"homeassistant/sensor/{node}/fuel_level/config" in announced
    assert not cleared & announced
    assert cleared | announced == set(possible_topics(DeviceInfo(GAS_VIN, "jetta"), Topics(BASE)))
    assert f"homeassistant/switch/{node}/climate/config" in announced
    # event entities: no charging on a combustion car, door events it has
    assert f"homeassistant/event/{node}/charging_events/config" in cleared
    assert f"homeassistant/event/{node}/door_events/config" in announced

    # Not again at the next poll; nor after a reconnect's ``forget``.
    recorder.sent.clear()
    assert sync.publish_vehicle(vehicle) == 0
    sync.forget()
    sync.publish_vehicle(vehicle)
    assert all(p for _, p in recorder.sent)


def test_no_cleanup_before_the_climate_details_were_read() -> None:
    """The first status comes before the climate details: climate must not be removed."""
    sync, recorder = sync_for("component")
    vehicle = gas_vehicle(climate_read=False)
    sync.publish_vehicle(vehicle)
    assert all(p for _, p in recorder.sent)
    climate_read = gas_vehicle()
    recorder.sent.clear()
    sync.publish_vehicle(climate_read)  # now every section was read once: clean up
    node = f"carnet2mqtt_{GAS_VIN.lower()}"
    assert (f"homeassistant/sensor/{node}/battery_level/config", "") in recorder.sent
    assert (f"homeassistant/switch/{node}/climate/config", "") not in recorder.sent
    assert any(t == f"homeassistant/switch/{node}/climate/config" and p for t, p in recorder.sent)


def test_an_entity_that_vanishes_after_forget_is_still_removed() -> None:
    sync, recorder = sync_for("component")
    vehicle = gas_vehicle()
    sync.publish_vehicle(vehicle)
    sync.forget()
    vehicle.state = vehicle.state.with_value("hood", None)
    recorder.sent.clear()
    sync.publish_vehicle(vehicle)
    node = f"carnet2mqtt_{GAS_VIN.lower()}"
    assert (f"homeassistant/binary_sensor/{node}/hood/config", "") in recorder.sent


def test_device_mode_first_announcement_lists_missing_entities_for_removal() -> None:
    sync, recorder = sync_for("device")
    vehicle = gas_vehicle()
    sync.publish_vehicle(vehicle)
    ((_, payload),) = recorder.sent
    components = json.loads(payload)["cmps"]
    assert components["battery_level"] == {"p": "sensor"}
    assert components["fuel_level"]["state_topic"] == f"{BASE}/jetta/fuel_level"
    recorder.sent.clear()
    sync.publish_vehicle(vehicle)  # afterwards only what the vehicle has
    ((_, again),) = recorder.sent
    assert "battery_level" not in json.loads(again)["cmps"]


# --- 10. follow-ups of a hanging read ------------------------------------------------------


def test_follow_ups_of_a_hanging_read_are_capped_and_the_rest_run_at_once() -> None:
    pool = ReadPool(1)
    worker = pool.account("test")
    started, release = threading.Event(), threading.Event()

    def hang() -> None:
        started.set()
        release.wait(10)

    try:
        worker.enqueue("poll:egolf", hang)
        assert started.wait(5)
        assert worker.enqueue("poll:egolf", lambda: None)  # waits behind the hanging read
        caller = threading.current_thread()
        at_once: list[int] = []
        later: list[int] = []

        def follow_up(number: int) -> None:
            (at_once if threading.current_thread() is caller else later).append(number)

        extra = 20
        for number in range(MAX_FOLLOWUPS + extra):
            worker.enqueue("poll:egolf", lambda: None, then=lambda n=number: follow_up(n))
        assert at_once == list(range(MAX_FOLLOWUPS, MAX_FOLLOWUPS + extra))
        assert later == []
        release.set()
        assert wait_until(worker.idle, 5)
        assert later == list(range(MAX_FOLLOWUPS))
    finally:
        release.set()
        worker.stop()
        pool.stop()
