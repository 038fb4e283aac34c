"""Reconciliation on a real chain: claims submitted through the SDK, a hospital's ledger,
and the report read back from the chain's events, through the SDK and through `claims`.

The plan is fixtures/plans/silver.yaml (deductible 1,000.00, coinsurance 20%, out-of-pocket
max 3,000.00, auto-approve limit 5,000.00; 99213 has fee 120.00, a 25.00 copay and no
deductible). The chain's today is 2027-07-01. The pool is funded with 400.00 first.

Claims, in the order they are submitted, with their results derived by hand from the spec:

- A-1001, HOSP-A, M-0001 on 2027-02-10: 99213 billed 180.00 -> allowed 120.00 (45: 60.00),
  copay 25.00 (3): paid 95.00 (the pool has 305.00 left).
- A-1002, HOSP-A, M-0002 on 2027-03-14: the same visit -> paid 95.00 (210.00 left).
- B-2001, HOSP-B, M-0004 on 2027-02-21: 99213 billed 150.00 -> allowed 120.00 (45: 30.00),
  copay 25.00: paid 95.00 (115.00 left).
- B-2002, HOSP-B, M-0006 on 2027-04-15: 99213 billed 120.00 -> no 45, copay 25.00: paid
  95.00 (20.00 left).
- B-2003, HOSP-B, M-0003 on 2027-04-02: 99213 billed 120.00 -> 95.00 > 20.00: queued.
- A-1003, HOSP-A, M-0005 on 2027-05-05: coverage ended 2027-04-30: denied 27.
- A-1004, HOSP-A, M-0001 on 2027-05-20: 27447 billed 48,500.00 with prior auth -> allowed
  30,000.00 (45: 18,500.00), deductible 1,000.00 (1), coinsurance min(20% x 29,000.00,
  3,000.00 - 25.00 - 1,000.00) = 1,975.00 (2): the plan pays 27,025.00, above the
  5,000.00 auto-approve limit: pending_review.

M-0006's coverage starts 2027-03-01 and the waiting period is 30 days, so 2027-04-15 is
covered. The hospital's ledger, and what each row must come out as:

| record_id | expected_paid | result |
|---|---|---|
| A-1001 | 95.00 | matched |
| A-1002 | 180.00 | short_paid: 45: 60.00, 3: 25.00 |
| B-2001 | 90.00 | over_paid (paid 95.00) |
| A-1003 | 180.00 | denied: 27: 180.00 |
| A-1004 | 27025.00 | pending_review |
| B-2003 | 95.00 | queued |
| A-9999 | 50.00 | not_on_chain (never submitted) |
| (B-2002) | - | not_in_ledger: paid 95.00 |

Per provider: HOSP-A was paid 95.00 + 95.00 = 190.00; HOSP-B 95.00 + 95.00 = 190.00 with
95.00 queued. The token transfers each payout address received are the same, and so is its
token balance (the hospitals hold no token otherwise).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import shutil
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from fhir.resources.R4B.bundle import Bundle

from claimsengine.cli.main import main
from claimsengine.days import to_day
from claimsengine.engine import DevToken
from claimsengine.exports.fhir import bundle_json
from claimsengine.members import load_members
from claimsengine.plan import load_plan, plan_to_dict
from claimsengine.reconcile import ReconciliationReport, reconcile
from claimsengine.records import TreatmentRecord
from claimsengine.sdk import AdjudicatorClient, HospitalClient, InsurerClient
from claimsengine.workspace import Workspace
from tests.fhir_validator import assert_valid_bundle
from tests.x12_validator import assert_valid_835

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
PLAN = "SILVER-2027"
TODAY = date(2027, 7, 1)
SCALE = 10**4

LEDGER = """record_id,expected_paid
A-1001,95.00
A-1002,180.00
B-2001,90.00
A-1003,180.00
A-1004,27025.00
B-2003,95.00
A-9999,50.00
"""

EXPECTED_RESULTS = {
    "A-1001": ("matched", "95.00", "95.00", "95.00", []),
    "A-1002": ("short_paid", "180.00", "95.00", "95.00", ["45: 60.00", "3: 25.00"]),
    "B-2001": ("over_paid", "90.00", "95.00", "95.00", ["45: 30.00", "3: 25.00"]),
    "A-1003": ("denied", "180.00", "0.00", "0.00", ["27: 180.00"]),
    "A-1004": (
        "pending_review",
        "27025.00",
        "27025.00",
        "0.00",
        ["45: 18500.00", "1: 1000.00", "2: 1975.00"],
    ),
    "B-2003": ("queued", "95.00", "95.00", "0.00", ["3: 25.00"]),
    "A-9999": ("not_on_chain", "50.00", None, None, []),
    "B-2002": ("not_in_ledger", None, "95.00", "95.00", ["3: 25.00"]),
}


def record(
    record_id: str,
    provider: str,
    member: str,
    day: str,
    lines: list[tuple[str, str]],
    prior_auth: str | None = None,
) -> TreatmentRecord:
    return TreatmentRecord.from_json(
        {
            "record_id": record_id,
            "plan_id": PLAN,
            "member_id": member,
            "provider_id": provider,
            "service_date": day,
            "prior_auth": prior_auth,
            "diagnoses": ["Z00.00"],
            "lines": [{"code": code, "units": 1, "billed": billed} for code, billed in lines],
        }
    )


RECORDS = [
    record("A-1001", "HOSP-A", "M-0001", "2027-02-10", [("99213", "180.00")]),
    record("A-1002", "HOSP-A", "M-0002", "2027-03-14", [("99213", "180.00")]),
    record("B-2001", "HOSP-B", "M-0004", "2027-02-21", [("99213", "150.00")]),
    record("B-2002", "HOSP-B", "M-0006", "2027-04-15", [("99213", "120.00")]),
    record("B-2003", "HOSP-B", "M-0003", "2027-04-02", [("99213", "120.00")]),
    record("A-1003", "HOSP-A", "M-0005", "2027-05-05", [("99213", "180.00")]),
    record("A-1004", "HOSP-A", "M-0001", "2027-05-20", [("27447", "48500.00")], "PA-0042"),
]


def build(workspace: Workspace) -> dict[str, int]:
    """Deploy, enrol, fund 400.00 and submit RECORDS; the claim id of each record id."""
    target = to_day(TODAY) * 86_400 + 43_200
    if workspace.chain.now() < target:
        workspace.chain.set_time(target)
    insurer = InsurerClient(workspace, "insurer")
    with workspace.command():
        insurer.deploy(load_plan(FIXTURES / "plans" / "silver.yaml"))
        insurer.enroll(PLAN, load_members(FIXTURES / "members.csv"))
        insurer.add_provider(PLAN, "HOSP-A", "hospital-1")
        insurer.add_provider(PLAN, "HOSP-B", "hospital-2")
        insurer.set_adjudicator(PLAN, "adjudicator")
        insurer.fund(PLAN, 40_000)
    with workspace.command():
        outcomes = HospitalClient(workspace).submit_many(RECORDS)
    ids = {}
    for outcome in outcomes:
        assert outcome.error is None and outcome.result is not None
        ids[outcome.record.record_id] = outcome.result.claim_id
    return ids


def by_record(report: ReconciliationReport) -> dict[str | None, Any]:
    return {r.record_id: r for r in report.records}


def assert_expected(report: ReconciliationReport) -> None:
    found = {r["record_id"]: r for r in report.to_json()["records"]}
    assert set(found) == set(EXPECTED_RESULTS)
    for record_id, (result, expected, plan_paid, paid, reasons) in EXPECTED_RESULTS.items():
        row = found[record_id]
        assert (row["result"], row["expected_paid"], row["plan_paid"], row["paid"]) == (
            result,
            expected,
            plan_paid,
            paid,
        ), record_id
        assert row["reasons"] == reasons, record_id


def token_balance(workspace: Workspace, alias: str) -> int:
    token = DevToken(workspace.chain, workspace.plan(PLAN).token)
    return token.balance_of(workspace.chain.address_of(alias))


# -- through the SDK, on the embedded chain and on anvil ------------------------------------


@pytest.fixture(params=["embedded", "anvil"])
def workspace(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workspace]:
    if request.param == "embedded":
        ws = Workspace.open(tmp_path / "state", create=True)
    else:
        node = request.getfixturevalue("anvil_node")
        ws = Workspace.open(tmp_path / "state", rpc=node.url)
    try:
        yield ws
    finally:
        ws.close()


def test_reconcile_every_result_and_the_transfers(workspace: Workspace, tmp_path: Path) -> None:
    ids = build(workspace)
    ledger = tmp_path / "ledger.csv"
    ledger.write_text(LEDGER)

    report = reconcile(workspace, PLAN, ledger)
    assert_expected(report)
    records = by_record(report)
    assert records["A-1003"].claim.claim_id == ids["A-1003"]
    assert report.summary == {
        "matched": 1,
        "short_paid": 1,
        "over_paid": 1,
        "denied": 1,
        "pending_review": 1,
        "queued": 1,
        "voided": 0,
        "not_on_chain": 1,
        "not_in_ledger": 1,
    }
    assert report.ok, report.checks

    # Per provider: paid from ClaimPaid events, transfers from the token's Transfer events,
    # and both equal to what the payout addresses hold.
    totals = {p.provider_id: p for p in report.providers}
    assert (totals["HOSP-A"].paid, totals["HOSP-A"].pending_review) == (19_000, 2_702_500)
    assert (totals["HOSP-B"].paid, totals["HOSP-B"].queued) == (19_000, 9_500)
    assert totals["HOSP-A"].transfers == 19_000 * SCALE == token_balance(workspace, "hospital-1")
    assert totals["HOSP-B"].transfers == 19_000 * SCALE == token_balance(workspace, "hospital-2")
    assert totals["HOSP-A"].expected_paid == 9_500 + 18_000 + 18_000 + 2_702_500
    assert all(p.ok for p in report.providers)

    # The adjudicator approves the knee replacement (it queues behind B-2003), and the
    # insurer funds 30,000.00: settlement pays B-2003 (95.00) then A-1004 (27,025.00).
    with workspace.command():
        AdjudicatorClient(workspace, "adjudicator").approve(ids["A-1004"])
    assert by_record(reconcile(workspace, PLAN, ledger))["A-1004"].result == "queued"
    with workspace.command():
        InsurerClient(workspace, "insurer").fund(PLAN, 3_000_000)

    after = by_record(reconcile(workspace, PLAN, ledger))
    assert after["A-1004"].result == "matched" and after["A-1004"].paid == 2_702_500
    assert after["B-2003"].result == "matched"
    settled = reconcile(workspace, PLAN, ledger)
    totals = {p.provider_id: p for p in settled.providers}
    assert totals["HOSP-A"].transfers == (19_000 + 2_702_500) * SCALE
    assert totals["HOSP-A"].transfers == token_balance(workspace, "hospital-1")
    assert totals["HOSP-B"].transfers == (19_000 + 9_500) * SCALE
    assert totals["HOSP-B"].transfers == token_balance(workspace, "hospital-2")
    assert settled.ok


# -- through `claims` ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("reconcile") / "state"
    with Workspace.open(folder, create=True) as ws:
        build(ws)
    return folder


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.csv"
    path.write_text(LEDGER)
    return path


def claims(state: Path, *args: str) -> Any:
    return CliRunner().invoke(main, ["--state", str(state), *args], catch_exceptions=False)


def test_cli_json_report(state: Path, ledger: Path) -> None:
    result = claims(state, "--json", "reconcile", PLAN, "--ledger", str(ledger))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    found = {r["record_id"]: r for r in data["records"]}
    for record_id, (outcome, expected, plan_paid, paid, reasons) in EXPECTED_RESULTS.items():
        assert {
            k: found[record_id][k] for k in ("result", "expected_paid", "plan_paid", "paid")
        } == {
            "result": outcome,
            "expected_paid": expected,
            "plan_paid": plan_paid,
            "paid": paid,
        }
        assert found[record_id]["reasons"] == reasons
    assert data["ok"] is True
    assert {p["provider_id"]: p["transfers"] for p in data["providers"]} == {
        "HOSP-A": "190.00",
        "HOSP-B": "190.00",
    }


def test_cli_human_report(state: Path, ledger: Path) -> None:
    result = claims(state, "reconcile", PLAN, "--ledger", str(ledger))
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "short_paid" in text and "45: 60.00, 3: 25.00" in text
    assert "Per provider: payments against token transfers" in text
    assert "payments match transfers" in text and "FAILED" not in text


def test_cli_provider_scope(state: Path, ledger: Path) -> None:
    result = claims(
        state, "--json", "reconcile", PLAN, "--ledger", str(ledger), "--provider", "HOSP-B"
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    results = {r["record_id"]: r["result"] for r in data["records"]}
    # HOSP-A's rows find no HOSP-B claim: not on this provider's chain record.
    assert results["B-2001"] == "over_paid" and results["A-1001"] == "not_on_chain"
    assert [p["provider_id"] for p in data["providers"]] == ["HOSP-B"]


def test_cli_unknown_provider_is_an_error(state: Path, ledger: Path) -> None:
    result = claims(state, "reconcile", PLAN, "--ledger", str(ledger), "--provider", "HOSP-Z")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: provider 'HOSP-Z' is not registered")


def test_cli_x12_835_without_npis_is_refused_and_writes_nothing(
    state: Path, ledger: Path, tmp_path: Path
) -> None:
    # The plan was deployed with its payer block (recorded in the state folder), but the
    # providers were registered without an NPI: the 835 cannot name its payees.
    out = tmp_path / "remit.835"
    result = claims(
        state, "reconcile", PLAN, "--ledger", str(ledger), "--format", "x12-835", "--out", str(out)
    )
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "error: providers HOSP-A, HOSP-B have no NPI in plan SILVER-2027: an 835 names the payee"
    )
    assert f"claims provider add {PLAN} HOSP-A --account ALIAS --npi NPI" in result.stderr
    assert not out.exists()


def test_cli_x12_835_without_a_payer_block_is_refused(
    state: Path, ledger: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "no-payer"
    shutil.copytree(state, copy)
    registry = json.loads((copy / "deployments.json").read_text())
    for entry in registry.values():
        entry.pop("payers", None)  # as if deployed from a plan file without the block
    (copy / "deployments.json").write_text(json.dumps(registry))
    result = claims(copy, "reconcile", PLAN, "--ledger", str(ledger), "--format", "x12-835")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: plan {PLAN} has no payer block")
    assert "--plan-file PLAN.yaml" in result.stderr
    assert result.stdout == ""


def test_cli_plan_file_must_be_the_plan_and_have_a_payer(
    state: Path, ledger: Path, tmp_path: Path
) -> None:
    plan = load_plan(FIXTURES / "plans" / "silver.yaml")
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({**plan_to_dict(plan), "id": "GOLD-2027"}))
    result = claims(state, "reconcile", PLAN, "--ledger", str(ledger), "--plan-file", str(other))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {other}: field id: is plan GOLD-2027, not {PLAN}")
    bare = tmp_path / "bare.yaml"
    data = plan_to_dict(plan)
    del data["payer"]
    bare.write_text(yaml.safe_dump(data))
    result = claims(state, "reconcile", PLAN, "--ledger", str(ledger), "--plan-file", str(bare))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {bare}: field payer: has no payer block")


NPIS = {"HOSP-A": "1234567893", "HOSP-B": "1245319599"}


def with_npis(state: Path, tmp_path: Path) -> Path:
    """A copy of the state in which the insurer registered the hospitals' NPIs (again,
    with the same accounts: that keeps them and sets the NPI on-chain)."""
    copy = tmp_path / "with-npis"
    shutil.copytree(state, copy)
    with Workspace.open(copy) as ws, ws.command():
        insurer = InsurerClient(ws, "insurer")
        insurer.add_provider(PLAN, "HOSP-A", "hospital-1", npi=NPIS["HOSP-A"])
        insurer.add_provider(PLAN, "HOSP-B", "hospital-2", npi=NPIS["HOSP-B"])
    return copy


def test_x12_835_from_the_chain_passes_pyx12(state: Path, ledger: Path, tmp_path: Path) -> None:
    """The chain's settlements and NPIs, the payer block deploy recorded, the member ids
    from the vault: pyx12 finds no error, and it balances."""
    from claimsengine import reconcile as module
    from claimsengine.exports.x12 import build_835

    with Workspace.open(with_npis(state, tmp_path)) as ws:
        read = module.read_settlements(ws, PLAN, member_ids=True)
    assert read.payer is not None and read.payer.name == "Silver Health Plan"
    assert sorted(read.member_ids.values()) == sorted(r.member_id for r in RECORDS)
    assert read.npis == NPIS
    text = build_835(module.match(read, module.load_ledger(ledger))).text
    assert_valid_835(text)
    segments = [s.strip().split("*") for s in text.split("~") if s.strip()]
    assert {s[2] for s in segments if s[0] == "BPR"} == {"190.00"}  # each hospital: 190.00
    clp = {s[1]: s for s in segments if s[0] == "CLP"}
    # Paid and denied claims are remitted; queued and pending ones wait for a later 835.
    assert set(clp) == {"A-1001", "A-1002", "A-1003", "B-2001", "B-2002"}
    assert clp["A-1003"][2:7] == ["4", "180.00", "0.00", "180.00", "12"]
    assert clp["A-1002"][2:7] == ["1", "180.00", "95.00", "25.00", "12"]
    assert ["NM1", "QC", "1", "", "", "", "", "", "MI", "M-0002"] in segments


@pytest.mark.parametrize(
    ("reason", "cas", "patient"),
    [
        (0, ["CAS", "CO", "50", "48500.00"], "0.00"),
        (204, ["CAS", "PR", "204", "48500.00"], "48500.00"),
    ],
)
def test_review_denied_and_queued_then_paid_on_the_chain_pass_pyx12(
    state: Path, ledger: Path, tmp_path: Path, reason: int, cas: list[str], patient: str
) -> None:
    """The adjudicator denies A-1004 (27447 billed 48,500.00, priced to pay 27,025.00), with
    no reason (50, a CO code) or 204 (a PR code): every line reads denied under it, so the
    claim is CLP02 4 with one CAS of 48,500.00 and balances (48,500.00 - 48,500.00 = 0.00);
    the patient owes it only under the PR code. The insurer funds 95.00: the queued B-2003
    is paid 95.00 (the pool had 20.00 left, so 115.00 covers it)."""
    from claimsengine import reconcile as module
    from claimsengine.exports.x12 import build_835

    with Workspace.open(with_npis(state, tmp_path)) as ws:
        report = reconcile(ws, PLAN, ledger)
        knee = by_record(report)["A-1004"].claim.claim_id
        with ws.command():
            adjudicator = ws.chain.address_of("adjudicator")
            ws.engine.review(adjudicator, knee, False, reason)
            InsurerClient(ws, "insurer").fund(PLAN, 9_500)
        read = module.read_settlements(ws, PLAN, member_ids=True)
    report = module.match(read, module.load_ledger(ledger))
    records = by_record(report)
    assert records["A-1004"].result == "denied"
    assert records["A-1004"].reasons == (f"{cas[2]}: 48500.00",)
    assert (records["A-1004"].plan_paid, records["A-1004"].paid) == (0, 0)
    assert records["B-2003"].result == "matched" and records["B-2003"].paid == 9_500
    assert report.ok, report.checks
    text = build_835(report).text
    assert_valid_835(text)
    segments = [s.strip().split("*") for s in text.split("~") if s.strip()]
    clp = {s[1]: s for s in segments if s[0] == "CLP"}
    assert clp["A-1004"][2:6] == ["4", "48500.00", "0.00", patient]
    assert clp["B-2003"][2:6] == ["1", "120.00", "95.00", "25.00"]
    assert cas in segments
    # HOSP-A 190.00 as before; HOSP-B 190.00 + 95.00.
    assert [s[2] for s in segments if s[0] == "BPR"] == ["190.00", "285.00"]
    fhir = assert_valid_bundle(bundle_json(report))
    (response,) = [
        e["resource"]
        for e in fhir["entry"]
        if e["resource"]["id"] == f"claim-{records['A-1004'].claim.claim_id}-response"
    ]
    assert response["disposition"] == f"denied in review (reason {cas[2]})"


def test_cli_x12_835_with_npis_passes_pyx12(state: Path, ledger: Path, tmp_path: Path) -> None:
    copy = tmp_path / "cli"
    shutil.copytree(state, copy)
    for provider, account in (("HOSP-A", "hospital-1"), ("HOSP-B", "hospital-2")):
        added = claims(
            copy, "provider", "add", PLAN, provider, "--account", account, "--npi", NPIS[provider]
        )
        assert added.exit_code == 0, added.output
    out = tmp_path / "remit.835"
    result = claims(
        copy, "reconcile", PLAN, "--ledger", str(ledger), "--format", "x12-835", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    assert f"Wrote the x12-835 report to {out}." in result.stdout
    text = out.read_text()
    assert_valid_835(text)
    segments = [s.strip().split("*") for s in text.split("~") if s.strip()]
    assert ["N1", "PE", "HOSP-A", "XX", "1234567893"] in segments
    assert ["N1", "PE", "HOSP-B", "XX", "1245319599"] in segments

    # A hospital's own state folder has no deploy record: it gives the plan file.
    registry = json.loads((copy / "deployments.json").read_text())
    for entry in registry.values():
        entry.pop("payers", None)
    (copy / "deployments.json").write_text(json.dumps(registry))
    plan_file = str(FIXTURES / "plans" / "silver.yaml")
    from_file = claims(
        copy, "reconcile", PLAN, "--ledger", str(ledger), "--format", "x12-835",
        "--plan-file", plan_file,
    )  # fmt: skip
    assert from_file.exit_code == 0, from_file.output
    assert from_file.stdout == text  # the same payer block, from the file


def test_cli_fhir_to_stdout_validates(state: Path, ledger: Path) -> None:
    result = claims(state, "reconcile", PLAN, "--ledger", str(ledger), "--format", "fhir")
    assert result.exit_code == 0, result.output
    data = assert_valid_bundle(result.stdout)
    bundle = Bundle.model_validate(data)
    kinds = [entry.resource.__resource_type__ for entry in bundle.entry]
    assert kinds.count("ClaimResponse") == 7 and kinds.count("ExplanationOfBenefit") == 7
    urls = {e.fullUrl: e.resource for e in bundle.entry}
    payments = {
        urls[e.resource.paymentIssuer.reference].name + ":" + e.resource.id: (
            e.resource.paymentAmount.value
        )
        for e in bundle.entry
        if e.resource.__resource_type__ == "PaymentReconciliation"
    }
    # The payer's name comes from the payer block that deploy recorded.
    assert payments == {
        "Silver Health Plan:payments-HOSP-A": Decimal("190.00"),
        "Silver Health Plan:payments-HOSP-B": Decimal("190.00"),
    }


def test_cli_csv(state: Path, ledger: Path) -> None:
    result = claims(state, "reconcile", PLAN, "--ledger", str(ledger), "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = {row["record_id"]: row for row in csv.DictReader(io.StringIO(result.stdout))}
    assert rows["A-1002"]["reasons"] == "45: 60.00, 3: 25.00"
    assert rows["A-9999"]["result"] == "not_on_chain" and rows["A-9999"]["paid"] == ""


def test_cli_bad_ledger_names_file_line_and_field(state: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("record_id,expected_paid\nA-1001,95.00\nA-1002,95.001\n")
    result = claims(state, "reconcile", PLAN, "--ledger", str(bad))
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"error: {bad}: line 3: record A-1002: field expected_paid: amount '95.001' has more"
    )


def test_cli_exits_1_when_balancing_fails(
    state: Path, ledger: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    from claimsengine import reconcile as module

    real = module.read_settlements

    def short_transfers(
        workspace: Workspace, plan_id: str, **options: Any
    ) -> module.PlanSettlements:
        read = real(workspace, plan_id, **options)  # as if one payment's transfer never happened
        return dataclasses.replace(read, transfers=read.transfers[:-1])

    monkeypatch.setattr(module, "read_settlements", short_transfers)
    result = claims(state, "reconcile", PLAN, "--ledger", str(ledger))
    assert result.exit_code == 1
    assert "FAILED" in result.stdout  # the report is still printed
    assert result.stderr.startswith("error: reconciliation of SILVER-2027: balancing failed")


def test_record_ids_come_from_the_vault_without_the_journal(
    state: Path, ledger: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(state, copy)
    for journal in copy.glob("journal.sqlite*"):
        journal.unlink()
    with Workspace.open(copy) as ws:
        assert_expected(reconcile(ws, PLAN, ledger))


def test_without_journal_or_vault_nothing_matches_and_it_warns(
    state: Path, ledger: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "elsewhere"
    shutil.copytree(state, copy)
    for journal in copy.glob("journal.sqlite*"):
        journal.unlink()
    shutil.rmtree(copy / "vault")
    with Workspace.open(copy) as ws:
        report = reconcile(ws, PLAN, ledger)
    assert {r.result for r in report.records if r.expected_paid is not None} == {"not_on_chain"}
    # The four paid claims (A-1001, A-1002, B-2001, B-2002) are paid but unnamed here.
    assert [r.record_id for r in report.records if r.result == "not_in_ledger"] == [None] * 4
    assert "submitter's state folder" in report.warnings[0]
    assert report.ok  # the money still balances


def test_cli_missing_ledger(state: Path, tmp_path: Path) -> None:
    result = claims(state, "reconcile", PLAN, "--ledger", str(tmp_path / "none.csv"))
    assert result.exit_code == 1
    assert "none.csv: no such file" in result.stderr


def test_cli_needs_the_ledger_option(state: Path) -> None:
    result = claims(state, "reconcile", PLAN)
    assert result.exit_code == 2
    assert result.stderr.startswith("error:") and "--ledger" in result.stderr


@pytest.mark.parametrize(
    ("npi", "message"),
    [
        ("1234567890", "error: field --npi: NPI 1234567890 fails its check digit"),
        ("12345", "error: field --npi: NPI '12345' must be 10 digits"),
    ],
)
def test_cli_provider_add_refuses_a_bad_npi(state: Path, npi: str, message: str) -> None:
    result = claims(
        state, "provider", "add", PLAN, "HOSP-C", "--account", "hospital-3", "--npi", npi
    )
    assert result.exit_code == 1
    assert result.stderr.startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1
    listed = claims(state, "--json", "provider", "list", PLAN)
    assert "HOSP-C" not in listed.stdout  # nothing was sent


def test_cli_provider_add_help_names_the_npi(state: Path) -> None:
    result = claims(state, "provider", "add", "--help")
    assert result.exit_code == 0 and "--npi NPI" in result.stdout
    assert "10-digit National Provider Identifier" in result.stdout
