"""``python bridge.py --demo``: the whole bridge against the built-in simulator, both generations.

Two simulated accounts, one per API generation: the Car-Net app's with an e-Golf and a
Jetta, the myVW app's with an ID.4, so a newcomer sees both roads of a command (confirmed
by a re-poll on Car-Net, followed to the outcome the vendor reports on myVW).

It is the first command a newcomer runs, so it needs no account, no configuration file
and, when no broker answers at the configured address, no broker either: an embedded
one is started on 127.0.0.1 at that port (see :mod:`carnet.app.embedded_broker`). Only the
``mqtt`` section of ``--config`` is used, so a user can point the demo at the broker
Home Assistant already uses and watch the entities appear; everything else is fixed
here so the demo is lively (commands come back in seconds) and leaves nothing behind
(tokens in a temporary directory, every child stopped on exit).

On that broker the demo is a guest next to a real bridge, maybe several demos: it has
a client id of its own for each run (a broker drops a client when another connects with
its id), its own base topic and discovery ids, and at exit it clears every retained
message and discovery config it published (``--keep`` leaves them, for a look around
Home Assistant afterwards).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import secrets
import shlex
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from types import FrameType
from typing import Any

import yaml

from carnet.app.embedded_broker import (
    BrokerUnavailable,
    EmbeddedBroker,
    broker_answers,
    start_embedded,
)
from carnet.config import Config, MqttConfig, TlsConfig, parse_config
from carnet.core.errors import CarNetError, ConfigError
from carnet.mqtt.topics import Topics
from carnet.simulator.accounts import DEMO_COMBUSTION_VIN, DEMO_EV_VIN, DEMO_ID4, DEMO_ID4_VIN
from carnet.simulator.options import DEMO_EMAIL, DEMO_PASSWORD, DEMO_PIN

_LOG = logging.getLogger(__name__)

__all__ = ["DEMO_EMAIL", "DEMO_PASSWORD", "DEMO_PIN", "MYVW_EMAIL", "VEHICLES", "run_demo"]

CARNET_VEHICLES = {DEMO_EV_VIN: "egolf", DEMO_COMBUSTION_VIN: "jetta"}
"""The simulator's demo account, on the Car-Net app API: its vehicles and their names."""
MYVW_EMAIL = "demo-myvw@example.com"
MYVW_VEHICLES = {DEMO_ID4_VIN: "id4"}
"""The demo's second account, on the myVW app API, with the simulator's ID.4 (the
simulator's own demo account then goes without it, so every name is one car)."""
VEHICLES = {**CARNET_VEHICLES, **MYVW_VEHICLES}
"""Every demo vehicle and the name the demo gives it in topics."""

APPLY_DELAY = 3.0
"""Seconds the simulated car takes to carry out a command: long enough to see the
pending state (``LOCKING``, ``ON``), short enough to see the outcome."""

BASE_TOPIC = "carnet2mqtt-demo"
NODE_PREFIX = "carnet2mqtt_demo"
"""Starts the demo's discovery node and unique ids; a bridge's start ``carnet2mqtt_``
followed by a VIN, which cannot begin with ``demo`` (VINs have no letter O)."""

_PROBE_TIMEOUT = 1.0
_PLACEHOLDER_URL = "http://127.0.0.1"  # replaced by the simulator's URLs once it runs


