"""A flood of commands (the overload figure): 200,000 QoS 0 ``/set`` messages as fast as
``mosquitto_pub`` sends them (quick: 20,000), against a default mosquitto.

Counted: the results (one per message, none twice), how many were answered "bridge
overloaded", how long until the last result, and the bridge's RSS before, at its peak,
right after the last result and a minute later (quick: 20 s), which must be back within
15 MB of the start.
"""

from __future__ import annotations

import json
import threading
import time

from bench.common import BASE, Lab, Table, wait_published, wait_until
from tests.support.flood import ResultCounter, flood

RSS_MARGIN_MB = 15.0


def flood_figures(table: Table, quick: bool) -> None:
    count = 20_000 if quick else 200_000
    settle = 20.0 if quick else 60.0
    # The recording probe would subscribe to the flood itself: the counter is enough.
    with Lab(rate_limit=1_000_000, daily_budget=10_000_000) as lab:
        lab.probe.client.unsubscribe(f"{BASE}/#")
        lab.probe.client.subscribe(f"{BASE}/+", qos=1)  # the vehicles' JSON documents
        daemon = lab.daemon(lab.config(commands={"min_interval": 0, "max_per_minute": 60}),
                            overrides={"commands": {"max_per_minute": 1_000_000}})
        if wait_published(lab, ["egolf", "jetta"], 30) is None:
            raise RuntimeError("bridge did not start:\n" + daemon.tail())
        time.sleep(2.0)
        before = daemon.rss_mb()
        counter = ResultCounter(lab.broker.port, f"{BASE}/egolf/result")
        peak = [before]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.1):
                peak[0] = max(peak[0], daemon.rss_mb())

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            payloads = [json.dumps({"horn_lights": "LIGHTS", "transaction": n})
                        for n in range(count)]
            started = time.monotonic()
            flood(lab.broker.port, f"{BASE}/egolf/set", payloads)
            sent = time.monotonic() - started
            complete = wait_until(lambda: len(counter.results) >= count, 300, 0.1)
            last = time.monotonic() - started
            after = daemon.rss_mb()
            time.sleep(settle)
            later = daemon.rss_mb()
            results = list(counter.results)
        finally:
            done.set()
            counter.close()
    transactions = [r["transaction"] for r in results if r["transaction"] is not None]
    overloaded = sum("bridge overloaded" in r["detail"] for r in results)
    twice = len(transactions) - len(set(transactions))
    table.add("flood", f"messages sent in {sent:.1f} s", count)
    table.add("flood", "results", len(results), f"= {count}", len(results) == count and complete)
    table.add("flood", "messages with two results", twice, "0", twice == 0)
    table.add("flood", "answered 'bridge overloaded'", overloaded)
    table.add("flood", "seconds to the last result", last)
    table.add("flood", "RSS before, MB", before)
    table.add("flood", "RSS peak, MB", peak[0])
    table.add("flood", "RSS after the last result, MB", after)
    table.add("flood", f"RSS {settle:.0f} s later, MB", later,
              f"<= {before + RSS_MARGIN_MB:.1f}", later <= before + RSS_MARGIN_MB)
