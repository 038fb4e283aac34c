"""`claims status CLAIM_ID` or `claims status --record RECORD_ID`: one claim's result."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from claimsengine.cli.options import (
    App,
    check_claim_reference,
    claim_reference_options,
    json_option,
    pass_app,
)
from claimsengine.cli.render import claim_table

if TYPE_CHECKING:
    from claimsengine.results import ClaimResult
    from claimsengine.workspace import Workspace


@click.command(short_help="One claim's result.")
@claim_reference_options
@json_option
@pass_app
def status(app: App, claim_id: int | None, record_id: str | None, provider_id: str | None) -> None:
    """Show one claim's result: its status (paid, queued, pending_review, denied, voided) and each
    line's pricing with the reasons. Give the claim id, or --record with a record id this
    workspace submitted (and --provider when two hospitals used the same id).

    \b
    Example:
      claims status 1
      claims --json status --record HOSP-A-2027-000104
    """
    check_claim_reference(claim_id, record_id, provider_id)
    # Read-only: on the embedded chain, read from its file without the EVM (claim_reads.py).
    from claimsengine.claim_reads import claim_result, reading, record_result

    workspace = app.workspace(read_only=True)
    with reading(workspace):
        if claim_id is not None:
            result = claim_result(workspace, claim_id)
        else:
            assert record_id is not None
            result = record_result(workspace, record_id, provider_id)

    def render(console: Any) -> None:
        console.print(claim_table(result))
        for note in claim_notes(workspace, result):
            console.print(note)

    app.emit(result.to_json(), render)


def claim_notes(workspace: Workspace, result: ClaimResult) -> list[str]:
    """For people, under a claim's table: the correction it made or that replaced it, and
    the votes of a claim that is still in review."""
    from claimsengine.cli.commands.review import votes_text
    from claimsengine.sdk import describe_account

    notes = []
    if result.replaces is not None:
        notes.append(f"It replaces claim {result.replaces}, which is voided.")
    if result.replaced_by is not None:
        notes.append(f"Claim {result.replaced_by} replaced it.")
    if result.status == "pending_review" and result.review is not None:
        voters = ", ".join(
            f"{describe_account(workspace, vote.adjudicator)}: "
            + ("approve" if vote.approved else f"deny {vote.reason}")
            for vote in result.review.votes
        )
        notes.append(f"Votes so far: {votes_text(result.review)} ({voters}).")
    return notes
