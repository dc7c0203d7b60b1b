#!/usr/bin/env python3
"""The bridge daemon, as ``bridge.py --config FILE`` runs it, with time compressed.

``--scale K`` divides every interval of the bridge by K: the polling intervals, the
health interval, the enrollment refresh, the token-refresh margins (and myVW's margin
before a vehicle token's expiry), the TSP token lifetime the bridge assumes, the spacing
of TSP requests (``commands.min_interval``) and the rolling day of the daily request
budget (with ``polling.max_interval``). Paired with a simulator whose token lifetimes
are divided by the same K (and whose clock runs K times faster), K simulated hours pass
in one real hour with the same ratios between the bridge's and the vendor's timers.
Configuration validation refuses intervals under 60 s, so the scaled values are applied
to the loaded configuration with ``dataclasses.replace``; nothing else in the bridge
changes.

``--overrides JSON`` sets fields past validation too, e.g.
``{"commands": {"max_per_minute": 100000}}``, for benchmarks that must not be throttled.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from carnet.app import cli
from carnet.config import Config, load_config
from carnet.runtime import daemon, ledger, poller
from carnet.vendor.carnet_app import account_tokens
from carnet.vendor.carnet_app.tsp import TspChannel
from carnet.vendor.myvw_app import session, spin


def scaled(config: Config, k: float) -> Config:
    """Divide the bridge's intervals by ``k`` (see the module docstring)."""
    if k == 1:
        return config
    daemon.ENROLLMENT_EVERY /= k
    poller.FIRST_RETRY /= k
    account_tokens.TOKEN_MARGIN /= k
    session.TOKEN_MARGIN /= k
    spin.REUSE_MARGIN /= k  # the simulator's vehicle tokens are K times shorter
    TspChannel.TOKEN_TTL /= k
    ledger.DAY /= k  # the daily budget's rolling day, so polling stretches as it would
    polling = config.polling
    return replace(
        config,
        # TSP requests are spaced min_interval apart: unscaled, that spacing would outlast
        # the scaled token lifetimes.
        commands=replace(config.commands, min_interval=config.commands.min_interval / k),
        polling=replace(
            polling,
            interval=polling.interval / k,
            active_interval=polling.active_interval / k,
            health_interval=polling.health_interval / k,
            max_interval=polling.max_interval / k,
        ),
    )


def overridden(config: Config, overrides: dict[str, Any]) -> Config:
    changes: dict[str, Any] = {}
    for section, values in overrides.items():
        current = getattr(config, section)
        changes[section] = replace(current, **values) if isinstance(values, dict) else values
    return replace(config, **changes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--overrides", default="{}")
    args = parser.parse_args()
    config = overridden(scaled(load_config(args.config), args.scale), json.loads(args.overrides))
    cli.setup_logging(config.log_level)
    return cli.run_daemon(config, args.config)


if __name__ == "__main__":
    sys.exit(main())
