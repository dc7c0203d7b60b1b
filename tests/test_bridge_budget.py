"""Commands that spend the account's requests sparingly, against the simulator and mosquitto.

A command asking for the state the car was just read in costs no request; the result
says so.
"""

from __future__ import annotations

import json
import logging
import time

import pytest

from carnet.config import CommandsConfig
from carnet.runtime import daemon
from carnet.runtime.ledger import RequestLedger
from carnet.vendor.protocol import RequestClass
from tests.conftest import DEMO_EMAIL, EV_VIN, SimControl
from tests.support.failures import retained_snapshot
from tests.support.generations import Generation
from tests.support.mqtt_probe import Probe
from tests.test_bridge_commands import (
    BASE,
    CHARGING,
    CURRENT,
    TSP,
    command,
    custom_sim,  # noqa: F401 - a fixture
    results,
    send,
    simulator_at,
    start,
    vendor_commands,
    wait_delivered,
    wait_idle,
    wait_results,
)
from tests.test_bridge_state import wait_online


def charging_requests(sim: SimControl, generation: Generation) -> int:
    return len(generation.requests_to(sim, "charging"))


# --- no-op commands -----------------------------------------------------------------------


def test_a_repeated_charging_command_sends_one_request(
    make_config, run_bridge, probe: Probe, sim: SimControl, generation: Generation
):
    bridge = start(run_bridge, make_config, probe)
    wait_idle(bridge)
    sim.clear_requests()
    first = command(probe, "charging", "true")
    assert (first["status"], first["detail"]) == ("ok", "confirmed by the car"), first
    wait_idle(bridge)
    for payload in ("true", "ON", "1"):  # a flow repeating itself at every battery reading
        again = command(probe, "charging", payload)
        assert again["status"] == "ok", again
        assert again["detail"].startswith("already ON (read "), again
        assert again["detail"].endswith("s ago); nothing sent"), again
    assert charging_requests(sim, generation) == 1
    assert sim.vehicles()[EV_VIN]["charging"] is True


def test_charge_currents_mapping_to_the_same_value_send_one_request(
    make_config, run_bridge, probe: Probe, sim: SimControl
):
    bridge = start(run_bridge, make_config, probe)
    wait_idle(bridge)
    sim.clear_requests()
    got = [command(probe, "max_charge_current", amps) for amps in ("16", "15", "14")]
    assert [r["status"] for r in got] == ["ok", "ok", "ok"], got
    assert got[0]["detail"] == "accepted by the vendor"
    assert all(r["detail"].startswith("already 13 (set ") for r in got[1:]), got
    assert vendor_commands(sim) == [("PUT", CURRENT)]
    # Another value is sent, of course.
    assert command(probe, "max_charge_current", "10")["detail"] == "accepted by the vendor"
    assert vendor_commands(sim) == [("PUT", CURRENT), ("PUT", CURRENT)]


def test_force_sends_a_command_that_changes_nothing(
    make_config, run_bridge, probe: Probe, sim: SimControl, generation: Generation
):
    bridge = start(run_bridge, make_config, probe)
    wait_idle(bridge)
    sim.clear_requests()
    assert command(probe, "charging", "ON")["status"] == "ok"
    wait_idle(bridge)
    send(probe, "egolf", None, json.dumps({"charging": "ON", "force": True, "transaction": 3}))
    forced = wait_results(probe, 2)[1]
    assert (forced["status"], forced["detail"], forced["transaction"]) == (
        "ok", "confirmed by the car", 3), forced
    assert charging_requests(sim, generation) == 2
    # force must be a boolean: anything else is refused with what is accepted, unsent.
    send(probe, "egolf", None, json.dumps({"charging": "ON", "force": "yes"}))
    refused = wait_results(probe, 3)[2]
    assert refused["status"] == "rejected" and "true or false" in refused["detail"], refused
    wait_delivered(bridge, probe)
    assert len(results(probe)) == 3
    assert charging_requests(sim, generation) == 2


def test_a_state_older_than_skip_unchanged_is_not_trusted(
    make_config, run_bridge, probe: Probe, sim: SimControl, generation: Generation
):
    bridge = start(run_bridge, make_config, probe, commands={"skip_unchanged": 1})
    wait_idle(bridge)
    sim.clear_requests()
    assert command(probe, "charging", "ON")["detail"] == "confirmed by the car"
    wait_idle(bridge)
    assert command(probe, "charging", "ON")["detail"].startswith("already ON")
    time.sleep(1.2)  # the confirming read is now older than skip_unchanged
    assert command(probe, "charging", "ON")["detail"] == "confirmed by the car"
    assert charging_requests(sim, generation) == 2


