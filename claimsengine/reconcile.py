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
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from claimsengine.abi import DecodedEvent
from claimsengine.adjudication import (
    ADJ_BENEFIT_LIMIT,
    ADJ_COINSURANCE,
    ADJ_COPAY,
    ADJ_DEDUCTIBLE,
    ADJ_FEE_SCHEDULE,
    LineAdjudication,
)
from claimsengine.days import day_of_timestamp, from_day
from claimsengine.engine import DevToken, Status
from claimsengine.errors import ClaimsError, InputError
from claimsengine.history import ClaimEvents, line_adjudication, plan_claim_events
from claimsengine.money import format_cents, parse_amount
from claimsengine.results import ResultStatus

if TYPE_CHECKING:
    from claimsengine.workspace import Workspace

__all__ = [
    "ADJUSTMENT_ORDER",
    "RESULTS",
    "BalanceCheck",
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

LEDGER_COLUMNS = ("record_id", "expected_paid")
#: An optional ledger column: names the provider when record ids repeat across providers.
PROVIDER_COLUMN = "provider_id"

_STATUS_LABELS: dict[Status, ResultStatus] = {
    Status.DENIED: "denied",
    Status.PENDING_REVIEW: "pending_review",
    Status.QUEUED: "queued",
    Status.PAID: "paid",
}


# -- the ledger ---------------------------------------------------------------------------


class LedgerError(InputError):
    """A bad ledger file; ``str()`` reads ``FILE: line N: record R: field F: message``."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        record: str | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.line = line  # set first: InputError formats the message in __init__
        super().__init__(message, file=file, record=record, field=field, hint=hint)

    def _located(self) -> str:
        parts = [] if self.file is None else [self.file]
        if getattr(self, "line", None) is not None:
            parts.append(f"line {self.line}")
        if self.record is not None:
            parts.append(f"record {self.record}")
        if self.field is not None:
            parts.append(f"field {self.field}")
        return ": ".join([*parts, self.message])


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
    status: ResultStatus
    lines: tuple[LineAdjudication, ...]
    reported_plan_paid: int
    paid: int = 0
    payee: str | None = None
    paid_tx: bytes | None = None
    paid_log_index: int | None = None
    submitted_tx: bytes = b""

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


def claim_status(events: ClaimEvents) -> ResultStatus:
    """A claim's current status from its events alone.

    Submission says paid, queued, pending_review or denied. After that: a ClaimPaid means
    paid; a review denial means denied; a ClaimQueued (after approval) means queued.
    """
    status = _STATUS_LABELS.get(Status(int(events.submitted.args["status"])))
    if status is None:
        raise ClaimsError(f"claim {events.claim_id} has no status in its ClaimSubmitted event")
    for event in events.later:
        if event.name == "ClaimPaid":
            return "paid"
    for event in events.later:
        if event.name == "ClaimReviewed" and not event.args["approved"]:
            return "denied"
    for event in events.later:
        if event.name == "ClaimQueued":
            return "queued"
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
        claims.append(
            OnChainClaim(
                claim_id=claim_id,
                commitment=bytes(submitted["commitment"]),
                member=bytes(submitted["member"]),
                provider_account=str(submitted["provider"]),
                provider_id=provider_ids.get(str(submitted["provider"])),
                service_day=int(submitted["service_day"]),
                status=claim_status(events),
                lines=tuple(line_adjudication(e.args) for e in events.lines),
                reported_plan_paid=int(submitted["plan_paid"]),
                paid=int(paid.args["amount"]) if paid else 0,
                payee=str(paid.args["payee"]) if paid else None,
                paid_tx=paid.tx_hash if paid else None,
                paid_log_index=paid.log_index if paid else None,
                submitted_tx=events.submitted.tx_hash,
            )
        )
    return claims


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


def read_settlements(workspace: Workspace, plan_id: str) -> PlanSettlements:
    """Read a plan's claims, payments and token transfers from the chain's events.

    Only events are read: any party can run this against any node. Record ids come from
    the workspace's journal, then its vault.
    """
    info = workspace.plan(plan_id)
    engine = workspace.engine
    grouped = plan_claim_events(engine, plan_id, from_block=info.block_number)
    provider_ids = workspace.provider_ids_by_account(plan_id)
    claims = claims_from_events(grouped, provider_ids)
    payment_txs = {c.paid_tx for c in claims if c.paid_tx is not None}
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
    )


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
    """A provider's totals in this plan. ``transfers`` is in token units; the check is
    ``paid × token_scale == transfers``."""

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

    @property
    def transfers_cents(self) -> int:
        return self.transfers // self.token_scale

    @property
    def ok(self) -> bool:
        return self.paid * self.token_scale == self.transfers

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

    received, unexplained = _attribute_transfers(settlements.claims, settlements.transfers)
    providers = _provider_totals(
        settlements, claims, expected_by_provider, received, scope=provider
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
        result = claim.status
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
    claims: Sequence[OnChainClaim], transfers: Sequence[TokenTransfer]
) -> tuple[dict[str, int], list[TokenTransfer]]:
    """Token units received per provider, and the transfers no payment explains.

    A transfer belongs to the provider whose claim was paid to the same payee in the same
    transaction. When several providers share a payee in one settlement, each transfer
    goes to the claim paid just before it (settle logs ClaimPaid, then transfers)."""
    paid_in: dict[tuple[bytes, str], list[OnChainClaim]] = {}
    for claim in claims:
        if claim.paid_tx is not None and claim.payee is not None:
            paid_in.setdefault((claim.paid_tx, claim.payee), []).append(claim)
    received: dict[str, int] = {}
    unexplained: list[TokenTransfer] = []
    for transfer in transfers:
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
    return received, unexplained


def _provider_totals(
    settlements: PlanSettlements,
    claims: Sequence[OnChainClaim],
    expected: Mapping[str, int],
    received: Mapping[str, int],
    *,
    scope: str | None,
) -> tuple[ProviderTotals, ...]:
    by_provider: dict[str, list[OnChainClaim]] = {}
    for claim in claims:
        by_provider.setdefault(claim.provider, []).append(claim)
    names = {scope} if scope is not None else set(by_provider) | set(expected)
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
        if claim.billed - adjusted != plan_paid or plan_paid != claim.reported_plan_paid:
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
    transfer_problems = [
        f"{p.provider_id}: paid {format_cents(p.paid)}, transfers {_units_text(p.transfers, scale)}"
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
            or f"paid {format_cents(paid)} = transfers {_units_text(moved, scale)}",
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
) -> ReconciliationReport:
    """Reconcile a plan's settlements on the chain against a ledger CSV.

    ``provider`` limits the report to one provider's claims. The ledger is read first, so
    a bad file fails before the chain is read.
    """
    ledger = load_ledger(ledger_path)
    if provider is not None:
        workspace.provider(plan_id, provider)  # NotFound with the registered ids
    settlements = read_settlements(workspace, plan_id)
    return match(settlements, ledger, provider=provider, ledger_name=str(ledger_path))
