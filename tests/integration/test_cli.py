"""The `claims` CLI through click's CliRunner, on an embedded chain kept in a tmp --state.

The state persists across invocations, as it does for a user: init → deploy → enroll →
provider add → adjudicator add → fund → time set, then the nine fixture records are
submitted (through the SDK, so these tests do not depend on `claims submit`), and status,
member, review, settle, pool and time are exercised on top. Tests that change the chain
work on a copy of the prepared state folder.
"""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from claimsengine.cli.main import COMMANDS, LazyCommand, main, own_short_help

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
PLAN = "SILVER-2027"
RUNNER = CliRunner()

CLAIM_KEYS = [
    "claim_id",
    "plan_id",
    "record_id",
    "provider_id",
    "service_date",
    "status",
    "lines",
    "totals",
    "transactions",
]
LINE_KEYS = [
    "code",
    "units",
    "billed",
    "allowed",
    "deductible",
    "copay",
    "coinsurance",
    "benefit_limit",
    "plan_paid",
    "patient_responsibility",
    "denied",
    "reasons",
]
TOTAL_KEYS = ["billed", "allowed", "plan_paid", "patient_responsibility"]
MEMBER_KEYS = [
    "plan_id",
    "member_id",
    "period",
    "deductible_met",
    "oop_met",
    "benefit_used",
    "units_used",
]


def claims(state: Path, *args: object, code: int = 0, json_output: bool = False) -> Result:
    argv = ["--state", str(state), *(["--json"] if json_output else []), *map(str, args)]
    result = RUNNER.invoke(main, argv, catch_exceptions=False)
    assert result.exit_code == code, (
        f"claims {' '.join(argv)} exited {result.exit_code}, expected {code}\n"
        f"stdout: {result.stdout}\nstderr: {result.stderr}"
    )
    return result


def claims_json(state: Path, *args: object) -> Any:
    return json.loads(claims(state, *args, json_output=True).stdout)


def set_up_plan(state: Path) -> None:
    """The insurer's side, checking each command's JSON on the way."""
    init = claims_json(state, "init")
    assert init["created"] is True
    assert list(init["accounts"]) == [
        "insurer",
        "adjudicator",
        "auditor",
        "hospital-1",
        "hospital-2",
        "hospital-3",
        "hospital-4",
    ]

    deployed = claims_json(state, "deploy", FIXTURES / "plans" / "silver.yaml")
    assert deployed["plan_id"] == PLAN
    assert deployed["engine"] == init["engine"]
    assert deployed["token"] == init["dev_token"]
    assert deployed["admin"] == init["accounts"]["insurer"]

    assert claims_json(state, "enroll", PLAN, FIXTURES / "members.csv") == {
        "plan_id": PLAN,
        "enrolled": 6,
    }
    for provider_id, alias in (("HOSP-A", "hospital-1"), ("HOSP-B", "hospital-2")):
        added = claims_json(state, "provider", "add", PLAN, provider_id, "--account", alias)
        assert added == {
            "plan_id": PLAN,
            "provider_id": provider_id,
            "account": init["accounts"][alias],
            "payout": init["accounts"][alias],
            "active": True,
            "accounts": [init["accounts"][alias]],
        }
    granted = claims_json(state, "adjudicator", "add", PLAN, "--account", "adjudicator")
    assert granted["adjudicator"] is True

    funded = claims_json(state, "fund", PLAN, "300.00")
    assert funded["funded"] == "300.00"
    assert funded["pool"] == {
        "plan_id": PLAN,
        "balance": "300.00",
        "reserved": "0.00",
        "free": "300.00",
        "shortfall": "0.00",
        "queued": 0,
    }
    assert claims_json(state, "time", "set", "2027-07-01")["date"] == "2027-07-01"


def submit_fixture_records(state: Path) -> dict[str, int]:
    """The hospitals' side, through the SDK: record id -> claim id."""
    from claimsengine.records import load_paths
    from claimsengine.sdk import HospitalClient
    from claimsengine.workspace import Workspace

    loaded = load_paths([FIXTURES / "records"])
    assert not loaded.rejected
    with Workspace.open(state) as workspace, workspace.command():
        outcomes = HospitalClient(workspace).submit_many([s.record for s in loaded.records])
    claim_ids = {}
    for outcome in outcomes:
        assert outcome.result is not None, outcome.error
        claim_ids[outcome.record.record_id] = outcome.result.claim_id
    return claim_ids


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """A state folder with the plan set up and the nine fixture claims submitted. Read only:
    tests that change the chain use `state`, a copy."""
    state = tmp_path_factory.mktemp("cli") / "state"
    set_up_plan(state)
    return state, submit_fixture_records(state)


