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

import argparse
import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true", help="rewrite the block in the document")
    group.add_argument("--check", action="store_true", help="exit 1 when the document is stale")
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "architecture.md")
    args = parser.parse_args(argv)
    if not (args.write or args.check):
        print(table())
        return 0
    try:
        current = args.doc.read_text(encoding="utf-8")
        wanted = render(current)
    except (OSError, ValueError) as exc:
        print(f"{args.doc}: {exc}", file=sys.stderr)
        return 1
    if args.check:
        if current != wanted:
            print(f"{args.doc} is stale: run python scripts/module_table.py --write",
                  file=sys.stderr)
            return 1
        return 0
    args.doc.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
