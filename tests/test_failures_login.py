"""Refused logins (a vendor login change, a wrong password) and a wrong PIN."""

from __future__ import annotations

import json
import logging
import time
from itertools import pairwise

import pytest

from carnet.runtime.daemon import wait_until
from tests.support.failures import (
    BASE,
    fast,
    results,
    retained_snapshot,
    wait_online,
    wait_results,
)


def password_posts(sim) -> list[float]:
    """When the password was sent: one per full login attempt."""
    return [r["time"] for r in sim.requests("/login/authenticate", method="POST")]


def gaps(times: list[float]) -> list[float]:
    return [round(b - a, 1) for a, b in pairwise(times)]


def assert_schedule(sim, expected: list[float]) -> None:
    """Password attempts come ``expected`` seconds apart: never sooner, and not much later."""
    wanted = len(expected) + 1
    assert wait_until(lambda: len(password_posts(sim)) >= wanted, sum(expected) + 5, step=0.2)
    time.sleep(expected[-1] - 1.0)  # no extra attempt sneaks in before the next step is due
    attempts = password_posts(sim)
    assert len(attempts) == wanted, gaps(attempts)
    for seen, step in zip(gaps(attempts), expected, strict=True):
        assert step - 0.2 <= seen <= step + 1.5, gaps(attempts)


def info(probe, predicate=lambda i: True) -> dict:
    """The latest bridge/info that lists the accounts and satisfies ``predicate`` (waiting
    for it). One published on connecting, before the accounts are set up, lists none."""
    topic = f"{BASE}/bridge/info"

    def wanted(text: str) -> bool:
        current = json.loads(text)
        return bool(current["accounts"]) and predicate(current)

    found = probe.wait_for(lambda m: m.topic == topic and wanted(m.text))
    return json.loads(found[-1].text)


@pytest.mark.slow(16)
def test_vendor_login_change(make_config, run_bridge, probe, sim, caplog):
    caplog.set_level(logging.INFO)
    bridge = run_bridge(fast(make_config(), login_retry=1.0, login_retry_max=4.0))
    wait_online(probe, "egolf", "jetta")
    # The start-up reads (the climate details among them, over a TSP session) are done:
    # every session request after this point would be the bridge's mistake.
    assert wait_until(bridge.idle, 15)
    sim.fault(kind="login_change", require_field="play_integrity_token")
    sim.expire_tokens()
    sim.clear_requests()
    caplog.clear()
    probe.clear()

    probe.publish(f"{BASE}/bridge/request/poll", "{}")
    probe.wait_for(lambda m: m.topic == f"{BASE}/egolf/availability" and m.text == "offline")
    probe.wait_for(lambda m: m.topic == f"{BASE}/jetta/availability" and m.text == "offline")

    # One clear line: what happened, the likely cause, and the setting that helps.
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, errors
    assert "login" in errors[0] and "changed its login" in errors[0], errors
    assert "token_helper" in errors[0], errors
    current = info(probe, lambda i: i["accounts"] and i["accounts"][0]["state"] == "error")
    account = current["accounts"][0]
    assert "token_helper" in account["error"], account
    assert all(not v["online"] for v in current["vehicles"])

    # Neither polls nor commands may try to log in before the back-off step has passed.
    probe.publish(f"{BASE}/bridge/request/poll", "{}")
    probe.publish(f"{BASE}/egolf/lock/set", "UNLOCK")
    refused = wait_results(probe, "egolf", lambda r: r["attribute"] == "lock", timeout=10)
    assert refused[0]["status"] in ("error", "rejected"), refused
    assert "login" in refused[0]["detail"], refused

    # 1 s, doubling, capped at 4 s: attempts at 0, 1, 3, 7, 11.
    assert_schedule(sim, [1.0, 2.0, 4.0, 4.0])
    assert sim.commands() == []  # nothing reached the command endpoints
    assert len(sim.requests("/ss/v1/")) == 0

    # Fixed on the vendor side: the next attempt logs in and the vehicles come back.
    sim.clear_faults()
    wait_online(probe, "egolf", "jetta", timeout=8)
    assert bridge.fleet.login(bridge.accounts[0]).error is None


@pytest.mark.slow(10)
def test_wrong_password_follows_the_same_schedule(make_config, run_bridge, probe, sim, caplog):
    caplog.set_level(logging.INFO)
    config = make_config(accounts=[{
        "email": "demo@example.com",
        "password": "not-the-password",
        "pin": "1234",
    }])
    sim.clear_requests()
    run_bridge(fast(config, login_retry=1.0, login_retry_max=2.0))
    refused = info(probe, lambda i: i["accounts"] and i["accounts"][0]["state"] == "error")
    account = refused["accounts"][0]
    assert "password" in account["error"], account
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "password" in errors[0], errors
    assert_schedule(sim, [1.0, 2.0, 2.0, 2.0])  # at 0, 1, 3, 5, 7
    assert "not-the-password" not in caplog.text


def test_wrong_pin_disables_commands_not_reading(make_config, run_bridge, probe, sim, broker):
    config = make_config(accounts=[{
        "email": "demo@example.com",
        "password": "demo",
        "pin": "9999",
        "vehicles": {"WVWZZZAUZGW000001": {"name": "egolf"},
                     "3VWZZZ1KZLM000002": {"name": "jetta"}},
    }])
    bridge = run_bridge(config)
    wait_online(probe, "egolf", "jetta")
    assert wait_until(lambda: not bridge.accounts[0].client.commands_enabled, 10)

    for attribute, payload in (("lock", "UNLOCK"), ("horn_lights", "LIGHTS"), ("climate", "ON")):
        probe.publish(f"{BASE}/egolf/{attribute}/set", payload)
    refused = wait_results(probe, "egolf", lambda r: True, count=3, timeout=10)
    for result in refused:
        assert result["status"] in ("rejected", "error"), result
        assert "PIN" in result["detail"], result
    # Reading continues.
    probe.clear()
    probe.publish(f"{BASE}/bridge/request/poll", "{}")
    body = json.loads(probe.wait_topic(f"{BASE}/bridge/response/poll").text)
    assert body["data"]["vehicles"] == {"egolf": {"online": True}, "jetta": {"online": True}}
    assert retained_snapshot(broker)[f"{BASE}/bridge/info"].text.count('"commands": false') == 1
    # The PIN was sent once, never again: repeated wrong PINs lock the account.
    assert len(sim.requests("/session", method="POST")) == 1
    assert sim.commands() == []
    assert len(results(probe)) == 0
