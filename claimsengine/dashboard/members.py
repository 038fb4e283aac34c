"""The members page: a member's accumulators, for the insurer only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from claimsengine.dashboard.labels import Page, day_text
from claimsengine.dashboard.markup import (
    Markup,
    cents,
    definitions,
    form_input,
    form_select,
    notice,
    table,
)
from claimsengine.dashboard.snapshot import Snapshot
from claimsengine.errors import ClaimsError

if TYPE_CHECKING:
    from claimsengine.workspace import Workspace


def members_page(snapshot: Snapshot, query: Mapping[str, str], workspace: Workspace | None) -> Page:
    """Accumulators for a member id, for the insurer: only the plan's pseudonym key turns a
    member id into the pseudonym the chain knows."""
    from claimsengine.sdk import member_accumulators

    plan_id = query.get("plan") or next(iter(snapshot.plans), None)
    member_id = (query.get("member") or "").strip()
    if plan_id is None:
        return "Members", notice("This chain has no plans yet.")
    form = Markup(
        '<form class="filters" method="get" action="/members" aria-label="Find a member">'
        f"<div>{form_select('plan', 'Plan', [(p, p) for p in snapshot.plans], plan_id)}</div>"
        f"<div>{form_input('member', 'Member id', member_id)}</div>"
        '<div><button type="submit">Show</button></div></form>'
    )
    privacy = Markup(
        "<p>The dashboard shows no names, dates of birth or diagnoses: the chain and this "
        "state folder have none. A member is known on the chain only by a pseudonym.</p>"
    )
    if plan_id not in snapshot.plans:
        return "Members", Markup(form + notice(f"No plan {plan_id!r} on this chain.", kind="error"))
    if plan_id not in snapshot.keys:
        why = notice(
            f"Member accumulators are not available here: this state folder has no pseudonym "
            f"key for plan {plan_id}.",
            kind="warn",
            hint="Only the insurer holds a plan's key; it turns a member id into the "
            "pseudonym the chain knows. Open the dashboard on the insurer's state folder.",
        )
        return "Members", Markup(privacy + why)
    if not member_id or workspace is None:
        return "Members", Markup(form + privacy)
    try:
        report = member_accumulators(workspace, plan_id, member_id)
    except ClaimsError as error:
        return "Members", Markup(form + notice(str(error), kind="error", hint=error.hint))
    terms = snapshot.plans[plan_id].terms
    start = terms.period_start(snapshot.today)
    facts = definitions(
        [
            ("member", report.member_id),
            ("benefit period", f"{report.period}, from {day_text(start)}"),
            ("deductible met", f"{cents(report.deductible_met)} of {cents(terms.deductible)}"),
            ("out-of-pocket met", f"{cents(report.oop_met)} of {cents(terms.out_of_pocket_max)}"),
            ("benefit used", cents(report.benefit_used)),
        ],
        dl_id="accumulators",
    )  # fmt: skip
    units = table(
        ["code", "units used"],
        sorted(report.units_used.items()),
        caption="Units used this period",
        right=("units used",),
    )
    return "Members", Markup(form + privacy + facts + units)
