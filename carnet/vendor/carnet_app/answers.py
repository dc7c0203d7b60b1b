"""Reading Car-Net's JSON answers: the body, its ``data`` object, and a 200 that says no."""

from __future__ import annotations

from typing import Any

import requests

from carnet.core import redact
from carnet.core.errors import VendorUnavailable
from carnet.vendor.http import pick_message


def json_body(response: requests.Response, what: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise VendorUnavailable(
            f"Car-Net answered {what} with malformed JSON (HTTP {response.status_code})"
        ) from None


def data_object(response: requests.Response, what: str, key: str = "data") -> dict[str, Any]:
    body = json_body(response, what)
    data = body.get(key) if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise VendorUnavailable(f"Car-Net answered {what} without a '{key}' object")
    return data


def refusal(answer: Any) -> str:
    """Why a 200 answer to a command says no: an ``error`` object or a non-zero
    ``result`` (masked, short); empty when the command was taken."""
    if not isinstance(answer, dict):
        return ""
    error = answer.get("error")
    if error not in (None, "", {}, []):
        return redact.redact(pick_message({"error": error})[:200]) or "error"
    data = answer.get("data") if isinstance(answer.get("data"), dict) else answer.get("value")
    if not isinstance(data, dict):
        return ""
    result = data.get("result", 0)
    if result in (0, "0", None):
        return ""
    said = pick_message({key: value for key, value in data.items() if key != "result"})
    return redact.redact(f"result {result}" + (f": {said}" if said else ""))[:200]
