"""The dashboard in headless Chromium: every page after a scenario, its figures against
`claims --json` on the same chain, the click-through, the filters, upload and download.

Each page test also writes the page's screenshot to docs/img/ (docs/dashboard.md shows
them)."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.conftest import PLAN, QUEUED_RECORD, REVIEW_RECORD, screenshot

pytestmark = pytest.mark.slow


def facts(tab: Any, dl_id: str) -> dict[str, str]:
    """The <dt>: <dd> pairs of a facts list."""
    items = tab.locator(f"#{dl_id} div")
    return {
        items.nth(i).locator("dt").inner_text(): items.nth(i).locator("dd").inner_text()
        for i in range(items.count())
    }


def rows(tab: Any, table_id: str, part: str = "tbody") -> list[list[str]]:
    found = tab.locator(f"#{table_id} {part} tr")
    return [found.nth(i).locator("td").all_inner_texts() for i in range(found.count())]


def all_claims(cli_json: Callable[..., Any]) -> list[dict[str, Any]]:
    """Every claim's `claims --json status` result, in claim-id order."""
    claims, claim_id = [], 1
    while True:
        try:
            claims.append(cli_json("status", str(claim_id)))
        except AssertionError:  # `claims status` fails past the last claim
            break
        claim_id += 1
    return claims


@pytest.fixture(scope="module")
def claims(cli_json: Callable[..., Any]) -> list[dict[str, Any]]:
    return all_claims(cli_json)


def test_plans_page_shows_the_pool_as_claims_pool_says(
    page: Any, dashboard_url: str, cli_json: Callable[..., Any], claims: list[dict[str, Any]]
) -> None:
    page.goto(dashboard_url + "/")
    pool = cli_json("pool", PLAN)
    shown = facts(page, f"pool-{PLAN}")
    for key in ("balance", "reserved", "free", "shortfall"):
        assert shown[key] == pool[key], key
    assert shown["queued claims"] == str(pool["queued"]) == "1"
    pending = [c for c in claims if c["status"] == "pending_review"]
    assert shown["pending review"] == str(len(pending)) == "1"
    # Paid this period (it began 2027-01-01): every payment so far, which is every paid
    # claim's plan_paid, as `claims status` reports them.
    paid = sum(Decimal(c["totals"]["plan_paid"]) for c in claims if c["status"] == "paid")
    assert shown["paid since 2027-01-01"] == f"{paid:.2f}"
    terms = facts(page, f"terms-{PLAN}")
    # fixtures/plans/silver.yaml: deductible 1000.00, coinsurance 20%.
    assert terms["deductible"] == "1000.00"
    assert terms["coinsurance"] == "20%"
    # The demo deploys it with a two-person review (review_quorum 2).
    assert terms["review quorum"] == "2 adjudicators"
    card = page.locator(f"section[aria-labelledby='plan-{PLAN}']")
    assert card.locator("figure svg").count() == 1
    # Three chain days moved the pool: the demo (07-01), the withdrawal (07-04), the top-up
    # (07-06); the last balance is the pool's.
    page.get_by_text("The numbers behind the chart").click()
    table = card.locator("details table tbody tr")
    days = [table.nth(i).locator("td").all_inner_texts() for i in range(table.count())]
    assert [d[0] for d in days] == ["2027-07-01", "2027-07-04", "2027-07-06"]
    assert days[-1][4] == pool["balance"]
    assert days[1][2] == "22000.00" and days[2][1] == "100.00"
    screenshot(page, "plans")


def test_claims_table_matches_claims_status(
    page: Any, dashboard_url: str, claims: list[dict[str, Any]]
) -> None:
    page.goto(dashboard_url + "/claims")
    shown = rows(page, "claims")
    assert len(shown) == len(claims) == 11
    for row, claim in zip(shown, claims, strict=True):
        assert row[0] == str(claim["claim_id"])
        assert row[2] == claim["provider_id"]
        assert row[3] == claim["record_id"]
        assert row[4] == claim["service_date"]
        assert row[5] == claim["status"].replace("_", " ")
        assert row[6:9] == [claim["totals"][k] for k in ("billed", "allowed", "plan_paid")]
        assert row[9] == (claim["totals"]["plan_paid"] if claim["status"] == "paid" else "0.00")
    foot = rows(page, "claims", "tfoot")[0]
    assert foot[0] == "11 claims"
    billed = sum(Decimal(c["totals"]["billed"]) for c in claims)
    assert foot[6] == f"{billed:.2f}"
    screenshot(page, "claims")


