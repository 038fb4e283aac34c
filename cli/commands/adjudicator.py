"""`claims adjudicator add|remove PLAN_ID --account ALIAS`: who may review claims."""

from __future__ import annotations

from typing import Any

import click

from claimsengine.cli.options import PLAN_ID, App, json_option, pass_app


@click.group(short_help="Grant or revoke the adjudicator role.")
def adjudicator() -> None:
    """Grant or revoke a plan's adjudicator role, as the insurer. Adjudicators decide the
    claims whose plan_paid is above the plan's auto-approve limit (`claims review`).

    \b
    Example:
      claims adjudicator add SILVER-2027 --account adjudicator
    """


def _set_role(app: App, plan_id: str, account: str, enabled: bool) -> None:
    from claimsengine.sdk import InsurerClient, Role

    workspace = app.workspace()
    acting = app.account("insurer")
    insurer = InsurerClient(workspace, acting)
    address = workspace.chain.address_of(account)
    action = "grant roles" if enabled else "revoke roles"
    with workspace.command():
        insurer.require(plan_id, "admin", action)
        insurer.set_adjudicator(plan_id, address, enabled)
        roles = workspace.engine.roles(plan_id, address)
    is_adjudicator = Role.ADJUDICATOR in roles
    data = {"plan_id": plan_id, "account": address, "adjudicator": is_adjudicator}

    def render(console: Any) -> None:
        state = "is now" if is_adjudicator else "is no longer"
        console.print(f"{account} ({address}) {state} an adjudicator of {plan_id}.")

    app.emit(data, render)


@adjudicator.command(short_help="Make an account an adjudicator of a plan.")
@click.argument("plan_id", type=PLAN_ID)
@click.option("--account", required=True, metavar="ALIAS", help="The adjudicator's account.")
@json_option
@pass_app
def add(app: App, plan_id: str, account: str) -> None:
    """Give --account the adjudicator role in PLAN_ID.

    \b
    Example:
      claims adjudicator add SILVER-2027 --account adjudicator
    """
    _set_role(app, plan_id, account, True)


@adjudicator.command(short_help="Take the adjudicator role away.")
@click.argument("plan_id", type=PLAN_ID)
@click.option("--account", required=True, metavar="ALIAS", help="The adjudicator's account.")
@json_option
@pass_app
def remove(app: App, plan_id: str, account: str) -> None:
    """Take the adjudicator role in PLAN_ID away from --account.

    \b
    Example:
      claims adjudicator remove SILVER-2027 --account adjudicator
    """
    _set_role(app, plan_id, account, False)
