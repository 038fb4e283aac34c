"""`claims insurer add|remove ACCOUNT`: who may create plans (the engine's owner decides)."""

from __future__ import annotations

from typing import Any

import click

from claimsengine.cli.options import App, json_option, pass_app


@click.group(short_help="Grant or revoke the right to create plans (owner).")
def insurer() -> None:
    """Grant or revoke the insurer role, as the engine's owner: only an insurer creates
    plans. On the embedded chain `claims init` makes `insurer` the owner and an insurer; on a
    node, the account that deployed the engine is.

    \b
    Example:
      claims insurer add hospital-3
      claims insurer remove hospital-3
    """


def _set_insurer(app: App, account: str, allowed: bool) -> None:
    from claimsengine.sdk import InsurerClient, describe_account

    workspace = app.workspace()
    owner = InsurerClient(workspace, app.account("insurer"))
    address = workspace.chain.address_of(account)  # an unknown alias fails before sending
    with workspace.command():
        is_insurer = owner.set_insurer(address, allowed)
    who = describe_account(workspace, account)

    def render(console: Any) -> None:
        state = "is now" if is_insurer else "is no longer"
        console.print(
            f"{who} {state} an insurer: it {'may' if is_insurer else 'may not'} create plans."
        )

    app.emit({"account": address, "insurer": is_insurer}, render)


@insurer.command(short_help="Let an account create plans.")
@click.argument("account")
@json_option
@pass_app
def add(app: App, account: str) -> None:
    """Make ACCOUNT (an alias or a 0x address) an insurer: it may create plans, and becomes
    the admin of each plan it creates.

    \b
    Example:
      claims insurer add hospital-3
    """
    _set_insurer(app, account, True)


@insurer.command(short_help="Stop an account creating plans.")
@click.argument("account")
@json_option
@pass_app
def remove(app: App, account: str) -> None:
    """Take the insurer role from ACCOUNT: it creates no more plans. The plans it already
    created stay as they are, with it as their admin.

    \b
    Example:
      claims insurer remove hospital-3
    """
    _set_insurer(app, account, False)
