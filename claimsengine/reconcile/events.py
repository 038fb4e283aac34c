"""Decoded events -> plain values: a claim's status, its lines and payment, the credits the
engine gave instead of a transfer, and the token transfers of the plan's payments. Pure:
no chain is read here (``read`` does that)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from claimsengine.abi import DecodedEvent, bytes32_to_text
from claimsengine.errors import ClaimsError
from claimsengine.history import ClaimEvents
from claimsengine.reconcile.model import DebtRecovery, OnChainClaim, TokenTransfer
from claimsengine.status import ClaimStatus

__all__ = [
    "apply_credits",
    "apply_recoveries",
    "claim_status",
    "claims_from_events",
    "recoveries_from_events",
    "transfers_from_events",
]


def claim_status(events: ClaimEvents) -> ClaimStatus:
    """A claim's current status from its events alone.

    Submission says paid, queued, pending_review or denied. After that: a ClaimVoided means
    voided (whatever came before); a ClaimPaid means paid; a review denial means denied; a
    ClaimQueued (after approval) means queued.
    """
    try:
        status = events.submitted_status
    except ValueError:
        raise ClaimsError(
            f"claim {events.claim_id} has no status in its ClaimSubmitted event"
        ) from None
    if events.voided_event is not None:
        return ClaimStatus.VOIDED
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
    ``provider_ids`` maps a provider account to its provider id (ProviderSet events). A
    claim denied in review has its lines read as denied with the review's reason."""
    claims = []
    for claim_id in sorted(grouped):
        events = grouped[claim_id]
        submitted = events.submitted.args
        paid = events.paid_event
        claims.append(
            OnChainClaim(
                claim_id=claim_id,
                commitment=bytes(submitted["commitment"]),
                member=bytes(submitted["member"]),
                provider_account=str(submitted["provider"]),
                provider_id=_provider_id(submitted, provider_ids),
                service_day=int(submitted["service_day"]),
                status=claim_status(events),
                lines=events.line_adjudications(),
                reported_plan_paid=int(submitted["plan_paid"]),
                paid=int(paid.args["amount"]) if paid else 0,
                payee=str(paid.args["payee"]) if paid else None,
                paid_tx=paid.tx_hash if paid else None,
                paid_log_index=paid.log_index if paid else None,
                submitted_tx=events.submitted.tx_hash,
                review_reason=events.review_denial,
                replaces=events.replaces,
                **_void_fields(events),
            )
        )
    return claims


def _void_fields(events: ClaimEvents) -> dict[str, Any]:
    """What a claim's ClaimVoided says: the status it had, the claim that replaced it, and
    the debt voiding it created (none of it when it was not voided)."""
    void = events.voided_event
    if void is None:
        return {}
    try:
        before = ClaimStatus.from_code(void.args["status_before"])
    except ValueError:
        raise ClaimsError(
            f"claim {events.claim_id} was voided from no status it can have had"
        ) from None
    return {
        "voided_from": before,
        "voided_tx": void.tx_hash,
        "voided_order": (void.block_number, void.log_index),
        "replaced_by": events.replaced_by,
        "debt": int(void.args["debt"]),
    }


def _provider_id(submitted: Mapping[str, Any], provider_ids: Mapping[str, str]) -> str | None:
    """The claim's provider id: its ClaimSubmitted ``provider_ref`` when the engine emits
    one, else the id registered for the submitting account."""
    ref = submitted.get("provider_ref")
    if ref:
        return bytes32_to_text(ref)
    return provider_ids.get(str(submitted["provider"]))


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


def recoveries_from_events(events: Iterable[DecodedEvent]) -> list[DebtRecovery]:
    """The plan's DebtRecovered events as plain values, in chain order."""
    recoveries = [
        DebtRecovery(
            provider_id=bytes32_to_text(e.args["provider_ref"]),
            claim_id=int(e.args["claim_id"]),
            amount=int(e.args["amount"]),
            tx_hash=e.tx_hash,
            order=(e.block_number, e.log_index),
        )
        for e in events
    ]
    return sorted(recoveries, key=lambda r: r.order)


def apply_recoveries(
    claims: Sequence[OnChainClaim], recoveries: Iterable[DebtRecovery]
) -> list[OnChainClaim]:
    """The claims with how much of each voided claim's debt has come back. A provider's
    debt is one sum; what is recovered pays its voided claims' debts oldest void first."""
    left: dict[str, int] = {}
    for recovery in recoveries:
        left[recovery.provider_id] = left.get(recovery.provider_id, 0) + recovery.amount
    owing = sorted((c for c in claims if c.debt), key=lambda c: c.voided_order)
    recovered: dict[int, int] = {}
    for claim in owing:
        share = min(claim.debt, left.get(claim.provider, 0))
        if share:
            recovered[claim.claim_id] = share
            left[claim.provider] -= share
    return [
        replace(c, recovered=recovered[c.claim_id]) if c.claim_id in recovered else c
        for c in claims
    ]


def apply_credits(
    claims: Sequence[OnChainClaim],
    credits: Iterable[DecodedEvent],
    recoveries: Iterable[DebtRecovery] = (),
) -> list[OnChainClaim]:
    """The claims with what the engine credited instead of transferring (ProviderCredited):
    a claim's own credit, or, for the one refused transfer of a batch (claim id 0), every
    claim of that provider paid in that transaction, when their payments add up to it and
    to what that transaction kept back for the provider's debt (the kept part is taken
    from the batch's first claims)."""
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
    kept: dict[tuple[bytes, str], int] = {}
    for recovery in recoveries:
        if not recovery.claim_id:
            key = (recovery.tx_hash, recovery.provider_id)
            kept[key] = kept.get(key, 0) + recovery.amount
    for key, paid in batches.items():
        held = kept.get(key, 0)
        if sum(c.paid for c in paid) != by_batch[key] + held:
            continue  # the credit explains no set of payments: the transfer check shows it
        for claim in paid:
            share = min(held, claim.paid)
            held -= share
            by_claim[claim.claim_id] = claim.paid - share
    return [
        replace(claim, credited=by_claim[claim.claim_id]) if claim.claim_id in by_claim else claim
        for claim in claims
    ]
