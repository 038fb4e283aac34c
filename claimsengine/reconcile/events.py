"""Decoded events -> plain values: a claim's status, its lines and payment, the credits the
engine gave instead of a transfer, and the token transfers of the plan's payments. Pure:
no chain is read here (``read`` does that)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from claimsengine.abi import DecodedEvent, bytes32_to_text
from claimsengine.adjudication import LineAdjudication
from claimsengine.errors import ClaimsError
from claimsengine.history import ClaimEvents, line_adjudication
from claimsengine.reconcile.model import (
    REVIEW_DENIAL_DEFAULT,
    OnChainClaim,
    TokenTransfer,
)
from claimsengine.status import ClaimStatus

__all__ = [
    "apply_credits",
    "claim_status",
    "claims_from_events",
    "denied_in_review",
    "transfers_from_events",
]

def claim_status(events: ClaimEvents) -> ClaimStatus:
    """A claim's current status from its events alone.

    Submission says paid, queued, pending_review or denied. After that: a ClaimPaid means
    paid; a review denial means denied; a ClaimQueued (after approval) means queued.
    """
    try:
        status = events.submitted_status
    except ValueError:
        raise ClaimsError(
            f"claim {events.claim_id} has no status in its ClaimSubmitted event"
        ) from None
    for event in events.later:
        if event.name == "ClaimPaid":
            return ClaimStatus.PAID
    for event in events.later:
        if event.name == "ClaimReviewed" and not event.args["approved"]:
            return ClaimStatus.DENIED
    for event in events.later:
        if event.name == "ClaimQueued":
            return ClaimStatus.QUEUED
    return status


def claims_from_events(
    grouped: Mapping[int, ClaimEvents], provider_ids: Mapping[str, str]
) -> list[OnChainClaim]:
    """Plain claims from grouped events (history.group_claim_events), in claim-id order.
    ``provider_ids`` maps a provider account to its provider id (ProviderSet events)."""
    claims = []
    for claim_id in sorted(grouped):
        events = grouped[claim_id]
        submitted = events.submitted.args
        paid = events.paid_event
        lines = tuple(line_adjudication(e.args) for e in events.lines)
        review_reason = _review_denial(events)
        if review_reason is not None:
            lines = tuple(denied_in_review(line, review_reason) for line in lines)
        claims.append(
            OnChainClaim(
                claim_id=claim_id,
                commitment=bytes(submitted["commitment"]),
                member=bytes(submitted["member"]),
                provider_account=str(submitted["provider"]),
                provider_id=_provider_id(submitted, provider_ids),
                service_day=int(submitted["service_day"]),
                status=claim_status(events),
                lines=lines,
                reported_plan_paid=int(submitted["plan_paid"]),
                paid=int(paid.args["amount"]) if paid else 0,
                payee=str(paid.args["payee"]) if paid else None,
                paid_tx=paid.tx_hash if paid else None,
                paid_log_index=paid.log_index if paid else None,
                submitted_tx=events.submitted.tx_hash,
                review_reason=review_reason,
            )
        )
    return claims


def _provider_id(submitted: Mapping[str, Any], provider_ids: Mapping[str, str]) -> str | None:
    """The claim's provider id: its ClaimSubmitted ``provider_ref`` when the engine emits
    one, else the id registered for the submitting account."""
    ref = submitted.get("provider_ref")
    if ref:
        return bytes32_to_text(ref)
    return provider_ids.get(str(submitted["provider"]))


def _review_denial(events: ClaimEvents) -> int | None:
    """The reason code of the claim's denial in review, or None when it was not denied
    there. An engine whose ClaimReviewed has no reason denies with the default, 50."""
    for event in events.later:
        if event.name == "ClaimReviewed" and not event.args["approved"]:
            return int(event.args.get("reason") or REVIEW_DENIAL_DEFAULT)
    return None


def denied_in_review(line: LineAdjudication, reason: int) -> LineAdjudication:
    """A line of a claim denied in review, as the spec reads it: allowed 0, plan_paid 0,
    the whole billed amount under the review's reason code."""
    return LineAdjudication(line.code, line.units, line.billed, 0, 0, 0, 0, 0, 0, denial=reason)


def transfers_from_events(
    transfers: Iterable[DecodedEvent], payment_txs: Iterable[bytes]
) -> list[TokenTransfer]:
    """The engine's token Transfer events that belong to this plan's payments: those in a
    transaction that carries one of the plan's ClaimPaid events. A transaction of the engine
    touches one plan, so other plans' payments and pool withdrawals are left out."""
    txs = set(payment_txs)
    return [
        TokenTransfer(e.tx_hash, e.log_index, str(e.args["receiver"]), int(e.args["value"]))
        for e in transfers
        if e.tx_hash in txs
    ]


def apply_credits(
    claims: Sequence[OnChainClaim], credits: Iterable[DecodedEvent]
) -> list[OnChainClaim]:
    """The claims with what the engine credited instead of transferring (ProviderCredited):
    a claim's own credit, or, for the one refused transfer of a batch (claim id 0), every
    claim of that provider paid in that transaction, when their payments add up to it."""
    by_claim: dict[int, int] = {}
    by_batch: dict[tuple[bytes, str], int] = {}
    for event in credits:
        claim_id, amount = int(event.args["claim_id"]), int(event.args["amount"])
        if claim_id:
            by_claim[claim_id] = by_claim.get(claim_id, 0) + amount
        else:
            key = (event.tx_hash, bytes32_to_text(event.args["provider_ref"]))
            by_batch[key] = by_batch.get(key, 0) + amount
    batches: dict[tuple[bytes, str], list[OnChainClaim]] = {}
    for claim in claims:
        if claim.paid_tx is not None and (claim.paid_tx, claim.provider) in by_batch:
            batches.setdefault((claim.paid_tx, claim.provider), []).append(claim)
    for key, paid in batches.items():
        if sum(c.paid for c in paid) == by_batch[key]:
            by_claim.update((c.claim_id, c.paid) for c in paid)
        # Otherwise the credit explains no set of payments: left out, the transfer check
        # then shows the payments the token did not move.
    return [
        replace(claim, credited=by_claim[claim.claim_id]) if claim.claim_id in by_claim else claim
        for claim in claims
    ]
