"""`claims node`: serve the embedded chain in --state over Ethereum JSON-RPC."""

from __future__ import annotations

import json
import sys

import click

from claimsengine.cli.options import App, json_option, pass_app


@click.command(short_help="Serve the embedded chain over JSON-RPC.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8545,
    show_default=True,
    help="Port to listen on (0: any free port).",
)
@json_option
@pass_app
def node(app: App, host: str, port: int) -> None:
    """Serve the embedded chain in --state over Ethereum JSON-RPC until stopped (Ctrl-C or
    SIGTERM), so other processes and machines use it with `claims --rpc URL`. The chain is
    created when --state has none. While the node runs it holds --state: local commands on
    the same folder refuse and point to --rpc.

    Standard clients (web3.py, ethers, foundry's cast) work against it. It listens on
    127.0.0.1 unless --host says otherwise; it has no authentication, so expose it only on
    a network you trust. With --json it prints one line, {"url", "chain_id", "state"}, once
    it listens.

    \b
    Example:
      claims --state insurer-chain node --port 8545
      claims --state hospital --rpc http://127.0.0.1:8545 status 1
    """
    if app.rpc:
        raise click.UsageError("`claims node` serves the embedded chain in --state; drop --rpc")
    from claimsengine.chain.embedded import CHAIN_ID
    from claimsengine.chain.node import serve
    from claimsengine.workspace import check_state_version, mark_state_version

    check_state_version(app.state)  # an older folder's chain holds old pseudonyms
    mark_state_version(app.state)

    def ready(url: str) -> None:
        if app.json_output:
            line = json.dumps({"url": url, "chain_id": CHAIN_ID, "state": str(app.state)})
        else:
            line = f"Serving the chain in {app.state} (chain id {CHAIN_ID}). Listening on {url}"
        click.echo(line)
        # Flushed at once: scripts wait for this line to know the node is up.
        sys.stdout.flush()

    serve(app.state, host=host, port=port, on_ready=ready)
