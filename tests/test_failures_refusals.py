"""The vendor refuses one thing: a command, a wake-up, a token. Nothing else stops.

Staged with the simulator's ``answer`` and ``slow`` faults, against a real mosquitto.
"""

from __future__ import annotations

import json
import logging

import pytest

from carnet.runtime.daemon import wait_until
from carnet.runtime.registry import LOGGED_IN
from tests.support.failures import BASE, fast, results, wait_online, wait_results
from tests.support.generations import Generation

REFUSAL = {"error": {"code": "FORBIDDEN", "message": "secondary user may not unlock"}}
DOORS = "/status/exterior/doors$"
# Every command of these tests must reach the vendor, whatever the car's state
# (skip_unchanged 0).
EVERY_COMMAND_SENT = {"max_per_minute": 60, "skip_unchanged": 0}


def requests_to(sim, path_end: str, method: str | None = None) -> list[dict]:
    return [r for r in sim.requests(method=method) if r["path"].endswith(path_end)]


def password_posts(sim) -> list[float]:
    """When the password was sent: one per full login attempt."""
    return [r["time"] for r in sim.requests("/login/authenticate", method="POST")]


def went_offline(probe) -> list[str]:
    return [m.topic for m in list(probe.messages)
            if m.topic.endswith("/availability") and m.text == "offline"]


def login_errors(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelno >= logging.ERROR and "login" in r.getMessage()]


def result_of(probe, vehicle: str, attribute: str, payload: str) -> dict:
    before = len([r for r in results(probe, vehicle) if r["attribute"] == attribute])
    probe.publish(f"{BASE}/{vehicle}/{attribute}/set", payload)
    found = wait_results(probe, vehicle, lambda r: r["attribute"] == attribute,
                         count=before + 1, timeout=15)
    return found[-1]


def assert_the_account_goes_on(bridge, probe, sim, caplog) -> None:
    """Reading, the other vehicle and the other commands work; no login was needed."""
    assert result_of(probe, "egolf", "horn_lights", "LIGHTS")["status"] == "ok"
    assert result_of(probe, "jetta", "horn_lights", "LIGHTS")["status"] == "ok"
    probe.publish(f"{BASE}/bridge/request/poll", "{}")
    body = json.loads(probe.wait_topic(f"{BASE}/bridge/response/poll").text)
    assert body["data"]["vehicles"] == {"egolf": {"online": True}, "jetta": {"online": True}}
    assert went_offline(probe) == []
    assert login_errors(caplog) == []
    account = bridge.accounts[0]
    assert bridge.fleet.login(account) == LOGGED_IN
    assert password_posts(sim) == [] and sim.requests("/oidc/v1/token") == []


def test_a_403_on_one_command_ends_it_and_nothing_else(
    make_config, run_bridge, probe, sim, caplog, generation: Generation
):
    caplog.set_level(logging.INFO)
    bridge = run_bridge(fast(make_config(commands=EVERY_COMMAND_SENT), login_retry=60.0))
    wait_online(probe, "egolf", "jetta")
    sim.fault(kind="answer", **generation.commands["lock"].fault(), status=403, body=REFUSAL)
    sim.clear_requests()
    probe.clear()

    refused = result_of(probe, "egolf", "lock", "UNLOCK")
    assert refused["status"] == "error", refused
    assert "secondary user may not unlock" in refused["detail"], refused
    assert "403" in refused["detail"] and "unlock command" in refused["detail"], refused
    # The vendor received it and said no: it is never sent a second time.
    assert len(generation.requests_to(sim, "lock")) == 1
    assert_the_account_goes_on(bridge, probe, sim, caplog)


