"""bridge/info after a poll: built anew only when what it shows of the polled vehicle or
its account changed, since building it costs the whole fleet."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import yaml

from carnet.config import load_config
from carnet.core.errors import AuthError
from carnet.mqtt.topics import Topics
from carnet.runtime.bridge_info import BridgeInfo
from carnet.runtime.registry import FleetRegistry, LoginState
from carnet.runtime.vehicle import AccountRuntime, VehicleRuntime


class Publisher:
    def __init__(self) -> None:
        self.documents: list[dict[str, Any]] = []

    def retained(self, topic: str, payload: str) -> None:
        self.documents.append(json.loads(payload))


def _bridge_info(tmp_path: Path, accounts: int) -> tuple[BridgeInfo, FleetRegistry, Publisher]:
    data = {
        "mqtt": {"host": "127.0.0.1"},
        "accounts": [{"email": f"fleet-{i}@example.com", "password": "pw"}
                     for i in range(accounts)],
        "state_dir": str(tmp_path),
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    config = load_config(str(path))
    fleet = FleetRegistry()
    publisher = Publisher()
    info = BridgeInfo(config, Topics("carnet", "homeassistant"), publisher,  # type: ignore[arg-type]
                      fleet, "carnet2mqtt")
    for n, account_config in enumerate(config.accounts):
        account = cast(AccountRuntime, SimpleNamespace(
            config=account_config, enrolled=True,
            client=SimpleNamespace(commands_enabled=True)))
        fleet.add_account(account)
        api = SimpleNamespace(vin=f"VIN{n}", model_name="e-Golf", model_year=2016)
        fleet.add_vehicle(cast(VehicleRuntime, SimpleNamespace(
            name=f"car{n}", account=account, online=True, api=api)))
    return info, fleet, publisher


def test_a_poll_that_changes_nothing_shown_builds_no_document(tmp_path):
    info, fleet, publisher = _bridge_info(tmp_path, 3)
    vehicle = fleet.vehicles()["car1"]
    info.publish_if_changed(vehicle)  # the first time: nothing was shown yet
    assert len(publisher.documents) == 1
    for _ in range(20):
        info.publish_if_changed(vehicle)
    assert len(publisher.documents) == 1


def test_what_a_poll_can_change_is_shown_at_once(tmp_path):
    info, fleet, publisher = _bridge_info(tmp_path, 3)
    vehicle = fleet.vehicles()["car1"]
    info.publish_info()
    vehicle.online = False  # type: ignore[misc]
    info.publish_if_changed(vehicle)
    assert [v["online"] for v in publisher.documents[-1]["vehicles"]] == [True, False, True]

    vehicle.account.client.commands_enabled = False  # type: ignore[misc] - a refused PIN
    info.publish_if_changed(vehicle)
    assert publisher.documents[-1]["accounts"][1]["commands"] is False

    fleet.change_login(vehicle.account, lambda login: LoginState(
        error="login refused: no", failures=1, retry_at=900.0, since=0.0,
        counted=AuthError("no")))
    info.publish_if_changed(vehicle)
    shown = publisher.documents[-1]["accounts"][1]
    assert (shown["state"], shown["error"], shown["error_since"]) == (
        "error", "login refused: no", "1970-01-01T00:00:00+00:00")
    assert len(publisher.documents) == 4
    info.publish_if_changed(vehicle)
    assert len(publisher.documents) == 4
