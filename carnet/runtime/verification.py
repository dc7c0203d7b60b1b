"""One verification read for commands confirmed by the same read.

Climate, defrost, climate on battery and the target temperature are all confirmed by the
climate details, a TSP-token read that counts against the account's per-minute budget
like a command. Toggling four of them in Home Assistant would cost four commands and
four reads; sharing the read makes it four and one. A command sent while an earlier one
of its family still waits for its read joins that read, which then happens
``verify_after`` after the newest member, so every command is still read back no sooner
than ``verify_after`` after it was sent. A batch takes new members only for
``JOIN_WINDOW`` times ``verify_after`` after its first, so that a steady stream of
commands cannot postpone the first one's result for ever.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from carnet.runtime.scheduler import Scheduler, Timer


class Member(Protocol):
    def still_wanted(self) -> bool:
        """False when it ended meanwhile (a newer command replaced it): no read for it."""
        ...

    def verify(self) -> None:
        """After the read: compare what the car reports and send the one result."""
        ...


JOIN_WINDOW = 2.0

Read = Callable[[Callable[[], None]], None]  # reads the vehicle, then runs the callback


@dataclass
class _Batch:
    first: float
    job: Timer | None = None
    members: list[Member] = field(default_factory=list)
    done: bool = False


class SharedVerification:
    """Batches the verification reads of one kind, per vehicle."""

    def __init__(
        self, scheduler: Scheduler, verify_after: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._scheduler = scheduler
        self._verify_after = verify_after
        self._clock = clock
        self._batches: dict[str, _Batch] = {}
        self._lock = threading.Lock()

    def add(self, vehicle: str, member: Member, read: Read) -> None:
        """Verify ``member`` with the next shared read of ``vehicle``."""
        now = self._clock()
        with self._lock:
            batch = self._batches.get(vehicle)
            if batch is None or batch.done or now - batch.first > JOIN_WINDOW * self._verify_after:
                batch = _Batch(now)
                self._batches[vehicle] = batch
            batch.members.append(member)
            earlier, batch.job = batch.job, None
        # ``_run`` takes our lock on the scheduler thread: the scheduler is called without
        # ours held, so the two locks never nest.
        self._scheduler.cancel(earlier)
        job = self._scheduler.later(self._verify_after, lambda: self._run(vehicle, batch, read))
        with self._lock:
            batch.job = job

    def _run(self, vehicle: str, batch: _Batch, read: Read) -> None:
        with self._lock:
            if batch.done:
                return
            batch.done = True
            if self._batches.get(vehicle) is batch:
                del self._batches[vehicle]
            members = list(batch.members)
        wanted = [member for member in members if member.still_wanted()]
        if wanted:
            read(lambda: [member.verify() for member in wanted])
