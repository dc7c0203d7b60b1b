#!/usr/bin/env python3
"""Soak: the bridge polls fast and carries out commands for ``--minutes``; RSS must stay flat.

The bridge runs as its own process (``bench/daemon.py`` with time compressed 60 times, so
it polls every 10 s), against the simulator and a mosquitto in this process. On top of the
scheduled polls, a ``poll`` bridge request goes every 2 s and a command every 5 s (lock,
unlock, lights in turn). The daemon's VmRSS is sampled every 30 s; the output is the RSS
at start (after the first full cycle) and at the end, and the samples in between.

    python bench/soak.py --minutes 10
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BASE, Lab, demo_account, wait_until

COMMANDS = (("egolf", "lock", "UNLOCK"), ("egolf", "lock", "LOCK"), ("jetta", "horn_lights",
                                                                       "LIGHTS"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--sample-every", type=float, default=30.0)
    args = parser.parse_args()

    with Lab(rate_limit=100000, daily_budget=10_000_000) as lab:
        config = lab.config([demo_account()], commands={"verify_after": 1, "min_interval": 0})
        daemon = lab.daemon(config, scale=60,
                            overrides={"commands": {"max_per_minute": 100000}})
        ready = wait_until(
            lambda: sum(m.topic.endswith("/availability") and m.text == "online"
                        for m in list(lab.probe.messages)) >= 2,
            60,
        )
        if not ready:
            print("the bridge did not come online:\n" + daemon.tail(), file=sys.stderr)
            return 1
        time.sleep(5)  # the first cycle's allocations (discovery, tokens) are not growth
        start_rss = daemon.rss_mb()
        started = time.monotonic()
        samples = [(0.0, start_rss)]
        print(f"RSS at start: {start_rss:.1f} MB (pid {daemon.pid})", flush=True)
        next_sample = started + args.sample_every
        next_command = started
        polls = commands = 0
        step = 0
        end = started + args.minutes * 60
        while time.monotonic() < end:
            if daemon.process.poll() is not None:
                print("the bridge exited:\n" + daemon.tail(), file=sys.stderr)
                return 1
            lab.probe.publish(f"{BASE}/bridge/request/poll", json.dumps({"transaction": polls}))
            polls += 1
            now = time.monotonic()
            if now >= next_command:
                vehicle, attribute, payload = COMMANDS[step % len(COMMANDS)]
                lab.probe.publish(f"{BASE}/{vehicle}/{attribute}/set", payload)
                step += 1
                commands += 1
                next_command = now + 5
            if now >= next_sample:
                rss = daemon.rss_mb()
                samples.append((now - started, rss))
                print(f"  {now - started:6.0f} s  RSS {rss:.1f} MB", flush=True)
                next_sample = now + args.sample_every
                lab.probe.clear()  # the benchmark's own memory, not the bridge's
            time.sleep(2)
        time.sleep(3)
        results = [m for m in lab.probe.messages if m.topic.endswith("/result")]
        end_rss = daemon.rss_mb()
        samples.append((time.monotonic() - started, end_rss))
        print(f"RSS at end:   {end_rss:.1f} MB after {args.minutes:g} min, {polls} poll "
              f"requests, {commands} commands ({len(results)} results in the last window)")
        print(f"growth: {end_rss - start_rss:+.1f} MB "
              f"({(end_rss - start_rss) / start_rss * 100:+.1f} %); "
              f"min {min(r for _, r in samples):.1f}, max {max(r for _, r in samples):.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
