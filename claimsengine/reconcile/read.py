"""The only part of reconciliation that talks to the chain: a plan's claim events, the
token transfers the engine sent, its providers and NPIs, and the record ids (and member
ids) this workspace knows for the claims' commitments."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from claimsengine.abi import DecodedEvent, bytes32_to_text, text_to_bytes32
from claimsengine.days import day_of_timestamp
from claimsengine.engine import DevToken, Engine
from claimsengine.errors import ClaimsError
from claimsengine.history import plan_claim_events
from claimsengine.payer import Payer
from claimsengine.reconcile.events import (
    apply_credits,
    apply_recoveries,
    claims_from_events,
    recoveries_from_events,
    transfers_from_events,
)
from claimsengine.reconcile.model import CreditCollection, OnChainClaim, PlanSettlements

if TYPE_CHECKING:
    from claimsengine.workspace import Workspace

__all__ = ["provider_npis", "read_settlements"]


def read_settlements(
    workspace: Workspace,
    plan_id: str,
    *,
    payer: Payer | None = None,
    member_ids: bool = False,
) -> PlanSettlements:
    """Read a plan's claims, payments and token transfers from the chain's events.

    Only events are read: any party can run this against any node. Record ids come from
    the workspace's journal, then its vault. ``payer`` defaults to the block `claims deploy`
    recorded in this workspace; ``member_ids`` also reads each claim's member id from the
    vault (the 835 names the patient by it).
    """
    info = workspace.plan(plan_id)
    engine = workspace.engine
    block = info.block_number
    grouped = plan_claim_events(engine, plan_id, from_block=block)
    recoveries = recoveries_from_events(_events_if_known(engine, "DebtRecovered", plan_id, block))
    claims = claims_from_events(grouped, workspace.provider_ids_by_account(plan_id))
    credits = _events_if_known(engine, "ProviderCredited", plan_id, block)
    claims = apply_recoveries(apply_credits(claims, credits, recoveries), recoveries)
    collections = _collections(_events_if_known(engine, "CreditCollected", plan_id, block))
    payment_txs = {c.paid_tx for c in claims if c.paid_tx is not None}
    payment_txs |= {c.tx_hash for c in collections}
    token = DevToken(workspace.chain, info.token)  # any ERC-20: Transfer is standard
    engine_topic = bytes(12) + bytes.fromhex(engine.address[2:])
    transfer_events = (
        token.events("Transfer", engine_topic, from_block=block) if payment_txs else []
    )
    return PlanSettlements(
        plan_id=plan_id,
        token=info.token,
        token_scale=info.token_scale,
        engine=engine.address,
        today=day_of_timestamp(workspace.chain.now()),
        claims=tuple(claims),
        transfers=tuple(transfers_from_events(transfer_events, payment_txs)),
        record_ids=_record_ids(workspace, claims),
        collections=collections,
        recoveries=tuple(recoveries),
        payer=payer if payer is not None else workspace.recorded_payer(plan_id),
        npis=provider_npis(workspace, plan_id, block),
        member_ids=_member_ids(workspace, claims) if member_ids else {},
    )


def _collections(events: Sequence[DecodedEvent]) -> tuple[CreditCollection, ...]:
    return tuple(
        CreditCollection(
            provider_id=bytes32_to_text(e.args["provider_ref"]),
            payout=str(e.args["payout"]),
            amount=int(e.args["amount"]),
            tx_hash=e.tx_hash,
        )
        for e in events
    )


def _events_if_known(
    engine: Engine, name: str, plan_id: str, from_block: int
) -> list[DecodedEvent]:
    """The plan's ``name`` events, or none when this engine's ABI has no such event (an
    engine deployed before providers were credited and NPIs stored)."""
    if name not in engine.abi.events:
        return []
    return engine.events(name, text_to_bytes32(plan_id), from_block=from_block)


def provider_npis(workspace: Workspace, plan_id: str, from_block: int = 0) -> dict[str, str]:
    """provider id -> NPI, as the plan's ProviderRegistered events last set them (an event
    with npi 0 keeps the NPI registered before)."""
    npis: dict[str, str] = {}
    for event in _events_if_known(workspace.engine, "ProviderRegistered", plan_id, from_block):
        number = int(event.args.get("npi") or 0)
        if number:
            npis[bytes32_to_text(event.args["provider_ref"])] = f"{number:010d}"
    return npis


def _member_ids(workspace: Workspace, claims: Sequence[OnChainClaim]) -> dict[bytes, str]:
    """commitment -> member id, from this workspace's vault (the records it submitted)."""
    member_ids: dict[bytes, str] = {}
    if not (workspace.state_dir / "vault").exists():
        return member_ids
    vault = workspace.vault
    for claim in claims:
        if claim.commitment not in vault:
            continue
        try:
            record, _salt = vault.get(claim.commitment)
        except ClaimsError:
            continue  # another party's vault key: the member stays unknown
        member_ids[claim.commitment] = record.member_id
    return member_ids


def _record_ids(workspace: Workspace, claims: Sequence[OnChainClaim]) -> dict[bytes, str]:
    """commitment -> record id, from the journal of this workspace, else from its vault."""
    record_ids: dict[bytes, str] = {}
    journal = workspace.journal
    missing = []
    for claim in claims:
        entry = journal.by_commitment(claim.commitment)
        if entry is not None:
            record_ids[claim.commitment] = entry.record_id
        else:
            missing.append(claim.commitment)
    if missing and (workspace.state_dir / "vault").exists():
        vault = workspace.vault
        for commitment in missing:
            if commitment not in vault:
                continue
            try:
                record, _salt = vault.get(commitment)
            except ClaimsError:
                continue  # another party's vault key: the record stays unknown
            record_ids[commitment] = record.record_id
    return record_ids
