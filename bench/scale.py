"""One process, many vehicles (figure 5): the simulator's fleet of 50 accounts with 4
vehicles each, polled at a 10-minute interval, compressed by a factor K like the poll
cost (``bench/daemon.py --scale``), for 2 (the demo account), 20 and 200 vehicles (quick
mode: 2 and 20, at K = 200). The
simulator's rate limit is lifted: its one-minute window is not compressed, so at K times
the speed the start-up's climate reads would meet it K times sooner than for real.

Per size: the first cycle (process start to every vehicle published: logins, enrollment,
first reads), the largest gap between two status reads of one vehicle over the interval
(at most 1.0 means every vehicle was polled within its interval), the CPU time per
steady poll cycle, RSS and peak threads. The naive script polls the same accounts once.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from typing import Any

from bench.baseline import run_naive
from bench.common import Lab, Table, demo_account, fleet_accounts, ratio, wait_until

SIZES = ((1, 2), (5, 4), (50, 4))  # accounts, vehicles each; 2 vehicles: the demo account
QUICK_SIZES = SIZES[:2]  # quick mode: 2 and 20 vehicles; 200 only in the full run
# The read pool's bound: accounts of the simulator's 500 x 2 fleet. The threads must not
# grow with them, and every vehicle must still be read within its interval.
THREAD_ACCOUNTS = (2, 100, 500)
QUICK_THREAD_ACCOUNTS = THREAD_ACCOUNTS[:2]


def scale(table: Table, quick: bool) -> None:
    k = 200.0 if quick else 40.0
    cycles = 2 if quick else 4
    interval = 600 / k
    with Lab(fleet=(50, 4), token_ttl=1800 / k, tsp_ttl=2700 / k, time_scale=k,
             rate_limit=1000, daily_budget=100_000) as lab:
        for accounts, per_account in QUICK_SIZES if quick else SIZES:
            fleet = fleet_accounts(accounts) if per_account == 4 else [demo_account()]
            one_size(lab, table, fleet, per_account, k, interval, cycles, quick)


def threads(table: Table, quick: bool) -> None:
    """Peak threads and the largest read gap at 2, 100 and 500 accounts of 2 vehicles."""
    k = 20.0  # 1,000 vehicles in a 30-s interval: the bench's own simulator keeps up
    interval = 600 / k
    with Lab(fleet=(500, 2), token_ttl=1800 / k, tsp_ttl=2700 / k, time_scale=k,
             rate_limit=100_000, daily_budget=100_000) as lab:
        for accounts in QUICK_THREAD_ACCOUNTS if quick else THREAD_ACCOUNTS:
            # 500 logins come first, one HTTP exchange after another per account.
            one_size(lab, table, fleet_accounts(accounts), 2, k, interval, 2, True,
                     patience=60 + accounts)


def one_size(lab: Lab, table: Table, fleet: list[dict[str, Any]], per_account: int,
             k: float, interval: float, cycles: int, quick: bool,
             patience: float | None = None) -> None:
    n = len(fleet) * per_account
    label = f"{len(fleet)} accounts, {n} vehicles"
    emails = {a["email"] for a in fleet}
    lab.clear_log()
    lab.probe.clear()
    # The daily budget is lifted like the simulator's rate limit: four cars an account at
    # the default interval are more than 400 requests a day, and this measures the load.
    daemon = lab.daemon(lab.config(accounts=fleet, mqtt={"client_id": f"carnet2mqtt-{n}"},
                                   limits={"daily_requests": 100000}), scale=k)

    documents: set[str] = set()
    scanned = 0

    def published() -> int:
        """Vehicles whose state document arrived; scans only what is new, because the
        probe holds thousands of discovery messages and shares this process's GIL with
        the simulator."""
        nonlocal scanned
        with lab.probe._lock:
            fresh = lab.probe.messages[scanned:]
            scanned += len(fresh)
        documents.update(m.topic for m in fresh if m.topic.count("/") == 1)
        return len(documents)

    if patience is None:
        patience = 60 if quick else 180
    if not wait_until(lambda: published() >= n, patience, 0.2):
        table.add("scale", f"{label}: state documents published within {patience} s",
                  f"{published()}/{n}", "all", False)
        daemon.stop()
        lab.daemons.remove(daemon)
        return
    first = time.time() - daemon.started
    cpu0, t0 = daemon.cpu_seconds(), time.time()
    time.sleep(cycles * interval)
    cpu_per_cycle = (daemon.cpu_seconds() - cpu0) / ((time.time() - t0) / interval) * 1000
    rss = daemon.rss_mb()
    reads: dict[str, list[float]] = {}
    for entry in lab.log(t0):
        if entry["path"].startswith("/rvs/") and entry["account"] in emails:
            reads.setdefault(entry["path"], []).append(entry["time"])
    gaps = [max(b - a for a, b in itertools.pairwise(times))
            for times in reads.values() if len(times) > 1]
    worst = max(gaps) / interval if gaps and len(reads) == n else float("nan")
    if len(reads) != n or (gaps and max(gaps) > 1.1 * interval):
        explain_misses(lab, daemon, emails, reads, t0, interval)
    daemon.stop()
    lab.daemons.remove(daemon)
    naive: dict[str, Any] | None = None
    if n <= (2 if quick else 20):
        naive = run_naive(lab, [(a["email"], a["password"]) for a in fleet])
    table.add("scale", f"{label}: first cycle incl. logins (s)", first,
              baseline=naive["wall"] if naive else "",
              ratio=ratio(first, naive["wall"]) if naive else "")
    table.add("scale", f"{label}: CPU per poll cycle (ms)", cpu_per_cycle,
              baseline=naive["cpu"] * 1000 if naive else "",
              ratio=ratio(cpu_per_cycle, naive["cpu"] * 1000) if naive else "")
    table.add("scale", f"{label}: vehicles read / largest gap (x interval)",
              f"{len(reads)}/{n}, {worst:.2f}", "all, <= 1.1", len(reads) == n and worst <= 1.1)
    table.add("scale", f"{label}: RSS (MB)", rss, "< 80 MB" if n == 200 else "",
              (rss < 80) if n == 200 else None,
              naive["rss_mb"] if naive else "", ratio(rss, naive["rss_mb"]) if naive else "")
    table.add("scale", f"{label}: peak threads", daemon.peak_threads)
    print(f"  {label}: peak threads {daemon.peak_threads}, every vehicle read within its"
          f" interval: {len(reads) == n and worst <= 1.1} (largest gap {worst:.2f})",
          flush=True)


def explain_misses(lab: Lab, daemon: Any, emails: set[str], reads: dict[str, list[float]],
                   t0: float, interval: float) -> None:
    """Which vehicles were not read in time, when they were read before, and what the
    bridge logged: the figures say that a vehicle was missed, this says why."""
    before: dict[str, tuple[str, float]] = {}
    for entry in lab.log(0):
        if entry["path"].startswith("/rvs/") and entry["account"] in emails:
            before[entry["path"]] = (entry["account"], entry["time"])
    missing = sorted(set(before) - set(reads))
    accounts = sorted({before[path][0] for path in missing})
    late = sorted(max(b - a for a, b in itertools.pairwise(times)) / interval
                  for times in reads.values() if len(times) > 1) or [0.0]
    total = sum(len(times) for times in reads.values())
    print(f"  missed: {len(missing)} vehicles of {len(accounts)} accounts "
          f"{accounts[:6]}; last read before the window (s before it): "
          f"{[round(t0 - before[p][1], 1) for p in missing[:6]]}; reads in the window "
          f"{total} ({total / (time.time() - t0):.1f}/s); gaps p50/p99 "
          f"{late[len(late) // 2]:.2f}/{late[int(len(late) * 0.99)]:.2f}", flush=True)
    # The bridge's log masks the accounts alike: its warnings, counted by kind.
    lines = daemon.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    kinds = Counter(" ".join(line.split()[3:7]) for line in lines if "WARNING" in line
                    or "ERROR" in line)
    for kind, count in kinds.most_common(6):
        print(f"    log: {count} x {kind}", flush=True)
