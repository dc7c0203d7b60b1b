"""Shared helpers of the simulator tests: a client written from the API description.

The login helper performs the four steps exactly as the description tells: follow the
redirects of the authorize request, scrape the e-mail form, post it, scrape the password
form, post it, read ``code`` from the final ``car-net:`` Location, exchange it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import uuid
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

from carnet.simulator import Simulator, SimulatorOptions

CLIENT_ID = "2dae49f6-830b-4180-9af9-59dd0d060916@apps_vw-dilab_com"
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo"
DEMO_PIN = "1234"
EV_VIN = "WVWZZZAUZGW000001"
ICE_VIN = "3VWZZZ1KZLM000002"
ID4_VIN = "1V2GMPE2XMP000003"
REDIRECT_URI = "car-net:///oauth-callback"
TIMEOUT = 5


def make_sim(**overrides: Any) -> Simulator:
    """A started simulator; commands take effect at once unless ``apply_delay`` is given."""
    overrides.setdefault("apply_delay", 0.0)
    options = SimulatorOptions(**overrides)
    return Simulator(options).start()


def pkce(padded: bool = True) -> tuple[str, str]:
    """A 64-hex-character verifier and its S256 challenge (with ``=`` as in the description)."""
    verifier = secrets.token_hex(32)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode()
    return verifier, challenge if padded else challenge.rstrip("=")


class FormScraper(HTMLParser):
    """Collects every form: its id, action and hidden inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, dict[str, Any]] = {}
        self._current: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._current = {"action": a.get("action", ""), "fields": {}}
            self.forms[a.get("id", "")] = self._current
        elif tag == "input" and self._current is not None and a.get("type") == "hidden":
            self._current["fields"][a.get("name", "")] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def scrape(html: str) -> dict[str, dict[str, Any]]:
    parser = FormScraper()
    parser.feed(html)
    return parser.forms


def scrape_template_model(html: str) -> dict[str, str]:
    """The values of the later password page, which carries them in a script."""
    model = json.loads(re.search(r"templateModel:\s*(\{.*?\}),\n", html, re.S).group(1))
    csrf = re.search(r"csrf_token:\s*'([^']*)'", html).group(1)
    return {"hmac": model["hmac"], "relayState": model["relayState"],
            "postAction": model["postAction"], "_csrf": csrf}


class LoginError(Exception):
    def __init__(self, step: int, response: requests.Response, message: str) -> None:
        super().__init__(f"step {step}: {message} (HTTP {response.status_code})")
        self.step = step
        self.response = response


