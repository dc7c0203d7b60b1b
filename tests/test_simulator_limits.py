"""Per-account rate limit and daily budget of the TSP-token endpoints, and the car's
battery protection against wake-ups in a row."""

from __future__ import annotations

import time

import pytest

from tests.test_simulator_support import (
    EV_VIN,
    ICE_VIN,
    Client,
    make_sim,
    sim_fault,
    sim_patch,
    sim_vehicle,
)


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


def _fresh_run(client: Client, vin: str, times: int) -> None:
    for _ in range(times):
        r = client.command("PUT", vin, "status/fresh")
        assert r.status_code == 200, r.text


def _refused(client: Client, vin: str) -> bool:
    r = client.command("PUT", vin, "status/fresh")
    if r.status_code == 200:
        return False
    assert r.status_code == 429, r.text
    assert r.json()["error"]["code"] == "VEHICLE_WAKEUP_LIMIT"
    assert "Retry-After" not in r.headers
    return True


def test_default_battery_protection_after_ten_wakeups_in_a_row() -> None:
    with make_sim(rate_limit=1000, daily_budget=100_000) as sim:
        client = Client(sim).login()
        _fresh_run(client, EV_VIN, 10)
        stamp = client.status(EV_VIN).json()["data"]["timestamp"]
        assert _refused(client, EV_VIN)
        # the refused wake-up changes nothing and is not counted
        assert client.status(EV_VIN).json()["data"]["timestamp"] == stamp
        assert sim_vehicle(sim, EV_VIN)["wakeups"] == 10
        # per vehicle: the other car of the account still answers
        assert client.command("PUT", ICE_VIN, "status/fresh").status_code == 200
        # reads and other commands are not refused
        assert client.status(EV_VIN).status_code == 200
        assert client.command("PUT", EV_VIN, "status/climate/details").status_code == 200


def test_a_genuine_change_ends_the_run_of_wakeups() -> None:
    with make_sim(rate_limit=1000, daily_budget=100_000, wakeup_limit=2) as sim:
        client = Client(sim).login()
        _fresh_run(client, EV_VIN, 2)
        assert _refused(client, EV_VIN)
        assert client.command("PUT", EV_VIN, "status/exterior/horn_and_lights",
                              horn=True, lights=True).status_code == 200
        assert _refused(client, EV_VIN)  # honking changes nothing the car reports
        assert client.command("PUT", EV_VIN, "status/exterior/doors",
                              lock=False).status_code == 200
        assert sim_vehicle(sim, EV_VIN)["wakeups"] == 0
        _fresh_run(client, EV_VIN, 2)
        assert _refused(client, EV_VIN)
        assert sim_patch(sim, EV_VIN, {"doors": {"frontLeft": "OPEN"}}).ok
        _fresh_run(client, EV_VIN, 2)
        assert _refused(client, EV_VIN)


def test_the_car_answers_again_once_the_window_passes() -> None:
    with make_sim(rate_limit=1000, daily_budget=100_000, wakeup_limit=2,
                  wakeup_window=0.6) as sim:
        client = Client(sim).login()
        _fresh_run(client, EV_VIN, 2)
        assert _refused(client, EV_VIN)
        time.sleep(0.7)
        _fresh_run(client, EV_VIN, 2)
        assert _refused(client, EV_VIN)


def test_battery_protection_can_be_switched_off() -> None:
    with make_sim(rate_limit=1000, daily_budget=100_000, wakeup_limit=0) as sim:
        client = Client(sim).login()
        _fresh_run(client, EV_VIN, 15)


def test_battery_protection_options_are_checked() -> None:
    with pytest.raises(ValueError, match="wakeup_limit"):
        make_sim(wakeup_limit=-1)
    with pytest.raises(ValueError, match="wakeup_window"):
        make_sim(wakeup_window=-1.0)
