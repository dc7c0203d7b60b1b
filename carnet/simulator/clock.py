"""The simulated clock: real time, optionally sped up, for the car's physics."""

from __future__ import annotations

import logging
import time

_LOG = logging.getLogger(__name__)


class SimClock:
    """Epoch seconds that advance ``scale`` times faster than real time.

    The clock starts at the real wall-clock time, so the status ``timestamp`` values look
    like the real service's, and moves with the monotonic clock so that a wall-clock jump
    cannot make the car's battery run backwards.
    """

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale
        self._epoch0 = time.time()
        self._mono0 = time.monotonic()

    def now(self) -> float:
        return self._epoch0 + (time.monotonic() - self._mono0) * self.scale


def real_now() -> float:
    """Monotonic real time, for token lifetimes and rate limits."""
    return time.monotonic()
