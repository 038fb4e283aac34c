"""Generated populations: a year of a plan's claims, run end to end on a chain.

``generate_population(members, claims, seed)`` makes a plan (the Silver schedule under
its own id), members with coverage dates (most covered since before the plan year, some
new on its first day and so in the waiting period in January, some joining or leaving
mid-year), three providers, and treatment records as hospitals send them: mostly office
visits, some imaging and labs, a few therapy sessions, rare large procedures that go to
review, and a share of bad input (amounts with three decimals or below zero, zero units,
members the plan does not know) and of duplicates (exact copies, and a used record id with
different content). Everything is drawn from ``random.Random(seed)``: the same seed gives
the same population, byte for byte.

``run_population(population)`` plays the year on a chain, one weekly round at a time:

1. the clock moves to the round's day;
2. the hospitals submit the records due that week, as ``claims submit`` does
   (``orchestrator.submit_paths`` when the project has it, else
   ``HospitalClient.submit_many``): bad records are set aside, copies recognised;
3. the adjudicator decides the claims pending review (about 1 in 5 is denied; the choice
   is drawn from the seed and the record id, so it is reproducible);
4. the insurer tops the pool up when it runs short or claims queue, and anyone settles;
5. the pool is sampled after each step.

At the end the hospitals reconcile their ledgers with ``reconcile.reconcile`` when the
project has it (otherwise the report says the step is not available). The report gives
throughput (claims per second of submission), gas per claim, the mix of statuses and
denial reasons, the total paid, and the pool over time; ``write_chart`` draws the pool's
balance and the amounts paid per chain day to a PNG.

    python -m claimsengine.population --members 200 --claims 2000 --seed 7 --out pop/
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from claimsengine.days import from_day, to_day
from claimsengine.engine import PoolState
from claimsengine.history import plan_claim_events
from claimsengine.members import Member
from claimsengine.money import format_cents
from claimsengine.plan import Plan, plan_from_dict
from claimsengine.records import canonical_json, load_paths
from claimsengine.results import STATUSES, ClaimResult
from claimsengine.sdk import AdjudicatorClient, HospitalClient, InsurerClient, settle
from claimsengine.workspace import Workspace

__all__ = [
    "PLAN_ID",
    "Population",
    "PopulationReport",
    "PoolSample",
    "ProviderSpec",
    "generate_population",
    "main",
    "run_population",
    "write_chart",
]

PLAN_ID = "POP-2027"
YEAR_START = date(2027, 1, 1)
YEAR_END = date(2027, 12, 31)
#: Coverage start of members who renewed into the plan (their waiting period is long over).
RENEWED_START = date(2026, 10, 1)
#: Submission rounds: one a week.
ROUND_DAYS = 7
#: Share of pending claims the adjudicator denies.
REVIEW_DENIAL_RATE = 0.2

# The Silver PPO schedule (fixtures/plans/silver.yaml) under the population's own plan id,
# built in code so that an installed package needs no fixture file.
_PLAN: dict[str, Any] = {
    "id": PLAN_ID,
    "name": "Generated population, Silver PPO schedule",
    "token": "dev",
    "effective_date": YEAR_START.isoformat(),
    "benefit_period_days": 365,
    "deductible": "1000.00",
    "out_of_pocket_max": "3000.00",
    "coinsurance": 20,
    "annual_benefit_max": "250000.00",
    "waiting_period_days": 30,
    "timely_filing_days": 365,
    "auto_approve_limit": "5000.00",
    "services": [
        {"code": "99213", "description": "Office visit, established patient",
         "allowed": "120.00", "copay": "25.00", "deductible_applies": False,
         "max_units_per_day": 1, "max_units_per_period": 12},
        {"code": "71046", "description": "Chest X-ray, 2 views", "allowed": "95.00"},
        {"code": "70553", "description": "MRI brain without and with contrast",
         "allowed": "1400.00", "prior_auth": True},
        {"code": "97110", "description": "Therapeutic exercise, each 15 minutes",
         "allowed": "35.00", "max_units_per_day": 4, "max_units_per_period": 60},
        {"code": "274804006", "description": "Evaluation of uterine fundal height",
         "allowed": "85.00"},
        {"code": "225158009", "description": "Auscultation of the fetal heart",
         "allowed": "70.00"},
        {"code": "140", "description": "Influenza vaccine, injectable", "allowed": "40.00"},
        {"code": "80053", "description": "Comprehensive metabolic panel", "allowed": "45.00",
         "max_units_per_day": 1},
        {"code": "99285", "description": "Emergency department visit, high severity",
         "allowed": "1200.00"},
        {"code": "27447", "description": "Total knee arthroplasty", "allowed": "30000.00",
         "prior_auth": True},
    ],
}  # fmt: skip


@dataclass(frozen=True)
class ProviderSpec:
    """A hospital: its provider id, the dev account it submits from, its share of visits."""

    provider_id: str
    account: str
    weight: float


PROVIDERS = (
    ProviderSpec("HOSP-A", "hospital-1", 0.5),
    ProviderSpec("HOSP-B", "hospital-2", 0.3),
    ProviderSpec("CLINIC-C", "hospital-3", 0.2),
)

# Kinds of visit: (kind, weight). Bad and duplicate records are drawn separately.
_VISITS = (
    ("office_visit", 0.50),
    ("office_visit_lab", 0.12),
    ("xray", 0.08),
    ("lab", 0.06),
    ("therapy", 0.07),
    ("prenatal", 0.04),
    ("flu_shot", 0.05),
    ("mri", 0.03),
    ("emergency", 0.025),
    ("not_covered", 0.01),
    ("knee_replacement", 0.015),
)
_DIAGNOSES = {
    "office_visit": ("J20.9", "J02.9", "E11.9", "I10", "J30.9"),
    "office_visit_lab": ("E11.9", "E78.5", "I10"),
    "xray": ("R07.9", "J18.9", "R05.9"),
    "lab": ("E11.9", "E78.5"),
    "therapy": ("M54.5", "M25.561"),
    "prenatal": ("Z34.80",),
    "flu_shot": ("Z23",),
    "mri": ("G43.909", "R51.9"),
    "emergency": ("R07.9", "S06.0X0A"),
    "not_covered": ("Z41.1",),
    "knee_replacement": ("M17.11", "M17.12"),
}
# Shares of the whole input.
BAD_SHARE = 0.03
EXACT_COPY_SHARE = 0.015
CONFLICT_SHARE = 0.01


@dataclass(frozen=True)
class Population:
    """A generated population. ``records`` are raw JSON objects, bad ones included, in
    the order hospitals send them; ``kinds`` says what each was generated as."""

    seed: int
    plan: Plan
    members: tuple[Member, ...]
    providers: tuple[ProviderSpec, ...]
    records: tuple[Mapping[str, Any], ...]
    kinds: tuple[str, ...]
    #: The day (number) each record is sent on: its service date plus a filing lag.
    send_days: tuple[int, ...]

    def kind_counts(self) -> dict[str, int]:
        return dict(sorted(Counter(self.kinds).items()))

    def fingerprint(self) -> str:
        """A hash of everything generated: equal for equal seeds and sizes."""
        import hashlib

        digest = hashlib.sha256()
        for record, kind, day in zip(self.records, self.kinds, self.send_days, strict=True):
            digest.update(canonical_json(dict(record)) + kind.encode() + str(day).encode())
        for member in self.members:
            digest.update(repr(member).encode())
        return digest.hexdigest()


def _pick(rng: random.Random, weighted: Sequence[tuple[Any, float]]) -> Any:
    return rng.choices([item for item, _ in weighted], [w for _, w in weighted])[0]


def _amount(cents: int) -> str:
    return format_cents(cents)


def _billed(rng: random.Random, allowed: int, units: int = 1) -> str:
    """What a hospital bills: its chargemaster price, 100-160% of the allowed amount."""
    cents = allowed * units * rng.randint(100, 160) // 100
    return _amount(cents - cents % 50)  # prices end in .00 or .50


def _members(rng: random.Random, count: int) -> list[Member]:
    members = []
    for n in range(1, count + 1):
        start, end = RENEWED_START, None  # covered since before the plan year
        roll = rng.random()
        if roll < 0.10:  # joined during the year: early claims fall before coverage
            start = YEAR_START + timedelta(days=rng.randint(30, 240))
        elif roll < 0.18:  # left during the year: later claims fall after coverage
            end = YEAR_START + timedelta(days=rng.randint(90, 300))
        elif roll < 0.30:  # new on the plan's first day: January is the waiting period
            start = YEAR_START
        members.append(Member(f"M-{n:06d}", start, end))
    return members


def _lines(rng: random.Random, kind: str) -> tuple[list[dict[str, Any]], str | None]:
    """A visit's lines (raw JSON) and its prior authorisation, if any."""
    if kind == "office_visit":
        return [{"code": "99213", "units": 1, "billed": _billed(rng, 12000)}], None
    if kind == "office_visit_lab":
        return [
            {"code": "99213", "units": 1, "billed": _billed(rng, 12000)},
            {"code": "80053", "units": 1, "billed": _billed(rng, 4500)},
        ], None
    if kind == "xray":
        return [{"code": "71046", "units": 1, "billed": _billed(rng, 9500)}], None
    if kind == "lab":
        units = 2 if rng.random() < 0.1 else 1  # two panels a day: over the daily limit
        return [{"code": "80053", "units": units, "billed": _billed(rng, 4500, units)}], None
    if kind == "therapy":
        units = rng.choice((1, 2, 3, 4, 4, 5))  # 5 is over the daily limit of 4
        return [{"code": "97110", "units": units, "billed": _billed(rng, 3500, units)}], None
    if kind == "prenatal":
        return [
            {"code": "274804006", "units": 1, "billed": _billed(rng, 8500)},
            {"code": "225158009", "units": 1, "billed": _billed(rng, 7000)},
        ], None
    if kind == "flu_shot":
        return [{"code": "140", "units": 1, "billed": _billed(rng, 4000)}], None
    if kind == "mri":
        authorised = rng.random() < 0.8
        auth = f"PA-{rng.randint(10_000, 99_999)}" if authorised else None
        return [{"code": "70553", "units": 1, "billed": _billed(rng, 140000)}], auth
    if kind == "emergency":
        return [
            {"code": "99285", "units": 1, "billed": _billed(rng, 120000)},
            {"code": "71046", "units": 1, "billed": _billed(rng, 9500)},
            {"code": "80053", "units": 1, "billed": _billed(rng, 4500)},
        ], None
    if kind == "not_covered":
        return [{"code": "15780", "units": 1, "billed": _billed(rng, 90000)}], None
    if kind == "knee_replacement":
        return [
            {"code": "27447", "units": 1, "billed": _billed(rng, 3000000)},
            {"code": "71046", "units": 1, "billed": _billed(rng, 9500)},
        ], f"PA-{rng.randint(10_000, 99_999)}"
    raise ValueError(f"unknown kind of visit {kind!r}")


