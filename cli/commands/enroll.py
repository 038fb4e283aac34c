"""`claims enroll PLAN_ID MEMBERS.csv`: enrol members, or update their coverage dates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from claimsengine.cli.options import PLAN_ID, App, json_option, pass_app
from claimsengine.cli.render import progress


@click.command(short_help="Enrol members from a CSV, or update their dates.")
@click.argument("plan_id", type=PLAN_ID)
@click.argument(
    "members_file",
    metavar="MEMBERS.csv",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@json_option
@pass_app
def enroll(app: App, plan_id: str, members_file: Path) -> None:
    """Enrol the members in MEMBERS.csv (header member_id,coverage_start,coverage_end) in
    PLAN_ID, as the insurer. A member already enrolled gets the new dates, as long as
    they still cover every day up to today that the old ones did. Member ids never
    go on the chain, only the plan's keyed pseudonyms of them, a new one in each benefit
    period: each member is enrolled in every period that the coverage overlaps, up to the
    period after today's; `claims renew PLAN_ID` enrols the later ones. The members are
    kept, encrypted, in --state for `renew`. All or nothing: one bad row stops the whole
    file before anything is sent.

    \b
    Example:
      claims enroll SILVER-2027 fixtures/members.csv
    """
    from claimsengine.members import load_members
    from claimsengine.sdk import MAX_ENROLMENTS_PER_CALL, InsurerClient

    members = load_members(members_file)  # a bad file fails before the chain is opened
    workspace = app.workspace()
    account = app.account("insurer")
    insurer = InsurerClient(workspace, account)
    with workspace.command():
        insurer.require(plan_id, "admin", "enrol members")
        insurer.check_enrolment(plan_id, members, str(members_file))
        with progress(f"Enrolling in {plan_id}", len(members)) as advance:
            for start in range(0, len(members), MAX_ENROLMENTS_PER_CALL):
                chunk = members[start : start + MAX_ENROLMENTS_PER_CALL]
                insurer.enroll(plan_id, chunk)
                advance(len(chunk))
    data = {"plan_id": plan_id, "enrolled": len(members)}

    def render(console: Any) -> None:
        console.print(f"Enrolled {len(members)} members in {plan_id} from {members_file}.")

    app.emit(data, render)
