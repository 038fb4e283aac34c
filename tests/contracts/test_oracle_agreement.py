"""The contract and the Python adjudicator (`claimsengine.adjudication`, the test oracle)
decide random claims on random plans alike: every line's amounts and denial, every claim's
status, and every member's accumulators, including after review denials, with a provider
daily limit, and across schedule versions (priced by the version of the service day).

One engine is deployed per test run; each example creates its plan inside a chain
command that is rolled back afterwards, so every example starts from the same state. The
schedule-version test moves the clock, so it deploys per example.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from claimsengine import adjudication as oracle
from claimsengine.chain.embedded import EmbeddedChain
from claimsengine.days import from_day, to_day
from claimsengine.engine import ChainClaim, ChainLine, DevToken, Engine, Enrollment
from claimsengine.errors import TransactionReverted
from claimsengine.plan import Plan, Service
from claimsengine.status import ClaimStatus

from .conftest import (
    TODAY,
    Deployment,
    deploy,
    line_result,
    make_plan,
    member_label,
    new_chain,
    noon,
    open_plan,
    oracle_line_result,
    pseudonym,
)

CODES = ("A", "B", "C", "D")
MEMBERS = ("m0", "m1", "m2", "m3")  # m3 is never enrolled
PROVIDERS = ("hospital", "hospital2")
TODAY_DAY = to_day(TODAY)
STATUS = {
    "denied": ClaimStatus.DENIED,
    "pending_review": ClaimStatus.PENDING_REVIEW,
    "approved": ClaimStatus.PAID,
}  # the pool is funded far beyond any claim, so approved claims are paid at once


@dataclass(frozen=True)
class Scenario:
    plan: Plan
    enrollments: dict[str, oracle.Enrollment]  # by member name, the dates
    claims: list[tuple[oracle.ClaimInput, str]]  # with the review decision if it waits
    # Per claim, 1 where it goes under the pseudonym of the period after its own (check 5).
    shifts: tuple[int, ...] = ()

    def by_period(self) -> tuple[dict[str, oracle.Enrollment], list[tuple[oracle.ClaimInput, str]]]:
        """Per-period pseudonyms: each claim goes under its member's pseudonym of its service
        day's period (a day before the plan's start: period 0), or, where shifted, of the
        next period, as a key holder could send it; each pseudonym used is enrolled for its
        own period with the member's dates."""
        enrollments: dict[str, oracle.Enrollment] = {}
        claims = []
        shifts = self.shifts or (0,) * len(self.claims)
        for (claim, decision), shift in zip(self.claims, shifts, strict=True):
            period = max(oracle.period_of(self.plan, claim.service_day), 0) + shift
            label = member_label(claim.member, period)
            if claim.member in self.enrollments:
                dates = self.enrollments[claim.member]
                enrollments[label] = dataclasses.replace(dates, period=period)
            claims.append((dataclasses.replace(claim, member=label), decision))
        return enrollments, claims


def enrol(
    d: Deployment, scenario: Scenario, ledger: oracle.Ledger | None = None
) -> list[tuple[oracle.ClaimInput, str]]:
    """Enrols the scenario's pseudonyms on the chain (and in ``ledger``); returns its claims
    under them."""
    enrollments, claims = scenario.by_period()
    d.engine.enroll(
        d.insurer,
        d.plan_id,
        [
            Enrollment(pseudonym(label), e.coverage_start, e.coverage_end, e.period)
            for label, e in enrollments.items()
        ],
    )
    for label, enrollment in enrollments.items():
        if ledger is not None:
            ledger.enroll(label, enrollment)
    return claims


def optional(strategy: st.SearchStrategy[int]) -> st.SearchStrategy[int | None]:
    return st.one_of(st.none(), strategy)


