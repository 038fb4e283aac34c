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
for a debt. Anything off raises ``ExportError``. The test
suite also runs pyx12 over every 835 it makes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

from claimsengine.errors import ExportError
from claimsengine.exports.groups import adjustment_group
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
    "build_835",
    "check_835",
]

ELEMENT = "*"
COMPONENT = ":"
REPETITION = "^"
TERMINATOR = "~"
IMPLEMENTATION = "005010X221A1"
CLAIM_STATUS_PRIMARY = "1"  # processed as primary
CLAIM_STATUS_DENIED = "4"
CLAIM_STATUS_REVERSAL = "22"  # reversal of a previous payment
#: PLB03-1 for money the payer recoups, or (negative) an overpayment carried as a debt.
ADJUSTMENT_RECOUPMENT = "WO"
MAX_CAS_TRIPLETS = 6
MAX_PLB_ADJUSTMENTS = 6

_DELIMITERS = re.compile(r"[*:^~\r\n]")
_CPT_LIKE = re.compile(r"[A-Z0-9]{5}")


def _text(value: str) -> str:
    """Free text made safe for an element: no delimiter can end it early."""
    return _DELIMITERS.sub("-", value)


class Segment(NamedTuple):
    """One segment: its id and its elements, already as text."""

    id: str
    elements: tuple[str, ...]

    @property
    def text(self) -> str:
        return ELEMENT.join((self.id, *self.elements))


def _seg(segment_id: str, *elements: str) -> Segment:
    # Trailing empty elements are left out, as X12 asks.
    end = len(elements)
    while end and not elements[end - 1]:
        end -= 1
    return Segment(segment_id, elements[:end])


# Amounts repeat (the same fees, copays and totals), so their text is formatted once each.
_dollars = lru_cache(maxsize=1 << 16)(format_cents)


@dataclass(frozen=True)
class _Line:
    charge: int
    paid: int
    adjustments: tuple[tuple[str, int, int], ...]  # (group, reason, cents)


@dataclass(frozen=True)
class _Claim:
    claim_id: int
    charge: int
    paid: int
    patient: int
    lines: tuple[_Line, ...]


@dataclass
class _Transaction:
    control: str
    provider: str
    paid: int
    transfers: int  # token units the payee received for the plan
    token_scale: int
    claims: list[_Claim] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    #: PLB adjustments: (reason, reference, cents), positive when taken from the payment.
    adjustments: list[tuple[str, str, int]] = field(default_factory=list)


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
    return _text(value)[:width].ljust(width)


@lru_cache(maxsize=1 << 12)
def _procedure(code: str) -> str:
    """SVC01: HC (CPT/HCPCS) for 5-character codes; other schedules' codes as ER."""
    qualifier = "HC" if _CPT_LIKE.fullmatch(code) else "ER"
    return f"{qualifier}{COMPONENT}{_text(code)}"


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
                elements.extend((str(reason), _dollars(cents), ""))
            segments.append(_seg("CAS", *elements))
    return segments


@dataclass(frozen=True)
class _ClaimHeader:
    """What a claim's CLP loop names besides its lines: CLP01, the patient, the service
    date, the claim filing indicator, and the claim it replaces (its CLP07), if any."""

    reference: str
    member_id: str
    service: str
    filing: str
    replaces: int | None = None


def _claim_segments(
    claim: OnChainClaim, header: _ClaimHeader, *, reversal: bool = False
) -> tuple[_Claim, list[Segment]]:
    """A claim's CLP loop (2100) and its lines (2110). A reversal (CLP02 22) is the claim as
    it was paid with every amount negated (charge, payment, patient share, each line's
    charge, payment, allowed and CAS amounts), so it balances the same way and cancels it."""
    sign = -1 if reversal else 1
    lines = []
    line_segments: list[Segment] = []
    for line, cuts in zip(claim.lines, claim.line_adjustments, strict=True):
        adjustments = tuple((adjustment_group(code), code, sign * cents) for code, cents in cuts)
        lines.append(_Line(sign * line.billed, sign * line.plan_paid, adjustments))
        line_segments.append(
            _seg(
                "SVC",
                _procedure(line.code),
                _dollars(sign * line.billed),
                _dollars(sign * line.plan_paid),
                "",
                str(line.units),
            )
        )
        line_segments.append(_seg("DTM", "472", header.service))
        line_segments.extend(_cas_segments(adjustments))
        line_segments.append(_seg("AMT", "B6", _dollars(sign * line.allowed)))
    patient = sum(cents for line in lines for group, _r, cents in line.adjustments if group == "PR")
    built = _Claim(claim.claim_id, sign * claim.billed, sign * claim.paid, patient, tuple(lines))
    return built, [*_clp_segments(claim, built, header, reversal), *line_segments]


