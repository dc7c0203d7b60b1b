"""The curl walkthrough of the API description works against the simulator, step by step."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from carnet.simulator import Simulator

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "curl_walkthrough.sh"


def test_curl_walkthrough(simulator: Simulator) -> None:
    for tool in ("curl", "openssl"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is needed for the walkthrough (apt-get install {tool})")
    run = subprocess.run(
        ["bash", str(SCRIPT), simulator.api_url, simulator.identity_url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert (
        "code"
        in lines[
            lines.index(
                "== Auth step 3: the password; the last redirect goes to car-net:///oauth-callback"
            )
            + 1
        ]
    )
    assert "(96 characters)" in run.stdout
    assert lines[lines.index("== Vehicle status") + 1] == "LOCKED"
    assert lines[lines.index("== Health report") + 1] == "ALL_GOOD"
    assert lines[lines.index("== Unlock the doors") + 1] == "unlock_doors"
    assert lines[lines.index("== Climate settings") + 1] == "72"
