"""Faults that tests switch on through ``POST /_sim/fault``.

Several kinds may be active at once; posting a kind again replaces its parameters.
"""

from __future__ import annotations

import logging
from typing import Any

_LOG = logging.getLogger(__name__)

KINDS = ("outage", "hang", "login_change", "rate_limit", "password_page", "ignore_commands",
         "retire", "login_throttle")
GENERATIONS = ("carnet", "myvw")
PASSWORD_VARIANTS = ("hidden_inputs", "template_model")


class Faults:
    """The active faults. Reads and writes are single dict operations, so no lock."""

    def __init__(self) -> None:
        self._active: dict[str, dict[str, Any]] = {}

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
