"""The pure-Python adjudicator: docs/adjudication.md, step by step, in int cents.

It previews results for users, and it is the test oracle for the Vyper contract, so it
follows the spec to the letter and nothing more. Each rule cites its row of the spec
(claim-level checks 3-9, line-level checks a-e, pricing steps 1-7).

It keeps the state the rules read in a ``Ledger`` (one per plan): enrollments,
accumulators per (member, period), the duplicate-line keys of earlier claims, the plan's
later schedule versions (a claim is priced with the version in force on its service day),
and each provider's plan_paid approved without review per day (the provider daily limit).
``adjudicate`` applies a claim's effects to the ledger as the contract does at submission;
``reverse`` takes them back when an adjudicator denies a claim on review, and ``void`` when
its provider voids it. Payment, the pool and provider debt are not part of this module: an
approved claim is paid or queued by the caller.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from claimsengine.errors import ClaimRejected, ClaimsError
from claimsengine.periods import BenefitPeriods

if TYPE_CHECKING:  # plan.py (and YAML) are not needed to read a claim's lines back
    from claimsengine.plan import Plan, Service

__all__ = [
    "ADJ_BENEFIT_LIMIT",
    "ADJ_COINSURANCE",
    "ADJ_COPAY",
    "ADJ_DEDUCTIBLE",
    "ADJ_FEE_SCHEDULE",
    "DENY_AFTER_COVERAGE",
    "DENY_BEFORE_COVERAGE",
    "DENY_DAILY_UNITS",
    "DENY_DUPLICATE_LINE",
    "DENY_LATE_FILING",
    "DENY_NOT_COVERED",
    "DENY_NOT_ENROLLED",
    "DENY_NO_PRIOR_AUTH",
    "DENY_PERIOD_UNITS",
    "GROUP_CODES",
    "REJECT_FUTURE_SERVICE",
    "REJECT_INVALID_CLAIM",
    "Accumulators",
    "ClaimAdjudication",
    "ClaimInput",
    "ClaimLineInput",
    "ClaimRejected",
    "Decision",
    "Enrollment",
    "LineAdjudication",
    "Ledger",
    "LineKey",
    "adjudicate",
    "denied_line",
    "period_of",
    "reverse",
    "void",
]

# Claim-level denials (spec checks 5-9).
DENY_NOT_ENROLLED = 31
DENY_BEFORE_COVERAGE = 26
DENY_AFTER_COVERAGE = 27
DENY_LATE_FILING = 29
# Line-level denials (spec checks a-e).
DENY_NOT_COVERED = 96
DENY_NO_PRIOR_AUTH = 197
DENY_DUPLICATE_LINE = 18
DENY_DAILY_UNITS = 151
DENY_PERIOD_UNITS = 119
# Pricing adjustments (spec steps 1-6).
ADJ_FEE_SCHEDULE = 45
ADJ_DEDUCTIBLE = 1
ADJ_COPAY = 3
ADJ_COINSURANCE = 2
ADJ_BENEFIT_LIMIT = 119

# Spec, "Group codes": CO is the provider's write-off, PR the patient's responsibility.
GROUP_CODES: dict[int, str] = {
    45: "CO",
    18: "CO",
    29: "CO",
    151: "CO",
    197: "CO",
    1: "PR",
    2: "PR",
    3: "PR",
    26: "PR",
    27: "PR",
    31: "PR",
    96: "PR",
    119: "PR",
}

# Claim-level rejects (spec checks 3 and 4): the contract's revert reasons.
REJECT_INVALID_CLAIM = "invalid claim"
REJECT_FUTURE_SERVICE = "service date in the future"

#: The oracle's decision on a claim (an approved claim is paid or queued by the pool).
Decision = Literal["denied", "pending_review", "approved"]
# (member, provider, code, service_day): spec check c.
LineKey = tuple[str, str, str, int]


@dataclass(frozen=True)
class Enrollment:
    """A member's coverage, as day numbers; ``coverage_end`` is inclusive, None is open-ended.
    ``period`` is the benefit period the member's pseudonym stands for: a claim of another
    period is denied 31 (check 5)."""

    coverage_start: int
    coverage_end: int | None = None
    period: int = 0

    def takes_back(
        self, start: int, end: int | None, today: int, period_days: tuple[int, int]
    ) -> str | None:
        """The field of new dates (``start``, ``end``) that would take back coverage these
        dates gave to a day up to ``today`` of the pseudonym's benefit period (its first and
        last day, ``period_days``), or None. A claim for such a day may be on its way, so the
        contract refuses the change (spec "Trust between parties"); days of other periods
        belong to the member's other pseudonyms."""
        first = max(self.coverage_start, period_days[0])
        last = min(today, period_days[1])
        if self.coverage_end is not None:
            last = min(last, self.coverage_end)
        if first > last:
            return None  # nothing lived in this period: any new dates
        if start > first:
            return "coverage_start"
        if end is not None and end < last:
            return "coverage_end"
        return None


