"""Command overhead and command bursts (figures 1 and 3).

Overhead: one command at a time, each sent after the vendor request of the previous one
was seen, so no command waits behind another and what is measured is the bridge's own
path (broker -> paho -> dispatcher -> executor -> HTTP). The clock starts when the
benchmark's client hands the message to the broker (just before the QoS 1 publish) and
stops at the simulator's request-log time of the matching request, so the figure is an
upper bound that includes one client->broker hop.

Each generation's account measures a command it offers that changes one value the car
reports back or the vendor accepts: Car-Net the charge current (one ``PUT``, answered
when the vendor accepts it), myVW the target charge level (the settings read, then one
``PUT``; the result comes from the outcome the vendor reports, asked every few seconds,
so fewer commands are timed). Besides the overhead, the figures give the time from the
publish to the result and the vendor requests per command up to its result.

Bursts: 100 ``/set`` messages within one second, one attribute or several attributes of
two vehicles, against the vendor's rate limit and the bridge's own command limits.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from functools import partial
from typing import Any

from bench.common import (
    BASE,
    EV_VIN,
    GAS_VIN,
    MYVW_UNTHROTTLED,
    Lab,
    Table,
    paths,
    percentile,
    wait_published,
    wait_until,
)


@dataclass(frozen=True)
class Timed:
    """The command a generation's overhead is measured with."""

    attribute: str
    values: tuple[str, ...]  # sent in turn, so each changes the value
    request: str  # in the path of the one command request
    quick: int  # commands timed in quick and in full mode
    full: int


TIMED = {
    "carnet": Timed("max_charge_current", ("5", "10", "13", "max"),
                    "/settings/max_charge_current", 100, 500),
    "myvw": Timed("target_soc", ("50", "60", "70", "80"), "/charging/settings", 20, 100),
}


def overhead(table: Table, quick: bool, apis: tuple[str, ...] = ("carnet",)) -> None:
    """With ``set_tcp_nodelay true`` in mosquitto.conf (what the docs recommend), and in
    full mode also with mosquitto's default, where a command that arrives within ~40 ms of
    the bridge's last publish waits for a delayed TCP acknowledgement. Car-Net: 500
    commands (quick: 100); myVW: 100 (quick: 20), each waits a few seconds for its outcome."""
    for api in apis:
        count = TIMED[api].quick if quick else TIMED[api].full
        overhead_with(table, "set_tcp_nodelay true\n", "", count, api)
        if not quick and api == "carnet":
            overhead_with(table, "", ", broker default", count, api)


def overhead_with(table: Table, broker_config: str, label: str, count: int,
                  api: str = "carnet") -> None:
    timed = TIMED[api]
    with Lab(broker_config, rate_limit=1_000_000, daily_budget=10_000_000,
             **MYVW_UNTHROTTLED) as lab:
        # Throttling would be measured instead of the bridge: lift it past validation.
        config = lab.config(carnet={"api": api},
                            commands={"min_interval": 0, "max_per_minute": 60})
        daemon = lab.daemon(config, overrides={"commands": {"max_per_minute": 1_000_000}})
        if wait_published(lab, ["egolf", "jetta"], 30) is None:
            raise RuntimeError("bridge did not start:\n" + daemon.tail())
        topic = f"{BASE}/egolf/{timed.attribute}/set"
        delays: list[float] = []
        acks: list[float] = []
        results: list[float] = []
        requests: list[int] = []
        for n in range(count + 5):  # the first five warm the tokens and the connections
            sent = time.time()
            lab.probe.publish(topic, timed.values[n % len(timed.values)])
            acked = time.time()
            # The next command goes once this one's result is out: nothing is in flight.
            if not wait_until(partial(_result_since, lab, sent), 20, 0.0005):
                raise RuntimeError(f"command {n} got no result:\n{daemon.tail()}")
            done = time.time()
            log = lab.log(sent)
            request = paths(log, timed.request, "PUT")
            if len(request) != 1:
                raise RuntimeError(f"command {n}: {len(request)} vendor requests, not 1")
            if n >= 5:
                delays.append((request[0]["time"] - sent) * 1000)
                acks.append((acked - sent) * 1000)
                results.append(done - sent)
                requests.append(len([r for r in log if r["time"] <= done]))
        p99 = percentile(delays, 99)
        add = partial(table.add, api=api)
        add("command", f"overhead p50 over {count}{label} (ms)", percentile(delays, 50))
        add("command", f"overhead p99 over {count}{label} (ms)", p99, "< 20 ms", p99 < 20)
        add("command", f"overhead max{label} (ms)", max(delays))
        add("command", f"client->broker PUBACK p50{label} (ms)", percentile(acks, 50))
        if not label:
            add("command", f"{timed.attribute}: publish -> result p50 (s)",
                percentile(results, 50))
            add("command", f"{timed.attribute}: publish -> result p99 (s)",
                percentile(results, 99))
            add("command", f"{timed.attribute}: vendor requests per command, to its result",
                sum(requests) / len(requests))


def _result_since(lab: Lab, since: float) -> bool:
    return any(m.topic.endswith("/result") for m in lab.messages(since))


@dataclass(frozen=True)
class Burst:
    name: str
    messages: list[tuple[str, str, str]]  # vehicle, attribute, payload
    expected: dict[tuple[str, str], Any]  # (vin, simulator field) -> final value


def single_burst() -> Burst:
    temps = [60 + (n * 7) % 26 for n in range(100)]
    messages = [("egolf", "climate_target_temperature", str(t)) for t in temps]
    return Burst("one attribute", messages, {(EV_VIN, "target_temperature"): temps[-1]})


