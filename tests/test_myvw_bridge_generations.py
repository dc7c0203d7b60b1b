"""Which generation and region serve an account, through the whole bridge (the simulator
over HTTP, a real mosquitto): a Canadian account, the wrong region's client, and a
generation the vendor retired, each reported with its remedy in the log and bridge/info."""

from __future__ import annotations

import logging

from tests.conftest import EV_VIN
from tests.support.failures import wait_online
from tests.support.myvw_bridge import (
    account_error,
    availability,
    errors,
    myvw_config,
    password_posts,
    sim_factory,  # noqa: F401 (a fixture)
)
from tests.test_bridge_commands import command


def test_a_canadian_account_is_online_and_takes_commands(
    make_config, run_bridge, probe, sim_factory  # noqa: F811
) -> None:
    simulator, control = sim_factory(region="ca")
    run_bridge(myvw_config(make_config, simulator, carnet={"region": "ca"}))
    wait_online(probe, "egolf", "jetta", timeout=30)
    result = command(probe, "lock", "UNLOCK", timeout=30)
    assert result["status"] == "ok", result
    assert control.vehicles()[EV_VIN]["locked"] is False
    assert [r["status"] for r in control.requests("/oidc/v1/token", "POST")] == [200]


def test_the_us_client_on_the_canadian_host_names_the_region(
    make_config, run_bridge, probe, sim_factory, caplog  # noqa: F811
) -> None:
    caplog.set_level(logging.INFO)
    simulator, control = sim_factory(region="ca")
    run_bridge(myvw_config(make_config, simulator, carnet={"region": "us"}))
    error = account_error(probe)
    assert "carnet.region" in error, error
    lines = errors(caplog)
    assert len(lines) == 1 and "carnet.region" in lines[0], lines
    assert "password" not in lines[0] and "attestation" not in lines[0], lines
    # Refused at authorize: the password was never sent.
    assert password_posts(control) == []
    assert availability(probe, "egolf") in ([], ["offline"])


def test_a_retired_car_net_client_says_set_carnet_api_myvw(
    make_config, run_bridge, probe, sim, caplog
) -> None:
    caplog.set_level(logging.INFO)
    sim.fault(kind="retire", generation="carnet")
    run_bridge(make_config(commands={"max_per_minute": 60}))
    error = account_error(probe)
    assert "no longer accepts the Car-Net app's client id" in error, error
    assert "set carnet.api: myvw" in error, error
    lines = errors(caplog)
    assert len(lines) == 1, lines
    assert "set carnet.api: myvw" in lines[0] and "password" not in lines[0], lines
    assert password_posts(sim) == []


def test_a_retired_myvw_client_names_the_myvw_client(
    make_config, run_bridge, probe, sim, caplog
) -> None:
    caplog.set_level(logging.INFO)
    sim.fault(kind="retire", generation="myvw")
    run_bridge(myvw_config(make_config))
    error = account_error(probe)
    assert "does not accept the myVW app's client id" in error, error
    assert "carnet.client_id" in error, error
    lines = errors(caplog)
    assert len(lines) == 1, lines
    assert "myVW app's client id" in lines[0] and "password" not in lines[0], lines
    assert "set carnet.api: myvw" not in lines[0], lines
    assert password_posts(sim) == []
