"""A flood of commands and a counter of their results, both in processes of their own
(``mosquitto_pub``, ``mosquitto_sub``): in the measuring process they would share the
interpreter with a bridge under test, fall behind and lose messages in the broker."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from typing import Any

from tests.support.mqtt_probe import Probe


class ResultCounter:
    """``mosquitto_sub`` in its own process, keeping every result: a client in the test's
    process would share the interpreter with the bridge, fall behind during the flood and
    lose results in the broker's queue (1000 messages by default)."""

    def __init__(self, port: int, topic: str) -> None:
        self.results: list[dict[str, Any]] = []
        self._ready = threading.Event()
        self._process = subprocess.Popen(
            ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-q", "1", "-t", topic],
            stdout=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        marker = Probe(port, "test/none", client_id=f"marker-{time.monotonic_ns()}")
        try:
            while not self._ready.is_set():
                marker.publish(topic, "ready")
                self._ready.wait(0.2)
        finally:
            marker.close()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            if line.strip() == "ready":
                self._ready.set()
            else:
                self.results.append(json.loads(line))

    def close(self) -> None:
        self._process.terminate()
        self._process.wait(5)


def flood(port: int, topic: str, payloads: list[str]) -> None:
    """Publish every line at QoS 0, as fast as ``mosquitto_pub`` can."""
    subprocess.run(
        ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-q", "0", "-t", topic, "-l"],
        input="\n".join(payloads) + "\n",
        text=True,
        check=True,
        timeout=60,
    )
