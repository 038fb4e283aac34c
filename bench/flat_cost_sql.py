"""Flat cost, where the difference goes: time in SQL by kind of statement, on a fresh chain
and on one that holds many claims.

    python -m bench.flat_cost_sql [--background 100000] [--files 10] [--batch 100]

Builds the two chains of bench/flat_cost.py (the full one with ``--background`` one-line
claims), closes them, and opens them again in this process as a CLI command opens its
state (nothing of them in memory), with every SQL statement timed: the connections are of
a class of their own, ``TimedConnection``, which times each statement, its rows read
included. Both chains then take the same files of new one-line claims, alternately (as
bench/flat_cost.py). Reported, the median over the files: CPU ms a file, and ms a file in
SQL by kind of statement (its verb and table: ``SELECT kv``, ``INSERT kv``, ``COMMIT``,
...), with the difference full - fresh. Writes bench/results/flat_cost_sql.json.

Statements are timed by the wall clock (a commit waits for the disk too); the CPU time is
the process's.
"""

from __future__ import annotations

import argparse
import functools
import sqlite3
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any
from unittest import mock

from bench import scenario
from bench.flat_cost import build_chains, measure_file, measured_records
from bench.throughput import write_report
from claimsengine.workspace import Workspace

_TABLE_AFTER = {"FROM", "INTO"}


def statement_kind(sql: str) -> str:
    """``"INSERT kv"`` for ``"INSERT INTO kv (key, value) ..."``: the verb and its table."""
    words = sql.split()
    verb = words[0].upper() if words else ""
    if verb == "UPDATE" and len(words) > 1:
        return f"UPDATE {words[1]}"
    for before, word in zip(words, words[1:], strict=False):
        if before.upper() in _TABLE_AFTER:
            return f"{verb} {word.strip('(')}"
    return verb


class _ReadRows:
    """The rows of a statement, read while it was timed; used as the cursor was."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._rows = cursor.fetchall()
        self._next = 0
        self.rowcount = cursor.rowcount

    def fetchone(self) -> Any:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchall(self) -> list[Any]:
        rest, self._next = self._rows[self._next :], len(self._rows)
        return rest

    def __iter__(self) -> Any:
        return iter(self.fetchall())


class TimedConnection(sqlite3.Connection):
    """A connection that adds each statement's seconds to ``spent`` (and one to ``count``,
    a statement a row for ``executemany``), by ``statement_kind``."""

    spent: Counter[str] = Counter()
    count: Counter[str] = Counter()

    def execute(self, sql: str, parameters: Any = (), /) -> Any:  # type: ignore[override]
        begin = time.perf_counter()
        cursor = super().execute(sql, parameters)
        result: Any = _ReadRows(cursor) if cursor.description is not None else cursor
        self._add(statement_kind(sql), time.perf_counter() - begin, 1)
        return result

    def executemany(self, sql: str, rows: Any, /) -> Any:  # type: ignore[override]
        rows = list(rows)
        begin = time.perf_counter()
        cursor = super().executemany(sql, rows)
        self._add(statement_kind(sql), time.perf_counter() - begin, len(rows))
        return cursor

    @classmethod
    def _add(cls, kind: str, seconds: float, statements: int) -> None:
        cls.spent[kind] += seconds
        cls.count[kind] += statements

    @classmethod
    def reset(cls) -> None:
        cls.spent.clear()
        cls.count.clear()


def measure(folder: Path, labels: list[str], files: int, batch: int) -> dict[str, list[dict]]:
    """Each chain's files, alternately: CPU ms and SQL ms (and statements) by kind, a file."""
    records = measured_records(files * batch)
    figures: dict[str, list[dict]] = {label: [] for label in labels}
    timed = functools.partial(sqlite3.connect, factory=TimedConnection)
    with mock.patch.object(sqlite3, "connect", timed):
        workspaces = {label: Workspace.open(folder / label / "state") for label in labels}
    try:
        for number in range(files):
            chunk = records[number * batch : (number + 1) * batch]
            order = labels if number % 2 == 0 else list(reversed(labels))
            for label in order:
                TimedConnection.reset()
                path = folder / label / f"sql-{number}.jsonl"
                cpu, _ = measure_file(workspaces[label], chunk, path)
                figures[label].append(
                    {
                        "cpu_ms": cpu * len(chunk) * 1000,
                        "sql_ms": {k: v * 1000 for k, v in TimedConnection.spent.items()},
                        "statements": dict(TimedConnection.count),
                    }
                )
    finally:
        for workspace in workspaces.values():
            workspace.close()
    return figures


def summary(files: list[dict]) -> dict[str, Any]:
    """Medians over the files: CPU ms, SQL ms in all and by kind, statements by kind."""
    kinds = sorted({kind for figure in files for kind in figure["sql_ms"]})
    return {
        "cpu_ms_per_file": round(statistics.median(f["cpu_ms"] for f in files), 1),
        "sql_ms_per_file": round(statistics.median(sum(f["sql_ms"].values()) for f in files), 1),
        "sql_ms_by_kind": {
            kind: round(statistics.median(f["sql_ms"].get(kind, 0.0) for f in files), 2)
            for kind in kinds
        },
        "statements_by_kind": {
            kind: statistics.median(f["statements"].get(kind, 0) for f in files) for kind in kinds
        },
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--background", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--out", type=Path, default=scenario.RESULTS / "flat_cost_sql.json")
    args = parser.parse_args(argv)
    labels = {"fresh": 0, "full": args.background}
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for workspace in build_chains(folder, labels, args.files * args.batch).values():
            workspace.close()
        figures = measure(folder, list(labels), args.files, args.batch)
    paths = {label: summary(figures[label]) for label in labels}
    fresh, full = paths["fresh"], paths["full"]
    kinds = sorted(set(fresh["sql_ms_by_kind"]) | set(full["sql_ms_by_kind"]))
    difference = {
        kind: round(full["sql_ms_by_kind"].get(kind, 0) - fresh["sql_ms_by_kind"].get(kind, 0), 2)
        for kind in kinds
    }
    comparison = {
        "cpu_ms_per_file_difference": round(full["cpu_ms_per_file"] - fresh["cpu_ms_per_file"], 1),
        "sql_ms_per_file_difference": round(full["sql_ms_per_file"] - fresh["sql_ms_per_file"], 1),
        "sql_ms_by_kind_difference": difference,
    }
    head = {
        "benchmark": "flat_cost_sql",
        "background": args.background,
        "files": args.files,
        "batch": args.batch,
    }
    report = write_report(args.out, head, paths, comparison)
    rows = [
        (f"ms a file of {args.batch} claims", "fresh", "full", "diff"),
        (
            "CPU",
            fresh["cpu_ms_per_file"],
            full["cpu_ms_per_file"],
            comparison["cpu_ms_per_file_difference"],
        ),
        (
            "SQL, all",
            fresh["sql_ms_per_file"],
            full["sql_ms_per_file"],
            comparison["sql_ms_per_file_difference"],
        ),
    ]
    for kind in sorted(kinds, key=lambda k: -abs(difference[k])):
        rows.append(
            (
                f"SQL, {kind}",
                fresh["sql_ms_by_kind"].get(kind, 0),
                full["sql_ms_by_kind"].get(kind, 0),
                difference[kind],
            )
        )
    for name, *figures in rows:
        print(f"  {name:<28}" + "".join(f" {figure:>8}" for figure in figures))
    return report


if __name__ == "__main__":
    main()
