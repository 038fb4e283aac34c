"""Review by quorum (adjudication.md, "Claim outcome"): with a plan's review_quorum of k, a
claim in review is approved by k distinct adjudicators, or denied by k; each adjudicator
votes once, and every vote is an event. k = 1 is review as it always was.

Plan (as test_review.py): deductible 100.00, oop max 3000.00, 20%, auto-approve up to
500.00; BIG fee 1000.00 with at most 5 units a period. Review quorum 2 unless told.
"""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from claimsengine.abi import text_to_bytes32
from claimsengine.chain.embedded import EmbeddedChain
from claimsengine.engine import Role, terms_abi
from claimsengine.status import ClaimStatus

from .conftest import TOKEN_SCALE, Deployment, Submitted, deploy, reverts
from .test_gas import report
from .test_review import BIG_ONE, DAY, REVIEW_PLAN

# BIG x 1 for a member with nothing met: deductible 100.00, coinsurance floor(900.00 x 20%)
# = 180.00, plan_paid 720.00 (> 500.00: review).
BIG_PLAN_PAID = 72_000


@pytest.fixture
def two(chain: EmbeddedChain) -> Deployment:
    """REVIEW_PLAN with review_quorum 2, and three adjudicators."""
    d = deploy(chain, dataclasses.replace(REVIEW_PLAN, review_quorum=2), fund_cents=10_000_000)
    for alias in ("hospital-3", "hospital-4"):
        d.engine.set_role(d.insurer, d.plan_id, chain.accounts[alias], Role.ADJUDICATOR)
    return d


def adjudicators(d: Deployment) -> tuple[str, str, str]:
    return d.adjudicator, d.chain.accounts["hospital-3"], d.chain.accounts["hospital-4"]


def pending(d: Deployment, service_day: date = DAY) -> Submitted:
    member = d.enroll("m1", date(2026, 1, 1))
    sub = d.submit(d.claim(member, service_day, BIG_ONE))
    assert sub.status == ClaimStatus.PENDING_REVIEW
    return sub


def state(d: Deployment, sub: Submitted) -> ClaimStatus | None:
    return d.status(sub.submitted["commitment"]).status


def test_the_quorum_is_a_plan_term(two: Deployment) -> None:
    assert two.engine.plan_terms(two.plan_id)[11] == 2
    assert two.all_events("PlanCreated")[0]["review_quorum"] == 2


@pytest.mark.parametrize(("quorum", "accepted"), [(0, False), (1, True), (31, True), (32, False)])
def test_the_quorum_is_1_to_31(two: Deployment, quorum: int, accepted: bool) -> None:
    plan = dataclasses.replace(REVIEW_PLAN, id="Q", review_quorum=quorum)
    terms = terms_abi(plan, two.token.address)
    send = lambda: two.engine.transact(  # noqa: E731
        two.insurer, "create_plan", text_to_bytes32("Q"), terms, []
    )
    if accepted:
        send()
        assert two.engine.plan_terms("Q")[11] == quorum
    else:
        with reverts("claims: invalid terms"):
            send()


def test_two_approvals_approve(two: Deployment) -> None:
    d = two
    first, second, _ = adjudicators(d)
    sub = pending(d)
    vote = d.review(sub.claim_id, True, sender=first)
    assert d.events(vote, "ReviewVoted") == [
        {
            "claim_id": sub.claim_id,
            "plan_id": text_to_bytes32(d.plan_id),
            "adjudicator": first,
            "approved": True,
            "reason": 0,
            "approvals": 1,
            "denials": 0,
        }
    ]
    assert d.events(vote, "ClaimReviewed") == []
    assert d.events(vote, "ClaimPaid") == []
    assert state(d, sub) == ClaimStatus.PENDING_REVIEW
    assert d.engine.review_votes(d.plan_id, sub.claim_id) == (1, 0)
    assert d.engine.has_voted(sub.claim_id, first)
    assert not d.engine.has_voted(sub.claim_id, second)

    hospital_before = d.balance(d.hospital)
    decision = d.review(sub.claim_id, True, sender=second)
    assert [e["approvals"] for e in d.events(decision, "ReviewVoted")] == [2]
    (reviewed,) = d.events(decision, "ClaimReviewed")
    assert (reviewed["adjudicator"], reviewed["approved"]) == (second, True)
    assert state(d, sub) == ClaimStatus.PAID
    assert d.balance(d.hospital) - hospital_before == BIG_PLAN_PAID * TOKEN_SCALE
    # Decided: no more votes.
    with reverts("claims: not pending review"):
        d.review(sub.claim_id, True, sender=adjudicators(d)[2])


