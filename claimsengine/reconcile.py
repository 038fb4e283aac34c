"""Settlements against a ledger, from the chain's events.

A hospital (or the insurer) keeps a ledger of what it expects to be paid per record
(cli.md: CSV ``record_id,expected_paid``). Reconciliation gives every record a result
(matched, short_paid, over_paid, denied, pending_review, queued, not_on_chain,
not_in_ledger), per-provider totals checked against the token transfers the providers'
payout addresses actually received, and the 835 balancing checks.

It is built in three layers, so that the matching is fast and testable without a chain:

1. ``read_settlements`` is the only part that talks to the chain. It reads the plan's
   claim events (history.plan_claim_events), the token ``Transfer`` events sent by the
   engine, the plan's providers (ProviderSet events), and maps commitments to record ids.
2. ``claims_from_events`` and ``transfers_from_events`` turn decoded events into plain
   values. Amounts, statuses and payments come from events only, never from a local copy.
3. ``match`` is a pure function over (claims, transfers, ledger rows, record-id map). It
   is linear in the number of claims and rows: 100,000 of each take about a second on a
   shared 2-core machine (bench/reconcile_bench.py).

Record ids never go on the chain; it knows only salted commitments. A ledger row is tied
to its claim through the submitter's journal (record_id -> commitment), with the
encrypted vault as a fallback. A party reconciling from another machine needs the
submitter's journal or vault (and its keys), or every row comes out ``not_on_chain``;
``match`` warns when it knows the record id of none of the plan's claims.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast, get_args

from claimsengine.abi import DecodedEvent, bytes32_to_text, text_to_bytes32
from claimsengine.adjudication import (
    ADJ_BENEFIT_LIMIT,
    ADJ_COINSURANCE,
    ADJ_COPAY,
    ADJ_DEDUCTIBLE,
    ADJ_FEE_SCHEDULE,
    LineAdjudication,
)
from claimsengine.days import day_of_timestamp, from_day
from claimsengine.engine import DevToken, Engine
from claimsengine.errors import ClaimsError, InputError, LedgerError
from claimsengine.history import ClaimEvents, line_adjudication, plan_claim_events
from claimsengine.money import format_cents, parse_amount
from claimsengine.payer import Payer
from claimsengine.status import ClaimStatus

if TYPE_CHECKING:
    from claimsengine.workspace import Workspace

__all__ = [
    "ADJUSTMENT_ORDER",
    "RESULTS",
    "BalanceCheck",
    "CreditCollection",
    "LedgerError",
    "LedgerRow",
    "OnChainClaim",
    "PlanSettlements",
    "ProviderTotals",
    "ReconciliationReport",
    "RecordResult",
    "Result",
    "TokenTransfer",
    "UnledgeredClaim",
    "apply_credits",
    "claim_status",
    "claims_from_events",
    "load_ledger",
    "match",
    "read_settlements",
    "reasons_of",
    "reconcile",
    "transfers_from_events",
]

Result = Literal[
    "matched",
    "short_paid",
    "over_paid",
    "denied",
    "pending_review",
    "queued",
    "not_on_chain",
    "not_in_ledger",
]
RESULTS: tuple[Result, ...] = get_args(Result)

#: The spec's order of a line's adjustments (45, 1, 3, 2, 119); denial codes follow.
ADJUSTMENT_ORDER: tuple[int, ...] = (
    ADJ_FEE_SCHEDULE,
    ADJ_DEDUCTIBLE,
    ADJ_COPAY,
    ADJ_COINSURANCE,
    ADJ_BENEFIT_LIMIT,
)

#: The reason code of a denial in review when the adjudicator gives none (not medically
#: necessary, adjudication.md "Claim outcome").
REVIEW_DENIAL_DEFAULT = 50

LEDGER_COLUMNS = ("record_id", "expected_paid")
#: An optional ledger column: names the provider when record ids repeat across providers.
PROVIDER_COLUMN = "provider_id"

# -- the ledger ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerRow:
    """One ledger row: what the hospital expects to be paid for a record, in cents.

    ``line`` is the row's line in the file (the header is line 1). ``provider_id`` is the
    optional third column; it is only needed when two providers use the same record id.
    """

    record_id: str
    expected_paid: int
    line: int = 0
    provider_id: str | None = None


def load_ledger(path: str | Path) -> list[LedgerRow]:
    """Read a ledger CSV: header ``record_id,expected_paid`` (``provider_id`` optional,
    other columns ignored). Amounts are decimal strings with at most 2 decimals. Raises
    ``LedgerError`` naming the file, the line and the field of the first problem."""
    name = str(path)
    try:
        handle = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        raise LedgerError(
            "no such file", file=name, hint="give the path of the ledger CSV"
        ) from None
    except OSError as error:
        raise LedgerError(f"cannot read it: {error.strerror}", file=name) from None
    with handle:
        try:
            return _read_ledger(handle, name)
        except UnicodeDecodeError:
            raise LedgerError("is not UTF-8 text", file=name, hint="save it as UTF-8 CSV") from None
        except csv.Error as error:
            raise LedgerError(f"is not valid CSV: {error}", file=name) from None


def _read_ledger(lines: Iterable[str], name: str) -> list[LedgerRow]:
    reader = csv.reader(lines)
    header: list[str] | None = None
    for row in reader:
        if any(cell.strip() for cell in row):
            header = [cell.strip() for cell in row]
            break
    hint = "the first line must be the header: record_id,expected_paid"
    if header is None:
        raise LedgerError("is empty", file=name, hint=hint)
    header_line = reader.line_num
    for column in LEDGER_COLUMNS:
        if column not in header:
            raise LedgerError(
                f"the header has no {column} column (it has: {', '.join(header)})",
                file=name,
                line=header_line,
                hint=hint,
            )
    seen_columns: set[str] = set()
    for column in header:
        if column in seen_columns and column in (*LEDGER_COLUMNS, PROVIDER_COLUMN):
            raise LedgerError(f"the header names {column} twice", file=name, line=header_line)
        seen_columns.add(column)
    id_at = header.index("record_id")
    amount_at = header.index("expected_paid")
    provider_at = header.index(PROVIDER_COLUMN) if PROVIDER_COLUMN in header else None

    rows: list[LedgerRow] = []
    first_line: dict[tuple[str | None, str], int] = {}
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue  # blank lines are allowed anywhere
        if len(row) != len(header):
            raise LedgerError(
                f"has {len(row)} fields, the header has {len(header)}",
                file=name,
                line=line,
                hint="quote a value that contains a comma",
            )
        record_id = row[id_at].strip()
        if not record_id:
            raise LedgerError("is empty", file=name, line=line, field="record_id")
        try:
            expected = parse_amount(row[amount_at], field="expected_paid")
        except InputError as error:
            raise LedgerError(
                error.message,
                file=name,
                line=line,
                record=record_id,
                field="expected_paid",
                hint="write amounts like 180.00: digits with at most 2 decimals, "
                "no currency sign or thousands separator",
            ) from None
        provider_id = row[provider_at].strip() or None if provider_at is not None else None
        key = (provider_id, record_id)
        if key in first_line:
            raise LedgerError(
                f"is in the ledger twice (first on line {first_line[key]})",
                file=name,
                line=line,
                record=record_id,
                field="record_id",
                hint="keep one row per record",
            )
        first_line[key] = line
        rows.append(LedgerRow(record_id, expected, line, provider_id))
    return rows


# -- claims and transfers, as the chain's events describe them ----------------------------


@dataclass(frozen=True)
class OnChainClaim:
    """One claim of the plan, from its events. Amounts are cents.

    ``paid`` is the amount of its ClaimPaid event (0 until it is paid); ``reported_plan_paid``
    is the total its ClaimSubmitted event gave, checked against the lines.
    """

    claim_id: int
    commitment: bytes
    member: bytes
    provider_account: str
    provider_id: str | None
    service_day: int
    status: ClaimStatus
    lines: tuple[LineAdjudication, ...]
    reported_plan_paid: int
    paid: int = 0
    payee: str | None = None
    paid_tx: bytes | None = None
    paid_log_index: int | None = None
    submitted_tx: bytes = b""
    #: The reason code of a denial in review (its lines then read as denied with it).
    review_reason: int | None = None
    #: Cents of the payment that the token refused and the engine credited to the provider
    #: instead (ProviderCredited): paid, but the money reached the provider only through
    #: `provider collect`, or is still in the engine.
    credited: int = 0

    @property
    def provider(self) -> str:
        """The provider id, or the submitting account when the plan does not know it."""
        return self.provider_id or self.provider_account

    @property
    def service_date(self) -> date:
        return from_day(self.service_day)

    # Derived once, when the claim is built: reconciliation reads them many times.
    billed: int = field(init=False, repr=False, compare=False)
    allowed: int = field(init=False, repr=False, compare=False)
    plan_paid: int = field(init=False, repr=False, compare=False)
    patient_responsibility: int = field(init=False, repr=False, compare=False)
    #: Each line's (code, cents) adjustments, as ``LineAdjudication.adjustments``.
    line_adjustments: tuple[tuple[tuple[int, int], ...], ...] = field(
        init=False, repr=False, compare=False
    )
    #: (code, cents) summed over the lines: 45, 1, 3, 2, 119 first, then denial codes in
    #: the order they appear.
    adjustments: tuple[tuple[int, int], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        billed = allowed = plan_paid = patient = 0
        for line in self.lines:
            billed += line.billed
            allowed += line.allowed
            plan_paid += line.plan_paid
            patient += line.patient_responsibility
        cuts = tuple(line.adjustments for line in self.lines)
        derived = {
            "billed": billed,
            "allowed": allowed,
            "plan_paid": plan_paid,
            "patient_responsibility": patient,
            "line_adjustments": cuts,
            "adjustments": _summed_adjustments(cuts),
        }
        for name, value in derived.items():
            object.__setattr__(self, name, value)  # frozen: set once, here


@dataclass(frozen=True)
class CreditCollection:
    """A provider collecting what the engine credited it (CreditCollected): ``amount`` cents
    sent to ``payout`` in transaction ``tx_hash``."""

    provider_id: str
    payout: str
    amount: int
    tx_hash: bytes


@dataclass(frozen=True)
class TokenTransfer:
    """One token Transfer from the engine, in token units (not cents)."""

    tx_hash: bytes
    log_index: int
    payee: str
    units: int


def _summed_adjustments(
    lines: Iterable[tuple[tuple[int, int], ...]],
) -> tuple[tuple[int, int], ...]:
    totals: dict[int, int] = {}
    for adjustments in lines:
        for code, cents in adjustments:
            totals[code] = totals.get(code, 0) + cents
    ordered = [(code, totals.pop(code)) for code in ADJUSTMENT_ORDER if code in totals]
    return (*ordered, *totals.items())


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


@dataclass(frozen=True)
class PlanSettlements:
    """Everything reconciliation reads from the chain for one plan, as plain values.

    ``record_ids`` maps a claim's commitment to the off-chain record id (from the journal or
    the vault of the submitter); ``today`` is the chain's day number.
    """

    plan_id: str
    token: str
    token_scale: int
    engine: str
    today: int
    claims: tuple[OnChainClaim, ...]
    transfers: tuple[TokenTransfer, ...]
    record_ids: Mapping[bytes, str]
    #: Credits collected by the plan's providers (refused payments taken later).
    collections: tuple[CreditCollection, ...] = ()
    #: What remittance needs besides the chain's numbers (exports/x12.py): the plan's payer
    #: block, each provider's NPI by provider id, and each claim's member id by commitment
    #: (off-chain, from the submitter's vault; read only for an 835).
    payer: Payer | None = None
    npis: Mapping[str, str] = field(default_factory=dict)
    member_ids: Mapping[bytes, str] = field(default_factory=dict)


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
    grouped = plan_claim_events(engine, plan_id, from_block=info.block_number)
    provider_ids = workspace.provider_ids_by_account(plan_id)
    claims = apply_credits(
        claims_from_events(grouped, provider_ids),
        _events_if_known(engine, "ProviderCredited", plan_id, info.block_number),
    )
    collections = tuple(
        CreditCollection(
            provider_id=bytes32_to_text(e.args["provider_ref"]),
            payout=str(e.args["payout"]),
            amount=int(e.args["amount"]),
            tx_hash=e.tx_hash,
        )
        for e in _events_if_known(engine, "CreditCollected", plan_id, info.block_number)
    )
    payment_txs = {c.paid_tx for c in claims if c.paid_tx is not None}
    payment_txs |= {c.tx_hash for c in collections}
    token = DevToken(workspace.chain, info.token)  # any ERC-20: Transfer is standard
    engine_topic = bytes(12) + bytes.fromhex(engine.address[2:])
    transfer_events = (
        token.events("Transfer", engine_topic, from_block=info.block_number) if payment_txs else []
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
        payer=payer if payer is not None else workspace.recorded_payer(plan_id),
        npis=provider_npis(workspace, plan_id, info.block_number),
        member_ids=_member_ids(workspace, claims) if member_ids else {},
    )


def _events_if_known(
    engine: Engine, name: str, plan_id: str, from_block: int
) -> list[DecodedEvent]:
    """The plan's ``name`` events, or none when this engine's ABI has no such event (an
    engine deployed before providers were credited and NPIs stored)."""
    if name not in engine.abi.events:
        return []
    return engine.events(name, text_to_bytes32(plan_id), from_block=from_block)


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


# -- the report ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordResult:
    """One record's result. Amounts are cents; None where the side is missing
    (``expected_paid`` for not_in_ledger; ``plan_paid`` and ``paid`` for not_on_chain)."""

    record_id: str | None
    result: Result
    expected_paid: int | None
    plan_paid: int | None
    paid: int | None
    reasons: tuple[str, ...] = ()
    claim: OnChainClaim | None = None
    line: int | None = None
    provider_id: str | None = None

    @property
    def difference(self) -> int | None:
        """paid - expected_paid: negative when short."""
        if self.paid is None or self.expected_paid is None:
            return None
        return self.paid - self.expected_paid

    def to_json(self) -> dict[str, Any]:
        return {
            "record_id": self.record_id,
            "result": self.result,
            "expected_paid": _amount(self.expected_paid),
            "plan_paid": _amount(self.plan_paid),
            "paid": _amount(self.paid),
            "reasons": list(self.reasons),
            "claim_id": self.claim.claim_id if self.claim else None,
            "provider_id": self.provider_id,
            "credited": _amount(self.claim.credited)
            if self.claim and self.claim.credited
            else None,
            "status": self.claim.status if self.claim else None,
            "ledger_line": self.line,
        }


@dataclass(frozen=True)
class UnledgeredClaim:
    """A claim of the plan that the ledger does not list and that is not paid (the spec's
    not_in_ledger is for paid claims): listed apart, so every claim is accounted for."""

    claim: OnChainClaim
    record_id: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "claim_id": self.claim.claim_id,
            "record_id": self.record_id,
            "provider_id": self.claim.provider_id,
            "status": self.claim.status,
            "plan_paid": format_cents(self.claim.plan_paid),
        }


@dataclass(frozen=True)
class ProviderTotals:
    """A provider's totals in this plan. ``transfers`` (token units) are the payments'
    own transfers; ``credited`` (cents) is what was paid as a credit in the engine because
    the token refused the transfer, ``collected`` (cents) what the provider has collected
    of its credits, through ``collected_transfers`` (token units). The checks are
    ``(paid − credited) × token_scale == transfers`` and
    ``collected × token_scale == collected_transfers``."""

    provider_id: str
    payees: tuple[str, ...]
    claims: int
    expected_paid: int
    billed: int
    plan_paid: int
    paid: int
    queued: int
    pending_review: int
    transfers: int
    token_scale: int
    credited: int = 0
    collected: int = 0
    collected_transfers: int = 0

    @property
    def transfers_cents(self) -> int:
        return self.transfers // self.token_scale

    @property
    def credit_in_engine(self) -> int:
        """Credited and not yet collected: the engine still holds it for the provider."""
        return self.credited - self.collected

    @property
    def ok(self) -> bool:
        return (
            self.paid - self.credited
        ) * self.token_scale == self.transfers and self.collected * self.token_scale == (
            self.collected_transfers
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "provider_id": self.provider_id,
            "payees": list(self.payees),
            "claims": self.claims,
            "expected_paid": format_cents(self.expected_paid),
            "billed": format_cents(self.billed),
            "plan_paid": format_cents(self.plan_paid),
            "paid": format_cents(self.paid),
            "queued": format_cents(self.queued),
            "pending_review": format_cents(self.pending_review),
            "transfers": _units_text(self.transfers, self.token_scale),
            "credited": format_cents(self.credited),
            "collected": format_cents(self.collected),
            "credit_in_engine": format_cents(self.credit_in_engine),
            "ok": self.ok,
        }


@dataclass(frozen=True)
class BalanceCheck:
    """One balancing check: its name, whether it holds, and what was compared or broke."""

    name: str
    ok: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True)
class ReconciliationReport:
    """The result of reconciling a plan's settlements against a ledger."""

    plan_id: str
    ledger: str
    provider: str | None
    today: int
    token: str
    token_scale: int
    records: tuple[RecordResult, ...]
    providers: tuple[ProviderTotals, ...]
    checks: tuple[BalanceCheck, ...]
    unledgered: tuple[UnledgeredClaim, ...]
    claims: tuple[OnChainClaim, ...]
    record_ids: Mapping[bytes, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    payer: Payer | None = None
    npis: Mapping[str, str] = field(default_factory=dict)
    member_ids: Mapping[bytes, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every balancing check holds (record mismatches do not count)."""
        return all(check.ok for check in self.checks)

    @property
    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = dict.fromkeys(RESULTS, 0)
        for record in self.records:
            counts[record.result] += 1
        return counts

    @property
    def today_date(self) -> date:
        return from_day(self.today)

    def record_id_of(self, claim: OnChainClaim) -> str | None:
        return self.record_ids.get(claim.commitment)

    def member_id_of(self, claim: OnChainClaim) -> str | None:
        return self.member_ids.get(claim.commitment)

    def totals(self) -> dict[str, str]:
        return {
            "expected_paid": format_cents(
                sum(r.expected_paid or 0 for r in self.records if r.result != "not_in_ledger")
            ),
            "plan_paid": format_cents(sum(c.plan_paid for c in self.claims)),
            "paid": format_cents(sum(c.paid for c in self.claims)),
            "transfers": _units_text(sum(p.transfers for p in self.providers), self.token_scale),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "plan_id": self.plan_id,
            "ledger": self.ledger,
            "provider": self.provider,
            "ok": self.ok,
            "summary": self.summary,
            "totals": self.totals(),
            "records": [record.to_json() for record in self.records],
            "providers": [provider.to_json() for provider in self.providers],
            "checks": [check.to_json() for check in self.checks],
            "unledgered": [claim.to_json() for claim in self.unledgered],
            "warnings": list(self.warnings),
        }


def _amount(cents: int | None) -> str | None:
    return None if cents is None else format_cents(cents)


def _units_text(units: int, scale: int) -> str:
    """Token units in currency units: 2 decimals when exact, every digit when not."""
    cents, dust = divmod(units, scale)
    if not dust:
        return format_cents(cents)
    digits = len(str(scale)) - 1
    return f"{format_cents(cents)}{dust:0{digits}d}".rstrip("0")


def reasons_of(claim: OnChainClaim) -> tuple[str, ...]:
    """A claim's adjustments as "CODE: AMOUNT" texts: ("45: 60.00", "3: 25.00")."""
    return tuple(f"{code}: {format_cents(cents)}" for code, cents in claim.adjustments)


# -- matching (pure) ----------------------------------------------------------------------


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
    by_record: dict[str, list[OnChainClaim]] = {}
    for claim in claims:
        record_id = record_ids.get(claim.commitment)
        if record_id is not None:
            by_record.setdefault(record_id, []).append(claim)

    records: list[RecordResult] = []
    used: dict[int, int] = {}  # claim id -> ledger line
    expected_by_provider: dict[str, int] = {}
    for row in ledger:
        resolved = _resolve(row, by_record.get(row.record_id, ()), ledger_name)
        if resolved is None:
            owner = row.provider_id or provider
            if owner is not None:
                expected_by_provider[owner] = expected_by_provider.get(owner, 0) + row.expected_paid
            records.append(
                RecordResult(
                    row.record_id, "not_on_chain", row.expected_paid, None, None, (), None,
                    row.line, owner,
                )
            )  # fmt: skip
            continue
        claim = resolved
        if claim.claim_id in used:
            raise LedgerError(
                f"is the same claim as line {used[claim.claim_id]} (claim {claim.claim_id})",
                file=ledger_name,
                line=row.line,
                record=row.record_id,
                field="record_id",
                hint="keep one row per record",
            )
        used[claim.claim_id] = row.line
        key = claim.provider
        expected_by_provider[key] = expected_by_provider.get(key, 0) + row.expected_paid
        records.append(_classify(row, claim))

    unledgered: list[UnledgeredClaim] = []
    for claim in claims:
        if claim.claim_id in used:
            continue
        record_id = record_ids.get(claim.commitment)
        if claim.status == "paid":
            records.append(
                RecordResult(
                    record_id, "not_in_ledger", None, claim.plan_paid, claim.paid,
                    reasons_of(claim), claim, None, claim.provider_id,
                )
            )  # fmt: skip
        else:
            unledgered.append(UnledgeredClaim(claim, record_id))

    received, collected, unexplained = _attribute_transfers(
        settlements.claims, settlements.transfers, settlements.collections
    )
    providers = _provider_totals(
        settlements, claims, expected_by_provider, received, collected, scope=provider
    )
    checks = _balance_checks(claims, providers, unexplained, settlements.token_scale)
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
        records=tuple(records),
        providers=providers,
        checks=checks,
        unledgered=tuple(unledgered),
        claims=tuple(claims),
        record_ids=record_ids,
        warnings=tuple(warnings),
        payer=settlements.payer,
        npis=settlements.npis,
        member_ids=settlements.member_ids,
    )


def _resolve(
    row: LedgerRow, found: Sequence[OnChainClaim], ledger_name: str
) -> OnChainClaim | None:
    candidates = found
    if row.provider_id is not None:
        candidates = [c for c in found if c.provider == row.provider_id]
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
    else:
        result = cast(Result, str(claim.status))  # denied, pending_review or queued
        reasons = reasons_of(claim)
    return RecordResult(
        record_id=row.record_id,
        result=result,
        expected_paid=row.expected_paid,
        plan_paid=claim.plan_paid,
        paid=claim.paid,
        reasons=reasons,
        claim=claim,
        line=row.line,
        provider_id=claim.provider_id,
    )


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
            )
        )
    return tuple(totals)


