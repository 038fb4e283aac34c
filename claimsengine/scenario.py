"""Scenarios: a test team's plan year, written as YAML, run on a chain and checked.

A scenario states plans, members, providers and funding, then a timeline of steps (move the
clock, submit records, review, fund, settle, withdraw), each with what the team expects to
see afterwards: a claim's status and line amounts, a member's accumulators, a pool, token
balances, or an error. ``load_scenario`` reads and validates a file (every error names the
file, the line and the field path, such as ``steps[3].expect.lines[0].plan_paid``);
``run_scenario`` runs it on a fresh in-memory chain (or a node at ``rpc``) and returns a
``ScenarioResult`` listing every expectation that failed as
``step N: <what>: expected X, got Y``. ``junit_xml`` turns results into JUnit XML for CI.

The format is documented, with a full example, in docs/scenarios.md.

Steps count from 1 in results ("step 4"), because people count steps that way; field paths
in load errors count list indexes from 0 ("steps[3]"), like every loader in the project.
Both carry the YAML line number, so either leads straight to the spot.
"""

from __future__ import annotations

import json
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn

import yaml

from claimsengine.days import SECONDS_PER_DAY, day_of_timestamp, from_day, parse_date, to_day
from claimsengine.errors import ClaimsError, InputError
from claimsengine.members import Member, load_members
from claimsengine.money import format_cents, parse_amount
from claimsengine.plan import DEV_TOKEN, Plan, load_plan, plan_from_dict
from claimsengine.records import TreatmentRecord, load_paths
from claimsengine.results import LINE_AMOUNTS, STATUSES, TOTAL_AMOUNTS
from claimsengine.yamlfile import StrictLoader, check_unique_keys, read_text

if TYPE_CHECKING:
    from claimsengine.sdk import InsurerClient, Submission
    from claimsengine.workspace import Workspace

__all__ = [
    "ClaimExpectation",
    "Expectation",
    "Failure",
    "MemberExpectation",
    "PoolExpectation",
    "Scenario",
    "ScenarioError",
    "ScenarioResult",
    "Step",
    "StepResult",
    "junit_xml",
    "load_scenario",
    "run_file",
    "run_scenario",
]

#: The clock time a scenario's chain shows within a day: noon, so the few seconds that
#: blocks add never carry a step into the next day.
NOON = SECONDS_PER_DAY // 2
#: Dev tokens (cents) given at setup to each insurer other than `insurer` (who holds the
#: dev supply), so a second insurer can fund its pools: 100,000,000.00.
INSURER_GRANT = 10_000_000_000
DEFAULT_INSURER = "insurer"
DEFAULT_ADJUDICATOR = "adjudicator"

_SCENARIO_KEYS = (
    "name",
    "description",
    "start",
    "plans",
    "members",
    "providers",
    "funding",
    "steps",
)
_PLAN_ENTRY_KEYS = ("insurer", "adjudicator")
_PROVIDER_KEYS = ("id", "account", "plan", "payout")
_MEMBER_KEYS = ("member_id", "coverage_start", "coverage_end")
ACTIONS = ("submit", "review", "fund", "settle", "withdraw")
_STEP_KEYS = ("name", "date", "advance", *ACTIONS, "expect")
_SUBMIT_KEYS = ("records", "files", "plan", "provider")
_REVIEW_KEYS = ("record", "provider", "decision", "as")
_FUND_KEYS = ("plan", "amount", "as")
_SETTLE_KEYS = ("plan", "as")
_WITHDRAW_KEYS = ("plan", "amount", "to", "as")

_LINE_KEYS = ("code", "units", *LINE_AMOUNTS, "denied", "reasons")
# The keys about one claim; in a step's own `expect` they describe the step's claim.
_CLAIM_KEYS = ("status", "claim_id", "already_submitted", "totals", "lines")
_CLAIMS_ENTRY_KEYS = ("record", "provider", *_CLAIM_KEYS, "error")
_EXPECT_KEYS = (*_CLAIM_KEYS, "error", "claims", "members", "pools", "balances")
_ACCUMULATOR_AMOUNTS = ("deductible_met", "oop_met", "benefit_used")
_MEMBER_EXPECT_KEYS = ("member", "plan", "date", "period", *_ACCUMULATOR_AMOUNTS, "units_used")
_POOL_AMOUNTS = ("balance", "reserved", "free")
_POOL_KEYS = ("plan", *_POOL_AMOUNTS, "queued")

# How an expected value is shown and compared: amounts are int cents shown as "80.00".
Kind = Literal["amount", "text", "count", "flag", "codes"]
_KINDS: dict[str, Kind] = {
    **{key: "amount" for key in LINE_AMOUNTS},
    **{key: "amount" for key in _ACCUMULATOR_AMOUNTS},
    **{key: "amount" for key in _POOL_AMOUNTS},
    "code": "text",
    "status": "text",
    "units": "count",
    "claim_id": "count",
    "queued": "count",
    "period": "count",
    "denied": "flag",
    "already_submitted": "flag",
    "reasons": "codes",
}


