"""Bad input to the `claims` CLI: each mistake gets exactly one `error:` line on stderr, nothing
on stdout, exit status 2 for a usage error and 1 otherwise, and leaves the chain as it was.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from claimsengine.cli.main import main

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
PLAN = "SILVER-2027"
RUNNER = CliRunner()


def invoke(state: Path, *args: object) -> Result:
    return RUNNER.invoke(main, ["--state", str(state), *map(str, args)], catch_exceptions=False)


def ok(state: Path, *args: object) -> Any:
    result = invoke(state, "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    state = tmp_path_factory.mktemp("errors") / "state"
    ok(state, "init")
    ok(state, "deploy", FIXTURES / "plans" / "silver.yaml")
    ok(state, "enroll", PLAN, FIXTURES / "members.csv")
    ok(state, "provider", "add", PLAN, "HOSP-A", "--account", "hospital-1")
    ok(state, "adjudicator", "add", PLAN, "--account", "adjudicator")
    ok(state, "fund", PLAN, "1000.00")
    ok(state, "time", "set", "2027-07-01")
    return state


@pytest.fixture
def state(prepared: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "state"
    shutil.copytree(prepared, copy)
    return copy


def snapshot(state: Path) -> dict[str, Any]:
    """What the failures must not change: the pool, a member, the providers, the review
    queue, and the chain's height (any transaction would have mined a block)."""
    from claimsengine.workspace import Workspace

    with Workspace.open(state) as workspace:
        height = workspace.chain.block_number()
    return {
        "blocks": height,
        "pool": ok(state, "pool", PLAN),
        "member": ok(state, "member", PLAN, "M-0001"),
        "providers": ok(state, "provider", "list", PLAN),
        "pending_review": ok(state, "review", "list"),
    }


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def bad_plan(folder: Path) -> Path:
    return write(folder, "bad.yaml", "id: BROKEN\nname: [unclosed\n")


def plan_missing_a_field(folder: Path) -> Path:
    text = (FIXTURES / "plans" / "silver.yaml").read_text().replace('deductible: "1000.00"\n', "")
    return write(folder, "no-deductible.yaml", text.replace("SILVER-2027", "OTHER-2027"))


def other_plan(folder: Path) -> Path:
    text = (FIXTURES / "plans" / "silver.yaml").read_text()
    return write(folder, "other.yaml", text.replace("SILVER-2027", "OTHER-2027"))


def bad_members(folder: Path) -> Path:
    return write(
        folder,
        "members.csv",
        "member_id,coverage_start,coverage_end\nM-0100,2027-01-01,\nM-0101,2027-02-31,\n",
    )


def members_wrong_header(folder: Path) -> Path:
    return write(folder, "header.csv", "id,start,end\nM-0100,2027-01-01,\n")


