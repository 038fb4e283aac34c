"""An ASC X12 005010X221A1 835 (health care claim payment/advice) for a report, valid as
pyx12 validates it and balanced.

Layout: one interchange (ISA/IEA) with one functional group (GS/GE, ``HP``), and in it one
transaction set (ST/SE) per provider, since an 835 goes to one payee:

    ST  835 and the control number (no ST03: the guide marks it not used)
    BPR the total paid to the payee (``I``: remittance information only, the money moved
        on-chain as token transfers; ``H``: notification only, when nothing was paid),
        credit, ``NON``, the production date
    TRN a trace number for this remittance, and ``1`` + a 9-digit payer number
    DTM*405 production date (the chain's today)
    1000A the payer, from the plan's ``payer`` block: N1*PR name, N3 address, N4 city,
          state and zip, REF*2U the payer's id, PER*BL the technical contact
    1000B the payee: N1*PE provider id with XX and its NPI, REF*PQ its payout address
    LX  one header number, then per claim (2100):
      CLP record id, status (1 processed as primary, 4 denied, 22 reversal), charge,
          payment, patient responsibility, claim filing indicator (the payer block's,
          default 15), the on-chain claim id
      NM1*QC the patient: the member id with qualifier MI, never a name
      REF*F8 on a correction: the on-chain id of the claim it replaced
      DTM*232 / DTM*233 the service date (statement from and to)
      per line (2110): SVC (HC:code, charge, paid, units), DTM*472 service date, CAS (group
          CO/PR from the spec, reason code, amount), AMT*B6 allowed amount
    PLB the provider's debt for voided paid claims (reason WO; see below)
    SE  segment count

Claims that are paid or denied (at submission or in review) are remitted; queued and
pending-review claims are not (nothing was paid or finally decided yet: they appear in a
later 835). A claim denied in review is CLP02 4 with every line denied under the review's
reason code (CO 50 by default). Amounts are dollars with 2 decimals. Free text (ids, codes)
has the delimiters ``* : ^ ~`` replaced by ``-``.

A claim voided after it was paid (adjudication.md, "Group codes") appears as it was paid,
then as its reversal: CLP02 22 with the charge, payment, patient share and every line's
charge, payment, allowed amount and CAS amount negated. Its payment became the provider's
debt to the plan, so the PLB carries, referenced by the claim's CLP01, a WO of minus its
payment (the reversal is not taken from this payment) and a WO of what later payments kept
back for that debt (recoupment; a provider's recoveries pay its oldest voids first). A
claim voided before payment is not remitted. So BPR02 = Σ CLP04 − Σ PLB04 = the payments
less what was kept back for debts. With more than six adjustments, the PLB gives the two
sums once (pyx12 refuses a second PLB segment).

An 835 that would be incomplete is refused before anything is built (``ExportError``,
naming what to add): a plan without a ``payer`` block, a provider without an NPI, a claim
whose member id this workspace does not know. Then it is checked from the values it was
built from, with no X12 parser: SE counts its segments, GE its transaction sets, IEA its
groups; every line and every claim balances (charge − adjustments = paid); Σ CLP04 − Σ PLB
= BPR02; and BPR02 equals the token transfers the payee received for the plan plus what the
engine credited it (payments the token refused), less what was kept back of that credit
for a debt (``x12_check``). Anything off raises ``ExportError``. The test suite also runs
pyx12 over every 835 it makes. The segments and the values they are built from are in
``x12_segments``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import TYPE_CHECKING

from claimsengine.errors import ExportError
from claimsengine.exports.x12_check import check_835, check_delimiters
from claimsengine.exports.x12_claims import (
    ADJUSTMENT_RECOUPMENT,
    CLAIM_STATUS_DENIED,
    CLAIM_STATUS_PRIMARY,
    CLAIM_STATUS_REVERSAL,
    ClaimHeader,
    claim_reference,
    claim_segments,
    debt_adjustments,
    plb_segments,
)
from claimsengine.exports.x12_segments import (
    COMPONENT,
    ELEMENT,
    REPETITION,
    TERMINATOR,
    BuiltClaim,
    Segment,
    TransactionSet,
    element_text,
    segment,
)
from claimsengine.money import format_cents
from claimsengine.npi import is_valid_npi

if TYPE_CHECKING:
    from claimsengine.payer import Payer
    from claimsengine.reconcile import OnChainClaim, ReconciliationReport

__all__ = [
    "ADJUSTMENT_RECOUPMENT",
    "CLAIM_STATUS_DENIED",
    "CLAIM_STATUS_PRIMARY",
    "CLAIM_STATUS_REVERSAL",
    "IMPLEMENTATION",
    "Remittance",
    "Segment",
    "TransactionSet",
    "build_835",
    "check_835",
]

IMPLEMENTATION = "005010X221A1"


@dataclass(frozen=True)
class Remittance:
    """A built and checked 835: its text, its segments, and what it holds."""

    text: str
    segments: tuple[Segment, ...]
    transaction_sets: int
    claims: int
    total_paid: int


def _payer_number(payer_id: str) -> str:
    """TRN03: X12 wants "1" and a 9-digit number for the payer (its tax id). The payer block
    gives an id of any form, so this is that id when it is 9 digits, and otherwise a stable
    9-digit number derived from it."""
    if len(payer_id) == 9 and payer_id.isdigit():
        return f"1{payer_id}"
    digest = int.from_bytes(hashlib.sha256(payer_id.encode()).digest()[:8], "big")
    return f"1{digest % 10**9:09d}"


def _fixed(value: str, width: int) -> str:
    return element_text(value)[:width].ljust(width)


def build_835(
    report: ReconciliationReport,
    *,
    sender_id: str = "CLAIMSENGINE",
    receiver_id: str | None = None,
    control_number: int = 1,
    created: datetime | None = None,
    usage: str = "P",
) -> Remittance:
    """The 835 of a report's paid and denied claims, one transaction set per provider.

    ``created`` defaults to the chain's today at 00:00, so the same chain gives the same
    file. ``usage`` is ISA15: P (production) or T (test). Raises ``ExportError`` when data
    an 835 needs is missing, or when the result would not balance.
    """
    when = created or datetime.combine(report.today_date, time())
    by_provider: dict[str, list[OnChainClaim]] = {}
    for claim in report.claims:
        if claim.status in ("paid", "denied") or claim.reversed:
            by_provider.setdefault(claim.provider, []).append(claim)
    payer = _require_remittance_data(report, by_provider)
    transactions = [
        _transaction(report, payer, provider, by_provider[provider], number, when)
        for number, provider in enumerate(sorted(by_provider), start=1)
    ]
    if not transactions:
        raise ExportError(
            f"plan {report.plan_id} has no paid or denied claims to remit"
            + (f" for {report.provider}" if report.provider else ""),
            hint="an 835 remits finished claims; queued and pending claims come in a later one",
        )
    receiver = receiver_id or report.provider or report.plan_id
    head, tail = _envelope(sender_id, receiver, control_number, when, usage, len(transactions))
    segments = [*head, *(s for t in transactions for s in t.segments), *tail]
    text = "".join(f"{ELEMENT.join((s.id, *s.elements))}{TERMINATOR}\n" for s in segments)
    problems = check_835(transactions, segments) + check_delimiters(text, segments)
    if problems:
        raise ExportError(
            "the 835 is not right: " + "; ".join(problems[:5]),
            hint="reconcile without an export to see the failing checks",
        )
    return Remittance(
        text=text,
        segments=tuple(segments),
        transaction_sets=len(transactions),
        claims=sum(len(t.claims) for t in transactions),
        total_paid=sum(t.paid for t in transactions),
    )


def _transaction(
    report: ReconciliationReport,
    payer: Payer,
    provider: str,
    claims: Sequence[OnChainClaim],
    number: int,
    when: datetime,
) -> TransactionSet:
    """One provider's transaction set (ST to SE): the payment, payer, payee, its claims
    (a voided paid claim as it was paid, then its reversal) and the provider-level
    adjustments of its debt (PLB)."""
    day = when.strftime("%Y%m%d")
    ordered = sorted(claims, key=lambda c: c.claim_id)
    remitted = []
    for claim in ordered:  # a voided paid claim: as it was paid, then its reversal
        remitted.append(_remitted(report, claim, payer))
        if claim.reversed:
            remitted.append(_remitted(report, claim, payer, reversal=True))
    adjustments = debt_adjustments(report, ordered)
    paid = sum(built.paid for built, _ in remitted) - sum(cents for _r, _ref, cents in adjustments)
    transaction = TransactionSet(
        control=f"{number:04d}",
        provider=provider,
        paid=paid,
        transfers=_received(report, provider),
        token_scale=report.token_scale,
        claims=[built for built, _ in remitted],
        adjustments=adjustments,
    )
    payees = sorted({c.payee for c in claims if c.payee})
    body = [
        segment("ST", "835", transaction.control),
        segment(
            "BPR",
            "I" if paid else "H",  # H: notification only (nothing paid)
            format_cents(paid),
            "C",
            "NON",
            *([""] * 11),
            day,
        ),
        segment(
            "TRN", "1", element_text(f"{report.plan_id}.{number:04d}"), _payer_number(payer.id)
        ),
        segment("DTM", "405", day),
        *_payer_segments(payer),
        segment("N1", "PE", element_text(provider), "XX", report.npis[provider]),
        *(segment("REF", "PQ", payee) for payee in payees),
        segment("LX", "1"),
        *(segment for _, segments in remitted for segment in segments),
        *plb_segments(report.npis[provider], when, adjustments),
    ]
    body.append(segment("SE", str(len(body) + 1), transaction.control))
    transaction.segments = body
    return transaction


def _received(report: ReconciliationReport, provider: str) -> int:
    """What the payee received for the plan, in token units: the payments' transfers, and
    the payments credited in the engine (collected later, or still there), less what was
    kept back from the credits for a debt."""
    totals = next((p for p in report.providers if p.provider_id == provider), None)
    if totals is None:
        return 0
    credits = totals.credited - totals.recovered_from_credits
    return totals.transfers + credits * report.token_scale


def _remitted(
    report: ReconciliationReport, claim: OnChainClaim, payer: Payer, *, reversal: bool = False
) -> tuple[BuiltClaim, list[Segment]]:
    member_id = report.member_id_of(claim)
    assert member_id is not None  # _require_remittance_data checked it
    header = ClaimHeader(
        reference=claim_reference(report, claim),
        member_id=member_id,
        service=claim.service_date.strftime("%Y%m%d"),
        filing=payer.claim_filing_indicator,
        replaces=None if reversal else claim.replaces,
    )
    return claim_segments(claim, header, reversal=reversal)


def _envelope(
    sender_id: str, receiver: str, control_number: int, when: datetime, usage: str, sets: int
) -> tuple[list[Segment], list[Segment]]:
    """The interchange (ISA/IEA) and functional group (GS/GE) around ``sets`` transaction
    sets: the segments before them and after them."""
    day, clock = when.strftime("%Y%m%d"), when.strftime("%H%M")
    control = f"{control_number:09d}"
    head = [
        segment(
            "ISA",
            "00",
            " " * 10,
            "00",
            " " * 10,
            "ZZ",
            _fixed(sender_id, 15),
            "ZZ",
            _fixed(receiver, 15),
            when.strftime("%y%m%d"),
            clock,
            REPETITION,
            "00501",
            control,
            "0",
            usage,
            COMPONENT,
        ),
        segment(
            "GS",
            "HP",
            element_text(sender_id)[:15],
            element_text(receiver)[:15],
            day,
            clock,
            str(control_number),
            "X",
            IMPLEMENTATION,
        ),
    ]
    tail = [segment("GE", str(sets), str(control_number)), segment("IEA", "1", control)]
    return head, tail


def _payer_segments(payer: Payer) -> list[Segment]:
    """Loop 1000A: the payer's name, address, id and technical contact."""
    address, contact = payer.address, payer.contact
    numbers: list[str] = []
    if contact.phone is not None:
        numbers.extend(("TE", contact.phone))
    if contact.email is not None:
        numbers.extend(("EM", element_text(contact.email)))
    return [
        segment("N1", "PR", element_text(payer.name)),
        segment("N3", element_text(address.line), element_text(address.line2 or "")),
        segment("N4", element_text(address.city), address.state, address.zip),
        segment("REF", "2U", element_text(payer.id)),
        segment("PER", "BL", element_text(contact.name), *numbers),
    ]


