"""The reviews page: the pending queue (with the votes, once the engine has quorum review)
and the denial reasons by provider, by count and amount."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from claimsengine.dashboard.labels import CLAIM_COLUMNS, Page, claim_cells, reason_meaning
from claimsengine.dashboard.markup import Markup, cents, link, table, url
from claimsengine.dashboard.snapshot import PlanView, Snapshot

#: Claims of the pending queue listed (the oldest first); the claims table has them all.
QUEUE_ROWS_SHOWN = 200


def reviews_page(snapshot: Snapshot, query: Mapping[str, str]) -> Page:
    plan_id = query.get("plan") or None
    plans = [p for p in snapshot.plans.values() if plan_id in (None, p.plan_id)]
    pending = [(p, c) for p in plans for c in p.pending]
    quorum = any(p.votes for p in plans)
    headers = [*CLAIM_COLUMNS, "billed", "to pay"]
    if quorum:
        headers.append("votes so far")
    rows = []
    for plan, claim in pending[:QUEUE_ROWS_SHOWN]:
        row: list[object] = [
            *claim_cells(plan, claim),
            cents(claim.billed),
            cents(claim.reported_plan_paid),
        ]
        if quorum:
            row.append(_votes_text(plan.votes.get(claim.claim_id, ())))
        rows.append(row)
    queue = table(
        headers,
        rows,
        caption=f"Pending review: {len(pending)} claims",
        right=("billed", "to pay"),
        foot=[f"{len(pending)} claims", "", "", "", "",
              cents(sum(c.billed for _, c in pending)),
              cents(sum(c.reported_plan_paid for _, c in pending)),
              *([""] if quorum else [])],
        table_id="pending",
    )  # fmt: skip
    more = ""
    if len(pending) > QUEUE_ROWS_SHOWN:
        every = link(url("/claims", plan=plan_id, status="pending_review"), "the claims table")
        more = (
            f"<p>The {QUEUE_ROWS_SHOWN} that have waited longest are shown; {every} lists "
            f"all {len(pending)}.</p>"
        )
    note = (
        Markup(more)
        if quorum
        else Markup(
            more + "<p>This engine decides a review with one adjudicator: there are no votes.</p>"
        )
    )
    denials = table(
        ["provider", "code", "meaning", "lines", "claims", "amount"],
        _denial_rows(plans),
        caption="Denial reasons by provider (denied lines; amount is what they billed)",
        right=("lines", "claims", "amount"),
        table_id="denials",
    )
    return "Reviews", Markup(queue + note + "<h2>Why claims are denied</h2>" + denials)


def _votes_text(votes: Sequence[Mapping[str, object]]) -> str:
    if not votes:
        return "none yet"
    yes = sum(1 for v in votes if v.get("approve", v.get("approved")))
    return f"{yes} to approve, {len(votes) - yes} to deny"


def _denial_rows(plans: Sequence[PlanView]) -> list[tuple[object, ...]]:
    totals: dict[tuple[str, int], tuple[int, int, int]] = {}
    for plan in plans:
        for key, (lines, claims, billed) in plan.denials.items():
            had = totals.get(key, (0, 0, 0))
            totals[key] = (had[0] + lines, had[1] + claims, had[2] + billed)
    order = sorted(totals, key=lambda k: (k[0], -totals[k][2], k[1]))
    return [
        (provider, code, reason_meaning(code), *totals[(provider, code)][:2],
         cents(totals[(provider, code)][2]))
        for provider, code in order
    ]  # fmt: skip
