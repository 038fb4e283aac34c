"""Per-period pseudonyms (formats.md, Privacy): which periods `enroll` and `renew` cover, the
31 of a period not yet enrolled, and the property that in every enrolled period a claim
gets exactly the result it would get with one lasting pseudonym.

The oracle of that property is the chain itself: two plans with the same terms on one
chain, one whose members are enrolled once under a lasting pseudonym (as before per-period
pseudonyms), the other through the SDK; the same claims go to both.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from claimsengine.adjudication import Enrollment as LivedCoverage
from claimsengine.days import day_of_timestamp, from_day, to_day
from claimsengine.engine import ChainClaim, ChainLine, Enrollment
from claimsengine.errors import InputError, NotFound, TransactionReverted
from claimsengine.members import Member
from claimsengine.periods import BenefitPeriods
from claimsengine.plan import Plan, load_plan, plan_from_dict, plan_to_dict
from claimsengine.records import RecordLine, TreatmentRecord
from claimsengine.results import ClaimResult
from claimsengine.sdk import HospitalClient, InsurerClient, claim_result
from claimsengine.workspace import Workspace
from tests.integration.test_orchestrator import FIXTURES

EFFECTIVE = date(2027, 1, 1)
LENGTH = 30  # days per benefit period: short, so that a test crosses several


def noon(d: date) -> int:
    return to_day(d) * 86_400 + 43_200


def short_plan(plan_id: str, *, waiting: int = 30) -> Plan:
    """silver.yaml with 30-day benefit periods, a 100.00 deductible and 300.00 out-of-pocket
    maximum (so periods fill up and reset), and ten years of timely filing."""
    data = plan_to_dict(load_plan(FIXTURES / "plans" / "silver.yaml"))
    data.update(
        id=plan_id,
        benefit_period_days=LENGTH,
        deductible="100.00",
        out_of_pocket_max="300.00",
        waiting_period_days=waiting,
        timely_filing_days=3650,
    )
    return plan_from_dict(data, source="test")


@pytest.fixture
def workspace() -> Iterator[Workspace]:
    with Workspace.ephemeral() as ws:
        ws.chain.set_time(noon(EFFECTIVE + timedelta(days=10)))  # in period 0
        with ws.command():
            ws.setup()
        yield ws


def deploy(ws: Workspace, plan: Plan, members: list[Member]) -> None:
    insurer = InsurerClient(ws, "insurer")
    with ws.command():
        insurer.deploy(plan)
        insurer.enroll(plan.id, members)
        insurer.add_provider(plan.id, "HOSP-A", "hospital-1")
        insurer.fund(plan.id, 100_000_000)


def enrolled(ws: Workspace, plan_id: str, member_id: str) -> list[int]:
    """The periods (of the first 12) in which the member's pseudonym is enrolled."""
    return [
        period
        for period in range(12)
        if ws.engine.enrolled_in(plan_id, ws.pseudonym(plan_id, member_id, period), period)
    ]


def record(
    plan_id: str, record_id: str, member: str, day: date, *lines: RecordLine
) -> TreatmentRecord:
    return TreatmentRecord(
        record_id=record_id,
        plan_id=plan_id,
        member_id=member,
        provider_id="HOSP-A",
        service_date=day,
        prior_auth=None,
        diagnoses=("R07.9",),
        lines=lines or (RecordLine("71046", 1, 9_500),),
    )


# -- which periods ---------------------------------------------------------------------------


def test_benefit_periods_by_hand() -> None:
    periods = BenefitPeriods(effective_day=to_day(EFFECTIVE), length=LENGTH)
    # 2027-01-30 is day 29 of the plan: period 0; 2027-01-31 is day 30: period 1.
    assert periods.of(to_day(date(2027, 1, 30))) == 0
    assert periods.of(to_day(date(2027, 1, 31))) == 1
    assert periods.of(to_day(date(2026, 12, 1))) == 0  # before the plan: period 0
    assert from_day(periods.first_day(2)) == date(2027, 3, 2)  # 2027-01-01 + 60 days
    assert from_day(periods.last_day(2)) == date(2027, 3, 31)
    # Coverage 2027-01-20 to 2027-02-05 overlaps periods 0 and 1 (which starts 01-31).
    start, end = to_day(date(2027, 1, 20)), to_day(date(2027, 2, 5))
    assert periods.covered(start, end, upto=5) == [0, 1]
    assert periods.covered(start, None, upto=3) == [0, 1, 2, 3]
    assert periods.covered(start, None, upto=0) == [0]
    # Coverage that ended before the plan started overlaps no period.
    assert periods.covered(to_day(date(2026, 1, 1)), to_day(date(2026, 12, 31)), 4) == []
    with pytest.raises(ValueError):
        BenefitPeriods(0, 0)


