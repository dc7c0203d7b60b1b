"""Every vendor request of one account over a rolling 24 hours, by class, kept on disk.

Car-Net allows an account a few hundred requests a day (``shared/carnet-api.md``: owners
report blocking at roughly 480-550); past that, the account is locked out until the
next day. The bridge counts what it sends so that polling can slow down before that and
commands can be refused with a date instead of a lock-out. The count lives in
``state_dir`` (``requests-<hash>.json``, mode 0600, written atomically) so a restart
does not start the day from zero.

Classes: ``login`` (identity pages, token and TSP-session requests), ``reads`` (status,
health, enrollment) and ``commands`` (everything that takes a TSP token: commands,
wake-ups, climate reads).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import threading
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path

from carnet.config import LimitsConfig
from carnet.vendor.protocol import RequestClass
from carnet.vendor.tokens import account_key

_LOG = logging.getLogger(__name__)

DAY = 86400.0
# The name each request class is counted under, on disk and in bridge/info.
STORED_NAMES = {
    RequestClass.LOGIN: "login",
    RequestClass.READ: "reads",
    RequestClass.COMMAND: "commands",
}
CLASSES = tuple(STORED_NAMES.values())
_FORMAT = 1
# Token refreshes an account needs a day whatever the interval: a 30-minute access token.
TOKEN_REFRESHES_PER_DAY = 48


def budget_interval(base: float, vehicles: int, polling_used: int, limits: LimitsConfig) -> float:
    """The shortest poll interval that keeps an account's polling inside its share of
    ``limits.daily_requests`` (all but ``command_reserve``): infinite when that share is
    spent already. ``polling_used``: the login and read requests of the last 24 h."""
    share = limits.daily_requests * (1.0 - limits.command_reserve)
    room = share - TOKEN_REFRESHES_PER_DAY
    if polling_used >= share or room <= 0:
        return float("inf")
    return max(base, max(vehicles, 1) * DAY / room)


def cap_reached(
    ledger: RequestLedger, limits: LimitsConfig, now: float | None = None
) -> str | None:
    """Why a command must not be sent now (the day's requests are used up), or None."""
    now = time.time() if now is None else now
    total = ledger.total(now)
    if total < limits.daily_requests:
        return None
    frees = ledger.frees_at(now) or now
    when = datetime.fromtimestamp(frees, UTC).isoformat(timespec="minutes")
    return (f"daily request budget used up ({total} requests in 24 h, "
            f"limits.daily_requests {limits.daily_requests}); it frees up at {when}")


class RequestLedger:
    """The requests of one account in the last 24 hours. Thread-safe; the vendor
    client's :class:`~carnet.vendor.protocol.RequestRecorder`."""

    def __init__(self, state_dir: str | os.PathLike[str], email: str) -> None:
        self._dir = Path(state_dir)
        self._path = self._dir / f"requests-{account_key(email)[:32]}.json"
        self._account = account_key(email)
        self._lock = threading.Lock()
        self._sent: dict[str, deque[float]] = {name: deque() for name in CLASSES}
        self._warned = False
        self._load()

    def record(self, kind: RequestClass, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self._lock:
            self._sent[STORED_NAMES[kind]].append(now)
            self._expire(now)
            self._save()

    def counts(self, now: float | None = None) -> dict[str, int]:
        now = time.time() if now is None else now
        with self._lock:
            self._expire(now)
            return {name: len(times) for name, times in self._sent.items()}

    def total(self, now: float | None = None) -> int:
        return sum(self.counts(now).values())

    def frees_at(self, now: float | None = None) -> float | None:
        """When the oldest counted request leaves the 24 hours (epoch seconds)."""
        now = time.time() if now is None else now
        with self._lock:
            self._expire(now)
            oldest = [times[0] for times in self._sent.values() if times]
        return min(oldest) + DAY if oldest else None

    def _expire(self, now: float) -> None:
        for times in self._sent.values():
            while times and now - times[0] >= DAY:
                times.popleft()

    def _load(self) -> None:
        try:
            document = json.loads(self._path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            _LOG.warning("request count %s unreadable (%s); counting from zero", self._path,
                         type(exc).__name__)
            return
        if not isinstance(document, dict):
            document = {}
        sent = document.get("requests")
        if document.get("account") != self._account or not isinstance(sent, dict):
            _LOG.warning("request count %s is not this account's; counting from zero",
                         self._path)
            return
        now = time.time()
        for name in CLASSES:
            times = sent.get(name)
            if isinstance(times, list):
                valid = sorted(t for t in times if isinstance(t, int | float)
                               and not isinstance(t, bool) and 0 <= now - t < DAY)
                self._sent[name].extend(valid)

    def _save(self) -> None:
        """Write the counts atomically (lock held); a failure is logged once, not fatal."""
        document = {"format": _FORMAT, "account": self._account,
                    "requests": {name: list(times) for name, times in self._sent.items()}}
        try:
            self._dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self._dir, prefix=".requests-", suffix=".tmp")
            try:
                os.fchmod(fd, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(document, handle)
                os.replace(tmp, self._path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            if not self._warned:
                self._warned = True
                _LOG.warning("cannot write the request count to %s (%s); a restart will "
                             "count from zero", self._path, exc.strerror or type(exc).__name__)
