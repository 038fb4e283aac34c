"""The 835's own checks, from the values it was built from (no X12 parser): segment,
transaction-set and group counts, every line and claim balanced, Σ CLP04 − Σ PLB = BPR02 =
what the payee received, and no delimiter inside an element."""

from __future__ import annotations

from collections.abc import Sequence

from claimsengine.exports.x12_segments import (
    ELEMENT,
    TERMINATOR,
    BuiltClaim,
    Segment,
    TransactionSet,
)
from claimsengine.money import format_cents

__all__ = ["check_835", "check_delimiters"]


def check_835(transactions: Sequence[TransactionSet], segments: Sequence[Segment]) -> list[str]:
    """The 835's own checks, from the values it was built from (no X12 parser).
    Returns the problems; empty when it is right."""
    problems: list[str] = []
    for transaction in transactions:
        body = transaction.segments
        where = f"ST {transaction.control} ({transaction.provider})"
        if body[0].id != "ST" or body[-1].id != "SE":
            problems.append(f"{where}: does not run from ST to SE")
        elif body[-1].elements[0] != str(len(body)):
            problems.append(f"{where}: SE01 {body[-1].elements[0]}, but it has {len(body)}")
        clp = [s for s in body if s.id == "CLP"]
        if len(clp) != len(transaction.claims):
            problems.append(f"{where}: {len(clp)} CLP segments for {len(transaction.claims)}")
        for claim in transaction.claims:
            problems.extend(_claim_balance(claim))
        paid = sum(claim.paid for claim in transaction.claims)
        adjusted = sum(cents for _reason, _ref, cents in transaction.adjustments)
        if paid - adjusted != transaction.paid:
            problems.append(
                f"{where}: the CLP04 sum {format_cents(paid)} - the PLB sum "
                f"{format_cents(adjusted)} != BPR02 {format_cents(transaction.paid)}"
            )
        if transaction.paid * transaction.token_scale != transaction.transfers:
            problems.append(
                f"{where}: BPR02 {format_cents(transaction.paid)} != what the payee received: "
                f"token transfers and credits in the engine ({transaction.transfers} units)"
            )
    return problems + _envelope_problems(segments)


def _claim_balance(claim: BuiltClaim) -> list[str]:
    """Each line and the claim: charge - adjustments == paid; the lines add up."""
    problems = []
    cut = 0
    for number, line in enumerate(claim.lines, start=1):
        line_cut = sum(cents for _g, _r, cents in line.adjustments)
        cut += line_cut
        if line.charge - line_cut != line.paid:
            problems.append(
                f"claim {claim.claim_id} line {number}: charge {format_cents(line.charge)}"
                f" - adjustments {format_cents(line_cut)} != paid {format_cents(line.paid)}"
            )
    if claim.charge - cut != claim.paid:
        problems.append(
            f"claim {claim.claim_id}: charge {format_cents(claim.charge)} - adjustments "
            f"{format_cents(cut)} != paid {format_cents(claim.paid)}"
        )
    if sum(line.charge for line in claim.lines) != claim.charge:
        problems.append(f"claim {claim.claim_id}: the lines' charges do not add up")
    return problems


def _envelope_problems(segments: Sequence[Segment]) -> list[str]:
    """GE counts the transaction sets, IEA the groups, and ISA is its fixed 106 characters."""
    problems = []
    ge = [s for s in segments if s.id == "GE"]
    st = [s for s in segments if s.id == "ST"]
    if len(ge) != 1 or ge[0].elements[0] != str(len(st)):
        problems.append(f"GE01 does not count the {len(st)} transaction sets")
    iea = [s for s in segments if s.id == "IEA"]
    if len(iea) != 1 or iea[0].elements[0] != str(sum(1 for s in segments if s.id == "GS")):
        problems.append("IEA01 does not count the functional groups")
    isa = segments[0]
    if isa.id != "ISA" or len(isa.text) + len(TERMINATOR) != 106:
        problems.append("the ISA segment is not 106 characters long")
    return problems


def check_delimiters(text: str, segments: Sequence[Segment]) -> list[str]:
    """No element holds a delimiter: the text has exactly one terminator per segment and
    one element separator per element (counted, not parsed)."""
    problems = []
    if text.count(TERMINATOR) != len(segments):
        problems.append("an element holds the segment terminator")
    if text.count(ELEMENT) != sum(len(s.elements) for s in segments):
        problems.append("an element holds the element separator")
    return problems
