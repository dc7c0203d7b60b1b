"""Check the bridge against a real Home Assistant (2024.3.3), the simulator and mosquitto.

    python scripts/ha_check.py                 # installs Home Assistant once, then checks
    python scripts/ha_check.py --keep DIR      # keep Home Assistant's config and log in DIR

Not part of the test suite (Home Assistant is large and slow to start): run it by hand.
Home Assistant is installed from PyPI into a cached virtual environment
(``~/.cache/carnet2mqtt/ha-2024.3.3``). It starts without onboarding or a user: the MQTT
integration comes from a config entry written into its storage, ``mqtt_statestream``
mirrors every entity's state and attributes to MQTT, and an automation turns
``hacheck/call`` messages into service calls, so the whole check speaks MQTT only.

It asserts that every discovery config becomes an entity with no MQTT error in Home
Assistant's log, no entity is ``unknown``/``unavailable`` while the bridge is online
(except buttons and events), every writable entity's service call reaches the simulator
as the right request and Home Assistant's state follows, the events fire, and availability
follows a vendor outage and a bridge stop. Exit status 0 when everything held.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import paho.mqtt.client as paho  # noqa: E402
import requests  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from carnet.config import parse_config  # noqa: E402
from carnet.runtime.daemon import Bridge  # noqa: E402
from carnet.simulator import Simulator, SimulatorOptions  # noqa: E402
from tests.support.broker import Broker, free_port  # noqa: E402

HA_VERSION = "2024.3.3"
VENV = Path.home() / ".cache" / "carnet2mqtt" / f"ha-{HA_VERSION}"
# The integrations this configuration loads, with their pinned requirements: installed
# with Home Assistant so that it never installs anything while it starts.
REQUIREMENTS = (
    f"homeassistant=={HA_VERSION}", "paho-mqtt==1.6.1", "aiohttp_cors==0.7.0",
    "aiohttp-fast-url-dispatcher==0.3.0", "aiohttp-zlib-ng==0.3.1", "janus==1.0.0",
)
BASE = "carnet2mqtt"
MIRROR = "hacheck"  # mqtt_statestream's base topic
EV_VIN, GAS_VIN = "WVWZZZAUZGW000001", "3VWZZZ1KZLM000002"
NO_STATE_DOMAINS = ("button", "event")  # stateless until pressed or fired


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


class CheckFailed(AssertionError):
    pass


def check(condition: bool, what: str) -> None:
    if not condition:
        raise CheckFailed(what)
    log(f"ok   {what}")


def wait(predicate: Callable[[], Any], timeout: float, what: str, step: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise CheckFailed(f"timed out after {timeout:.0f} s: {what}")


# --- Home Assistant ----------------------------------------------------------------------


def install() -> Path:
    """The cached virtual environment with Home Assistant; created on first use."""
    hass = VENV / "bin" / "hass"
    if hass.exists():
        return hass
    log(f"installing Home Assistant {HA_VERSION} into {VENV} (large; a few minutes)")
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", *REQUIREMENTS], check=True)
    return hass


CONFIGURATION = """\
homeassistant:
  name: ha_check
  latitude: 0
  longitude: 0
  elevation: 0
  unit_system: us_customary
  time_zone: UTC
http:
  server_host: 127.0.0.1
  server_port: {http_port}
logger:
  default: warning
mqtt_statestream:
  base_topic: {mirror}
  publish_attributes: true
automation:
  - alias: service calls for the check
    mode: parallel
    trigger:
      - platform: mqtt
        topic: {mirror}/call
    action:
      - service: "{{{{ trigger.payload_json.service }}}}"
        target:
          entity_id: "{{{{ trigger.payload_json.entity_id }}}}"
        data: "{{{{ trigger.payload_json.data }}}}"