# (args, or a function of a tmp folder giving the args), exit status, text the error holds.
Case = tuple[Callable[[Path], list[object]], int, str]
CASES: dict[str, Case] = {
    "missing plan": (lambda _: ["fund", "NOPE-2027", "10.00"], 1, "no plan 'NOPE-2027'"),
    "missing plan (read)": (lambda _: ["pool", "NOPE-2027"], 1, "no plan 'NOPE-2027'"),
    "unknown alias (--as)": (
        lambda _: ["--as", "nobody", "fund", PLAN, "10.00"],
        1,
        "unknown account 'nobody'",
    ),
    "unknown alias (--account)": (
        lambda _: ["provider", "add", PLAN, "HOSP-C", "--account", "hospital-9"],
        1,
        "unknown account 'hospital-9'",
    ),
    "malformed plan file": (lambda d: ["deploy", bad_plan(d)], 1, "bad.yaml: not valid YAML"),
    "plan missing a field": (
        lambda d: ["deploy", plan_missing_a_field(d)],
        1,
        "no-deductible.yaml",
    ),
    "plan file not there": (
        lambda d: ["deploy", d / "nowhere.yaml"],
        1,
        "cannot read the plan file",
    ),
    "plan deployed twice": (
        lambda _: ["deploy", FIXTURES / "plans" / "silver.yaml"],
        1,
        "plan SILVER-2027 already exists",
    ),
    "wrong role: hospital funds": (
        lambda _: ["--as", "hospital-1", "fund", PLAN, "10.00"],
        1,
        "hospital-1 (0x90F7…b906) is not the insurer (admin) of plan SILVER-2027, so it "
        "cannot fund the pool",
    ),
    "wrong role: hospital enrols": (
        lambda _: ["--as", "hospital-1", "enroll", PLAN, FIXTURES / "members.csv"],
        1,
        "is not the insurer (admin) of plan SILVER-2027, so it cannot enrol members",
    ),
    "wrong role: hospital registers itself": (
        lambda _: [
            "--as",
            "hospital-2",
            "provider",
            "add",
            PLAN,
            "HOSP-B",
            "--account",
            "hospital-2",
        ],
        1,
        "cannot register providers",
    ),
    "wrong role: auditor pauses": (
        lambda _: ["--as", "auditor", "pause", PLAN],
        1,
        "is not the insurer (admin)",
    ),
    "wrong role: hospital grants the insurer role": (
        lambda _: ["--as", "hospital-1", "insurer", "add", "hospital-3"],
        1,
        "error: hospital-1 (0x90F7…b906) is not the engine's owner, so it cannot grant the "
        "insurer role (hint: act as the owner, insurer (0xf39F…2266))",
    ),
    "wrong role: hospital revokes an insurer": (
        lambda _: ["--as", "hospital-1", "insurer", "remove", "insurer"],
        1,
        "is not the engine's owner, so it cannot revoke the insurer role",
    ),
    "wrong role: hospital makes itself an adjudicator": (
        lambda _: ["--as", "hospital-1", "adjudicator", "add", PLAN, "--account", "hospital-1"],
        1,
        "hospital-1 (0x90F7…b906) is not the insurer (admin) of plan SILVER-2027, so it "
        "cannot grant roles",
    ),
    "wrong role: hospital removes the adjudicator": (
        lambda _: ["--as", "hospital-1", "adjudicator", "remove", PLAN, "--account", "adjudicator"],
        1,
        "is not the insurer (admin) of plan SILVER-2027, so it cannot revoke roles",
    ),
    "wrong role: hospital changes the schedule": (
        lambda _: [
            "--as",
            "hospital-1",
            "schedule",
            "update",
            FIXTURES / "plans" / "silver.yaml",
            "--effective",
            "2027-08-01",
        ],
        1,
        "hospital-1 (0x90F7…b906) is not the insurer (admin) of plan SILVER-2027, so it "
        "cannot change its schedule",
    ),
    "schedule effective today": (
        lambda _: [
            "schedule",
            "update",
            FIXTURES / "plans" / "silver.yaml",
            "--effective",
            "2027-07-01",
        ],
        1,
        "field --effective: the effective date 2027-07-01 is not after the chain's today "
        "2027-07-01; a schedule change may not reprice claims already made or in flight "
        "(hint: give 2027-07-02 or later)",
    ),
    "schedule for a plan not deployed": (
        lambda d: ["schedule", "update", other_plan(d), "--effective", "2027-08-01"],
        1,
        "no plan 'OTHER-2027' on this chain",
    ),
    "wrong role: insurer redirects a provider's money": (
        lambda _: ["--as", "insurer", "provider", "payout", PLAN, "HOSP-A", "insurer"],
        1,
        "error: insurer (0xf39F…2266) is not the owner account of provider HOSP-A in plan "
        "SILVER-2027, so it cannot change its payout address (hint: act as hospital-1 "
        "(0x90F7…b906), the account the provider was first registered with",
    ),
    "wrong role: another hospital redirects a provider's money": (
        lambda _: ["--as", "hospital-2", "provider", "payout", PLAN, "HOSP-A", "hospital-2"],
        1,
        "is not the owner account of provider HOSP-A in plan SILVER-2027",
    ),
    "wrong role: insurer collects a provider's credit": (
        lambda _: ["--as", "insurer", "provider", "collect", PLAN, "HOSP-A"],
        1,
        "is not the owner account of provider HOSP-A in plan SILVER-2027, so it cannot "
        "collect its credit",
    ),
    "payout to an unknown alias": (
        lambda _: ["provider", "payout", PLAN, "HOSP-A", "hospital-9"],
        1,
        "unknown account 'hospital-9'",
    ),
    "payout to the zero address": (
        lambda _: ["provider", "payout", PLAN, "HOSP-A", "0x" + "0" * 40],
        1,
        "field ADDRESS: the payout cannot be the zero address",
    ),
    "payout of a provider not registered": (
        lambda _: ["provider", "payout", PLAN, "HOSP-Z", "hospital-3"],
        1,
        "provider 'HOSP-Z' is not registered for plan SILVER-2027",
    ),
    "malformed members CSV": (
        lambda d: ["enroll", PLAN, bad_members(d)],
        1,
        "members.csv: record line 3: field coverage_start: '2027-02-31' is not a calendar date",
    ),
    "members CSV with a wrong header": (
        lambda d: ["enroll", PLAN, members_wrong_header(d)],
        1,
        "the first line must be the header member_id,coverage_start,coverage_end",
    ),
    "member not enrolled": (
        lambda _: ["member", PLAN, "M-9999"],
        1,
        "member M-9999 is not enrolled in plan SILVER-2027",
    ),
    "claim not there": (lambda _: ["status", "42"], 1, "no claim 42 on this chain"),
    "record not submitted here": (
        lambda _: ["status", "--record", "HOSP-A-2027-999999"],
        1,
        "record HOSP-A-2027-999999 was not submitted from this workspace",
    ),
    "provider not registered": (
        lambda _: ["provider", "suspend", PLAN, "HOSP-Z"],
        1,
        "provider 'HOSP-Z' is not registered for plan SILVER-2027",
    ),
    "fund more than the insurer holds": (
        lambda _: ["fund", PLAN, "2000000000.00"],
        1,
        "error: the insurer holds 999999000.00 of the token, and 2000000000.00 are needed "
        "(hint: top up the insurer's account first)",
    ),
    "withdraw more than the pool": (
        lambda _: ["withdraw", PLAN, "5000.00"],
        1,
        "pool: amount exceeds free balance",
    ),
    "clock backwards": (lambda _: ["time", "set", "2020-01-01"], 1, "cannot move the clock back"),
    # usage errors: exit 2
    "amount with 3 decimals": (
        lambda _: ["fund", PLAN, "10.005"],
        2,
        "Invalid value for 'AMOUNT': amount '10.005' has more than 2 decimals",
    ),
    "amount not a number": (
        lambda _: ["fund", PLAN, "ten"],
        2,
        "Invalid value for 'AMOUNT': amount 'ten' is not a number",
    ),
    "negative amount": (lambda _: ["fund", PLAN, "-1"], 2, "amount '-1' is negative"),
    "missing members file": (
        lambda _: ["enroll", PLAN, "no-such-members.csv"],
        2,
        "Invalid value for 'MEMBERS.csv': File 'no-such-members.csv' does not exist.",
    ),
    "zero amount": (
        lambda _: ["fund", PLAN, "0.00"],
        2,
        "Invalid value for 'AMOUNT': the amount must be more than 0.00",
    ),
    "zero withdrawal": (
        lambda _: ["withdraw", PLAN, "0"],
        2,
        "Invalid value for 'AMOUNT': the amount must be more than 0.00",
    ),
    "missing argument": (lambda _: ["fund", PLAN], 2, "Missing argument 'AMOUNT'"),
    "unknown option": (lambda _: ["pool", PLAN, "--colour"], 2, "No such option '--colour'"),
    "unknown command": (lambda _: ["fnud", PLAN], 2, "No such command 'fnud'"),
    "bad date": (
        lambda _: ["member", PLAN, "M-0001", "--date", "2027-13-01"],
        2,
        "Invalid value for '--date'",
    ),
    "bad claim id": (lambda _: ["status", "abc"], 2, "Invalid value for '[CLAIM_ID]'"),
    "review without a decision": (lambda _: ["review", "1"], 2, "say --approve or --deny"),
    "review with a reason code not allowed": (
        lambda _: ["review", "1", "--deny", "--reason", "51"],
        2,
        "Invalid value for '--reason': 51 is not a reason code for a review denial; use one "
        "of 50, 16, 96, 197, 204",
    ),
    "review approval with a reason": (
        lambda _: ["review", "1", "--approve", "--reason", "50"],
        2,
        "--reason goes with --deny",
    ),
    "schedule update without --effective": (
        lambda _: ["schedule", "update", FIXTURES / "plans" / "silver.yaml"],
        2,
        "Missing option '--effective'",
    ),
    "schedule update with a bad date": (
        lambda _: ["schedule", "update", FIXTURES / "plans" / "silver.yaml", "--effective", "soon"],
        2,
        "Invalid value for '--effective'",
    ),
    "provider payout without an address": (
        lambda _: ["provider", "payout", PLAN, "HOSP-A"],
        2,
        "Missing argument 'ADDRESS'",
    ),
    "provider add without --account": (
        lambda _: ["provider", "add", PLAN, "HOSP-C"],
        2,
        "Missing option '--account'",
    ),
    "demo with --rpc": (
        lambda _: ["--rpc", "http://127.0.0.1:9", "demo"],
        2,
        "the demo runs on a fresh embedded chain of its own",
    ),
}


