"""Following a command whose generation reports its outcome (a :class:`Receipt`).

Instead of re-reading the car after ``verify_after`` and comparing, the runtime asks the
vendor what became of the command every ``OUTCOME_POLL`` seconds, on the account's read
queue (never on the scheduler thread), until the vendor says it succeeded or failed.
When it stays pending too long, or asking fails, the command falls back to the
verification re-poll, so every command still ends in one result.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass

from carnet.core.errors import CarNetError
from carnet.runtime.reads import AccountReads
from carnet.runtime.scheduler import Scheduler
from carnet.vendor.protocol import CommandOutcome, Progress, Receipt, Vehicle, VendorClient

_LOG = logging.getLogger(__name__)

# Seconds between two questions about one command: a command reaches a car that is awake
# within a few seconds, and each question is a read that counts against the day's budget,
# so asking more often would spend reads without confirming sooner.
OUTCOME_POLL = 3.0
# The shortest time a command may stay pending before it falls back to the re-poll: a
# sleeping car takes up to a minute to wake and answer.
OUTCOME_PATIENCE = 60.0


class Step(enum.Enum):
    CONFIRMED = "confirmed"  # the car did it: result ok, then read the car
    REFUSED = "refused"  # the car refused: result error
    ASK_AGAIN = "ask_again"  # still pending: ask again after OUTCOME_POLL
    VERIFY = "verify"  # pending too long, or asking failed: the verification re-poll


@dataclass(frozen=True)
class Decision:
    step: Step
    detail: str = ""


def outcome_deadline(verify_after: float) -> float:
    """How long a command may stay pending before it is verified by re-poll instead."""
    return max(verify_after * 2, OUTCOME_PATIENCE)


def decide(outcome: CommandOutcome | None, asked: int, limit: float) -> Decision:
    """What to do after the ``asked``-th question, spaced ``OUTCOME_POLL`` apart; None
    when asking failed."""
    if outcome is None:
        return Decision(Step.VERIFY)
    if outcome.progress is Progress.SUCCEEDED:
        return Decision(Step.CONFIRMED, "confirmed by the car")
    if outcome.progress is Progress.FAILED:
        return Decision(Step.REFUSED, outcome.detail or "the car refused it")
    if (asked + 1) * OUTCOME_POLL > limit:
        return Decision(Step.VERIFY)
    return Decision(Step.ASK_AGAIN)


class OutcomeFollower:
    """Asks the vendor about one command until :func:`decide` settles it."""

    def __init__(
        self,
        client: VendorClient,
        vehicle: Vehicle,
        name: str,
        receipt: Receipt,
        reads: AccountReads,
        scheduler: Scheduler,
        limit: float,
        decided: Callable[[Decision], None],
    ) -> None:
        self._client = client
        self._vehicle = vehicle
        self._name = name
        self._receipt = receipt
        self._reads = reads
        self._scheduler = scheduler
        self._limit = limit
        self._decided = decided
        self._asked = 0
        self._key = f"outcome:{id(self)}"  # its own: never joined with another read

    def start(self) -> None:
        self._scheduler.later(OUTCOME_POLL, self._queue)

    def _queue(self) -> None:
        self._reads.enqueue(self._key, self._ask)

    def _ask(self) -> None:
        self._asked += 1
        try:
            outcome: CommandOutcome | None = self._client.outcome(self._vehicle, self._receipt)
        except CarNetError as exc:
            _LOG.warning("the outcome of a command to %s could not be read (%s); reading "
                         "the car instead", self._name, exc)
            outcome = None
        except Exception:  # a bug must not leave the command without a result
            _LOG.exception("reading the outcome of a command to %s failed", self._name)
            outcome = None
        decision = decide(outcome, self._asked, self._limit)
        if decision.step is Step.ASK_AGAIN:
            self._scheduler.later(OUTCOME_POLL, self._queue)
        else:
            self._decided(decision)