class ScenarioError(InputError):
    """A scenario file that cannot be read or is invalid.

    ``str()`` reads ``FILE:LINE: field FIELD: message``: the line of the YAML mapping that
    holds the bad value, and the field path inside the file (list indexes from 0).
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.line = line
        super().__init__(message, file=file, field=field, hint=hint)

    def _located(self) -> str:
        parts: list[str] = []
        if self.file is not None:
            parts.append(f"{self.file}:{self.line}" if self.line else self.file)
        if self.field is not None:
            parts.append(f"field {self.field}")
        parts.append(self.message)
        return ": ".join(parts)


# --------------------------------------------------------------------------------------------
# The scenario, as loaded
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanSetup:
    """A plan to deploy, the account that deploys and funds it, and its adjudicator."""

    plan: Plan
    insurer: str
    adjudicator: str


@dataclass(frozen=True)
class ProviderSetup:
    provider_id: str
    account: str
    plan_id: str
    payout: str | None


@dataclass(frozen=True)
class ClaimExpectation:
    """What a claim should look like. ``values`` holds status / claim_id / already_submitted;
    ``totals`` and each of ``lines`` map a key to its expected value (amounts in cents)."""

    record: str
    provider: str | None = None
    values: Mapping[str, Any] = field(default_factory=dict)
    totals: Mapping[str, int] = field(default_factory=dict)
    lines: tuple[Mapping[str, Any], ...] | None = None
    error: str | None = None
    # YAML lines, so a failure points at the very mapping that states the value.
    line: int | None = None
    totals_line: int | None = None
    line_numbers: tuple[int | None, ...] = ()

    @property
    def needs_result(self) -> bool:
        """Whether checking it reads the claim from the chain."""
        return bool(
            {"status", "claim_id"} & set(self.values) or self.totals or self.lines is not None
        )

    @property
    def is_empty(self) -> bool:
        return not (self.values or self.totals or self.lines is not None or self.error)


@dataclass(frozen=True)
class MemberExpectation:
    member: str
    plan_id: str
    on: date | None
    values: Mapping[str, int]  # period and the accumulator amounts
    units_used: Mapping[str, int]
    line: int | None = None


@dataclass(frozen=True)
class PoolExpectation:
    plan_id: str
    values: Mapping[str, int]
    line: int | None = None


@dataclass(frozen=True)
class Expectation:
    """A step's ``expect``: its own claim (submit of one record, review), other claims,
    members, pools, token balances of accounts, and the error the step should raise."""

    claim: ClaimExpectation | None = None
    claims: tuple[ClaimExpectation, ...] = ()
    members: tuple[MemberExpectation, ...] = ()
    pools: tuple[PoolExpectation, ...] = ()
    balances: Mapping[str, int] = field(default_factory=dict)
    error: str | None = None
    line: int | None = None  # of the expect mapping
    balances_line: int | None = None


@dataclass(frozen=True)
class Submit:
    records: tuple[TreatmentRecord, ...]
    sources: tuple[str | None, ...]


@dataclass(frozen=True)
class Review:
    record: str
    provider: str | None
    approve: bool
    account: str | None


@dataclass(frozen=True)
class Fund:
    plan_id: str
    cents: int
    account: str | None = None  # None: the plan's insurer


@dataclass(frozen=True)
class Settle:
    plan_id: str
    account: str | None


@dataclass(frozen=True)
class Withdraw:
    plan_id: str
    cents: int
    to: str | None
    account: str | None = None  # None: the plan's insurer


Action = Submit | Review | Fund | Settle | Withdraw


@dataclass(frozen=True)
class Step:
    """One step of the timeline. ``number`` counts from 1; ``line`` is its YAML line."""

    number: int
    line: int | None
    name: str | None
    date: date | None
    advance: int | None
    action: Action | None
    expect: Expectation

    @property
    def title(self) -> str:
        """A short description: ``2027-03-01: submit A-1``."""
        parts: list[str] = []
        if self.date is not None:
            parts.append(self.date.isoformat())
        if self.advance is not None:
            parts.append(f"advance {self.advance} day{'s' if self.advance != 1 else ''}")
        action = _describe_action(self.action)
        what = ": ".join(p for p in (", ".join(parts), action) if p) or "check"
        return f"{self.name} ({what})" if self.name else what


@dataclass(frozen=True)
class Scenario:
    path: Path
    name: str
    description: str
    start: date
    plans: tuple[PlanSetup, ...]
    members: Mapping[str, tuple[Member, ...]]
    providers: tuple[ProviderSetup, ...]
    funding: Mapping[str, int]
    steps: tuple[Step, ...]

    def plan_setup(self, plan_id: str) -> PlanSetup:
        for setup in self.plans:
            if setup.plan.id == plan_id:
                return setup
        raise KeyError(plan_id)


def _describe_action(action: Action | None) -> str:
    if isinstance(action, Submit):
        if len(action.records) == 1:
            return f"submit {action.records[0].record_id}"
        return f"submit {len(action.records)} records"
    if isinstance(action, Review):
        return f"review {action.record}: {'approve' if action.approve else 'deny'}"
    if isinstance(action, Fund):
        return f"fund {action.plan_id} {format_cents(action.cents)}"
    if isinstance(action, Settle):
        return f"settle {action.plan_id}"
    if isinstance(action, Withdraw):
        return f"withdraw {format_cents(action.cents)} from {action.plan_id}"
    return ""


# --------------------------------------------------------------------------------------------
# YAML with line numbers
# --------------------------------------------------------------------------------------------


class _Mapping(dict[Any, Any]):
    """A YAML mapping that remembers its line (1-based), for error messages."""

    line: int | None = None


class _ScenarioLoader(StrictLoader):
    """The strict loader, recording each mapping's line for error messages."""


def _construct_mapping(loader: _ScenarioLoader, node: yaml.MappingNode) -> _Mapping:
    check_unique_keys(loader, node)
    mapping = _Mapping(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    return mapping


_ScenarioLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,  # type: ignore[arg-type]
)


def _line_of(value: Any) -> int | None:
    return getattr(value, "line", None)


