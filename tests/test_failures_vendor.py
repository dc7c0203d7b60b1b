"""The vendor fails: outages (5xx), hanging connections and rate limits (429)."""

from __future__ import annotations

import json
import logging
import re
import threading
import time

import pytest

from carnet.runtime import executor, poller
from carnet.runtime.daemon import wait_until
from carnet.vendor.carnet_app.tsp import TspChannel
from carnet.vendor.myvw_app.client import MyvwClient
from tests.support.failures import BASE, fast, results, wait_online, wait_results
from tests.support.generations import Generation

BRIDGE_THREADS = ("dispatcher", "scheduler", "reads-")  # always running
COMMAND_THREAD = "commands-"  # started by an account's first command


@pytest.fixture
def short_backoff(monkeypatch):
    """Poll retries start after 1 s instead of 30 s; 429 pauses without Retry-After last 2 s."""
    monkeypatch.setattr(poller, "FIRST_RETRY", 1.0)
    monkeypatch.setattr(executor, "DEFAULT_RATE_LIMIT_WAIT", 2.0)
    monkeypatch.setattr(TspChannel, "RATE_LIMIT_DEFAULT", 2.0)
    monkeypatch.setattr(MyvwClient, "RATE_LIMIT_DEFAULT", 2.0)


def retry_waits(caplog, vehicle: str) -> list[float]:
    pattern = re.compile(rf"poll of {vehicle} failed .*; retrying in (\d+) s")
    waits = []
    for record in caplog.records:
        match = pattern.search(record.getMessage())
        if match:
            waits.append(float(match.group(1)))
    return waits


def bridge_threads_alive(commands_sent: bool = False) -> bool:
    names = [t.name for t in threading.enumerate() if t.is_alive()]
    expected = (*BRIDGE_THREADS, COMMAND_THREAD) if commands_sent else BRIDGE_THREADS
    return all(any(n.startswith(prefix) for n in names) for prefix in expected)


def offline(probe, vehicle: str) -> bool:
    latest = probe.latest().get(f"{BASE}/{vehicle}/availability")
    return latest is not None and latest.text == "offline"


@pytest.mark.slow(16)
def test_outage_backs_off_capped_and_recovers(
    make_config, run_bridge, probe, sim, caplog, short_backoff, generation: Generation
):
    caplog.set_level(logging.INFO)
    interval = 4
    bridge = run_bridge(fast(make_config(), interval=interval, timeout=2.0, max_age=30.0))
    wait_online(probe, "egolf", "jetta")
    # A command before: the account has its command session (myVW's vehicle token comes
    # with the first command), so the lock below reaches the vendor and is refused there.
    probe.publish(f"{BASE}/egolf/horn_lights/set", "LIGHTS")
    assert wait_results(probe, "egolf", lambda r: True)[0]["status"] == "ok"
    sim.fault(kind="outage", status=503)
    sim.clear_requests()
    failed_at = time.monotonic()
    probe.wait_for(lambda m: m.topic == f"{BASE}/egolf/availability" and m.text == "offline",
                   timeout=interval + 8)
    probe.wait_for(lambda m: m.topic == f"{BASE}/jetta/availability" and m.text == "offline",
                   timeout=interval + 8)
    # A command during the outage is reported, not lost and not retried blindly.
    probe.publish(f"{BASE}/egolf/lock/set", "UNLOCK")
    error = wait_results(probe, "egolf", lambda r: r["attribute"] == "lock", timeout=10)
    assert error[0]["status"] == "error", error
    assert "unavailable" in error[0]["detail"]

    # The back-off grows, then is capped by the poll interval.
    assert wait_until(lambda: len(retry_waits(caplog, "egolf")) >= 5, 25)
    waits = retry_waits(caplog, "egolf")
    assert waits[:3] == [1.0, 2.0, 4.0], waits
    assert max(waits) == interval, waits
    assert waits == sorted(waits), waits
    elapsed = time.monotonic() - failed_at
    status_reads = len([r for r in generation.status_reads(sim) if r["status"] == 503])
    # At most three tries per read (the client's own retries), no faster than the back-off.
    polls = len(waits) + 2
    assert status_reads <= 3 * 2 * polls, (status_reads, elapsed)
    commands = generation.command_requests(sim)
    assert commands == [] or all(r["status"] == 503 for r in commands)
    assert len(generation.requests_to(sim, "lock")) == 1

    # Recovery by itself within one interval after the fault is cleared.
    sim.clear_faults()
    cleared = time.monotonic()
    probe.clear()
    wait_online(probe, "egolf", "jetta", timeout=interval + 6)
    assert time.monotonic() - cleared <= interval + 6
    assert all(v.online and v.failures == 0 for v in bridge.vehicles.values())
    assert bridge_threads_alive(commands_sent=True)
    assert len(results(probe)) == 0  # nothing reported twice


