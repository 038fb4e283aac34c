"""The payout pool: paid in the same transaction, queued first-in, first-out when short,
settled by funding or by anyone's `settle`, and withdrawals of only what no queued claim
needs. Pool amounts are cents; the 6-decimal token moves cents x 10^4 units.

The plan has no deductible and 20% coinsurance: X (fee 100.00) pays 80.00, W (fee 300.00)
pays 240.00 and S (fee 12.50) pays 10.00.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from claimsengine.abi import text_to_bytes32
from claimsengine.chain.embedded import EmbeddedChain
from claimsengine.engine import ChainClaim, PoolState
from claimsengine.status import ClaimStatus

from .conftest import TOKEN_SCALE, Deployment, deploy, make_plan, reverts, service

POOL_PLAN = make_plan("POOL", [service("X", 10_000), service("W", 30_000), service("S", 1_250)])
PAYS = {"X": 8_000, "W": 24_000, "S": 1_000}  # plan_paid of one unit billed at the fee
FEES = {"X": 10_000, "W": 30_000, "S": 1_250}
FIRST_DAY = date(2027, 1, 1)


@pytest.fixture
def empty_pool(chain: EmbeddedChain) -> Deployment:
    return deploy(chain, POOL_PLAN, fund_cents=0)


@pytest.fixture
def member(empty_pool: Deployment) -> bytes:
    return empty_pool.enroll("m1", date(2026, 1, 1))


class Claims:
    """Submits one-line claims for one member, each on a new day (so rule c never fires)."""

    def __init__(self, d: Deployment, member: bytes) -> None:
        self.d, self.member, self.days = d, member, 0

    def make(self, code: str) -> ChainClaim:
        self.days += 1
        return self.d.claim(
            self.member, FIRST_DAY + timedelta(days=self.days), [(code, 1, FEES[code])]
        )

    def submit(self, code: str) -> tuple[int, int]:
        sub = self.d.submit(self.make(code))
        assert sub.submitted["plan_paid"] == PAYS[code]
        return sub.claim_id, sub.status


def engine_balance(d: Deployment) -> int:
    return d.token.balance_of(d.engine.address)


def paid_ids(d: Deployment) -> list[int]:
    return [e["claim_id"] for e in d.all_events("ClaimPaid")]


def test_paid_to_the_payout_address_in_the_same_transaction(empty_pool: Deployment) -> None:
    d = empty_pool
    payout = d.chain.accounts["hospital-3"]
    d.engine.set_payout(d.hospital, d.plan_id, "HOSP-A", payout)  # the provider's own choice
    d.fund(100_000)
    member = d.enroll("m1", date(2026, 1, 1))
    before = (d.balance(payout), d.balance(d.hospital), engine_balance(d))
    sub = d.submit(d.claim(member, FIRST_DAY, [("X", 1, 10_000)]))
    assert sub.status == ClaimStatus.PAID
    assert d.events(sub.receipt, "ClaimPaid") == [
        {
            "claim_id": sub.claim_id,
            "plan_id": text_to_bytes32(d.plan_id),
            "payee": payout,
            "amount": 8_000,
        }
    ]
    # 80.00 = 8000 cents = 8000 x 10^4 token units, to the payout address, not the account.
    assert d.balance(payout) - before[0] == 8_000 * TOKEN_SCALE
    assert d.balance(d.hospital) == before[1]
    assert before[2] - engine_balance(d) == 8_000 * TOKEN_SCALE
    assert d.pool() == PoolState(balance=100_000 - 8_000, reserved=0, head=0, tail=0)
    state = d.status(sub.submitted["commitment"])
    assert (state.status, state.plan_paid) == (ClaimStatus.PAID, 8_000)
    # The token moved in the same transaction as the submission.
    assert d.transfers(sub.receipt) == [(d.engine.address, payout, 8_000 * TOKEN_SCALE)]


def test_exactly_covered_is_paid(empty_pool: Deployment, member: bytes) -> None:
    empty_pool.fund(8_000)
    claim_id, status = Claims(empty_pool, member).submit("X")
    assert status == ClaimStatus.PAID
    assert empty_pool.pool() == PoolState(0, 0, 0, 0)


def test_pool_short_queues_and_new_claims_never_overtake(
    empty_pool: Deployment, member: bytes
) -> None:
    d, claims = empty_pool, Claims(empty_pool, member)
    d.fund(10_000)  # 100.00
    hospital_before = d.balance(d.hospital)
    w_id, status = claims.submit("W")  # 240.00 > 100.00
    assert status == ClaimStatus.QUEUED
    assert d.pool() == PoolState(balance=10_000, reserved=24_000, head=0, tail=1)
    # X needs only 80.00 and the pool holds 100.00, but W waits: X queues behind it.
    sub = d.submit(claims.make("X"))
    assert sub.status == ClaimStatus.QUEUED
    assert d.events(sub.receipt, "ClaimQueued") == [
        {
            "claim_id": sub.claim_id,
            "plan_id": text_to_bytes32(d.plan_id),
            "position": 1,
            "amount": 8_000,
        }
    ]
    assert d.events(sub.receipt, "ClaimPaid") == []
    assert d.pool() == PoolState(balance=10_000, reserved=32_000, head=0, tail=2)
    assert d.balance(d.hospital) == hospital_before
    assert d.status(sub.submitted["commitment"]).status == ClaimStatus.QUEUED
    assert w_id < sub.claim_id


def test_fund_settles_fifo_and_stops_at_the_first_claim_it_cannot_cover(
    empty_pool: Deployment, member: bytes
) -> None:
    d, claims = empty_pool, Claims(empty_pool, member)
    first, _ = claims.submit("W")  # 240.00, position 0
    second, _ = claims.submit("W")  # 240.00, position 1
    third, _ = claims.submit("S")  # 10.00, position 2
    assert d.pool() == PoolState(balance=0, reserved=49_000, head=0, tail=3)
    hospital_before = d.balance(d.hospital)
    # Fund 300.00: pays the first (240.00); 60.00 left does not cover the second, and
    # settlement stops there although the third (10.00) would fit.
    receipt = d.fund(30_000)
    assert [e["claim_id"] for e in d.events(receipt, "ClaimPaid")] == [first]
    assert d.pool() == PoolState(balance=6_000, reserved=25_000, head=1, tail=3)
    assert d.balance(d.hospital) - hospital_before == 24_000 * TOKEN_SCALE
    # Settling without new money pays nothing.
    receipt = d.engine.settle(d.outsider, d.plan_id)
    assert d.events(receipt, "ClaimPaid") == []
    # Fund 200.00: 260.00 pays the second (240.00), then the third (10.00); 10.00 left.
    receipt = d.fund(20_000)
    assert [e["claim_id"] for e in d.events(receipt, "ClaimPaid")] == [second, third]
    assert d.pool() == PoolState(balance=1_000, reserved=0, head=3, tail=3)
    assert d.balance(d.hospital) - hospital_before == 49_000 * TOKEN_SCALE
    assert paid_ids(d) == [first, second, third]
    # With the queue empty, a claim the pool covers is paid at once again.
    assert claims.submit("S")[1] == ClaimStatus.PAID
    assert d.pool() == PoolState(balance=0, reserved=0, head=3, tail=3)


def test_funding_settles_32_and_settle_does_the_rest(empty_pool: Deployment, member: bytes) -> None:
    d, claims = empty_pool, Claims(empty_pool, member)
    subs = d.submit_batch([claims.make("X") for _ in range(34)])  # 34 x 80.00, all queued
    assert [s.status for s in subs] == [ClaimStatus.QUEUED] * 34
    queued = [e["claim_id"] for e in d.all_events("ClaimQueued")]
    assert queued == [s.claim_id for s in subs]
    assert d.pool() == PoolState(balance=0, reserved=34 * 8_000, head=0, tail=34)
    # Fund 3000.00: funding settles at most 32 claims (2560.00): 440.00 left, of which the
    # two queued claims need 160.00.
    d.fund(300_000)
    assert d.pool() == PoolState(balance=44_000, reserved=16_000, head=32, tail=34)
    assert paid_ids(d) == queued[:32]
    # Withdraw what no queued claim needs: 440.00 - 160.00 = 280.00, not a cent more.
    with reverts("pool: amount exceeds free balance"):
        d.engine.withdraw(d.insurer, d.plan_id, 28_001, d.insurer)
    d.engine.withdraw(d.insurer, d.plan_id, 28_000, d.insurer)
    assert d.pool() == PoolState(balance=16_000, reserved=16_000, head=32, tail=34)
    with reverts("pool: amount exceeds free balance"):
        d.engine.withdraw(d.insurer, d.plan_id, 1, d.insurer)
    # Anyone may settle, as many as they ask for.
    d.engine.settle(d.outsider, d.plan_id, 1)
    assert d.pool() == PoolState(balance=8_000, reserved=8_000, head=33, tail=34)
    d.engine.settle(d.outsider, d.plan_id)
    assert d.pool() == PoolState(balance=0, reserved=0, head=34, tail=34)
    assert paid_ids(d) == queued
    assert [d.status(s.submitted["commitment"]).status for s in subs] == [ClaimStatus.PAID] * 34


def test_withdraw_up_to_the_balance_when_nothing_is_queued(empty_pool: Deployment) -> None:
    d = empty_pool
    d.fund(100_000)
    with reverts("pool: amount exceeds free balance"):
        d.engine.withdraw(d.insurer, d.plan_id, 100_001, d.outsider)
    before = d.balance(d.outsider)
    receipt = d.engine.withdraw(d.insurer, d.plan_id, 100_000, d.outsider)
    assert d.events(receipt, "PoolWithdrawn") == [
        {
            "plan_id": text_to_bytes32(d.plan_id),
            "recipient": d.outsider,
            "amount": 100_000,
            "balance": 0,
        }
    ]
    assert d.balance(d.outsider) - before == 100_000 * TOKEN_SCALE
    assert d.pool() == PoolState(0, 0, 0, 0)
    assert engine_balance(d) == 0


def test_withdraw_refused_while_queued_claims_need_more_than_the_balance(
    empty_pool: Deployment, member: bytes
) -> None:
    d = empty_pool
    d.fund(10_000)
    Claims(d, member).submit("W")  # queued: needs 240.00, the pool has 100.00
    with reverts("pool: amount exceeds free balance"):
        d.engine.withdraw(d.insurer, d.plan_id, 1, d.insurer)


def test_fund_zero_is_refused(empty_pool: Deployment) -> None:
    with reverts("pool: zero amount"):
        empty_pool.engine.fund(empty_pool.insurer, empty_pool.plan_id, 0)


def test_fund_event_and_balance(empty_pool: Deployment) -> None:
    d = empty_pool
    receipt = d.fund(12_345)
    assert d.events(receipt, "PoolFunded") == [
        {
            "plan_id": text_to_bytes32(d.plan_id),
            "funder": d.insurer,
            "amount": 12_345,
            "balance": 12_345,
        }
    ]
    assert engine_balance(d) == 12_345 * TOKEN_SCALE


def test_a_queued_claim_of_a_suspended_provider_is_still_paid(
    empty_pool: Deployment, member: bytes
) -> None:
    d = empty_pool
    claim_id, status = Claims(d, member).submit("X")
    assert status == ClaimStatus.QUEUED
    d.engine.set_provider_active(d.insurer, d.plan_id, "HOSP-A", False)
    before = d.balance(d.hospital)
    d.fund(8_000)
    assert paid_ids(d) == [claim_id]
    assert d.balance(d.hospital) - before == 8_000 * TOKEN_SCALE


def test_pools_are_separate_and_tokens_are_conserved(empty_pool: Deployment, member: bytes) -> None:
    d = empty_pool
    other = d.with_plan(make_plan("POOL-2", POOL_PLAN.services), fund_cents=50_000)
    other.enroll("m1", date(2026, 1, 1))
    d.fund(10_000)

    def conserved() -> None:
        # The engine holds exactly what its pools' ledgers say (plus nothing else here).
        pools = d.pool().balance + other.pool().balance
        assert engine_balance(d) == pools * TOKEN_SCALE

    conserved()
    Claims(other, member).submit("W")  # paid from POOL-2: 500.00 -> 260.00
    conserved()
    claims = Claims(d, member)
    claims.submit("W")  # POOL is short (100.00): queued, not paid from POOL-2's money
    assert d.pool() == PoolState(10_000, 24_000, 0, 1)
    assert other.pool() == PoolState(26_000, 0, 0, 0)
    conserved()
    other.engine.withdraw(other.insurer, other.plan_id, 26_000, other.insurer)
    conserved()
    d.fund(14_000)  # 240.00: the queued W is paid
    assert d.pool() == PoolState(0, 0, 1, 1)
    conserved()


def test_tokens_sent_by_mistake_belong_to_no_pool(empty_pool: Deployment) -> None:
    d = empty_pool
    d.fund(10_000)
    minter = d.chain.accounts["insurer"]
    d.token.mint(minter, d.outsider, 5_000 * TOKEN_SCALE)
    d.token.transfer(d.outsider, d.engine.address, 5_000 * TOKEN_SCALE)
    assert d.pool().balance == 10_000  # the ledger, not balanceOf
    with reverts("pool: amount exceeds free balance"):
        d.engine.withdraw(d.insurer, d.plan_id, 10_001, d.insurer)
    assert engine_balance(d) == (10_000 + 5_000) * TOKEN_SCALE
