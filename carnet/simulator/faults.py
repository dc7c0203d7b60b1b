"""Faults that tests switch on through ``POST /_sim/fault``.

Several kinds may be active at once; posting a kind again replaces its parameters.
``answer`` and ``slow`` apply to the requests whose path matches their ``path`` (a
regular expression, searched) and, when given, their ``method``; ``times`` ends the
fault after that many matching requests.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

_LOG = logging.getLogger(__name__)

KINDS = ("outage", "hang", "login_change", "rate_limit", "password_page", "ignore_commands",
         "answer", "slow", "retire", "login_throttle", "terms")
GENERATIONS = ("carnet", "myvw")
PASSWORD_VARIANTS = ("hidden_inputs", "template_model")
MAX_SLOW = 60.0  # seconds a slow fault may hold a request


class Faults:
    """The active faults. Reads and writes are single dict operations; counting down
    ``times`` takes a lock, because handler threads match requests at once."""

    def __init__(self) -> None:
        self._active: dict[str, dict[str, Any]] = {}
        self._countdown = threading.Lock()

    def add(self, spec: Any) -> dict[str, Any]:
        """Validate and activate a fault; raises ValueError saying what is wrong."""
        if not isinstance(spec, dict) or spec.get("kind") not in KINDS:
            raise ValueError(f"body must be an object with \"kind\" one of {list(KINDS)}")
        kind = spec["kind"]
        fault: dict[str, Any] = {"kind": kind}
        if kind == "outage":
            status = spec.get("status", 503)
            if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
                raise ValueError("outage: status must be an integer from 400 to 599")
            fault["status"] = status
        elif kind == "login_change":
            field = spec.get("require_field")
            if not isinstance(field, str) or not field:
                raise ValueError("login_change: require_field must be a non-empty string")
            fault["require_field"] = field
            value = spec.get("value")
            if value is not None and not isinstance(value, str):
                raise ValueError("login_change: value must be a string")
            fault["value"] = value
        elif kind == "rate_limit":
            per_minute = spec.get("per_minute")
            if isinstance(per_minute, bool) or not isinstance(per_minute, int) or per_minute < 0:
                raise ValueError("rate_limit: per_minute must be a non-negative integer")
            fault["per_minute"] = per_minute
        elif kind == "password_page":
            variant = spec.get("variant", "template_model")
            if variant not in PASSWORD_VARIANTS:
                raise ValueError(f"password_page: variant must be one of {list(PASSWORD_VARIANTS)}")
            fault["variant"] = variant
        elif kind in ("answer", "slow"):
            fault.update(_matcher(kind, spec))
            if kind == "answer":
                fault.update(_canned_answer(spec))
            else:
                seconds = spec.get("seconds")
                if isinstance(seconds, bool) or not isinstance(seconds, int | float) or \
                        not 0 < seconds <= MAX_SLOW:
                    raise ValueError(
                        f"slow: seconds must be a number above 0, at most {MAX_SLOW:g}")
                fault["seconds"] = float(seconds)
        elif kind == "login_throttle":
            after = spec.get("after", 8)
            if isinstance(after, bool) or not isinstance(after, int) or after < 0:
                raise ValueError("login_throttle: after must be a non-negative integer")
            fault["after"] = after
        elif kind == "retire":
            generation = spec.get("generation")
            if generation not in GENERATIONS:
                raise ValueError(f"retire: generation must be one of {list(GENERATIONS)}")
            fault["generations"] = sorted({*self.retired(), generation})
        self._active[kind] = fault
        _LOG.info("fault on: %s", fault)
        return fault

    def get(self, kind: str) -> dict[str, Any] | None:
        return self._active.get(kind)

    def take(self, kind: str, method: str, path: str) -> dict[str, Any] | None:
        """The ``answer`` or ``slow`` fault when it applies to this request, counting
        the request against its ``times`` (the last one ends the fault)."""
        fault = self._active.get(kind)
        if fault is None or not re.search(fault["path"], path):
            return None
        if fault["method"] is not None and fault["method"] != method:
            return None
        with self._countdown:
            if self._active.get(kind) is not fault:
                return None
            if fault["times"] is not None:
                fault["times"] -= 1
                if fault["times"] <= 0:
                    del self._active[kind]
        return fault

    def retired(self) -> list[str]:
        """The generations whose client ids the ``retire`` fault has retired."""
        fault = self._active.get("retire")
        return list(fault["generations"]) if fault else []

    def remove(self, kind: str) -> bool:
        return self._active.pop(kind, None) is not None

    def clear(self) -> None:
        self._active.clear()

    def active(self) -> list[dict[str, Any]]:
        return list(self._active.values())


def _matcher(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    path = spec.get("path")
    if not isinstance(path, str) or not path:
        raise ValueError(f"{kind}: path must be a non-empty regular expression")
    try:
        re.compile(path)
    except re.error as exc:
        raise ValueError(f"{kind}: path is not a regular expression ({exc})") from None
    method = spec.get("method")
    if method is not None and (not isinstance(method, str) or not method.isalpha()):
        raise ValueError(f"{kind}: method must be an HTTP method such as PUT")
    times = spec.get("times")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise ValueError(f"{kind}: times must be a positive integer (omit it: every request)")
    return {"path": path, "method": method.upper() if method else None, "times": times}


def _canned_answer(spec: dict[str, Any]) -> dict[str, Any]:
    status = spec.get("status", 200)
    if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
        raise ValueError("answer: status must be an integer from 200 to 599")
    headers = spec.get("headers", {})
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and "\n" not in k + v and "\r" not in k + v
        for k, v in headers.items()
    ):
        raise ValueError("answer: headers must be an object of single-line strings")
    return {"status": status, "body": spec.get("body", {}), "headers": headers}