def _clp_segments(
    claim: OnChainClaim, built: _Claim, header: _ClaimHeader, reversal: bool
) -> list[Segment]:
    if reversal:
        status = CLAIM_STATUS_REVERSAL
    else:
        status = CLAIM_STATUS_DENIED if claim.status == "denied" else CLAIM_STATUS_PRIMARY
    segments = [
        _seg(
            "CLP",
            _text(header.reference),
            status,
            _dollars(built.charge),
            _dollars(built.paid),
            _dollars(built.patient),
            header.filing,
            str(claim.claim_id),
        ),
        _seg("NM1", "QC", "1", "", "", "", "", "", "MI", _text(header.member_id)),
    ]
    if header.replaces is not None:
        # Other Claim Related Identification, F8: the original's payer claim control number.
        segments.append(_seg("REF", "F8", str(header.replaces)))
    segments.append(_seg("DTM", "232", header.service))
    segments.append(_seg("DTM", "233", header.service))
    return segments


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
    problems = check_835(transactions, segments) + _check_delimiters(text, segments)
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
) -> _Transaction:
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
    adjustments = _debt_adjustments(report, ordered)
    paid = sum(built.paid for built, _ in remitted) - sum(cents for _r, _ref, cents in adjustments)
    transaction = _Transaction(
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
        _seg("ST", "835", transaction.control),
        _seg(
            "BPR",
            "I" if paid else "H",  # H: notification only (nothing paid)
            format_cents(paid),
            "C",
            "NON",
            *([""] * 11),
            day,
        ),
        _seg("TRN", "1", _text(f"{report.plan_id}.{number:04d}"), _payer_number(payer.id)),
        _seg("DTM", "405", day),
        *_payer_segments(payer),
        _seg("N1", "PE", _text(provider), "XX", report.npis[provider]),
        *(_seg("REF", "PQ", payee) for payee in payees),
        _seg("LX", "1"),
        *(segment for _, segments in remitted for segment in segments),
        *_plb_segments(report.npis[provider], when, adjustments),
    ]
    body.append(_seg("SE", str(len(body) + 1), transaction.control))
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
) -> tuple[_Claim, list[Segment]]:
    member_id = report.member_id_of(claim)
    assert member_id is not None  # _require_remittance_data checked it
    header = _ClaimHeader(
        reference=_reference(report, claim),
        member_id=member_id,
        service=claim.service_date.strftime("%Y%m%d"),
        filing=payer.claim_filing_indicator,
        replaces=None if reversal else claim.replaces,
    )
    return _claim_segments(claim, header, reversal=reversal)


def _reference(report: ReconciliationReport, claim: OnChainClaim) -> str:
    """CLP01: the hospital's record id, or the claim id when it is not known here."""
    return report.record_id_of(claim) or f"CLAIM-{claim.claim_id}"


def _debt_adjustments(
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
        reference = _text(_reference(report, claim))[:50]
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


def _plb_segments(
    npi: str, when: datetime, adjustments: Sequence[tuple[str, str, int]]
) -> list[Segment]:
    """The PLB segment, when there are adjustments: the payee's NPI, the fiscal period's end
    (the end of the production year), then reason:reference and amount pairs."""
    if not adjustments:
        return []
    elements = [npi, f"{when.year}1231"]
    for reason, reference, cents in adjustments:
        elements.extend((f"{reason}{COMPONENT}{reference}", _dollars(cents)))
    return [_seg("PLB", *elements)]


def _envelope(
    sender_id: str, receiver: str, control_number: int, when: datetime, usage: str, sets: int
) -> tuple[list[Segment], list[Segment]]:
    """The interchange (ISA/IEA) and functional group (GS/GE) around ``sets`` transaction
    sets: the segments before them and after them."""
    day, clock = when.strftime("%Y%m%d"), when.strftime("%H%M")
    control = f"{control_number:09d}"
    head = [
        _seg(
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
        _seg(
            "GS",
            "HP",
            _text(sender_id)[:15],
            _text(receiver)[:15],
            day,
            clock,
            str(control_number),
            "X",
            IMPLEMENTATION,
        ),
    ]
    tail = [_seg("GE", str(sets), str(control_number)), _seg("IEA", "1", control)]
    return head, tail


def _payer_segments(payer: Payer) -> list[Segment]:
    """Loop 1000A: the payer's name, address, id and technical contact."""
    address, contact = payer.address, payer.contact
    numbers: list[str] = []
    if contact.phone is not None:
        numbers.extend(("TE", contact.phone))
    if contact.email is not None:
        numbers.extend(("EM", _text(contact.email)))
    return [
        _seg("N1", "PR", _text(payer.name)),
        _seg("N3", _text(address.line), _text(address.line2 or "")),
        _seg("N4", _text(address.city), address.state, address.zip),
        _seg("REF", "2U", _text(payer.id)),
        _seg("PER", "BL", _text(contact.name), *numbers),
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


def check_835(transactions: Sequence[_Transaction], segments: Sequence[Segment]) -> list[str]:
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


def _claim_balance(claim: _Claim) -> list[str]:
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


def _check_delimiters(text: str, segments: Sequence[Segment]) -> list[str]:
    """No element holds a delimiter: the text has exactly one terminator per segment and
    one element separator per element (counted, not parsed)."""
    problems = []
    if text.count(TERMINATOR) != len(segments):
        problems.append("an element holds the segment terminator")
    if text.count(ELEMENT) != sum(len(s.elements) for s in segments):
        problems.append("an element holds the element separator")
    return problems
