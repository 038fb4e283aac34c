"""`claims fund`, `claims withdraw` and `claims pool`: a plan's pool of settlement tokens."""

from __future__ import annotations

from typing import Any

import click

from claimsengine.cli.options import AMOUNT, PLAN_ID, App, json_option, pass_app
from claimsengine.cli.render import key_value_table, pool_json, pool_rows


# ignore_unknown_options: "-5" is a (negative, refused) amount, not an unknown option.
@click.command(
    short_help="Move tokens into a plan's pool.",
    context_settings={"ignore_unknown_options": True},
)
@click.argument("plan_id", type=PLAN_ID)
@click.argument("amount", type=AMOUNT)
@json_option
@pass_app
def fund(app: App, plan_id: str, amount: int) -> None:
    """Move AMOUNT (a decimal such as 50000.00) of the plan's token from the insurer into
    PLAN_ID's pool. Queued claims the pool now covers are paid at once, first in first out.

    \b
    Example:
      claims fund SILVER-2027 50000.00
    """
    from claimsengine.money import format_cents
    from claimsengine.sdk import InsurerClient

    workspace = app.workspace()
    account = app.account("insurer")
    insurer = InsurerClient(workspace, account)
    with workspace.command():
        insurer.require(plan_id, "admin", "fund the pool")
        before = workspace.engine.pool_state(plan_id)
        pool = insurer.fund(plan_id, amount)
    settled = pool.head - before.head
    data: dict[str, Any] = {"plan_id": plan_id, "funded": format_cents(amount)}
    data.update(settled=settled, pool=pool_json(plan_id, pool))

    def render(console: Any) -> None:
        paid = f"; paid {settled} queued claim{'s' if settled != 1 else ''}" if settled else ""
        console.print(f"Funded {plan_id} with {format_cents(amount)}{paid}.")
        console.print(key_value_table(pool_rows(pool), title="Pool"))

    app.emit(data, render)


@click.command(
    short_help="Take money no queued claim needs out of the pool.",
    context_settings={"ignore_unknown_options": True},
)
@click.argument("plan_id", type=PLAN_ID)
@click.argument("amount", type=AMOUNT)
@click.option("--to", "recipient", metavar="ALIAS", help="Send it here (default: the insurer).")
@json_option
@pass_app
def withdraw(app: App, plan_id: str, amount: int, recipient: str | None) -> None:
    """Send AMOUNT from PLAN_ID's pool to the insurer (or --to). Only money that no queued
    claim is owed can leave the pool.

    \b
    Example:
      claims withdraw SILVER-2027 1000.00 --to insurer
    """
    from claimsengine.money import format_cents
    from claimsengine.sdk import InsurerClient

    workspace = app.workspace()
    account = app.account("insurer")
    insurer = InsurerClient(workspace, account)
    to = workspace.chain.address_of(recipient or account)
    with workspace.command():
        insurer.require(plan_id, "admin", "withdraw from the pool")
        pool = insurer.withdraw(plan_id, amount, to)
    data: dict[str, Any] = {"plan_id": plan_id, "withdrawn": format_cents(amount), "to": to}
    data["pool"] = pool_json(plan_id, pool)

    def render(console: Any) -> None:
        console.print(f"Withdrew {format_cents(amount)} from {plan_id} to {to}.")
        console.print(key_value_table(pool_rows(pool), title="Pool"))

    app.emit(data, render)


@click.command(short_help="A plan's pool: balance, owed, queued.")
@click.argument("plan_id", type=PLAN_ID)
@json_option
@pass_app
def pool(app: App, plan_id: str) -> None:
    """Show PLAN_ID's pool: its balance, what queued claims are owed, what is free, and how
    many claims wait in the queue.

    \b
    Example:
      claims --json pool SILVER-2027
    """
    workspace = app.workspace()
    with workspace.command():
        workspace.plan(plan_id)  # names a missing plan
        state = workspace.engine.pool_state(plan_id)

    def render(console: Any) -> None:
        console.print(key_value_table(pool_rows(state), title=f"Pool of {plan_id}"))

    app.emit(pool_json(plan_id, state), render)
