"""The per-account count of vendor requests over a rolling day, and what it decides."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from carnet.config import LimitsConfig
from carnet.runtime.ledger import (
    DAY,
    RequestLedger,
    budget_interval,
    cap_reached,
)
from carnet.vendor.carnet_app.errors import request_class
from carnet.vendor.protocol import RequestClass

EMAIL = "daniel@example.com"
IDENTITY = "https://identity.na.vwgroup.io"


def test_requests_are_classed_by_where_they_go() -> None:
    api = "https://b-h-s.spr.us00.p.con-veh.net"
    assert request_class(f"{IDENTITY}/oidc/v1/authorize?x=1", IDENTITY) == RequestClass.LOGIN
    assert request_class(f"{api}/oidc/v1/token", IDENTITY) == RequestClass.LOGIN
    assert request_class(f"{api}/ss/v1/user/1/vehicle/2/session", IDENTITY) == RequestClass.LOGIN
    climate = f"{api}/mps/v1/vehicles/1/status/climate/details"
    assert request_class(climate, IDENTITY) == RequestClass.COMMAND
    assert request_class(f"{api}/mps/v1/vehicles/1/status/fresh", IDENTITY) == RequestClass.COMMAND
    assert request_class(f"{api}/rvs/v1/vehicle/1", IDENTITY) == RequestClass.READ
    assert request_class(f"{api}/account/v1/enrollment/status", IDENTITY) == RequestClass.READ


def test_the_count_is_a_rolling_day_and_survives_a_restart(tmp_path: Path) -> None:
    now = time.time()
    ledger = RequestLedger(tmp_path, EMAIL)
    ledger.record(RequestClass.READ, now - DAY + 60)  # leaves the window in a minute
    for kind in (RequestClass.LOGIN, RequestClass.READ, RequestClass.COMMAND,
                 RequestClass.COMMAND):
        ledger.record(kind, now)
    assert ledger.counts(now) == {"login": 1, "reads": 2, "commands": 2}
    assert ledger.frees_at(now) == now + 60
    assert ledger.counts(now + 120) == {"login": 1, "reads": 1, "commands": 2}

    again = RequestLedger(tmp_path, EMAIL)  # a restart
    assert again.counts(now) == {"login": 1, "reads": 2, "commands": 2}
    (path,) = tmp_path.glob("requests-*.json")
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert EMAIL not in path.read_text()
    # Another account's counts are its own.
    assert RequestLedger(tmp_path, "other@example.com").total(now) == 0


def test_a_corrupt_or_foreign_file_counts_from_zero(tmp_path: Path, caplog) -> None:
    RequestLedger(tmp_path, EMAIL).record(RequestClass.READ)
    (path,) = tmp_path.glob("requests-*.json")
    for text in ("{not json", "[1, 2]", json.dumps({"account": "x", "requests": {}}),
                 json.dumps({"account": json.loads(path.read_text())["account"],
                             "requests": {"reads": ["x", True, -1e300, 1e300]}})):
        path.write_text(text)
        assert RequestLedger(tmp_path, EMAIL).total() == 0, text
    assert "counting from zero" in caplog.text


def test_polling_is_stretched_to_stay_within_its_share() -> None:
    limits = LimitsConfig(daily_requests=400, command_reserve=0.2)
    # 320 for polling, 48 of them token refreshes: 272 status reads a day.
    assert budget_interval(600, 1, 0, limits) == 600
    assert round(budget_interval(600, 2, 0, limits)) == round(2 * DAY / 272)
    assert round(budget_interval(120, 4, 0, limits)) == round(4 * DAY / 272)
    assert budget_interval(600, 2, 320, limits) == float("inf")  # the share is spent
    assert budget_interval(600, 1, 0, LimitsConfig(50, 0.2)) == float("inf")


def test_commands_are_refused_at_the_cap_with_when_it_frees(tmp_path: Path) -> None:
    now = time.time()
    ledger = RequestLedger(tmp_path, EMAIL)
    limits = LimitsConfig(daily_requests=50, command_reserve=0.2)
    for n in range(49):
        ledger.record(RequestClass.READ, now - DAY + 3600 + n)
    assert cap_reached(ledger, limits, now) is None
    ledger.record(RequestClass.COMMAND, now)
    refusal = cap_reached(ledger, limits, now)
    assert refusal is not None
    assert "50 requests in 24 h" in refusal and "limits.daily_requests 50" in refusal
    frees = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(now + 3600))
    assert f"frees up at {frees}" in refusal, refusal
