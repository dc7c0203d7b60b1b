"""HTTP for every vendor generation: transport failures, the vendor's error words, Retry-After.

What an error answer means is each generation's business (its ``errors`` function);
this module only sends, times and measures.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from carnet.core import redact
from carnet.core.errors import CarNetError, VendorUnavailable

_LOG = logging.getLogger(__name__)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def vendor_message(response: requests.Response) -> str:
    """The vendor's error text, short and masked (it goes into exception messages)."""
    return redact.redact(vendor_words(response))


def vendor_words(response: requests.Response) -> str:
    """The vendor's error text, short and unmasked: for telling causes apart only."""
    try:
        body: Any = response.json()
    except ValueError:
        text = (response.text or "").strip()
        if not text or text.lstrip().startswith("<"):
            return ""
        return " ".join(text.split())[:200]
    return pick_message(body)[:200]


def pick_message(body: Any) -> str:
    if isinstance(body, str):
        return body
    if not isinstance(body, dict):
        return ""
    parts: list[str] = []
    for key in ("error", "errorCode", "code", "error_description", "message",
                "errorMessage", "description", "title"):
        value = body.get(key)
        if isinstance(value, dict | list):
            nested = pick_message(value if isinstance(value, dict) else
                                   (value[0] if value else None))
            if nested:
                parts.append(nested)
        elif isinstance(value, str | int) and str(value) not in parts:
            parts.append(str(value))
    return ": ".join(parts)


class Http:
    """Sends requests with the configured timeout; transport failures become
    :class:`VendorUnavailable` and, with ``check``, error statuses the exception of
    the generation's ``errors``. Logs method, path, status and duration only (never a
    query string or body).
    """

    def __init__(
        self,
        vendor: str,
        timeout: float,
        errors: Callable[[requests.Response, str], CarNetError],
        on_request: Callable[[str], None] | None = None,
    ) -> None:
        self.vendor = vendor  # the service's name, for messages
        self.timeout = timeout
        self._errors = errors  # the generation's reading of an error answer
        self._on_request = on_request  # told the URL of every request about to go out

    def __call__(
        self,
        session: requests.Session,
        method: str,
        url: str,
        *,
        step: str,
        check: bool = True,
        **kwargs: Any,
    ) -> requests.Response:
        path = urlsplit(url).path
        kwargs.setdefault("timeout", self.timeout)
        if self._on_request is not None:
            self._on_request(url)
        started = time.monotonic()
        try:
            response = session.request(method, url, **kwargs)
        except requests.Timeout:
            raise VendorUnavailable(
                f"{self.vendor} did not answer {method} {path} within {self.timeout:g} s"
            ) from None
        except requests.ConnectionError:
            raise VendorUnavailable(
                f"Cannot connect to {self.vendor} for {method} {path}"
            ) from None
        except requests.RequestException as exc:
            raise VendorUnavailable(
                f"Request {method} {path} failed ({type(exc).__name__})"
            ) from None
        _LOG.debug("%s %s -> %d in %.2f s", method, path, response.status_code,
                   time.monotonic() - started)
        if check and response.status_code >= 400:
            raise self._errors(response, step)
        return response