def test_enroll_covers_the_overlapped_periods_up_to_the_one_after_today(
    workspace: Workspace,
) -> None:
    # Today is 2027-01-11, in period 0: enrolment goes up to period 1 (2027-01-31 to 03-01).
    members = [
        Member("OPEN", date(2026, 6, 1), None),  # started before the plan: periods 0, 1
        Member("ENDS", date(2027, 1, 1), date(2027, 1, 20)),  # only period 0
        Member("LATE", date(2027, 2, 10), None),  # starts in period 1: only period 1
        Member("LATER", date(2027, 4, 1), None),  # starts in period 3: none yet
        Member("GONE", date(2026, 1, 1), date(2026, 12, 31)),  # before the plan: none
    ]
    deploy(workspace, short_plan("SHORT"), members)
    assert enrolled(workspace, "SHORT", "OPEN") == [0, 1]
    assert enrolled(workspace, "SHORT", "ENDS") == [0]
    assert enrolled(workspace, "SHORT", "LATE") == [1]
    assert enrolled(workspace, "SHORT", "LATER") == []
    assert enrolled(workspace, "SHORT", "GONE") == []
    # Each pseudonym carries the real coverage dates (the waiting period counts from them).
    late = workspace.pseudonym("SHORT", "LATE", 1)
    assert workspace.engine.member("SHORT", late) == (True, to_day(date(2027, 2, 10)), None, 1)
    # A member's two pseudonyms were enrolled in different transactions.
    events = workspace.engine.events("MemberEnrolled")
    by_member = {bytes(e.args["member"]): e.tx_hash for e in events}
    open0, open1 = (workspace.pseudonym("SHORT", "OPEN", p) for p in (0, 1))
    assert by_member[open0] != by_member[open1]


def test_enroll_before_the_plan_starts_covers_its_first_two_periods(
    workspace: Workspace,
) -> None:
    plan = plan_from_dict(
        {**plan_to_dict(short_plan("LATER-PLAN")), "effective_date": "2027-03-01"}, source="t"
    )
    deploy(workspace, plan, [Member("M-1", date(2027, 1, 1), None)])
    assert enrolled(workspace, "LATER-PLAN", "M-1") == [0, 1]


def test_a_period_not_yet_enrolled_is_denied_31_until_renew(workspace: Workspace) -> None:
    deploy(workspace, short_plan("SHORT", waiting=0), [Member("M-1", date(2027, 1, 1), None)])
    hospital = HospitalClient(workspace, "hospital-1")
    # Period 2 starts 2027-03-02; enrolment on 2027-01-11 went up to period 1.
    workspace.chain.set_time(noon(date(2027, 3, 5)))
    with workspace.command():
        denied = hospital.submit(record("SHORT", "R-1", "M-1", date(2027, 3, 4)))
    assert denied.status == "denied"
    assert [line.reasons for line in denied.lines] == [("31",)]
    eligibility = hospital.eligibility("SHORT", "M-1", date(2027, 3, 4))
    assert (eligibility.covered, eligibility.denial, eligibility.period) == (False, "31", 2)
    with pytest.raises(NotFound) as caught:
        hospital.accumulators("SHORT", "M-1", date(2027, 3, 4))
    assert str(caught.value) == (
        "member M-1 is not enrolled in plan SHORT in benefit period 2 (the one that holds "
        "2027-03-04)"
    )
    assert "claims renew SHORT" in (caught.value.hint or "")

    with workspace.command():
        report = InsurerClient(workspace, "insurer").renew("SHORT")
    # Today is in period 2: renew covers up to period 3 (from 2027-04-01), and fills 2.
    assert report.to_json() == {
        "plan_id": "SHORT",
        "period": 3,
        "period_start": "2027-04-01",
        "renewed": 1,
        "ended": 0,
        "not_started": 0,
        "enrolments": 2,
    }
    assert enrolled(workspace, "SHORT", "M-1") == [0, 1, 2, 3]
    with workspace.command():
        paid = hospital.submit(record("SHORT", "R-2", "M-1", date(2027, 3, 4)))
    # 71046 at 95.00, a new period: deductible 95.00 of the 100.00 is the patient's; the
    # plan pays 0.00, and the claim is not denied.
    assert paid.status == "paid"
    assert [(line.deductible, line.plan_paid, line.reasons) for line in paid.lines] == [
        (9_500, 0, ("1",))
    ]


