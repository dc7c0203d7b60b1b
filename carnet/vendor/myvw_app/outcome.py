"""What became of a command: the history answer for its correlation id, in the vendor's words.

``data.responseBody`` is a JSON string whose ``eventStatus`` carries the outcome in one of
two forms public clients read: ``responseOutcome`` (0 rejected, 1 queued, 2 success,
3 failed), or ``responseStatus`` 1 (done) with a ``responseCode`` such as
``"4101 : RO_DOOR_SUCCESS"``.
"""

from __future__ import annotations

import json
from typing import Any

from carnet.core import redact
from carnet.vendor.protocol import CommandOutcome, Progress

_OUTCOMES = {0: Progress.FAILED, 1: Progress.PENDING, 2: Progress.SUCCEEDED,
             3: Progress.FAILED}
_DONE = 1  # responseStatus of a command the car has answered


def history_path(vehicle_id: str, correlation_id: str) -> str:
    return f"/history/v1/vehicle/{vehicle_id}/correlationId/{correlation_id}/ro/"


def event_status(data: Any) -> dict[str, Any] | None:
    """The ``eventStatus`` of a history ``data`` object; None when it has none."""
    body = data.get("responseBody") if isinstance(data, dict) else None
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return None
    status = body.get("eventStatus") if isinstance(body, dict) else None
    return status if isinstance(status, dict) else None


def command_outcome(data: Any) -> CommandOutcome:
    """The outcome a history ``data`` object reports; pending while it reports none."""
    status = event_status(data)
    if status is None:
        return CommandOutcome(Progress.PENDING, "the vendor reports no outcome yet")
    code = status.get("responseCode")
    words = redact.redact(str(code))[:200] if isinstance(code, str | int) else ""
    result = status.get("responseOutcome")
    progress = _OUTCOMES.get(result) if isinstance(result, int) and \
        not isinstance(result, bool) else None
    if progress is None:
        progress = _from_status(status, words)
    if progress is Progress.SUCCEEDED:
        return CommandOutcome(progress, f"the car did it: {words}" if words else "the car did it")
    if progress is Progress.FAILED:
        return CommandOutcome(progress, f"the car refused: {words}" if words else
                              "the car refused")
    return CommandOutcome(progress, f"on its way to the car: {words}" if words else
                          "on its way to the car")


def _from_status(status: dict[str, Any], words: str) -> Progress:
    upper = words.upper()
    if "SUCCESS" in upper:
        return Progress.SUCCEEDED
    if status.get("responseStatus") == _DONE:
        return Progress.FAILED if "FAIL" in upper or "REJECT" in upper else Progress.SUCCEEDED
    return Progress.PENDING
