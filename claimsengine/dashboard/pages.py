"""The dashboard's pages over a snapshot: plans, claims, one claim, reviews, members.

Each page function returns (title, body); the server wraps the body in the layout. Pages
read only the snapshot, except a claim's history and a member's accumulators, which are
read from the chain for that one claim or member.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from claimsengine.abi import bytes32_to_text
from claimsengine.dashboard.charts import pool_chart
from claimsengine.dashboard.markup import (
    Markup,
    cents,
    definitions,
    esc,
    form_input,
    form_select,
    join,
    link,
    notice,
    table,
    url,
)
from claimsengine.dashboard.snapshot import ClaimStep, PlanView, Snapshot
from claimsengine.days import from_day, parse_date, to_day
from claimsengine.errors import ClaimsError, InputError
from claimsengine.exports.groups import adjustment_group
from claimsengine.results import STATUSES

if TYPE_CHECKING:
    from claimsengine.reconcile import OnChainClaim
    from claimsengine.workspace import Workspace

Page = tuple[str, Markup]

#: Rows per page of the claims table.
PAGE_SIZE = 50

#: What each adjustment or denial reason code (X12 CARC) means, in the words of
#: adjudication.md: the codes the engine gives, and the reasons a review may deny with.
REASONS: dict[int, str] = {
    1: "deductible",
    2: "coinsurance",
    3: "copay",
    16: "claim lacks information needed to adjudicate it (review)",
    18: "duplicate of a line on an earlier claim",
    26: "service before coverage began (or in the waiting period)",
    27: "service after coverage ended",
    29: "filed after the timely-filing limit",
    31: "member not enrolled in the plan",
    45: "charge above the fee schedule",
    50: "not medically necessary (review)",
    96: "service not covered by the plan",
    119: "benefit maximum reached (period units, or the annual benefit)",
    151: "more units in a day than the plan allows",
    197: "prior authorisation missing",
    204: "service not covered under the member's current benefit plan (review)",
}

STEP_NAMES = {
    "ClaimSubmitted": "submitted",
    "ClaimPendingReview": "pending review",
    "ClaimReviewed": "reviewed",
    "ClaimQueued": "queued",
    "ClaimPaid": "paid",
    "ProviderCredited": "credited to the provider (the token refused the transfer)",
}


def reason_text(code: int | str) -> str:
    """ "45 (CO): charge above the fee schedule"."""
    number = int(code)
    try:
        group = f" ({adjustment_group(number)})"
    except ClaimsError:
        group = ""
    return f"{number}{group}: {REASONS.get(number, 'see the X12 claim adjustment reason codes')}"


def status_badge(status: str) -> Markup:
    return Markup(f'<span class="status {esc(status)}">{esc(status.replace("_", " "))}</span>')


def day_text(day: int) -> str:
    return from_day(day).isoformat()


# -- plans ------------------------------------------------------------------------------------


def plans_page(snapshot: Snapshot) -> Page:
    if not snapshot.plans:
        return "Plans", notice(
            "This chain has no plans yet.", hint="deploy one with `claims deploy PLAN.yaml`"
        )
    return "Plans", join(_plan_card(plan, snapshot.today) for plan in snapshot.plans.values())


def _plan_card(plan: PlanView, today: int) -> Markup:
    terms, pool = plan.terms, plan.pool
    key = plan.plan_id
    pool_facts = definitions(
        [
            ("balance", cents(pool.balance)),
            ("reserved", cents(pool.reserved)),
            ("free", cents(pool.free)),
            ("shortfall", cents(pool.shortfall)),
            ("queued claims", pool.queued),
            ("pending review", plan.count("pending_review")),
            (f"paid since {day_text(terms.period_start(today))}", cents(plan.paid_this_period)),
        ],
        dl_id=f"pool-{key}",
    )
    term_rows = [
        ("effective", day_text(terms.effective_day)),
        ("benefit period", f"{terms.benefit_period_days} days"),
        ("waiting period", f"{terms.waiting_period_days} days"),
        ("timely filing", f"{terms.timely_filing_days} days"),
        ("deductible", cents(terms.deductible)),
        ("out-of-pocket maximum", cents(terms.out_of_pocket_max)),
        ("annual benefit maximum", _limit(terms.annual_benefit_max)),
        ("coinsurance", f"{terms.coinsurance_bps / 100:g}%"),
        ("auto-approve up to", cents(terms.auto_approve_limit)),
        ("provider daily limit", _limit(terms.provider_daily_limit)),
    ]
    chart = pool_chart(
        [d.day for d in plan.history],
        [d.balance for d in plan.history],
        [d.paid for d in plan.history],
        title=f"Pool of {key} and payments by chain day",
    )
    history = table(
        ["day", "funded", "withdrawn", "paid", "balance"],
        [
            (day_text(d.day), cents(d.funded), cents(d.withdrawn), cents(d.paid), cents(d.balance))
            for d in plan.history
        ],
        right=("funded", "withdrawn", "paid", "balance"),
        caption="The pool by chain day",
    )
    counts = ", ".join(
        f"{plan.count(status)} {status.replace('_', ' ')}" for status in _statuses([plan])
    )
    claims_link = link(url("/claims", plan=key), f"{len(plan.claims)} claims")
    state = " (paused)" if plan.paused else ""
    return Markup(
        f'<section class="card" aria-labelledby="plan-{esc(key)}">'
        f'<h2 id="plan-{esc(key)}">{esc(key)}{esc(state)}</h2>'
        f"<p>{claims_link}: {esc(counts)}. "
        f"{link(url('/reviews', plan=key), 'Reviews')} · "
        f"{link(url('/reconcile', plan=key), 'Reconcile')}</p>"
        f"<h3>Pool</h3>{pool_facts}<figure>{chart}"
        f"<figcaption>Balance at the end of each chain day that moved it, and the payments "
        f"made that day.</figcaption></figure>"
        f"<details><summary>The numbers behind the chart</summary>{history}</details>"
        f"<h3>Terms</h3>{definitions(term_rows, dl_id=f'terms-{key}')}</section>"
    )


def _limit(value: int | None) -> str:
    return "none" if value is None else cents(value)


def _statuses(plans: Iterable[PlanView]) -> list[str]:
    """The statuses to offer: the result statuses, then any others the chain has (voided)."""
    seen = {claim.status for plan in plans for claim in plan.claims}
    return [*STATUSES, *sorted(seen - set(STATUSES))]


# -- claims -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimFilter:
    plan: str | None = None
    status: str | None = None
    provider: str | None = None
    since: date | None = None
    until: date | None = None
    page: int = 1

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> tuple[ClaimFilter, list[str]]:
        """The filter a query string asks for, and the problems with it (shown on the page;
        a bad value is left out of the filter, never an error page)."""
        problems = []
        dates: dict[str, date | None] = {}
        for name in ("from", "to"):
            text = query.get(name, "").strip()
            dates[name] = None
            if text:
                try:
                    dates[name] = parse_date(text, field=name)
                except InputError as error:
                    problems.append(str(error))
        page_text = query.get("page", "1").strip() or "1"
        page = int(page_text) if page_text.isdigit() and int(page_text) > 0 else 1
        if page_text != str(page):
            problems.append(f"page: expected a page number, got {page_text!r}")
        return (
            cls(
                plan=query.get("plan") or None,
                status=query.get("status") or None,
                provider=query.get("provider") or None,
                since=dates["from"],
                until=dates["to"],
                page=page,
            ),
            problems,
        )

    def keeps(self, claim: OnChainClaim) -> bool:
        if self.status and claim.status != self.status:
            return False
        if self.provider and claim.provider != self.provider:
            return False
        if self.since and claim.service_day < to_day(self.since):
            return False
        return not (self.until and claim.service_day > to_day(self.until))

    def query(self, **change: object) -> dict[str, object]:
        values: dict[str, object] = {
            "plan": self.plan,
            "status": self.status,
            "provider": self.provider,
            "from": self.since.isoformat() if self.since else None,
            "to": self.until.isoformat() if self.until else None,
            "page": self.page,
        }
        values.update(change)
        return values


def claims_page(snapshot: Snapshot, query: Mapping[str, str]) -> Page:
    wanted, problems = ClaimFilter.from_query(query)
    if wanted.plan and wanted.plan not in snapshot.plans:
        problems.append(f"plan: no plan {wanted.plan!r} on this chain")
        wanted = ClaimFilter(status=wanted.status, provider=wanted.provider, page=wanted.page)
    plans = [snapshot.plans[wanted.plan]] if wanted.plan else list(snapshot.plans.values())
    rows = [(plan, c) for plan in plans for c in plan.claims if wanted.keeps(c)]
    rows.sort(key=lambda pair: pair[1].claim_id)
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = min(wanted.page, pages)
    shown = rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]

    providers = sorted({c.provider for plan in plans for c in plan.claims})
    form = Markup(
        '<form class="filters" method="get" action="/claims" aria-label="Filter the claims">'
        + "".join(
            f"<div>{field}</div>"
            for field in (
                form_select(
                    "plan", "Plan", [("", "any"), *((p, p) for p in snapshot.plans)], wanted.plan
                ),
                form_select(
                    "status",
                    "Status",
                    [("", "any"), *((s, s.replace("_", " ")) for s in _statuses(plans))],
                    wanted.status,
                ),
                form_select(
                    "provider",
                    "Provider",
                    [("", "any"), *((p, p) for p in providers)],
                    wanted.provider,
                ),  # fmt: skip
                form_input("from", "Service from", query.get("from"), "date"),
                form_input("to", "Service to", query.get("to"), "date"),
            )
        )
        + '<div><button type="submit">Filter</button></div></form>'
    )
    headers = [
        "claim", "plan", "provider", "record", "service date", "status",
        "billed", "allowed", "plan paid", "paid",
    ]  # fmt: skip
    body_rows = [
        (
            link(f"/claims/{c.claim_id}", c.claim_id),
            plan.plan_id,
            c.provider,
            plan.record_id(c) or "",
            c.service_date.isoformat(),
            status_badge(c.status),
            cents(c.billed),
            cents(c.allowed),
            cents(c.plan_paid),
            cents(c.paid),
        )
        for plan, c in shown
    ]
    foot = (
        f"{len(rows)} claims", "", "", "", "", "",
        cents(sum(c.billed for _, c in rows)),
        cents(sum(c.allowed for _, c in rows)),
        cents(sum(c.plan_paid for _, c in rows)),
        cents(sum(c.paid for _, c in rows)),
    )  # fmt: skip
    claims = table(
        headers,
        body_rows,
        caption=f"Claims {_range(page, len(rows))} of {len(rows)}; totals of all {len(rows)}",
        right=("billed", "allowed", "plan paid", "paid"),
        foot=foot,
        table_id="claims",
    )
    pager = _pager(wanted, page, pages)
    warnings = join(notice(p, kind="error") for p in problems)
    return "Claims", Markup(warnings + form + claims + pager)


def _range(page: int, total: int) -> str:
    if not total:
        return "0-0"
    return f"{(page - 1) * PAGE_SIZE + 1}-{min(page * PAGE_SIZE, total)}"


def _pager(wanted: ClaimFilter, page: int, pages: int) -> Markup:
    parts = []
    if page > 1:
        parts.append(link(url("/claims", **wanted.query(page=page - 1)), "← previous", rel="prev"))
    parts.append(esc(f"page {page} of {pages}"))
    if page < pages:
        parts.append(link(url("/claims", **wanted.query(page=page + 1)), "next →", rel="next"))
    return Markup(f'<nav class="pager" aria-label="Pages of claims">{join(parts, " ")}</nav>')


# -- one claim --------------------------------------------------------------------------------


def claim_page(snapshot: Snapshot, claim_id: int, steps: Sequence[ClaimStep]) -> Page:
    found = snapshot.claim(claim_id)
    if found is None:
        return f"Claim {claim_id}", notice(
            f"There is no claim {claim_id} on this chain.", kind="error"
        )
    plan, claim = found
    facts = definitions(
        [
            ("status", claim.status.replace("_", " ")),
            ("plan", plan.plan_id),
            ("provider", claim.provider),
            ("record", plan.record_id(claim) or "unknown to this state folder"),
            ("service date", claim.service_date.isoformat()),
            ("billed", cents(claim.billed)),
            ("allowed", cents(claim.allowed)),
            ("plan paid", cents(claim.plan_paid)),
            ("patient responsibility", cents(claim.patient_responsibility)),
            ("paid", cents(claim.paid)),
        ],
        dl_id="claim-facts",
    )
    money = ("billed", "allowed", "deductible", "copay", "coinsurance", "benefit limit",
             "plan paid", "patient")  # fmt: skip
    lines = table(
        ["line", "code", "units", *money, "reasons"],
        [
            (
                index,
                line.code,
                line.units,
                cents(line.billed),
                cents(line.allowed),
                cents(line.deductible),
                cents(line.copay),
                cents(line.coinsurance),
                cents(line.benefit_limit),
                cents(line.plan_paid),
                cents(line.patient_responsibility),
                ", ".join(line.reasons),
            )
            for index, line in enumerate(claim.lines, start=1)
        ],
        caption="Lines",
        right=("units", *money),
        table_id="lines",
    )
    codes = sorted({int(r) for line in claim.lines for r in line.reasons})
    reasons = table(
        ["code", "group", "meaning", "amount"],
        [_reason_row(code, claim) for code in codes],
        caption="Reason codes on this claim",
        right=("amount",),
        table_id="reasons",
    )
    history = table(
        ["chain date", "step", "detail", "block", "transaction"],
        [_step_row(step) for step in steps],
        caption="History",
        table_id="history",
    )
    back = Markup(
        f"<p>{link(url('/claims', plan=plan.plan_id), f'All claims of {plan.plan_id}')} · "
        f"{link('/', 'Plans')}</p>"
    )
    return f"Claim {claim_id}", Markup(facts + lines + reasons + history + back)


def _reason_row(code: int, claim: OnChainClaim) -> tuple[object, ...]:
    amount = sum(cut for line in claim.lines for c, cut in line.adjustments if c == code)
    try:
        group = adjustment_group(code)
    except ClaimsError:
        group = ""
    return (code, group, REASONS.get(code, "see the X12 reason codes"), cents(amount))


def _step_row(step: ClaimStep) -> tuple[object, ...]:
    args = step.args
    detail = ""
    if step.name == "ClaimSubmitted":
        detail = f"plan paid {cents(int(args['plan_paid']))}"
    elif step.name == "ClaimPendingReview":
        detail = f"waits for an adjudicator: {cents(int(args['plan_paid']))}"
    elif step.name == "ClaimReviewed":
        verdict = (
            "approved" if args.get("approved") else f"denied: {reason_text(args['reason'] or 50)}"
        )
        detail = f"{verdict}, by {args.get('adjudicator')}"
    elif step.name == "ClaimQueued":
        detail = f"position {args['position']}, {cents(int(args['amount']))}"
    elif step.name in ("ClaimPaid", "ProviderCredited"):
        detail = f"{cents(int(args['amount']))}" + (
            f" to {args['payee']}" if "payee" in args else ""
        )
    else:
        detail = ", ".join(
            f"{k}: {_arg_text(v)}" for k, v in args.items() if k not in ("claim_id", "plan_id")
        )
    name = STEP_NAMES.get(step.name, step.name)
    return (day_text(step.day), name, detail, step.block_number, Markup(
        f"<code>0x{esc(step.tx_hash.hex())}</code>"
    ))  # fmt: skip


def _arg_text(value: object) -> str:
    if isinstance(value, bytes):
        return bytes32_to_text(value) if len(value) == 32 else "0x" + value.hex()
    return str(value)


# -- reviews ----------------------------------------------------------------------------------


def reviews_page(snapshot: Snapshot, query: Mapping[str, str]) -> Page:
    plan_id = query.get("plan") or None
    plans = [p for p in snapshot.plans.values() if plan_id in (None, p.plan_id)]
    pending = [(p, c) for p in plans for c in p.claims if c.status == "pending_review"]
    quorum = any(p.votes for p in plans)
    headers = ["claim", "plan", "provider", "record", "service date", "billed", "to pay"]
    if quorum:
        headers.append("votes so far")
    rows = []
    for plan, claim in pending:
        row: list[object] = [
            link(f"/claims/{claim.claim_id}", claim.claim_id),
            plan.plan_id,
            claim.provider,
            plan.record_id(claim) or "",
            claim.service_date.isoformat(),
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
    note = (
        Markup("")
        if quorum
        else Markup("<p>This engine decides a review with one adjudicator: there are no votes.</p>")
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
    lines: dict[tuple[str, int], int] = {}
    claims: dict[tuple[str, int], set[int]] = {}
    amounts: dict[tuple[str, int], int] = {}
    for plan in plans:
        for claim in plan.claims:
            for line in claim.lines:
                if line.denial is None:
                    continue
                key = (claim.provider, line.denial)
                lines[key] = lines.get(key, 0) + 1
                claims.setdefault(key, set()).add(claim.claim_id)
                amounts[key] = amounts.get(key, 0) + line.billed
    order = sorted(lines, key=lambda k: (k[0], -amounts[k], k[1]))
    return [
        (provider, code, REASONS.get(code, ""), lines[(provider, code)],
         len(claims[(provider, code)]), cents(amounts[(provider, code)]))
        for provider, code in order
    ]  # fmt: skip


# -- members ----------------------------------------------------------------------------------


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
