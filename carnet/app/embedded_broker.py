"""A throw-away MQTT broker for ``--demo``, so the first command works on a machine that
has no broker yet.

Two kinds, tried in this order:

* ``mosquitto``, when the binary is installed: the broker most users run anyway, MQTT 5,
  started as a child process on 127.0.0.1 with a temporary configuration;
* ``amqtt`` (``pip install 'carnet2mqtt[demo]'``), a pure-Python broker run in a thread
  of this process. It speaks MQTT 3.1.1 only, so the demo switches the bridge to 3.1.1
  when it is the one in use (see :attr:`EmbeddedBroker.mqtt5`).

``CARNET2MQTT_DEMO_BROKER=mosquitto`` or ``=amqtt`` forces one kind (the tests use it to
exercise both); unset or ``auto`` means "mosquitto if installed, else amqtt".

Neither kind may outlive the demo: mosquitto runs in its own process group, so a Ctrl+C
in the terminal reaches the bridge first and the broker is stopped after the bridge has
said ``offline``, and it gets SIGTERM from the kernel should the demo die without
cleaning up. amqtt lives and dies with this process.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any, Protocol

_LOG = logging.getLogger(__name__)

CHOICE_ENV = "CARNET2MQTT_DEMO_BROKER"
"""Which embedded broker to use: ``auto`` (default), ``mosquitto`` or ``amqtt``."""

KINDS = ("mosquitto", "amqtt")
INSTALL_HINT = (
    "install mosquitto (e.g. 'sudo apt-get install mosquitto') or the Python broker "
    "(pip install 'carnet2mqtt[demo]'), or set mqtt.host and mqtt.port in the "
    "configuration file to a running broker"
)
_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 5.0
_PR_SET_PDEATHSIG = 1


class BrokerUnavailable(Exception):
    """No embedded broker could be started; the message says what was tried."""


class EmbeddedBroker(Protocol):
    kind: str  # "mosquitto" or "amqtt"
    host: str
    port: int
    mqtt5: bool  # False: the broker accepts MQTT 3.1.1 clients only

    def stop(self) -> None: ...


def broker_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when something accepts TCP connections at host:port.

    A TCP connect is enough to decide: if whatever listens there is not an MQTT broker,
    the bridge says so in its own log, and starting a second listener on a taken port
    would fail anyway.
    """
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _wait_listening(port: int, timeout: float, alive: Any = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            return False
        if broker_answers("127.0.0.1", port, timeout=0.2):
            return True
        time.sleep(0.05)
    return False


# ---------------------------------------------------------------- mosquitto


def mosquitto_binary() -> str | None:
    """The mosquitto executable; Debian installs it in /usr/sbin, which is not on every
    user's PATH."""
    found = shutil.which("mosquitto")
    if found:
        return found
    for candidate in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def _user_name() -> str:
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:  # a uid without a passwd entry, as in some containers
        return str(os.getuid())


def _load_prctl() -> Any:
    """libc's prctl, looked up in the parent: the child between fork and exec must not
    run anything as heavy as ``find_library``."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def _parent_death_signal(prctl: Any) -> Any:
    """A ``preexec_fn`` with which the kernel sends the child SIGTERM when the demo dies,
    even by SIGKILL, so no broker is ever left behind. Linux only; elsewhere None."""
    if prctl is None:
        return None

    def set_signal() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)

    return set_signal


class MosquittoBroker:
    """mosquitto on 127.0.0.1:<port>, anonymous, nothing kept on disk."""

    kind = "mosquitto"
    mqtt5 = True

    def __init__(self, port: int, binary: str) -> None:
        self.host = "127.0.0.1"
        self.port = port
        self._dir = Path(tempfile.mkdtemp(prefix="carnet-demo-mosquitto-"))
        self._log = self._dir / "mosquitto.log"
        try:
            conf = self._dir / "mosquitto.conf"
            conf.write_text(
                f"listener {port} 127.0.0.1\n"
                "allow_anonymous true\n"
                "persistence false\n"
                # Run as the demo's own user: started as root, mosquitto would switch to the
                # "mosquitto" user, which also clears the parent-death signal set below.
                f"user {_user_name()}\n"
                f"log_dest file {self._log}\n"
                "log_type error\nlog_type warning\n",
                encoding="utf-8",
            )
            self._process: subprocess.Popen[bytes] | None = subprocess.Popen(
                [binary, "-c", str(conf)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,  # Ctrl+C in the terminal must not reach it first
                preexec_fn=_parent_death_signal(_load_prctl()),
                close_fds=True,
            )
        except BaseException:
            # no process to stop, so stop() would never run: remove the directory here
            shutil.rmtree(self._dir, ignore_errors=True)
            raise
        process = self._process
        try:
            listening = _wait_listening(port, _START_TIMEOUT,
                                        alive=lambda: process.poll() is None)
        except BaseException:  # e.g. Ctrl+C while waiting: neither process nor directory stays
            self.stop()
            raise
        if not listening:
            why = self._failure()
            self.stop()
            raise BrokerUnavailable(f"mosquitto did not start on 127.0.0.1:{port}: {why}")
        _LOG.debug("mosquitto %s listening on 127.0.0.1:%d", binary, port)

    def _failure(self) -> str:
        process = self._process
        if process is None or process.poll() is None:
            return f"no listener after {_START_TIMEOUT:g} s"
        text = ""
        if process.stderr is not None:
            text = process.stderr.read().decode(errors="replace")
        if self._log.exists():
            text += self._log.read_text(encoding="utf-8", errors="replace")
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return lines[-1] if lines else f"exited with status {process.returncode}"

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=_STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if process.stderr is not None:
                process.stderr.close()
            _LOG.debug("mosquitto stopped")
        shutil.rmtree(self._dir, ignore_errors=True)


# -------------------------------------------------------------------- amqtt


def amqtt_available() -> bool:
    try:
        import amqtt.broker  # noqa: F401
    except ImportError:
        return False
    return True


class AmqttBroker:
    """amqtt on 127.0.0.1:<port> in a thread with its own event loop; anonymous, no
    $SYS topics, no packet logging."""

    kind = "amqtt"
    mqtt5 = False

    def __init__(self, port: int) -> None:
        self.host = "127.0.0.1"
        self.port = port
        self._broker: Any = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="amqtt-broker", daemon=True
        )
        if not _LOG.isEnabledFor(logging.DEBUG):
            # Its INFO lines are per-connection chatter that would drown the bridge's log.
            for name in ("amqtt", "transitions"):
                logging.getLogger(name).setLevel(logging.WARNING)
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(_START_TIMEOUT)
        except (Exception, FutureTimeout) as exc:
            self.stop()
            raise BrokerUnavailable(f"amqtt did not start on 127.0.0.1:{port}: {exc}") from exc
        _LOG.debug("amqtt listening on 127.0.0.1:%d", port)

    async def _start(self) -> None:
        from amqtt.broker import Broker

        class _Broker(Broker):  # type: ignore[misc]
            """amqtt 0.11.2 and later, on every CONNECT, send the new client the retained
            messages matching *every* client's subscriptions, not only its own: after a
            ``mosquitto_sub -t 'carnet2mqtt/#'`` each later client, the bridge's
            ``mosquitto_pub`` included, is flooded with the whole tree and its publish
            gets lost. Only a client's own subscriptions may bring it retained messages."""

            async def _publish_retained_messages_for_subscription(
                self, subscription: tuple[str, int], session: Any
            ) -> None:
                subscribers = self._subscriptions.get(subscription[0], ())
                if any(other.client_id == session.client_id for other, _qos in subscribers):
                    await super()._publish_retained_messages_for_subscription(
                        subscription, session
                    )

        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
            },
        }
        broker = _Broker(config)
        await broker.start()
        self._broker = broker

    def stop(self) -> None:
        broker, self._broker = self._broker, None
        if self._loop.is_closed():
            return
        if broker is not None:
            try:
                asyncio.run_coroutine_threadsafe(broker.shutdown(), self._loop).result(
                    _STOP_TIMEOUT
                )
            except (Exception, FutureTimeout) as exc:
                _LOG.warning("amqtt did not shut down cleanly: %s", exc)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(_STOP_TIMEOUT)
        if not self._thread.is_alive():
            self._loop.close()
        _LOG.debug("amqtt stopped")