"""


def write_config(directory: Path, broker_port: int) -> None:
    """A configuration with the MQTT integration set up, as a config entry in storage."""
    storage = directory / ".storage"
    storage.mkdir(parents=True, exist_ok=True)
    (directory / "configuration.yaml").write_text(
        CONFIGURATION.format(http_port=free_port(), mirror=MIRROR)
    )
    entry = {
        "entry_id": uuid.uuid4().hex, "version": 1, "minor_version": 1, "domain": "mqtt",
        "title": "mosquitto", "data": {"broker": "127.0.0.1", "port": broker_port,
                                       "discovery": True, "discovery_prefix": "homeassistant"},
        "options": {}, "pref_disable_new_entities": False, "pref_disable_polling": False,
        "source": "user", "unique_id": None, "disabled_by": None,
    }
    (storage / "core.config_entries").write_text(json.dumps({
        "version": 1, "minor_version": 1, "key": "core.config_entries",
        "data": {"entries": [entry]},
    }))


class HomeAssistant:
    def __init__(self, hass: Path, directory: Path) -> None:
        self.directory = directory
        self.log_file = directory / "home-assistant.log"
        self._process = subprocess.Popen(
            # Home Assistant always loads its default integrations (frontend, backup…):
            # it installs their requirements into the cached environment at the first run.
            [str(hass), "--config", str(directory), "--log-file", str(self.log_file)],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )

    def problems(self) -> list[str]:
        """Warnings and errors of the MQTT integration and its platforms in the log."""
        if not self.log_file.exists():
            return []
        lines = self.log_file.read_text(errors="replace").splitlines()
        return [
            line for line in lines
            if ("WARNING" in line or "ERROR" in line)
            and ("components.mqtt" in line or "discovery" in line.lower())
        ]

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


# --- MQTT: Home Assistant's mirror and its service calls ---------------------------------


class Mirror:
    """Every retained message on the broker, kept up to date: discovery, the bridge's
    state, and Home Assistant's entities as ``mqtt_statestream`` mirrors them."""

    def __init__(self, port: int) -> None:
        self.retained: dict[str, str] = {}
        self.live: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id="ha-check")
        self.client.on_connect = lambda c, *_: c.subscribe("#", qos=1)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, client, userdata, message) -> None:
        text = message.payload.decode(errors="replace")
        with self._lock:
            if text:
                self.retained[message.topic] = text
            else:
                self.retained.pop(message.topic, None)
            self.live.append((message.topic, text))

    def topic(self, topic: str) -> str | None:
        with self._lock:
            return self.retained.get(topic)

    def state(self, entity_id: str) -> str | None:
        domain, object_id = entity_id.split(".", 1)
        return self.topic(f"{MIRROR}/{domain}/{object_id}/state")

    def attribute(self, entity_id: str, name: str) -> Any:
        domain, object_id = entity_id.split(".", 1)
        text = self.topic(f"{MIRROR}/{domain}/{object_id}/{name}")
        return None if text is None else json.loads(text)

    def discovery(self) -> dict[str, dict[str, Any]]:
        """entity id -> discovery config, of every entity the bridge announced."""
        with self._lock:
            configs = {t: json.loads(p) for t, p in self.retained.items()
                       if t.startswith("homeassistant/") and t.endswith("/config")}
        return {f"{t.split('/')[1]}.{c['object_id']}": c for t, c in configs.items()}

    def call(self, service: str, entity_id: str, **data: Any) -> None:
        payload = json.dumps({"service": service, "entity_id": entity_id, "data": data})
        self.client.publish(f"{MIRROR}/call", payload, qos=1).wait_for_publish(5)

    def results(self, vehicle: str | None = None) -> list[dict[str, Any]]:
        """The bridge's command results so far (of one vehicle), in order."""
        wanted = f"{BASE}/{vehicle or '+'}/result"
        with self._lock:
            return [json.loads(p) for t, p in self.live
                    if p and (t == wanted or (vehicle is None and t.endswith("/result")))]

    def publish(self, topic: str, payload: str) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(5)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


# --- the check ---------------------------------------------------------------------------


