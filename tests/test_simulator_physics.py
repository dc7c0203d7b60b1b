"""The simulated car: delayed command effects, charging, climate rules, direct changes."""

from __future__ import annotations

import time

import requests

from carnet.simulator import Simulator, SimulatorOptions
from tests.test_simulator_support import (
    EV_VIN,
    ICE_VIN,
    ID4_VIN,
    TIMEOUT,
    Client,
    make_sim,
    sim_fault,
    sim_patch,
    sim_vehicle,
)


def _battery(client: Client) -> dict:
    return client.status(EV_VIN).json()["data"]["powerStatus"]["battery"]


def test_commands_take_effect_after_the_apply_delay() -> None:
    with make_sim(apply_delay=0.4) as sim:
        client = Client(sim).login()
        before = client.status(EV_VIN).json()["data"]
        assert client.command("PUT", EV_VIN, "status/exterior/doors", lock=False).ok
        assert client.status(EV_VIN).json()["data"]["lockStatus"] == "LOCKED"
        assert sim_vehicle(sim, EV_VIN)["pending"][0]["command"] == "lock"
        time.sleep(0.5)
        after = client.status(EV_VIN).json()["data"]
        assert after["lockStatus"] == "UNLOCKED"
        assert set(after["exteriorStatus"]["doorLockStatus"].values()) == {"UNLOCKED"}
        assert after["exteriorStatus"]["secure"] != "SECURE"
        assert after["timestamp"] > before["timestamp"]


def test_the_default_apply_delay_is_the_real_cars_20_seconds() -> None:
    assert SimulatorOptions().apply_delay == 20.0
    with Simulator(SimulatorOptions()) as sim:
        client = Client(sim).login()
        assert client.command("PUT", EV_VIN, "status/exterior/doors", lock=False).ok
        state = sim_vehicle(sim, EV_VIN)
        assert state["locked"] is True
        (pending,) = state["pending"]
        assert pending["command"] == "lock"
        assert 15_000 < pending["due"] - time.time() * 1000 <= 20_100


def test_status_fresh_moves_the_timestamp_and_nothing_else() -> None:
    with make_sim() as sim:
        client = Client(sim).login()
        before = client.status(ICE_VIN).json()["data"]
        assert client.status(ICE_VIN).json()["data"]["timestamp"] == before["timestamp"]
        assert client.command("PUT", ICE_VIN, "status/fresh").ok
        after = client.status(ICE_VIN).json()["data"]
        assert after["timestamp"] > before["timestamp"]
        assert {**after, "timestamp": 0} == {**before, "timestamp": 0}


def test_charging_raises_the_battery_while_plugged_in() -> None:
    # 600 simulated seconds per real second: 0.5 %/min at "max" is 5 % per real second
    with make_sim(time_scale=600) as sim:
        client = Client(sim).login()
        assert _battery(client)["minutesUntilFullCharge"] == 0
        r = client.command("PATCH", EV_VIN, "status/charging", active=True)
        assert r.ok
        first = _battery(client)
        assert 0 < first["minutesUntilFullCharge"] <= 40
        time.sleep(0.5)
        second = _battery(client)
        assert second["chargePercentRemaining"] > first["chargePercentRemaining"]
        assert second["minutesUntilFullCharge"] < first["minutesUntilFullCharge"]
        # a lower current charges more slowly
        assert client.command("PUT", EV_VIN, "settings/max_charge_current",
                              max_charge_current=5).ok
        assert _battery(client)["minutesUntilFullCharge"] > second["minutesUntilFullCharge"]
        # unplugging stops charging
        assert sim_patch(sim, EV_VIN, {"plugged_in": False}).ok
        third = _battery(client)
        assert third["chargePlug"] == "UNPLUGGED"
        assert third["minutesUntilFullCharge"] == 0
        time.sleep(0.2)
        assert _battery(client)["chargePercentRemaining"] == third["chargePercentRemaining"]
        assert sim_vehicle(sim, EV_VIN)["charging"] is False


def test_charging_stops_at_full() -> None:
    with make_sim(time_scale=600) as sim:
        client = Client(sim).login()
        assert sim_patch(sim, EV_VIN, {"battery_level": 99.5}).ok
        assert client.command("PATCH", EV_VIN, "status/charging", active=True).ok
        time.sleep(0.3)
        battery = _battery(client)
        assert battery["chargePercentRemaining"] == 100
        assert battery["minutesUntilFullCharge"] == 0
        assert sim_vehicle(sim, EV_VIN)["charging"] is False


def test_charging_needs_the_plug() -> None:
    with make_sim() as sim:
        client = Client(sim).login()
        assert sim_patch(sim, EV_VIN, {"plugged_in": False}).ok
        r = client.command("PATCH", EV_VIN, "status/charging", active=True)
        assert r.status_code == 200  # accepted, as the real service does
        assert sim_vehicle(sim, EV_VIN)["charging"] is False


