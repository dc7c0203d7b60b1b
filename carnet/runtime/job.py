"""A job of an account's executor, and the ways it can end.

The executor sends jobs; the dispatcher, the bridge requests and the poller say what each
is (a :class:`Work`: a user's command, or the bridge's own wake-up, health refresh or
climate read), hand it to ``Poller.submit``, the one road into the executor, and hear how
it ended. The outcome of a vendor failure is decided here, apart from the
queueing, so every road that spends the budget reports a failure in the same words.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from carnet.catalog.commands import Command
from carnet.core.errors import AuthError, BadRequest, CarNetError, PinRefused, VendorUnavailable
from carnet.vendor.protocol import Receipt


@dataclass(frozen=True)
class Outcome:
    status: str  # rejected | superseded | expired | error, or ok when nothing was sent
    detail: str


class JobListener(Protocol):
    """Who hears how a job ended: ``sent`` once the vendor accepted it, with the receipt
    that follows its outcome when the generation gives one; else ``done``."""

    def sent(self, job: Job, receipt: Receipt | None) -> None: ...

    def done(self, job: Job, outcome: Outcome) -> None: ...


@dataclass(frozen=True)
class Work:
    """What a job is, as the queue sees it: a user's command or the bridge's own request
    (a wake-up, a health refresh, a climate read) that spends the same budget."""

    vehicle: str  # vehicle topic name
    key: str  # a newer job with the same vehicle and key replaces a queued one
    shown: str  # what the job asks for, in logs and in "replaced by" results
    received: float = field(default_factory=time.monotonic)  # its age counts from here
    # The bridge's own request (a scheduled read): it goes after the owner's jobs.
    background: bool = False

    @classmethod
    def of(cls, command: Command) -> Work:
        return cls(command.vehicle, command.attribute, command.raw, command.received)


@dataclass
class Job:
    """What is to be done, the request that carries it out, and who wants to know."""

    work: Work
    send: Callable[[], Receipt | None]
    listener: JobListener
    # Why sending would change nothing (the car already is so), or None: then it is sent.
    unchanged: Callable[[], str | None] = lambda: None
    # Told once, with the seconds and the reason, when the command must wait to be sent.
    waiting: Callable[[float, str], None] = lambda seconds, reason: None


def vendor_failure(exc: CarNetError) -> Outcome:
    """How a job ends whose request the vendor failed (a 429 aside: that is waited out)."""
    if isinstance(exc, PinRefused):
        return Outcome("error", f"PIN refused, commands disabled: {exc}")
    if isinstance(exc, AuthError):
        return Outcome("error", f"login failed: {exc}")
    if isinstance(exc, VendorUnavailable):
        # Not retried: the car may have carried it out although the answer was lost.
        return Outcome(
            "error", f"vendor unavailable, not retried; the vendor may still carry it out: {exc}"
        )
    if isinstance(exc, BadRequest):
        return Outcome("error", f"vendor refused the request: {exc}")
    return Outcome("error", str(exc))
