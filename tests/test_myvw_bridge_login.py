"""Logging in on a myVW account, through the whole bridge (the simulator over HTTP, a
real mosquitto): stored tokens across a restart, refreshes, the attestation with and
without carnet.token_helper, a wrong password, a wrong or nearly locked S-PIN."""

from __future__ import annotations

import logging
import sys
from itertools import pairwise
from pathlib import Path

from carnet.runtime.daemon import wait_until
from carnet.simulator.generations import attestation_value
from carnet.simulator.options import SimulatorOptions
from tests.conftest import EV_VIN, RunningBridge
from tests.support.failures import fast, wait_online
from tests.support.myvw_bridge import (
    account_error,
    availability,
    errors,
    myvw_config,
    password_posts,
    sim_factory,  # noqa: F401 (a fixture)
    token_posts,
)
from tests.test_bridge_commands import command, mqtt_value

HELPER = Path(__file__).resolve().parent.parent / "scripts" / "play_integrity_helper.py"
SPIN_SESSION = "/session"


def test_a_restart_uses_the_stored_tokens(make_config, probe, sim) -> None:
    config = myvw_config(make_config)
    first = RunningBridge(config).start()
    try:
        wait_online(probe, "egolf", "jetta", timeout=30)
        assert len(password_posts(sim)) == 1
    finally:
        first.stop()
    sim.clear_requests()
    probe.clear()
    second = RunningBridge(config).start()
    try:
        wait_online(probe, "egolf", "jetta", timeout=30)
        # The tokens of the first run were kept in state_dir: no sign-in, no password.
        assert password_posts(sim) == []
        assert sim.requests("/signin-service/") == []
        assert sim.requests("/account/v1/garage", "GET"), "the garage was not read"
    finally:
        second.stop()


def test_an_access_token_near_its_end_is_refreshed_without_the_password(
    make_config, run_bridge, probe, sim_factory  # noqa: F811
) -> None:
    # Tokens live 30 s: inside the client's one-minute margin at once, so every read
    # renews the access token with the refresh token.
    simulator, control = sim_factory(token_ttl=30)
    run_bridge(myvw_config(make_config, simulator, polling={"interval": 60}))
    wait_online(probe, "egolf", timeout=30)
    control.clear_requests()
    probe.publish("carnet2mqtt/bridge/request/poll", "{}")
    probe.wait_topic("carnet2mqtt/bridge/response/poll", timeout=30)
    assert token_posts(control), "the access token was not refreshed"
    assert password_posts(control) == []
    assert availability(probe, "egolf")[-1] == "online"


def test_expired_tokens_end_in_a_new_login_and_the_car_stays_online(
    make_config, run_bridge, probe, sim, caplog
) -> None:
    caplog.set_level(logging.INFO)
    bridge = run_bridge(myvw_config(make_config))
    wait_online(probe, "egolf", "jetta", timeout=30)
    assert wait_until(bridge.idle, 30)
    sim.expire_tokens()
    sim.clear_requests()
    probe.clear()
    probe.publish("carnet2mqtt/bridge/request/poll", '{"vehicle": "egolf"}')
    probe.wait_topic("carnet2mqtt/bridge/response/poll", timeout=30)
    # The refused token, the refused refresh, then one full login: the read succeeds.
    assert len(password_posts(sim)) == 1
    assert sim.requests("/rvs/v1/vehicle/", "GET")[-1]["status"] == 200
    assert "offline" not in availability(probe, "egolf")
    assert errors(caplog) == []


def test_attestation_off_needs_no_helper(make_config, run_bridge, probe, sim, caplog) -> None:
    caplog.set_level(logging.INFO)
    run_bridge(myvw_config(make_config))
    wait_online(probe, "egolf", "jetta", timeout=30)
    assert [r["status"] for r in token_posts(sim)] == [200]
    assert errors(caplog) == []


def test_a_required_attestation_without_helper_is_one_clear_line_and_waits_its_back_off(
    make_config, run_bridge, probe, sim_factory, caplog  # noqa: F811
) -> None:
    caplog.set_level(logging.INFO)
    simulator, control = sim_factory(attestation="required")
    run_bridge(fast(myvw_config(make_config, simulator), login_retry=3.0,
                    login_retry_max=3.0))
    error = account_error(probe)
    assert "attestation" in error and "carnet.token_helper" in error, error
    lines = errors(caplog)
    assert lines, "no error was logged"
    # One line per refused login, naming the attestation and the setting that helps,
    # and the setting only once.
    first = lines[0]
    assert "attestation" in first and "carnet.token_helper" in first, first
    assert first.count("carnet.token_helper") == 1, first
    assert "password" not in first.split("; the e-mail and password are fine")[0], first
    # Within a window of several back-off steps, logins come no faster than the back-off.
    assert wait_until(lambda: len(password_posts(control)) >= 3, 30, step=0.2)
    attempts = password_posts(control)
    assert all(later - earlier >= 3.0 - 0.2 for earlier, later in pairwise(attempts)), attempts
    assert len(lines) <= len(attempts)
    assert availability(probe, "egolf") in ([], ["offline"])
    assert availability(probe, "jetta") in ([], ["offline"])


