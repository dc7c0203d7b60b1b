"""Command results: exactly one per command received, on ``<base>/<vehicle>/result``.

A result is also sent to the MQTT 5 response topic, with its correlation data, when the
command carried one, so a Node-RED flow or script can wait for the answer to its own
request.
A response topic is used only when it matches one of ``mqtt.response_topics``: the
requester names it, and the bridge may write where the requester's ACL does not reach
(a command topic, a state topic, Home Assistant's status).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from paho.mqtt.client import topic_matches_sub

from carnet.mqtt.events import EventSink, command_failed
from carnet.mqtt.topics import Topics

_LOG = logging.getLogger(__name__)

Publish = Callable[[str, str, bool], None]
Respond = Callable[[str, str, "bytes | None"], None]

SHARED_LIMIT = 256
"""Distinct summary results (topic and payload) kept for sharing, at most."""


class ResultSink:
    def __init__(
        self,
        topics: Topics,
        publish: Publish,
        respond: Respond,
        response_topics: Sequence[str] = ("replies/#",),
        events: EventSink | None = None,
    ) -> None:
        self._topics = topics
        self._publish = publish
        self._respond = respond
        self._events = events
        self._response_filters = tuple(response_topics)
        # Summary results (an overload) repeat one topic and payload for every message to a
        # vehicle's attribute: a flood queues them by the hundred thousand, so each queued
        # result shares one string instead of carrying its own.
        self._shared: dict[tuple[Any, ...], tuple[str, str]] = {}

    def response_allowed(self, response_topic: str) -> bool:
        """Whether a requester may have its answer published on ``response_topic``."""
        if not response_topic or "+" in response_topic or "#" in response_topic:
            return False
        return any(topic_matches_sub(f, response_topic) for f in self._response_filters)

    def _summary(
        self, vehicle: str, attribute: str, value: Any, status: str, detail: str, transaction: Any
    ) -> tuple[str, str]:
        """The shared topic and payload of a summary result."""
        try:
            # Types too: True and 1 are equal keys, but encode differently.
            key = (
                vehicle,
                attribute,
                value,
                type(value),
                status,
                detail,
                transaction,
                type(transaction),
            )
            shared = self._shared.get(key)
        except TypeError:  # an unhashable value or transaction: nothing to share
            return self._topics.result(vehicle), _encode(
                attribute, value, status, detail, transaction
            )
        if shared is None:
            if len(self._shared) >= SHARED_LIMIT:
                self._shared.clear()
            shared = (
                self._topics.result(vehicle),
                _encode(attribute, value, status, detail, transaction),
            )
            self._shared[key] = shared
        return shared

    def send(
        self,
        vehicle: str,
        attribute: str,
        value: Any,
        status: str,
        detail: str,
        transaction: Any = None,
        response_topic: str | None = None,
        correlation_data: bytes | None = None,
        log: bool = True,
    ) -> None:
        """``log=False`` for results that are counted and logged in summary (an overload)."""
        if log:
            write = _LOG.info if status in ("ok", "superseded") else _LOG.warning
            write("command %s/%s=%s: %s %s", vehicle, attribute, value, status, detail)
            topic = self._topics.result(vehicle)
            payload = _encode(attribute, value, status, detail, transaction)
        else:
            topic, payload = self._summary(vehicle, attribute, value, status, detail, transaction)
        self._publish(topic, payload, False)
        # An overload is summarised in the log, not repeated as one event per message.
        failed = command_failed(attribute, status, detail) if log else None
        if failed is not None and self._events is not None:
            self._events.send(vehicle, [failed])
        if not response_topic:
            return
        if self.response_allowed(response_topic):
            self._respond(response_topic, payload, correlation_data)
        else:
            _LOG.warning(
                "not answering %s/%s on response topic %r: not matched by "
                "mqtt.response_topics (%s); the result is on %s only",
                vehicle,
                attribute,
                response_topic,
                ", ".join(self._response_filters) or "none",
                self._topics.result(vehicle),
            )


def _encode(attribute: str, value: Any, status: str, detail: str, transaction: Any) -> str:
    return json.dumps(
        {
            "attribute": attribute,
            "value": value,
            "status": status,
            "detail": detail,
            "transaction": transaction,
        },
        default=str,
    )