@pytest.fixture
def state(prepared: tuple[Path, dict[str, int]], tmp_path: Path) -> Path:
    copy = tmp_path / "state"
    shutil.copytree(prepared[0], copy)
    return copy


@pytest.fixture
def claim_ids(prepared: tuple[Path, dict[str, int]]) -> dict[str, int]:
    return prepared[1]


# -- init ---------------------------------------------------------------------------------------


def test_init_prints_the_accounts_and_a_second_init_is_harmless(tmp_path: Path) -> None:
    state = tmp_path / "fresh"
    first = claims(state, "init")
    assert "Set up the claims engine on a new embedded chain" in first.stdout
    assert "hospital-4" in first.stdout
    assert "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266" in first.stdout  # insurer

    again = claims(state, "init")
    assert "already exists" in again.stdout
    second = claims_json(state, "init")
    assert second["created"] is False
    assert second["chain"] == "embedded"


# -- reading claims -----------------------------------------------------------------------------


def test_status_json_has_exactly_the_documented_keys(
    prepared: tuple[Path, dict[str, int]], claim_ids: dict[str, int]
) -> None:
    state = prepared[0]
    result = claims_json(state, "status", claim_ids["HOSP-A-2027-000101"])
    assert list(result) == CLAIM_KEYS
    assert list(result["lines"][0]) == LINE_KEYS
    assert list(result["totals"]) == TOTAL_KEYS
    submitted = result["transactions"]["submitted"]
    assert submitted.startswith("0x") and len(submitted) == 66
    assert {k: v for k, v in result.items() if k != "transactions"} == {
        "claim_id": claim_ids["HOSP-A-2027-000101"],
        "plan_id": PLAN,
        "record_id": "HOSP-A-2027-000101",
        "provider_id": "HOSP-A",
        "service_date": "2027-02-10",
        "status": "paid",
        "lines": [
            {
                "code": "99213",
                "units": 1,
                "billed": "180.00",
                "allowed": "120.00",
                "deductible": "0.00",
                "copay": "25.00",
                "coinsurance": "0.00",
                "benefit_limit": "0.00",
                "plan_paid": "95.00",
                "patient_responsibility": "25.00",
                "denied": False,
                "reasons": ["45", "3"],
            }
        ],
        "totals": {
            "billed": "180.00",
            "allowed": "120.00",
            "plan_paid": "95.00",
            "patient_responsibility": "25.00",
        },
    }


def test_status_by_record_id_and_provider(prepared: tuple[Path, dict[str, int]]) -> None:
    state = prepared[0]
    by_record = claims_json(state, "status", "--record", "HOSP-B-2027-000203")
    assert by_record["status"] == "queued"  # the 300.00 pool ran out before it
    assert [line["denied"] for line in by_record["lines"]] == [False, True]
    assert by_record["lines"][1]["reasons"] == ["197"]
    with_provider = claims_json(
        state, "status", "--record", "HOSP-B-2027-000203", "--provider", "HOSP-B"
    )
    assert with_provider == by_record


def test_status_table_for_people(
    prepared: tuple[Path, dict[str, int]], claim_ids: dict[str, int]
) -> None:
    out = claims(prepared[0], "status", claim_ids["HOSP-A-2027-000104"]).stdout
    assert "HOSP-A-2027-000104" in out and "pending_review" in out
    for text in ("27447", "48500.00", "30000.00", "1000.00", "1975.00", "27025.00", "total"):
        assert text in out
    assert not out.lstrip().startswith("{")


def test_status_needs_a_claim_id_or_a_record(prepared: tuple[Path, dict[str, int]]) -> None:
    result = claims(prepared[0], "status", code=2)
    assert result.stderr.startswith("error: give either CLAIM_ID or --record")


def test_member_json_has_exactly_the_documented_keys(
    prepared: tuple[Path, dict[str, int]],
) -> None:
    report = claims_json(prepared[0], "member", PLAN, "M-0002")
    assert list(report) == MEMBER_KEYS
    # 000102 (visit + x-ray) and 000203 (visit; the knee line is denied) stand.
    assert report == {
        "plan_id": PLAN,
        "member_id": "M-0002",
        "period": 0,
        "deductible_met": "95.00",
        "oop_met": "145.00",
        "benefit_used": "190.00",
        "units_used": {"71046": 1, "99213": 2},
    }
    assert claims_json(prepared[0], "member", PLAN, "M-0002", "--date", "2027-03-01") == report
    later = claims_json(prepared[0], "member", PLAN, "M-0002", "--date", "2028-01-01")
    assert later["period"] == 1 and later["deductible_met"] == "0.00"


