"""Generating a population: a plan, its members, three providers and a year of records.

The records run on past the plan's first benefit period (365 days from 2027-01-01) into
the second one (``RUN_END``), so that a run crosses a period boundary: the insurer renews
the plan, and claims in the new period are priced from zero accumulators.

Everything is drawn from ``random.Random(seed)``: the same seed gives the same population,
byte for byte (``Population.fingerprint``).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from claimsengine.days import from_day, to_day
from claimsengine.members import Member
from claimsengine.money import format_cents
from claimsengine.plan import Plan, plan_from_dict
from claimsengine.records import canonical_json

PLAN_ID = "POP-2027"
YEAR_START = date(2027, 1, 1)
YEAR_END = date(2027, 12, 31)
#: The last day of the generated timeline: two months into the plan's second benefit period.
RUN_END = date(2028, 2, 29)
#: Coverage start of members who renewed into the plan (their waiting period is long over).
RENEWED_START = date(2026, 10, 1)

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


@dataclass
class _Drawn:
    """The records drawn so far, what each was drawn as, and the day each is sent on."""

    records: list[dict[str, Any]] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    send_days: list[int] = field(default_factory=list)
    good: list[int] = field(default_factory=list)  # indexes of well-formed records, for copies
    counters: dict[str, int] = field(default_factory=dict)  # records per provider, for ids

    def add(self, record: dict[str, Any], kind: str, send_day: int) -> None:
        self.records.append(record)
        self.kinds.append(kind)
        self.send_days.append(send_day)

    def new_id(self, provider: ProviderSpec) -> str:
        count = self.counters.get(provider.provider_id, 0) + 1
        self.counters[provider.provider_id] = count
        return f"{provider.provider_id}-{count:07d}"


def generate_population(members: int, claims: int, seed: int) -> Population:
    """A reproducible population of ``members`` members and ``claims`` records."""
    if members < 1 or claims < 1:
        raise ValueError("a population needs at least one member and one record")
    rng = random.Random(seed)
    plan = plan_from_dict(_PLAN, source="population")
    people = _members(rng, members)
    drawn = _Drawn()
    while len(drawn.records) < claims:
        roll = rng.random()
        if drawn.good and roll < EXACT_COPY_SHARE:
            _exact_copy(rng, drawn)
        elif drawn.good and roll < EXACT_COPY_SHARE + CONFLICT_SHARE:
            _conflicting_copy(rng, drawn)
        else:
            _visit(rng, drawn, people)
    return Population(
        seed=seed,
        plan=plan,
        members=tuple(people),
        providers=PROVIDERS,
        records=tuple(drawn.records),
        kinds=tuple(drawn.kinds),
        send_days=tuple(drawn.send_days),
    )


def _last_day() -> int:
    """The last day a record is sent on (the day before the timeline ends)."""
    return to_day(RUN_END) - 1


def _exact_copy(rng: random.Random, drawn: _Drawn) -> None:
    """An exact copy of an earlier record, re-sent (same week or a later one)."""
    original = rng.choice(drawn.good)
    copy = json.loads(json.dumps(drawn.records[original]))
    day = min(_last_day(), drawn.send_days[original] + rng.choice((0, 0, 7, 14)))
    drawn.add(copy, "exact_copy", day)


def _conflicting_copy(rng: random.Random, drawn: _Drawn) -> None:
    """A used record id with different content (a "corrected" record)."""
    original = rng.choice(drawn.good)
    changed = json.loads(json.dumps(drawn.records[original]))
    changed["lines"][0]["billed"] = _amount(rng.randint(1_000, 50_000) // 50 * 50 + 50)
    day = min(_last_day(), drawn.send_days[original] + rng.choice((0, 7, 14)))
    drawn.add(changed, "conflicting_copy", day)


def _visit(rng: random.Random, drawn: _Drawn, people: Sequence[Member]) -> None:
    """A new visit: a provider, a member, a kind of visit and its lines; a share is bad."""
    last_day = _last_day()
    provider = _pick(rng, [(p, p.weight) for p in PROVIDERS])
    member = rng.choice(people)
    kind = _pick(rng, _VISITS)
    service_day = rng.randint(to_day(YEAR_START), last_day - 1)
    lines, auth = _lines(rng, kind)
    member_id = member.member_id
    bad = rng.random() < BAD_SHARE / (1 - EXACT_COPY_SHARE - CONFLICT_SHARE)
    if bad:
        kind, member_id = _spoil(rng, lines, member_id)
    record = {
        "record_id": drawn.new_id(provider),
        "plan_id": PLAN_ID,
        "member_id": member_id,
        "provider_id": provider.provider_id,
        "service_date": from_day(service_day).isoformat(),
        "prior_auth": auth,
        "diagnoses": [rng.choice(_DIAGNOSES.get(kind, ("Z00.00",)))],
        "lines": lines,
    }
    if not bad:
        drawn.good.append(len(drawn.records))
    lag = min(int(rng.expovariate(1 / 4)), 30)  # most are sent within a few days
    drawn.add(record, kind, min(last_day, service_day + lag))


def _spoil(rng: random.Random, lines: list[dict[str, Any]], member_id: str) -> tuple[str, str]:
    """Make a visit bad input, in place: (the kind of bad, the member id it now bills)."""
    kind = rng.choice(("bad_amount", "negative_amount", "zero_units", "unknown_member"))
    if kind == "bad_amount":
        lines[0]["billed"] = lines[0]["billed"] + "5"  # three decimals
    elif kind == "negative_amount":
        lines[0]["billed"] = "-" + lines[0]["billed"]
    elif kind == "zero_units":
        lines[0]["units"] = 0
    else:
        member_id = f"X-{rng.randint(1, 999_999):06d}"  # nobody the plan knows
    return kind, member_id