def generate_population(members: int, claims: int, seed: int) -> Population:
    """A reproducible population of ``members`` members and ``claims`` records."""
    if members < 1 or claims < 1:
        raise ValueError("a population needs at least one member and one record")
    rng = random.Random(seed)
    plan = plan_from_dict(_PLAN, source="population")
    people = _members(rng, members)
    last_day = to_day(YEAR_END) - 1
    first_day = to_day(YEAR_START)
    counters = dict.fromkeys((p.provider_id for p in PROVIDERS), 0)
    provider_weights = [(p, p.weight) for p in PROVIDERS]

    records: list[dict[str, Any]] = []
    kinds: list[str] = []
    send_days: list[int] = []
    good: list[int] = []  # indexes of well-formed records, for copies

    def new_id(provider: ProviderSpec) -> str:
        counters[provider.provider_id] += 1
        return f"{provider.provider_id}-{counters[provider.provider_id]:07d}"

    while len(records) < claims:
        roll = rng.random()
        if good and roll < EXACT_COPY_SHARE:
            # An exact copy of an earlier record, re-sent (same week or a later one).
            original = rng.choice(good)
            records.append(json.loads(json.dumps(records[original])))
            kinds.append("exact_copy")
            send_days.append(min(last_day, send_days[original] + rng.choice((0, 0, 7, 14))))
            continue
        if good and roll < EXACT_COPY_SHARE + CONFLICT_SHARE:
            # A used record id with different content (a "corrected" record).
            original = rng.choice(good)
            changed = json.loads(json.dumps(records[original]))
            changed["lines"][0]["billed"] = _amount(rng.randint(1_000, 50_000) // 50 * 50 + 50)
            records.append(changed)
            kinds.append("conflicting_copy")
            send_days.append(min(last_day, send_days[original] + rng.choice((0, 7, 14))))
            continue
        provider = _pick(rng, provider_weights)
        member = rng.choice(people)
        kind = _pick(rng, _VISITS)
        service_day = rng.randint(first_day, last_day - 1)
        lines, auth = _lines(rng, kind)
        member_id = member.member_id
        bad = rng.random() < BAD_SHARE / (1 - EXACT_COPY_SHARE - CONFLICT_SHARE)
        if bad:
            kind = rng.choice(("bad_amount", "negative_amount", "zero_units", "unknown_member"))
            if kind == "bad_amount":
                lines[0]["billed"] = lines[0]["billed"] + "5"  # three decimals
            elif kind == "negative_amount":
                lines[0]["billed"] = "-" + lines[0]["billed"]
            elif kind == "zero_units":
                lines[0]["units"] = 0
            else:
                member_id = f"X-{rng.randint(1, 999_999):06d}"  # nobody the plan knows
        record = {
            "record_id": new_id(provider),
            "plan_id": PLAN_ID,
            "member_id": member_id,
            "provider_id": provider.provider_id,
            "service_date": from_day(service_day).isoformat(),
            "prior_auth": auth,
            "diagnoses": [rng.choice(_DIAGNOSES.get(kind, ("Z00.00",)))],
            "lines": lines,
        }
        if not bad:
            good.append(len(records))
        records.append(record)
        kinds.append(kind)
        lag = min(int(rng.expovariate(1 / 4)), 30)  # most are sent within a few days
        send_days.append(min(last_day, service_day + lag))
    return Population(
        seed=seed,
        plan=plan,
        members=tuple(people),
        providers=PROVIDERS,
        records=tuple(records),
        kinds=tuple(kinds),
        send_days=tuple(send_days),
    )


# -- running it ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PoolSample:
    """The pool after one step of a round, in cents; ``day`` is the chain's day number."""

    day: int
    step: str
    balance: int
    reserved: int
    queued: int

    def to_json(self) -> dict[str, Any]:
        return {
            "date": from_day(self.day).isoformat(),
            "step": self.step,
            "balance": format_cents(self.balance),
            "reserved": format_cents(self.reserved),
            "queued": self.queued,
        }


@dataclass
class PopulationReport:
    """What a run did, with counts that add up (see ``check``)."""

    seed: int
    fingerprint: str
    backend: str
    entry_point: str
    generated: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    set_aside: int = 0
    set_aside_reasons: dict[str, int] = field(default_factory=dict)
    repeated: int = 0
    submitted: int = 0
    already_submitted: int = 0
    status_at_submission: dict[str, int] = field(default_factory=dict)
    final_status: dict[str, int] = field(default_factory=dict)
    line_denials: dict[str, int] = field(default_factory=dict)
    claim_denials: dict[str, int] = field(default_factory=dict)
    reviews: dict[str, int] = field(default_factory=dict)
    total_paid: int = 0
    total_funded: int = 0
    submit_seconds: float = 0.0
    wall_seconds: float = 0.0
    gas_per_claim: float | None = None
    transactions: int = 0
    pool: list[PoolSample] = field(default_factory=list)
    paid_per_day: dict[int, int] = field(default_factory=dict)
    reconciliation: dict[str, Any] = field(default_factory=dict)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    chart: str | None = None

    @property
    def claims_per_second(self) -> float:
        return self.submitted / self.submit_seconds if self.submit_seconds else 0.0

    def check(self) -> list[str]:
        """The identities the counts must satisfy; an empty list when they all hold."""
        problems = []
        accounted = self.set_aside + self.repeated + self.submitted + self.already_submitted
        if accounted != self.generated:
            problems.append(
                f"set aside {self.set_aside} + repeated {self.repeated} + submitted "
                f"{self.submitted} + already submitted {self.already_submitted} = {accounted}, "
                f"not the {self.generated} generated"
            )
        for name, counts in (("at submission", self.status_at_submission),
                             ("final", self.final_status)):  # fmt: skip
            if sum(counts.values()) != self.submitted:
                problems.append(f"statuses {name} add up to {sum(counts.values())}, "
                                f"not the {self.submitted} claims")  # fmt: skip
        if sum(self.kinds.values()) != self.generated:
            problems.append("the kinds of record do not add up to the records generated")
        if sum(self.paid_per_day.values()) != self.total_paid:
            problems.append("the amounts paid per day do not add up to the total paid")
        return problems

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "fingerprint": self.fingerprint,
            "backend": self.backend,
            "entry_point": self.entry_point,
            "records": {
                "generated": self.generated,
                "kinds": self.kinds,
                "set_aside": self.set_aside,
                "set_aside_reasons": self.set_aside_reasons,
                "repeated": self.repeated,
                "submitted": self.submitted,
                "already_submitted": self.already_submitted,
            },
            "status_at_submission": self.status_at_submission,
            "final_status": self.final_status,
            "denials": {"lines": self.line_denials, "claims": self.claim_denials},
            "reviews": self.reviews,
            "total_paid": format_cents(self.total_paid),
            "total_funded": format_cents(self.total_funded),
            "throughput": {
                "claims_per_second": round(self.claims_per_second, 1),
                "submit_seconds": round(self.submit_seconds, 2),
                "wall_seconds": round(self.wall_seconds, 2),
                "note": "submission only (load, check, chain, commit); shared machines vary",
            },
            "gas_per_claim": None if self.gas_per_claim is None else round(self.gas_per_claim),
            "transactions": self.transactions,
            "pool": [sample.to_json() for sample in self.pool],
            "paid_per_day": {
                from_day(day).isoformat(): format_cents(cents)
                for day, cents in sorted(self.paid_per_day.items())
            },
            "reconciliation": self.reconciliation,
            "chart": self.chart,
            "checks": self.check(),
        }