def mixed_burst() -> Burst:
    """Six (vehicle, attribute) pairs, interleaved; the last message of each differs from
    the car's initial state so a lost command shows in the final state."""
    cycle = [
        ("egolf", "climate_target_temperature", [str(60 + n % 20) for n in range(17)] + ["71"]),
        ("egolf", "max_charge_current", ["5", "10", "max", "13"] * 4 + ["13", "10"]),
        ("egolf", "lock", ["LOCK", "UNLOCK"] * 8 + ["LOCK", "UNLOCK"]),
        ("egolf", "charging", ["ON", "OFF"] * 8 + ["OFF", "ON"]),
        ("jetta", "lock", ["UNLOCK", "LOCK"] * 7 + ["LOCK", "UNLOCK"]),
        ("jetta", "climate_target_temperature", [str(70 + n % 10) for n in range(11)] + ["66"]),
    ]
    messages: list[tuple[str, str, str]] = []
    for i in range(max(len(values) for _, _, values in cycle)):
        for vehicle, attribute, values in cycle:
            if i < len(values):
                messages.append((vehicle, attribute, values[i]))
    assert len(messages) == 100, len(messages)
    expected = {
        (EV_VIN, "target_temperature"): 71,
        (EV_VIN, "max_charge_current"): 10,
        (EV_VIN, "locked"): False,
        (EV_VIN, "charging"): True,
        (GAS_VIN, "locked"): False,
        (GAS_VIN, "target_temperature"): 66,
    }
    return Burst("mixed", messages, expected)


def bursts(table: Table, quick: bool) -> None:
    """Simulator 7/min, bridge min_interval 5 s (the earlier default) and 6/min, verify
    after 25 s.
    Quick mode divides every one of these times by 10 (70/min, 0.5 s, 60/min, 2.5 s,
    max_age 12 s): the same ratios, ten times sooner."""
    k = 10 if quick else 1
    for burst in (single_burst(), mixed_burst()):
        with Lab(rate_limit=7 * k) as lab:
            config = lab.config(commands={"min_interval": 5 / k, "max_per_minute": 6 * k,
                                          "verify_after": 25 / k, "max_age": 120 / k})
            daemon = lab.daemon(config)
            if wait_published(lab, ["egolf", "jetta"], 30) is None:
                raise RuntimeError("bridge did not start:\n" + daemon.tail())
            # The start-up reads each car's climate details after its first publish (TSP
            # requests, min_interval apart): they must not be counted as the burst's.
            if not wait_until(lambda: len(paths(lab.log(), "/climate/details")) >= 2, 60):
                raise RuntimeError("start-up climate reads missing:\n" + daemon.tail())
            time.sleep(1 / k)
            run_burst(lab, table, burst, k)


def run_burst(lab: Lab, table: Table, burst: Burst, k: int) -> None:
    """Send the burst over 1/k seconds, wait for every result, compare the car's state."""
    keys = len(burst.expected)
    label = f"burst {burst.name}" + (f" (x{k} time)" if k != 1 else "")
    started = time.time()
    for n, (vehicle, attribute, payload) in enumerate(burst.messages):
        lab.probe.publish(f"{BASE}/{vehicle}/{attribute}/set", payload)
        pause = started + (n + 1) / len(burst.messages) / k - time.time()
        if pause > 0:
            time.sleep(pause)
    sent_in = time.time() - started

    def results() -> list[dict[str, Any]]:
        return [json.loads(m.payload) for m in lab.messages(started)
                if m.topic.endswith("/result")]

    final_statuses = {"ok", "unconfirmed", "superseded", "expired", "error", "rejected"}
    limit = 400 / k
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        done = [r for r in results() if r["status"] in final_statuses]
        if len(done) >= len(burst.messages):
            break
        time.sleep(0.1)
    finished = time.time()
    log = lab.log(started)
    mps = paths(log, "/mps/")
    commands = [r for r in mps if "/climate/details" not in r["path"]]
    last_command = max((r["time"] for r in commands), default=started) - started
    too_many = [r for r in mps if r["status"] == 429]
    statuses: dict[str, int] = {}
    for result in results():
        statuses[result["status"]] = statuses.get(result["status"], 0) + 1
    wrong = []
    for (vin, field_name), value in burst.expected.items():
        actual = lab.vehicle(vin)[field_name]
        if actual != value:
            wrong.append(f"{vin[-6:]}.{field_name}={actual!r}, wanted {value!r}")
    table.add("burst", f"{label}: messages sent in (s)", sent_in)
    table.add("burst", f"{label}: command requests ({keys} attribute(s))", len(commands),
              f"<= {2 * keys}", len(commands) <= 2 * keys)
    table.add("burst", f"{label}: climate detail reads", len(mps) - len(commands))
    table.add("burst", f"{label}: command requests per message", len(commands) / 100)
    table.add("burst", f"{label}: 429 received", len(too_many), "0", not too_many)
    refused = [r for r in mps if r["status"] == 401]
    table.add("burst", f"{label}: 401 received (token expired while waiting)", len(refused),
              "0", not refused)
    table.add("burst", f"{label}: last command request after (s)", last_command)
    table.add("burst", f"{label}: all 100 results after (s)", finished - started)
    summary = " ".join(f"{k}={v}" for k, v in sorted(statuses.items()))
    table.add("burst", f"{label}: results", summary)
    table.add("burst", f"{label}: final state correct", "yes" if not wrong else "; ".join(wrong),
              "yes", not wrong)