def test_a_401_on_a_command_is_tried_once_more_with_a_new_tsp_session(
    make_config, run_bridge, probe, sim, caplog
):
    caplog.set_level(logging.INFO)
    bridge = run_bridge(fast(make_config(commands=EVERY_COMMAND_SENT), login_retry=60.0))
    wait_online(probe, "egolf", "jetta")
    refusal = {"error": {"code": "UNAUTHORIZED", "message": "not allowed for this user"}}
    sim.fault(kind="answer", path=DOORS, method="PUT", status=401, body=refusal)
    sim.clear_requests()
    probe.clear()

    refused = result_of(probe, "egolf", "lock", "UNLOCK")
    assert refused["status"] == "error", refused
    assert "not allowed for this user" in refused["detail"], refused
    # A 401 means nothing was executed: one more try, after a new TSP session, no more.
    doors = requests_to(sim, "/status/exterior/doors")
    sessions = requests_to(sim, "/session", method="POST")
    assert len(doors) == 2, doors
    assert sessions and sessions[-1]["time"] < doors[-1]["time"], sessions
    sim.clear_faults()
    assert result_of(probe, "egolf", "lock", "UNLOCK")["status"] == "ok"
    assert_the_account_goes_on(bridge, probe, sim, caplog)


def test_a_200_that_says_no_is_an_error_with_the_vendor_message(
    make_config, run_bridge, probe, sim, caplog
):
    caplog.set_level(logging.INFO)
    bridge = run_bridge(fast(make_config(commands=EVERY_COMMAND_SENT), login_retry=60.0))
    wait_online(probe, "egolf", "jetta")
    horn = "/status/exterior/horn_and_lights$"
    sim.clear_requests()
    probe.clear()

    sim.fault(kind="answer", path=horn, body={"data": {"result": 1}})
    said_no = result_of(probe, "egolf", "horn_lights", "LIGHTS")
    assert said_no["status"] == "error", said_no
    assert "result 1" in said_no["detail"], said_no

    body = {"error": {"code": "VEHICLE_ASLEEP", "message": "the car does not answer"}}
    sim.fault(kind="answer", path=DOORS, body=body)
    said_no = result_of(probe, "egolf", "lock", "UNLOCK")
    assert said_no["status"] == "error", said_no
    assert "VEHICLE_ASLEEP: the car does not answer" in said_no["detail"], said_no
    assert len(requests_to(sim, "/status/exterior/doors")) == 1  # said no: not sent again

    sim.clear_faults()
    sim.clear_requests()
    assert_the_account_goes_on(bridge, probe, sim, caplog)


def test_a_refused_wake_up_costs_no_wake(
    make_config, run_bridge, probe, sim, caplog, generation: Generation
):
    caplog.set_level(logging.INFO)
    bridge = run_bridge(fast(make_config(polling={"wakeups_per_day": 2},
                                         commands={"max_per_minute": 60})))
    wait_online(probe, "egolf", "jetta")
    sim.fault(kind="answer", **generation.commands["refresh"].fault(), status=429,
              headers={"Retry-After": "1"}, times=1)
    sim.clear_requests()
    probe.clear()

    # A 429, waited out, then accepted: one wake-up.
    assert result_of(probe, "egolf", "refresh", "PRESS")["status"] == "ok"
    fresh = generation.requests_to(sim, "refresh")
    assert [r["status"] for r in fresh] == [429, 200], fresh
    assert len(bridge.vehicles["egolf"].wakeups) == 1
    # So the day's second wake-up is still there, and only the third is refused.
    assert result_of(probe, "egolf", "refresh", "PRESS")["status"] == "ok"
    third = result_of(probe, "egolf", "refresh", "PRESS")
    assert third["status"] == "rejected" and "wakeups_per_day" in third["detail"], third
    assert len(generation.requests_to(sim, "refresh")) == 3


BAD_TOKEN = "crlf-token-7f3a\r\nX-Injected: 1"


