"""The myVW sign-in as the facts file shows it: the ``window._IDK`` page layout."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from carnet.simulator import Simulator
from tests.test_simulator_myvw_support import KOMBI, MyvwClient
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