@pytest.mark.slow(7)
def test_hanging_vendor_fails_in_bounded_time_and_queued_commands_end(
    make_config, run_bridge, probe, sim, caplog, short_backoff
):
    caplog.set_level(logging.INFO)
    interval = 4
    config = fast(make_config(), interval=interval, timeout=1.0, max_age=0.5)
    bridge = run_bridge(config)
    wait_online(probe, "egolf", "jetta")
    sim.fault(kind="hang")
    hung_at = time.monotonic()
    # Three commands at once: the first hangs until the timeout, the others grow too old.
    probe.publish(f"{BASE}/egolf/lock/set", "UNLOCK")
    probe.publish(f"{BASE}/jetta/horn_lights/set", "LIGHTS")
    probe.publish(f"{BASE}/egolf/climate/set", "ON")
    wait_results(probe, "egolf", lambda r: True, count=2, timeout=15)
    wait_results(probe, "jetta", lambda r: True, count=1, timeout=15)
    ended = results(probe)
    assert len(ended) == 3, ended
    assert {r["status"] for r in ended} <= {"expired", "error"}, ended
    assert "expired" in {r["status"] for r in ended}, ended

    # Polls fail within the timeout, not forever; the vehicles go offline.
    assert wait_until(lambda: offline(probe, "egolf") and offline(probe, "jetta"), interval + 8)
    took = time.monotonic() - hung_at
    assert took <= interval + 2 * 2 * config.carnet.timeout + 3, took
    assert bridge_threads_alive(commands_sent=True)

    # Cleared: a bridge request brings them back at once.
    sim.clear_faults()
    probe.clear()
    probe.publish(f"{BASE}/bridge/request/poll", json.dumps({"transaction": "t1"}))
    response = probe.wait_topic(f"{BASE}/bridge/response/poll", timeout=10)
    body = json.loads(response.text)
    assert body["status"] == "ok" and body["transaction"] == "t1", body
    assert body["data"]["vehicles"] == {"egolf": {"online": True}, "jetta": {"online": True}}
    wait_online(probe, "egolf", "jetta", timeout=5)
    assert all(v.online for v in bridge.vehicles.values())


@pytest.mark.slow(13)
def test_rate_limited_reads_back_off_without_hammering(
    make_config, run_bridge, probe, sim, caplog, short_backoff, generation: Generation
):
    caplog.set_level(logging.INFO)
    interval = 4
    bridge = run_bridge(fast(make_config(), interval=interval, timeout=2.0))
    wait_online(probe, "egolf", "jetta")
    sim.fault(kind="outage", status=429)  # every request, no Retry-After
    sim.clear_requests()
    window = 8.0
    time.sleep(window)
    reads = generation.status_reads(sim)
    assert all(r["status"] == 429 for r in reads)
    # A 429 is not retried by the client: one request per poll, polls on the back-off.
    per_vehicle: dict[str, int] = {}
    for r in reads:
        per_vehicle[r["path"]] = per_vehicle.get(r["path"], 0) + 1
    assert len(per_vehicle) == 2 and max(per_vehicle.values()) <= 5, per_vehicle
    assert offline(probe, "egolf") and offline(probe, "jetta")
    assert "rate limit" in " ".join(r.getMessage() for r in caplog.records)
    assert bridge_threads_alive()

    sim.clear_faults()
    wait_until(lambda: all(v.online for v in bridge.vehicles.values()), interval + 4)
    assert all(v.online for v in bridge.vehicles.values())


@pytest.mark.slow(8)
def test_rate_limited_commands_wait_and_never_hammer(
    make_config, run_bridge, probe, sim, short_backoff
):
    # Both cars' start-up climate reads go at once (under the default budget the second
    # waits for a quiet minute): each car has its TSP session before the faults begin.
    run_bridge(fast(make_config(commands={"max_per_minute": 60}), max_age=5.0))
    wait_online(probe, "egolf", "jetta")
    assert probe.wait_for(lambda m: m.topic == f"{BASE}/egolf/climate")
    assert probe.wait_for(lambda m: m.topic == f"{BASE}/jetta/climate")

    # Without Retry-After: the command waits the default pause and is sent again.
    sim.fault(kind="outage", status=429)
    sim.clear_requests()
    probe.publish(f"{BASE}/jetta/horn_lights/set", "LIGHTS")
    assert wait_until(lambda: len(sim.commands()) >= 1, 5)
    sim.clear_faults()
    done = wait_results(probe, "jetta", lambda r: True, timeout=10)
    assert done[0]["status"] == "ok", done
    assert len(sim.commands()) == 2  # the refused one and the one after the pause

    # With Retry-After (the account's per-minute limit, about a minute away): a command
    # that cannot wait that long expires, and no further command request goes out.
    sim.fault(kind="rate_limit", per_minute=0)
    sim.clear_requests()
    probe.clear()
    probe.publish(f"{BASE}/egolf/lock/set", "UNLOCK")
    first = wait_results(probe, "egolf", lambda r: True, timeout=10)
    assert first[0]["status"] == "expired", first
    assert "rate limited" in first[0]["detail"]
    for attribute, payload in (("horn_lights", "LIGHTS"), ("lock", "UNLOCK"), ("climate", "ON")):
        probe.publish(f"{BASE}/jetta/{attribute}/set", payload)
    later = wait_results(probe, "jetta", lambda r: True, count=3, timeout=10)
    assert [r["status"] for r in later] == ["expired"] * 3, later
    rate_limited = [r for r in sim.requests("/mps/") if r["status"] == 429]
    assert len(sim.requests("/mps/")) == len(rate_limited) == 1
    assert bridge_threads_alive(commands_sent=True)
    # Reading goes on meanwhile (the status read needs no TSP token).
    probe.clear()
    probe.publish(f"{BASE}/bridge/request/poll", "{}")
    body = json.loads(probe.wait_topic(f"{BASE}/bridge/response/poll", timeout=10).text)
    assert body["status"] == "ok", body
