"""Mask secrets in log records, as a backstop.

The client is written so that secrets never reach a log call, but third-party
libraries (urllib3 logs every request line, query string included) and future code
can still leak them. This filter rewrites each record it sees:

* values of secret-looking keys, whether in a URL or form body (``code=…``,
  ``id_token=…``, ``idToken=…``), JSON (``"tspPin": "…"``) or a Python repr
  (``'password': '…'``);
* ``Authorization`` headers and bare ``Bearer …`` credentials;
* every string registered with :func:`register_secret`, wherever it appears: the
  configuration's secrets (:func:`register_config_secrets`: passwords, the PIN, the
  unlock code, the token helper's command line) for as long as the process runs, and
  the most recent tokens as they are obtained.

Call :func:`install` once logging is configured; :func:`protect` attaches the filter
to individual loggers (a filter on a logger only sees records created by that very
logger, so the client protects its own loggers and urllib3's).
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable

MASK = "***"

# Codes that are not secrets, so ``status_code=503`` stays readable.
_PLAIN_CODES = r"(?:status|reason|error|model|country|exit|return|response|result)_code\b"
# Key names whose values are secrets. ``\w*_token`` and ``\w*Token`` cover
# access_token, id_token, refresh_token, tsp_token, tspToken, idToken and any
# field a token helper adds (play_integrity_token); ``\w*_code``, ``\w*_password``
# and ``\w*_pin`` cover unlock_code, mqtt_password and the like.
_KEYS = (
    r"password|passwd|pin|tspPin|pinCode|code|code_verifier|verifier|"
    r"authorization|client_secret|secret|ticket|token|token_helper|\w*_token|\w*Token|\w*_verifier|"
    r"\w*_password|\w*_pin|(?!" + _PLAIN_CODES + r")\w*_code"
)

# key=value in URLs, form bodies, log text and dataclass reprs (``password='…'``).
# ``code_challenge=`` and ``state=`` are not secrets and do not match (the key must
# end right before ``=``).
_KV = re.compile(
    r"(?i)(?<![\w-])(" + _KEYS + r")=(?:\s*([\"'])(.*?)(?<!\\)\2|([^&\s'\",;)}\]]+))"
)
# "key": "value" / 'key': 'value' (JSON and Python reprs).
_QUOTED = re.compile(r"(?i)([\"'](?:" + _KEYS + r")[\"']\s*:\s*)([\"'])(.*?)(?<!\\)\2")
# "key": 1234 (a PIN sent as a number).
_NUMERIC = re.compile(r"(?i)([\"'](?:" + _KEYS + r")[\"']\s*:\s*)(-?\d+)")
# Authorization: Bearer abc / Authorization: abc
_AUTH_HEADER = re.compile(
    r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(?:(bearer|basic)\s+)?[^\s\"',}]+"
)
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9\-._~+/]+=*")

_SHORT = 8  # secrets shorter than this are masked as whole words only
_MAX_SECRETS = 512  # tokens kept; the permanent secrets do not count

_lock = threading.Lock()
_secrets: OrderedDict[str, re.Pattern[str]] = OrderedDict()  # tokens, oldest first
_permanent: dict[str, re.Pattern[str]] = {}  # the configuration's secrets, never dropped


def register_secret(value: str | None, permanent: bool = False) -> None:
    """Mask ``value`` wherever it appears in a log record from now on.

    Values of fewer than three characters are ignored: masking them would mangle
    ordinary text without protecting anything. Short values (a PIN) are matched as
    whole words so that port numbers and counters stay readable.

    ``permanent`` is for secrets that live as long as the process (a password, the
    PIN): they are masked until it exits. Other values are tokens, which rotate: only
    the most recent :data:`_MAX_SECRETS` are kept. A value already registered as
    permanent stays permanent.
    """
    if not value or len(value) < 3:
        return
    escaped = re.escape(value)
    pattern = re.compile(rf"(?<!\w){escaped}(?!\w)" if len(value) < _SHORT else escaped)
    with _lock:
        if permanent:
            _secrets.pop(value, None)
            _permanent[value] = pattern
            return
        if value in _permanent:
            return
        _secrets.pop(value, None)
        _secrets[value] = pattern
        while len(_secrets) > _MAX_SECRETS:
            _secrets.popitem(last=False)


def _no_config_secrets(config: object) -> Iterable[str]:
    return ()


_find_config_secrets: Callable[[object], Iterable[str]] = _no_config_secrets


def use_config_secrets(find: Callable[[object], Iterable[str]]) -> None:
    """Say how to find a configuration's secrets. The configuration declares which keys
    are secrets and hands its finder over here, so this module keeps no list of its own
    and never imports the configuration."""
    global _find_config_secrets
    _find_config_secrets = find


def register_config_secrets(config: object) -> None:
    """Mask the configuration's secrets for as long as the process runs: every value of
    a key the configuration declares secret (passwords, the PIN, the unlock code, the
    token helper's command line)."""
    for value in _find_config_secrets(config):
        register_secret(value, permanent=True)


def permanent_secrets() -> tuple[str, ...]:
    """The secrets registered as permanent (the configuration's), e.g. to keep them out
    of a child process's environment."""
    with _lock:
        return tuple(_permanent)


def redact(text: str) -> str:
    """Return ``text`` with every known or secret-looking value masked."""
    if not text:
        return text
    with _lock:
        patterns = [*_permanent.values(), *_secrets.values()]
    # Longest first, so a token that contains a shorter secret is masked whole.
    for pattern in sorted(patterns, key=lambda p: len(p.pattern), reverse=True):
        text = pattern.sub(MASK, text)
    text = _AUTH_HEADER.sub(lambda m: m.group(1) + (m.group(2) + " " if m.group(2) else "") + MASK,
                            text)
    text = _BEARER.sub(lambda m: m.group(1) + MASK, text)
    text = _QUOTED.sub(lambda m: m.group(1) + m.group(2) + MASK + m.group(2), text)
    text = _NUMERIC.sub(lambda m: m.group(1) + MASK, text)
    text = _KV.sub(_mask_kv, text)
    return text


def _mask_kv(match: re.Match[str]) -> str:
    quote = match.group(2)
    return f"{match.group(1)}={quote}{MASK}{quote}" if quote else f"{match.group(1)}={MASK}"


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in the message, its arguments and tracebacks.

    It never drops a record. The message is formatted once, masked, and stored back
    with no arguments, so every handler downstream sees only the masked text.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep the raw template, masked
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


FILTER = RedactingFilter()

# Loggers whose records may carry secrets: ours, and urllib3's request lines.
DEFAULT_LOGGERS = (
    "carnet",
    "carnet.vendor.carnet_app.login",
    "carnet.vendor.carnet_app.grants",
    "carnet.vendor.carnet_app.client",
    "carnet.vendor.carnet_app.account_tokens",
    "carnet.vendor.carnet_app.tsp",
    "carnet.vendor.myvw_app.login",
    "carnet.vendor.myvw_app.grants",
    "carnet.vendor.myvw_app.session",
    "carnet.vendor.myvw_app.spin",
    "carnet.vendor.myvw_app.client",
    "carnet.vendor.pacing",
    "carnet.vendor.token_helper",
    "carnet.vendor.tokens",
    "urllib3",
    "urllib3.connectionpool",
    "requests",
)


def protect(loggers: Iterable[str | logging.Logger] = DEFAULT_LOGGERS) -> None:
    """Attach the filter to each logger (idempotent)."""
    for item in loggers:
        logger = logging.getLogger(item) if isinstance(item, str) else item
        if FILTER not in logger.filters:
            logger.addFilter(FILTER)


def install(root: logging.Logger | None = None) -> None:
    """Attach the filter to every handler of ``root`` (the root logger by default).

    A handler filter sees every record that reaches it, whichever logger made it;
    call this after the handlers are configured. The default loggers are protected
    too, for handlers added later (test log capture, for instance).
    """
    root = root or logging.getLogger()
    for handler in root.handlers:
        if FILTER not in handler.filters:
            handler.addFilter(FILTER)
    protect()
