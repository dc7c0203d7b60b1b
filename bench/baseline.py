"""Running the naive baseline (``bench/naive.py``) and reading what it cost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

from bench.common import REPO, Lab


def run_naive(lab: Lab, accounts: list[tuple[str, str]]) -> dict[str, Any]:
    """One naive poll of ``accounts``: wall time, CPU (with its mosquitto_pub children),
    peak RSS, vehicles and messages. ``os.wait4`` gives the child's resource usage, which
    on Linux includes the children it waited for."""
    argv = [sys.executable, str(REPO / "bench" / "naive.py"), "--api", lab.sim.api_url,
            "--identity", lab.sim.identity_url, "--mqtt-port", str(lab.broker.port)]
    for email, password in accounts:
        argv += ["--account", f"{email}:{password}"]
    started = time.monotonic()
    process = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    if process.returncode != 0:
        raise RuntimeError(f"the naive script failed with exit code {process.returncode}")
    figures: dict[str, Any] = json.loads(output)
    figures.update(wall=wall, cpu=usage.ru_utime + usage.ru_stime, rss_mb=usage.ru_maxrss / 1024)
    return figures
