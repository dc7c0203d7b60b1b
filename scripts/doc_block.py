"""The command line of the scripts that keep a generated block of a document in step:
print the block, ``--write`` it into the document, or ``--check`` that it is current."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path


def run(argv: list[str] | None, *, description: str, option: str, default: Path,
        script: str, table: Callable[[], str], render: Callable[[str], str]) -> int:
    """``option`` names the document (``--readme``, ``--doc``); ``render`` returns it with
    the block replaced, or raises ValueError when it has none."""
    name = default.name
    parser = argparse.ArgumentParser(description=description)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true", help=f"rewrite the block in {name}")
    group.add_argument("--check", action="store_true", help=f"exit 1 when {name} is stale")
    parser.add_argument(option, dest="document", type=Path, default=default)
    args = parser.parse_args(argv)
    if not (args.write or args.check):
        print(table())
        return 0
    try:
        current = args.document.read_text(encoding="utf-8")
        wanted = render(current)
    except (OSError, ValueError) as exc:
        print(f"{args.document}: {exc}", file=sys.stderr)
        return 1
    if args.check:
        if current != wanted:
            print(f"{args.document} is stale: run python scripts/{script} --write",
                  file=sys.stderr)
            return 1
        return 0
    args.document.write_text(wanted, encoding="utf-8")
    return 0
