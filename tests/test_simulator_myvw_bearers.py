"""A vehicle token on an endpoint that takes the access token: a 403 in the myVW shape,
never a 401 that would send a client to refresh and sign in again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from carnet.simulator import Simulator
from tests.test_simulator_myvw_support import MyvwClient
from tests.test_simulator_support import EV_VIN, make_sim


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = make_sim()
    yield simulator
    simulator.stop()


def test_vehicle_token_on_access_token_endpoints_is_forbidden(sim: Simulator) -> None:
    client = MyvwClient(sim).login()
    vid, uid = client.vid(EV_VIN), client.user_id
    token = client.vehicle_token(EV_VIN)
    for method, path in [
            ("GET", f"/rvs/v1/vehicle/{vid}"),
            ("GET", f"/vhs/v2/vehicle/{vid}"),
            ("GET", "/account/v1/enrollment/status"),
            ("GET", "/account/v1/garage"),
            ("GET", f"/rrs/v1/privileges/user/{uid}/vehicle/{vid}"),
            ("GET", f"/ss/v1/user/{uid}/challenge"),
            ("POST", f"/ss/v1/user/{uid}/vehicle/{vid}/session")]:
        r = client.send(method, path, {} if method == "POST" else None, token=token)
        assert r.status_code == 403, (path, r.status_code, r.text)
        error = r.json()["error"]
        assert error["errorCode"] == "USER_NOT_AUTHORIZED", path
        assert "errorDescription" in error and "WWW-Authenticate" not in r.headers
    # the access token still reads them, and an unknown token is still a 401
    assert client.get(f"/rvs/v1/vehicle/{vid}").status_code == 200
    assert client.get(f"/rvs/v1/vehicle/{vid}", token="nonsense").status_code == 401
    assert client.get("/account/v1/garage", token="nonsense").status_code == 401
