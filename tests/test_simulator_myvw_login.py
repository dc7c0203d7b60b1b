"""The myVW generation's login on the simulator: kombi:///login, the window._IDK page,
tokens, refresh, attestation, Canada, and the retire fault."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from carnet.simulator import Simulator
from tests.test_simulator_myvw_support import (
    MYVW_APP_ID,
    MYVW_CA_APP_ID,
    MYVW_CA_CLIENT_ID,
    MyvwClient,
    MyvwLoginError,
    idk_model,
    jwt_claims,
)
from tests.test_simulator_support import (
    EV_VIN,
    TIMEOUT,
    Client,
    LoginError,
    make_sim,
    sim_fault,
)


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = make_sim()
    yield simulator
    simulator.stop()


def test_myvw_login_gives_jwt_tokens_with_the_user_id(sim: Simulator) -> None:
    client = MyvwClient(sim)
    code, verifier = client.login_code()
    r = client.exchange(code, verifier)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"access_token", "expires_in", "id_token", "id_expires_in",
                         "token_type", "refresh_token", "refresh_expires_in"}
    accounts = requests.get(f"{sim.api_url}/_sim/accounts", timeout=TIMEOUT).json()
    user_id = accounts[0]["userId"]
    assert client.user_id == user_id  # from the authenticate redirect
    assert jwt_claims(body["id_token"])["sub"] == user_id
    assert jwt_claims(body["access_token"])["sub"] == user_id
    assert jwt_claims(body["access_token"])["jtt"] == "access_token"


def test_myvw_pages_use_the_myvw_app_id_and_the_idk_page(sim: Simulator) -> None:
    client = MyvwClient(sim)
    client.login_code(padded=False)  # an unpadded challenge works as well
    log = requests.get(f"{sim.api_url}/_sim/requests", timeout=TIMEOUT).json()
    identity_paths = [e["path"] for e in log if e["host"] == "identity"]
    assert identity_paths and all(MYVW_APP_ID in p for p in identity_paths)
    assert all(e["generation"] == "myvw" for e in log)


def test_idk_page_carries_csrf_and_template_model(sim: Simulator) -> None:
    client = MyvwClient(sim)
    r = client.http.get(f"{sim.api_url}/oidc/v1/authorize", params={
        "redirect_uri": "kombi:///login", "scope": "openid", "code_challenge": "x" * 43,
        "state": "s", "response_type": "code", "client_id": client.client_id},
        timeout=TIMEOUT)
    from tests.test_simulator_support import scrape
    form = scrape(r.text)["emailPasswordForm"]
    assert set(form["fields"]) == {"_csrf", "relayState", "hmac"}
    r2 = client.http.post(r.url.split("?")[0], data={**form["fields"],
                                                     "email": client.email}, timeout=TIMEOUT)
    model, csrf = idk_model(r2.text)
    assert csrf == form["fields"]["_csrf"]
    assert model["postAction"] == "login/authenticate"
    assert model["relayState"] == form["fields"]["relayState"]
    assert model["hmac"] and model["registerCredentialsPath"] is None
    assert model["emailPasswordForm"]["email"] == client.email


def test_myvw_login_reads_the_hidden_inputs_page_too(sim: Simulator) -> None:
    from tests.test_simulator_support import scrape
    assert sim_fault(sim, {"kind": "password_page", "variant": "hidden_inputs"}).ok
    client = MyvwClient(sim)
    r = client.http.get(f"{sim.api_url}/oidc/v1/authorize", params={
        "redirect_uri": "kombi:///login", "scope": "openid", "code_challenge": "x" * 43,
        "state": "s", "response_type": "code", "client_id": client.client_id},
        timeout=TIMEOUT)
    form = scrape(r.text)["emailPasswordForm"]
    r2 = client.http.post(r.url.split("?")[0], data={**form["fields"],
                                                     "email": client.email}, timeout=TIMEOUT)
    assert "credentialsForm" in scrape(r2.text) and "window._IDK" not in r2.text
    MyvwClient(sim).login()


def test_unknown_account_is_offered_registration(sim: Simulator) -> None:
    with pytest.raises(MyvwLoginError) as info:
        MyvwClient(sim, email="nobody@example.com").login_code()
    assert info.value.step == "unknown account"


def test_wrong_password_gives_no_code(sim: Simulator) -> None:
    with pytest.raises(MyvwLoginError) as info:
        MyvwClient(sim, password="wrong").login_code()
    assert info.value.step == "authenticate"
    assert "error=login.errors.password_invalid" in info.value.response.headers["Location"]


def test_refresh_keeps_the_verifier_and_the_refresh_token(sim: Simulator) -> None:
    client = MyvwClient(sim).login()
    first_refresh = client.tokens["refresh_token"]
    assert client.refresh(verifier="").status_code == 400
    assert client.refresh(verifier="").json()["error_description"] == \
        "Internal Service validation failure"
    assert client.refresh(verifier="0" * 128).status_code == 400
    old_access = client.tokens["access_token"]
    r = client.refresh()
    assert r.status_code == 200
    assert "refresh_token" not in r.json()
    assert client.tokens["access_token"] != old_access
    assert client.refresh().status_code == 200  # the old refresh token still works
    assert client.tokens["refresh_token"] == first_refresh
    assert client.get("/account/v1/garage").status_code == 200


def test_myvw_refresh_token_is_no_car_net_refresh_token(sim: Simulator) -> None:
    client = MyvwClient(sim).login()
    r = requests.post(f"{sim.api_url}/oidc/v1/token", data={
        "grant_type": "refresh_token", "client_id": "2dae49f6-830b-4180-9af9-59dd0d060916"
        "@apps_vw-dilab_com", "refresh_token": client.tokens["refresh_token"],
        "code_verifier": client.verifier}, timeout=TIMEOUT)
    assert r.status_code == 401


def test_attestation_required_refuses_without_the_printed_value() -> None:
    with make_sim(attestation="required") as sim:
        value = sim.ctx.attestation_token
        for sent in (None, "unavailable"):
            client = MyvwClient(sim, attestation=sent)
            code, verifier = client.login_code()  # the sign-in itself succeeds
            r = client.exchange(code, verifier)
            assert r.status_code == 401
            assert r.json() == {"errorCode": "INVALID_REQUEST",
                                "origin": "CarnetSPAuthorizationServer"}
        client = MyvwClient(sim, attestation=value).login()
        assert client.refresh().status_code == 200
        client.attestation = None
        assert client.refresh().status_code == 401  # refresh needs it too
        Client(sim).login()  # the Car-Net app generation is not asked for it


def test_attestation_is_off_by_default(sim: Simulator) -> None:
    MyvwClient(sim).login()


def test_attestation_present_takes_any_placeholder() -> None:
    with make_sim(attestation="present") as sim:
        client = MyvwClient(sim)
        code, verifier = client.login_code()
        assert client.exchange(code, verifier).status_code == 401
        MyvwClient(sim, attestation="unavailable").login()


def test_canada_accepts_only_the_canadian_client() -> None:
    with make_sim(region="ca") as sim:
        client = MyvwClient(sim, client_id=MYVW_CA_CLIENT_ID).login()
        log = requests.get(f"{sim.api_url}/_sim/requests", timeout=TIMEOUT).json()
        assert any(MYVW_CA_APP_ID in e["path"] for e in log)
        assert client.load_garage()["user"]["countryOfResidence"] == "CA"
        vid = client.vid(EV_VIN)
        services = client.get(f"/rrs/v1/privileges/user/{client.user_id}/vehicle/{vid}"
                              ).json()["data"]["services"]
        spin = next(s for s in services if s["longCode"] == "SPIN")
        assert spin["operations"][0]["capabilityStatus"] == "NOT_APPLICABLE"
        assert client.session(EV_VIN).status_code == 200  # and the S-PIN works all the same
        with pytest.raises(MyvwLoginError) as info:
            MyvwClient(sim).login_code()
        assert info.value.response.status_code == 400
    with make_sim() as sim:  # and the US host refuses the Canadian client
        with pytest.raises(MyvwLoginError) as info:
            MyvwClient(sim, client_id=MYVW_CA_CLIENT_ID).login_code()
        assert info.value.response.status_code == 400


@pytest.mark.parametrize("generation", ["carnet", "myvw"])
def test_retire_fault_makes_a_client_id_unknown(sim: Simulator, generation: str) -> None:
    myvw = MyvwClient(sim).login()
    carnet = Client(sim).login()
    assert sim_fault(sim, {"kind": "retire", "generation": generation}).ok
    retired, living = (carnet, myvw) if generation == "carnet" else (myvw, carnet)
    assert retired.refresh().status_code == 401
    assert living.refresh().status_code == 200
    if generation == "carnet":
        with pytest.raises(LoginError) as refused:
            Client(sim).login_code()
        assert refused.value.response.status_code == 400
        MyvwClient(sim).login()
    else:
        with pytest.raises(MyvwLoginError) as refused_myvw:
            MyvwClient(sim).login_code()
        assert refused_myvw.value.response.json()["error"] == "invalid_client"
        Client(sim).login()
    assert requests.delete(f"{sim.api_url}/_sim/fault/retire", timeout=TIMEOUT).ok
    Client(sim).login()
    MyvwClient(sim).login()


def test_command_line_prints_the_attestation_value_that_passes() -> None:
    import subprocess
    import sys
    from types import SimpleNamespace

    proc = subprocess.Popen(
        [sys.executable, "-m", "carnet.simulator", "--port", "0", "--identity-port", "0",
         "--attestation", "required", "--region", "us", "--id4", "--log-level", "warning"],
        stdout=subprocess.PIPE, text=True)
    try:
        lines: dict[str, str] = {}
        assert proc.stdout is not None
        for line in proc.stdout:
            key, _, value = line.partition(":")
            lines[key] = value.strip()
            if key == "Attestation required":
                break
        assert "1V2GMPE2XMP000003" in lines["Demo account"]  # the ID.4
        value = lines["Attestation required"].split("=", 1)[1]
        sim = SimpleNamespace(api_url=lines["API"], identity_url=lines["Identity"])
        refused = MyvwClient(sim, attestation="unavailable")  # type: ignore[arg-type]
        code, verifier = refused.login_code()
        assert refused.exchange(code, verifier).status_code == 401
        MyvwClient(sim, attestation=value).login()  # type: ignore[arg-type]
    finally:
        proc.terminate()
        proc.wait(5)


def test_login_throttle_fault(sim: Simulator) -> None:
    assert sim_fault(sim, {"kind": "login_throttle", "after": 2}).ok
    MyvwClient(sim).login()
    Client(sim).login()  # the count is per account, across both generations
    with pytest.raises(MyvwLoginError) as info:
        MyvwClient(sim).login_code()
    assert "error=login.error.throttled" in info.value.response.headers["Location"]
    with pytest.raises(LoginError) as carnet:
        Client(sim).login_code()
    assert "Too many sign-in attempts" in carnet.value.response.text
    assert requests.delete(f"{sim.api_url}/_sim/fault/login_throttle", timeout=TIMEOUT).ok
    MyvwClient(sim).login()