def _climate(client: Client) -> dict:
    return client.command("PUT", EV_VIN, "status/climate/details").json()["data"]


def test_climate_needs_plug_or_unplugged_climate() -> None:
    with make_sim(rate_limit=100) as sim:
        client = Client(sim).login()
        assert sim_patch(sim, EV_VIN, {"plugged_in": False}).ok
        assert client.command("PUT", EV_VIN, "status/climate", active=True,
                              target_temperature=70).ok
        assert client.command("PUT", EV_VIN, "status/defrost", active=True).ok
        details = _climate(client)
        assert details["climate_on"] is False and details["defrost_on"] is False
        assert details["target_temperature"] == 70  # the setting is kept
        assert client.command("PUT", EV_VIN, "settings/unplugged_climate_control",
                              enabled=True).ok
        assert client.command("PUT", EV_VIN, "status/climate", active=True,
                              target_temperature=75).ok
        details = _climate(client)
        assert details["climate_on"] is True
        assert details["unplugged_climate_control_enabled"] is True
        assert details["target_temperature"] == 75
        # disabling unplugged climate while unplugged switches it off
        assert client.command("PUT", EV_VIN, "settings/unplugged_climate_control",
                              enabled=False).ok
        assert _climate(client)["climate_on"] is False
        # plugged in, defrost runs
        assert sim_patch(sim, EV_VIN, {"plugged_in": True}).ok
        assert client.command("PUT", EV_VIN, "status/defrost", active=True).ok
        assert _climate(client)["defrost_on"] is True


def test_ignore_commands_fault() -> None:
    with make_sim() as sim:
        client = Client(sim).login()
        assert sim_fault(sim, {"kind": "ignore_commands"}).ok
        r = client.command("PUT", EV_VIN, "status/exterior/doors", lock=False)
        assert r.status_code == 200 and r.json()["data"]["command"] == "unlock_doors"
        assert client.status(EV_VIN).json()["data"]["lockStatus"] == "LOCKED"
        assert requests.delete(f"{sim.api_url}/_sim/fault/ignore_commands", timeout=TIMEOUT).ok
        assert client.command("PUT", EV_VIN, "status/exterior/doors", lock=False).ok
        assert client.status(EV_VIN).json()["data"]["lockStatus"] == "UNLOCKED"


def test_patch_vehicle_changes_the_status() -> None:
    with make_sim() as sim:
        client = Client(sim).login()
        before = client.status(EV_VIN).json()["data"]
        r = sim_patch(sim, EV_VIN, {"doors": {"frontLeft": "OPEN"}, "locked": False,
                                    "location": {"latitude": 42.3, "longitude": -71.1},
                                    "battery_level": 50})
        assert r.status_code == 200
        assert r.json()["doors"]["frontLeft"] == "OPEN"
        data = client.status(EV_VIN).json()["data"]
        assert data["exteriorStatus"]["doorStatus"]["frontLeft"] == "OPEN"
        assert data["exteriorStatus"]["secure"] != "SECURE"
        assert data["lockStatus"] == "UNLOCKED"
        assert data["location"] == {"latitude": 42.3, "longitude": -71.1}
        assert data["powerStatus"]["battery"]["chargePercentRemaining"] == 50
        assert data["timestamp"] > before["timestamp"]
        assert sim_patch(sim, ICE_VIN, {"fuel_level": 10}).ok
        assert client.status(ICE_VIN).json()["data"]["powerStatus"]["fuelPercentRemaining"] == 10


def test_patch_vehicle_refusals() -> None:
    with make_sim() as sim:
        r = sim_patch(sim, EV_VIN, {"wings": 2})
        assert r.status_code == 400
        message = r.json()["error"]["message"]
        assert "wings" in message and "plugged_in" in message and "location" in message
        assert sim_patch(sim, ICE_VIN, {"battery_level": 50}).status_code == 400
        assert sim_patch(sim, EV_VIN, {"plugged_in": "yes"}).status_code == 400
        assert sim_patch(sim, EV_VIN, {"doors": {"frontLeft": "AJAR"}}).status_code == 400
        assert sim_patch(sim, "WVWZZZAUZGW999999", {"locked": True}).status_code == 404
        assert sim_vehicle(sim, EV_VIN)["plugged_in"] is True  # nothing half-applied


def test_sim_vehicles_lists_every_vehicle_with_its_account() -> None:
    with make_sim() as sim:
        r = requests.get(f"{sim.api_url}/_sim/vehicles", timeout=TIMEOUT)
        states = {v["vin"]: v for v in r.json()}
        assert set(states) == {EV_VIN, ICE_VIN, ID4_VIN}
        ev, ice = states[EV_VIN], states[ICE_VIN]
        assert ev["account"] == ice["account"] == "demo@example.com"
        assert ev["ev"] and ev["plugged_in"] and not ev["charging"] and ev["battery_level"] == 80
        assert ev["units"] == "KM" and ice["units"] == "MI" and ice["fuel_level"] == 62
