"""Commands on a myVW account, through the whole bridge (simulator over HTTP, a real
mosquitto): the bridge follows the outcome the vendor reports instead of re-reading the
car, and reports a car's refusal in the vendor's words."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from carnet.simulator import Simulator, SimulatorOptions
from tests.conftest import EV_VIN, SimControl
from tests.support.mqtt_probe import Probe
from tests.test_bridge_commands import command, mqtt_value
from tests.test_bridge_state import wait_online


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    # Commands take half a second to reach the car, so the outcome is asked more than once.
    with Simulator(SimulatorOptions(apply_delay=0.5, rate_limit=1000, daily_budget=100000,
                                    demo_id4=False, ev_command_gap=0)) as sim:
        yield sim


@pytest.fixture
def myvw_bridge(make_config, run_bridge, probe: Probe) -> Probe:
    config = make_config(
        carnet={"api": "myvw"},
        accounts=[{"email": "demo@example.com", "password": "demo", "pin": "1234",
                   "vehicles": {EV_VIN: {"name": "egolf"}}}],
        # Longer than the test waits: a result inside it came from the outcome.
        commands={"min_interval": 0, "verify_after": 120},
    )
    run_bridge(config)
    wait_online(probe, "egolf", timeout=20)
    return probe


def test_the_car_confirms_a_command_through_its_outcome(
    myvw_bridge: Probe, sim: SimControl
) -> None:
    result = command(myvw_bridge, "lock", "UNLOCK", timeout=30)
    assert (result["status"], result["detail"]) == ("ok", "confirmed by the car")
    assert sim.vehicles()[EV_VIN]["locked"] is False
    # The bridge read the car after the outcome: the state shows the new value.
    myvw_bridge.wait_for(lambda m: m.topic == "carnet2mqtt/egolf/lock" and m.text == "UNLOCKED",
                         10)


def test_a_refusal_by_the_car_ends_in_error_with_its_words(
    myvw_bridge: Probe, sim: SimControl
) -> None:
    sim.patch_vehicle(EV_VIN, plugged_in=False)
    result = command(myvw_bridge, "charging", "ON", timeout=30)
    assert result["status"] == "error"
    assert result["detail"].startswith("the car refused: "), result
    assert mqtt_value(myvw_bridge, "egolf", "charging") != "ON"
