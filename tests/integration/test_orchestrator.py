"""The submission orchestrator on a real embedded chain: every record format in, every
validation error set aside (with the good records next to it still submitted), Synthea's
FHIR bundles with --plan/--provider defaults, and runs that repeat without doubling.

The helpers at the top are shared with the other orchestrator test modules
(test_crash_resume, test_privacy_scan, test_verify).
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from claimsengine.days import day_of_timestamp, to_day
from claimsengine.engine import Engine
from claimsengine.members import Member, load_members
from claimsengine.orchestrator import MemberCheck, SubmitReport, submit_paths
from claimsengine.plan import Plan, load_plan, plan_from_dict, plan_to_dict
from claimsengine.records import load_paths
from claimsengine.sdk import InsurerClient
from claimsengine.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
SYNTHEA = FIXTURES / "synthea"
PLAN = "SILVER-2027"
#: Noon on 2027-07-01: every fixture record's service date has passed.
JULY_2027 = to_day(date(2027, 7, 1)) * 86_400 + 43_200


# -- helpers shared by the orchestrator tests ------------------------------------------------


def open_workspace(state: Path, *, rpc: str | None = None, at: int | None = JULY_2027) -> Workspace:
    """A workspace on a new embedded chain in ``state`` (or on ``rpc``), clock at ``at``."""
    workspace = Workspace.open(state, rpc=rpc, create=rpc is None)
    if at is not None and workspace.chain.now() < at:
        workspace.chain.set_time(at)
    with workspace.command():
        workspace.setup()
    return workspace


def set_up_plan(
    workspace: Workspace,
    *,
    plan_id: str = PLAN,
    members: Sequence[Member] | None = None,
    fund_cents: int = 10_000_000,
) -> None:
    """The silver plan (under ``plan_id``), its members, HOSP-A (hospital-1), HOSP-B
    (hospital-2), the adjudicator, and a funded pool."""
    plan = load_plan(FIXTURES / "plans" / "silver.yaml")
    if plan_id != plan.id:
        plan = plan_from_dict({**plan_to_dict(plan), "id": plan_id}, source="test")
    insurer = InsurerClient(workspace, "insurer")
    with workspace.command():
        insurer.deploy(plan)
        insurer.enroll(plan_id, members or load_members(FIXTURES / "members.csv"))
        insurer.add_provider(plan_id, "HOSP-A", "hospital-1")
        insurer.add_provider(plan_id, "HOSP-B", "hospital-2")
        insurer.set_adjudicator(plan_id, "adjudicator")
        insurer.fund(plan_id, fund_cents)


def submissions(workspace: Workspace) -> Counter[bytes]:
    """How many ClaimSubmitted events each commitment has on the chain."""
    return Counter(bytes(e.args["commitment"]) for e in workspace.engine.events("ClaimSubmitted"))


def write_json(path: Path, value: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=1), encoding="utf-8")
    return path


def claims_cli(*args: str, env: Mapping[str, str] | None = None) -> Result:
    """Run `claims ARGS` in-process, as the console script would."""
    from claimsengine.cli.main import main

    return CliRunner(env=dict(env or {})).invoke(main, list(args), catch_exceptions=False)


def record(record_id: str, **changes: Any) -> dict[str, Any]:
    """A valid HOSP-A record for M-0001 (formats.md); keyword arguments replace fields."""
    value: dict[str, Any] = {
        "record_id": record_id,
        "plan_id": PLAN,
        "member_id": "M-0001",
        "provider_id": "HOSP-A",
        "service_date": "2027-03-14",
        "prior_auth": None,
        "diagnoses": ["J20.9"],
        "lines": [{"code": "71046", "units": 1, "billed": "95.00"}],
    }
    value.update(changes)
    return value


def synthea_plan() -> Plan:
    """A plan for Synthea's patients: effective from 2010 (their visits run 2012-2022),
    filing open for decades, and a schedule that covers some of their codes (fundal height,
    fetal heart, flu vaccine, needs assessment, depression screening)."""
    silver = plan_to_dict(load_plan(FIXTURES / "plans" / "silver.yaml"))
    return plan_from_dict(
        {
            **silver,
            "id": "SYNTHEA-2010",
            "name": "Synthea test plan",
            "effective_date": "2010-01-01",
            "waiting_period_days": 0,
            "timely_filing_days": 20_000,
            "services": [
                *silver["services"],
                {"code": "171207006", "allowed": "40.00", "deductible_applies": False},
            ],
        },
        source="test",
    )


def by_record(report: SubmitReport) -> dict[str | None, Any]:
    return {claim.result.record_id: claim for claim in report.claims}


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = open_workspace(tmp_path / "state")
    set_up_plan(ws)
    try:
        yield ws
    finally:
        ws.close()


# -- every format ---------------------------------------------------------------------------


def test_every_record_format_goes_through(workspace: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    records = FIXTURES / "records"
    fhir = FIXTURES / "fhir"
    # One JSON record, a JSON array, JSON Lines, a FHIR Bundle with its own plan and
    # provider ids, a FHIR Bundle that needs the defaults, and a FHIR Claim on its own.
    (folder / "single.json").parent.mkdir(parents=True)
    (folder / "single.json").write_bytes(
        (records / "hosp-a-2027-02-office-visit.json").read_bytes()
    )
    (folder / "array.json").write_bytes((records / "hosp-a-2027-batch.json").read_bytes())
    (folder / "lines.jsonl").write_bytes((records / "hosp-b-2027.jsonl").read_bytes())
    (folder / "bundle-b.json").write_bytes((fhir / "hosp-b-bundle.json").read_bytes())
    (folder / "bundle-a.json").write_bytes((fhir / "hosp-a-bundle.json").read_bytes())
    bundle = json.loads((fhir / "hosp-b-bundle.json").read_text())
    claim = copy.deepcopy(
        next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Claim")
    )
    claim["id"] = "HOSP-B-2027-000399"
    claim["identifier"][0]["value"] = "HOSP-B-2027-000399"
    write_json(folder / "claim.json", claim)

    seen: list[tuple[int, int]] = []
    report = submit_paths(
        workspace,
        [folder],
        default_plan=PLAN,
        default_provider="HOSP-A",
        progress=lambda done, total: seen.append((done, total)),
    )

    expected = {
        "single.json": {"HOSP-A-2027-000101"},
        "array.json": {f"HOSP-A-2027-00010{n}" for n in range(2, 6)},
        "lines.jsonl": {f"HOSP-B-2027-00020{n}" for n in range(1, 5)},
        "bundle-b.json": {"HOSP-B-2027-000301", "HOSP-B-2027-000302"},
        "bundle-a.json": {"HOSP-A-2027-000401", "HOSP-A-2027-000402"},
        "claim.json": {"HOSP-B-2027-000399"},
    }
    got: dict[str, set[str | None]] = {}
    for claim_result in report.claims:
        assert claim_result.source is not None
        got.setdefault(Path(claim_result.source).name, set()).add(claim_result.result.record_id)
    assert got == expected
    assert report.ok and report.set_aside == []
    assert report.submitted == 14 and report.already_submitted == 0
    assert report.paid + report.denied + report.pending_review + report.queued == 14
    assert report.pending_review == 1  # the knee replacement, above the auto-approve limit
    # Each claim is on the chain once, and the report's status is the chain's.
    onchain = submissions(workspace)
    assert len(onchain) == 14 and set(onchain.values()) == {1}
    for claim_result in report.claims:
        entry = workspace.journal.by_claim(workspace.chain_key, claim_result.result.claim_id)
        assert entry is not None
        state = workspace.engine.claim_status(entry.plan_id, entry.provider_id, entry.commitment)
        assert state.status == claim_result.result.status
    # FHIR: the Claim's billablePeriod date as written, the Bundle's Patient as the member.
    b301 = by_record(report)["HOSP-B-2027-000301"].result
    assert b301.service_date == date(2027, 3, 22) and b301.provider_id == "HOSP-B"
    a401 = by_record(report)["HOSP-A-2027-000401"].result
    assert a401.plan_id == PLAN and a401.provider_id == "HOSP-A"  # from the defaults
    # Progress: the total first, then up to it.
    assert seen[0] == (0, 14) and seen[-1] == (14, 14)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_synthea_bundles_with_plan_and_provider_defaults(tmp_path: Path) -> None:
    # Synthea's dates run 2012-2022 and its bundles carry no plan: a plan effective from
    # 2010 whose schedule covers some of their codes, the two patients enrolled under their
    # Synthea ids, and the defaults on the command line.
    patients = sorted(path.stem.rsplit("_", 1)[1] for path in SYNTHEA.glob("*.json"))
    assert len(patients) == 2
    ws = open_workspace(tmp_path / "state", at=None)  # today's clock: after every visit
    try:
        insurer = InsurerClient(ws, "insurer")
        with ws.command():
            insurer.deploy(synthea_plan())
            insurer.enroll("SYNTHEA-2010", [Member(p, date(2010, 1, 1), None) for p in patients])
            insurer.add_provider("SYNTHEA-2010", "SYN-CLINIC", "hospital-3")
            insurer.fund("SYNTHEA-2010", 10_000_000)

        report = submit_paths(
            ws, [SYNTHEA], default_plan="SYNTHEA-2010", default_provider="SYN-CLINIC"
        )

        expected = load_paths([SYNTHEA], default_plan="SYNTHEA-2010", default_provider="SYN-CLINIC")
        assert len(expected.records) == 29  # docs: 30 + 19 Claims, 20 with nothing priced
        assert report.submitted == len(expected.records)
        assert {c.result.record_id for c in report.claims} == {
            s.record.record_id for s in expected.records
        }
        # Claims with no priced item (Synthea's pharmacy and encounter-only claims) are set
        # aside with their reason, never dropped in silence.
        assert len(report.set_aside) == len(expected.rejected) == 20
        assert all("no priced items" in str(entry.error) for entry in report.set_aside)
        assert all(entry.quarantined and entry.quarantined.exists() for entry in report.set_aside)
        # The schedule's codes are priced at its fees; other codes are denied as not covered.
        lines = [line for claim in report.results for line in claim.lines]
        fundal = [line for line in lines if line.code == "274804006" and not line.denied]
        assert fundal and all(line.allowed == 8_500 for line in fundal)
        assert any(line.denied for line in lines)
        assert report.paid > 0 and report.plan_paid > 0
        # Both patients are members under their Synthea ids.
        members = {c.result.claim_id for c in report.claims}
        assert len(members) == report.submitted
        # Enrolled in every benefit period from 2010 up to the one after today's, each
        # under that period's pseudonym (formats.md, Privacy).
        periods = ws.periods("SYNTHEA-2010")
        upto = periods.of(day_of_timestamp(ws.chain.now())) + 1
        for patient in patients:
            for period in range(upto + 1):
                pseudonym = ws.pseudonym("SYNTHEA-2010", patient, period)
                assert ws.engine.enrolled_in("SYNTHEA-2010", pseudonym, period), (patient, period)
            beyond = ws.pseudonym("SYNTHEA-2010", patient, upto + 1)
            assert ws.engine.member("SYNTHEA-2010", beyond) == (False, 0, None, 0)
        onchain = submissions(ws)
        assert len(onchain) == 29 and set(onchain.values()) == {1}
    finally:
        ws.close()


# -- validation errors ----------------------------------------------------------------------


def bad_folder(tmp_path: Path) -> Path:
    """A folder with good records among every kind of bad one."""
    folder = tmp_path / "mixed"
    too_many_lines = [{"code": "71046", "units": 1, "billed": "1.00"}] * 33
    write_json(
        folder / "mixed.json",
        [
            record("GOOD-1"),  # 0
            record("BAD-AMOUNT", lines=[{"code": "71046", "units": 1, "billed": "95.125"}]),
            record("BAD-DATE", service_date="2027-04-31"),
            record("BAD-UNITS", lines=[{"code": "71046", "units": 0, "billed": "95.00"}]),
            {k: v for k, v in record("ignored").items() if k != "record_id"},  # 4
            {k: v for k, v in record("NO-PLAN").items() if k != "plan_id"},
            record("UNKNOWN-PLAN", plan_id="NOPE-2027"),
            record("UNKNOWN-MEMBER", member_id="M-9999"),
            record("UNKNOWN-PROVIDER", provider_id="HOSP-Z"),
            record("FUTURE", service_date="2027-12-01"),
            record("TOO-MANY-LINES", lines=too_many_lines),  # 10
            record("BAD-CODE", lines=[{"code": "71 046", "units": 1, "billed": "95.00"}]),
            record("GOOD-2", member_id="M-0002"),
            record("GOOD-2", member_id="M-0002", diagnoses=["R05.9"]),  # reused id
            record("GOOD-1"),  # an identical copy: harmless
            42,  # 15
        ],
    )
    (folder / "lines.jsonl").write_text(
        json.dumps(record("LINE-1", member_id="M-0004"))
        + "\n{not json\n"
        + json.dumps(record("LINE-3", member_id="M-0004", service_date="2027-03-15"))
        + "\n",
        encoding="utf-8",
    )
    (folder / "notes.json").write_text("these are not records\n", encoding="utf-8")
    return folder


#: record (or #index) -> the field its error names, for each record set aside.
EXPECTED_ERRORS = {
    ("mixed.json", "BAD-AMOUNT"): "lines[0].billed",
    ("mixed.json", "BAD-DATE"): "service_date",
    ("mixed.json", "BAD-UNITS"): "lines[0].units",
    ("mixed.json", "#4"): "record_id",
    ("mixed.json", "NO-PLAN"): "plan_id",
    ("mixed.json", "UNKNOWN-PLAN"): "plan_id",
    ("mixed.json", "UNKNOWN-MEMBER"): "member_id",
    ("mixed.json", "UNKNOWN-PROVIDER"): "provider_id",
    ("mixed.json", "FUTURE"): "service_date",
    ("mixed.json", "TOO-MANY-LINES"): "lines",
    ("mixed.json", "BAD-CODE"): "lines[0].code",
    ("mixed.json", "GOOD-2"): "record_id",
    ("mixed.json", "#15"): None,
    ("lines.jsonl", "#1"): None,
    ("notes.json", None): None,
}


def test_each_bad_record_is_set_aside_and_the_good_ones_go(
    workspace: Workspace, tmp_path: Path
) -> None:
    folder = bad_folder(tmp_path)
    report = submit_paths(workspace, [folder])

    assert sorted(c.result.record_id or "" for c in report.claims) == [
        "GOOD-1",
        "GOOD-2",
        "LINE-1",
        "LINE-3",
    ]
    assert report.repeated == 1 and not report.ok
    found: dict[tuple[str, str | None], Any] = {}
    for entry in report.set_aside:
        error = entry.error
        label = entry.record_id or getattr(error, "record", None)
        found[(Path(entry.file).name, label)] = entry
        # Every error names its file (and, when there is one, the record and the field).
        assert str(error).startswith(str(folder / Path(entry.file).name))
    assert set(found) == set(EXPECTED_ERRORS)
    for key, field in EXPECTED_ERRORS.items():
        error = found[key].error
        assert getattr(error, "field", None) == field, (key, str(error))
        if key[1] is not None:
            assert f"record {key[1]}" in str(error)
    # The reused record id names both versions.
    reused = str(found[("mixed.json", "GOOD-2")].error)
    assert f"{folder / 'mixed.json'} #12" in reused and f"{folder / 'mixed.json'} #13" in reused
    # Each record set aside is in the quarantine folder, next to its error.
    quarantine = workspace.state_dir / "quarantine"
    assert report.quarantine_dir == quarantine
    for entry in report.set_aside:
        assert entry.quarantined is not None and entry.quarantined.parent == quarantine
        error_file = entry.quarantined.with_name(entry.quarantined.stem + ".error.txt")
        assert str(entry.error) in error_file.read_text()
    assert len(list(quarantine.glob("*.error.txt"))) == len(EXPECTED_ERRORS)
    unknown = json.loads(found[("mixed.json", "UNKNOWN-MEMBER")].quarantined.read_text())
    assert unknown["member_id"] == "M-9999"
    # Nothing of a bad record reached the chain.
    assert len(submissions(workspace)) == 4


def test_running_twice_submits_nothing_twice(workspace: Workspace, tmp_path: Path) -> None:
    folder = bad_folder(tmp_path)
    first = submit_paths(workspace, [FIXTURES / "records", folder])
    count = len(submissions(workspace))
    assert first.submitted == count == 13
    quarantined = sorted(p.name for p in (workspace.state_dir / "quarantine").iterdir())

    second = submit_paths(workspace, [FIXTURES / "records", folder])

    onchain = submissions(workspace)
    assert len(onchain) == count and set(onchain.values()) == {1}
    assert second.submitted == 0 and second.already_submitted == count
    assert {c.result.claim_id for c in second.claims} == {c.result.claim_id for c in first.claims}
    assert all(c.already_submitted for c in second.claims)
    # The bad records are reported again, but not copied into the quarantine twice.
    assert len(second.set_aside) == len(first.set_aside)
    assert sorted(p.name for p in (workspace.state_dir / "quarantine").iterdir()) == quarantined


def test_a_shared_member_check_reads_each_member_once_per_period_across_files(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read: list[bytes] = []
    member = Engine.member

    def counted(engine: Engine, plan_id: str, pseudonym: bytes) -> tuple[bool, int, int | None]:
        read.append(pseudonym)
        return member(engine, plan_id, pseudonym)

    monkeypatch.setattr(Engine, "member", counted)
    check = MemberCheck(workspace)
    # Week 1: M-0001 twice and M-0002 once (all in 2027's period), and M-0099, not enrolled.
    week1 = [
        record("W1-A"),
        record("W1-B", service_date="2027-03-15"),
        record("W1-C", member_id="M-0002"),
        record("W1-D", member_id="M-0099"),
    ]
    first = submit_paths(workspace, [write_json(tmp_path / "w1.json", week1)], members=check)
    assert first.submitted == 3 and len(first.set_aside) == 1
    assert "'M-0099' is not enrolled" in str(first.set_aside[0].error)
    assert len(read) == 3  # M-0001, M-0002, M-0099: one read each

    # Between the files the insurer enrols M-0099.
    with workspace.command():
        InsurerClient(workspace, "insurer").enroll(PLAN, [Member("M-0099", date(2027, 1, 1), None)])
    week2 = [
        record("W2-A", service_date="2027-03-16"),
        record("W2-B", member_id="M-0002", service_date="2027-03-16"),
        record("W2-C", member_id="M-0099", service_date="2027-03-16"),
    ]
    second = submit_paths(workspace, [write_json(tmp_path / "w2.json", week2)], members=check)
    # The enrolled members are not read again; the refusal is asked again, and now holds.
    assert second.submitted == 3 and not second.set_aside
    march = to_day(date(2027, 3, 16))
    assert len(read) == 4 and read[-1] == workspace.pseudonym_on(PLAN, "M-0099", march)


def test_a_changed_record_under_a_used_id_is_refused_across_runs(
    workspace: Workspace, tmp_path: Path
) -> None:
    first = write_json(tmp_path / "a" / "visit.json", record("VISIT-1"))
    assert submit_paths(workspace, [first]).submitted == 1
    changed = write_json(
        tmp_path / "b" / "visit.json",
        record("VISIT-1", lines=[{"code": "71046", "units": 1, "billed": "96.00"}]),
    )
    fresh = write_json(tmp_path / "b" / "other.json", record("VISIT-2"))

    report = submit_paths(workspace, [changed, fresh])

    assert [c.result.record_id for c in report.claims] == ["VISIT-2"]
    (entry,) = report.set_aside
    message = str(entry.error)
    assert entry.record_id == "VISIT-1" and getattr(entry.error, "field", None) == "record_id"
    assert str(first) in message and "different content" in message  # both versions named
    assert len(submissions(workspace)) == 2


def test_records_already_on_chain_from_another_workspace_are_recognised(
    workspace: Workspace, tmp_path: Path
) -> None:
    # Same keys, no journal: the chain itself says the record is there.
    path = write_json(tmp_path / "visit.json", record("VISIT-9"))
    submit_paths(workspace, [path])
    (workspace.state_dir / "journal.sqlite").unlink(missing_ok=True)
    workspace.journal.close()
    workspace.__dict__.pop("journal")
    for extra in workspace.state_dir.glob("journal.sqlite-*"):
        extra.unlink()

    report = submit_paths(workspace, [path])

    assert report.submitted == 0 and report.already_submitted == 1
    assert len(submissions(workspace)) == 1


def test_a_plan_without_its_pseudonym_key_here_is_refused_not_keyed_anew(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A hospital whose key store lacks the plan's key: a new key would make every member a
    # stranger for good. The records are set aside with the reason instead.
    empty_keys = tmp_path / "hospital-keys"
    monkeypatch.setenv("CLAIMS_KEYS_DIR", str(empty_keys))
    workspace.__dict__.pop("keys", None)
    workspace.__dict__.pop("vault", None)
    path = write_json(tmp_path / "visit.json", record("VISIT-K"))

    report = submit_paths(workspace, [path])

    (entry,) = report.set_aside
    assert "no pseudonym key for plan SILVER-2027" in str(entry.error)
    assert workspace.keys.plans() == []  # none was created
    assert len(submissions(workspace)) == 0


# -- the command ----------------------------------------------------------------------------


@pytest.fixture
def state(tmp_path: Path) -> Path:
    ws = open_workspace(tmp_path / "state")
    set_up_plan(ws)
    ws.close()
    return tmp_path / "state"


def test_cli_submit_prints_claim_results_and_set_aside_records(state: Path, tmp_path: Path) -> None:
    folder = bad_folder(tmp_path)
    result = claims_cli(
        "--state", str(state), "--json", "submit", str(FIXTURES / "records"), str(folder)
    )

    assert result.exit_code == 1  # records were set aside, after the good ones went
    output = json.loads(result.stdout)
    claims = [item for item in output if "claim_id" in item]
    aside = [item for item in output if "claim_id" not in item]
    assert len(claims) == 13
    assert set(claims[0]) == {
        "claim_id",
        "plan_id",
        "record_id",
        "provider_id",
        "service_date",
        "status",
        "lines",
        "totals",
        "transactions",
    }
    assert {c["status"] for c in claims} <= {"paid", "queued", "pending_review", "denied"}
    assert len(aside) == len(EXPECTED_ERRORS)
    assert all(set(item) == {"file", "record_id", "error"} for item in aside)
    assert {"file": str(folder / "mixed.json"), "record_id": "UNKNOWN-MEMBER"}.items() <= next(
        item for item in aside if item["record_id"] == "UNKNOWN-MEMBER"
    ).items()
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: 15 records were set aside")

    again = claims_cli("--state", str(state), "submit", str(FIXTURES / "records"))
    assert again.exit_code == 0, again.stderr
    assert "Summary" in again.stdout and "already on chain" in again.stdout
    assert again.stderr == ""


def test_cli_submit_fhir_with_defaults(state: Path) -> None:
    bundle = FIXTURES / "fhir" / "hosp-a-bundle.json"
    without = claims_cli("--state", str(state), "--json", "submit", str(bundle))
    assert without.exit_code == 1
    assert all("--plan" in item["error"] for item in json.loads(without.stdout))

    result = claims_cli(
        "--state",
        str(state),
        "--json",
        "submit",
        str(bundle),
        "--plan",
        PLAN,
        "--provider",
        "HOSP-A",
    )
    assert result.exit_code == 0, result.stderr
    claims = json.loads(result.stdout)
    assert [(c["record_id"], c["provider_id"]) for c in claims] == [
        ("HOSP-A-2027-000401", "HOSP-A"),
        ("HOSP-A-2027-000402", "HOSP-A"),
    ]


def test_cli_submit_as_another_providers_account_is_refused(state: Path) -> None:
    # hospital-2 is HOSP-B's account: the chain would pay HOSP-A's claim to HOSP-B. The
    # record is set aside, and is not lost: sent as the right account it goes through.
    visit = FIXTURES / "records" / "hosp-a-2027-02-office-visit.json"
    result = claims_cli("--state", str(state), "--as", "hospital-2", "--json", "submit", str(visit))
    assert result.exit_code == 1
    (item,) = json.loads(result.stdout)
    assert "field provider_id" in item["error"] and "registered to account" in item["error"]

    retry = claims_cli("--state", str(state), "--as", "hospital-1", "--json", "submit", str(visit))
    assert retry.exit_code == 0, retry.stderr
    assert [c["record_id"] for c in json.loads(retry.stdout)] == ["HOSP-A-2027-000101"]


def test_cli_submit_refused_by_the_chain_is_set_aside(state: Path) -> None:
    # A suspended provider: the contract refuses, and the record is set aside with the
    # contract's reason, word for word.
    visit = FIXTURES / "records" / "hosp-a-2027-02-office-visit.json"
    ws = Workspace.open(state)
    with ws.command():
        InsurerClient(ws, "insurer").set_provider_active(PLAN, "HOSP-A", False)
    ws.close()
    result = claims_cli("--state", str(state), "--json", "submit", str(visit))
    assert result.exit_code == 1
    (item,) = json.loads(result.stdout)
    assert item["record_id"] == "HOSP-A-2027-000101"
    assert "claims: not authorised" in item["error"]


def test_status_of_submitted_claims_matches_the_chain(workspace: Workspace) -> None:
    report = submit_paths(workspace, [FIXTURES / "records"])
    for claim in report.claims:
        entry = workspace.journal.by_claim(workspace.chain_key, claim.result.claim_id)
        assert entry is not None and entry.state == "submitted"
        state = workspace.engine.claim_status(entry.plan_id, entry.provider_id, entry.commitment)
        assert state.status is not None
