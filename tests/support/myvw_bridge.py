"""Helpers of the tests that run the whole bridge on a myVW account: its configuration,
simulators built per test, the simulator's request log and the bridge's log lines."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from carnet.config import Config
from carnet.simulator import Simulator, SimulatorOptions
from tests.conftest import SimControl
from tests.support.mqtt_probe import Probe

BASE = "carnet2mqtt"
PASSWORD_POST = "/login/authenticate"
TOKEN_PATH = "/oidc/v1/token"


def myvw_config(make_config: Callable[..., Config], sim: Simulator | None = None,
                **changes: Any) -> Config:
    """A bridge on ``carnet.api: myvw`` (against ``sim`` when given, else the fixture's
    simulator). Unless a test is about the budget, commands are not paced."""
    carnet = {"api": "myvw", **changes.pop("carnet", {})}
    if sim is not None:
        carnet.update(api_base=sim.api_url, identity_base=sim.identity_url)
    commands = {"min_interval": 0, "max_per_minute": 60, **changes.pop("commands", {})}
    return make_config(carnet=carnet, commands=commands, **changes)


@pytest.fixture
def sim_factory() -> Iterator[Callable[..., tuple[Simulator, SimControl]]]:
    """Simulators with the options a test names; fast ones unless it says otherwise."""
    started: list[Simulator] = []

    def build(**options: Any) -> tuple[Simulator, SimControl]:
        options.setdefault("apply_delay", 0.0)
        options.setdefault("rate_limit", 1000)
        options.setdefault("daily_budget", 100000)
        options.setdefault("ev_command_gap", 0.0)
        options.setdefault("demo_id4", False)
        instance = Simulator(SimulatorOptions(**options)).start()
        started.append(instance)
        return instance, SimControl(instance)

    yield build
    for instance in started:
        instance.stop()


def password_posts(sim: SimControl) -> list[float]:
    return [r["time"] for r in sim.requests(PASSWORD_POST, method="POST")]


def token_posts(sim: SimControl) -> list[dict[str, Any]]:
    return sim.requests(TOKEN_PATH, method="POST")


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def bridge_info(probe: Probe, predicate: Callable[[dict[str, Any]], bool],
                timeout: float = 30.0) -> dict[str, Any]:
    """The first bridge/info that lists the accounts and satisfies ``predicate``."""
    topic = f"{BASE}/bridge/info"

    def wanted(text: str) -> bool:
        current = json.loads(text)
        return bool(current["accounts"]) and predicate(current)

    found = probe.wait_for(lambda m: m.topic == topic and wanted(m.text), timeout)
    return json.loads(found[-1].text)


def account_error(probe: Probe, timeout: float = 30.0) -> str:
    """The error bridge/info shows for the (first) account, once it shows one."""
    info = bridge_info(probe, lambda i: i["accounts"][0]["state"] == "error", timeout)
    assert not any(v.get("online") for v in info.get("vehicles", [])), info
    return str(info["accounts"][0]["error"])


def availability(probe: Probe, vehicle: str) -> list[str]:
    topic = f"{BASE}/{vehicle}/availability"
    return [m.text for m in list(probe.messages) if m.topic == topic]
