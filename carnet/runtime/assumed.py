"""Values only the bridge knows, because the car never reports them (the charge current).

The bridge shows the last value it set, flagged as assumed in the entity's JSON details;
before it ever set one, the catalog's ``assumed_default`` (what the car leaves the factory
with). What it set is kept in ``state_dir/assumed.json`` so a restart shows it again
instead of going back to the default. The file holds no secret; it is written atomically.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from carnet.catalog.table import ENTITIES

_LOG = logging.getLogger(__name__)

FILE_NAME = "assumed.json"


def default_note() -> dict[str, Any]:
    return {"assumed": True, "set_by": "nobody yet: the car's default until the bridge sets it"}


def set_note(set_at: str) -> dict[str, Any]:
    return {"assumed": True, "set_by": "this bridge", "set_at": set_at}


class AssumedStore:
    def __init__(self, state_dir: str | Path) -> None:
        self._path = Path(state_dir) / FILE_NAME
        self._lock = threading.Lock()
        self._data = self._load()

    def _load(self) -> dict[str, dict[str, dict[str, Any]]]:
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            _LOG.warning("%s unreadable (%s); starting from the defaults", self._path, exc)
            return {}
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            _LOG.warning("%s has an unknown shape; starting from the defaults", self._path)
            return {}
        return data

    def values(self, vin: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """The vehicle's assumed values and their JSON details: last set, else the default."""
        values: dict[str, Any] = {}
        notes: dict[str, dict[str, Any]] = {}
        with self._lock:
            stored = self._data.get(vin, {})
        for item in ENTITIES:
            if item.assumed_default is None:
                continue
            entry = stored.get(item.key)
            if isinstance(entry, dict) and "value" in entry:
                values[item.key] = entry["value"]
                notes[item.key] = set_note(str(entry.get("set_at", "")))
            else:
                values[item.key] = item.assumed_default
                notes[item.key] = default_note()
        return values, notes

    def remember(self, vin: str, key: str, value: Any) -> dict[str, Any]:
        """Keep what the bridge set; returns the JSON details to show with it."""
        set_at = datetime.now(UTC).isoformat(timespec="seconds")
        with self._lock:
            self._data.setdefault(vin, {})[key] = {"value": value, "set_at": set_at}
            self._write()
        return set_note(set_at)

    def _write(self) -> None:
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, temporary = tempfile.mkstemp(dir=self._path.parent, prefix=".assumed-")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(self._data, handle, sort_keys=True)
            os.replace(temporary, self._path)
        except OSError as exc:  # the value still shows; only a restart forgets it
            _LOG.warning("could not write %s: %s", self._path, exc)
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(temporary)
