"""Gas budgets of claim submission. The embedded chain is deterministic, so these are tests,
not benchmarks: each asserts a ceiling a little above today's measurement and prints the
figure (`pytest -s` shows them).

The measured claim is the worked plan's Z line (fee 120.00, copay 25.00, no deductible:
plan_paid 95.00), adjudicated and paid in the transaction that submits it.
"""

from __future__ import annotations

from datetime import date, timedelta

from claimsengine.chain.embedded import EmbeddedChain
from claimsengine.days import to_day
from claimsengine.engine import ChainClaim, Enrollment
from claimsengine.plan import Plan
from claimsengine.status import ClaimStatus

from .conftest import (
    GAS_BURNER_INIT,
    MAINNET_BLOCK_GAS,
    Deployment,
    HostileToken,
    Submitted,
    deploy,
    pseudonym,
)

FIRST_DAY = date(2027, 1, 1)
Z_LINE = [("Z", 1, 12_000)]  # plan_paid 95.00
X_LINE = [("X", 1, 30_000)]  # after the deductible: coinsurance 60.00, plan_paid 240.00


def report(name: str, gas: int, ceiling: int) -> None:
    print(f"gas {name}: {gas:,} (ceiling {ceiling:,})")
    assert gas <= ceiling, f"{name} used {gas:,} gas, more than {ceiling:,}"


def submit_paid(d: Deployment, claim: ChainClaim) -> Submitted:
    sub = d.submit(claim)
    assert sub.status == ClaimStatus.PAID and sub.submitted["plan_paid"] > 0
    return sub


def test_one_claim_in_steady_state(chain: EmbeddedChain, worked_plan: Plan) -> None:
    d = deploy(chain, worked_plan, fund_cents=100_000_000)
    member = d.enroll("m1", date(2026, 1, 1))
    # The member's first claim of the period, and the provider's first payment.
    first = submit_paid(d, d.claim(member, FIRST_DAY, Z_LINE))
    report("first claim of a member and of a provider", first.receipt.gas_used, 164_000)
    # Steady state: accumulators exist in the period, the provider holds tokens, a new day.
    steady = submit_paid(d, d.claim(member, FIRST_DAY + timedelta(days=1), Z_LINE))
    report("one claim, steady state (copay line)", steady.receipt.gas_used, 130_000)
    # A coinsurance line (deductible met by a first X) costs about the same.
    d.submit(d.claim(member, FIRST_DAY + timedelta(days=2), [("X", 4, 120_000)]))
    coinsurance = submit_paid(d, d.claim(member, FIRST_DAY + timedelta(days=3), X_LINE))
    report("one claim, steady state (coinsurance line)", coinsurance.receipt.gas_used, 130_000)
    # The worst steady state: a day in another 8-day block, so the claim opens a new
    # duplicate-line bitmap word (ledger.vy: 8 days x 32 codes a word).
    new_word = submit_paid(d, d.claim(member, FIRST_DAY + timedelta(days=8), Z_LINE))
    report("one claim, steady state, new duplicate-line word", new_word.receipt.gas_used, 130_000)
    # A new member's first claim, to a provider that already holds tokens.
    newcomer = d.enroll("m2", date(2026, 1, 1))
    first_of_member = submit_paid(d, d.claim(newcomer, FIRST_DAY, Z_LINE))
    report("first claim of a member", first_of_member.receipt.gas_used, 147_000)


def test_a_batch_of_100_in_steady_state(chain: EmbeddedChain, worked_plan: Plan) -> None:
    d = deploy(chain, worked_plan, fund_cents=100_000_000)
    member = d.enroll("m1", date(2026, 1, 1))
    submit_paid(d, d.claim(member, FIRST_DAY, Z_LINE))  # warm: accumulators and provider
    claims = [d.claim(member, FIRST_DAY + timedelta(days=1 + i), Z_LINE) for i in range(100)]
    subs = d.submit_batch(claims)
    assert [s.status for s in subs] == [ClaimStatus.PAID] * 100
    report("per claim, batch of 100, one member", subs[0].receipt.gas_used // 100, 75_000)


def test_a_batch_of_100_members_in_steady_state(chain: EmbeddedChain, worked_plan: Plan) -> None:
    d = deploy(chain, worked_plan, fund_cents=100_000_000)
    members = [pseudonym(f"m{i}") for i in range(100)]
    start = to_day(date(2026, 1, 1))
    d.engine.enroll(d.insurer, d.plan_id, [Enrollment(m, start, None, 0) for m in members])
    d.submit_batch([d.claim(m, FIRST_DAY, Z_LINE) for m in members])  # warm every member
    day = FIRST_DAY + timedelta(days=1)
    subs = d.submit_batch([d.claim(m, day, Z_LINE) for m in members])
    assert [s.status for s in subs] == [ClaimStatus.PAID] * 100
    # Each claim reads a different member's (cold) slots: dearer than one member's 100.
    report("per claim, batch of 100, 100 members", subs[0].receipt.gas_used // 100, 75_000)


def test_small_batches_pay_for_the_whole_batch_bound(
    chain: EmbeddedChain, worked_plan: Plan
) -> None:
    # Recorded, not a requirement: the ABI decoder sizes memory for 100 claims of 32 lines
    # whatever the batch holds, so a batch of one costs far more than `submit_claim`.
    d = deploy(chain, worked_plan, fund_cents=100_000_000)
    member = d.enroll("m1", date(2026, 1, 1))
    submit_paid(d, d.claim(member, FIRST_DAY, Z_LINE))
    (sub,) = d.submit_batch([d.claim(member, FIRST_DAY + timedelta(days=1), Z_LINE)])
    assert sub.status == ClaimStatus.PAID
    report("batch of 1", sub.receipt.gas_used, 385_000)


def test_settling_256_claims_whose_payout_hook_burns_all_gas(
    chain: EmbeddedChain, worked_plan: Plan
) -> None:
    # The worst queue: the token calls the receiver on transfer, and every claim's payout
    # burns all the gas it is given. The engine gives each payment at most PAY_GAS (100,000),
    # so a claim costs a bounded amount and a full `settle` still fits a mainnet block.
    d = deploy(chain, worked_plan, fund_cents=0, token_type=HostileToken)
    d.token.transact(d.insurer, "set_call_receiver", True)
    burner = chain.send(d.insurer, None, GAS_BURNER_INIT).contract_address
    assert burner is not None
    d.engine.set_payout(d.hospital, d.plan_id, "HOSP-A", burner)
    members = [pseudonym(f"m{i}") for i in range(257)]
    d.engine.enroll(
        d.insurer, d.plan_id, [Enrollment(m, to_day(date(2026, 1, 1)), None, 0) for m in members]
    )
    for start in range(0, 257, 100):
        batch = [d.claim(m, FIRST_DAY, Z_LINE) for m in members[start : start + 100]]
        assert {s.status for s in d.submit_batch(batch)} == {ClaimStatus.QUEUED}
    d.engine.set_paused(d.insurer, d.plan_id, True)
    d.fund(257 * 9_500)  # 257 claims of plan_paid 95.00
    d.engine.set_paused(d.insurer, d.plan_id, False)
    one = d.engine.settle(d.outsider, d.plan_id, 1)
    report("settle 1 claim, payout hook burns all gas", one.gas_used, 175_000)
    full = d.engine.settle(d.outsider, d.plan_id, 256)
    assert d.pool().queued == 0
    assert d.engine.provider_info(d.plan_id, "HOSP-A").credit == 257 * 9_500
    report("settle 256 claims, payout hooks burn all gas", full.gas_used, 29_200_000)
    assert full.gas_used < MAINNET_BLOCK_GAS