@dataclass(frozen=True)
class ClaimLineInput:
    """One line as submitted: a service code, its units, and the billed amount in cents."""

    code: str
    units: int
    billed: int


@dataclass(frozen=True)
class ClaimInput:
    """A claim as the contract sees it (member is whatever id the ledger is keyed by)."""

    member: str
    provider: str
    service_day: int
    prior_auth: bool
    lines: tuple[ClaimLineInput, ...]


@dataclass(frozen=True)
class LineAdjudication:
    """How one line was decided. Amounts are cents; ``denial`` is None for a priced line.

    It balances: ``allowed = deductible + copay + coinsurance + benefit_limit + plan_paid``.
    """

    code: str
    units: int
    billed: int
    allowed: int
    deductible: int
    copay: int
    coinsurance: int
    benefit_limit: int
    plan_paid: int
    denial: int | None = None

    @property
    def denied(self) -> bool:
        return self.denial is not None

    @property
    def fee_reduction(self) -> int:
        """billed − allowed. On a denied line this is the whole billed amount, which the spec
        puts under the denial code, not 45: use ``adjustments`` for remittance output."""
        return self.billed - self.allowed

    @property
    def patient_responsibility(self) -> int:
        return self.deductible + self.copay + self.coinsurance + self.benefit_limit

    @property
    def out_of_pocket(self) -> int:
        """What the line adds to the member's out-of-pocket total: deductible, copay and
        coinsurance (a benefit-limit cut is the patient's, but not toward the maximum)."""
        return self.deductible + self.copay + self.coinsurance

    @property
    def adjustments(self) -> tuple[tuple[int, int], ...]:
        """(code, cents) of each non-zero adjustment, in the spec's order 45, 1, 3, 2, 119.

        A denied line has one adjustment: its denial code for the whole billed amount.
        """
        if self.denial is not None:
            return ((self.denial, self.billed),)
        amounts = (
            (ADJ_FEE_SCHEDULE, self.billed - self.allowed),
            (ADJ_DEDUCTIBLE, self.deductible),
            (ADJ_COPAY, self.copay),
            (ADJ_COINSURANCE, self.coinsurance),
            (ADJ_BENEFIT_LIMIT, self.benefit_limit),
        )
        return tuple((code, cents) for code, cents in amounts if cents)

    @property
    def reasons(self) -> tuple[str, ...]:
        """The adjustment codes as strings, as the result JSON lists them: ("45", "3")."""
        if self.denial is not None:
            # A denied line lists its denial code even when nothing was billed.
            return (str(self.denial),)
        return tuple(str(code) for code, _cents in self.adjustments)


