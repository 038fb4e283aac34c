"""Per-period enrolment: which pseudonyms `enroll` and `renew` send (formats.md, Privacy).

A member has a new pseudonym in each benefit period, and each enrolled pseudonym carries
the member's real coverage dates, so that the contract's checks (coverage start and end,
the waiting period from the coverage start) give a claim in an enrolled period exactly the
result that one lasting pseudonym would.

- ``enroll`` sends every period that the coverage dates overlap, from the first up to the
  period after the one that holds today (``BenefitPeriods.next_to_enrol``), and again every
  period enrolled before: new dates reach every pseudonym that carries the old ones (a
  shortened coverage must deny 27 in a later period enrolled earlier, as it would under one
  pseudonym).
- ``renew`` sends, for each member of the insurer's roster still covered in the next
  period, the periods up to it that the chain does not hold with the member's dates yet.
  A member whose coverage ended is not renewed; but a period that their coverage overlaps
  and that a late renewal (after the period began) missed is still sent, so that no
  covered period is left without enrolment.
- A member's pseudonyms of different periods go in different transactions, each sorted
  by pseudonym, so neither a transaction nor a position pairs them up.

The roster row is written before the transaction is sent, so it never misses a period that
the chain holds (at worst it lists one that a failed send left out, which the next
enrolment sends again).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from claimsengine.abi import text_to_bytes32
from claimsengine.adjudication import Enrollment as Coverage
from claimsengine.days import from_day, to_day
from claimsengine.engine import Enrollment
from claimsengine.errors import InputError
from claimsengine.members import Member
from claimsengine.periods import BenefitPeriods
from claimsengine.roster import RosterEntry
from claimsengine.workspace import Workspace

__all__ = [
    "TAKE_BACK_HINT",
    "EnrolmentPlan",
    "RenewReport",
    "coverage_taken_back",
    "plan_enrolment",
    "plan_renewal",
]


@dataclass
class EnrolmentPlan:
    """What to send (pseudonyms with dates, by period) and what to keep in the roster."""

    by_period: dict[int, list[Enrollment]] = field(default_factory=dict)
    entries: list[RosterEntry] = field(default_factory=list)
    #: What the roster held for each member of ``entries`` before (None: nothing), to put
    #: back when the chain refuses the enrolment whole (``enroll`` fills it).
    earlier: dict[str, RosterEntry | None] = field(default_factory=dict)

    def add(self, period: int, enrollment: Enrollment) -> None:
        self.by_period.setdefault(period, []).append(enrollment)

    @property
    def count(self) -> int:
        return sum(len(group) for group in self.by_period.values())

    def batches(self) -> list[list[Enrollment]]:
        """One batch per period, sorted by pseudonym: a member's pseudonyms of two periods
        never share a transaction, and their positions (the order of keyed hashes) are
        unrelated, so nothing pairs them up. Sorted rather than shuffled, so that the same
        enrolment always sends the same transactions."""
        return [
            sorted(self.by_period[period], key=lambda e: e.member)
            for period in sorted(self.by_period)
        ]


@dataclass(frozen=True)
class RenewReport:
    """``claims --json renew``: the period renewed and what happened to the roster."""

    plan_id: str
    period: int
    period_start: str
    renewed: int  # members still covered in the period
    ended: int  # members whose coverage ended before it: not renewed
    not_started: int  # members whose coverage starts after it
    enrolments: int  # pseudonyms sent (0 when everything was enrolled already)

    def to_json(self) -> dict[str, Any]:
        return {
            "plan_id": self.plan_id,
            "period": self.period,
            "period_start": self.period_start,
            "renewed": self.renewed,
            "ended": self.ended,
            "not_started": self.not_started,
            "enrolments": self.enrolments,
        }

    def sentence(self) -> str:
        """What `claims renew` prints (and the demo, after its renewal)."""
        return (
            f"Renewed {self.renewed} members of {self.plan_id} for benefit period "
            f"{self.period} (from {self.period_start}): {self.enrolments} enrolments "
            f"sent; {self.ended} not renewed (coverage ended), {self.not_started} "
            "not covered yet."
        )


def _add(
    plan: EnrolmentPlan,
    workspace: Workspace,
    plan_id: str,
    entry: RosterEntry,
    periods: Sequence[int],
) -> None:
    for period in periods:
        member = workspace.pseudonym(plan_id, entry.member_id, period, create=True)
        plan.add(period, Enrollment(member, entry.coverage_start, entry.coverage_end, period))


def _days(member: Member) -> tuple[int, int | None]:
    """A member's coverage as day numbers (end None: open-ended)."""
    end = to_day(member.coverage_end) if member.coverage_end else None
    return to_day(member.coverage_start), end


