"""Shared pieces of the benchmarks: the lab (broker, simulator, probe), the bridge as a
child process, /proc readings, percentiles and the result table.

The bridge always runs as its own process (``bench/daemon.py``, or ``bridge.py`` itself
for the footprint), so that its memory, threads and CPU time are its own and the
benchmark's clients never share its interpreter lock. The simulator and the recording
MQTT client live in the benchmark process; both clocks are this machine's wall clock, so
the simulator's request log and the probe's timestamps can be compared directly.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from carnet.runtime.daemon import wait_until  # noqa: E402
from carnet.simulator import Simulator, SimulatorOptions  # noqa: E402
from tests.support.broker import Broker  # noqa: E402
from tests.support.mqtt_probe import Probe, Received  # noqa: E402

DEMO_EMAIL = "demo@example.com"
EV_VIN = "WVWZZZAUZGW000001"
GAS_VIN = "3VWZZZ1KZLM000002"
BASE = "carnet2mqtt"
GENERATIONS = {"carnet": "Car-Net", "myvw": "myVW"}
"""The API generations (``accounts[].api``) and how the table names them."""
MYVW_UNTHROTTLED = {"ev_command_gap": 0.0, "myvw_command_limit": 1_000_000}
"""Simulator options that lift the myVW limits a benchmark of the bridge must not meet."""
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

__all__ = ["Probe", "Received"]


# --------------------------------------------------------------------------- figures


def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile (p in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ratio(value: float, baseline: float) -> str:
    if not baseline or math.isnan(value) or math.isnan(baseline):
        return "-"
    return f"{value / baseline:.2f}x"


def generations(choice: str) -> tuple[str, ...]:
    """``--api``: one generation, or ``both`` (Car-Net first)."""
    return tuple(GENERATIONS) if choice == "both" else (choice,)


@dataclass
class Row:
    section: str
    api: str
    figure: str
    value: str
    target: str = ""
    met: bool | None = None
    baseline: str = ""
    ratio: str = ""


@dataclass
class Table:
    """Every figure of a run, printed as one table at the end."""

    rows: list[Row] = field(default_factory=list)

    def add(self, section: str, figure: str, value: Any, target: str = "",
            met: bool | None = None, baseline: Any = "", ratio: str = "",
            api: str = "carnet") -> None:
        """One figure; ``api`` is the generation of the account measured (the benchmarks
        without ``--api`` run the Car-Net demo account)."""
        label = GENERATIONS[api]
        self.rows.append(Row(section, label, figure, _fmt(value), target, met, _fmt(baseline),
                             ratio))
        mark = "" if met is None else (" [met]" if met else " [MISSED]")
        extra = f" (naive {_fmt(baseline)}, {ratio})" if baseline != "" else ""
        print(f"  {section:<10} {label:<8} {figure}: {_fmt(value)}{extra}{mark}", flush=True)

    def render(self) -> str:
        header = ("section", "api", "figure", "value", "target", "met", "naive", "ratio")
        lines = [header] + [
            (r.section, r.api, r.figure, r.value, r.target,
             "" if r.met is None else ("yes" if r.met else "NO"), r.baseline, r.ratio)
            for r in self.rows
        ]
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        out = []
        for n, line in enumerate(lines):
            out.append("| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True))
                       + " |")
            if n == 0:
                out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        return "\n".join(out)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


# --------------------------------------------------------------------------- /proc


def proc_status(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        return dict(line.rstrip("\n").split(":\t", 1) for line in handle if ":\t" in line)


def rss_mb(pid: int) -> float:
    return int(proc_status(pid)["VmRSS"].split()[0]) / 1024.0


def threads(pid: int) -> int:
    return int(proc_status(pid)["Threads"])


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process (its own threads, not its children)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine() -> str:
    model = "?"
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (f"{os.cpu_count()} CPU(s), {model}, Python {sys.version.split()[0]}, "
            f"{os.uname().sysname} {os.uname().release}")


# --------------------------------------------------------------------------- the lab


class Lab:
    """A mosquitto, a simulator and a recording client, all on 127.0.0.1."""

    def __init__(self, broker_config: str = "", **sim_options: Any) -> None:
        # the demo account's two Car-Net-era cars, which the figures in docs/benchmarks.md
        # were measured with
        options = {"apply_delay": 0.0, "demo_id4": False, **sim_options}
        # No per-subscriber queue limit: mosquitto's default (1000 messages) silently drops
        # what the recording client has not read yet, e.g. a 200-vehicle start-up.
        self.broker = Broker(extra_config="max_queued_messages 0\n" + broker_config).start()
        self.sim = Simulator(SimulatorOptions(**options)).start()
        self.probe = Probe(self.broker.port, f"{BASE}/#", client_id=f"bench-{os.getpid()}")
        stamp_probe(self.probe)
        # The measuring client must not delay its own publishes behind an unacknowledged
        # PUBACK (Nagle's algorithm); the broker and the bridge keep their defaults.
        self.probe.client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.dir = Path(tempfile.mkdtemp(prefix="carnet-bench-"))
        self.daemons: list[Daemon] = []

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for daemon in self.daemons:
            daemon.stop()
        self.probe.close()
        self.sim.stop()
        self.broker.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # the simulator ---------------------------------------------------------

    def log(self, since: float = 0.0) -> list[dict[str, Any]]:
        return [r for r in self.sim.requests_log if r["time"] >= since]

    def clear_log(self) -> None:
        requests.delete(f"{self.sim.api_url}/_sim/requests", timeout=5).raise_for_status()

    def patch_vehicle(self, vin: str, **changes: Any) -> None:
        requests.patch(f"{self.sim.api_url}/_sim/vehicles/{vin}", json=changes,
                       timeout=5).raise_for_status()

    def vehicle(self, vin: str) -> dict[str, Any]:
        return requests.get(f"{self.sim.api_url}/_sim/vehicles/{vin}", timeout=5).json()

    # configuration ---------------------------------------------------------

    def config(self, accounts: list[dict[str, Any]] | None = None, **sections: Any) -> Path:
        """A configuration file for this lab; ``sections`` are merged over the defaults."""
        data: dict[str, Any] = {
            "mqtt": {"host": "127.0.0.1", "port": self.broker.port, "client_id": "carnet2mqtt"},
            "carnet": {"api_base": self.sim.api_url, "identity_base": self.sim.identity_url,
                       "timeout": 10},
            "accounts": accounts or [demo_account()],
            "state_dir": str(self.dir / f"state-{len(self.daemons)}-{time.monotonic_ns()}"),
            "log_level": "warning",
        }
        for key, value in sections.items():
            data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
        path = self.dir / f"config-{time.monotonic_ns()}.yaml"
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        return path

    def daemon(self, config: Path, scale: float = 1.0, overrides: dict[str, Any] | None = None,
               plain: bool = False) -> Daemon:
        daemon = Daemon(config, scale, overrides or {}, plain)
        self.daemons.append(daemon)
        return daemon

    # what the bridge published --------------------------------------------

    def messages(self, since: float = 0.0, under: str = "") -> list[Received]:
        with self.probe._lock:
            return [m for m in self.probe.messages
                    if m.topic.startswith(f"{BASE}/{under}") and getattr(m, "at", 0) >= since]


def demo_account(**vehicles: Any) -> dict[str, Any]:
    return {"email": DEMO_EMAIL, "password": "demo", "pin": "1234",
            "vehicles": {EV_VIN: {"name": "egolf"}, GAS_VIN: {"name": "jetta"}, **vehicles}}


def fleet_accounts(accounts: int) -> list[dict[str, Any]]:
    return [{"email": f"fleet-{i}@example.com", "password": "fleet", "pin": "1234"}
            for i in range(1, accounts + 1)]


def stamp_probe(probe: Probe) -> None:
    """Give every message the probe records its arrival time (``.at``, epoch seconds)."""
    original = probe._on_message

    def on_message(client: Any, userdata: Any, message: Any) -> None:
        original(client, userdata, message)
        with probe._lock:
            object.__setattr__(probe.messages[-1], "at", time.time())

    probe.client.on_message = on_message


# --------------------------------------------------------------------------- the bridge


class Daemon:
    """The bridge as a child process; ``plain`` runs ``bridge.py --config`` unchanged."""

    def __init__(self, config: Path, scale: float, overrides: dict[str, Any],
                 plain: bool) -> None:
        if plain:
            argv = [sys.executable, str(REPO / "bridge.py"), "--config", str(config)]
        else:
            argv = [sys.executable, str(REPO / "bench" / "daemon.py"), "--config", str(config),
                    "--scale", str(scale), "--overrides", json.dumps(overrides)]
        self.log_path = config.with_suffix(".log")
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.started = time.time()
        self.process = subprocess.Popen(argv, cwd=REPO, stdout=self._log,
                                        stderr=subprocess.STDOUT)
        self.pid = self.process.pid
        self.peak_threads = 0
        self._sampling = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _sample(self) -> None:
        while not self._sampling.wait(0.1) and self.process.poll() is None:
            try:
                self.peak_threads = max(self.peak_threads, threads(self.pid))
            except (OSError, KeyError):
                return

    def rss_mb(self) -> float:
        return rss_mb(self.pid)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def stop(self) -> None:
        self._sampling.set()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def tail(self, lines: int = 20) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(text[-lines:])


def wait_published(lab: Lab, names: Iterable[str], timeout: float) -> float | None:
    """Wait until every named vehicle's JSON document arrived; the time of the last one."""
    wanted = {f"{BASE}/{name}" for name in names}

    def seen() -> dict[str, float]:
        return {m.topic: m.at for m in lab.messages() if m.topic in wanted}  # type: ignore[attr-defined]

    if not wait_until(lambda: len(seen()) == len(wanted), timeout, 0.01):
        return None
    return max(seen().values())


def paths(entries: Iterable[dict[str, Any]], contains: str, method: str | None = None
          ) -> list[dict[str, Any]]:
    return [e for e in entries
            if contains in e["path"] and (method is None or e["method"] == method)]
