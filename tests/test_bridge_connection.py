"""How the bridge meets brokers and Home Assistant setups: protocols, credentials, TLS,
device discovery, bridge requests and the poll schedule."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest

from carnet.config import parse_config
from tests.conftest import EV_VIN, SimControl, config_dict, merge
from tests.support.broker import Broker
from tests.support.certs import TlsFiles, make_tls_files
from tests.support.mqtt_probe import Probe

BASE = "carnet2mqtt"


def online(probe: Probe, vehicle: str, timeout: float = 15.0) -> None:
    probe.wait_for(
        lambda m: m.topic == f"{BASE}/{vehicle}/availability" and m.text == "online", timeout
    )


def test_mqtt_311(make_config, run_bridge, probe):
    run_bridge(make_config(mqtt={"protocol": "3.1.1"}))
    online(probe, "egolf")
    probe.publish(f"{BASE}/egolf/horn_lights/set", "HORN")
    result = json.loads(probe.wait_topic(f"{BASE}/egolf/result").text)
    assert result["status"] == "ok"


@pytest.fixture
def password_broker(tmp_path: Path) -> Iterator[Broker]:
    passwords = tmp_path / "passwords"
    passwords.write_text("")
    subprocess.run(
        ["mosquitto_passwd", "-b", str(passwords), "bridge", "s3cret-broker-pass"], check=True
    )
    broker = Broker(extra_config=f"password_file {passwords}\n", anonymous=False).start()
    yield broker
    broker.close()


def test_username_and_password(simulator, password_broker, tmp_path, run_bridge):
    def login(client: paho.Client) -> None:
        client.username_pw_set("bridge", "s3cret-broker-pass")

    probe = Probe(password_broker.port, configure=login)
    try:
        data = config_dict(simulator, password_broker, tmp_path / "state")
        data = merge(data, {"mqtt": {"username": "bridge", "password": "s3cret-broker-pass"}})
        run_bridge(parse_config(data, {}))
        online(probe, "egolf")
    finally:
        probe.close()


def test_wrong_broker_password_is_logged_and_nothing_published(
    simulator, password_broker, tmp_path, run_bridge, caplog
):
    data = config_dict(simulator, password_broker, tmp_path / "state")
    data = merge(data, {"mqtt": {"username": "bridge", "password": "wrong"}})
    bridge = run_bridge(parse_config(data, {}))
    from carnet.runtime.daemon import wait_until

    assert wait_until(lambda: "refused the connection" in caplog.text, 10)
    assert not bridge.link.connected.is_set()
    assert "wrong" not in caplog.text.replace("wrong password", "")


@pytest.fixture
def tls(tmp_path: Path) -> TlsFiles:
    return make_tls_files(tmp_path / "tls")


@pytest.fixture
def tls_broker(tls: TlsFiles) -> Iterator[Broker]:
    broker = Broker(
        extra_config=(
            f"cafile {tls.ca}\ncertfile {tls.server_cert}\nkeyfile {tls.server_key}\n"
            "require_certificate true\n"
        )
    ).start()
    yield broker
    broker.close()


def test_tls_with_client_certificate(simulator, tls, tls_broker, tmp_path, run_bridge):
    def secure(client: paho.Client) -> None:
        client.tls_set(
            ca_certs=str(tls.ca), certfile=str(tls.client_cert), keyfile=str(tls.client_key)
        )

    probe = Probe(tls_broker.port, configure=secure)
    try:
        data = config_dict(simulator, tls_broker, tmp_path / "state")
        data = merge(
            data,
            {
                "mqtt": {
                    "tls": {
                        "enabled": True,
                        "ca_certs": str(tls.ca),
                        "certfile": str(tls.client_cert),
                        "keyfile": str(tls.client_key),
                    }
                }
            },
        )
        config = parse_config(data, {})
        assert config.mqtt.port == tls_broker.port
        run_bridge(config)
        online(probe, "egolf")
    finally:
        probe.close()


def test_device_discovery_mode(make_config, run_bridge, probe):
    run_bridge(make_config(mqtt={"discovery": {"mode": "device"}}))
    online(probe, "egolf")
    node = f"carnet2mqtt_{EV_VIN.lower()}"
    message = probe.wait_topic(f"homeassistant/device/{node}/config")
    config = json.loads(message.text)
    assert config["dev"]["manufacturer"] == "Volkswagen"
    assert config["o"]["name"] == "carnet2mqtt"
    lock = config["cmps"]["lock"]
    assert lock["p"] == "lock" and lock["command_topic"] == f"{BASE}/egolf/lock/set"
    # An entity the car lacks is absent, or listed with its platform only (a removal).
    assert config["cmps"].get("fuel_level", {"p": "sensor"}) == {"p": "sensor"}
    assert not any(
        m.topic.startswith("homeassistant/") and "/device/" not in m.topic for m in probe.messages
    )


def test_bridge_request_errors_say_what_is_accepted(make_config, run_bridge, probe):
    run_bridge(make_config())
    online(probe, "egolf")
    probe.publish(f"{BASE}/bridge/request/explode", json.dumps({"transaction": "t1"}))
    response = json.loads(probe.wait_topic(f"{BASE}/bridge/response/explode").text)
    assert response["status"] == "error" and response["transaction"] == "t1"
    assert "poll" in response["error"] and "refresh" in response["error"]

    probe.publish(f"{BASE}/bridge/request/refresh", json.dumps({"vehicle": "nope"}))
    response = json.loads(probe.wait_topic(f"{BASE}/bridge/response/refresh").text)
    assert response["status"] == "error" and "egolf" in response["error"]


def test_refresh_request_wakes_the_car_within_the_daily_budget(
    make_config, run_bridge, probe, sim: SimControl
):
    run_bridge(make_config(polling={"wakeups_per_day": 1}))
    online(probe, "egolf")
    probe.publish(f"{BASE}/bridge/request/refresh", json.dumps({"vehicle": "egolf"}))
    response = json.loads(probe.wait_topic(f"{BASE}/bridge/response/refresh").text)
    assert response["status"] == "ok", response
    assert len(sim.requests("/status/fresh", "PUT")) == 1

    probe.clear()
    probe.publish(f"{BASE}/bridge/request/refresh", json.dumps({"vehicle": "egolf"}))
    response = json.loads(probe.wait_topic(f"{BASE}/bridge/response/refresh").text)
    assert response["status"] == "error" and "wakeups_per_day" in response["error"]
    assert len(sim.requests("/status/fresh", "PUT")) == 1


def test_health_refresh_request(make_config, run_bridge, probe, sim: SimControl):
    run_bridge(make_config())
    online(probe, "egolf")
    probe.publish(f"{BASE}/bridge/request/health_refresh", json.dumps({"vehicle": "egolf"}))
    response = json.loads(probe.wait_topic(f"{BASE}/bridge/response/health_refresh").text)
    assert response["status"] == "ok", response
    assert response["data"]["health"] == "ok"
    assert len(sim.requests("/health/fresh", "POST")) == 1
    vehicle_id = sim.vehicles()[EV_VIN]["vehicleId"]
    assert len(sim.requests(f"/vhs/v2/vehicle/{vehicle_id}", "GET")) == 2


def test_poll_interval_entity_and_active_interval(make_config, run_bridge, probe, sim: SimControl):
    bridge = run_bridge(make_config(polling={"interval": 900, "active_interval": 120}))
    online(probe, "egolf")
    vehicle = bridge.vehicles["egolf"]
    assert bridge.poller.interval(vehicle) == 900

    probe.publish(f"{BASE}/egolf/poll_interval/set", "300")
    result = json.loads(probe.wait_topic(f"{BASE}/egolf/result").text)
    assert result["status"] == "ok"
    assert probe.wait_topic(f"{BASE}/egolf/poll_interval").text == "300"
    assert bridge.poller.interval(vehicle) == 300
    assert not sim.commands()  # a bridge setting costs no vendor request

    # While charging, the car is polled at the active interval.
    probe.clear()
    probe.publish(f"{BASE}/egolf/charging/set", "ON")
    result = json.loads(probe.wait_topic(f"{BASE}/egolf/result").text)
    assert result["status"] == "ok"
    assert bridge.poller.interval(vehicle) == 120


def test_a_superseded_refresh_spends_no_wakeup(make_config, run_bridge, probe, sim: SimControl):
    run_bridge(make_config(polling={"wakeups_per_day": 2}, commands={"min_interval": 1}))
    online(probe, "egolf")
    probe.clear()
    probe.publish(f"{BASE}/egolf/refresh/set", "PRESS")
    first = json.loads(probe.wait_topic(f"{BASE}/egolf/result").text)
    assert first["status"] == "ok"
    # Two more presses within min_interval: the second waits in the queue and the third
    # replaces it, so only one more wake-up is spent, and the day's second one is left.
    probe.publish(f"{BASE}/egolf/refresh/set", "PRESS")
    probe.publish(f"{BASE}/egolf/refresh/set", "PRESS")
    results = probe.wait_for(lambda m: m.topic == f"{BASE}/egolf/result", count=3)
    assert [json.loads(m.text)["status"] for m in results[1:]] == ["superseded", "ok"]
    assert len(sim.requests("/status/fresh", "PUT")) == 2