# --------------------------------------------------------------------------------------------
# Loading and validation
# --------------------------------------------------------------------------------------------


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file, with the plans, members and records it names.

    Raises ``ScenarioError`` naming the file, the line and the field."""
    path = Path(path)
    source = str(path)
    text = read_text(path, "scenario file", lambda message: ScenarioError(message, file=source))
    try:
        data = yaml.load(text, Loader=_ScenarioLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(error, "problem", None) or str(error)
        raise ScenarioError(f"not valid YAML: {problem}", file=source, line=line) from None
    return _Reader(path).scenario(data)


class _Reader:
    """Validates one scenario file; every failure is a ``ScenarioError`` at a field path."""

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
        raise ScenarioError(message, file=self.source, line=_line_of(at), field=where, hint=hint)

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
            value = _Mapping()
        if not isinstance(value, Mapping):
            self.fail(where, f"expected {what}, got {_describe(value)}", at)
        for key in value:
            if key not in keys:
                hint = f"the keys here are: {', '.join(keys)}"
                if isinstance(key, bool):
                    hint = "YAML reads a bare on/off/yes/no key as true/false; " + hint
                self.fail(_join(where, str(key)), f"unknown key {key!r}", value, hint=hint)
        for key in required:
            if value.get(key) is None:
                self.fail(_join(where, key), "is required", value)
        return value

    def items(self, value: Any, where: str, at: Any, *, what: str) -> list[Any]:
        if not isinstance(value, list):
            self.fail(where, f"expected a list of {what}, got {_describe(value)}", at)
        return value

    def text(self, value: Any, where: str, at: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(where, f"expected text, got {_describe(value)}", at)
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
            self.fail(where, f"expected a whole number, got {_describe(value)}", at)
        if value < minimum:
            self.fail(where, f"must be at least {minimum}, got {value}", at)
        return value

    def flag(self, value: Any, where: str, at: Any) -> bool:
        if not isinstance(value, bool):
            self.fail(where, f"expected true or false, got {_describe(value)}", at)
        return value

    def account(self, value: Any, where: str, at: Any) -> str:
        from claimsengine.chain.base import DEV_ALIASES

        if isinstance(value, str) and (
            value in DEV_ALIASES or (value.startswith("0x") and len(value) == 42)
        ):
            return value
        self.fail(
            where,
            f"{_describe(value)} is not an account",
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
                f"{_describe(value)} is not a plan of this scenario",
                at,
                hint=f"the plans are: {', '.join(self.plan_ids)}",
            )
        return str(value)

    def file(self, value: Any, where: str, at: Any) -> Path:
        name = self.text(value, where, at)
        path = Path(name)
        return path if path.is_absolute() else self.folder / path

    # -- the scenario --------------------------------------------------------------------

    def scenario(self, data: Any) -> Scenario:
        if not isinstance(data, Mapping):
            self.fail(None, f"a scenario must be a mapping of keys, got {_describe(data)}")
        self.mapping(data, "", _SCENARIO_KEYS, required=("plans", "steps"), at=data)
        name = data.get("name") or self.path.stem
        if not isinstance(name, str):
            self.fail("name", f"expected text, got {_describe(name)}", data)
        description = data.get("description") or ""
        if not isinstance(description, str):
            self.fail("description", f"expected text, got {_describe(description)}", data)

        plans = self.plans(data["plans"], data)
        self.members = self.member_lists(data.get("members"), data)
        self.providers = self.provider_list(data.get("providers"), data)
        funding = self.funding(data.get("funding"), data)
        earliest = min(setup.plan.effective_date for setup in plans)
        start = (
            earliest if data.get("start") is None else self.date_value(data["start"], "start", data)
        )
        steps = self.steps(data["steps"], data, start)
        return Scenario(
            path=self.path,
            name=name,
            description=description,
            start=start,
            plans=tuple(plans),
            members=self.members,
            providers=tuple(self.providers),
            funding=funding,
            steps=tuple(steps),
        )

    def plans(self, value: Any, at: Any) -> list[PlanSetup]:
        entries = self.items(value, "plans", at, what="plans")
        if not entries:
            self.fail("plans", "needs at least one plan", at)
        setups: list[PlanSetup] = []
        for index, entry in enumerate(entries):
            where = f"plans[{index}]"
            if not isinstance(entry, Mapping):
                self.fail(
                    where,
                    f"expected a plan (inline, or `plan: PATH`), got {_describe(entry)}",
                    at,
                )
            scenario_keys = {k: entry[k] for k in _PLAN_ENTRY_KEYS if k in entry}
            plan_keys = {k: v for k, v in entry.items() if k not in _PLAN_ENTRY_KEYS}
            if "plan" in plan_keys:
                self.mapping(entry, where, ("plan", *_PLAN_ENTRY_KEYS), at=entry)
                plan = self.plan_file(plan_keys["plan"], f"{where}.plan", entry)
            else:
                plan = self.inline_plan(plan_keys, where, entry)
            if plan.token != DEV_TOKEN:
                self.fail(
                    f"{where}.token",
                    f"a scenario deploys its own chain, so its plans use the dev token, "
                    f"not {plan.token}",
                    entry,
                    hint="write token: dev",
                )
            if plan.id in self.plan_ids:
                self.fail(f"{where}.id", f"plan {plan.id} is listed twice", entry)
            self.plan_ids.append(plan.id)
            insurer = self.account(
                scenario_keys.get("insurer", DEFAULT_INSURER), f"{where}.insurer", entry
            )
            adjudicator = self.account(
                scenario_keys.get("adjudicator", DEFAULT_ADJUDICATOR), f"{where}.adjudicator", entry
            )
            setups.append(PlanSetup(plan, insurer, adjudicator))
        return setups

    def plan_file(self, value: Any, where: str, at: Any) -> Plan:
        path = self.file(value, where, at)
        try:
            return load_plan(path)
        except InputError as error:
            self.fail(where, str(error), at, hint=error.hint)
        except ValueError as error:  # PyYAML's bare error for an impossible date
            self.fail(where, f"{path}: not valid YAML: {error}", at)

    def inline_plan(self, data: Mapping[str, Any], where: str, at: Any) -> Plan:
        try:
            return plan_from_dict(dict(data), source=self.source)
        except InputError as error:
            inner = error.field or ""
            node = at
            # Point at the service's own line when the error is inside services[i].
            if inner.startswith("services[") and isinstance(data.get("services"), list):
                index_text = inner[len("services[") :].split("]", 1)[0]
                if index_text.isdigit() and int(index_text) < len(data["services"]):
                    node = data["services"][int(index_text)]
            self.fail(_join(where, inner), error.message, node, hint=error.hint)

    def member_lists(self, value: Any, at: Any) -> dict[str, tuple[Member, ...]]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.fail(
                "members",
                f"expected a mapping of plan id to a CSV path or a list, got {_describe(value)}",
                at,
            )
        result: dict[str, tuple[Member, ...]] = {}
        for plan_key, entry in value.items():
            where = f"members.{plan_key}"
            plan_id = self.plan_ref(plan_key, where, value)
            if isinstance(entry, str):
                path = self.file(entry, where, value)
                try:
                    result[plan_id] = tuple(load_members(path))
                except InputError as error:
                    self.fail(where, str(error), value, hint=error.hint)
            else:
                result[plan_id] = self.member_list(entry, where, value)
        return result

    def member_list(self, value: Any, where: str, at: Any) -> tuple[Member, ...]:
        entries = self.items(value, where, at, what="members, or a CSV path")
        members: list[Member] = []
        seen: set[str] = set()
        for index, entry in enumerate(entries):
            here = f"{where}[{index}]"
            row = self.mapping(
                entry, here, _MEMBER_KEYS, required=("member_id", "coverage_start"), at=at
            )
            member_id = self.text(row["member_id"], f"{here}.member_id", row)
            if member_id in seen:
                self.fail(f"{here}.member_id", f"member {member_id} is listed twice", row)
            seen.add(member_id)
            start = self.date_value(row["coverage_start"], f"{here}.coverage_start", row)
            end = None
            if row.get("coverage_end") is not None:
                end = self.date_value(row["coverage_end"], f"{here}.coverage_end", row)
                if end < start:
                    self.fail(f"{here}.coverage_end", "is before coverage_start", row)
            members.append(Member(member_id, start, end))
        return tuple(members)

    def provider_list(self, value: Any, at: Any) -> list[ProviderSetup]:
        if value is None:
            return []
        providers: list[ProviderSetup] = []
        seen: set[tuple[str, str]] = set()
        for index, entry in enumerate(self.items(value, "providers", at, what="providers")):
            where = f"providers[{index}]"
            row = self.mapping(entry, where, _PROVIDER_KEYS, required=("id", "account"), at=at)
            provider_id = self.text(row["id"], f"{where}.id", row)
            plan_id = self.plan_ref(row.get("plan"), f"{where}.plan", row)
            if (plan_id, provider_id) in seen:
                self.fail(
                    f"{where}.id", f"provider {provider_id} is listed twice for {plan_id}", row
                )
            seen.add((plan_id, provider_id))
            account = self.account(row["account"], f"{where}.account", row)
            payout = None
            if row.get("payout") is not None:
                payout = self.account(row["payout"], f"{where}.payout", row)
            providers.append(ProviderSetup(provider_id, account, plan_id, payout))
        return providers

    def funding(self, value: Any, at: Any) -> dict[str, int]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.fail(
                "funding", f"expected a mapping of plan id to amount, got {_describe(value)}", at
            )
        funding: dict[str, int] = {}
        for plan_key, amount in value.items():
            where = f"funding.{plan_key}"
            plan_id = self.plan_ref(plan_key, where, value)
            cents = self.amount(amount, where, value)
            if cents > 0:
                funding[plan_id] = cents
        return funding

    # -- steps ---------------------------------------------------------------------------

    def steps(self, value: Any, at: Any, start: date) -> list[Step]:
        entries = self.items(value, "steps", at, what="steps")
        if not entries:
            self.fail("steps", "needs at least one step", at)
        today = start
        steps: list[Step] = []
        for index, entry in enumerate(entries):
            step = self.step(entry, index, at, today)
            if step.date is not None:
                today = step.date
            elif step.advance is not None:
                today = today + timedelta(days=step.advance)
            steps.append(step)
        return steps

    def step(self, value: Any, index: int, at: Any, today: date) -> Step:
        where = f"steps[{index}]"
        data = self.mapping(value, where, _STEP_KEYS, at=at, what="a step")
        line = _line_of(data)
        name = data.get("name")
        if name is not None and not isinstance(name, str):
            self.fail(f"{where}.name", f"expected text, got {_describe(name)}", data)
        if "date" in data and "advance" in data:
            self.fail(where, "give date or advance, not both", data)
        on = None
        if "date" in data:
            on = self.date_value(data["date"], f"{where}.date", data)
            if on < today:
                self.fail(
                    f"{where}.date",
                    f"{on} is before the scenario's date at this point ({today})",
                    data,
                    hint="time only moves forward: order the steps by date",
                )
        advance = None
        if "advance" in data:
            advance = self.count(data["advance"], f"{where}.advance", data, minimum=1)
        actions = [key for key in ACTIONS if key in data]
        if len(actions) > 1:
            self.fail(
                where,
                f"a step does one thing; this one has {' and '.join(actions)}",
                data,
                hint="split it into several steps",
            )
        if not actions and on is None and advance is None and "expect" not in data:
            self.fail(
                where,
                "a step needs an action, a date or advance, or an expect",
                data,
                hint=f"the actions are: {', '.join(ACTIONS)}",
            )
        action: Action | None = None
        own: tuple[str, str | None] | None = None  # (record, provider) of the step's claim
        this_step: set[tuple[str, str]] = set()
        if actions:
            key = actions[0]
            here = f"{where}.{key}"
            raw = data[key]
            if key == "submit":
                submit = self.submit(raw, here, data)
                action = submit
                this_step = {(r.provider_id, r.record_id) for r in submit.records}
                if len(submit.records) == 1:
                    own = (submit.records[0].record_id, submit.records[0].provider_id)
            elif key == "review":
                review = self.review(raw, here, data)
                action = review
                own = (review.record, review.provider)
            elif key == "fund":
                row = self.mapping(raw, here, _FUND_KEYS, required=("amount",), at=data)
                action = Fund(
                    self.plan_ref(row.get("plan"), f"{here}.plan", row),
                    self.positive_amount(row["amount"], f"{here}.amount", row),
                    self.optional_account(row, "as", here),
                )
            elif key == "settle":
                row = self.mapping(raw, here, _SETTLE_KEYS, at=data)
                action = Settle(
                    self.plan_ref(row.get("plan"), f"{here}.plan", row),
                    self.optional_account(row, "as", here),
                )
            else:
                row = self.mapping(raw, here, _WITHDRAW_KEYS, required=("amount",), at=data)
                action = Withdraw(
                    self.plan_ref(row.get("plan"), f"{here}.plan", row),
                    self.positive_amount(row["amount"], f"{here}.amount", row),
                    self.optional_account(row, "to", here),
                    self.optional_account(row, "as", here),
                )
        self.submitted |= this_step
        expect = self.expectation(data.get("expect"), f"{where}.expect", data, own, this_step)
        return Step(
            number=index + 1,
            line=line,
            name=name,
            date=on,
            advance=advance,
            action=action,
            expect=expect,
        )

    def positive_amount(self, value: Any, where: str, at: Any) -> int:
        cents = self.amount(value, where, at)
        if cents <= 0:
            self.fail(where, "must be more than 0.00", at)
        return cents

    def submit(self, value: Any, where: str, at: Any) -> Submit:
        # `submit: [records]` is short for `submit: {records: [records]}`.
        shorthand = isinstance(value, list)
        if shorthand:
            value = _Mapping(records=value)
            value.line = _line_of(at)
        row = self.mapping(
            value,
            where,
            _SUBMIT_KEYS,
            at=at,
            what="a list of records, or a mapping with records and/or files",
        )
        if row.get("records") is None and row.get("files") is None:
            self.fail(where, "needs records (inline) or files", row)
        default_plan = (
            self.plan_ref(row["plan"], f"{where}.plan", row)
            if row.get("plan") is not None
            else (self.plan_ids[0] if len(self.plan_ids) == 1 else None)
        )
        default_provider = row.get("provider")
        if default_provider is None:
            known = {p.provider_id for p in self.providers}
            default_provider = known.pop() if len(known) == 1 else None
        elif not isinstance(default_provider, str):
            self.fail(f"{where}.provider", f"expected text, got {_describe(default_provider)}", row)
        records: list[TreatmentRecord] = []
        sources: list[str | None] = []
        raw_records = row.get("records")
        if raw_records is not None:
            here = where if shorthand else f"{where}.records"
            for index, raw in enumerate(self.items(raw_records, here, row, what="records")):
                try:
                    record = TreatmentRecord.from_json(
                        raw,
                        index=index,
                        default_plan=default_plan,
                        default_provider=default_provider,
                    )
                except InputError as error:
                    field_path = f"{here}[{index}]" + (f".{error.field}" if error.field else "")
                    self.fail(field_path, error.message, raw if _line_of(raw) else row)
                records.append(record)
                sources.append(f"{self.source}:{_line_of(raw) or ''}".rstrip(":"))
        if row.get("files") is not None:
            raw_files = row["files"]
            names = [raw_files] if isinstance(raw_files, str) else raw_files
            paths = [
                self.file(name, f"{where}.files[{i}]", row)
                for i, name in enumerate(self.items(names, f"{where}.files", row, what="paths"))
            ]
            try:
                loaded = load_paths(
                    paths, default_plan=default_plan, default_provider=default_provider
                )
            except InputError as error:
                self.fail(f"{where}.files", str(error), row)
            if loaded.rejected:
                self.fail(f"{where}.files", str(loaded.rejected[0].error), row)
            for item in loaded.records:
                records.append(item.record)
                sources.append(str(item.file))
        if not records:
            self.fail(where, "submits no records", row)
        return Submit(tuple(records), tuple(sources))

    def review(self, value: Any, where: str, at: Any) -> Review:
        row = self.mapping(value, where, _REVIEW_KEYS, required=("record", "decision"), at=at)
        record, provider = self.record_ref(row, where, set())
        decision = row["decision"]
        if decision not in ("approve", "deny"):
            self.fail(
                f"{where}.decision", f"expected approve or deny, got {_describe(decision)}", row
            )
        return Review(
            record, provider, decision == "approve", self.optional_account(row, "as", where)
        )

    def record_ref(
        self, row: Mapping[str, Any], where: str, this_step: set[tuple[str, str]]
    ) -> tuple[str, str | None]:
        """The (record, provider) a mapping names; it must have been submitted by now."""
        record = row["record"]
        if not isinstance(record, str):
            self.fail(f"{where}.record", f"expected a record_id, got {_describe(record)}", row)
        provider = row.get("provider")
        if provider is not None and not isinstance(provider, str):
            self.fail(
                f"{where}.provider", f"expected a provider id, got {_describe(provider)}", row
            )
        known = self.submitted | this_step
        matches = [p for p, r in known if r == record and (provider is None or p == provider)]
        if not matches:
            self.fail(
                f"{where}.record",
                f"no step up to here submits record {record}"
                + (f" from {provider}" if provider else ""),
                row,
            )
        if provider is None and len(set(matches)) > 1:
            self.fail(
                f"{where}.provider",
                f"record {record} is submitted by several providers "
                f"({', '.join(sorted(set(matches)))}): name one",
                row,
            )
        return record, provider

    # -- expectations --------------------------------------------------------------------

    def expectation(
        self,
        value: Any,
        where: str,
        at: Any,
        own: tuple[str, str | None] | None,
        this_step: set[tuple[str, str]],
    ) -> Expectation:
        if value is None:
            return Expectation()
        row = self.mapping(value, where, _EXPECT_KEYS, at=at)
        claim = None
        own_keys = [key for key in _CLAIM_KEYS if key in row]
        if own_keys:
            if own is None:
                self.fail(
                    f"{where}.{own_keys[0]}",
                    "this step has no claim of its own (only a submit of one record, or a "
                    "review, has one)",
                    row,
                    hint="name the claim: expect: {claims: [{record: ID, ...}]}",
                )
            if "already_submitted" in row and "review" in at:
                self.fail(f"{where}.already_submitted", "only a submit step sends records", row)
            claim = self.claim_values(row, where, *own)
        error = None
        if row.get("error") is not None:
            error = self.text(row["error"], f"{where}.error", row)
        claims = []
        if row.get("claims") is not None:
            for index, entry in enumerate(
                self.items(row["claims"], f"{where}.claims", row, what="claims")
            ):
                here = f"{where}.claims[{index}]"
                item = self.mapping(entry, here, _CLAIMS_ENTRY_KEYS, required=("record",), at=row)
                record, provider = self.record_ref(item, here, this_step)
                expectation = self.claim_values(item, here, record, provider)
                step_only = [k for k in ("already_submitted", "error") if k in item]
                in_step = any(r == record for _, r in this_step)
                if step_only and not in_step:
                    self.fail(
                        f"{here}.{step_only[0]}",
                        f"only for a record this step submits; {record} was submitted earlier",
                        item,
                    )
                if item.get("error") is not None:
                    expectation = replace(
                        expectation, error=self.text(item["error"], f"{here}.error", item)
                    )
                claims.append(expectation)
        members = []
        if row.get("members") is not None:
            for index, entry in enumerate(
                self.items(row["members"], f"{where}.members", row, what="members")
            ):
                members.append(self.member_expectation(entry, f"{where}.members[{index}]", row))
        pools = []
        if row.get("pools") is not None:
            for index, entry in enumerate(
                self.items(row["pools"], f"{where}.pools", row, what="pools")
            ):
                pools.append(self.pool_expectation(entry, f"{where}.pools[{index}]", row))
        balances: dict[str, int] = {}
        if row.get("balances") is not None:
            raw = row["balances"]
            if not isinstance(raw, Mapping):
                self.fail(
                    f"{where}.balances",
                    f"expected a mapping of account to amount, got {_describe(raw)}",
                    row,
                )
            for account, amount in raw.items():
                here = f"{where}.balances.{account}"
                balances[self.account(account, here, raw)] = self.amount(amount, here, raw)
        return Expectation(
            claim=claim,
            claims=tuple(claims),
            members=tuple(members),
            pools=tuple(pools),
            balances=balances,
            error=error,
            line=_line_of(row),
            balances_line=_line_of(row.get("balances")) or _line_of(row),
        )

    def claim_values(
        self, row: Mapping[str, Any], where: str, record: str, provider: str | None
    ) -> ClaimExpectation:
        values: dict[str, Any] = {}
        if row.get("status") is not None:
            status = row["status"]
            if status not in STATUSES:
                self.fail(
                    f"{where}.status",
                    f"expected one of {', '.join(STATUSES)}, got {_describe(status)}",
                    row,
                )
            values["status"] = status
        if row.get("claim_id") is not None:
            values["claim_id"] = self.count(row["claim_id"], f"{where}.claim_id", row, minimum=1)
        if row.get("already_submitted") is not None:
            values["already_submitted"] = self.flag(
                row["already_submitted"], f"{where}.already_submitted", row
            )
        totals: dict[str, int] = {}
        totals_line = None
        if row.get("totals") is not None:
            raw = self.mapping(row["totals"], f"{where}.totals", TOTAL_AMOUNTS, at=row)
            totals_line = _line_of(raw)
            for key in TOTAL_AMOUNTS:
                if raw.get(key) is not None:
                    totals[key] = self.amount(raw[key], f"{where}.totals.{key}", raw)
        lines = None
        line_numbers: tuple[int | None, ...] = ()
        if "lines" in row:
            entries = self.items(row["lines"], f"{where}.lines", row, what="lines")
            lines = tuple(
                self.line_values(entry, f"{where}.lines[{index}]", row)
                for index, entry in enumerate(entries)
            )
            line_numbers = tuple(_line_of(entry) or _line_of(row) for entry in entries)
        return ClaimExpectation(
            record=record,
            provider=provider,
            values=values,
            totals=totals,
            lines=lines,
            line=_line_of(row),
            totals_line=totals_line or _line_of(row),
            line_numbers=line_numbers,
        )

    def line_values(self, value: Any, where: str, at: Any) -> Mapping[str, Any]:
        row = self.mapping(value, where, _LINE_KEYS, at=at, what="a line (a mapping, {} to skip)")
        values: dict[str, Any] = {}
        for key in _LINE_KEYS:
            if row.get(key) is None:
                continue
            raw = row[key]
            here = f"{where}.{key}"
            kind = _KINDS[key]
            if kind == "amount":
                values[key] = self.amount(raw, here, row)
            elif kind == "count":
                values[key] = self.count(raw, here, row, minimum=1)
            elif kind == "flag":
                values[key] = self.flag(raw, here, row)
            elif kind == "codes":
                values[key] = self.reason_codes(raw, here, row)
            else:
                values[key] = self.text(raw, here, row)
        return values

    def reason_codes(self, value: Any, where: str, at: Any) -> tuple[str, ...]:
        codes = self.items(value, where, at, what='reason codes, such as ["45", "1"]')
        result: list[str] = []
        for code in codes:
            # Reason codes are numbers without leading zeros, so 45 and "45" are the same.
            if isinstance(code, bool) or not isinstance(code, str | int):
                self.fail(where, f'expected reason codes such as "45", got {_describe(code)}', at)
            result.append(str(code))
        return tuple(result)

    def member_expectation(self, value: Any, where: str, at: Any) -> MemberExpectation:
        row = self.mapping(value, where, _MEMBER_EXPECT_KEYS, required=("member",), at=at)
        member = self.text(row["member"], f"{where}.member", row)
        plan_id = self.plan_ref(row.get("plan"), f"{where}.plan", row)
        if member not in {m.member_id for m in self.members.get(plan_id, ())}:
            self.fail(f"{where}.member", f"member {member} is not enrolled in {plan_id}", row)
        on = None
        if row.get("date") is not None:
            on = self.date_value(row["date"], f"{where}.date", row)
        values: dict[str, int] = {}
        if row.get("period") is not None:
            values["period"] = self.count(row["period"], f"{where}.period", row)
        for key in _ACCUMULATOR_AMOUNTS:
            if row.get(key) is not None:
                values[key] = self.amount(row[key], f"{where}.{key}", row)
        units: dict[str, int] = {}
        if row.get("units_used") is not None:
            raw = row["units_used"]
            if not isinstance(raw, Mapping):
                self.fail(
                    f"{where}.units_used",
                    f"expected a mapping of code to units, got {_describe(raw)}",
                    row,
                )
            for code, count in raw.items():
                if not isinstance(code, str):
                    self.fail(
                        f"{where}.units_used",
                        f"code {code!r} must be a string",
                        raw,
                        hint='quote it ("99213"): YAML reads unquoted digits as a number',
                    )
                units[code] = self.count(count, f"{where}.units_used.{code}", raw)
        return MemberExpectation(member, plan_id, on, values, units, _line_of(row))

    def pool_expectation(self, value: Any, where: str, at: Any) -> PoolExpectation:
        row = self.mapping(value, where, _POOL_KEYS, at=at)
        plan_id = self.plan_ref(row.get("plan"), f"{where}.plan", row)
        values: dict[str, int] = {}
        for key in _POOL_AMOUNTS:
            if row.get(key) is not None:
                values[key] = self.amount(row[key], f"{where}.{key}", row)
        if row.get("queued") is not None:
            values["queued"] = self.count(row["queued"], f"{where}.queued", row)
        return PoolExpectation(plan_id, values, _line_of(row))


def _join(where: str | None, key: str) -> str:
    return f"{where}.{key}" if where else key


def _describe(value: Any) -> str:
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


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """One failed check: ``<what>: expected X, got Y``, and the YAML line that states it."""

    text: str
    line: int | None


@dataclass
class StepResult:
    """How one step went. ``error`` is an error the step raised that no expectation asked
    for; ``failures`` are the checks that did not hold."""

    number: int
    line: int | None
    title: str
    checks: int = 0
    failures: list[Failure] = field(default_factory=list)
    error: str | None = None
    skipped: bool = False
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.failures and self.error is None and not self.skipped

    def messages(self, source: str) -> list[str]:
        """``step N: <what>: expected X, got Y (FILE:LINE)`` for each failure."""
        problems = list(self.failures)
        if self.error is not None:
            problems.insert(0, Failure(f"unexpected error: {self.error}", self.line))
        return [
            f"step {self.number}: {p.text} ({source}:{p.line or self.line or '?'})"
            for p in problems
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.number,
            "line": self.line,
            "title": self.title,
            "passed": self.passed,
            "skipped": self.skipped,
            "checks": self.checks,
            "error": self.error,
            "failures": [{"failure": f.text, "line": f.line} for f in self.failures],
            "seconds": round(self.seconds, 3),
        }


@dataclass
class ScenarioResult:
    """One scenario file's run: every step's result, or why it could not run at all."""

    file: str
    name: str
    steps: list[StepResult] = field(default_factory=list)
    load_error: str | None = None
    setup_error: str | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return (
            self.load_error is None
            and self.setup_error is None
            and all(step.passed for step in self.steps)
        )

    @property
    def checks(self) -> int:
        return sum(step.checks for step in self.steps)

    @property
    def failed_steps(self) -> int:
        return sum(1 for step in self.steps if not step.passed and not step.skipped)

    def messages(self) -> list[str]:
        """Every failure, one line each: ``step N: <what>: expected X, got Y (FILE:LINE)``."""
        if self.load_error is not None:
            return [self.load_error]
        out = [f"setup: {self.setup_error} ({self.file})"] if self.setup_error else []
        for step in self.steps:
            if not step.skipped:
                out.extend(step.messages(self.file))
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "name": self.name,
            "passed": self.passed,
            "steps": len(self.steps),
            "checks": self.checks,
            "failures": self.messages(),
            "seconds": round(self.seconds, 3),
            "step_results": [step.to_json() for step in self.steps],
        }


class _Checks:
    """Counts checks and collects ``<what>: expected X, got Y`` for those that fail."""

    def __init__(self) -> None:
        self.count = 0
        self.failures: list[Failure] = []

    def compare(self, what: str, kind: Kind, expected: Any, actual: Any, line: int | None) -> None:
        self.count += 1
        if expected != actual:
            text = f"{what}: expected {_show(kind, expected)}, got {_show(kind, actual)}"
            self.failures.append(Failure(text, line))

    def fail(self, what: str, message: str, line: int | None) -> None:
        self.count += 1
        self.failures.append(Failure(f"{what}: {message}", line))


def _show(kind: Kind, value: Any) -> str:
    if value is None:
        return "nothing"
    if kind == "amount":
        return format_cents(value)
    if kind == "flag":
        return "true" if value else "false"
    if kind == "codes":
        return json.dumps(list(value))
    return str(value)


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------


def run_file(path: str | Path, *, rpc: str | None = None) -> ScenarioResult:
    """Load and run one scenario file; a file that does not load gives a failed result."""
    started = time.perf_counter()
    try:
        scenario = load_scenario(path)
    except ScenarioError as error:
        hint = f" (hint: {error.hint})" if error.hint else ""
        return ScenarioResult(
            file=str(path),
            name=Path(path).stem,
            load_error=f"{error}{hint}",
            seconds=time.perf_counter() - started,
        )
    return run_scenario(scenario, rpc=rpc)


def run_scenario(scenario: Scenario, *, rpc: str | None = None) -> ScenarioResult:
    """Run a scenario on a fresh in-memory chain (or on the node at ``rpc``, with a fresh
    engine deployment) and check every expectation."""
    started = time.perf_counter()
    result = ScenarioResult(file=str(scenario.path), name=scenario.name)
    with _workspace(scenario, rpc) as workspace:
        runner = _Runner(scenario, workspace)
        try:
            runner.setup()
        except ClaimsError as error:
            result.setup_error = _error_text(error)
        for step in scenario.steps:
            if result.setup_error is not None:
                result.steps.append(StepResult(step.number, step.line, step.title, skipped=True))
                continue
            result.steps.append(runner.run(step))
    result.seconds = time.perf_counter() - started
    return result


@contextmanager
def _workspace(scenario: Scenario, rpc: str | None) -> Iterator[Workspace]:
    """A workspace in a temporary folder: keys, journal and vault never touch the user's."""
    from claimsengine.chain.base import Chain
    from claimsengine.privacy import KeyStore
    from claimsengine.workspace import Workspace

    with tempfile.TemporaryDirectory(prefix="claims-scenario-") as folder:
        state = Path(folder)
        chain: Chain
        if rpc:
            from claimsengine.chain.rpc import RpcChain

            chain = RpcChain(rpc)
            key = f"rpc:{chain.chain_id}"
        else:
            from claimsengine.chain.embedded import EmbeddedChain

            # A clock that stands still at the start: blocks then move one second each, so
            # a run never depends on the wall clock (or on today's date).
            begin = to_day(scenario.start) * SECONDS_PER_DAY + NOON
            chain = EmbeddedChain.memory(clock=lambda: float(begin))
            key = "embedded"
        workspace = Workspace(state, chain, key)
        # Not CLAIMS_KEYS_DIR: a scenario's throwaway keys stay in its throwaway folder.
        workspace.keys = KeyStore(state / "keys")
        try:
            yield workspace
        finally:
            workspace.close()


