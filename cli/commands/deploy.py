"""`claims deploy PLAN.yaml`: put a plan on the chain."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from claimsengine.cli.options import App, json_option, pass_app
from claimsengine.cli.render import key_value_table


@click.command(short_help="Put a plan (YAML) on the chain.")
@click.argument("plan_file", metavar="PLAN.yaml", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@pass_app
def deploy(app: App, plan_file: Path) -> None:
    """Put the plan in PLAN.yaml on the chain, as the insurer (or --as), who becomes its
    admin. Prints the plan id and the contract addresses. With --rpc, the engine itself
    is deployed first if the node does not have it yet.

    \b
    Example:
      claims deploy fixtures/plans/silver.yaml
    """
    from claimsengine.days import from_day
    from claimsengine.plan import load_plan
    from claimsengine.sdk import InsurerClient

    plan = load_plan(plan_file)  # a bad file fails before the chain is opened
    workspace = app.workspace()
    insurer = InsurerClient(workspace, app.account("insurer"))
    with workspace.command():
        info = insurer.deploy(plan)
    data: dict[str, Any] = {
        "plan_id": info.plan_id,
        "name": plan.name,
        "admin": info.admin,
        "engine": workspace.engine.address,
        "token": info.token,
        "effective_date": from_day(info.effective_day).isoformat(),
        "benefit_period_days": info.benefit_period_days,
        "services": len(plan.services),
        "block": info.block_number,
    }

    def render(console: Any) -> None:
        console.print(f"Deployed plan {info.plan_id} ({plan.name}).")
        rows = [(key.replace("_", " "), str(value)) for key, value in data.items()]
        console.print(key_value_table(rows))

    app.emit(data, render)
