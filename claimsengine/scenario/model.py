"""A scenario as loaded: plans, members, providers, funding and a timeline of steps.

Also the vocabulary the loader and the runner share: the actions, and how an expected value
is shown and compared.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from claimsengine.days import SECONDS_PER_DAY
from claimsengine.errors import ScenarioError as ScenarioError  # re-exported
from claimsengine.members import Member
from claimsengine.money import format_cents
from claimsengine.plan import Plan
from claimsengine.records import TreatmentRecord
from claimsengine.results import LINE_AMOUNTS

#: The clock time a scenario's chain shows within a day: noon, so the few seconds that
#: blocks add never carry a step into the next day.
NOON = SECONDS_PER_DAY // 2
#: Dev tokens (cents) given at setup to each insurer other than `insurer` (who holds the
#: dev supply), so a second insurer can fund its pools: 100,000,000.00.
INSURER_GRANT = 10_000_000_000
DEFAULT_INSURER = "insurer"
DEFAULT_ADJUDICATOR = "adjudicator"

ACTIONS = (
    "submit",
    "review",
    "fund",
    "settle",
    "withdraw",
    "renew",
    "eligibility",
    "estimate",
    "void",
    "replace",
)
ACCUMULATOR_AMOUNTS = ("deductible_met", "oop_met", "benefit_used")
POOL_AMOUNTS = ("balance", "reserved", "free")
ELIGIBILITY_AMOUNTS = ("deductible_left", "out_of_pocket_left", "benefit_left")
PROVIDER_AMOUNTS = ("debt", "credit")

# How an expected value is shown and compared: amounts are int cents shown as "80.00".
Kind = Literal["amount", "text", "count", "flag", "codes"]
KINDS: dict[str, Kind] = {
    **{key: "amount" for key in LINE_AMOUNTS},
    **{key: "amount" for key in ACCUMULATOR_AMOUNTS},
    **{key: "amount" for key in POOL_AMOUNTS},
    **{key: "amount" for key in ELIGIBILITY_AMOUNTS},
    **{key: "amount" for key in PROVIDER_AMOUNTS},
    "code": "text",
    "status": "text",
    "replaces": "text",
    "replaced_by": "text",
    "denial": "text",
    "units": "count",
    "claim_id": "count",
    "queued": "count",
    "period": "count",
    "approvals": "count",
    "denials": "count",
    "denied": "flag",
    "covered": "flag",
    "already_submitted": "flag",
    "reasons": "codes",
}


@dataclass(frozen=True)
class PlanSetup:
    """A plan to deploy, the account that deploys and funds it, and its adjudicators: the
    first decides reviews unless a step names another (a plan's review_quorum may need
    several)."""

    plan: Plan
    insurer: str
    adjudicator: str
    more_adjudicators: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProviderSetup:
    provider_id: str
    account: str
    plan_id: str
    payout: str | None


#: The values of a claim expectation that are read from the claim's result.
RESULT_VALUES = ("status", "claim_id", "replaces", "replaced_by", "approvals", "denials")


@dataclass(frozen=True)
class ClaimExpectation:
    """What a claim should look like. ``values`` holds status / claim_id / already_submitted,
    replaces / replaced_by (record ids) and the review's approvals / denials; ``totals``
    and each of ``lines`` map a key to its expected value (amounts in cents)."""

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
        return bool(set(RESULT_VALUES) & set(self.values) or self.totals or self.lines is not None)

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
class ProviderExpectation:
    """A provider's money in a plan: its debt (voided paid claims not yet recovered) and
    its credit (payments the token refused)."""

    provider_id: str
    plan_id: str
    values: Mapping[str, int]
    line: int | None = None


@dataclass(frozen=True)
class EligibilityExpectation:
    """What an eligibility step should answer (formats.md, Eligibility): covered, denial,
    period, the amounts left, and units left by code."""

    values: Mapping[str, Any]
    units_left: Mapping[str, int]
    line: int | None = None


@dataclass(frozen=True)
class Expectation:
    """A step's ``expect``: its own claim (submit of one record, review), other claims,
    members, pools, token balances of accounts, and the error the step should raise."""

    claim: ClaimExpectation | None = None
    claims: tuple[ClaimExpectation, ...] = ()
    members: tuple[MemberExpectation, ...] = ()
    pools: tuple[PoolExpectation, ...] = ()
    providers: tuple[ProviderExpectation, ...] = ()
    eligibility: EligibilityExpectation | None = None
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


@dataclass(frozen=True)
class Renew:
    """`claims renew`: enrol the plan's still-covered members in the next benefit period."""

    plan_id: str
    account: str | None = None  # None: the plan's insurer


@dataclass(frozen=True)
class EligibilityCheck:
    """Ask whether a member is covered on a day (None: the step's day), and what is left."""

    member: str
    plan_id: str
    on: date | None


@dataclass(frozen=True)
class Estimate:
    """What records would get if submitted now; nothing is sent."""

    records: tuple[TreatmentRecord, ...]
    sources: tuple[str | None, ...]


@dataclass(frozen=True)
class Void:
    """The provider voids the claim of a record (as ``account``, or its first account)."""

    record: str
    provider: str | None
    account: str | None


@dataclass(frozen=True)
class Replace:
    """The provider submits ``correction`` in place of the claim of ``record``."""

    record: str
    provider: str | None
    correction: TreatmentRecord
    source: str | None
    account: str | None


Action = (
    Submit
    | Review
    | Fund
    | Settle
    | Withdraw
    | Renew
    | EligibilityCheck
    | Estimate
    | Void
    | Replace
)


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
        by = f" as {action.account}" if action.account else ""
        return f"review {action.record}{by}: {'approve' if action.approve else 'deny'}"
    if isinstance(action, Fund):
        return f"fund {action.plan_id} {format_cents(action.cents)}"
    if isinstance(action, Settle):
        return f"settle {action.plan_id}"
    if isinstance(action, Renew):
        return f"renew {action.plan_id}"
    if isinstance(action, Withdraw):
        return f"withdraw {format_cents(action.cents)} from {action.plan_id}"
    if isinstance(action, EligibilityCheck):
        return f"eligibility of {action.member}"
    if isinstance(action, Estimate):
        if len(action.records) == 1:
            return f"estimate {action.records[0].record_id}"
        return f"estimate {len(action.records)} records"
    if isinstance(action, Void):
        return f"void {action.record}"
    if isinstance(action, Replace):
        return f"replace {action.record} with {action.correction.record_id}"
    return ""
