"""Fixtures shared by the tests that cross a boundary: a real mosquitto on a free port,
the Car-Net simulator over real HTTP, and the bridge running in-process against both."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from carnet.config import Config, parse_config
from carnet.simulator import Simulator, SimulatorOptions
from tests.support.broker import Broker
from tests.support.generations import CARNET, GENERATIONS, Generation
from tests.support.mqtt_probe import Probe

DEMO_EMAIL = "demo@example.com"
EV_VIN = "WVWZZZAUZGW000001"
GAS_VIN = "3VWZZZ1KZLM000002"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests first, longest first: run in parallel, they then end together with the
    quick ones instead of keeping one worker busy after the others are done."""

    def seconds(item: pytest.Item) -> float:
        marker = item.get_closest_marker("slow")
        return float(marker.args[0]) if marker is not None else 0.0

    items.sort(key=seconds, reverse=True)  # stable: otherwise the order stays as collected


@pytest.fixture
def broker() -> Iterator[Broker]:
    instance = Broker().start()
    yield instance
    instance.close()


@pytest.fixture(params=list(GENERATIONS))
def generation(request: pytest.FixtureRequest) -> Generation:
    """The API generation of the demo account: a test of behaviour both generations share
    requests this fixture, and runs once for each (its ``carnet.api`` is the id). Other
    tests run on Car-Net."""
    return GENERATIONS[request.param]


def chosen_generation(request: pytest.FixtureRequest) -> Generation:
    """The generation the test runs on: its ``generation`` when it asked for one."""
    if "generation" in request.fixturenames:
        return request.getfixturevalue("generation")
    return CARNET


@pytest.fixture
def simulator(request: pytest.FixtureRequest) -> Iterator[Simulator]:
    # the two Car-Net-era cars only: these tests pin exact topic sets for them, and a
    # third car would add its topics and requests to every one of them
    with Simulator(SimulatorOptions(apply_delay=0.0, rate_limit=1000, daily_budget=100000,
                                    demo_id4=False,
                                    **chosen_generation(request).quick)) as sim:
        yield sim


class SimControl:
    """The simulator's /_sim/ inspection and fault API, over HTTP."""

    def __init__(self, sim: Simulator) -> None:
        self.url = sim.api_url

    def requests(self, path_contains: str = "", method: str | None = None) -> list[dict[str, Any]]:
        log = requests.get(f"{self.url}/_sim/requests", timeout=5).json()
        return [
            r
            for r in log
            if path_contains in r["path"] and (method is None or r["method"] == method)
        ]

    def clear_requests(self) -> None:
        requests.delete(f"{self.url}/_sim/requests", timeout=5).raise_for_status()

    def fault(self, **fault: Any) -> None:
        requests.post(f"{self.url}/_sim/fault", json=fault, timeout=5).raise_for_status()

    def clear_faults(self) -> None:
        requests.delete(f"{self.url}/_sim/fault", timeout=5).raise_for_status()

    def expire_tokens(self) -> None:
        requests.post(f"{self.url}/_sim/expire_tokens", timeout=5).raise_for_status()

    def vehicles(self) -> dict[str, dict[str, Any]]:
        return {v["vin"]: v for v in requests.get(f"{self.url}/_sim/vehicles", timeout=5).json()}

    def patch_vehicle(self, vin: str, **changes: Any) -> None:
        requests.patch(
            f"{self.url}/_sim/vehicles/{vin}", json=changes, timeout=5
        ).raise_for_status()

    def commands(self) -> list[dict[str, Any]]:
        """Every request to a command endpoint (the ones that need a TSP token)."""
        return [r for r in self.requests("/mps/") if "/status/climate/details" not in r["path"]]


@pytest.fixture
def sim(simulator: Simulator) -> SimControl:
    return SimControl(simulator)


def config_dict(simulator: Simulator, broker: Broker, state_dir: Path) -> dict[str, Any]:
    return {
        "mqtt": {"host": "127.0.0.1", "port": broker.port, "client_id": "carnet2mqtt-test"},
        "carnet": {
            "api_base": simulator.api_url,
            "identity_base": simulator.identity_url,
            "timeout": 5,
        },
        "accounts": [
            {
                "email": DEMO_EMAIL,
                "password": "demo",
                "pin": "1234",
                "vehicles": {EV_VIN: {"name": "egolf"}, GAS_VIN: {"name": "jetta"}},
            }
        ],
        "commands": {"min_interval": 0, "verify_after": 0.2},
        # Tests of other things poll faster than a day's budget allows: lifted unless a
        # test is about the budget.
        "limits": {"daily_requests": 100000},
        "state_dir": str(state_dir),
    }


def merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = value
    return result


@pytest.fixture
def make_config(
    simulator: Simulator, broker: Broker, tmp_path: Path, request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., Config]:
    generation = chosen_generation(request)
    base = config_dict(simulator, broker, tmp_path / "state")
    if generation is not CARNET:  # the default; Car-Net tests keep the configuration they had
        base["carnet"]["api"] = generation.api
    if generation.reports_outcome:
        # The outcome is asked for often: with the simulator's apply_delay 0 it is known at
        # once, and tests not about the outcome's timing need not wait the real pace.
        from carnet.runtime import outcomes

        monkeypatch.setattr(outcomes, "OUTCOME_POLL", 0.1)

    def build(**changes: Any) -> Config:
        return parse_config(merge(base, changes), {})

    return build


@pytest.fixture
def probe(broker: Broker) -> Iterator[Probe]:
    instance = Probe(broker.port)
    yield instance
    instance.close()


class RunningBridge:
    """The daemon in this process, as ``bridge.py --config`` runs it, minus signals."""

    def __init__(self, config: Config) -> None:
        from carnet.runtime.daemon import Bridge

        self.bridge = Bridge(config)
        self._thread = threading.Thread(target=self.bridge.run, daemon=True)

    def start(self) -> RunningBridge:
        self.bridge.start()
        self._thread.start()
        return self

    def stop(self) -> None:
        self.bridge.request_stop()
        self._thread.join(5)
        self.bridge.stop()


@pytest.fixture
def run_bridge() -> Iterator[Callable[[Config], Any]]:
    started: list[RunningBridge] = []

    def start(config: Config) -> Any:
        running = RunningBridge(config).start()
        started.append(running)
        return running.bridge

    yield start
    for running in started:
        running.stop()
