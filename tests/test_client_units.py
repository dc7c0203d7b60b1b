"""Client pieces that need no server: redaction, token files, error mapping, parsing."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import signal
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
import requests

from carnet.config import AccountConfig, VendorConfig
from carnet.core import redact
from carnet.core.errors import (
    AccessDenied,
    AuthError,
    BadRequest,
    CommandRefused,
    LoginChanged,
    PinRefused,
    RateLimited,
    VendorUnavailable,
    WakeupsUsedUp,
)
from carnet.runtime.daemon import wait_until
from carnet.vendor.carnet_app.answers import refusal
from carnet.vendor.carnet_app.errors import error_for_response
from carnet.vendor.carnet_app.login import Authenticator, make_pkce
from carnet.vendor.carnet_app.pages import parse_page, template_model
from carnet.vendor.http import parse_retry_after
from carnet.vendor.token_helper import run_token_helper
from carnet.vendor.tokens import TokenSet, TokenStore, sendable


def _response(status: int, body: str = "", headers: dict[str, str] | None = None,
              url: str = "https://api.example/mps/v1/vehicles/1/status/fresh?x=1"
              ) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body.encode()
    response.headers.update(headers or {})
    response.url = url
    return response


def _tokens(**overrides: object) -> TokenSet:
    values: dict[str, object] = {
        "access_token": "acc-" + "a" * 20,
        "id_token": "idt-" + "b" * 20,
        "refresh_token": "ref-" + "c" * 20,
        "expires_at": time.time() + 1800,
        "code_verifier": "d" * 64,
        "refresh_expires_at": time.time() + 86400,
    }
    values.update(overrides)
    return TokenSet(**values)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- redact


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("GET /oidc/v1/token?code=abcdef0123456789&state=s HTTP/1.1", "abcdef0123456789"),
        ("car-net:///oauth-callback?state=x&code=0ae3dcb147ff2c12", "0ae3dcb147ff2c12"),
        ("/account/v1/enrollment/status?idToken=eyJhbGciOi.xyz", "eyJhbGciOi.xyz"),
        ("grant_type=refresh_token&refresh_token=r3fr3sh-t0k3n&client_id=c", "r3fr3sh-t0k3n"),
        ("code_verifier=v3r1f13r0123456789&grant_type=x", "v3r1f13r0123456789"),
        ('{"tspPin": "9876", "tsp": "VZT"}', "9876"),
        ('{"tspPin": 9876}', "9876"),
        ("{'password': 'hunter2-long'}", "hunter2-long"),
        ("headers={'Authorization': 'Bearer eyJabc.def-ghi'}", "eyJabc.def-ghi"),
        ("Authorization: Bearer eyJabc.def-ghi", "eyJabc.def-ghi"),
        ('{"tsp_token": "3c7773736", "email": "a@b"}', "3c7773736"),
        ("play_integrity_token=pit-secret-value&x=1", "pit-secret-value"),
    ],
)
def test_redact_masks_secret_shapes(text: str, secret: str) -> None:
    masked = redact.redact(text)
    assert secret not in masked
    assert redact.MASK in masked


def test_redact_keeps_harmless_values() -> None:
    text = "GET /oidc/v1/authorize?code_challenge=abc%3D&state=5f0e-9c1a&scope=openid"
    assert redact.redact(text) == text


def test_registered_secret_is_masked_anywhere() -> None:
    redact.register_secret("S3cr3t-Value-For-Test")
    assert "S3cr3t" not in redact.redact("prefixS3cr3t-Value-For-Testsuffix")
    redact.register_secret("4321")
    assert redact.redact("pin 4321 here") == "pin *** here"
    assert redact.redact("port 54321") == "port 54321"  # short secrets: whole words only


def test_filter_rewrites_record_args_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("carnet.test_redact")
    redact.protect([logger])
    redact.register_secret("Very-Secret-Password-1")
    with caplog.at_level(logging.DEBUG, logger="carnet.test_redact"):
        logger.debug("sending %s", {"password": "Very-Secret-Password-1"})
        try:
            raise ValueError("boom Very-Secret-Password-1")
        except ValueError:
            logger.exception("failed")
    assert "Very-Secret-Password-1" not in caplog.text
    assert "failed" in caplog.text and "sending" in caplog.text


# --------------------------------------------------------------------------- tokens


def test_store_round_trip_mode_and_atomic_write(tmp_path: Path) -> None:
    directory = tmp_path / "state" / "nested"
    store = TokenStore(directory)
    tokens = _tokens()
    store.save("Owner@Example.com", "client", "https://api", tokens)
    path = store.path_for("owner@example.com")
    assert path.exists()
    assert "owner" not in path.name.lower() and "example" not in path.name
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert [p.name for p in directory.iterdir()] == [path.name]  # no temp file left behind
    assert store.load("owner@example.com", "client", "https://api") == tokens
    assert "acc-" not in repr(tokens) and "ref-" not in str(tokens)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "not valid JSON"),
        ('{"format": 1, "account": "x"}', "another account"),
        ("[]", "unknown format"),
    ],
)
def test_store_discards_bad_files_with_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: str, reason: str
) -> None:
    store = TokenStore(tmp_path)
    path = store.path_for("a@b.c")
    path.write_text(content)
    with caplog.at_level(logging.WARNING, logger="carnet.vendor.tokens"):
        assert store.load("a@b.c", "client", "https://api") is None
    assert reason in caplog.text
    assert not path.exists()


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("refresh_expires_at", "soon", "invalid refresh expiry"),
        ("refresh_expires_at", True, "invalid refresh expiry"),
        ("refresh_expires_at", float("nan"), "invalid refresh expiry"),
        ("obtained_at", None, "invalid time obtained"),
        ("obtained_at", [1], "invalid time obtained"),
        ("expires_at", float("inf"), "invalid expiry"),
        ("expires_at", float("nan"), "invalid expiry"),
        ("expires_at", True, "invalid expiry"),
        pytest.param("expires_at", 10**400, "invalid expiry", id="expires_at-huge-int"),
    ],
)
def test_store_discards_tokens_with_unusable_times(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, field: str, value: object, reason: str
) -> None:
    store = TokenStore(tmp_path)
    store.save("a@b.c", "client", "https://api", _tokens())
    path = store.path_for("a@b.c")
    document = json.loads(path.read_text())
    document["tokens"][field] = value
    path.write_text(json.dumps(document))  # Python writes NaN and Infinity as JSON does not
    with caplog.at_level(logging.WARNING, logger="carnet.vendor.tokens"):
        assert store.load("a@b.c", "client", "https://api") is None
    assert reason in caplog.text
    assert not path.exists()


def test_store_accepts_tokens_without_the_optional_times(tmp_path: Path) -> None:
    store = TokenStore(tmp_path)
    store.save("a@b.c", "client", "https://api", _tokens(refresh_expires_at=None))
    path = store.path_for("a@b.c")
    document = json.loads(path.read_text())
    del document["tokens"]["obtained_at"]
    path.write_text(json.dumps(document))
    loaded = store.load("a@b.c", "client", "https://api")
    assert loaded is not None and not loaded.refresh_expired()
    assert loaded.obtained_at == 0.0


def test_store_discards_tokens_of_other_client_or_host(tmp_path: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    store = TokenStore(tmp_path)
    store.save("a@b.c", "client-1", "https://api", _tokens())
    with caplog.at_level(logging.WARNING, logger="carnet.vendor.tokens"):
        assert store.load("a@b.c", "client-2", "https://api") is None
    assert "another client_id" in caplog.text
    store.save("a@b.c", "client-1", "https://api", _tokens())
    assert store.load("a@b.c", "client-1", "https://other") is None


def test_store_other_account_file_is_separate(tmp_path: Path) -> None:
    store = TokenStore(tmp_path)
    store.save("a@b.c", "c", "h", _tokens())
    assert store.load("x@y.z", "c", "h") is None
    assert store.load("a@b.c", "c", "h") is not None


# --------------------------------------------------------------------------- errors


def test_retry_after_seconds_date_and_absent() -> None:
    assert parse_retry_after("42") == 42.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    future = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    assert 100 < (parse_retry_after(future) or 0) <= 121
    past = format_datetime(datetime.now(UTC) - timedelta(seconds=120), usegmt=True)
    assert parse_retry_after(past) == 0.0


def test_a_pin_refusal_is_recognised_when_masking_hides_its_words() -> None:
    # A configured secret (here the word "incorrect") masks the vendor's message in what
    # is logged; the cause is read from the unmasked words all the same.
    redact.register_secret("incorrect")
    answer = _response(403, '{"error":{"message":"the PIN is incorrect"}}')
    refused = error_for_response(answer, "session")
    assert isinstance(refused, PinRefused), refused
    assert "incorrect" not in str(refused)


def test_error_mapping_is_typed() -> None:
    limited = error_for_response(_response(429, headers={"Retry-After": "30"}), "tsp")
    assert isinstance(limited, RateLimited) and limited.retry_after == 30.0
    assert error_for_response(_response(429), "api").retry_after is None  # type: ignore[attr-defined]
    assert isinstance(error_for_response(_response(503), "api"), VendorUnavailable)
    assert isinstance(error_for_response(_response(401), "api"), AuthError)
    denied = error_for_response(_response(403, '{"error":{"code":"FORBIDDEN"}}'), "api")
    assert isinstance(denied, AccessDenied) and not isinstance(denied, AuthError)
    assert "FORBIDDEN" in str(denied)
    assert isinstance(error_for_response(_response(401), "session"), PinRefused)
    pin = error_for_response(_response(403, '{"error":{"code":"INVALID_PIN"}}'), "session")
    assert isinstance(pin, PinRefused)
    bearer = error_for_response(
        _response(401, '{"error":{"code":"UNAUTHORIZED"}}',
                  headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}), "session")
    assert isinstance(bearer, AuthError)
    locked = error_for_response(_response(403, '{"error":{"code":"PIN_LOCKED"}}'), "tsp")
    assert isinstance(locked, PinRefused)
    # Only an answer that says the PIN was refused is a PIN refusal.
    no_access = '{"error":{"code":"FORBIDDEN","message":"secondary user: no remote access"}}'
    session = error_for_response(_response(403, no_access), "session")
    assert isinstance(session, CommandRefused) and session.status == 403
    assert "no remote access" in str(session) and "PIN" not in str(session)
    mentions = '{"error":{"code":"FORBIDDEN","message":"PIN not needed; no remote access"}}'
    assert isinstance(error_for_response(_response(403, mentions), "tsp"), CommandRefused)
    assert isinstance(error_for_response(_response(403, mentions), "session"), CommandRefused)
    for wrong in ('{"error":{"code":"SPIN_LOCKED"}}', '{"error":{"code":"INVALID_SPIN"}}',
                  '{"error":{"message":"the PIN is wrong"}}'):
        assert isinstance(error_for_response(_response(403, wrong), "session"), PinRefused)
    for status in (401, 403):  # one refused command or TSP request, not a refused login
        refused = error_for_response(
            _response(status, '{"error":{"code":"FORBIDDEN","message":"secondary user"}}'),
            "tsp")
        assert isinstance(refused, CommandRefused) and not isinstance(refused, AuthError)
        assert refused.status == status and refused.detail == "FORBIDDEN: secondary user"
    bad = error_for_response(
        _response(400, json.dumps({"error": {"errorCode": "INVALID_VALUE",
                                             "description": "max_charge_current"}})), "tsp")
    assert isinstance(bad, BadRequest)
    assert "INVALID_VALUE" in str(bad) and "max_charge_current" in str(bad)
    assert "x=1" not in str(bad)  # no query strings in messages
    changed = error_for_response(
        _response(401, '{"error":"INVALID_REQUEST"}', url="https://api/oidc/v1/token"), "token")
    assert isinstance(changed, LoginChanged)
    assert "token_helper" in str(changed) and "changed its login" in str(changed)
    refused = error_for_response(_response(400, '{"error":"invalid_grant"}'), "refresh")
    assert isinstance(refused, AuthError) and not isinstance(refused, LoginChanged)
    assert refused.step == "refresh"


# --------------------------------------------------------------------------- login parsing


def test_pkce_challenge_is_padded_s256() -> None:
    verifier, challenge = make_pkce()
    assert len(verifier) == 64 and all(c in "0123456789abcdef" for c in verifier)
    assert challenge.endswith("=")
    digest = hashlib.sha256(verifier.encode()).digest()
    assert base64.urlsafe_b64decode(challenge) == digest


def test_parser_reads_hidden_inputs_with_sloppy_markup() -> None:
    page = parse_page(
        "<html><body><form class=content id=emailPasswordForm method=POST "
        "action='/signin-service/v1/app/login/identifier'>"
        "<input type=hidden name=_csrf value=c1><input type=hidden name=relayState value=r1>"
        "<input type=hidden id=hmac name=hmac value=h1><input name=email>"
    )
    form = page.form("emailPasswordForm")
    assert form is not None
    assert form.action == "/signin-service/v1/app/login/identifier"
    assert form.fields["_csrf"] == "c1" and form.fields["hmac"] == "h1"


def test_template_model_variant() -> None:
    page = parse_page(
        "<html><head><script>window._IDK = {\n templateModel: {\"hmac\":\"h2\","
        "\"relayState\":\"r2\",\"postAction\":\"login/authenticate\",\"x\":{\"y\":\"}\"}},\n"
        " csrf_token: 'c2',\n};</script></head><body></body></html>"
    )
    model = template_model(page.scripts)
    assert model is not None
    assert model["hmac"] == "h2" and model["relayState"] == "r2"
    assert model["postAction"] == "login/authenticate" and model["_csrf"] == "c2"


# --------------------------------------------------------------------------- token helper


def _script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "helper.py"
    path.write_text(body)
    return f"{sys.executable} {path}"


def test_token_helper_output_is_returned(tmp_path: Path) -> None:
    command = _script(tmp_path, 'import json; print(json.dumps({"play_integrity_token": "x"}))')
    assert run_token_helper(command, 10, "token") == {"play_integrity_token": "x"}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("import sys; sys.exit(3)", "exit status 3"),
        ("print('not json')", "not JSON"),
        ("print('[1, 2]')", "JSON object of string values"),
        ("import time; time.sleep(5)", "did not finish"),
    ],
)
def test_token_helper_failures_are_clear(tmp_path: Path, body: str, expected: str) -> None:
    with pytest.raises(AuthError) as caught:
        run_token_helper(_script(tmp_path, body), 1.0, "token")
    assert expected in str(caught.value)
    assert caught.value.step == "token"


def test_token_helper_missing_program() -> None:
    with pytest.raises(AuthError, match="could not be started"):
        run_token_helper("/nonexistent/helper --flag", 1.0, "refresh")


def test_token_helper_is_not_run_through_a_shell(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    command = _script(tmp_path, 'import json, sys; print(json.dumps({"a": sys.argv[1]}))')
    values = run_token_helper(f"{command} '$(touch {marker})'", 10, "token")
    assert values == {"a": f"$(touch {marker})"}
    assert not os.path.exists(marker)


def _shell(tmp_path: Path, body: str) -> str:
    path = tmp_path / "helper.sh"
    path.write_text(body)
    return f"/bin/sh {path}"


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its parent does not)."""
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat_line.rsplit(")", 1)[1].split()[0] != "Z"


