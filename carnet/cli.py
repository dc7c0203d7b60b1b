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
import sys
from collections.abc import Sequence
from typing import Any

from carnet import __version__
from carnet.config import Config, load_config
from carnet.errors import CarNetError, ConfigError
from carnet.redact import install as install_redaction

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
        default=os.environ.get("CARNET2MQTT_CONFIG", "config.yaml"),
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


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.demo:
        from carnet.demo import run_demo

        setup_logging(args.log_level or "info")
        config_path = args.config if os.path.exists(args.config) else None
        return run_demo(config_path)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    if args.check:
        vehicles = sum(len(a.vehicles) for a in config.accounts)
        print(
            f"{args.config}: configuration is valid "
            f"({len(config.accounts)} account(s), {vehicles} vehicle setting(s))"
        )
        return 0
    setup_logging(args.log_level or config.log_level)
    try:
        if args.dump:
            return dump(config)
        if args.once:
            return run_once(config)
        return run_daemon(config)
    except CarNetError as exc:
        _LOG.error("%s", exc)
        return 1


def dump(config: Config) -> int:
    """Read every vehicle of every account once and print the normalised state."""
    from carnet.reader import read_all

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


def run_once(config: Config) -> int:
    from carnet.daemon import Bridge

    mqtt = dataclasses.replace(config.mqtt, client_id=once_client_id(config.mqtt.client_id))
    bridge = Bridge(dataclasses.replace(config, mqtt=mqtt))
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


def run_daemon(config: Config) -> int:
    from carnet.daemon import Bridge

    bridge = Bridge(config)

    def request_stop(signum: int, _frame: object) -> None:
        _LOG.info("signal %s received, stopping", signal.Signals(signum).name)
        bridge.request_stop()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    bridge.start()
    bridge.run()
    bridge.stop()
    return 0
