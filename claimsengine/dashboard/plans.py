"""The plans page: each plan's terms, pool, counts, payments this period and its chart."""

from __future__ import annotations

from claimsengine.dashboard.charts import pool_chart
from claimsengine.dashboard.labels import Page, day_text, statuses_of
from claimsengine.dashboard.markup import (
    Markup,
    cents,
    definitions,
    esc,
    join,
    link,
    notice,
    table,
    url,
)
from claimsengine.dashboard.snapshot import PlanView, Snapshot


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
        ("review quorum", _quorum(terms.review_quorum)),
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
        f"{plan.count(status)} {status.replace('_', ' ')}" for status in statuses_of([plan])
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


def _quorum(quorum: int) -> str:
    """How many adjudicators decide a claim in review."""
    return "1 adjudicator" if quorum == 1 else f"{quorum} adjudicators"