def test_skip_unchanged_0_always_sends(
    make_config, run_bridge, probe: Probe, sim: SimControl, generation: Generation
):
    bridge = start(run_bridge, make_config, probe, commands={"skip_unchanged": 0})
    wait_idle(bridge)
    sim.clear_requests()
    for _ in range(2):
        assert command(probe, "charging", "ON")["detail"] == "confirmed by the car"
        wait_idle(bridge)
    assert charging_requests(sim, generation) == 2


# --- commands that wait say so ------------------------------------------------------------


@pytest.mark.slow(12)
def test_a_command_waiting_for_the_budget_shows_its_pending_state_and_the_count_at_once(
    make_config, run_bridge, probe: Probe, sim: SimControl, broker, caplog
):
    caplog.set_level(logging.INFO, logger="carnet.runtime.executor")
    # min_interval 4: a command right after another waits about 4 s for the budget.
    bridge = start(run_bridge, make_config, probe, commands={"min_interval": 4})
    wait_idle(bridge)
    waiting_topic = f"{BASE}/egolf/commands_waiting"
    assert retained_snapshot(broker)[waiting_topic].text == "0"
    sim.clear_requests()
    send(probe, "egolf", "charging", "ON")
    deadline = time.monotonic() + 10
    while not sim.requests("/status/charging"):
        assert time.monotonic() < deadline, "the first command was not sent"
        time.sleep(0.02)
    probe.clear()
    sent = time.monotonic()
    send(probe, "egolf", "lock", "UNLOCK")
    probe.wait_for(lambda m: m.topic == f"{BASE}/egolf/lock" and m.text == "UNLOCKING", 2)
    probe.wait_for(lambda m: m.topic == waiting_topic and m.text == "1", 2)
    assert time.monotonic() - sent < 0.5
    details = json.loads(probe.wait_topic(f"{waiting_topic}/attributes").text)
    assert 2 < details["seconds"] <= 4 and details["next_at"], details
    assert not sim.requests("/status/exterior/doors")  # not sent yet: it waits
    logged = [r.getMessage() for r in caplog.records if "lock=UNLOCK waits" in r.getMessage()]
    assert len(logged) == 1 and "budget" in logged[0], logged  # one line: what, how long, why

    got = wait_results(probe, 2, timeout=20)
    assert {(r["attribute"], r["status"]) for r in got} == {("charging", "ok"), ("lock", "ok")}
    probe.wait_for(lambda m: m.topic == waiting_topic and m.text == "0", 5)
    wait_delivered(bridge, probe)
    assert len(results(probe)) == 2  # exactly one result per command
    assert len(sim.requests("/status/exterior/doors")) == 1


# --- one verification read for the climate family -------------------------------------------


@pytest.mark.slow(8)
def test_four_climate_family_commands_share_one_verification_read(
    make_config, run_bridge, probe: Probe, sim: SimControl
):
    # The Home Assistant "four switches" sequence, paced as with the defaults but faster.
    bridge = start(run_bridge, make_config, probe,
                   commands={"min_interval": 1, "verify_after": 3})
    wait_idle(bridge)
    car = sim.vehicles()[EV_VIN]
    assert (car["climate_on"], car["defrost_on"], car["unplugged_climate"],
            car["target_temperature"]) == (False, False, False, 72)
    sim.clear_requests()
    for attribute, payload in (("climate", "ON"), ("defrost", "ON"),
                               ("unplugged_climate", "ON"), ("climate_target_temperature", "75")):
        send(probe, "egolf", attribute, payload)
    got = wait_results(probe, 4, timeout=20)
    assert [(r["status"], r["detail"]) for r in got] == [("ok", "confirmed by the car")] * 4, got
    wait_idle(bridge)
    tsp = [r["path"].rsplit("/", 2)[-2:] for r in sim.requests(TSP)]
    assert len(tsp) <= 5, tsp
    assert tsp.count(["climate", "details"]) == 1, tsp
    car = sim.vehicles()[EV_VIN]
    assert (car["climate_on"], car["defrost_on"], car["unplugged_climate"],
            car["target_temperature"]) == (True, True, True, 75)


# --- the daily budget -----------------------------------------------------------------------


def account_budget(probe: Probe, predicate, timeout: float = 10.0) -> dict:
    """The first account's budget in a bridge/info that satisfies ``predicate``."""
    def matches(message) -> bool:
        if message.topic != f"{BASE}/bridge/info":
            return False
        accounts = json.loads(message.text)["accounts"]
        return bool(accounts) and predicate(accounts[0]["budget"])

    found = probe.wait_for(matches, timeout)[-1]
    return json.loads(found.text)["accounts"][0]["budget"]


