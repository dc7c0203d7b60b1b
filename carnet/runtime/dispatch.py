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
from typing import Any

from carnet.catalog.commands import (
    Command,
    Rejection,
    not_offered,
    parse_set,
    parse_vehicle_set,
)
from carnet.catalog.encoding import json_value
from carnet.catalog.model import CarriedOutBy
from carnet.catalog.table import entity, find
from carnet.core.errors import WakeupsUsedUp
from carnet.mqtt.link import Inbound
from carnet.runtime.bridge_requests import BridgeRequests
from carnet.runtime.collaborators import Collaborators
from carnet.runtime.command_listener import CommandListener, Verifications
from carnet.runtime.job import Work
from carnet.runtime.ledger import cap_reached
from carnet.runtime.unchanged import unchanged_detail
from carnet.runtime.vehicle import VehicleRuntime
from carnet.vendor.protocol import Receipt

_LOG = logging.getLogger(__name__)


class Dispatcher:
    def __init__(self, parts: Collaborators) -> None:
        self._parts = parts
        self._topics = parts.topics
        self.requests = BridgeRequests(parts)
        # Set topics whose retained command the bridge deleted. With MQTT 3.1.1 the deletion
        # comes back as a live empty message, which is no command. Dispatcher thread only.
        self._cleared: set[str] = set()
        self.verifications = Verifications(parts.scheduler, parts.config.commands.verify_after)

    def abandon_verifications(self) -> None:
        """At shutdown: report every command still waiting for its verification."""
        self.verifications.abandon()

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
            "charge_currents": vehicle.api.capabilities.charge_currents,
            "climate_targets": vehicle.api.capabilities.climate_targets,
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
        # Nothing is sent for a command the vehicle lacks (Car-Net has no window heating,
        # myVW no defrost, a combustion car no charging): the vendor would refuse it.
        lacking = not_offered(command.attribute, vehicle.api.capabilities.intents)
        if lacking is not None:
            self.result(command, "rejected", lacking)
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

            def send() -> Receipt | None:
                return vendor_send(client, vehicle.api, command.value, vehicle.published_state())

        listener = CommandListener(self.verifications, self.result, parts, vehicle, command)
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