def test_a_token_with_a_line_break_is_discarded_and_the_login_done_again(
    make_config, run_bridge, probe, sim, caplog
):
    caplog.set_level(logging.DEBUG)
    bridge = run_bridge(fast(make_config(), login_retry=1.0, login_retry_max=2.0))
    wait_online(probe, "egolf", "jetta")
    bad = {"access_token": BAD_TOKEN, "id_token": "id-ok", "refresh_token": "refresh-ok",
           "expires_in": 1800}
    # The refresh and the login after it get the bad token; the next login a good one.
    sim.fault(kind="answer", path="^/oidc/v1/token$", method="POST", body=bad, times=2)
    sim.expire_tokens()
    sim.clear_requests()
    probe.clear()
    caplog.clear()

    probe.publish(f"{BASE}/bridge/request/poll", "{}")
    probe.wait_for(lambda m: m.topic == f"{BASE}/egolf/availability" and m.text == "offline")
    wait_online(probe, "egolf", "jetta", timeout=10)
    attempts = password_posts(sim)
    assert len(attempts) == 2, attempts
    assert 0.9 <= attempts[1] - attempts[0] <= 3.0, attempts  # the back-off, then again
    account = bridge.accounts[0]
    assert bridge.fleet.login(account) == LOGGED_IN
    assert "cannot be sent in an HTTP header" in caplog.text
    assert "unavailable" not in caplog.text.lower()
    assert "crlf-token-7f3a" not in caplog.text
    # Refused only while the expired token was in use; never a vendor failure.
    assert {r["status"] for r in sim.requests("/rvs/")} <= {200, 401}


@pytest.mark.slow(11)
def test_one_login_at_a_time_and_one_back_off_step_per_refusal(
    make_config, run_bridge, probe, sim, caplog
):
    caplog.set_level(logging.INFO)
    login_retry = 3.0
    bridge = run_bridge(fast(make_config(commands=EVERY_COMMAND_SENT),
                             login_retry=login_retry, login_retry_max=login_retry))
    wait_online(probe, "egolf", "jetta")
    # A login change and a slow token endpoint: each login takes a while and fails.
    sim.fault(kind="login_change", require_field="play_integrity_token")
    sim.fault(kind="slow", path="^/oidc/v1/token$", seconds=1.0)
    sim.expire_tokens()
    sim.clear_requests()
    probe.clear()

    # The reader and the command worker need new tokens at the same moment.
    probe.publish(f"{BASE}/bridge/request/poll", "{}")
    probe.publish(f"{BASE}/egolf/lock/set", "UNLOCK")
    refused = wait_results(probe, "egolf", lambda r: r["attribute"] == "lock", timeout=15)
    assert refused[0]["status"] == "error" and "login" in refused[0]["detail"], refused
    account = bridge.accounts[0]
    assert wait_until(lambda: bridge.fleet.login(account).failures >= 1, 10)
    first_round = password_posts(sim)
    assert len(first_round) == 1, first_round  # one login, whose refusal both got
    assert bridge.fleet.login(account).failures == 1  # the back-off advanced once
    assert len(login_errors(caplog)) == 1, login_errors(caplog)

    # The next login waits for the back-off step, and is again the only one.
    assert wait_until(lambda: len(password_posts(sim)) >= 2, login_retry + 6, step=0.1)
    attempts = password_posts(sim)
    assert attempts[1] - attempts[0] >= login_retry - 0.2, attempts
    assert wait_until(lambda: bridge.fleet.login(account).failures == 2, 5)
    assert len(password_posts(sim)) == 2

    sim.clear_faults()
    wait_online(probe, "egolf", "jetta", timeout=login_retry + 6)
    assert bridge.fleet.login(account).failures == 0


