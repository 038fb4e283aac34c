"""`claims verify`: a record file against its on-chain commitment.

The hospital checks with its journal and vault; an auditor is given the record file and its
salt and names the claim. The genuine record matches; a copy with one cent changed does not,
and the command exits 1 saying which record (and, where the committed copy is known, which
field) differs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from claimsengine.engine import ChainClaim, ChainLine
from claimsengine.errors import InputError
from claimsengine.orchestrator import submit_paths
from claimsengine.records import load_records
from claimsengine.verification import verify_record
from claimsengine.workspace import Workspace
from tests.integration.test_orchestrator import (
    FIXTURES,
    PLAN,
    claims_cli,
    open_workspace,
    record,
    set_up_plan,
    write_json,
)

VISIT = FIXTURES / "records" / "hosp-a-2027-02-office-visit.json"


def one_cent_more(source: Path, target: Path) -> Path:
    """A copy of a one-record file with its first line billed one cent more."""
    value = json.loads(source.read_text())
    cents = round(float(value["lines"][0]["billed"]) * 100) + 1
    value["lines"][0]["billed"] = f"{cents // 100}.{cents % 100:02d}"
    return write_json(target, value)


@pytest.fixture
def state(tmp_path: Path) -> Path:
    """A chain where HOSP-A's office visit, the batch and the FHIR bundles are submitted."""
    workspace = open_workspace(tmp_path / "state")
    set_up_plan(workspace)
    submit_paths(workspace, [FIXTURES / "records"])
    submit_paths(workspace, [FIXTURES / "fhir"], default_plan=PLAN, default_provider="HOSP-A")
    workspace.close()
    return tmp_path / "state"


def test_the_genuine_record_matches(state: Path) -> None:
    result = claims_cli("--state", str(state), "--json", "verify", str(VISIT))

    assert result.exit_code == 0, result.stderr
    (check,) = json.loads(result.stdout)
    assert check["match"] is True and check["problem"] is None
    assert check["record_id"] == "HOSP-A-2027-000101" and check["status"] == "paid"
    assert check["commitment"] == check["computed"] and isinstance(check["claim_id"], int)
    assert "salt" not in check  # only with --reveal-salt

    # A file of several records: each one is checked.
    batch = claims_cli(
        "--state",
        str(state),
        "--json",
        "verify",
        str(FIXTURES / "records" / "hosp-a-2027-batch.json"),
    )
    assert batch.exit_code == 0, batch.stderr
    assert [c["match"] for c in json.loads(batch.stdout)] == [True] * 4
    human = claims_cli("--state", str(state), "verify", str(VISIT))
    assert human.exit_code == 0 and "match" in human.stdout


def test_a_copy_with_one_cent_changed_does_not(state: Path, tmp_path: Path) -> None:
    tampered = one_cent_more(VISIT, tmp_path / "visit.json")

    result = claims_cli("--state", str(state), "--json", "verify", str(tampered))

    assert result.exit_code == 1
    (check,) = json.loads(result.stdout)
    assert check["match"] is False and check["commitment"] != check["computed"]
    assert "lines[0].billed" in check["problem"]
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {tampered}: record HOSP-A-2027-000101 does not match")
    assert "lines[0].billed" in line


def test_an_auditor_given_the_record_and_salt(state: Path, tmp_path: Path) -> None:
    # The hospital hands over the record file and its salt ...
    shown = claims_cli("--state", str(state), "--json", "verify", str(VISIT), "--reveal-salt")
    assert shown.exit_code == 0, shown.stderr
    (check,) = json.loads(shown.stdout)
    salt, claim_id = check["salt"], check["claim_id"]
    # ... to an auditor who holds no keys, no vault and no journal entry of its own.
    auditor_keys = tmp_path / "auditor-keys"
    env = {"CLAIMS_KEYS_DIR": str(auditor_keys)}
    base = ["--state", str(state), "--as", "auditor", "--json", "verify"]

    genuine = claims_cli(*base, str(VISIT), "--claim", str(claim_id), "--salt", salt, env=env)
    assert genuine.exit_code == 0, genuine.stderr
    assert json.loads(genuine.stdout)[0]["match"] is True
    by_commitment = claims_cli(
        *base, str(VISIT), "--commitment", check["commitment"], "--salt", salt, env=env
    )
    assert by_commitment.exit_code == 0, by_commitment.stderr

    tampered = one_cent_more(VISIT, tmp_path / "tampered.json")
    refused = claims_cli(*base, str(tampered), "--claim", str(claim_id), "--salt", salt, env=env)
    assert refused.exit_code == 1
    (bad,) = json.loads(refused.stdout)
    assert bad["match"] is False and f"of claim {claim_id}" in bad["problem"]

    wrong_salt = claims_cli(
        *base, str(VISIT), "--claim", str(claim_id), "--salt", "00" * 32, env=env
    )
    assert wrong_salt.exit_code == 1

    no_salt = claims_cli(*base, str(VISIT), "--claim", str(claim_id), env=env)
    assert no_salt.exit_code == 1
    assert "--salt" in no_salt.stderr and no_salt.stdout == ""
    assert not auditor_keys.exists()  # looking created no keys

    # With the salt alone, the record's own commitment must be on the chain.
    alone = claims_cli(*base, str(VISIT), "--salt", salt, env=env)
    assert alone.exit_code == 0, alone.stderr