def bridge_config(
    simulator: Simulator, broker_port: int, state_dir: Path, pin: str | None = "1234"
) -> Any:
    account = {"email": "demo@example.com", "password": "demo",
               "vehicles": {EV_VIN: {"name": "egolf"}, GAS_VIN: {"name": "jetta"}}}
    if pin is not None:
        account["pin"] = pin
    return parse_config({
        "mqtt": {"host": "127.0.0.1", "port": broker_port, "client_id": "carnet2mqtt-ha-check"},
        "carnet": {"api_base": simulator.api_url, "identity_base": simulator.identity_url,
                   "timeout": 5},
        "accounts": [account],
        # the check sends more commands a minute than Car-Net's pace allows
        "commands": {"min_interval": 0, "verify_after": 1, "max_per_minute": 60},
        "state_dir": str(state_dir),
    }, {})


class Running:
    def __init__(self, config: Any) -> None:
        self.bridge = Bridge(config)
        self._thread = threading.Thread(target=self.bridge.run, daemon=True)
        self.bridge.start()
        self._thread.start()

    def stop(self) -> None:
        self.bridge.request_stop()
        self._thread.join(5)
        self.bridge.stop()


class Sim:
    def __init__(self, simulator: Simulator) -> None:
        self.url = simulator.api_url

    def commands(self) -> list[tuple[str, str]]:
        log_ = requests.get(f"{self.url}/_sim/requests", timeout=5).json()
        return [(r["method"], r["path"].split("/", 5)[5]) for r in log_
                if "/mps/" in r["path"] and r["method"] != "GET"]

    def clear(self) -> None:
        requests.delete(f"{self.url}/_sim/requests", timeout=5).raise_for_status()

    def vehicle(self, vin: str) -> dict[str, Any]:
        vehicles = requests.get(f"{self.url}/_sim/vehicles", timeout=5).json()
        return next(v for v in vehicles if v["vin"] == vin)

    def patch(self, vin: str, **changes: Any) -> None:
        url = f"{self.url}/_sim/vehicles/{vin}"
        requests.patch(url, json=changes, timeout=5).raise_for_status()

    def fault(self, **fault: Any) -> None:
        requests.post(f"{self.url}/_sim/fault", json=fault, timeout=5).raise_for_status()

    def clear_faults(self) -> None:
        requests.delete(f"{self.url}/_sim/fault", timeout=5).raise_for_status()


class Call(NamedTuple):
    """One service call, what must reach the simulator, and what Home Assistant then shows."""

    entity_id: str
    service: str
    data: dict[str, Any]
    # (method, path after the account number), or None for the bridge's own setting
    request: tuple[str, str] | None
    sim: dict[str, Any]  # simulator fields afterwards
    state: str | tuple[str, Any] | None = None  # HA's state, or (attribute, value)
    value: Any = None  # the value in the bridge's result: the payload HA sent, parsed


DOORS, HORN, CLIMATE = ("PUT", "status/exterior/doors"), (
    "PUT", "status/exterior/horn_and_lights"), ("PUT", "status/climate")


def vehicle_calls(v: str) -> list[Call]:
    """The writable entities both cars have."""
    return [
        Call(f"lock.{v}_lock", "lock.unlock", {}, DOORS, {"locked": False}, "unlocked"),
        Call(f"lock.{v}_lock", "lock.lock", {}, DOORS, {"locked": True}, "locked"),
        Call(f"switch.{v}_climate", "switch.turn_on", {}, CLIMATE, {"climate_on": True}, "on"),
        Call(f"number.{v}_climate_target_temperature", "number.set_value", {"value": 70},
             CLIMATE, {"target_temperature": 70}, "70"),
        Call(f"climate.{v}_climate_control", "climate.set_hvac_mode", {"hvac_mode": "off"},
             CLIMATE, {"climate_on": False}, "off"),
        Call(f"climate.{v}_climate_control", "climate.set_temperature", {"temperature": 74},
             CLIMATE, {"target_temperature": 74}, ("temperature", 74)),
        Call(f"switch.{v}_defrost", "switch.turn_on", {}, ("PUT", "status/defrost"),
             {"defrost_on": True}, "on"),
        Call(f"switch.{v}_defrost", "switch.turn_off", {}, ("PUT", "status/defrost"),
             {"defrost_on": False}, "off"),
        Call(f"button.{v}_horn_lights", "button.press", {}, HORN, {}, value="BOTH"),
        Call(f"button.{v}_horn", "button.press", {}, HORN, {}, value="HORN"),
        Call(f"button.{v}_lights", "button.press", {}, HORN, {}, value="LIGHTS"),
        Call(f"button.{v}_refresh", "button.press", {}, ("PUT", "status/fresh"), {}),
        Call(f"number.{v}_poll_interval", "number.set_value", {"value": 900}, None, {}, "900"),
    ]