def _error_text(error: ClaimsError) -> str:
    return str(error) + (f" (hint: {error.hint})" if error.hint else "")


@dataclass
class _Outcome:
    """What a step's action left: the submissions by (provider, record), or its error."""

    submissions: dict[tuple[str, str], Submission] = field(default_factory=dict)
    error: ClaimsError | None = None


class _Runner:
    def __init__(self, scenario: Scenario, workspace: Workspace) -> None:
        self.scenario = scenario
        self.workspace = workspace

    # -- time ----------------------------------------------------------------------------

    def today(self) -> int:
        return day_of_timestamp(self.workspace.chain.now())

    def move_to(self, day: int) -> None:
        """Move the chain to noon of ``day``; a day already reached is left as it is."""
        today = self.today()
        if day == today:
            return
        if day < today:
            raise ClaimsError(
                f"the chain's date is already {from_day(today)}, after {from_day(day)}",
                hint="time only moves forward: with --rpc, use a fresh node for each scenario",
            )
        self.workspace.chain.set_time(day * SECONDS_PER_DAY + NOON)

    # -- setup ---------------------------------------------------------------------------

    def setup(self) -> None:
        from claimsengine.engine import DevToken
        from claimsengine.money import token_scale
        from claimsengine.sdk import InsurerClient

        ws = self.workspace
        scenario = self.scenario
        self.move_to(to_day(scenario.start))
        with ws.command():
            ws.setup(DEFAULT_INSURER)
            token: DevToken = ws.dev_token
            scale = token_scale(token.decimals())
            granted: set[str] = set()
            for setup in scenario.plans:
                insurer = InsurerClient(ws, setup.insurer)
                if setup.insurer != DEFAULT_INSURER and setup.insurer not in granted:
                    # The engine's owner (the default insurer) admits the plan's insurer.
                    ws.engine.set_insurer(
                        ws.chain.address_of(DEFAULT_INSURER), insurer.account, True
                    )
                    token.transfer(
                        ws.chain.address_of(DEFAULT_INSURER), insurer.account, INSURER_GRANT * scale
                    )
                    granted.add(setup.insurer)
                insurer.deploy(setup.plan)
                insurer.set_adjudicator(setup.plan.id, setup.adjudicator)
                members = scenario.members.get(setup.plan.id, ())
                if members:
                    insurer.enroll(setup.plan.id, members)
            for provider in scenario.providers:
                self.insurer(provider.plan_id).add_provider(
                    provider.plan_id, provider.provider_id, provider.account
                )
                if provider.payout is not None:
                    # Only the provider moves its payout address: it does so itself.
                    ws.engine.set_payout(
                        ws.chain.address_of(provider.account),
                        provider.plan_id,
                        provider.provider_id,
                        ws.chain.address_of(provider.payout),
                    )
            for plan_id, cents in scenario.funding.items():
                self.insurer(plan_id).fund(plan_id, cents)

    def insurer(self, plan_id: str, account: str | None = None) -> InsurerClient:
        """The plan's insurer, or ``account`` acting as one (to test who may)."""
        from claimsengine.sdk import InsurerClient

        return InsurerClient(self.workspace, account or self.scenario.plan_setup(plan_id).insurer)

    # -- steps ---------------------------------------------------------------------------

    def run(self, step: Step) -> StepResult:
        started = time.perf_counter()
        outcome = _Outcome()
        try:
            if step.date is not None:
                self.move_to(to_day(step.date))
            elif step.advance is not None:
                self.move_to(self.today() + step.advance)
            if step.action is not None:
                with self.workspace.command():
                    self.act(step.action, outcome)
        except ClaimsError as error:
            outcome.error = error
        checks = _Checks()
        result = StepResult(step.number, step.line, step.title)
        self.check_error(step, outcome, checks, result)
        self.check(step, outcome, checks)
        result.checks = checks.count
        result.failures = checks.failures
        result.seconds = time.perf_counter() - started
        return result

    def act(self, action: Action, outcome: _Outcome) -> None:
        from claimsengine.sdk import AdjudicatorClient, HospitalClient, record_result, settle

        ws = self.workspace
        if isinstance(action, Submit):
            submissions = HospitalClient(ws).submit_many(
                list(action.records), sources=list(action.sources)
            )
            for submission in submissions:
                record = submission.record
                outcome.submissions[(record.provider_id, record.record_id)] = submission
        elif isinstance(action, Review):
            claim = record_result(ws, action.record, action.provider)
            account = action.account or self.scenario.plan_setup(claim.plan_id).adjudicator
            adjudicator = AdjudicatorClient(ws, account)
            if action.approve:
                adjudicator.approve(claim.claim_id)
            else:
                adjudicator.deny(claim.claim_id)
        elif isinstance(action, Fund):
            self.insurer(action.plan_id, action.account).fund(action.plan_id, action.cents)
        elif isinstance(action, Settle):
            account = action.account or self.scenario.plan_setup(action.plan_id).insurer
            settle(ws, action.plan_id, account)
        else:
            insurer = self.insurer(action.plan_id, action.account)
            insurer.withdraw(action.plan_id, action.cents, action.to)

    def check_error(
        self, step: Step, outcome: _Outcome, checks: _Checks, result: StepResult
    ) -> None:
        """The step's error against ``expect.error``. For a submit of one record, a record
        that was set aside is the step's error."""
        error: ClaimsError | None = outcome.error
        if error is None and isinstance(step.action, Submit) and len(step.action.records) == 1:
            (submission,) = outcome.submissions.values()
            error = submission.error
        expected = step.expect.error
        if expected is None:
            if error is not None:
                result.error = _error_text(error)
            return
        _match_error("error", expected, error, checks, step.expect.line)

    def check(self, step: Step, outcome: _Outcome, checks: _Checks) -> None:
        expect = step.expect
        single = isinstance(step.action, Submit) and len(step.action.records) == 1
        # Records of a multi-record submit that were set aside, with no expectation saying so.
        if isinstance(step.action, Submit) and not single:
            expected_errors = {c.record for c in expect.claims if c.error is not None}
            for (_provider, record), submission in outcome.submissions.items():
                if submission.error is not None and record not in expected_errors:
                    checks.fail(
                        f"record {record}",
                        f"set aside: {_error_text(submission.error)}",
                        step.line,
                    )
        if expect.claim is not None and not expect.claim.is_empty:
            self.check_claim(expect.claim, outcome, checks)
        for claim in expect.claims:
            self.check_claim(claim, outcome, checks)
        for member in expect.members:
            self.check_member(member, checks)
        for pool in expect.pools:
            self.check_pool(pool, checks)
        for account, cents in expect.balances.items():
            self.check_balance(account, cents, checks, expect.balances_line)

    def check_claim(self, expect: ClaimExpectation, outcome: _Outcome, checks: _Checks) -> None:
        from claimsengine.sdk import record_result

        what = f"claim {expect.record}"
        line = expect.line
        submission = next(
            (
                s
                for (provider, record), s in outcome.submissions.items()
                if record == expect.record and expect.provider in (None, provider)
            ),
            None,
        )
        if "already_submitted" in expect.values:
            checks.compare(
                f"{what}: already_submitted",
                "flag",
                expect.values["already_submitted"],
                submission.already_submitted if submission is not None else None,
                line,
            )
        if expect.error is not None:
            error = submission.error if submission is not None else None
            _match_error(what, expect.error, error, checks, line)
        if not expect.needs_result:
            return
        try:
            result = record_result(self.workspace, expect.record, expect.provider)
        except ClaimsError as error:
            if submission is not None and submission.error is not None:
                reason = f"is not on the chain: the record was set aside ({submission.error})"
            else:
                reason = f"cannot be read: {error}"
            checks.fail(what, reason, line)
            return
        for key in ("status", "claim_id"):
            if key in expect.values:
                actual = getattr(result, key)
                checks.compare(f"{what}: {key}", _KINDS[key], expect.values[key], actual, line)
        for key, cents in expect.totals.items():
            actual = getattr(result.totals, key)
            checks.compare(f"{what}: totals.{key}", "amount", cents, actual, expect.totals_line)
        if expect.lines is None:
            return
        if len(expect.lines) != len(result.lines):
            checks.fail(
                f"{what}: lines",
                f"expected {len(expect.lines)} lines, got {len(result.lines)}",
                line,
            )
        pairs = zip(expect.lines, expect.line_numbers, result.lines, strict=False)
        for index, (wanted, number, result_line) in enumerate(pairs):
            for key, value in wanted.items():
                actual = getattr(result_line, key)
                checks.compare(f"{what}: lines[{index}].{key}", _KINDS[key], value, actual, number)

    def check_member(self, expect: MemberExpectation, checks: _Checks) -> None:
        from claimsengine.sdk import member_accumulators

        what = f"member {expect.member} in {expect.plan_id}"
        try:
            report = member_accumulators(self.workspace, expect.plan_id, expect.member, expect.on)
        except ClaimsError as error:
            checks.fail(what, f"cannot be read: {error}", expect.line)
            return
        for key, value in expect.values.items():
            actual = getattr(report, key)
            checks.compare(f"{what}: {key}", _KINDS[key], value, actual, expect.line)
        for code, units in expect.units_used.items():
            actual = report.units_used.get(code, 0)
            checks.compare(f"{what}: units_used.{code}", "count", units, actual, expect.line)

    def check_pool(self, expect: PoolExpectation, checks: _Checks) -> None:
        pool = self.workspace.engine.pool_state(expect.plan_id)
        actual = {
            "balance": pool.balance,
            "reserved": pool.reserved,
            "free": pool.free,
            "queued": pool.queued,
        }
        for key, value in expect.values.items():
            what = f"pool {expect.plan_id}: {key}"
            checks.compare(what, _KINDS[key], value, actual[key], expect.line)

    def check_balance(self, account: str, cents: int, checks: _Checks, line: int | None) -> None:
        from claimsengine.money import token_units_to_cents

        token = self.workspace.dev_token
        units = token.balance_of(self.workspace.chain.address_of(account))
        actual = token_units_to_cents(units, token.decimals())
        checks.compare(f"token balance of {account}", "amount", cents, actual, line)


