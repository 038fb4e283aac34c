"""What reconciliation works with, as plain values: the result kinds, a claim as its events
describe it, token transfers, collected credits, and everything read for one plan."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal, get_args

from claimsengine.adjudication import (
    ADJ_BENEFIT_LIMIT,
    ADJ_COINSURANCE,
    ADJ_COPAY,
    ADJ_DEDUCTIBLE,
    ADJ_FEE_SCHEDULE,
    LineAdjudication,
)
from claimsengine.days import from_day
from claimsengine.money import format_cents
from claimsengine.payer import Payer
from claimsengine.status import ClaimStatus

__all__ = [
    "ADJUSTMENT_ORDER",
    "RESULTS",
    "CreditCollection",
    "DebtRecovery",
    "OnChainClaim",
    "PlanSettlements",
    "Result",
    "TokenTransfer",
    "reasons_of",
]

Result = Literal[
    "matched",
    "short_paid",
    "over_paid",
    "denied",
    "pending_review",
    "queued",
    "voided",
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
    #: A voided claim's status when it was voided (paid, queued or pending_review).
    voided_from: ClaimStatus | None = None
    voided_tx: bytes | None = None
    #: Its ClaimVoided event's (block, log index): debts are recovered oldest first.
    voided_order: tuple[int, int] = (0, 0)
    #: The claim that replaced this voided one, and the claim this one replaced.
    replaced_by: int | None = None
    replaces: int | None = None
    #: What voiding it added to the provider's debt to the plan (its payment, when it had
    #: been paid), and how much of that later payments have given back (oldest debt first).
    debt: int = 0
    recovered: int = 0

    @property
    def provider(self) -> str:
        """The provider id, or the submitting account when the plan does not know it."""
        return self.provider_id or self.provider_account

    @property
    def reversed(self) -> bool:
        """A paid claim that was voided: its payment is reversed, and owed back."""
        return self.status == "voided" and self.voided_from == "paid"

    @property
    def net_paid(self) -> int:
        """What the claim is paid once its void is counted: 0 for a voided claim."""
        return 0 if self.status == "voided" else self.paid

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
class DebtRecovery:
    """Part of a payment kept back for the provider's debt to the plan (DebtRecovered):
    ``amount`` cents of the payment of ``claim_id`` (0: a batch's one transfer, or a collect
    of credits) in ``tx_hash``. ``order`` is its (block, log index) on the chain."""

    provider_id: str
    claim_id: int
    amount: int
    tx_hash: bytes
    order: tuple[int, int] = (0, 0)


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
    #: Payments kept back for providers' debts (their voided paid claims), in chain order.
    recoveries: tuple[DebtRecovery, ...] = ()
    #: What remittance needs besides the chain's numbers (exports/x12.py): the plan's payer
    #: block, each provider's NPI by provider id, and each claim's member id by commitment
    #: (off-chain, from the submitter's vault; read only for an 835).
    payer: Payer | None = None
    npis: Mapping[str, str] = field(default_factory=dict)
    member_ids: Mapping[bytes, str] = field(default_factory=dict)


def reasons_of(claim: OnChainClaim) -> tuple[str, ...]:
    """A claim's adjustments as "CODE: AMOUNT" texts: ("45: 60.00", "3: 25.00")."""
    return tuple(f"{code}: {format_cents(cents)}" for code, cents in claim.adjustments)
