"""Where the Car-Net app API lives and how its app introduces itself.

The configuration leaves these keys null unless a user points the bridge elsewhere
(the simulator, a moved host); the client fills in what is not set. ``carnet.region``
picks the API host; the app's client id is the same in both regions.
"""

from __future__ import annotations

from dataclasses import replace

from carnet.config import VendorConfig
from carnet.vendor import hosts

# The Car-Net iOS app's OAuth client and the redirect it registered.
CLIENT_ID = "2dae49f6-830b-4180-9af9-59dd0d060916@apps_vw-dilab_com"
REDIRECT_URI = "car-net:///oauth-callback"
USER_AGENT = "Car-Net/60 CFNetwork/1121.2.2 Darwin/19.3.0"


def resolved(vendor: VendorConfig) -> VendorConfig:
    """The configured values, with this generation's own (and the region's host) where a
    key is null."""
    return replace(
        vendor,
        api_base=vendor.api_base or hosts.api_base(vendor.region),
        identity_base=vendor.identity_base or hosts.IDENTITY_BASE,
        client_id=vendor.client_id or CLIENT_ID,
        redirect_uri=vendor.redirect_uri or REDIRECT_URI,
        user_agent=vendor.user_agent or USER_AGENT,
    )
