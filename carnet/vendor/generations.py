"""Which API generation serves an account, and the client that speaks it.

The runtime opens every account's client here and never names a generation itself.
"""

from __future__ import annotations

from dataclasses import replace

from carnet.config import AccountConfig, VendorConfig
from carnet.vendor.carnet_app.client import CarNetClient
from carnet.vendor.protocol import RequestRecorder, VendorClient
from carnet.vendor.tokens import TokenStore

CARNET = "carnet"
MYVW = "myvw"


def generation_of(vendor: VendorConfig, account: AccountConfig) -> str:
    """The account's own ``api``, else the configured ``carnet.api``."""
    return account.api or vendor.api


def settings_for(vendor: VendorConfig, generation: str) -> VendorConfig:
    """The vendor settings one generation's client gets.

    ``client_id``, ``redirect_uri`` and ``user_agent`` name one app, so they apply to
    ``carnet.api``'s generation only; an account on the other generation gets that
    generation's own (null here, filled in by its defaults). The hosts apply to all.
    """
    if generation == vendor.api:
        return vendor
    return replace(vendor, api=generation, client_id=None, redirect_uri=None, user_agent=None)


def open_client(
    vendor: VendorConfig,
    account: AccountConfig,
    store: TokenStore,
    *,
    min_interval: float,
    max_per_minute: int,
    recorder: RequestRecorder | None,
) -> VendorClient:
    """The client of the account's generation."""
    generation = generation_of(vendor, account)
    settings = settings_for(vendor, generation)
    if generation == MYVW:
        return _open_myvw(settings, account, store, min_interval=min_interval,
                          max_per_minute=max_per_minute, recorder=recorder)
    return CarNetClient(settings, account, store, min_interval=min_interval,
                        max_per_minute=max_per_minute, recorder=recorder)


def _open_myvw(
    vendor: VendorConfig,
    account: AccountConfig,
    store: TokenStore,
    *,
    min_interval: float,
    max_per_minute: int,
    recorder: RequestRecorder | None,
) -> VendorClient:
    from carnet.vendor.myvw_app.client import MyvwClient
    from carnet.vendor.myvw_app.defaults import resolved
    from carnet.vendor.myvw_app.session import MyvwSession

    settings = resolved(vendor, vendor.region)
    return MyvwClient(settings, account, MyvwSession(settings, account, store, recorder),
                      min_interval=min_interval, max_per_minute=max_per_minute,
                      recorder=recorder)