def test_filtering_the_claims_table(
    page: Any, dashboard_url: str, claims: list[dict[str, Any]]
) -> None:
    page.goto(dashboard_url + "/claims")
    page.select_option("#f-status", "paid")
    page.select_option("#f-provider", "HOSP-A")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"status=paid"))
    wanted = [c for c in claims if c["status"] == "paid" and c["provider_id"] == "HOSP-A"]
    shown = rows(page, "claims")
    assert [r[0] for r in shown] == [str(c["claim_id"]) for c in wanted]
    assert wanted  # the filter keeps some, and leaves some out
    assert len(wanted) < len(claims)
    plan_paid = sum(Decimal(c["totals"]["plan_paid"]) for c in wanted)
    foot = rows(page, "claims", "tfoot")[0]
    assert foot[0] == f"{len(wanted)} claims"
    assert foot[8] == f"{plan_paid:.2f}"
    # By service date: only the claims served from 2027-07-01 (the two added last).
    page.goto(dashboard_url + "/claims?from=2027-07-01")
    dates = {QUEUED_RECORD["service_date"], REVIEW_RECORD["service_date"]}
    assert {r[4] for r in rows(page, "claims")} == dates


def test_from_a_plan_to_a_claim_and_back(
    page: Any, dashboard_url: str, claims: list[dict[str, Any]]
) -> None:
    page.goto(dashboard_url + "/")
    page.get_by_role("link", name="11 claims").click()
    page.wait_for_url(re.compile(r"/claims\?plan=SILVER-2027"))
    knee = next(c for c in claims if c["record_id"] == "HOSP-A-2027-000104")
    page.get_by_role("link", name=str(knee["claim_id"]), exact=True).click()
    page.wait_for_url(re.compile(rf"/claims/{knee['claim_id']}$"))
    assert page.locator("h1").inner_text() == f"Claim {knee['claim_id']}"
    shown = facts(page, "claim-facts")
    assert shown["status"] == "paid"
    assert shown["plan paid"] == knee["totals"]["plan_paid"]
    lines = rows(page, "lines")
    assert [line[1] for line in lines] == [line["code"] for line in knee["lines"]]
    assert lines[0][-1] == ", ".join(knee["lines"][0]["reasons"])
    meanings = {r[0]: r[2] for r in rows(page, "reasons")}
    assert meanings["45"] == "charge above the fee schedule"
    # Its history: submitted and sent to review, two votes to approve (the plan's
    # review_quorum is 2), the approval that the second vote decided, queued, paid.
    steps = [r[1] for r in rows(page, "history")]
    assert steps == [
        "submitted",
        "pending review",
        "review vote",
        "review vote",
        "reviewed",
        "queued",
        "paid",
    ]
    screenshot(page, "claim")
    page.go_back()
    page.wait_for_url(re.compile(r"/claims\?plan=SILVER-2027"))
    assert page.locator("h1").inner_text() == "Claims"


def test_reviews_page_lists_the_pending_claim_and_the_denials(
    page: Any, dashboard_url: str, cli_json: Callable[..., Any], claims: list[dict[str, Any]]
) -> None:
    page.goto(dashboard_url + "/reviews")
    queue = cli_json("review", "list")
    shown = rows(page, "pending")
    assert [r[0] for r in shown] == [str(c["claim_id"]) for c in queue]
    assert shown[0][3] == REVIEW_RECORD["record_id"]
    # Allowed 30000.00 (the fee), M-0001's out-of-pocket maximum already met: all to pay.
    assert shown[0][6] == queue[0]["totals"]["plan_paid"] == "30000.00"
    denials = {(r[0], r[1]): r for r in rows(page, "denials")}
    denied_lines = [
        (c["provider_id"], line["reasons"][0], line["billed"])
        for c in claims
        for line in c["lines"]
        if line["denied"]
    ]
    assert {(p, code) for p, code, _ in denied_lines} == set(denials)
    for (provider, code), row in denials.items():
        mine = [Decimal(b) for p, c, b in denied_lines if (p, c) == (provider, code)]
        assert row[3] == str(len(mine))
        assert row[5] == f"{sum(mine):.2f}"
    screenshot(page, "reviews")


