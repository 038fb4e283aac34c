"""The end-to-end demo behind `claims demo`, callable from Python and tests.

On a fresh embedded chain in a temporary folder (never ``./.claims``), every party plays its
part with the SDK:

1. the insurer deploys the Silver plan with a two-person review (review_quorum 2), enrols
   the members, registers HOSP-A (hospital-1) and HOSP-B (hospital-2), makes ``adjudicator``
   and ``auditor`` its adjudicators, and funds the pool with a small amount, so that some
   approved claims have to queue;
2. the clock is set to 2027-07-01 and the hospitals submit the nine demo records;
3. both adjudicators approve the knee replacement that went to review: the first approval
   is a vote, the second decides (it queues too);
4. the insurer tops the pool up, which pays the queue first in first out, and anyone settles;
5. the insurer renews the plan for the next benefit period (``InsurerClient.renew``): the
   period after today's, from 2028-01-01. Set-up enrolled it already, so nothing is sent;
6. the clock moves into that next benefit period (2028-01-05, period 1), the insurer renews
   again, which now enrols period 2, and HOSP-B submits one new claim for M-0004, who met
   the deductible in 2027: it is priced from zero accumulators, so the deductible applies
   again. ``run_demo(new_period=False)`` leaves this step out, and the clock on 2027-07-01.

The inputs are the repository's ``fixtures/`` when they are there (an editable install),
else the copy shipped as package data in ``claimsengine/demo_data/`` (a plain install).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from claimsengine.errors import ClaimsError
from claimsengine.money import format_cents
from claimsengine.results import ClaimResult

if TYPE_CHECKING:
    from claimsengine.engine import PoolState
    from claimsengine.enrolment import RenewReport
    from claimsengine.records import LoadResult, TreatmentRecord
    from claimsengine.workspace import Workspace

__all__ = [
    "DEMO_DATE",
    "DEMO_STEPS",
    "NEXT_PERIOD_DATE",
    "DemoClaim",
    "DemoInputs",
    "DemoNextPeriod",
    "DemoSummary",
    "demo_inputs",
    "run_demo",
]

PLAN_ID = "SILVER-2027"
#: The demo's "today": after every record's service date, inside every timely-filing window.
DEMO_DATE = date(2027, 7, 1)
#: The last step's day: early in the next benefit period (period 1, from 2028-01-01).
NEXT_PERIOD_DATE = date(2028, 1, 5)
#: The first funding, in cents: enough for a few claims, so later ones queue.
INITIAL_FUNDING = 300_00
#: The top-up, in cents, that pays everything queued.
TOP_UP = 50_000_00
HOSPITALS = (("HOSP-A", "hospital-1"), ("HOSP-B", "hospital-2"))
#: The demo's plan needs two adjudicators to decide a claim in review; these two review.
REVIEW_QUORUM = 2
REVIEWERS = ("adjudicator", "auditor")

DEMO_STEPS = (
    "Create a fresh embedded chain",
    "Deploy the plan",
    "Enrol the members",
    "Register the hospitals and two adjudicators",
    "Fund the pool (a little)",
    "Submit the treatment records",
    "Two adjudicators review the claims pending review",
    "Top up the pool and settle",
    "Renew the plan for the next benefit period",
    "Move into the next benefit period, renew, and submit a claim there",
)
#: The last step's claim: M-0004 met the whole deductible in 2027 (HOSP-B-2027-000201, an
#: emergency visit); the same visit early in 2028 meets it again.
NEXT_PERIOD_RECORD = {
    "record_id": "HOSP-B-2028-000301",
    "plan_id": PLAN_ID,
    "member_id": "M-0004",
    "provider_id": "HOSP-B",
    "service_date": NEXT_PERIOD_DATE.isoformat(),
    "prior_auth": None,
    "diagnoses": ["R07.9"],
    "lines": [{"code": "99285", "units": 1, "billed": "3200.00"}],
}


@dataclass(frozen=True)
class DemoInputs:
    """The demo's input files: the plan, the members and the folder of records."""

    plan: Path
    members: Path
    records: Path


