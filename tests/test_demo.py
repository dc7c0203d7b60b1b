"""``python bridge.py --demo`` as a newcomer runs it: a real process, a real broker (an
embedded one, or one already listening), the commands it prints, and a clean stop."""

from __future__ import annotations

import importlib
import json
import os
import queue
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from carnet.app import cli, demo, embedded_broker
from carnet.mqtt.topics import Topics
from tests.support.broker import Broker, free_port
from tests.support.failures import retained_snapshot
from tests.support.mqtt_probe import Probe, Received

ROOT = Path(__file__).resolve().parent.parent
LAST_HINTS = (demo.STOP_HINT, demo.STOP_HINT_KEEP)
BASE = "carnet2mqtt-demo"
START_TIMEOUT = 20.0


def port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class Demo:
    process: subprocess.Popen[str]
    hints: list[str]
    stderr: Path

    def hint(self, label: str) -> str:
        for line in self.hints:
            if line.strip().startswith(f"{label}:"):
                return line.split(":", 1)[1].strip()
        raise AssertionError(f"no '{label}:' line in {self.hints}")

    def log(self) -> str:
        return self.stderr.read_text(encoding="utf-8", errors="replace")

    def terminate(self, timeout: float = 10.0) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(
                f"the demo did not exit within {timeout}s of SIGTERM; log:\n{self.log()}"
            ) from None


@pytest.fixture
def start_demo(tmp_path: Path) -> Iterator[Callable[..., Demo]]:
    started: list[Demo] = []

    def start(port: int, broker_choice: str | None = None, *options: str) -> Demo:
        config = tmp_path / "config.yaml"
        config.write_text(f"mqtt:\n  host: 127.0.0.1\n  port: {port}\n", encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if k != embedded_broker.CHOICE_ENV}
        if broker_choice is not None:
            env[embedded_broker.CHOICE_ENV] = broker_choice
        stderr = tmp_path / f"demo-{len(started)}.log"
        with stderr.open("w") as log:
            process = subprocess.Popen(
                [sys.executable, "bridge.py", "--demo", "--config", str(config), *options],
                cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=log, text=True,
            )
        running = Demo(process, [], stderr)
        started.append(running)
        lines: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                lines.put(line.rstrip("\n"))
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(
                    f"no hints within {START_TIMEOUT}s; log:\n{running.log()}"
                ) from None
            if line is None:
                raise AssertionError(
                    f"the demo exited ({process.wait()}) before its hints; log:\n{running.log()}"
                )
            running.hints.append(line)
            if line.strip() in LAST_HINTS:
                return running

    yield start
    for running in started:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait()


class Client:
    """A plain MQTT 3.1.1 client (both embedded brokers speak it) keeping the last
    payload of each topic and every payload of the result topics."""

    def __init__(self, host: str, port: int, topic_filter: str) -> None:
        self.last: dict[str, bytes] = {}
        self.results: list[dict[str, object]] = []
        self._changed = threading.Condition()
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=f"demo-test-{os.getpid()}",
            protocol=paho.MQTTv311,
        )
        subscribed = threading.Event()
        self._client.on_message = self._on_message
        self._client.on_subscribe = lambda *args: subscribed.set()
        self._client.connect(host, port)
        self._client.loop_start()
        self._client.subscribe(topic_filter, qos=1)
        assert subscribed.wait(5), "could not subscribe"

    def _on_message(self, client, userdata, message) -> None:
        with self._changed:
            self.last[message.topic] = message.payload
            if message.topic.endswith("/result"):
                self.results.append(json.loads(message.payload))
            self._changed.notify_all()

    def wait(self, predicate: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"timed out waiting for {what}; seen: {sorted(self.last)}")
                self._changed.wait(remaining)

    def wait_topic(self, topic: str, timeout: float = 20.0) -> bytes:
        self.wait(lambda: topic in self.last, topic, timeout)
        return self.last[topic]

    def close(self) -> None:
        self._client.disconnect()  # wakes the network thread, so loop_stop() returns at once
        self._client.loop_stop()