def test_member_table_for_people(prepared: tuple[Path, dict[str, int]]) -> None:
    out = claims(prepared[0], "member", PLAN, "M-0002").stdout
    assert "2027-01-01 to 2027-12-31" in out
    assert "145.00" in out and "99213 × 2" in out


def test_pool_json(prepared: tuple[Path, dict[str, int]]) -> None:
    # 3 claims of 95.00 were paid from 300.00; 272.00 and 95.00 wait in the queue.
    assert claims_json(prepared[0], "pool", PLAN) == {
        "plan_id": PLAN,
        "balance": "15.00",
        "reserved": "367.00",
        "free": "0.00",  # nothing may be withdrawn: queued claims need 367.00
        "shortfall": "352.00",  # 367.00 - 15.00
        "queued": 2,
    }


def test_json_flag_may_also_follow_the_command(prepared: tuple[Path, dict[str, int]]) -> None:
    after = json.loads(claims(prepared[0], "pool", PLAN, "--json").stdout)
    assert after == claims_json(prepared[0], "pool", PLAN)


def test_provider_list(prepared: tuple[Path, dict[str, int]]) -> None:
    providers = claims_json(prepared[0], "provider", "list", PLAN)
    assert [(p["provider_id"], p["active"]) for p in providers] == [
        ("HOSP-A", True),
        ("HOSP-B", True),
    ]


def test_provider_list_shows_each_npi(state: Path) -> None:
    # What the 835 names a provider by, so the insurer can check it before remitting.
    claims(
        state, "provider", "add", PLAN, "HOSP-C", "--account", "hospital-3", "--npi", "1245319599"
    )
    listed = claims_json(state, "provider", "list", PLAN)
    assert [(p["provider_id"], p["npi"]) for p in listed] == [
        ("HOSP-A", None),
        ("HOSP-B", None),
        ("HOSP-C", "1245319599"),
    ]
    shown = claims(state, "provider", "list", PLAN).stdout
    assert "1245319599" in shown and " npi " in shown


# -- review, funding, settlement ----------------------------------------------------------------


def test_review_approve_then_fund_settles_the_queue(state: Path, claim_ids: dict[str, int]) -> None:
    knee = claim_ids["HOSP-A-2027-000104"]
    pending = claims_json(state, "review", "list", PLAN)
    assert [claim["claim_id"] for claim in pending] == [knee]
    assert claims_json(state, "review", "list") == pending

    approved = claims_json(state, "review", knee, "--approve")
    assert approved["status"] == "queued"
    assert approved["totals"]["plan_paid"] == "27025.00"
    assert claims_json(state, "review", "list", PLAN) == []
    assert claims_json(state, "pool", PLAN)["queued"] == 3

    funded = claims_json(state, "fund", PLAN, "50000.00")
    assert funded["settled"] == 3
    assert funded["pool"]["balance"] == "22623.00"  # 15.00 + 50000.00 - 272 - 95 - 27025
    settled = claims_json(state, "settle", PLAN)
    assert settled["settled"] == 0 and settled["pool"]["queued"] == 0
    assert claims_json(state, "status", knee)["status"] == "paid"
    assert claims_json(state, "status", claim_ids["HOSP-B-2027-000201"])["status"] == "paid"


def test_review_deny_undoes_the_accumulators(state: Path, claim_ids: dict[str, int]) -> None:
    knee = claim_ids["HOSP-A-2027-000104"]
    before = claims_json(state, "member", PLAN, "M-0001")
    assert before["oop_met"] == "3000.00"  # 25.00 copay + 1000.00 deductible + 1975.00
    out = claims(state, "--as", "adjudicator", "review", knee, "--deny").stdout
    assert "Denied claim" in out and "denied" in out
    after = claims_json(state, "member", PLAN, "M-0001")
    assert after["oop_met"] == "25.00" and after["deductible_met"] == "0.00"
    again = claims(state, "review", knee, "--approve", code=1)
    assert again.stderr.startswith(f"error: claim {knee} is denied, not pending_review")


