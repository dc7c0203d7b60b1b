"""A real mosquitto on a free port that a test starts, stops and restarts."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


class Broker:
    """mosquitto with anonymous access, no persistence, on 127.0.0.1:<port>."""

    def __init__(
        self, port: int | None = None, extra_config: str = "", anonymous: bool = True
    ) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            raise RuntimeError("mosquitto is not installed (apt-get install mosquitto)")
        self.binary = binary
        # A port the caller chose stays; a free one picked here may be taken by another
        # process (a parallel test worker) before mosquitto binds it: then pick again.
        self._port_chosen = port is not None
        self.port = port or free_port()
        self._anonymous = anonymous
        self._extra_config = extra_config
        self._dir = Path(tempfile.mkdtemp(prefix="carnet-broker-"))
        self._conf = self._dir / "mosquitto.conf"
        self._log = self._dir / "mosquitto.log"
        self._process: subprocess.Popen[bytes] | None = None

    def _write_config(self) -> None:
        self._conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            f"allow_anonymous {'true' if self._anonymous else 'false'}\n"
            "persistence false\n"
            # As root mosquitto drops to its own user, which cannot read the test's
            # private temporary files (password file, certificates).
            + ("user root\n" if os.geteuid() == 0 else "")
            + f"log_dest file {self._log}\n"
            # information: the "running" line that says this mosquitto holds the port
            "log_type error\nlog_type warning\nlog_type information\n" + self._extra_config
        )

    def start(self, timeout: float = 10.0) -> Broker:
        deadline = time.monotonic() + timeout
        while True:
            self._write_config()
            self._log.write_text("")
            self._process = subprocess.Popen(
                [self.binary, "-c", str(self._conf)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if self._wait_running(deadline):
                wait_for_port(self.port)
                self._port_chosen = True  # a restart comes back where clients look for it
                return self
            self._process.wait()
            self._process = None
            if time.monotonic() >= deadline:
                raise RuntimeError(
                    f"mosquitto did not start on 127.0.0.1:{self.port}:\n{self._log_text()}"
                )
            if self._port_chosen:  # released soon, as by a broker of the same test stopping
                time.sleep(0.05)
            else:
                self.port = free_port()

    def _wait_running(self, deadline: float) -> bool:
        """True once mosquitto logs that its listener is open; False when it exited.

        Only the log tells whether *this* mosquitto owns the port: another process's
        listener on it would answer a connection just the same."""
        assert self._process is not None
        while time.monotonic() < deadline:
            if " running" in self._log_text():
                return True
            if self._process.poll() is not None:
                return False
            time.sleep(0.01)
        self._process.kill()
        return False

    def _log_text(self) -> str:
        try:
            return self._log.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)