def _match_error(
    what: str, expected: str, error: ClaimsError | None, checks: _Checks, line: int | None
) -> None:
    """An expected error: the text must appear, word for word, in the error's message."""
    if error is None:
        checks.fail(what, f"expected an error containing {expected!r}, got none", line)
    elif expected in str(error):
        checks.count += 1
    else:
        checks.fail(what, f"expected an error containing {expected!r}, got {str(error)!r}", line)


# --------------------------------------------------------------------------------------------
# JUnit XML
# --------------------------------------------------------------------------------------------


def junit_xml(results: Sequence[ScenarioResult]) -> str:
    """JUnit XML for CI: one ``testsuite`` per scenario file, one ``testcase`` per step.

    A step whose expectations failed has a ``failure`` that lists them all; a step that
    raised an error nobody expected has an ``error``; steps after a failed setup are
    ``skipped``. A file that does not load, or a setup that fails, is a testcase of its own
    (``load`` / ``setup``) with an ``error``.
    """
    root = ET.Element("testsuites", name="claims simulate")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for result in results:
        suite = ET.SubElement(root, "testsuite", name=result.name, file=result.file)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        classname = f"simulate.{Path(result.file).stem}"
        if result.load_error is not None or result.setup_error is not None:
            kind = "load" if result.load_error is not None else "setup"
            case = ET.SubElement(
                suite, "testcase", classname=classname, name=kind, file=result.file, time="0"
            )
            message = result.load_error or result.setup_error or ""
            error = ET.SubElement(case, "error", message=message, type="ScenarioError")
            error.text = message
            counts["tests"] += 1
            counts["errors"] += 1
        for step in result.steps:
            attributes = {
                "classname": classname,
                "name": f"step {step.number}: {step.title}",
                "file": result.file,
                "time": f"{step.seconds:.3f}",
            }
            if step.line is not None:
                attributes["line"] = str(step.line)
            case = ET.SubElement(suite, "testcase", attributes)
            counts["tests"] += 1
            messages = step.messages(result.file)
            if step.skipped:
                ET.SubElement(case, "skipped", message="setup failed")
                counts["skipped"] += 1
            elif step.error is not None:
                error = ET.SubElement(case, "error", message=messages[0], type="ClaimsError")
                error.text = "\n".join(messages)
                counts["errors"] += 1
            elif messages:
                failure = ET.SubElement(
                    case, "failure", message=messages[0], type="ExpectationFailed"
                )
                failure.text = "\n".join(messages)
                counts["failures"] += 1
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("time", f"{result.seconds:.3f}")
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{sum(r.seconds for r in results):.3f}")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
