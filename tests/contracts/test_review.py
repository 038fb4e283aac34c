"""Claims above the auto-approve limit wait for an adjudicator (adjudication.md, "Claim
outcome"). Their accumulator effects apply at submission; approval pays or queues them;
denial takes back their deductible/oop/benefit effects, their period units and their
duplicate-line keys, and re-prices no other claim.

Plan: deductible 100.00, oop max 3000.00, 20%, auto-approve limit 500.00.
X fee 300.00; BIG fee 1000.00, at most 5 units a period; E fee 700.00, no deductible.
"""

from __future__ import annotations

from datetime import date

import pytest

from claimsengine import adjudication as oracle
from claimsengine.abi import text_to_bytes32
from claimsengine.chain.embedded import EmbeddedChain
from claimsengine.days import to_day
from claimsengine.engine import ChainClaim, PoolState
from claimsengine.plan import Service
from claimsengine.status import ClaimStatus

from .conftest import TOKEN_SCALE, Deployment, deploy, make_plan, reverts, service

REVIEW_PLAN = make_plan(
    "REVIEW",
    [
        service("X", 30_000),
        service("BIG", 100_000, max_units_per_period=5),
        service("E", 70_000, deductible_applies=False),
    ],
    deductible=10_000,
    out_of_pocket_max=300_000,
    auto_approve_limit=50_000,
)
DAY = date(2027, 5, 1)
# BIG x 1 billed 1000.00 for a member with nothing met: deductible 100.00, coinsurance
# floor(900.00 x 20%) = 180.00, plan_paid 720.00 > 500.00.
BIG_ONE = [("BIG", 1, 100_000)]


@pytest.fixture
def review(chain: EmbeddedChain) -> Deployment:
    return deploy(chain, REVIEW_PLAN, fund_cents=10_000_000)


@pytest.fixture
def member(review: Deployment) -> bytes:
    return review.enroll("m1", date(2026, 1, 1))


def status(d: Deployment, claim: ChainClaim | bytes) -> ClaimStatus:
    commitment = claim.commitment if isinstance(claim, ChainClaim) else claim
    return d.status(commitment).status


def test_above_the_limit_waits_for_review(review: Deployment, member: bytes) -> None:
    d = review
    pool_before, hospital_before = d.pool(), d.balance(d.hospital)
    sub = d.submit(d.claim(member, DAY, BIG_ONE))
    assert sub.status == ClaimStatus.PENDING_REVIEW
    assert sub.submitted["plan_paid"] == 72_000
    assert d.events(sub.receipt, "ClaimPendingReview") == [
        {"claim_id": sub.claim_id, "plan_id": text_to_bytes32(d.plan_id), "plan_paid": 72_000}
    ]
    assert "ClaimPaid" not in sub.names() and "ClaimQueued" not in sub.names()
    assert d.pool() == pool_before and d.balance(d.hospital) == hospital_before
    state = d.status(sub.submitted["commitment"])
    assert (state.status, state.plan_paid) == (ClaimStatus.PENDING_REVIEW, 72_000)
    # The accumulators are updated at submission: deductible 100, oop 100 + 180, plan 720.
    assert d.accumulators(member) == (10_000, 28_000, 72_000)
    assert d.units(member, "BIG") == 1


def test_at_the_limit_is_approved_and_one_cent_more_is_not(
    review: Deployment, member: bytes
) -> None:
    d = review
    # E billed 625.00: coinsurance 125.00, plan_paid 500.00 == the limit: paid.
    at = d.submit(d.claim(member, DAY, [("E", 1, 62_500)]))
    assert (at.status, at.submitted["plan_paid"]) == (ClaimStatus.PAID, 50_000)
    # E billed 625.01: coinsurance floor(125.002) = 125.00, plan_paid 500.01 > 500.00.
    over = d.submit(d.claim(member, date(2027, 5, 2), [("E", 1, 62_501)]))
    assert (over.status, over.submitted["plan_paid"]) == (ClaimStatus.PENDING_REVIEW, 50_001)


