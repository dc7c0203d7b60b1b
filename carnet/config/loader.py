"""Reading a configuration file: safe YAML that refuses duplicate keys and alias bombs,
then :func:`~carnet.config.build.parse_config`; every failure is a :class:`ConfigError`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from carnet.config.build import parse_config
from carnet.config.model import Config
from carnet.core import redact
from carnet.core.errors import ConfigError

_LOG = logging.getLogger("carnet.config")


MAX_YAML_VALUES = 100_000
"""The most values a configuration file may hold once its aliases are expanded. A real
one has a few hundred; a "billion laughs" file of 1 KB, whose aliases repeat each other,
holds billions and would take minutes and gigabytes to check."""


class _TooLarge(yaml.YAMLError):
    """The document expands past :data:`MAX_YAML_VALUES`, or an alias contains itself."""


class _Loader(yaml.SafeLoader):
    """Safe YAML that refuses duplicate keys (PyYAML keeps the last one silently, so a
    second ``mqtt:`` section would quietly replace the first) and documents whose
    aliases expand past :data:`MAX_YAML_VALUES`, before anything is built from them."""

    def construct_document(self, node: yaml.Node) -> Any:
        _refuse_expansion(node)
        _refuse_duplicate_keys(node)
        return super().construct_document(node)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [item for pair in node.value for item in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _refuse_expansion(root: yaml.Node) -> None:
    """Count the values the document holds with every alias expanded, without expanding
    it: each node's count is computed once from its children's (an alias is the very
    node it names), so the work grows with the file, not with the expansion."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()  # the node being counted and its parents
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, counted_children = stack.pop()
        key = id(node)
        if counted_children:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[key] > MAX_YAML_VALUES:
                raise _TooLarge(
                    f"the document holds more than {MAX_YAML_VALUES} values once its aliases "
                    f"are expanded (at most {MAX_YAML_VALUES}; a configuration holds a few "
                    "hundred, aliases that repeat each other multiply)"
                )
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise _TooLarge(
                "an alias refers to a mapping or list that contains it (an alias repeats a "
                "value defined elsewhere, never its own container)"
            )
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node))


def _refuse_duplicate_keys(root: yaml.Node) -> None:
    stack, seen_nodes = [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key_node, value_node in node.value:
                stack.extend((key_node, value_node))
                if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(
                    key_node, yaml.ScalarNode
                ):
                    continue
                if key_node.value in keys:
                    raise yaml.constructor.ConstructorError(
                        "while reading a mapping",
                        node.start_mark,
                        f"found duplicate key '{key_node.value}'",
                        key_node.start_mark,
                    )
                keys.add(key_node.value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read and check a configuration file; every failure is a :class:`ConfigError`."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [f"{file}: file not found (a YAML file; copy config.example.yaml to start)"]
        ) from None
    except IsADirectoryError:
        raise ConfigError([f"{file}: is a directory (a YAML file)"]) from None
    except PermissionError:
        raise ConfigError([f"{file}: not readable by this user (a readable YAML file)"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{file}: not UTF-8 text (a UTF-8 YAML file)"]) from None
    except OSError as exc:
        raise ConfigError([f"{file}: cannot be read: {exc.strerror} (a YAML file)"]) from None
    try:
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: no arbitrary objects
    except _TooLarge as exc:
        raise ConfigError([f"{file}: {exc}"]) from None
    except RecursionError:
        raise ConfigError(
            [f"{file}: mappings or lists nested too deeply (a few levels, as in "
             "config.example.yaml)"]
        ) from None
    except yaml.MarkedYAMLError as exc:
        # Only the description and position: the excerpt PyYAML adds could show a secret.
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = "; ".join(part for part in (exc.problem, exc.context) if part)
        raise ConfigError([f"{file}: YAML syntax error{where}: {what} (valid YAML)"]) from None
    except yaml.YAMLError:
        raise ConfigError([f"{file}: YAML syntax error (valid YAML)"]) from None
    config = parse_config(data, environ)
    redact.register_config_secrets(config)  # masked in every log record from now on
    _LOG.debug("configuration loaded from %s", file)
    return config