@dataclass
class Accumulators:
    """What a member has used in one benefit period; all zero at the start of each period."""

    deductible_met: int = 0
    oop_met: int = 0
    benefit_used: int = 0
    units_used: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ClaimAdjudication:
    """The decision on a claim: its status, its lines in order, and the benefit period."""

    status: Decision
    lines: tuple[LineAdjudication, ...]
    period: int
    claim_denial: int | None = None  # the code of a claim-level denial (checks 5-9)

    @property
    def billed(self) -> int:
        return sum(line.billed for line in self.lines)

    @property
    def allowed(self) -> int:
        return sum(line.allowed for line in self.lines)

    @property
    def plan_paid(self) -> int:
        return sum(line.plan_paid for line in self.lines)

    @property
    def patient_responsibility(self) -> int:
        return sum(line.patient_responsibility for line in self.lines)


class Ledger:
    """The member-side state of one plan that the rules read and write.

    ``accumulators`` returns the live record (created at zero on first use), so tests and
    previews can set starting values; ``copy`` gives an independent ledger for a dry run.
    """

    def __init__(self) -> None:
        self.enrollments: dict[str, Enrollment] = {}
        self._accumulators: dict[tuple[str, int], Accumulators] = {}
        # Keys of non-denied lines of non-denied claims (spec check c).
        self.line_keys: set[LineKey] = set()
        # Schedule versions after the plan's own (its `services`, from its effective day):
        # (effective_day, services by code), in increasing day order.
        self.schedule_versions: list[tuple[int, dict[str, Service]]] = []
        # Per provider: (day, plan_paid approved that day without review).
        self.daily_paid: dict[str, tuple[int, int]] = {}
        # The plan's last pause: its first day, and its last (None while it lasts).
        self.pause_days: tuple[int, int | None] | None = None

    def set_paused(self, plan: Plan, paused: bool, today: int) -> None:
        """The plan paused or resumed on ``today`` (spec "Trust between parties", as the
        engine keeps it): filing windows stand still while a plan is paused. A pause that
        starts within a filing window of the last one's end continues it (the days between
        count as paused), so no claim's window spans two recorded pauses."""
        last = self.pause_days
        running = last is not None and last[1] is None
        if paused == running:
            return  # paused again, or resumed while not paused: nothing changes
        if last is None:
            self.pause_days = (today, None)  # the first pause
        elif not paused:
            self.pause_days = (last[0], today)
        elif last[1] is not None and today <= last[1] + plan.timely_filing_days:
            self.pause_days = (last[0], None)  # continues the last pause
        else:
            self.pause_days = (today, None)

    def filed_late(self, plan: Plan, service_day: int, today: int) -> bool:
        """Whether ``today`` is past the filing (and void) window of ``service_day``:
        timely_filing_days, and as many more days as the plan was paused from the service
        day on."""
        waited = today - service_day
        if waited <= plan.timely_filing_days:
            return False
        first, last = self.pause_days or (0, None)
        if last is None or last <= service_day:
            return True  # no pause since the service day (or one that still lasts)
        return waited > plan.timely_filing_days + last - max(service_day, first)

    def update_schedule(self, effective_day: int, services: tuple[Service, ...]) -> None:
        """A new schedule version for services on or after ``effective_day`` (spec "Trust
        between parties"); codes not listed are not covered from that day."""
        if self.schedule_versions and effective_day <= self.schedule_versions[-1][0]:
            raise ClaimsError("schedule versions take effect in order")
        self.schedule_versions.append((effective_day, {s.code: s for s in services}))

    def service(self, plan: Plan, code: str, service_day: int) -> Service | None:
        """``code`` in the schedule version in force on ``service_day``, or None."""
        for effective_day, services in reversed(self.schedule_versions):
            if effective_day <= service_day:
                return services.get(code)
        return plan.service(code)

    def within_daily_limit(self, provider: str, today: int, plan_paid: int, limit: int) -> bool:
        """Adds ``plan_paid`` to the provider's total of ``today`` when it stays within
        ``limit``; False (nothing added) when it would go above."""
        day, total = self.daily_paid.get(provider, (today, 0))
        total = (total if day == today else 0) + plan_paid
        if total > limit:
            return False
        self.daily_paid[provider] = (today, total)
        return True

    def enroll(
        self,
        member: str,
        enrollment: Enrollment,
        today: int | None = None,
        plan: Plan | None = None,
    ) -> None:
        """Enrol a member, or replace their coverage dates (formats.md: enrolling updates).
        A pseudonym stays in the period it was first enrolled for, and (given ``today`` and
        the ``plan``) new dates keep the coverage it already lived in its period (the
        contract refuses either)."""
        before = self.enrollments.get(member)
        if before is not None and before.period != enrollment.period:
            raise ValueError(
                f"{member} is enrolled for period {before.period}, not {enrollment.period}"
            )
        if before is not None and today is not None and plan is not None:
            start, end = enrollment.coverage_start, enrollment.coverage_end
            periods = BenefitPeriods(plan.effective_day, plan.benefit_period_days)
            days = (periods.first_day(before.period), periods.last_day(before.period))
            if before.takes_back(start, end, today, days):
                raise ValueError(f"{member}: new dates take back coverage already lived")
        self.enrollments[member] = enrollment

    def enrollment(self, member: str) -> Enrollment | None:
        return self.enrollments.get(member)

    def accumulators(self, member: str, period: int) -> Accumulators:
        return self._accumulators.setdefault((member, period), Accumulators())

    def periods(self) -> Iterator[tuple[tuple[str, int], Accumulators]]:
        """Every (member, period) with accumulators so far."""
        return iter(self._accumulators.items())

    def copy(self) -> Ledger:
        return copy.deepcopy(self)


