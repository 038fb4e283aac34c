"""An 835's claim loops and provider-level adjustments: each claim as CLP (2100) with its
lines as SVC (2110) and their CAS, a voided paid claim's reversal (CLP02 22, every amount
negated), and the PLB that carries a provider's debt for its voided claims (WO)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from claimsengine.exports.groups import adjustment_group
from claimsengine.exports.x12_segments import (
    COMPONENT,
    BuiltClaim,
    BuiltLine,
    Segment,
    dollars,
    element_text,
    segment,
)

if TYPE_CHECKING:
    from datetime import datetime

    from claimsengine.reconcile import OnChainClaim, ReconciliationReport

__all__ = [
    "ADJUSTMENT_RECOUPMENT",
    "CLAIM_STATUS_DENIED",
    "CLAIM_STATUS_PRIMARY",
    "CLAIM_STATUS_REVERSAL",
    "ClaimHeader",
    "claim_reference",
    "claim_segments",
    "debt_adjustments",
    "plb_segments",
]

CLAIM_STATUS_PRIMARY = "1"  # processed as primary
CLAIM_STATUS_DENIED = "4"
CLAIM_STATUS_REVERSAL = "22"  # reversal of a previous payment
#: PLB03-1 for money the payer recoups, or (negative) an overpayment carried as a debt.
ADJUSTMENT_RECOUPMENT = "WO"
MAX_CAS_TRIPLETS = 6
MAX_PLB_ADJUSTMENTS = 6

_CPT_LIKE = re.compile(r"[A-Z0-9]{5}")


@lru_cache(maxsize=1 << 12)
def _procedure(code: str) -> str:
    """SVC01: HC (CPT/HCPCS) for 5-character codes; other schedules' codes as ER."""
    qualifier = "HC" if _CPT_LIKE.fullmatch(code) else "ER"
    return f"{qualifier}{COMPONENT}{element_text(code)}"


def _cas_segments(adjustments: Sequence[tuple[str, int, int]]) -> list[Segment]:
    """CAS segments: one per group (in order of first use), at most 6 reasons each."""
    groups: dict[str, list[tuple[int, int]]] = {}
    for group, reason, cents in adjustments:
        groups.setdefault(group, []).append((reason, cents))
    segments = []
    for group, reasons in groups.items():
        for start in range(0, len(reasons), MAX_CAS_TRIPLETS):
            elements = [group]
            for reason, cents in reasons[start : start + MAX_CAS_TRIPLETS]:
                elements.extend((str(reason), dollars(cents), ""))
            segments.append(segment("CAS", *elements))
    return segments


@dataclass(frozen=True)
class ClaimHeader:
    """What a claim's CLP loop names besides its lines: CLP01, the patient, the service
    date, the claim filing indicator, and the claim it replaces (its CLP07), if any."""

    reference: str
    member_id: str
    service: str
    filing: str
    replaces: int | None = None


def claim_segments(
    claim: OnChainClaim, header: ClaimHeader, *, reversal: bool = False
) -> tuple[BuiltClaim, list[Segment]]:
    """A claim's CLP loop (2100) and its lines (2110). A reversal (CLP02 22) is the claim as
    it was paid with every amount negated (charge, payment, patient share, each line's
    charge, payment, allowed and CAS amounts), so it balances the same way and cancels it."""
    sign = -1 if reversal else 1
    lines = []
    line_segments: list[Segment] = []
    for line, cuts in zip(claim.lines, claim.line_adjustments, strict=True):
        adjustments = tuple((adjustment_group(code), code, sign * cents) for code, cents in cuts)
        lines.append(BuiltLine(sign * line.billed, sign * line.plan_paid, adjustments))
        line_segments.append(
            segment(
                "SVC",
                _procedure(line.code),
                dollars(sign * line.billed),
                dollars(sign * line.plan_paid),
                "",
                str(line.units),
            )
        )
        line_segments.append(segment("DTM", "472", header.service))
        line_segments.extend(_cas_segments(adjustments))
        line_segments.append(segment("AMT", "B6", dollars(sign * line.allowed)))
    patient = sum(cents for line in lines for group, _r, cents in line.adjustments if group == "PR")
    built = BuiltClaim(
        claim.claim_id, sign * claim.billed, sign * claim.paid, patient, tuple(lines)
    )
    return built, [*_clp_segments(claim, built, header, reversal), *line_segments]


def _clp_segments(
    claim: OnChainClaim, built: BuiltClaim, header: ClaimHeader, reversal: bool
) -> list[Segment]:
    if reversal:
        status = CLAIM_STATUS_REVERSAL
    else:
        status = CLAIM_STATUS_DENIED if claim.status == "denied" else CLAIM_STATUS_PRIMARY
    segments = [
        segment(
            "CLP",
            element_text(header.reference),
            status,
            dollars(built.charge),
            dollars(built.paid),
            dollars(built.patient),
            header.filing,
            str(claim.claim_id),
        ),
        segment("NM1", "QC", "1", "", "", "", "", "", "MI", element_text(header.member_id)),
    ]
    if header.replaces is not None:
        # Other Claim Related Identification, F8: the original's payer claim control number.
        segments.append(segment("REF", "F8", str(header.replaces)))
    segments.append(segment("DTM", "232", header.service))
    segments.append(segment("DTM", "233", header.service))
    return segments


def claim_reference(report: ReconciliationReport, claim: OnChainClaim) -> str:
    """CLP01: the hospital's record id, or the claim id when it is not known here."""
    return report.record_id_of(claim) or f"CLAIM-{claim.claim_id}"


def debt_adjustments(
    report: ReconciliationReport, claims: Sequence[OnChainClaim]
) -> list[tuple[str, str, int]]:
    """The provider-level adjustments (reason, reference, cents; positive takes from the
    payment) of each voided paid claim, referenced by its CLP01: its payment reversed but
    not taken from this remittance, as a negative WO (the provider's debt), and what later
    payments gave back of that debt, as a positive WO (recoupment).

    They go in one PLB segment (six adjustments at most): pyx12 reads a second PLB as a
    second footer loop, which it refuses. With more, the same two amounts are given once
    for all the provider's voided claims."""
    adjustments = []
    reversed_ = [c for c in claims if c.reversed]
    for claim in reversed_:
        reference = element_text(claim_reference(report, claim))[:50]
        adjustments.append((ADJUSTMENT_RECOUPMENT, reference, -claim.debt))
        if claim.recovered:
            adjustments.append((ADJUSTMENT_RECOUPMENT, reference, claim.recovered))
    if len(adjustments) <= MAX_PLB_ADJUSTMENTS:
        return adjustments
    recovered = sum(c.recovered for c in reversed_)
    return [
        (ADJUSTMENT_RECOUPMENT, f"{len(reversed_)} VOIDED CLAIMS", -sum(c.debt for c in reversed_)),
        *([(ADJUSTMENT_RECOUPMENT, "RECOVERED", recovered)] if recovered else []),
    ]


def plb_segments(
    npi: str, when: datetime, adjustments: Sequence[tuple[str, str, int]]
) -> list[Segment]:
    """The PLB segment, when there are adjustments: the payee's NPI, the fiscal period's end
    (the end of the production year), then reason:reference and amount pairs."""
    if not adjustments:
        return []
    elements = [npi, f"{when.year}1231"]
    for reason, reference, cents in adjustments:
        elements.extend((f"{reason}{COMPONENT}{reference}", dollars(cents)))
    return [segment("PLB", *elements)]
