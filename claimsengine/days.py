"""Calendar days <-> the chain's day numbers (days since 1970-01-01, UTC).

The contract knows dates only as day numbers and "today" as ``block.timestamp // 86400``;
this module is the one place that converts, so Python and the chain agree on every day.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from claimsengine.errors import InputError

__all__ = ["EPOCH", "SECONDS_PER_DAY", "day_of_timestamp", "from_day", "parse_date", "to_day"]

EPOCH = date(1970, 1, 1)
SECONDS_PER_DAY = 86_400

# date.fromisoformat also takes "20270314" and week dates; files must say YYYY-MM-DD.
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_date(text: str | date, *, field: str) -> date:
    """An ISO calendar date "YYYY-MM-DD" as a ``date``; ``InputError`` naming ``field`` otherwise.

    A ``date`` is passed through, because YAML already turns an unquoted 2027-01-01 into one.
    A ``datetime`` is refused: a time of day would make the calendar day depend on a zone.
    """
    if isinstance(text, datetime):
        raise InputError(
            f"expected a date (YYYY-MM-DD), got a date and time {text.isoformat()}", field=field
        )
    if isinstance(text, date):
        return text
    if not isinstance(text, str):
        raise InputError(
            f"expected a date (YYYY-MM-DD), got {type(text).__name__} {text!r}", field=field
        )
    stripped = text.strip()
    if not _ISO_DATE.fullmatch(stripped):
        raise InputError(f"expected a date as YYYY-MM-DD, got {text!r}", field=field)
    try:
        return date.fromisoformat(stripped)
    except ValueError:
        raise InputError(f"{text!r} is not a calendar date", field=field) from None


def to_day(d: date | str) -> int:
    """The day number of a calendar date: 1970-01-01 -> 0.

    A ``datetime`` counts as the calendar date written in it, in its own time zone (the rule
    formats.md gives for FHIR timestamps); it is not converted to UTC first.
    """
    if isinstance(d, datetime):
        d = d.date()
    elif isinstance(d, str):
        d = parse_date(d, field="date")
    return (d - EPOCH).days


def from_day(n: int) -> date:
    """The calendar date of a day number: 0 -> 1970-01-01."""
    return EPOCH + timedelta(days=n)


def day_of_timestamp(ts: int) -> int:
    """The day number of a Unix timestamp, as the contract computes "today"."""
    return ts // SECONDS_PER_DAY
