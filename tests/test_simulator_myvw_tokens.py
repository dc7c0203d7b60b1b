"""Which token each myVW command takes: EV commands either, the others the vehicle token."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from carnet.simulator import Simulator
from tests.test_simulator_myvw_support import MyvwClient
from tests.test_simulator_support import EV_VIN, ICE_VIN, make_sim, sim_patch, sim_vehicle

EV = "/ev/v1/vehicle/{vid}"
#: EV commands in an order that each one can be carried out, with their effect on the car
EV_COMMANDS: list[tuple[str, str, Any, tuple[str, Any]]] = [
    ("POST", f"{EV}/charging/start", {"actionMode": "immediate"}, ("charging", True)),
    ("POST", f"{EV}/charging/stop", {"actionMode": "immediate"}, ("charging", False)),
    ("PUT", f"{EV}/charging/settings",
     {"maxChargingCurrent": "max", "autoUnlockPlugWhenCharged": "off",
      "targetSOCPercentage": 90, "chargeModeSelection": "manual"}, ("target_soc", 90)),
    ("PUT", f"{EV}/pretripclimate/settings",
     {"targetTemperature": {"temperature": 70, "unit": "fahrenheit"}},
     ("target_temperature", 70)),
    ("POST", f"{EV}/pretripclimate/start", {}, ("climate_on", True)),
    ("POST", f"{EV}/pretripclimate/stop", {}, ("climate_on", False)),
    ("POST", f"{EV}/pretripclimate/windowheating/start", {}, ("defrost_on", True)),
    ("POST", f"{EV}/pretripclimate/windowheating/stop", {}, ("defrost_on", False)),
]


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = make_sim(rate_limit=1000, ev_command_gap=0)
    yield simulator
    simulator.stop()


def test_ev_commands_take_the_access_token(sim: Simulator) -> None:
    client = MyvwClient(sim).login()
    sim_patch(sim, EV_VIN, {"battery_level": 50, "plugged_in": True})
    vid = client.vid(EV_VIN)
    for method, path, body, (key, value) in EV_COMMANDS:
        r = client.send(method, path.format(vid=vid), body)  # the access token
        assert r.status_code == 200, (path, r.text)
        assert r.json()["data"]["result"] == 0
        assert sim_vehicle(sim, EV_VIN)[key] == value, path


def test_other_commands_refuse_the_access_token(sim: Simulator) -> None:
    client = MyvwClient(sim).login()
    ev, ice = client.vid(EV_VIN), client.vid(ICE_VIN)
    for method, path, body in [
            ("PUT", f"/lockunlock/v1/vehicle/{ev}", {"lock": False}),
            ("PUT", f"/honkflash/v1/vehicle/{ev}", {"horn": True, "lights": True}),
            ("POST", f"/rvs/v1/vehicle/{ev}/refresh", {}),
            ("POST", f"/rst/v1/vehicle/{ice}", {"roToken": "x"}),
            ("DELETE", f"/rst/v1/vehicle/{ice}", {"roToken": "x"})]:
        r = client.send(method, path, body)
        assert r.status_code == 403, (path, r.text)
        assert r.json()["error"]["errorCode"] == "USER_NOT_AUTHORIZED"
    assert sim_vehicle(sim, EV_VIN)["locked"] is True
