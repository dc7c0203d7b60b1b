"""The state directory (``state_dir``): the account tokens and the heartbeat live there.

It is checked before anything starts: a directory the daemon cannot write would only show
once it has connected and logged in, as a traceback or a heartbeat that never comes. Tokens
let anyone use the account, so the directory is kept at 0700 and token files at 0600.
"""

from __future__ import annotations

import logging
import os
import stat
import tempfile
from pathlib import Path

from carnet.core.errors import ConfigError
from carnet.vendor.tokens import TOKEN_FILES

_LOG = logging.getLogger(__name__)

ACCEPTED = "a directory this user can create files in"


def check(path: str | os.PathLike[str]) -> None:
    """Raise ConfigError (one line) when ``path`` cannot become a writable directory.

    Changes nothing, for ``--check``: a missing directory is fine when it can be created.
    """
    target = Path(path)
    existing = target
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        what = "is not a directory" if existing == target else f"is under {existing}, a file"
        raise ConfigError([f"state_dir: {target} {what} ({ACCEPTED})"])
    if not os.access(existing, os.W_OK | os.X_OK):
        where = "" if existing == target else f" ({existing} is not writable)"
        raise ConfigError(
            [f"state_dir: {target} cannot be written by this user{where} ({ACCEPTED})"]
        )


def prepare(path: str | os.PathLike[str]) -> None:
    """Create ``path`` (0700), prove a file can be written in it, tighten loose modes.

    Raises ConfigError (one line) when the daemon could not keep its state there.
    """
    check(path)
    target = Path(path)
    try:
        target.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Root passes every permission check, a read-only file system still says no.
        fd, probe = tempfile.mkstemp(dir=target, prefix=".write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError([f"state_dir: cannot write in {target}: {reason} ({ACCEPTED})"]) from None
    _tighten(target, 0o700, "state_dir")
    for token_file in sorted(target.glob(TOKEN_FILES)):
        _tighten(token_file, 0o600, "token file")


def _tighten(path: Path, mode: int, what: str) -> None:
    """Take group and other access away (a warning says so); never raises."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return
    if not current & 0o077:
        return
    try:
        os.chmod(path, mode)
    except OSError:
        _LOG.warning("%s %s has mode %04o, open to others, and cannot be changed; make it %04o",
                     what, path, current, mode)
        return
    _LOG.warning("%s %s had mode %04o, open to others; changed to %04o", what, path, current, mode)
