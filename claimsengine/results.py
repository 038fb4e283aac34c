"""Typed claim results and member accumulators, in the JSON of formats.md.

``to_json`` gives exactly the documented keys, in the documented order, with amounts as
strings with 2 decimals; ``from_json`` reads them back (and checks them). Amounts inside
these objects are int cents, like everywhere in the engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from claimsengine.adjudication import Accumulators, ClaimAdjudication, LineAdjudication
from claimsengine.days import parse_date
from claimsengine.errors import InputError
from claimsengine.fieldreader import FieldReader, describe, join
from claimsengine.money import format_cents
from claimsengine.status import STATUSES, ClaimStatus

__all__ = [
    "LINE_AMOUNTS",
    "TOTAL_AMOUNTS",
    "AccumulatorReport",
    "ClaimResult",
    "LineResult",
    "ReviewVote",
    "ReviewVotes",
    "Totals",
]

#: The money fields of a line result, in the order formats.md lists them.
LINE_AMOUNTS = (
    "billed",
    "allowed",
    "deductible",
    "copay",
    "coinsurance",
    "benefit_limit",
    "plan_paid",
    "patient_responsibility",
)
TOTAL_AMOUNTS = ("billed", "allowed", "plan_paid", "patient_responsibility")


@dataclass(frozen=True)
class LineResult:
    """One line of a claim result (formats.md), amounts in cents."""

    code: str
    units: int
    billed: int
    allowed: int
    deductible: int
    copay: int
    coinsurance: int
    benefit_limit: int
    plan_paid: int
    patient_responsibility: int
    denied: bool
    reasons: tuple[str, ...]

    @classmethod
    def from_adjudication(cls, line: LineAdjudication) -> LineResult:
        return cls(
            code=line.code,
            units=line.units,
            billed=line.billed,
            allowed=line.allowed,
            deductible=line.deductible,
            copay=line.copay,
            coinsurance=line.coinsurance,
            benefit_limit=line.benefit_limit,
            plan_paid=line.plan_paid,
            patient_responsibility=line.patient_responsibility,
            denied=line.denied,
            reasons=line.reasons,
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code, "units": self.units}
        for key in LINE_AMOUNTS:
            data[key] = format_cents(getattr(self, key))
        data["denied"] = self.denied
        data["reasons"] = list(self.reasons)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, where: str = "lines[0]") -> LineResult:
        _require_mapping(data, where)
        code = _read.typed(data, "code", str, where)
        units = _read.typed(data, "units", int, where)
        amounts = {key: _amount(data, key, where) for key in LINE_AMOUNTS}
        denied = _read.typed(data, "denied", bool, where)
        reasons = _read.typed(data, "reasons", list, where)
        if not all(isinstance(reason, str) for reason in reasons):
            raise InputError('reasons must be strings such as "45"', field=f"{where}.reasons")
        return cls(code=code, units=units, denied=denied, reasons=tuple(reasons), **amounts)


@dataclass(frozen=True)
class Totals:
    """The sums over a claim's lines (formats.md ``totals``), in cents."""

    billed: int
    allowed: int
    plan_paid: int
    patient_responsibility: int

    @classmethod
    def of_lines(cls, lines: Iterable[LineResult | LineAdjudication]) -> Totals:
        lines = tuple(lines)
        return cls(
            billed=sum(line.billed for line in lines),
            allowed=sum(line.allowed for line in lines),
            plan_paid=sum(line.plan_paid for line in lines),
            patient_responsibility=sum(line.patient_responsibility for line in lines),
        )

    def to_json(self) -> dict[str, str]:
        return {key: format_cents(getattr(self, key)) for key in TOTAL_AMOUNTS}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, where: str = "totals") -> Totals:
        _require_mapping(data, where)
        return cls(**{key: _amount(data, key, where) for key in TOTAL_AMOUNTS})


@dataclass(frozen=True)
class ReviewVote:
    """One adjudicator's vote on a claim in review; ``reason`` is the code of a denial,
    ``transaction`` the hash of the vote's transaction ("0x…")."""

    adjudicator: str
    approved: bool
    reason: int | None = None
    transaction: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "adjudicator": self.adjudicator,
            "decision": "approve" if self.approved else "deny",
            "reason": None if self.reason is None else str(self.reason),
            "transaction": self.transaction,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, where: str) -> ReviewVote:
        _require_mapping(data, where)
        decision = _read.typed(data, "decision", str, where)
        if decision not in ("approve", "deny"):
            raise InputError(
                f"expected approve or deny, got {decision!r}", field=f"{where}.decision"
            )
        reason = _optional_str(data, "reason")
        if reason is not None and not reason.isdigit():
            raise InputError(
                f'expected a reason code such as "50", got {reason!r}', field=f"{where}.reason"
            )
        return cls(
            adjudicator=_read.typed(data, "adjudicator", str, where),
            approved=decision == "approve",
            reason=None if reason is None else int(reason),
            transaction=_optional_str(data, "transaction"),
        )