SERVICE_CALLS: list[Call] = [
    *vehicle_calls("egolf"),
    Call("switch.egolf_charging", "switch.turn_on", {}, ("PATCH", "status/charging"),
         {"charging": True}, "on"),
    Call("switch.egolf_charging", "switch.turn_off", {}, ("PATCH", "status/charging"),
         {"charging": False}, "off"),
    Call("select.egolf_max_charge_current", "select.select_option", {"option": "10"},
         ("PUT", "settings/max_charge_current"), {"max_charge_current": 10}, "10"),
    Call("switch.egolf_unplugged_climate", "switch.turn_on", {},
         ("PUT", "settings/unplugged_climate_control"), {"unplugged_climate": True}, "on"),
    *vehicle_calls("jetta"),
]


def entities_match_discovery(mirror: Mirror, ha: HomeAssistant) -> dict[str, dict[str, Any]]:
    # the climate details, and the climate entities, come a moment after the status
    wait(lambda: "climate.jetta_climate_control" in mirror.discovery(), 60,
         "the bridge's discovery configs, climate included")
    time.sleep(1)
    configs = mirror.discovery()
    missing: list[str] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        missing = [e for e in configs if mirror.state(e) is None]
        if not missing:
            break
        time.sleep(0.5)
    check(not missing, f"all {len(configs)} discovery configs became entities "
          f"(with the ids <component>.<vehicle>_<attribute>){'; missing: ' if missing else ''}"
          f"{', '.join(missing or [])}")
    problems = ha.problems()
    check(not problems, "no MQTT or discovery warning in Home Assistant's log"
          + ("".join(f"\n     {p}" for p in problems)))
    return configs


def no_unknown_states(mirror: Mirror, configs: dict[str, dict[str, Any]]) -> None:
    bad = {e: mirror.state(e) for e in configs
           if not e.startswith(NO_STATE_DOMAINS) and mirror.state(e) in ("unknown", "unavailable")}
    check(not bad, "no entity unknown or unavailable while the bridge is online "
          f"(buttons and events aside){': ' + str(bad) if bad else ''}")


def service_calls(mirror: Mirror, sim: Sim, configs: dict[str, dict[str, Any]]) -> None:
    writable = {e for e, c in configs.items() if "command_topic" in c or "mode_command_topic" in c}
    uncovered = writable - {call.entity_id for call in SERVICE_CALLS}
    check(not uncovered, f"a service call for each of the {len(writable)} writable entities"
          + (f"; none for {sorted(uncovered)}" if uncovered else ""))
    for call in SERVICE_CALLS:
        sim.clear()
        vehicle = call.entity_id.split(".")[1].split("_")[0]
        results = len(mirror.results(vehicle))
        mirror.call(call.service, call.entity_id, **call.data)
        what = f"{call.service} {call.entity_id} {call.data or ''}".rstrip()
        if call.request is not None:
            wait(lambda r=call.request: r in sim.commands(), 20,
                 f"{what}: {call.request} at the vendor")
        vin = GAS_VIN if ".jetta_" in call.entity_id else EV_VIN
        for field, value in call.sim.items():
            wait(lambda f=field, v=value, n=vin: sim.vehicle(n).get(f) == v, 20,
                 f"{what}: the simulator's {field} becomes {value!r}")
        if isinstance(call.state, tuple):
            name, value = call.state
            wait(lambda e=call.entity_id, n=name, v=value: mirror.attribute(e, n) == v, 40,
                 f"{what}: Home Assistant's {name} becomes {value!r}")
        elif call.state is not None:
            wait(lambda e=call.entity_id, s=call.state: mirror.state(e) == s, 40,
                 f"{what}: Home Assistant shows {call.state} "
                 f"(shows {mirror.state(call.entity_id)})")
        if call.value is not None:  # the buttons share one command: which payload came
            result = wait(lambda n=results, v=vehicle: [
                r for r in mirror.results(v)[n:] if r["attribute"] == "horn_lights"
            ], 20, f"{what}: its result")[0]
            check(result["value"] == call.value, f"{what}: the bridge got {result['value']}")
        shown = f", {call.state[0]} {call.state[1]}" if isinstance(call.state, tuple) else (
            f", state {call.state}" if call.state else "")
        request = " ".join(call.request) if call.request else "the bridge's own setting"
        check(True, f"{what} -> {request}{shown}")