LONG_PLAN_ID = "SILVER-2027-PLAN-WITH-A-VERY-LONG-ID"  # 36 characters
BAD_PLAN_IDS = [LONG_PLAN_ID, "SILVER-Ä", "", "SILVER 2027"]
RECORD = FIXTURES / "records" / "hosp-a-2027-02-office-visit.json"
# Every kind of command that takes a plan id (or a provider id) from the user: it is checked
# against its rule (ids.py) before the chain is opened, whatever the command.
ID_COMMANDS: dict[str, tuple[Callable[[str], list[object]], str]] = {
    "fund": (lambda plan: ["fund", plan, "10.00"], "'PLAN_ID'"),
    "withdraw": (lambda plan: ["withdraw", plan, "10.00"], "'PLAN_ID'"),
    "pool": (lambda plan: ["pool", plan], "'PLAN_ID'"),
    "settle": (lambda plan: ["settle", plan], "'PLAN_ID'"),
    "member": (lambda plan: ["member", plan, "M-0001"], "'PLAN_ID'"),
    "eligibility": (lambda plan: ["eligibility", plan, "M-0001"], "'[PLAN_ID]'"),
    "enroll": (lambda plan: ["enroll", plan, FIXTURES / "members.csv"], "'PLAN_ID'"),
    "renew": (lambda plan: ["renew", plan], "'PLAN_ID'"),
    "pause": (lambda plan: ["pause", plan], "'PLAN_ID'"),
    "resume": (lambda plan: ["resume", plan], "'PLAN_ID'"),
    "adjudicator add": (
        lambda plan: ["adjudicator", "add", plan, "--account", "auditor"],
        "'PLAN_ID'",
    ),
    "adjudicator remove": (
        lambda plan: ["adjudicator", "remove", plan, "--account", "adjudicator"],
        "'PLAN_ID'",
    ),
    "keys export": (
        lambda plan: ["keys", "export", plan, "--to", "hospital-1", "--out", "keys.json"],
        "'PLAN_ID'",
    ),
    "reconcile": (lambda plan: ["reconcile", plan, "--ledger", "ledger.csv"], "'PLAN_ID'"),
    "provider add": (
        lambda plan: ["provider", "add", plan, "HOSP-C", "--account", "hospital-3"],
        "'PLAN_ID'",
    ),
    "provider list": (lambda plan: ["provider", "list", plan], "'PLAN_ID'"),
    "provider suspend": (lambda plan: ["provider", "suspend", plan, "HOSP-A"], "'PLAN_ID'"),
    "provider reinstate": (lambda plan: ["provider", "reinstate", plan, "HOSP-A"], "'PLAN_ID'"),
    "provider payout": (
        lambda plan: ["provider", "payout", plan, "HOSP-A", "hospital-3"],
        "'PLAN_ID'",
    ),
    "provider collect": (lambda plan: ["provider", "collect", plan, "HOSP-A"], "'PLAN_ID'"),
    "review list": (lambda plan: ["review", "list", plan], "'[PLAN_ID]'"),
    "submit --plan": (lambda plan: ["submit", RECORD, "--plan", plan], "'--plan'"),
    "estimate --plan": (lambda plan: ["estimate", RECORD, "--plan", plan], "'--plan'"),
    "verify --plan": (lambda plan: ["verify", RECORD, "--plan", plan], "'--plan'"),
}