def test_renew_skips_ended_members_and_sends_nothing_twice(workspace: Workspace) -> None:
    members = [
        Member("STAYS", date(2027, 1, 1), None),
        Member("ENDS", date(2027, 1, 1), date(2027, 2, 15)),  # ends in period 1
        Member("LATER", date(2027, 6, 1), None),  # period 5
    ]
    deploy(workspace, short_plan("SHORT"), members)
    workspace.chain.set_time(noon(date(2027, 2, 10)))  # period 1: next is 2 (from 03-02)
    insurer = InsurerClient(workspace, "insurer")
    with workspace.command():
        first = insurer.renew("SHORT")
        again = insurer.renew("SHORT")
    assert (first.period, first.renewed, first.ended, first.not_started) == (2, 1, 1, 1)
    assert first.enrolments == 1 and again.enrolments == 0
    assert enrolled(workspace, "SHORT", "STAYS") == [0, 1, 2]
    assert enrolled(workspace, "SHORT", "ENDS") == [0, 1]
    assert enrolled(workspace, "SHORT", "LATER") == []


def test_renew_needs_the_members_of_this_state_folder(workspace: Workspace) -> None:
    deploy(workspace, short_plan("SHORT"), [])
    with pytest.raises(NotFound) as caught, workspace.command():
        InsurerClient(workspace, "insurer").renew("SHORT")
    assert str(caught.value) == "this workspace knows no members of plan SHORT"
    assert (
        caught.value.hint == "enrol them from this --state first: claims enroll SHORT MEMBERS.csv"
    )


def test_new_dates_reach_every_enrolled_period(workspace: Workspace) -> None:
    # Enrolled open-ended in periods 0 and 1, then the coverage is cut to end in period 0:
    # period 1's pseudonym gets the new end, so a claim there is denied 27, as it would be
    # under one lasting pseudonym (not paid under stale dates).
    deploy(workspace, short_plan("SHORT", waiting=0), [Member("M-1", date(2027, 1, 1), None)])
    insurer = InsurerClient(workspace, "insurer")
    with workspace.command():
        insurer.enroll("SHORT", [Member("M-1", date(2027, 1, 1), date(2027, 1, 15))])
    end = to_day(date(2027, 1, 15))
    for period in (0, 1):
        pseudonym = workspace.pseudonym("SHORT", "M-1", period)
        assert workspace.engine.member("SHORT", pseudonym) == (True, to_day(EFFECTIVE), end, period)
    workspace.chain.set_time(noon(date(2027, 2, 3)))
    with workspace.command():
        late = HospitalClient(workspace, "hospital-1").submit(
            record("SHORT", "R-1", "M-1", date(2027, 2, 2))
        )
    assert [line.reasons for line in late.lines] == [("27",)]


def test_a_refused_enrolment_leaves_the_roster_as_it_was(workspace: Workspace) -> None:
    # M-9 was enrolled from another state folder (here: straight through the engine), so
    # this folder's roster does not know the dates to check new ones against before
    # sending. New dates that take back coverage already lived are refused by the chain,
    # and the roster, written before the send, does not keep them either (a later `renew`
    # from here would have enrolled the next period with them).
    deploy(workspace, short_plan("SHORT", waiting=0), [])
    pseudonym = workspace.pseudonym("SHORT", "M-9", 0, create=True)
    with workspace.command():
        workspace.engine.enroll(
            "insurer", "SHORT", [Enrollment(pseudonym, to_day(EFFECTIVE), None, 0)]
        )
    shorter = Member("M-9", EFFECTIVE, EFFECTIVE + timedelta(days=5))  # today is day 10
    refused = pytest.raises(TransactionReverted, match="coverage already lived")
    with refused, workspace.command():
        InsurerClient(workspace, "insurer").enroll("SHORT", [shorter])
    assert workspace.roster.get("SHORT", "M-9") is None
    assert workspace.engine.member("SHORT", pseudonym) == (True, to_day(EFFECTIVE), None, 0)