def test_a_small_daily_budget_stretches_polling_and_keeps_commands(
    make_config, run_bridge, probe: Probe, sim: SimControl, monkeypatch
):
    monkeypatch.setattr(daemon, "BUDGET_INFO_EVERY", 0.3)
    bridge = start(run_bridge, make_config, probe, limits={"daily_requests": 200})
    wait_idle(bridge)
    # 160 requests for polling, 48 of them token refreshes: two cars every 1543 s.
    budget = account_budget(probe, lambda b: b.get("stretched"))
    assert budget["poll_interval"] == round(2 * 86400 / 112)
    assert budget["daily_requests"] == 200 and budget["command_reserve"] == 40
    assert budget["requests_24h"]["login"] >= 1 and budget["requests_24h"]["reads"] >= 2
    assert budget["left"] == 200 - sum(budget["requests_24h"].values())
    assert not budget["over_budget"]
    jobs = {job.interval for job in bridge.scheduler.jobs()}
    assert round(2 * 86400 / 112) in {round(i) for i in jobs}, jobs
    assert command(probe, "lock", "UNLOCK")["status"] == "ok"  # the reserve is the owner's


def test_at_the_cap_commands_are_refused_with_when_the_budget_frees(
    make_config, run_bridge, probe: Probe, sim: SimControl, tmp_path, monkeypatch
):
    monkeypatch.setattr(daemon, "BUDGET_INFO_EVERY", 0.3)
    # The count of an earlier run, read back from state_dir: the day is used up.
    ledger = RequestLedger(tmp_path / "state", DEMO_EMAIL)
    now = time.time()
    for n in range(400):
        ledger.record(RequestClass.READ, now - 86400 + 600 + n)
    bridge = start(run_bridge, make_config, probe, limits={"daily_requests": 400})
    wait_idle(bridge)
    sim.clear_requests()
    result = command(probe, "lock", "UNLOCK")
    assert result["status"] == "rejected", result
    assert "daily request budget used up" in result["detail"]
    assert "frees up at 20" in result["detail"], result
    assert not sim.commands()
    budget = account_budget(probe, lambda b: b.get("over_budget"))
    assert budget["left"] == 0 and budget["poll_interval"] == 3600


# --- the bridge as a Home Assistant device ----------------------------------------------------


def test_the_bridge_is_a_device_showing_each_account_budget(
    make_config, run_bridge, probe: Probe, broker, monkeypatch
):
    monkeypatch.setattr(daemon, "BUDGET_INFO_EVERY", 0.3)
    bridge = start(run_bridge, make_config, probe, limits={"daily_requests": 200})
    wait_idle(bridge)
    budget = account_budget(probe, lambda b: b.get("stretched"))
    retained = retained_snapshot(broker)
    configs = {topic: json.loads(m.text) for topic, m in retained.items()
               if topic.startswith("homeassistant/") and "carnet2mqtt_bridge" in topic}
    by_id = {payload["unique_id"]: payload for payload in configs.values()}
    node = "carnet2mqtt_bridge_carnet2mqtt"
    connection = by_id[f"{node}_connection"]
    assert connection["state_topic"] == f"{BASE}/bridge/state"
    assert connection["device"]["name"] == "carnet2mqtt bridge"
    assert by_id[f"{node}_version"]["state_topic"] == f"{BASE}/bridge/info"
    figures = {payload["state_topic"].rsplit("/", 1)[-1]: payload
               for payload in configs.values()
               if "/bridge/accounts/" in payload.get("state_topic", "")}
    assert set(figures) == {"requests_today", "budget_left", "poll_interval",
                            "commands_waiting"}, set(figures)
    assert DEMO_EMAIL not in json.dumps(configs)  # masked in names, hashed in topics
    # The plain topics carry the numbers of bridge/info.
    shown = {key: retained[payload["state_topic"]].text for key, payload in figures.items()}
    assert shown["poll_interval"] == str(budget["poll_interval"])
    assert 0 < int(shown["budget_left"]) <= budget["left"]  # counts only grow meanwhile
    assert int(shown["requests_today"]) >= 1
    # The figures are published every BUDGET_INFO_EVERY: the snapshot may hold the one
    # published just before the bridge became idle (a start-up read in flight).
    waiting_topic = figures["commands_waiting"]["state_topic"]
    deadline = time.monotonic() + 5
    while shown["commands_waiting"] != "0" and time.monotonic() < deadline:
        time.sleep(0.3)
        shown["commands_waiting"] = retained_snapshot(broker, waiting_topic)[waiting_topic].text
    assert shown["commands_waiting"] == "0"


