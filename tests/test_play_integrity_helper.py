"""scripts/play_integrity_helper.py as the bridge runs it: a real subprocess reading a
real file or a real local HTTP server, and through carnet.token_helper's own runner."""

from __future__ import annotations

import http.server
import json
import os
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from carnet.core import redact
from carnet.core.errors import AuthError
from carnet.vendor.token_helper import run_token_helper

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "play_integrity_helper.py"
TOKEN = "eyJhbGciOiJBMjU2S1ciLCJlbmMiOiJBMjU2R0NNIn0.c2VjcmV0LXZlcmRpY3Q.tag-" + "x" * 40


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    answers: dict[str, Answer]
    paths_asked: list[str]


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self.server.paths_asked.append(self.path)
        answer = self.server.answers.get(self.path, Answer(404, b"no such path"))
        time.sleep(answer.delay)
        self.send_response(answer.status)
        for name, value in answer.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep the test output clean


@pytest.fixture
def server() -> Iterator[_Server]:
    instance = _Server(("127.0.0.1", 0), _Handler)
    instance.answers = {}
    instance.paths_asked = []
    thread = threading.Thread(target=instance.serve_forever, daemon=True)
    thread.start()
    yield instance
    instance.shutdown()
    instance.server_close()


def _url(server: _Server, path: str) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def _run(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True, text=True, timeout=timeout, check=False,
    )