def _require_remittance_data(
    report: ReconciliationReport, by_provider: dict[str, list[OnChainClaim]]
) -> Payer:
    """The payer block, once every piece of data the 835 needs is known; otherwise an
    ``ExportError`` that names what to add and how. Nothing is written before this."""
    plan = report.plan_id
    if report.payer is None:
        raise ExportError(
            f"plan {plan} has no payer block: an 835 names the payer with its id, address "
            "and contact",
            hint="add a `payer:` block to the plan file (formats.md) and pass "
            "`--plan-file PLAN.yaml`, or deploy the plan with it",
        )
    no_npi = [p for p in sorted(by_provider) if p not in report.npis]
    if no_npi:
        first = no_npi[0]
        which = (
            f"provider {first} has" if len(no_npi) == 1 else f"providers {', '.join(no_npi)} have"
        )
        raise ExportError(
            f"{which} no NPI in plan {plan}: an 835 names the payee by its NPI",
            hint=f"register it with one: `claims provider add {plan} {first} --account ALIAS "
            "--npi NPI`",
        )
    bad = [p for p in sorted(by_provider) if not is_valid_npi(report.npis[p])]
    if bad:
        raise ExportError(
            f"the NPI of provider {bad[0]} ({report.npis[bad[0]]}) fails its check digit",
            hint=f"register it again with its right NPI: `claims provider add {plan} {bad[0]} "
            "--account ALIAS --npi NPI`",
        )
    unknown = [
        c.claim_id
        for claims in by_provider.values()
        for c in claims
        if report.member_id_of(c) is None
    ]
    if unknown:
        shown = ", ".join(str(i) for i in sorted(unknown)[:5])
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        raise ExportError(
            f"the member id of claim {shown}{more} is not known here: an 835 names the patient "
            "by the member id, which never goes on-chain",
            hint="export from the state folder the claims were submitted from (its vault "
            "holds the records)",
        )
    return report.payer
