"""No secret in logs, MQTT messages or error texts, through login, poll, command and failure."""

from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from carnet.config import parse_config
from carnet.runtime.daemon import wait_until
from carnet.simulator import Simulator, SimulatorOptions
from tests.support.failures import BASE, fast, results, wait_online, wait_results

EMAIL = "secret.owner@example.org"
PASSWORD = "Pw-7f3K9qLzX2mV8nR4tB6yH1-distinct"
PIN = "73914682"
UNLOCK_CODE = "Unl0ck-Qz93-KxPw"
VIN = "WVWZZZAUZGW987654"


@pytest.fixture
def secret_simulator(tmp_path) -> Iterator[Simulator]:
    accounts = tmp_path / "accounts.yaml"
    accounts.write_text(yaml.safe_dump({"accounts": [{
        "email": EMAIL, "password": PASSWORD, "pin": PIN,
        "vehicles": [{"vin": VIN, "type": "ev", "model_name": "e-Golf", "plugged_in": True}],
    }]}))
    options = SimulatorOptions(apply_delay=0.0, rate_limit=1000, daily_budget=100000,
                               accounts_file=str(accounts))
    with Simulator(options) as sim:
        yield sim


def token_secrets(state_dir: Path) -> set[str]:
    found = set()
    for path in state_dir.glob("tokens-*.json"):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
        tokens = json.loads(path.read_text())["tokens"]
        for key in ("access_token", "refresh_token", "id_token", "code_verifier"):
            if tokens.get(key):
                found.add(tokens[key])
    return found


def test_no_secret_leaks(secret_simulator, broker, probe, run_bridge, tmp_path, caplog):
    from tests.conftest import SimControl

    caplog.set_level(logging.DEBUG)
    sim = SimControl(secret_simulator)
    state_dir = tmp_path / "state"
    config = parse_config({
        "mqtt": {"host": "127.0.0.1", "port": broker.port},
        "carnet": {"api_base": secret_simulator.api_url,
                   "identity_base": secret_simulator.identity_url, "timeout": 2},
        "accounts": [{"email": EMAIL, "password": PASSWORD, "pin": PIN,
                      "vehicles": {VIN: {"name": "car"}}}],
        "commands": {"min_interval": 0, "verify_after": 0.2, "unlock_code": UNLOCK_CODE},
        "state_dir": str(state_dir),
        "log_level": "debug",
    }, {})
    bridge = run_bridge(fast(config, login_retry=1.0, login_retry_max=2.0))
    wait_online(probe, "car")
    secrets = {PASSWORD, PIN, UNLOCK_CODE} | token_secrets(state_dir)

    # Commands: an unlock with its code, one with a wrong code, a lock.
    probe.publish(f"{BASE}/car/lock/set", json.dumps({"state": "UNLOCK", "code": UNLOCK_CODE}))
    assert wait_results(probe, "car", lambda r: True, timeout=10)[0]["status"] == "ok"
    probe.publish(f"{BASE}/car/set", json.dumps({"lock": "UNLOCK", "code": "wrong-" + PIN}))
    probe.publish(f"{BASE}/car/lock/set", "LOCK")
    wait_results(probe, "car", lambda r: True, count=3, timeout=10)
    client = bridge.accounts[0].client
    secrets |= {token for token, _ in client._tsp.session_tokens.values()}

    # Failures: an outage, then a login change with every token expired, then recovery.
    sim.fault(kind="outage", status=503)
    probe.publish(f"{BASE}/bridge/request/poll", "{}")
    probe.wait_topic(f"{BASE}/bridge/response/poll", timeout=15)
    sim.clear_faults()
    sim.fault(kind="login_change", require_field="play_integrity_token")
    sim.expire_tokens()
    probe.publish(f"{BASE}/car/lock/set", "UNLOCK")  # no code: refused before any request
    probe.publish(f"{BASE}/car/horn_lights/set", "LIGHTS")  # needs the refused login
    wait_results(probe, "car", lambda r: True, count=5, timeout=15)
    assert wait_until(lambda: bridge.fleet.login(bridge.accounts[0]).error is not None, 10)
    sim.clear_faults()
    assert wait_until(lambda: bridge.fleet.login(bridge.accounts[0]).error is None, 10)
    probe.publish(f"{BASE}/bridge/request/poll", "{}")
    assert wait_until(lambda: all(v.online for v in bridge.vehicles.values()), 10)
    secrets |= token_secrets(state_dir) | {t for t, _ in client._tsp.session_tokens.values()}
    assert len(secrets) >= 3 + 4 + 1 + 4

    texts = {"log": caplog.text}
    for record in caplog.records:
        if record.name.startswith("carnet.simulator"):
            continue  # the stand-in vendor's own log is not the bridge's
        texts[f"log {record.name}"] = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            texts[f"exception {record.name}"] = str(record.exc_info[1])
    for message in probe.messages:
        if message.topic.endswith("/set") or "/bridge/request/" in message.topic:
            continue  # what this test sent, not what the bridge published
        texts[f"mqtt {message.topic}"] = message.topic + " " + message.payload.decode("utf-8",
                                                                                    "replace")
    for account in bridge.accounts:
        texts["account error"] = str(bridge.fleet.login(account).error)
    texts["client repr"] = repr(client)
    caplog_text_without_simulator = "\n".join(
        r.getMessage() for r in caplog.records if not r.name.startswith("carnet.simulator")
    )
    texts["log"] = caplog_text_without_simulator
    assert len(texts) > 50
    for where, text in texts.items():
        for secret in secrets:
            assert secret not in text, f"a secret appears in {where}"

    # The e-mail is masked in bridge/info, and the token file is private.
    info = probe.latest()[f"{BASE}/bridge/info"].text
    assert EMAIL not in info and "s***@example.org" in info
    assert len(list(state_dir.glob("tokens-*.json"))) == 1
    assert len(results(probe, "car")) == 5
