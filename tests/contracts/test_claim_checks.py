"""Claim-level checks 1-9 of adjudication.md, on the contract.

Rejects (1-4) revert with the exact reason and record nothing. Denials (5-9) record the
claim as denied with the code on every line: allowed 0, plan_paid 0, nothing accumulated,
nothing paid. Every check also has a test at its boundary, where it must not fire.

The chain's today is 2027-06-01. Amounts are cents: 300.00 is 30000.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from claimsengine.abi import text_to_bytes32
from claimsengine.chain.embedded import EmbeddedChain
from claimsengine.engine import ChainClaim
from claimsengine.errors import ClaimRejected, NotAuthorised, TransactionReverted
from claimsengine.status import ClaimStatus

from .conftest import (
    TODAY,
    Deployment,
    Submitted,
    deploy,
    make_plan,
    pseudonym,
    reverts,
    service,
)

# Effective 2027-01-01, 30-day waiting period, 90-day timely filing, deductible 100.00.
# X: fee 300.00. P: fee 50.00, at most 2 units a period (to see that nothing is counted).
SERVICES = [service("X", 30_000), service("P", 5_000, max_units_per_period=2)]
CHECKS_PLAN = make_plan(
    "CHECKS", SERVICES, deductible=10_000, waiting_period_days=30, timely_filing_days=90
)
# Filing is timely back to 2027-03-03, after the effective day; the effective-day boundary
# needs a plan that takes older claims (check 9 would fire first otherwise).
LONG_FILING_PLAN = make_plan(
    "LONG-FILING", SERVICES, deductible=10_000, waiting_period_days=30, timely_filing_days=365
)
# A plan without a waiting period, where only check 6 can deny a day before coverage start.
NO_WAIT_PLAN = make_plan("NO-WAIT", SERVICES, deductible=10_000)
DAY = date(2027, 5, 1)  # a service day no check minds for a member enrolled since 2026
LINES = [("X", 1, 30_000), ("P", 2, 5_000)]
# Priced, for a member with nothing met: X allowed 300.00, deductible 100.00,
# coinsurance floor(200.00 x 20%) = 40.00, plan_paid 160.00; P allowed min(50.00, 2 x 50.00)
# = 50.00, deductible 0 (met), coinsurance 10.00, plan_paid 40.00.
PRICED_PLAN_PAID = 16_000 + 4_000


@pytest.fixture
def checks(chain: EmbeddedChain) -> Deployment:
    return deploy(chain, CHECKS_PLAN, fund_cents=1_000_000)


def assert_denied(d: Deployment, sub: Submitted, member: bytes, code: int) -> None:
    """A claim-level denial: `code` on every line, nothing priced, accumulated or paid."""
    assert sub.status == ClaimStatus.DENIED
    assert sub.submitted["status"] == ClaimStatus.DENIED.code and sub.submitted["plan_paid"] == 0
    assert len(sub.lines) == len(LINES)
    for line, (_code, units, billed) in zip(sub.lines, LINES, strict=True):
        assert line["denial"] == code
        assert (line["units"], line["billed"]) == (units, billed)
        assert line["allowed"] == line["plan_paid"] == 0
        assert line["deductible"] == line["copay"] == line["coinsurance"] == 0
        assert line["benefit_limit"] == 0
    assert "ClaimPaid" not in sub.names() and "ClaimQueued" not in sub.names()
    assert d.accumulators(member) == (0, 0, 0)
    assert d.units(member, "P") == 0
    assert d.status(sub.submitted["commitment"]).status == ClaimStatus.DENIED


def assert_priced(sub: Submitted) -> None:
    """No check fired: both lines priced as for a member with nothing met, and paid."""
    assert sub.status == ClaimStatus.PAID
    assert [line["denial"] for line in sub.lines] == [0, 0]
    assert sub.submitted["plan_paid"] == PRICED_PLAN_PAID


# -- 1: the caller is not an active provider of this plan ---------------------------------


@pytest.mark.parametrize("who", ["outsider", "insurer", "adjudicator"])
def test_1_not_a_provider_is_rejected(checks: Deployment, who: str) -> None:
    member = checks.enroll("m1", date(2026, 1, 1))
    claim = checks.claim(member, DAY, LINES)
    with reverts("claims: not authorised") as info:
        checks.engine.submit_claim(getattr(checks, who), checks.plan_id, claim)
    assert isinstance(info.value, NotAuthorised)
    assert checks.engine.next_claim_id() == 1  # nothing recorded


def test_1_a_registered_provider_is_accepted(checks: Deployment) -> None:
    member = checks.enroll("m1", date(2026, 1, 1))
    other = checks.enroll("m2", date(2026, 1, 1))
    assert_priced(checks.submit(checks.claim(member, DAY, LINES)))
    second = checks.claim(other, DAY, LINES)
    assert_priced(checks.submit(second, sender=checks.hospital2))


def test_1_a_provider_of_another_plan_is_rejected(checks: Deployment) -> None:
    other = checks.with_plan(make_plan("OTHER", [service("X", 30_000)]))
    hospital3 = checks.chain.accounts["hospital-3"]
    other.engine.register_provider(other.insurer, other.plan_id, "HOSP-C", hospital3)
    member = checks.enroll("m1", date(2026, 1, 1))
    with reverts("claims: not authorised"):
        checks.submit(checks.claim(member, DAY, LINES), sender=hospital3)


def test_1_comes_before_the_other_rejects(checks: Deployment) -> None:
    # An outsider sending an invalid, future-dated claim hears "not authorised" first.
    claim = checks.claim(b"\x01" * 32, TODAY + timedelta(days=1), [])
    with reverts("claims: not authorised"):
        checks.engine.submit_claim(checks.outsider, checks.plan_id, claim)


# -- 2: the record commitment was submitted before by this provider to this plan -----------


def test_2_same_commitment_is_rejected(checks: Deployment) -> None:
    member = checks.enroll("m1", date(2026, 1, 1))
    claim = checks.claim(member, DAY, LINES)
    first = checks.submit(claim)
    with reverts("claims: duplicate"):
        checks.submit(claim)
    # Different contents do not make it new for the same provider and plan.
    again = checks.claim(member, date(2027, 3, 2), [("X", 1, 100)], commitment=claim.commitment)
    with reverts("claims: duplicate"):
        checks.submit(again)
    state = checks.status(claim.commitment)
    assert (state.claim_id, state.status) == (first.claim_id, ClaimStatus.PAID)
    assert checks.engine.next_claim_id() == 2


def test_2_another_provider_may_use_the_same_commitment(checks: Deployment) -> None:
    # Spec: check 2 is per provider and plan; another provider's commitment is its own.
    member = checks.enroll("m1", date(2026, 1, 1))
    claim = checks.claim(member, DAY, LINES)
    first = checks.submit(claim)
    theirs = checks.submit(claim, sender=checks.hospital2)
    assert theirs.claim_id == first.claim_id + 1
    assert checks.status(claim.commitment).claim_id == first.claim_id
    assert checks.status(claim.commitment, "HOSP-B").claim_id == theirs.claim_id


def test_2_a_denied_claim_is_a_duplicate_too(checks: Deployment) -> None:
    claim = checks.claim(b"\x02" * 32, DAY, LINES)  # not enrolled: denied 31
    assert checks.submit(claim).status == ClaimStatus.DENIED
    with reverts("claims: duplicate"):
        checks.submit(claim)


def test_2_same_commitment_in_a_different_plan_is_that_plan_s_own(checks: Deployment) -> None:
    # Spec: check 2 is per provider and plan; the other plan takes the claim as new.
    other = checks.with_plan(make_plan("OTHER", [service("X", 30_000)]), fund_cents=100_000)
    member = checks.enroll("m1", date(2026, 1, 1))
    other.enroll("m1", date(2026, 1, 1))
    claim = checks.claim(member, DAY, LINES)
    first = checks.submit(claim)
    theirs = other.submit(claim)
    assert theirs.lines[0]["denial"] == 0  # X is priced in OTHER
    assert other.status(claim.commitment).claim_id == theirs.claim_id
    assert checks.status(claim.commitment).claim_id == first.claim_id


def test_2_a_new_commitment_is_accepted(checks: Deployment) -> None:
    member = checks.enroll("m1", date(2026, 1, 1))
    checks.submit(checks.claim(member, DAY, LINES))
    # Same contents, new commitment: accepted as a claim (its lines are then rule c's).
    sub = checks.submit(checks.claim(member, DAY, LINES))
    assert [line["denial"] for line in sub.lines] == [18, 18]


def test_2_comes_before_3(checks: Deployment) -> None:
    member = checks.enroll("m1", date(2026, 1, 1))
    claim = checks.claim(member, DAY, LINES)
    checks.submit(claim)
    empty = ChainClaim(claim.commitment, member, claim.service_day, False, ())
    with reverts("claims: duplicate"):
        checks.submit(empty)


# -- 3: no lines, more lines than the limit, or a line with 0 units ------------------------


def test_3_no_lines_is_rejected(checks: Deployment) -> None:
    member = checks.enroll("m1", date(2026, 1, 1))
    with reverts("claims: invalid claim"):
        checks.submit(checks.claim(member, DAY, []))
    assert checks.engine.next_claim_id() == 1


def test_3_a_line_with_zero_units_is_rejected(checks: Deployment) -> None:
    member = checks.enroll("m1", date(2026, 1, 1))
    claim = checks.claim(member, DAY, [("X", 1, 30_000), ("P", 0, 5_000)])
    with reverts("claims: invalid claim"):
        checks.submit(claim)
    assert checks.status(claim.commitment).status is None
    assert checks.accumulators(member) == (0, 0, 0)


def test_3_thirty_two_lines_and_one_unit_are_accepted(checks: Deployment) -> None:
    member = checks.enroll("m1", date(2026, 1, 1))
    sub = checks.submit(checks.claim(member, DAY, [("X", 1, 100)] * 32))
    # Each line: allowed 1.00, all deductible (100.00 > 32 x 1.00): plan_paid 0.
    assert len(sub.lines) == 32
    assert all(line["denial"] == 0 and line["deductible"] == 100 for line in sub.lines)
    assert checks.accumulators(member) == (3_200, 3_200, 0)


def test_3_more_lines_than_the_limit_is_rejected(checks: Deployment) -> None:
    # The Engine refuses it before sending (the contract's ABI bound would revert it with no
    # reason): a reject of check 3, not a revert that never happened.
    member = checks.enroll("m1", date(2026, 1, 1))
    with pytest.raises(ClaimRejected) as rejected:
        checks.submit(checks.claim(member, DAY, [("X", 1, 100)] * 33))
    assert rejected.value.reason == "invalid claim"
    assert str(rejected.value) == "claim rejected: invalid claim (33 lines, at most 32)"
    assert not isinstance(rejected.value, TransactionReverted)


def test_3_more_lines_than_the_limit_reverts_and_records_nothing(checks: Deployment) -> None:
    # Sent anyway, past the Engine's check, the contract itself refuses it.
    member = checks.enroll("m1", date(2026, 1, 1))
    claim = checks.claim(member, DAY, [("X", 1, 100)] * 33)
    with pytest.raises(TransactionReverted):
        checks.engine.transact(
            checks.hospital, "submit_claim", text_to_bytes32(checks.plan_id), claim.as_abi()
        )
    assert checks.status(claim.commitment).status is None
    assert checks.engine.next_claim_id() == 1


def test_3_comes_before_4(checks: Deployment) -> None:
    member = checks.enroll("m1", date(2026, 1, 1))
    with reverts("claims: invalid claim"):
        checks.submit(checks.claim(member, TODAY + timedelta(days=1), [("X", 0, 100)]))


# -- 4: the service day is after today -------------------------------------------------------


def test_4_tomorrow_is_rejected(checks: Deployment) -> None:
    member = checks.enroll("m1", date(2026, 1, 1))
    claim = checks.claim(member, TODAY + timedelta(days=1), LINES)
    with reverts("claims: service date in the future"):
        checks.submit(claim)
    assert checks.status(claim.commitment).status is None
    # Nothing was recorded, so the same record can be sent once the day has come.
    checks.chain.set_time(checks.chain.now() + 86_400)
    assert_priced(checks.submit(claim))


def test_4_today_is_accepted(checks: Deployment) -> None:
    member = checks.enroll("m1", date(2026, 1, 1))
    assert_priced(checks.submit(checks.claim(member, TODAY, LINES)))


def test_4_comes_before_5(checks: Deployment) -> None:
    claim = checks.claim(b"\x03" * 32, TODAY + timedelta(days=1), LINES)  # not enrolled either
    with reverts("claims: service date in the future"):
        checks.submit(claim)


# -- 5: the member is not enrolled in the plan -------------------------------------------------


def test_5_not_enrolled_is_denied_31(checks: Deployment) -> None:
    member = pseudonym("m1")  # not enrolled (yet)
    hospital_before = checks.balance(checks.hospital)
    pool_before = checks.pool()
    sub = checks.submit(checks.claim(member, DAY, LINES))
    assert_denied(checks, sub, member, 31)
    assert checks.balance(checks.hospital) == hospital_before
    assert checks.pool() == pool_before
    # A denied claim keeps no duplicate-line keys: once enrolled, the same lines are priced.
    assert checks.enroll("m1", date(2026, 1, 1)) == member
    assert_priced(checks.submit(checks.claim(member, DAY, LINES)))


def test_5_enrolled_in_another_plan_only_is_denied_31(checks: Deployment) -> None:
    other = checks.with_plan(make_plan("OTHER", [service("X", 30_000)]))
    member = other.enroll("m1", date(2026, 1, 1))
    assert_denied(checks, checks.submit(checks.claim(member, DAY, LINES)), member, 31)


def test_5_comes_before_9(checks: Deployment) -> None:
    # Not enrolled and filed late: 31, not 29.
    sub = checks.submit(checks.claim(b"\x05" * 32, date(2027, 1, 2), LINES))
    assert_denied(checks, sub, b"\x05" * 32, 31)


# -- 6: before the later of the plan's effective day and the coverage start -----------------


def test_6_before_the_effective_day_is_denied_26(chain: EmbeddedChain) -> None:
    # Coverage from 2026-06-01 (its waiting period ended 2026-07-01), plan effective 2027-01-01.
    d = deploy(chain, LONG_FILING_PLAN, fund_cents=100_000)
    member = d.enroll("m1", date(2026, 6, 1))
    assert_denied(d, d.submit(d.claim(member, date(2026, 12, 31), LINES)), member, 26)


def test_6_on_the_effective_day_is_fine(chain: EmbeddedChain) -> None:
    d = deploy(chain, LONG_FILING_PLAN, fund_cents=100_000)
    member = d.enroll("m1", date(2026, 6, 1))
    assert_priced(d.submit(d.claim(member, date(2027, 1, 1), LINES)))


def test_6_before_the_coverage_start_is_denied_26(chain: EmbeddedChain) -> None:
    # No waiting period, so only check 6 can deny: coverage from 2027-03-01.
    d = deploy(chain, NO_WAIT_PLAN, fund_cents=100_000)
    member = d.enroll("m1", date(2027, 3, 1))
    assert_denied(d, d.submit(d.claim(member, date(2027, 2, 28), LINES)), member, 26)
    assert_priced(d.submit(d.claim(member, DAY, LINES)))  # the start day is covered


# -- 7: after the member's coverage end ---------------------------------------------------------


def test_7_after_coverage_end_is_denied_27(checks: Deployment) -> None:
    member = checks.enroll("m1", date(2026, 1, 1), date(2027, 4, 30))
    assert_denied(checks, checks.submit(checks.claim(member, date(2027, 5, 1), LINES)), member, 27)


def test_7_on_the_coverage_end_is_fine(checks: Deployment) -> None:
    member = checks.enroll("m1", date(2026, 1, 1), date(2027, 4, 30))
    assert_priced(checks.submit(checks.claim(member, date(2027, 4, 30), LINES)))


def test_7_comes_before_8(checks: Deployment) -> None:
    # Covered 2027-04-01..2027-04-10; waiting until 2027-05-01. 2027-04-15 fails 7 and 8: 27.
    member = checks.enroll("m1", date(2027, 4, 1), date(2027, 4, 10))
    assert_denied(checks, checks.submit(checks.claim(member, date(2027, 4, 15), LINES)), member, 27)


def test_7_reenrolment_updates_the_dates(checks: Deployment) -> None:
    member = checks.enroll("m1", date(2026, 1, 1), date(2027, 4, 30))
    checks.enroll("m1", date(2026, 1, 1))  # open-ended again
    assert_priced(checks.submit(checks.claim(member, date(2027, 5, 1), LINES)))


# -- 8: before coverage start + waiting_period_days ---------------------------------------------


def test_8_in_the_waiting_period_is_denied_26(checks: Deployment) -> None:
    # Coverage from 2027-03-01 + 30 days' wait: claims from 2027-03-31 on. 2027-03-30 is 26.
    member = checks.enroll("m1", date(2027, 3, 1))
    assert_denied(checks, checks.submit(checks.claim(member, date(2027, 3, 30), LINES)), member, 26)


def test_8_on_the_first_day_after_the_wait_is_fine(checks: Deployment) -> None:
    member = checks.enroll("m1", date(2027, 3, 1))
    assert_priced(checks.submit(checks.claim(member, date(2027, 3, 31), LINES)))


def test_8_comes_before_9(checks: Deployment) -> None:
    # Coverage from 2027-02-01, wait until 2027-03-03; 2027-02-15 is also 106 days ago (> 90).
    member = checks.enroll("m1", date(2027, 2, 1))
    assert_denied(checks, checks.submit(checks.claim(member, date(2027, 2, 15), LINES)), member, 26)


# -- 9: today - service day > timely_filing_days -------------------------------------------------


def test_9_filed_late_is_denied_29(checks: Deployment) -> None:
    # today 2027-06-01 - 2027-03-02 = 91 days > 90.
    member = checks.enroll("m1", date(2026, 1, 1))
    assert (TODAY - date(2027, 3, 2)).days == 91
    assert_denied(checks, checks.submit(checks.claim(member, date(2027, 3, 2), LINES)), member, 29)


def test_9_filed_on_the_last_day_is_fine(checks: Deployment) -> None:
    # today - 2027-03-03 = 90 days, not more than 90.
    member = checks.enroll("m1", date(2026, 1, 1))
    assert (TODAY - date(2027, 3, 3)).days == 90
    assert_priced(checks.submit(checks.claim(member, date(2027, 3, 3), LINES)))


def test_9_counts_from_the_chain_day_of_submission(checks: Deployment) -> None:
    # A claim for 2027-03-03 is on time today and late tomorrow.
    member = checks.enroll("m1", date(2026, 1, 1))
    checks.chain.set_time(checks.chain.now() + 86_400)
    assert_denied(checks, checks.submit(checks.claim(member, date(2027, 3, 3), LINES)), member, 29)
