"""``python bridge.py`` as a user runs it: a real process from the repository root, its
exit code, what it prints, and what it leaves on the broker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from carnet import __version__
from carnet.simulator import Simulator
from tests.conftest import EV_VIN, GAS_VIN
from tests.support.broker import Broker, free_port
from tests.test_bridge_state import retained_snapshot

ROOT = Path(__file__).resolve().parent.parent
SECRET = "hunter2-secret"


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 90) -> (
    subprocess.CompletedProcess[str]
):
    environment = {**os.environ, **(env or {})}
    environment.pop("CARNET2MQTT_CONFIG", None)
    return subprocess.run(
        [sys.executable, "bridge.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def write_config(
    path: Path, simulator: Simulator, tmp_path: Path, mqtt_port: int, password: str = "demo"
) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "mqtt": {"host": "127.0.0.1", "port": mqtt_port, "client_id": "carnet2mqtt-cli"},
                "carnet": {
                    "api_base": simulator.api_url,
                    "identity_base": simulator.identity_url,
                    "timeout": 5,
                },
                "accounts": [
                    {
                        "email": "demo@example.com",
                        "password": password,
                        "pin": "1234",
                        "vehicles": {EV_VIN: {"name": "egolf"}, GAS_VIN: {"name": "jetta"}},
                    }
                ],
                "commands": {"min_interval": 0},
                "state_dir": str(tmp_path / "state"),
            }
        ),
        encoding="utf-8",
    )
    return path


def test_version():
    done = run("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"carnet2mqtt {__version__}"


def test_check_accepts_the_example_configuration():
    done = run(
        "--config",
        "config.example.yaml",
        "--check",
        env={"CARNET_PASSWORD": SECRET, "CARNET_PIN": "1234"},
    )
    assert done.returncode == 0, done.stderr
    assert "valid" in done.stdout
    assert SECRET not in done.stdout + done.stderr


def test_check_reports_each_problem_on_one_line(tmp_path: Path):
    config = tmp_path / "broken.yaml"
    config.write_text(
        "mqtt:\n"
        "  port: lots\n"
        f"  pasword: {SECRET}\n"
        f"  password: {SECRET}\n"
        "polling:\n"
        "  interval: 5\n"
        "accounts:\n"
        "  - email: demo@example.com\n"
        "    password: ${CARNET_TEST_UNSET_VARIABLE}\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k != "CARNET_TEST_UNSET_VARIABLE"}
    done = subprocess.run(
        [sys.executable, "bridge.py", "--config", str(config), "--check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    output = done.stdout + done.stderr
    assert "Traceback" not in output
    assert SECRET not in output
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    keys = ("mqtt.port", "mqtt.pasword", "polling.interval", "accounts[0].password")
    for key in keys:
        assert sum(line.startswith(f"{key}:") for line in lines) == 1, (key, lines)
    assert len(lines) == len(keys), lines
    assert "CARNET_TEST_UNSET_VARIABLE" in done.stderr


def test_check_names_a_missing_file(tmp_path: Path):
    done = run("--config", str(tmp_path / "nowhere.yaml"), "--check")
    assert done.returncode == 2
    assert "nowhere.yaml" in done.stderr and "Traceback" not in done.stderr


def test_dump_prints_both_demo_vehicles(simulator: Simulator, tmp_path: Path):
    config = write_config(tmp_path / "config.yaml", simulator, tmp_path, free_port())
    done = run("--config", str(config), "--dump")
    assert done.returncode == 0, done.stderr
    assert "NOTAVAILABLE" not in done.stdout and "UNSUPPORTED" not in done.stdout
    vehicles = json.loads(done.stdout)
    assert set(vehicles) == {"egolf", "jetta"}

    egolf, jetta = vehicles["egolf"], vehicles["jetta"]
    assert egolf["vin"] == EV_VIN and jetta["vin"] == GAS_VIN
    assert egolf["model"] and egolf["model_year"]
    assert egolf["state"]["battery_level"] == 80
    assert egolf["units"]["battery_level"] == "%"
    assert "fuel_level" not in egolf["state"]
    assert jetta["state"]["fuel_level"] == 62
    assert "battery_level" not in jetta["state"]
    # Values as the MQTT JSON topic carries them.
    assert egolf["state"]["lock"] == "LOCKED"
    assert egolf["state"]["door_front_left"] == "CLOSED"
    assert egolf["state"]["last_update"].count("T") == 1  # ISO 8601
    assert set(egolf["state"]["location"]) == {"latitude", "longitude"}


def test_dump_with_a_wrong_password_names_the_step(simulator: Simulator, tmp_path: Path):
    config = write_config(
        tmp_path / "config.yaml", simulator, tmp_path, free_port(), password=SECRET
    )
    done = run("--config", str(config), "--dump")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert SECRET not in done.stdout + done.stderr
    assert "password" in done.stderr and "step" in done.stderr.lower()


def test_once_publishes_state_and_discovery_and_exits(
    simulator: Simulator, broker: Broker, tmp_path: Path
):
    config = write_config(tmp_path / "config.yaml", simulator, tmp_path, broker.port)
    done = run("--config", str(config), "--once")
    assert done.returncode == 0, done.stderr
    snapshot = retained_snapshot(broker)
    assert snapshot["carnet2mqtt/egolf/battery_level"].text == "80"
    assert snapshot["carnet2mqtt/jetta/fuel_level"].text == "62"
    assert json.loads(snapshot["carnet2mqtt/egolf"].text)["lock"] == "LOCKED"
    node = f"carnet2mqtt_{EV_VIN.lower()}"
    lock = json.loads(snapshot[f"homeassistant/lock/{node}/lock/config"].text)
    assert lock["command_topic"] == "carnet2mqtt/egolf/lock/set"
    info = json.loads(snapshot["carnet2mqtt/bridge/info"].text)
    assert {v["name"] for v in info["vehicles"]} == {"egolf", "jetta"}
    # Without a daemon the entities stay available, with the values of this run.
    assert json.loads(snapshot["carnet2mqtt/bridge/state"].text) == {"state": "online"}
    assert snapshot["carnet2mqtt/egolf/availability"].text == "online"


def test_once_beside_a_daemon_leaves_its_availability_alone(
    simulator: Simulator, broker: Broker, tmp_path: Path
):
    """Cron's --once next to the daemon: every message on the availability topics says
    ``online``, before, during and after the run."""
    from carnet.config import load_config
    from carnet.runtime.daemon import wait_until
    from tests.conftest import RunningBridge
    from tests.support.mqtt_probe import Probe

    config = write_config(tmp_path / "config.yaml", simulator, tmp_path, broker.port)
    daemon = RunningBridge(load_config(config)).start()
    probe = Probe(broker.port, "carnet2mqtt/#", client_id="availability-probe")
    try:
        bridge = daemon.bridge
        assert wait_until(lambda: len(bridge.vehicles) == 2 and bridge.idle()
                          and all(v.online for v in bridge.vehicles.values()), 20)
        probe.settle(quiet=0.5)
        probe.clear()  # what the daemon's start said; from here on, the --once run
        done = run("--config", str(config), "--once")
        assert done.returncode == 0, done.stderr
        probe.sync()  # --once delivered everything before it exited
        states = [m.text for m in list(probe.messages) if m.topic == "carnet2mqtt/bridge/state"]
        assert states and all(json.loads(s)["state"] == "online" for s in states), states
        availability = [(m.topic, m.text) for m in list(probe.messages)
                        if m.topic.endswith("/availability")]
        assert availability and all(text == "online" for _, text in availability), availability
        assert json.loads(retained_snapshot(broker)["carnet2mqtt/bridge/state"].text) == \
            {"state": "online"}
    finally:
        probe.close()
        daemon.stop()


@pytest.mark.timeout(120)
def test_once_without_a_broker_fails_clearly(simulator: Simulator, tmp_path: Path):
    port = free_port()
    config = write_config(tmp_path / "config.yaml", simulator, tmp_path, port)
    started = time.monotonic()
    done = run("--config", str(config), "--once", timeout=100)
    elapsed = time.monotonic() - started
    assert done.returncode == 1
    assert elapsed < 15  # a refused connection fails at once, no connect wait
    assert "Traceback" not in done.stderr
    assert f"MQTT broker at 127.0.0.1:{port}" in done.stderr


def test_once_does_not_take_over_the_daemons_session(
    simulator: Simulator, broker: Broker, tmp_path: Path
):
    """Cron's --once next to the daemon, both configured with the same client id."""
    from carnet.config import load_config
    from carnet.mqtt.link import MqttLink

    config = write_config(tmp_path / "config.yaml", simulator, tmp_path, broker.port)
    connects: list[int] = []
    daemon = MqttLink(
        load_config(config).mqtt, "carnet2mqtt-cli-test/state", lambda m: None,
        lambda: connects.append(1),
    )
    daemon.start()
    try:
        assert daemon.connected.wait(5)
        done = run("--config", str(config), "--once")
        assert done.returncode == 0, done.stderr
        time.sleep(0.5)
        assert daemon.connected.is_set() and connects == [1]  # never thrown out
    finally:
        daemon.stop(timeout=2)