def _rounds(population: Population, every: int = ROUND_DAYS) -> list[tuple[int, list[int]]]:
    """(round day, record indexes due by then), for the rounds that have records."""
    start = to_day(YEAR_START) + every - 1
    due: dict[int, list[int]] = {}
    for index, day in enumerate(population.send_days):
        round_day = start + max(0, -(-(day - start) // every)) * every
        due.setdefault(min(round_day, to_day(YEAR_END)), []).append(index)
    return sorted(due.items())


@contextmanager
def _workspace(state_dir: Path | None, rpc: str | None) -> Iterator[Workspace]:
    with tempfile.TemporaryDirectory(prefix="population-") as scratch:
        folder = state_dir if state_dir is not None else Path(scratch) / "state"
        workspace = Workspace.open(folder, rpc=rpc, create=rpc is None)
        try:
            yield workspace
        finally:
            workspace.close()


def _submit(
    workspace: Workspace, folder: Path, quarantine: Path
) -> tuple[list[Any], list[Any], int, str]:
    """Submit every record file in ``folder``: (claims, set aside, repeated, entry point).

    ``claims`` items have ``.result`` and ``.already_submitted``; set-aside items have
    ``.error``."""
    try:
        from claimsengine.orchestrator import submit_paths
    except ImportError:
        submit_paths = None  # type: ignore[assignment]
    if submit_paths is not None:
        report = submit_paths(workspace, [folder], quarantine_dir=quarantine)
        return list(report.claims), list(report.set_aside), report.repeated, "orchestrator"
    loaded = load_paths([folder])
    with workspace.command():
        outcomes = HospitalClient(workspace).submit_many(
            [s.record for s in loaded.records], sources=[str(s.file) for s in loaded.records]
        )
    claims = [o for o in outcomes if o.result is not None]
    set_aside = list(loaded.rejected) + [o for o in outcomes if o.error is not None]
    return claims, set_aside, len(loaded.repeated), "sdk.submit_many"


def _reason(error: Any) -> str:
    """A short, stable label for why a record was set aside."""
    text = str(getattr(error, "error", error))
    for label, needle in (
        ("amount", "amount"),
        ("units", "units"),
        ("unknown member", "not enrolled"),
        ("record id reused", "record_id"),
        ("service date", "service date"),
    ):
        if needle in text:
            return label
    return "other"


def _sample(report: PopulationReport, day: int, step: str, pool: PoolState) -> None:
    report.pool.append(PoolSample(day, step, pool.balance, pool.reserved, pool.queued))


def run_population(
    population: Population,
    *,
    state_dir: Path | str | None = None,
    rpc: str | None = None,
    out_dir: Path | str | None = None,
    chart: bool = True,
    initial_funding_share: float = 0.05,
    round_days: int = ROUND_DAYS,
) -> PopulationReport:
    """Run a population end to end and report on it (see the module docstring).

    ``state_dir`` keeps the embedded chain there (default: a temporary folder, on disk);
    ``rpc`` runs against a node instead. Record files, quarantine, ledgers, report.json and
    the chart go to ``out_dir`` (default: a new temporary folder, left in place).
    ``round_days`` is the time between submission rounds (a week; tests use longer ones).
    """
    began = time.perf_counter()
    out = Path(out_dir) if out_dir is not None else Path(tempfile.mkdtemp(prefix="population-"))
    out.mkdir(parents=True, exist_ok=True)
    report = PopulationReport(
        seed=population.seed,
        fingerprint=population.fingerprint(),
        backend="rpc" if rpc else "embedded",
        entry_point="",
        generated=len(population.records),
        kinds=population.kind_counts(),
    )
    rounds = _rounds(population, round_days)
    expected = _expected_outflow(population)
    weekly_budget = max(100_000, expected // max(1, len(rounds)))
    submitted_results: dict[str, ClaimResult] = {}
    submission_txs: set[str] = set()
    state = Path(state_dir) if state_dir is not None else None
    with _workspace(state, rpc) as workspace:
        chain = workspace.chain
        chain.set_time(to_day(YEAR_START) * 86_400 + 3_600)
        insurer = InsurerClient(workspace, "insurer")
        with workspace.command():
            workspace.setup()
            insurer.deploy(population.plan)
            insurer.enroll(PLAN_ID, list(population.members))
            for provider in population.providers:
                insurer.add_provider(PLAN_ID, provider.provider_id, provider.account)
            insurer.set_adjudicator(PLAN_ID, "adjudicator")
            first = max(100_000, int(expected * initial_funding_share))
            _sample(report, chain.now() // 86_400, "start", insurer.pool(PLAN_ID))
            insurer.fund(PLAN_ID, first)
            report.total_funded += first
        adjudicator = AdjudicatorClient(workspace, "adjudicator")
        paid_blocks: list[tuple[int, int]] = []  # (first block of a round, its day)

        for number, (day, indexes) in enumerate(rounds, start=1):
            timestamp = day * 86_400 + 43_200
            if timestamp > chain.now():
                chain.set_time(timestamp)
            paid_blocks.append((chain.block_number() + 1, day))
            folder = out / "records" / f"round-{number:03d}-{from_day(day).isoformat()}"
            _write_round(population, indexes, folder)
            begin = time.perf_counter()
            claims, set_aside, repeated, entry = _submit(workspace, folder, out / "quarantine")
            report.submit_seconds += time.perf_counter() - begin
            report.entry_point = entry
            report.set_aside += len(set_aside)
            for entry_aside in set_aside:
                reason = _reason(entry_aside)
                report.set_aside_reasons[reason] = report.set_aside_reasons.get(reason, 0) + 1
            report.repeated += repeated
            for claim in claims:
                result: ClaimResult = claim.result
                if claim.already_submitted:
                    report.already_submitted += 1
                    continue
                report.submitted += 1
                submitted_results[result.record_id or str(result.claim_id)] = result
                submission_txs.add(result.transactions["submitted"])
            _sample(report, day, "submitted", insurer.pool(PLAN_ID))

            # The adjudicator works the review queue; the decision is drawn per record.
            for pending in adjudicator.queue(PLAN_ID):
                decide = random.Random(f"{population.seed}:{pending.record_id}:{pending.claim_id}")
                approve = decide.random() >= REVIEW_DENIAL_RATE
                with workspace.command():
                    if approve:
                        adjudicator.approve(pending.claim_id)
                    else:
                        adjudicator.deny(pending.claim_id)
                key = "approved" if approve else "denied"
                report.reviews[key] = report.reviews.get(key, 0) + 1
            _sample(report, day, "reviewed", insurer.pool(PLAN_ID))

            # Top up when claims wait or the pool runs low (a lean insurer: a week's budget
            # at a time, so that claims do queue now and then), then settle the queue.
            pool = insurer.pool(PLAN_ID)
            if pool.queued or pool.free < weekly_budget // 4:
                amount = weekly_budget + max(0, pool.reserved - pool.balance)
                with workspace.command():
                    insurer.fund(PLAN_ID, amount)
                report.total_funded += amount
                pool = insurer.pool(PLAN_ID)
                while pool.queued and pool.free >= 0:
                    with workspace.command():
                        paid, pool = settle(workspace, PLAN_ID, "insurer")
                    if not paid:
                        break
                _sample(report, day, "funded", pool)

        _collect(workspace, report, submitted_results, paid_blocks)
        report.transactions = len(submission_txs)
        gas = sum(chain.receipt(bytes.fromhex(tx[2:])).gas_used for tx in submission_txs)
        report.gas_per_claim = gas / report.submitted if report.submitted else None
        report.reconciliation = _reconcile(workspace, population, submitted_results, out)
    report.wall_seconds = time.perf_counter() - began
    if chart:
        report.chart = str(write_chart(report, out / "population.png"))
    (out / "report.json").write_text(json.dumps(report.to_json(), indent=2) + "\n")
    return report


def _expected_outflow(population: Population) -> int:
    """A rough estimate of what routine claims cost the plan over the year: the insurer's
    budget. Claims that go to review (above the auto-approve limit) are left out, so when
    one is approved the pool is often short and it queues until the next top-up."""
    total = 0
    for record, kind in zip(population.records, population.kinds, strict=True):
        if kind in ("exact_copy", "conflicting_copy", "not_covered") or kind.startswith(
            ("bad_", "negative_", "zero_", "unknown_")
        ):
            continue
        cost = 0
        for line in record["lines"]:
            service = population.plan.service(line["code"])
            if service is not None:
                cost += service.fee * int(line["units"]) * 6 // 10
        if cost <= population.plan.auto_approve_limit:
            total += cost
    return total


def _write_round(population: Population, indexes: Sequence[int], folder: Path) -> None:
    """The round's records as one JSON Lines file per provider, as hospitals send them."""
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, list[bytes]] = {}
    for index in indexes:
        record = population.records[index]
        files.setdefault(str(record["provider_id"]), []).append(
            json.dumps(record, separators=(",", ":")).encode()
        )
    for provider_id, lines in sorted(files.items()):
        (folder / f"{provider_id}.jsonl").write_bytes(b"\n".join(lines) + b"\n")


def _collect(
    workspace: Workspace,
    report: PopulationReport,
    submitted: Mapping[str, ClaimResult],
    paid_blocks: Sequence[tuple[int, int]],
) -> None:
    """Statuses, denial reasons and payments, from the results and the chain's events."""
    report.status_at_submission = dict.fromkeys(STATUSES, 0)
    for result in submitted.values():
        report.status_at_submission[result.status] += 1
        if result.status == "denied" and result.lines:
            first = result.lines[0].reasons[0] if result.lines[0].reasons else "?"
            if all(line.denied for line in result.lines):
                report.claim_denials[first] = report.claim_denials.get(first, 0) + 1
        for line in result.lines:
            if line.denied:
                code = line.reasons[0] if line.reasons else "?"
                report.line_denials[code] = report.line_denials.get(code, 0) + 1
    report.line_denials = dict(sorted(report.line_denials.items()))
    report.claim_denials = dict(sorted(report.claim_denials.items()))

    grouped = plan_claim_events(workspace.engine, PLAN_ID)
    status_of: Callable[[Any], str]
    try:
        from claimsengine.reconcile import claim_status as status_of
    except ImportError:
        status_of = _status_from_events
    report.final_status = dict.fromkeys(STATUSES, 0)
    starts = [block for block, _ in paid_blocks]
    for events in grouped.values():
        report.final_status[status_of(events)] += 1
        paid = events.paid_event
        if paid is None:
            continue
        amount = int(paid.args["amount"])
        report.total_paid += amount
        position = max(0, _bisect(starts, paid.block_number) - 1)
        day = paid_blocks[position][1] if paid_blocks else 0
        report.paid_per_day[day] = report.paid_per_day.get(day, 0) + amount
    report.results = {
        record_id: {
            "claim_id": result.claim_id,
            "plan_id": result.plan_id,
            "status": result.status,
            "plan_paid": format_cents(result.totals.plan_paid),
            "reasons": [list(line.reasons) for line in result.lines],
        }
        for record_id, result in sorted(submitted.items())
    }


def _bisect(values: Sequence[int], value: int) -> int:
    import bisect

    return bisect.bisect_right(values, value)


def _status_from_events(events: Any) -> str:
    """A claim's current status from its events (when reconcile.py is not there)."""
    labels = {1: "denied", 2: "pending_review", 3: "queued", 4: "paid"}
    names = [event.name for event in events.later]
    if "ClaimPaid" in names:
        return "paid"
    if any(e.name == "ClaimReviewed" and not e.args["approved"] for e in events.later):
        return "denied"
    if "ClaimQueued" in names:
        return "queued"
    return labels[int(events.submitted.args["status"])]


def _reconcile(
    workspace: Workspace,
    population: Population,
    submitted: Mapping[str, ClaimResult],
    out: Path,
) -> dict[str, Any]:
    """Each hospital's ledger against the chain, with ``reconcile.reconcile``.

    The ledgers hold what each hospital expects per record: what the engine quoted at
    submission, except that about 1 in 30 rows expects 10% more (a contract dispute), and
    the records set aside are in it too (they show as not_on_chain).
    """
    try:
        from claimsengine.reconcile import reconcile
    except ImportError:
        return {"available": False, "reason": "claimsengine.reconcile is not in this build"}
    rng = random.Random(f"{population.seed}:ledger")
    rows: dict[str, list[tuple[str, int]]] = {}
    seen: set[str] = set()
    for record in population.records:
        record_id = str(record["record_id"])
        if record_id in seen:
            continue
        seen.add(record_id)
        result = submitted.get(record_id)
        expected = result.totals.plan_paid if result is not None else 0
        if result is not None and expected and rng.random() < 1 / 30:
            expected = expected * 11 // 10
        rows.setdefault(str(record["provider_id"]), []).append((record_id, expected))
    summary: Counter[str] = Counter()
    providers: dict[str, Any] = {}
    ok = True
    for provider_id, ledger in sorted(rows.items()):
        path = out / f"ledger-{provider_id}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["record_id", "expected_paid"])
            for record_id, cents in ledger:
                writer.writerow([record_id, format_cents(cents)])
        reconciled = reconcile(workspace, PLAN_ID, path, provider=provider_id)
        counts = {k: v for k, v in reconciled.summary.items() if v}
        summary.update(counts)
        ok = ok and reconciled.ok
        providers[provider_id] = {"ok": reconciled.ok, "summary": counts, "ledger": str(path)}
    return {"available": True, "ok": ok, "summary": dict(summary), "providers": providers}


def write_chart(report: PopulationReport, path: Path | str) -> Path:
    """A PNG of the pool balance over time and the amounts paid per chain day."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    days = [from_day(sample.day) for sample in report.pool]
    top.step(days, [s.balance / 100 for s in report.pool], where="post", label="balance")
    top.step(days, [s.reserved / 100 for s in report.pool], where="post", label="reserved")
    top.set_ylabel("pool (currency units)")
    top.set_title(f"Population seed {report.seed}: pool and payments per chain day")
    top.legend(loc="upper right")
    paid = sorted(report.paid_per_day.items())
    bottom.bar([from_day(d) for d, _ in paid], [c / 100 for _, c in paid], width=5)
    bottom.set_ylabel("paid per day")
    bottom.set_xlabel("chain date")
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path, format="png", dpi=100)
    plt.close(figure)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate a population and run it end to end.")
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--claims", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("population-out"))
    parser.add_argument("--state", type=Path, default=None, help="keep the chain here")
    parser.add_argument("--rpc", default=None, help="run against this node instead")
    args = parser.parse_args(argv)
    population = generate_population(args.members, args.claims, args.seed)
    report = run_population(population, state_dir=args.state, rpc=args.rpc, out_dir=args.out)
    data = report.to_json()
    print(json.dumps({k: v for k, v in data.items() if k not in ("pool", "paid_per_day")},
                     indent=2))  # fmt: skip
    return 1 if report.check() else 0


if __name__ == "__main__":
    raise SystemExit(main())