def run_as_printed(command: str, *extra: str) -> str:
    """Run a printed command line exactly as a user pastes it (plus ``extra`` options so
    it ends by itself); its standard output."""
    done = subprocess.run(
        [*shlex.split(command), *extra], capture_output=True, text=True, timeout=20
    )
    assert done.returncode == 0, f"{command!r} failed: {done.stderr}"
    return done.stdout


def check_demo_round_trip(running: Demo, port: int) -> Client:
    assert running.hint("base topic") == BASE
    watch = running.hint("watch")
    assert watch == f"mosquitto_sub -h 127.0.0.1 -p {port} -t '{BASE}/#' -v"
    assert running.hint("results on") == f"{BASE}/egolf/result"
    assert re.fullmatch(
        r"http://127\.0\.0\.1:\d+ \(the cars as simulated: http://127\.0\.0\.1:\d+/_sim/vehicles\)",
        running.hint("simulator"),
    )

    seen = run_as_printed(watch, "-C", "5").splitlines()
    assert len(seen) == 5 and all(line.startswith(f"{BASE}/") for line in seen), seen

    words = shlex.split(watch)
    client = Client(words[2], int(words[4]), words[6])
    assert json.loads(client.wait_topic(f"{BASE}/bridge/state")) == {"state": "online"}
    assert int(client.wait_topic(f"{BASE}/egolf/battery_level")) == 80
    assert int(client.wait_topic(f"{BASE}/jetta/fuel_level")) == 62
    assert client.wait_topic(f"{BASE}/egolf/climate") == b"OFF"

    command = running.hint("try a command")
    assert command == f"mosquitto_pub -h 127.0.0.1 -p {port} -t {BASE}/egolf/climate/set -m ON"
    run_as_printed(command)
    client.wait(lambda: bool(client.results), f"a result on {BASE}/egolf/result", 30)
    result = client.results[0]
    assert result["attribute"] == "climate"
    assert result["status"] == "ok", result
    client.wait(lambda: client.last.get(f"{BASE}/egolf/climate") == b"ON", "climate ON")
    check_myvw_round_trip(running, port, client)
    return client


def check_myvw_round_trip(running: Demo, port: int, client: Client) -> None:
    """The ID.4 is on the myVW account: its entities (some only myVW reports) and a
    command whose result comes from the outcome the vendor reports."""
    assert running.hint("myVW results") == f"{BASE}/id4/result"
    assert int(client.wait_topic(f"{BASE}/id4/battery_level")) == 64
    assert client.wait_topic(f"{BASE}/id4/charging_state") == b"ready"
    assert int(client.wait_topic(f"{BASE}/id4/target_soc")) == 80
    command = running.hint("try on myVW")
    assert command == f"mosquitto_pub -h 127.0.0.1 -p {port} -t {BASE}/id4/target_soc/set -m 90"
    run_as_printed(command)
    client.wait(lambda: any(r["attribute"] == "target_soc" for r in client.results),
                f"a result on {BASE}/id4/result", 30)
    result = next(r for r in client.results if r["attribute"] == "target_soc")
    assert (result["status"], result["detail"]) == ("ok", "confirmed by the car"), result
    client.wait(lambda: client.last.get(f"{BASE}/id4/target_soc") == b"90", "target_soc 90")
    simulator = running.hint("simulator").split()[0]
    with urllib.request.urlopen(f"{simulator}/_sim/requests", timeout=10) as answer:
        requests = json.load(answer)
    myvw = [r for r in requests if r["account"] == demo.MYVW_EMAIL]
    assert myvw and all(r["generation"] == "myvw" for r in myvw if r["generation"]), myvw
    assert any("/correlationId/" in r["path"] for r in myvw), "the outcome was never asked"
    carnet = [r for r in requests if r["account"] == demo.DEMO_EMAIL and r["generation"]]
    assert carnet and all(r["generation"] == "carnet" for r in carnet)


