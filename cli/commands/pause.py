"""`claims pause PLAN_ID` and `claims resume PLAN_ID`: stop and restart a plan."""

from __future__ import annotations

from typing import Any

import click

from claimsengine.cli.options import PLAN_ID, App, json_option, pass_app


def _set_paused(app: App, plan_id: str, paused: bool) -> None:
    from claimsengine.sdk import InsurerClient

    workspace = app.workspace()
    account = app.account("insurer")
    insurer = InsurerClient(workspace, account)
    with workspace.command():
        insurer.require(plan_id, "admin", "pause" if paused else "resume")
        insurer.pause(plan_id, paused)
        now_paused = workspace.engine.paused(plan_id)

    def render(console: Any) -> None:
        if now_paused:
            console.print(
                f"Paused {plan_id}: no new claims, reviews, voids or withdrawals until "
                "`claims resume`; approved claims are still paid."
            )
        else:
            console.print(f"Resumed {plan_id}: it takes claims again.")

    app.emit({"plan_id": plan_id, "paused": now_paused}, render)


@click.command(short_help="Stop a plan taking claims.")
@click.argument("plan_id", type=PLAN_ID)
@json_option
@pass_app
def pause(app: App, plan_id: str) -> None:
    """Pause PLAN_ID, as its insurer: new claims, reviews, voids and withdrawals are
    refused until `claims resume`. Approved claims are still paid (funding and `claims
    settle` work), reading works, and the paused days do not count against the plan's
    filing window.

    \b
    Example:
      claims pause SILVER-2027
    """
    _set_paused(app, plan_id, True)


@click.command(short_help="Let a paused plan take claims again.")
@click.argument("plan_id", type=PLAN_ID)
@json_option
@pass_app
def resume(app: App, plan_id: str) -> None:
    """Resume a paused PLAN_ID, as its insurer.

    \b
    Example:
      claims resume SILVER-2027
    """
    _set_paused(app, plan_id, False)