def test_the_bridge_stops_at_its_cap_before_the_vendor_answers_429(
    make_config, run_bridge, probe: Probe, custom_sim  # noqa: F811 - the imported fixture
):
    # The vendor's day (the simulator's daily budget) counts command-class requests only;
    # the bridge's cap counts every request, so it is reached first.
    simulator, sim = custom_sim(rate_limit=1000, daily_budget=50)
    bridge = start(run_bridge, make_config, probe, **simulator_at(simulator),
                   limits={"daily_requests": 50})
    wait_idle(bridge)
    outcomes = []
    for _ in range(60):
        outcomes.append(command(probe, "horn_lights", "LIGHTS"))
        if outcomes[-1]["status"] == "rejected":
            break
    assert [r["status"] for r in outcomes[:-1]] == ["ok"] * (len(outcomes) - 1)
    assert outcomes[-1]["status"] == "rejected", outcomes[-1]
    assert "frees up at" in outcomes[-1]["detail"]
    assert len(outcomes) > 5  # the reserve was there for commands
    assert not [r for r in sim.requests() if r["status"] == 429]


# --- the first commands of a new user -------------------------------------------------------

FIRST_COMMANDS = (  # mixed, and each changes the car, so none is superseded or answered unsent
    ("lock", "UNLOCK", "status/exterior/doors"),
    ("climate", "ON", "status/climate"),
    ("charging", "ON", CHARGING),
    ("defrost", "ON", "status/defrost"),
    ("max_charge_current", "10", CURRENT),
)


@pytest.mark.slow(10)
def test_with_two_cars_a_new_user_first_five_commands_reach_the_vendor_within_10_s(
    make_config, run_bridge, probe: Probe, custom_sim  # noqa: F811 - the fixture
):
    """Default configuration, the simulator's default limits (7 a minute, the car applying
    a command 20 s later): the start-up climate reads of both cars leave the owner room."""
    simulator, sim = custom_sim(apply_delay=20.0, demo_id4=False)
    defaults = CommandsConfig()  # the test configuration's commands section is quicker
    run_bridge(make_config(**simulator_at(simulator), commands={
        "min_interval": defaults.min_interval, "verify_after": defaults.verify_after}))
    wait_online(probe, "egolf", "jetta")
    began = time.time()
    sent: list[tuple[str, float]] = []
    for n, (attribute, payload, path) in enumerate(FIRST_COMMANDS):
        time.sleep(max(0.0, began + 2 * n - time.time()))
        sent.append((path, time.time()))
        send(probe, "egolf", attribute, payload)

    def commands() -> list[dict]:
        return [r for r in sim.requests(TSP) if not r["path"].endswith("/climate/details")
                and r["time"] >= began]

    deadline = time.monotonic() + 90
    while len(commands()) < len(FIRST_COMMANDS):
        assert time.monotonic() < deadline, commands()
        time.sleep(0.2)
    log = commands()
    delays = [min(r["time"] for r in log if r["path"].endswith(path)) - at for path, at in sent]
    assert max(delays) <= 10, [f"{d:.1f}" for d in delays]
    assert not [r for r in sim.requests(TSP) if r["status"] == 429]


def test_a_climate_read_confirming_a_command_waits_and_expires_in_the_executor(
    make_config, run_bridge, probe, sim: SimControl, caplog
):
    """The climate details that confirm a command spend the command budget: they wait in
    the account's queue like a command, and max_age ends the wait, instead of the client
    sleeping for the budget inside its TSP session."""
    caplog.set_level(logging.WARNING, logger="carnet.runtime.poller")
    # Two requests a minute: the start-up climate read takes one, the command the other;
    # the read that would confirm it has to wait for the next minute.
    bridge = start(run_bridge, make_config, probe, "egolf",
                   commands={"max_per_minute": 2, "max_age": 3, "verify_after": 0.2})
    wait_idle(bridge)
    reads_before = len(sim.requests("/climate/details"))
    started = time.monotonic()
    result = command(probe, "climate", "ON", timeout=20)
    assert time.monotonic() - started < 15, "the confirming read waited for the budget"
    assert result["status"] == "unconfirmed", result
    assert sim.vehicles()[EV_VIN]["climate_on"] is True  # the command itself was sent
    assert len(sim.requests("/climate/details")) == reads_before
    assert any("to confirm a command" in r.getMessage() and "waited longer" in r.getMessage()
               for r in caplog.records), [r.getMessage() for r in caplog.records]
