"""Print the module list of docs/architecture.md, generated from the source tree.

    python scripts/module_table.py            # print the list
    python scripts/module_table.py --write    # replace the block between the markers
    python scripts/module_table.py --check    # exit 1 when docs/architecture.md is stale

One line per module of the product (``carnet/`` without the simulator, which stands
apart): its path, its line count and the first line of its docstring. The list lives
between ``<!-- modules:start -->`` and ``<!-- modules:end -->``, so the document cannot
drift from the tree. A package's own modules come before its subpackages.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts import doc_block  # noqa: E402

PACKAGE = ROOT / "carnet"
ISLAND = PACKAGE / "simulator"
ISLAND_LINE = "the vendor stand-in (python -m carnet.simulator), both API generations"

START = "<!-- modules:start -->"
END = "<!-- modules:end -->"


def _modules(directory: Path) -> Iterator[Path]:
    yield from sorted(directory.glob("*.py"))
    for child in sorted(p for p in directory.iterdir() if (p / "__init__.py").is_file()):
        if child != ISLAND:
            yield from _modules(child)


def summary(path: Path) -> str:
    """The first line of the module's docstring; "" when it has none."""
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    return docstring.splitlines()[0].strip() if docstring else ""


def table(package: Path = PACKAGE) -> str:
    """The fenced block: path, line count and docstring line of every module."""
    rows = []
    for path in _modules(package):
        with path.open(encoding="utf-8") as source:
            lines = sum(1 for _ in source)
        rows.append((path.relative_to(package.parent).as_posix(), lines, summary(path)))
    island = f"{ISLAND.relative_to(package.parent).as_posix()}/"
    width = max(len(name) for name, _, _ in [*rows, (island, 0, "")])
    body = [f"{name:<{width}} {lines:>4}  {text}".rstrip() for name, lines, text in rows]
    body.append(f"{island:<{width}}       {ISLAND_LINE}")
    return "\n".join(["```", *body, "```"])


def render(document: str) -> str:
    """``document`` with the block between the markers replaced by the current list."""
    start, end = document.find(START), document.find(END)
    if start < 0 or end < start:
        raise ValueError(f"no {START} … {END} block")
    return f"{document[: start + len(START)]}\n{table()}\n{document[end:]}"


def main(argv: list[str] | None = None) -> int:
    return doc_block.run(argv, description=__doc__.splitlines()[0], option="--doc",
                         default=ROOT / "docs" / "architecture.md", script="module_table.py",
                         table=table, render=render)


if __name__ == "__main__":
    sys.exit(main())