@st.composite
def services(draw: st.DrawFn) -> tuple[Service, ...]:
    codes = draw(st.lists(st.sampled_from(CODES), min_size=1, max_size=4, unique=True))
    return tuple(
        Service(
            code=code,
            description=code,
            fee=draw(st.integers(0, 100_000)),
            copay=draw(optional(st.integers(0, 5_000))),
            deductible_applies=draw(st.booleans()),
            max_units_per_day=draw(optional(st.integers(1, 4))),
            max_units_per_period=draw(optional(st.integers(1, 6))),
            prior_auth=draw(st.sampled_from([False, False, False, True])),  # 1 in 4
        )
        for code in codes
    )


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    age = draw(st.integers(0, 400))  # how long the plan has been in effect
    effective = TODAY_DAY - age
    plan = make_plan(
        "ORACLE",
        draw(services()),
        effective=from_day(effective),
        benefit_period_days=draw(st.sampled_from([30, 90, 365]) | st.integers(1, 400)),
        deductible=draw(st.sampled_from([10_000, 0]) | st.integers(0, 200_000)),
        out_of_pocket_max=draw(st.sampled_from([30_000, 0]) | st.integers(0, 400_000)),
        coinsurance_bps=draw(
            st.sampled_from([2_000, 1_250, 0, 3_333, 10_000]) | st.integers(0, 10_000)
        ),
        annual_benefit_max=draw(optional(st.integers(0, 300_000))),
        waiting_period_days=draw(st.sampled_from([0] * 7 + [10, 30, 60])),
        timely_filing_days=draw(st.sampled_from([400] * 7 + [0, 90, 365])),
        auto_approve_limit=draw(st.sampled_from([50_000, 0]) | st.integers(0, 200_000)),
    )
    daily_limit = draw(st.sampled_from([None, None, None, 20_000]) | st.integers(0, 100_000))
    plan = dataclasses.replace(plan, provider_daily_limit=daily_limit)
    enrollments = {}
    for name in MEMBERS[:3]:
        kind = draw(st.sampled_from(["open"] * 6 + ["ended"] * 2 + ["late", "none"]))
        if kind == "none":
            continue
        if kind == "late":  # joins while the plan runs
            start = effective + draw(st.integers(0, age))
        else:  # covered from before the plan's effective day
            start = effective - draw(st.integers(0, 400))
        end = start + draw(st.integers(0, 900)) if kind == "ended" else None
        enrollments[name] = oracle.Enrollment(start, end)
    # Few distinct days, so the duplicate-line rule and the units limits come into play:
    # mostly days the plan is in effect; now and then the day before, or tomorrow (a reject).
    kinds = st.sampled_from(["in"] * 8 + ["before", "future"])
    ago = kinds.flatmap(
        lambda kind: (
            st.integers(0, age) if kind == "in" else st.just(age + 1 if kind == "before" else -1)
        )
    )
    days = draw(st.lists(ago, min_size=1, max_size=4))
    line = st.builds(
        oracle.ClaimLineInput,
        code=st.sampled_from([s.code for s in plan.services] * 4 + ["NOPE"]),
        units=st.integers(1, 4),
        billed=st.sampled_from([10_000, 0]) | st.integers(0, 150_000),
    )
    claim = st.builds(
        oracle.ClaimInput,
        member=st.sampled_from(["m0", "m1", "m2"] * 3 + ["m3"]),  # the stranger 1 in 10
        provider=st.sampled_from(PROVIDERS),
        service_day=st.sampled_from(days).map(lambda ago: TODAY_DAY - ago),
        prior_auth=st.booleans(),
        lines=st.lists(line, min_size=1, max_size=4).map(tuple),
    )
    decision = st.sampled_from(["approve", "deny", "leave"])
    claims = draw(st.lists(st.tuples(claim, decision), min_size=1, max_size=8))
    shifts = draw(
        st.lists(st.sampled_from([0] * 9 + [1]), min_size=len(claims), max_size=len(claims))
    )
    return Scenario(plan, enrollments, claims, tuple(shifts))


@dataclass
class Base:
    chain: EmbeddedChain
    engine: Engine
    token: DevToken


@cache
def base() -> Base:
    """One chain, token and engine for the whole run (each example is rolled back)."""
    chain = new_chain()
    insurer = chain.accounts["insurer"]
    token = DevToken.deploy(chain, insurer)
    engine = Engine.deploy(chain, insurer)
    assert isinstance(token, DevToken) and isinstance(engine, Engine)
    return Base(chain, engine, token)


class _Undo(Exception):
    pass


@contextmanager
def rolled_back(chain: EmbeddedChain) -> Iterator[None]:
    """Run a block in one chain command and undo all of it afterwards."""
    try:
        with chain.command():
            yield
            raise _Undo
    except _Undo:
        pass


def chain_claim(d: Deployment, claim: oracle.ClaimInput) -> ChainClaim:
    lines = tuple(ChainLine(line.code, line.units, line.billed) for line in claim.lines)
    d.counter[0] += 1
    commitment = (b"oracle-%d" % d.counter[0]).ljust(32, b"\0")
    return ChainClaim(
        commitment, pseudonym(claim.member), claim.service_day, claim.prior_auth, lines
    )


def limited_codes(*schedules: tuple[Service, ...]) -> set[str]:
    """Codes with a period limit in every schedule: the contract counts their units (and
    only theirs) in every period, as the oracle does."""
    sets = [
        {s.code for s in services if s.max_units_per_period is not None} for services in schedules
    ]
    return set.intersection(*sets)


def check_accumulators(d: Deployment, plan: Plan, ledger: oracle.Ledger) -> None:
    later = [services for _day, services in ledger.schedule_versions]
    limited = sorted(limited_codes(plan.services, *(tuple(v.values()) for v in later)))
    for (member, period), acc in ledger.periods():
        assert period >= 0
        got = d.accumulators(pseudonym(member), period)
        assert got == (acc.deductible_met, acc.oop_met, acc.benefit_used), (member, period)
        for code in limited:
            units = d.units(pseudonym(member), code, period)
            assert units == acc.units_used.get(code, 0), (member, period, code)
        # Never past the maxima.
        assert acc.oop_met <= plan.out_of_pocket_max
        assert acc.deductible_met <= plan.deductible


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenarios())
def test_contract_agrees_with_the_oracle(scenario: Scenario) -> None:
    b = base()
    with rolled_back(b.chain):
        plan = scenario.plan
        d = open_plan(b.chain, b.engine, b.token, plan, fund_cents=100_000_000)
        ledger = oracle.Ledger()
        claims = enrol(d, scenario, ledger)
        today = d.engine.today()
        assert today == TODAY_DAY
        play(d, plan, ledger, claims, today)