def _balance_checks(
    claims: Sequence[OnChainClaim],
    providers: Sequence[ProviderTotals],
    unexplained: Sequence[TokenTransfer],
    scale: int,
) -> tuple[BalanceCheck, ...]:
    """The 835 balancing rules, on the chain's numbers: every line and every claim has
    billed - adjustments == paid, and what was paid equals what the token moved."""
    line_problems: list[str] = []
    claim_problems: list[str] = []
    lines = 0
    for claim in claims:
        adjusted = 0
        for number, (line, cuts) in enumerate(
            zip(claim.lines, claim.line_adjustments, strict=True), start=1
        ):
            lines += 1
            cut = sum(cents for _code, cents in cuts)
            adjusted += cut
            parts = line.deductible + line.copay + line.coinsurance + line.benefit_limit
            if line.billed - cut != line.plan_paid or (
                not line.denied and line.allowed != parts + line.plan_paid
            ):
                line_problems.append(
                    f"claim {claim.claim_id} line {number}: billed {format_cents(line.billed)}"
                    f" - adjustments {format_cents(cut)} != paid {format_cents(line.plan_paid)}"
                )
        plan_paid = claim.plan_paid
        # A claim denied in review was submitted with its pricing; its lines now read denied.
        reported = claim.reported_plan_paid if claim.review_reason is None else plan_paid
        if claim.billed - adjusted != plan_paid or plan_paid != reported:
            claim_problems.append(
                f"claim {claim.claim_id}: billed {format_cents(claim.billed)} - adjustments "
                f"{format_cents(adjusted)} != paid {format_cents(plan_paid)} "
                f"(submitted with {format_cents(claim.reported_plan_paid)})"
            )
        owed = plan_paid if claim.status == "paid" else 0
        if claim.paid != owed:
            claim_problems.append(
                f"claim {claim.claim_id} ({claim.status}): paid {format_cents(claim.paid)}, "
                f"its lines give {format_cents(owed)}"
            )

    paid = sum(p.paid for p in providers)
    moved = sum(p.transfers for p in providers)
    credited = sum(p.credited for p in providers)
    transfer_problems = [
        f"{p.provider_id}: paid {format_cents(p.paid)}"
        + (f" (credited in the engine {format_cents(p.credited)})" if p.credited else "")
        + f", transfers {_units_text(p.transfers, scale)}"
        + (
            f"; collected {format_cents(p.collected)}, "
            f"transfers {_units_text(p.collected_transfers, scale)}"
            if p.collected or p.collected_transfers
            else ""
        )
        for p in providers
        if not p.ok
    ]
    transfer_problems.extend(
        f"a transfer of {_units_text(t.units, scale)} to {t.payee} in 0x{t.tx_hash.hex()}"
        " matches no payment"
        for t in unexplained
    )
    return (
        BalanceCheck(
            "lines balance",
            not line_problems,
            _detail(line_problems) or f"{lines} lines: billed - adjustments = paid",
        ),
        BalanceCheck(
            "claims balance",
            not claim_problems,
            _detail(claim_problems) or f"{len(claims)} claims: billed - adjustments = paid",
        ),
        BalanceCheck(
            "payments match transfers",
            not transfer_problems,
            _detail(transfer_problems)
            or f"paid {format_cents(paid)} = transfers {_units_text(moved, scale)}"
            + (f" + credited in the engine {format_cents(credited)}" if credited else ""),
        ),
    )


def _detail(problems: Sequence[str], shown: int = 5) -> str:
    if len(problems) <= shown:
        return "; ".join(problems)
    return "; ".join(problems[:shown]) + f"; and {len(problems) - shown} more"


# -- the whole job ------------------------------------------------------------------------


def reconcile(
    workspace: Workspace,
    plan_id: str,
    ledger_path: str | Path,
    *,
    provider: str | None = None,
    payer: Payer | None = None,
    member_ids: bool = False,
) -> ReconciliationReport:
    """Reconcile a plan's settlements on the chain against a ledger CSV.

    ``provider`` limits the report to one provider's claims. The ledger is read first, so
    a bad file fails before the chain is read. ``payer`` and ``member_ids`` are for the
    835 export (see ``read_settlements``).
    """
    ledger = load_ledger(ledger_path)
    if provider is not None:
        workspace.provider(plan_id, provider)  # NotFound with the registered ids
    settlements = read_settlements(workspace, plan_id, payer=payer, member_ids=member_ids)
    return match(settlements, ledger, provider=provider, ledger_name=str(ledger_path))
