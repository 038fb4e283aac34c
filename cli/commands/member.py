"""`claims member PLAN_ID MEMBER_ID [--date D]`: a member's accumulators."""

from __future__ import annotations

from datetime import date
from typing import Any

import click

from claimsengine.cli.options import DATE, App, json_option, pass_app
from claimsengine.cli.render import key_value_table


@click.command(short_help="A member's accumulators.")
@click.argument("plan_id")
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
    from claimsengine.days import from_day
    from claimsengine.money import format_cents
    from claimsengine.sdk import member_accumulators

    workspace = app.workspace()
    with workspace.command():
        report = member_accumulators(workspace, plan_id, member_id, on)
        info = workspace.plan(plan_id)

    def render(console: Any) -> None:
        first = info.effective_day + report.period * info.benefit_period_days
        last = first + info.benefit_period_days - 1
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