@contextmanager
def demo_inputs() -> Iterator[DemoInputs]:
    """The repository's fixtures when present (editable install), else the package's copy."""
    # This module's own path, not claimsengine.__file__: an editable install can import the
    # package as a namespace package (no __file__) when run outside the repository.
    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    repo = DemoInputs(
        plan=fixtures / "plans" / "silver.yaml",
        members=fixtures / "members.csv",
        records=fixtures / "records",
    )
    if repo.plan.is_file() and repo.members.is_file() and repo.records.is_dir():
        yield repo
        return
    try:
        shipped = resources.files("claimsengine") / "demo_data"
    except (NotADirectoryError, TypeError):  # a namespace-package import: read it from here
        shipped = Path(__file__).resolve().parent / "demo_data"
    with resources.as_file(shipped) as folder:
        yield DemoInputs(
            plan=folder / "silver.yaml",
            members=folder / "members.csv",
            records=folder / "records",
        )


@dataclass
class DemoClaim:
    """One record's journey: what it was when submitted, and what it ended as."""

    record_id: str
    provider_id: str
    submitted_status: str
    result: ClaimResult
    reviewed: str | None = None  # "approved" or "denied"
    statuses: list[str] = field(default_factory=list)
    #: The review's votes in order: who voted, the decision, and the status it left.
    votes: list[dict[str, str]] = field(default_factory=list)

    @property
    def queued_then_settled(self) -> bool:
        return "queued" in self.statuses and self.result.status == "paid"

    def reasons(self) -> list[str]:
        """Each line's reasons, as "CODE: 45 3", with "(denied)" on a denied line."""
        return [
            f"{line.code}: {' '.join(line.reasons)}" + (" (denied)" if line.denied else "")
            for line in self.result.lines
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "claim_id": self.result.claim_id,
            "record_id": self.record_id,
            "provider_id": self.provider_id,
            "submitted_status": self.submitted_status,
            "reviewed": self.reviewed,
            "votes": [dict(vote) for vote in self.votes],
            "status": self.result.status,
            "statuses": list(self.statuses),
            "plan_paid": format_cents(self.result.totals.plan_paid),
            "reasons": self.reasons(),
            "result": self.result.to_json(),
        }


@dataclass
class DemoNextPeriod:
    """The last step: the clock in the next benefit period, its renewal and one new claim
    of a member whose deductible was met in the period before."""

    clock: date
    period: int
    renewal: RenewReport
    member_id: str
    claim: DemoClaim
    #: What the member paid towards the deductible in the period before, in cents.
    earlier_deductible: int
    pool_balance: int

    @property
    def deductible(self) -> int:
        return sum(line.deductible for line in self.claim.result.lines)

    def explanation(self) -> str:
        """One sentence: why the deductible applies again."""
        return (
            f"{self.member_id} paid {format_cents(self.earlier_deductible)} of deductible in "
            f"period {self.period - 1}; period {self.period} starts from zero, so claim "
            f"{self.claim.result.claim_id} meets the deductible again "
            f"({format_cents(self.deductible)}): the plan pays "
            f"{format_cents(self.claim.result.totals.plan_paid)}."
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "clock": self.clock.isoformat(),
            "period": self.period,
            "renewal": self.renewal.to_json(),
            "member_id": self.member_id,
            "earlier_deductible": format_cents(self.earlier_deductible),
            "deductible": format_cents(self.deductible),
            "claim": self.claim.to_json(),
            "pool_balance": format_cents(self.pool_balance),
            "explanation": self.explanation(),
        }


@dataclass
class DemoSummary:
    """What the demo did, claim by claim, and the totals."""

    plan_id: str
    clock: date
    claims: list[DemoClaim]
    funded: int
    pool_balance: int
    pool_queued: int
    rejected: list[str] = field(default_factory=list)
    state_dir: str | None = None
    #: The insurer's renewal for the next benefit period.
    renewal: RenewReport | None = None
    #: The last step, in the next benefit period (None when left out).
    next_period: DemoNextPeriod | None = None

    def count(self, status: str) -> int:
        return sum(1 for claim in self.claims if claim.result.status == status)

    @property
    def plan_paid(self) -> int:
        return sum(c.result.totals.plan_paid for c in self.claims if c.result.status == "paid")

    def totals(self) -> dict[str, Any]:
        return {
            "claims": len(self.claims),
            "paid": self.count("paid"),
            "denied": self.count("denied"),
            "pending_review": self.count("pending_review"),
            "queued": self.count("queued"),
            "reviewed": sum(1 for c in self.claims if c.reviewed),
            "queued_then_settled": sum(1 for c in self.claims if c.queued_then_settled),
            "plan_paid": format_cents(self.plan_paid),
            "funded": format_cents(self.funded),
            "pool_balance": format_cents(self.pool_balance),
            "pool_queued": self.pool_queued,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "plan_id": self.plan_id,
            "clock": self.clock.isoformat(),
            "state_dir": self.state_dir,
            "claims": [claim.to_json() for claim in self.claims],
            "rejected": list(self.rejected),
            "totals": self.totals(),
            "renewal": None if self.renewal is None else self.renewal.to_json(),
            "next_period": None if self.next_period is None else self.next_period.to_json(),
        }