@pytest.mark.parametrize("kind", ["mosquitto", "amqtt"])
@pytest.mark.slow(8)
def test_demo_starts_an_embedded_broker_and_stops_it(
    start_demo: Callable[..., Demo], kind: str
) -> None:
    port = free_port()
    assert not port_answers(port)
    began = time.monotonic()
    running = start_demo(port, broker_choice=kind)
    assert time.monotonic() - began < 10, "start-up took too long"
    expected = f"127.0.0.1:{port} (embedded {kind}, stopped with the demo)"
    assert running.hint("MQTT broker") == expected
    assert port_answers(port)

    client = check_demo_round_trip(running, port)
    info = json.loads(client.wait_topic(f"{BASE}/bridge/info"))
    assert info["config"]["mqtt"]["protocol"] == ("3.1.1" if kind == "amqtt" else "5")
    client.close()

    assert running.terminate() == 0, running.log()
    assert not port_answers(port), "the embedded broker outlived the demo"
    assert "Traceback" not in running.log()


@pytest.mark.slow(8)
def test_demo_uses_a_broker_that_already_listens(start_demo: Callable[..., Demo]) -> None:
    broker = Broker().start()
    try:
        running = start_demo(broker.port)
        expected = f"127.0.0.1:{broker.port} (already running, used as is)"
        assert running.hint("MQTT broker") == expected
        assert "embedded" not in running.log()

        client = check_demo_round_trip(running, broker.port)
        assert running.terminate() == 0, running.log()
        client.wait(
            lambda: client.last[f"{BASE}/bridge/state"] == b"", "bridge/state cleared at exit"
        )
        client.close()
        assert port_answers(broker.port), "the demo stopped a broker it did not start"
        assert retained_snapshot(broker) == {}, "the demo left retained messages behind"
    finally:
        broker.close()


def test_demo_with_keep_leaves_its_topics_and_says_offline(
    start_demo: Callable[..., Demo],
) -> None:
    broker = Broker().start()
    try:
        running = start_demo(broker.port, None, "--keep")
        assert running.hints[-1].strip() == demo.STOP_HINT_KEEP
        client = Client("127.0.0.1", broker.port, f"{BASE}/#")
        client.wait_topic(f"{BASE}/egolf/battery_level")
        client.close()
        assert running.terminate() == 0, running.log()
        left = retained_snapshot(broker)
        assert left[f"{BASE}/bridge/state"].text == '{"state":"offline"}'
        assert left[f"{BASE}/egolf/availability"].text == "offline"
        assert any(topic.startswith("homeassistant/") for topic in left)
    finally:
        broker.close()


def demo_leftovers(retained: dict[str, Received]) -> list[str]:
    return sorted(t for t in retained if t.startswith(f"{BASE}/") or demo.NODE_PREFIX in t)


@pytest.mark.slow(8)
def test_two_demos_and_a_bridge_share_a_broker_and_the_demos_leave_nothing(
    start_demo: Callable[..., Demo], broker: Broker, make_config, run_bridge
) -> None:
    # A real bridge as installed: the default client id and base topic, the same cars.
    run_bridge(make_config(mqtt={"client_id": "carnet2mqtt", "base_topic": "carnet2mqtt"}))
    watch = Probe(broker.port, "#", client_id="watch")
    try:
        watch.wait_for(lambda m: m.topic == "carnet2mqtt/egolf/battery_level")
        watch.settle(quiet=1.0)
        before = retained_snapshot(broker)
        assert any(topic.startswith("homeassistant/") for topic in before)

        demos = [start_demo(broker.port), start_demo(broker.port)]
        for running in demos:
            assert running.hint("base topic") == BASE
            assert running.hints[-1].strip() == demo.STOP_HINT
        watch.wait_for(lambda m: m.topic == f"{BASE}/jetta/fuel_level", timeout=20)
        # Clients that kick each other off reconnect every second and say "online" each
        # time: the broker going quiet for 3 s means everyone kept their connection.
        watch.settle(quiet=3.0, timeout=20)
        def states(base: str) -> list[str]:
            return [m.text for m in watch.messages if m.topic == f"{base}/bridge/state"]

        assert states("carnet2mqtt") == ['{"state":"online"}']  # retained, from before
        assert states(BASE) == ['{"state":"online"}'] * 2  # one connect per demo
        during = retained_snapshot(broker)
        assert {t: m.payload for t, m in during.items() if t in before} == {
            t: m.payload for t, m in before.items()
        }, "a demo overwrote the bridge's topics"
        assert f"{BASE}/egolf/battery_level" in during
        demo_configs = [t for t in during if demo.NODE_PREFIX in t]
        assert demo_configs and all(t.startswith("homeassistant/") for t in demo_configs)
        unique_ids = {json.loads(during[t].payload)["unique_id"] for t in demo_configs}
        assert all(u.startswith(f"{demo.NODE_PREFIX}_") for u in unique_ids)

        for running in demos:
            assert running.terminate() == 0, running.log()
            log = running.log()
            assert log.count("connected to MQTT broker") == 1, log
            assert "connection lost" not in log and "Traceback" not in log, log
        after = retained_snapshot(broker)
        assert demo_leftovers(after) == []
        assert {t: m.payload for t, m in after.items()} == {
            t: m.payload for t, m in before.items()
        }, "the broker is not as the demos found it"
    finally:
        watch.close()


