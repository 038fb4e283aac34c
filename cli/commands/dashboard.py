"""`claims dashboard`: serve a read-only web dashboard of the chain."""

from __future__ import annotations

import json
import sys

import click

from claimsengine.cli.context import App, json_option, pass_app


@click.command(short_help="Serve a read-only web dashboard of the chain.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8050,
    show_default=True,
    help="Port to listen on (0: any free port).",
)
@json_option
@pass_app
def dashboard(app: App, host: str, port: int) -> None:
    """Serve a read-only dashboard of the chain that --state (or --rpc) names, until stopped
    (Ctrl-C or SIGTERM): plans and their pools, claims with filters, each claim's lines and
    history, the review queue and denial reasons, reconciliation of a ledger (with the 835,
    FHIR and CSV downloads), and, for the insurer, a member's accumulators.

    It only reads: pages are GETs, and an uploaded ledger is parsed in memory, never sent
    to the chain. It listens on 127.0.0.1 unless --host says otherwise; it has no
    authentication, so expose it only on a network you trust. The embedded chain is opened
    only while a page is read, so other `claims` commands keep working on the same folder.
    With --json it prints one line, {"url", "state", "rpc"}, once it listens.

    \b
    Example:
      claims dashboard
      claims --state insurer-chain dashboard --port 8080
      claims --rpc http://127.0.0.1:8545 --state hospital dashboard
    """
    from claimsengine.dashboard import serve

    def ready(url: str) -> None:
        if app.json_output:
            line = json.dumps({"url": url, "state": str(app.state), "rpc": app.rpc})
        else:
            line = f"Dashboard of {app.rpc or app.state} at {url} (read-only; Ctrl-C stops it)"
        click.echo(line)
        sys.stdout.flush()  # scripts wait for this line to know the dashboard is up

    serve(app.state, rpc=app.rpc, host=host, port=port, on_ready=ready)
