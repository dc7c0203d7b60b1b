"""The log redaction backstop: which secrets it keeps masking, and which shapes it finds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from carnet.config import load_config, parse_config
from carnet.core import redact

PASSWORD = "Pw-long-lived-7Qx2"
PIN = "5739"
UNLOCK_CODE = "Unl0ck-Zr81"
MQTT_PASSWORD = "Mq-broker-Pw-44"
TOKEN_HELPER = "/usr/local/bin/helper --secret Hx-9931"


@pytest.fixture(autouse=True)
def isolated_secrets() -> Iterator[None]:
    """Each test starts from and leaves behind the registrations it found."""
    with redact._lock:
        tokens, permanent = redact._secrets.copy(), redact._permanent.copy()
    yield
    with redact._lock:
        redact._secrets.clear()
        redact._secrets.update(tokens)
        redact._permanent.clear()
        redact._permanent.update(permanent)


def _rotate_tokens(count: int = redact._MAX_SECRETS + 10) -> None:
    for i in range(count):
        redact.register_secret(f"token-{i:05d}-rotated-value")


def test_permanent_secret_outlives_any_number_of_tokens() -> None:
    redact.register_secret(PASSWORD, permanent=True)
    redact.register_secret(PIN, permanent=True)
    _rotate_tokens()
    masked = redact.redact(f"login {PASSWORD} with pin {PIN}")
    assert masked == "login *** with pin ***"


def test_tokens_are_bounded_and_the_oldest_goes_first() -> None:
    _rotate_tokens()
    assert "token-00000-rotated-value" in redact.redact("token-00000-rotated-value")
    assert redact.redact(f"token-{redact._MAX_SECRETS + 9:05d}-rotated-value") == redact.MASK
    assert len(redact._secrets) == redact._MAX_SECRETS


def test_registering_a_permanent_secret_again_keeps_it_permanent() -> None:
    redact.register_secret(PASSWORD, permanent=True)
    redact.register_secret(PASSWORD)  # a caller that does not say permanent
    _rotate_tokens()
    assert PASSWORD not in redact.redact(PASSWORD)


def _config_data() -> dict[str, object]:
    return {
        "mqtt": {"password": MQTT_PASSWORD},
        "carnet": {"token_helper": TOKEN_HELPER},
        "accounts": [{"email": "owner@example.com", "password": PASSWORD, "pin": PIN}],
        "commands": {"unlock_code": UNLOCK_CODE},
    }


def test_register_config_secrets_masks_every_configured_secret_for_good() -> None:
    redact.register_config_secrets(parse_config(_config_data(), {}))
    _rotate_tokens()
    text = f"{PASSWORD} {PIN} {UNLOCK_CODE} {MQTT_PASSWORD} {TOKEN_HELPER}"
    assert redact.redact(text) == " ".join([redact.MASK] * 5)


def test_load_config_registers_the_secrets(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "mqtt: {password: '${MQ}'}\n"
        "carnet: {token_helper: '${HELPER}'}\n"
        "accounts: [{email: owner@example.com, password: '${PW}', pin: '${PIN}'}]\n"
        "commands: {unlock_code: '${CODE}'}\n",
        encoding="utf-8",
    )
    environ = {"MQ": MQTT_PASSWORD, "HELPER": TOKEN_HELPER, "PW": PASSWORD, "PIN": PIN,
               "CODE": UNLOCK_CODE}
    load_config(path, environ)
    _rotate_tokens()
    for secret in (PASSWORD, PIN, UNLOCK_CODE, MQTT_PASSWORD, TOKEN_HELPER):
        assert secret not in redact.redact(f"value: {secret}.")


@pytest.mark.parametrize(
    "text",
    [
        f"AccountConfig(email='o@example.com', password='{PASSWORD}', pin='{PIN}')",
        f'MqttConfig(host="h", password="{MQTT_PASSWORD}", client_id="c")',
        f"CommandsConfig(unlock=True, unlock_code='{UNLOCK_CODE}', max_age=120.0)",
        f"VendorConfig(timeout=30.0, token_helper='{TOKEN_HELPER}')",
        f"unlock_code={UNLOCK_CODE} mqtt_password={MQTT_PASSWORD} tsp_pin={PIN}",
        f"password= '{PASSWORD}'",
    ],
)
def test_key_value_forms_of_reprs_are_masked(text: str) -> None:
    masked = redact.redact(text)
    for secret in (PASSWORD, PIN, UNLOCK_CODE, MQTT_PASSWORD, "Hx-9931"):
        assert secret not in masked
    assert redact.MASK in masked


def test_quoted_mask_keeps_the_rest_of_the_repr() -> None:
    text = f"AccountConfig(email='o@example.com', password='{PASSWORD}', temperature_unit='F')"
    assert redact.redact(text) == (
        "AccountConfig(email='o@example.com', password='***', temperature_unit='F')"
    )


def test_codes_that_are_not_secrets_stay_readable() -> None:
    text = "status_code=503 reason_code=LOCKED model_code=5G1 {\"status_code\": 200}"
    assert redact.redact(text) == text


def test_repr_of_a_config_shows_no_secret_even_before_redaction() -> None:
    config = parse_config(_config_data(), {})
    shown = repr(config)
    for secret in (PASSWORD, PIN, UNLOCK_CODE, MQTT_PASSWORD, TOKEN_HELPER):
        assert secret not in shown
        assert secret not in redact.redact(shown)
    assert "owner@example.com" in shown  # the rest is still there to read
