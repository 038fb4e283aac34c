"""Strict YAML for the files users write (plans, scenarios).

Plain YAML keeps the last of two equal keys silently, and PyYAML raises a bare ValueError
with no line for an impossible date such as 2027-02-30. In a file that says how money
moves, both must be errors that point at the line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml


def check_unique_keys(loader: yaml.SafeLoader, node: yaml.MappingNode) -> None:
    """Refuse a mapping that gives the same key twice."""
    seen: set[Any] = set()
    for key_node, _value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
        except TypeError:  # an unhashable key: construct_mapping reports it
            continue
        if duplicate:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping",
                node.start_mark,
                f"found the key {key!r} twice",
                key_node.start_mark,
            )
        seen.add(key)


def _construct_mapping(
    loader: StrictLoader, node: yaml.MappingNode, deep: bool = False
) -> dict[Any, Any]:
    check_unique_keys(loader, node)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


def _construct_timestamp(loader: StrictLoader, node: yaml.ScalarNode) -> Any:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError as error:
        raise yaml.constructor.ConstructorError(
            None, None, f"{node.value!r} is not a calendar date ({error})", node.start_mark
        ) from None


class StrictLoader(yaml.SafeLoader):
    """A SafeLoader that refuses duplicate keys and impossible dates, with their line."""


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


def describe_yaml_error(error: yaml.YAMLError) -> str:
    """The problem and where it is, as one line."""
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark
        problem = error.problem or str(error)
        if mark is not None:
            return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
        return problem
    return str(error)


def read_text(path: str | Path, what: str, error: Callable[[str], Exception]) -> str:
    """A user's file as UTF-8 text; `error(message)` builds the exception that names it."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as failure:
        raise error(f"cannot read the {what}: {failure.strerror or failure}") from None
    except UnicodeDecodeError:
        raise error(f"the {what} is not UTF-8 text") from None