def events_fire(mirror: Mirror, sim: Sim) -> None:
    def fired(entity_id: str, event_type: str) -> bool:
        return mirror.attribute(entity_id, "event_type") == event_type

    def poll() -> None:
        mirror.publish(f"{BASE}/bridge/request/poll", "{}")

    sim.patch(EV_VIN, plugged_in=False, doors={"trunk": "OPEN"})
    poll()
    wait(lambda: fired("event.egolf_plug_events", "unplugged"), 30, "unplugged event")
    check(True, "event.egolf_plug_events fired unplugged")
    wait(lambda: fired("event.egolf_door_events", "door_opened")
         and mirror.attribute("event.egolf_door_events", "door") == "trunk", 30, "door event")
    check(True, "event.egolf_door_events fired door_opened (door: trunk)")
    sim.patch(EV_VIN, plugged_in=True, doors={"trunk": "CLOSED"})
    poll()
    wait(lambda: fired("event.egolf_plug_events", "plugged_in"), 30, "plugged_in event")
    check(True, "event.egolf_plug_events fired plugged_in")
    mirror.call("lock.unlock", "lock.egolf_lock")  # locked by the service calls before
    wait(lambda: fired("event.egolf_lock_events", "unlocked"), 40, "unlocked event")
    check(True, "event.egolf_lock_events fired unlocked")
    mirror.publish(f"{BASE}/egolf/charging/set", "sideways")
    wait(lambda: fired("event.egolf_command_events", "command_failed"), 20, "command_failed")
    check(mirror.attribute("event.egolf_command_events", "attribute") == "charging",
          "event.egolf_command_events fired command_failed (attribute: charging)")


def outage(mirror: Mirror, sim: Sim, configs: dict[str, dict[str, Any]]) -> None:
    egolf = [e for e in configs if ".egolf_" in e]
    # What the bridge itself knows (the connection, commands waiting or failing) stays
    # available: its availability leaves out the car's.
    follows_car = [
        e for e in egolf
        if any(a["topic"].endswith("/egolf/availability") for a in configs[e]["availability"])
    ]
    sim.fault(kind="outage", status=503)
    mirror.publish(f"{BASE}/bridge/request/poll", json.dumps({"vehicle": "egolf"}))
    wait(lambda: mirror.state("sensor.egolf_api_state") == "vendor_down", 40,
         "Car-Net connection says vendor_down")
    wait(lambda: all(mirror.state(e) == "unavailable" for e in follows_car),
         30, "the e-Golf's entities unavailable during the outage")
    stays = sorted(set(egolf) - set(follows_car))
    check(True, f"vendor outage: {len(follows_car)} e-Golf entities unavailable; "
          f"available: {', '.join(stays)}")
    sim.clear_faults()
    mirror.publish(f"{BASE}/bridge/request/poll", json.dumps({"vehicle": "egolf"}))
    wait(lambda: mirror.state("sensor.egolf_api_state") == "ok"
         and mirror.state("lock.egolf_lock") not in ("unavailable", None), 40, "recovery")
    check(True, "after the outage the e-Golf is available again, Car-Net connection ok")


