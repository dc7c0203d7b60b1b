"""A real Node-RED for the README's flow: installed once from npm into a cache directory,
started on a free port with a temporary user directory, driven through its admin API.

``python -m tests.support.node_red`` installs it (``.ci/run`` does so before the tests);
when it is already in the cache that takes a fraction of a second.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from tests.support.broker import free_port

VERSION = "4.1.8"
"""Node-RED pinned, so a new release cannot change what the test runs against."""

INSTALL_TIMEOUT = 600.0
START_TIMEOUT = 60.0


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "carnet2mqtt" / "node-red"


def _red_js(prefix: Path) -> Path:
    return prefix / "node_modules" / "node-red" / "red.js"


def installed_version(prefix: Path) -> str | None:
    package = prefix / "node_modules" / "node-red" / "package.json"
    try:
        return str(json.loads(package.read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError):
        return None


def ensure_installed(prefix: Path | None = None) -> Path:
    """red.js of Node-RED ``VERSION`` in the cache, installed with npm when missing."""
    prefix = prefix or cache_dir()
    if installed_version(prefix) == VERSION and _red_js(prefix).exists():
        return _red_js(prefix)
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise RuntimeError(
            "Node-RED's test needs node and npm (apt-get install nodejs npm); "
            "bash .ci/run installs them"
        )
    prefix.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--omit=dev",
         f"node-red@{VERSION}"],
        capture_output=True, text=True, timeout=INSTALL_TIMEOUT,
    )
    if done.returncode != 0 or installed_version(prefix) != VERSION:
        raise RuntimeError(f"npm install node-red@{VERSION} failed:\n{done.stderr[-2000:]}")
    return _red_js(prefix)


class NodeRed:
    """Node-RED on 127.0.0.1:<free port>, its log kept in memory for assertions."""

    def __init__(self, red_js: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._user_dir = Path(tempfile.mkdtemp(prefix="carnet-node-red-"))
        self._lines: list[str] = []
        self._changed = threading.Condition()
        self._process = subprocess.Popen(
            [shutil.which("node") or "node", str(red_js), "--port", str(self.port),
             "--userDir", str(self._user_dir)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        threading.Thread(target=self._pump, daemon=True).start()
        self.wait_log("Server now running", START_TIMEOUT)

    def _pump(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            with self._changed:
                self._lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    def log(self) -> str:
        with self._changed:
            return "\n".join(self._lines)

    def wait_log(self, text: str, timeout: float = 20.0, count: int = 1) -> list[str]:
        """Wait until ``count`` log lines contain ``text``; those lines."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [line for line in self._lines if text in line]
                if len(found) >= count:
                    return found
                if self._process.poll() is not None:
                    raise AssertionError(f"Node-RED exited; log:\n{self.log()}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no {text!r} in Node-RED's log:\n{self.log()}")
                self._changed.wait(remaining)

    def deploy(self, flow: list[dict[str, Any]]) -> None:
        """A full deployment through the admin API, as a script or CI would do it."""
        import requests  # here: .ci/run installs Node-RED before the test dependencies

        response = requests.post(
            f"{self.url}/flows", json=flow, timeout=10,
            headers={"Node-RED-Deployment-Type": "full"},
        )
        assert response.status_code in (200, 204), response.text

    def flows(self) -> list[dict[str, Any]]:
        import requests

        return list(requests.get(f"{self.url}/flows", timeout=10).json())

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self._user_dir, ignore_errors=True)


if __name__ == "__main__":
    began = time.monotonic()
    path = ensure_installed()
    print(f"Node-RED {VERSION}: {path} ({time.monotonic() - began:.1f} s)", file=sys.stderr)
