"""Who may do what: per-plan roles, the two-step admin hand-over, suspended providers and
the pause switch. Every state-changing function has a test that its caller succeeds and
that an outsider is refused with the exact reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date

import pytest

from claimsengine.abi import text_to_bytes32
from claimsengine.chain.base import Receipt
from claimsengine.chain.embedded import EmbeddedChain
from claimsengine.engine import Enrollment, Role, terms_abi
from claimsengine.errors import NotAuthorised
from claimsengine.status import ClaimStatus

from .conftest import TOKEN_SCALE, Deployment, make_plan, pseudonym, reverts, service

DAY = date(2027, 5, 1)
OTHER_PLAN = make_plan("OTHER-INSURER", [service("X", 30_000)])


@pytest.fixture
def member(deployed: Deployment) -> bytes:
    return deployed.enroll("m1", date(2026, 1, 1))


@pytest.fixture
def pending_claim(deployed: Deployment, member: bytes) -> int:
    """A claim waiting for review: the worked plan's limit lowered to 100.00 in a new plan."""
    plan = replace(deployed.plan, id="REVIEWED", auto_approve_limit=10_000)
    reviewed = deployed.with_plan(plan, fund_cents=1_000_000)
    reviewed.enroll("m1", date(2026, 1, 1))
    # Y billed 12000.00: deductible 1000.00, coinsurance 2000.00 (capped at oop 3000.00
    # - 1000.00 = 2000.00 by the 20% = 2200.00), plan_paid 9000.00 > 100.00.
    sub = reviewed.submit(reviewed.claim(member, DAY, [("Y", 1, 1_200_000)]))
    assert sub.status == ClaimStatus.PENDING_REVIEW
    return sub.claim_id


# Each admin action, as a call that takes the sender.
ADMIN_ACTIONS: dict[str, Callable[[Deployment, str], Receipt]] = {
    "add_services": lambda d, who: d.engine.add_services(who, d.plan_id, [service("NEW", 100)])[0],
    "update_schedule": lambda d, who: d.engine.update_schedule(
        who, d.plan_id, [service("NEW", 100)], d.engine.today() + 1
    )[0],
    "enroll": lambda d, who: d.engine.enroll(
        who, d.plan_id, [Enrollment(pseudonym("new"), 20_000, None, 0)]
    )[0],
    "register_provider": lambda d, who: d.engine.register_provider(
        who, d.plan_id, "HOSP-C", d.chain.accounts["hospital-3"]
    ),
    "set_provider_active": lambda d, who: d.engine.set_provider_active(
        who, d.plan_id, "HOSP-A", False
    ),
    "set_role": lambda d, who: d.engine.set_role(
        who, d.plan_id, d.chain.accounts["hospital-3"], Role.ADJUDICATOR
    ),
    "transfer_admin": lambda d, who: d.engine.transfer_admin(
        who, d.plan_id, d.chain.accounts["hospital-3"]
    ),
    "fund": lambda d, who: d.fund(100, sender=who),
    "withdraw": lambda d, who: d.engine.withdraw(who, d.plan_id, 100, who),
    "set_paused": lambda d, who: d.engine.set_paused(who, d.plan_id, True),  # last: it pauses
}
NOT_ADMINS = ["outsider", "adjudicator", "hospital"]


def account(d: Deployment, who: str) -> str:
    return str(getattr(d, who))


@pytest.mark.parametrize("action", sorted(ADMIN_ACTIONS))
def test_admin_action_by_the_admin(deployed: Deployment, action: str) -> None:
    receipt = ADMIN_ACTIONS[action](deployed, deployed.insurer)
    assert receipt.status == 1


@pytest.mark.parametrize("action", sorted(ADMIN_ACTIONS))
def test_admin_action_by_anyone_else_is_refused(deployed: Deployment, action: str) -> None:
    for who in NOT_ADMINS:
        with reverts("access: not authorised") as info:
            ADMIN_ACTIONS[action](deployed, account(deployed, who))
        assert isinstance(info.value, NotAuthorised)


def test_set_role_cannot_give_the_admin_role(deployed: Deployment) -> None:
    with reverts("access: admin moves by transfer"):
        deployed.engine.set_role(deployed.insurer, deployed.plan_id, deployed.outsider, Role.ADMIN)
    with reverts("access: admin moves by transfer"):
        deployed.engine.set_role(
            deployed.insurer, deployed.plan_id, deployed.outsider, Role.ADMIN | Role.ADJUDICATOR
        )
    assert deployed.engine.roles(deployed.plan_id, deployed.outsider) == Role(0)


