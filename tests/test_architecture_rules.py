"""The layout rules on tiny synthetic packages, so a failure of the architecture check
can be trusted to mean the code and not the checker."""

from __future__ import annotations

from pathlib import Path

from tests.support.architecture import (
    Import,
    cycles,
    imports,
    layer_violations,
    literals_named,
    module_sources,
    vendor_keys,
    vendor_paths,
)


def edges(sources: dict[str, str], packages: tuple[str, ...] = ()) -> set[tuple[str, str]]:
    return {(e.importer, e.imported) for e in imports(sources, packages)}


def test_imports_are_found_at_the_top_under_type_checking_and_inside_functions() -> None:
    sources = {
        "p.a": "import p.b\n",
        "p.b": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from p import c\n",
        "p.c": "def f():\n    from p.d import thing\n    return thing\n",
        "p.d": "thing = 1\nimport os\n",
    }
    assert edges(sources) == {("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.d")}


def test_relative_imports_resolve_from_the_module_and_from_a_package() -> None:
    sources = {"p": "from . import a\n", "p.a": "from .b import x\n", "p.b": "x = 1\n",
               "p.sub": "from .. import a\n", "p.sub.c": "from . import d\nfrom ..b import x\n",
               "p.sub.d": ""}
    assert edges(sources, packages=("p", "p.sub")) == {
        ("p", "p.a"), ("p.a", "p.b"), ("p.sub", "p.a"), ("p.sub.c", "p.sub.d"), ("p.sub.c", "p.b"),
    }


def test_module_sources_name_packages_by_their_directory(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "__init__.py").write_text("")
    (tmp_path / "sub" / "__init__.py").write_text("")
    (tmp_path / "sub" / "leaf.py").write_text("x = 1\n")
    assert sorted(module_sources(tmp_path, "p")) == ["p", "p.sub", "p.sub.leaf"]


def test_no_cycle_in_a_tree() -> None:
    assert cycles([Import("a", "b", 1), Import("a", "c", 1), Import("b", "c", 1)]) == []


def test_a_two_module_cycle_and_a_longer_one_are_reported_as_paths() -> None:
    found = cycles([
        Import("a", "b", 1), Import("b", "a", 2),
        Import("c", "d", 1), Import("d", "e", 1), Import("e", "c", 1), Import("e", "a", 1),
    ])
    assert found == [["a", "b", "a"], ["c", "d", "e", "c"]]


def test_a_cycle_deep_in_a_long_chain_is_found_without_recursion() -> None:
    chain = [Import(f"m{i}", f"m{i + 1}", 1) for i in range(5000)]
    loop = [f"m{i}" for i in range(4990, 5000)]
    assert cycles([*chain, Import("m4999", "m4990", 1)]) == [[*loop, "m4990"]]


def test_the_layer_order_and_the_simulator_border() -> None:
    allowed = [
        Import("carnet.mqtt.topics", "carnet.core.errors", 1),
        Import("carnet.app.cli", "carnet.runtime.daemon", 1),
        Import("carnet.app.demo", "carnet.simulator", 1),
        Import("carnet.simulator.web", "carnet.core.redact", 1),
        Import("carnet.simulator.web", "carnet.simulator.clock", 1),
        Import("carnet.vendor.tokens", "carnet", 1),
    ]
    wrong = [
        Import("carnet.config", "carnet.vendor.tokens", 3),
        Import("carnet.catalog.state", "carnet.mqtt.topics", 4),
        Import("carnet.app.cli", "carnet.simulator", 5),
        Import("carnet.simulator.web", "carnet.config", 6),
    ]
    assert layer_violations([*allowed, *wrong]) == sorted(wrong)


VENDOR_MODULE = '''
"""Docstring naming /mps/v1/docs and someDocKey."""
STATUS = "/rvs/v1/vehicle/status"
def read(body, vid):
    url = f"/mps/v1/vehicles/{vid}/status"
    battery = body["data"]["batteryLevel"]
    unit = body.get("temperatureUnit", "F")
    return {"chargePercent": battery, "snake_key": unit, "type": "application/json"}
'''


def test_vendor_paths_and_camel_case_keys_are_collected_and_prose_is_not() -> None:
    assert vendor_paths(VENDOR_MODULE) == {"/rvs/v1/vehicle/status", "/mps/v1/vehicles/", "/status"}
    assert vendor_keys(VENDOR_MODULE) == {"batteryLevel", "temperatureUnit", "chargePercent"}


def test_a_vendor_name_elsewhere_is_reported_with_its_line() -> None:
    elsewhere = (
        '"""Reads batteryLevel."""\nA = "batteryLevel"\nB = "battery_level"\n'
        'C = "GET /rvs/v1/vehicle/status"\nD = at("status", "powerStatus")\nE = "vehicle/state"\n'
    )
    found = literals_named(elsewhere, "carnet/x.py", {"/rvs/v1/vehicle/status"}, {"batteryLevel"})
    assert [str(f) for f in found] == [
        "carnet/x.py:2: 'batteryLevel'",
        "carnet/x.py:4: 'GET /rvs/v1/vehicle/status'",
        "carnet/x.py:5: 'powerStatus'",
    ]
