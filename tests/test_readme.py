"""The README stays true: its topic table matches the catalog, it covers every
configuration key, its quick start is the two commands, and its examples parse."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")

QUICK_START = (
    "pip install -e . && python bridge.py --demo",
    "pip install -e '.[test]' && python -m pytest -q",
)


def test_topic_table_is_current():
    done = subprocess.run(
        [sys.executable, "scripts/topic_table.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_quick_start_commands_appear_exactly():
    code_lines = {line.strip() for block in _code_blocks("sh") for line in block.splitlines()}
    for command in QUICK_START:
        assert command in code_lines, command
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    for command in QUICK_START:
        assert command in quick_start, command


def _keys(node: Any, path: str = "") -> Iterator[str]:
    """Dotted paths of every key in the example; a vehicle's VIN is a placeholder."""
    if isinstance(node, list):
        for item in node:
            yield from _keys(item, f"{path}[]")
    elif isinstance(node, dict):
        for key, value in node.items():
            if path.endswith("vehicles"):
                yield from _keys(value, f"{path}.<VIN>")
                continue
            here = f"{path}.{key}" if path else str(key)
            yield here
            yield from _keys(value, here)


def _mentioned(path: str) -> bool:
    """The key's name, or its section's dotted path, in backquotes."""
    leaf = path.rsplit(".", 1)[-1].removesuffix("[]")
    return any(f"`{name}`" in README for name in (leaf, f"{leaf}[]", path))


def test_every_configuration_key_is_documented():
    example = yaml.safe_load((ROOT / "config.example.yaml").read_text(encoding="utf-8"))
    assert "config.example.yaml" in README
    missing = [path for path in _keys(example) if not _mentioned(path)]
    assert not missing, f"configuration keys the README does not mention: {missing}"


def _code_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def _service_calls(node: Any) -> Iterator[dict[str, Any]]:
    """Every mapping that calls a Home Assistant service (``domain.service``)."""
    if isinstance(node, list):
        for item in node:
            yield from _service_calls(item)
    elif isinstance(node, dict):
        if any(isinstance(node.get(key), str) and "." in node[key]
               for key in ("service", "action")):
            yield node
        for value in node.values():
            yield from _service_calls(value)


def test_automation_examples_run_on_the_home_assistant_the_check_runs():
    """``scripts/ha_check.py`` runs Home Assistant 2024.3; ``action: notify.notify`` (a
    service call under the name 2024.8 gave it) fails there, ``service:`` works on both."""
    assert "Home Assistant 2024.3.3" in README
    calls = [
        call
        for block in _code_blocks("yaml")
        for call in _service_calls(yaml.safe_load(block.replace("!secret ", "")))
    ]
    assert calls
    for call in calls:
        assert "service" in call and "action" not in call, call


@pytest.mark.parametrize("language", ["json", "yaml"])
def test_examples_parse(language: str):
    blocks = _code_blocks(language)
    assert blocks
    for block in blocks:
        text = block.replace("!secret ", "")  # Home Assistant's tag, not YAML's
        if language == "json":
            json.loads(text)
        else:
            yaml.safe_load(text)


def test_node_red_flow_sends_commands_without_retain():
    (flow,) = [json.loads(b) for b in _code_blocks("json") if '"mqtt out"' in b]
    outs = [node for node in flow if node["type"] == "mqtt out"]
    assert outs and all(node["retain"] == "false" for node in outs)
    ids = {node["id"] for node in flow}
    for node in flow:
        for wire in node.get("wires", []):
            assert set(wire) <= ids, node["id"]
        if "broker" in node and node["type"] != "mqtt-broker":
            assert node["broker"] in ids


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert QUICK_START[1] in ci.splitlines()


def test_openhab_recipe_names_every_component_the_bridge_announces():
    from carnet.catalog.table import ENTITIES

    section = README.split("### openHAB", 1)[1].split("\n### ", 1)[0]
    components = {item.component for item in ENTITIES} | {"event"}
    missing = [c for c in sorted(components) if f"`{c}`" not in section]
    assert not missing, f"the openHAB recipe does not say how openHAB takes {missing}"