def test_members_page_shows_accumulators_for_the_insurer(
    page: Any, dashboard_url: str, cli_json: Callable[..., Any]
) -> None:
    page.goto(dashboard_url + "/members")
    page.fill("#f-member", "M-0002")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"member=M-0002"))
    member = cli_json("member", PLAN, "M-0002")
    shown = facts(page, "accumulators")
    assert shown["deductible met"].startswith(member["deductible_met"] + " of ")
    assert shown["out-of-pocket met"].startswith(member["oop_met"] + " of ")
    assert shown["benefit used"] == member["benefit_used"]
    text = page.locator("main").inner_text()
    assert "no names, dates of birth or diagnoses" in text
    screenshot(page, "members")


def test_reconcile_a_ledger_from_the_state_folder(
    page: Any, dashboard_url: str, dashboard_chain: Path, cli_json: Callable[..., Any]
) -> None:
    page.goto(dashboard_url + "/reconcile")
    page.select_option("#f-ledger", "ledger.csv")
    page.get_by_role("button", name="Reconcile", exact=True).click()
    page.wait_for_url(re.compile(r"ledger=ledger.csv"))
    report = cli_json("reconcile", PLAN, "--ledger", str(dashboard_chain / "ledger.csv"))
    shown = facts(page, "summary")
    assert shown == {k.replace("_", " "): str(v) for k, v in report["summary"].items()}
    assert shown["short paid"] == "1" and shown["not on chain"] == "1"
    records = rows(page, "records")
    assert [r[0] for r in records] == [r["record_id"] for r in report["records"]]
    providers = rows(page, "providers")
    assert [(p[0], p[4]) for p in providers] == [
        (p["provider_id"], p["paid"]) for p in report["providers"]
    ]
    screenshot(page, "reconcile")


def test_upload_a_ledger_and_download_the_835(
    page: Any, dashboard_url: str, dashboard_chain: Path, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from claimsengine.cli.main import main

    page.goto(dashboard_url + "/reconcile")
    page.set_input_files("#f-upload", str(dashboard_chain / "ledger.csv"))
    page.get_by_role("button", name="Upload and reconcile").click()
    page.wait_for_url(re.compile(r"upload="))
    assert facts(page, "summary")["short paid"] == "1"
    with page.expect_download() as info:
        page.get_by_role("link", name="835 remittance").click()
    download = info.value
    assert download.suggested_filename == "SILVER-2027-ledger.835"
    saved = tmp_path / "remit.835"
    download.save_as(str(saved))
    expected = CliRunner().invoke(
        main,
        ["--state", str(dashboard_chain), "reconcile", PLAN, "--ledger",
         str(dashboard_chain / "ledger.csv"), "--format", "x12-835"],
    )  # fmt: skip
    assert expected.exit_code == 0, expected.output
    assert saved.read_text() == expected.stdout
    assert saved.read_text().startswith("ISA*")


def test_a_malformed_upload_gets_a_clear_message(
    page: Any, dashboard_url: str, tmp_path: Path
) -> None:
    bad = tmp_path / "june-ledger.csv"
    bad.write_text("record_id,expected_paid\nHOSP-A-2027-000101,95.00\nHOSP-A-2027-000102,12,50\n")
    page.goto(dashboard_url + "/reconcile")
    page.set_input_files("#f-upload", str(bad))
    page.get_by_role("button", name="Upload and reconcile").click()
    alert = page.get_by_role("alert")
    assert alert.inner_text().startswith(
        "The ledger was not read: june-ledger.csv: line 3: has 3 fields, the header has 2"
    )
    assert "quote a value that contains a comma" in alert.inner_text()
    assert "Traceback" not in page.content()
    screenshot(page, "upload-error")


def test_the_tables_work_without_javascript(
    browser: Any, dashboard_url: str, claims: list[dict[str, Any]]
) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        tab = context.new_page()
        tab.goto(dashboard_url + "/claims")
        tab.select_option("#f-status", "denied")
        tab.get_by_role("button", name="Filter").click()
        tab.wait_for_url(re.compile(r"status=denied"))
        denied = [str(c["claim_id"]) for c in claims if c["status"] == "denied"]
        assert [r[0] for r in rows(tab, "claims")] == denied
    finally:
        context.close()


def test_the_keyboard_reaches_the_content_and_every_field_has_a_label(
    page: Any, dashboard_url: str, claims: list[dict[str, Any]]
) -> None:
    page.goto(dashboard_url + "/claims")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to the content"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"#main$"))
    # The filters by their labels, as a screen reader names them, then sent with Enter.
    page.get_by_label("Status").select_option("queued")
    page.get_by_label("Service to").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"status=queued"))
    queued = [str(c["claim_id"]) for c in claims if c["status"] == "queued"]
    assert [r[0] for r in rows(page, "claims")] == queued
