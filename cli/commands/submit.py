"""`claims submit PATH... [--plan PLAN_ID] [--provider PROVIDER_ID]`: treatment records in."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from claimsengine.cli.options import App, json_option, pass_app, record_path_options
from claimsengine.cli.render import key_value_table, progress, set_aside_table, table
from claimsengine.errors import ClaimsError

if TYPE_CHECKING:
    from claimsengine.orchestrator import SubmitReport

#: Above this many claims, the human output shows the summary only (--json has them all).
CLAIM_ROWS_SHOWN = 100


@click.command(short_help="Submit treatment records (JSON or FHIR).")
@record_path_options
@click.option(
    "--quarantine",
    "quarantine_dir",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Where records that are set aside go (default: <state>/quarantine).",
)
@click.option(
    "--replaces",
    type=click.IntRange(min=1),
    metavar="CLAIM_ID",
    help="Submit one corrected record in place of this claim (voided in the same transaction).",
)
@json_option
@pass_app
def submit(
    app: App,
    paths: tuple[Path, ...],
    plan_id: str | None,
    provider_id: str | None,
    quarantine_dir: Path | None,
    replaces: int | None,
) -> None:
    """Submit the treatment records in PATH... (files, or folders of *.json, *.jsonl and
    *.ndjson): JSON records, JSON arrays, JSON Lines, FHIR Claims or FHIR Bundles.

    Each record is sent as its provider's registered account, unless --as is given.
    A bad record is set aside in the quarantine folder with its error, and the good ones
    still go; the command then exits 1. Sending a record again is harmless: it is
    recognised and not paid twice. A run that is stopped (even killed) loses nothing:
    running it again finishes what was in flight, from the journal.

    With --replaces CLAIM_ID, PATH holds one corrected record (with a record_id of its
    own), by the claim's provider and for its plan: one transaction voids the claim and
    submits the record, and the new claim's result says `"replaces": CLAIM_ID`. A denied
    claim cannot be replaced: submit its correction as a new claim. Sending the same
    correction again changes nothing; a record already on the chain as a claim that does not
    replace CLAIM_ID is refused. A correction that is refused is the command's error.

    \b
    Examples:
      claims submit fixtures/records
      claims submit synthea/ --plan SILVER-2027 --provider HOSP-A
      claims --json submit visit.json
      claims submit visit-corrected.json --replaces 4
    """
    from claimsengine.orchestrator import SubmitInterrupted, submit_paths

    workspace = app.workspace()
    interrupted: SubmitInterrupted | None = None
    with ExitStack() as stack:
        on_progress = _progress_bar(stack)
        try:
            report = submit_paths(
                workspace,
                paths,
                default_plan=plan_id,
                default_provider=provider_id,
                as_account=app.as_account,
                quarantine_dir=quarantine_dir,
                progress=on_progress,
                replaces=replaces,
            )
        except SubmitInterrupted as error:
            interrupted = error
            report = error.report

    notes = _replacement_notes(workspace, report) if replaces is not None else []

    def render(console: Any) -> None:
        _render(console, report)
        for note in notes:
            console.print(note)

    app.emit(report.to_json(), render)
    if interrupted is not None:
        raise interrupted
    if replaces is not None and len(report.set_aside) == 1:
        raise report.set_aside[0].error  # a correction is one record: its error is the command's
    if report.set_aside:
        count = len(report.set_aside)
        raise ClaimsError(
            f"{count} record{'s were' if count != 1 else ' was'} set aside and not submitted "
            f"(copies with their errors are in {report.quarantine_dir})",
            hint="fix them and run `claims submit` again; the records already sent are "
            "recognised and not sent twice",
        )


def _replacement_notes(workspace: Any, report: SubmitReport) -> list[str]:
    """For people: which claim the correction replaced, and the gas of its transaction."""
    from claimsengine.cli.commands.void import debt_note
    from claimsengine.sdk import transaction_gas

    notes = []
    for claim in report.claims:
        result = claim.result
        if result.replaces is not None:
            gas = transaction_gas(workspace, result.transactions["submitted"])
            notes.append(
                f"Claim {result.claim_id} replaces claim {result.replaces}, which is now "
                f"voided (one transaction, gas {gas:,})."
            )
            notes.extend(debt_note(workspace, result))
    return notes


def _progress_bar(stack: ExitStack) -> Callable[[int, int], None]:
    """The orchestrator's ``progress(done, total)`` drawn as the house progress bar."""
    state: dict[str, Any] = {"advance": None, "shown": 0}

    def on_progress(done: int, total: int) -> None:
        if state["advance"] is None:
            state["advance"] = stack.enter_context(progress("Submitting records", total))
        step = done - state["shown"]
        if step > 0:
            state["advance"](step)
            state["shown"] = done

    return on_progress


def _render(console: Any, report: SubmitReport) -> None:
    from claimsengine.money import format_cents

    if report.claims and len(report.claims) <= CLAIM_ROWS_SHOWN:
        claims = table(
            "claim",
            "record",
            "provider",
            "service date",
            "status",
            "billed",
            "plan paid",
            "",
            title="Claims",
            right=("claim", "billed", "plan paid"),
        )
        for claim in report.claims:
            result = claim.result
            note = (
                "already on chain"
                if claim.already_submitted
                else "finished from an earlier run"
                if claim.resumed
                else ""
            )
            claims.add_row(
                str(result.claim_id),
                result.record_id or "",
                result.provider_id or "",
                result.service_date.isoformat(),
                result.status,
                format_cents(result.totals.billed),
                format_cents(result.totals.plan_paid),
                note,
            )
        console.print(claims)
    elif report.claims:
        console.print(f"{len(report.claims)} claims; `claims --json submit` lists each one.")

    rows = [
        ("submitted", str(report.submitted)),
        ("  finished from an earlier run", str(report.resumed)),
        ("already on chain", str(report.already_submitted)),
        ("paid", str(report.paid)),
        ("queued", str(report.queued)),
        ("pending review", str(report.pending_review)),
        ("denied", str(report.denied)),
        ("plan paid (paid and queued)", format_cents(report.plan_paid)),
        ("set aside", str(report.quarantined)),
    ]
    if not report.resumed:
        rows.pop(1)
    if report.repeated:
        rows.append(("identical copies skipped", str(report.repeated)))
    console.print(key_value_table(rows, title="Summary"))

    if report.set_aside:
        console.print(set_aside_table(report.set_aside, f"Set aside in {report.quarantine_dir}"))
