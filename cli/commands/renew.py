"""`claims renew PLAN_ID`: enrol every member still covered in the next benefit period."""

from __future__ import annotations

from typing import Any

import click

from claimsengine.cli.context import App, json_option, pass_app, require_role
from claimsengine.cli.options import PLAN_ID


@click.command(short_help="Enrol still-covered members in the next period.")
@click.argument("plan_id", type=PLAN_ID)
@json_option
@pass_app
def renew(app: App, plan_id: str) -> None:
    """Enrol every member of PLAN_ID who is still covered in the next benefit period (the
    one after the period that holds today), as the insurer. A member has a new pseudonym
    in each benefit period, so a claim in a period the member is not enrolled in is denied
    31: run this before each period starts. The members come from this state folder's
    roster, which `claims enroll` keeps; a member whose coverage ended is not renewed.
    Running it again sends nothing new.

    \b
    Example:
      claims renew SILVER-2027
    """
    from claimsengine.sdk import InsurerClient

    workspace = app.workspace()
    account = app.account("insurer")
    insurer = InsurerClient(workspace, account)
    with workspace.command():
        require_role(workspace, plan_id, account, "admin", "renew its members")
        report = insurer.renew(plan_id)

    def render(console: Any) -> None:
        console.print(report.sentence())

    app.emit(report.to_json(), render)
