"""Inbound MQTT messages -> commands, bridge requests and discovery refreshes.

Runs on the dispatcher thread, never on paho's. Every ``/set`` message addressed to a
known vehicle ends in exactly one result per command in it: ``rejected`` at once when it
is invalid, retained, or not allowed, else whatever the executor and the verification
re-poll make of it. A message that names no known vehicle cannot be answered on a
vehicle's result topic; it is logged and dropped. Retained ``/set`` messages are refused
and deleted whatever vehicle they name: they arrive before the vehicles are known.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from carnet.catalog.commands import Command, Rejection, parse_set, parse_vehicle_set
from carnet.catalog.encoding import json_value
from carnet.catalog.model import CarriedOutBy
from carnet.catalog.table import entity, find
from carnet.core.errors import WakeupsUsedUp
from carnet.mqtt.link import Inbound
from carnet.runtime.bridge_requests import BridgeRequests
from carnet.runtime.collaborators import Collaborators
from carnet.runtime.job import Job, Outcome, Work
from carnet.runtime.ledger import cap_reached
from carnet.runtime.unchanged import unchanged_detail
from carnet.runtime.vehicle import VehicleRuntime, from_climate_details
from carnet.runtime.verification import SharedVerification

_LOG = logging.getLogger(__name__)


class Dispatcher:
    def __init__(self, parts: Collaborators) -> None:
        self._parts = parts
        self._topics = parts.topics
        self.requests = BridgeRequests(parts)
        # Commands the vendor accepted whose verification re-poll has not reported yet:
        # at shutdown the scheduler and readers stop, and these must still get a result.
        self._verifying: set[CommandListener] = set()
        self._verifying_lock = threading.Lock()
        # The last command sent per (vehicle, attribute): a verification that finds another
        # value learns whether a newer command, not the car, changed it.
        self._latest: dict[tuple[str, str], Command] = {}
        # Set topics whose retained command the bridge deleted. With MQTT 3.1.1 the deletion
        # comes back as a live empty message, which is no command. Dispatcher thread only.
        self._cleared: set[str] = set()
        self.climate_checks = SharedVerification(
            parts.scheduler, parts.config.commands.verify_after
        )

    def note_sent(self, command: Command) -> None:
        with self._verifying_lock:
            self._latest[(command.vehicle, command.attribute)] = command

    def newer_than(self, command: Command) -> Command | None:
        """The command sent after ``command`` for the same attribute, if any."""
        with self._verifying_lock:
            latest = self._latest.get((command.vehicle, command.attribute))
        return None if latest is None or latest is command else latest

    def abandon_verifications(self) -> None:
        """At shutdown: report every command still waiting for its verification."""
        with self._verifying_lock:
            waiting, self._verifying = list(self._verifying), set()
        for listener in waiting:
            listener.finish("unconfirmed", "the bridge stopped before the car confirmed it")

    def subscriptions(self) -> list[str]:
        return [
            *self._topics.set_filters(),
            self._topics.bridge_request_filter,
            self._topics.ha_status,
        ]

    def handle(self, message: Inbound) -> None:
        topics = self._topics
        if message.topic == topics.ha_status:
            if message.payload.strip().lower() == b"online":
                _LOG.info("Home Assistant came online: sending discovery and state again")
                self._parts.scheduler.later(0, self._parts.republish)
            return
        action = topics.parse_bridge_request(message.topic)
        if action is not None:
            self.requests.handle(action, message)
            return
        target = topics.parse_set(message.topic)
        if target is None:
            _LOG.warning("ignoring message on %s: not a topic the bridge answers", message.topic)
            return
        name, attribute = target
        if not message.payload and message.topic in self._cleared:
            self._cleared.discard(message.topic)  # our own deletion of a retained command
            return
        if message.retain:
            # Refused whatever the vehicle: retained commands arrive at every (re)connect,
            # before the vehicles are known, and must neither act nor stay on the broker.
            self._retained(name, attribute, message)
            return
        vehicle = self._parts.fleet.vehicles().get(name)
        if vehicle is None:
            _LOG.warning(
                "ignoring command on %s: no vehicle named %r (known: %s)",
                message.topic,
                name,
                ", ".join(sorted(self._parts.fleet.vehicles())) or "none",
            )
            return
        commands = self._parse(vehicle, attribute, message)
        for command in commands:
            if isinstance(command, Rejection):
                self._reject(command)
            else:
                self._route(vehicle, command)

    def overloaded(self, message: Inbound, waiting: int) -> None:
        """On paho's thread, when the inbox is full: answer at once, parse nothing.

        A command to a known vehicle gets its one result (``rejected``), a bridge request
        its error; the payload is neither parsed nor echoed (it may carry an unlock code).
        """
        detail = f"bridge overloaded: {waiting} messages waiting; send it again later"
        topics = self._topics
        action = topics.parse_bridge_request(message.topic)
        if action is not None:
            self.requests.overloaded(action, message, detail)
            return
        target = topics.parse_set(message.topic)
        if target is None or message.retain:
            return  # not a command, or a retained one that the next connect brings again
        name, attribute = target
        if name not in self._parts.fleet.vehicles():
            return
        self._parts.results.send(
            name,
            attribute or "",
            "",
            "rejected",
            detail,
            None,
            message.response_topic,
            message.correlation_data,
            log=False,
        )

    def _retained(self, name: str, attribute: str | None, message: Inbound) -> None:
        if not message.payload:
            self._cleared.discard(message.topic)
            return  # a retained message being deleted (by us), not a command
        options: dict[str, Any] = {
            "retained": True,
            "response_topic": message.response_topic,
            "correlation_data": message.correlation_data,
        }
        if attribute is None:
            rejections = parse_vehicle_set(name, message.payload, **options)
        else:
            rejections = [parse_set(name, attribute, message.payload, **options)]
        for rejection in rejections:
            if isinstance(rejection, Rejection):  # always, with retained=True
                self._reject(rejection)
        # A retained command would be refused again at every restart: delete it.
        self._cleared.add(message.topic)
        self._parts.link.publish(message.topic, b"", True)

    def _parse(
        self, vehicle: VehicleRuntime, attribute: str | None, message: Inbound
    ) -> list[Command | Rejection]:
        options: dict[str, Any] = {
            "state": vehicle.published_state(),
            "unlock_enabled": self._parts.config.commands.unlock,
            "unlock_code": self._parts.config.commands.unlock_code,
            "retained": message.retain,
            "received": message.received,
            "response_topic": message.response_topic,
            "correlation_data": message.correlation_data,
        }
        if attribute is None:
            return parse_vehicle_set(vehicle.name, message.payload, **options)
        return [parse_set(vehicle.name, attribute, message.payload, **options)]

    def _reject(self, rejection: Rejection) -> None:
        self._parts.results.send(
            rejection.vehicle,
            rejection.attribute,
            rejection.raw,
            "rejected",
            rejection.detail,
            rejection.transaction,
            rejection.response_topic,
            rejection.correlation_data,
        )

    def result(self, command: Command, status: str, detail: str) -> None:
        item = find(command.attribute)
        value = json_value(item, command.value) if item else command.value
        self._parts.results.send(
            command.vehicle,
            command.attribute,
            value,
            status,
            detail,
            command.transaction,
            command.response_topic,
            command.correlation_data,
        )

    def _route(self, vehicle: VehicleRuntime, command: Command) -> None:
        parts = self._parts
        spec = entity(command.attribute).command
        assert spec is not None  # parse_set only accepts writable attributes
        if spec.by is CarriedOutBy.POLL_INTERVAL:
            self._set_poll_interval(vehicle, command)
            return
        client = vehicle.account.client
        refusal = vehicle.account.commands_refusal()
        if refusal is not None:
            self.result(command, "rejected", refusal)
            return
        ledger = vehicle.account.ledger
        refusal = None if ledger is None else cap_reached(ledger, parts.config.limits)
        if refusal is not None:
            self.result(command, "rejected", refusal)
            return
        if spec.by is CarriedOutBy.WAKE_UP:
            per_day = parts.config.polling.wakeups_per_day
            try:
                vehicle.check_wakeup(per_day)
            except WakeupsUsedUp as exc:
                self.result(command, "rejected", str(exc))
                return

            def send() -> None:
                vehicle.wake(per_day)
        else:
            vendor_send = spec.send
            assert vendor_send is not None  # every command the vendor carries out has one

            def send() -> None:
                vendor_send(client, vehicle.api, command.value, vehicle.published_state())

        listener = CommandListener(self, parts, vehicle, command)
        skip = parts.config.commands.skip_unchanged
        parts.poller.submit(vehicle.account, Work.of(command), send, listener,
                            lambda: unchanged_detail(vehicle, command, skip), listener.waiting)

    def _set_poll_interval(self, vehicle: VehicleRuntime, command: Command) -> None:
        with vehicle.lock:
            vehicle.poll_interval = int(command.value)
            vehicle.assumed["poll_interval"] = vehicle.poll_interval
        self._parts.poller.reschedule(vehicle)
        self._parts.publish_vehicle(vehicle)
        self.result(command, "ok", f"polling every {vehicle.poll_interval} s")


class CommandListener:
    """Follows one command from the executor to its single result."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        parts: Collaborators,
        vehicle: VehicleRuntime,
        command: Command,
    ) -> None:
        self._dispatcher = dispatcher
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
        with self._dispatcher._verifying_lock:
            self._dispatcher._verifying.discard(self)
        self._dispatcher.result(self._command, status, detail)

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

    def sent(self, job: Job) -> None:
        """The vendor accepted it: show the pending value, verify after ``verify_after``."""
        command, vehicle, parts = self._command, self._vehicle, self._parts
        self._dispatcher.note_sent(command)
        spec = entity(command.attribute).command
        pending = spec.pending(command.value) if spec else None
        confirmed = spec.confirmed(command.value) if spec else None
        climate = from_climate_details(command.attribute, vehicle)
        with vehicle.lock:
            vehicle.sent_at[command.attribute] = time.monotonic()
            if pending is not None and confirmed is None:
                # Nothing reports this value back (the charge current): the bridge keeps it.
                vehicle.assumed[command.attribute] = pending
                if entity(command.attribute).assumed_default is not None:
                    vehicle.notes[command.attribute] = parts.assumed.remember(
                        vehicle.api.vin, command.attribute, pending
                    )
                if vehicle.pending_owner.get(command.attribute) == id(command):
                    vehicle.pending.pop(command.attribute, None)  # shown while it waited
                    vehicle.pending_owner.pop(command.attribute, None)
            elif pending is not None:
                vehicle.pending[command.attribute] = pending
                vehicle.pending_owner[command.attribute] = id(command)
        if pending is not None:
            parts.publish_vehicle(vehicle)
        delay = parts.config.commands.verify_after
        if spec is not None and spec.by is CarriedOutBy.WAKE_UP:
            # The woken car reports within about 20 s: read the fresh status then.
            self._dispatcher.result(command, "ok", "wake-up sent; the status is read again shortly")
            parts.scheduler.later(delay, lambda: parts.poller.poll(vehicle))
            return
        if confirmed is None:  # horn, lights, charge current: nothing to read back
            self._dispatcher.result(command, "ok", "accepted by the vendor")
            return
        with self._dispatcher._verifying_lock:
            self._dispatcher._verifying.add(self)
        self._confirmed = confirmed
        if climate:
            # The climate details confirm a whole family of commands: one read for them.
            self._dispatcher.climate_checks.add(
                vehicle.name, self, lambda then: parts.poller.poll(vehicle, then, climate=True)
            )
        else:
            parts.scheduler.later(delay, self._check_later)

    def still_wanted(self) -> bool:
        """Whether to read the car for it: not when a newer command replaced it meanwhile,
        because that one's check reads the car, and a climate read costs the budget."""
        newer = self._dispatcher.newer_than(self._command)
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
        newer = self._dispatcher.newer_than(command)
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
