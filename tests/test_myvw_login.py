"""The myVW session's login against the simulator: tokens kept across restarts, refresh,
attestation, Canada, refused logins and retired client ids, each with one clear message."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from carnet.config import AccountConfig, VendorConfig
from carnet.core.errors import AuthError, LoginChanged
from carnet.simulator import Simulator
from carnet.simulator.generations import attestation_value
from carnet.vendor.carnet_app.client import CarNetClient
from carnet.vendor.protocol import RequestClass
from carnet.vendor.tokens import TokenStore
from tests.support.myvw import (
    Recorder,
    SessionFactory,
    clear_log,
    helper_command,
    password_posts,
    sessions,
    sim_log,
)
from tests.test_simulator_support import DEMO_EMAIL, TIMEOUT, make_sim, sim_fault


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


def demo_user_id(sim: Simulator) -> str:
    accounts = requests.get(f"{sim.api_url}/_sim/accounts", timeout=TIMEOUT).json()
    return next(a["userId"] for a in accounts if a["email"] == DEMO_EMAIL)


def garage_status(sim: Simulator, token: str) -> int:
    return requests.get(f"{sim.api_url}/account/v1/garage", timeout=TIMEOUT,
                        headers={"Authorization": f"Bearer {token}"}).status_code


def test_login_gives_a_working_token_and_the_user_id(sim: Simulator,
                                                     make_session: SessionFactory) -> None:
    recorder = Recorder()
    session = make_session(sim, recorder=recorder)
    token = session.access_token()
    assert garage_status(sim, token) == 200
    assert session.user_id == demo_user_id(sim)
    assert password_posts(sim) == 1
    log = sim_log(sim)
    assert all(e["generation"] == "myvw" for e in log)
    # Every sign-in and token request counts as a login in the daily ledger.
    assert recorder.kinds and set(recorder.kinds) == {RequestClass.LOGIN}
    # One per request sent: authorize and the e-mail post (their redirects followed
    # within), the password post, its two redirects, the token grant.
    assert len(recorder.kinds) == 6
    assert session.access_token() == token  # kept, not fetched again
    assert password_posts(sim) == 1


def test_a_restart_reuses_the_stored_tokens(sim: Simulator, make_session: SessionFactory,
                                            store: TokenStore) -> None:
    token = make_session(sim).access_token()
    assert store.path_for(DEMO_EMAIL).exists()
    clear_log(sim)
    restarted = make_session(sim)
    assert restarted.access_token() == token
    assert restarted.user_id == demo_user_id(sim)  # from the token's sub
    assert sim_log(sim) == []  # no request at all, let alone a login


def test_a_rejected_token_is_refreshed_with_the_login_verifier(
        sim: Simulator, make_session: SessionFactory) -> None:
    session = make_session(sim)
    first = session.access_token()
    session.access_rejected("some-other-token")  # not the current one: nothing happens
    assert session.access_token() == first
    clear_log(sim)
    session.access_rejected(first)
    second = session.access_token()
    assert [e["path"] for e in sim_log(sim)] == ["/oidc/v1/token"]
    assert second != first and garage_status(sim, second) == 200
    # No new refresh token came back: the old one is kept and refreshes again, also
    # after a restart from the stored tokens.
    session.access_rejected(second)
    third = session.access_token()
    assert third not in (first, second)
    restarted = make_session(sim)
    assert restarted.access_token() == third
    restarted.access_rejected(third)
    assert garage_status(sim, restarted.access_token()) == 200
    assert password_posts(sim) == 0


def test_a_refused_refresh_logs_in_again(sim: Simulator, make_session: SessionFactory) -> None:
    session = make_session(sim)
    first = session.access_token()
    requests.post(f"{sim.api_url}/_sim/expire_tokens", timeout=TIMEOUT).raise_for_status()
    clear_log(sim)
    session.access_rejected(first)
    assert garage_status(sim, session.access_token()) == 200
    assert password_posts(sim) == 1


def test_attestation_required_without_a_helper_says_what_is_missing(
        make_session: SessionFactory) -> None:
    simulator = make_sim(attestation="required")
    try:
        session = make_session(simulator)
        with pytest.raises(LoginChanged) as refused:
            session.access_token()
        message = str(refused.value)
        assert refused.value.step == "token"
        assert "Play Integrity" in message and "play_integrity_token" in message
        assert "carnet.token_helper must supply one" in message
        assert "Attestation" in message
        assert "wrong password" not in message and "accounts[].password" not in message
        # The sign-in itself went through: one password post.
        assert password_posts(simulator) == 1
        # Whoever else needs a token meanwhile gets the same refusal, without a login.
        with pytest.raises(LoginChanged) as again:
            session.access_token()
        assert again.value is refused.value and password_posts(simulator) == 1
    finally:
        simulator.stop()


def test_attestation_required_passes_with_the_helper_s_token(
        tmp_path: Path, make_session: SessionFactory) -> None:
    simulator = make_sim(attestation="required")
    try:
        helper = helper_command(tmp_path, {
            "play_integrity_token": attestation_value(simulator.options)})
        session = make_session(simulator, token_helper=helper)
        token = session.access_token()
        assert garage_status(simulator, token) == 200
        session.access_rejected(token)  # the refresh carries the attestation too
        assert garage_status(simulator, session.access_token()) == 200
    finally:
        simulator.stop()


def test_a_refused_helper_token_is_named_as_such(tmp_path: Path,
                                                make_session: SessionFactory) -> None:
    simulator = make_sim(attestation="required")
    try:
        helper = helper_command(tmp_path, {"play_integrity_token": "unavailable"})
        with pytest.raises(LoginChanged) as refused:
            make_session(simulator, token_helper=helper).access_token()
        message = str(refused.value)
        assert "carnet.token_helper supplied was refused" in message
        assert "unavailable" not in message
    finally:
        simulator.stop()


@pytest.mark.parametrize("helper_value", [None, "any-value-at-all"])
def test_attestation_present_wants_any_token(tmp_path: Path, make_session: SessionFactory,
                                             helper_value: str | None) -> None:
    simulator = make_sim(attestation="present")
    try:
        vendor = {} if helper_value is None else {"token_helper": helper_command(
            tmp_path, {"play_integrity_token": helper_value})}
        session = make_session(simulator, **vendor)
        if helper_value is None:
            with pytest.raises(LoginChanged, match="Play Integrity"):
                session.access_token()
        else:
            assert garage_status(simulator, session.access_token()) == 200
    finally:
        simulator.stop()


def test_attestation_off_needs_no_helper(sim: Simulator, make_session: SessionFactory) -> None:
    assert garage_status(sim, make_session(sim).access_token()) == 200


def test_wrong_password(sim: Simulator, make_session: SessionFactory) -> None:
    with pytest.raises(AuthError) as refused:
        make_session(sim, password="not-the-password").access_token()
    assert not isinstance(refused.value, LoginChanged)
    assert refused.value.step == "authenticate"
    assert "password was refused" in str(refused.value)
    assert "accounts[].password" in str(refused.value)
    assert "not-the-password" not in str(refused.value)


def test_unknown_account(sim: Simulator, make_session: SessionFactory) -> None:
    with pytest.raises(AuthError) as refused:
        make_session(sim, email="nobody@example.com").access_token()
    assert refused.value.step == "identifier"
    assert "accounts[].email" in str(refused.value)
    assert password_posts(sim) == 0  # the password never went out


def test_throttled_login(sim: Simulator, make_session: SessionFactory) -> None:
    sim_fault(sim, {"kind": "login_throttle", "after": 0})
    with pytest.raises(AuthError) as refused:
        make_session(sim).access_token()
    message = str(refused.value)
    assert "throttling" in message and "back-off" in message
    assert "password was refused" not in message


def test_terms_to_accept(sim: Simulator, make_session: SessionFactory) -> None:
    sim_fault(sim, {"kind": "terms"})
    with pytest.raises(AuthError) as refused:
        make_session(sim).access_token()
    message = str(refused.value)
    assert "terms and conditions" in message and "myVW app" in message
    assert "password was refused" not in message
    assert sim_log(sim, "/oidc/v1/token") == []


def test_logins_are_not_run_twice_for_threads_that_wait(
        sim: Simulator, make_session: SessionFactory) -> None:
    session = make_session(sim)
    with ThreadPoolExecutor(max_workers=4) as pool:
        tokens = set(pool.map(lambda _: session.access_token(), range(8)))
    assert len(tokens) == 1 and password_posts(sim) == 1


def test_canada_logs_in_with_the_canadian_defaults(make_session: SessionFactory) -> None:
    simulator = make_sim(region="ca")
    try:
        session = make_session(simulator, region="ca")
        assert garage_status(simulator, session.access_token()) == 200
        assert session.user_id == demo_user_id(simulator)
    finally:
        simulator.stop()


def test_the_us_client_on_the_canadian_host_names_the_region(
        make_session: SessionFactory) -> None:
    simulator = make_sim(region="ca")
    try:
        with pytest.raises(AuthError) as refused:
            make_session(simulator, region="us").access_token()
        message = str(refused.value)
        assert not isinstance(refused.value, LoginChanged)
        assert "myVW app's client id" in message
        assert "carnet.region" in message and "carnet.client_id" in message
        assert "password" not in message
        assert password_posts(simulator) == 0
    finally:
        simulator.stop()


def test_a_retired_myvw_client_names_the_remedy(sim: Simulator,
                                               make_session: SessionFactory) -> None:
    sim_fault(sim, {"kind": "retire", "generation": "myvw"})
    with pytest.raises(AuthError) as refused:
        make_session(sim).access_token()
    message = str(refused.value)
    assert "unknown client_id" in message and "myVW app's client id" in message
    assert "carnet.region" in message and "carnet.client_id" in message


def test_a_retired_car_net_client_points_to_myvw(sim: Simulator, tmp_path: Path) -> None:
    sim_fault(sim, {"kind": "retire", "generation": "carnet"})
    client = CarNetClient(VendorConfig(api_base=sim.api_url, identity_base=sim.identity_url,
                                       timeout=5.0),
                          AccountConfig(email=DEMO_EMAIL, password="demo", pin="1234"),
                          TokenStore(tmp_path / "carnet-state"))
    try:
        with pytest.raises(AuthError) as refused:
            client.vehicles()
    finally:
        client.close()
    message = str(refused.value)
    assert not isinstance(refused.value, LoginChanged)
    assert "no longer accepts the Car-Net app's client id" in message
    assert "carnet.api: myvw" in message and "accounts[].api: myvw" in message


def test_no_secret_reaches_the_log(sim: Simulator, make_session: SessionFactory,
                                   store: TokenStore, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    session = make_session(sim)
    token = session.access_token()
    session.access_rejected(token)
    session.access_token()
    stored = store.load(DEMO_EMAIL, session._vendor.client_id or "",
                        session._vendor.api_base or "")
    assert stored is not None
    store.clear(DEMO_EMAIL)
    with pytest.raises(AuthError):
        make_session(sim, password="wrong-secret-password").access_token()
    # The product's records (the simulator's own log lines are not the bridge's).
    text = "\n".join(r.getMessage() for r in caplog.records
                     if not r.name.startswith("carnet.simulator"))
    assert "Logged in to myVW" in text and "/oidc/v1/token" in text
    for secret in ("wrong-secret-password", token, stored.access_token, stored.id_token,
                   stored.refresh_token, stored.code_verifier):
        assert secret not in text