def _token_printed(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    document = json.loads(done.stdout)
    assert list(document) == ["play_integrity_token"]
    return document["play_integrity_token"]


def _one_line_error(done: subprocess.CompletedProcess[str], expected: str) -> str:
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("play_integrity_helper: ")
    assert expected in lines[0], lines[0]
    assert TOKEN not in done.stderr and TOKEN[:20] not in done.stderr
    return lines[0]


# ------------------------------------------------------------------------------ file


def test_file_with_a_raw_token(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    assert _token_printed(_run("--file", str(token_file))) == TOKEN


def test_file_is_read_again_at_each_call(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(json.dumps({"play_integrity_token": "first-" + TOKEN}))
    assert _token_printed(_run("--file", str(token_file))) == "first-" + TOKEN
    token_file.write_text(json.dumps({"play_integrity_token": "second-" + TOKEN}))
    assert _token_printed(_run("--file", str(token_file))) == "second-" + TOKEN


def test_file_too_old_for_max_age(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    an_hour_ago = time.time() - 3600
    os.utime(token_file, (an_hour_ago, an_hour_ago))
    _one_line_error(_run("--file", str(token_file), "--max-age", "600"), "--max-age 600")
    assert _token_printed(_run("--file", str(token_file), "--max-age", "7200")) == TOKEN


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "the token is empty"),
        ("  \n", "the token is empty"),
        ('{"play_integrity_token": ""}', "the token is empty"),
        (json.dumps({"token": TOKEN}), 'has no string "play_integrity_token"'),
        ('{"play_integrity_token": ', "not valid JSON"),
        (f"<html><body>{TOKEN} expired</body></html>", "is not a token"),
        (TOKEN * 1000, "more than 32 KiB"),
    ],
)
def test_bad_file_contents(tmp_path: Path, content: str, expected: str) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(content)
    _one_line_error(_run("--file", str(token_file)), expected)


def test_missing_file(tmp_path: Path) -> None:
    line = _one_line_error(_run("--file", str(tmp_path / "absent")), "does not exist")
    assert str(tmp_path / "absent") in line


@pytest.mark.parametrize("seconds", ["0", "-1", "soon", "nan"])
def test_durations_must_be_positive(tmp_path: Path, seconds: str) -> None:
    done = _run("--file", str(tmp_path / "t"), "--max-age", seconds)
    assert done.returncode == 2 and "not a positive number of seconds" in done.stderr


def test_deeply_nested_json_is_refused_clearly(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text('{"a":' + "[" * 5000 + "]" * 5000 + "}")
    _one_line_error(_run("--file", str(token_file)), "not valid JSON")


def test_file_and_url_are_exclusive(tmp_path: Path) -> None:
    done = _run("--file", str(tmp_path / "t"), "--url", "http://127.0.0.1:1/")
    assert done.returncode == 2 and "not allowed with" in done.stderr


# ------------------------------------------------------------------------------- URL


def test_url_with_a_raw_token(server: _Server) -> None:
    server.answers["/token"] = Answer(body=TOKEN.encode())
    assert _token_printed(_run("--url", _url(server, "/token"))) == TOKEN
    assert server.paths_asked == ["/token"]


def test_url_with_json_and_a_query(server: _Server) -> None:
    body = json.dumps({"play_integrity_token": TOKEN, "issued": 1}).encode()
    server.answers["/pi?key=k1"] = Answer(body=body, headers=(("Content-Type",
                                                               "application/json"),))
    assert _token_printed(_run("--url", _url(server, "/pi?key=k1"))) == TOKEN


def test_localhost_by_name(server: _Server) -> None:
    server.answers["/token"] = Answer(body=TOKEN.encode())
    url = f"http://localhost:{server.server_address[1]}/token"
    assert _token_printed(_run("--url", url)) == TOKEN


def test_http_error(server: _Server) -> None:
    server.answers["/token"] = Answer(503, TOKEN.encode())
    line = _one_line_error(_run("--url", _url(server, "/token")), "answered HTTP 503")
    assert "/token" not in line  # the path (and a key in its query) stay out of the line


def test_oversized_answer(server: _Server) -> None:
    server.answers["/token"] = Answer(body=b"a" * (64 * 1024))
    _one_line_error(_run("--url", _url(server, "/token")), "more than 32 KiB")


def test_slow_answer(server: _Server) -> None:
    server.answers["/token"] = Answer(body=TOKEN.encode(), delay=10.0)
    started = time.monotonic()
    done = _run("--url", _url(server, "/token"), "--timeout", "0.5")
    _one_line_error(done, "did not answer within 0.5 s")
    assert time.monotonic() - started < 8  # gave up long before the answer came


def test_redirect_is_not_followed(server: _Server) -> None:
    server.answers["/token"] = Answer(302, headers=(("Location", _url(server, "/moved")),))
    server.answers["/moved"] = Answer(body=TOKEN.encode())
    _one_line_error(_run("--url", _url(server, "/token")), "redirects are not followed")
    assert server.paths_asked == ["/token"]


def test_nobody_listening(server: _Server) -> None:
    port = server.server_address[1]
    server.shutdown()
    server.server_close()
    _one_line_error(_run("--url", f"http://127.0.0.1:{port}/token"), "cannot be reached")


@pytest.mark.parametrize(
    "url",
    ["http://192.0.2.7:8080/token", "https://phone.example.com/token", "http://10.0.0.5/"],
)
def test_remote_url_refused_without_allow_remote(url: str) -> None:
    started = time.monotonic()
    _one_line_error(_run("--url", url), "is not a loopback address")
    assert time.monotonic() - started < 10  # refused before any connection is tried


def test_allow_remote_tries_the_remote_url() -> None:
    # 192.0.2.0/24 is reserved for documentation: nothing answers there.
    done = _run("--url", "http://192.0.2.7:9/token", "--allow-remote", "--timeout", "0.5")
    line = _one_line_error(done, "http://192.0.2.7:9")
    assert "loopback" not in line


@pytest.mark.parametrize(
    ("url", "expected"),
    [("file:///etc/passwd", "must be an http:// or https:// URL"),
     ("http://127.0.0.1:notaport/", "not a valid URL")],
)
def test_unusable_urls(url: str, expected: str) -> None:
    _one_line_error(_run("--url", url, "--allow-remote"), expected)


# ------------------------------------------------- through the bridge's token helper


def _command(*args: str) -> str:
    return shlex.join([sys.executable, str(SCRIPT), *args])


def test_bridge_runs_it_from_a_file(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    fields = run_token_helper(_command("--file", str(token_file)), 20, "token")
    assert fields == {"play_integrity_token": TOKEN}
    assert TOKEN not in redact.redact(f"the vendor echoed {TOKEN} back")


def test_bridge_runs_it_from_a_url(server: _Server) -> None:
    server.answers["/token"] = Answer(body=json.dumps({"play_integrity_token": TOKEN}).encode())
    fields = run_token_helper(_command("--url", _url(server, "/token")), 20, "refresh")
    assert fields == {"play_integrity_token": TOKEN}


def test_bridge_names_a_failing_helper_as_an_auth_error(tmp_path: Path) -> None:
    with pytest.raises(AuthError) as caught:
        run_token_helper(_command("--file", str(tmp_path / "absent")), 20, "token")
    assert "exit status 1" in str(caught.value)
    assert caught.value.step == "token"

