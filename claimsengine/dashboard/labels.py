"""How the pages name things: reason codes and their meanings, statuses, history steps,
days."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from claimsengine.dashboard.markup import Markup, esc, link
from claimsengine.dashboard.snapshot import PlanView
from claimsengine.days import from_day
from claimsengine.errors import ClaimsError
from claimsengine.exports.groups import adjustment_group
from claimsengine.results import STATUSES

if TYPE_CHECKING:
    from claimsengine.reconcile import OnChainClaim

#: A page: its title and its body.
Page = tuple[str, Markup]

#: What each adjustment or denial reason code (X12 CARC) means, in the words of
#: adjudication.md: the codes the engine gives, and the reasons a review may deny with.
REASONS: dict[int, str] = {
    1: "deductible",
    2: "coinsurance",
    3: "copay",
    16: "claim lacks information needed to adjudicate it (review)",
    18: "duplicate of a line on an earlier claim",
    26: "service before coverage began (or in the waiting period)",
    27: "service after coverage ended",
    29: "filed after the timely-filing limit",
    31: "member not enrolled in the plan",
    45: "charge above the fee schedule",
    50: "not medically necessary (review)",
    96: "service not covered by the plan",
    119: "benefit maximum reached (period units, or the annual benefit)",
    151: "more units in a day than the plan allows",
    197: "prior authorisation missing",
    204: "service not covered under the member's current benefit plan (review)",
}

STEP_NAMES = {
    "ClaimSubmitted": "submitted",
    "ClaimPendingReview": "pending review",
    "ClaimReviewed": "reviewed",
    "ClaimQueued": "queued",
    "ClaimPaid": "paid",
    "ProviderCredited": "credited to the provider (the token refused the transfer)",
    "ReviewVoted": "review vote",
    "ClaimVoided": "voided",
    "DebtRecovered": "kept back for the provider's debt",
}


def reason_group(code: int) -> str:
    """CO or PR (adjudication.md, "Group codes"); empty for a code the spec does not list."""
    try:
        return adjustment_group(code)
    except ClaimsError:
        return ""


def reason_meaning(code: int) -> str:
    return REASONS.get(code, "see the X12 claim adjustment reason codes")


def reason_text(code: int | str) -> str:
    """The code, its group and its meaning: "45 (CO): charge above the fee schedule"."""
    number = int(code)
    group = reason_group(number)
    return f"{number}{f' ({group})' if group else ''}: {reason_meaning(number)}"


def status_badge(status: str) -> Markup:
    return Markup(f'<span class="status {esc(status)}">{esc(status.replace("_", " "))}</span>')


def day_text(day: int) -> str:
    return from_day(day).isoformat()


#: The columns that name a claim in a table, as ``claim_cells`` fills them.
CLAIM_COLUMNS = ("claim", "plan", "provider", "record", "service date")


def claim_cells(plan: PlanView, claim: OnChainClaim) -> tuple[object, ...]:
    """A claim's id (a link to its page), plan, provider, record id and service date."""
    return (
        link(f"/claims/{claim.claim_id}", claim.claim_id),
        plan.plan_id,
        claim.provider,
        plan.record_id(claim) or "",
        claim.service_date.isoformat(),
    )


def statuses_of(plans: Iterable[PlanView]) -> list[str]:
    """The statuses to offer: the result statuses, then any others the chain has (voided)."""
    seen = {status for plan in plans for status in plan.status_counts}
    return [*STATUSES, *sorted(seen - set(STATUSES))]
