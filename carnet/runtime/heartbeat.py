"""The daemon's heartbeat file, which ``python -m carnet.app.health`` checks."""

from __future__ import annotations

from pathlib import Path


def touch(path: str | Path) -> None:
    """Mark the daemon alive now: create the file if needed and set its time."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.touch(mode=0o600, exist_ok=True)  # an existing file only gets its time updated