def read_mqtt_section(config_path: str | None) -> dict[str, Any]:
    """The ``mqtt`` mapping of the user's file, unvalidated; {} without a file.

    Only this section is read: the rest of a real configuration (an account whose
    password comes from an unset variable, say) must not stop the demo.
    """
    if config_path is None:
        return {}
    path = Path(config_path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError([f"{path}: cannot be read: {exc.strerror} (a YAML file)"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: not UTF-8 text (a UTF-8 YAML file)"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError([f"{path}: YAML syntax error{where} (valid YAML)"]) from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError([f"{path}: not a mapping at the top level (a YAML mapping)"])
    mqtt = data.get("mqtt")
    return {} if mqtt is None else {"mqtt": mqtt}


def client_id() -> str:
    """Unique per run: two demos, or a demo and a bridge, never take each other's place.
    Random rather than the process id, which is 1 in every container; 23 characters, the
    longest client id every MQTT 3.1.1 broker must accept."""
    return f"carnet2mqtt-demo-{secrets.token_hex(3)}"


def demo_config(
    mqtt_section: Mapping[str, Any], state_dir: str, environ: Mapping[str, str] | None = None
) -> Config:
    """The demo account and vehicles with the user's ``mqtt`` section, checked like any
    configuration (so errors name ``mqtt.port`` as in the user's file), except for the
    client id and the base topic, which are the demo's own. The Car-Net URLs are
    placeholders until the simulator runs: see :func:`point_at`."""
    mqtt = mqtt_section.get("mqtt")
    if isinstance(mqtt, Mapping):
        for key in ("client_id", "base_topic"):
            if key in mqtt:
                _LOG.info("the demo uses its own mqtt.%s, not %r", key, mqtt[key])
        mqtt_section = {"mqtt": {**mqtt, "client_id": client_id(), "base_topic": BASE_TOPIC}}
    elif mqtt is None:
        mqtt_section = {"mqtt": {"client_id": client_id(), "base_topic": BASE_TOPIC}}
    data: dict[str, Any] = {
        **mqtt_section,
        "carnet": {"api_base": _PLACEHOLDER_URL, "identity_base": _PLACEHOLDER_URL, "timeout": 10},
        "accounts": [
            {
                "email": DEMO_EMAIL,
                "password": DEMO_PASSWORD,
                "pin": DEMO_PIN,
                "api": "carnet",
                "vehicles": {vin: {"name": name} for vin, name in CARNET_VEHICLES.items()},
            },
            {
                "email": MYVW_EMAIL,
                "password": DEMO_PASSWORD,
                "pin": DEMO_PIN,
                "api": "myvw",
                "vehicles": {vin: {"name": name} for vin, name in MYVW_VEHICLES.items()},
            },
        ],
        "polling": {"interval": 60, "active_interval": 60},
        "commands": {"verify_after": 5, "min_interval": 1},
        "state_dir": state_dir,
    }
    return parse_config(data, os.environ if environ is None else environ)


def write_myvw_account(state_dir: str) -> str:
    """The simulator's accounts file with the demo's myVW account; its path."""
    account = {"email": MYVW_EMAIL, "password": DEMO_PASSWORD, "pin": DEMO_PIN,
               "first_name": "Demo", "last_name": "Driver", "vehicles": [DEMO_ID4]}
    path = Path(state_dir) / "simulated-accounts.json"  # JSON is YAML, as the file wants
    path.write_text(json.dumps({"accounts": [account]}), encoding="utf-8")
    return str(path)


def point_at(config: Config, api_url: str, identity_url: str) -> Config:
    carnet = dataclasses.replace(config.carnet, api_base=api_url, identity_base=identity_url)
    return dataclasses.replace(config, carnet=carnet)


def use_embedded(mqtt: MqttConfig, broker: EmbeddedBroker) -> MqttConfig:
    """The embedded broker is plain TCP on 127.0.0.1 and lets anyone in; the user's TLS
    and credentials were meant for another broker and would only make the login fail."""
    protocol = mqtt.protocol
    if protocol == "5" and not broker.mqtt5:
        _LOG.info("%s speaks MQTT 3.1.1 only; the bridge uses 3.1.1 for the demo", broker.kind)
        protocol = "3.1.1"
    return dataclasses.replace(
        mqtt,
        host=broker.host,
        port=broker.port,
        username=None,
        password=None,
        tls=TlsConfig(),
        protocol=protocol,
    )


STOP_HINT = "Ctrl+C stops the demo and clears what it published (--keep leaves it)."
STOP_HINT_KEEP = "Ctrl+C stops the demo; what it published stays on the broker (--keep)."


def hints(config: Config, broker_note: str, api_url: str, keep: bool = False) -> str:
    """The few lines that tell a newcomer where to look and what to try."""
    mqtt = config.mqtt
    base = mqtt.base_topic
    topics = Topics(base, mqtt.discovery.prefix)
    ev_name = CARNET_VEHICLES[DEMO_EV_VIN]
    myvw_name = MYVW_VEHICLES[DEMO_ID4_VIN]
    options = f"-h {shlex.quote(mqtt.host)} -p {mqtt.port}"
    if mqtt.username is not None:
        options += f" -u {shlex.quote(mqtt.username)} -P '<password>'"
    if mqtt.tls.enabled:
        options += f" --cafile {shlex.quote(mqtt.tls.ca_certs)}" if mqtt.tls.ca_certs else (
            " --capath /etc/ssl/certs"
        )
    return "\n".join(
        [
            f"carnet2mqtt demo: simulated accounts {DEMO_EMAIL} "
            f"(Car-Net app: {', '.join(CARNET_VEHICLES.values())}) and {MYVW_EMAIL} "
            f"(myVW app: {', '.join(MYVW_VEHICLES.values())})",
            f"  MQTT broker:    {mqtt.host}:{mqtt.port} ({broker_note})",
            f"  base topic:     {base}",
            f"  watch:          mosquitto_sub {options} -t '{base}/#' -v",
            f"  try a command:  mosquitto_pub {options} "
            f"-t {topics.attribute_set(ev_name, 'climate')} -m ON",
            f"  results on:     {topics.result(ev_name)}",
            f"  try on myVW:    mosquitto_pub {options} "
            f"-t {topics.attribute_set(myvw_name, 'target_soc')} -m 90",
            f"  myVW results:   {topics.result(myvw_name)}",
            f"  simulator:      {api_url} (the cars as simulated: {api_url}/_sim/vehicles)",
            f"  {STOP_HINT_KEEP if keep else STOP_HINT}",
        ]
    )


class _StopSignals:
    """SIGTERM and SIGINT ask the bridge to stop, as the daemon does; a signal that
    arrives while the demo is still starting is remembered, so start-up is cut short and
    everything started so far is stopped."""

    def __init__(self) -> None:
        self.requested = threading.Event()
        self._request_bridge: Callable[[], None] | None = None
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            self._previous[signum] = signal.signal(signum, self._handle)

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def attach(self, request_stop: Callable[[], None]) -> None:
        self._request_bridge = request_stop
        if self.requested.is_set():
            request_stop()

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        _LOG.info("signal %s received, stopping", signal.Signals(signum).name)
        self.requested.set()
        if self._request_bridge is not None:
            self._request_bridge()


def run_demo(config_path: str | None, keep: bool = False) -> int:
    """Run the demo until SIGINT or SIGTERM. Returns the exit code: 0 after a signal,
    2 for a bad ``mqtt`` section, 1 when no broker is reachable or none can be started.
    ``keep`` leaves what it published retained on the broker."""
    signals = _StopSignals()
    signals.install()
    state_dir = tempfile.mkdtemp(prefix="carnet-demo-")
    broker: EmbeddedBroker | None = None
    simulator: Any = None
    bridge: Any = None
    try:
        try:
            config = demo_config(read_mqtt_section(config_path), state_dir)
        except ConfigError as exc:
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            return 2
        mqtt = config.mqtt
        if broker_answers(mqtt.host, mqtt.port, _PROBE_TIMEOUT):
            broker_note = "already running, used as is"
        else:
            try:
                broker = start_embedded(mqtt.port)
            except BrokerUnavailable as exc:
                print(
                    f"carnet2mqtt demo: no MQTT broker answers at {mqtt.host}:{mqtt.port} "
                    f"and none could be started ({exc})",
                    file=sys.stderr,
                )
                return 1
            _LOG.info(
                "no MQTT broker answers at %s:%d; started an embedded %s on %s:%d",
                mqtt.host, mqtt.port, broker.kind, broker.host, broker.port,
            )
            config = dataclasses.replace(config, mqtt=use_embedded(mqtt, broker))
            broker_note = f"embedded {broker.kind}, stopped with the demo"
        if signals.requested.is_set():
            return 0

        from carnet.simulator import Simulator, SimulatorOptions

        simulator = Simulator(
            SimulatorOptions(apply_delay=APPLY_DELAY, rate_limit=600, daily_budget=1_000_000,
                             demo_id4=False, accounts_file=write_myvw_account(state_dir))
        ).start()
        config = point_at(config, simulator.api_url, simulator.identity_url)
        if signals.requested.is_set():
            return 0

        from carnet.runtime.daemon import Bridge

        bridge = Bridge(config, node_prefix=NODE_PREFIX, clear_retained_at_stop=not keep)
        signals.attach(bridge.request_stop)
        bridge.start()
        print(hints(config, broker_note, simulator.api_url, keep), flush=True)
        bridge.run()
        return 0
    except CarNetError as exc:
        _LOG.error("%s", exc)
        return 1
    finally:
        if bridge is not None:
            bridge.stop()
        if broker is not None:
            broker.stop()
        if simulator is not None:
            simulator.stop()
        signals.restore()
        shutil.rmtree(state_dir, ignore_errors=True)