def test_set_role_replaces_roles(deployed: Deployment, pending_claim: int) -> None:
    engine, plan_id = deployed.engine, "REVIEWED"
    engine.set_role(deployed.insurer, plan_id, deployed.adjudicator, Role(0))
    assert engine.roles(plan_id, deployed.adjudicator) == Role(0)
    with reverts("access: not authorised"):
        deployed.review(pending_claim, True)


def test_create_plan_is_open_to_anyone(chain: EmbeddedChain, deployed: Deployment) -> None:
    # The outsider creates a plan and becomes its admin, with no role in anyone else's.
    other = deployed.with_plan(OTHER_PLAN, insurer="auditor")
    assert deployed.engine.plan_admin(other.plan_id) == deployed.outsider
    assert deployed.engine.roles(other.plan_id, deployed.outsider) == Role.ADMIN
    assert deployed.engine.roles(deployed.plan_id, deployed.outsider) == Role(0)


def test_create_plan_refuses_an_existing_id(deployed: Deployment) -> None:
    with reverts("claims: not an insurer"):  # an outsider may not create any plan
        deployed.engine.create_plan(deployed.outsider, deployed.plan, deployed.token.address)
    with reverts("claims: plan exists"):  # the admin itself cannot recreate it either
        deployed.engine.create_plan(deployed.insurer, deployed.plan, deployed.token.address)
    assert deployed.engine.plan_admin(deployed.plan_id) == deployed.insurer


def test_create_plan_refuses_an_empty_id(deployed: Deployment) -> None:
    terms = terms_abi(OTHER_PLAN, deployed.token.address)
    with reverts("claims: invalid plan"):
        deployed.engine.transact(deployed.insurer, "create_plan", b"\0" * 32, terms, [])


LIMIT_16 = 2**16 - 1
LIMIT_40 = 2**40 - 1
LIMIT_24 = 2**24 - 1


@pytest.mark.parametrize(
    ("field", "ok", "too_big"),
    [
        ("benefit_period_days", LIMIT_16, LIMIT_16 + 1),
        ("waiting_period_days", LIMIT_16, LIMIT_16 + 1),
        ("timely_filing_days", LIMIT_16, LIMIT_16 + 1),
        ("coinsurance_bps", 10_000, 10_001),
        ("deductible", LIMIT_40, LIMIT_40 + 1),
        ("out_of_pocket_max", LIMIT_40, LIMIT_40 + 1),
        ("annual_benefit_max", LIMIT_40, LIMIT_40 + 1),
        ("auto_approve_limit", LIMIT_40, LIMIT_40 + 1),
        ("effective_day", LIMIT_24, LIMIT_24 + 1),
        ("benefit_period_days", 1, 0),
    ],
)
def test_create_plan_checks_terms(deployed: Deployment, field: str, ok: int, too_big: int) -> None:
    fields = [
        "token",
        "effective_day",
        "benefit_period_days",
        "waiting_period_days",
        "timely_filing_days",
        "deductible",
        "out_of_pocket_max",
        "has_benefit_max",
        "annual_benefit_max",
        "coinsurance_bps",
        "auto_approve_limit",
    ]
    base = list(terms_abi(OTHER_PLAN, deployed.token.address))
    base[fields.index("has_benefit_max")] = True
    position = fields.index(field)
    bad = list(base)
    bad[position] = too_big
    with reverts("claims: invalid terms"):
        deployed.engine.transact(
            deployed.insurer, "create_plan", text_to_bytes32("TERMS"), tuple(bad), []
        )
    good = list(base)
    good[position] = ok
    deployed.engine.transact(
        deployed.insurer, "create_plan", text_to_bytes32("TERMS"), tuple(good), []
    )
    assert deployed.engine.plan_terms("TERMS")[position] == ok


# -- another insurer's plan --------------------------------------------------------------------


def test_another_insurer_cannot_touch_a_plan(deployed: Deployment, member: bytes) -> None:
    second_insurer = deployed.chain.accounts["hospital-3"]
    other = deployed.with_plan(OTHER_PLAN, insurer="hospital-3", fund_cents=100_000)
    assert other.insurer == second_insurer
    # Each insurer is refused on the other's plan, for every admin action.
    for action in ADMIN_ACTIONS.values():
        with reverts("access: not authorised"):
            action(deployed, second_insurer)
        with reverts("access: not authorised"):
            action(other, deployed.insurer)
    # ... and each still runs its own.
    ADMIN_ACTIONS["enroll"](other, second_insurer)
    ADMIN_ACTIONS["enroll"](deployed, deployed.insurer)


