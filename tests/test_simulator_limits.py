"""Per-account rate limit and daily budget of the TSP-token endpoints."""

from __future__ import annotations

from tests.test_simulator_support import EV_VIN, ICE_VIN, Client, make_sim, sim_fault


def test_rate_limit_per_account_with_retry_after() -> None:
    with make_sim(rate_limit=3, fleet=(1, 1)) as sim:
        client = Client(sim).login()
        assert client.session(EV_VIN).status_code == 200  # the session is not limited
        assert client.command("PUT", EV_VIN, "status/fresh").status_code == 200
        assert client.command("PUT", EV_VIN, "status/climate/details").status_code == 200
        # the limit is the account's, whatever the vehicle or token
        assert client.command("PUT", ICE_VIN, "status/fresh").status_code == 200
        r = client.command("PUT", EV_VIN, "status/exterior/doors", lock=True)
        assert r.status_code == 429
        retry = r.headers["Retry-After"]
        assert retry.isdigit() and 1 <= int(retry) <= 60
        # Bearer reads are not limited
        assert client.status(EV_VIN).status_code == 200
        assert client.health(EV_VIN).status_code == 200
        # another account has its own window
        other = Client(sim, email="fleet-1@example.com", password="fleet").login()
        vin = other.profile["vehicleEnrollmentStatus"][0]["vehicle"]["vin"] if other.profile \
            else other.enrollment().json()["data"]["vehicleEnrollmentStatus"][0]["vehicle"]["vin"]
        assert other.command("PUT", vin, "status/fresh").status_code == 200


def test_daily_budget() -> None:
    with make_sim(rate_limit=100, daily_budget=4) as sim:
        client = Client(sim).login()
        for _ in range(4):
            assert client.command("PUT", EV_VIN, "status/fresh").status_code == 200
        r = client.command("PUT", EV_VIN, "status/fresh")
        assert r.status_code == 429
        assert int(r.headers["Retry-After"]) > 86_000


def test_rate_limit_fault() -> None:
    with make_sim(rate_limit=100) as sim:
        client = Client(sim).login()
        assert client.command("PUT", EV_VIN, "status/fresh").status_code == 200
        assert sim_fault(sim, {"kind": "rate_limit", "per_minute": 0}).ok
        r = client.command("PUT", EV_VIN, "status/fresh")
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        assert sim_fault(sim, {"kind": "rate_limit", "per_minute": 3}).ok
        assert client.command("PUT", EV_VIN, "status/fresh").status_code == 200
        assert client.command("PUT", EV_VIN, "status/fresh").status_code == 200
        assert client.command("PUT", EV_VIN, "status/fresh").status_code == 429
        assert sim_fault(sim, {"kind": "rate_limit", "per_minute": "x"}).status_code == 400
