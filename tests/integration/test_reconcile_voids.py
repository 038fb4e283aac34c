"""Voids and corrections, reconciled from a real chain (the embedded one): the contract's
ClaimVoided and DebtRecovered events, read back by reconcile, and the 835 (checked by
pyx12), the FHIR Bundle and the CSV made from them.

It starts from test_reconcile's chain (fixtures/plans/silver.yaml, today 2027-07-01, the pool
funded with 400.00, then A-1001, A-1002, B-2001, B-2002 paid 95.00 each, B-2003 queued for
95.00 with 20.00 left in the pool, A-1003 denied, A-1004 pending review), with the
hospitals' NPIs registered. Then, derived by hand from adjudication.md ("Before and after a
claim"; every claim here is a 99213 visit: allowed 120.00, copay 25.00, the plan pays 95.00):

1. HOSP-A voids A-1001 (paid 95.00): HOSP-A owes the plan 95.00. The 95.00 stays with the
   hospital: a void moves no money; the pool still has 20.00.
2. HOSP-A corrects A-1002 (paid 95.00) with record A-1002-C, which bills 150.00 (a corrected
   record takes a new record id): A-1002 is voided (HOSP-A owes 95.00 + 95.00 = 190.00) and
   A-1002-C submitted: billed 150.00, 45: 30.00, copay 25.00, the plan pays 95.00. B-2003
   waits in the queue, so it queues behind it.
3. The insurer funds 200.00: the pool has 220.00; the queue is paid in order: B-2003
   (HOSP-B) 95.00 is transferred (125.00 left), then the correction (HOSP-A) 95.00, all of it
   kept back for HOSP-A's debt (DebtRecovered 95.00, no transfer; back to the pool: 125.00).
   HOSP-A still owes 190.00 - 95.00 = 95.00.

HOSP-A: ClaimPaid 95.00 (A-1001) + 95.00 (A-1002) + 95.00 (its correction) = 285.00; voids
reversed 190.00; kept back 95.00; transfers 285.00 - 95.00 = 190.00, its token balance.
Recovered debt pays the oldest void first: A-1001's 95.00 is recovered, A-1002's is owed.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

from claimsengine.exports.csv import report_csv
from claimsengine.exports.fhir import bundle_json
from claimsengine.exports.x12 import build_835
from claimsengine.reconcile import ReconciliationReport, reconcile
from claimsengine.sdk import HospitalClient, InsurerClient
from claimsengine.workspace import Workspace
from tests.fhir_validator import assert_valid_bundle
from tests.integration.test_reconcile import (
    NPIS,
    PLAN,
    SCALE,
    build,
    by_record,
    claims,
    record,
    token_balance,
)
from tests.x12_validator import assert_valid_835

LEDGER = """record_id,expected_paid
A-1001,95.00
A-1002,95.00
A-1002-C,95.00
B-2003,95.00
"""


@pytest.fixture(scope="module")
def voids(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """The state after the three steps, and the claim id of each record."""
    folder = tmp_path_factory.mktemp("voids") / "state"
    with Workspace.open(folder, create=True) as ws:
        ids = build(ws)
        insurer = InsurerClient(ws, "insurer")
        with ws.command():
            insurer.add_provider(PLAN, "HOSP-A", "hospital-1", npi=NPIS["HOSP-A"])
            insurer.add_provider(PLAN, "HOSP-B", "hospital-2", npi=NPIS["HOSP-B"])
        hospital = HospitalClient(ws)
        with ws.command():
            voided = hospital.void(ids["A-1001"])
            assert voided.status == "voided"
            corrected = record("A-1002-C", "HOSP-A", "M-0002", "2027-03-14", [("99213", "150.00")])
            correction = hospital.replace(ids["A-1002"], corrected)
            assert (correction.status, correction.replaces) == ("queued", ids["A-1002"])
            ids["A-1002-C"] = correction.claim_id
        with ws.command():
            insurer.fund(PLAN, 20_000)
            assert ws.engine.provider_info(PLAN, "HOSP-A").debt == 9_500
    return folder, ids


@pytest.fixture(scope="module")
def report(
    voids: tuple[Path, dict[str, int]], tmp_path_factory: pytest.TempPathFactory
) -> ReconciliationReport:
    folder, _ids = voids
    ledger = tmp_path_factory.mktemp("ledger") / "ledger.csv"
    ledger.write_text(LEDGER)
    with Workspace.open(folder) as ws:
        return reconcile(ws, PLAN, ledger, member_ids=True)


def test_voided_records_and_the_correction(
    report: ReconciliationReport, voids: tuple[Path, dict[str, int]]
) -> None:
    _folder, ids = voids
    records = by_record(report)
    # A-1001: voided, no correction: 0.00 paid against the 95.00 expected.
    a1001 = records["A-1001"].to_json()
    assert (a1001["result"], a1001["paid"], a1001["plan_paid"]) == ("voided", "0.00", "95.00")
    assert records["A-1001"].difference == -9_500
    assert a1001["reasons"] == [
        "voided (was paid)",
        "payment 95.00 reversed: 95.00 recovered, 0.00 still owed",
    ]
    # A-1002: voided by its correction; none of its debt is back yet (the oldest void,
    # A-1001, is paid back first).
    a1002 = records["A-1002"].to_json()
    assert (a1002["result"], a1002["paid"], a1002["replaced_by"]) == (
        "voided",
        "0.00",
        ids["A-1002-C"],
    )
    assert a1002["reasons"] == [
        "voided (was paid)",
        "payment 95.00 reversed: 0.00 recovered, 95.00 still owed",
        f"replaced by claim {ids['A-1002-C']}",
    ]
    assert (a1002["debt"], a1002["debt_recovered"]) == ("95.00", "0.00")
    # A-1002-C: paid 95.00, though all of it went to the debt.
    correction = records["A-1002-C"].to_json()
    assert (correction["result"], correction["paid"]) == ("matched", "95.00")
    assert correction["replaces"] == ids["A-1002"]
    # B-2003 was paid when the insurer funded the pool.
    assert records["B-2003"].result == "matched"
    assert report.summary["voided"] == 2 and report.summary["matched"] == 2


def test_the_debt_and_the_transfers_balance(
    report: ReconciliationReport, voids: tuple[Path, dict[str, int]]
) -> None:
    totals = {p.provider_id: p for p in report.providers}
    hosp_a = totals["HOSP-A"]
    assert (hosp_a.paid, hosp_a.voided, hosp_a.recovered, hosp_a.debt) == (
        28_500,
        19_000,
        9_500,
        9_500,
    )
    assert hosp_a.transfers == 19_000 * SCALE
    assert totals["HOSP-B"].paid == totals["HOSP-B"].transfers // SCALE == 28_500
    assert report.ok, report.checks
    folder, _ids = voids
    with Workspace.open(folder) as ws:
        assert token_balance(ws, "hospital-1") == 19_000 * SCALE
        assert ws.engine.provider_info(PLAN, "HOSP-A").debt == hosp_a.debt
    assert json.loads(json.dumps(report.to_json()))["providers"][0]["debt"] == "95.00"


def test_the_835_reverses_the_voids_and_passes_pyx12(
    report: ReconciliationReport, voids: tuple[Path, dict[str, int]]
) -> None:
    _folder, ids = voids
    text = build_835(report).text
    assert_valid_835(text)
    segments = [s.strip().split("*") for s in text.split("~") if s.strip()]
    st_a = segments.index(["N1", "PE", "HOSP-A", "XX", NPIS["HOSP-A"]])
    end_a = segments.index(["SE", *[s for s in segments if s[0] == "SE"][0][1:]])
    hosp_a = segments[st_a:end_a]
    clp = [(s[1], s[2], s[4], s[7]) for s in hosp_a if s[0] == "CLP"]
    old, new = str(ids["A-1002"]), str(ids["A-1002-C"])
    assert clp == [
        ("A-1001", "1", "95.00", str(ids["A-1001"])),
        ("A-1001", "22", "-95.00", str(ids["A-1001"])),
        ("A-1002", "1", "95.00", old),
        ("A-1002", "22", "-95.00", old),
        ("A-1003", "4", "0.00", str(ids["A-1003"])),
        ("A-1002-C", "1", "95.00", new),
    ]
    assert ["REF", "F8", old] in hosp_a
    # PLB: both reversals carried as debt (WO -95.00 each), A-1001's recovered (WO 95.00):
    # -95.00. CLP04: 95.00 - 95.00 + 95.00 - 95.00 + 0.00 + 95.00 = 95.00; BPR02 = 95.00 -
    # (-95.00) = 190.00, the transfers HOSP-A received.
    (plb,) = [s for s in hosp_a if s[0] == "PLB"]
    assert plb[3:] == ["WO:A-1001", "-95.00", "WO:A-1001", "95.00", "WO:A-1002", "-95.00"]
    bpr = [s[2] for s in segments if s[0] == "BPR"]
    assert bpr == ["190.00", "285.00"]  # HOSP-A, HOSP-B


def test_fhir_and_csv(report: ReconciliationReport, voids: tuple[Path, dict[str, int]]) -> None:
    _folder, ids = voids
    data = assert_valid_bundle(bundle_json(report))
    statuses = {
        e["resource"]["id"]: e["resource"]["status"]
        for e in data["entry"]
        if e["resource"]["resourceType"] == "ClaimResponse"
    }
    assert statuses[f"claim-{ids['A-1001']}-response"] == "cancelled"
    assert statuses[f"claim-{ids['A-1002']}-response"] == "cancelled"
    assert statuses[f"claim-{ids['A-1002-C']}-response"] == "active"
    rows = {r["record_id"]: r for r in csv.DictReader(io.StringIO(report_csv(report)))}
    assert (rows["A-1001"]["result"], rows["A-1001"]["paid"], rows["A-1001"]["difference"]) == (
        "voided",
        "0.00",
        "-95.00",
    )


def test_the_cli_shows_the_voids_and_the_debt(
    voids: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    folder, _ids = voids
    ledger = tmp_path / "ledger.csv"
    ledger.write_text(LEDGER)
    result = claims(folder, "reconcile", PLAN, "--ledger", str(ledger))
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())  # the tables wrap long cells
    assert "A-1001 voided 95.00 95.00 0.00 -95.00" in text
    assert (
        "HOSP-A: voids reversed 190.00 of its payments; kept back from later payments 95.00, "
        "still owed to the plan 95.00." in text
    )
    assert "debts balance ok voided payments 190.00 = recovered 95.00 + still owed 95.00" in text
    data = json.loads(claims(folder, "--json", "reconcile", PLAN, "--ledger", str(ledger)).stdout)
    assert data["summary"]["voided"] == 2
    assert data["totals"]["voided"] == "190.00" and data["totals"]["debt_recovered"] == "95.00"


def test_the_next_payments_pay_the_rest_of_the_debt(
    voids: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    """On a copy of the chain: HOSP-A sends two visits (A-1005, M-0001 on 2027-06-10, and
    A-1006, M-0004 on 2027-06-11, each billed 120.00: no 45, copay 25.00, the plan pays
    95.00; two transactions). The pool has 125.00. A-1005 is paid 95.00, all of it kept back
    for the 95.00 HOSP-A still owes (DebtRecovered for A-1005, no transfer; back to the pool:
    125.00); the debt is 0.00, so A-1006's 95.00 is transferred (30.00 left).
    HOSP-A: paid 285.00 + 95.00 + 95.00 = 475.00, kept back 95.00 + 95.00 = 190.00,
    transfers 190.00 + 95.00 = 285.00 = 475.00 - 190.00; voided 190.00 = recovered 190.00."""
    folder, _ids = voids
    copy = tmp_path / "state"
    shutil.copytree(folder, copy)
    visits = [
        record("A-1005", "HOSP-A", "M-0001", "2027-06-10", [("99213", "120.00")]),
        record("A-1006", "HOSP-A", "M-0004", "2027-06-11", [("99213", "120.00")]),
    ]
    ledger = tmp_path / "ledger.csv"
    ledger.write_text(LEDGER + "A-1005,95.00\n")
    with Workspace.open(copy) as ws:
        with ws.command():
            outcomes = HospitalClient(ws).submit_many(visits)
        assert [o.result.status for o in outcomes if o.result] == ["paid", "paid"]
        assert ws.engine.provider_info(PLAN, "HOSP-A").debt == 0
        assert ws.engine.pool_state(PLAN).balance == 3_000
        report = reconcile(ws, PLAN, ledger, member_ids=True)
    a1005 = by_record(report)["A-1005"].claim
    assert a1005 is not None
    assert [(r.claim_id, r.amount) for r in report.recoveries][-1] == (a1005.claim_id, 9_500)
    totals = {p.provider_id: p for p in report.providers}["HOSP-A"]
    hosp_a = (totals.paid, totals.recovered, totals.voided, totals.debt)
    assert hosp_a == (47_500, 19_000, 19_000, 0)
    assert totals.transfers == 28_500 * SCALE
    assert report.ok, report.checks
    records = by_record(report)
    assert records["A-1005"].result == "matched"
    assert records["A-1002"].to_json()["debt_recovered"] == "95.00"  # now paid back too
    text = build_835(report).text
    assert_valid_835(text)
    segments = [s.strip().split("*") for s in text.split("~") if s.strip()]
    # PLB: WO -95.00 and 95.00 for each void (sum 0.00); CLP04 95.00 (as before) + 95.00
    # (A-1005) + 95.00 (A-1006) = 285.00; BPR02 = 285.00 - 0.00 = 285.00, the transfers.
    (plb,) = [s for s in segments if s[0] == "PLB"]
    assert plb[3:] == [
        "WO:A-1001", "-95.00", "WO:A-1001", "95.00", "WO:A-1002", "-95.00", "WO:A-1002", "95.00",
    ]  # fmt: skip
    assert [s[2] for s in segments if s[0] == "BPR"][0] == "285.00"


def test_a_batchs_one_payment_pays_the_rest_of_the_debt(
    voids: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    """On a copy of the chain: HOSP-A sends four visits in one batch (99213 billed 120.00 for
    M-0001, M-0004, M-0003 and M-0006 on 2027-06-10 to 06-13: the plan pays 95.00 each). The
    pool has 125.00: the first is paid 95.00 (30.00 left), the other three queue (95.00 >
    30.00; 285.00 reserved). The batch's one payment of 95.00 is all kept back for the 95.00
    HOSP-A owes: DebtRecovered with claim id 0 in the batch's transaction, no transfer; the
    pool is back at 125.00 and the debt is 0.00.
    HOSP-A: paid 285.00 + 95.00 = 380.00, kept back 95.00 + 95.00 = 190.00, transfers still
    190.00 = 380.00 - 190.00; queued 285.00."""
    folder, _ids = voids
    copy = tmp_path / "state"
    shutil.copytree(folder, copy)
    visits = [
        record(f"A-20{n}", "HOSP-A", member, f"2027-06-1{n}", [("99213", "120.00")])
        for n, member in enumerate(("M-0001", "M-0004", "M-0003", "M-0006"))
    ]
    ledger = tmp_path / "ledger.csv"
    ledger.write_text(LEDGER)
    with Workspace.open(copy) as ws:
        with ws.command():
            outcomes = HospitalClient(ws).submit_many(visits)
        results = [o.result for o in outcomes if o.result]
        assert [r.status for r in results] == ["paid", "queued", "queued", "queued"]
        assert len({r.transactions["submitted"] for r in results}) == 1  # one batch
        assert ws.engine.provider_info(PLAN, "HOSP-A").debt == 0
        assert ws.engine.pool_state(PLAN).balance == 12_500
        report = reconcile(ws, PLAN, ledger, member_ids=True)
    batch_tx = bytes.fromhex(results[0].transactions["submitted"][2:])
    assert [(r.claim_id, r.amount, r.tx_hash) for r in report.recoveries][-1] == (
        0,
        9_500,
        batch_tx,
    )
    totals = {p.provider_id: p for p in report.providers}["HOSP-A"]
    hosp_a = (totals.paid, totals.recovered, totals.voided, totals.debt, totals.queued)
    assert hosp_a == (38_000, 19_000, 19_000, 0, 28_500)
    assert totals.transfers == 19_000 * SCALE
    assert report.ok, report.checks
    text = build_835(report).text
    assert_valid_835(text)
    # CLP04: 95.00 (as before) + 95.00 (A-200) = 190.00; PLB: -95.00 + 95.00 for each void
    # (0.00); BPR02 = 190.00, the transfers.
    segments = [s.strip().split("*") for s in text.split("~") if s.strip()]
    assert [s[2] for s in segments if s[0] == "BPR"][0] == "190.00"