@dataclass(frozen=True)
class ReviewVotes:
    """The votes a claim in review has had (adjudication.md: a plan's ``review_quorum`` of
    k decides a claim when k distinct adjudicators approve it, or k deny it). ``quorum`` is
    None where the plan's terms were not read. ``counts``: the approvals and denials that
    count, as the chain gives them: for a claim still in review, the votes of accounts that
    hold the adjudicator role now (a revoked adjudicator's vote stops counting at once);
    for a decided claim, those of its deciding vote. None: every vote counts."""

    votes: tuple[ReviewVote, ...] = ()
    quorum: int | None = None
    counts: tuple[int, int] | None = None

    @property
    def approvals(self) -> int:
        if self.counts is not None:
            return self.counts[0]
        return sum(1 for vote in self.votes if vote.approved)

    @property
    def denials(self) -> int:
        if self.counts is not None:
            return self.counts[1]
        return sum(1 for vote in self.votes if not vote.approved)

    def voted(self, adjudicator: str) -> bool:
        return any(vote.adjudicator.lower() == adjudicator.lower() for vote in self.votes)

    def to_json(self) -> dict[str, Any]:
        return {
            "quorum": self.quorum,
            "approvals": self.approvals,
            "denials": self.denials,
            "votes": [vote.to_json() for vote in self.votes],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, where: str = "review") -> ReviewVotes:
        _require_mapping(data, where)
        quorum = data.get("quorum")
        if quorum is not None and (isinstance(quorum, bool) or not isinstance(quorum, int)):
            raise InputError(
                f"expected a whole number or null, got {quorum!r}", field=f"{where}.quorum"
            )
        raw = _read.typed(data, "votes", list, where)
        counts = None
        if "approvals" in data or "denials" in data:
            counts = (
                _read.typed(data, "approvals", int, where),
                _read.typed(data, "denials", int, where),
            )
        return cls(
            votes=tuple(
                ReviewVote.from_json(vote, where=f"{where}.votes[{index}]")
                for index, vote in enumerate(raw)
            ),
            quorum=quorum,
            counts=counts,
        )


