"""Starting the simulator and a MyvwSession against it, for the myVW session tests."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests

from carnet.config import AccountConfig, VendorConfig
from carnet.simulator import Simulator
from carnet.vendor.myvw_app import defaults
from carnet.vendor.myvw_app.session import MyvwSession
from carnet.vendor.protocol import RequestClass
from carnet.vendor.tokens import TokenStore
from tests.test_simulator_support import DEMO_EMAIL, DEMO_PASSWORD, DEMO_PIN, TIMEOUT


class Recorder:
    """Counts the requests a session reports, by class."""

    def __init__(self) -> None:
        self.kinds: list[RequestClass] = []

    def record(self, kind: RequestClass) -> None:
        self.kinds.append(kind)


def sim_log(sim: Simulator, path: str = "", method: str | None = None) -> list[dict[str, Any]]:
    """The simulator's request log, without its own /_sim/ requests."""
    entries = requests.get(f"{sim.api_url}/_sim/requests", timeout=TIMEOUT).json()
    return [e for e in entries if not e["path"].startswith("/_sim/") and path in e["path"]
            and (method is None or e["method"] == method)]


def clear_log(sim: Simulator) -> None:
    requests.delete(f"{sim.api_url}/_sim/requests", timeout=TIMEOUT).raise_for_status()


def password_posts(sim: Simulator) -> int:
    return len(sim_log(sim, "/login/authenticate", "POST"))


def helper_command(tmp_path: Path, fields: dict[str, str]) -> str:
    """A carnet.token_helper command that prints ``fields`` as JSON."""
    script = tmp_path / "helper.py"
    script.write_text(f"import json\nprint(json.dumps({fields!r}))\n")
    return f"{sys.executable} {script}"


SessionFactory = Callable[..., MyvwSession]


def sessions(store: TokenStore) -> Iterator[SessionFactory]:
    """A factory of sessions against a simulator, all closed at the end."""
    made: list[MyvwSession] = []

    def make(target: Simulator, *, region: str = "us", password: str = DEMO_PASSWORD,
             pin: str | None = DEMO_PIN, email: str = DEMO_EMAIL,
             recorder: Recorder | None = None, **vendor: Any) -> MyvwSession:
        settings: dict[str, Any] = {"api_base": target.api_url,
                                    "identity_base": target.identity_url, "timeout": 5.0}
        settings.update(vendor)
        session = MyvwSession(defaults.resolved(VendorConfig(**settings), region),
                              AccountConfig(email=email, password=password, pin=pin),
                              store, recorder)
        made.append(session)
        return session

    yield make
    for session in made:
        session.close()