def test_status_reads_right_after_a_review_denial(state: Path, claim_ids: dict[str, int]) -> None:
    # adjudication.md: after a denial in review every line reads as denied with the
    # reason (50 by default): allowed 0, plan_paid 0, the whole billed amount under it.
    knee = claim_ids["HOSP-A-2027-000104"]
    claims(state, "--as", "adjudicator", "review", knee, "--deny")
    status = claims_json(state, "status", knee)
    assert status["status"] == "denied"
    assert status["totals"]["plan_paid"] == "0.00" and status["totals"]["allowed"] == "0.00"
    for line in status["lines"]:
        assert (line["allowed"], line["plan_paid"], line["reasons"]) == ("0.00", "0.00", ["50"])
    # M-0001 keeps only its office visit: copay 25.00, plan_paid 120.00 - 25.00 = 95.00.
    member = claims_json(state, "member", PLAN, "M-0001")
    assert member["oop_met"] == "25.00" and member["benefit_used"] == "95.00"


def test_review_needs_one_decision(state: Path, claim_ids: dict[str, int]) -> None:
    knee = claim_ids["HOSP-A-2027-000104"]
    for extra in ([], ["--approve", "--deny"]):
        result = claims(state, "review", knee, *extra, code=2)
        assert result.stderr.startswith("error: say --approve or --deny")
        assert "claims review --help" in result.stderr
    assert claims_json(state, "status", knee)["status"] == "pending_review"


