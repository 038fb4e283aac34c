"""`claims keys export` / `claims keys import`: hand a plan's key to a hospital, sealed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from claimsengine.cli.options import PLAN_ID, App, json_option, pass_app
from claimsengine.cli.render import key_value_table


@click.group(short_help="Hand a plan's key to a hospital, sealed to its account.")
def keys() -> None:
    """Hand a hospital what it needs to work with a plan from its own machine: a key
    bundle (the chain, the engine, the plan, and the plan's pseudonym key encrypted to the
    hospital account's public key). Nothing in a bundle is readable without that account's
    private key, and nothing secret is ever written outside a state folder.

    \b
    Example:
      claims keys export SILVER-2027 --to hospital-1 --out silver-hosp-a.bundle.json
      claims --state hosp --rpc URL --as hospital-1 keys import silver-hosp-a.bundle.json
    """


@keys.command("export", short_help="Seal a plan's key to an account, into a bundle file.")
@click.argument("plan_id", type=PLAN_ID)
@click.option(
    "--to",
    "recipient",
    required=True,
    metavar="ALIAS|ADDRESS|PUBKEY",
    help="The hospital account: an alias, an address (a dev account, or one that has "
    "signed a transaction on the chain), or its public key (0x04 + 128 hex digits).",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="The bundle file to write.",
)
@json_option
@pass_app
def export(app: App, plan_id: str, recipient: str, out: Path) -> None:
    """Write a key bundle of PLAN_ID for one account (the insurer runs this, from the state
    folder that deployed the plan)."""
    from claimsengine.handover import export_bundle, public_key_for

    workspace = app.workspace()
    bundle = export_bundle(workspace, plan_id, public_key_for(workspace.chain, recipient))
    bundle.write(out)
    data = {**bundle.to_json(), "file": str(out)}
    del data["ciphertext"]

    def render(console: Any) -> None:
        console.print(f"Wrote the key bundle of {plan_id} for {bundle.recipient} to {out}.")
        console.print("Only that account's private key opens it; send it any way you like.")

    app.emit(data, render)


@keys.command("import", short_help="Set this state folder up from a key bundle.")
@click.argument("bundle_file", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--keystore",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The account's encrypted keystore file, when it is not a dev account "
    "(password in $CLAIMS_KEYSTORE_PASSWORD).",
)
@json_option
@pass_app
def import_(app: App, bundle_file: Path, keystore: Path | None) -> None:
    """Open a key bundle as its account (--as; default: the account it was made for) and
    set --state up for the plan: the engine's address and the plan's key. After this,
    `claims --rpc URL --as ACCOUNT submit ...` works from this state folder."""
    from claimsengine.handover import import_bundle, private_key_for
    from claimsengine.keybundle import KeyBundle

    bundle = KeyBundle.read(bundle_file)
    workspace = app.workspace()
    who = app.account(bundle.recipient)
    private_key = private_key_for(workspace.chain, who, keystore)
    done = import_bundle(workspace, bundle, private_key, source=bundle_file)
    data = {
        "plan_id": done.plan_id,
        "engine": done.engine,
        "chain_id": done.chain_id,
        "account": done.recipient,
        "state": str(app.state),
        "new_key": done.new_key,
    }

    def render(console: Any) -> None:
        said = "Imported" if done.new_key else "Already had"
        console.print(f"{said} the key of plan {done.plan_id} into {app.state}.")
        rows = [(k.replace("_", " "), str(v)) for k, v in data.items() if k != "new_key"]
        console.print(key_value_table(rows))

    app.emit(data, render)
