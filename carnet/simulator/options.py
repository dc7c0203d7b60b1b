"""Options of the simulator and the constants that the real service fixes."""

from __future__ import annotations

import logging
from dataclasses import dataclass

_LOG = logging.getLogger(__name__)

#: OIDC client id of the iOS app, as in the API description. The token and authorize
#: endpoints refuse any other unless ``SimulatorOptions.client_id`` says otherwise.
CLIENT_ID = "2dae49f6-830b-4180-9af9-59dd0d060916@apps_vw-dilab_com"
#: The identity service's own application id. It appears in the form actions and differs
#: from the OIDC client id; clients that mix the two up must fail here as they would for real.
APP_ID = "b680e751-7e1f-4008-8cc1-3a528183d215@apps_vw-dilab_com"
DEFAULT_REDIRECT_URI = "car-net:///oauth-callback"

#: The myVW app (Android), the generation that replaced the Car-Net app (see myvw-api.md).
MYVW_CLIENT_ID = "59992128-69a9-42c3-8621-7942041ba824_MYVW_ANDROID"
MYVW_APP_ID = "b680e751-7e1f-4008-8ec1-3a528183d215@apps_vw-dilab_com"
MYVW_CA_CLIENT_ID = "69eb3c39-d2be-4006-8197-37cc4971e8fe_MYVW_ANDROID"
MYVW_CA_APP_ID = "b43c9f82-b343-463d-8d11-e2d3940ce2a8@apps_vw-dilab_com"
MYVW_REDIRECT_URI = "kombi:///login"
REGIONS = ("us", "ca")
#: "present": any play_integrity_token passes (the service from 2026-07-30 to about
#: 2026-08-18); "required": only the simulator's stand-in verdict passes (since then)
ATTESTATION_MODES = ("off", "present", "required")

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo"
DEMO_PIN = "1234"
FLEET_PASSWORD = "fleet"
FLEET_PIN = "1234"

#: The refresh token of the real service lasts a year.
REFRESH_TTL = 31_536_000


@dataclass
class SimulatorOptions:
    """Everything that can be tuned; the defaults are the real service's where it has one.

    Times are seconds. ``apply_delay``, ``wakeup_window`` and the physics run on the
    simulated clock (real time multiplied by ``time_scale``); token lifetimes, codes and
    rate limits run on real time, because they belong to the cloud, not to the car.
    """

    host: str = "127.0.0.1"
    port: int = 0  # API listener; 0 picks a free port
    identity_port: int = 0  # identity (sign-in pages) listener
    apply_delay: float = 20.0  # simulated seconds before a command changes the car
    latency: float = 0.0  # real seconds before a /mps/ endpoint answers
    token_ttl: float = 1800.0  # access and id tokens
    tsp_ttl: float = 2700.0  # TSP (command) tokens
    code_ttl: float = 60.0  # authorization codes
    refresh_ttl: float = float(REFRESH_TTL)
    rate_limit: int = 7  # /mps/ requests per account per sliding minute
    myvw_command_limit: int = 20  # accepted myVW commands per account per sliding minute
    daily_budget: int = 500  # /mps/ requests per account per rolling 24 hours
    fleet: tuple[int, int] | None = None  # (accounts, vehicles per account)
    seed: int = 0
    accounts_file: str | None = None
    time_scale: float = 1.0
    client_id: str = CLIENT_ID
    pin_attempts: int = 3  # wrong PINs in a row before commands are locked
    redirect_uri: str = DEFAULT_REDIRECT_URI  # the only one registered for the client
    wakeup_limit: int = 10  # status/fresh per vehicle within wakeup_window; 0: no limit
    wakeup_window: float = 21_600.0  # simulated seconds: 6 hours
    region: str = "us"  # "ca": the myVW app's Canadian client id instead of the US one
    attestation: str = "off"  # "present"/"required": myVW token requests need the field
    attestation_token: str = ""  # the accepted play_integrity_token; "" derives one from seed
    vehicle_token_ttl: float = 1800.0  # myVW carnetVehicleToken (JWT exp)
    ev_command_gap: float = 10.0  # real seconds between two myVW EV commands of one car
    climate_minutes: float = 30.0  # simulated minutes before the car ends pre-trip climate
    demo_id4: bool = True  # the demo account also has an ID.4 (myVW-era EV)

    def validate(self) -> None:
        """Raise ValueError for options that cannot work."""
        if self.time_scale <= 0:
            raise ValueError("time_scale must be positive")
        for name in ("apply_delay", "latency", "token_ttl", "tsp_ttl", "code_ttl",
                     "wakeup_window", "vehicle_token_ttl", "ev_command_gap",
                     "climate_minutes"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if min(self.rate_limit, self.myvw_command_limit, self.daily_budget,
               self.wakeup_limit) < 0:
            raise ValueError("rate_limit, myvw_command_limit, daily_budget and wakeup_limit "
                             "must not be negative")
        if not self.redirect_uri:
            raise ValueError("redirect_uri must not be empty")
        if self.region not in REGIONS:
            raise ValueError(f"region must be one of {list(REGIONS)}")
        if self.attestation not in ATTESTATION_MODES:
            raise ValueError(f"attestation must be one of {list(ATTESTATION_MODES)}")
        if self.fleet is not None:
            accounts, vehicles = self.fleet
            if accounts < 0 or vehicles < 0:
                raise ValueError("fleet sizes must not be negative")