PROVIDER_ID_COMMANDS: dict[str, tuple[Callable[[str], list[object]], str]] = {
    "submit --provider": (
        lambda provider: ["submit", RECORD, "--provider", provider],
        "'--provider'",
    ),
    "estimate --provider": (
        lambda provider: ["estimate", RECORD, "--provider", provider],
        "'--provider'",
    ),
    "verify --provider": (
        lambda provider: ["verify", RECORD, "--provider", provider],
        "'--provider'",
    ),
    "reconcile --provider": (
        lambda provider: ["reconcile", PLAN, "--ledger", "ledger.csv", "--provider", provider],
        "'--provider'",
    ),
    "status --provider": (
        lambda provider: ["status", "--record", "HOSP-A-2027-000101", "--provider", provider],
        "'--provider'",
    ),
    "void --provider": (
        lambda provider: ["void", "--record", "HOSP-A-2027-000101", "--provider", provider],
        "'--provider'",
    ),
    # "HOSP C" fits in a bytes32, but every record naming it is set aside: registering it
    # would give the plan a provider that can never be paid.
    "provider add": (
        lambda provider: ["provider", "add", PLAN, provider, "--account", "hospital-3"],
        "'PROVIDER_ID'",
    ),
    "provider suspend": (lambda provider: ["provider", "suspend", PLAN, provider], "'PROVIDER_ID'"),
    "provider reinstate": (
        lambda provider: ["provider", "reinstate", PLAN, provider],
        "'PROVIDER_ID'",
    ),
    "provider payout": (
        lambda provider: ["provider", "payout", PLAN, provider, "hospital-3"],
        "'PROVIDER_ID'",
    ),
    "provider collect": (lambda provider: ["provider", "collect", PLAN, provider], "'PROVIDER_ID'"),
}


