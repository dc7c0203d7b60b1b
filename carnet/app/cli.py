"""The command line: ``python bridge.py [--config FILE] [--check|--dump|--once|--demo]``.

Exit codes: 0 success, 2 configuration error, 1 anything else. Configuration errors are
printed one per line, never as a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import signal
import socket
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from carnet import __version__
from carnet.app import state_dir
from carnet.config import Config, load_config
from carnet.core.errors import CarNetError, ConfigError
from carnet.core.redact import install as install_redaction

if TYPE_CHECKING:
    from carnet.runtime.daemon import Bridge

_LOG = logging.getLogger("carnet")

LOG_LEVELS = ("debug", "info", "warning", "error")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bridge.py",
        description=(
            "MQTT bridge for Volkswagen Car-Net (North America) with Home Assistant discovery."
        ),
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=None,
        help="configuration file (default: $CARNET2MQTT_CONFIG, else ./config.yaml)",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="validate the configuration and exit")
    mode.add_argument(
        "--dump",
        action="store_true",
        help="log in, read every vehicle once, print the state as JSON (no MQTT)",
    )
    mode.add_argument(
        "--once",
        action="store_true",
        help="poll every vehicle once, publish state and discovery, exit",
    )
    mode.add_argument(
        "--demo",
        action="store_true",
        help="run against the built-in Car-Net simulator (no account needed)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="with --demo: leave what the demo published on the broker when it stops",
    )
    parser.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        default=None,
        help="log level (default: log_level from the configuration, else info)",
    )
    parser.add_argument("--version", action="version", version=f"carnet2mqtt {__version__}")
    return parser


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    install_redaction()


def _refused(exc: ConfigError) -> int:
    """One line per problem on standard error; the exit status of a configuration error."""
    for problem in exc.problems:
        print(problem, file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.keep and not args.demo:
        parser.error("--keep goes with --demo")
    named = args.config or os.environ.get("CARNET2MQTT_CONFIG")
    args.config = named or "config.yaml"
    if args.demo:
        from carnet.app.demo import run_demo

        setup_logging(args.log_level or "info")
        # A file the user named must be there; ./config.yaml is used only when it is.
        config_path = args.config if named or os.path.exists(args.config) else None
        return run_demo(config_path, keep=args.keep)
    try:
        config = load_config(args.config)
        if args.check:
            state_dir.check(config.state_dir)
    except ConfigError as exc:
        return _refused(exc)
    if args.check:
        vehicles = sum(len(a.vehicles) for a in config.accounts)
        print(
            f"{args.config}: configuration is valid "
            f"({len(config.accounts)} account(s), {vehicles} vehicle setting(s))"
        )
        return 0
    setup_logging(args.log_level or config.log_level)
    try:
        state_dir.prepare(config.state_dir)
    except ConfigError as exc:
        return _refused(exc)
    try:
        if args.dump:
            return dump(config)
        if args.once:
            return run_once(config)
        return run_daemon(config, args.config, args.log_level)
    except CarNetError as exc:
        _LOG.error("%s", exc)
        return 1


def dump(config: Config) -> int:
    """Read every vehicle of every account once and print the normalised state."""
    from carnet.runtime.reader import read_all

    result: dict[str, Any] = {}
    failed = False
    for account, vehicles in read_all(config):
        if isinstance(vehicles, CarNetError):
            _LOG.error("%s: %s", account, vehicles)
            failed = True
            continue
        result.update(vehicles)
    json.dump(result, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")
    return 1 if failed else 0


ONCE_CONNECT_TIMEOUT = 30.0
"""Seconds ``--once`` waits for the broker: it has nowhere to publish without one."""


def once_client_id(client_id: str) -> str:
    """``--once`` must not take over the session of a daemon running with the same id."""
    return f"{client_id}-once-{os.getpid()}"


def refuses_connections(host: str, port: int) -> bool:
    """Whether nothing listens at ``host:port``: then waiting for the broker cannot help,
    and ``--once`` says so at once instead of after ONCE_CONNECT_TIMEOUT."""
    try:
        with socket.create_connection((host, port), timeout=ONCE_CONNECT_TIMEOUT):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:  # unresolved, unreachable or slow: the connect wait below reports it
        return False


def run_once(config: Config) -> int:
    from carnet.runtime.daemon import Bridge

    if refuses_connections(config.mqtt.host, config.mqtt.port):
        _LOG.error(
            "the MQTT broker at %s:%d refuses connections (nothing listens there); check "
            "mqtt.host and mqtt.port",
            config.mqtt.host, config.mqtt.port,
        )
        return 1
    mqtt = dataclasses.replace(config.mqtt, client_id=once_client_id(config.mqtt.client_id))
    bridge = Bridge(dataclasses.replace(config, mqtt=mqtt), one_shot=True)
    bridge.start()
    try:
        if not bridge.link.connected.wait(ONCE_CONNECT_TIMEOUT):
            mqtt = config.mqtt
            _LOG.error(
                "no connection to the MQTT broker at %s:%d within %.0f s; check mqtt.host, "
                "mqtt.port, mqtt.username/password and mqtt.tls",
                mqtt.host, mqtt.port, ONCE_CONNECT_TIMEOUT,
            )
            return 1
        ok = bridge.wait_first_cycle(timeout=config.carnet.timeout * 4 + 30)
    finally:
        bridge.stop()
    if not ok:
        _LOG.error("not every vehicle could be polled and published; see the lines above")
        return 1
    return 0


class Signals:
    """What the supervisor asked for: stop (SIGTERM, SIGINT) or reload (SIGHUP).

    The handlers only record the request and wake the bridge's ``run``; the main thread
    does the work, outside the signal handler.
    """

    def __init__(self) -> None:
        self.bridge: Bridge | None = None
        self.stop = False
        self.reload = False

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        signal.signal(signal.SIGHUP, self._reload)

    def _stop(self, signum: int, _frame: object) -> None:
        _LOG.info("signal %s received, stopping", signal.Signals(signum).name)
        self.stop = True
        if self.bridge is not None:
            self.bridge.request_stop()

    def _reload(self, _signum: int, _frame: object) -> None:
        _LOG.info("signal SIGHUP received, reloading the configuration")
        self.reload = True
        if self.bridge is not None:
            self.bridge.request_stop()


def reload_config(path: str) -> Config | None:
    """The configuration file read again, or None (each problem logged) when it is invalid."""
    try:
        config = load_config(path)
        state_dir.prepare(config.state_dir)
        return config
    except ConfigError as exc:
        for problem in exc.problems:
            _LOG.error("configuration not reloaded: %s", problem)
        _LOG.error("%s has errors; the bridge keeps running with the configuration it has", path)
        return None


def run_daemon(config: Config, config_path: str, log_level: str | None = None) -> int:
    """Run until SIGTERM or SIGINT; a SIGHUP restarts the bridge with the file read again.

    Tokens persist in ``state_dir``, so a restart by SIGHUP does not log in again. The
    reloaded ``log_level`` applies unless ``--log-level`` (``log_level``) overrides it.
    """
    from carnet.runtime.daemon import Bridge

    signals = Signals()
    signals.install()
    while True:
        bridge = Bridge(config)
        signals.bridge = bridge
        if signals.stop or signals.reload:  # a signal while the previous bridge stopped
            bridge.request_stop()
        bridge.start()
        reloaded: Config | None = None
        while reloaded is None:
            bridge.run()
            if signals.stop or not signals.reload:
                break
            signals.reload = False
            reloaded = reload_config(config_path)
            if reloaded is None:
                bridge.resume()
                if signals.stop:  # a SIGTERM between the check and the resume
                    bridge.request_stop()
        bridge.stop(reloading=reloaded is not None and not signals.stop)
        if reloaded is None or signals.stop:
            return 0
        _LOG.info("starting again with the reloaded configuration")
        config = reloaded
        logging.getLogger().setLevel((log_level or config.log_level).upper())
