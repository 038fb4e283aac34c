"""Output for people: rich tables in the house look, a claim's lines, the pool, progress.

``--json`` output never comes here (``App.emit`` prints the data as JSON instead), and rich
is imported inside the functions, so commands that print nothing load none of it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from claimsengine.orchestrator import SetAside
    from claimsengine.results import ClaimResult
    from claimsengine.sdk import PoolState

__all__ = [
    "claim_table",
    "console",
    "key_value_table",
    "pool_json",
    "pool_rows",
    "progress",
    "set_aside_table",
    "table",
]


def console(*, stderr: bool = False) -> Console:
    """A rich console on the current stdout (or stderr). Off a terminal it is wide and plain,
    so tables are not squeezed into 80 columns in logs and pipes."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    plain = Console(file=stream, highlight=False)
    if plain.is_terminal:
        return plain
    return Console(file=stream, highlight=False, width=160, color_system=None)


def table(*columns: str, title: str | None = None, right: tuple[str, ...] = ()) -> Table:
    """A rich table with the house look; columns named in ``right`` are right-aligned."""
    from rich import box
    from rich.table import Table

    result = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", title_style="bold")
    for name in columns:
        result.add_column(name, justify="right" if name in right else "left")
    return result


def set_aside_table(entries: Iterable[SetAside], title: str) -> Table:
    """Records that were set aside, a row each: the file, the record, and what is wrong with
    it (the field, the message and the hint: the file and record have their columns)."""
    from claimsengine.errors import with_hint

    rows = table("file", "record", "error", title=title)
    for entry in entries:
        error = entry.error
        field = getattr(error, "field", None)
        problem = with_hint(f"{field}: {error.message}" if field else error.message, error.hint)
        rows.add_row(entry.file, entry.record_id or "-", problem)
    return rows


def key_value_table(rows: list[tuple[str, str]], title: str | None = None) -> Table:
    """A two-column table of labels and values."""
    from rich import box
    from rich.table import Table

    result = Table(title=title, box=box.SIMPLE, show_header=False, title_justify="left")
    result.add_column(style="bold")
    result.add_column()
    for label, value in rows:
        result.add_row(label, value)
    return result


_LINE_COLUMNS = (
    "code",
    "units",
    "billed",
    "allowed",
    "deductible",
    "copay",
    "coinsurance",
    "benefit limit",
    "plan paid",
    "patient",
    "reasons",
)


def claim_table(result: ClaimResult) -> Table:
    """One claim's lines, with a totals row, for people."""
    from claimsengine.money import format_cents

    record = result.record_id or "record id unknown here"
    provider = f" ({result.provider_id})" if result.provider_id else ""
    title = (
        f"Claim {result.claim_id} · {result.plan_id} · {record}{provider} · "
        f"{result.service_date.isoformat()} · {result.status}"
    )
    lines = table(*_LINE_COLUMNS, title=title, right=_LINE_COLUMNS[1:-1])
    for line in result.lines:
        reasons = " ".join(line.reasons) + (" (denied)" if line.denied else "")
        lines.add_row(
            line.code,
            str(line.units),
            format_cents(line.billed),
            format_cents(line.allowed),
            format_cents(line.deductible),
            format_cents(line.copay),
            format_cents(line.coinsurance),
            format_cents(line.benefit_limit),
            format_cents(line.plan_paid),
            format_cents(line.patient_responsibility),
            reasons,
        )
    totals = result.totals
    lines.add_section()
    lines.add_row(
        "total",
        "",
        format_cents(totals.billed),
        format_cents(totals.allowed),
        "",
        "",
        "",
        "",
        format_cents(totals.plan_paid),
        format_cents(totals.patient_responsibility),
        "",
        style="bold",
    )
    return lines


def pool_json(plan_id: str, pool: PoolState) -> dict[str, Any]:
    """A plan's pool as JSON: amounts as 2-decimal strings, queued as a count of claims."""
    from claimsengine.money import format_cents

    return {
        "plan_id": plan_id,
        "balance": format_cents(pool.balance),
        "reserved": format_cents(pool.reserved),
        "free": format_cents(pool.free),
        "shortfall": format_cents(pool.shortfall),
        "queued": pool.queued,
    }


def pool_rows(pool: PoolState) -> list[tuple[str, str]]:
    from claimsengine.money import format_cents

    return [
        ("balance", format_cents(pool.balance)),
        ("owed to queued claims", format_cents(pool.reserved)),
        ("free", format_cents(pool.free)),
        ("short of queued claims", format_cents(pool.shortfall)),
        ("queued claims", str(pool.queued)),
    ]


@contextmanager
def progress(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr while a long step runs; ``advance(n)`` moves it.

    Drawn only on a terminal, so logs, pipes and ``--json`` consumers get no noise."""
    err = console(stderr=True)
    if not err.is_terminal:
        yield lambda _n: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)
