"""Benefit periods, and which of them a member's enrolment covers (formats.md, Privacy).

A plan's benefit period of a service day is ``(day - effective_day) // benefit_period_days``
(adjudication.md). A member has a new pseudonym in each period, so the insurer enrols each
period's pseudonym: ``enroll`` covers every period that the coverage dates overlap, from
the first (past periods included) up to the period after the one that holds today (or
after the plan's first period when the plan has not started yet); ``renew`` covers the
period after that, once today has moved on.

Days are day numbers (days since 1970-01-01), as on the chain.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["NOT_ENROLLED_HINT", "BenefitPeriods"]

#: What to do about a member who is not enrolled in a service day's benefit period.
NOT_ENROLLED_HINT = (
    "check the member id; if the member is covered that day, the insurer enrols the "
    "benefit period with `claims renew {plan_id}` (or `claims enroll` again)"
)


@dataclass(frozen=True)
class BenefitPeriods:
    """The benefit periods of one plan: its effective day and its period length in days."""

    effective_day: int
    length: int

    def __post_init__(self) -> None:
        if self.length <= 0:
            raise ValueError("a benefit period has at least one day")

    def of(self, day: int) -> int:
        """The period that holds ``day``; a day before the plan's effective day is in period 0
        (the contract denies a claim for it with 26, as it would in period 0)."""
        return max(day - self.effective_day, 0) // self.length

    def first_day(self, period: int) -> int:
        return self.effective_day + period * self.length

    def last_day(self, period: int) -> int:
        return self.first_day(period + 1) - 1

    def next_to_enrol(self, today: int) -> int:
        """The last period that enrolment covers today: the one after the period that holds
        today, or period 1 while the plan has not started."""
        return self.of(today) + 1

    def overlaps(self, start: int, end: int | None, period: int) -> bool:
        """Whether coverage from ``start`` to ``end`` (None: open-ended) overlaps ``period``."""
        return start <= self.last_day(period) and (end is None or end >= self.first_day(period))

    def covered(self, start: int, end: int | None, upto: int) -> list[int]:
        """The periods up to ``upto`` (inclusive) that coverage from ``start`` to ``end``
        overlaps, in order. Coverage that ends before the plan starts overlaps none."""
        if end is not None and end < self.effective_day:
            return []
        first = self.of(start)
        last = upto if end is None else min(upto, self.of(end))
        return list(range(first, last + 1))