def test_two_denials_deny_with_the_reason_of_the_last(two: Deployment) -> None:
    d = two
    first, second, _ = adjudicators(d)
    sub = pending(d)
    member = sub.submitted["member"]
    assert d.accumulators(member) == (10_000, 28_000, BIG_PLAN_PAID)
    assert d.units(member, "BIG") == 1
    d.review(sub.claim_id, False, reason=16, sender=first)
    # One denial takes nothing back yet.
    assert d.accumulators(member) == (10_000, 28_000, BIG_PLAN_PAID)
    decision = d.review(sub.claim_id, False, reason=204, sender=second)
    (vote,) = d.events(decision, "ReviewVoted")
    assert (vote["reason"], vote["approvals"], vote["denials"]) == (204, 0, 2)
    (reviewed,) = d.events(decision, "ClaimReviewed")
    assert (reviewed["approved"], reviewed["reason"]) == (False, 204)
    assert state(d, sub) == ClaimStatus.DENIED
    assert d.accumulators(member) == (0, 0, 0)
    assert d.units(member, "BIG") == 0


def test_a_split_vote_waits_for_a_third(two: Deployment) -> None:
    d = two
    first, second, third = adjudicators(d)
    sub = pending(d)
    d.review(sub.claim_id, True, sender=first)
    d.review(sub.claim_id, False, sender=second)
    assert state(d, sub) == ClaimStatus.PENDING_REVIEW
    assert d.engine.review_votes(d.plan_id, sub.claim_id) == (1, 1)
    decision = d.review(sub.claim_id, False, sender=third)
    (reviewed,) = d.events(decision, "ClaimReviewed")
    assert (reviewed["approved"], reviewed["reason"]) == (False, 50)  # 0 asks for 50
    assert state(d, sub) == ClaimStatus.DENIED


@pytest.mark.parametrize("again", [True, False])
def test_an_adjudicator_votes_once(two: Deployment, again: bool) -> None:
    d = two
    first, _, _ = adjudicators(d)
    sub = pending(d)
    d.review(sub.claim_id, True, sender=first)
    with reverts("claims: already voted"):
        d.review(sub.claim_id, again, sender=first)
    assert d.engine.review_votes(d.plan_id, sub.claim_id) == (1, 0)


def test_a_vote_needs_the_adjudicator_role(two: Deployment) -> None:
    d = two
    sub = pending(d)
    for who in (d.outsider, d.insurer, d.hospital):
        with reverts("access: not authorised"):
            d.review(sub.claim_id, True, sender=who)
    assert d.engine.review_votes(d.plan_id, sub.claim_id) == (0, 0)


def test_a_revoked_adjudicators_vote_no_longer_counts(two: Deployment) -> None:
    # The attack: with a quorum of 2, a stolen adjudicator key approves; the insurer
    # revokes the role at once; one more approval then paid the claim, one party's word.
    d = two
    stolen, honest, third = adjudicators(d)
    sub = pending(d)
    d.review(sub.claim_id, True, sender=stolen)
    d.engine.set_role(d.insurer, d.plan_id, stolen, Role(0))
    assert d.engine.review_votes(d.plan_id, sub.claim_id) == (0, 0)  # it counts no longer
    vote = d.review(sub.claim_id, True, sender=honest)
    assert [(e["approvals"], e["denials"]) for e in d.events(vote, "ReviewVoted")] == [(1, 0)]
    assert d.events(vote, "ClaimReviewed") == []
    assert state(d, sub) == ClaimStatus.PENDING_REVIEW
    # Two current adjudicators decide it.
    decision = d.review(sub.claim_id, True, sender=third)
    assert [e["approvals"] for e in d.events(decision, "ReviewVoted")] == [2]
    assert state(d, sub) == ClaimStatus.PAID


