"""The myVW S-PIN session against the simulator: vehicle tokens reused until shortly
before they expire, and a refused or risky S-PIN that disables commands for good."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from carnet.core.errors import PinRefused
from carnet.simulator import Simulator
from carnet.vendor.myvw_app.spin import REUSE_MARGIN
from carnet.vendor.myvw_app.token_claims import claims
from carnet.vendor.tokens import TokenStore
from tests.support.myvw import SessionFactory, clear_log, sessions, sim_log
from tests.test_simulator_support import DEMO_PIN, EV_VIN, ICE_VIN, TIMEOUT, make_sim


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = make_sim()
    yield simulator
    simulator.stop()


@pytest.fixture
def store(tmp_path: Path) -> TokenStore:
    return TokenStore(tmp_path / "state")


@pytest.fixture
def make_session(store: TokenStore) -> Iterator[SessionFactory]:
    yield from sessions(store)


def garage(sim: Simulator, token: str) -> dict[str, dict[str, Any]]:
    """The garage's vehicles by VIN."""
    answer = requests.get(f"{sim.api_url}/account/v1/garage", timeout=TIMEOUT,
                          headers={"Authorization": f"Bearer {token}"})
    return {v["vin"]: v for v in answer.json()["data"]["vehicles"]}


def spin_requests(sim: Simulator) -> tuple[int, int]:
    """(challenges, session requests) the simulator received."""
    return (len(sim_log(sim, "/challenge", "GET")),
            len(sim_log(sim, "/session", "POST")))


def test_the_vehicle_token_opens_the_vehicle_and_is_reused(
        sim: Simulator, make_session: SessionFactory) -> None:
    session = make_session(sim)
    assert session.commands_enabled
    ev = garage(sim, session.access_token())[EV_VIN]
    clear_log(sim)
    token = session.vehicle_token(ev["vehicleId"], ev["tspProvider"])
    assert claims(token)["vehicleId"] == ev["vehicleId"]
    assert claims(token)["exp"] - time.time() > REUSE_MARGIN
    assert session.vehicle_token(ev["vehicleId"], ev["tspProvider"]) == token
    assert spin_requests(sim) == (1, 1)
    sent = sim_log(sim, "/session")
    assert sent[0]["bearer"] == "access" and sent[0]["status"] == 200
    # Refused by the vendor: the next call opens a new session.
    session.vehicle_token_rejected(ev["vehicleId"])
    assert session.vehicle_token(ev["vehicleId"], ev["tspProvider"]) != token
    assert spin_requests(sim) == (2, 2)
    assert session.commands_enabled


def test_each_vehicle_has_its_own_token(sim: Simulator, make_session: SessionFactory) -> None:
    session = make_session(sim)
    cars = garage(sim, session.access_token())
    ev, ice = cars[EV_VIN], cars[ICE_VIN]
    ev_token = session.vehicle_token(ev["vehicleId"], ev["tspProvider"])
    ice_token = session.vehicle_token(ice["vehicleId"], ice["tspProvider"])
    assert claims(ev_token)["vehicleId"] == ev["vehicleId"]
    assert claims(ice_token)["vehicleId"] == ice["vehicleId"]
    assert claims(ice_token)["tsp"] == "ATC"


def test_a_token_that_nears_its_expiry_is_replaced(make_session: SessionFactory) -> None:
    # A vehicle token that lives less than the reuse margin is never reused.
    simulator = make_sim(vehicle_token_ttl=REUSE_MARGIN - 30)
    try:
        session = make_session(simulator)
        ev = garage(simulator, session.access_token())[EV_VIN]
        first = session.vehicle_token(ev["vehicleId"], ev["tspProvider"])
        time.sleep(1.1)  # a new token gets a later exp
        assert session.vehicle_token(ev["vehicleId"], ev["tspProvider"]) != first
    finally:
        simulator.stop()


def test_a_wrong_spin_disables_commands_and_is_never_sent_again(
        sim: Simulator, make_session: SessionFactory) -> None:
    session = make_session(sim, pin="9999")
    ev = garage(sim, session.access_token())[EV_VIN]
    clear_log(sim)
    with pytest.raises(PinRefused) as refused:
        session.vehicle_token(ev["vehicleId"], ev["tspProvider"])
    assert "S-PIN" in str(refused.value) and "accounts[].pin" in str(refused.value)
    assert "9999" not in str(refused.value)
    assert not session.commands_enabled
    with pytest.raises(PinRefused, match="commands are disabled"):
        session.vehicle_token(ev["vehicleId"], ev["tspProvider"])
    assert spin_requests(sim) == (1, 1)  # the second call sent nothing


def test_too_few_tries_left_sends_no_hash(make_session: SessionFactory) -> None:
    simulator = make_sim(pin_attempts=2)  # the challenge says remainingTries: 2
    try:
        session = make_session(simulator)
        ev = garage(simulator, session.access_token())[EV_VIN]
        clear_log(simulator)
        with pytest.raises(PinRefused) as refused:
            session.vehicle_token(ev["vehicleId"], ev["tspProvider"])
        assert "only 2 more S-PIN tries" in str(refused.value)
        assert "not sent" in str(refused.value)
        assert not session.commands_enabled
        assert spin_requests(simulator) == (1, 0)
    finally:
        simulator.stop()


def test_without_a_pin_nothing_is_sent(sim: Simulator, make_session: SessionFactory) -> None:
    session = make_session(sim, pin=None)
    assert not session.commands_enabled
    ev = garage(sim, session.access_token())[EV_VIN]
    clear_log(sim)
    with pytest.raises(PinRefused, match=r"accounts\[\]\.pin"):
        session.vehicle_token(ev["vehicleId"], ev["tspProvider"])
    assert sim_log(sim) == []


def test_an_expired_access_token_is_renewed_for_the_spin_session(
        sim: Simulator, make_session: SessionFactory) -> None:
    session = make_session(sim)
    ev = garage(sim, session.access_token())[EV_VIN]
    requests.post(f"{sim.api_url}/_sim/expire_tokens", timeout=TIMEOUT).raise_for_status()
    token = session.vehicle_token(ev["vehicleId"], ev["tspProvider"])
    assert claims(token)["vehicleId"] == ev["vehicleId"]
    assert session.commands_enabled


def test_no_spin_secret_reaches_the_log(sim: Simulator, make_session: SessionFactory,
                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    session = make_session(sim)
    ev = garage(sim, session.access_token())[EV_VIN]
    token = session.vehicle_token(ev["vehicleId"], ev["tspProvider"])
    wrong = make_session(sim, pin="8642")
    wrong.vehicle_token_rejected(ev["vehicleId"])
    with pytest.raises(PinRefused):
        wrong.vehicle_token(ev["vehicleId"], ev["tspProvider"])
    text = "\n".join(r.getMessage() for r in caplog.records
                     if not r.name.startswith("carnet.simulator"))
    assert "vehicle token" in text
    assert token not in text and "8642" not in text and f"'{DEMO_PIN}'" not in text