def period_of(plan: Plan, service_day: int) -> int:
    """The benefit period of a service day (spec "Units"); negative before the effective day."""
    return (service_day - plan.effective_day) // plan.benefit_period_days


def adjudicate(
    plan: Plan, ledger: Ledger, claim: ClaimInput, *, today: int, max_lines: int = 32
) -> ClaimAdjudication:
    """Decide ``claim`` on ``today`` (a day number) and apply its effects to ``ledger``.

    Raises ``ClaimRejected`` for claim-level checks 3 and 4, leaving the ledger untouched.
    Checks 1 (authorisation) and 2 (duplicate commitment) belong to the caller.
    """
    _check_claim_shape(claim, max_lines=max_lines)  # check 3
    if claim.service_day > today:  # check 4
        raise ClaimRejected(REJECT_FUTURE_SERVICE)

    period = period_of(plan, claim.service_day)
    denial = _claim_denial(plan, ledger, claim, today=today)
    if denial is not None:
        # A claim-level denial: every line carries the code; nothing accumulates or is kept.
        lines = tuple(denied_line(line, denial) for line in claim.lines)
        return ClaimAdjudication("denied", lines, period, claim_denial=denial)

    accumulators = ledger.accumulators(claim.member, period)
    priced: list[LineAdjudication] = []
    for line in claim.lines:
        service = ledger.service(plan, line.code, claim.service_day)
        line_denial = _line_denial(service, ledger, accumulators, claim, line)
        if line_denial is not None:
            priced.append(denied_line(line, line_denial))
        else:
            assert service is not None  # check a passed
            priced.append(_price_line(plan, service, accumulators, line))
    lines = tuple(priced)

    # Keys are recorded after the whole claim, so lines of one claim never deny each other.
    for adjudicated in lines:
        if not adjudicated.denied:
            ledger.line_keys.add(_line_key(claim, adjudicated.code))

    status: Decision
    if all(line.denied for line in lines):
        status = "denied"
    elif sum(line.plan_paid for line in lines) > plan.auto_approve_limit:
        status = "pending_review"
    elif plan.provider_daily_limit is not None and not ledger.within_daily_limit(
        claim.provider, today, sum(line.plan_paid for line in lines), plan.provider_daily_limit
    ):
        status = "pending_review"  # a stolen provider key cannot empty the pool
    else:
        status = "approved"
    return ClaimAdjudication(status, lines, period)


