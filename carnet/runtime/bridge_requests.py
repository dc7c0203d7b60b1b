"""``<base>/bridge/request/<action>`` -> ``<base>/bridge/response/<action>``, zigbee2mqtt style.

Requests carry a JSON object (optional ``transaction``, echoed); each gets one response
``{"status": "ok"|"error", "data": …, "error": …, "transaction": …}`` once the work is
done, so a script can wait for it. Actions:

- ``poll`` ``{"vehicle": name}`` (or ``{}`` for all): read the status now.
- ``refresh`` ``{"vehicle": name}``: wake the car (within ``polling.wakeups_per_day``),
  then read the fresh status.
- ``health_refresh`` ``{"vehicle": name}``: ask for a new health report, then read it.
  A generation without that request (no ``refresh_health`` intent) reads the report
  the car last sent, with the next poll, and sends no command.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from carnet.core.errors import WakeupsUsedUp
from carnet.mqtt.link import Inbound
from carnet.runtime.collaborators import Collaborators
from carnet.runtime.job import Job, Outcome, Work
from carnet.runtime.vehicle import VehicleRuntime
from carnet.vendor.protocol import Receipt

_LOG = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 4096
NO_HEALTH_REQUEST = (
    "this car's API has no request for a new health report: read the report it last sent"
)


class RequestError(ValueError):
    """A request that cannot be carried out; the message is the response's ``error``."""


class Reply:
    """The one response to one request."""

    def __init__(
        self, parts: Collaborators, action: str, message: Inbound, transaction: Any
    ) -> None:
        self._parts = parts
        self._action = action
        self._message = message
        self._transaction = transaction
        self._lock = threading.Lock()
        self._sent = False

    def ok(self, data: Any = None) -> None:
        self._send({"status": "ok", "data": data, "transaction": self._transaction})

    def error(self, text: str, log: bool = True) -> None:
        if log:
            _LOG.warning("bridge request %s failed: %s", self._action, text)
        self._send({"status": "error", "error": text, "transaction": self._transaction})

    def _send(self, body: dict[str, Any]) -> None:
        with self._lock:
            if self._sent:
                return
            self._sent = True
        payload = json.dumps(
            {k: v for k, v in body.items() if v is not None or k == "data"}, default=str
        )
        link = self._parts.link
        link.publish(self._parts.topics.bridge_response(self._action), payload, False)
        response_topic = self._message.response_topic
        if not response_topic:
            return
        if self._parts.results.response_allowed(response_topic):
            link.respond(response_topic, payload, self._message.correlation_data)
        else:
            _LOG.warning(
                "not answering bridge request %s on response topic %r: not matched by "
                "mqtt.response_topics",
                self._action,
                response_topic,
            )


