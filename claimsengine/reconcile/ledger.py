"""The hospital's ledger: a CSV of what it expects to be paid per record (cli.md, header
``record_id,expected_paid``; ``provider_id`` optional), read with every problem located by
file, line, record and field."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from claimsengine.errors import InputError, LedgerError
from claimsengine.money import parse_amount

if TYPE_CHECKING:
    from _csv import Reader as CsvReader

__all__ = ["LEDGER_COLUMNS", "PROVIDER_COLUMN", "LedgerError", "LedgerRow", "load_ledger"]

LEDGER_COLUMNS = ("record_id", "expected_paid")
#: An optional ledger column: names the provider when record ids repeat across providers.
PROVIDER_COLUMN = "provider_id"


@dataclass(frozen=True)
class LedgerRow:
    """One ledger row: what the hospital expects to be paid for a record, in cents.

    ``line`` is the row's line in the file (the header is line 1). ``provider_id`` is the
    optional third column; it is only needed when two providers use the same record id.
    """

    record_id: str
    expected_paid: int
    line: int = 0
    provider_id: str | None = None


def load_ledger(path: str | Path) -> list[LedgerRow]:
    """Read a ledger CSV: header ``record_id,expected_paid`` (``provider_id`` optional,
    other columns ignored). Amounts are decimal strings with at most 2 decimals. Raises
    ``LedgerError`` naming the file, the line and the field of each bad row (all of them at
    once: ``InputError.of_rows``)."""
    name = str(path)
    try:
        handle = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        raise LedgerError(
            "no such file", file=name, hint="give the path of the ledger CSV"
        ) from None
    except OSError as error:
        raise LedgerError(f"cannot read it: {error.strerror}", file=name) from None
    with handle:
        try:
            return _read_ledger(handle, name)
        except UnicodeDecodeError:
            raise LedgerError("is not UTF-8 text", file=name, hint="save it as UTF-8 CSV") from None
        except csv.Error as error:
            raise LedgerError(f"is not valid CSV: {error}", file=name) from None


def _read_ledger(lines: Iterable[str], name: str) -> list[LedgerRow]:
    reader = csv.reader(lines)
    columns = _read_header(reader, name)
    rows: list[LedgerRow] = []
    problems: list[InputError] = []
    first_line: dict[tuple[str | None, str], int] = {}
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue  # blank lines are allowed anywhere
        try:
            row = _read_row(cells, reader.line_num, columns, name)
        except LedgerError as error:
            problems.append(error)
            continue
        key = (row.provider_id, row.record_id)
        if key in first_line:
            problems.append(
                LedgerError(
                    f"is in the ledger twice (first on line {first_line[key]})",
                    file=name,
                    line=row.line,
                    record=row.record_id,
                    field="record_id",
                    hint="keep one row per record",
                )
            )
            continue
        first_line[key] = row.line
        rows.append(row)
    if problems:
        raise LedgerError.of_rows(
            problems, file=name, hint="fix the rows and run the command again"
        )
    return rows


@dataclass(frozen=True)
class _Columns:
    """Where the header puts the ledger's columns, and how many it has."""

    record_id: int
    expected_paid: int
    provider_id: int | None
    count: int


def _read_header(reader: CsvReader, name: str) -> _Columns:
    """The first non-blank line, checked as the header (``reader`` then stands after it)."""
    header: list[str] | None = None
    for row in reader:
        if any(cell.strip() for cell in row):
            header = [cell.strip() for cell in row]
            break
    hint = "the first line must be the header: record_id,expected_paid"
    if header is None:
        raise LedgerError("is empty", file=name, hint=hint)
    header_line = reader.line_num
    for column in LEDGER_COLUMNS:
        if column not in header:
            raise LedgerError(
                f"the header has no {column} column (it has: {', '.join(header)})",
                file=name,
                line=header_line,
                hint=hint,
            )
    seen_columns: set[str] = set()
    for column in header:
        if column in seen_columns and column in (*LEDGER_COLUMNS, PROVIDER_COLUMN):
            raise LedgerError(f"the header names {column} twice", file=name, line=header_line)
        seen_columns.add(column)
    return _Columns(
        record_id=header.index("record_id"),
        expected_paid=header.index("expected_paid"),
        provider_id=header.index(PROVIDER_COLUMN) if PROVIDER_COLUMN in header else None,
        count=len(header),
    )


def _read_row(cells: list[str], line: int, columns: _Columns, name: str) -> LedgerRow:
    """One ledger row, checked: as many fields as the header, a record id, an amount."""
    if len(cells) != columns.count:
        raise LedgerError(
            f"has {len(cells)} fields, the header has {columns.count}",
            file=name,
            line=line,
            hint="quote a value that contains a comma",
        )
    record_id = cells[columns.record_id].strip()
    if not record_id:
        raise LedgerError("is empty", file=name, line=line, field="record_id")
    try:
        expected = parse_amount(cells[columns.expected_paid], field="expected_paid")
    except InputError as error:
        raise LedgerError(
            error.message,
            file=name,
            line=line,
            record=record_id,
            field="expected_paid",
            hint="write amounts like 180.00: digits with at most 2 decimals, "
            "no currency sign or thousands separator",
        ) from None
    at = columns.provider_id
    provider_id = cells[at].strip() or None if at is not None else None
    return LedgerRow(record_id, expected, line, provider_id)
