"""The two app generations that the real hosts serve side by side.

The client id of the authorize and token requests picks the generation: the Car-Net
app (iOS, ``car-net:///oauth-callback``) or the myVW app (Android, ``kombi:///login``).
Each has its own sign-in application id in the identity host's paths. Under
``region="ca"`` the myVW generation is the Canadian client; the US one is refused with
400, and the other way round, as the real hosts do.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from carnet.simulator.options import (
    APP_ID,
    MYVW_APP_ID,
    MYVW_CA_APP_ID,
    MYVW_CA_CLIENT_ID,
    MYVW_CLIENT_ID,
    MYVW_REDIRECT_URI,
    SimulatorOptions,
)

_LOG = logging.getLogger(__name__)

CARNET = "carnet"
MYVW = "myvw"
NAMES = (CARNET, MYVW)


@dataclass(frozen=True)
class Generation:
    name: str  # "carnet" or "myvw"
    client_id: str
    redirect_uri: str  # the only one registered for the client
    app_id: str  # the identity service's application id in the sign-in paths


class Generations:
    """The generations this simulator serves, looked up by client id or app id."""

    def __init__(self, options: SimulatorOptions) -> None:
        canada = options.region == "ca"
        self.carnet = Generation(CARNET, options.client_id, options.redirect_uri, APP_ID)
        self.myvw = Generation(MYVW, MYVW_CA_CLIENT_ID if canada else MYVW_CLIENT_ID,
                               MYVW_REDIRECT_URI, MYVW_CA_APP_ID if canada else MYVW_APP_ID)
        #: the myVW client of the other region: the real host answers it with 400
        self.other_region_client = MYVW_CLIENT_ID if canada else MYVW_CA_CLIENT_ID
        self.all = (self.carnet, self.myvw)

    def by_client(self, client_id: str | None) -> Generation | None:
        return next((g for g in self.all if g.client_id == client_id), None)

    def by_app(self, app_id: str) -> Generation | None:
        return next((g for g in self.all if g.app_id == app_id), None)

    def app_ids(self) -> tuple[str, ...]:
        return tuple(g.app_id for g in self.all)


def attestation_value(options: SimulatorOptions) -> str:
    """The ``play_integrity_token`` that passes under ``attestation="required"``: the
    option's value, or one derived from the seed (the stand-in for a genuine verdict)."""
    if options.attestation_token:
        return options.attestation_token
    return "sim-integrity-" + hashlib.sha256(f"{options.seed}:attest".encode()).hexdigest()[:32]