def run_demo(
    folder: Path | str | None = None,
    *,
    initial_funding: int = INITIAL_FUNDING,
    top_up: int = TOP_UP,
    on_step: Callable[[str], None] | None = None,
    new_period: bool = True,
) -> DemoSummary:
    """Run the demo on a fresh embedded chain in ``folder`` (default: a temporary folder,
    removed afterwards) and return its summary. ``on_step`` is told each step as it starts.
    ``new_period=False`` leaves out the last step (the next benefit period): the chain then
    stays on the demo's day, 2027-07-01, with only its 2027 claims.

    Raises ``ClaimsError`` if ``folder`` already holds a chain: the demo never touches an
    existing one.
    """
    if folder is None:
        with tempfile.TemporaryDirectory(prefix="claims-demo-") as tmp:
            return _run(
                Path(tmp), initial_funding, top_up, on_step, keep=False, new_period=new_period
            )
    return _run(Path(folder), initial_funding, top_up, on_step, keep=True, new_period=new_period)


def _run(
    folder: Path,
    initial_funding: int,
    top_up: int,
    on_step: Callable[[str], None] | None,
    *,
    keep: bool,
    new_period: bool,
) -> DemoSummary:
    from claimsengine.days import SECONDS_PER_DAY, to_day
    from claimsengine.members import load_members
    from claimsengine.onboarding import PlanOnboarding, ProviderEntry, onboard
    from claimsengine.plan import load_plan
    from claimsengine.records import load_paths
    from claimsengine.sdk import InsurerClient
    from claimsengine.workspace import Workspace

    steps = iter(DEMO_STEPS)

    def step() -> None:
        if on_step is not None:
            on_step(next(steps))

    _refuse_a_used_folder(folder)
    step()
    with demo_inputs() as inputs, Workspace.open(folder, create=True) as workspace:
        # The fixture plan, with a two-person review.
        plan = replace(load_plan(inputs.plan), review_quorum=REVIEW_QUORUM)
        loaded = load_paths([inputs.records])
        with workspace.command():
            workspace.chain.set_time(to_day(DEMO_DATE) * SECONDS_PER_DAY)
            workspace.setup()
        # Deploy, enrol, register the hospitals and the adjudicator, fund: a step each.
        onboarding = PlanOnboarding(
            plan=plan,
            members=load_members(inputs.members),
            providers=[ProviderEntry(provider_id, account) for provider_id, account in HOSPITALS],
            adjudicator=REVIEWERS[0],
            more_adjudicators=REVIEWERS[1:],
            funding=initial_funding,
        )
        onboard(workspace, onboarding, on_stage=lambda _stage: step())
        step()
        claims, rejected = _submit(
            workspace,
            [sourced.record for sourced in loaded.records],
            [str(sourced.file) for sourced in loaded.records],
        )
        rejected[:0] = [f"{entry.file}: {entry.error}" for entry in loaded.rejected]
        step()
        _review(workspace, plan.id, claims)
        step()
        pool = _top_up_and_settle(workspace, plan.id, top_up, claims)
        step()
        with workspace.command():
            renewal = InsurerClient(workspace, "insurer").renew(plan.id)
        later = None
        if new_period:
            step()
            later = _next_period(workspace, plan.id, claims, loaded)
        return DemoSummary(
            plan_id=plan.id,
            clock=DEMO_DATE,
            claims=claims,
            funded=initial_funding + top_up,
            pool_balance=pool.balance,
            pool_queued=pool.queued,
            rejected=rejected,
            state_dir=str(folder) if keep else None,
            renewal=renewal,
            next_period=later,
        )


