"""Claims read back from the chain's events.

Any party can rebuild a claim's result from the engine's events alone, against any node:
the submission, each line's adjudication, and what happened after (review votes and the
decision, queue, payment, void). The contract's current status comes from storage
(`claim_status`), which is authoritative; a ClaimVoided event settles it as voided too.
Everything else comes from events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from claimsengine.abi import DecodedEvent, bytes32_to_text, text_to_bytes32
from claimsengine.adjudication import LineAdjudication, denied_line
from claimsengine.days import from_day
from claimsengine.engine import DEFAULT_REVIEW_REASON, Engine
from claimsengine.errors import NotFound
from claimsengine.results import (
    ClaimResult,
    LineResult,
    ReviewVote,
    ReviewVotes,
    Totals,
)
from claimsengine.status import ClaimStatus

#: The events that follow a claim's submission, each indexed by claim id first and plan id
#: second (ClaimVoided of a replaced claim also names its replacement, in ``replaced_by``).
LATER_EVENTS = (
    "ClaimPendingReview",
    "ReviewVoted",
    "ClaimReviewed",
    "ClaimQueued",
    "ClaimPaid",
    "ClaimVoided",
)
#: The step name in a result's ``transactions`` of each later event that has one.
_STEPS = {
    "ClaimReviewed": "reviewed",
    "ClaimQueued": "queued",
    "ClaimPaid": "paid",
    "ClaimVoided": "voided",
}


def _topic(value: int | bytes) -> bytes:
    return value.to_bytes(32, "big") if isinstance(value, int) else value


def line_adjudication(args: Mapping[str, Any]) -> LineAdjudication:
    """The LineAdjudication of one LineAdjudicated event."""
    denial = int(args["denial"])
    return LineAdjudication(
        code=bytes32_to_text(args["code"]),
        units=int(args["units"]),
        billed=int(args["billed"]),
        allowed=int(args["allowed"]),
        deductible=int(args["deductible"]),
        copay=int(args["copay"]),
        coinsurance=int(args["coinsurance"]),
        benefit_limit=int(args["benefit_limit"]),
        plan_paid=int(args["plan_paid"]),
        denial=denial or None,
    )


def line_result(args: Mapping[str, Any]) -> LineResult:
    """A LineResult from one LineAdjudicated event."""
    return LineResult.from_adjudication(line_adjudication(args))


@dataclass(frozen=True)
class ClaimEvents:
    """Every event of one claim, in chain order. ``replacing`` is the ClaimVoided event of
    the claim that this one replaced (same transaction), when it is a correction."""

    submitted: DecodedEvent
    lines: tuple[DecodedEvent, ...]
    later: tuple[DecodedEvent, ...]
    replacing: DecodedEvent | None = None

    @property
    def claim_id(self) -> int:
        return int(self.submitted.args["claim_id"])

    @property
    def commitment(self) -> bytes:
        return bytes(self.submitted.args["commitment"])

    @property
    def submitted_status(self) -> ClaimStatus:
        """The status the claim was submitted with (later events may have changed it)."""
        return ClaimStatus.from_code(self.submitted.args["status"])

    @property
    def provider_account(self) -> str:
        return str(self.submitted.args["provider"])

    @property
    def paid_event(self) -> DecodedEvent | None:
        return next((e for e in self.later if e.name == "ClaimPaid"), None)

    @property
    def voided_event(self) -> DecodedEvent | None:
        return next((e for e in self.later if e.name == "ClaimVoided"), None)

    @property
    def replaced_by(self) -> int | None:
        """The correction that replaced this claim, when a replacement voided it."""
        voided = self.voided_event
        if voided is None:
            return None
        return int(voided.args["replaced_by"]) or None

    @property
    def replaces(self) -> int | None:
        """The claim that this one replaced, when it is a correction."""
        return None if self.replacing is None else int(self.replacing.args["claim_id"])

    @property
    def votes(self) -> tuple[ReviewVote, ...]:
        """The review votes, in chain order (a vote's reason only on a denial)."""
        return tuple(
            ReviewVote(
                adjudicator=str(e.args["adjudicator"]),
                approved=bool(e.args["approved"]),
                reason=None if e.args["approved"] else int(e.args["reason"]),
                transaction="0x" + e.tx_hash.hex(),
            )
            for e in self.later
            if e.name == "ReviewVoted"
        )

    @property
    def vote_counts(self) -> tuple[int, int] | None:
        """The (approvals, denials) that counted at the last review vote, as its event gave
        them; None before any vote."""
        votes = [e for e in self.later if e.name == "ReviewVoted"]
        if not votes:
            return None
        return int(votes[-1].args["approvals"]), int(votes[-1].args["denials"])

    @property
    def review_denial(self) -> int | None:
        """The reason code of a denial in review (adjudication.md, Claim outcome), or None."""
        for event in self.later:
            if event.name == "ClaimReviewed" and not event.args["approved"]:
                return int(event.args.get("reason") or DEFAULT_REVIEW_REASON)
        return None

    def line_adjudications(self) -> tuple[LineAdjudication, ...]:
        """The claim's lines as they read now: after a review denial every line is denied
        with its reason (allowed 0, plan_paid 0, the whole billed amount under the code)."""
        lines = tuple(line_adjudication(e.args) for e in self.lines)
        reason = self.review_denial
        if reason is None:
            return lines
        return tuple(denied_line(line, reason) for line in lines)


def group_claim_events(events: Iterable[DecodedEvent]) -> dict[int, ClaimEvents]:
    """Group decoded events (from one receipt or a log query) by claim id."""
    submitted: dict[int, DecodedEvent] = {}
    lines: dict[int, list[DecodedEvent]] = {}
    later: dict[int, list[DecodedEvent]] = {}
    replacing: dict[int, DecodedEvent] = {}
    for event in events:
        claim_id = event.args.get("claim_id")
        if claim_id is None:
            continue
        if event.name == "ClaimSubmitted":
            submitted[claim_id] = event
        elif event.name == "LineAdjudicated":
            lines.setdefault(claim_id, []).append(event)
        else:
            later.setdefault(claim_id, []).append(event)
            if event.name == "ClaimVoided" and int(event.args["replaced_by"]):
                replacing[int(event.args["replaced_by"])] = event
    return {
        claim_id: ClaimEvents(
            submitted=event,
            lines=tuple(
                sorted(lines.get(claim_id, []), key=lambda e: (e.block_number, e.log_index))
            ),
            later=tuple(later.get(claim_id, [])),
            replacing=replacing.get(claim_id),
        )
        for claim_id, event in submitted.items()
    }


class EventReads(Protocol):
    """Where a claim's events are read: ``Engine``, or the engine's events in the embedded
    chain's file (claim_reads.ClaimStorage)."""

    def events(
        self, name: str, *topics: bytes | None, from_block: int = 0, to_block: int | None = None
    ) -> Sequence[DecodedEvent]: ...


def claim_events(engine: EventReads, claim_id: int) -> ClaimEvents:
    """One claim's events, read from the chain."""
    topic = _topic(claim_id)
    events: list[DecodedEvent] = []
    for name in ("ClaimSubmitted", "LineAdjudicated", *LATER_EVENTS):
        events.extend(engine.events(name, topic))
    submitted = next((e for e in events if e.name == "ClaimSubmitted"), None)
    if submitted is None:
        raise NotFound(f"no claim {claim_id} on this chain", hint="check the claim id")
    # A correction voids the claim it replaces in its own transaction: that ClaimVoided
    # (indexed by the old claim's id) is in the same block, and names this claim. Only that
    # block is read: the plan's voids after it are not this claim's.
    block = submitted.block_number
    events.extend(
        e
        for e in engine.events(
            "ClaimVoided", None, submitted.args["plan_id"], from_block=block, to_block=block
        )
        if int(e.args["replaced_by"]) == claim_id
    )
    return group_claim_events(events)[claim_id]


def build_result(
    events: ClaimEvents,
    *,
    status: ClaimStatus,
    record_id: str | None,
    provider_id: str | None,
    quorum: int | None = None,
    vote_counts: tuple[int, int] | None = None,
) -> ClaimResult:
    """The formats.md claim result of one claim (review denials as denied lines).
    ``quorum``, the plan's review_quorum, goes with the review votes when it is known;
    ``vote_counts``, the votes that count now (of a claim in review), in place of those
    that the last vote's event gave."""
    lines = tuple(LineResult.from_adjudication(line) for line in events.line_adjudications())
    transactions = {"submitted": "0x" + events.submitted.tx_hash.hex()}
    for event in events.later:
        step = _STEPS.get(event.name)
        if step:
            transactions[step] = "0x" + event.tx_hash.hex()
    # A void is final: its event decides the status even where storage is read elsewhere.
    if events.voided_event is not None:
        status = ClaimStatus.VOIDED
    votes = events.votes
    return ClaimResult(
        claim_id=events.claim_id,
        plan_id=bytes32_to_text(events.submitted.args["plan_id"]),
        record_id=record_id,
        provider_id=provider_id,
        service_date=from_day(int(events.submitted.args["service_day"])),
        status=status,
        lines=lines,
        totals=Totals.of_lines(lines),
        transactions=transactions,
        replaces=events.replaces,
        replaced_by=events.replaced_by,
        review=(
            ReviewVotes(votes, quorum, vote_counts or events.vote_counts)
            if votes or quorum is not None
            else None
        ),
    )


def plan_claim_events(engine: Engine, plan_id: str, from_block: int = 0) -> dict[int, ClaimEvents]:
    """Every claim of a plan, with all its events (for reconciliation and reports)."""
    plan_topic = text_to_bytes32(plan_id)
    submitted = engine.events("ClaimSubmitted", None, plan_topic, from_block=from_block)
    ids = {int(e.args["claim_id"]) for e in submitted}
    events: list[DecodedEvent] = list(submitted)
    # LineAdjudicated is indexed by claim id only: read them all once and keep this plan's.
    events.extend(
        e
        for e in engine.events("LineAdjudicated", from_block=from_block)
        if e.args["claim_id"] in ids
    )
    for name in LATER_EVENTS:
        events.extend(engine.events(name, None, plan_topic, from_block=from_block))
    return group_claim_events(events)
