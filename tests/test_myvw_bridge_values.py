"""What the bridge publishes and announces for a myVW account's cars, against the
simulator over HTTP and a real mosquitto: every myVW-only attribute of an EV with the
simulated car's values, none of them for the combustion car, the charge current the car
reports, and the health report read again without a vendor command."""

from __future__ import annotations

import json
from typing import Any

from carnet.runtime.daemon import wait_until
from tests.conftest import EV_VIN, GAS_VIN, SimControl
from tests.support.failures import retained_snapshot, wait_online
from tests.support.mqtt_probe import Probe
from tests.support.myvw_bridge import BASE, myvw_config
from tests.test_bridge_commands import command, mqtt_value

# The attributes the myVW generation added to the catalog, with their component.
MYVW_ATTRIBUTES = {
    "charge_power": "sensor", "charge_rate": "sensor", "charging_state": "sensor",
    "target_soc": "number", "plug_lock": "binary_sensor", "climate_remaining": "sensor",
    "window_heating": "switch", "charge_remaining_minutes": "sensor",
}


def discovery_topic(vin: str, attribute: str) -> str:
    component = MYVW_ATTRIBUTES[attribute]
    return f"homeassistant/{component}/carnet2mqtt_{vin.lower()}/{attribute}/config"


def retained_once(broker, wanted: list[str], timeout: float = 30.0) -> dict[str, Any]:
    """The retained messages, once every topic of ``wanted`` is among them."""
    found: dict[str, Any] = {}

    def complete() -> bool:
        found.clear()
        found.update(retained_snapshot(broker))
        return all(topic in found for topic in wanted)

    assert wait_until(complete, timeout, step=0.3), sorted(set(wanted) - set(found))
    return found


def test_an_ev_publishes_and_announces_every_myvw_attribute_with_the_cars_values(
    make_config, run_bridge, probe: Probe, broker, sim: SimControl
) -> None:
    # A car that charges towards 80 % with the windows heating; the climate is started
    # through the bridge, so the car counts its minutes down (a patch starts no run).
    sim.patch_vehicle(EV_VIN, battery_level=50, target_soc=80, charging=True,
                      defrost_on=True)
    run_bridge(myvw_config(make_config))
    wait_online(probe, "egolf", "jetta", timeout=30)
    assert command(probe, "climate", "ON", timeout=30)["status"] == "ok"
    probe.wait_for(lambda m: m.topic == f"{BASE}/egolf/climate_remaining" and m.text != "0",
                   30)
    car = sim.vehicles()[EV_VIN]
    wanted = [f"{BASE}/egolf/{a}" for a in MYVW_ATTRIBUTES]
    wanted += [discovery_topic(EV_VIN, a) for a in MYVW_ATTRIBUTES]
    snapshot = retained_once(broker, wanted)
    value = {a: snapshot[f"{BASE}/egolf/{a}"].text for a in MYVW_ATTRIBUTES}

    assert float(value["charge_power"]) == car["charge_power_kw"] > 0
    assert float(value["charge_rate"]) > 0  # km of range per hour while charging
    assert value["charging_state"] == "charging"
    assert value["target_soc"] == "80"
    assert value["plug_lock"] == "LOCKED"  # plugged in: the plug is locked
    # The car charges on while the test reads it: a minute or two may pass.
    assert car["minutes_to_full"] > 0
    assert abs(int(value["charge_remaining_minutes"]) - car["minutes_to_full"]) <= 2, value
    # The simulator's car ends a run after 30 minutes.
    assert car["climate_on"] is True and int(value["climate_remaining"]) in (29, 30), value
    assert value["window_heating"] == "ON"

    configs = {a: json.loads(snapshot[discovery_topic(EV_VIN, a)].text)
               for a in MYVW_ATTRIBUTES}
    for attribute, config in configs.items():
        assert config["state_topic"] == f"{BASE}/egolf/{attribute}", config
    # The e-Golf reports kilometres: its charge rate is km/h, a unit of HA's speed class.
    assert configs["charge_rate"]["device_class"] == "speed"
    assert configs["charge_rate"]["unit_of_measurement"] == "km/h"
    assert configs["charge_power"]["unit_of_measurement"] == "kW"
    assert configs["target_soc"]["command_topic"] == f"{BASE}/egolf/target_soc/set"
    assert (configs["target_soc"]["min"], configs["target_soc"]["max"],
            configs["target_soc"]["step"]) == (50, 100, 10)
    assert configs["window_heating"]["command_topic"] == f"{BASE}/egolf/window_heating/set"

    # None of them for the combustion car, neither state nor discovery.
    assert wait_until(lambda: f"{BASE}/jetta/fuel_level" in retained_snapshot(broker), 30)
    snapshot = retained_snapshot(broker)
    for attribute in MYVW_ATTRIBUTES:
        assert f"{BASE}/jetta/{attribute}" not in snapshot, attribute
        assert discovery_topic(GAS_VIN, attribute) not in snapshot, attribute
    jetta = json.loads(snapshot[f"{BASE}/jetta"].text)
    assert not set(MYVW_ATTRIBUTES) & set(jetta), jetta


def test_the_charge_current_the_car_reports_is_shown_not_a_default(
    make_config, run_bridge, probe: Probe, broker, sim: SimControl
) -> None:
    # The car charges with a reduced current, set in the app: myVW reports it.
    sim.patch_vehicle(EV_VIN, max_charge_current=10)
    run_bridge(myvw_config(make_config))
    wait_online(probe, "egolf", timeout=30)
    topic = f"{BASE}/egolf/max_charge_current"
    snapshot = retained_once(broker, [topic])
    assert snapshot[topic].text == "reduced"
    # Not flagged as a value only the bridge assumes.
    details = snapshot.get(f"{topic}/attributes")
    assert details is None or "assumed" not in json.loads(details.text), details
    config = json.loads(retained_once(broker, [
        f"homeassistant/select/carnet2mqtt_{EV_VIN.lower()}/max_charge_current/config"
    ])[f"homeassistant/select/carnet2mqtt_{EV_VIN.lower()}/max_charge_current/config"].text)
    assert config["options"] == ["max", "reduced"]


def test_health_refresh_reads_the_report_again_without_a_vendor_command(
    make_config, run_bridge, probe: Probe, sim: SimControl
) -> None:
    bridge = run_bridge(myvw_config(make_config))
    wait_online(probe, "egolf", timeout=30)
    assert wait_until(bridge.idle, 30)
    vehicle_id = sim.vehicles()[EV_VIN]["vehicleId"]
    sim.clear_requests()
    probe.publish(f"{BASE}/bridge/request/health_refresh", json.dumps({"vehicle": "egolf"}))
    response = json.loads(probe.wait_topic(f"{BASE}/bridge/response/health_refresh", 30).text)
    assert response["status"] == "ok", response
    assert response["data"]["health"] == "ok"
    assert "no request for a new health report" in response["data"]["detail"], response
    # The report was read again, and nothing was sent to the car: no wake-up spent.
    assert len(sim.requests(f"/vhs/v2/vehicle/{vehicle_id}", "GET")) == 1
    assert sim.requests("/refresh", "POST") == []
    assert [r for r in sim.requests() if r["method"] in ("POST", "PUT", "DELETE")
            and not r["path"].startswith("/oidc/")] == []
    assert mqtt_value(probe, "egolf", "availability") == "online"