def _refuse_a_used_folder(folder: Path) -> None:
    """The demo never touches an existing chain."""
    if folder.exists() and any(folder.iterdir()):
        raise ClaimsError(
            f"{folder} is not empty; the demo needs a fresh folder",
            hint="give a new folder, or leave it out to use a temporary one",
        )


def _submit(
    workspace: Workspace, records: list[TreatmentRecord], sources: list[str]
) -> tuple[list[DemoClaim], list[str]]:
    """The hospitals submit the records: the claims made, and what was refused."""
    from claimsengine.sdk import HospitalClient

    hospital = HospitalClient(workspace)  # acts as each record's provider
    with workspace.command():
        outcomes = hospital.submit_many(records, sources=sources)
    claims: list[DemoClaim] = []
    rejected: list[str] = []
    for outcome in outcomes:
        if outcome.result is None:
            rejected.append(f"{outcome.record.record_id}: {outcome.error}")
            continue
        claims.append(
            DemoClaim(
                record_id=outcome.record.record_id,
                provider_id=outcome.record.provider_id,
                submitted_status=outcome.result.status,
                result=outcome.result,
                statuses=[outcome.result.status],
            )
        )
    return claims, rejected


def _review(workspace: Workspace, plan_id: str, claims: list[DemoClaim]) -> None:
    """Both adjudicators approve every claim pending review: the first approval is a vote,
    the second (the plan's quorum) decides."""
    from claimsengine.sdk import AdjudicatorClient

    reviewers = [AdjudicatorClient(workspace, account) for account in REVIEWERS]
    pending = {result.claim_id for result in reviewers[0].queue(plan_id)}
    with workspace.command():
        for claim in claims:
            if claim.result.claim_id not in pending:
                continue
            for account, reviewer in zip(REVIEWERS, reviewers, strict=True):
                claim.result = reviewer.approve(claim.result.claim_id)
                vote = {"adjudicator": account, "decision": "approve"}
                claim.votes.append({**vote, "status": claim.result.status})
            claim.reviewed = "approved"
            claim.statuses.append(claim.result.status)


def _top_up_and_settle(
    workspace: Workspace, plan_id: str, top_up: int, claims: list[DemoClaim]
) -> PoolState:
    """The insurer tops the pool up and settles the queue; each claim's final status."""
    from claimsengine.sdk import HospitalClient, InsurerClient, settle

    with workspace.command():
        InsurerClient(workspace, "insurer").fund(plan_id, top_up)
        _paid, pool = settle(workspace, plan_id, "insurer")
    hospital = HospitalClient(workspace)
    for claim in claims:
        claim.result = hospital.status(claim.result.claim_id)
        if claim.statuses[-1] != claim.result.status:
            claim.statuses.append(claim.result.status)
    return pool


def _next_period(
    workspace: Workspace, plan_id: str, claims: list[DemoClaim], loaded: LoadResult
) -> DemoNextPeriod:
    """The clock moves into the next benefit period, the insurer renews (enrolling the one
    after it) and HOSP-B submits NEXT_PERIOD_RECORD, priced from fresh accumulators."""
    from claimsengine.days import SECONDS_PER_DAY, to_day
    from claimsengine.records.model import parse_record
    from claimsengine.sdk import InsurerClient

    record = parse_record(NEXT_PERIOD_RECORD, None, None, None)
    insurer = InsurerClient(workspace, "insurer")
    with workspace.command():
        workspace.chain.set_time(to_day(NEXT_PERIOD_DATE) * SECONDS_PER_DAY)
        renewal = insurer.renew(plan_id)
    submitted, rejected = _submit(workspace, [record], ["the demo's next-period record"])
    if rejected or not submitted:
        raise ClaimsError(f"the demo's claim in the next benefit period was refused: {rejected}")
    members = {sourced.record.record_id: sourced.record.member_id for sourced in loaded.records}
    earlier = sum(
        line.deductible
        for claim in claims
        if members.get(claim.record_id) == record.member_id and claim.result.status == "paid"
        for line in claim.result.lines
    )
    return DemoNextPeriod(
        clock=NEXT_PERIOD_DATE,
        period=renewal.period - 1,
        renewal=renewal,
        member_id=record.member_id,
        claim=submitted[0],
        earlier_deductible=earlier,
        pool_balance=insurer.pool(plan_id).balance,
    )