def play(
    d: Deployment,
    plan: Plan,
    ledger: oracle.Ledger,
    claims: list[tuple[oracle.ClaimInput, str]],
    today: int,
) -> None:
    """Submit each claim to the contract and to the oracle, decide those that wait for
    review, and compare every line, status and accumulator."""
    providers = {"hospital": d.hospital, "hospital2": d.hospital2}
    for claim, decision in claims:
        on_chain = chain_claim(d, claim)
        try:
            expected = oracle.adjudicate(plan, ledger, claim, today=today)
        except oracle.ClaimRejected as rejected:
            try:
                d.submit(on_chain, sender=providers[claim.provider])
            except TransactionReverted as error:
                assert error.reason == f"claims: {rejected.reason}"
                event("rejected")
            else:
                raise AssertionError(f"the contract took a claim the oracle rejects: {claim}")
            continue
        sub = d.submit(on_chain, sender=providers[claim.provider])
        event(f"status {expected.status}")
        for line in expected.lines:
            event(f"line {line.denial or 'priced'}")
        assert [line_result(e) for e in sub.lines] == [
            oracle_line_result(x) for x in expected.lines
        ]
        assert sub.status == STATUS[expected.status], (claim, expected)
        assert sub.submitted["plan_paid"] == expected.plan_paid
        if expected.status == "pending_review" and decision != "leave":
            d.review(sub.claim_id, decision == "approve")
            if decision == "deny":
                oracle.reverse(plan, ledger, claim, expected)
            ref = {"hospital": "HOSP-A", "hospital2": "HOSP-B"}[claim.provider]
            final = d.status(on_chain.commitment, ref).status
            assert final == (ClaimStatus.PAID if decision == "approve" else ClaimStatus.DENIED)
        check_accumulators(d, plan, ledger)


@st.composite
def versioned(draw: st.DrawFn) -> tuple[Scenario, list[tuple[int, tuple[Service, ...]]]]:
    """A scenario whose plan gets one to three later schedule versions, in force from days
    after today; its claims are then filed 40 days later, for days across the versions."""
    scenario = draw(scenarios())
    plan = scenario.plan
    versions: list[tuple[int, tuple[Service, ...]]] = []
    # Each code's period limit in the last version that listed it (the contract's rule).
    limits = {s.code: s.max_units_per_period for s in plan.services}
    day = TODAY_DAY
    for _ in range(draw(st.integers(1, 3))):
        day += draw(st.integers(1, 12))
        starts_period = (day - plan.effective_day) % plan.benefit_period_days == 0
        drawn = draw(services())
        fixed = []
        for s in drawn:
            if not starts_period:  # a period limit changes only at a period's start
                s = dataclasses.replace(s, max_units_per_period=limits.get(s.code))
            fixed.append(s)
        versions.append((day, tuple(fixed)))
        limits.update({s.code: s.max_units_per_period for s in fixed})
    # The claims move forward with the clock: each service day is 40 days later.
    claims = [
        (dataclasses.replace(c, service_day=c.service_day + LATER), decision)
        for c, decision in scenario.claims
    ]
    return dataclasses.replace(scenario, claims=claims), versions


LATER = 40  # days the clock moves after the versions are set


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(versioned())
def test_contract_agrees_with_the_oracle_across_schedule_versions(
    drawn: tuple[Scenario, list[tuple[int, tuple[Service, ...]]]],
) -> None:
    scenario, versions = drawn
    chain = new_chain()
    try:
        plan = scenario.plan
        d = deploy(chain, plan, fund_cents=100_000_000)
        ledger = oracle.Ledger()
        claims = enrol(d, scenario, ledger)
        for day, services_of_day in versions:
            d.engine.update_schedule(d.insurer, d.plan_id, services_of_day, day)
            ledger.update_schedule(day, services_of_day)
        chain.set_time(noon(from_day(TODAY_DAY + LATER)))
        event(f"{len(versions)} later versions")
        play(d, plan, ledger, claims, TODAY_DAY + LATER)
    finally:
        chain.close()


def test_examples_are_rolled_back() -> None:
    # The rollback the property test relies on: a plan created in one example is gone.
    b = base()
    plan = make_plan("ROLLBACK", [Service("A", "A", fee=100)])
    with rolled_back(b.chain):
        open_plan(b.chain, b.engine, b.token, plan)
        assert b.engine.plan_exists("ROLLBACK")
    assert not b.engine.plan_exists("ROLLBACK")
    assert b.engine.today() == TODAY_DAY
