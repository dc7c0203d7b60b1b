"""Where the myVW app API lives, per region, and how the myVW app introduces itself.

The configuration leaves these keys null unless a user points the bridge elsewhere
(the simulator, a moved host); the client fills in what is not set. The US and the
Canadian app are separate OAuth clients on separate hosts: each host refuses the other's.
"""

from __future__ import annotations

from dataclasses import replace

from carnet.config import VendorConfig
from carnet.vendor import hosts

# The myVW Android app's OAuth clients and the redirect they registered.
CLIENT_IDS = {
    "us": "59992128-69a9-42c3-8621-7942041ba824_MYVW_ANDROID",
    "ca": "69eb3c39-d2be-4006-8197-37cc4971e8fe_MYVW_ANDROID",
}
REDIRECT_URI = "kombi:///login"
USER_AGENT = "MyVW/1.0 Android"

# The sign-in pages are a web view inside the app: an Android browser, tagged with the
# app's package name.
LOGIN_HEADERS = {
    "User-Agent": (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Mobile Safari/537.36"
    ),
    "x-requested-with": "com.volkswagen.weconnect",
    "Accept-Language": "en-US",
}


def resolved(vendor: VendorConfig, region: str) -> VendorConfig:
    """The configured values, with the region's own where a key is null."""
    if region not in hosts.REGIONS:
        raise ValueError(f"unknown myVW region {region!r}: accepted are "
                         f"{', '.join(hosts.REGIONS)}")
    return replace(
        vendor,
        api_base=vendor.api_base or hosts.api_base(region),
        identity_base=vendor.identity_base or hosts.IDENTITY_BASE,
        client_id=vendor.client_id or CLIENT_IDS[region],
        redirect_uri=vendor.redirect_uri or REDIRECT_URI,
        user_agent=vendor.user_agent or USER_AGENT,
    )


def api_headers(vendor: VendorConfig, bearer: str) -> dict[str, str]:
    """The headers of an API request made with ``bearer``."""
    return {
        "Authorization": f"Bearer {bearer}",
        "Accept": "application/json",
        "content-version": "1",
        "User-Agent": vendor.user_agent or USER_AGENT,
    }
