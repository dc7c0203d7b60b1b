"""Which generation serves an account, and which vendor settings its client gets."""

from __future__ import annotations

from carnet.config import AccountConfig, VendorConfig
from carnet.vendor.generations import generation_of, settings_for

ACCOUNT = AccountConfig(email="a@example.com", password="p")
OVERRIDES = VendorConfig(
    api="carnet",
    api_base="http://127.0.0.1:8765",
    identity_base="http://127.0.0.1:8766",
    client_id="my-client",
    redirect_uri="app:///callback",
    user_agent="agent/1",
)


def test_an_account_without_api_takes_the_configured_generation() -> None:
    assert generation_of(VendorConfig(api="myvw"), ACCOUNT) == "myvw"
    assert generation_of(VendorConfig(), ACCOUNT) == "carnet"


def test_an_accounts_own_api_wins() -> None:
    account = AccountConfig(email="a@example.com", password="p", api="myvw")
    assert generation_of(VendorConfig(api="carnet"), account) == "myvw"


def test_the_configured_generation_gets_every_override() -> None:
    assert settings_for(OVERRIDES, "carnet") == OVERRIDES


def test_the_other_generation_keeps_the_hosts_and_its_own_app_identity() -> None:
    settings = settings_for(OVERRIDES, "myvw")
    assert (settings.api_base, settings.identity_base) == (
        "http://127.0.0.1:8765", "http://127.0.0.1:8766"
    )
    assert (settings.client_id, settings.redirect_uri, settings.user_agent) == (None, None, None)
    assert settings.api == "myvw"
    assert settings.timeout == OVERRIDES.timeout
