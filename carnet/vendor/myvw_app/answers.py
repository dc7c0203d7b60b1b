"""Reading myVW's JSON answers: the body, its ``data`` object, and a command's receipt."""

from __future__ import annotations

import logging
from typing import Any

import requests

from carnet.core.errors import CommandRefused, VendorUnavailable
from carnet.vendor.carnet_app.answers import refusal
from carnet.vendor.protocol import Receipt

_LOG = logging.getLogger(__name__)


def json_body(response: requests.Response, what: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise VendorUnavailable(
            f"myVW answered {what} with malformed JSON (HTTP {response.status_code})"
        ) from None


def data_object(response: requests.Response, what: str) -> dict[str, Any]:
    body = json_body(response, what)
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise VendorUnavailable(f"myVW answered {what} without a 'data' object")
    return data


def receipt(response: requests.Response, what: str) -> Receipt | None:
    """The receipt of an accepted command; CommandRefused for a 200 that says no."""
    answer = json_body(response, what)
    said_no = refusal(answer)
    if said_no:
        raise CommandRefused(f"myVW refused {what} ({said_no})", response.status_code, said_no)
    data = answer.get("data") if isinstance(answer, dict) else None
    correlation_id = data.get("correlationId") if isinstance(data, dict) else None
    if isinstance(correlation_id, str) and correlation_id:
        _LOG.debug("myVW accepted %s (correlation id %s)", what, correlation_id)
        return Receipt(correlation_id)
    _LOG.debug("myVW accepted %s without a correlation id", what)
    return None
