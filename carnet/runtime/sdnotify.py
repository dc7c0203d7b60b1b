"""A minimal ``sd_notify``: tells systemd the daemon is ready and still alive.

With ``Type=notify`` and ``WatchdogSec=`` in the unit, systemd starts counting the
daemon as running only after ``READY=1`` and restarts it when ``WATCHDOG=1`` stops
coming, which catches a hung daemon and not just a dead process. The protocol is one
datagram on the AF_UNIX socket named by ``$NOTIFY_SOCKET``; a leading ``@`` means the
Linux abstract namespace. Outside systemd the variable is unset and every call is a
cheap no-op, so the daemon calls these unconditionally. No dependency needed.
"""

from __future__ import annotations

import logging
import os
import socket

_LOG = logging.getLogger(__name__)


def _address() -> str | None:
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return None
    if address.startswith("@"):
        return "\0" + address[1:]
    if address.startswith("/"):
        return address
    _LOG.debug("NOTIFY_SOCKET %r is not a path or abstract name; not notifying", address)
    return None


def notify(message: str) -> bool:
    """Send ``message`` (e.g. ``"READY=1"``); True when systemd got it.

    Never raises: a failed notification must not take the bridge down.
    """
    address = _address()
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode("utf-8"))
    except OSError as exc:
        _LOG.warning("could not notify systemd: %s", exc)
        return False
    return True


def ready(status: str | None = None) -> bool:
    """Start-up is complete: the daemon's threads run. The broker may not have answered
    yet; the daemon connects (and reconnects) by itself."""
    return notify("READY=1" + (f"\nSTATUS={status}" if status else ""))


def watchdog() -> bool:
    """Still alive; send at least every ``watchdog_interval()`` seconds."""
    return notify("WATCHDOG=1")


def stopping() -> bool:
    """Shutting down cleanly; systemd will not count the exit as a failure to start."""
    return notify("STOPPING=1")


def reloading() -> bool:
    """Restarting in the same process with a reloaded configuration (SIGHUP)."""
    return notify("RELOADING=1")


def status(text: str) -> bool:
    """A one-line status shown by ``systemctl status``."""
    return notify(f"STATUS={text}")


def watchdog_interval() -> float | None:
    """Half the watchdog timeout in seconds, or None when no watchdog is set for us.

    Half, as sd_watchdog_enabled(3) recommends, so one late tick is not fatal.
    """
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        value = int(usec)
    except ValueError:
        return None
    return value / 2_000_000 if value > 0 else None
