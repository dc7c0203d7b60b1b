"""What the account's request budget buys: how soon commands go, what a sequence costs.

First commands: with the default configuration and the simulator's default limits (7
TSP requests a minute, the car applying a command 20 s later), a new user with one car
sends five mixed commands (lock, climate, charging, defrost, charge current) two
seconds apart right after the bridge came up; the figure is the time from each publish
to the vendor's log of its request. The same with the earlier ``min_interval`` of 5 s,
and with the demo account's two cars: their start-up climate reads are the bridge's own
background requests, which leave the owner's commands most of the account's minute.

Four switches: Home Assistant's climate, defrost, climate-on-battery and target
temperature changed within ten seconds, at the default configuration; the figure is the
TSP-class requests (``/mps/``: commands and climate reads) until the four results. The
earlier code verified each command with its own climate read: eight requests, as
measured by ``tests/test_bridge_budget.py`` against it.

Repeats: the same ``charging: ON`` sent five times, each after the previous result, as a
flow reacting to every battery reading does (verify_after 1 s, so the run is short); the
figure is the command requests.
"""

from __future__ import annotations

import json
import time
from typing import Any

from bench.common import (
    BASE,
    GAS_VIN,
    Lab,
    Table,
    demo_account,
    paths,
    wait_published,
    wait_until,
)

FIRST_COMMANDS = (  # each changes the car, so none is superseded or answered unsent
    ("lock", "UNLOCK"),
    ("climate", "ON"),
    ("charging", "ON"),
    ("defrost", "ON"),
    ("max_charge_current", "10"),
)
ENDPOINTS = {"lock": "/status/exterior/doors", "climate": "/status/climate",
             "charging": "/status/charging", "defrost": "/status/defrost",
             "max_charge_current": "/settings/max_charge_current"}
ONE_CAR = [demo_account(**{GAS_VIN: {"name": "jetta", "enabled": False}})]
FOUR_SWITCHES = (
    ("climate", "ON"), ("defrost", "ON"), ("unplugged_climate", "ON"),
    ("climate_target_temperature", "75"),
)
PREVIOUS_FOUR_SWITCHES = 8  # four commands and four climate reads
PREVIOUS_MIN_INTERVAL = 5.0


def budget(table: Table, quick: bool) -> None:
    previous = {"commands": {"min_interval": PREVIOUS_MIN_INTERVAL}}
    first_commands(table, "1 car, defaults", {}, ONE_CAR)
    first_commands(table, f"1 car, min_interval {PREVIOUS_MIN_INTERVAL:g} s", previous, ONE_CAR)
    first_commands(table, "2 cars, defaults", {}, None)
    four_switches(table)
    repeats(table)


def _started(lab: Lab, overrides: dict[str, Any] | None = None,
             accounts: list[dict[str, Any]] | None = None) -> None:
    daemon = lab.daemon(lab.config(accounts), overrides=overrides)
    names = ["egolf"] if accounts is ONE_CAR else ["egolf", "jetta"]
    if wait_published(lab, names, 30) is None:
        raise RuntimeError("bridge did not start:\n" + daemon.tail())
    # The start-up reads the first car's climate details (a TSP request) after its first
    # publish; the other cars' wait for a quiet minute, behind the owner's commands. A new
    # user's commands arrive right after the first.
    if not wait_until(lambda: paths(lab.log(), "/climate/details"), 60):
        raise RuntimeError("start-up climate read missing:\n" + daemon.tail())


def _results(lab: Lab, since: float) -> list[dict[str, Any]]:
    return [json.loads(m.payload) for m in lab.messages(since) if m.topic.endswith("/result")]


def _commands(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The command requests: every TSP request but the climate reads."""
    return [r for r in paths(log, "/mps/") if not r["path"].endswith("/climate/details")]


def first_commands(table: Table, label: str, overrides: dict[str, Any],
                   accounts: list[dict[str, Any]] | None) -> None:
    with Lab(apply_delay=20.0) as lab:
        _started(lab, overrides, accounts)
        sent: list[tuple[str, float]] = []
        began = time.time()
        for n, (attribute, payload) in enumerate(FIRST_COMMANDS):
            time.sleep(max(0.0, began + 2 * n - time.time()))
            sent.append((attribute, time.time()))
            lab.probe.publish(f"{BASE}/egolf/{attribute}/set", payload)
        wait_until(lambda: len(_commands(lab.log(began))) >= len(FIRST_COMMANDS), 90)
        log = _commands(lab.log(began))
        delays = []
        for attribute, at in sent:
            requests = paths(log, ENDPOINTS[attribute])
            delays.append(requests[0]["time"] - at if requests else float("inf"))
        worst = max(delays)
        shown = " ".join(f"{d:.1f}" for d in delays)
        if not overrides:
            table.add("budget", f"first 5 commands, {label}: publish -> vendor (s)", shown,
                      "each <= 10 s", worst <= 10)
        else:
            table.add("budget", f"first 5 commands, {label}: publish -> vendor (s)", shown)
        too_many = [r for r in paths(lab.log(began), "/mps/") if r["status"] == 429]
        table.add("budget", f"first 5 commands, {label}: 429 received", len(too_many), "0",
                  not too_many)


def four_switches(table: Table) -> None:
    with Lab(apply_delay=20.0) as lab:
        _started(lab)
        began = time.time()
        for n, (attribute, payload) in enumerate(FOUR_SWITCHES):
            time.sleep(max(0.0, began + 3 * n - time.time()))
            lab.probe.publish(f"{BASE}/egolf/{attribute}/set", payload)
        if not wait_until(lambda: len(_results(lab, began)) >= 4, 180):
            raise RuntimeError(f"four switches: {_results(lab, began)}")
        results = _results(lab, began)
        took = max(m.at for m in lab.messages(began)  # type: ignore[attr-defined]
                   if m.topic.endswith("/result")) - began
        tsp = paths(lab.log(began), "/mps/")
        table.add("budget", "four switches: TSP requests", len(tsp), "<= 5", len(tsp) <= 5)
        table.add("budget", "four switches: TSP requests, previous release",
                  PREVIOUS_FOUR_SWITCHES)
        table.add("budget", "four switches: results", " ".join(
            sorted(r["status"] for r in results)))
        table.add("budget", "four switches: last result after (s)", took)


def repeats(table: Table) -> None:
    with Lab(apply_delay=0.0) as lab:
        _started(lab, {"commands": {"verify_after": 1.0}})
        began = time.time()
        for n in range(5):
            lab.probe.publish(f"{BASE}/egolf/charging/set", "ON")
            if not wait_until(lambda n=n: len(_results(lab, began)) > n, 60):
                raise RuntimeError(f"repeat {n}: no result")
        requests = paths(lab.log(began), "/status/charging", "PATCH")
        table.add("budget", "charging ON sent 5 times: command requests", len(requests), "1",
                  len(requests) == 1)