def one_usage_error(result: Result, words: str) -> None:
    """Exit 2, nothing on stdout, and one `error:` line that starts with ``words``."""
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.startswith(words)
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("plan_id", BAD_PLAN_IDS)
@pytest.mark.parametrize("name", list(ID_COMMANDS))
def test_a_plan_id_that_breaks_its_rule_is_a_usage_error(
    name: str, plan_id: str, state: Path
) -> None:
    make_args, parameter = ID_COMMANDS[name]
    one_usage_error(
        invoke(state, *make_args(plan_id)),
        f"error: Invalid value for {parameter}: {plan_id!r} is not a plan id: 1-32 characters "
        "of A-Z a-z 0-9 . _ - (hint: see `claims ",
    )


@pytest.mark.parametrize("provider_id", ["HOSP C", "H" * 33, "HÔPITAL", ""])
@pytest.mark.parametrize("name", list(PROVIDER_ID_COMMANDS))
def test_a_provider_id_that_breaks_its_rule_is_a_usage_error(
    name: str, provider_id: str, state: Path
) -> None:
    make_args, parameter = PROVIDER_ID_COMMANDS[name]
    before = snapshot(state)
    one_usage_error(
        invoke(state, *make_args(provider_id)),
        f"error: Invalid value for {parameter}: {provider_id!r} is not a provider id: 1-32 "
        "ASCII letters, digits or symbols, no spaces (it is the provider's reference on the "
        "chain) (hint: see `claims ",
    )
    assert snapshot(state) == before


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_gets_one_error_line_and_changes_nothing(
    name: str, state: Path, tmp_path: Path
) -> None:
    make_args, code, text = CASES[name]
    args = make_args(tmp_path)
    before = snapshot(state)
    result = invoke(state, *args)
    assert result.exit_code == code, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert text in lines[0]
    if code == 2:
        assert "(hint: see `claims" in lines[0]
    assert snapshot(state) == before


