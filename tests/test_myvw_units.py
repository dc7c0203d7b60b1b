"""The pure parts of the myVW session: defaults per region, PKCE, JWT claims, the S-PIN
hash, and the reading of sign-in refusals the simulator does not stage."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest

from carnet.config import VendorConfig
from carnet.vendor.myvw_app import defaults
from carnet.vendor.myvw_app.login_refusals import request_class, sign_in_refusal
from carnet.vendor.myvw_app.pkce import make_pkce
from carnet.vendor.myvw_app.spin import spin_hash
from carnet.vendor.myvw_app.token_claims import claims, expiry, subject
from carnet.vendor.protocol import RequestClass


def jwt(payload: dict[str, object]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJub25lIn0.{body}.c2ln"


def test_each_region_has_its_host_and_client() -> None:
    us = defaults.resolved(VendorConfig(), "us")
    ca = defaults.resolved(VendorConfig(), "ca")
    assert us.api_base == "https://b-h-s.spr.us00.p.con-veh.net"
    assert ca.api_base == "https://b-h-s.spr.ca00.p.con-veh.net"
    assert us.client_id == "59992128-69a9-42c3-8621-7942041ba824_MYVW_ANDROID"
    assert ca.client_id == "69eb3c39-d2be-4006-8197-37cc4971e8fe_MYVW_ANDROID"
    assert us.identity_base == ca.identity_base == "https://identity.na.vwgroup.io"
    assert us.redirect_uri == "kombi:///login"
    assert us.user_agent == "MyVW/1.0 Android"


def test_configured_values_win_and_an_unknown_region_is_refused() -> None:
    vendor = defaults.resolved(VendorConfig(api_base="http://127.0.0.1:1", client_id="x"), "ca")
    assert vendor.api_base == "http://127.0.0.1:1" and vendor.client_id == "x"
    assert vendor.redirect_uri == "kombi:///login"
    with pytest.raises(ValueError, match="us, ca"):
        defaults.resolved(VendorConfig(), "eu")


def test_pkce_is_128_upper_hex_with_its_s256_challenge() -> None:
    verifier, challenge = make_pkce()
    assert re.fullmatch(r"[0-9A-F]{128}", verifier)
    digest = hashlib.sha256(verifier.encode()).digest()
    assert challenge == base64.urlsafe_b64encode(digest).decode().rstrip("=")
    assert make_pkce()[0] != verifier


def test_claims_of_a_jwt_and_of_anything_else() -> None:
    token = jwt({"sub": "user-1", "exp": 1700000000})
    assert claims(token)["sub"] == "user-1"
    assert expiry(token) == 1700000000.0
    assert subject(None, "opaque", token) == "user-1"
    assert claims("not-a-jwt") == {} and claims("a.!!!.c") == {}
    assert expiry(jwt({"exp": True})) is None and subject("opaque") is None


def test_spin_hash_is_lower_case_sha512_of_challenge_dot_spin() -> None:
    assert spin_hash("abc", "1234") == hashlib.sha512(b"abc.1234").hexdigest()


@pytest.mark.parametrize(("error", "location", "words"), [
    ("login.errors.password_invalid", "", "accounts[].password"),
    ("login.error.throttled", "", "throttling"),
    ("login.errors.user_not_found", "", "accounts[].email"),
    (None, "/signin-service/v1/x/terms-and-conditions", "terms and conditions"),
    ("login.errors.something_new", "", "something_new"),
])
def test_sign_in_refusals_name_cause_and_remedy(error: str | None, location: str,
                                                words: str) -> None:
    refusal = sign_in_refusal(error, location)
    assert refusal is not None and words in str(refusal)


def test_no_error_is_no_refusal() -> None:
    assert sign_in_refusal(None, "/signin-service/v1/x/login/authenticate") is None


def test_sign_in_token_and_spin_requests_count_as_logins() -> None:
    identity = "https://identity.na.vwgroup.io"
    assert request_class(identity + "/signin-service/v1/x", identity) is RequestClass.LOGIN
    assert request_class("https://api/oidc/v1/token", identity) is RequestClass.LOGIN
    assert request_class("https://api/ss/v1/user/u/challenge", identity) is RequestClass.LOGIN
    assert request_class("https://api/account/v1/garage", identity) is RequestClass.READ
