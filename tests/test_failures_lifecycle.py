"""The process's lifecycle as a supervisor drives it: SIGTERM with a command in flight,
SIGHUP to reload, and a state directory it cannot write."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from carnet.catalog.commands import Command
from carnet.runtime.daemon import wait_until
from carnet.runtime.executor import Executor
from carnet.runtime.job import Job, Outcome, Work
from tests.conftest import DEMO_EMAIL, EV_VIN, GAS_VIN
from tests.support.broker import free_port
from tests.support.failures import BASE, results, wait_online
from tests.test_cli import run, write_config

ROOT = Path(__file__).resolve().parent.parent


def daemon_config(sim_url: str, identity_url: str, port: int, state_dir: Path,
                  **changes: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "mqtt": {"host": "127.0.0.1", "port": port, "client_id": "carnet2mqtt-lifecycle"},
        "carnet": {"api_base": sim_url, "identity_base": identity_url, "timeout": 3},
        "accounts": [
            {
                "email": DEMO_EMAIL,
                "password": "demo",
                "pin": "1234",
                "vehicles": {EV_VIN: {"name": "egolf"}, GAS_VIN: {"name": "jetta"}},
            }
        ],
        # skip_unchanged 0: every command is sent, whatever the car's state, so the one
        # in flight is always a real request.
        "commands": {"min_interval": 0, "skip_unchanged": 0},
        "state_dir": str(state_dir),
    }
    for section, values in changes.items():
        config.setdefault(section, {}).update(values)
    return config


class Daemon:
    """``python bridge.py --config FILE`` as a real process, its log in a file."""

    def __init__(self, config_file: Path, log_file: Path, env: dict[str, str]) -> None:
        self.log_file = log_file
        environment = {k: v for k, v in os.environ.items() if k != "CARNET2MQTT_CONFIG"}
        environment.update(env)
        self._log = log_file.open("w", encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, "bridge.py", "--config", str(config_file)],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )

    def log(self) -> str:
        return self.log_file.read_text(encoding="utf-8")

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout)
        finally:
            self._log.close()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._log.close()


@pytest.fixture
def notify_socket() -> Iterator[tuple[socket.socket, str]]:
    """A stand-in for systemd's notification socket (a short path: AF_UNIX limits it)."""
    folder = tempfile.mkdtemp(prefix="sdn")
    address = str(Path(folder) / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    sock.settimeout(0.2)
    yield sock, address
    sock.close()
    shutil.rmtree(folder, ignore_errors=True)


def notifications(sock: socket.socket) -> list[str]:
    received = []
    while True:
        try:
            received.append(sock.recv(4096).decode())
        except TimeoutError:
            return received


@pytest.fixture
def daemon(tmp_path: Path):
    started: list[Daemon] = []

    def start(config: dict[str, Any], env: dict[str, str] | None = None) -> Daemon:
        config_file = tmp_path / "config.yaml"
        config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
        instance = Daemon(config_file, tmp_path / f"daemon-{len(started)}.log", env or {})
        started.append(instance)
        return instance

    yield start
    for instance in started:
        instance.kill()


# --- SIGTERM with a command the vendor has not answered -------------------------------------


def test_sigterm_reports_the_command_in_flight(simulator, broker, probe, sim, tmp_path, daemon):
    timeout = 3.0
    bridge = daemon(
        daemon_config(simulator.api_url, simulator.identity_url, broker.port, tmp_path / "state",
                      carnet={"timeout": timeout})
    )
    wait_online(probe, "egolf", "jetta", timeout=20)
    sim.fault(kind="hang")
    sim.clear_requests()
    probe.publish(f"{BASE}/egolf/lock/set", "UNLOCK")
    # The lock reached the vendor (its request hangs) before the other two are queued.
    assert wait_until(lambda: any(r["status"] is None for r in sim.requests("/mps/")), 5)
    probe.publish(f"{BASE}/jetta/horn_lights/set", "LIGHTS")
    probe.publish(f"{BASE}/egolf/climate/set", "ON")
    time.sleep(0.5)  # both are in the executor's queue, behind the hanging lock
    assert results(probe) == []

    signalled = time.monotonic()
    bridge.signal(signal.SIGTERM)
    code = bridge.wait(timeout + 10)
    took = time.monotonic() - signalled
    assert code == 0, bridge.log()
    assert took <= timeout + 5, took
    print(f"stopped {took:.1f} s after SIGTERM (carnet.timeout {timeout:g} s)")

    ended = results(probe)
    by_attribute = {r["attribute"]: r for r in ended}
    assert len(ended) == 3 and set(by_attribute) == {"lock", "horn_lights", "climate"}, ended
    for attribute in ("horn_lights", "climate"):
        assert by_attribute[attribute]["status"] == "error", ended
        assert "stopped before sending it" in by_attribute[attribute]["detail"], ended
    assert by_attribute["lock"]["status"] == "error", ended
    assert "may still carry it out" in by_attribute["lock"]["detail"], ended
    latest = probe.latest()
    assert latest[f"{BASE}/egolf/availability"].text == "offline"
    assert json.loads(latest[f"{BASE}/bridge/state"].text)["state"] == "offline"
    assert "Traceback" not in bridge.log()


class Collected:
    """A job listener that records every outcome (the executor's own interface)."""

    def __init__(self) -> None:
        self.outcomes: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def sent(self, job: Job, receipt: object) -> None:
        with self.lock:
            self.outcomes.append((job.work.key, "sent"))

    def done(self, job: Job, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append((job.work.key, outcome.status))


def test_executor_stop_reports_a_command_that_outlives_the_wait():
    """A vendor slower than the stop's wait: the command still gets exactly one result."""
    release = threading.Event()
    entered = threading.Event()

    def hanging_send() -> None:
        entered.set()
        release.wait(10)

    listener = Collected()
    executor = Executor("test", max_age=60, queue_size=10)
    now = time.monotonic()
    lock = Command("egolf", "lock", "LOCK", "LOCK", received=now)
    climate = Command("egolf", "climate", True, "ON", received=now)
    executor.submit(Job(Work.of(lock), hanging_send, listener))
    assert entered.wait(5)
    executor.submit(Job(Work.of(climate), lambda: None, listener))
    started = time.monotonic()
    executor.stop(timeout=0.5)
    assert time.monotonic() - started < 2
    assert sorted(listener.outcomes) == [("climate", "error"), ("lock", "error")]
    release.set()  # the vendor answers after all: no second result
    time.sleep(0.2)
    assert sorted(listener.outcomes) == [("climate", "error"), ("lock", "error")]


# --- SIGHUP: reload the configuration file ---------------------------------------------------


def logins(sim) -> list[dict[str, Any]]:
    """Requests of a login: the identity host's pages and the password form."""
    return [r for r in sim.requests() if r["host"] == "identity"] + sim.requests(
        "/login/authenticate"
    )


def bridge_info(probe, predicate) -> dict[str, Any]:
    topic = f"{BASE}/bridge/info"
    found = probe.wait_for(lambda m: m.topic == topic and predicate(json.loads(m.text)), 20)
    return json.loads(found[-1].text)


def test_sighup_reloads_the_configuration_without_logging_in(
    simulator, broker, probe, sim, tmp_path, daemon, notify_socket
):
    state_dir = tmp_path / "state"
    config = daemon_config(simulator.api_url, simulator.identity_url, broker.port, state_dir,
                           commands={"min_interval": 3})
    sock, address = notify_socket
    bridge = daemon(config, env={"NOTIFY_SOCKET": address})
    wait_online(probe, "egolf", "jetta", timeout=20)
    # One published on connecting, before the accounts are set up, lists none.
    bridge_info(probe, lambda i: i["accounts"] and i["accounts"][0]["state"] == "online")
    assert logins(sim), "the first start logs in"

    # Two commands, the second waiting for the first's min_interval when SIGHUP comes.
    probe.clear()
    probe.publish(f"{BASE}/egolf/lock/set", "UNLOCK")
    probe.publish(f"{BASE}/jetta/horn_lights/set", "LIGHTS")
    config["polling"] = {"interval": 120}
    config["log_level"] = "debug"
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    sim.clear_requests()
    bridge.signal(signal.SIGHUP)

    # Stopped cleanly: every command has its result, both vehicles went offline ...
    probe.wait_for(lambda m: m.topic == f"{BASE}/egolf/availability" and m.text == "offline", 15)
    probe.wait_for(lambda m: m.topic == f"{BASE}/jetta/availability" and m.text == "offline", 15)
    ended = results(probe)
    assert sorted(r["attribute"] for r in ended) == ["horn_lights", "lock"], ended
    # Both waited for the account's min_interval after the start's climate reads.
    for result in ended:
        assert result["status"] == "error", result
        assert result["detail"] == "the bridge stopped before sending it", result
    # ... and came back in the same process with the new file, on the stored tokens.
    wait_online(probe, "egolf", "jetta", timeout=20)
    info = bridge_info(probe, lambda i: i["config"]["polling"]["interval"] == 120)
    assert info["accounts"][0]["state"] == "online"
    assert bridge.process.poll() is None
    assert logins(sim) == [], logins(sim)
    assert sim.requests("/rvs/v1/vehicle/"), "the restarted bridge reads the vehicles"
    assert len(results(probe)) == 2, results(probe)  # nothing reported twice
    after_reload = bridge.log().split("starting again with the reloaded configuration", 1)[1]
    assert " DEBUG " in after_reload and " DEBUG " not in bridge.log().split("SIGHUP", 1)[0]
    told = [n for n in notifications(sock) if not n.startswith("WATCHDOG")]
    assert told == ["READY=1", "RELOADING=1", "READY=1"], told
    print(f"SIGHUP: results {[(r['attribute'], r['status']) for r in ended]}, "
          f"{len(logins(sim))} login requests after the reload")

    # An invalid file: each problem logged, the bridge keeps running as it was.
    (tmp_path / "config.yaml").write_text(
        yaml.safe_dump({**config, "polling": {"interval": 5, "intervall": 60}}), encoding="utf-8"
    )
    probe.clear()
    bridge.signal(signal.SIGHUP)
    assert wait_until(lambda: "keeps running" in bridge.log(), 10), bridge.log()
    log = bridge.log()
    assert "configuration not reloaded: polling.interval:" in log
    assert "configuration not reloaded: polling.intervall:" in log
    probe.publish(f"{BASE}/bridge/request/poll", "{}")
    body = json.loads(probe.wait_topic(f"{BASE}/bridge/response/poll", timeout=10).text)
    assert body["status"] == "ok", body
    assert not any(m.text == "offline" for m in probe.messages), "still running"

    bridge.signal(signal.SIGTERM)
    assert bridge.wait(15) == 0
    assert "Traceback" not in bridge.log()
    assert [n for n in notifications(sock) if not n.startswith("WATCHDOG")][-1] == "STOPPING=1"


# --- a state directory the daemon cannot write -----------------------------------------------
# The tests run as root, for whom a read-only directory is still writable; what fails for
# root too is a state_dir that is a regular file, or a path under one.


def unwritable_state_dir(tmp_path: Path, how: str) -> Path:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x", encoding="utf-8")
    return blocker if how == "is_a_file" else blocker / "state"


@pytest.mark.parametrize("how", ["is_a_file", "under_a_file"])
def test_unwritable_state_dir_is_one_line_for_check_and_start(
    simulator, sim, tmp_path, daemon, how
):
    state_dir = unwritable_state_dir(tmp_path, how)
    config = daemon_config(simulator.api_url, simulator.identity_url, free_port(), state_dir)
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump(config), encoding="utf-8")

    checked = run("--config", str(config_file), "--check")
    assert checked.returncode == 2, checked.stdout
    lines = [line for line in checked.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"state_dir: {state_dir} "), lines
    assert "file" in lines[0] and "directory" in lines[0], lines

    sim.clear_requests()
    started = daemon(config)
    assert started.wait(20) == 2, started.log()
    log = started.log()
    assert "Traceback" not in log, log
    assert lines[0] in log.splitlines(), log
    assert sim.requests() == [], "nothing is sent before the state directory works"


def test_loose_modes_of_the_state_are_tightened(simulator, broker, sim, tmp_path):
    state_dir = tmp_path / "state"
    config_file = write_config(tmp_path / "config.yaml", simulator, tmp_path, broker.port)
    first = run("--config", str(config_file), "--once")
    assert first.returncode == 0, first.stderr
    (token_file,) = state_dir.glob("tokens-*.json")
    state_dir.chmod(0o755)
    token_file.chmod(0o644)

    sim.clear_requests()
    second = run("--config", str(config_file), "--once")
    assert second.returncode == 0, second.stderr
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    warnings = [line for line in second.stderr.splitlines() if "open to others" in line]
    assert len(warnings) == 2, second.stderr
    assert f"state_dir {state_dir} had mode 0755" in warnings[0]
    assert f"token file {token_file} had mode 0644" in warnings[1]
    assert sim.requests("/login/authenticate") == []  # the same tokens, kept
