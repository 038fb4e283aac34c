"""What every `claims` command shares: the app context, option types, output, one way to abort.

- ``App`` holds the global options and opens the workspace lazily, on first use, so that
  ``--help`` and commands that fail on their arguments never import the chain.
- ``ClaimsAbort`` is the one way to abort: any ``ClaimsError`` becomes a single stderr line
  ``error: <message> (hint: <hint>)`` and exit status 1. Usage errors become the same one
  line with exit status 2 (``OneLineUsageError``).
- ``App.emit`` prints ``json.dumps`` of the data with ``--json``, else calls a renderer that
  draws rich tables for people.

Heavy modules (web3, py-evm, vyper) are imported inside functions only.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click

from claimsengine.errors import ClaimsError, InputError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from claimsengine.engine import PoolState
    from claimsengine.results import ClaimResult
    from claimsengine.workspace import Workspace

__all__ = [
    "AMOUNT",
    "DATE",
    "App",
    "ClaimsAbort",
    "OneLineUsageError",
    "claim_table",
    "console",
    "json_option",
    "pass_app",
    "pool_json",
    "progress",
    "require_role",
]

F = TypeVar("F", bound=Callable[..., Any])

#: Shown in the "waiting" line when another command holds the embedded chain.
WAIT_MESSAGE = "waiting for another claims command to finish (the state in {state} is in use)..."


# -- one way to abort -------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return " ".join(text.split())


def error_line(message: str, hint: str | None = None) -> str:
    """The single stderr line of a failure: ``error: <message> (hint: <hint>)``."""
    line = f"error: {_one_line(message)}"
    if hint:
        line += f" (hint: {_one_line(hint)})"
    return line


class ClaimsAbort(click.ClickException):
    """A ``ClaimsError`` on its way out: one ``error:`` line on stderr, exit status 1."""

    exit_code = 1

    def __init__(self, error: ClaimsError) -> None:
        super().__init__(str(error))
        self.error = error

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(error_line(str(self.error), self.error.hint), file=file, err=file is None)


class OneLineUsageError(click.UsageError):
    """A usage error (bad option, missing argument, bad value) as one ``error:`` line, exit 2."""

    def __init__(self, message: str, ctx: click.Context | None = None) -> None:
        super().__init__(message, ctx)

    def show(self, file: IO[Any] | None = None) -> None:
        ctx = self.ctx
        while ctx is not None and ctx.command.hidden and ctx.parent is not None:
            ctx = ctx.parent  # `claims review 4` runs a hidden subcommand: point at review
        path = ctx.command_path if ctx is not None else "claims"
        click.echo(
            error_line(self.format_message(), f"see `{path} --help`"),
            file=file,
            err=file is None,
        )


@contextmanager
def one_way_to_abort() -> Iterator[None]:
    """Turn ``ClaimsError`` and click's usage errors into their one-line forms."""
    try:
        yield
    except ClaimsError as error:
        raise ClaimsAbort(error) from error
    except (OneLineUsageError, click.exceptions.NoArgsIsHelpError):
        raise  # already one line; or a group called bare, which shows its help
    except click.UsageError as error:
        raise OneLineUsageError(error.format_message(), error.ctx) from error


# -- the app context --------------------------------------------------------------------------


@dataclass
class App:
    """The global options of one `claims` run, and the workspace it opens (once)."""

    state: Path = Path(".claims")
    rpc: str | None = None
    as_account: str | None = None
    json_output: bool = False
    _workspace: Workspace | None = field(default=None, repr=False)

    def workspace(self, *, create: bool = False) -> Workspace:
        """The workspace: the embedded chain in ``--state``, or the node at ``--rpc``.

        If another command holds the embedded chain, say so on stderr and wait for it."""
        if self._workspace is None:
            from claimsengine.workspace import Workspace

            self._workspace = Workspace.open(
                self.state, rpc=self.rpc, create=create, on_wait=self._waiting
            )
        return self._workspace

    def _waiting(self) -> None:
        click.echo(WAIT_MESSAGE.format(state=self.state), err=True)

    def account(self, default: str) -> str:
        """The account to act as: ``--as``, else the command's usual party."""
        return self.as_account or default

    def close(self) -> None:
        if self._workspace is not None:
            self._workspace.close()
            self._workspace = None

    def emit(self, data: Any, render: Callable[[Console], None]) -> None:
        """``--json``: the data as JSON on stdout. Otherwise: ``render`` draws it for people."""
        if self.json_output:
            click.echo(json.dumps(data, indent=2))
        else:
            render(console())


pass_app = click.make_pass_decorator(App)


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(App).json_output = True


def record_path_options(command: F) -> F:
    """PATH... of treatment records, with ``--plan`` and ``--provider`` for records that name
    none: the input of every command that reads records as ``submit`` does."""
    command = click.option(
        "--provider",
        "provider_id",
        metavar="PROVIDER_ID",
        help="Provider of records that name none (such as Synthea's FHIR bundles).",
    )(command)
    command = click.option(
        "--plan", "plan_id", metavar="PLAN_ID", help="Plan of records that name none."
    )(command)
    return click.argument(
        "paths",
        metavar="PATH...",
        nargs=-1,
        required=True,
        type=click.Path(exists=True, path_type=Path),
    )(command)


def json_option(command: F) -> F:
    """A hidden ``--json`` on the command itself, so ``claims status 4 --json`` works too."""
    return click.option(
        "--json",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        hidden=True,
        callback=_set_json,
    )(command)


# -- option types -----------------------------------------------------------------------------


class AmountType(click.ParamType):
    """A money amount as a decimal string ("50000.00"), converted to int cents."""

    name = "amount"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        from claimsengine.money import parse_amount

        label = (param.human_readable_name if param else None) or "amount"
        try:
            return parse_amount(str(value), field=label)
        except InputError as error:
            self.fail(f"{error.message}; write it like 50000.00 (at most 2 decimals)", param, ctx)


class DateType(click.ParamType):
    """A calendar date, YYYY-MM-DD."""

    name = "date"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        from claimsengine.days import parse_date

        label = (param.human_readable_name if param else None) or "date"
        try:
            return parse_date(str(value), field=label)
        except InputError as error:
            self.fail(error.message, param, ctx)


AMOUNT = AmountType()
DATE = DateType()


# -- roles ------------------------------------------------------------------------------------


def describe_account(workspace: Workspace, account: str) -> str:
    """``hospital-1 (0x7099…79C8)`` for an account with an alias, the address otherwise."""
    from claimsengine.sdk import describe_account as describe

    return describe(workspace, account)


def require_role(workspace: Workspace, plan_id: str, account: str, role: str, action: str) -> None:
    """Refuse, before sending anything, an account that lacks ``role`` ("admin" or
    "adjudicator") in the plan, with a message that names the role and the fix."""
    from claimsengine.sdk import Party

    Party(workspace, account).require(plan_id, role, action)


# -- output for people ------------------------------------------------------------------------


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
