"""The package layout keeps its shape: no import cycles (those under ``TYPE_CHECKING`` and
inside functions included), imports only down the layer order core < config < vendor <
catalog < mqtt < runtime < app, the simulator an island, and the vendor's URL paths and
JSON keys named only inside ``carnet/vendor/``."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

from tests.support.architecture import (
    SIMULATOR,
    cycles,
    imports,
    layer_of,
    layer_violations,
    literals_named,
    module_sources,
    vendor_keys,
    vendor_paths,
)

PACKAGE = Path(__file__).resolve().parent.parent / "carnet"
SOURCES = module_sources(PACKAGE)
PACKAGES = {
    name for name in SOURCES
    if (PACKAGE.joinpath(*name.split(".")[1:]) / "__init__.py").is_file()
}
EDGES = imports(SOURCES, PACKAGES)


def _file(module: str) -> str:
    parts = module.split(".")[1:]
    path = PACKAGE.joinpath(*parts)
    path = path / "__init__.py" if module in PACKAGES else path.with_suffix(".py")
    return str(path.relative_to(PACKAGE.parent))


def test_no_import_cycles() -> None:
    lines = {(e.importer, e.imported): f"{_file(e.importer)}:{e.line}" for e in EDGES}
    found = [
        " -> ".join(cycle)
        + "".join(f"\n    {lines[pair]}: {pair[0]} imports {pair[1]}"
                  for pair in pairwise(cycle))
        for cycle in cycles(EDGES)
    ]
    assert found == [], "import cycles:\n" + "\n".join(found)


def test_imports_follow_the_layer_order() -> None:
    found = [
        f"{_file(e.importer)}:{e.line}: {e.importer} imports {e.imported}"
        for e in layer_violations(EDGES)
    ]
    assert found == [], "imports against the layer order:\n" + "\n".join(found)


def test_vendor_paths_and_keys_stay_in_the_vendor_package() -> None:
    vendor = {m: t for m, t in SOURCES.items() if layer_of(m) == "vendor"}
    paths = set().union(*(vendor_paths(t) for t in vendor.values()))
    keys = set().union(*(vendor_keys(t) for t in vendor.values()))
    assert paths and keys, "the vendor package names no paths or keys: the collection is broken"
    found = [
        str(literal)
        for module, text in SOURCES.items()
        if layer_of(module) not in ("vendor", SIMULATOR)
        for literal in literals_named(text, _file(module), paths, keys)
    ]
    assert found == [], "vendor paths and keys outside carnet/vendor/:\n" + "\n".join(found)
