"""How a key is declared: one :func:`setting` per dataclass field holds its default,
what it accepts (shown in every ``--check`` message about it), its check, and whether
it is a secret. The builder, the secret list and the example test read them from here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

from carnet.config.checks import Rule

_RULE = "carnet.rule"
_SECRET = "carnet.secret"
_COERCE = "carnet.coerce"


def setting(
    default: Any = dataclasses.MISSING,
    accepted: str | Rule = "",
    check: Callable[[Any], Any] | None = None,
    *,
    factory: Callable[[], Any] | Any = dataclasses.MISSING,
    secret: bool = False,
    coerce: Callable[[Any], Any] | None = None,
) -> Any:
    """One key: its default (or ``factory`` for a section), what it accepts and its check.
    A secret never appears in a message, a ``repr`` or ``bridge/info``."""
    rule = accepted if isinstance(accepted, Rule) else Rule(accepted, check)
    metadata = {_RULE: rule, _SECRET: secret, _COERCE: coerce}
    return dataclasses.field(
        default=default, default_factory=factory, repr=not secret, metadata=metadata
    )


def _declared(cls: type, name: str) -> dataclasses.Field[Any]:
    return {f.name: f for f in dataclasses.fields(cls)}[name]


def rule_of(cls: type, name: str) -> Rule:
    return _declared(cls, name).metadata[_RULE]


def coercion_of(cls: type, name: str) -> Callable[[Any], Any] | None:
    return _declared(cls, name).metadata[_COERCE]


def is_secret(cls: type, name: str) -> bool:
    return bool(_declared(cls, name).metadata[_SECRET])


def secret_values(config: Any) -> Iterator[str]:
    """Every secret value set in ``config``, found through the declarations: the
    sections, the accounts and their vehicles are walked alike."""
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        for f in dataclasses.fields(config):
            value = getattr(config, f.name)
            if f.metadata.get(_SECRET):
                if value is not None:
                    yield value
            else:
                yield from secret_values(value)
    elif isinstance(config, (tuple, list)):
        for item in config:
            yield from secret_values(item)
    elif isinstance(config, dict):
        for item in config.values():
            yield from secret_values(item)
