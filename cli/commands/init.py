"""`claims init`: create the embedded chain (or set up a dev node) with the dev accounts."""

from __future__ import annotations

from typing import Any

import click

from claimsengine.cli.options import App, json_option, pass_app
from claimsengine.cli.render import table


@click.command(short_help="Create the embedded chain and dev accounts.")
@json_option
@pass_app
def init(app: App) -> None:
    """Create the embedded chain in --state, with funded dev accounts, the claims engine and
    a dev token (1,000,000,000.00 minted to `insurer`). Running it again is harmless.

    With --rpc, set up the engine and dev token on that dev node (anvil) if they are
    missing; the aliases then name the node's own unlocked accounts.

    \b
    Example:
      claims init
      claims --rpc http://127.0.0.1:8545 init
    """
    existed = False
    if not app.rpc:
        from claimsengine.chain.embedded import EmbeddedChain

        existed = EmbeddedChain.exists(app.state / "chain")
    workspace = app.workspace(create=True)
    had_engine = workspace.engine_deployed()
    with workspace.command():
        engine = workspace.setup()
    token = workspace.dev_token.address
    accounts = dict(workspace.chain.accounts)
    created = not had_engine
    where = app.rpc or str(app.state)
    data: dict[str, Any] = {
        "state": str(app.state),
        "chain": workspace.chain_key,
        "created": created,
        "engine": engine.address,
        "dev_token": token,
        "accounts": accounts,
    }

    def render(console: Any) -> None:
        if created:
            kind = "the node at" if app.rpc else "a new embedded chain in"
            console.print(f"Set up the claims engine on {kind} {where}.")
        elif existed or app.rpc:
            console.print(f"The claims engine already exists on {where}; nothing to do.")
        rows = table("alias", "address", title="Accounts")
        for alias, address in accounts.items():
            rows.add_row(alias, address)
        console.print(rows)
        console.print(f"engine     {engine.address}")
        console.print(f"dev token  {token}")

    app.emit(data, render)