def test_a_required_attestation_passes_with_the_token_helper(
    make_config, run_bridge, probe, sim_factory, tmp_path, caplog  # noqa: F811
) -> None:
    caplog.set_level(logging.INFO)
    simulator, control = sim_factory(attestation="required")
    verdict = tmp_path / "verdict"
    verdict.write_text(attestation_value(SimulatorOptions(attestation="required")))
    helper = f"{sys.executable} {HELPER} --file {verdict}"
    run_bridge(myvw_config(make_config, simulator, carnet={"token_helper": helper}))
    wait_online(probe, "egolf", "jetta", timeout=30)
    assert [r["status"] for r in token_posts(control)] == [200]
    assert errors(caplog) == []


def test_a_wrong_password_says_so_and_not_attestation(
    make_config, run_bridge, probe, sim, caplog
) -> None:
    caplog.set_level(logging.INFO)
    config = myvw_config(make_config, accounts=[{
        "email": "demo@example.com", "password": "not-the-password", "pin": "1234",
        "vehicles": {EV_VIN: {"name": "egolf"}}}])
    run_bridge(config)
    error = account_error(probe)
    assert "password was refused" in error and "accounts[].password" in error, error
    lines = errors(caplog)
    assert len(lines) == 1, lines
    assert "password was refused" in lines[0] and "attestation" not in lines[0], lines
    assert "not-the-password" not in lines[0]
    assert len(password_posts(sim)) == 1  # the default back-off is minutes, not seconds


def test_a_wrong_spin_disables_commands_and_reading_goes_on(
    make_config, run_bridge, probe, sim, caplog
) -> None:
    caplog.set_level(logging.INFO)
    run_bridge(myvw_config(make_config, accounts=[{
        "email": "demo@example.com", "password": "demo", "pin": "9999",
        "vehicles": {EV_VIN: {"name": "egolf"}}}]))
    wait_online(probe, "egolf", timeout=30)
    # The S-PIN is first sent with the first command: that command fails with the reason.
    result = command(probe, "lock", "UNLOCK", timeout=30)
    assert result["status"] in ("rejected", "error"), result
    assert "S-PIN" in result["detail"] and "disabled" in result["detail"], result
    assert "9999" not in result["detail"]
    assert len(sim.requests(SPIN_SESSION, "POST")) == 1
    assert sim.vehicles()[EV_VIN]["locked"] is True
    # A second command sends nothing: a wrong S-PIN again would lock the account.
    again = command(probe, "lock", "UNLOCK", timeout=30)
    assert again["status"] == "rejected", again
    assert "S-PIN" in again["detail"] and "disabled" in again["detail"], again
    assert len(sim.requests(SPIN_SESSION, "POST")) == 1
    # Reading goes on.
    sim.patch_vehicle(EV_VIN, battery_level=55)
    probe.publish("carnet2mqtt/bridge/request/poll", '{"vehicle": "egolf"}')
    probe.wait_for(lambda m: m.topic == "carnet2mqtt/egolf/battery_level" and m.text == "55",
                   30)
    assert mqtt_value(probe, "egolf", "availability") == "online"


def test_a_nearly_locked_spin_is_not_sent(
    make_config, run_bridge, probe, sim_factory  # noqa: F811
) -> None:
    # Two tries left: one more wrong S-PIN would bring the lock-out closer than the
    # bridge risks.
    simulator, control = sim_factory(pin_attempts=2)
    run_bridge(myvw_config(make_config, simulator))
    wait_online(probe, "egolf", "jetta", timeout=30)
    result = command(probe, "lock", "UNLOCK", timeout=30)
    assert result["status"] in ("rejected", "error"), result
    assert "not sent" in result["detail"] and "disabled" in result["detail"], result
    assert control.requests("/challenge", "GET"), "the S-PIN challenge was not asked for"
    again = command(probe, "lock", "UNLOCK", timeout=30)
    assert again["status"] == "rejected" and "disabled" in again["detail"], again
    # No spinHash ever went out.
    assert control.requests(SPIN_SESSION, "POST") == []
    assert len(control.requests("/challenge", "GET")) == 1
    assert control.vehicles()[EV_VIN]["locked"] is True
