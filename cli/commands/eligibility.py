"""`claims eligibility PLAN_ID MEMBER_ID [--date D] [--format json|fhir]`: coverage and
what is left, read from the chain."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from claimsengine.cli.options import DATE, PLAN_ID, App, json_option, pass_app
from claimsengine.cli.render import key_value_table

if TYPE_CHECKING:
    from claimsengine.eligibility import Eligibility


@click.command(short_help="Is a member covered on a day, and what is left.")
@click.argument("plan_id", type=PLAN_ID, required=False)
@click.argument("member_id", required=False)
@click.option(
    "--date",
    "on",
    type=DATE,
    metavar="YYYY-MM-DD",
    help="The day of service to check (default: the chain's today).",
)
@click.option(
    "--request",
    "request_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Read the plan, member and day from a FHIR CoverageEligibilityRequest (JSON).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["json", "fhir"]),
    help="json: the eligibility JSON (as --json); fhir: a CoverageEligibilityResponse.",
)
@json_option
@pass_app
def eligibility(
    app: App,
    plan_id: str | None,
    member_id: str | None,
    on: date | None,
    request_file: Path | None,
    output_format: str | None,
) -> None:
    """Say whether MEMBER_ID is covered by PLAN_ID on --date, or the denial (31, 26 or 27)
    a claim for that day would get, and what is left in the day's benefit period:
    deductible, out-of-pocket, benefit, and units of each code with a period limit.
    Nothing is sent.

    With --request FILE, the plan, member and day come from a FHIR
    CoverageEligibilityRequest; PLAN_ID (then the only argument) and --date fill in what
    it lacks.

    \b
    Examples:
      claims eligibility SILVER-2027 M-0001
      claims --json eligibility SILVER-2027 M-0001 --date 2027-03-01
      claims eligibility SILVER-2027 M-0001 --format fhir
      claims eligibility --request eligibility-request.json --format fhir
    """
    from claimsengine.eligibility import check_eligibility, coverage_eligibility_response

    plan_id, member_id, on, reference = _who_and_when(plan_id, member_id, on, request_file)
    # Read-only: on the embedded chain, answered from its file without the EVM (a snapshot
    # of its last commit); the FHIR ``created`` day is the chain's today in that snapshot.
    workspace = app.workspace(read_only=True)
    answer = check_eligibility(workspace, plan_id, member_id, on)
    now = workspace.now()

    if output_format == "fhir":
        from claimsengine.days import day_of_timestamp, from_day
        from claimsengine.exports.fhir import dumps

        today = from_day(day_of_timestamp(now))
        click.echo(dumps(coverage_eligibility_response(answer, request=reference, created=today)))
        return
    if output_format == "json":
        app.json_output = True

    def render(console: Any) -> None:
        console.print(
            key_value_table(_rows(answer), title=f"Member {member_id} in {plan_id} on {answer.day}")
        )
        if answer.denial == "31":
            # Enrolment is per benefit period: a covered member's later period needs renewing.
            from claimsengine.periods import NOT_ENROLLED_HINT

            hint = NOT_ENROLLED_HINT.format(plan_id=plan_id)
            console.print(f"Not enrolled in this benefit period: {hint}.")

    app.emit(answer.to_json(), render)


def _who_and_when(
    plan_id: str | None, member_id: str | None, on: date | None, request_file: Path | None
) -> tuple[str, str, date | None, dict[str, Any] | None]:
    """(plan, member, day, the request's reference): from the arguments, or from a FHIR
    CoverageEligibilityRequest that the arguments fill in."""
    from claimsengine.eligibility import read_eligibility_request

    if request_file is not None:
        if member_id is not None:
            raise click.UsageError(
                "with --request, give at most PLAN_ID: the member comes from the request",
                click.get_current_context(),
            )
        request = read_eligibility_request(str(request_file), default_plan=plan_id, default_date=on)
        return request.plan_id, request.member_id, request.day, request.reference
    if plan_id is None or member_id is None:
        raise click.UsageError(
            "give PLAN_ID and MEMBER_ID, or --request FILE", click.get_current_context()
        )
    return plan_id, member_id, on, None


def _rows(answer: Eligibility) -> list[tuple[str, str]]:
    """The eligibility answer, for people: one row a fact."""
    from claimsengine.money import format_cents

    def money(cents: int | None, none: str) -> str:
        return none if cents is None else format_cents(cents)

    covered = "yes" if answer.covered else f"no: denial {answer.denial}"
    period = (
        "none (before the plan's effective date)"
        if answer.period is None
        else f"{answer.period} ({answer.period_start} to {answer.period_end})"
    )
    end = answer.coverage_end.isoformat() if answer.coverage_end else "open-ended"
    coverage = f"{answer.coverage_start} to {end}" if answer.coverage_start else "not enrolled"
    no_benefit = "no maximum" if answer.annual_benefit_max is None else "-"
    units = ", ".join(f"{code} × {n}" for code, n in answer.units_left.items())
    return [
        ("covered", covered),
        ("coverage", coverage),
        ("benefit period", period),
        ("deductible left", money(answer.deductible_left, "-")),
        ("out-of-pocket left", money(answer.out_of_pocket_left, "-")),
        ("benefit left", money(answer.benefit_left, no_benefit)),
        ("units left", units or "no code has a period limit"),
    ]
