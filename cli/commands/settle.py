"""`claims settle PLAN_ID`: pay queued claims while the pool lasts."""

from __future__ import annotations

from typing import Any

import click

from claimsengine.cli.options import PLAN_ID, App, json_option, pass_app
from claimsengine.cli.render import key_value_table, pool_json, pool_rows


@click.command(short_help="Pay queued claims, first in first out.")
@click.argument("plan_id", type=PLAN_ID)
@json_option
@pass_app
def settle(app: App, plan_id: str) -> None:
    """Pay PLAN_ID's queued claims, first in first out, while the pool's free money lasts.
    Anyone may run it (it sends as the insurer unless --as says otherwise).

    \b
    Example:
      claims settle SILVER-2027
    """
    from claimsengine.sdk import settle as settle_queue

    workspace = app.workspace()
    with workspace.command():
        paid, pool = settle_queue(workspace, plan_id, app.account("insurer"))
    data = {"plan_id": plan_id, "settled": paid, "pool": pool_json(plan_id, pool)}

    def render(console: Any) -> None:
        left = f"; {pool.queued} still queued" if pool.queued else ""
        console.print(f"Paid {paid} queued claim{'s' if paid != 1 else ''} of {plan_id}{left}.")
        console.print(key_value_table(pool_rows(pool), title="Pool"))

    app.emit(data, render)
