"""Where the vendor's hosts are, per region. Both app generations are served by the same
hosts: the region picks the API host, and one identity host serves North America."""

from __future__ import annotations

REGIONS = ("us", "ca")
API_BASES = {
    "us": "https://b-h-s.spr.us00.p.con-veh.net",
    "ca": "https://b-h-s.spr.ca00.p.con-veh.net",
}
IDENTITY_BASE = "https://identity.na.vwgroup.io"


def api_base(region: str) -> str:
    """The API host of ``region``; ValueError naming the accepted ones for another."""
    if region not in REGIONS:
        raise ValueError(f"unknown region {region!r}: accepted are {', '.join(REGIONS)}")
    return API_BASES[region]
