"""The rules of the package layout, as plain functions over source text: the module import
graph and its cycles, the layer order, and the vendor's paths and JSON keys.

Kept apart from the test that applies them to ``carnet/`` so each rule can be tried on a
few lines of synthetic source."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

LAYERS = ("core", "config", "vendor", "catalog", "mqtt", "runtime", "app")
"""Lowest first: a module may import its own layer and the ones before it."""
SIMULATOR = "simulator"
SIMULATOR_GATE = "carnet.app.demo"
"""The one product module that may start the simulator."""

# The vendor names JSON keys in camelCase; the bridge's own keys are snake_case.
_CAMEL = re.compile(r"[a-z][a-z0-9]*[A-Z][A-Za-z0-9]*")
# Units in that shape that are the bridge's own (Home Assistant's spelling), not vendor keys.
_UNITS = frozenset({"kW", "kWh"})
# A URL path such as /mps/v1/vehicles/ or /oidc/v1/token: a leading slash and a name.
_PATH = re.compile(r"/[A-Za-z][\w.{}-]*(/[\w.{}-]*)*")


@dataclass(frozen=True, order=True)
class Import:
    importer: str
    imported: str
    line: int


@dataclass(frozen=True, order=True)
class Literal:
    file: str
    line: int
    value: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.value!r}"


def module_sources(root: Path, package: str = "carnet") -> dict[str, str]:
    """Every module under ``root`` (the package directory) by dotted name."""
    sources: dict[str, str] = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        sources[".".join([package, *parts])] = path.read_text()
    return sources


def imports(sources: Mapping[str, str], packages: Iterable[str] = ()) -> list[Import]:
    """Every import of one known module by another, wherever it stands: at the top, under
    ``if TYPE_CHECKING:``, inside a function. ``from a import b`` is an import of ``a.b``
    when that is a module, else of ``a``. ``packages`` names the modules that are
    packages (``__init__``), for resolving relative imports inside them."""
    package_set = set(packages)
    found: set[Import] = set()
    for module, text in sources.items():
        base = module if module in package_set else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(text)):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                origin = _absolute(base, node.module, node.level)
                targets = [
                    f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in sources else origin
                    for alias in node.names
                ]
            for target in targets:
                known = _known(target, sources)
                if known and known != module:
                    found.add(Import(module, known, node.lineno))
    return sorted(found)


def _absolute(base: str, name: str | None, level: int) -> str:
    if level == 0:
        return name or ""
    parts = base.split(".")
    parent = parts[: len(parts) - (level - 1)]
    return ".".join([*parent, name] if name else parent)


def _known(target: str, sources: Mapping[str, str]) -> str | None:
    """The longest known module that ``target`` names (``import a.b.c`` imports ``a.b.c``)."""
    parts = target.split(".")
    while parts:
        name = ".".join(parts)
        if name in sources:
            return name
        parts.pop()
    return None


def cycles(edges: Iterable[Import]) -> list[list[str]]:
    """The import cycles: one path ``[a, b, ..., a]`` per strongly connected component of
    two or more modules (Tarjan), found by a search inside that component."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        graph.setdefault(edge.importer, set()).add(edge.imported)
        graph.setdefault(edge.imported, set())
    return [_cycle_in(component, graph) for component in _components(graph) if len(component) > 1]


def _components(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively (no recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = len(index)
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(sorted(graph[succ]))))
                    advanced = True
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                found.append(sorted(component))
    return sorted(found)


def _cycle_in(component: list[str], graph: Mapping[str, set[str]]) -> list[str]:
    """A shortest cycle through the component's first module (breadth-first)."""
    members = set(component)
    start = component[0]
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for succ in sorted(graph[node] & members):
                if succ == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if succ not in came_from:
                    came_from[succ] = node
                    following.append(succ)
        frontier = following
    raise AssertionError(f"no cycle in component {component}")  # Tarjan said there was


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def layer_violations(edges: Iterable[Import]) -> list[Import]:
    """Imports against the layer order, and any import across the simulator's border other
    than the demo starting it and the simulator using ``carnet.core``."""
    wrong = []
    for edge in edges:
        source, target = layer_of(edge.importer), layer_of(edge.imported)
        if source is None or target is None or source == target:
            continue
        if source == SIMULATOR:
            allowed = target == "core"
        elif target == SIMULATOR:
            allowed = edge.importer == SIMULATOR_GATE
        elif source in LAYERS and target in LAYERS:
            allowed = LAYERS.index(target) <= LAYERS.index(source)
        else:
            allowed = True  # a package the order does not name: nothing to enforce
        if not allowed:
            wrong.append(edge)
    return sorted(wrong)


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the docstring nodes: prose about the vendor is not a use of its names."""
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _strings(tree: ast.AST) -> list[ast.Constant]:
    skip = _docstrings(tree)
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
    ]


def vendor_paths(text: str) -> set[str]:
    """URL paths written in a vendor module, whole or as the fixed part of an f-string."""
    return {node.value for node in _strings(ast.parse(text)) if _PATH.fullmatch(node.value)}


def vendor_keys(text: str) -> set[str]:
    """camelCase JSON keys a vendor module reads or writes: ``x["key"]``, ``x.get("key")``,
    ``x.pop("key")``, ``x.setdefault("key", ...)`` and the keys of dict literals."""
    keys: list[ast.expr | None] = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Subscript):
            keys.append(node.slice)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ("get", "pop", "setdefault") and node.args:
                keys.append(node.args[0])
        elif isinstance(node, ast.Dict):
            keys.extend(node.keys)
    return {
        key.value
        for key in keys
        if isinstance(key, ast.Constant)
        and isinstance(key.value, str)
        and _CAMEL.fullmatch(key.value)
    }


def literals_named(text: str, file: str, paths: set[str], keys: set[str]) -> list[Literal]:
    """The string literals in ``text`` that are one of the vendor's keys, hold one of its
    paths, or are in its camelCase style: a key of a response read outside the vendor
    package (``number_at("status", "powerStatus")``) is a vendor key even when no vendor
    module names it."""
    found = []
    for node in _strings(ast.parse(text)):
        value = node.value
        named = value in keys or (bool(_CAMEL.fullmatch(value)) and value not in _UNITS)
        if named or any(path in value for path in paths if len(path) > 4):
            found.append(Literal(file, node.lineno, value))
    return sorted(found)