def bridge_stop(mirror: Mirror, running: Running, configs: dict[str, dict[str, Any]]) -> None:
    # The bridge device's connection entity has no availability of its own: it says
    # whether the bridge is connected, so it shows the stop rather than going away.
    follows_bridge = [
        e for e in configs
        if any(a["topic"].endswith("/bridge/state") for a in configs[e].get("availability", []))
    ]
    running.stop()
    wait(lambda: all(mirror.state(e) == "unavailable" for e in follows_bridge), 30,
         "every entity unavailable after the bridge stopped")
    stays = sorted(set(configs) - set(follows_bridge))
    check(True, f"bridge stopped: {len(follows_bridge)} entities unavailable; "
          f"{', '.join(f'{e} {mirror.state(e)}' for e in stays) or 'no other'}")


def read_only_account(mirror: Mirror, config: Any) -> None:
    """Without a PIN: the same cars with read-only entities, none writable but the bridge's
    own poll interval."""
    running = Running(config)
    try:
        wait(lambda: {"binary_sensor.egolf_lock", "binary_sensor.egolf_charging"}
             <= set(mirror.discovery()), 60, "read-only discovery")
        wait(lambda: mirror.state("binary_sensor.egolf_lock") in ("on", "off")
             and mirror.state("binary_sensor.egolf_charging") in ("on", "off"), 60,
             "the read-only lock and charging in Home Assistant")
        configs = mirror.discovery()
        writable = sorted(e for e, c in configs.items()
                          if "command_topic" in c or "mode_command_topic" in c)
        check(writable == ["number.egolf_poll_interval", "number.jetta_poll_interval"],
              f"read-only account: {len(configs)} entities, the lock and switches as binary "
              f"sensors, writable only {', '.join(writable)}")
    finally:
        running.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="keep Home Assistant's config and log here")
    args = parser.parse_args(argv)
    # A terminated check still stops Home Assistant, the bridge and mosquitto.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    hass = install()
    work = Path(tempfile.mkdtemp(prefix="ha-check-"))
    config_dir = args.keep or work / "ha"
    broker = Broker().start()
    mirror = Mirror(broker.port)
    write_config(config_dir, broker.port)
    ha = HomeAssistant(hass, config_dir)
    started = time.monotonic()
    running = None
    try:
        # the two cars whose entities and service calls this check lists
        with Simulator(SimulatorOptions(apply_delay=0.0, rate_limit=1000, daily_budget=100000,
                                        demo_id4=False)) as simulator:
            sim = Sim(simulator)
            wait(lambda: mirror.topic("homeassistant/status") == "online", 900,
                 "Home Assistant's MQTT birth message")
            log(f"Home Assistant {HA_VERSION} is up after {time.monotonic() - started:.0f} s")
            running = Running(bridge_config(simulator, broker.port, work / "state"))
            configs = entities_match_discovery(mirror, ha)
            no_unknown_states(mirror, configs)
            # The simulator runs a car's climate only on a cable or with climate on battery.
            sim.patch(GAS_VIN, unplugged_climate=True)
            service_calls(mirror, sim, configs)
            events_fire(mirror, sim)
            outage(mirror, sim, configs)
            bridge_stop(mirror, running, configs)
            running = None
            read_only_account(mirror, bridge_config(simulator, broker.port, work / "ro",
                                                    pin=None))
            problems = ha.problems()
            check(not problems, "still no MQTT warning in Home Assistant's log at the end"
                  + ("".join(f"\n     {p}" for p in problems)))
        log("every check held")
        return 0
    except CheckFailed as exc:
        log(f"FAIL {exc}")
        return 1
    finally:
        if running is not None:
            running.stop()
        ha.stop()
        mirror.close()
        broker.close()
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"Home Assistant's config and log: {config_dir}")


if __name__ == "__main__":
    sys.exit(main())
