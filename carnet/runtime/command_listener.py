"""One command's way from the executor to its single result: its pending value shown,
the verification read that confirms it, and the commands still waiting for one."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from carnet.catalog.commands import Command
from carnet.catalog.model import CarriedOutBy
from carnet.catalog.table import entity
from carnet.runtime.collaborators import Collaborators
from carnet.runtime.job import Job, Outcome
from carnet.runtime.outcomes import Decision, OutcomeFollower, Step, outcome_deadline
from carnet.runtime.scheduler import Scheduler
from carnet.runtime.vehicle import VehicleRuntime, from_costly_part
from carnet.runtime.verification import SharedVerification
from carnet.vendor.protocol import Receipt


class Verifications:
    def __init__(self, scheduler: Scheduler, verify_after: float) -> None:
        # Commands the vendor accepted whose verification re-poll has not reported yet:
        # at shutdown the scheduler and readers stop, and these must still get a result.
        self._waiting: set[CommandListener] = set()
        self._lock = threading.Lock()
        # The last command sent per (vehicle, attribute): a verification that finds another
        # value learns whether a newer command, not the car, changed it.
        self._latest: dict[tuple[str, str], Command] = {}
        self.costly_checks = SharedVerification(scheduler, verify_after)

    def note_sent(self, command: Command) -> None:
        with self._lock:
            self._latest[(command.vehicle, command.attribute)] = command

    def newer_than(self, command: Command) -> Command | None:
        """The command sent after ``command`` for the same attribute, if any."""
        with self._lock:
            latest = self._latest.get((command.vehicle, command.attribute))
        return None if latest is None or latest is command else latest

    def add(self, listener: CommandListener) -> None:
        with self._lock:
            self._waiting.add(listener)

    def discard(self, listener: CommandListener) -> None:
        with self._lock:
            self._waiting.discard(listener)

    def abandon(self) -> None:
        """At shutdown: report every command still waiting for its verification."""
        with self._lock:
            waiting, self._waiting = list(self._waiting), set()
        for listener in waiting:
            listener.finish("unconfirmed", "the bridge stopped before the car confirmed it")


class CommandListener:
    """Follows one command from the executor to its single result."""

    def __init__(
        self,
        verifications: Verifications,
        result: Callable[[Command, str, str], None],
        parts: Collaborators,
        vehicle: VehicleRuntime,
        command: Command,
    ) -> None:
        self._verifications = verifications
        self._result = result
        self._parts = parts
        self._vehicle = vehicle
        self._command = command
        self._finished = False
        self._lock = threading.Lock()
        self._confirmed: Any = None  # the value the verification read must show

    def finish(self, status: str, detail: str) -> None:
        """Send the command's one result; later calls (a late verification) do nothing."""
        with self._lock:
            if self._finished:
                return
            self._finished = True
        self._verifications.discard(self)
        self._result(self._command, status, detail)

    def done(self, job: Job, outcome: Outcome) -> None:
        self._drop_pending()  # shown while it waited; it was never sent
        self.finish(outcome.status, outcome.detail)

    def waiting(self, seconds: float, reason: str) -> None:
        """It waits for the account's budget: show its pending value now, as if sent."""
        command, vehicle = self._command, self._vehicle
        spec = entity(command.attribute).command
        pending = spec.pending(command.value) if spec else None
        if pending is None:
            return
        with vehicle.lock:
            vehicle.pending[command.attribute] = pending
            vehicle.pending_owner[command.attribute] = id(command)
        self._parts.publish_vehicle(vehicle)

    def _drop_pending(self) -> None:
        command, vehicle = self._command, self._vehicle
        with vehicle.lock:
            if vehicle.pending_owner.get(command.attribute) != id(command):
                return
            vehicle.pending.pop(command.attribute, None)
            vehicle.pending_owner.pop(command.attribute, None)
        self._parts.publish_vehicle(vehicle)

    def sent(self, job: Job, receipt: Receipt | None) -> None:
        """The vendor accepted it: show the pending value, then follow the outcome the
        vendor reports (``receipt``), else verify after ``verify_after``."""
        command, vehicle, parts = self._command, self._vehicle, self._parts
        self._verifications.note_sent(command)
        spec = entity(command.attribute).command
        pending = spec.pending(command.value) if spec else None
        confirmed = spec.confirmed(command.value) if spec else None
        with vehicle.lock:
            vehicle.sent_at[command.attribute] = time.monotonic()
            if pending is not None and confirmed is None and receipt is None:
                self._keep(pending)
            elif pending is not None:
                # With a receipt, a value nothing reads back is kept once the car did it.
                vehicle.pending[command.attribute] = pending
                vehicle.pending_owner[command.attribute] = id(command)
        if pending is not None:
            parts.publish_vehicle(vehicle)
        delay = parts.config.commands.verify_after
        if spec is not None and spec.by is CarriedOutBy.WAKE_UP:
            # The woken car reports within about 20 s: read the fresh status then.
            self._result(command, "ok", "wake-up sent; the status is read again shortly")
            parts.scheduler.later(delay, lambda: parts.poller.poll(vehicle))
            return
        self._confirmed = confirmed
        if receipt is not None:
            self._verifications.add(self)
            OutcomeFollower(
                vehicle.account.client, vehicle.api, vehicle.name, receipt, vehicle.account.reads,
                parts.scheduler, outcome_deadline(delay), self._outcome,
            ).start()
            return
        if confirmed is None:  # horn, lights, charge current: nothing to read back
            self.finish("ok", "accepted by the vendor")
            return
        self._verify_by_read()

    def _keep(self, value: Any) -> None:
        """Nothing reports this value back (the charge current): the bridge keeps it.
        The caller holds the vehicle's lock."""
        command, vehicle = self._command, self._vehicle
        vehicle.assumed[command.attribute] = value
        if entity(command.attribute).assumed_default is not None:
            vehicle.notes[command.attribute] = self._parts.assumed.remember(
                vehicle.api.vin, command.attribute, value
            )
        if vehicle.pending_owner.get(command.attribute) == id(command):
            vehicle.pending.pop(command.attribute, None)  # shown while it waited
            vehicle.pending_owner.pop(command.attribute, None)

    def _keep_pending(self) -> None:
        """The vendor accepted (or the car did) what nothing reads back: keep its value."""
        spec = entity(self._command.attribute).command
        pending = spec.pending(self._command.value) if spec else None
        if pending is None:
            return
        with self._vehicle.lock:
            self._keep(pending)
        self._parts.publish_vehicle(self._vehicle)

    def _verify_by_read(self) -> None:
        """Read the car after ``verify_after`` and compare: the vendor reported no outcome."""
        command, vehicle, parts = self._command, self._vehicle, self._parts
        if self._confirmed is None:  # the outcome stayed unknown: accepted is all we know
            self._keep_pending()
            self.finish("ok", "accepted by the vendor")
            return
        self._verifications.add(self)
        if from_costly_part(command.attribute, vehicle):
            # A costly part (the climate details) confirms a whole family of commands: one
            # read for them.
            self._verifications.costly_checks.add(
                vehicle.name, self, lambda then: parts.poller.poll(vehicle, then, costly=True)
            )
        else:
            parts.scheduler.later(parts.config.commands.verify_after, self._check_later)

    def _outcome(self, decision: Decision) -> None:
        """What the vendor said of the command (on the account's read queue)."""
        vehicle = self._vehicle
        if decision.step is Step.VERIFY:
            self._verify_by_read()
        elif decision.step is Step.REFUSED:
            self._drop_pending()
            self.finish("error", decision.detail)
        elif self._confirmed is None:
            self._keep_pending()
            self.finish("ok", decision.detail)
        else:
            self.finish("ok", decision.detail)
            # Read the car, so its state shows the new value before the pending one goes.
            costly = from_costly_part(self._command.attribute, vehicle)
            self._parts.poller.poll(vehicle, then=self._drop_pending, costly=costly)

    def still_wanted(self) -> bool:
        """Whether to read the car for it: not when a newer command replaced it meanwhile,
        because that one's check reads the car, and a climate read costs the budget."""
        newer = self._verifications.newer_than(self._command)
        if newer is not None:
            self.finish(
                "superseded", f"replaced by {newer.raw!r}, sent before this one was checked"
            )
            return False
        return True

    def _check_later(self) -> None:
        if self.still_wanted():
            self._parts.poller.poll(self._vehicle, then=self.verify)

    def verify(self) -> None:
        command, vehicle, confirmed = self._command, self._vehicle, self._confirmed
        with vehicle.lock:
            if vehicle.pending_owner.get(command.attribute) == id(command):
                vehicle.pending.pop(command.attribute, None)
                vehicle.pending_owner.pop(command.attribute, None)
            reported = vehicle.state.values.get(command.attribute) if vehicle.state else None
            online = vehicle.online
        self._parts.publish_vehicle(vehicle)
        newer = self._verifications.newer_than(command)
        if reported == confirmed:
            self.finish("ok", "confirmed by the car")
        elif newer is not None:
            # Not the car's refusal: a newer command changed the value before this check.
            self.finish(
                "superseded", f"replaced by {newer.raw!r}, sent before this one was confirmed"
            )
        elif not online:
            self.finish("unconfirmed", "the status could not be read to confirm it")
        else:
            self.finish(
                "unconfirmed",
                f"the car still reports {reported!r} "
                f"{self._parts.config.commands.verify_after:g} s after the command",
            )
