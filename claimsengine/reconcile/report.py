"""The report: each record's result, the totals per provider, the balancing checks, and
their JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from claimsengine.days import from_day
from claimsengine.money import format_cents
from claimsengine.payer import Payer
from claimsengine.reconcile.model import RESULTS, DebtRecovery, OnChainClaim, Result

__all__ = [
    "BalanceCheck",
    "ProviderTotals",
    "ReconciliationReport",
    "RecordResult",
    "UnledgeredClaim",
    "units_text",
]


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
            **_void_json(self.claim),
        }


def _void_json(claim: OnChainClaim | None) -> dict[str, Any]:
    """As formats.md gives them: ``replaces`` on a claim that replaced another,
    ``replaced_by`` on a voided claim a correction replaced; and, on a voided claim, what
    its payment left as the provider's debt."""
    if claim is None:
        return {}
    data: dict[str, Any] = {}
    if claim.replaces is not None:
        data["replaces"] = claim.replaces
    if claim.replaced_by is not None:
        data["replaced_by"] = claim.replaced_by
    if claim.status == "voided":
        data["voided_from"] = claim.voided_from
        data["debt"] = format_cents(claim.debt)
        data["debt_recovered"] = format_cents(claim.recovered)
    return data


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
            **_void_json(self.claim),
        }


@dataclass(frozen=True)
class ProviderTotals:
    """A provider's totals in this plan. ``transfers`` (token units) are the payments'
    own transfers; ``credited`` (cents) is what was paid as a credit in the engine because
    the token refused the transfer, ``collected`` (cents) what the provider has collected
    of its credits, through ``collected_transfers`` (token units). ``voided`` (cents) is the
    payments that voids reversed, which became the provider's debt to the plan;
    ``recovered`` and ``recovered_from_credits`` (cents) what was kept back for that debt
    from later payments and from collected credits. The checks are
    ``(paid − credited − recovered) × token_scale == transfers`` and
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
    voided: int = 0
    recovered: int = 0
    recovered_from_credits: int = 0

    @property
    def transfers_cents(self) -> int:
        return self.transfers // self.token_scale

    @property
    def credit_in_engine(self) -> int:
        """Credited and neither collected nor kept for a debt: the engine still holds it
        for the provider."""
        return self.credited - self.collected - self.recovered_from_credits

    @property
    def debt(self) -> int:
        """What the provider still owes the plan for its voided paid claims."""
        return self.voided - self.recovered - self.recovered_from_credits

    @property
    def net_paid(self) -> int:
        """Payments less what voids reversed: what the provider keeps in the end."""
        return self.paid - self.voided

    @property
    def ok(self) -> bool:
        moved = self.paid - self.credited - self.recovered
        return (
            moved * self.token_scale == self.transfers
            and self.collected * (self.token_scale) == self.collected_transfers
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
            "transfers": units_text(self.transfers, self.token_scale),
            "credited": format_cents(self.credited),
            "collected": format_cents(self.collected),
            "credit_in_engine": format_cents(self.credit_in_engine),
            "voided": format_cents(self.voided),
            "debt_recovered": format_cents(self.recovered + self.recovered_from_credits),
            "debt": format_cents(self.debt),
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
    #: The debts kept back from the report's providers' payments (the 835's PLB WO).
    recoveries: tuple[DebtRecovery, ...] = ()

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

    def records_to_read(self, limit: int) -> tuple[list[RecordResult], str]:
        """The records a person reads: all of them, or, past ``limit`` records, the first
        ``limit`` of those not matched, with a note saying how many of how many are shown
        ("" when all are)."""
        if len(self.records) <= limit:
            return list(self.records), ""
        unmatched = [r for r in self.records if r.result != "matched"]
        note = (
            f"{len(self.records)} records: showing {min(len(unmatched), limit)} of the "
            f"{len(unmatched)} that are not matched"
        )
        return unmatched[:limit], note

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
            "voided": format_cents(sum(p.voided for p in self.providers)),
            "debt_recovered": format_cents(sum(r.amount for r in self.recoveries)),
            "transfers": units_text(sum(p.transfers for p in self.providers), self.token_scale),
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


def units_text(units: int, scale: int) -> str:
    """Token units in currency units: 2 decimals when exact, every digit when not."""
    cents, dust = divmod(units, scale)
    if not dust:
        return format_cents(cents)
    digits = len(str(scale)) - 1
    return f"{format_cents(cents)}{dust:0{digits}d}".rstrip("0")
