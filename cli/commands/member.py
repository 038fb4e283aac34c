"""`claims member PLAN_ID MEMBER_ID [--date D]`: a member's accumulators."""

from __future__ import annotations

from datetime import date
from typing import Any

import click

from claimsengine.cli.options import DATE, PLAN_ID, App, json_option, pass_app
from claimsengine.cli.render import key_value_table


@click.command(short_help="A member's accumulators.")
@click.argument("plan_id", type=PLAN_ID)
@click.argument("member_id")
@click.option(
    "--date",
    "on",
    type=DATE,
    metavar="YYYY-MM-DD",
    help="A day in the benefit period to show (default: the chain's today).",
)
@json_option
@pass_app
def member(app: App, plan_id: str, member_id: str, on: date | None) -> None:
    """Show MEMBER_ID's accumulators in PLAN_ID for the benefit period that holds --date:
    deductible met, out-of-pocket met, benefit used, and units used per code.

    \b
    Example:
      claims member SILVER-2027 M-0002
      claims --json member SILVER-2027 M-0002 --date 2027-03-01
    """
    from claimsengine.claim_reads import member_accumulators, reading
    from claimsengine.days import from_day
    from claimsengine.money import format_cents

    # Read-only: on the embedded chain, read from its file without the EVM (claim_reads.py).
    workspace = app.workspace(read_only=True)
    with reading(workspace):
        report = member_accumulators(workspace, plan_id, member_id, on)
        periods = workspace.periods(plan_id)

    def render(console: Any) -> None:
        first, last = periods.first_day(report.period), periods.last_day(report.period)
        rows = [
            ("period", f"{report.period} ({from_day(first)} to {from_day(last)})"),
            ("deductible met", format_cents(report.deductible_met)),
            ("out-of-pocket met", format_cents(report.oop_met)),
            ("benefit used", format_cents(report.benefit_used)),
        ]
        units = ", ".join(f"{code} × {n}" for code, n in sorted(report.units_used.items()))
        rows.append(("units used", units or "none"))
        console.print(key_value_table(rows, title=f"Member {member_id} in {plan_id}"))

    app.emit(report.to_json(), render)