def test_demo_without_a_broker_to_start_says_how_to_install_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(embedded_broker.CHOICE_ENV, raising=False)
    monkeypatch.setattr(embedded_broker, "mosquitto_binary", lambda: None)
    monkeypatch.setattr(embedded_broker, "amqtt_available", lambda: False)
    port = free_port()
    config = tmp_path / "config.yaml"
    config.write_text(f"mqtt: {{host: 127.0.0.1, port: {port}}}\n", encoding="utf-8")

    assert demo.run_demo(str(config)) == 1
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, lines
    assert f"no MQTT broker answers at 127.0.0.1:{port}" in lines[0]
    assert "apt-get install mosquitto" in lines[0]
    assert "pip install 'carnet2mqtt[demo]'" in lines[0]


def test_demo_reports_a_bad_mqtt_section_and_ignores_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "mqtt: {port: many}\naccounts: [{email: x, password: '${UNSET_VARIABLE}'}]\n",
        encoding="utf-8",
    )
    assert demo.run_demo(str(config)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("mqtt.port: ")


def test_demo_with_a_config_file_that_is_not_there_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.yaml"
    assert cli.main(["--demo", "--config", str(missing)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip().splitlines() == [
        f"{missing}: cannot be read: No such file or directory (a YAML file)"
    ]


def test_keep_without_demo_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli.main(["--keep", "--check"])
    assert stopped.value.code == 2
    assert "--keep goes with --demo" in capsys.readouterr().err


def test_each_run_has_a_client_id_of_its_own() -> None:
    # Two demos in two containers are both process 1: the id must not rest on the pid.
    ids = {demo.client_id() for _ in range(20)}
    assert len(ids) == 20
    for client_id in ids:
        # At most 23 characters: the length every MQTT 3.1.1 broker must accept.
        assert re.fullmatch(r"carnet2mqtt-demo-[0-9a-f]{6}", client_id), client_id


def test_demo_config_takes_only_mqtt_from_the_file() -> None:
    config = demo.demo_config(
        {"mqtt": {"host": "broker.lan", "base_topic": "cars", "client_id": "carnet2mqtt"}},
        "/tmp/demo-state",
        environ={},
    )
    assert (config.mqtt.host, config.mqtt.port) == ("broker.lan", 1883)
    # Not the bridge's client id or topics, whatever the file says.
    assert config.mqtt.base_topic == "carnet2mqtt-demo"
    assert re.fullmatch(r"carnet2mqtt-demo-[0-9a-f]{6}", config.mqtt.client_id)
    assert demo.demo_config({}, "/tmp/demo-state", environ={}).mqtt.base_topic == BASE
    carnet, myvw = config.accounts
    assert (carnet.email, carnet.api) == ("demo@example.com", "carnet")
    assert {v.name for v in carnet.vehicles.values()} == {"egolf", "jetta"}
    assert (myvw.email, myvw.api) == (demo.MYVW_EMAIL, "myvw")
    assert {v.name for v in myvw.vehicles.values()} == {"id4"}
    assert config.state_dir == "/tmp/demo-state"
    assert config.polling.interval == 60


def test_the_demo_account_and_vehicles_come_from_the_simulator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from carnet.simulator import accounts, options

    monkeypatch.setattr(options, "DEMO_EMAIL", "someone@example.com")
    monkeypatch.setattr(options, "DEMO_PASSWORD", "secret")
    monkeypatch.setattr(options, "DEMO_PIN", "9876")
    monkeypatch.setattr(accounts, "DEMO_EV_VIN", "WVWZZZAUZGW999999")
    monkeypatch.setattr(accounts, "DEMO_COMBUSTION_VIN", "3VWZZZ1KZLM999998")
    monkeypatch.setattr(accounts, "DEMO_ID4_VIN", "1V2GMPE2XMP999997")
    try:
        importlib.reload(demo)
        account, myvw = demo.demo_config({}, "/tmp/demo-state", environ={}).accounts
        assert (account.email, account.password, account.pin) == (
            "someone@example.com", "secret", "9876",
        )
        assert (myvw.password, myvw.pin) == ("secret", "9876")
        names = {vin: v.name for vin, v in account.vehicles.items()}
        assert names == {"WVWZZZAUZGW999999": "egolf", "3VWZZZ1KZLM999998": "jetta"}
        assert {vin: v.name for vin, v in myvw.vehicles.items()} == {"1V2GMPE2XMP999997": "id4"}
    finally:
        monkeypatch.undo()
        importlib.reload(demo)
    account, _ = demo.demo_config({}, "/tmp/demo-state", environ={}).accounts
    assert account.email == "demo@example.com"


def test_the_myvw_account_file_gives_the_simulator_its_id4(tmp_path: Path) -> None:
    from carnet.simulator import Simulator, SimulatorOptions

    path = demo.write_myvw_account(str(tmp_path))
    with (
        Simulator(SimulatorOptions(demo_id4=False, accounts_file=path)) as sim,
        urllib.request.urlopen(f"{sim.api_url}/_sim/accounts", timeout=10) as answer,
    ):
        accounts = {a["email"]: a["vehicles"] for a in json.load(answer)}
    assert accounts[demo.MYVW_EMAIL] == list(demo.MYVW_VEHICLES)
    assert sorted(accounts[demo.DEMO_EMAIL]) == sorted(demo.CARNET_VEHICLES)


def test_hints_name_the_topics_as_the_bridge_does(monkeypatch: pytest.MonkeyPatch) -> None:
    config = demo.demo_config({}, "/tmp/demo-state", environ={})
    text = demo.hints(config, "note", "http://127.0.0.1:1")
    assert f" -t {BASE}/egolf/climate/set -m ON" in text
    assert f"results on:     {BASE}/egolf/result" in text
    assert ("simulated accounts demo@example.com (Car-Net app: egolf, jetta) and "
            "demo-myvw@example.com (myVW app: id4)\n") in text
    assert f" -t {BASE}/id4/target_soc/set -m 90\n" in text
    assert f"myVW results:   {BASE}/id4/result\n" in text

    monkeypatch.setattr(Topics, "attribute_set", lambda self, v, key: f"SET<{v},{key}>")
    monkeypatch.setattr(Topics, "result", lambda self, v: f"RESULT<{v}>")
    text = demo.hints(config, "note", "http://127.0.0.1:1")
    assert " -t SET<egolf,climate> -m ON" in text
    assert "results on:     RESULT<egolf>" in text


def test_mosquitto_leaves_no_directory_when_it_cannot_be_started(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", "/usr/sbin/mosquitto")

    monkeypatch.setattr(embedded_broker.subprocess, "Popen", refuse)
    with pytest.raises(PermissionError):
        embedded_broker.MosquittoBroker(free_port(), "/usr/sbin/mosquitto")
    assert list(tmp_path.iterdir()) == []
    # start_embedded turns the OSError into a refusal that names it
    monkeypatch.setattr(embedded_broker, "mosquitto_binary", lambda: "/usr/sbin/mosquitto")
    with pytest.raises(embedded_broker.BrokerUnavailable, match="Permission denied"):
        embedded_broker.start_embedded(free_port(), "mosquitto")
    assert list(tmp_path.iterdir()) == []
