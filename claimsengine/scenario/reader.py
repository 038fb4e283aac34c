"""Reading a scenario's YAML: mappings that remember their line, and the field readers.

Every failure is a ``ScenarioError`` at a field path (``steps[3].expect.lines[0]``) with the
line of the YAML mapping that holds the bad value.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from claimsengine.errors import ScenarioError
from claimsengine.fieldreader import FieldReader as SharedFieldReader
from claimsengine.fieldreader import describe
from claimsengine.members import Member
from claimsengine.scenario.model import ProviderSetup
from claimsengine.yamlfile import StrictLoader, check_unique_keys


class LineMapping(dict[Any, Any]):
    """A YAML mapping that remembers its line (1-based), for error messages."""

    line: int | None = None


class ScenarioLoader(StrictLoader):
    """The strict loader, recording each mapping's line for error messages."""


def _construct_mapping(loader: ScenarioLoader, node: yaml.MappingNode) -> LineMapping:
    check_unique_keys(loader, node)
    mapping = LineMapping(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    return mapping


ScenarioLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,  # type: ignore[arg-type]
)


def line_of(value: Any) -> int | None:
    return getattr(value, "line", None)


class FieldReader(SharedFieldReader):
    """Validates one scenario file; every failure is a ``ScenarioError`` at a field path,
    with the line of the YAML mapping that holds the bad value.

    The readers of single values; ``load`` and ``expect`` read the parts of a scenario."""

    def __init__(self, path: Path) -> None:
        super().__init__(ScenarioError, file=str(path))
        self.path = path
        self.source = str(path)
        self.folder = path.parent
        self.plan_ids: list[str] = []
        self.members: dict[str, tuple[Member, ...]] = {}
        self.providers: list[ProviderSetup] = []
        # (provider_id, record_id) of the records submitted by the steps read so far.
        self.submitted: set[tuple[str, str]] = set()

    def located(self, at: Any) -> dict[str, Any]:
        return {**self.location, "line": line_of(at)}

    # -- a scenario's own values -----------------------------------------------------------

    def account(self, value: Any, where: str, at: Any) -> str:
        from claimsengine.chain.base import DEV_ALIASES

        if isinstance(value, str) and (
            value in DEV_ALIASES or (value.startswith("0x") and len(value) == 42)
        ):
            return value
        self.fail(
            where,
            f"{describe(value)} is not an account",
            at,
            hint=f"use a dev alias ({', '.join(DEV_ALIASES)}) or a 0x address",
        )

    def optional_account(self, row: Mapping[str, Any], key: str, where: str) -> str | None:
        if row.get(key) is None:
            return None
        return self.account(row[key], f"{where}.{key}", row)

    def plan_ref(self, value: Any, where: str, at: Any) -> str:
        """A plan id the scenario deploys; None means the only plan, when there is one."""
        if value is None:
            if len(self.plan_ids) == 1:
                return self.plan_ids[0]
            self.fail(
                where,
                "is required: this scenario has several plans",
                at,
                hint=f"name one of: {', '.join(self.plan_ids)}",
            )
        if value not in self.plan_ids:
            self.fail(
                where,
                f"{describe(value)} is not a plan of this scenario",
                at,
                hint=f"the plans are: {', '.join(self.plan_ids)}",
            )
        return str(value)

    def file(self, value: Any, where: str, at: Any) -> Path:
        name = self.text(value, where, at)
        path = Path(name)
        return path if path.is_absolute() else self.folder / path

    # -- the scenario --------------------------------------------------------------------
