"""`claims estimate PATH... [--plan] [--provider] [--format json|fhir]`: what records would
get if they were submitted now. Nothing is sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from claimsengine.cli.options import App, json_option, pass_app, record_path_options
from claimsengine.cli.render import claim_table, set_aside_table
from claimsengine.errors import ClaimsError


@click.command(short_help="What records would get if submitted now.")
@record_path_options
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["json", "fhir"]),
    help="json: the estimates as JSON (as --json); fhir: a Bundle of ClaimResponses with "
    "use predetermination.",
)
@json_option
@pass_app
def estimate(
    app: App,
    paths: tuple[Path, ...],
    plan_id: str | None,
    provider_id: str | None,
    output_format: str | None,
) -> None:
    """Show what each record in PATH... would get if it were submitted now: its status
    (paid, queued, pending_review or denied) and every line's pricing, exactly as `claims
    submit` would give them next, with nothing in between. Records are read and checked as
    `submit` reads them, and estimated in the order `submit` would send them, so a
    member's later records see the earlier ones. Nothing is sent: the contract's own
    code runs on a scratch copy of the chain's state.

    A bad record gets the error `submit` would give it; the others are still estimated,
    and the command then exits 1.

    \b
    Examples:
      claims estimate visit.json
      claims --json estimate fixtures/records
      claims estimate synthea/ --plan SILVER-2027 --provider HOSP-A --format fhir
    """
    from claimsengine.estimate import estimate_paths

    workspace = app.workspace()
    with workspace.command():
        report = estimate_paths(
            workspace,
            paths,
            default_plan=plan_id,
            default_provider=provider_id,
            as_account=app.as_account,
        )
        today = workspace.chain.now()

    if output_format == "fhir":
        click.echo(_fhir_bundle(report, today))
    else:
        if output_format == "json":
            app.json_output = True
        app.emit(report.to_json(), lambda console: _render(console, report))
    if report.set_aside:
        count = len(report.set_aside)
        first = report.set_aside[0]
        summary = (
            "1 record could not be estimated"
            if count == 1
            else f"{count} records could not be estimated (each is listed with its error)"
        )
        raise ClaimsError(
            f"{summary}; the first: {first.error}",
            hint=first.error.hint or "fix them and estimate again",
        )


def _fhir_bundle(report: Any, now: int) -> str:
    """The estimates as a FHIR Bundle of ClaimResponses (use: predetermination), then an
    OperationOutcome for each record that could not be estimated."""
    from claimsengine.days import day_of_timestamp, from_day
    from claimsengine.estimate import not_estimated, predetermination
    from claimsengine.exports.fhir import dumps

    created = from_day(day_of_timestamp(now)).isoformat()
    entries = [{"resource": predetermination(e, created=created)} for e in report.estimates]
    entries += [{"resource": not_estimated(entry)} for entry in report.set_aside]
    return dumps({"resourceType": "Bundle", "type": "collection", "entry": entries})


def _render(console: Any, report: Any) -> None:
    from claimsengine.money import format_cents

    for estimate in report.estimates:
        result = estimate.result
        lines = claim_table(result)
        record = result.record_id or "record"
        lines.title = (
            f"Estimate · {result.plan_id} · {record} ({result.provider_id}) · "
            f"{result.service_date.isoformat()} · would be {result.status}"
        )
        console.print(lines)
    if report.estimates:
        total = sum(
            e.result.totals.plan_paid
            for e in report.estimates
            if e.result.status in ("paid", "queued", "pending_review")
        )
        console.print(
            f"{len(report.estimates)} estimated; the plan would pay {format_cents(total)} "
            "(pending review included). Nothing was sent."
        )
    if report.set_aside:
        console.print(set_aside_table(report.set_aside, "Records that could not be estimated"))
