"""Which generation serves an account, and which vendor settings its client gets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from carnet.config import AccountConfig, VendorConfig
from carnet.simulator import Simulator
from carnet.vendor.carnet_app import defaults as carnet_defaults
from carnet.vendor.carnet_app.defaults import CLIENT_ID as CARNET_CLIENT_ID
from carnet.vendor.generations import generation_of, open_client, settings_for
from carnet.vendor.protocol import Part, VendorClient
from carnet.vendor.tokens import TokenStore
from tests.test_simulator_support import DEMO_EMAIL, DEMO_PASSWORD, DEMO_PIN, ID4_VIN, make_sim

ACCOUNT = AccountConfig(email="a@example.com", password="p")
OVERRIDES = VendorConfig(
    api="carnet",
    api_base="http://127.0.0.1:8765",
    identity_base="http://127.0.0.1:8766",
    client_id="my-client",
    redirect_uri="app:///callback",
    user_agent="agent/1",
)


def test_an_account_without_api_takes_the_configured_generation() -> None:
    assert generation_of(VendorConfig(api="myvw"), ACCOUNT) == "myvw"
    assert generation_of(VendorConfig(), ACCOUNT) == "carnet"


def test_an_accounts_own_api_wins() -> None:
    account = AccountConfig(email="a@example.com", password="p", api="myvw")
    assert generation_of(VendorConfig(api="carnet"), account) == "myvw"


def test_the_configured_generation_gets_every_override() -> None:
    assert settings_for(OVERRIDES, "carnet") == OVERRIDES


def test_the_other_generation_keeps_the_hosts_and_its_own_app_identity() -> None:
    settings = settings_for(OVERRIDES, "myvw")
    assert (settings.api_base, settings.identity_base) == (
        "http://127.0.0.1:8765", "http://127.0.0.1:8766"
    )
    assert (settings.client_id, settings.redirect_uri, settings.user_agent) == (None, None, None)
    assert settings.api == "myvw"
    assert settings.timeout == OVERRIDES.timeout


def test_the_region_moves_the_car_net_host_and_keeps_its_client() -> None:
    us = carnet_defaults.resolved(VendorConfig(region="us"))
    ca = carnet_defaults.resolved(VendorConfig(region="ca"))
    assert us.api_base == "https://b-h-s.spr.us00.p.con-veh.net"
    assert ca.api_base == "https://b-h-s.spr.ca00.p.con-veh.net"
    assert us.client_id == ca.client_id == CARNET_CLIENT_ID
    assert us.identity_base == ca.identity_base == "https://identity.na.vwgroup.io"
    # a configured host wins over the region's
    moved = carnet_defaults.resolved(VendorConfig(region="ca", api_base="http://127.0.0.1:1"))
    assert moved.api_base == "http://127.0.0.1:1"


# ---------------------------------------------- the clients, against the simulator


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = make_sim()
    yield simulator
    simulator.stop()


def _open(sim: Simulator, tmp_path: Path, api: str) -> VendorClient:
    # carnet.client_id names the Car-Net app's client: it must not reach a myVW account.
    settings = VendorConfig(api="carnet", api_base=sim.api_url, identity_base=sim.identity_url,
                            client_id=CARNET_CLIENT_ID, timeout=5)
    account = AccountConfig(email=DEMO_EMAIL, password=DEMO_PASSWORD, pin=DEMO_PIN, api=api)
    return open_client(settings, account, TokenStore(tmp_path / "state"), min_interval=0,
                       max_per_minute=60, recorder=None)


@pytest.mark.parametrize("api", ["carnet", "myvw"])
def test_open_client_speaks_the_accounts_generation(
    sim: Simulator, tmp_path: Path, api: str
) -> None:
    client = _open(sim, tmp_path, api)
    try:
        id4 = next(vehicle for vehicle in client.vehicles() if vehicle.vin == ID4_VIN)
        parts = {part: client.read(id4, part) for part in Part
                 if part not in id4.capabilities.costly_parts}
        assert client.interpret(id4, parts, "auto").values.get("battery_level") is not None
    finally:
        client.close()
