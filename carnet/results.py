"""Command results: exactly one per command received, on ``<base>/<vehicle>/result``.

A result is also sent to the MQTT 5 response topic, with its correlation data, when the
command carried one, so a Node-RED flow or script can wait for the answer to its own
request.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from carnet.events import EventSink, command_failed
from carnet.topics import Topics

_LOG = logging.getLogger(__name__)

Publish = Callable[[str, str, bool], None]
Respond = Callable[[str, str, "bytes | None"], None]


class ResultSink:
    def __init__(
        self, topics: Topics, publish: Publish, respond: Respond, events: EventSink | None = None
    ) -> None:
        self._topics = topics
        self._publish = publish
        self._respond = respond
        self._events = events

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
    ) -> None:
        payload = json.dumps(
            {
                "attribute": attribute,
                "value": value,
                "status": status,
                "detail": detail,
                "transaction": transaction,
            },
            default=str,
        )
        log = _LOG.info if status in ("ok", "superseded") else _LOG.warning
        log("command %s/%s=%s: %s %s", vehicle, attribute, value, status, detail)
        self._publish(self._topics.result(vehicle), payload, False)
        if response_topic:
            self._respond(response_topic, payload, correlation_data)
        failed = command_failed(attribute, status, detail)
        if failed is not None and self._events is not None:
            self._events.send(vehicle, [failed])
