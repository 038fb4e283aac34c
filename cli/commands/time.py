"""`claims time show|set|advance`: the clock of the embedded chain or a dev node."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import click

from claimsengine.cli.options import DATE, App, json_option, pass_app
from claimsengine.errors import ClaimsError

if TYPE_CHECKING:
    from claimsengine.workspace import Workspace


@click.group(short_help="Show or move the dev chain's clock.")
def time() -> None:
    """Show or move the clock of the embedded chain, or of a dev node (anvil) with --rpc.
    The clock only moves forward. The engine's "today" (waiting periods, coverage, timely
    filing, benefit periods) is the date of the next block, in UTC.

    \b
    Example:
      claims time set 2027-07-01
      claims time advance 30
      claims time show
    """


def _show(app: App, workspace: Workspace, verb: str) -> None:
    from claimsengine.days import SECONDS_PER_DAY, day_of_timestamp, from_day

    timestamp = workspace.chain.now()
    day = day_of_timestamp(timestamp)
    today = from_day(day).isoformat()
    data = {"date": today, "day": day, "timestamp": timestamp}

    def render(console: Any) -> None:
        clock = f"{(timestamp % SECONDS_PER_DAY) // 3600:02d}:{timestamp % 3600 // 60:02d} UTC"
        console.print(f"{verb} {today} ({clock}, day {day}).")

    app.emit(data, render)


def _move_to(workspace: Workspace, timestamp: int) -> None:
    with workspace.command():
        workspace.chain.set_time(timestamp)


@time.command(short_help="Show the chain's date.")
@json_option
@pass_app
def show(app: App) -> None:
    """Show the chain's date (the date the next block will carry).

    \b
    Example:
      claims --json time show
    """
    workspace = app.workspace()
    with workspace.command():
        _show(app, workspace, "The chain's date is")


@time.command("set", short_help="Move the clock forward to a date.")
@click.argument("target", metavar="DATE", type=DATE)
@json_option
@pass_app
def set_date(app: App, target: date) -> None:
    """Move the clock forward to the start of DATE (00:00 UTC). Setting today's date again
    does nothing; an earlier date is an error.

    \b
    Example:
      claims time set 2027-07-01
    """
    from claimsengine.days import SECONDS_PER_DAY, day_of_timestamp, from_day, to_day

    workspace = app.workspace()
    now = workspace.chain.now()
    today = day_of_timestamp(now)
    wanted = to_day(target)
    if wanted < today:
        raise ClaimsError(
            f"cannot move the clock back to {target}: the chain's date is {from_day(today)}",
            hint="time only moves forward; a fresh chain (`claims --state NEW_DIR init`) "
            "starts from today",
        )
    if wanted > today:
        _move_to(workspace, wanted * SECONDS_PER_DAY)
    _show(app, workspace, "The chain's date is now")


@time.command(short_help="Move the clock forward by whole days.")
@click.argument("days", type=click.IntRange(min=1))
@json_option
@pass_app
def advance(app: App, days: int) -> None:
    """Move the clock forward by DAYS whole days (at least 1).

    \b
    Example:
      claims time advance 30
    """
    from claimsengine.days import SECONDS_PER_DAY

    workspace = app.workspace()
    _move_to(workspace, workspace.chain.now() + days * SECONDS_PER_DAY)
    _show(app, workspace, "The chain's date is now")
