"""The daemon's heartbeat file, which ``python -m carnet.app.health`` checks."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

_LOG = logging.getLogger(__name__)


def touch(path: str | Path) -> None:
    """Mark the daemon alive now: create the file if needed and set its time."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.touch(mode=0o600, exist_ok=True)  # an existing file only gets its time updated


class Heartbeat:
    """The heartbeat file of a running daemon, whose failures are logged once."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._failing = False
        # The periodic beat and a beat on demand may fail at the same moment: one line.
        self._lock = threading.Lock()

    def touch(self) -> None:
        """A state_dir that became unwritable is logged once, never a crash: the bridge
        still works, and a supervisor that reads the heartbeat restarts it, where the
        start-up check names the problem."""
        with self._lock:
            try:
                touch(self._path)
            except OSError as exc:
                if not self._failing:
                    _LOG.error("cannot write the heartbeat %s (%s); check state_dir",
                               self._path, exc.strerror or type(exc).__name__)
                self._failing = True
                return
            if self._failing:
                _LOG.info("the heartbeat %s is written again", self._path)
            self._failing = False