def test_approve_pays(review: Deployment, member: bytes) -> None:
    d = review
    sub = d.submit(d.claim(member, DAY, BIG_ONE))
    pool_before, hospital_before = d.pool(), d.balance(d.hospital)
    receipt = d.review(sub.claim_id, True)
    assert d.events(receipt, "ClaimReviewed") == [
        {
            "claim_id": sub.claim_id,
            "plan_id": text_to_bytes32(d.plan_id),
            "adjudicator": d.adjudicator,
            "approved": True,
            "reason": 0,  # no reason on approval
        }
    ]
    paid = d.events(receipt, "ClaimPaid")
    assert [(e["claim_id"], e["payee"], e["amount"]) for e in paid] == [
        (sub.claim_id, d.hospital, 72_000)
    ]
    assert d.balance(d.hospital) - hospital_before == 72_000 * TOKEN_SCALE
    assert d.pool().balance == pool_before.balance - 72_000
    assert status(d, sub.submitted["commitment"]) == ClaimStatus.PAID
    assert d.accumulators(member) == (10_000, 28_000, 72_000)  # approval changes nothing


def test_approve_queues_when_the_pool_is_short(chain: EmbeddedChain) -> None:
    d = deploy(chain, REVIEW_PLAN, fund_cents=10_000)  # 100.00
    member = d.enroll("m1", date(2026, 1, 1))
    sub = d.submit(d.claim(member, DAY, BIG_ONE))
    receipt = d.review(sub.claim_id, True)
    assert [e["claim_id"] for e in d.events(receipt, "ClaimQueued")] == [sub.claim_id]
    assert d.events(receipt, "ClaimPaid") == []
    assert status(d, sub.submitted["commitment"]) == ClaimStatus.QUEUED
    assert d.pool() == PoolState(balance=10_000, reserved=72_000, head=0, tail=1)
    d.fund(62_000)  # 100.00 + 620.00 = 720.00
    assert status(d, sub.submitted["commitment"]) == ClaimStatus.PAID
    assert d.pool() == PoolState(0, 0, 1, 1)


def test_an_approved_claim_does_not_overtake_queued_ones(chain: EmbeddedChain) -> None:
    d = deploy(chain, REVIEW_PLAN, fund_cents=0)
    first = d.enroll("m1", date(2026, 1, 1))
    pending = d.submit(d.claim(first, DAY, BIG_ONE))
    # X for 33 other members: deductible 100.00, coinsurance 40.00, plan_paid 160.00 each:
    # queued (pool empty).
    others = [d.enroll(f"q{n}", date(2026, 1, 1)) for n in range(33)]
    queued = d.submit_batch([d.claim(m, DAY, [("X", 1, 30_000)]) for m in others])
    assert {sub.status for sub in queued} == {ClaimStatus.QUEUED}
    # Funding settles 32 of them: the money for the 33rd is in the pool, and the pending
    # claim is approved before anyone settles: the pool covers it, but the 33rd came first.
    d.fund(700_000)
    assert d.pool() == PoolState(700_000 - 32 * 16_000, 16_000, 32, 33)
    receipt = d.review(pending.claim_id, True)
    assert [(e["claim_id"], e["position"]) for e in d.events(receipt, "ClaimQueued")] == [
        (pending.claim_id, 33)
    ]
    assert d.events(receipt, "ClaimPaid") == []
    d.engine.settle(d.outsider, d.plan_id)
    paid = [e["claim_id"] for e in d.all_events("ClaimPaid")]
    assert paid == [sub.claim_id for sub in queued] + [pending.claim_id]
    # 7000.00 - 33 x 160.00 - 720.00 = 1000.00.
    assert d.pool() == PoolState(100_000, 0, 34, 34)


