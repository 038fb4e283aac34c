"""The claims pages: the table with its filters, pages and totals, and one claim."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from claimsengine.abi import bytes32_to_text
from claimsengine.dashboard.labels import (
    CLAIM_COLUMNS,
    STEP_NAMES,
    Page,
    claim_cells,
    day_text,
    reason_group,
    reason_meaning,
    reason_text,
    status_badge,
    statuses_of,
)
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
from claimsengine.dashboard.snapshot import ClaimStep, Snapshot
from claimsengine.days import parse_date, to_day
from claimsengine.errors import InputError

if TYPE_CHECKING:
    from claimsengine.reconcile import OnChainClaim

#: Rows per page of the claims table.
PAGE_SIZE = 50


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

    @property
    def everything(self) -> bool:
        return not (self.status or self.provider or self.since or self.until)

    def select(self, claims: Sequence[OnChainClaim]) -> list[OnChainClaim]:
        """The claims this filter keeps, in their order."""
        if self.everything:
            return list(claims)
        status, provider = self.status, self.provider
        first = to_day(self.since) if self.since else None
        last = to_day(self.until) if self.until else None
        return [
            c
            for c in claims
            if (status is None or c.status == status)
            and (provider is None or c.provider == provider)
            and (first is None or c.service_day >= first)
            and (last is None or c.service_day <= last)
        ]

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
    if len(plans) == 1:  # a plan's claims are in claim-id order already
        rows = wanted.select(plans[0].claims)
    else:
        rows = sorted(
            (c for plan in plans for c in wanted.select(plan.claims)), key=lambda c: c.claim_id
        )
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = min(wanted.page, pages)
    shown = [(snapshot.plan_of(c), c) for c in rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]]

    providers = sorted({p for plan in plans for p in plan.providers})
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
                    [("", "any"), *((s, s.replace("_", " ")) for s in statuses_of(plans))],
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
    headers = [*CLAIM_COLUMNS, "status", "billed", "allowed", "plan paid", "paid"]
    body_rows = [
        (
            *claim_cells(plan, c),
            status_badge(c.status),
            cents(c.billed),
            cents(c.allowed),
            cents(c.plan_paid),
            cents(c.paid),
        )
        for plan, c in shown
    ]
    if wanted.everything:
        sums = [sum(plan.totals[i] for plan in plans) for i in range(4)]
    else:
        sums = [0, 0, 0, 0]
        for c in rows:
            sums[0] += c.billed
            sums[1] += c.allowed
            sums[2] += c.plan_paid
            sums[3] += c.paid
    foot = (f"{len(rows)} claims", "", "", "", "", "", *(cents(total) for total in sums))
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
    return (code, reason_group(code), reason_meaning(code), cents(amount))


def _step_row(step: ClaimStep) -> tuple[object, ...]:
    name = STEP_NAMES.get(step.name, step.name)
    return (day_text(step.day), name, _step_detail(step.name, step.args), step.block_number,
            Markup(f"<code>0x{esc(step.tx_hash.hex())}</code>"))  # fmt: skip


def _step_detail(name: str, args: Mapping[str, Any]) -> str:
    if name in ("ClaimSubmitted", "ClaimPendingReview"):
        what = "plan paid" if name == "ClaimSubmitted" else "waits for review:"
        return f"{what} {cents(int(args['plan_paid']))}"
    if name in ("ClaimReviewed", "ReviewVoted"):
        approved, reason = bool(args.get("approved")), reason_text(args["reason"] or 50)
        if name == "ClaimReviewed":
            verdict = "approved" if approved else f"denied: {reason}"
        else:
            verdict = "votes to approve" if approved else f"votes to deny: {reason}"
        tally = (
            f"; {args['approvals']} to approve, {args['denials']} to deny so far"
            if "approvals" in args
            else ""
        )
        return f"{verdict}, by {args.get('adjudicator')}{tally}"
    if name == "ClaimQueued":
        return f"position {args['position']}, {cents(int(args['amount']))}"
    if name in ("ClaimPaid", "ProviderCredited", "DebtRecovered"):
        return cents(int(args["amount"])) + (f" to {args['payee']}" if "payee" in args else "")
    if name == "ClaimVoided":
        parts = [f"was {_arg_text(args.get('status_before'))}"]
        if args.get("replaced_by"):
            parts.append(f"replaced by claim {args['replaced_by']}")
        if args.get("debt"):
            parts.append(f"the provider owes {cents(int(args['debt']))}")
        return ", ".join(parts)
    return ", ".join(
        f"{k}: {_arg_text(v)}" for k, v in args.items() if k not in ("claim_id", "plan_id")
    )


def _arg_text(value: object) -> str:
    if isinstance(value, bytes):
        return bytes32_to_text(value) if len(value) == 32 else "0x" + value.hex()
    return str(value)
