"""``${VAR}`` and ``${VAR:-default}`` in any string value, from the environment, so
secrets stay out of the file; and the context every problem of one check is collected in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_SPECIAL = re.compile(r"\$\$\{|\$\{|\}")  # what ${VAR} substitution looks at
_NAME_AT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class Context:
    environ: Mapping[str, str]
    problems: list[str] = field(default_factory=list)
    vehicle_names: dict[str, str] = field(default_factory=dict)  # name -> key path
    emails: dict[str, str] = field(default_factory=dict)  # lower-case e-mail -> key path
    unresolved: set[str] = field(default_factory=set)  # key paths whose ${VAR} failed


def join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


_MALFORMED = (
    "malformed variable reference (${NAME} or ${NAME:-default}, where the default may hold "
    "another ${...}; $${ for a literal ${)"
)


class _Malformed(Exception):
    """A ``${`` that does not start a well-formed reference."""


def _substitute(text: str, path: str, ctx: Context) -> str:
    """Replace ``${VAR}`` and ``${VAR:-default}``; ``$${`` stands for a literal ``${``.

    The default applies when the variable is unset or empty, as in a POSIX shell, and
    may itself hold references (``${P:-${Q:-x}}``), which are looked at only when the
    default is used.
    """
    reported = len(ctx.problems)
    try:
        value, _ = _substitute_from(text, 0, path, ctx, in_default=False, used=True)
    except _Malformed:
        del ctx.problems[reported:]  # an unset variable inside it is beside the point
        ctx.unresolved.add(path)
        ctx.problems.append(f"{path}: {_MALFORMED}")
        return text
    return value


def _substitute_from(
    text: str, pos: int, path: str, ctx: Context, *, in_default: bool, used: bool
) -> tuple[str, int]:
    """The text from ``pos`` with its references replaced, and where it ended: at the
    end of ``text``, or in a default just after the brace that closes it."""
    out: list[str] = []
    while True:
        match = _SPECIAL.search(text, pos)
        if match is None:
            if in_default:
                raise _Malformed  # the default's closing brace is missing
            out.append(text[pos:])
            return "".join(out), len(text)
        out.append(text[pos : match.start()])
        pos = match.end()
        if match.group() == "}":
            if in_default:
                return "".join(out), pos
            out.append("}")
        elif match.group() == "$${":
            out.append("${")
        else:
            value, pos = _reference(text, pos, path, ctx, used)
            out.append(value)


def _reference(text: str, pos: int, path: str, ctx: Context, used: bool) -> tuple[str, int]:
    """The value of the reference whose name starts at ``pos`` (just after ``${``)."""
    name_match = _NAME_AT.match(text, pos)
    if name_match is None:
        raise _Malformed
    name, pos = name_match.group(), name_match.end()
    value = ctx.environ.get(name)
    if text.startswith(":-", pos):
        default, pos = _substitute_from(
            text, pos + 2, path, ctx, in_default=True, used=used and not value
        )
        return value or default, pos
    if not text.startswith("}", pos):
        raise _Malformed
    if value is None and used:
        ctx.unresolved.add(path)
        ctx.problems.append(
            f"{path}: environment variable {name} is not set "
            f"(set it, or give a default with ${{{name}:-default}})"
        )
    return value or "", pos + 1


def expand(data: Any, path: str, ctx: Context) -> Any:
    if isinstance(data, str):
        return _substitute(data, path, ctx)
    if isinstance(data, Mapping):
        return {key: expand(value, join(path, key), ctx) for key, value in data.items()}
    if isinstance(data, list):
        return [expand(value, f"{path}[{i}]", ctx) for i, value in enumerate(data)]
    return data
