"""Reading a scenario's YAML: mappings that remember their line, and the field readers.

Every failure is a ``ScenarioError`` at a field path (``steps[3].expect.lines[0]``) with the
line of the YAML mapping that holds the bad value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

import yaml

from claimsengine.days import parse_date
from claimsengine.errors import InputError, ScenarioError
from claimsengine.members import Member
from claimsengine.money import parse_amount
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


def join(where: str | None, key: str) -> str:
    return f"{where}.{key}" if where else key


def describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, float):
        return f'the number {value!r} (quote amounts: "80.00")'
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, date):
        return f"the date {value.isoformat()}"
    return repr(value)


class FieldReader:
    """Validates one scenario file; every failure is a ``ScenarioError`` at a field path.

    The readers of single values; ``load`` and ``expect`` read the parts of a scenario."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.source = str(path)
        self.folder = path.parent
        self.plan_ids: list[str] = []
        self.members: dict[str, tuple[Member, ...]] = {}
        self.providers: list[ProviderSetup] = []
        # (provider_id, record_id) of the records submitted by the steps read so far.
        self.submitted: set[tuple[str, str]] = set()

    # -- primitives ----------------------------------------------------------------------

    def fail(
        self, where: str | None, message: str, at: Any = None, *, hint: str | None = None
    ) -> NoReturn:
        raise ScenarioError(message, file=self.source, line=line_of(at), field=where, hint=hint)

    def mapping(
        self,
        value: Any,
        where: str,
        keys: Sequence[str],
        *,
        required: Sequence[str] = (),
        at: Any = None,
        what: str = "a mapping",
    ) -> Mapping[str, Any]:
        if value is None:
            value = LineMapping()
        if not isinstance(value, Mapping):
            self.fail(where, f"expected {what}, got {describe(value)}", at)
        for key in value:
            if key not in keys:
                hint = f"the keys here are: {', '.join(keys)}"
                if isinstance(key, bool):
                    hint = "YAML reads a bare on/off/yes/no key as true/false; " + hint
                self.fail(join(where, str(key)), f"unknown key {key!r}", value, hint=hint)
        for key in required:
            if value.get(key) is None:
                self.fail(join(where, key), "is required", value)
        return value

    def items(self, value: Any, where: str, at: Any, *, what: str) -> list[Any]:
        if not isinstance(value, list):
            self.fail(where, f"expected a list of {what}, got {describe(value)}", at)
        return value

    def text(self, value: Any, where: str, at: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(where, f"expected text, got {describe(value)}", at)
        return value

    def amount(self, value: Any, where: str, at: Any) -> int:
        try:
            return parse_amount(value, field=where)
        except InputError as error:
            self.fail(where, error.message, at, hint=error.hint)

    def date_value(self, value: Any, where: str, at: Any) -> date:
        try:
            return parse_date(value, field=where)
        except InputError as error:
            self.fail(where, error.message, at, hint=error.hint)

    def count(self, value: Any, where: str, at: Any, *, minimum: int = 0) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(where, f"expected a whole number, got {describe(value)}", at)
        if value < minimum:
            self.fail(where, f"must be at least {minimum}, got {value}", at)
        return value

    def flag(self, value: Any, where: str, at: Any) -> bool:
        if not isinstance(value, bool):
            self.fail(where, f"expected true or false, got {describe(value)}", at)
        return value

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
