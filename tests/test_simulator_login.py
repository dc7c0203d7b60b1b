"""The simulator's login (the four steps of the description), tokens and refresh."""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from urllib.parse import urljoin

import pytest
import requests

from carnet.simulator import Simulator
from tests.test_simulator_support import (
    CLIENT_ID,
    DEMO_EMAIL,
    EV_VIN,
    TIMEOUT,
    Client,
    LoginError,
    make_sim,
    pkce,
    scrape,
    scrape_template_model,
    sim_fault,
)

APP_ID = "b680e751-7e1f-4008-8cc1-3a528183d215@apps_vw-dilab_com"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = make_sim(code_ttl=60)
    yield simulator
    simulator.stop()


def test_full_login_gives_the_documented_tokens(sim: Simulator) -> None:
    client = Client(sim)
    code, verifier, _state = client.login_code()
    assert re.fullmatch(r"[0-9a-f]{96}", code)
    r = client.exchange(code, verifier)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"access_token", "expires_in", "id_token", "id_expires_in",
                         "token_type", "refresh_token", "refresh_expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == body["id_expires_in"] == 1800
    assert body["refresh_expires_in"] == 31536000
    assert len({body["access_token"], body["id_token"], body["refresh_token"]}) == 3


def test_login_pages_cross_hosts_and_are_xhtml(sim: Simulator) -> None:
    client = Client(sim)
    _verifier, challenge = pkce()
    r1 = client.authorize(challenge, "abc")
    assert r1.history and r1.history[0].status_code in (301, 302, 303, 307)
    assert r1.history[0].url.startswith(sim.api_url)
    assert r1.url.startswith(sim.identity_url)
    assert "SESSION" in client.http.cookies
    ET.fromstring(r1.content)  # well-formed
    form = scrape(r1.text)["emailPasswordForm"]
    assert form["action"] == f"/signin-service/v1/{APP_ID}/login/identifier"
    assert set(form["fields"]) == {"_csrf", "relayState", "hmac"}
    r2 = client.http.post(urljoin(r1.url, form["action"]),
                          data={**form["fields"], "email": DEMO_EMAIL}, timeout=TIMEOUT)
    assert r2.history and r2.history[0].status_code in (302, 303)
    ET.fromstring(r2.content)
    form2 = scrape(r2.text)["credentialsForm"]
    assert form2["action"] == f"/signin-service/v1/{APP_ID}/login/authenticate"
    assert form2["fields"]["hmac"] != form["fields"]["hmac"]  # a fresh hmac per step
    assert form2["fields"]["relayState"] == form["fields"]["relayState"]


def test_state_is_echoed_and_challenge_may_lack_padding(sim: Simulator) -> None:
    client = Client(sim)
    code, verifier, _ = client.login_code(padded=False)
    assert client.exchange(code, verifier).status_code == 200


def test_wrong_email_ends_on_a_page_without_credentials_form(sim: Simulator) -> None:
    client = Client(sim, email="nobody@example.com")
    with pytest.raises(LoginError) as info:
        client.login_code()
    assert info.value.step == 2
    assert info.value.response.status_code == 200
    assert "credentialsForm" not in info.value.response.text
    ET.fromstring(info.value.response.content)


def test_wrong_password_ends_without_car_net_redirect(sim: Simulator) -> None:
    client = Client(sim, password="wrong")
    with pytest.raises(LoginError) as info:
        client.login_code()
    assert info.value.step == 3
    assert info.value.response.status_code == 200
    assert "car-net:" not in info.value.response.headers.get("Location", "")
    assert "incorrect" in info.value.response.text


def _email_form(client: Client) -> tuple[requests.Response, dict]:
    _verifier, challenge = pkce()
    r1 = client.authorize(challenge, "s")
    return r1, scrape(r1.text)["emailPasswordForm"]


def test_bad_csrf_and_missing_cookie_are_refused(sim: Simulator) -> None:
    client = Client(sim)
    r1, form = _email_form(client)
    url = urljoin(r1.url, form["action"])
    bad = client.http.post(url, data={**form["fields"], "_csrf": "forged", "email": DEMO_EMAIL},
                           timeout=TIMEOUT)
    assert bad.status_code == 403
    assert "credentialsForm" not in bad.text
    # the right _csrf without the session cookie (a client without a cookie jar)
    cookieless = requests.post(url, data={**form["fields"], "email": DEMO_EMAIL},
                               timeout=TIMEOUT)
    assert cookieless.status_code == 403
    # a stale hmac is refused too
    stale = client.http.post(url, data={**form["fields"], "hmac": "0" * 64, "email": DEMO_EMAIL},
                             timeout=TIMEOUT)
    assert stale.status_code == 403