def test_a_record_dated_in_the_future_is_refused_for_its_date_first(
    state: Path, tmp_path: Path
) -> None:
    # 2029-06-01 is in the future (today is 2027-07-01) and in a benefit period nobody is
    # enrolled for: the service date is checked first (adjudication.md, checks 4 and 5).
    record = {
        "record_id": "FUTURE-1",
        "plan_id": PLAN,
        "member_id": "M-0001",
        "provider_id": "HOSP-A",
        "service_date": "2029-06-01",
        "lines": [{"code": "99213", "units": 1, "billed": "180.00"}],
    }
    path = write(tmp_path, "future.json", json.dumps(record))
    for command in ("submit", "estimate"):
        result = invoke(state, "--json", command, path)
        assert result.exit_code == 1, result.output
        (aside,) = json.loads(result.stdout)
        assert aside["record_id"] == "FUTURE-1"
        error = aside["error"]
        assert "field service_date: service date 2029-06-01 is after the chain's today " in error


def test_json_mode_errors_are_the_same_line(state: Path) -> None:
    result = invoke(state, "--json", "fund", "NOPE-2027", "10.00")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "error: no plan 'NOPE-2027' on this chain (hint: deploy it with `claims deploy`)\n"
    )


def test_a_missing_state_dir_is_named_and_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-state"
    for args in (["pool", PLAN], ["member", PLAN, "M-0001"], ["fund", PLAN, "1.00"]):
        result = invoke(missing, *args)
        assert result.exit_code == 1
        assert result.stderr == (
            f"error: no embedded chain in {missing} "
            "(hint: run `claims init` first (or pass --state))\n"
        )
    assert not missing.exists()


def test_an_unreachable_node_is_one_error_line(tmp_path: Path) -> None:
    result = invoke(tmp_path / "s", "--rpc", "http://127.0.0.1:9", "pool", PLAN)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("error: ") and "127.0.0.1:9" in result.stderr


def test_a_command_that_fails_half_way_commits_nothing(
    state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`enroll` sends 256 members per transaction; when the second one fails, the first one
    (already mined) is rolled back with it: the command commits whole or not at all."""
    from claimsengine.errors import ChainError
    from claimsengine.sdk import InsurerClient

    rows = "".join(f"G-{i:04d},2027-01-01,\n" for i in range(300))
    members = write(tmp_path, "many.csv", "member_id,coverage_start,coverage_end\n" + rows)
    real_enroll = InsurerClient.enroll
    calls: list[int] = []

    def enroll_then_fail(self: InsurerClient, plan_id: str, chunk: Any) -> int:
        calls.append(len(chunk))
        if len(calls) == 2:
            raise ChainError("the node went away", hint="try again")
        return real_enroll(self, plan_id, chunk)

    monkeypatch.setattr(InsurerClient, "enroll", enroll_then_fail)
    before = snapshot(state)
    result = invoke(state, "enroll", PLAN, members)
    assert calls == [256, 44]
    assert result.exit_code == 1
    assert result.stderr == "error: the node went away (hint: try again)\n"
    assert snapshot(state) == before
    assert invoke(state, "member", PLAN, "G-0000").exit_code == 1  # not enrolled

    monkeypatch.setattr(InsurerClient, "enroll", real_enroll)
    assert ok(state, "enroll", PLAN, members) == {"plan_id": PLAN, "enrolled": 300}
    assert ok(state, "member", PLAN, "G-0299")["member_id"] == "G-0299"
