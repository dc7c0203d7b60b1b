"""Reading the claims of the myVW JWTs (the tokens are not verified: the vendor does)."""

from __future__ import annotations

import base64
import json
from typing import Any


def claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, or {} when ``token`` is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        decoded = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, UnicodeError):
        return {}
    return decoded if isinstance(decoded, dict) else {}


def subject(*tokens: str | None) -> str | None:
    """The first ``sub`` claim among ``tokens``."""
    for token in tokens:
        sub = claims(token).get("sub") if token else None
        if isinstance(sub, str) and sub:
            return sub
    return None


def expiry(token: str) -> float | None:
    """The ``exp`` claim (epoch seconds), if the token has one."""
    exp = claims(token).get("exp")
    if isinstance(exp, int | float) and not isinstance(exp, bool):
        return float(exp)
    return None
