"""The dashboard's parts without a chain or a server: the chart, the labels, the filters,
the upload reader, the pool's history (with the events engines with voids add), the
history rows of voids and review votes."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest

from claimsengine.abi import DecodedEvent
from claimsengine.dashboard.charts import nice_ceiling, pool_chart
from claimsengine.dashboard.claims import ClaimFilter, _step_detail
from claimsengine.dashboard.labels import reason_text
from claimsengine.dashboard.reconciliation import UPLOADS_KEPT, Ledger, LedgerShelf, parse_upload
from claimsengine.dashboard.reviews import _votes_text
from claimsengine.dashboard.snapshot import PlanTerms, pool_history
from claimsengine.days import SECONDS_PER_DAY, to_day
from claimsengine.errors import LedgerError


def test_the_chart_axis_reads_in_round_amounts() -> None:
    # cents: 1.00, 2.00, 2.50, 5.00, 10.00 ... the smallest at least the value.
    assert [nice_ceiling(v) for v in (1, 100, 101, 2_499, 2_501, 2_767_700)] == [
        100, 100, 200, 250 * 10, 500 * 10, 5_000_000,
    ]  # fmt: skip


def test_the_chart_is_escaped_svg_with_a_text_summary() -> None:
    day = to_day("2027-07-01")
    svg = pool_chart([day, day + 3], [50_000, 30_000], [0, 20_000], title="<b>pool</b>")
    assert svg.startswith("<svg") and "<script" not in svg
    assert "<title>&lt;b&gt;pool&lt;/b&gt;</title>" in svg
    assert "balance now 300.00; paid in all 200.00" in svg
    assert "No money has moved" in pool_chart([], [], [], title="empty")


def test_reason_codes_read_with_their_group_and_meaning() -> None:
    assert reason_text(45) == "45 (CO): charge above the fee schedule"
    assert reason_text("1") == "1 (PR): deductible"
    assert reason_text(999) == "999: see the X12 claim adjustment reason codes"


def test_a_bad_filter_is_reported_and_left_out() -> None:
    wanted, problems = ClaimFilter.from_query({"from": "2027-02-30", "to": "2027-03-01",
                                               "page": "-2", "status": "paid"})  # fmt: skip
    assert wanted.since is None and wanted.until == date(2027, 3, 1)
    assert wanted.page == 1 and wanted.status == "paid"
    assert problems == [
        "field from: '2027-02-30' is not a calendar date",
        "page: expected a page number, got '-2'",
    ]


def test_an_upload_error_names_the_uploaded_file_line_and_field() -> None:
    content = b"record_id,expected_paid\nR-1,95.00\nR-2,12.345\n"
    with pytest.raises(LedgerError) as raised:
        parse_upload("C:\\ledgers\\june.csv", content)
    assert str(raised.value).startswith("june.csv: line 3: record R-2: field expected_paid:")
    with pytest.raises(LedgerError, match=r"^upload.csv: is not UTF-8 text"):
        parse_upload("", b"record_id,expected_paid\n\xff\xfe,1\n")
    assert parse_upload("ok.csv", content[:-15]).rows[0].expected_paid == 95_00


def test_the_shelf_keeps_the_last_uploads_only() -> None:
    shelf = LedgerShelf()
    tokens = [shelf.put(Ledger(f"l{i}.csv", ())) for i in range(UPLOADS_KEPT + 1)]
    assert shelf.get(tokens[0]) is None
    assert shelf.get(tokens[-1]) == Ledger(f"l{UPLOADS_KEPT}.csv", ())
    assert len(set(tokens)) == len(tokens)


def test_history_rows_for_votes_and_voids() -> None:
    vote = {"approved": False, "reason": 50, "adjudicator": "0xA", "approvals": 1, "denials": 1}
    assert _step_detail("ReviewVoted", vote) == (
        "votes to deny: 50 (CO): not medically necessary (review), by 0xA; "
        "1 to approve, 1 to deny so far"
    )
    voided = {"status_before": 4, "replaced_by": 12, "debt": 95_00}
    assert _step_detail("ClaimVoided", voided) == (
        "was 4, replaced by claim 12, the provider owes 95.00"
    )
    assert _votes_text([{"approved": True}, {"approved": False}]) == "1 to approve, 1 to deny"
    assert _votes_text([]) == "none yet"


def _event(name: str, block: int, log_index: int, **args: Any) -> DecodedEvent:
    return DecodedEvent(name, args, block, bytes(32), log_index, "0x0")


def test_the_pool_history_puts_a_recovered_debt_back() -> None:
    # Funded 500.00 on day 1; 120.00 paid on day 2, of which a provider's debt of 20.00 was
    # kept back and returned to the pool: 500.00 - 120.00 + 20.00 = 400.00.
    day = to_day("2027-03-01")
    events = {
        "PoolFunded": [_event("PoolFunded", 1, 0, amount=500_00, balance=500_00)],
        "PoolWithdrawn": [],
        "ClaimPaid": [_event("ClaimPaid", 2, 1, amount=120_00)],
        "DebtRecovered": [_event("DebtRecovered", 2, 2, amount=20_00)],
    }
    engine = SimpleNamespace(
        abi=SimpleNamespace(events=dict.fromkeys(events)),
        events=lambda name, *topics, from_block=0: events[name],
    )
    stamps = {1: day * SECONDS_PER_DAY, 2: (day + 1) * SECONDS_PER_DAY + 60}
    chain = SimpleNamespace(
        block_at=lambda n: SimpleNamespace(header=SimpleNamespace(timestamp=stamps[n]))
    )
    history = pool_history(engine, chain, "SILVER-2027", 0, {})  # type: ignore[arg-type]
    assert [(d.day - day, d.balance, d.paid, d.funded) for d in history] == [
        (0, 500_00, 0, 500_00),
        (1, 400_00, 120_00, 0),
    ]


def test_the_benefit_period_start() -> None:
    terms = PlanTerms(
        effective_day=to_day("2027-01-01"), benefit_period_days=365, waiting_period_days=0,
        timely_filing_days=365, deductible=0, out_of_pocket_max=0, annual_benefit_max=None,
        coinsurance_bps=0, auto_approve_limit=0, provider_daily_limit=None,
    )  # fmt: skip
    assert terms.period_start(to_day("2027-07-01")) == to_day("2027-01-01")
    assert terms.period_start(to_day("2028-01-01")) == to_day("2028-01-01")
    assert terms.period_start(to_day("2026-12-01")) == to_day("2027-01-01")
