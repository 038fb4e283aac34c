"""Trust between parties: each attack of issue 8, written first as a test that failed against
the old engine, kept to show that it no longer works (adjudication.md, "Trust between
parties").

The plan has no deductible and 20% coinsurance: X (fee 100.00) pays 80.00 a unit,
W (fee 300.00) 240.00, L (fee 50.00, at most 4 units a period) 40.00.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from claimsengine.abi import text_to_bytes32
from claimsengine.chain.embedded import EmbeddedChain
from claimsengine.days import to_day
from claimsengine.engine import MAX_SETTLE, DevToken, Enrollment, Role
from claimsengine.plan import Plan
from claimsengine.status import ClaimStatus

from .conftest import (
    GAS_BURNER_INIT,
    MAINNET_BLOCK_GAS,
    TODAY,
    TOKEN_SCALE,
    Deployment,
    HostileToken,
    NoReturnToken,
    Submitted,
    deploy,
    deploy_engine,
    make_plan,
    noon,
    open_plan,
    pseudonym,
    reverts,
    service,
)

SERVICES = (
    service("X", 10_000),
    service("W", 30_000),
    service("L", 5_000, max_units_per_period=4),
)
TRUST_PLAN = make_plan("TRUST", SERVICES, benefit_period_days=180)  # periods from 2027-01-01
DAY = date(2027, 5, 1)  # a service day before TODAY (2027-06-01)
NEXT_PERIOD = date(2027, 6, 30)  # 2027-01-01 + 180 days: the second benefit period starts


@pytest.fixture
def d(chain: EmbeddedChain) -> Deployment:
    return deploy(chain, TRUST_PLAN, fund_cents=1_000_000)


@pytest.fixture
def member(d: Deployment) -> bytes:
    return d.enroll("m1", date(2026, 1, 1))


def hostile(chain: EmbeddedChain, plan: Plan = TRUST_PLAN, *, fund_cents: int = 0) -> Deployment:
    """The plan on a fresh engine whose settlement token is the hostile test token."""
    return deploy(chain, plan, fund_cents=fund_cents, token_type=HostileToken)


def engine_balance(d: Deployment) -> int:
    return d.token.balance_of(d.engine.address)


def credit(d: Deployment, provider: str = "HOSP-A") -> int:
    return d.engine.provider_info(d.plan_id, provider).credit


# -- 1. the commitment front-run across plans and providers -----------------------------------
def test_a_commitment_copied_into_another_plan_blocks_nothing(d: Deployment, member: bytes) -> None:
    # An attacker admitted as an insurer (the worst case) makes its own plan, registers
    # itself as the provider, and sends the hospital's pending commitment there first.
    attacker = d.chain.accounts["auditor"]
    theirs = d.with_plan(make_plan("SQUAT", SERVICES), insurer=attacker)
    theirs.engine.register_provider(attacker, theirs.plan_id, "EVIL", attacker)
    claim = d.claim(member, DAY, [("X", 1, 10_000)])
    stolen = theirs.submit(claim, sender=attacker)
    assert stolen.status == ClaimStatus.DENIED  # the member is unknown there: 31
    # The hospital's claim still goes through, and its status is its own.
    mine = d.submit(claim)
    assert mine.status == ClaimStatus.PAID
    assert d.status(claim.commitment).claim_id == mine.claim_id
    assert theirs.status(claim.commitment, "EVIL").claim_id == stolen.claim_id


def test_a_commitment_copied_by_another_provider_of_the_plan_blocks_nothing(
    d: Deployment, member: bytes
) -> None:
    claim = d.claim(member, DAY, [("X", 1, 10_000)])
    copied = d.submit(claim, sender=d.hospital2)
    mine = d.submit(claim)
    assert mine.status == ClaimStatus.PAID and copied.claim_id != mine.claim_id
    assert d.status(claim.commitment).claim_id == mine.claim_id


# -- 2. the insurer redirecting a provider's payout -------------------------------------------
def test_the_insurer_cannot_redirect_a_providers_money(d: Deployment, member: bytes) -> None:
    insurer = d.insurer
    with reverts("claims: not the provider"):
        d.engine.set_payout(insurer, d.plan_id, "HOSP-A", insurer)
    # Nor by registering the hospital's account again under another provider.
    with reverts("claims: account taken"):
        d.engine.register_provider(insurer, d.plan_id, "MINE", d.hospital)
    # Nor by adding an account of its own to the provider (test below).
    with reverts("claims: the provider adds its own accounts"):
        d.engine.register_provider(insurer, d.plan_id, "HOSP-A", insurer)
    info = d.engine.provider_info(d.plan_id, "HOSP-A")
    assert (info.owner, info.payout) == (d.hospital, d.hospital)


def test_the_insurer_cannot_add_an_account_to_claw_back_a_providers_money(
    d: Deployment, member: bytes
) -> None:
    # The old attack: the insurer added an account it held to HOSP-A (register_provider
    # with HOSP-A's id) and, through it, voided HOSP-A's paid 240.00 claim: the 240.00
    # became HOSP-A's debt, kept back from its next payments for the insurer's pool (or
    # replaced the claim by one billed 1.00, or voided it in review). Now a known
    # provider's accounts are added by the provider alone.
    paid = d.submit(d.claim(member, DAY, [("W", 1, 30_000)]))
    assert (paid.status, paid.submitted["plan_paid"]) == (ClaimStatus.PAID, 24_000)
    mole = d.chain.accounts["hospital-4"]
    with reverts("claims: the provider adds its own accounts"):
        d.engine.register_provider(d.insurer, d.plan_id, "HOSP-A", mole)
    assert d.engine.provider_of(d.plan_id, mole) == (None, False)
    with reverts("claims: not authorised"):
        d.engine.void(mole, paid.claim_id)
    assert d.status(paid.submitted["commitment"]).status == ClaimStatus.PAID
    assert d.engine.provider_info(d.plan_id, "HOSP-A").debt == 0
    # Registering the provider's own account again still sets its NPI.
    d.engine.register_provider(d.insurer, d.plan_id, "HOSP-A", d.hospital, 1234567893)
    assert d.engine.provider_info(d.plan_id, "HOSP-A").npi == 1234567893


def test_a_provider_adds_and_removes_its_own_accounts(d: Deployment, member: bytes) -> None:
    second = d.chain.accounts["hospital-3"]
    for who in (d.insurer, d.outsider, d.hospital2, d.adjudicator):
        with reverts("claims: not the provider"):
            d.engine.add_provider_account(who, d.plan_id, "HOSP-A", second)
    d.engine.add_provider_account(d.hospital, d.plan_id, "HOSP-A", second)
    assert d.engine.provider_of(d.plan_id, second) == ("HOSP-A", True)
    with reverts("claims: account taken"):  # one provider's account is no other's
        d.engine.add_provider_account(d.hospital2, d.plan_id, "HOSP-B", second)
    # An added account submits for the provider; it neither adds nor removes accounts.
    sub = d.submit(d.claim(member, DAY, [("X", 1, 10_000)]), sender=second)
    assert sub.status == ClaimStatus.PAID
    for who in (second, d.insurer, d.outsider, d.hospital2):
        with reverts("claims: not the provider"):
            d.engine.remove_provider_account(who, d.plan_id, "HOSP-A", second)
    with reverts("claims: not the provider"):
        d.engine.add_provider_account(second, d.plan_id, "HOSP-A", d.outsider)
    with reverts("claims: the owner account stays"):
        d.engine.remove_provider_account(d.hospital, d.plan_id, "HOSP-A", d.hospital)
    with reverts("claims: not an account of the provider"):
        d.engine.remove_provider_account(d.hospital, d.plan_id, "HOSP-A", d.hospital2)
    # Removed (a lost key, say), the account can neither submit nor void for it.
    d.engine.remove_provider_account(d.hospital, d.plan_id, "HOSP-A", second)
    assert d.engine.provider_of(d.plan_id, second) == ("HOSP-A", False)  # it sent for HOSP-A
    with reverts("claims: not authorised"):
        d.engine.void(second, sub.claim_id)
    with reverts("claims: not authorised"):
        d.submit(d.claim(member, DAY + timedelta(days=1), [("X", 1, 10_000)]), sender=second)
    with reverts("claims: not an account of the provider"):  # removed once
        d.engine.remove_provider_account(d.hospital, d.plan_id, "HOSP-A", second)
    # Retired in the plan: no provider adds it again (the claims it sent stay HOSP-A's),
    # and the insurer cannot register it as a provider of its own.
    with reverts("claims: account taken"):
        d.engine.add_provider_account(d.hospital, d.plan_id, "HOSP-A", second)
    with reverts("claims: account taken"):
        d.engine.add_provider_account(d.hospital2, d.plan_id, "HOSP-B", second)
    with reverts("claims: account taken"):
        d.engine.register_provider(d.insurer, d.plan_id, "HOSP-NEW", second)
    # The owner and its money are as they were.
    assert d.engine.provider_of(d.plan_id, d.hospital) == ("HOSP-A", True)
    assert d.status(sub.submitted["commitment"]).status == ClaimStatus.PAID


def test_a_provider_has_at_most_sixteen_accounts(d: Deployment) -> None:
    for n in range(15):  # the owner's and 15 more
        d.engine.add_provider_account(d.hospital, d.plan_id, "HOSP-A", f"0x{n + 1:040x}")
    with reverts("claims: too many accounts"):
        d.engine.add_provider_account(d.hospital, d.plan_id, "HOSP-A", f"0x{99:040x}")


def test_a_queued_claim_is_paid_where_the_provider_says(chain: EmbeddedChain) -> None:
    # The old attack: 80.00 queued for the hospital went to the insurer. Now only the
    # hospital moves its payout, and the queued claim follows the hospital's choice.
    d = deploy(chain, TRUST_PLAN, fund_cents=0)
    member = d.enroll("m1", date(2026, 1, 1))
    sub = d.submit(d.claim(member, DAY, [("X", 1, 10_000)]))  # plan_paid 80.00
    assert sub.status == ClaimStatus.QUEUED
    savings = d.chain.accounts["hospital-3"]
    d.engine.set_payout(d.hospital, d.plan_id, "HOSP-A", savings)
    before = (d.balance(savings), d.balance(d.insurer))
    d.fund(8_000)
    assert d.balance(savings) - before[0] == 8_000 * TOKEN_SCALE
    assert d.balance(d.insurer) == before[1]  # the insurer only paid the funding in
    assert d.status(sub.submitted["commitment"]).status == ClaimStatus.PAID


def test_an_outsider_cannot_set_a_payout_or_collect(d: Deployment) -> None:
    for who in (d.outsider, d.hospital2, d.adjudicator):
        with reverts("claims: not the provider"):
            d.engine.set_payout(who, d.plan_id, "HOSP-A", who)
        with reverts("claims: not the provider"):
            d.engine.collect(who, d.plan_id, "HOSP-A")
    with reverts("claims: unknown provider"):
        d.engine.set_payout(d.hospital, d.plan_id, "NOBODY", d.hospital)
    with reverts("claims: zero address"):
        d.engine.set_payout(d.hospital, d.plan_id, "HOSP-A", "0x" + "0" * 40)


def test_a_second_account_of_a_provider_is_not_its_owner(d: Deployment, member: bytes) -> None:
    second = d.chain.accounts["hospital-3"]
    d.engine.add_provider_account(d.hospital, d.plan_id, "HOSP-A", second)
    assert d.engine.provider_of(d.plan_id, second) == ("HOSP-A", True)
    with reverts("claims: not the provider"):
        d.engine.set_payout(second, d.plan_id, "HOSP-A", second)
    # It submits for HOSP-A, and HOSP-A's owner account is paid.
    before = d.balance(d.hospital)
    assert (
        d.submit(d.claim(member, DAY, [("X", 1, 10_000)]), sender=second).status == ClaimStatus.PAID
    )
    assert d.balance(d.hospital) - before == 8_000 * TOKEN_SCALE


# -- 3. repricing in flight and unit limits mid-period ----------------------------------------
def test_a_schedule_change_cannot_take_effect_today(d: Deployment) -> None:
    cheaper = [service("X", 100), *SERVICES[1:]]
    with reverts("claims: effective day not after today"):
        d.engine.update_schedule(d.insurer, d.plan_id, cheaper, to_day(TODAY))
    with reverts("claims: effective day not after today"):
        d.engine.update_schedule(d.insurer, d.plan_id, cheaper, to_day(DAY))


def test_a_claim_in_flight_keeps_the_price_of_its_service_day(d: Deployment, member: bytes) -> None:
    # The insurer front-runs a cheaper X from tomorrow: today's claim is priced as before.
    tomorrow = to_day(TODAY) + 1
    d.engine.update_schedule(d.insurer, d.plan_id, [service("X", 100), *SERVICES[1:]], tomorrow)
    sub = d.submit(d.claim(member, TODAY, [("X", 1, 10_000)]))
    assert sub.lines[0]["allowed"] == 10_000  # fee 100.00, not 1.00
    # Later, a late-filed claim for a day before the change is still priced the old way,
    # and a claim for a day after it the new way: allowed min(100.00, 1.00) = 1.00.
    d.chain.set_time(noon(TODAY + timedelta(days=3)))
    late = d.submit(d.claim(member, TODAY - timedelta(days=1), [("X", 1, 10_000)]))
    assert late.lines[0]["allowed"] == 10_000
    new = d.submit(d.claim(member, TODAY + timedelta(days=2), [("X", 1, 10_000)]))
    assert new.lines[0]["allowed"] == 100
    assert d.engine.service(d.plan_id, "X", to_day(TODAY))[1] == 10_000
    assert d.engine.service(d.plan_id, "X")[1] == 100  # today's version


def test_a_code_dropped_by_a_version_is_not_covered_from_its_day(
    d: Deployment, member: bytes
) -> None:
    d.engine.update_schedule(d.insurer, d.plan_id, [SERVICES[0]], to_day(TODAY) + 1)
    d.chain.set_time(noon(TODAY + timedelta(days=2)))
    assert d.submit(d.claim(member, TODAY, [("W", 1, 30_000)])).lines[0]["denial"] == 0
    after = d.submit(d.claim(member, TODAY + timedelta(days=1), [("W", 1, 30_000)]))
    assert after.lines[0]["denial"] == 96


def test_versions_take_effect_in_order(d: Deployment) -> None:
    d.engine.update_schedule(d.insurer, d.plan_id, list(SERVICES), to_day(TODAY) + 10)
    with reverts("claims: version out of order"):
        d.engine.update_schedule(d.insurer, d.plan_id, list(SERVICES), to_day(TODAY) + 10)
    with reverts("claims: version out of order"):
        d.engine.update_schedule(d.insurer, d.plan_id, list(SERVICES), to_day(TODAY) + 5)


def test_codes_join_a_version_only_before_it_is_in_force(d: Deployment) -> None:
    # The first version takes new codes at any time (large schedules); none may change.
    d.engine.add_services(d.insurer, d.plan_id, [service("NEW", 1_000)])
    with reverts("claims: service exists"):
        d.engine.add_services(d.insurer, d.plan_id, [service("X", 100)])
    # A later version takes codes until its day comes.
    d.engine.update_schedule(d.insurer, d.plan_id, [SERVICES[0]], to_day(TODAY) + 1)
    d.engine.add_services(d.insurer, d.plan_id, [SERVICES[1]])
    d.chain.set_time(noon(TODAY + timedelta(days=1)))
    with reverts("claims: version in force"):
        d.engine.add_services(d.insurer, d.plan_id, [SERVICES[2]])


def test_a_unit_limit_cannot_change_mid_period(d: Deployment, member: bytes) -> None:
    # The old attack: 5 units of U used, a limit of 6 set mid-period, a 3-unit claim paid.
    # A limit may now change only on the first day of a benefit period.
    tighter = [*SERVICES[:2], service("L", 5_000, max_units_per_period=2)]
    with reverts("claims: unit limit mid-period"):
        d.engine.update_schedule(d.insurer, d.plan_id, tighter, to_day(TODAY) + 1)
    added = [*SERVICES, service("U", 5_000, max_units_per_period=6)]
    d.engine.update_schedule(d.insurer, d.plan_id, list(SERVICES), to_day(TODAY) + 1)
    with reverts("claims: unit limit mid-period"):  # a new code with a limit, mid-period
        d.engine.add_services(d.insurer, d.plan_id, [added[-1]])
    # At the period's start it may: units count from that day.
    d.engine.update_schedule(d.insurer, d.plan_id, tighter, to_day(NEXT_PERIOD))


def test_a_unit_limit_cannot_change_mid_period_by_leaving_the_code_out(d: Deployment) -> None:
    # Found by hypothesis (the estimate and the oracle disagreed): a version without U, then
    # one with U back without its limit, both mid-period. The limit changed, and U's units
    # no longer counted from the period's start. A code's limit is now compared with the
    # last version that listed it, not only with the version before.
    limited = service("U", 5_000, max_units_per_period=6)
    d.engine.update_schedule(d.insurer, d.plan_id, [*SERVICES, limited], to_day(NEXT_PERIOD))
    d.engine.update_schedule(d.insurer, d.plan_id, list(SERVICES), to_day(NEXT_PERIOD) + 1)
    with reverts("claims: unit limit mid-period"):
        d.engine.update_schedule(
            d.insurer, d.plan_id, [*SERVICES, service("U", 5_000)], to_day(NEXT_PERIOD) + 2
        )
    # Back with the limit it had: units go on counting from the period's start.
    d.engine.update_schedule(d.insurer, d.plan_id, [*SERVICES, limited], to_day(NEXT_PERIOD) + 2)


def test_units_of_a_limited_code_count_from_the_periods_start(d: Deployment, member: bytes) -> None:
    # U gets a limit of 6 from the next period: its units before do not count there.
    d.engine.update_schedule(
        d.insurer,
        d.plan_id,
        [*SERVICES, service("U", 5_000, max_units_per_period=6)],
        to_day(NEXT_PERIOD),
    )
    d.engine.add_services(d.insurer, d.plan_id, [])  # nothing to add: a no-op
    d.chain.set_time(noon(NEXT_PERIOD + timedelta(days=5)))
    later = d.enroll("m1", date(2026, 1, 1), period=1)  # the member's period-1 pseudonym
    assert d.submit(d.claim(later, NEXT_PERIOD, [("U", 5, 25_000)])).lines[0]["denial"] == 0
    over = d.submit(d.claim(later, NEXT_PERIOD + timedelta(days=1), [("U", 3, 15_000)]))
    assert over.lines[0]["denial"] == 119  # 5 + 3 > 6


# -- a claim of one period under the member's pseudonym of another ----------------------------
def test_a_claim_under_the_next_periods_pseudonym_is_denied_31(
    d: Deployment, member: bytes
) -> None:
    # A holder of the plan's key computes the member's period-1 pseudonym (enrolled with the
    # same dates) and files a period-0 claim under it: its period-0 accumulators are empty,
    # so L's 4 units a period would start again. The pseudonym belongs to period 1 only.
    later = d.enroll("m1", date(2026, 1, 1), period=1)
    assert d.submit(d.claim(member, DAY, [("L", 4, 20_000)])).lines[0]["denial"] == 0
    d.chain.set_time(noon(NEXT_PERIOD + timedelta(days=5)))
    # The period-1 claim under the period-1 pseudonym: 1 unit of L, 50.00 - 20% = 40.00 paid.
    own = d.submit(d.claim(later, NEXT_PERIOD, [("L", 1, 5_000)]))
    assert own.status == ClaimStatus.PAID and own.submitted["plan_paid"] == 4_000
    before = (d.accumulators(later, 1), d.units(later, "L", 1))
    assert before == ((0, 1_000, 4_000), 1)  # oop 10.00 (the 20%), benefit 40.00, 1 unit
    stolen = d.submit(d.claim(later, DAY, [("L", 4, 20_000)]))
    assert stolen.status == ClaimStatus.DENIED
    assert [line["denial"] for line in stolen.lines] == [31]
    assert (d.accumulators(later, 1), d.units(later, "L", 1)) == before
    assert (d.accumulators(later, 0), d.units(later, "L", 0)) == ((0, 0, 0), 0)
    # And the other way: a period-1 claim under the period-0 pseudonym.
    assert d.submit(d.claim(member, NEXT_PERIOD, [("L", 1, 5_000)])).lines[0]["denial"] == 31
    assert d.accumulators(member, 1) == (0, 0, 0)


def test_a_pseudonym_cannot_be_moved_to_another_period(d: Deployment, member: bytes) -> None:
    with reverts("claims: enrolled for another period"):
        d.engine.enroll(
            d.insurer, d.plan_id, [Enrollment(member, to_day(date(2026, 1, 1)), None, 1)]
        )
    with reverts("claims: invalid coverage"):  # the period is kept in 32 bits
        d.engine.enroll(d.insurer, d.plan_id, [Enrollment(pseudonym("new"), 20_000, None, 2**32)])
    # New dates for the same period are taken (ones that keep the coverage already lived:
    # test_coverage_already_lived_cannot_be_taken_back); the period stays.
    d.engine.enroll(d.insurer, d.plan_id, [Enrollment(member, to_day(date(2025, 12, 1)), None, 0)])
    assert d.engine.member(d.plan_id, member) == (True, to_day(date(2025, 12, 1)), None, 0)
    assert d.submit(d.claim(member, DAY, [("X", 1, 10_000)])).status == ClaimStatus.PAID


def test_coverage_already_lived_cannot_be_taken_back(d: Deployment, member: bytes) -> None:
    # The old attack: the insurer saw a hospital's claim for a visit on DAY coming and
    # ended the member's coverage the day before it: the claim was denied 27 for a visit
    # that eligibility had shown as covered, and coverage was given back afterwards. Now
    # new dates must keep every day up to today that the old ones covered.
    start = to_day(date(2026, 1, 1))
    for first, last in (
        (start, to_day(DAY) - 1),  # ends before a day already lived
        (to_day(DAY) + 1, None),  # starts after one
        (start, to_day(TODAY) - 1),  # ends yesterday
    ):
        with reverts("claims: coverage already lived"):
            d.engine.enroll(d.insurer, d.plan_id, [Enrollment(member, first, last, 0)])
    sub = d.submit(d.claim(member, DAY, [("X", 1, 10_000)]))
    assert sub.status == ClaimStatus.PAID and sub.submitted["plan_paid"] == 8_000
    # Coverage may end from today on, and may grow backwards.
    d.engine.enroll(d.insurer, d.plan_id, [Enrollment(member, start - 30, to_day(TODAY), 0)])
    assert d.engine.member(d.plan_id, member) == (True, start - 30, to_day(TODAY), 0)
    # A member whose coverage has not started yet may be moved freely, and one enrolled
    # for the first time may be given any dates, past ones too.
    later = d.enroll("m2", TODAY + timedelta(days=10))
    d.engine.enroll(d.insurer, d.plan_id, [Enrollment(later, to_day(TODAY) + 20, None, 0)])
    past = pseudonym("m3")
    d.engine.enroll(d.insurer, d.plan_id, [Enrollment(past, start, to_day(DAY), 0)])
    assert d.engine.member(d.plan_id, past) == (True, start, to_day(DAY), 0)


def test_a_member_who_comes_back_gets_new_dates_in_a_new_period(d: Deployment) -> None:
    # Covered from 2027-01-01 to 2027-03-01, then a lapse; the member comes back from
    # 2027-07-15, in the second benefit period (from 2027-06-30). Period 1's pseudonym,
    # enrolled in advance with the old dates, lived none of them (they are period 0's
    # days): it takes the new ones. Period 0's pseudonym keeps its own: giving it the new
    # dates would take back January and February.
    old = (to_day(date(2027, 1, 1)), to_day(date(2027, 3, 1)))
    first, second = pseudonym("m1", 0), pseudonym("m1", 1)
    d.engine.enroll(d.insurer, d.plan_id, [Enrollment(first, *old, 0), Enrollment(second, *old, 1)])
    d.chain.set_time(noon(NEXT_PERIOD + timedelta(days=5)))
    back = to_day(date(2027, 7, 15))
    d.engine.enroll(d.insurer, d.plan_id, [Enrollment(second, back, None, 1)])
    assert d.engine.member(d.plan_id, second) == (True, back, None, 1)
    with reverts("claims: coverage already lived"):
        d.engine.enroll(d.insurer, d.plan_id, [Enrollment(first, back, None, 0)])
    assert d.engine.member(d.plan_id, first) == (True, *old, 0)


def test_a_paused_plan_still_pays_its_approved_claims(chain: EmbeddedChain) -> None:
    # The old attack: the insurer paused the plan and held every approved claim in the
    # queue (settlement refused, funding settled nothing) for as long as it liked. The
    # pause stops new work (submissions, reviews, voids, withdrawals), not payment of
    # what was approved.
    d = deploy(chain, TRUST_PLAN, fund_cents=0)
    member = d.enroll("m1", date(2026, 1, 1))
    first = d.submit(d.claim(member, DAY, [("X", 1, 10_000)]))  # plan_paid 80.00
    second = d.submit(d.claim(member, DAY, [("W", 1, 30_000)]))  # plan_paid 240.00
    assert (first.status, second.status) == (ClaimStatus.QUEUED, ClaimStatus.QUEUED)
    d.engine.set_paused(d.insurer, d.plan_id, True)
    before = d.balance(d.hospital)
    d.fund(8_000)  # funding settles as always: the first claim is paid
    assert d.status(first.submitted["commitment"]).status == ClaimStatus.PAID
    d.fund(24_000, sender=d.insurer)
    assert d.status(second.submitted["commitment"]).status == ClaimStatus.PAID
    assert d.balance(d.hospital) - before == 32_000 * TOKEN_SCALE
    assert d.engine.paused(d.plan_id)


def test_anyone_settles_a_paused_plans_queue(chain: EmbeddedChain) -> None:
    # Funding settles at most 32 claims: the 33rd, covered by the pool, waits for a
    # `settle`, which the insurer's pause no longer refuses.
    d = deploy(chain, TRUST_PLAN, fund_cents=0)
    member = d.enroll("m1", date(2026, 1, 1))
    days = [DAY - timedelta(days=n) for n in range(33)]  # one visit a day: no duplicates
    queued = d.submit_batch([d.claim(member, day, [("X", 1, 10_000)]) for day in days])
    assert {sub.status for sub in queued} == {ClaimStatus.QUEUED}
    d.fund(33 * 8_000)
    assert d.status(queued[32].submitted["commitment"]).status == ClaimStatus.QUEUED
    d.engine.set_paused(d.insurer, d.plan_id, True)
    before = d.balance(d.hospital)
    assert d.engine.settle(d.outsider, d.plan_id) is not None
    assert d.status(queued[32].submitted["commitment"]).status == ClaimStatus.PAID
    assert d.balance(d.hospital) - before == 8_000 * TOKEN_SCALE
    assert d.pool().balance == 0


FILING_PLAN = make_plan("FILING", SERVICES, timely_filing_days=30)  # periods of a year


def test_a_pause_does_not_make_claims_late(chain: EmbeddedChain) -> None:
    # The old attack: the insurer paused for longer than the 30-day filing window; on
    # resuming, the visit of the day of the pause was late (denied 29), unpaid for good.
    # The filing window now stands still while the plan is paused.
    d = deploy(chain, FILING_PLAN, fund_cents=1_000_000)
    member = d.enroll("m1", date(2026, 1, 1))
    d.engine.set_paused(d.insurer, d.plan_id, True)  # on TODAY, the day of the visit
    d.chain.set_time(noon(TODAY + timedelta(days=31)))
    d.engine.set_paused(d.insurer, d.plan_id, False)
    # Paused 31 days: the visit may be filed until TODAY + 30 + 31.
    d.chain.set_time(noon(TODAY + timedelta(days=61)))
    on_time = d.submit(d.claim(member, TODAY, [("X", 1, 10_000)]))
    assert on_time.status == ClaimStatus.PAID and on_time.submitted["plan_paid"] == 8_000
    d.chain.set_time(noon(TODAY + timedelta(days=62)))
    late = d.submit(d.claim(member, TODAY, [("W", 1, 30_000)]))
    assert [line["denial"] for line in late.lines] == [29]
    # A visit after the pause gets no extra day: 30 days after it, filed on the 31st.
    after = TODAY + timedelta(days=31)
    assert [
        line["denial"] for line in d.submit(d.claim(member, after, [("X", 1, 10_000)])).lines
    ] == [29]


def test_a_pause_does_not_close_a_claims_void_window(chain: EmbeddedChain) -> None:
    # The provider may still void (or correct) its claim after a long pause: the void
    # window stands still with the filing window.
    d = deploy(chain, FILING_PLAN, fund_cents=0)
    member = d.enroll("m1", date(2026, 1, 1))
    queued = d.submit(d.claim(member, TODAY - timedelta(days=2), [("X", 1, 10_000)]))
    assert queued.status == ClaimStatus.QUEUED
    d.engine.set_paused(d.insurer, d.plan_id, True)
    d.chain.set_time(noon(TODAY + timedelta(days=31)))
    d.engine.set_paused(d.insurer, d.plan_id, False)
    # 33 days after the visit, 31 of them paused: within 30 + 31.
    d.engine.void(d.hospital, queued.claim_id)
    assert d.status(queued.submitted["commitment"]).status == ClaimStatus.VOIDED


def test_pausing_again_soon_after_cannot_shorten_the_window(chain: EmbeddedChain) -> None:
    # Two pauses with a short gap between them: the engine keeps one pause, from the first
    # day of the first to the last of the second (the gap counts as paused), so the visit
    # before both keeps both pauses' days: 10 + 5 (gap) + 25 = 40 more days to file.
    d = deploy(chain, FILING_PLAN, fund_cents=1_000_000)
    member = d.enroll("m1", date(2026, 1, 1))
    visit = TODAY - timedelta(days=1)
    d.engine.set_paused(d.insurer, d.plan_id, True)  # on TODAY
    for paused, after in ((False, 10), (True, 15), (False, 40)):
        d.chain.set_time(noon(TODAY + timedelta(days=after)))
        d.engine.set_paused(d.insurer, d.plan_id, paused)
    # Filed 70 days after the visit: 70 <= 30 + 40.
    d.chain.set_time(noon(visit + timedelta(days=70)))
    filed = d.submit(d.claim(member, visit, [("X", 1, 10_000)]))
    assert filed.status == ClaimStatus.PAID
    d.chain.set_time(noon(visit + timedelta(days=71)))  # 71 > 30 + 40: late
    assert [
        line["denial"] for line in d.submit(d.claim(member, visit, [("W", 1, 30_000)])).lines
    ] == [29]


# -- 4. and 5. hostile tokens -----------------------------------------------------------------
def test_a_fee_on_transfer_token_cannot_fund(chain: EmbeddedChain) -> None:
    d = hostile(chain)
    d.token.transact(d.insurer, "set_fee", 100)  # 1%
    with reverts("pool: amount not received"):
        d.fund(10_000)
    assert d.pool().balance == 0
    d.token.transact(d.insurer, "set_fee", 0)
    d.fund(10_000)
    assert engine_balance(d) == 10_000 * TOKEN_SCALE


def test_a_blocked_payout_is_credited_and_the_queue_goes_on(chain: EmbeddedChain) -> None:
    # The old attack: a blocklist token refused the head claim's payout, so settle and
    # fund reverted and every claim behind it was stuck.
    d = hostile(chain)
    m = d.enroll("m1", date(2026, 1, 1))
    head = d.submit(d.claim(m, DAY, [("X", 1, 10_000)]))  # 80.00, queued: empty pool
    behind = d.submit(d.claim(m, DAY, [("W", 1, 30_000)]), sender=d.hospital2)  # 240.00
    assert (head.status, behind.status) == (ClaimStatus.QUEUED, ClaimStatus.QUEUED)
    d.token.transact(d.insurer, "set_blocked", d.hospital, True)
    receipt = d.fund(32_000)
    # Both claims are paid: HOSP-A's 80.00 as a credit in the engine, HOSP-B's in tokens.
    assert [e["claim_id"] for e in d.events(receipt, "ClaimPaid")] == [
        head.claim_id,
        behind.claim_id,
    ]
    assert d.events(receipt, "ProviderCredited") == [
        {
            "plan_id": text_to_bytes32(d.plan_id),
            "provider_ref": text_to_bytes32("HOSP-A"),
            "claim_id": head.claim_id,
            "amount": 8_000,
        }
    ]
    assert d.status(head.submitted["commitment"]).status == ClaimStatus.PAID
    assert d.balance(d.hospital2) == 24_000 * TOKEN_SCALE
    assert credit(d) == 8_000
    # The engine still holds the credit: balance = pool + credits.
    assert engine_balance(d) == (d.pool().balance + credit(d)) * TOKEN_SCALE
    # Collecting to the blocked address fails whole; to a new payout it works.
    with reverts("pool: transfer failed"):
        d.engine.collect(d.hospital, d.plan_id, "HOSP-A")
    savings = d.chain.accounts["hospital-3"]
    d.engine.set_payout(d.hospital, d.plan_id, "HOSP-A", savings)
    collected = d.engine.collect(d.hospital, d.plan_id, "HOSP-A")
    assert d.events(collected, "CreditCollected") == [
        {
            "plan_id": text_to_bytes32(d.plan_id),
            "provider_ref": text_to_bytes32("HOSP-A"),
            "payout": savings,
            "amount": 8_000,
        }
    ]
    assert d.balance(savings) == 8_000 * TOKEN_SCALE and credit(d) == 0
    assert engine_balance(d) == d.pool().balance * TOKEN_SCALE


def test_a_refused_payment_at_submission_is_credited(chain: EmbeddedChain) -> None:
    d = hostile(chain, fund_cents=100_000)
    m = d.enroll("m1", date(2026, 1, 1))
    d.token.transact(d.insurer, "set_refuse_by_false", True)
    sub = d.submit(d.claim(m, DAY, [("X", 1, 10_000)]))
    assert sub.status == ClaimStatus.PAID and credit(d) == 8_000
    # A batch's single transfer is credited once, under claim id 0.
    subs = d.submit_batch([d.claim(m, DAY + timedelta(days=i), [("X", 1, 10_000)]) for i in (1, 2)])
    assert d.events(subs[0].receipt, "ProviderCredited")[0]["claim_id"] == 0
    assert credit(d) == 3 * 8_000
    assert engine_balance(d) == (d.pool().balance + credit(d)) * TOKEN_SCALE


def test_a_token_hook_cannot_re_enter(chain: EmbeddedChain) -> None:
    # The token calls back into the engine (settle) before paying: the engine's lock
    # refuses it, the token's transfer fails, and the payment is credited.
    d = hostile(chain, fund_cents=100_000)
    m = d.enroll("m1", date(2026, 1, 1))
    reenter = d.engine.abi.encode_call("settle", text_to_bytes32(d.plan_id), 1)
    d.token.transact(d.insurer, "set_hook", d.engine.address, reenter)
    sub = d.submit(d.claim(m, DAY, [("X", 1, 10_000)]))
    assert sub.status == ClaimStatus.PAID and credit(d) == 8_000
    assert d.balance(d.hospital) == 0
    assert engine_balance(d) == (d.pool().balance + credit(d)) * TOKEN_SCALE


def test_a_payout_hook_that_burns_all_gas_stops_nothing(chain: EmbeddedChain) -> None:
    # The old attack: the token calls the receiver on transfer (ERC-777 style), HOSP-A
    # points its payout at a contract that burns all gas, and each of its payments left
    # settlement ~1/32 of its gas, so two of them made `fund` and `settle` run out of gas
    # in a mainnet-sized transaction and HOSP-B's claim behind stayed queued.
    d = hostile(chain)
    d.token.transact(d.insurer, "set_call_receiver", True)
    burner = chain.send(d.insurer, None, GAS_BURNER_INIT).contract_address
    assert burner is not None
    d.engine.set_payout(d.hospital, d.plan_id, "HOSP-A", burner)
    m = d.enroll("m1", date(2026, 1, 1))

    def queue_three(first: date) -> list[Submitted]:
        # Each X claim pays 80.00 (fee 100.00, 20% coinsurance); the pool is empty.
        subs = [
            d.submit(d.claim(m, first, [("X", 1, 10_000)])),
            d.submit(d.claim(m, first + timedelta(days=1), [("X", 1, 10_000)])),
            d.submit(d.claim(m, first + timedelta(days=2), [("X", 1, 10_000)]), sender=d.hospital2),
        ]
        assert [s.status for s in subs] == [ClaimStatus.QUEUED] * 3
        return subs

    def paid(subs: list[Submitted]) -> bool:
        providers = ("HOSP-A", "HOSP-A", "HOSP-B")
        return all(
            d.status(s.submitted["commitment"], p).status == ClaimStatus.PAID
            for s, p in zip(subs, providers, strict=True)
        )

    plan = text_to_bytes32(d.plan_id)
    # Funding settles the queue itself, within a mainnet block's gas.
    subs = queue_three(DAY)
    minter = chain.accounts["insurer"]
    d.token.mint(minter, chain.address_of(d.insurer), 24_000 * TOKEN_SCALE)
    d.token.approve(d.insurer, d.engine.address, 24_000 * TOKEN_SCALE)
    chain.send(
        d.insurer,
        d.engine.address,
        d.engine.abi.encode_call("fund", plan, 24_000),
        gas=MAINNET_BLOCK_GAS,
    )
    assert paid(subs)
    # HOSP-A's two refused payments are credited (2 x 80.00); HOSP-B is paid in tokens.
    assert credit(d) == 16_000 and d.balance(d.hospital2) == 8_000 * TOKEN_SCALE
    # And so does `settle`, from anyone.
    subs = queue_three(DAY + timedelta(days=10))
    d.engine.set_paused(d.insurer, d.plan_id, True)
    d.fund(24_000)
    d.engine.set_paused(d.insurer, d.plan_id, False)
    chain.send(
        d.outsider,
        d.engine.address,
        d.engine.abi.encode_call("settle", plan, MAX_SETTLE),
        gas=MAINNET_BLOCK_GAS,
    )
    assert paid(subs)
    assert credit(d) == 32_000 and d.balance(d.hospital2) == 16_000 * TOKEN_SCALE
    assert engine_balance(d) == (d.pool().balance + credit(d)) * TOKEN_SCALE


def test_a_token_without_return_values_works(chain: EmbeddedChain) -> None:
    insurer = chain.accounts["insurer"]
    token = NoReturnToken.deploy(chain, insurer)
    assert isinstance(token, DevToken)
    d = open_plan(chain, deploy_engine(chain), token, TRUST_PLAN, fund_cents=100_000)
    m = d.enroll("m1", date(2026, 1, 1))
    assert d.submit(d.claim(m, DAY, [("X", 1, 10_000)])).status == ClaimStatus.PAID
    assert d.balance(d.hospital) == 8_000 * TOKEN_SCALE and credit(d) == 0
    token.transact(insurer, "set_blocked", d.hospital, True)
    d.submit(d.claim(m, DAY + timedelta(days=1), [("X", 1, 10_000)]))
    assert credit(d) == 8_000


# -- 6. the smaller problems ------------------------------------------------------------------
def test_a_second_account_cannot_bill_the_same_line_again(d: Deployment, member: bytes) -> None:
    second = d.chain.accounts["hospital-3"]
    d.engine.add_provider_account(d.hospital, d.plan_id, "HOSP-A", second)
    d.submit(d.claim(member, DAY, [("X", 1, 10_000)]))
    again = d.submit(d.claim(member, DAY, [("X", 1, 10_000)]), sender=second)
    assert again.lines[0]["denial"] == 18  # same member, provider, code and day
    # Another provider is another provider (rule c is per provider).
    other = d.submit(d.claim(member, DAY, [("X", 1, 10_000)]), sender=d.hospital2)
    assert other.lines[0]["denial"] == 0


def test_only_an_insurer_creates_a_plan(d: Deployment) -> None:
    squatter = d.outsider
    plan = make_plan("SQUATTED", SERVICES)
    with reverts("claims: not an insurer"):
        d.engine.create_plan(squatter, plan, d.token.address)
    # Only the owner admits insurers.
    for who in (squatter, d.adjudicator, d.hospital):
        with reverts("claims: not owner"):
            d.engine.set_insurer(who, who, True)
    d.engine.set_insurer(d.insurer, squatter, True)
    d.engine.create_plan(squatter, plan, d.token.address)
    assert d.engine.plan_admin("SQUATTED") == squatter
    # A removed insurer creates no more plans; its plans stay as they are.
    d.engine.set_insurer(d.insurer, squatter, False)
    with reverts("claims: not an insurer"):
        d.engine.create_plan(squatter, make_plan("AGAIN", SERVICES), d.token.address)
    assert d.engine.plan_admin("SQUATTED") == squatter
    assert d.engine.owner() == d.insurer
    with reverts("access: zero address"):
        d.engine.set_insurer(d.insurer, "0x" + "0" * 40, True)


def test_settle_asking_for_more_than_256_pays_256(chain: EmbeddedChain) -> None:
    d = deploy(chain, TRUST_PLAN, fund_cents=0)
    members = [pseudonym(f"m{i}") for i in range(300)]
    d.engine.enroll(d.insurer, d.plan_id, [Enrollment(m, 20_000, None, 0) for m in members])
    for start in range(0, 300, 100):
        batch = [d.claim(m, DAY, [("X", 1, 10_000)]) for m in members[start : start + 100]]
        assert {s.status for s in d.submit_batch(batch)} == {ClaimStatus.QUEUED}
    d.fund(300 * 8_000)  # funding itself settles 32
    assert d.pool().queued == 300 - 32
    receipt = d.engine.settle(d.outsider, d.plan_id, MAX_SETTLE + 1)
    assert len(d.events(receipt, "ClaimPaid")) == MAX_SETTLE
    assert d.pool().queued == 300 - 32 - MAX_SETTLE


def test_an_old_admin_keeps_no_role(d: Deployment, member: bytes) -> None:
    old, new = d.insurer, d.chain.accounts["hospital-4"]
    d.engine.set_role(old, d.plan_id, old, Role.ADJUDICATOR)
    pending = d.with_plan(make_plan("REVIEWED", SERVICES, auto_approve_limit=0))
    pending.engine.set_role(old, pending.plan_id, old, Role.ADJUDICATOR)
    pending.enroll("m1", date(2026, 1, 1))
    claim = pending.submit(pending.claim(member, DAY, [("X", 1, 10_000)]))
    assert claim.status == ClaimStatus.PENDING_REVIEW
    pending.engine.transfer_admin(old, pending.plan_id, new)
    pending.engine.accept_admin(new, pending.plan_id)
    assert pending.engine.roles(pending.plan_id, old) == Role(0)
    with reverts("access: not authorised"):
        pending.review(claim.claim_id, True, sender=old)
    # Its roles in its other plan are untouched.
    assert d.engine.roles(d.plan_id, old) == Role.ADMIN | Role.ADJUDICATOR


# -- the provider daily limit: a stolen provider key cannot drain the pool --------------------
LIMITED = make_plan("LIMITED", SERVICES, auto_approve_limit=10_000)


def limited(chain: EmbeddedChain, limit: int) -> Deployment:
    plan = Plan(**{**LIMITED.__dict__, "provider_daily_limit": limit})
    return deploy(chain, plan, fund_cents=1_000_000)


def test_a_stolen_provider_key_cannot_drain_the_pool(chain: EmbeddedChain) -> None:
    # Limit 200.00 a day; each X claim (80.00) is under the auto-approve limit (100.00).
    d = limited(chain, 20_000)
    assert d.engine.plan_terms(d.plan_id)[-2:] == (True, 20_000)
    members = [d.enroll(f"m{i}", date(2026, 1, 1)) for i in range(5)]
    subs = [d.submit(d.claim(m, TODAY, [("X", 1, 10_000)])) for m in members]
    # 80 + 80 = 160 <= 200 paid; 160 + 80 = 240 > 200: to review, and so on.
    assert [s.status for s in subs] == [ClaimStatus.PAID, ClaimStatus.PAID] + [
        ClaimStatus.PENDING_REVIEW
    ] * 3
    assert d.balance(d.hospital) == 16_000 * TOKEN_SCALE
    # Another provider has its own total; the next chain day starts a new one.
    assert d.submit(d.claim(members[0], TODAY, [("W", 1, 10_000)]), sender=d.hospital2).status == (
        ClaimStatus.PAID
    )
    d.chain.set_time(noon(TODAY + timedelta(days=1)))
    again = d.submit(d.claim(members[0], TODAY + timedelta(days=1), [("X", 1, 10_000)]))
    assert again.status == ClaimStatus.PAID
    # An adjudicator approves one held claim: paid, and it does not count toward the day.
    d.review(subs[2].claim_id, True)
    assert d.status(subs[2].submitted["commitment"]).status == ClaimStatus.PAID


def test_the_daily_limit_holds_a_claim_exactly_above_it(chain: EmbeddedChain) -> None:
    d = limited(chain, 16_000)  # exactly two X claims
    members = [d.enroll(f"m{i}", date(2026, 1, 1)) for i in range(3)]
    statuses = [d.submit(d.claim(m, TODAY, [("X", 1, 10_000)])).status for m in members]
    assert statuses == [ClaimStatus.PAID, ClaimStatus.PAID, ClaimStatus.PENDING_REVIEW]


def test_what_the_daily_limit_costs(chain: EmbeddedChain) -> None:
    # Reported, not a ceiling: the same steady-state claim with and without a limit.
    plain = deploy(chain, LIMITED, fund_cents=1_000_000)
    capped = plain.with_plan(
        Plan(**{**LIMITED.__dict__, "id": "CAPPED", "provider_daily_limit": 10**9}),
        fund_cents=1_000_000,
    )
    gas = {}
    for d in (plain, capped):
        m = d.enroll("m1", date(2026, 1, 1))
        d.submit(d.claim(m, DAY, [("X", 1, 10_000)]))
        gas[d.plan_id] = d.submit(d.claim(m, DAY + timedelta(days=1), [("X", 1, 10_000)]))
    print(
        f"gas one claim, no daily limit: {gas['LIMITED'].receipt.gas_used:,}; "
        f"with a daily limit: {gas['CAPPED'].receipt.gas_used:,}"
    )
    assert gas["CAPPED"].receipt.gas_used > gas["LIMITED"].receipt.gas_used


# -- review denials carry a reason ------------------------------------------------------------
def test_a_review_denial_carries_its_reason(chain: EmbeddedChain) -> None:
    d = deploy(chain, make_plan("REASONS", SERVICES, auto_approve_limit=0), fund_cents=100_000)
    m = d.enroll("m1", date(2026, 1, 1))
    subs = [d.submit(d.claim(m, DAY + timedelta(days=i), [("X", 1, 10_000)])) for i in range(3)]
    with reverts("claims: invalid reason"):
        d.review(subs[0].claim_id, False, reason=45)
    given = [0, 204]
    for sub, reason in zip(subs, given, strict=False):
        receipt = d.review(sub.claim_id, False, reason=reason)
        assert d.events(receipt, "ClaimReviewed")[0]["reason"] == (reason or 50)
    # On approval the reason is ignored and logged as 0.
    receipt = d.review(subs[2].claim_id, True, reason=45)
    assert d.events(receipt, "ClaimReviewed")[0]["reason"] == 0