class BridgeRequests:
    def __init__(self, parts: Collaborators) -> None:
        self._parts = parts
        self._handlers: dict[str, Callable[[dict[str, Any], Reply], None]] = {
            "poll": self._poll,
            "refresh": self._refresh,
            "health_refresh": self._health_refresh,
        }

    def overloaded(self, action: str, message: Inbound, detail: str) -> None:
        """The inbox is full: an error reply at once, without reading the request."""
        Reply(self._parts, action, message, None).error(detail, log=False)

    def handle(self, action: str, message: Inbound) -> None:
        body, transaction = self._body(message.payload)
        reply = Reply(self._parts, action, message, transaction)
        if message.retain:
            reply.error("retained request ignored")
            return
        handler = self._handlers.get(action)
        try:
            if handler is None:
                accepted = ", ".join(self._handlers)
                raise RequestError(f"unknown action {action!r}; accepted: {accepted}")
            if body is None:
                raise RequestError('send a JSON object, e.g. {"vehicle": "egolf"}')
            handler(body, reply)
        except RequestError as exc:
            reply.error(str(exc))

    @staticmethod
    def _body(payload: bytes) -> tuple[dict[str, Any] | None, Any]:
        if len(payload) > MAX_REQUEST_BYTES:
            return None, None
        text = payload.decode("utf-8", errors="replace").strip()
        if not text:
            return {}, None
        try:
            body = json.loads(text)
        except ValueError:
            # A bare vehicle name is accepted for convenience in a shell.
            return {"vehicle": text}, None
        if not isinstance(body, dict):
            return None, None
        return body, body.get("transaction")

    def _vehicle(self, body: dict[str, Any], required: bool = True) -> VehicleRuntime | None:
        name = body.get("vehicle")
        known = ", ".join(sorted(self._parts.fleet.vehicles())) or "none yet"
        if name is None:
            if required:
                raise RequestError(f'"vehicle" is required; known vehicles: {known}')
            return None
        vehicle = self._parts.fleet.vehicles().get(str(name))
        if vehicle is None:
            raise RequestError(f"no vehicle named {str(name)[:64]!r}; known vehicles: {known}")
        return vehicle

    def _poll(self, body: dict[str, Any], reply: Reply) -> None:
        one = self._vehicle(body, required=False)
        targets = [one] if one else list(self._parts.fleet.vehicles().values())
        if not targets:
            raise RequestError("no vehicles known yet")
        remaining = [len(targets)]
        lock = threading.Lock()

        def finished() -> None:
            with lock:
                remaining[0] -= 1
                if remaining[0]:
                    return
            reply.ok({"vehicles": {v.name: {"online": v.online} for v in targets}})

        for vehicle in targets:
            self._parts.poller.poll(vehicle, then=finished)

    def _refresh(self, body: dict[str, Any], reply: Reply) -> None:
        vehicle = self._vehicle(body)
        assert vehicle is not None
        self._require_commands(vehicle)
        per_day = self._parts.config.polling.wakeups_per_day
        try:
            vehicle.check_wakeup(per_day)
        except WakeupsUsedUp as exc:
            raise RequestError(str(exc)) from None
        self._through_executor(
            vehicle, "refresh", lambda: vehicle.wake(per_day), reply, lambda: None
        )

    def _health_refresh(self, body: dict[str, Any], reply: Reply) -> None:
        vehicle = self._vehicle(body)
        assert vehicle is not None

        def read_health_next() -> None:
            vehicle.health_read_at = None

        if "refresh_health" not in vehicle.api.capabilities.intents:
            self._reread_health(vehicle, reply, read_health_next)
            return
        self._require_commands(vehicle)
        client = vehicle.account.client

        self._through_executor(
            vehicle,
            "health_refresh",
            lambda: client.refresh_health(vehicle.api),
            reply,
            read_health_next,
        )

    def _reread_health(
        self, vehicle: VehicleRuntime, reply: Reply, read_health_next: Callable[[], None]
    ) -> None:
        """No request for a new report on this generation: the report the car last sent
        is read with the next poll, without a command (nor a wake-up)."""
        read_health_next()
        self._parts.poller.poll(vehicle, then=lambda: reply.ok(
            self._health_data(vehicle) | {"detail": NO_HEALTH_REQUEST}))

    @staticmethod
    def _health_data(vehicle: VehicleRuntime) -> dict[str, Any]:
        return {
            "vehicle": vehicle.name,
            "online": vehicle.online,
            "last_update": vehicle.values().get("last_update"),
            "health": vehicle.values().get("health"),
        }

    @staticmethod
    def _require_commands(vehicle: VehicleRuntime) -> None:
        if vehicle.account.commands_refusal() is not None:
            raise RequestError("commands are disabled for this account (no PIN, or PIN refused)")

    def _through_executor(
        self,
        vehicle: VehicleRuntime,
        action: str,
        send: Callable[[], Receipt | None],
        reply: Reply,
        before_poll: Callable[[], None],
    ) -> None:
        """TSP-token requests share the account's executor with commands (one budget)."""
        parts = self._parts
        work = Work(vehicle.name, f"bridge:{action}", action)

        class Listener:
            def sent(self, job: Job, receipt: Receipt | None) -> None:
                # The fresh data is read after verify_after, whether or not the vendor
                # reports the request's outcome: the reply carries the read, not the outcome.
                def poll() -> None:
                    before_poll()
                    parts.poller.poll(
                        vehicle,
                        then=lambda: reply.ok(BridgeRequests._health_data(vehicle)),
                    )

                parts.scheduler.later(parts.config.commands.verify_after, poll)

            def done(self, job: Job, outcome: Outcome) -> None:
                reply.error(f"{outcome.status}: {outcome.detail}")

        parts.poller.submit(vehicle.account, work, send, Listener())