def test_a_token_refused_on_reads_is_a_login_problem_after_a_refresh_and_a_login(
    make_config, run_bridge, probe, sim, caplog
):
    caplog.set_level(logging.INFO)
    bridge = run_bridge(fast(make_config(), login_retry=60.0))
    wait_online(probe, "egolf", "jetta")
    sim.fault(kind="answer", path="^/rvs/", status=401,
              body={"error": {"code": "UNAUTHORIZED", "message": "token refused"}},
              headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    sim.clear_requests()
    probe.clear()

    probe.publish(f"{BASE}/bridge/request/poll", "{}")
    probe.wait_for(lambda m: m.topic == f"{BASE}/egolf/availability" and m.text == "offline")
    account = bridge.accounts[0]
    assert wait_until(lambda: bridge.fleet.login(account).failures == 1, 5)
    grants = [r for r in sim.requests("/oidc/v1/token", method="POST") if r["status"] == 200]
    assert len(grants) == 2, grants  # the refresh, then the fresh login
    assert len(password_posts(sim)) == 1
    assert len(sim.requests("/rvs/")) == 3  # refused, refreshed and refused, logged in and refused
    assert len(login_errors(caplog)) == 1


def test_a_403_on_one_vehicles_status_read_is_that_vehicles_error_only(
    make_config, run_bridge, probe, sim, caplog, generation: Generation
):
    caplog.set_level(logging.INFO)
    bridge = run_bridge(fast(make_config(), interval=2, login_retry=60.0))
    wait_online(probe, "egolf", "jetta")
    egolf = bridge.vehicles["egolf"].api.key
    forbidden = {"error": {"code": "FORBIDDEN", "message": "no access to this vehicle"}}
    sim.fault(kind="answer", path=f"^/rvs/.*{egolf}", status=403, body=forbidden)
    sim.clear_requests()
    probe.clear()

    probe.publish(f"{BASE}/bridge/request/poll", "{}")
    error = probe.wait_for(lambda m: m.topic == f"{BASE}/egolf/api_state" and m.text == "error")
    assert error
    account = bridge.accounts[0]
    # Polling goes on: the next scheduled reads of both vehicles come.
    assert wait_until(lambda: len([r for r in sim.requests("/rvs/") if r["status"] == 403]) >= 2
                      and len([r for r in sim.requests("/rvs/") if r["status"] == 200]) >= 2, 10)
    attributes = probe.wait_for(
        lambda m: m.topic == f"{BASE}/egolf/api_state/attributes" and "no access" in m.text)
    assert "FORBIDDEN: no access to this vehicle" in attributes[-1].text, attributes[-1].text
    assert bridge.vehicles["jetta"].online
    assert f"{BASE}/jetta/availability" not in went_offline(probe)
    assert bridge.fleet.login(account) == LOGGED_IN
    assert login_errors(caplog) == []
    assert password_posts(sim) == [] and sim.requests("/oidc/v1/token") == []

    sim.clear_faults()
    probe.wait_for(lambda m: m.topic == f"{BASE}/egolf/api_state" and m.text == "ok", 10)
    wait_online(probe, "egolf")
    assert bridge.fleet.login(account).failures == 0


def test_a_403_on_one_vehicles_tsp_session_is_not_a_pin_refusal(
    make_config, run_bridge, probe, sim, caplog
):
    caplog.set_level(logging.INFO)
    bridge = run_bridge(fast(make_config(commands={"max_per_minute": 60}), login_retry=60.0))
    wait_online(probe, "egolf", "jetta")
    egolf = bridge.vehicles["egolf"].api.key
    refusal = {"error": {"code": "FORBIDDEN",
                         "message": "secondary user: no remote access to this car"}}
    sim.fault(kind="answer", path=f"/vehicle/{egolf}/session$", method="POST", status=403,
              body=refusal)
    sim.expire_tokens()  # so that each command needs a new TSP session
    sim.clear_requests()
    probe.clear()

    refused = result_of(probe, "egolf", "lock", "UNLOCK")
    assert refused["status"] == "error", refused
    assert "secondary user: no remote access to this car" in refused["detail"], refused
    assert "PIN" not in refused["detail"], refused
    account = bridge.accounts[0]
    assert account.client.commands_enabled
    assert result_of(probe, "jetta", "horn_lights", "LIGHTS")["status"] == "ok"
    assert "PIN" not in caplog.text
    assert bridge.fleet.login(account) == LOGGED_IN

    sim.clear_faults()
    sim.clear_requests()
    assert result_of(probe, "egolf", "horn_lights", "LIGHTS")["status"] == "ok"
    assert len(requests_to(sim, f"/vehicle/{egolf}/session", method="POST")) == 1
    assert account.client.commands_enabled