def test_multipart_posts_fail_with_an_empty_body(sim: Simulator) -> None:
    client = Client(sim)
    r1, form = _email_form(client)
    fields = {**form["fields"], "email": DEMO_EMAIL}
    r = client.http.post(urljoin(r1.url, form["action"]),
                         files={k: (None, v) for k, v in fields.items()}, timeout=TIMEOUT)
    assert r.status_code == 400
    assert r.content == b""


def test_code_is_single_use(sim: Simulator) -> None:
    client = Client(sim)
    code, verifier, _ = client.login_code()
    assert client.exchange(code, verifier).status_code == 200
    again = client.exchange(code, verifier)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_code_expires() -> None:
    with make_sim(code_ttl=0.3) as sim:
        client = Client(sim)
        code, verifier, _ = client.login_code()
        time.sleep(0.4)
        assert client.exchange(code, verifier).status_code == 400


def test_wrong_verifier_and_wrong_client_are_refused(sim: Simulator) -> None:
    client = Client(sim)
    code, _verifier, _ = client.login_code()
    r = client.exchange(code, "f" * 64)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant"
    code, verifier, _ = client.login_code()
    r = client.http.post(f"{sim.api_url}/oidc/v1/token",
                         data={"grant_type": "authorization_code", "code": code,
                               "client_id": "someone-else", "code_verifier": verifier,
                               "redirect_uri": "car-net:///oauth-callback"}, timeout=TIMEOUT)
    assert r.status_code == 401


def test_authorize_refuses_another_client_id(sim: Simulator) -> None:
    _verifier, challenge = pkce()
    r = requests.get(f"{sim.api_url}/oidc/v1/authorize",
                     params={"client_id": "x", "scope": "openid", "response_type": "code",
                             "code_challenge": challenge, "state": "s"}, timeout=TIMEOUT)
    assert r.status_code == 400