def test_deny_restores_the_accumulators_exactly(review: Deployment, member: bytes) -> None:
    d = review
    # A: X billed 300.00: deductible 100.00, coinsurance 40.00, plan 160.00; paid.
    d.submit(d.claim(member, date(2027, 4, 30), [("X", 1, 30_000)]))
    before = d.accumulators(member)
    assert before == (10_000, 14_000, 16_000)
    # P: BIG x 2 billed 2000.00: deductible 0 (met), coinsurance 400.00, plan 1600.00.
    pool_before, hospital_before = d.pool(), d.balance(d.hospital)
    pending = d.submit(d.claim(member, DAY, [("BIG", 2, 200_000)]))
    assert pending.status == ClaimStatus.PENDING_REVIEW
    assert d.accumulators(member) == (10_000, 54_000, 176_000)
    assert d.units(member, "BIG") == 2
    receipt = d.review(pending.claim_id, False)
    assert [e["approved"] for e in d.events(receipt, "ClaimReviewed")] == [False]
    assert d.events(receipt, "ClaimPaid") == [] and d.events(receipt, "ClaimQueued") == []
    assert status(d, pending.submitted["commitment"]) == ClaimStatus.DENIED
    assert d.accumulators(member) == before
    assert d.units(member, "BIG") == 0
    assert d.pool() == pool_before and d.balance(d.hospital) == hospital_before


def test_deny_takes_back_only_its_own_effects(review: Deployment, member: bytes) -> None:
    d = review
    # P (fresh member): BIG x 1: deductible 100.00, coinsurance 180.00, plan 720.00.
    pending = d.submit(d.claim(member, DAY, BIG_ONE))
    # Q, later: X sees P's deductible as met: coinsurance 60.00, plan 240.00.
    later = d.submit(d.claim(member, date(2027, 5, 2), [("X", 1, 30_000)]))
    assert [later.lines[0][k] for k in ("deductible", "coinsurance", "plan_paid")] == [
        0,
        6_000,
        24_000,
    ]
    assert d.accumulators(member) == (10_000, 34_000, 96_000)
    d.review(pending.claim_id, False)
    # P's (100, 280, 720) comes off; Q keeps its price and its (0, 60, 240).
    assert d.accumulators(member) == (0, 6_000, 24_000)
    assert status(d, later.submitted["commitment"]) == ClaimStatus.PAID
    # The oracle agrees.
    plan, ledger = REVIEW_PLAN, oracle.Ledger()
    ledger.enroll("m1", oracle.Enrollment(to_day(date(2026, 1, 1))))
    today = d.engine.today()
    p = oracle.ClaimInput(
        "m1", "H", to_day(DAY), False, (oracle.ClaimLineInput("BIG", 1, 100_000),)
    )
    q = oracle.ClaimInput(
        "m1", "H", to_day(date(2027, 5, 2)), False, (oracle.ClaimLineInput("X", 1, 30_000),)
    )
    p_result = oracle.adjudicate(plan, ledger, p, today=today)
    oracle.adjudicate(plan, ledger, q, today=today)
    oracle.reverse(plan, ledger, p, p_result)
    acc = ledger.accumulators("m1", 0)
    assert (acc.deductible_met, acc.oop_met, acc.benefit_used) == d.accumulators(member)


def test_later_claims_are_priced_with_the_pending_claims_effects(
    review: Deployment, member: bytes
) -> None:
    d = review
    d.submit(d.claim(member, DAY, BIG_ONE))  # pending: meets the deductible
    (line,) = d.submit(d.claim(member, date(2027, 5, 2), [("X", 1, 30_000)])).lines
    assert (line["deductible"], line["coinsurance"], line["plan_paid"]) == (0, 6_000, 24_000)


def test_deny_frees_the_units(review: Deployment, member: bytes) -> None:
    d = review
    # BIG x 5 billed 5000.00: deductible 100.00, coinsurance 980.00, plan 3920.00: pending.
    pending = d.submit(d.claim(member, DAY, [("BIG", 5, 500_000)]))
    assert pending.status == ClaimStatus.PENDING_REVIEW
    # While it waits, its 5 units count: one more is 119.
    held = d.submit(d.claim(member, date(2027, 5, 2), [("BIG", 1, 100_000)]))
    assert held.lines[0]["denial"] == 119
    d.review(pending.claim_id, False)
    assert d.units(member, "BIG") == 0
    freed = d.submit(d.claim(member, date(2027, 5, 3), [("BIG", 5, 500_000)]))
    assert freed.lines[0]["denial"] == 0