def test_an_adjudicator_reviews_only_its_plans_claims(deployed: Deployment, member: bytes) -> None:
    plan = replace(OTHER_PLAN, auto_approve_limit=0)
    other = deployed.with_plan(plan, insurer="hospital-3", fund_cents=100_000)
    # open_plan made the shared adjudicator account an adjudicator of `other` too: take it
    # back, and give the role to hospital-4 instead.
    other.engine.set_role(other.insurer, other.plan_id, deployed.adjudicator, Role(0))
    other_adjudicator = deployed.chain.accounts["hospital-4"]
    other.engine.set_role(other.insurer, other.plan_id, other_adjudicator, Role.ADJUDICATOR)
    other.enroll("m1", date(2026, 1, 1))
    sub = other.submit(other.claim(member, DAY, [("X", 1, 30_000)]))
    assert sub.status == ClaimStatus.PENDING_REVIEW
    with reverts("access: not authorised"):
        deployed.review(sub.claim_id, True)  # the first plan's adjudicator
    with reverts("access: not authorised"):
        deployed.review(sub.claim_id, True, sender=deployed.insurer)  # nor the first insurer
    other.review(sub.claim_id, True, sender=other_adjudicator)
    assert other.status(sub.submitted["commitment"]).status == ClaimStatus.PAID


# -- two-step admin hand-over ------------------------------------------------------------------


def test_admin_hand_over(deployed: Deployment) -> None:
    engine, plan_id, old = deployed.engine, deployed.plan_id, deployed.insurer
    new = deployed.chain.accounts["hospital-4"]
    engine.set_role(old, plan_id, old, Role.ADJUDICATOR)  # the old admin also adjudicates
    engine.transfer_admin(old, plan_id, new)
    assert deployed.engine.call("pending_admin", text_to_bytes32(plan_id)) == new
    # Offered, not yet taken: the old admin still rules, the new one cannot act.
    assert engine.plan_admin(plan_id) == old
    with reverts("access: not authorised"):
        ADMIN_ACTIONS["enroll"](deployed, new)
    ADMIN_ACTIONS["enroll"](deployed, old)
    # Only the offered account may accept.
    with reverts("access: not pending admin") as info:
        engine.accept_admin(deployed.outsider, plan_id)
    assert isinstance(info.value, NotAuthorised)
    engine.accept_admin(new, plan_id)
    assert engine.plan_admin(plan_id) == new
    assert engine.roles(plan_id, new) == Role.ADMIN
    assert engine.roles(plan_id, old) == Role(0)  # spec: it keeps no role on the plan
    assert deployed.engine.call("pending_admin", text_to_bytes32(plan_id)) == "0x" + "0" * 40
    # The old admin lost every admin power; the new one has them.
    for action in ADMIN_ACTIONS.values():
        with reverts("access: not authorised"):
            action(deployed, old)
        action(deployed, new)
    # The offer was used up.
    with reverts("access: not pending admin"):
        engine.accept_admin(new, plan_id)


def test_admin_hand_over_can_be_redirected(deployed: Deployment) -> None:
    engine, plan_id = deployed.engine, deployed.plan_id
    engine.transfer_admin(deployed.insurer, plan_id, deployed.outsider)
    engine.transfer_admin(deployed.insurer, plan_id, deployed.chain.accounts["hospital-4"])
    with reverts("access: not pending admin"):
        engine.accept_admin(deployed.outsider, plan_id)


def test_transfer_admin_by_outsider_is_refused(deployed: Deployment) -> None:
    with reverts("access: not authorised"):
        deployed.engine.transfer_admin(deployed.outsider, deployed.plan_id, deployed.outsider)


def test_accept_admin_without_an_offer_is_refused(deployed: Deployment) -> None:
    with reverts("access: not pending admin"):
        deployed.engine.accept_admin(deployed.outsider, deployed.plan_id)


# -- providers: submit_claim and submit_claims -------------------------------------------------


