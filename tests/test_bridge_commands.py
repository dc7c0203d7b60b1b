"""The command path against the simulator over HTTP and a real mosquitto (SPEC §4-§6).

Every test drives the daemon only through MQTT and checks three things the user would
see: the request the vendor received (``/_sim/requests``), the car's state in the
simulator (``/_sim/vehicles``) and on MQTT, and the one result per command on
``<base>/<vehicle>/result``.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from carnet.simulator import Simulator, SimulatorOptions
from tests.conftest import EV_VIN, GAS_VIN, SimControl, chosen_generation
from tests.support.generations import Generation
from tests.support.mqtt_probe import Probe, Received
from tests.test_bridge_state import retained_snapshot, wait_online

BASE = "carnet2mqtt"
TSP = "/mps/v1/vehicles/"


# --- helpers -------------------------------------------------------------------------------


def is_result(message: Received, vehicle: str) -> bool:
    return message.topic == f"{BASE}/{vehicle}/result"


def results(probe: Probe, vehicle: str = "egolf") -> list[dict[str, Any]]:
    return [json.loads(m.text) for m in list(probe.messages) if is_result(m, vehicle)]


def wait_results(
    probe: Probe, count: int, vehicle: str = "egolf", timeout: float = 15.0
) -> list[dict[str, Any]]:
    try:
        found = probe.wait_for(lambda m: is_result(m, vehicle), timeout, count)
    except AssertionError:
        got = results(probe, vehicle)
        raise AssertionError(f"{len(got)} of {count} results on {vehicle}: {got}") from None
    return [json.loads(m.text) for m in found]


def send(
    probe: Probe, vehicle: str, attribute: str | None, payload: str | bytes, **kw: Any
) -> None:
    topic = f"{BASE}/{vehicle}/{attribute}/set" if attribute else f"{BASE}/{vehicle}/set"
    probe.publish(topic, payload, **kw)


def command(
    probe: Probe, attribute: str, payload: str | bytes, vehicle: str = "egolf", timeout: float = 15
) -> dict[str, Any]:
    """Send one command and return its result (the next result on the vehicle's topic)."""
    before = len(results(probe, vehicle))
    send(probe, vehicle, attribute, payload)
    return wait_results(probe, before + 1, vehicle, timeout)[-1]


def vendor_commands(sim: SimControl) -> list[tuple[str, str]]:
    """(method, path after the tspAccountNum) of every command request, oldest first."""
    return [(r["method"], r["path"].split("/", 5)[5]) for r in sim.commands()]


def mqtt_values(probe: Probe, vehicle: str, attribute: str) -> list[str]:
    topic = f"{BASE}/{vehicle}/{attribute}"
    return [m.text for m in list(probe.messages) if m.topic == topic]


def mqtt_value(probe: Probe, vehicle: str, attribute: str) -> str | None:
    values = mqtt_values(probe, vehicle, attribute)
    return values[-1] if values else None


def start(run_bridge, make_config, probe: Probe, *vehicles: str, **changes: Any) -> Any:
    """Run the bridge and wait for its first poll. Unless a test is about the budget, the
    bridge may send as many requests a minute as the fixture's simulator allows."""
    commands = {"max_per_minute": 60, **changes.pop("commands", {})}
    bridge = run_bridge(make_config(commands=commands, **changes))
    wait_online(probe, *(vehicles or ("egolf",)))
    return bridge


def wait_idle(bridge: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not bridge.idle():
        assert time.monotonic() < deadline, "the bridge did not become idle"
        time.sleep(0.05)


def wait_delivered(bridge: Any, probe: Probe) -> None:
    """Wait until the bridge is idle and everything it published has reached the probe:
    then a result that is not there was never sent (no quiet time needed to know it)."""
    wait_idle(bridge)
    assert bridge.link.flush(10), "the bridge's messages were not delivered"
    probe.sync()


def simulator_at(sim: Simulator) -> dict[str, Any]:
    """make_config changes that point the bridge at a simulator built in the test."""
    return {"carnet": {"api_base": sim.api_url, "identity_base": sim.identity_url}}


@pytest.fixture
def custom_sim(request) -> Iterator[Callable[..., tuple[Simulator, SimControl]]]:
    started: list[Simulator] = []
    quick = chosen_generation(request).quick

    def build(**options: Any) -> tuple[Simulator, SimControl]:
        options.setdefault("apply_delay", 0.0)
        options.setdefault("daily_budget", 100000)
        options = {**quick, **options}
        instance = Simulator(SimulatorOptions(**options)).start()
        started.append(instance)
        return instance, SimControl(instance)

    yield build
    for instance in started:
        instance.stop()


# --- 1. every command, end to end ------------------------------------------------------------

DOORS, CHARGING, CURRENT = "status/exterior/doors", "status/charging", "settings/max_charge_current"
CLIMATE, DEFROST, HORN = "status/climate", "status/defrost", "status/exterior/horn_and_lights"
UNPLUGGED = "settings/unplugged_climate_control"


def current(value: int | str) -> tuple[str, str, dict[str, Any]]:
    return ("PUT", CURRENT, {"max_charge_current": value})


def climate(active: bool, target: int) -> tuple[str, str, dict[str, Any]]:
    return ("PUT", CLIMATE, {"active": active, "target_temperature": target})


# (attribute, payload,
#  the vendor request: method, path after the tspAccountNum, body without the credentials,
#  simulator field -> value afterwards, MQTT value afterwards, part of the result's detail)
EGOLF_COMMANDS: list[
    tuple[str, str, tuple[str, str, dict[str, Any]] | None, dict[str, Any], str | None, str]
] = [
    ("lock", "UNLOCK", ("PUT", DOORS, {"lock": False}), {"locked": False}, "UNLOCKED",
     "confirmed"),
    ("lock", "lock", ("PUT", DOORS, {"lock": True}), {"locked": True}, "LOCKED", "confirmed"),
    ("charging", "ON", ("PATCH", CHARGING, {"active": True}), {"charging": True}, "ON",
     "confirmed"),
    ("charging", "false", ("PATCH", CHARGING, {"active": False}), {"charging": False}, "OFF",
     "confirmed"),
    ("max_charge_current", "5", current(5), {"max_charge_current": 5}, "5", "accepted"),
    ("max_charge_current", "10", current(10), {"max_charge_current": 10}, "10", "accepted"),
    ("max_charge_current", "max", current("max"), {"max_charge_current": "max"}, "max",
     "accepted"),
    ("max_charge_current", "13", current(13), {"max_charge_current": 13}, "13", "accepted"),
    ("max_charge_current", "MAX", current("max"), {"max_charge_current": "max"}, "max",
     "accepted"),
    # evcc sends amps: the highest setting not above them.
    ("max_charge_current", "16", current(13), {"max_charge_current": 13}, "13", "accepted"),
    ("max_charge_current", "7", current(5), {"max_charge_current": 5}, "5", "accepted"),
    # Climate on/off carries the current target; the target carries the current on/off.
    ("climate", "ON", climate(True, 72), {"climate_on": True}, "ON", "confirmed"),
    ("climate_target_temperature", "75", climate(True, 75),
     {"target_temperature": 75, "climate_on": True}, "75", "confirmed"),
    ("climate", "OFF", climate(False, 75), {"climate_on": False, "target_temperature": 75},
     "OFF", "confirmed"),
    ("climate_target_temperature", "68", climate(False, 68),
     {"target_temperature": 68, "climate_on": False}, "68", "confirmed"),
    # The Home Assistant climate entity's modes arrive on the climate switch's topic.
    ("climate", "heat_cool", climate(True, 68), {"climate_on": True, "target_temperature": 68},
     "ON", "confirmed"),
    ("climate", "off", climate(False, 68), {"climate_on": False}, "OFF", "confirmed"),
    ("defrost", "ON", ("PUT", DEFROST, {"active": True}), {"defrost_on": True}, "ON",
     "confirmed"),
    ("defrost", "0", ("PUT", DEFROST, {"active": False}), {"defrost_on": False}, "OFF",
     "confirmed"),
    ("unplugged_climate", "on", ("PUT", UNPLUGGED, {"enabled": True}),
     {"unplugged_climate": True}, "ON", "confirmed"),
    ("unplugged_climate", "OFF", ("PUT", UNPLUGGED, {"enabled": False}),
     {"unplugged_climate": False}, "OFF", "confirmed"),
    ("horn_lights", "BOTH", ("PUT", HORN, {"horn": True, "lights": True}), {}, None, "accepted"),
    ("horn_lights", "HORN", ("PUT", HORN, {"horn": True, "lights": False}), {}, None, "accepted"),
    ("horn_lights", "lights", ("PUT", HORN, {"horn": False, "lights": True}), {}, None,
     "accepted"),
    ("horn_lights", "PRESS", ("PUT", HORN, {"horn": True, "lights": True}), {}, None, "accepted"),
    ("refresh", "PRESS", ("PUT", "status/fresh", {}), {}, None, "wake-up sent"),
    ("poll_interval", "300", None, {}, "300", "polling every 300 s"),
]


@pytest.fixture
def wire(monkeypatch) -> list[tuple[str, str, dict[str, Any]]]:
    """The command requests as the bridge sends them, bodies included.

    The simulator's log has no bodies; the bridge runs in this process, so its HTTP
    session is watched instead. Credentials in the body are left out.
    """
    sent: list[tuple[str, str, dict[str, Any]]] = []
    original = requests.Session.request

    def record(self, method, url, *args, **kwargs):
        path = urlsplit(url).path
        if path.startswith(TSP) and not path.endswith("/climate/details"):
            body = json.loads(kwargs.get("data") or "{}")
            for secret in ("tsp_token", "email", "vw_id"):
                assert body.pop(secret, None), f"{secret} missing in {method} {path}"
            sent.append((method, path.split("/", 5)[5], body))
        return original(self, method, url, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "request", record)
    return sent


@pytest.mark.slow(6)
def test_every_command_reaches_the_vendor_changes_the_car_and_gets_one_result(
    make_config, run_bridge, probe, sim: SimControl, wire
):
    bridge = start(run_bridge, make_config, probe, "egolf", "jetta")
    wait_idle(bridge)
    for attribute, payload, request, car, shown, detail in EGOLF_COMMANDS:
        sim.clear_requests()
        result = command(probe, attribute, payload)
        where = f"{attribute}={payload}"
        assert result["attribute"] == attribute, where
        assert result["status"] == "ok", (where, result)
        assert detail in result["detail"], (where, result)
        assert result["transaction"] is None
        assert vendor_commands(sim) == ([request[:2]] if request else []), where
        assert wire == ([request] if request else []), where
        wire.clear()
        state = sim.vehicles()[EV_VIN]
        for key, expected in car.items():
            assert state[key] == expected, (where, key, state[key])
        if shown is not None:
            assert mqtt_value(probe, "egolf", attribute) == shown, where
        if attribute == "refresh":  # the woken car's status is read after verify_after
            deadline = time.monotonic() + 5
            while not sim.requests("/rvs/v1/vehicle/", "GET"):
                assert time.monotonic() < deadline, "no status read after the wake-up"
                time.sleep(0.05)
        wait_idle(bridge)  # the verification poll is done before the next command

    # The buttons' values in their results are the normalised ones.
    horn = [r["value"] for r in results(probe) if r["attribute"] == "horn_lights"]
    assert horn == ["BOTH", "HORN", "LIGHTS", "BOTH"]
    # The lock showed the pending value before the confirmed one.
    lock = mqtt_values(probe, "egolf", "lock")
    assert lock.index("UNLOCKING") < lock.index("UNLOCKED") < lock.index("LOCKING")
    # poll_interval changes the bridge, not the car, and shows up in the JSON state.
    document = json.loads(probe.latest()[f"{BASE}/egolf"].text)
    assert document["poll_interval"] == 300
    assert str(document["max_charge_current"]) == "5"

    # The other vehicle of the account gets its own requests and its own results.
    sim.clear_requests()
    result = command(probe, "lock", "UNLOCK", vehicle="jetta")
    assert result["status"] == "ok"
    assert [r["path"] for r in sim.commands()] == [
        f"{TSP}{sim.vehicles()[GAS_VIN]['tspAccountNum']}/status/exterior/doors"
    ]
    assert sim.vehicles()[GAS_VIN]["locked"] is False
    assert sim.vehicles()[EV_VIN]["locked"] is True
    assert mqtt_value(probe, "jetta", "lock") == "UNLOCKED"
    assert len(results(probe, "egolf")) == len(EGOLF_COMMANDS)


def test_json_set_carries_several_commands_and_echoes_the_transaction(
    make_config, run_bridge, probe, sim: SimControl
):
    bridge = start(run_bridge, make_config, probe)
    wait_idle(bridge)
    sim.clear_requests()
    send(probe, "egolf", None, json.dumps({
        "charging": "ON",
        "max_charge_current": 10,
        "climate_target_temperature": 70,
        "defrost": True,
        "transaction": "tx-17",
    }))
    got = {r["attribute"]: r for r in wait_results(probe, 4)}
    assert set(got) == {"charging", "max_charge_current", "climate_target_temperature", "defrost"}
    assert all(r["transaction"] == "tx-17" for r in got.values())
    assert all(r["status"] == "ok" for r in got.values()), got
    assert str(got["max_charge_current"]["value"]) == "10"
    assert got["defrost"]["value"] == "ON"
    assert Counter(vendor_commands(sim)) == Counter({
        ("PATCH", "status/charging"): 1,
        ("PUT", "settings/max_charge_current"): 1,
        ("PUT", "status/climate"): 1,
        ("PUT", "status/defrost"): 1,
    })
    car = sim.vehicles()[EV_VIN]
    assert (car["charging"], car["max_charge_current"], car["target_temperature"],
            car["defrost_on"]) == (True, 10, 70, True)
    assert mqtt_value(probe, "egolf", "climate_target_temperature") == "70"

    # A numeric transaction comes back as a number; an invalid entry is rejected on its own.
    send(probe, "egolf", None, json.dumps({"lock": "LOCK", "charging": "maybe",
                                           "transaction": 42}))
    later = wait_results(probe, 6)[4:]
    by_attribute = {r["attribute"]: r for r in later}
    assert by_attribute["charging"]["status"] == "rejected"
    assert by_attribute["lock"]["status"] == "ok"
    assert all(r["transaction"] == 42 for r in later)
    wait_delivered(bridge, probe)
    assert len(results(probe)) == 6


# --- 2. coalescing -------------------------------------------------------------------------


@pytest.mark.slow(5)
def test_forty_target_temperatures_cost_at_most_three_requests(
    make_config, run_bridge, probe, custom_sim, generation: Generation
):
    simulator, sim = custom_sim(rate_limit=1000)
    # verify_after longer than min_interval: a newer value is sent before the first one is
    # read back, as with the real defaults (25 s and 5 s).
    bridge = start(run_bridge, make_config, probe, **simulator_at(simulator),
                   commands={"min_interval": 1, "verify_after": 1.5})
    wait_idle(bridge)
    # The vendor's latency from here on: the start-up reads need not wait for it.
    simulator.options.latency = 0.3
    sim.clear_requests()
    # within the targets of both generations (myVW's start at 61)
    sent = [str(61 + (i * 7) % 25) for i in range(39)] + ["77"]
    started = time.monotonic()
    for value in sent:
        send(probe, "egolf", "climate_target_temperature", value)
    assert time.monotonic() - started < 1.0

    got = wait_results(probe, 40, timeout=20)
    wait_delivered(bridge, probe)
    got = results(probe)
    assert len(got) == 40, Counter(r["status"] for r in got)
    assert Counter(str(r["value"]) for r in got) == Counter(sent)
    statuses = Counter(r["status"] for r in got)
    assert set(statuses) <= {"ok", "superseded"}, got
    assert got[-1]["status"] == "ok" and str(got[-1]["value"]) == "77"
    climate = generation.requests_to(sim, "climate_target_temperature")
    assert 1 <= len(climate) <= 3
    # Only a value that was sent can be confirmed; the car's own value (72) may be
    # answered at once without a request.
    confirmed = [r for r in got if r["status"] == "ok" and "nothing sent" not in r["detail"]]
    assert len(confirmed) <= len(climate)
    assert sim.vehicles()[EV_VIN]["target_temperature"] == 77
    assert mqtt_value(probe, "egolf", "climate_target_temperature") == "77"


# --- 3. the vendor's rate limit ---------------------------------------------------------------


def test_a_burst_of_mixed_commands_stays_under_the_vendor_limit(
    make_config, run_bridge, probe, custom_sim
):
    simulator, sim = custom_sim(rate_limit=7)  # the vendor's limit; the bridge keeps 6
    # min_interval as a user would set it (the default is 5): the burst queues up behind
    # the first command and coalesces there.
    bridge = start(run_bridge, make_config, probe, "egolf", "jetta", **simulator_at(simulator),
                   commands={"max_per_minute": 6, "min_interval": 1})
    wait_idle(bridge)
    burst = [
        ("lock", "UNLOCK"), ("charging", "ON"), ("max_charge_current", "5"),
        ("lock", "LOCK"), ("charging", "OFF"), ("max_charge_current", "10"),
        ("lock", "UNLOCK"), ("charging", "ON"), ("max_charge_current", "13"),
        ("lock", "LOCK"), ("max_charge_current", "16"), ("charging", "OFF"),
        ("lock", "UNLOCK"), ("charging", "ON"), ("max_charge_current", "max"),
        ("lock", "LOCK"), ("charging", "OFF"), ("max_charge_current", "5"),
        ("charging", "ON"), ("lock", "UNLOCK"),
    ]
    assert len(burst) == 20
    for attribute, payload in burst:
        send(probe, "egolf", attribute, payload)
    wait_results(probe, 20, timeout=30)
    wait_delivered(bridge, probe)
    assert len(results(probe)) == 20
    assert not [r for r in sim.requests() if r["status"] == 429]
    assert len(sim.requests(TSP)) <= 6  # everything happened within one minute
    car = sim.vehicles()[EV_VIN]
    assert (car["locked"], car["charging"], car["max_charge_current"]) == (False, True, 5)
    assert mqtt_value(probe, "egolf", "lock") == "UNLOCKED"
    assert mqtt_value(probe, "egolf", "charging") == "ON"
    assert mqtt_value(probe, "egolf", "max_charge_current") == "5"
    assert {r["status"] for r in results(probe)} <= {"ok", "superseded"}


@pytest.fixture
def vendor_clock(monkeypatch) -> list[float]:
    """Shifts the simulator's rate-limit clock: ``shift[0] = 55`` ages its window 55 s."""
    from carnet.simulator import limits

    shift = [0.0]
    real = limits.real_now
    monkeypatch.setattr(limits, "real_now", lambda: real() + shift[0])
    return shift


def test_a_429_is_waited_out_and_the_command_then_succeeds(
    make_config, run_bridge, probe, sim: SimControl, vendor_clock, generation: Generation
):
    bridge = start(run_bridge, make_config, probe, "egolf", "jetta",
                   commands={"max_age": 20})
    wait_idle(bridge)
    # One command first: myVW's limit counts commands only, Car-Net's the start-up reads too.
    assert command(probe, "horn_lights", "LIGHTS", vehicle="jetta")["status"] == "ok"
    wait_idle(bridge)
    used = len(generation.rate_limited_requests(sim))
    assert used >= 1
    # The window is full, and its oldest request is about 57 s old: Retry-After is ~3 s.
    sim.fault(kind="rate_limit", per_minute=used)
    vendor_clock[0] = 57.0
    sim.clear_requests()
    started = time.monotonic()
    result = command(probe, "lock", "UNLOCK", timeout=20)
    took = time.monotonic() - started
    assert result["status"] == "ok", result
    doors = [r["status"] for r in generation.requests_to(sim, "lock")]
    assert doors == [429, 200]
    assert 2.0 <= took < 20, took
    assert sim.vehicles()[EV_VIN]["locked"] is False


def test_a_429_longer_than_max_age_expires_the_command(
    make_config, run_bridge, probe, sim: SimControl, generation: Generation
):
    bridge = start(run_bridge, make_config, probe, "egolf", "jetta", commands={"max_age": 5})
    wait_idle(bridge)
    # Retry-After ~60 s
    sim.fault(kind="rate_limit", per_minute=len(generation.rate_limited_requests(sim)))
    sim.clear_requests()
    result = command(probe, "lock", "UNLOCK")
    assert result["status"] == "expired", result
    assert "max_age" in result["detail"]
    assert [r["status"] for r in generation.requests_to(sim, "lock")] == [429]
    assert sim.vehicles()[EV_VIN]["locked"] is True


def test_waiting_for_the_bridge_own_budget_counts_against_max_age(
    make_config, run_bridge, probe, sim: SimControl
):
    """The per-minute budget is waited for in the queue, where max_age still applies."""
    # Two requests a minute: the first start-up climate read takes one, the other car's
    # waits for a quiet minute (one request is kept for the owner), the lock takes the last.
    bridge = start(run_bridge, make_config, probe, "egolf", "jetta",
                   commands={"max_per_minute": 2, "max_age": 3})
    wait_idle(bridge)
    used = 1
    assert len(sim.requests(TSP)) == used
    assert command(probe, "lock", "UNLOCK")["status"] == "ok"
    started = time.monotonic()
    result = command(probe, "charging", "ON")
    assert result["status"] == "expired", result
    assert time.monotonic() - started < 10
    assert not sim.requests("/status/charging")
    assert sim.vehicles()[EV_VIN]["charging"] is False


# --- 4. retained commands ----------------------------------------------------------------------


def test_a_retained_unlock_never_reaches_the_vendor_and_is_cleared(
    make_config, run_bridge, probe, broker, sim: SimControl, generation: Generation
):
    topic = f"{BASE}/egolf/lock/set"
    probe.publish(topic, "UNLOCK", retain=True)  # left behind before the bridge starts
    bridge = start(run_bridge, make_config, probe)
    first = wait_results(probe, 1)[0]
    assert first["status"] == "rejected" and "retained" in first["detail"]
    assert first["attribute"] == "lock"

    # And one published retained while the bridge runs.
    probe.publish(topic, "UNLOCK", retain=True)
    second = wait_results(probe, 2)[1]
    assert second["status"] == "rejected" and "retained" in second["detail"]
    # The same for a retained JSON command.
    probe.publish(f"{BASE}/egolf/set", json.dumps({"lock": "UNLOCK", "transaction": 5}),
                  retain=True)
    third = wait_results(probe, 3)[2]
    assert third["status"] == "rejected" and "retained" in third["detail"]
    assert third["transaction"] == 5

    wait_delivered(bridge, probe)
    assert len(results(probe)) == 3
    assert not generation.requests_to(sim, "lock")
    assert sim.vehicles()[EV_VIN]["locked"] is True
    snapshot = retained_snapshot(broker)
    assert topic not in snapshot and f"{BASE}/egolf/set" not in snapshot
    assert mqtt_value(probe, "egolf", "lock") == "LOCKED"


# --- 5. expiry --------------------------------------------------------------------------------


def test_a_command_queued_longer_than_max_age_expires_unsent(
    make_config, run_bridge, probe, custom_sim, generation: Generation
):
    simulator, sim = custom_sim(rate_limit=1000)
    bridge = start(run_bridge, make_config, probe, **simulator_at(simulator),
                   commands={"max_age": 1})
    wait_idle(bridge, timeout=30)
    # The vendor's latency from here on: the start-up reads need not wait for it.
    simulator.options.latency = 2.5
    sim.clear_requests()
    send(probe, "egolf", "lock", "UNLOCK")  # the vendor takes 2.5 s to answer this one
    time.sleep(0.2)
    send(probe, "egolf", "charging", "ON")  # waits behind it for longer than max_age
    got = {r["attribute"]: r for r in wait_results(probe, 2)}
    assert got["charging"]["status"] == "expired", got
    assert "1s" in got["charging"]["detail"] or "max_age" in got["charging"]["detail"]
    assert got["lock"]["status"] == "ok"
    assert not generation.requests_to(sim, "charging")
    assert sim.vehicles()[EV_VIN]["charging"] is False


# --- 6. invalid payloads ---------------------------------------------------------------------

INVALID: list[tuple[str | None, bytes, str]] = [
    ("lock", b"OPEN", "LOCK, UNLOCK"),
    ("lock", b'{"state": 5}', "LOCK, UNLOCK"),
    ("charging", b"maybe", "ON, OFF"),
    ("charging", b"", "ON, OFF"),
    # {…}: what the generation's vehicle accepts (tests/support/generations.py)
    ("max_charge_current", b"3", "{charge_currents}"),
    ("max_charge_current", b"fast", "{charge_currents}"),
    ("climate", b"warm", "heat_cool"),
    ("climate_target_temperature", b"100", "{climate_targets}"),
    ("climate_target_temperature", b"72.5", "{climate_targets}"),
    ("climate_target_temperature", b"NaN", "{climate_targets}"),
    ("defrost", b"2", "ON, OFF"),
    ("unplugged_climate", b"yes", "ON, OFF"),
    ("horn_lights", b"SIREN", "HORN, LIGHTS"),
    ("refresh", b"NOW", "PRESS"),
    ("poll_interval", b"10", "60..86400"),
    ("lock", b"\xff\xfeUNLOCK", "LOCK, UNLOCK"),
    ("doors", b"OPEN", "writable attributes: lock"),
    ("battery_level", b"100", "read-only; writable attributes"),
    ("horn", b"PRESS", "horn_lights"),
    (None, b"{not json", "JSON object"),
    (None, b"[1, 2]", "JSON object"),
    (None, b"\xc3\x28", "JSON object"),
    (None, b'{"transaction": 1}', "writable attributes"),
    (None, b'{"warp_drive": "ON"}', "writable attributes"),
]


def test_invalid_payloads_are_rejected_with_what_is_accepted_and_never_sent(
    make_config, run_bridge, probe, sim: SimControl, generation: Generation
):
    bridge = start(run_bridge, make_config, probe)
    wait_idle(bridge)
    sim.clear_requests()
    for attribute, payload, accepted in INVALID:
        result = command(probe, attribute, payload)
        where = (attribute, payload)
        accepted = accepted.format(charge_currents=generation.charge_currents,
                                   climate_targets=generation.climate_targets)
        assert result["status"] == "rejected", (where, result)
        assert accepted in result["detail"], (where, result)
    wait_delivered(bridge, probe)
    assert len(results(probe)) == len(INVALID)
    assert generation.command_requests(sim) == []
    assert sim.vehicles()[EV_VIN]["locked"] is True


def test_a_command_the_vehicle_lacks_is_rejected_with_what_it_offers_and_never_sent(
    make_config, run_bridge, probe, sim: SimControl, generation: Generation
):
    bridge = start(run_bridge, make_config, probe, "egolf", "jetta")
    wait_idle(bridge)
    sim.clear_requests()
    for vehicle, attribute, payload in generation.not_offered:
        result = command(probe, attribute, payload, vehicle=vehicle)
        where = (vehicle, attribute)
        assert result["status"] == "rejected", (where, result)
        assert "not offered for this vehicle" in result["detail"], (where, result)
        offered = result["detail"].split("writable attributes: ")[1].split(", ")
        assert attribute not in offered and "lock" in offered and "poll_interval" in offered
    wait_delivered(bridge, probe)
    assert generation.command_requests(sim) == []
    assert sim.requests("/ss/v1/") == []  # not even a command session


# --- 7. a command the car does not carry out --------------------------------------------------


def test_a_lock_the_car_ignores_ends_unconfirmed_and_the_state_goes_back(
    make_config, run_bridge, probe, sim: SimControl
):
    sim.patch_vehicle(EV_VIN, locked=False)
    bridge = start(run_bridge, make_config, probe, commands={"verify_after": 0.5})
    wait_idle(bridge)
    assert mqtt_value(probe, "egolf", "lock") == "UNLOCKED"
    sim.fault(kind="ignore_commands")
    sim.clear_requests()
    result = command(probe, "lock", "LOCK")
    assert result["status"] == "unconfirmed", result
    assert "UNLOCKED" in result["detail"]
    assert vendor_commands(sim) == [("PUT", "status/exterior/doors")]
    assert mqtt_values(probe, "egolf", "lock")[-2:] == ["LOCKING", "UNLOCKED"]
    assert sim.vehicles()[EV_VIN]["locked"] is False


# --- 8. unlock policy --------------------------------------------------------------------------


def test_unlock_disabled_is_refused_without_a_request(
    make_config, run_bridge, probe, sim: SimControl, generation: Generation
):
    # skip_unchanged 0: the LOCK of the locked car is sent, to show it is allowed.
    bridge = start(run_bridge, make_config, probe,
                   commands={"unlock": False, "skip_unchanged": 0})
    wait_idle(bridge)
    sim.clear_requests()
    for payload in ("UNLOCK", '{"state": "UNLOCK"}'):
        result = command(probe, "lock", payload)
        assert result["status"] == "rejected" and "disabled" in result["detail"], result
    send(probe, "egolf", None, json.dumps({"lock": "UNLOCK"}))
    assert wait_results(probe, 3)[2]["status"] == "rejected"
    assert command(probe, "lock", "LOCK")["status"] == "ok"  # locking is always allowed
    lock = generation.requests_to(sim, "lock")
    assert len(lock) == 1 and generation.command_requests(sim) == lock
    assert sim.vehicles()[EV_VIN]["locked"] is True


def test_unlock_code_is_required_checked_and_never_shown(
    make_config, run_bridge, probe, broker, sim: SimControl, caplog
):
    caplog.set_level(logging.DEBUG)
    # Long enough that no port number, timestamp or token contains them by chance.
    code, wrong = "735190264", "528037641"
    bridge = start(run_bridge, make_config, probe, commands={"unlock_code": code})
    probe.wait_for(lambda m: m.topic.startswith("homeassistant/lock/"))
    wait_idle(bridge)
    sim.clear_requests()
    plain = command(probe, "lock", "UNLOCK")
    assert plain["status"] == "rejected" and "code" in plain["detail"], plain
    bad = command(probe, "lock", json.dumps({"state": "UNLOCK", "code": wrong}))
    assert bad["status"] == "rejected", bad
    send(probe, "egolf", None, json.dumps({"lock": "UNLOCK", "code": wrong, "transaction": 1}))
    assert wait_results(probe, 3)[2]["status"] == "rejected"
    assert vendor_commands(sim) == []

    # What Home Assistant sends: the discovery's command template, rendered with the code.
    configs = retained_snapshot(broker)
    node = f"carnet2mqtt_{EV_VIN.lower()}"
    lock_config = json.loads(configs[f"homeassistant/lock/{node}/lock/config"].text)
    assert lock_config["code_format"] == r"^\d{9}$"
    template = lock_config["command_template"]
    rendered = template.replace("{{ value }}", "UNLOCK").replace(
        "{{ code | tojson }}", json.dumps(code)
    )
    json.loads(rendered)
    good = command(probe, "lock", rendered)
    assert good["status"] == "ok", good
    assert sim.vehicles()[EV_VIN]["locked"] is False
    relock = command(probe, "lock", template.replace("{{ value }}", "LOCK")
                     .replace("{{ code | tojson }}", json.dumps(code)))
    assert relock["status"] == "ok"
    assert sim.vehicles()[EV_VIN]["locked"] is True

    # Neither code appears anywhere but on the set topics it was sent to.
    for message in list(probe.messages):
        if message.topic.endswith("/set"):
            continue
        assert wrong.encode() not in message.payload, message.topic
        assert code.encode() not in message.payload, message.topic
    assert code not in json.dumps(lock_config)
    # A wrong code is worth a warning, which does not repeat it.
    assert any("unlock" in r.getMessage() and r.levelno == logging.WARNING
               for r in caplog.records)
    for record in caplog.records:
        assert wrong not in record.getMessage() and code not in record.getMessage()


# --- 9. MQTT 5 request/response ----------------------------------------------------------------


def test_result_goes_to_the_response_topic_with_the_correlation_data(
    make_config, run_bridge, probe, sim: SimControl
):
    bridge = start(run_bridge, make_config, probe)
    wait_idle(bridge)
    send(probe, "egolf", "charging", "ON", response_topic="replies/flows/1",
         correlation_data=b"\x00req-1")
    reply = probe.wait_topic("replies/flows/1")
    assert json.loads(reply.text)["status"] == "ok"
    assert reply.properties is not None and reply.properties.CorrelationData == b"\x00req-1"
    # A rejection answers there too, as does every entry of a JSON request.
    send(probe, "egolf", "charging", "nope", response_topic="replies/flows/2",
         correlation_data=b"req-2")
    reply = probe.wait_topic("replies/flows/2")
    assert json.loads(reply.text)["status"] == "rejected"
    assert reply.properties.CorrelationData == b"req-2"
    send(probe, "egolf", None, json.dumps({"defrost": "ON", "climate": "bad"}),
         response_topic="replies/flows/3", correlation_data=b"req-3")
    replies = probe.wait_for(lambda m: m.topic == "replies/flows/3", count=2)
    assert {json.loads(m.text)["status"] for m in replies} == {"ok", "rejected"}
    assert all(m.properties.CorrelationData == b"req-3" for m in replies)
    # The result topic gets every one of them as well.
    assert len(wait_results(probe, 4)) == 4


@pytest.mark.parametrize(
    "response_topic",
    [
        f"{BASE}/egolf/set",
        f"{BASE}/egolf/lock",
        f"{BASE}/bridge/state",
        "homeassistant/status",
        "replies/#",
    ],
)
def test_a_response_topic_outside_response_topics_is_refused(
    make_config, run_bridge, probe, sim: SimControl, caplog, response_topic
):
    """A client allowed only one command topic must not make the bridge write elsewhere."""
    caplog.set_level(logging.WARNING, logger="carnet.mqtt.results")
    bridge = start(run_bridge, make_config, probe)
    wait_idle(bridge)
    before = sim.commands()
    send(probe, "egolf", "poll_interval", "300", response_topic=response_topic,
         correlation_data=b"req-x")
    (result,) = wait_results(probe, 1)
    assert result["status"] == "ok", result
    # The allowed one answers on its own topic: once it has, a refused one would have too.
    send(probe, "egolf", "poll_interval", "360", response_topic="replies/x",
         correlation_data=b"req-y")
    reply = probe.wait_topic("replies/x")
    assert json.loads(reply.text)["value"] == 360
    assert reply.properties.CorrelationData == b"req-y"
    answered = [m for m in list(probe.messages) if m.topic == response_topic]
    assert all(b'"status"' not in m.payload for m in answered), answered
    assert sim.commands() == before  # nothing came back as a command
    warnings = [r.getMessage() for r in caplog.records if r.name == "carnet.mqtt.results"]
    assert any(repr(response_topic) in w and "mqtt.response_topics" in w for w in warnings)
    assert len(results(probe)) == 2


# --- 10. no PIN ---------------------------------------------------------------------------


def test_without_a_pin_commands_are_rejected_and_reading_works(
    make_config, run_bridge, probe, sim: SimControl, generation: Generation
):
    account = {
        "email": "demo@example.com",
        "password": "demo",
        "vehicles": {EV_VIN: {"name": "egolf"}, GAS_VIN: {"name": "jetta"}},
    }
    bridge = start(run_bridge, make_config, probe, "egolf", "jetta", accounts=[account])
    wait_idle(bridge)
    assert mqtt_value(probe, "egolf", "battery_level") == "80"
    for attribute, payload in (("lock", "UNLOCK"), ("charging", "ON"), ("refresh", "PRESS"),
                               ("horn_lights", "PRESS")):
        result = command(probe, attribute, payload)
        assert result["status"] == "rejected", result
        assert "no PIN configured" in result["detail"], result
    # The poll interval is the bridge's own setting and needs no PIN.
    assert command(probe, "poll_interval", "900")["status"] == "ok"
    assert not sim.requests("/ss/v1/")
    assert not sim.requests(TSP)
    assert not generation.command_requests(sim)
    assert sim.vehicles()[EV_VIN]["locked"] is True


# --- 11. queue full ------------------------------------------------------------------------


@pytest.mark.slow(7)
def test_a_full_queue_rejects_the_next_command(make_config, run_bridge, probe, custom_sim):
    simulator, sim = custom_sim(rate_limit=1000)
    bridge = start(run_bridge, make_config, probe, **simulator_at(simulator),
                   commands={"queue_size": 2})
    wait_idle(bridge, timeout=30)
    # The vendor's latency from here on: the start-up reads need not wait for it.
    simulator.options.latency = 1.5
    sim.clear_requests()
    send(probe, "egolf", "lock", "UNLOCK")  # in flight for 1.5 s
    time.sleep(0.3)
    send(probe, "egolf", "charging", "ON")  # queued
    send(probe, "egolf", "defrost", "ON")  # queued: the queue is full
    send(probe, "egolf", "max_charge_current", "10")  # no room
    full = wait_results(probe, 1)[0]
    assert full["attribute"] == "max_charge_current"
    assert full["status"] == "rejected" and "queue full" in full["detail"], full
    got = {r["attribute"]: r["status"] for r in wait_results(probe, 4, timeout=20)}
    assert got == {"lock": "ok", "charging": "ok", "defrost": "ok",
                   "max_charge_current": "rejected"}
    assert not sim.requests("settings/max_charge_current")


def test_a_retained_command_with_mqtt_3_1_1_is_refused_once_and_cleared(
    make_config, run_bridge, probe, broker, sim: SimControl, generation: Generation
):
    """3.1.1 has no retain-as-published: clearing the message comes back as a live empty one."""
    topic = f"{BASE}/egolf/lock/set"
    probe.publish(topic, "UNLOCK", retain=True)
    bridge = start(run_bridge, make_config, probe, mqtt={"protocol": "3.1.1"},
                   commands={"skip_unchanged": 0})  # the LOCK of the locked car is sent
    first = wait_results(probe, 1)[0]
    assert first["status"] == "rejected" and "retained" in first["detail"]
    wait_idle(bridge)
    assert command(probe, "lock", "LOCK")["status"] == "ok"  # live commands still work
    wait_delivered(bridge, probe)
    assert [r["status"] for r in results(probe)] == ["rejected", "ok"]
    assert topic not in retained_snapshot(broker)
    assert len(generation.requests_to(sim, "lock")) == 1  # the LOCK only
    assert sim.vehicles()[EV_VIN]["locked"] is True
