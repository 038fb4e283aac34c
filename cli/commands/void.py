"""`claims void CLAIM_ID` or `claims void --record RECORD_ID`: a provider takes back a claim."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from claimsengine.cli.commands.status import check_claim_reference, claim_reference_options
from claimsengine.cli.context import App, claim_table, json_option, pass_app

if TYPE_CHECKING:
    from claimsengine.results import ClaimResult
    from claimsengine.workspace import Workspace


@click.command(short_help="Void one of the provider's claims.")
@claim_reference_options
@json_option
@pass_app
def void(app: App, claim_id: int | None, record_id: str | None, provider_id: str | None) -> None:
    """Void a claim, as its provider: one that is pending_review, queued or paid, within
    the plan's timely-filing window of the service date. Its accumulators, units and
    duplicate-line keys are taken back, it leaves the queue (the others keep their order),
    and its status becomes voided. The amount of a paid claim becomes the provider's debt
    to the plan, kept back from the provider's next payments from that plan.

    It acts as the provider's first account, unless --as names another of its accounts.
    Voiding a voided claim again changes nothing. To correct a claim instead, submit the
    corrected record with `claims submit PATH --replaces CLAIM_ID`.

    \b
    Examples:
      claims void 4
      claims --json void --record HOSP-A-2027-000104
      claims --as hospital-1 void 4
    """
    check_claim_reference(claim_id, record_id, provider_id)
    from claimsengine.sdk import HospitalClient, claim_result, record_result
    from claimsengine.status import ClaimStatus

    workspace = app.workspace()
    hospital = HospitalClient(workspace, app.as_account)
    with workspace.command():
        if claim_id is None:
            assert record_id is not None
            claim_id = record_result(workspace, record_id, provider_id).claim_id
        before = claim_result(workspace, claim_id).status
        result = hospital.void(claim_id)
    notes = void_notes(workspace, result, already=before == ClaimStatus.VOIDED)

    def render(console: Any) -> None:
        for note in notes:
            console.print(note)
        console.print(claim_table(result))

    app.emit(result.to_json(), render)


def void_notes(workspace: Workspace, result: ClaimResult, *, already: bool) -> list[str]:
    """What people read above a voided claim: the void's transaction and gas (or that it was
    voided before), the claim that replaced it, and what its provider owes the plan now."""
    from claimsengine.sdk import transaction_gas

    tx = result.transactions.get("voided")
    if already:
        notes = [f"Claim {result.claim_id} was voided already (transaction {tx}); nothing sent."]
    else:
        gas = f", gas {transaction_gas(workspace, tx):,}" if tx else ""
        notes = [f"Claim {result.claim_id} is voided (transaction {tx}{gas})."]
    if result.replaced_by is not None:
        notes.append(f"Claim {result.replaced_by} replaced it.")
    return [*notes, *debt_note(workspace, result)]


def debt_note(workspace: Workspace, result: ClaimResult) -> list[str]:
    """What the claim's provider owes its plan now (voided paid claims), if anything."""
    from claimsengine.money import format_cents

    if not result.provider_id:
        return []
    debt = workspace.engine.provider_info(result.plan_id, result.provider_id).debt
    if not debt:
        return []
    return [
        f"{result.provider_id} owes plan {result.plan_id} {format_cents(debt)}, kept back "
        "from its next payments from the plan."
    ]