def test_fhir_records_are_checked_with_the_same_defaults(state: Path) -> None:
    bundle = FIXTURES / "fhir" / "hosp-a-bundle.json"
    with_defaults = claims_cli(
        "--state",
        str(state),
        "--json",
        "verify",
        str(bundle),
        "--plan",
        PLAN,
        "--provider",
        "HOSP-A",
    )
    assert with_defaults.exit_code == 0, with_defaults.stderr
    assert [c["match"] for c in json.loads(with_defaults.stdout)] == [True, True]

    # The provider is part of the committed record: another default is another record.
    other = claims_cli(
        "--state",
        str(state),
        "--json",
        "verify",
        str(bundle),
        "--plan",
        PLAN,
        "--provider",
        "HOSP-B",
    )
    assert other.exit_code == 1


def test_usage_errors(state: Path, tmp_path: Path) -> None:
    bad_hex = claims_cli("--state", str(state), "verify", str(VISIT), "--salt", "xyz")
    assert bad_hex.exit_code == 2 and bad_hex.stderr.startswith("error:")
    batch = FIXTURES / "records" / "hosp-a-2027-batch.json"
    several = claims_cli("--state", str(state), "verify", str(batch), "--claim", "1")
    assert several.exit_code == 1 and "holds 4 records" in several.stderr
    unknown = write_json(tmp_path / "new.json", record("NEVER-SENT"))
    never = claims_cli("--state", str(state), "verify", str(unknown))
    assert never.exit_code == 1 and "was not submitted from this workspace" in never.stderr


@pytest.fixture
def workspace(state: Path) -> Iterator[Workspace]:
    ws = Workspace.open(state)
    try:
        yield ws
    finally:
        ws.close()


def test_verify_record_api(workspace: Workspace, tmp_path: Path) -> None:
    (genuine,) = load_records(VISIT).records
    check = verify_record(workspace, genuine.record)
    assert check.matches and check.salt_from == "vault" and check.differences == ()

    (changed,) = load_records(one_cent_more(VISIT, tmp_path / "t.json")).records
    tampered = verify_record(workspace, changed.record)
    assert not tampered.matches and tampered.differences == ("lines[0].billed",)
    assert tampered.on_chain  # the claim is there; the record is not the one committed

    (unsent,) = load_records(write_json(tmp_path / "n.json", record("NEVER-SENT"))).records
    never = verify_record(workspace, unsent.record, salt=check.salt)
    assert not never.on_chain and "no claim on the chain" in (never.problem or "")

    other_claim = check.claim_id + 1 if check.claim_id is not None else 2
    with pytest.raises(InputError, match="not the one given"):
        verify_record(workspace, genuine.record, claim_id=other_claim, commitment=check.commitment)


def test_a_claim_that_bills_other_lines_than_its_record(
    workspace: Workspace, tmp_path: Path
) -> None:
    # A dishonest sender commits to one record and bills another line: the commitment
    # matches, but the claim on the chain does not bill what the record says.
    (sourced,) = load_records(write_json(tmp_path / "r.json", record("DISHONEST-1"))).records
    honest = sourced.record
    salt, commitment = workspace.commitment(honest)
    claim = ChainClaim(
        commitment=commitment,
        member=workspace.pseudonym_on(PLAN, honest.member_id, honest.service_day),
        service_day=honest.service_day,
        prior_auth=False,
        lines=(ChainLine("99285", 1, 250_000),),
    )
    with workspace.command():
        workspace.engine.submit_claim("hospital-1", PLAN, claim)

    check = verify_record(workspace, honest, salt=salt)

    assert check.computed == check.commitment and check.on_chain
    assert not check.matches and check.claim_differences == ("lines[0]",)
    assert "bills differently: lines[0]" in (check.problem or "")


def test_a_claim_under_another_periods_pseudonym(workspace: Workspace, tmp_path: Path) -> None:
    # The member's pseudonym of the next benefit period is enrolled too (with the same
    # dates), and its accumulators for this period are empty: a claim under it would start
    # the deductible again. The contract cannot tell; verify, holding the key, can.
    (sourced,) = load_records(write_json(tmp_path / "r.json", record("OTHER-PERIOD-1"))).records
    honest = sourced.record
    period = workspace.periods(PLAN).of(honest.service_day)
    salt, commitment = workspace.commitment(honest)
    claim = ChainClaim(
        commitment=commitment,
        member=workspace.pseudonym(PLAN, honest.member_id, period + 1),
        service_day=honest.service_day,
        prior_auth=False,
        lines=tuple(ChainLine(line.code, line.units, line.billed) for line in honest.lines),
    )
    with workspace.command():
        workspace.engine.submit_claim("hospital-1", PLAN, claim)

    check = verify_record(workspace, honest, salt=salt)

    assert check.computed == check.commitment and check.on_chain
    assert not check.matches and check.claim_differences == ("member_id",)
    assert "bills differently: member_id" in (check.problem or "")