def reverse(plan: Plan, ledger: Ledger, claim: ClaimInput, adjudication: ClaimAdjudication) -> None:
    """Take back a claim's effects after an adjudicator denies it on review (spec "Claim outcome").

    Only this claim's accumulator effects and duplicate-line keys are removed; other claims
    keep the prices they got. Only a claim pending review can be denied on review.
    """
    if adjudication.status != "pending_review":
        raise ClaimsError(
            f"only a claim pending review can be denied on review; this one is "
            f"{adjudication.status}"
        )
    _take_back(plan, ledger, claim, adjudication)


def void(plan: Plan, ledger: Ledger, claim: ClaimInput, adjudication: ClaimAdjudication) -> None:
    """Take back a voided claim's effects (spec "Before and after a claim"): exactly what a
    review denial takes back. A denied claim left nothing behind and cannot be voided.

    The window (timely_filing_days of the service day) and the claim's state since
    adjudication (a claim denied on review, or voided before) are the caller's to check.
    """
    if adjudication.status == "denied":
        raise ClaimsError("a denied claim cannot be voided")
    _take_back(plan, ledger, claim, adjudication)


def _take_back(
    plan: Plan, ledger: Ledger, claim: ClaimInput, adjudication: ClaimAdjudication
) -> None:
    """Remove this claim's accumulator effects and duplicate-line keys; other claims keep
    the prices they got."""
    if len(adjudication.lines) != len(claim.lines):
        raise ClaimsError("the adjudication does not belong to this claim (line counts differ)")
    if adjudication.period != period_of(plan, claim.service_day):
        raise ClaimsError("the adjudication does not belong to this claim (periods differ)")
    accumulators = ledger.accumulators(claim.member, adjudication.period)
    for line in adjudication.lines:
        if line.denied:
            continue  # a denied line added nothing
        accumulators.deductible_met -= line.deductible
        accumulators.oop_met -= line.out_of_pocket
        accumulators.benefit_used -= line.plan_paid
        remaining = accumulators.units_used.get(line.code, 0) - line.units
        if remaining:
            accumulators.units_used[line.code] = remaining
        else:
            # Drop the entry, so the accumulators compare equal to before the claim.
            accumulators.units_used.pop(line.code, None)
        ledger.line_keys.discard(_line_key(claim, line.code))


def _check_claim_shape(claim: ClaimInput, *, max_lines: int) -> None:
    if not claim.lines:
        raise ClaimRejected(REJECT_INVALID_CLAIM, "the claim has no lines")
    if len(claim.lines) > max_lines:
        raise ClaimRejected(
            REJECT_INVALID_CLAIM, f"{len(claim.lines)} lines is more than the limit of {max_lines}"
        )
    for number, line in enumerate(claim.lines, start=1):
        # Units and amounts are uint256 on-chain: below 0 cannot be sent at all.
        if line.units <= 0:
            raise ClaimRejected(REJECT_INVALID_CLAIM, f"line {number} has {line.units} units")
        if line.billed < 0:
            raise ClaimRejected(REJECT_INVALID_CLAIM, f"line {number} has a negative amount")


def _claim_denial(plan: Plan, ledger: Ledger, claim: ClaimInput, *, today: int) -> int | None:
    """Claim-level checks 5-9, in the spec's order: the first that fails decides."""
    enrollment = ledger.enrollment(claim.member)
    day = claim.service_day
    # 5; a day before the plan's effective day is in period 0 (and is denied 26 below).
    if enrollment is None or enrollment.period != max(period_of(plan, day), 0):
        return DENY_NOT_ENROLLED
    if day < max(plan.effective_day, enrollment.coverage_start):  # 6
        return DENY_BEFORE_COVERAGE
    if enrollment.coverage_end is not None and day > enrollment.coverage_end:  # 7
        return DENY_AFTER_COVERAGE
    if day < enrollment.coverage_start + plan.waiting_period_days:  # 8
        return DENY_BEFORE_COVERAGE
    if ledger.filed_late(plan, day, today):  # 9, the days the plan was paused not counted
        return DENY_LATE_FILING
    return None


