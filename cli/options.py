"""The options of `claims`: the global ones, and those commands share.

- ``App`` holds the global options (``--state``, ``--rpc``, ``--as``, ``--json``) and opens
  the workspace lazily, on first use, so that ``--help`` and commands that fail on their
  arguments never import the chain. ``App.emit`` prints JSON with ``--json``, else calls a
  renderer (render.py) that draws tables for people.
- ``json_option`` and ``record_path_options``: options several commands declare alike.
- ``AMOUNT`` and ``DATE``: parameter types for money ("50000.00" -> int cents) and days.
- ``PLAN_ID`` and ``PROVIDER_ID``: parameter types that hold an id to its rule (ids.py), so
  that an id no chain can hold is a usage error before anything is read or sent.

Heavy modules (web3, py-evm, vyper) are imported inside functions only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from claimsengine.cli.render import console
from claimsengine.errors import InputError
from claimsengine.ids import plan_id_problem, provider_id_problem

if TYPE_CHECKING:
    from rich.console import Console

    from claimsengine.workspace import Workspace

__all__ = [
    "AMOUNT",
    "DATE",
    "PLAN_ID",
    "PROVIDER_ID",
    "App",
    "check_claim_reference",
    "claim_reference_options",
    "json_option",
    "pass_app",
    "record_path_options",
]

F = TypeVar("F", bound=Callable[..., Any])

#: Shown in the "waiting" line when another command holds the embedded chain.
WAIT_MESSAGE = "waiting for another claims command to finish (the state in {state} is in use)..."


# -- the global options -----------------------------------------------------------------------


@dataclass
class App:
    """The global options of one `claims` run, and the workspace it opens (once)."""

    state: Path = Path(".claims")
    rpc: str | None = None
    as_account: str | None = None
    json_output: bool = False
    _workspace: Workspace | None = field(default=None, repr=False)

    def workspace(self, *, create: bool = False, read_only: bool = False) -> Workspace:
        """The workspace: the embedded chain in ``--state``, or the node at ``--rpc``.

        If another command holds the embedded chain, say so on stderr and wait for it.
        ``read_only``: the command only reads (``Workspace.open``)."""
        if self._workspace is None:
            from claimsengine.workspace import Workspace

            self._workspace = Workspace.open(
                self.state,
                rpc=self.rpc,
                create=create,
                on_wait=self._waiting,
                read_only=read_only,
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


# -- options commands share ------------------------------------------------------------------


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(App).json_output = True


def record_path_options(command: F) -> F:
    """PATH... of treatment records, with ``--plan`` and ``--provider`` for records that name
    none: the input of every command that reads records as ``submit`` does."""
    command = click.option(
        "--provider",
        "provider_id",
        type=PROVIDER_ID,
        metavar="PROVIDER_ID",
        help="Provider of records that name none (such as Synthea's FHIR bundles).",
    )(command)
    command = click.option(
        "--plan",
        "plan_id",
        type=PLAN_ID,
        metavar="PLAN_ID",
        help="Plan of records that name none.",
    )(command)
    return click.argument(
        "paths",
        metavar="PATH...",
        nargs=-1,
        required=True,
        type=click.Path(exists=True, path_type=Path),
    )(command)


def claim_reference_options(command: F) -> F:
    """``CLAIM_ID`` or ``--record RECORD_ID [--provider PROVIDER_ID]``: how the commands
    about one claim name it (check the choice with ``check_claim_reference``)."""
    command = click.option(
        "--provider",
        "provider_id",
        type=PROVIDER_ID,
        metavar="PROVIDER_ID",
        help="With --record: whose record.",
    )(command)
    command = click.option(
        "--record", "record_id", metavar="RECORD_ID", help="Name the claim by its record id."
    )(command)
    return click.argument("claim_id", type=click.IntRange(min=1), required=False)(command)


def check_claim_reference(
    claim_id: int | None, record_id: str | None, provider_id: str | None
) -> None:
    """Usage errors for a claim named both ways or neither, or a stray --provider."""
    ctx = click.get_current_context()
    if (claim_id is None) == (record_id is None):
        raise click.UsageError("give either CLAIM_ID or --record RECORD_ID", ctx)
    if provider_id and record_id is None:
        raise click.UsageError("--provider goes with --record", ctx)


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
    """A money amount as a decimal string ("50000.00"), converted to int cents; more than
    0.00 (a command moves money: nothing to move is a usage error, exit 2)."""

    name = "amount"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        from claimsengine.money import parse_amount

        label = (param.human_readable_name if param else None) or "amount"
        try:
            cents = parse_amount(str(value), field=label)
        except InputError as error:
            self.fail(f"{error.message}; write it like 50000.00 (at most 2 decimals)", param, ctx)
        if cents == 0:
            self.fail("the amount must be more than 0.00", param, ctx)
        return cents


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


class IdType(click.ParamType):
    """An id that goes on-chain (a plan's, a provider's), held to its rule in ids.py."""

    def __init__(self, name: str, problem: Callable[[object], str | None]) -> None:
        self.name = name
        self._problem = problem

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        problem = self._problem(value)
        if problem is not None:
            self.fail(problem, param, ctx)
        return str(value)


AMOUNT = AmountType()
DATE = DateType()
PLAN_ID = IdType("plan_id", plan_id_problem)
PROVIDER_ID = IdType("provider_id", provider_id_problem)