@pytest.mark.parametrize("who", ["outsider", "insurer", "adjudicator"])
def test_submit_by_a_non_provider_is_refused(deployed: Deployment, member: bytes, who: str) -> None:
    claim = deployed.claim(member, DAY, [("X", 1, 30_000)])
    with reverts("claims: not authorised"):
        deployed.engine.submit_claim(account(deployed, who), deployed.plan_id, claim)
    with reverts("claims: not authorised"):
        deployed.engine.submit_claims(account(deployed, who), deployed.plan_id, [claim])
    # The provider may.
    assert deployed.submit_batch([claim])[0].status == ClaimStatus.PAID


def test_suspended_provider_is_refused_until_reinstated(
    deployed: Deployment, member: bytes
) -> None:
    engine, plan_id, hospital = deployed.engine, deployed.plan_id, deployed.hospital
    engine.set_provider_active(deployed.insurer, plan_id, "HOSP-A", False)
    assert engine.provider_of(plan_id, hospital) == ("HOSP-A", False)
    claim = deployed.claim(member, DAY, [("X", 1, 30_000)])
    with reverts("claims: not authorised"):
        deployed.submit(claim)
    with reverts("claims: not authorised"):
        deployed.submit_batch([claim])
    # Other providers are unaffected.
    by_other = deployed.submit(
        deployed.claim(member, DAY, [("Z", 1, 12_000)]), sender=deployed.hospital2
    )
    assert by_other.status == ClaimStatus.PAID
    engine.set_provider_active(deployed.insurer, plan_id, "HOSP-A", True)
    assert deployed.submit(claim).status == ClaimStatus.PAID


# -- review and settle ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["outsider", "insurer", "hospital"])
def test_review_by_a_non_adjudicator_is_refused(
    deployed: Deployment, pending_claim: int, who: str
) -> None:
    with reverts("access: not authorised") as info:
        deployed.review(pending_claim, True, sender=account(deployed, who))
    assert isinstance(info.value, NotAuthorised)
    deployed.review(pending_claim, False)  # the adjudicator may


def test_settle_is_open_to_anyone(deployed: Deployment) -> None:
    assert deployed.engine.settle(deployed.outsider, deployed.plan_id).status == 1
    with reverts("claims: unknown plan"):
        deployed.engine.settle(deployed.outsider, "NO-SUCH-PLAN")


# -- pause ---------------------------------------------------------------------------------------


def test_paused_plan_refuses_work_but_takes_funds_and_settles(
    deployed: Deployment, member: bytes, pending_claim: int
) -> None:
    engine, plan_id = deployed.engine, deployed.plan_id
    receipt = engine.set_paused(deployed.insurer, plan_id, True)
    assert deployed.events(receipt, "PauseSet") == [
        {"plan_id": text_to_bytes32(plan_id), "paused": True}
    ]
    engine.set_paused(deployed.insurer, "REVIEWED", True)
    assert engine.paused(plan_id)
    claim = deployed.claim(member, DAY, [("X", 1, 30_000)])
    with reverts("claims: plan paused"):
        deployed.submit(claim)
    with reverts("claims: plan paused"):
        deployed.submit_batch([claim])
    with reverts("claims: plan paused"):
        deployed.review(pending_claim, True)
    with reverts("claims: plan paused"):
        engine.withdraw(deployed.insurer, plan_id, 100, deployed.insurer)
    # Settling still works (it pays approved claims only: test_attacks.py), and funding.
    engine.settle(deployed.outsider, plan_id)
    before = deployed.pool().balance
    deployed.fund(5_000)
    assert deployed.pool().balance == before + 5_000
    # Resume: everything works again.
    engine.set_paused(deployed.insurer, plan_id, False)
    engine.set_paused(deployed.insurer, "REVIEWED", False)
    assert not engine.paused(plan_id)
    assert deployed.submit(claim).status == ClaimStatus.PAID
    deployed.review(pending_claim, True)
    engine.settle(deployed.outsider, plan_id)
    insurer_before = deployed.balance(deployed.insurer)
    engine.withdraw(deployed.insurer, plan_id, 100, deployed.insurer)
    assert deployed.balance(deployed.insurer) == insurer_before + 100 * TOKEN_SCALE


def test_pausing_one_plan_leaves_others_running(deployed: Deployment, member: bytes) -> None:
    other = deployed.with_plan(OTHER_PLAN, fund_cents=100_000)
    other.enroll("m1", date(2026, 1, 1))
    deployed.engine.set_paused(deployed.insurer, deployed.plan_id, True)
    assert other.submit(other.claim(member, DAY, [("X", 1, 30_000)])).status == ClaimStatus.PAID