def test_authorize_refuses_an_unregistered_redirect_uri(sim: Simulator) -> None:
    _verifier, challenge = pkce()
    r = requests.get(f"{sim.api_url}/oidc/v1/authorize",
                     params={"redirect_uri": "myapp://done", "scope": "openid",
                             "code_challenge": challenge, "state": "s1",
                             "response_type": "code", "client_id": CLIENT_ID},
                     allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"
    assert "Location" not in r.headers
    with pytest.raises(LoginError) as refused:
        Client(sim, redirect_uri="car-net:///oauth-callback/").login_code()
    assert refused.value.step == 1


def test_the_registered_redirect_uri_is_configurable() -> None:
    with make_sim(redirect_uri="myapp://done") as sim:
        client = Client(sim, redirect_uri="myapp://done")
        code, verifier, _ = client.login_code()
        assert client.exchange(code, verifier).status_code == 200
        with pytest.raises(LoginError):
            Client(sim).login_code()  # car-net:///oauth-callback is not this one's


def test_token_refuses_a_redirect_uri_other_than_the_authorize_one(sim: Simulator) -> None:
    client = Client(sim)
    code, verifier, _ = client.login_code()
    r = client.exchange(code, verifier, redirect_uri="myapp://done")
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant"
    code, verifier, _ = client.login_code()
    r = client.exchange(code, verifier, redirect_uri="")  # sent at authorize: required here
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant"


def test_redirect_uri_may_be_left_out_of_both_requests(sim: Simulator) -> None:
    client = Client(sim)
    verifier, challenge = pkce()
    r1 = client.http.get(f"{sim.api_url}/oidc/v1/authorize",
                         params={"scope": "openid", "code_challenge": challenge, "state": "s2",
                                 "response_type": "code", "client_id": CLIENT_ID},
                         timeout=TIMEOUT)
    form = scrape(r1.text)["emailPasswordForm"]
    r2 = client.http.post(urljoin(r1.url, form["action"]),
                          data={**form["fields"], "email": DEMO_EMAIL}, timeout=TIMEOUT)
    form2 = scrape(r2.text)["credentialsForm"]
    r3 = client.http.post(urljoin(r2.url, form2["action"]),
                          data={**form2["fields"], "password": "demo"}, allow_redirects=False,
                          timeout=TIMEOUT)
    while not r3.headers["Location"].startswith("car-net:"):
        r3 = client.http.get(urljoin(r3.url, r3.headers["Location"]), allow_redirects=False,
                             timeout=TIMEOUT)
    location = r3.headers["Location"]
    assert location.startswith("car-net:///oauth-callback?state=s2&code=")
    code = location.rsplit("code=", 1)[1]
    r = client.http.post(f"{sim.api_url}/oidc/v1/token",
                         data={"grant_type": "authorization_code", "code": code,
                               "client_id": CLIENT_ID, "code_verifier": verifier},
                         timeout=TIMEOUT)
    assert r.status_code == 200, r.text


def test_template_model_password_page(sim: Simulator) -> None:
    assert sim_fault(sim, {"kind": "password_page", "variant": "template_model"}).ok
    client = Client(sim)
    _verifier, challenge = pkce()
    r1 = client.authorize(challenge, "s")
    form = scrape(r1.text)["emailPasswordForm"]
    r2 = client.http.post(urljoin(r1.url, form["action"]),
                          data={**form["fields"], "email": DEMO_EMAIL}, timeout=TIMEOUT)
    assert "credentialsForm" not in r2.text
    ET.fromstring(r2.content)
    model = scrape_template_model(r2.text)
    assert model["postAction"] == "login/authenticate"
    assert model["_csrf"] == form["fields"]["_csrf"]
    assert re.fullmatch(r"[0-9a-f]{64}", model["hmac"])
    # and the whole login works with a client that reads either page
    client.login()
    assert client.enrollment().status_code == 200


def test_refresh_rotates_and_requires_the_verifier(sim: Simulator) -> None:
    client = Client(sim).login()
    first = dict(client.tokens)
    assert client.refresh(verifier="").status_code == 400  # code_verifier missing
    assert client.refresh(verifier="0" * 64).status_code == 400  # not the original
    r = client.refresh()
    assert r.status_code == 200
    new = r.json()
    assert set(new) == set(first)
    assert new["refresh_token"] != first["refresh_token"]
    assert new["access_token"] != first["access_token"]
    client.tokens = first
    assert client.refresh().status_code == 401  # the old refresh token is spent
    client.tokens = new
    assert client.enrollment().status_code == 200


def test_tokens_expire() -> None:
    with make_sim(token_ttl=1) as sim:
        client = Client(sim).login()
        assert client.tokens["expires_in"] == 1
        assert client.enrollment().status_code == 200
        time.sleep(1.1)
        assert client.status(EV_VIN).status_code == 401
        r = client.refresh()
        assert r.status_code == 200
        client.tokens = r.json()
        assert client.status(EV_VIN).status_code == 200


def test_expire_tokens_invalidates_everything(sim: Simulator) -> None:
    client = Client(sim).login()
    assert client.command("PUT", EV_VIN, "status/fresh").status_code == 200
    old = dict(client.tokens)
    assert requests.post(f"{sim.api_url}/_sim/expire_tokens", timeout=TIMEOUT).ok
    assert client.enrollment().status_code == 401
    assert client.refresh().status_code == 401
    client.login()
    assert client.tokens["access_token"] != old["access_token"]
    r = client.command("PUT", EV_VIN, "status/fresh")  # the old TSP token
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "INVALID_TSP_TOKEN"


def test_login_change_demands_a_field(sim: Simulator) -> None:
    assert sim_fault(sim, {"kind": "login_change", "require_field": "play_integrity_token",
                           "value": "ok"}).ok
    client = Client(sim)
    code, verifier, _ = client.login_code()
    r = client.exchange(code, verifier)
    assert r.status_code == 401
    assert r.json() == {"errorCode": "INVALID_REQUEST", "origin": "CarnetSPAuthorizationServer"}
    code, verifier, _ = client.login_code()
    assert client.exchange(code, verifier, play_integrity_token="bad").status_code == 401
    code, verifier, _ = client.login_code()
    assert client.exchange(code, verifier, play_integrity_token="ok").status_code == 200
    assert requests.delete(f"{sim.api_url}/_sim/fault", timeout=TIMEOUT).ok
    code, verifier, _ = client.login_code()
    assert client.exchange(code, verifier).status_code == 200
