"""sd_notify against a real AF_UNIX datagram socket, as systemd provides it."""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from carnet.runtime import sdnotify


@pytest.fixture
def path_socket() -> Iterator[tuple[socket.socket, str]]:
    # A short directory: AF_UNIX paths are limited to about 108 bytes.
    with tempfile.TemporaryDirectory(prefix="sdn") as folder:
        address = str(Path(folder) / "notify")
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.bind(address)
            sock.settimeout(5)
            yield sock, address


@pytest.fixture
def abstract_socket() -> Iterator[tuple[socket.socket, str]]:
    name = f"carnet2mqtt-test-{os.getpid()}-{os.urandom(4).hex()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        yield sock, "@" + name


def test_without_notify_socket_nothing_happens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert sdnotify.notify("READY=1") is False
    assert sdnotify.watchdog() is False


def test_notify_to_a_socket_path(
    monkeypatch: pytest.MonkeyPatch, path_socket: tuple[socket.socket, str]
) -> None:
    sock, address = path_socket
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    assert sdnotify.notify("READY=1") is True
    assert sock.recv(4096) == b"READY=1"
    assert sdnotify.watchdog() is True
    assert sock.recv(4096) == b"WATCHDOG=1"


def test_notify_to_an_abstract_socket(
    monkeypatch: pytest.MonkeyPatch, abstract_socket: tuple[socket.socket, str]
) -> None:
    sock, address = abstract_socket
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    assert sdnotify.ready("connected") is True
    assert sock.recv(4096) == b"READY=1\nSTATUS=connected"
    assert sdnotify.stopping() is True
    assert sock.recv(4096) == b"STOPPING=1"
    assert sdnotify.reloading() is True
    assert sock.recv(4096) == b"RELOADING=1"
    assert sdnotify.status("polling 2 vehicles") is True
    assert sock.recv(4096) == b"STATUS=polling 2 vehicles"


def test_a_socket_that_is_gone_returns_false(monkeypatch: pytest.MonkeyPatch) -> None:
    with tempfile.TemporaryDirectory(prefix="sdn") as folder:
        monkeypatch.setenv("NOTIFY_SOCKET", str(Path(folder) / "nobody-listens"))
        assert sdnotify.notify("READY=1") is False


def test_an_unsupported_address_returns_false(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", "vsock:2:1234")
    assert sdnotify.notify("READY=1") is False


def test_watchdog_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    assert sdnotify.watchdog_interval() is None
    monkeypatch.setenv("WATCHDOG_USEC", "120000000")
    assert sdnotify.watchdog_interval() == 60.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert sdnotify.watchdog_interval() == 60.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))
    assert sdnotify.watchdog_interval() is None
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    monkeypatch.setenv("WATCHDOG_USEC", "soon")
    assert sdnotify.watchdog_interval() is None


# ----------------------------------------------------- what the docs promise

UNIT = Path(__file__).resolve().parent.parent / "systemd" / "carnet2mqtt.service"


def test_ready_docs_do_not_promise_a_broker_connection() -> None:
    # The daemon sends READY=1 once its threads run, before the broker has answered.
    comments = " ".join(
        line.lstrip("# ").strip()
        for line in UNIT.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    )
    for text in (" ".join((sdnotify.ready.__doc__ or "").split()), comments):
        assert "MQTT connected" not in text and "MQTT is connected" not in text
    assert "READY=1 once it has started" in comments


def test_unit_needs_no_time_zone() -> None:
    service = UNIT.read_text(encoding="utf-8").split("[Service]", 1)[1].split("[Install]", 1)[0]
    assert not [line for line in service.splitlines() if line.startswith("Environment=TZ=")]
    readme = (UNIT.parent / "README.md").read_text(encoding="utf-8")
    assert "monotonic clock" in readme


def test_unit_reloads_with_sighup() -> None:
    service = UNIT.read_text(encoding="utf-8").split("[Service]", 1)[1].split("[Install]", 1)[0]
    assert "ExecReload=/bin/kill -HUP $MAINPID" in service.splitlines()