def test_state_and_rpc_from_the_environment(prepared: tuple[Path, dict[str, int]]) -> None:
    env = {"CLAIMS_STATE": str(prepared[0]), "CLAIMS_RPC": ""}
    result = RUNNER.invoke(main, ["--json", "pool", PLAN], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == claims_json(prepared[0], "pool", PLAN)


def test_settle_pays_the_queue_when_money_arrives(state: Path) -> None:
    out = claims(state, "settle", PLAN).stdout
    assert "Paid 0 queued claims" in out and "2 still queued" in out


def test_withdraw_only_what_no_queued_claim_needs(state: Path) -> None:
    owed = claims(state, "withdraw", PLAN, "10.00", code=1)
    assert owed.stderr.startswith("error: transaction reverted: pool: amount exceeds free")
    assert claims_json(state, "fund", PLAN, "1000.00")["pool"]["balance"] == "648.00"
    withdrawn = claims_json(state, "withdraw", PLAN, "48.00", "--to", "auditor")
    assert withdrawn["pool"]["balance"] == "600.00"
    claims(state, "withdraw", PLAN, "600.01", code=1)
    assert claims_json(state, "pool", PLAN)["balance"] == "600.00"


def test_pause_and_resume(state: Path) -> None:
    assert claims_json(state, "pause", PLAN) == {"plan_id": PLAN, "paused": True}
    # A paused plan takes no new work, but its approved claims are still paid: anyone
    # settles (it used to be refused, and the insurer's pause held the queue).
    refused = claims(state, "withdraw", PLAN, "1.00", code=1)
    assert refused.stderr.startswith("error: transaction reverted: claims: plan paused")
    claims(state, "settle", PLAN)
    assert claims_json(state, "resume", PLAN) == {"plan_id": PLAN, "paused": False}
    claims(state, "settle", PLAN)


def test_provider_suspend_and_reinstate(state: Path) -> None:
    suspended = claims_json(state, "provider", "suspend", PLAN, "HOSP-B")
    assert suspended["active"] is False
    reinstated = claims_json(state, "provider", "reinstate", PLAN, "HOSP-B")
    assert reinstated["active"] is True


def test_adjudicator_remove(state: Path, claim_ids: dict[str, int]) -> None:
    removed = claims_json(state, "adjudicator", "remove", PLAN, "--account", "adjudicator")
    assert removed["adjudicator"] is False
    refused = claims(state, "review", claim_ids["HOSP-A-2027-000104"], "--approve", code=1)
    assert "is not an adjudicator of plan SILVER-2027" in refused.stderr


# -- time ---------------------------------------------------------------------------------------


def test_time_moves_forward_only(state: Path) -> None:
    assert claims_json(state, "time", "show")["date"] == "2027-07-01"
    assert claims_json(state, "time", "advance", "30")["date"] == "2027-07-31"
    back = claims(state, "time", "set", "2027-07-15", code=1)
    assert back.stderr.startswith("error: cannot move the clock back to 2027-07-15")
    assert claims_json(state, "time", "set", "2027-07-31")["date"] == "2027-07-31"  # no-op
    assert claims_json(state, "time", "set", "2027-08-01")["date"] == "2027-08-01"
    claims(state, "time", "advance", "0", code=2)
    claims(state, "time", "advance", "-3", code=2)


# -- help and the lazy group --------------------------------------------------------------------


def _command_paths() -> list[list[str]]:
    paths = [[name] for name in COMMANDS]
    for group, subcommands in {
        "provider": ["add", "suspend", "reinstate", "list"],
        "adjudicator": ["add", "remove"],
        "review": ["list"],
        "time": ["show", "set", "advance"],
    }.items():
        paths += [[group, sub] for sub in subcommands]
    return paths


def _module_exists(name: str) -> bool:
    import importlib.util

    module = COMMANDS[name].target.partition(":")[0]
    return importlib.util.find_spec(module) is not None


@pytest.mark.parametrize("path", _command_paths(), ids=" ".join)
def test_every_command_has_help_with_an_example(path: list[str]) -> None:
    if not _module_exists(path[0]):
        result = RUNNER.invoke(main, [*path, "--help"])
        assert result.exit_code == 1
        assert result.stderr.startswith(f"error: the `{path[0]}` command is not available")
        return
    result = RUNNER.invoke(main, [*path, "--help"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.stdout
    assert "Example" in result.stdout, f"`claims {' '.join(path)} --help` shows no example"


def test_top_level_help_lists_every_command() -> None:
    result = RUNNER.invoke(main, ["--help"], catch_exceptions=False)
    assert result.exit_code == 0
    for name, entry in COMMANDS.items():
        assert name in result.stdout
        assert entry.help in result.stdout
    for name in ("submit", "verify", "reconcile", "simulate"):
        assert COMMANDS[name].target == f"claimsengine.cli.commands.{name}:{name}"


def test_the_help_line_of_each_command_is_its_own_short_help() -> None:
    # Written once, on the command; `claims --help` reads it from the source.
    for name, entry in COMMANDS.items():
        module, _, attribute = entry.target.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        assert entry.help == command.get_short_help_str(limit=200), name


def test_a_command_without_short_help_shows_its_docstrings_first_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "plain_command.py").write_text(
        "import click\n\n\n@click.command()\ndef plain() -> None:\n"
        '    """Do a plain thing. More words\n    on two lines.\n\n    Example: ..."""\n',
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert own_short_help("plain_command:plain") == "Do a plain thing."
    assert own_short_help("plain_command:absent") is None
    assert own_short_help("no_such_module_anywhere:plain") is None


def test_help_and_version_import_no_command_and_no_chain() -> None:
    code = (
        "import sys\n"
        "from claimsengine.cli.main import main\n"
        "for argv in (['--help'], ['--version']):\n"
        "    try:\n"
        "        main.main(argv, prog_name='claims')\n"
        "    except SystemExit as stop:\n"
        "        assert stop.code == 0, stop.code\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('web3', 'eth', 'vyper', 'eth_abi', 'rich')"
        " or m.startswith('claimsengine.cli.commands.')]\n"
        "print('HEAVY', heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert "HEAVY []" in done.stdout, done.stdout
    assert "claims 0.1.0" in done.stdout


def test_a_missing_command_module_gives_one_error_line(monkeypatch: pytest.MonkeyPatch) -> None:
    group = main
    assert hasattr(group, "lazy_commands")
    ghost = LazyCommand("claimsengine.cli.commands.ghost:ghost", "Not written yet.", "Anyone")
    monkeypatch.setitem(group.lazy_commands, "ghost", ghost)
    listed = RUNNER.invoke(main, ["--help"])
    assert "ghost" in listed.stdout and "Not written yet." in listed.stdout
    for argv in (["ghost"], ["ghost", "x", "--flag"], ["ghost", "--help"]):
        result = RUNNER.invoke(main, argv)
        assert result.exit_code == 1
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 1
        assert lines[0].startswith("error: the `ghost` command is not available")


def test_amount_with_three_decimals_names_the_argument(
    prepared: tuple[Path, dict[str, int]],
) -> None:
    result = claims(prepared[0], "fund", PLAN, "1.005", code=2)
    assert result.stderr.startswith("error: Invalid value for 'AMOUNT': amount '1.005' has more")
    negative = claims(prepared[0], "fund", PLAN, "-5", code=2)
    assert "amount '-5' is negative" in negative.stderr
