"""Liveness from the daemon's own heartbeat, for container and service health checks.

"The process exists" says nothing about a bridge whose scheduler or dispatcher thread
has died. The daemon touches ``<state_dir>/heartbeat`` (:mod:`carnet.runtime.heartbeat`)
every 30 seconds while its working threads run, whether or not the broker and the vendor
answer (it rides out their outages by itself); this check fails once that file is older
than ``--max-age`` seconds::

    python -m carnet.app.health /state/heartbeat --max-age 120

Exit status 0 when healthy, 1 otherwise, with one line saying why.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

_LOG = logging.getLogger(__name__)

DEFAULT_MAX_AGE = 120.0


def check(
    path: str | Path, max_age: float = DEFAULT_MAX_AGE, now: float | None = None
) -> tuple[bool, str]:
    """``(healthy, reason)``. A file from the future (clock stepped back) counts as fresh:
    a wrong clock is not a dead daemon."""
    target = Path(path)
    try:
        modified = target.stat().st_mtime
    except FileNotFoundError:
        return (
            False,
            f"unhealthy: no heartbeat file at {target} (daemon not started or never connected)",
        )
    except OSError as exc:
        return False, f"unhealthy: cannot read {target}: {exc.strerror}"
    age = max(0.0, (time.time() if now is None else now) - modified)
    if age > max_age:
        return False, f"unhealthy: last heartbeat {age:.0f} s ago (more than {max_age:g} s)"
    return True, f"healthy: last heartbeat {age:.0f} s ago"


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} is not greater than 0")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m carnet.app.health",
        description="Exit 0 when the daemon's heartbeat file is recent, 1 otherwise.",
    )
    parser.add_argument("path", help="the heartbeat file, <state_dir>/heartbeat")
    parser.add_argument(
        "--max-age",
        type=_positive,
        default=DEFAULT_MAX_AGE,
        help=f"seconds after which the heartbeat is stale (default {DEFAULT_MAX_AGE:g})",
    )
    args = parser.parse_args(argv)
    healthy, reason = check(args.path, args.max_age)
    print(reason)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