def _periods(
    periods: BenefitPeriods, before: RosterEntry | None, member: Member, today: int
) -> tuple[set[int], set[int]]:
    """The member's periods enrolled once the new dates are sent, and those sent: every
    period the dates overlap (up to the one after today's), and every period enrolled
    before that has not ended (a coverage cut short reaches a later period enrolled
    earlier). A period that has ended and that the new dates do not overlap keeps its own
    dates: its days were lived under them (a member who left and comes back)."""
    start, end = _days(member)
    covered = set(periods.covered(start, end, periods.next_to_enrol(today)))
    earlier = set(before.periods) if before else set()
    running = {period for period in earlier - covered if periods.last_day(period) >= today}
    return earlier | covered, covered | running


def plan_enrolment(
    workspace: Workspace, plan_id: str, members: Sequence[Member], today: int
) -> EnrolmentPlan:
    """The pseudonyms that `enroll` sends for ``members`` on ``today``."""
    periods = workspace.periods(plan_id)
    plan = EnrolmentPlan()
    for member in members:
        before = workspace.roster.get(plan_id, member.member_id)
        plan.earlier[member.member_id] = before
        enrolled, sent = _periods(periods, before, member, today)
        start, end = _days(member)
        entry = RosterEntry(member.member_id, start, end, tuple(sorted(enrolled)))
        plan.entries.append(entry)
        _add(plan, workspace, plan_id, entry, sorted(sent))
    return plan


#: What to do about new dates that take back coverage already lived.
TAKE_BACK_HINT = (
    "end the coverage today or later, and keep the start or move it earlier: a claim for a "
    "day already covered may be on its way; nothing was enrolled"
)


def coverage_taken_back(
    workspace: Workspace, plan_id: str, members: Sequence[Member], today: int, source: str
) -> list[InputError]:
    """An error for each member whose new dates would take back coverage that the dates
    last enrolled from this workspace gave to a day up to ``today``: the contract refuses
    such a change (a claim for a day already lived may be on its way), so it is named
    before anything is sent. Members this workspace never enrolled are left to the chain."""
    periods = workspace.periods(plan_id)
    problems = []
    for member in members:
        before = workspace.roster.get(plan_id, member.member_id)
        if before is None:
            continue
        start, end = _days(member)
        lived = Coverage(before.coverage_start, before.coverage_end)
        _enrolled, sent = _periods(periods, before, member, today)
        fields = [
            lived.takes_back(start, end, today, (periods.first_day(p), periods.last_day(p)))
            for p in sorted(sent & set(before.periods))
        ]
        field = next((f for f in fields if f is not None), None)
        if field is None:
            continue
        until = "open-ended" if before.coverage_end is None else str(from_day(before.coverage_end))
        value = member.coverage_start if field == "coverage_start" else member.coverage_end
        problems.append(
            InputError(
                f"{value} would take back coverage already lived (enrolled from "
                f"{from_day(before.coverage_start)}, {until}; today is {from_day(today)})",
                file=source,
                record=member.member_id,
                field=field,
                hint=TAKE_BACK_HINT,
            )
        )
    return problems


def _enrolled_on_chain(workspace: Workspace, plan_id: str) -> dict[bytes, tuple[int, int]]:
    """Every pseudonym the plan enrolled, with the dates its latest enrolment gave."""
    latest: dict[bytes, tuple[int, int]] = {}
    events = workspace.engine.events("MemberEnrolled", text_to_bytes32(plan_id))
    for event in sorted(events, key=lambda e: (e.block_number, e.log_index)):
        args = event.args
        latest[bytes(args["member"])] = (int(args["coverage_start"]), int(args["coverage_end"]))
    return latest


def plan_renewal(
    workspace: Workspace, plan_id: str, today: int
) -> tuple[EnrolmentPlan, RenewReport]:
    """What `renew` sends on ``today``: the next period, for the members still covered."""
    periods = workspace.periods(plan_id)
    upto = periods.next_to_enrol(today)
    on_chain = _enrolled_on_chain(workspace, plan_id)
    plan = EnrolmentPlan()
    renewed = ended = not_started = 0
    for entry in sorted(workspace.roster.members(plan_id), key=lambda e: e.member_id):
        start, end = entry.coverage_start, entry.coverage_end
        if periods.overlaps(start, end, upto):
            renewed += 1
        elif end is not None and end < periods.first_day(upto):
            ended += 1  # not renewed; a period before, if a late renewal missed it, is sent
        else:
            not_started += 1
        wanted = (start, end or 0)
        missing = [
            period
            for period in periods.covered(start, end, upto)
            if on_chain.get(workspace.pseudonym(plan_id, entry.member_id, period)) != wanted
        ]
        if missing:
            chosen = tuple(sorted(set(entry.periods) | set(missing)))
            plan.entries.append(RosterEntry(entry.member_id, start, end, chosen))
            _add(plan, workspace, plan_id, entry, missing)
    report = RenewReport(
        plan_id=plan_id,
        period=upto,
        period_start=from_day(periods.first_day(upto)).isoformat(),
        renewed=renewed,
        ended=ended,
        not_started=not_started,
        enrolments=plan.count,
    )
    return plan, report
