"""`submit_claims`: a batch gives exactly the results of submitting its claims one by one,
is atomic (one rejected claim reverts it all), and pays the provider in one transfer.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from claimsengine.abi import text_to_bytes32
from claimsengine.chain.base import Receipt
from claimsengine.engine import ChainClaim
from claimsengine.errors import ClaimsError, TransactionReverted
from claimsengine.status import ClaimStatus

from .conftest import (
    TOKEN_SCALE,
    Deployment,
    deploy,
    make_plan,
    new_chain,
    pseudonym,
    reverts,
    service,
)

# Deductible 100.00, oop max 1000.00, 20%, benefit max 2000.00, auto-approve 500.00.
BATCH_PLAN = make_plan(
    "BATCH",
    [
        service("X", 30_000, max_units_per_day=2),
        service("U", 5_000, max_units_per_period=3),
        service("BIG", 100_000),
        service("Z", 12_000, copay=2_500, deductible_applies=False),
    ],
    deductible=10_000,
    out_of_pocket_max=100_000,
    annual_benefit_max=200_000,
    auto_approve_limit=50_000,
)


def d_(month: int, day: int) -> date:
    return date(2027, month, day)


def scenario(d: Deployment) -> list[ChainClaim]:
    """Claims that exercise every outcome; the pool (1000.00) runs short part-way.

    The comments give each claim's outcome when the claims are taken in order.
    """
    m1, m2, m3 = pseudonym("m1"), pseudonym("m2"), pseudonym("m3")
    return [
        d.claim(m1, d_(5, 1), [("X", 1, 30_000)]),  # ded 100, coins 40, plan 160: paid (840 left)
        d.claim(m1, d_(5, 1), [("X", 1, 30_000)]),  # same line as the claim before: 18, denied
        d.claim(m2, d_(5, 1), [("X", 1, 30_000)]),  # m2 not enrolled: 31, denied
        d.claim(m1, d_(5, 2), [("BIG", 1, 100_000)]),  # coins 200, plan 800: pending review
        d.claim(m1, d_(5, 3), [("U", 2, 10_000), ("U", 2, 10_000)]),  # 80 paid; 2 + 2 > 3: 119
        d.claim(m3, d_(5, 1), [("X", 3, 90_000)]),  # 3 > 2 a day: 151, denied
        d.claim(m3, d_(5, 1), [("X", 2, 60_000)]),  # ded 100, coins 100, plan 400: paid (360)
        d.claim(m3, d_(5, 2), [("X", 1, 30_000)]),  # coins 60, plan 240: paid (120 left)
        d.claim(m1, d_(5, 4), [("X", 1, 30_000)]),  # plan 240 > 120: queued
        d.claim(m3, d_(5, 3), [("Z", 1, 12_000)]),  # plan 95 would fit, but queued behind
        d.claim(m1, d_(5, 5), [("NOPE", 1, 100), ("X", 1, 35_000)]),  # 96 + plan 240: queued
        d.claim(m3, d_(5, 4), [("BIG", 1, 100_000)]),  # plan 800: pending review
    ]


EXPECTED_STATUSES = [
    ClaimStatus.PAID,
    ClaimStatus.DENIED,
    ClaimStatus.DENIED,
    ClaimStatus.PENDING_REVIEW,
    ClaimStatus.PAID,
    ClaimStatus.DENIED,
    ClaimStatus.PAID,
    ClaimStatus.PAID,
    ClaimStatus.QUEUED,
    ClaimStatus.QUEUED,
    ClaimStatus.QUEUED,
    ClaimStatus.PENDING_REVIEW,
]


def fresh() -> Deployment:
    d = deploy(new_chain(), BATCH_PLAN, fund_cents=100_000)
    d.enroll("m1", date(2026, 1, 1))
    d.enroll("m3", date(2026, 1, 1))
    return d


def engine_events(d: Deployment, receipts: list[Receipt]) -> list[tuple[str, dict[str, Any]]]:
    return [(e.name, e.args) for r in receipts for e in d.engine.decode_logs(r.logs)]


def state(d: Deployment) -> dict[str, Any]:
    members = [pseudonym(name) for name in ("m1", "m2", "m3")]
    return {
        "accumulators": [d.accumulators(m) for m in members],
        "units": [d.units(m, "U") for m in members],
        "pool": d.pool(),
        "hospital": d.balance(d.hospital),
        "engine": d.token.balance_of(d.engine.address),
        "next_claim_id": d.engine.next_claim_id(),
    }


def test_a_batch_equals_the_same_claims_one_by_one() -> None:
    one, batch = fresh(), fresh()
    claims = scenario(one)  # the same claims (same commitments) go to both engines
    singles = [one.engine.submit_claim(one.hospital, one.plan_id, c) for c in claims]
    together = batch.engine.submit_claims(batch.hospital, batch.plan_id, claims)

    assert [s.status for r in singles for s in one.read(r)] == EXPECTED_STATUSES
    assert [s.status for s in batch.read(together)] == EXPECTED_STATUSES
    # Every event, field by field and in order: ClaimSubmitted, LineAdjudicated, ClaimPaid,
    # ClaimQueued, ClaimPendingReview.
    assert engine_events(batch, [together]) == engine_events(one, singles)
    assert state(batch) == state(one)
    for claim in claims:
        assert batch.status(claim.commitment) == one.status(claim.commitment)
    # The hand-derived totals: paid 160 + 80 + 400 + 240 = 880.00, queued 240 + 95 + 240.
    assert batch.pool().balance == 100_000 - 88_000
    assert batch.pool().reserved == 24_000 + 9_500 + 24_000
    one.chain.close()
    batch.chain.close()


def test_paid_claims_reach_the_provider_in_one_transfer() -> None:
    d = fresh()
    payout = d.chain.accounts["hospital-3"]
    d.engine.set_payout(d.hospital, d.plan_id, "HOSP-A", payout)  # the provider's own choice
    m1, m3 = pseudonym("m1"), pseudonym("m3")
    claims = [
        d.claim(m1, d_(5, 1), [("X", 1, 30_000)]),  # plan 160.00
        d.claim(m3, d_(5, 1), [("Z", 1, 12_000)]),  # plan 95.00
        d.claim(m1, d_(5, 2), [("Z", 1, 12_000)]),  # plan 95.00
    ]
    subs = d.submit_batch(claims)
    receipt = subs[0].receipt
    assert [s.status for s in subs] == [ClaimStatus.PAID] * 3
    paid = d.events(receipt, "ClaimPaid")
    assert [(e["payee"], e["amount"]) for e in paid] == [
        (payout, 16_000),
        (payout, 9_500),
        (payout, 9_500),
    ]
    # One token transfer of 350.00 for the three.
    assert d.transfers(receipt) == [(d.engine.address, payout, 35_000 * TOKEN_SCALE)]
    assert d.balance(payout) == 35_000 * TOKEN_SCALE
    d.chain.close()


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("future", "claims: service date in the future"),
        ("zero_units", "claims: invalid claim"),
        ("no_lines", "claims: invalid claim"),
        ("repeat_in_batch", "claims: duplicate"),
        ("submitted_before", "claims: duplicate"),
    ],
)
def test_one_rejected_claim_reverts_the_batch(bad: str, reason: str) -> None:
    d = fresh()
    earlier = d.claim(pseudonym("m3"), d_(4, 1), [("Z", 1, 12_000)])
    d.submit(earlier)
    claims = scenario(d)
    broken = {
        "future": d.claim(pseudonym("m1"), date(2027, 6, 2), [("X", 1, 30_000)]),
        "zero_units": d.claim(pseudonym("m1"), d_(5, 9), [("X", 1, 30_000), ("Z", 0, 100)]),
        "no_lines": d.claim(pseudonym("m1"), d_(5, 9), []),
        "repeat_in_batch": claims[0],
        "submitted_before": earlier,
    }[bad]
    before = state(d)
    with reverts(reason):
        d.engine.submit_claims(d.hospital, d.plan_id, [*claims[:6], broken, *claims[6:]])
    assert state(d) == before
    assert all(d.status(c.commitment).status is None for c in claims)
    # Without the bad claim, the batch goes through.
    assert [s.status for s in d.submit_batch(claims)] == EXPECTED_STATUSES
    d.chain.close()


def test_a_batch_of_more_than_100_is_refused() -> None:
    d = fresh()
    m1 = pseudonym("m1")
    claims = [d.claim(m1, d_(5, 1), [("Z", 1, 12_000)]) for _ in range(101)]
    # The Engine says so before sending: an error of ours, not a revert.
    with pytest.raises(ClaimsError) as refused:
        d.engine.submit_claims(d.hospital, d.plan_id, claims)
    assert str(refused.value) == "a batch holds at most 100 claims, this one has 101"
    assert not isinstance(refused.value, TransactionReverted)
    # Sent anyway, the contract's ABI bound refuses it.
    with pytest.raises(TransactionReverted):
        d.engine.transact(
            d.hospital, "submit_claims", text_to_bytes32(d.plan_id), [c.as_abi() for c in claims]
        )
    assert d.engine.next_claim_id() == 1
    d.chain.close()


def test_an_empty_batch_does_nothing() -> None:
    d = fresh()
    before = state(d)
    assert d.submit_batch([]) == []
    assert state(d) == before
    d.chain.close()
