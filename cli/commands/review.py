"""`claims review CLAIM_ID --approve|--deny` and `claims review list [PLAN_ID]`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from claimsengine.cli.options import PLAN_ID, App, json_option, pass_app
from claimsengine.cli.render import claim_table, table

if TYPE_CHECKING:
    from claimsengine.results import ReviewVotes


class ReviewGroup(click.Group):
    """`review list` is a subcommand; anything else (`review 4 --approve`) is a decision."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] in self.commands and args[0] != "decide":
            return super().resolve_command(ctx, args)
        return "decide", decide, args

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage(ctx.command_path, "CLAIM_ID --approve|--deny [--reason CODE]")
        formatter.write_usage(ctx.command_path, "list [PLAN_ID]", prefix="   or: ")


@click.group(
    cls=ReviewGroup,
    short_help="Approve or deny a claim pending review; list them.",
    context_settings={"ignore_unknown_options": True},
)
def review() -> None:
    """Decide a claim that is pending review (its plan_paid is above the plan's
    auto-approve limit), as the adjudicator (or --as). An approved claim is paid, or queued
    until the pool can pay it; a denied one is not paid and its accumulators are undone.

    A plan with a review_quorum of k needs k distinct adjudicators: each one's decision is
    a vote, and the claim is approved at the k-th approval or denied at the k-th denial.
    Each adjudicator votes once on a claim. `review list` shows the votes so far.

    \b
    Example:
      claims review list SILVER-2027
      claims review 4 --approve
      claims --as adjudicator review 7 --deny
      claims review 7 --deny --reason 96
    """


@review.command(hidden=True, short_help="Approve or deny one claim.")
@click.argument("claim_id", type=click.IntRange(min=1))
@click.option("--approve", is_flag=True, help="Approve the claim.")
@click.option("--deny", is_flag=True, help="Deny the claim.")
@click.option(
    "--reason",
    type=int,
    metavar="CODE",
    help="With --deny: the reason code, one of 50 (default, not medically necessary), "
    "16, 96, 197, 204.",
)
@json_option
@pass_app
def decide(app: App, claim_id: int, approve: bool, deny: bool, reason: int | None) -> None:
    """Approve or deny CLAIM_ID. A denial carries a reason code (--reason, default 50).

    \b
    Example:
      claims review 4 --approve
      claims review 4 --deny --reason 96
    """
    from claimsengine.errors import InputError
    from claimsengine.sdk import DEFAULT_REVIEW_REASON, check_denial_reason

    ctx = click.get_current_context()
    if approve == deny:
        raise click.UsageError("say --approve or --deny (one of them)", ctx)
    if reason is not None and approve:
        raise click.UsageError("--reason goes with --deny", ctx)
    if reason is not None:
        try:
            check_denial_reason(reason)
        except InputError as error:  # a bad option value: a usage error, as click's own
            raise click.BadParameter(error.message, ctx, param_hint="'--reason'") from None
    from claimsengine.sdk import AdjudicatorClient, claim_result

    workspace = app.workspace()
    account = app.account("adjudicator")
    adjudicator = AdjudicatorClient(workspace, account)
    with workspace.command():
        current = claim_result(workspace, claim_id)
        verb = "approve" if approve else "deny"
        adjudicator.require(current.plan_id, "adjudicator", f"{verb} claims")
        if current.status != "pending_review":
            from claimsengine.errors import ClaimsError

            raise ClaimsError(
                f"claim {claim_id} is {current.status}, not pending_review",
                hint="only claims pending review can be decided; see `claims review list`",
            )
        result = adjudicator.review(claim_id, approve, reason or DEFAULT_REVIEW_REASON)

    from claimsengine.sdk import transaction_gas

    votes = result.review.votes if result.review is not None else ()
    mine = [v.transaction for v in votes if v.adjudicator == adjudicator.account and v.transaction]
    gas = f" Gas {transaction_gas(workspace, mine[-1]):,}." if mine else ""

    def render(console: Any) -> None:
        code = reason or DEFAULT_REVIEW_REASON
        if result.status == "pending_review" and result.review is not None:
            vote = "approve" if approve else f"deny (reason {code})"
            console.print(
                f"Voted to {vote} claim {claim_id}: it is still pending_review, with "
                f"{votes_text(result.review)}.{gas}"
            )
        elif approve:
            console.print(f"Approved claim {claim_id}: it is now {result.status}.{gas}")
        else:
            console.print(
                f"Denied claim {claim_id} (reason {code}): it is now {result.status}.{gas}"
            )
        console.print(claim_table(result))

    app.emit(result.to_json(), render)


def votes_text(review: ReviewVotes) -> str:
    """``1 of 2 approvals, 0 of 2 denials``: how far a claim is from a decision."""
    quorum = "?" if review.quorum is None else str(review.quorum)
    return f"{review.approvals} of {quorum} approvals, {review.denials} of {quorum} denials"


@review.command("list", short_help="Claims waiting for review.")
@click.argument("plan_id", type=PLAN_ID, required=False)
@json_option
@pass_app
def list_pending(app: App, plan_id: str | None) -> None:
    """List the claims pending review, in PLAN_ID or in every plan.

    \b
    Example:
      claims review list SILVER-2027
    """
    from claimsengine.claim_reads import ReviewQueue, reading
    from claimsengine.money import format_cents

    # Read-only: on the embedded chain, read from its file without the EVM (claim_reads.py).
    workspace = app.workspace(read_only=True)
    with reading(workspace):
        if plan_id:
            workspace.periods(plan_id)  # NotFound for a plan the chain does not have
        waiting = ReviewQueue().read(workspace, plan_id)

    def render(console: Any) -> None:
        if not waiting:
            console.print("No claims are pending review.")
            return
        columns = (
            "claim",
            "plan",
            "record",
            "provider",
            "service date",
            "billed",
            "plan paid",
            "votes",
            "voted",
        )
        from claimsengine.sdk import describe_account

        voters = {
            vote.adjudicator: describe_account(workspace, vote.adjudicator)
            for result in waiting
            if result.review is not None
            for vote in result.review.votes
        }
        rows = table(*columns, title="Pending review", right=("claim", "billed", "plan paid"))
        for result in waiting:
            review = result.review
            rows.add_row(
                str(result.claim_id),
                result.plan_id,
                result.record_id or "",
                result.provider_id or "",
                result.service_date.isoformat(),
                format_cents(result.totals.billed),
                format_cents(result.totals.plan_paid),
                votes_text(review) if review is not None else "",
                ", ".join(
                    f"{voters[v.adjudicator]}: {'approve' if v.approved else f'deny {v.reason}'}"
                    for v in review.votes
                )
                if review is not None
                else "",
            )
        console.print(rows)

    app.emit([result.to_json() for result in waiting], render)
