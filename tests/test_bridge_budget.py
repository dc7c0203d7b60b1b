"""Commands that spend the account's requests sparingly, against the simulator and mosquitto.

A command asking for the state the car was just read in costs no request; the result
says so.
"""

from __future__ import annotations

import json
import time

from tests.conftest import EV_VIN, SimControl
from tests.support.mqtt_probe import Probe
from tests.test_bridge_commands import (
    CHARGING,
    CURRENT,
    command,
    results,
    send,
    start,
    vendor_commands,
    wait_idle,
    wait_results,
)


def charging_requests(sim: SimControl) -> int:
    return vendor_commands(sim).count(("PATCH", CHARGING))


# --- no-op commands -----------------------------------------------------------------------


def test_a_repeated_charging_command_sends_one_request(
    make_config, run_bridge, probe: Probe, sim: SimControl
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
    assert charging_requests(sim) == 1
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
    make_config, run_bridge, probe: Probe, sim: SimControl
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
    assert charging_requests(sim) == 2
    # force must be a boolean: anything else is refused with what is accepted, unsent.
    send(probe, "egolf", None, json.dumps({"charging": "ON", "force": "yes"}))
    refused = wait_results(probe, 3)[2]
    assert refused["status"] == "rejected" and "true or false" in refused["detail"], refused
    wait_idle(bridge)
    time.sleep(0.3)
    assert len(results(probe)) == 3
    assert charging_requests(sim) == 2


def test_a_state_older_than_skip_unchanged_is_not_trusted(
    make_config, run_bridge, probe: Probe, sim: SimControl
):
    bridge = start(run_bridge, make_config, probe, commands={"skip_unchanged": 1})
    wait_idle(bridge)
    sim.clear_requests()
    assert command(probe, "charging", "ON")["detail"] == "confirmed by the car"
    wait_idle(bridge)
    assert command(probe, "charging", "ON")["detail"].startswith("already ON")
    time.sleep(1.2)  # the confirming read is now older than skip_unchanged
    assert command(probe, "charging", "ON")["detail"] == "confirmed by the car"
    assert charging_requests(sim) == 2


def test_skip_unchanged_0_always_sends(make_config, run_bridge, probe: Probe, sim: SimControl):
    bridge = start(run_bridge, make_config, probe, commands={"skip_unchanged": 0})
    wait_idle(bridge)
    sim.clear_requests()
    for _ in range(2):
        assert command(probe, "charging", "ON")["detail"] == "confirmed by the car"
        wait_idle(bridge)
    assert charging_requests(sim) == 2