def _line_denial(
    service: Service | None,
    ledger: Ledger,
    accumulators: Accumulators,
    claim: ClaimInput,
    line: ClaimLineInput,
) -> int | None:
    """Line-level checks a-e, in the spec's order: the first that matches decides.
    ``service`` is the line's code in the schedule version of the service day."""
    if service is None:  # a
        return DENY_NOT_COVERED
    if service.prior_auth and not claim.prior_auth:  # b
        return DENY_NO_PRIOR_AUTH
    # c: only earlier claims' keys are in the ledger; this claim's are added after it.
    if _line_key(claim, line.code) in ledger.line_keys:
        return DENY_DUPLICATE_LINE
    if service.max_units_per_day is not None and line.units > service.max_units_per_day:  # d
        return DENY_DAILY_UNITS
    if service.max_units_per_period is not None:  # e
        used = accumulators.units_used.get(line.code, 0)
        if used + line.units > service.max_units_per_period:
            return DENY_PERIOD_UNITS
    return None


def _price_line(
    plan: Plan, service: Service, accumulators: Accumulators, line: ClaimLineInput
) -> LineAdjudication:
    """Pricing steps 1-7 for a line that no check denied; updates ``accumulators``."""
    # Never below zero: the accumulators cannot pass their maxima through these rules, but a
    # ledger seeded by hand could, and a negative "left" must not turn into a credit.
    deductible_left = max(plan.deductible - accumulators.deductible_met, 0)
    oop_left = max(plan.out_of_pocket_max - accumulators.oop_met, 0)

    allowed = min(line.billed, service.fee * line.units)  # 1 (reduction: 45)
    deductible = 0
    if service.deductible_applies:  # 2
        deductible = min(allowed, deductible_left, oop_left)
    oop_left -= deductible
    rest = allowed - deductible  # 3
    copay = 0
    coinsurance = 0
    if service.copay is not None:  # 4, copay replaces coinsurance
        copay = min(service.copay, rest, oop_left)
    else:
        # Floor to the cent: the one rounding in the rules. Ints, so // is an exact floor.
        coinsurance = min(rest * plan.coinsurance_bps // 10_000, oop_left)
    plan_share = allowed - deductible - copay - coinsurance  # 5
    if plan.annual_benefit_max is None:  # 6
        plan_paid = plan_share
    else:
        benefit_left = max(plan.annual_benefit_max - accumulators.benefit_used, 0)
        plan_paid = min(plan_share, benefit_left)
    benefit_limit = plan_share - plan_paid  # the excess: patient's, code 119, not toward oop

    # 7: accumulate, so the next line and the next claim see this one.
    accumulators.deductible_met += deductible
    accumulators.oop_met += deductible + copay + coinsurance
    accumulators.benefit_used += plan_paid
    accumulators.units_used[line.code] = accumulators.units_used.get(line.code, 0) + line.units

    return LineAdjudication(
        code=line.code,
        units=line.units,
        billed=line.billed,
        allowed=allowed,
        deductible=deductible,
        copay=copay,
        coinsurance=coinsurance,
        benefit_limit=benefit_limit,
        plan_paid=plan_paid,
    )


def denied_line(line: ClaimLineInput | LineAdjudication, denial: int) -> LineAdjudication:
    """A denied line: allowed 0 and plan_paid 0; its whole billed amount carries the code.
    Also how a line reads after its claim is denied in review."""
    return LineAdjudication(
        code=line.code,
        units=line.units,
        billed=line.billed,
        allowed=0,
        deductible=0,
        copay=0,
        coinsurance=0,
        benefit_limit=0,
        plan_paid=0,
        denial=denial,
    )


def _line_key(claim: ClaimInput, code: str) -> LineKey:
    return (claim.member, claim.provider, code, claim.service_day)
