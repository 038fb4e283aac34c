"""`claims schedule update PLAN.yaml --effective DATE`: a new fee schedule from a future day."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import click

from claimsengine.cli.options import DATE, App, json_option, pass_app
from claimsengine.cli.render import table


@click.group(short_help="Change a plan's service schedule from a future day.")
def schedule() -> None:
    """Change a plan's service schedule (fees, copays, limits), as its insurer. A change
    applies to services on or after its effective date, which must be after the chain's
    today: no claim already made or in flight is repriced.

    \b
    Example:
      claims schedule update silver-fees-2027-09.yaml --effective 2027-09-01
    """


@schedule.command(short_help="Replace the schedule for services from a date on.")
@click.argument("plan_file", metavar="PLAN.yaml", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--effective",
    "effective",
    type=DATE,
    required=True,
    metavar="YYYY-MM-DD",
    help="The first service date the new schedule prices (after the chain's today).",
)
@json_option
@pass_app
def update(app: App, plan_file: Path, effective: date) -> None:
    """Replace the service schedule of the plan in PLAN.yaml (its `id`) with the file's
    `services`, for services on or after --effective. The plan's other terms are fixed at
    deploy and are not read. A code whose max_units_per_period changes may only change on
    the first day of a benefit period.

    \b
    Example:
      claims schedule update silver-fees-2027-09.yaml --effective 2027-09-01
    """
    from claimsengine.money import format_cents
    from claimsengine.plan import load_plan
    from claimsengine.sdk import InsurerClient

    plan = load_plan(plan_file)  # a bad file fails before the chain is opened
    workspace = app.workspace()
    account = app.account("insurer")
    insurer = InsurerClient(workspace, account)
    with workspace.command():
        insurer.require(plan.id, "admin", "change its schedule")
        version = insurer.update_schedule(plan, effective)
    data: dict[str, Any] = {
        "plan_id": plan.id,
        "version": version,
        "effective_date": effective.isoformat(),
        "services": len(plan.services),
    }

    def render(console: Any) -> None:
        console.print(
            f"Schedule version {version} of {plan.id}: {len(plan.services)} services, for "
            f"services on or after {effective.isoformat()}."
        )
        rows = table("code", "allowed", "copay", title=None, right=("allowed", "copay"))
        for service in plan.services:
            copay = format_cents(service.copay) if service.copay is not None else ""
            rows.add_row(service.code, format_cents(service.fee), copay)
        console.print(rows)

    app.emit(data, render)