def test_a_revoked_adjudicator_given_the_role_again_may_vote_again(two: Deployment) -> None:
    d = two
    first, second, _ = adjudicators(d)
    sub = pending(d)
    d.review(sub.claim_id, False, sender=first)
    d.engine.set_role(d.insurer, d.plan_id, first, Role(0))
    d.review(sub.claim_id, True, sender=second)  # its vote was dropped: 1 approval, 0 denials
    assert d.engine.review_votes(d.plan_id, sub.claim_id) == (1, 0)
    assert not d.engine.has_voted(sub.claim_id, first)
    d.engine.set_role(d.insurer, d.plan_id, first, Role.ADJUDICATOR)
    # The dropped vote stays dropped.
    assert d.engine.review_votes(d.plan_id, sub.claim_id) == (1, 0)
    decision = d.review(sub.claim_id, True, sender=first)
    assert [e["approvals"] for e in d.events(decision, "ReviewVoted")] == [2]
    assert state(d, sub) == ClaimStatus.PAID


def test_a_bad_reason_is_refused_before_the_vote_counts(two: Deployment) -> None:
    d = two
    sub = pending(d)
    with reverts("claims: invalid reason"):
        d.review(sub.claim_id, False, reason=45)
    assert not d.engine.has_voted(sub.claim_id, d.adjudicator)


def test_a_denial_with_forged_effects_is_refused(two: Deployment) -> None:
    d = two
    first, second, _ = adjudicators(d)
    sub = pending(d)
    d.review(sub.claim_id, False, sender=first)
    effects = d.engine.claim_effects(sub.claim_id)
    assert effects is not None
    for forged in (
        dataclasses.replace(effects, deductible=effects.deductible + 1),
        dataclasses.replace(effects, out_of_pocket=0),
        dataclasses.replace(effects, lines=()),
        dataclasses.replace(effects, lines=((effects.lines[0][0], 2),)),
        dataclasses.replace(effects, service_day=effects.service_day - 1),
    ):
        with reverts("claims: wrong effects"):
            d.engine.transact(
                second,
                "review",
                text_to_bytes32(d.plan_id),
                text_to_bytes32("HOSP-A"),
                forged.commitment,
                forged.as_abi(),
                False,
                0,
            )
    d.review(sub.claim_id, False, sender=second)
    assert state(d, sub) == ClaimStatus.DENIED


def test_quorum_one_decides_at_the_first_vote(chain: EmbeddedChain) -> None:
    d = deploy(chain, REVIEW_PLAN, fund_cents=10_000_000)
    sub = pending(d)
    decision = d.review(sub.claim_id, True)
    assert [e["approvals"] for e in d.events(decision, "ReviewVoted")] == [1]
    assert len(d.events(decision, "ClaimReviewed")) == 1
    assert state(d, sub) == ClaimStatus.PAID


def test_gas_of_a_vote(two: Deployment) -> None:
    d = two
    first, second, _ = adjudicators(d)
    sub = pending(d)
    vote = d.review(sub.claim_id, True, sender=first)
    report("a vote that does not decide (quorum 2)", vote.gas_used, 85_000)
    decision = d.review(sub.claim_id, True, sender=second)
    report("the approving vote that completes the quorum, paid", decision.gas_used, 120_000)
    other = pending(d, date(2027, 5, 2))
    d.review(other.claim_id, False, sender=first)
    denial = d.review(other.claim_id, False, sender=second)
    report("the denying vote that completes the quorum", denial.gas_used, 95_000)