# ------------------------------------------------------------------- choice


def start_embedded(port: int, choice: str | None = None) -> EmbeddedBroker:
    """Start a broker on 127.0.0.1:<port>: the kind named by ``choice`` (default: the
    ``CARNET2MQTT_DEMO_BROKER`` variable), or with ``auto`` the first that works.

    Raises :class:`BrokerUnavailable` with one line saying what was tried and how to
    install a broker.
    """
    if choice is None:
        choice = os.environ.get(CHOICE_ENV, "").strip().lower() or "auto"
    if choice not in ("auto", *KINDS):
        raise BrokerUnavailable(
            f"{CHOICE_ENV}={choice!r} is not one of auto, {', '.join(KINDS)}"
        )
    kinds = KINDS if choice == "auto" else (choice,)
    problems: list[str] = []
    for kind in kinds:
        if kind == "mosquitto":
            binary = mosquitto_binary()
            if binary is None:
                problems.append("mosquitto is not installed")
                continue
            try:
                return MosquittoBroker(port, binary)
            except (BrokerUnavailable, OSError) as exc:
                problems.append(str(exc))
        else:
            if not amqtt_available():
                problems.append("amqtt is not installed")
                continue
            try:
                return AmqttBroker(port)
            except BrokerUnavailable as exc:
                problems.append(str(exc))
    raise BrokerUnavailable(f"{'; '.join(problems)}: {INSTALL_HINT}")