@dataclass
class Client:
    """A Car-Net client driving the simulator over HTTP."""

    sim: Simulator
    email: str = DEMO_EMAIL
    password: str = DEMO_PASSWORD
    pin: str = DEMO_PIN
    redirect_uri: str = REDIRECT_URI
    http: requests.Session = field(default_factory=requests.Session)
    tokens: dict[str, Any] = field(default_factory=dict)
    verifier: str = ""
    profile: dict[str, Any] = field(default_factory=dict)
    tsp_tokens: dict[str, str] = field(default_factory=dict)

    # ---- login ------------------------------------------------------------------------

    def authorize(self, challenge: str, state: str) -> requests.Response:
        """Step 1: the authorize request, following its redirects to the e-mail page."""
        return self.http.get(
            f"{self.sim.api_url}/oidc/v1/authorize",
            params={"redirect_uri": self.redirect_uri, "scope": "openid",
                    "prompt": "login", "code_challenge": challenge, "state": state,
                    "response_type": "code", "client_id": CLIENT_ID},
            timeout=TIMEOUT)

    def login_code(self, padded: bool = True) -> tuple[str, str, str]:
        """Steps 1-3; returns (code, verifier, state)."""
        verifier, challenge = pkce(padded)
        state = str(uuid.uuid4())
        r1 = self.authorize(challenge, state)
        form1 = scrape(r1.text).get("emailPasswordForm")
        if r1.status_code != 200 or form1 is None:
            raise LoginError(1, r1, "no e-mail form")
        fields = form1["fields"]
        csrf, relay = fields["_csrf"], fields["relayState"]
        r2 = self.http.post(urljoin(r1.url, form1["action"]),
                            data={"_csrf": csrf, "relayState": relay, "email": self.email,
                                  "hmac": fields["hmac"]}, timeout=TIMEOUT)
        form2 = scrape(r2.text).get("credentialsForm")
        if form2 is not None:
            hmac, action = form2["fields"]["hmac"], urljoin(r2.url, form2["action"])
        elif "templateModel" in r2.text:
            model = scrape_template_model(r2.text)
            hmac = model["hmac"]
            action = urljoin(r2.url, f"/signin-service/v1/{_app_id(r2.url)}/{model['postAction']}")
        else:
            raise LoginError(2, r2, "no password form")
        r3 = self.http.post(action, data={"_csrf": csrf, "relayState": relay, "email": self.email,
                                          "hmac": hmac, "password": self.password},
                            allow_redirects=False, timeout=TIMEOUT)
        for _ in range(10):
            location = r3.headers.get("Location", "")
            if r3.status_code not in (301, 302, 303, 307) or location.startswith(
                    self.redirect_uri):
                break
            r3 = self.http.get(urljoin(r3.url, location), allow_redirects=False,
                               timeout=TIMEOUT)
        location = r3.headers.get("Location", "")
        if r3.status_code != 302 or not location.startswith(f"{self.redirect_uri}?"):
            raise LoginError(3, r3, "no redirect to the client")
        query = parse_qs(urlsplit(location).query)
        if query["state"] != [state]:
            raise LoginError(3, r3, "state not echoed")
        return query["code"][0], verifier, state

    def exchange(self, code: str, verifier: str, **extra: str) -> requests.Response:
        """Step 4."""
        return self.http.post(
            f"{self.sim.api_url}/oidc/v1/token",
            data={"grant_type": "authorization_code", "code": code, "client_id": CLIENT_ID,
                  "redirect_uri": self.redirect_uri, "code_verifier": verifier,
                  **extra},
            headers={"accept": "*/*", "user-agent": "Car-Net/60 CFNetwork/1121.2.2 Darwin/19.3.0"},
            timeout=TIMEOUT)

    def login(self) -> Client:
        code, verifier, _ = self.login_code()
        r = self.exchange(code, verifier)
        assert r.status_code == 200, r.text
        self.tokens, self.verifier = r.json(), verifier
        return self

    def refresh(self, verifier: str | None = None) -> requests.Response:
        data = {"grant_type": "refresh_token", "client_id": CLIENT_ID,
                "refresh_token": self.tokens["refresh_token"]}
        if verifier != "":
            data["code_verifier"] = verifier or self.verifier
        return self.http.post(f"{self.sim.api_url}/oidc/v1/token", data=data, timeout=TIMEOUT)

    # ---- API --------------------------------------------------------------------------

    def bearer(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.tokens['access_token']}"}

    def enrollment(self) -> requests.Response:
        r = self.http.get(f"{self.sim.api_url}/account/v1/enrollment/status",
                          params={"idToken": self.tokens["id_token"]}, headers=self.bearer(),
                          timeout=TIMEOUT)
        if r.status_code == 200:
            self.profile = r.json()["data"]
        return r

    def vehicle(self, vin: str) -> dict[str, Any]:
        if not self.profile:
            assert self.enrollment().status_code == 200
        for entry in self.profile["vehicleEnrollmentStatus"]:
            if entry["vehicle"]["vin"] == vin:
                return entry
        raise KeyError(vin)

    def status(self, vin: str) -> requests.Response:
        return self.http.get(f"{self.sim.api_url}/rvs/v1/vehicle/{self.vehicle(vin)['vehicleId']}",
                             headers=self.bearer(), timeout=TIMEOUT)

    def health(self, vin: str) -> requests.Response:
        return self.http.get(f"{self.sim.api_url}/vhs/v2/vehicle/{self.vehicle(vin)['vehicleId']}",
                             headers=self.bearer(), timeout=TIMEOUT)

    def session(self, vin: str, pin: str | None = None) -> requests.Response:
        entry = self.vehicle(vin)
        user_id = self.profile["customer"]["userId"]
        r = self.http.post(
            f"{self.sim.api_url}/ss/v1/user/{user_id}/vehicle/{entry['vehicleId']}/session",
            json={"accountNumber": entry["rolesAndRights"]["tspAccountNum"],
                  "idToken": self.tokens["id_token"], "tspPin": pin or self.pin,
                  "tsp": entry["vehicle"]["tspProvider"]},
            headers={**self.bearer(), "content-type": "application/json;charset=UTF-8"},
            timeout=TIMEOUT)
        if r.status_code == 200:
            self.tsp_tokens[vin] = r.json()["data"]["tspToken"]
        return r

    def command(self, method: str, vin: str, suffix: str, headers: dict[str, str] | None = None,
                timeout: float = TIMEOUT, **fields: Any) -> requests.Response:
        """A /mps/ request with the body and headers of the description."""
        if vin not in self.tsp_tokens:
            assert self.session(vin).status_code == 200
        entry = self.vehicle(vin)
        body = {"tsp_token": self.tsp_tokens[vin], "email": self.email,
                "vw_id": self.profile["customer"]["vwId"], **fields}
        hdrs = {**self.bearer(), "content-type": "application/json;charset=UTF-8",
                "x-user-id": self.profile["customer"]["userId"], "x-user-agent": "mobile-ios",
                "x-app-uuid": str(uuid.uuid4())}
        hdrs.update(headers or {})
        url = (f"{self.sim.api_url}/mps/v1/vehicles/"
               f"{entry['rolesAndRights']['tspAccountNum']}/{suffix}")
        return self.http.request(method, url, json=body, headers=hdrs, timeout=timeout)


def _app_id(url: str) -> str:
    return urlsplit(url).path.split("/")[3]


def sim_get(sim: Simulator, path: str) -> Any:
    r = requests.get(f"{sim.api_url}/_sim/{path}", timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    return r.json()


def sim_vehicle(sim: Simulator, vin: str) -> dict[str, Any]:
    return next(v for v in sim_get(sim, "vehicles") if v["vin"] == vin)


def sim_patch(sim: Simulator, vin: str, changes: dict[str, Any]) -> requests.Response:
    return requests.patch(f"{sim.api_url}/_sim/vehicles/{vin}", json=changes, timeout=TIMEOUT)


def sim_fault(sim: Simulator, fault: dict[str, Any]) -> requests.Response:
    return requests.post(f"{sim.api_url}/_sim/fault", json=fault, timeout=TIMEOUT)
