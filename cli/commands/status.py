"""`claims status CLAIM_ID` or `claims status --record RECORD_ID`: one claim's result."""

from __future__ import annotations

from typing import Any

import click

from claimsengine.cli.options import App, json_option, pass_app
from claimsengine.cli.render import claim_table


@click.command(short_help="One claim's result.")
@click.argument("claim_id", type=click.IntRange(min=1), required=False)
@click.option("--record", "record_id", metavar="RECORD_ID", help="Look the claim up by record id.")
@click.option(
    "--provider", "provider_id", metavar="PROVIDER_ID", help="With --record: whose record."
)
@json_option
@pass_app
def status(app: App, claim_id: int | None, record_id: str | None, provider_id: str | None) -> None:
    """Show one claim's result: its status (paid, queued, pending_review, denied) and each
    line's pricing with the reasons. Give the claim id, or --record with a record id this
    workspace submitted (and --provider when two hospitals used the same id).

    \b
    Example:
      claims status 1
      claims --json status --record HOSP-A-2027-000104
    """
    if (claim_id is None) == (record_id is None):
        raise click.UsageError(
            "give either CLAIM_ID or --record RECORD_ID", click.get_current_context()
        )
    if provider_id and record_id is None:
        raise click.UsageError("--provider goes with --record", click.get_current_context())
    from claimsengine.sdk import claim_result, record_result

    workspace = app.workspace()
    with workspace.command():
        if claim_id is not None:
            result = claim_result(workspace, claim_id)
        else:
            assert record_id is not None
            result = record_result(workspace, record_id, provider_id)

    def render(console: Any) -> None:
        console.print(claim_table(result))

    app.emit(result.to_json(), render)