def test_deny_frees_its_duplicate_line_keys_only(review: Deployment, member: bytes) -> None:
    d = review
    d.submit(d.claim(member, DAY, [("X", 1, 30_000)]))  # E: holds (m1, hospital, X, DAY)
    pending = d.submit(d.claim(member, DAY, [("X", 1, 30_000), ("BIG", 1, 100_000)]))
    assert [line["denial"] for line in pending.lines] == [18, 0]
    assert pending.status == ClaimStatus.PENDING_REVIEW
    held = d.submit(d.claim(member, DAY, BIG_ONE))
    assert held.lines[0]["denial"] == 18  # P holds the BIG key while it waits
    d.review(pending.claim_id, False)
    # P's BIG key is free again; E's X key is not (P's X line was denied and held none).
    after = d.submit(d.claim(member, DAY, [("X", 1, 30_000), ("BIG", 1, 100_000)]))
    assert [line["denial"] for line in after.lines] == [18, 0]


def test_review_twice_is_refused(review: Deployment, member: bytes) -> None:
    d = review
    approved = d.submit(d.claim(member, DAY, BIG_ONE))
    denied = d.submit(d.claim(member, date(2027, 5, 2), BIG_ONE))
    d.review(approved.claim_id, True)
    d.review(denied.claim_id, False)
    for claim_id in (approved.claim_id, denied.claim_id):
        for decision in (True, False):
            with reverts("claims: not pending review"):
                d.review(claim_id, decision)
    assert status(d, approved.submitted["commitment"]) == ClaimStatus.PAID
    assert status(d, denied.submitted["commitment"]) == ClaimStatus.DENIED


def test_review_of_a_claim_that_never_waited_is_refused(review: Deployment, member: bytes) -> None:
    d = review
    paid = d.submit(d.claim(member, DAY, [("X", 1, 30_000)]))
    line_denied = d.submit(d.claim(member, DAY, [("NOPE", 1, 100)]))
    for claim_id in (paid.claim_id, line_denied.claim_id, 999):
        with reverts("claims: not pending review"):
            d.review(claim_id, True)


NEXT_PERIOD = to_day(date(2028, 1, 1))  # REVIEW_PLAN: 365-day periods from 2027-01-01


def next_version(d: Deployment, *changed: Service) -> None:
    """A schedule version from the next benefit period, with `changed` codes replaced."""
    codes = {s.code: s for s in (*d.plan.services, *changed)}
    d.engine.update_schedule(d.insurer, d.plan_id, list(codes.values()), NEXT_PERIOD)


def test_deny_after_a_period_limit_was_added(review: Deployment, member: bytes) -> None:
    d = review
    pending = d.submit(d.claim(member, DAY, [("X", 1, 30_000), ("BIG", 1, 100_000)]))
    assert pending.status == ClaimStatus.PENDING_REVIEW
    next_version(d, service("X", 30_000, max_units_per_period=9))
    d.review(pending.claim_id, False)
    assert d.accumulators(member) == (0, 0, 0)
    assert d.units(member, "X") == 0


def test_deny_after_a_period_limit_was_removed(review: Deployment, member: bytes) -> None:
    d = review
    pending = d.submit(d.claim(member, DAY, [("BIG", 5, 500_000)]))
    next_version(d, service("BIG", 100_000))
    d.review(pending.claim_id, False)
    # Spec: the denial took back the claim's period units, so 5 units fit again (this
    # period's version still has the limit of 5).
    again = d.submit(d.claim(member, date(2027, 5, 2), [("BIG", 5, 500_000)]))
    assert again.lines[0]["denial"] == 0