@dataclass(frozen=True)
class ClaimResult:
    """A claim's result, as ``claims --json status`` and ``claims --json submit`` print it.

    ``record_id`` and ``provider_id`` are off-chain names (the chain never holds them); they
    are None when the caller does not know them, and print as null.
    ``transactions`` maps a step ("submitted", "paid", "voided", ...) to its transaction hash.
    ``replaces`` is the claim a corrected record replaced; ``replaced_by`` the correction
    that replaced a voided claim. A voided claim keeps its lines and totals as adjudicated
    (what it was worth). ``review`` holds the votes of a claim that has had any.
    """

    claim_id: int
    plan_id: str
    record_id: str | None
    provider_id: str | None
    service_date: date
    status: ClaimStatus
    lines: tuple[LineResult, ...]
    totals: Totals
    transactions: dict[str, str] = field(default_factory=dict)
    replaces: int | None = None
    replaced_by: int | None = None
    review: ReviewVotes | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {self.status!r}")
        # A word from a caller ("paid") becomes the status it names.
        object.__setattr__(self, "status", ClaimStatus(self.status))

    @classmethod
    def from_adjudication(
        cls,
        adjudication: ClaimAdjudication,
        *,
        claim_id: int,
        plan_id: str,
        record_id: str | None,
        provider_id: str | None,
        service_date: date,
        status: ClaimStatus | None = None,
        transactions: Mapping[str, str] | None = None,
    ) -> ClaimResult:
        """Build the result of an adjudicated claim.

        ``status`` may be left out for a denied or pending claim. An approved claim is either
        ``paid`` or ``queued``, which only the pool knows, so the caller must say which.
        """
        if status is None:
            if adjudication.status == "approved":
                raise ValueError("an approved claim is 'paid' or 'queued': pass status")
            status = ClaimStatus(adjudication.status)
        lines = tuple(LineResult.from_adjudication(line) for line in adjudication.lines)
        return cls(
            claim_id=claim_id,
            plan_id=plan_id,
            record_id=record_id,
            provider_id=provider_id,
            service_date=service_date,
            status=status,
            lines=lines,
            totals=Totals.of_lines(lines),
            transactions=dict(transactions or {}),
        )

    def to_json(self) -> dict[str, Any]:
        """The formats.md keys; ``replaces``, ``replaced_by`` and ``review`` only when set."""
        data: dict[str, Any] = {
            "claim_id": self.claim_id,
            "plan_id": self.plan_id,
            "record_id": self.record_id,
            "provider_id": self.provider_id,
            "service_date": self.service_date.isoformat(),
            "status": self.status,
            "lines": [line.to_json() for line in self.lines],
            "totals": self.totals.to_json(),
            "transactions": dict(self.transactions),
        }
        if self.replaces is not None:
            data["replaces"] = self.replaces
        if self.replaced_by is not None:
            data["replaced_by"] = self.replaced_by
        if self.review is not None:
            data["review"] = self.review.to_json()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ClaimResult:
        _require_mapping(data, None)
        status = _read.typed(data, "status", str, None)
        if status not in STATUSES:
            raise InputError(
                f"status must be one of {', '.join(STATUSES)}, got {status!r}", field="status"
            )
        raw_lines = _read.typed(data, "lines", list, None)
        transactions = data.get("transactions") or {}
        if not isinstance(transactions, Mapping) or not all(
            isinstance(key, str) and isinstance(value, str) for key, value in transactions.items()
        ):
            raise InputError("expected a mapping of step to hash", field="transactions")
        return cls(
            claim_id=_read.typed(data, "claim_id", int, None),
            plan_id=_read.typed(data, "plan_id", str, None),
            record_id=_optional_str(data, "record_id"),
            provider_id=_optional_str(data, "provider_id"),
            service_date=parse_date(
                _read.typed(data, "service_date", str, None), field="service_date"
            ),
            status=ClaimStatus(status),
            lines=tuple(
                LineResult.from_json(line, where=f"lines[{index}]")
                for index, line in enumerate(raw_lines)
            ),
            totals=Totals.from_json(_read.typed(data, "totals", Mapping, None)),
            transactions=dict(transactions),
            replaces=_optional_claim_id(data, "replaces"),
            replaced_by=_optional_claim_id(data, "replaced_by"),
            review=(
                ReviewVotes.from_json(data["review"]) if data.get("review") is not None else None
            ),
        )


@dataclass(frozen=True)
class AccumulatorReport:
    """A member's accumulators for one period, as ``claims --json member`` prints them."""

    plan_id: str
    member_id: str
    period: int
    deductible_met: int
    oop_met: int
    benefit_used: int
    units_used: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_accumulators(
        cls, accumulators: Accumulators, *, plan_id: str, member_id: str, period: int
    ) -> AccumulatorReport:
        return cls(
            plan_id=plan_id,
            member_id=member_id,
            period=period,
            deductible_met=accumulators.deductible_met,
            oop_met=accumulators.oop_met,
            benefit_used=accumulators.benefit_used,
            units_used=dict(accumulators.units_used),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "plan_id": self.plan_id,
            "member_id": self.member_id,
            "period": self.period,
            "deductible_met": format_cents(self.deductible_met),
            "oop_met": format_cents(self.oop_met),
            "benefit_used": format_cents(self.benefit_used),
            "units_used": dict(sorted(self.units_used.items())),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AccumulatorReport:
        _require_mapping(data, None)
        units_used = _read.typed(data, "units_used", Mapping, None)
        for code, units in units_used.items():
            if not isinstance(code, str) or isinstance(units, bool) or not isinstance(units, int):
                raise InputError("expected code: whole number of units", field="units_used")
        return cls(
            plan_id=_read.typed(data, "plan_id", str, None),
            member_id=_read.typed(data, "member_id", str, None),
            period=_read.typed(data, "period", int, None),
            deductible_met=_amount(data, "deductible_met", None),
            oop_met=_amount(data, "oop_met", None),
            benefit_used=_amount(data, "benefit_used", None),
            units_used=dict(units_used),
        )


_read = FieldReader()  # a result's JSON: InputError at the field path


def _require_mapping(data: Any, where: str | None) -> None:
    if not isinstance(data, Mapping):
        _read.fail(where, f"expected a JSON object, got {describe(data)}")


def _optional_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        _read.fail(key, f"expected a string or null, got {describe(value)}")
    return value


def _optional_claim_id(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise InputError(f"expected a claim id or null, got {value!r}", field=key)
    return value


def _amount(data: Mapping[str, Any], key: str, where: str | None) -> int:
    # Result amounts are written as strings; a number here is refused like anywhere else.
    return _read.amount(_read.typed(data, key, str, where), join(where, key))
