"""Token persistence: one JSON file per account in ``state_dir``.

Logging in is the step the vendor watches most closely (and the one that breaks when
it changes its login), so tokens survive restarts: a daemon that restarts reuses its
stored tokens and refreshes them instead of logging in again.

The file name is derived from a hash of the e-mail address so the address itself is
not visible in the directory listing. Files are written atomically (a temporary file
in the same directory, then ``os.replace``) with mode 0600, so a crash never leaves a
half-written or world-readable token file. A file that cannot be read, or that
belongs to another account, client id or API host, is discarded with a warning.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

_LOG = logging.getLogger(__name__)

_FORMAT = 1

TOKEN_FILES = "tokens-*.json"
"""The names of the token files in ``state_dir`` (a glob pattern)."""


def account_key(email: str) -> str:
    """A stable, non-reversible identifier for an account (hash of the e-mail)."""
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()


def sendable(token: str) -> bool:
    """Whether a token can go into an HTTP header: visible ASCII only. A line break in
    one would make every request fail (or inject a header)."""
    return bool(token) and all("!" <= char <= "~" for char in token)


@dataclass(frozen=True)
class TokenSet:
    """The OAuth tokens of one account, with wall-clock expiry times (epoch seconds).

    ``code_verifier`` is kept because the vendor's refresh grant replays it.
    """

    access_token: str
    id_token: str
    refresh_token: str
    expires_at: float
    code_verifier: str
    refresh_expires_at: float | None = None
    obtained_at: float = 0.0

    def expires_within(self, margin: float, now: float | None = None) -> bool:
        """True when the access token expires in less than ``margin`` seconds."""
        return (now if now is not None else time.time()) + margin >= self.expires_at

    def refresh_expired(self, now: float | None = None) -> bool:
        if self.refresh_expires_at is None:
            return False
        return (now if now is not None else time.time()) >= self.refresh_expires_at

    def __repr__(self) -> str:  # never show a token
        return (
            f"TokenSet(expires_at={self.expires_at:.0f}, "
            f"refresh_expires_at={self.refresh_expires_at})"
        )

    __str__ = __repr__


class TokenStore:
    """Stores one :class:`TokenSet` per account as ``tokens-<hash>.json`` in ``state_dir``.

    Thread-safe; the directory is created with mode 0700 when missing.
    """

    def __init__(self, state_dir: str | os.PathLike[str]) -> None:
        self._dir = Path(state_dir)
        self._lock = threading.Lock()

    @property
    def directory(self) -> Path:
        return self._dir

    def path_for(self, email: str) -> Path:
        return self._dir / f"tokens-{account_key(email)[:32]}.json"

    def load(self, email: str, client_id: str, api_base: str) -> TokenSet | None:
        """The stored tokens of this account, or None (missing, corrupt or foreign file)."""
        path = self.path_for(email)
        with self._lock:
            try:
                raw = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                return None
            except OSError as exc:
                _LOG.warning("Cannot read token file %s (%s); logging in again", path,
                             exc.strerror or type(exc).__name__)
                return None
            problem, tokens = _parse(raw, account_key(email), client_id, api_base)
            if tokens is None:
                _LOG.warning("Discarding token file %s: %s; logging in again", path, problem)
                with contextlib.suppress(OSError):
                    path.unlink()
            return tokens

    def save(self, email: str, client_id: str, api_base: str, tokens: TokenSet) -> None:
        """Write the tokens atomically with mode 0600."""
        document = {
            "format": _FORMAT,
            "account": account_key(email),
            "client_id": client_id,
            "api_base": api_base,
            "saved_at": time.time(),
            "tokens": asdict(tokens),
        }
        data = json.dumps(document, indent=1, sort_keys=True).encode("utf-8")
        path = self.path_for(email)
        with self._lock:
            self._ensure_dir()
            fd, tmp = tempfile.mkstemp(dir=self._dir, prefix=".tokens-", suffix=".tmp")
            try:
                os.fchmod(fd, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            _fsync_dir(self._dir)
        _LOG.debug("Saved tokens to %s", path)

    def clear(self, email: str) -> None:
        """Forget the stored tokens of this account."""
        with self._lock, contextlib.suppress(FileNotFoundError):
            self.path_for(email).unlink()

    def _ensure_dir(self) -> None:
        if not self._dir.is_dir():
            self._dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(self._dir, 0o700)  # mkdir's mode is filtered by the umask


def _parse(raw: str, account: str, client_id: str, api_base: str) -> tuple[str, TokenSet | None]:
    """(reason, None) when the document is unusable, ("", tokens) otherwise."""
    try:
        document: Any = json.loads(raw)
    except ValueError:
        return "not valid JSON", None
    if not isinstance(document, dict) or document.get("format") != _FORMAT:
        return "unknown format", None
    if document.get("account") != account:
        return "it belongs to another account", None
    if document.get("client_id") != client_id:
        return "it was issued to another client_id", None
    if document.get("api_base") != api_base:
        return "it was issued by another api_base", None
    stored = document.get("tokens")
    if not isinstance(stored, dict):
        return "no tokens in it", None
    names = {f.name for f in fields(TokenSet)}
    try:
        values = {k: v for k, v in stored.items() if k in names}
        tokens = TokenSet(**values)
    except TypeError:
        return "missing fields", None
    for name in ("access_token", "id_token", "refresh_token", "code_verifier"):
        if not isinstance(getattr(tokens, name), str) or not sendable(getattr(tokens, name)):
            return f"invalid {name.replace('_', ' ')}", None
    if not _finite(tokens.expires_at):
        return "invalid expiry", None
    if tokens.refresh_expires_at is not None and not _finite(tokens.refresh_expires_at):
        return "invalid refresh expiry", None
    if not _finite(tokens.obtained_at):
        return "invalid time obtained", None
    return "", tokens


def _finite(value: object) -> bool:
    """A real number of seconds: JSON ``true`` and NaN or infinite values are not."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        return False


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable; not every platform can open a directory."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
