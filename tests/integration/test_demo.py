"""`claims demo`: the whole flow on a fresh chain, with outcomes worked out by hand.

Plan SILVER-2027 (fixtures/plans/silver.yaml): deductible 1000.00, out-of-pocket max
3000.00, coinsurance 20%, auto-approve limit 5000.00. The pool gets 300.00 first, so it
pays the first three 95.00 claims and then runs dry (15.00 left); later approved claims
queue until the 50,000.00 top-up.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from claimsengine import demo as demo_module
from claimsengine.cli.main import main

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
DEMO_DATA = REPO / "claimsengine" / "demo_data"


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    workdir = tmp_path_factory.mktemp("demo-cwd")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(workdir)
        result = CliRunner().invoke(main, ["--json", "demo"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    # A fresh chain in a temporary folder: nothing in the working directory (no .claims).
    assert list(workdir.iterdir()) == []
    yield json.loads(result.stdout)


def by_record(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {claim["record_id"]: claim for claim in summary["claims"]}


def test_totals(summary: dict[str, Any]) -> None:
    assert summary["plan_id"] == "SILVER-2027"
    assert summary["clock"] == "2027-07-01"
    assert summary["rejected"] == []
    assert summary["state_dir"] is None
    # paid: 101, 102, 103, 201, 203 (its visit line) and 104 after review.
    # 95 * 4 + 272.00 + 27025.00 = 27677.00; pool: 300 + 50000 - 27677 = 22623.00.
    assert summary["totals"] == {
        "claims": 9,
        "paid": 6,
        "denied": 3,
        "pending_review": 0,
        "queued": 0,
        "reviewed": 1,
        "queued_then_settled": 3,
        "plan_paid": "27677.00",
        "funded": "50300.00",
        "pool_balance": "22623.00",
        "pool_queued": 0,
    }


def test_office_visit_with_copay(summary: dict[str, Any]) -> None:
    # 99213 billed 180.00, fee 120.00 -> allowed 120.00 (45); copay 25.00 (3), no
    # deductible for this code -> plan pays 95.00. Paid at once from the 300.00.
    claim = by_record(summary)["HOSP-A-2027-000101"]
    assert claim["statuses"] == ["paid"]
    assert claim["plan_paid"] == "95.00"
    (line,) = claim["result"]["lines"]
    assert (line["billed"], line["allowed"], line["copay"]) == ("180.00", "120.00", "25.00")
    assert (line["deductible"], line["coinsurance"]) == ("0.00", "0.00")
    assert line["plan_paid"] == "95.00" and line["reasons"] == ["45", "3"]


def test_knee_replacement_goes_to_review_then_queues_then_is_paid(
    summary: dict[str, Any],
) -> None:
    # M-0001 paid 25.00 of copay on 000101 already. 27447: allowed 30000.00; deductible
    # 1000.00; coinsurance 20% of 29000.00 = 5800.00, capped by what is left of the
    # out-of-pocket max: 3000.00 - 25.00 - 1000.00 = 1975.00. Plan pays 30000 - 2975 =
    # 27025.00: above the 5000.00 auto-approve limit, so it waits for review; approved,
    # it queues behind the pool's 15.00 until the top-up.
    # The plan needs two adjudicators (review_quorum 2): the first approval leaves it
    # pending review, the second approves it.
    claim = by_record(summary)["HOSP-A-2027-000104"]
    assert claim["submitted_status"] == "pending_review"
    assert claim["reviewed"] == "approved"
    assert claim["votes"] == [
        {"adjudicator": "adjudicator", "decision": "approve", "status": "pending_review"},
        {"adjudicator": "auditor", "decision": "approve", "status": "queued"},
    ]
    review = claim["result"]["review"]
    assert (review["quorum"], review["approvals"], review["denials"]) == (2, 2, 0)
    assert claim["statuses"] == ["pending_review", "queued", "paid"]
    (line,) = claim["result"]["lines"]
    assert line["allowed"] == "30000.00"
    assert line["deductible"] == "1000.00"
    assert line["coinsurance"] == "1975.00"
    assert line["patient_responsibility"] == "2975.00"
    assert line["plan_paid"] == "27025.00"
    assert line["reasons"] == ["45", "1", "2"]


def test_emergency_visit_meets_the_deductible_and_queues(summary: dict[str, Any]) -> None:
    # M-0004's first claim: 99285 allowed 1200.00 takes the whole 1000.00 deductible, then
    # 20% of 200.00 = 40.00 -> 160.00; 71046 95.00 - 19.00 = 76.00; 80053 45.00 - 9.00 =
    # 36.00. Total 272.00, more than the 15.00 left in the pool: queued, then paid.
    claim = by_record(summary)["HOSP-B-2027-000201"]
    assert claim["statuses"] == ["queued", "paid"]
    lines = claim["result"]["lines"]
    assert [(ln["code"], ln["deductible"], ln["coinsurance"], ln["plan_paid"]) for ln in lines] == [
        ("99285", "1000.00", "40.00", "160.00"),
        ("71046", "0.00", "19.00", "76.00"),
        ("80053", "0.00", "9.00", "36.00"),
    ]
    assert claim["plan_paid"] == "272.00"


def test_denials(summary: dict[str, Any]) -> None:
    claims = by_record(summary)
    # After coverage ended (27), in the waiting period (26), two units a day of a
    # one-a-day code (151): whole claims denied.
    for record_id, reason in (
        ("HOSP-A-2027-000105", "27"),
        ("HOSP-B-2027-000202", "26"),
        ("HOSP-B-2027-000204", "151"),
    ):
        claim = claims[record_id]
        assert claim["status"] == "denied" and claim["plan_paid"] == "0.00"
        assert all(line["reasons"] == [reason] for line in claim["result"]["lines"])
    # A knee replacement without prior authorisation (197): that line only.
    mixed = claims["HOSP-B-2027-000203"]
    assert mixed["status"] == "paid" and mixed["plan_paid"] == "95.00"
    assert mixed["reasons"] == ["99213: 45 3", "27447: 197 (denied)"]


def test_the_table_for_people(tmp_path: Path) -> None:
    kept = tmp_path / "kept"
    result = CliRunner().invoke(main, ["demo", "--keep", str(kept)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "pending_review → queued → paid (approved in review)" in out
    assert "Two-person review (review_quorum 2)" in out
    votes = [line.split() for line in out.splitlines() if " of 2 " in line]
    assert votes == [
        ["4", "1", "of", "2", "adjudicator", "approve", "pending_review"],
        ["4", "2", "of", "2", "auditor", "approve", "queued"],
    ]
    assert "27677.00" in out and "22623.00" in out
    # The renewal, one sentence (wrapped to the terminal's width).
    assert (
        "Renewed 4 members of SILVER-2027 for benefit period 1 (from 2028-01-01): 0 "
        "enrolments sent; 2 not renewed (coverage ended), 0 not covered yet."
    ) in " ".join(out.split())
    # The last step, in the next benefit period, with its explanation.
    said = " ".join(out.split())
    assert (
        "Next benefit period: the clock moves to 2028-01-05 (period 1). Renewed 4 members of "
        "SILVER-2027 for benefit period 2 (from 2028-12-31): 4 enrolments sent;"
    ) in said
    assert (
        "Claim 10, HOSP-B-2028-000301 (M-0004, HOSP-B): paid, plan paid 160.00; 99285: 45 1 "
        "2. Pool balance 22463.00."
    ) in said
    assert "claim 10 meets the deductible again (1000.00): the plan pays 160.00." in said
    # The kept chain can be explored afterwards, in 2028.
    status = CliRunner().invoke(main, ["--state", str(kept), "--json", "status", "4"])
    assert status.exit_code == 0, status.output
    assert json.loads(status.stdout)["record_id"] == "HOSP-A-2027-000104"
    status = CliRunner().invoke(main, ["--state", str(kept), "--json", "status", "10"])
    assert status.exit_code == 0, status.output
    assert json.loads(status.stdout)["status"] == "paid"
    again = CliRunner().invoke(main, ["demo", "--keep", str(kept)])
    assert again.exit_code == 1
    assert again.stderr.startswith(f"error: {kept} is not empty")


def test_run_demo_from_python_reports_each_step(tmp_path: Path) -> None:
    steps: list[str] = []
    result = demo_module.run_demo(on_step=steps.append, initial_funding=100_000_00)
    assert steps == list(demo_module.DEMO_STEPS)
    # With a big pool nothing queues: the approved claim is paid at once.
    assert result.totals()["queued_then_settled"] == 0
    assert result.totals()["paid"] == 6
    knee = next(c for c in result.claims if c.record_id == "HOSP-A-2027-000104")
    assert knee.statuses == ["pending_review", "paid"]


def test_the_shipped_demo_data_is_a_copy_of_the_fixtures() -> None:
    pairs = {
        DEMO_DATA / "silver.yaml": FIXTURES / "plans" / "silver.yaml",
        DEMO_DATA / "members.csv": FIXTURES / "members.csv",
    }
    records = sorted(p.name for p in (FIXTURES / "records").iterdir() if p.suffix != ".md")
    assert sorted(p.name for p in (DEMO_DATA / "records").iterdir()) == records
    for name in records:
        pairs[DEMO_DATA / "records" / name] = FIXTURES / "records" / name
    for shipped, fixture in pairs.items():
        assert shipped.read_bytes() == fixture.read_bytes(), f"{shipped} is out of date"


def test_without_the_repository_the_demo_uses_the_package_data(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # As in a plain `pip install .`: no fixtures/ next to the package.
    monkeypatch.setattr(demo_module, "__file__", str(tmp_path / "claimsengine" / "demo.py"))
    with demo_module.demo_inputs() as inputs:
        assert inputs.plan.read_bytes() == (DEMO_DATA / "silver.yaml").read_bytes()
        assert inputs.members.name == "members.csv"
        assert len(list(inputs.records.iterdir())) == 3


def test_the_insurer_renews_for_the_next_benefit_period(summary: dict[str, Any]) -> None:
    # On 2027-07-01 (period 0 of a plan of 365-day periods from 2027-01-01) the next period
    # is 1, from 2028-01-01. fixtures/members.csv: M-0001, M-0002, M-0004 (open-ended, from
    # 2027-01-01) and M-0006 (from 2027-03-01) are covered in it; M-0003 (to 2027-12-31) and
    # M-0005 (to 2027-04-30) ended before it. Set-up enrolled periods 0 and 1 already, so
    # renew sends nothing.
    assert summary["renewal"] == {
        "plan_id": "SILVER-2027",
        "period": 1,
        "period_start": "2028-01-01",
        "renewed": 4,
        "ended": 2,
        "not_started": 0,
        "enrolments": 0,
    }
    # The summary's clock is the demo's day (the last step's day is its own).
    assert summary["clock"] == "2027-07-01"


def test_the_last_step_crosses_into_the_next_benefit_period(summary: dict[str, Any]) -> None:
    # 2028-01-05 is day 369 of the plan (from 2027-01-01): period 369 // 365 = 1. Renewing
    # there enrols period 2, from 2027-01-01 + 730 days = 2028-12-31 (2028 is a leap year):
    # the same four members are covered (M-0003 ended 2027-12-31, M-0005 2027-04-30), and
    # none had period 2 yet, so 4 enrolments are sent.
    later = summary["next_period"]
    assert (later["clock"], later["period"]) == ("2028-01-05", 1)
    # The same roster as the 2027 renewal (asserted whole above), one period on.
    first = summary["renewal"]
    assert (first["renewed"], first["ended"], first["not_started"]) == (4, 2, 0)
    assert later["renewal"] == {
        **first,
        "period": 2,
        "period_start": "2028-12-31",
        "enrolments": 4,
    }
    # M-0004 met the whole 1000.00 deductible in period 0 (claim 6, HOSP-B-2027-000201).
    # The same emergency visit in period 1: 99285 billed 3200.00, allowed 1200.00 (45); the
    # accumulators start at zero, so the deductible is 1000.00 again (1), then 20% of
    # 200.00 = 40.00 coinsurance (2): plan pays 1200 - 1040 = 160.00 (with the 2027
    # accumulators it would have been 1200 - 240 = 960.00). Paid at once from the pool:
    # 22623.00 - 160.00 = 22463.00.
    assert later["member_id"] == "M-0004"
    assert (later["earlier_deductible"], later["deductible"]) == ("1000.00", "1000.00")
    claim = later["claim"]
    assert (claim["claim_id"], claim["record_id"]) == (10, "HOSP-B-2028-000301")
    assert claim["statuses"] == ["paid"] and claim["plan_paid"] == "160.00"
    (line,) = claim["result"]["lines"]
    assert (line["billed"], line["allowed"], line["deductible"]) == (
        "3200.00",
        "1200.00",
        "1000.00",
    )
    assert (line["coinsurance"], line["patient_responsibility"]) == ("40.00", "1040.00")
    assert line["plan_paid"] == "160.00" and line["reasons"] == ["45", "1", "2"]
    assert later["pool_balance"] == "22463.00"
    assert later["explanation"] == (
        "M-0004 paid 1000.00 of deductible in period 0; period 1 starts from zero, so claim "
        "10 meets the deductible again (1000.00): the plan pays 160.00."
    )
    # The 2027 totals are those of the nine 2027 claims.
    assert summary["totals"]["claims"] == 9 and summary["totals"]["plan_paid"] == "27677.00"


def test_without_the_new_period_the_chain_stays_in_2027(tmp_path: Path) -> None:
    steps: list[str] = []
    kept = tmp_path / "kept"
    result = demo_module.run_demo(kept, on_step=steps.append, new_period=False)
    assert steps == list(demo_module.DEMO_STEPS[:-1])
    assert result.next_period is None and result.to_json()["next_period"] is None
    assert len(result.claims) == 9
    time = CliRunner().invoke(main, ["--state", str(kept), "--json", "time", "show"])
    assert time.exit_code == 0, time.output
    assert "2027-07-01" in time.stdout