def _kill(pid_file: Path) -> None:
    if pid_file.exists():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


def test_token_helper_timeout_kills_what_it_started(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    command = _shell(tmp_path, f"sleep 60 &\necho $! > {pid_file}\nsleep 60\n")
    try:
        started = time.monotonic()
        with pytest.raises(AuthError, match="did not finish within 2 s"):
            run_token_helper(command, 2.0, "token")
        assert time.monotonic() - started < 6
        child = int(pid_file.read_text())
        assert wait_until(lambda: not _alive(child), 5), "the helper's child outlived it"
    finally:
        _kill(pid_file)


def test_token_helper_is_done_when_it_exits(tmp_path: Path) -> None:
    """A child left running with the helper's output open does not hold up the login."""
    pid_file = tmp_path / "child.pid"
    command = _shell(
        tmp_path,
        f"sleep 30 &\necho $! > {pid_file}\n"
        'echo \'{"play_integrity_token": "Tok-0123456789"}\'\n',
    )
    try:
        started = time.monotonic()
        assert run_token_helper(command, 10, "token") == {"play_integrity_token": "Tok-0123456789"}
        assert time.monotonic() - started < 5
    finally:
        _kill(pid_file)


def test_token_helper_output_is_capped(tmp_path: Path) -> None:
    """40 MB of output: an error at 64 KiB, read piecewise, so memory stays flat."""
    helper = _script(tmp_path, "import sys\nfor _ in range(40):\n"
                     "    sys.stdout.buffer.write(b'x' * (1 << 20))\n")
    measure = (
        "import json, re, sys, time\n"
        "from carnet.vendor.token_helper import run_token_helper\n"
        "from carnet.core.errors import AuthError\n"
        # VmHWM: this process's peak RSS (ru_maxrss would include its parent's)
        "def peak():\n"
        "    return int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1])\n"
        "before = peak()\n"
        "started = time.monotonic()\n"
        "try:\n"
        "    run_token_helper(sys.argv[1], 30, 'token')\n"
        "    error = None\n"
        "except AuthError as exc:\n"
        "    error = str(exc)\n"
        "print(json.dumps({'error': error, 'seconds': time.monotonic() - started,\n"
        "    'grew_kib': peak() - before}))\n"
    )
    run = subprocess.run([sys.executable, "-c", measure, helper], capture_output=True,
                         timeout=60, check=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    outcome = json.loads(run.stdout)
    assert "printed more than 64 KiB" in outcome["error"]
    assert outcome["seconds"] < 5
    assert outcome["grew_kib"] < 8 * 1024, outcome  # peak RSS: 40 MB never held


def test_short_token_helper_values_are_not_masked(tmp_path: Path) -> None:
    command = _script(tmp_path, "import json; print(json.dumps("
                      "{'platform': 'android', 'play_integrity_token': 'Tok-9f8e7d6c5b4a'}))")
    run_token_helper(command, 10, "token")
    assert redact.redact("android app, Tok-9f8e7d6c5b4a") == "android app, ***"


def test_token_helper_gets_no_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "CARNET_PASSWORD": "pw-from-the-env",
        "CARNET_PIN": "4321",
        "CARNET_UNLOCK_CODE": "unlock-from-the-env",
        "MQTT_PASSWORD": "mqtt-from-the-env",
        "MY_PIN": "9876",  # a configured secret under another name
        "BROKER_URL": "mqtt://bridge:Long-Sekr1t-Value@broker",  # contains one
        "HELPER_SETTING": "kept",
    }.items():
        monkeypatch.setenv(name, value)
    command = _script(tmp_path, "import json, os; print(json.dumps("
                      "{'names': ' '.join(sorted(os.environ))}))")
    names = run_token_helper(command, 10, "token", ["9876", "Long-Sekr1t-Value", None])["names"]
    given = set(names.split())
    assert {"HELPER_SETTING", "PATH"} <= given
    assert not given & {"CARNET_PASSWORD", "CARNET_PIN", "CARNET_UNLOCK_CODE", "MQTT_PASSWORD",
                        "MY_PIN", "BROKER_URL"}


# --------------------------------------------------------------------------- login steps


EMAIL_PAGE = (
    '<form id="emailPasswordForm" method="POST" action="/signin-service/v1/app/login/identifier">'
    '<input type="hidden" name="_csrf" value="c"/><input type="hidden" name="relayState" '
    'value="r"/><input type="hidden" name="hmac" value="h"/><input name="email"/></form>'
)
PASSWORD_PAGE = (
    '<form id="credentialsForm" method="POST" action="/signin-service/v1/app/login/authenticate">'
    '<input type="hidden" name="hmac" value="h2"/><input name="password"/></form>'
)


class FakeSender:
    """Answers each request with the next prepared (status, body, headers)."""

    def __init__(self, *answers: tuple[int, str, dict[str, str]]) -> None:
        self.answers = list(answers)
        self.sent: list[tuple[str, str, dict[str, object]]] = []

    def __call__(self, session: requests.Session, method: str, url: str, *, step: str,
                 check: bool = True, **kwargs: object) -> requests.Response:
        self.sent.append((method, url, kwargs))
        status, body, headers = self.answers.pop(0)
        response = _response(status, body, headers, url="https://id.example/page")
        if check and status >= 400:
            raise error_for_response(response, step)
        return response


def _authenticator(sender: FakeSender, **vendor: object) -> Authenticator:
    settings = {"api_base": "https://api.example", "identity_base": "https://id.example", **vendor}
    return Authenticator(VendorConfig(**settings),  # type: ignore[arg-type]
                         AccountConfig(email="a@b.c", password="pw-123456"), sender)


def test_password_goes_only_to_the_configured_identity_host() -> None:
    sender = FakeSender((200, EMAIL_PAGE, {}), (200, PASSWORD_PAGE, {}))
    with pytest.raises(LoginChanged) as caught:
        _authenticator(sender, identity_base="https://identity.na.vwgroup.io").login()
    assert caught.value.step == "authenticate"
    assert "carnet.identity_base" in str(caught.value)
    assert "pw-123456" not in str(caught.value)
    assert len(sender.sent) == 2  # e-mail sent, password never


def test_login_page_without_forms_is_a_login_change() -> None:
    with pytest.raises(LoginChanged) as caught:
        _authenticator(FakeSender((200, "<html><p>New sign-in</p></html>", {}))).login()
    assert caught.value.step == "authorize"
    assert "carnet.token_helper" in str(caught.value)


def test_page_after_email_without_any_form_is_a_login_change() -> None:
    sender = FakeSender((200, EMAIL_PAGE, {}), (200, "<html><p>Something new</p></html>", {}))
    with pytest.raises(LoginChanged) as caught:
        _authenticator(sender).login()
    assert caught.value.step == "identifier"


def test_state_mismatch_is_refused() -> None:
    sender = FakeSender(
        (200, EMAIL_PAGE, {}),
        (200, PASSWORD_PAGE, {}),
        (302, "", {"Location": "car-net:///oauth-callback?state=other&code=" + "a" * 96}),
    )
    with pytest.raises(AuthError) as caught:
        _authenticator(sender).login()
    assert caught.value.step == "authenticate" and "state" in str(caught.value)
    method, url, kwargs = sender.sent[2]
    assert method == "POST" and url.endswith("/login/authenticate")
    assert kwargs["allow_redirects"] is False
    assert kwargs["data"] == {"_csrf": "c", "relayState": "r", "email": "a@b.c", "hmac": "h2",
                              "password": "pw-123456"}
    assert len(sender.sent) == 3  # the custom-scheme redirect is never requested


def test_a_car_refusing_wakeups_is_not_the_accounts_rate_limit() -> None:
    body = '{"error": {"code": "VEHICLE_WAKEUP_LIMIT", "message": "too many wake-ups"}}'
    response = _response(429, body, {"Content-Type": "application/json"},
                         url="https://api.example/mps/v1/vehicles/1/status/fresh")
    error = error_for_response(response, "tsp")
    assert isinstance(error, WakeupsUsedUp) and not isinstance(error, RateLimited)
    plain = error_for_response(_response(429, "{}", {"Retry-After": "30"}), "tsp")
    assert isinstance(plain, RateLimited) and plain.retry_after == 30


def test_a_command_answer_that_says_no() -> None:
    for taken in ({"data": {"result": 0}}, {"data": {"result": "0", "command": "lock"}},
                  {"value": {}}, {"error": None}, [], None):
        assert refusal(taken) == "", taken
    assert refusal({"data": {"result": 1}}) == "result 1"
    assert refusal({"data": {"result": 2, "message": "vehicle offline"}}) == (
        "result 2: vehicle offline")
    assert refusal({"error": {"code": "E1", "message": "no"}}) == "E1: no"
    assert refusal({"error": "busy", "data": {"result": 0}}) == "busy"


def test_tokens_that_cannot_go_into_a_header_are_not_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert sendable("eyJhbGciOi.J9-_~") and not sendable("")
    for bad in ("abc\r\ndef", "abc\ndef", "two words", "t\x00", "tök"):
        assert not sendable(bad), bad
    store = TokenStore(tmp_path)
    store.save("a@b.c", "client", "https://api", _tokens(access_token="abc\r\nX-Injected: 1"))
    with caplog.at_level(logging.WARNING, logger="carnet.vendor.tokens"):
        assert store.load("a@b.c", "client", "https://api") is None
    assert "invalid access token" in caplog.text and "X-Injected" not in caplog.text
