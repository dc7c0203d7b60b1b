"""What the public Car-Net app clients of 2022 and 2023 did, and the real service took:
form fields as query parameters with an empty body, only the cookies of the page they
landed on, plain GETs down the redirect chain expecting absolute ``Location`` headers,
and the ``window._IDK`` password page read through ``templateModel.emailPasswordForm``."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

from carnet.simulator import Simulator
from tests.test_simulator_support import (
    CLIENT_ID,
    DEMO_EMAIL,
    DEMO_PASSWORD,
    EV_VIN,
    REDIRECT_URI,
    TIMEOUT,
    make_sim,
    scrape,
    sim_fault,
)

FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = make_sim()
    yield simulator
    simulator.stop()


def _idk(page: str) -> tuple[dict[str, Any], str]:
    model = json.loads(re.search(r"templateModel:\s*(\{.*\}),\s*\n", page).group(1))
    return model, re.search(r"csrf_token:\s*'([^']*)'", page).group(1)


def legacy_login(sim: Simulator) -> tuple[dict[str, Any], list[str]]:
    """Log in as those clients did; returns the tokens and every Location seen."""
    verifier = secrets.token_urlsafe(48)
    # unpadded, then "=" appended by hand ("VW fails the spec")
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=") + "="
    r1 = requests.get(f"{sim.api_url}/oidc/v1/authorize", params={
        "redirect_uri": REDIRECT_URI, "scope": "openid", "prompt": "login",
        "code_challenge": challenge, "state": "legacy", "response_type": "code",
        "client_id": CLIENT_ID}, timeout=TIMEOUT)
    locations = [h.headers["Location"] for h in r1.history]
    fields = scrape(r1.text)["emailPasswordForm"]["fields"]
    # the fields in the query string, an empty body, the landing page's cookies only
    r2 = requests.post(urljoin(r1.url, scrape(r1.text)["emailPasswordForm"]["action"]),
                       params={**fields, "email": DEMO_EMAIL}, data=b"", headers=FORM,
                       cookies=r1.cookies, timeout=TIMEOUT)
    locations += [h.headers["Location"] for h in r2.history]
    model, csrf = _idk(r2.text)
    email = model["emailPasswordForm"]["email"]
    app_id = urlsplit(r2.url).path.split("/")[3]
    r3 = requests.post(urljoin(r2.url, f"/signin-service/v1/{app_id}/{model['postAction']}"),
                       params={"_csrf": csrf, "relayState": model["relayState"],
                               "hmac": model["hmac"], "email": email,
                               "password": DEMO_PASSWORD},
                       data=b"", headers=FORM, cookies=r2.cookies, allow_redirects=False,
                       timeout=TIMEOUT)
    location = r3.headers["Location"]
    while not location.startswith("car-net:"):
        locations.append(location)
        location = requests.get(location, allow_redirects=False,  # a plain GET, no cookies
                                timeout=TIMEOUT).headers["Location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    r4 = requests.post(f"{sim.api_url}/oidc/v1/token", params={
        "grant_type": "authorization_code", "code": code, "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI, "code_verifier": verifier}, data=b"", headers=FORM,
        timeout=TIMEOUT)
    assert r4.status_code == 200, r4.text
    return r4.json(), locations


def test_a_2022_2023_client_logs_in_and_reads(sim: Simulator) -> None:
    assert sim_fault(sim, {"kind": "password_page", "variant": "template_model"}).ok
    tokens, locations = legacy_login(sim)
    assert locations and all(loc.startswith("http://") for loc in locations)
    bearer = {"authorization": f"Bearer {tokens['access_token']}"}
    enrollment = requests.get(f"{sim.api_url}/account/v1/enrollment/status",
                              params={"idToken": tokens["id_token"]}, headers=bearer,
                              timeout=TIMEOUT)
    assert enrollment.status_code == 200
    vehicle = next(e for e in enrollment.json()["data"]["vehicleEnrollmentStatus"]
                   if e["vehicle"]["vin"] == EV_VIN)
    status = requests.get(f"{sim.api_url}/rvs/v1/vehicle/{vehicle['vehicleId']}",
                          params={"idToken": tokens["id_token"]}, headers=bearer,
                          timeout=TIMEOUT)
    assert status.status_code == 200
    assert status.json()["data"]["powerStatus"]["battery"]["chargePercentRemaining"] == 80
    # the refresh with its fields in the query string too
    refresh = requests.post(f"{sim.api_url}/oidc/v1/token", params={
        "grant_type": "refresh_token", "client_id": CLIENT_ID,
        "refresh_token": tokens["refresh_token"], "code_verifier": "x"}, data=b"",
        headers=FORM, timeout=TIMEOUT)
    assert refresh.status_code == 400  # the verifier is checked, so the fields were read


def test_every_redirect_of_the_car_net_chain_is_absolute(sim: Simulator) -> None:
    from tests.test_simulator_support import Client
    client = Client(sim)
    client.login_code()
    log = requests.get(f"{sim.api_url}/_sim/requests", timeout=TIMEOUT).json()
    assert log and all(e["generation"] == "carnet" for e in log)
    session = requests.Session()
    r = session.get(f"{sim.api_url}/oidc/v1/authorize", params={
        "redirect_uri": REDIRECT_URI, "scope": "openid", "code_challenge": "a" * 43,
        "state": "s", "response_type": "code", "client_id": CLIENT_ID}, timeout=TIMEOUT)
    assert all(h.headers["Location"].startswith("http://") for h in r.history)
    assert "SESSION" in r.cookies  # the landing page carries the session cookie itself
