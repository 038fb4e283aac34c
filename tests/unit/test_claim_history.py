"""Claim results rebuilt from events: voids, replacements and review votes (formats.md:
the `voided` status, `replaces` / `replaced_by`; adjudication.md: review_quorum)."""

from __future__ import annotations

from dataclasses import fields

from claimsengine.abi import DecodedEvent, text_to_bytes32
from claimsengine.history import build_result, group_claim_events
from claimsengine.results import ClaimResult, ReviewVote, ReviewVotes
from claimsengine.status import ClaimStatus as Status
from tests.unit.test_results import COPAY_LINE

PLAN = text_to_bytes32("SILVER-2027")
HOSPITAL = "0x" + "a1" * 20
ADJUDICATOR_1 = "0x" + "b1" * 20
ADJUDICATOR_2 = "0x" + "b2" * 20


def event(name: str, block: int, index: int, **args: object) -> DecodedEvent:
    return DecodedEvent(name, dict(args), block, block.to_bytes(32, "big"), index, "0x" + "e0" * 20)


def submitted(claim_id: int, block: int, status: Status, plan_paid: int) -> list[DecodedEvent]:
    """A one-line claim: the spec's copay example (99213 billed 180.00, fee 120.00, copay
    25.00, plan paid 95.00), with `plan_paid` as the claim's total where it is bigger."""
    line = {f.name: getattr(COPAY_LINE, f.name) for f in fields(COPAY_LINE)}
    line.update(code=text_to_bytes32(COPAY_LINE.code), denial=0)
    return [
        event(
            "ClaimSubmitted",
            block,
            0,
            claim_id=claim_id,
            plan_id=PLAN,
            member=b"\x02" * 32,
            provider=HOSPITAL,
            commitment=claim_id.to_bytes(32, "big"),
            service_day=20_500,
            status=status.code,
            plan_paid=plan_paid,
        ),
        event("LineAdjudicated", block, 1, claim_id=claim_id, **line),
    ]


def voided(claim_id: int, block: int, index: int, replaced_by: int = 0) -> DecodedEvent:
    return event(
        "ClaimVoided",
        block,
        index,
        claim_id=claim_id,
        plan_id=PLAN,
        provider_ref=text_to_bytes32("HOSP-A"),
        status_before=Status.PAID.code,
        replaced_by=replaced_by,
        debt=9_500,
    )


def vote(
    claim_id: int, block: int, who: str, approved: bool, counts: tuple[int, int], reason: int = 0
) -> DecodedEvent:
    """A ReviewVoted event; ``counts``: the approvals and denials that count after it, as
    the chain gives them."""
    return event(
        "ReviewVoted",
        block,
        0,
        claim_id=claim_id,
        plan_id=PLAN,
        adjudicator=who,
        approved=approved,
        reason=reason,
        approvals=counts[0],
        denials=counts[1],
    )


def result(events: list[DecodedEvent], claim_id: int, status: Status) -> ClaimResult:
    return build_result(
        group_claim_events(events)[claim_id], status=status, record_id="R-1", provider_id="HOSP-A"
    )


def test_a_voided_claim_keeps_its_lines_and_names_its_void() -> None:
    events = [*submitted(1, 1, Status.PAID, 9_500), voided(1, 2, 0)]
    # The status read from storage may be stale (read before the void): the event decides.
    voided_claim = result(events, 1, Status.PAID)
    assert voided_claim.status == "voided"
    # What the claim was worth stays: 95.00 plan paid, reasons 45 and 3.
    assert voided_claim.totals.plan_paid == 9_500
    assert voided_claim.lines[0].reasons == ("45", "3")
    assert voided_claim.transactions["voided"] == "0x" + (2).to_bytes(32, "big").hex()
    assert voided_claim.replaced_by is None and voided_claim.replaces is None
    data = voided_claim.to_json()
    assert data["status"] == "voided"
    assert "replaced_by" not in data and "replaces" not in data


def test_a_replacement_and_the_claim_it_replaced_name_each_other() -> None:
    events = [
        *submitted(1, 1, Status.PAID, 9_500),
        # One transaction (block 5): the old claim voided, the correction submitted.
        voided(1, 5, 0, replaced_by=2),
        *submitted(2, 5, Status.PAID, 9_500),
    ]
    old = result(events, 1, Status.PAID)
    new = result(events, 2, Status.PAID)
    assert (old.status, old.replaced_by, old.replaces) == ("voided", 2, None)
    assert (new.status, new.replaces, new.replaced_by) == ("paid", 1, None)
    assert old.to_json()["replaced_by"] == 2
    assert new.to_json()["replaces"] == 1
    assert "voided" not in new.transactions


def test_review_votes_in_order_with_the_denial_reason() -> None:
    events = [
        *submitted(3, 1, Status.PENDING_REVIEW, 600_000),
        vote(3, 2, ADJUDICATOR_1, True, (1, 0)),
        vote(3, 3, ADJUDICATOR_2, False, (1, 1), reason=96),
    ]
    pending = build_result(
        group_claim_events(events)[3],
        status=Status.PENDING_REVIEW,
        record_id=None,
        provider_id=None,
        quorum=2,
    )
    tx = ["0x" + block.to_bytes(32, "big").hex() for block in (2, 3)]
    assert pending.review == ReviewVotes(
        (ReviewVote(ADJUDICATOR_1, True, None, tx[0]), ReviewVote(ADJUDICATOR_2, False, 96, tx[1])),
        quorum=2,
        counts=(1, 1),
    )
    assert (pending.review.approvals, pending.review.denials) == (1, 1)
    assert pending.review.voted(ADJUDICATOR_1.upper().replace("0X", "0x"))
    assert pending.to_json()["review"] == {
        "quorum": 2,
        "approvals": 1,
        "denials": 1,
        "votes": [
            {
                "adjudicator": ADJUDICATOR_1,
                "decision": "approve",
                "reason": None,
                "transaction": tx[0],
            },
            {
                "adjudicator": ADJUDICATOR_2,
                "decision": "deny",
                "reason": "96",
                "transaction": tx[1],
            },
        ],
    }


def test_a_claim_without_votes_has_no_review_key() -> None:
    plain = result(submitted(1, 1, Status.PAID, 9_500), 1, Status.PAID)
    assert plain.review is None
    assert "review" not in plain.to_json()


def test_the_counts_are_the_chains_at_the_last_vote() -> None:
    # ADJUDICATOR_1 approved, then lost the role: the chain dropped its vote at the next
    # one, and counted one approval, not two.
    events = [
        *submitted(4, 1, Status.PENDING_REVIEW, 600_000),
        vote(4, 2, ADJUDICATOR_1, True, (1, 0)),
        vote(4, 3, ADJUDICATOR_2, True, (1, 0)),
    ]
    pending = result(events, 4, Status.PENDING_REVIEW)
    assert pending.review is not None and len(pending.review.votes) == 2
    assert (pending.review.approvals, pending.review.denials) == (1, 0)
    assert ClaimResult.from_json(pending.to_json()) == pending


def test_the_new_keys_read_back_from_json() -> None:
    events = [
        *submitted(1, 1, Status.PAID, 9_500),
        voided(1, 5, 0, replaced_by=2),
        *submitted(2, 5, Status.PENDING_REVIEW, 9_500),
        vote(2, 6, ADJUDICATOR_1, False, (0, 1), reason=50),
    ]
    for claim_id, status in ((1, Status.PAID), (2, Status.PENDING_REVIEW)):
        original = result(events, claim_id, status)
        assert ClaimResult.from_json(original.to_json()) == original
