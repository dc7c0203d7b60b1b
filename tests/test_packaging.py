"""``pip install -e '.[test]'`` brings everything the tests import: a module missing from
the test extras would make a fresh install fail or skip tests."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCAL = {"carnet", "tests", "scripts", "bench", "bridge"}


def _imported_modules() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "tests").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - LOCAL - {"__future__"}


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["test"]
    return {_normalized(re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0]) for r in requirements}


def test_every_module_the_tests_import_is_in_the_test_extras():
    distributions = packages_distributions()
    missing = {
        module: distributions.get(module, [module])
        for module in _imported_modules()
        if not {_normalized(d) for d in distributions.get(module, [module])} & _declared()
    }
    assert not missing, f"imported by tests, not in pyproject's test extras: {missing}"
