"""The insurer's members file (formats.md, "Members"): `member_id,coverage_start,coverage_end`.

The member_id never leaves this side: the SDK turns it into the plan's keyed pseudonym
before anything reaches the chain.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from claimsengine.days import parse_date
from claimsengine.errors import InputError

HEADER = ("member_id", "coverage_start", "coverage_end")


@dataclass(frozen=True)
class Member:
    member_id: str
    coverage_start: date
    coverage_end: date | None  # None: open-ended


def load_members(path: Path | str) -> list[Member]:
    """Read and validate a members CSV. Errors name the file, the row and the field; every
    bad row is reported at once (``InputError.of_rows``), and a file with one gives none."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as error:
        raise InputError(
            f"cannot read the members file: {error.strerror or error}", file=source
        ) from None
    except UnicodeDecodeError as error:
        raise InputError(
            f"is not UTF-8 text (byte {error.start})", file=source, hint="save it as UTF-8 CSV"
        ) from None
    rows = list(csv.reader(text.splitlines()))
    if not rows or tuple(cell.strip() for cell in rows[0]) != HEADER:
        raise InputError(
            f"the first line must be the header {','.join(HEADER)}", file=source, record="line 1"
        )
    members: list[Member] = []
    problems: list[InputError] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            members.append(_member(row, number, source, seen))
        except InputError as error:
            problems.append(error)
    if problems:
        hint = "fix the rows and enrol again: nothing was enrolled from the file"
        raise InputError.of_rows(problems, file=source, hint=hint)
    return members


def _member(row: list[str], number: int, source: str, seen: dict[str, int]) -> Member:
    """The member on line ``number``, checked (``seen``: member id -> its first line)."""
    where = f"line {number}"
    if len(row) != 3:
        raise InputError(f"expected 3 columns, got {len(row)}", file=source, record=where)
    member_id, start, end = (cell.strip() for cell in row)
    if not member_id:
        raise InputError("member_id is empty", file=source, record=where, field="member_id")
    if member_id in seen:
        raise InputError(
            f"member {member_id} is listed again (first on line {seen[member_id]})",
            file=source,
            record=where,
            field="member_id",
        )
    seen[member_id] = number
    try:
        coverage_start = parse_date(start, field="coverage_start")
        coverage_end = parse_date(end, field="coverage_end") if end else None
    except InputError as error:
        raise InputError(error.message, file=source, record=where, field=error.field) from None
    if coverage_end is not None and coverage_end < coverage_start:
        raise InputError(
            "coverage_end is before coverage_start",
            file=source,
            record=where,
            field="coverage_end",
        )
    return Member(member_id, coverage_start, coverage_end)
