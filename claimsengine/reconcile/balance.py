"""The 835 balancing rules, checked on the chain's numbers: every line and every claim has
billed - adjustments == paid, and what was paid equals what the token moved."""

from __future__ import annotations

from collections.abc import Sequence

from claimsengine.money import format_cents
from claimsengine.reconcile.model import OnChainClaim, TokenTransfer
from claimsengine.reconcile.report import BalanceCheck, ProviderTotals, units_text

__all__ = ["balance_checks"]


def balance_checks(
    claims: Sequence[OnChainClaim],
    providers: Sequence[ProviderTotals],
    unexplained: Sequence[TokenTransfer],
    scale: int,
) -> tuple[BalanceCheck, ...]:
    """The 835 balancing rules, on the chain's numbers: every line and every claim has
    billed - adjustments == paid, and what was paid equals what the token moved."""
    line_problems: list[str] = []
    claim_problems: list[str] = []
    for claim in claims:
        adjusted = _check_lines(claim, line_problems)
        claim_problems.extend(_claim_problems(claim, adjusted))
    lines = sum(len(claim.lines) for claim in claims)
    paid = sum(p.paid for p in providers)
    moved = sum(p.transfers for p in providers)
    credited = sum(p.credited for p in providers)
    kept = sum(p.recovered for p in providers)
    transfer_problems = _transfer_problems(providers, unexplained, scale)
    checks = (
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
            or f"paid {format_cents(paid)} = transfers {units_text(moved, scale)}"
            + (f" + credited in the engine {format_cents(credited)}" if credited else "")
            + (f" + kept back for debts {format_cents(kept)}" if kept else ""),
        ),
    )
    return (*checks, *_debt_check(providers))


def _debt_check(providers: Sequence[ProviderTotals]) -> tuple[BalanceCheck, ...]:
    """When voids reversed payments: no provider has given back more than they created
    (voided = recovered + still owed, nothing negative). No check when nothing was voided."""
    if not any(p.voided or p.recovered or p.recovered_from_credits for p in providers):
        return ()
    problems = [
        f"{p.provider_id}: recovered {format_cents(p.recovered + p.recovered_from_credits)}"
        f" for voided payments of {format_cents(p.voided)}"
        for p in providers
        if p.debt < 0
    ]
    voided = sum(p.voided for p in providers)
    recovered = sum(p.recovered + p.recovered_from_credits for p in providers)
    return (
        BalanceCheck(
            "debts balance",
            not problems,
            _detail(problems)
            or f"voided payments {format_cents(voided)} = recovered {format_cents(recovered)}"
            f" + still owed {format_cents(voided - recovered)}",
        ),
    )


def _check_lines(claim: OnChainClaim, problems: list[str]) -> int:
    """Check each line of the claim (billed - adjustments == paid; allowed == the member's
    shares + paid unless denied), adding what breaks to ``problems``. Returns the claim's
    adjustments, in cents."""
    adjusted = 0
    for number, (line, cuts) in enumerate(
        zip(claim.lines, claim.line_adjustments, strict=True), start=1
    ):
        cut = sum(cents for _code, cents in cuts)
        adjusted += cut
        parts = line.deductible + line.copay + line.coinsurance + line.benefit_limit
        if line.billed - cut != line.plan_paid or (
            not line.denied and line.allowed != parts + line.plan_paid
        ):
            problems.append(
                f"claim {claim.claim_id} line {number}: billed {format_cents(line.billed)}"
                f" - adjustments {format_cents(cut)} != paid {format_cents(line.plan_paid)}"
            )
    return adjusted


def _claim_problems(claim: OnChainClaim, adjusted: int) -> list[str]:
    """The claim's own balance (billed - adjustments == paid == what it was submitted with),
    and its payment against what its lines give."""
    problems = []
    plan_paid = claim.plan_paid
    # A claim denied in review was submitted with its pricing; its lines now read denied.
    reported = claim.reported_plan_paid if claim.review_reason is None else plan_paid
    if claim.billed - adjusted != plan_paid or plan_paid != reported:
        problems.append(
            f"claim {claim.claim_id}: billed {format_cents(claim.billed)} - adjustments "
            f"{format_cents(adjusted)} != paid {format_cents(plan_paid)} "
            f"(submitted with {format_cents(claim.reported_plan_paid)})"
        )
    # A voided claim keeps its payment, if it had one: the void reverses it as a debt.
    owed = plan_paid if claim.status == "paid" or claim.reversed else 0
    if claim.paid != owed:
        problems.append(
            f"claim {claim.claim_id} ({claim.status}): paid {format_cents(claim.paid)}, "
            f"its lines give {format_cents(owed)}"
        )
    if claim.status == "voided" and claim.debt != (owed if claim.reversed else 0):
        problems.append(
            f"claim {claim.claim_id} (voided from {claim.voided_from}): debt "
            f"{format_cents(claim.debt)}, its payment gives {format_cents(owed)}"
        )
    return problems


def _transfer_problems(
    providers: Sequence[ProviderTotals], unexplained: Sequence[TokenTransfer], scale: int
) -> list[str]:
    """Providers whose payments differ from the token transfers they received, and the
    transfers that no payment explains."""
    problems = [
        f"{p.provider_id}: paid {format_cents(p.paid)}"
        + (f" (credited in the engine {format_cents(p.credited)})" if p.credited else "")
        + (f" (kept back for its debt {format_cents(p.recovered)})" if p.recovered else "")
        + f", transfers {units_text(p.transfers, scale)}"
        + (
            f"; collected {format_cents(p.collected)}, "
            f"transfers {units_text(p.collected_transfers, scale)}"
            if p.collected or p.collected_transfers
            else ""
        )
        for p in providers
        if not p.ok
    ]
    problems.extend(
        f"a transfer of {units_text(t.units, scale)} to {t.payee} in 0x{t.tx_hash.hex()}"
        " matches no payment"
        for t in unexplained
    )
    return problems


def _detail(problems: Sequence[str], shown: int = 5) -> str:
    if len(problems) <= shown:
        return "; ".join(problems)
    return "; ".join(problems[:shown]) + f"; and {len(problems) - shown} more"