# -- the same result as one lasting pseudonym ------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    start: int  # days from the plan's effective day
    length: int | None


@dataclass(frozen=True)
class Step:
    kind: str  # "claim", "advance", "renew" or "reenroll"
    member: int = 0
    back: int = 0  # a claim's service day: today minus this
    code: str = "71046"
    units: int = 1
    days: int = 0  # "advance": days; "reenroll": the new coverage length


CODES = {"71046": 9_500, "99213": 18_000, "97110": 4_000}

claims = st.builds(
    Step,
    kind=st.just("claim"),
    member=st.integers(0, 2),
    back=st.integers(0, 70),
    code=st.sampled_from(sorted(CODES)),
    units=st.integers(1, 3),
)
steps = st.one_of(
    claims,
    claims,
    claims,
    st.builds(Step, kind=st.just("advance"), days=st.integers(1, 40)),
    st.builds(Step, kind=st.just("renew")),
    st.builds(Step, kind=st.just("reenroll"), member=st.integers(0, 2), days=st.integers(0, 90)),
)
coverages = st.builds(
    Coverage,
    start=st.integers(-60, 30),
    length=st.one_of(st.none(), st.none(), st.integers(0, 120)),
)


#: The periods the reference plan enrols: past any day a script reaches (24 steps, at most
#: 40 days each, from day 40).
LASTING_PERIODS = range((40 + 24 * 40) // LENGTH + 2)


def lasting(member_id: str, period: int) -> bytes:
    """The reference plan's pseudonym of a member and period: enrolled in every period up
    front, always with the latest dates, as one lasting pseudonym was before (a pseudonym
    stands for one period on the chain)."""
    return hashlib.sha256(b"lasting %d " % period + member_id.encode()).digest()


def comparable(result: ClaimResult) -> tuple[object, ...]:
    return (result.status, result.lines, result.totals)


@settings(
    max_examples=20,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    waiting=st.sampled_from([0, 12, 45]),
    members=st.lists(coverages, min_size=3, max_size=3),
    script=st.lists(steps, min_size=6, max_size=24),
)
def test_an_enrolled_period_gives_the_result_of_one_lasting_pseudonym(
    waiting: int, members: list[Coverage], script: list[Step]
) -> None:
    effective = to_day(EFFECTIVE)

    def member(index: int, coverage: Coverage) -> Member:
        start = from_day(effective + coverage.start)
        end = None if coverage.length is None else start + timedelta(days=coverage.length)
        return Member(f"M-{index}", start, end)

    roster = [member(i, c) for i, c in enumerate(members)]
    with Workspace.ephemeral() as ws:
        ws.chain.set_time(noon(EFFECTIVE + timedelta(days=40)))  # in period 1
        with ws.command():
            ws.setup()
        deploy(ws, short_plan("PERIODS", waiting=waiting), roster)
        deploy(ws, short_plan("LASTING", waiting=waiting), [])

        # What each of the reference plan's pseudonyms holds now: (member, period) -> dates.
        held: dict[tuple[str, int], LivedCoverage] = {}

        def enrol_lasting(people: list[Member], today: int | None = None) -> None:
            # Every period up front with the latest dates; but, as `enroll` does, a period
            # that has ended (before ``today``) and that the new dates do not overlap keeps
            # the dates its days were lived under; and, as the engine does, so does a period
            # whose lived days the new dates would take back (only one that `enroll` did not
            # enrol: it refuses the others before sending).
            def sent(m: Member, period: int) -> bool:
                if today is None:
                    return True
                start = to_day(m.coverage_start)
                end = to_day(m.coverage_end) if m.coverage_end else None
                if periods.last_day(period) < today and not periods.overlaps(start, end, period):
                    return False
                lived = held.get((m.member_id, period))
                days = (periods.first_day(period), periods.last_day(period))
                return lived is None or lived.takes_back(start, end, today, days) is None

            chosen = [(m, period) for m in people for period in LASTING_PERIODS if sent(m, period)]
            ws.engine.enroll(
                "insurer",
                "LASTING",
                [
                    Enrollment(
                        lasting(m.member_id, period),
                        to_day(m.coverage_start),
                        to_day(m.coverage_end) if m.coverage_end else None,
                        period,
                    )
                    for m, period in chosen
                ],
            )
            for m, period in chosen:
                end = to_day(m.coverage_end) if m.coverage_end else None
                held[(m.member_id, period)] = LivedCoverage(to_day(m.coverage_start), end)

        periods = ws.periods("PERIODS")
        with ws.command():
            enrol_lasting(roster)
        insurer = InsurerClient(ws, "insurer")
        hospital = HospitalClient(ws, "hospital-1")
        # Per member, the last period that an enrol or renew covered.
        upto = [periods.next_to_enrol(day_of_timestamp(ws.chain.now()))] * len(roster)
        for number, step in enumerate(script):
            today = day_of_timestamp(ws.chain.now())
            if step.kind == "advance":
                ws.chain.set_time(ws.chain.now() + step.days * 86_400)
                continue
            with ws.command():
                if step.kind == "renew":
                    insurer.renew("PERIODS")
                    upto = [periods.next_to_enrol(today)] * len(roster)
                    continue
                if step.kind == "reenroll":
                    old = roster[step.member]
                    end = old.coverage_start + timedelta(days=step.days)
                    shorter = Member(old.member_id, old.coverage_start, end)
                    try:
                        insurer.enroll("PERIODS", [shorter])
                    except InputError as refused:
                        # New dates that take back coverage lived in a period: refused
                        # before anything is sent (the contract would refuse them too).
                        assert "would take back coverage already lived" in str(refused)
                        event("a re-enrolment that takes back coverage: refused")
                        continue
                    except TransactionReverted as refused:
                        # The same, in a period whose pseudonym holds older dates than the
                        # roster (an ended period an earlier enrolment left as it was): the
                        # chain refuses it whole, and the roster goes back.
                        assert refused.reason == "claims: coverage already lived"
                        event("a re-enrolment that takes back coverage: refused by the chain")
                        continue
                    roster[step.member] = shorter
                    enrol_lasting([shorter], today)
                    upto[step.member] = periods.next_to_enrol(today)
                    continue
                day = from_day(max(today - step.back, effective - 10))
                who = roster[step.member]
                line = RecordLine(step.code, step.units, CODES[step.code] * step.units)
                mine = record("PERIODS", f"P-{number}", who.member_id, day, line)
                period = periods.of(to_day(day))
                enrolled_now = ws.engine.enrolled_in(
                    "PERIODS", ws.pseudonym("PERIODS", who.member_id, period), period
                )
                got = hospital.submit(mine)
                if not enrolled_now:
                    # A period not enrolled: denied 31, and only where enrolment may leave a
                    # gap (after the last period enrolled, or outside the coverage dates).
                    assert [line.reasons for line in got.lines] == [("31",)]
                    start = to_day(who.coverage_start)
                    end = to_day(who.coverage_end) if who.coverage_end else None
                    assert period > upto[step.member] or not periods.overlaps(start, end, period)
                    event("a claim in a period not enrolled: 31")
                    continue
                salt, commitment = ws.commitment(mine)
                claim = ChainClaim(
                    commitment=commitment,
                    member=lasting(who.member_id, period),
                    service_day=to_day(day),
                    prior_auth=False,
                    lines=(ChainLine(line.code, line.units, line.billed),),
                )
                receipt = ws.engine.submit_claim("hospital-1", "LASTING", claim)
                (submitted,) = [
                    e for e in ws.engine.decode_logs(receipt.logs) if e.name == "ClaimSubmitted"
                ]
                theirs = claim_result(ws, int(submitted.args["claim_id"]))
                assert comparable(got) == comparable(theirs), (step, day, period)
                event(
                    f"compared: {got.status} {'/'.join(r for ln in got.lines for r in ln.reasons)}"
                )
                if period > 0:
                    event("compared in a period after the first")
        # The accumulators of every enrolled period agree too.
        for who in roster:
            for period in range(periods.of(day_of_timestamp(ws.chain.now())) + 2):
                pseudonym = ws.pseudonym("PERIODS", who.member_id, period)
                if ws.engine.enrolled_in("PERIODS", pseudonym, period):
                    assert ws.engine.accumulators("PERIODS", pseudonym, period) == (
                        ws.engine.accumulators("LASTING", lasting(who.member_id, period), period)
                    )
