"""A myVW client written from the facts file alone (``myvw-api.md``), for the simulator's
myVW tests: the login with ``kombi:///login`` and the ``window._IDK`` password page, the
token and refresh requests, the garage, the S-PIN session, reads and commands."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

from carnet.simulator import Simulator
from tests.test_simulator_support import DEMO_EMAIL, DEMO_PASSWORD, DEMO_PIN, TIMEOUT, scrape

MYVW_CLIENT_ID = "59992128-69a9-42c3-8621-7942041ba824_MYVW_ANDROID"
MYVW_CA_CLIENT_ID = "69eb3c39-d2be-4006-8197-37cc4971e8fe_MYVW_ANDROID"
MYVW_APP_ID = "b680e751-7e1f-4008-8ec1-3a528183d215@apps_vw-dilab_com"
MYVW_CA_APP_ID = "b43c9f82-b343-463d-8d11-e2d3940ce2a8@apps_vw-dilab_com"
KOMBI = "kombi:///login"
BROWSER = {"user-agent": "Mozilla/5.0 (Linux; Android 14) Chrome/126.0 Mobile Safari/537.36",
           "x-requested-with": "com.volkswagen.weconnect"}
APP = {"user-agent": "MyVW/1.0 Android", "content-version": "1"}


class MyvwLoginError(Exception):
    def __init__(self, step: str, response: requests.Response) -> None:
        super().__init__(f"{step}: HTTP {response.status_code}")
        self.step = step
        self.response = response


def idk_model(page: str) -> tuple[dict[str, Any], str]:
    """``templateModel`` and ``csrf_token`` of a ``window._IDK`` page."""
    model = re.search(r"templateModel:\s*(\{.*\}),\s*\n", page)
    csrf = re.search(r"csrf_token:\s*'([^']*)'", page)
    if model is None or csrf is None:
        raise ValueError("no window._IDK model on the page")
    return json.loads(model.group(1)), csrf.group(1)


def jwt_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def spin_hash(challenge: str, spin: str, upper: bool = False) -> str:
    digest = hashlib.sha512(f"{challenge}.{spin}".encode()).hexdigest()
    return digest.upper() if upper else digest


@dataclass
class MyvwClient:
    sim: Simulator
    email: str = DEMO_EMAIL
    password: str = DEMO_PASSWORD
    spin: str = DEMO_PIN
    client_id: str = MYVW_CLIENT_ID
    attestation: str | None = None  # play_integrity_token, when one is to be sent
    scope: str = "openid"
    http: requests.Session = field(default_factory=requests.Session)
    tokens: dict[str, Any] = field(default_factory=dict)
    verifier: str = ""
    user_id: str = ""
    garage: dict[str, Any] = field(default_factory=dict)
    vehicle_tokens: dict[str, str] = field(default_factory=dict)

    # ---- login ------------------------------------------------------------------------

    def login_code(self, padded: bool = True) -> tuple[str, str]:
        """Authorize, the e-mail page, the ``window._IDK`` password page, authenticate;
        returns (code, verifier)."""
        verifier = secrets.token_hex(64).upper()
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        state = str(uuid.uuid4())
        r1 = self.http.get(f"{self.sim.api_url}/oidc/v1/authorize", params={
            "redirect_uri": KOMBI, "scope": self.scope, "prompt": "login",
            "code_challenge": challenge.decode().rstrip("" if padded else "="),
            "code_challenge_method": "S256", "state": state, "response_type": "code",
            "client_id": self.client_id}, headers=BROWSER, timeout=TIMEOUT)
        form = scrape(r1.text).get("emailPasswordForm")
        if r1.status_code != 200 or form is None:
            raise MyvwLoginError("authorize", r1)
        r2 = self.http.post(urljoin(r1.url, form["action"]),
                            data={**form["fields"], "email": self.email}, headers=BROWSER,
                            timeout=TIMEOUT)
        hidden = scrape(r2.text).get("credentialsForm")
        if hidden is not None:  # the page with hidden inputs
            fields = dict(hidden["fields"])
            action = urljoin(r2.url, hidden["action"])
        else:
            try:
                model, csrf = idk_model(r2.text)
            except ValueError:
                raise MyvwLoginError("identifier", r2) from None
            if model.get("registerCredentialsPath") == "register":
                raise MyvwLoginError("unknown account", r2)
            app_id = urlsplit(r2.url).path.split("/")[3]
            action = urljoin(r2.url, f"/signin-service/v1/{app_id}/{model['postAction']}")
            fields = {"_csrf": csrf, "relayState": model["relayState"], "hmac": model["hmac"]}
        r3 = self.http.post(action, data={**fields, "email": self.email,
                                          "password": self.password},
                            headers=BROWSER, allow_redirects=False, timeout=TIMEOUT)
        location = r3.headers.get("Location", "")
        if "userId=" not in location:
            raise MyvwLoginError("authenticate", r3)
        self.user_id = parse_qs(urlsplit(location).query)["userId"][0]
        for _ in range(10):
            if location.startswith(KOMBI):
                break
            r3 = self.http.get(urljoin(r3.url, location), headers=BROWSER,
                               allow_redirects=False, timeout=TIMEOUT)
            location = r3.headers.get("Location", "")
        if not location.startswith(f"{KOMBI}?"):
            raise MyvwLoginError("redirect", r3)
        query = parse_qs(urlsplit(location).query)
        assert query["state"] == [state]
        if "code" not in query:
            raise MyvwLoginError("no code", r3)
        return query["code"][0], verifier

    def token_request(self, form: dict[str, str]) -> requests.Response:
        if self.attestation is not None:
            form = {**form, "play_integrity_token": self.attestation}
        return self.http.post(f"{self.sim.api_url}/oidc/v1/token", data=form,
                              headers=APP, timeout=TIMEOUT)

    def exchange(self, code: str, verifier: str) -> requests.Response:
        return self.token_request({"grant_type": "authorization_code", "code": code,
                                   "client_id": self.client_id, "redirect_uri": KOMBI,
                                   "code_verifier": verifier})

    def login(self) -> MyvwClient:
        code, verifier = self.login_code()
        r = self.exchange(code, verifier)
        assert r.status_code == 200, r.text
        self.tokens, self.verifier = r.json(), verifier
        return self

    def refresh(self, verifier: str | None = None) -> requests.Response:
        form = {"grant_type": "refresh_token", "client_id": self.client_id,
                "refresh_token": self.tokens["refresh_token"]}
        if verifier != "":
            form["code_verifier"] = verifier or self.verifier
        r = self.token_request(form)
        if r.status_code == 200:
            self.tokens = {**self.tokens, **r.json()}  # no new refresh token: keep the old
        return r

    # ---- API --------------------------------------------------------------------------

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {**APP, "authorization": f"Bearer {token or self.tokens['access_token']}"}

    def get(self, path: str, token: str | None = None, **params: str) -> requests.Response:
        return self.http.get(f"{self.sim.api_url}{path}", params=params,
                             headers=self.headers(token), timeout=TIMEOUT)

    def send(self, method: str, path: str, body: Any = None,
             token: str | None = None, **params: str) -> requests.Response:
        return self.http.request(method, f"{self.sim.api_url}{path}", json=body,
                                 params=params, headers=self.headers(token), timeout=TIMEOUT)

    def load_garage(self) -> dict[str, Any]:
        r = self.get("/account/v1/garage", idToken=self.tokens["id_token"])
        assert r.status_code == 200, r.text
        self.garage = r.json()["data"]
        return self.garage

    def vehicle(self, vin: str) -> dict[str, Any]:
        if not self.garage:
            self.load_garage()
        return next(v for v in self.garage["vehicles"] if v["vin"] == vin)

    def vid(self, vin: str) -> str:
        return str(self.vehicle(vin)["vehicleId"])

    def challenge(self) -> dict[str, Any]:
        r = self.get(f"/ss/v1/user/{self.user_id}/challenge")
        assert r.status_code == 200, r.text
        return dict(r.json()["data"])

    def session(self, vin: str, spin: str | None = None, challenge: str | None = None,
                upper: bool = False) -> requests.Response:
        challenge = challenge or self.challenge()["challenge"]
        body = {"idToken": self.tokens["id_token"],
                "spinHash": spin_hash(challenge, spin or self.spin, upper),
                "tsp": self.vehicle(vin)["tspProvider"]}
        r = self.send("POST", f"/ss/v1/user/{self.user_id}/vehicle/{self.vid(vin)}/session",
                      body)
        if r.status_code == 200:
            self.vehicle_tokens[vin] = r.json()["data"]["carnetVehicleToken"]
        return r

    def vehicle_token(self, vin: str) -> str:
        if vin not in self.vehicle_tokens:
            assert self.session(vin).status_code == 200
        return self.vehicle_tokens[vin]

    def command(self, method: str, vin: str, path: str, body: Any = None,
                **params: str) -> requests.Response:
        """A command with the vehicle token as bearer; ``path`` has ``{vid}``."""
        return self.send(method, path.format(vid=self.vid(vin)), body,
                         self.vehicle_token(vin), **params)

    def outcome(self, vin: str, correlation_id: str) -> dict[str, Any]:
        r = self.get(f"/history/v1/vehicle/{self.vid(vin)}/correlationId/{correlation_id}/ro/")
        assert r.status_code == 200, r.text
        return dict(json.loads(r.json()["data"]["responseBody"]))
