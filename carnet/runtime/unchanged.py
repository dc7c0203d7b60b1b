"""Whether a command asks for what the car already is: then nothing is sent.

Car-Net counts every command against a small per-minute and per-day budget, and
automations repeat themselves (a flow that sends ``charging: true`` at every battery
reading, evcc writing its current on every change). A command whose vendor value equals
the state confirmed recently costs nothing: it is answered ``ok`` at once.

"Confirmed" means read from the vendor after the last command for that attribute was
sent, no longer than ``skip_unchanged`` seconds ago. Values the vendor never reports
back (the charge current) count as confirmed when the vendor accepted the command that
set them. A value still being verified (a pending state) is never taken as confirmed.
"""

from __future__ import annotations

import time

from carnet.catalog.commands import Command
from carnet.catalog.encoding import encode
from carnet.catalog.table import entity
from carnet.runtime.vehicle import VehicleRuntime, from_costly_part


def unchanged_detail(
    vehicle: VehicleRuntime, command: Command, skip_unchanged: float, now: float | None = None
) -> str | None:
    """The result detail when ``command`` would change nothing, else None (send it)."""
    if skip_unchanged <= 0 or command.force:
        return None
    item = entity(command.attribute)
    spec = item.command
    if spec is None or spec.send is None:
        return None  # the bridge's own settings (poll interval) and the wake-up
    now = time.monotonic() if now is None else now
    confirmed = spec.confirmed(command.value)
    with vehicle.lock:
        owner = vehicle.pending_owner.get(command.attribute)
        if command.attribute in vehicle.pending and owner != id(command):
            return None  # a command for it is on its way: its outcome is not known yet
        sent_at = vehicle.sent_at.get(command.attribute)
        if confirmed is None:
            # Nothing reads it back (the charge current): the value the vendor accepted.
            wanted, known, since, how = spec.pending(command.value), vehicle.assumed, sent_at, "set"
        else:
            wanted, known, how = confirmed, vehicle.state.values if vehicle.state else {}, "read"
            costly = from_costly_part(command.attribute, vehicle)
            since = vehicle.costly_read_at if costly else vehicle.status_read_at
            if since is not None and sent_at is not None and sent_at >= since:
                return None  # read before the last command went out: no confirmation
        if wanted is None or since is None or known.get(command.attribute) != wanted:
            return None
    age = now - since
    if age > skip_unchanged:
        return None
    return f"already {encode(item, wanted)} ({how} {age:.0f} s ago); nothing sent"
