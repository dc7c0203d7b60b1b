"""The myVW commands' own per-account limit: only accepted commands count against it."""

from __future__ import annotations

import subprocess
import sys

from tests.test_simulator_myvw_support import MyvwClient
from tests.test_simulator_support import EV_VIN, make_sim

LOCK = "/lockunlock/v1/vehicle/{vid}"
HONK = "/honkflash/v1/vehicle/{vid}"
EV = "/ev/v1/vehicle/{vid}"


def test_only_accepted_commands_count_against_their_own_limit() -> None:
    # rate_limit is the Car-Net app's /mps/ limit: the myVW commands do not spend it
    with make_sim(rate_limit=1, myvw_command_limit=3, ev_command_gap=60) as sim:
        client = MyvwClient(sim).login()
        assert client.command("POST", EV_VIN, f"{EV}/charging/start",
                              {"actionMode": "immediate"}).status_code == 200
        for _ in range(3):  # retries the EV pacing refuses
            r = client.command("POST", EV_VIN, f"{EV}/charging/stop", {})
            assert r.json()["error"]["errorCode"] == "EV_THRESHOLD_EXCEEDED"
        for _ in range(3):  # bodies the endpoint does not take
            r = client.command("PUT", EV_VIN, LOCK, {"lock": "yes"})
            assert r.status_code == 400 and r.json()["error"]["errorCode"] == "INVALID_REQUEST"
        assert client.command("PUT", EV_VIN, LOCK, {"lock": False}).status_code == 200
        assert client.command("PUT", EV_VIN, HONK, {"horn": True, "lights": True}) \
            .status_code == 200
        over = client.command("PUT", EV_VIN, LOCK, {"lock": True})
        assert over.status_code == 429, over.text
        assert over.json()["error"]["errorCode"] == "TOO_MANY_REQUESTS"
        assert 1 <= int(over.headers["Retry-After"]) <= 60
        # over the limit, a bad body is still told what is accepted
        bad = client.command("PUT", EV_VIN, LOCK, {"lock": "yes"})
        assert bad.status_code == 400 and bad.json()["error"]["errorCode"] == "INVALID_REQUEST"


def test_a_refused_settings_command_keeps_nothing() -> None:
    with make_sim(myvw_command_limit=1, ev_command_gap=0) as sim:
        client = MyvwClient(sim).login()
        path = f"{EV}/charging/settings"
        settings = client.command("GET", EV_VIN, path).json()["data"]["chargingSettings"]
        assert settings["autoUnlockPlugWhenCharged"] == "off"
        assert client.command("PUT", EV_VIN, LOCK, {"lock": False}).status_code == 200
        r = client.command("PUT", EV_VIN, path, {**settings, "autoUnlockPlugWhenCharged": "on"})
        assert r.status_code == 429, r.text
        after = client.command("GET", EV_VIN, path).json()["data"]["chargingSettings"]
        assert after["autoUnlockPlugWhenCharged"] == "off"


def test_the_limit_is_an_option_with_a_default() -> None:
    with make_sim() as sim:
        assert sim.ctx.options.myvw_command_limit == 20
    out = subprocess.run([sys.executable, "-m", "carnet.simulator", "--help"],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    assert "--myvw-command-limit" in out and "Car-Net app (/mps/)" in out
