"""`claims demo`: the whole flow end to end, on a fresh chain in a temporary folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from claimsengine.cli.options import AMOUNT, App, json_option, pass_app
from claimsengine.cli.render import key_value_table, table

if TYPE_CHECKING:
    from claimsengine.demo import DemoSummary


@click.command(short_help="Run the whole flow on a fresh chain in a temp folder.")
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Build the chain in DIR (new or empty) and keep it, to explore it afterwards "
    "with `claims --state DIR ...`.",
)
@click.option(
    "--fund",
    "initial_funding",
    type=AMOUNT,
    default="300.00",
    show_default=True,
    help="The first funding of the pool: small, so that some claims queue.",
)
@click.option(
    "--top-up",
    type=AMOUNT,
    default="50000.00",
    show_default=True,
    help="The later funding that pays the queue.",
)
@json_option
@pass_app
def demo(app: App, keep: Path | None, initial_funding: int, top_up: int) -> None:
    """Run the whole flow on a fresh embedded chain in a temporary folder (--state is not
    used and ./.claims is never touched): deploy fixtures/plans/silver.yaml with a
    two-person review (review_quorum 2), enrol fixtures/members.csv, register HOSP-A
    (hospital-1) and HOSP-B (hospital-2), make adjudicator and auditor its adjudicators,
    set the clock to 2027-07-01, fund the pool a little, submit the nine records in
    fixtures/records, have both adjudicators approve the claim pending review, top the
    pool up so the queued claims are paid, renew the plan for the next benefit period,
    then move the clock into that period (2028-01-05), renew again (enrolling the period
    after it), submit one claim of M-0004, whose 2027 deductible is met, and show that the
    deductible applies again, and print a summary.

    \b
    Example:
      claims demo
      claims --json demo
      claims demo --keep /tmp/demo && claims --state /tmp/demo status 4
    """
    if app.rpc:
        raise click.UsageError(
            "the demo runs on a fresh embedded chain of its own; leave out --rpc",
            click.get_current_context(),
        )
    from claimsengine.cli.render import console
    from claimsengine.demo import DEMO_STEPS, run_demo

    err = console(stderr=True)
    if err.is_terminal and not app.json_output:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress

        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            console=err,
            transient=True,
        ) as bar:
            task = bar.add_task("Demo", total=len(DEMO_STEPS))
            started = [False]

            def on_step(name: str) -> None:
                if started[0]:
                    bar.advance(task)
                started[0] = True
                bar.update(task, description=name)

            summary = run_demo(
                keep, initial_funding=initial_funding, top_up=top_up, on_step=on_step
            )
    else:
        summary = run_demo(keep, initial_funding=initial_funding, top_up=top_up)

    app.emit(summary.to_json(), lambda out: _render(out, summary))


def _render(out: Any, summary: DemoSummary) -> None:
    from claimsengine.demo import REVIEW_QUORUM
    from claimsengine.money import format_cents

    out.print(f"Demo: plan {summary.plan_id}, clock {summary.clock}, {len(summary.claims)} claims.")
    columns = ("claim", "record", "provider", "status", "plan paid", "reasons")
    rows = table(*columns, title="Claims", right=("claim", "plan paid"))
    for claim in summary.claims:
        journey = " → ".join(claim.statuses)
        if claim.reviewed:
            journey += f" ({claim.reviewed} in review)"
        rows.add_row(
            str(claim.result.claim_id),
            claim.record_id,
            claim.provider_id,
            journey,
            format_cents(claim.result.totals.plan_paid),
            "; ".join(claim.reasons()),
        )
    out.print(rows)
    votes = table(
        "claim",
        "vote",
        "adjudicator",
        "decision",
        "status after",
        title=f"Two-person review (review_quorum {REVIEW_QUORUM})",
        right=("claim", "vote"),
    )
    for claim in summary.claims:
        for number, vote in enumerate(claim.votes, start=1):
            votes.add_row(
                str(claim.result.claim_id),
                f"{number} of {REVIEW_QUORUM}",
                vote["adjudicator"],
                vote["decision"],
                vote["status"],
            )
    out.print(votes)
    totals = summary.totals()
    out.print(
        key_value_table(
            [
                ("paid", str(totals["paid"])),
                ("denied", str(totals["denied"])),
                ("reviewed", str(totals["reviewed"])),
                ("queued, then settled", str(totals["queued_then_settled"])),
                ("plan paid", totals["plan_paid"]),
                ("funded", totals["funded"]),
                ("pool balance", totals["pool_balance"]),
            ],
            title="Totals",
        )
    )
    if summary.renewal is not None:
        out.print(summary.renewal.sentence())
    later = summary.next_period
    if later is not None:
        out.print(f"Next benefit period: the clock moves to {later.clock} (period {later.period}).")
        out.print(later.renewal.sentence())
        claim = later.claim
        out.print(
            f"Claim {claim.result.claim_id}, {claim.record_id} ({later.member_id}, "
            f"{claim.provider_id}): {' → '.join(claim.statuses)}, plan paid "
            f"{format_cents(claim.result.totals.plan_paid)}; {'; '.join(claim.reasons())}. "
            f"Pool balance {format_cents(later.pool_balance)}."
        )
        out.print(later.explanation())
    for problem in summary.rejected:
        out.print(f"set aside: {problem}")
    if summary.state_dir:
        out.print(
            f"The chain is kept in {summary.state_dir}: claims --state {summary.state_dir} ..."
        )
    out.print(
        "Reason codes: 45 fee schedule, 1 deductible, 2 coinsurance, 3 copay, 26 waiting "
        "period, 27 after coverage, 151 units per day, 197 no prior authorisation."
    )
