"""The curl walkthrough of the myVW requests works against the simulator, step by step."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from carnet.simulator import Simulator

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "curl_walkthrough_myvw.sh"


def test_curl_walkthrough_myvw(simulator: Simulator) -> None:
    for tool in ("curl", "openssl"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is needed for the walkthrough (apt-get install {tool})")
    run = subprocess.run(["bash", str(SCRIPT), simulator.api_url, simulator.identity_url],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()

    def after(title: str) -> str:
        return lines[lines.index(title) + 1]

    assert after("== The e-mail address; the password page carries window._IDK") == \
        "postAction login/authenticate"
    assert after("== The garage") == "e-Golf"
    assert after("== Charge summary") == "80"
    assert after("== The outcome") == "4101 : RO_DOOR_SUCCESS"
    assert after("== Vehicle status") == "UNLOCKED"
