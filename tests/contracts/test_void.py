"""Voids and provider debt (adjudication.md, "Before and after a claim").

A provider voids its own claim that is pending_review, queued or paid, within
timely_filing_days of the service day: its accumulator effects, period units and
duplicate-line keys are taken back, it leaves the queue without reordering the others,
and a paid claim's plan_paid becomes the provider's debt to the plan, kept back from the
provider's next payments from that plan (immediate, batch, settlement, review, collect).

Plan VOID: deductible 100.00, oop max 3000.00, 20%, auto-approve up to 500.00, 30 days to
file. X fee 300.00; U fee 50.00, at most 4 units a period; BIG fee 1000.00.
Today is 2027-06-01; claims are for 2027-05-20 unless told.

Amounts, by hand, for a member with nothing met:
- X x 1 billed 300.00: deductible 100.00, coinsurance floor(200.00 x 20%) = 40.00,
  plan_paid 160.00 (ONE_X).
- X x 2 billed 600.00: deductible 100.00, coinsurance 100.00, plan_paid 400.00 (TWO_X).
- U x 2 billed 100.00: deductible 100.00, plan_paid 0.
- BIG x 1 billed 1000.00: deductible 100.00, coinsurance 180.00, plan_paid 720.00: review.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest

from claimsengine.abi import text_to_bytes32
from claimsengine.chain.embedded import EmbeddedChain
from claimsengine.engine import ChainClaim, ClaimEffects, PoolState
from claimsengine.status import ClaimStatus

from .conftest import (
    TODAY,
    TOKEN_SCALE,
    Deployment,
    HostileToken,
    Submitted,
    deploy,
    make_plan,
    noon,
    reverts,
    service,
)
from .test_gas import report

VOID_PLAN = make_plan(
    "VOID",
    [
        service("X", 30_000),
        service("U", 5_000, max_units_per_period=4),
        service("BIG", 100_000),
    ],
    deductible=10_000,
    out_of_pocket_max=300_000,
    auto_approve_limit=50_000,
    timely_filing_days=30,
)
DAY = date(2027, 5, 20)
ONE_X = [("X", 1, 30_000)]
ONE_X_PAID = 16_000
TWO_X = [("X", 2, 60_000)]
TWO_X_PAID = 40_000
BIG_ONE = [("BIG", 1, 100_000)]
FUNDS = 10_000_000


@pytest.fixture
def d(chain: EmbeddedChain) -> Deployment:
    return deploy(chain, VOID_PLAN, fund_cents=FUNDS)


@pytest.fixture
def member(d: Deployment) -> bytes:
    return d.enroll("m1", date(2026, 1, 1))


def state(d: Deployment, sub: Submitted, provider: str = "HOSP-A") -> ClaimStatus | None:
    return d.status(sub.submitted["commitment"], provider).status


def debt(d: Deployment, provider: str = "HOSP-A") -> int:
    return d.engine.provider_info(d.plan_id, provider).debt


def void(d: Deployment, sub: Submitted, *, sender: str | None = None) -> dict[str, object]:
    receipt = d.engine.void(sender or d.hospital, sub.claim_id)
    (voided,) = d.events(receipt, "ClaimVoided")
    return voided


def send_void(d: Deployment, sender: str, effects: ClaimEffects | None, position: int = 0) -> None:
    """void_claim with effects as given (forged ones included)."""
    assert effects is not None
    d.engine.transact(
        sender,
        "void_claim",
        text_to_bytes32(d.plan_id),
        effects.commitment,
        effects.as_abi(),
        position,
    )


# -- what a void takes back -----------------------------------------------------------------


def test_void_of_a_paid_claim_takes_back_its_effects_and_makes_a_debt(
    d: Deployment, member: bytes
) -> None:
    paid = d.submit(d.claim(member, DAY, ONE_X + [("U", 2, 10_000)]))
    assert paid.status == ClaimStatus.PAID
    # X: plan_paid 160.00 (deductible 100.00, coinsurance 40.00); U after the deductible
    # is met: allowed 100.00, coinsurance 20.00, plan_paid 80.00. Total 240.00.
    assert paid.submitted["plan_paid"] == 24_000
    assert d.accumulators(member) == (10_000, 16_000, 24_000)
    assert d.units(member, "U") == 2
    pool_before, hospital_before = d.pool(), d.balance(d.hospital)

    voided = void(d, paid)
    assert voided == {
        "claim_id": paid.claim_id,
        "plan_id": text_to_bytes32(d.plan_id),
        "provider_ref": text_to_bytes32("HOSP-A"),
        "status_before": ClaimStatus.PAID.code,
        "replaced_by": 0,
        "debt": 24_000,
    }
    assert state(d, paid) == ClaimStatus.VOIDED
    assert d.status(paid.submitted["commitment"]).plan_paid == 24_000  # as adjudicated
    assert d.accumulators(member) == (0, 0, 0)
    assert d.units(member, "U") == 0
    assert debt(d) == 24_000
    # No money moves on a void: the debt is a claim on later payments.
    assert d.pool() == pool_before
    assert d.balance(d.hospital) == hospital_before
    # The duplicate-line keys are free again: the same lines are priced, not denied 18.
    again = d.submit(d.claim(member, DAY, ONE_X))
    assert again.lines[0]["denial"] == 0


def test_void_of_a_pending_claim_ends_its_review(d: Deployment, member: bytes) -> None:
    pending = d.submit(d.claim(member, DAY, BIG_ONE))
    assert pending.status == ClaimStatus.PENDING_REVIEW
    assert d.accumulators(member) == (10_000, 28_000, 72_000)
    voided = void(d, pending)
    assert (voided["status_before"], voided["debt"]) == (ClaimStatus.PENDING_REVIEW.code, 0)
    assert d.accumulators(member) == (0, 0, 0)
    assert debt(d) == 0
    with reverts("claims: not pending review"):
        d.review(pending.claim_id, True)


def test_void_of_a_queued_claim_leaves_a_hole_that_settlement_skips(
    chain: EmbeddedChain,
) -> None:
    d = deploy(chain, VOID_PLAN, fund_cents=0)
    member = d.enroll("m1", date(2026, 1, 1))
    first = d.submit(d.claim(member, DAY, ONE_X))  # 160.00
    second = d.submit(d.claim(member, DAY - timedelta(days=1), TWO_X))
    third = d.submit(d.claim(member, DAY - timedelta(days=2), ONE_X))
    assert [s.status for s in (first, second, third)] == [ClaimStatus.QUEUED] * 3
    amounts = [s.submitted["plan_paid"] for s in (first, second, third)]
    # The deductible was met by the first: X x 2 -> coinsurance 120.00, plan_paid 480.00;
    # X x 1 -> coinsurance 60.00, plan_paid 240.00.
    assert amounts == [16_000, 48_000, 24_000]
    assert d.pool() == PoolState(balance=0, reserved=88_000, head=0, tail=3)

    voided = void(d, second)
    assert (voided["status_before"], voided["debt"]) == (ClaimStatus.QUEUED.code, 0)
    # The second's place stays in the queue, a hole, until settlement passes it: two
    # claims wait, for what the two of them need.
    assert d.pool() == PoolState(balance=0, reserved=40_000, head=0, tail=3, holes=1)
    assert d.pool().queued == 2
    assert d.engine.call("queued_claim", text_to_bytes32(d.plan_id), 1)[0] == 0  # the hole
    # Funding settles what the pool covers, in order, passing the hole.
    receipt = d.fund(40_000)
    assert [e["claim_id"] for e in d.events(receipt, "ClaimPaid")] == [
        first.claim_id,
        third.claim_id,
    ]
    assert d.pool() == PoolState(balance=0, reserved=0, head=3, tail=3)
    assert [state(d, s) for s in (first, second, third)] == [
        ClaimStatus.PAID,
        ClaimStatus.VOIDED,
        ClaimStatus.PAID,
    ]


def test_voiding_the_only_queued_claim_empties_the_queue(chain: EmbeddedChain) -> None:
    d = deploy(chain, VOID_PLAN, fund_cents=10_000)
    member = d.enroll("m1", date(2026, 1, 1))
    queued = d.submit(d.claim(member, DAY, ONE_X))  # 160.00 > 100.00 in the pool
    assert queued.status == ClaimStatus.QUEUED
    void(d, queued)
    assert d.pool() == PoolState(balance=10_000, reserved=0, head=1, tail=1)
    # Nothing is queued now: a claim the pool covers is paid at once.
    small = d.submit(d.claim(member, DAY, [("U", 3, 15_000)]))
    # U x 3 billed 150.00: deductible 100.00, coinsurance 10.00, plan_paid 40.00.
    assert (small.status, small.submitted["plan_paid"]) == (ClaimStatus.PAID, 4_000)


def test_a_claim_behind_holes_only_is_paid_at_once(chain: EmbeddedChain) -> None:
    # Settlement stopped (at its limit) just before a hole: the queue holds holes only,
    # and a new claim must not wait behind them.
    d = deploy(chain, VOID_PLAN, fund_cents=0)
    member = d.enroll("m1", date(2026, 1, 1))
    first = d.submit(d.claim(member, DAY, ONE_X))
    second = d.submit(d.claim(member, DAY - timedelta(days=1), ONE_X))
    void(d, second)
    d.engine.set_paused(d.insurer, d.plan_id, True)
    d.fund(100_000)
    d.engine.set_paused(d.insurer, d.plan_id, False)
    d.engine.settle(d.outsider, d.plan_id, 1)
    assert state(d, first) == ClaimStatus.PAID
    later = d.submit(d.claim(member, DAY - timedelta(days=2), ONE_X))
    assert later.status == ClaimStatus.PAID


# -- debt ---------------------------------------------------------------------------------


def paid_then_voided(d: Deployment, member: bytes) -> Submitted:
    paid = d.submit(d.claim(member, DAY, ONE_X))
    assert paid.status == ClaimStatus.PAID
    void(d, paid)
    assert debt(d) == ONE_X_PAID
    return paid


def test_debt_is_kept_back_from_the_next_payment(d: Deployment, member: bytes) -> None:
    paid_then_voided(d, member)
    pool_before, hospital_before = d.pool().balance, d.balance(d.hospital)
    nxt = d.submit(d.claim(member, DAY, TWO_X))  # accumulators are back to zero: 400.00
    assert (nxt.status, nxt.submitted["plan_paid"]) == (ClaimStatus.PAID, TWO_X_PAID)
    assert d.events(nxt.receipt, "DebtRecovered") == [
        {
            "plan_id": text_to_bytes32(d.plan_id),
            "provider_ref": text_to_bytes32("HOSP-A"),
            "claim_id": nxt.claim_id,
            "amount": ONE_X_PAID,
        }
    ]
    # 400.00 - 160.00 reaches the provider; the 160.00 goes back to the pool.
    assert d.balance(d.hospital) - hospital_before == (TWO_X_PAID - ONE_X_PAID) * TOKEN_SCALE
    assert d.pool().balance == pool_before - TWO_X_PAID + ONE_X_PAID
    assert debt(d) == 0
    # Paid off: the next payment is whole.
    whole = d.submit(d.claim(member, DAY - timedelta(days=1), ONE_X))
    assert d.events(whole.receipt, "DebtRecovered") == []


def test_a_payment_smaller_than_the_debt_is_kept_whole(d: Deployment, member: bytes) -> None:
    paid_then_voided(d, member)
    hospital_before = d.balance(d.hospital)
    # U x 3 billed 150.00: deductible 100.00, coinsurance 10.00, plan_paid 40.00.
    small = d.submit(d.claim(member, DAY, [("U", 3, 15_000)]))
    assert small.submitted["plan_paid"] == 4_000
    assert [e["amount"] for e in d.events(small.receipt, "DebtRecovered")] == [4_000]
    assert d.transfers(small.receipt) == []
    assert d.balance(d.hospital) == hospital_before
    assert debt(d) == ONE_X_PAID - 4_000


def test_debt_is_kept_back_from_a_batch_transfer(d: Deployment, member: bytes) -> None:
    paid_then_voided(d, member)
    hospital_before = d.balance(d.hospital)
    subs = d.submit_batch(
        [d.claim(member, DAY, TWO_X), d.claim(member, DAY - timedelta(days=1), ONE_X)]
    )
    # 400.00, then X x 1 after the deductible: coinsurance 60.00, plan_paid 240.00.
    assert [s.submitted["plan_paid"] for s in subs] == [40_000, 24_000]
    receipt = subs[0].receipt
    assert [(e["claim_id"], e["amount"]) for e in d.events(receipt, "DebtRecovered")] == [
        (0, ONE_X_PAID)
    ]
    assert d.balance(d.hospital) - hospital_before == (64_000 - ONE_X_PAID) * TOKEN_SCALE


def test_debt_is_kept_back_from_settlement(chain: EmbeddedChain) -> None:
    d = deploy(chain, VOID_PLAN, fund_cents=ONE_X_PAID)
    member = d.enroll("m1", date(2026, 1, 1))
    paid_then_voided(d, member)  # the pool paid it out: balance 0
    queued = d.submit(d.claim(member, DAY, TWO_X))
    assert queued.status == ClaimStatus.QUEUED
    hospital_before = d.balance(d.hospital)
    receipt = d.fund(TWO_X_PAID)
    assert [e["claim_id"] for e in d.events(receipt, "ClaimPaid")] == [queued.claim_id]
    assert [(e["claim_id"], e["amount"]) for e in d.events(receipt, "DebtRecovered")] == [
        (queued.claim_id, ONE_X_PAID)
    ]
    assert d.balance(d.hospital) - hospital_before == (TWO_X_PAID - ONE_X_PAID) * TOKEN_SCALE
    assert d.pool().balance == ONE_X_PAID
    assert debt(d) == 0


def test_debt_is_kept_back_from_an_approved_review(d: Deployment, member: bytes) -> None:
    paid_then_voided(d, member)
    pending = d.submit(d.claim(member, DAY, BIG_ONE))
    receipt = d.review(pending.claim_id, True)
    assert [(e["claim_id"], e["amount"]) for e in d.events(receipt, "DebtRecovered")] == [
        (pending.claim_id, ONE_X_PAID)
    ]
    assert debt(d) == 0


def test_debt_is_kept_back_from_a_collected_credit(chain: EmbeddedChain) -> None:
    d = deploy(chain, VOID_PLAN, fund_cents=FUNDS, token_type=HostileToken)
    member = d.enroll("m1", date(2026, 1, 1))
    d.token.transact(d.insurer, "set_blocked", d.hospital, True)
    credited = d.submit(d.claim(member, DAY, TWO_X))  # 400.00, refused: credited
    assert d.engine.provider_info(d.plan_id, "HOSP-A").credit == TWO_X_PAID
    void(d, credited)
    assert debt(d) == TWO_X_PAID
    d.token.transact(d.insurer, "set_blocked", d.hospital, False)
    pool_before = d.pool().balance
    receipt = d.engine.collect(d.hospital, d.plan_id, "HOSP-A")
    assert [(e["claim_id"], e["amount"]) for e in d.events(receipt, "DebtRecovered")] == [
        (0, TWO_X_PAID)
    ]
    assert [e["amount"] for e in d.events(receipt, "CreditCollected")] == [0]
    assert d.transfers(receipt) == []
    assert d.pool().balance == pool_before + TWO_X_PAID
    info = d.engine.provider_info(d.plan_id, "HOSP-A")
    assert (info.credit, info.debt) == (0, 0)


def test_debt_is_not_dodged_by_moving_the_payout(d: Deployment, member: bytes) -> None:
    paid_then_voided(d, member)
    elsewhere = d.chain.accounts["hospital-3"]
    d.engine.set_payout(d.hospital, d.plan_id, "HOSP-A", elsewhere)
    assert debt(d) == ONE_X_PAID
    nxt = d.submit(d.claim(member, DAY, TWO_X))
    assert [e["amount"] for e in d.events(nxt.receipt, "DebtRecovered")] == [ONE_X_PAID]
    assert d.transfers(nxt.receipt) == [
        (d.engine.address, elsewhere, (TWO_X_PAID - ONE_X_PAID) * TOKEN_SCALE)
    ]


def test_debt_is_not_dodged_by_a_new_account(d: Deployment, member: bytes) -> None:
    paid_then_voided(d, member)
    second_account = d.chain.accounts["hospital-4"]
    d.engine.add_provider_account(d.hospital, d.plan_id, "HOSP-A", second_account)
    nxt = d.submit(d.claim(member, DAY, TWO_X), sender=second_account)
    assert [e["amount"] for e in d.events(nxt.receipt, "DebtRecovered")] == [ONE_X_PAID]


def test_debt_is_the_providers_own(d: Deployment, member: bytes) -> None:
    paid_then_voided(d, member)
    other = d.submit(d.claim(member, DAY, TWO_X), sender=d.hospital2)
    assert other.status == ClaimStatus.PAID
    assert d.events(other.receipt, "DebtRecovered") == []
    assert (debt(d, "HOSP-B"), debt(d)) == (0, ONE_X_PAID)


def test_the_effects_are_rebuilt_from_the_claims_events(d: Deployment, member: bytes) -> None:
    sub = d.submit(d.claim(member, DAY, ONE_X + [("NOPE", 1, 700), ("U", 2, 10_000)]))
    effects = d.engine.claim_effects(sub.claim_id)
    # Priced lines only, in order: X (deductible 100.00, coinsurance 40.00) and U (after the
    # deductible: coinsurance 20.00). Out-of-pocket 100.00 + 40.00 + 20.00.
    assert effects is not None
    assert (effects.plan_id, effects.provider_id, effects.commitment) == (
        d.plan_id,
        "HOSP-A",
        sub.submitted["commitment"],
    )
    assert (effects.member, effects.service_day) == (member, sub.submitted["service_day"])
    assert (effects.deductible, effects.out_of_pocket) == (10_000, 16_000)
    assert effects.lines == ((text_to_bytes32("X"), 1), (text_to_bytes32("U"), 2))
    assert effects.position == 0
    assert d.engine.claim_effects(999) is None


# -- who may void, what, and when ---------------------------------------------------------


def test_an_outsider_cannot_void(d: Deployment, member: bytes) -> None:
    paid = d.submit(d.claim(member, DAY, ONE_X))
    for who in (d.outsider, d.insurer, d.adjudicator):
        with reverts("claims: not authorised"):
            d.engine.void(who, paid.claim_id)
    assert state(d, paid) == ClaimStatus.PAID


def test_a_provider_cannot_void_another_providers_claim(d: Deployment, member: bytes) -> None:
    paid = d.submit(d.claim(member, DAY, ONE_X))
    with reverts("claims: not voidable"):
        d.engine.void(d.hospital2, paid.claim_id)
    # Not even with the claim's own effects and commitment, sent directly.
    effects = d.engine.claim_effects(paid.claim_id)
    with reverts("claims: not voidable"):
        send_void(d, d.hospital2, effects)
    assert state(d, paid) == ClaimStatus.PAID


def test_any_account_of_the_provider_may_void_also_while_suspended(
    d: Deployment, member: bytes
) -> None:
    paid = d.submit(d.claim(member, DAY, ONE_X))
    second_account = d.chain.accounts["hospital-4"]
    d.engine.add_provider_account(d.hospital, d.plan_id, "HOSP-A", second_account)
    d.engine.set_provider_active(d.insurer, d.plan_id, "HOSP-A", False)
    void(d, paid, sender=second_account)
    assert state(d, paid) == ClaimStatus.VOIDED


def test_forged_effects_are_refused(d: Deployment, member: bytes) -> None:
    d.submit(d.claim(member, DAY, ONE_X))  # another claim, so a forgery has room to take
    paid = d.submit(d.claim(member, DAY - timedelta(days=1), ONE_X + [("U", 2, 10_000)]))
    effects = d.engine.claim_effects(paid.claim_id)
    assert effects is not None
    for forged in (
        dataclasses.replace(effects, deductible=effects.deductible + 1),
        dataclasses.replace(effects, out_of_pocket=effects.out_of_pocket + 100),
        dataclasses.replace(effects, member=b"\1" * 32),
        dataclasses.replace(effects, service_day=effects.service_day - 1),
        dataclasses.replace(effects, lines=effects.lines[:1]),
        dataclasses.replace(effects, lines=effects.lines[::-1]),
        dataclasses.replace(effects, lines=(*effects.lines[:1], (effects.lines[1][0], 4))),
    ):
        with reverts("claims: wrong effects"):
            send_void(d, d.hospital, forged)
    assert state(d, paid) == ClaimStatus.PAID


def test_a_wrong_queue_position_is_refused(chain: EmbeddedChain) -> None:
    d = deploy(chain, VOID_PLAN, fund_cents=0)
    member = d.enroll("m1", date(2026, 1, 1))
    first = d.submit(d.claim(member, DAY, ONE_X))
    second = d.submit(d.claim(member, DAY - timedelta(days=1), ONE_X))
    effects = d.engine.claim_effects(second.claim_id)
    assert effects is not None and effects.position == 1
    for position in (0, 2, 99):
        with reverts("claims: wrong effects"):
            send_void(d, d.hospital, effects, position)
    assert state(d, first) == state(d, second) == ClaimStatus.QUEUED


def test_a_claim_is_voided_once(d: Deployment, member: bytes) -> None:
    paid = d.submit(d.claim(member, DAY, ONE_X))
    void(d, paid)
    with reverts("claims: not voidable"):
        d.engine.void(d.hospital, paid.claim_id)
    assert debt(d) == ONE_X_PAID


def test_denied_and_unknown_claims_cannot_be_voided(d: Deployment, member: bytes) -> None:
    denied = d.submit(d.claim(member, DAY, [("NOPE", 1, 100)]))
    assert denied.status == ClaimStatus.DENIED
    with reverts("claims: not voidable"):
        d.engine.void(d.hospital, denied.claim_id)
    with reverts("claims: not voidable"):
        d.engine.void(d.hospital, 999)
    pending = d.submit(d.claim(member, DAY, BIG_ONE))
    d.review(pending.claim_id, False)
    with reverts("claims: not voidable"):
        d.engine.void(d.hospital, pending.claim_id)


def test_void_window_is_timely_filing_days(d: Deployment, member: bytes) -> None:
    # Service on 2027-05-20, 30 days to file: voidable through 2027-06-19.
    paid = d.submit(d.claim(member, DAY, ONE_X))
    later = d.submit(d.claim(member, DAY - timedelta(days=1), ONE_X))
    d.chain.set_time(noon(DAY + timedelta(days=30)))
    void(d, paid)  # day 30: still in the window
    with reverts("claims: void window closed"):
        d.engine.void(d.hospital, later.claim_id)  # day 31 for this one
    assert state(d, later) == ClaimStatus.PAID


def test_a_paused_plan_refuses_voids(d: Deployment, member: bytes) -> None:
    paid = d.submit(d.claim(member, DAY, ONE_X))
    d.engine.set_paused(d.insurer, d.plan_id, True)
    with reverts("claims: plan paused"):
        d.engine.void(d.hospital, paid.claim_id)


def test_a_claim_of_another_plan_cannot_be_voided_here(d: Deployment, member: bytes) -> None:
    other = d.with_plan(dataclasses.replace(VOID_PLAN, id="OTHER"), fund_cents=FUNDS)
    theirs = other.submit(other.claim(other.enroll("m1", date(2026, 1, 1)), DAY, ONE_X))
    effects = d.engine.claim_effects(theirs.claim_id)
    assert effects is not None
    with reverts("claims: not voidable"):
        d.engine.transact(
            d.hospital,
            "void_claim",
            text_to_bytes32(d.plan_id),
            effects.commitment,
            effects.as_abi(),
            0,
        )
    assert other.status(theirs.submitted["commitment"]).status == ClaimStatus.PAID


# -- replacement ----------------------------------------------------------------------------


def replace(
    d: Deployment, old: Submitted, claim: ChainClaim, *, sender: str | None = None
) -> Submitted:
    receipt = d.engine.submit_replacement(sender or d.hospital, d.plan_id, old.claim_id, claim)
    (new,) = d.read(receipt)
    return new


def test_a_replacement_voids_and_submits_in_one_transaction(d: Deployment, member: bytes) -> None:
    old = d.submit(d.claim(member, DAY, ONE_X))
    hospital_before, pool_before = d.balance(d.hospital), d.pool().balance
    # The corrected record: 2 units of X on the same day. Without the void first, rule (c)
    # would deny it 18 (same member, provider, code and day as the old claim).
    new = replace(d, old, d.claim(member, DAY, TWO_X))
    assert (new.status, new.submitted["plan_paid"]) == (ClaimStatus.PAID, TWO_X_PAID)
    assert new.lines[0]["denial"] == 0
    (voided,) = d.events(new.receipt, "ClaimVoided")
    assert (voided["claim_id"], voided["replaced_by"], voided["debt"]) == (
        old.claim_id,
        new.claim_id,
        ONE_X_PAID,
    )
    assert state(d, old) == ClaimStatus.VOIDED
    # The old payment is recovered from the new one: 400.00 - 160.00 reaches the provider.
    assert [e["amount"] for e in d.events(new.receipt, "DebtRecovered")] == [ONE_X_PAID]
    assert d.balance(d.hospital) - hospital_before == (TWO_X_PAID - ONE_X_PAID) * TOKEN_SCALE
    assert d.pool().balance == pool_before - (TWO_X_PAID - ONE_X_PAID)
    assert debt(d) == 0
    assert d.accumulators(member) == (10_000, 20_000, TWO_X_PAID)


def test_a_pending_claim_replaced_by_a_smaller_one(d: Deployment, member: bytes) -> None:
    old = d.submit(d.claim(member, DAY, BIG_ONE))
    new = replace(d, old, d.claim(member, DAY, ONE_X))
    assert (new.status, new.submitted["plan_paid"]) == (ClaimStatus.PAID, ONE_X_PAID)
    (voided,) = d.events(new.receipt, "ClaimVoided")
    assert voided["status_before"] == ClaimStatus.PENDING_REVIEW.code
    assert debt(d) == 0
    assert d.accumulators(member) == (10_000, 14_000, ONE_X_PAID)


def test_a_rejected_replacement_leaves_the_old_claim(d: Deployment, member: bytes) -> None:
    old = d.submit(d.claim(member, DAY, ONE_X))
    with reverts("claims: service date in the future"):
        replace(d, old, d.claim(member, TODAY + timedelta(days=1), ONE_X))
    with reverts("claims: duplicate"):
        replace(d, old, d.claim(member, DAY, ONE_X, commitment=old.submitted["commitment"]))
    assert state(d, old) == ClaimStatus.PAID
    assert debt(d) == 0


def test_a_replacement_needs_an_active_provider(d: Deployment, member: bytes) -> None:
    old = d.submit(d.claim(member, DAY, ONE_X))
    d.engine.set_provider_active(d.insurer, d.plan_id, "HOSP-A", False)
    with reverts("claims: not authorised"):
        replace(d, old, d.claim(member, DAY, TWO_X))
    for who in (d.outsider, d.insurer):
        with reverts("claims: not authorised"):
            replace(d, old, d.claim(member, DAY, TWO_X), sender=who)
    assert state(d, old) == ClaimStatus.PAID


def test_a_replacement_cannot_take_another_providers_claim(d: Deployment, member: bytes) -> None:
    theirs = d.submit(d.claim(member, DAY, ONE_X))  # HOSP-A's
    with reverts("claims: not voidable"):
        replace(d, theirs, d.claim(member, DAY, TWO_X), sender=d.hospital2)
    assert state(d, theirs) == ClaimStatus.PAID


def test_a_denied_claim_is_not_replaced(d: Deployment, member: bytes) -> None:
    denied = d.submit(d.claim(member, DAY, [("NOPE", 1, 100)]))
    with reverts("claims: not voidable"):
        replace(d, denied, d.claim(member, DAY, ONE_X))


# -- gas ------------------------------------------------------------------------------------


def test_gas_of_voids_and_a_replacement(chain: EmbeddedChain) -> None:
    d = deploy(chain, VOID_PLAN, fund_cents=ONE_X_PAID)
    member = d.enroll("m1", date(2026, 1, 1))
    paid = d.submit(d.claim(member, DAY, ONE_X))
    queued = d.submit(d.claim(member, DAY - timedelta(days=1), ONE_X))
    pending = d.submit(d.claim(member, DAY - timedelta(days=2), BIG_ONE))
    assert [paid.status, queued.status, pending.status] == [
        ClaimStatus.PAID,
        ClaimStatus.QUEUED,
        ClaimStatus.PENDING_REVIEW,
    ]
    report(
        "void of a paid claim (one line)", d.engine.void(d.hospital, paid.claim_id).gas_used, 75_000
    )
    report("void of a queued claim", d.engine.void(d.hospital, queued.claim_id).gas_used, 66_000)
    report("void of a pending claim", d.engine.void(d.hospital, pending.claim_id).gas_used, 50_000)
    # A one-line paid claim replaced by a one-line claim, paid less the recovered debt.
    d.fund(FUNDS)
    old = d.submit(d.claim(member, DAY - timedelta(days=4), ONE_X))
    assert old.status == ClaimStatus.PAID
    new = replace(d, old, d.claim(member, DAY - timedelta(days=4), TWO_X))
    report("replacement of a paid claim, new claim paid", new.receipt.gas_used, 146_000)
