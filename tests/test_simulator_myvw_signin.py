"""The myVW sign-in as the facts file shows it: the ``window._IDK`` page layout and the
scope that must stay exactly ``openid``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from carnet.simulator import Simulator
from tests.test_simulator_myvw_support import KOMBI, MyvwClient, MyvwLoginError
from tests.test_simulator_support import TIMEOUT, make_sim, scrape


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = make_sim()
    yield simulator
    simulator.stop()


def test_idk_page_has_the_csrf_token_right_after_the_template_model(sim: Simulator) -> None:
    client = MyvwClient(sim)
    r = client.http.get(f"{sim.api_url}/oidc/v1/authorize", params={
        "redirect_uri": KOMBI, "scope": "openid", "code_challenge": "x" * 43,
        "state": "s", "response_type": "code", "client_id": client.client_id},
        timeout=TIMEOUT)
    form = scrape(r.text)["emailPasswordForm"]
    page = client.http.post(r.url.split("?")[0], data={**form["fields"], "email": client.email},
                            timeout=TIMEOUT).text
    layout = re.search(r"window\._IDK = \{\s*templateModel: \{.*\},\n\s*csrf_token: '([^']+)'",
                       page)
    assert layout is not None, page
    assert layout.group(1) == form["fields"]["_csrf"]


@pytest.mark.parametrize("scope", ["openid profile", "openid offline_access", "profile openid"])
def test_a_wider_scope_gives_no_code(sim: Simulator, scope: str) -> None:
    with pytest.raises(MyvwLoginError) as refused:
        MyvwClient(sim, scope=scope).login_code()
    assert refused.value.step == "no code"
    location = refused.value.response.headers["Location"]
    assert location.startswith(f"{KOMBI}?")
    assert parse_qs(urlsplit(location).query)["error"] == ["invalid_scope"]


def test_exactly_openid_gives_a_code(sim: Simulator) -> None:
    code, _verifier = MyvwClient(sim, scope="openid").login_code()
    assert code
