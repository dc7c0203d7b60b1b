"""Memory, CPU and start-up of the daemon (figure 4), with the naive script for scale.

``bridge.py --config`` runs unchanged (every default) against its own simulator and
broker. The idle CPU is the daemon's own utime+stime over the idle period divided by the
period; it runs alongside the other benchmarks, which cannot inflate it because it counts
the daemon's CPU time only (its next poll is 10 minutes away, so it is idle throughout).
"""

from __future__ import annotations

import time

from bench.baseline import run_naive
from bench.common import DEMO_EMAIL, Daemon, Lab, Table, ratio, wait_published


class Footprint:
    def __init__(self, idle_minutes: float) -> None:
        self.idle = idle_minutes * 60
        self.lab = Lab()
        self.daemon: Daemon | None = None
        self.startup = self.rss_start = self.cpu_start = self.idle_from = 0.0

    def start(self) -> None:
        self.daemon = self.lab.daemon(self.lab.config(), plain=True)
        published = wait_published(self.lab, ["egolf", "jetta"], 60)
        if published is None:
            raise RuntimeError("bridge did not start:\n" + self.daemon.tail())
        self.startup = published - self.daemon.started
        time.sleep(2)  # discovery and bridge/info settle
        self.rss_start = self.daemon.rss_mb()
        self.cpu_start = self.daemon.cpu_seconds()
        self.idle_from = time.monotonic()

    def finish(self, table: Table) -> None:
        assert self.daemon is not None
        try:
            remaining = self.idle_from + self.idle - time.monotonic()
            if remaining > 0:
                print(f"  (waiting {remaining:.0f} s more for the idle CPU figure)", flush=True)
                time.sleep(remaining)
            idle = time.monotonic() - self.idle_from
            cpu = (self.daemon.cpu_seconds() - self.cpu_start) / idle * 100
            rss_end = self.daemon.rss_mb()
            naive = run_naive(self.lab, [(DEMO_EMAIL, "demo")])
            table.add("footprint", "RSS after start-up, 2 vehicles (MB)", self.rss_start,
                      "< 40 MB", self.rss_start < 40, naive["rss_mb"],
                      ratio(self.rss_start, naive["rss_mb"]))
            table.add("footprint", f"RSS after {idle / 60:.1f} idle min (MB)", rss_end)
            table.add("footprint", f"idle CPU over {idle / 60:.1f} min (% of a core)", cpu,
                      "< 1 %", cpu < 1)
            table.add("footprint", "start-up to first complete publish (s)", self.startup,
                      baseline=naive["wall"], ratio=ratio(self.startup, naive["wall"]))
            table.add("footprint", "peak threads, 2 vehicles", self.daemon.peak_threads)
        finally:
            self.lab.close()
