"""Matching (pure): ledger rows against the plan's claims, the token transfers attributed to
providers, and the totals. No chain, no files: linear in claims and rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

from claimsengine.errors import LedgerError
from claimsengine.money import format_cents
from claimsengine.reconcile.balance import balance_checks
from claimsengine.reconcile.ledger import LedgerRow
from claimsengine.reconcile.model import (
    CreditCollection,
    OnChainClaim,
    PlanSettlements,
    Result,
    TokenTransfer,
    reasons_of,
)
from claimsengine.reconcile.report import (
    ProviderTotals,
    ReconciliationReport,
    RecordResult,
    UnledgeredClaim,
)

__all__ = ["match"]


def match(
    settlements: PlanSettlements,
    ledger: Sequence[LedgerRow],
    *,
    provider: str | None = None,
    ledger_name: str = "ledger",
) -> ReconciliationReport:
    """Match ledger rows to the plan's claims and check the totals. Pure: no chain, no files.

    ``provider`` limits the report to one provider's claims (a hospital reconciling its
    own ledger). Raises ``LedgerError`` for a row that matches claims of several providers.
    """
    claims = [c for c in settlements.claims if provider is None or c.provider == provider]
    record_ids = settlements.record_ids
    rows = _match_rows(ledger, claims, record_ids, provider, ledger_name)
    not_in_ledger, unledgered = _claims_without_rows(claims, rows.used, record_ids)
    received, collected, unexplained = _attribute_transfers(
        settlements.claims, settlements.transfers, settlements.collections
    )
    providers = _provider_totals(
        settlements, claims, rows.expected, received, collected, scope=provider
    )
    warnings: list[str] = []
    if claims and ledger and not any(c.commitment in record_ids for c in claims):
        warnings.append(
            f"this workspace knows the record id of none of the plan's {len(claims)} claims: "
            "record ids are off-chain, so reconcile with the submitter's state folder "
            "(its journal or vault)"
        )
    return ReconciliationReport(
        plan_id=settlements.plan_id,
        ledger=ledger_name,
        provider=provider,
        today=settlements.today,
        token=settlements.token,
        token_scale=settlements.token_scale,
        records=(*rows.records, *not_in_ledger),
        providers=providers,
        checks=balance_checks(claims, providers, unexplained, settlements.token_scale),
        unledgered=tuple(unledgered),
        claims=tuple(claims),
        record_ids=record_ids,
        warnings=tuple(warnings),
        payer=settlements.payer,
        npis=settlements.npis,
        member_ids=settlements.member_ids,
        recoveries=tuple(
            r for r in settlements.recoveries if provider is None or r.provider_id == provider
        ),
    )


@dataclass
class _MatchedRows:
    """The ledger rows' results, in ledger order; the claims they matched (claim id -> ledger
    line); and what the ledger expects per provider."""

    records: list[RecordResult] = field(default_factory=list)
    used: dict[int, int] = field(default_factory=dict)
    expected: dict[str, int] = field(default_factory=dict)

    def expect(self, provider: str, cents: int) -> None:
        self.expected[provider] = self.expected.get(provider, 0) + cents


def _match_rows(
    ledger: Sequence[LedgerRow],
    claims: Sequence[OnChainClaim],
    record_ids: Mapping[bytes, str],
    provider: str | None,
    ledger_name: str,
) -> _MatchedRows:
    """Each ledger row against the claim of its record id (at most one claim per row)."""
    by_record: dict[str, list[OnChainClaim]] = {}
    for each in claims:
        record_id = record_ids.get(each.commitment)
        if record_id is not None:
            by_record.setdefault(record_id, []).append(each)
    matched = _MatchedRows()
    for row in ledger:
        claim = _resolve(row, by_record.get(row.record_id, ()), ledger_name)
        if claim is None:
            owner = row.provider_id or provider
            if owner is not None:
                matched.expect(owner, row.expected_paid)
            matched.records.append(
                RecordResult(
                    row.record_id, "not_on_chain", row.expected_paid, None, None, (), None,
                    row.line, owner,
                )
            )  # fmt: skip
            continue
        if claim.claim_id in matched.used:
            raise LedgerError(
                f"is the same claim as line {matched.used[claim.claim_id]} "
                f"(claim {claim.claim_id})",
                file=ledger_name,
                line=row.line,
                record=row.record_id,
                field="record_id",
                hint="keep one row per record",
            )
        matched.used[claim.claim_id] = row.line
        matched.expect(claim.provider, row.expected_paid)
        matched.records.append(_classify(row, claim))
    return matched


def _claims_without_rows(
    claims: Sequence[OnChainClaim], used: Mapping[int, int], record_ids: Mapping[bytes, str]
) -> tuple[list[RecordResult], list[UnledgeredClaim]]:
    """The claims no ledger row matched: paid ones are not_in_ledger results (the spec's);
    the others are listed apart, so that every claim is accounted for."""
    results: list[RecordResult] = []
    unledgered: list[UnledgeredClaim] = []
    for claim in claims:
        if claim.claim_id in used:
            continue
        record_id = record_ids.get(claim.commitment)
        if claim.status == "paid":
            results.append(
                RecordResult(
                    record_id, "not_in_ledger", None, claim.plan_paid, claim.paid,
                    reasons_of(claim), claim, None, claim.provider_id,
                )
            )  # fmt: skip
        else:
            unledgered.append(UnledgeredClaim(claim, record_id))
    return results, unledgered


def _resolve(
    row: LedgerRow, found: Sequence[OnChainClaim], ledger_name: str
) -> OnChainClaim | None:
    """The one claim a ledger row is about. When one provider's record id is on several
    claims (a record submitted again after a void), the row is about the live claim, or,
    when every one was voided, the latest."""
    candidates = found
    if row.provider_id is not None:
        candidates = [c for c in found if c.provider == row.provider_id]
    if len(candidates) > 1:
        live = [c for c in candidates if c.status != "voided"]
        candidates = live or [max(candidates, key=lambda c: c.claim_id)]
    if len(candidates) > 1:
        providers = ", ".join(sorted(c.provider for c in candidates))
        raise LedgerError(
            f"matches claims of several providers ({providers})",
            file=ledger_name,
            line=row.line,
            record=row.record_id,
            field="record_id",
            hint="add a provider_id column to the ledger, or pass --provider",
        )
    return candidates[0] if candidates else None


def _classify(row: LedgerRow, claim: OnChainClaim) -> RecordResult:
    result: Result
    reasons: tuple[str, ...] = ()
    if claim.status == "paid":
        if claim.paid == row.expected_paid:
            result = "matched"
        elif claim.paid < row.expected_paid:
            result = "short_paid"
            reasons = reasons_of(claim)
            if row.expected_paid > claim.billed:
                excess = format_cents(row.expected_paid - claim.billed)
                reasons = (*reasons, f"expected more than billed: {excess}")
        else:
            result = "over_paid"
            reasons = reasons_of(claim)
    elif claim.status == "voided":
        result = "voided"
        reasons = void_reasons(claim)
    else:
        result = cast(Result, str(claim.status))  # denied, pending_review or queued
        reasons = reasons_of(claim)
    return RecordResult(
        record_id=row.record_id,
        result=result,
        expected_paid=row.expected_paid,
        plan_paid=claim.plan_paid,
        paid=claim.net_paid,
        reasons=reasons,
        claim=claim,
        line=row.line,
        provider_id=claim.provider_id,
    )


def void_reasons(claim: OnChainClaim) -> tuple[str, ...]:
    """Why a voided claim counts 0 paid: what it was, what its payment became, and what
    replaced it."""
    reasons = [f"voided (was {str(claim.voided_from).replace('_', ' ')})"]
    if claim.reversed:
        reasons.append(
            f"payment {format_cents(claim.paid)} reversed: {format_cents(claim.recovered)} "
            f"recovered, {format_cents(claim.debt - claim.recovered)} still owed"
        )
    if claim.replaced_by is not None:
        reasons.append(f"replaced by claim {claim.replaced_by}")
    return tuple(reasons)


def _attribute_transfers(
    claims: Sequence[OnChainClaim],
    transfers: Sequence[TokenTransfer],
    collections: Sequence[CreditCollection] = (),
) -> tuple[dict[str, int], dict[str, int], list[TokenTransfer]]:
    """Token units received per provider for payments, and for collected credits; and the
    transfers that neither explains.

    A transfer belongs to the provider whose claim was paid to the same payee in the same
    transaction. When several providers share a payee in one settlement, each transfer
    goes to the claim paid just before it (settle logs ClaimPaid, then transfers). A
    transfer in a collect transaction to its payout belongs to the collecting provider."""
    paid_in: dict[tuple[bytes, str], list[OnChainClaim]] = {}
    for claim in claims:
        if claim.paid_tx is not None and claim.payee is not None:
            paid_in.setdefault((claim.paid_tx, claim.payee), []).append(claim)
    collected_in = {(c.tx_hash, c.payout): c.provider_id for c in collections}
    received: dict[str, int] = {}
    collected: dict[str, int] = {}
    unexplained: list[TokenTransfer] = []
    for transfer in transfers:
        collector = collected_in.get((transfer.tx_hash, transfer.payee))
        if collector is not None:
            collected[collector] = collected.get(collector, 0) + transfer.units
            continue
        candidates = paid_in.get((transfer.tx_hash, transfer.payee))
        if not candidates:
            unexplained.append(transfer)
            continue
        owner = candidates[0].provider
        if any(c.provider != owner for c in candidates):
            before = [c for c in candidates if (c.paid_log_index or 0) < transfer.log_index]
            nearest = max(before or candidates, key=lambda c: c.paid_log_index or 0)
            owner = nearest.provider
        received[owner] = received.get(owner, 0) + transfer.units
    return received, collected, unexplained


def _provider_totals(
    settlements: PlanSettlements,
    claims: Sequence[OnChainClaim],
    expected: Mapping[str, int],
    received: Mapping[str, int],
    collected_units: Mapping[str, int],
    *,
    scope: str | None,
) -> tuple[ProviderTotals, ...]:
    by_provider: dict[str, list[OnChainClaim]] = {}
    for claim in claims:
        by_provider.setdefault(claim.provider, []).append(claim)
    names = {scope} if scope is not None else set(by_provider) | set(expected)
    collected: dict[str, int] = {}
    for collection in settlements.collections:
        collected[collection.provider_id] = (
            collected.get(collection.provider_id, 0) + collection.amount
        )
    recovered, from_credits = _recovered(settlements)
    totals = []
    for name in sorted(names):
        own = by_provider.get(name, [])
        totals.append(
            ProviderTotals(
                provider_id=name,
                payees=tuple(sorted({c.payee for c in own if c.payee is not None})),
                claims=len(own),
                expected_paid=expected.get(name, 0),
                billed=sum(c.billed for c in own),
                plan_paid=sum(c.plan_paid for c in own),
                paid=sum(c.paid for c in own),
                queued=sum(c.plan_paid for c in own if c.status == "queued"),
                pending_review=sum(c.plan_paid for c in own if c.status == "pending_review"),
                transfers=received.get(name, 0),
                token_scale=settlements.token_scale,
                credited=sum(c.credited for c in own),
                collected=collected.get(name, 0),
                collected_transfers=collected_units.get(name, 0),
                voided=sum(c.debt for c in own),
                recovered=recovered.get(name, 0),
                recovered_from_credits=from_credits.get(name, 0),
            )
        )
    return tuple(totals)


def _recovered(settlements: PlanSettlements) -> tuple[dict[str, int], dict[str, int]]:
    """Cents kept back for each provider's debt: from payments, and from collected credits
    (a DebtRecovered in a collect's transaction)."""
    collect_txs = {c.tx_hash for c in settlements.collections}
    payments: dict[str, int] = {}
    credits: dict[str, int] = {}
    for recovery in settlements.recoveries:
        into = credits if recovery.tx_hash in collect_txs else payments
        into[recovery.provider_id] = into.get(recovery.provider_id, 0) + recovery.amount
    return payments, credits
