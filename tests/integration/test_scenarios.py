"""`claims simulate`: every fixture scenario passes; a wrong expectation fails with exit 1
and a precise message; JUnit XML parses; bad files are named; population mode is wired."""

from __future__ import annotations

import json
import shutil
import sys
import time
import types
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from claimsengine.chain.anvil import find_anvil, start_anvil
from claimsengine.cli.main import main
from claimsengine.scenario import run_file

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "fixtures" / "scenarios").glob("*.yaml"))
WORKED = ROOT / "fixtures" / "scenarios" / "worked-examples.yaml"


def claims(*args: object, code: int | None = None) -> Result:
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    if code is not None:
        assert result.exit_code == code, result.output
    return result


def copy_fixture(tmp_path: Path, name: str, old: str, new: str) -> tuple[Path, int]:
    """The fixture scenario with one expectation changed; returns its path and the line
    where the change begins."""
    text = (ROOT / "fixtures" / "scenarios" / name).read_text()
    assert text.count(old) == 1, old
    path = tmp_path / name
    # Relative paths in the scenario (../plans/...) must still resolve.
    (tmp_path / "plans").mkdir(exist_ok=True)
    shutil.copy(ROOT / "fixtures" / "plans" / "silver.yaml", tmp_path / "plans")
    shutil.copy(ROOT / "fixtures" / "members.csv", tmp_path)
    text = text.replace("../plans/", "plans/").replace("../members.csv", "members.csv")
    path.write_text(text.replace(old, new))
    return path, text[: text.index(old)].count("\n") + 1


def line_of(path: Path, fragment: str) -> int:
    return next(n for n, row in enumerate(path.read_text().splitlines(), 1) if fragment in row)


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_every_fixture_scenario_passes(path: Path) -> None:
    started = time.process_time()
    result = run_file(path)
    assert result.messages() == []
    assert result.passed
    assert result.checks > 10
    # "a few seconds at most", with room for a slow CI machine. CPU time, not the wall
    # clock (result.seconds): other processes on a busy machine do not count against it.
    assert time.process_time() - started < 10


def test_the_command_runs_several_files(tmp_path: Path) -> None:
    files = [ROOT / "fixtures" / "scenarios" / n for n in ("copays.yaml", "pool-queue.yaml")]
    result = claims("simulate", *files, code=0)
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"PASS  {files[0]}: Copays (9 steps, ")
    assert lines[1].startswith(f"PASS  {files[1]}: Pool shortfall, queue and FIFO settlement")
    assert lines[2].startswith("2 scenarios: 2 passed, 0 failed (")
    assert result.stderr == ""


def test_a_wrong_expectation_fails_with_a_precise_message(tmp_path: Path) -> None:
    # Claim A of the worked examples pays 80.00; say 79.00.
    old = '          plan_paid: "80.00"\n'
    path, _ = copy_fixture(tmp_path, "worked-examples.yaml", old, old.replace("80", "79"))
    # The failure points at the mapping of lines[0], which starts at its first key.
    line = line_of(path, '        - allowed: "300.00"')
    result = claims("simulate", path, code=1)
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"FAIL  {path}: ")
    assert "(5 steps, 76 checks, 1 step failed, " in lines[0]
    assert lines[1] == (
        f"  step 2: claim A-1: lines[0].plan_paid: expected 79.00, got 80.00 ({path}:{line})"
    )
    assert lines[2].startswith("1 scenario: 0 passed, 1 failed (")
    assert len(lines) == 3
    assert result.stderr.startswith("error: 1 of 1 scenario failed (1 failure)")


def test_failures_point_at_the_line_that_states_the_value(tmp_path: Path) -> None:
    old = '- {member: M-0001, deductible_met: "1000.00", oop_met: "1420.00",'
    new = '- {member: M-0001, deductible_met: "1000.00", oop_met: "1400.00",'
    path, line = copy_fixture(tmp_path, "worked-examples.yaml", old, new)
    result = claims("simulate", path, code=1)
    assert (
        f"  step 2: member M-0001 in WORKED-EXAMPLE: oop_met: expected 1400.00, got 1420.00 "
        f"({path}:{line})" in result.stdout.splitlines()
    )


def test_an_expected_error_that_does_not_happen(tmp_path: Path) -> None:
    # The withdrawal of 40.00 succeeds; expecting it to fail is a failure.
    old = '    withdraw: {amount: "40.00"}\n    expect:\n'
    new = old + '      error: "pool: amount exceeds free balance"\n'
    path, _ = copy_fixture(tmp_path, "pool-queue.yaml", old, new)
    result = claims("simulate", path, code=1)
    assert (
        "step 9: error: expected an error containing 'pool: amount exceeds free balance', got none"
    ) in result.stdout


def test_an_error_nobody_expected(tmp_path: Path) -> None:
    pools = '      pools:\n        - {balance: "340.00"'
    old = '      error: "pool: amount exceeds free balance"\n' + pools
    new = pools
    path, _ = copy_fixture(tmp_path, "pool-queue.yaml", old, new)
    result = claims("simulate", path, code=1)
    assert (
        "  step 4: unexpected error: transaction reverted: pool: amount exceeds free balance "
        "(hint: queued claims need that money; withdraw less)"
    ) in result.stdout


def test_a_set_aside_record_is_reported(tmp_path: Path) -> None:
    old = '        - {record: DN-10, error: "is after the chain\'s today"}\n'
    path, _ = copy_fixture(tmp_path, "claim-denials.yaml", old, "")
    result = claims("simulate", path, code=1)
    assert "step 7: record DN-10: set aside: " in result.stdout
    assert "field service_date: service date 2028-06-01 is after the chain's today" in (
        result.stdout
    )


def test_junit_report_parses(tmp_path: Path) -> None:
    old = '      status: queued\n      totals: {plan_paid: "1120.00"}'
    path, _ = copy_fixture(tmp_path, "pool-queue.yaml", old, old.replace("queued", "paid", 1))
    report = tmp_path / "report.xml"
    result = claims("simulate", WORKED, path, "--junit", report, code=1)
    assert "FAIL" in result.stdout
    root = ET.parse(report).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("15", "1", "0")
    passing, failing = root.findall("testsuite")
    assert passing.get("name") == "Worked examples A and B, and the copay example (adjudication.md)"
    assert passing.get("failures") == "0"
    assert len(passing.findall("testcase")) == 5
    cases = failing.findall("testcase")
    assert len(cases) == 10
    assert cases[1].get("name") == "step 2: the pool falls short, the claim is queued (submit Q-2)"
    failure = cases[1].find("failure")
    assert failure is not None
    assert failure.get("message", "").startswith(
        "step 2: claim Q-2: status: expected paid, got queued ("
    )
    assert [c.find("failure") for c in cases if c is not cases[1]] == [None] * 9


def test_json_output(tmp_path: Path) -> None:
    result = claims("--json", "simulate", WORKED, code=0)
    data = json.loads(result.stdout)
    assert (data["passed"], data["failed"]) == (1, 0)
    (scenario,) = data["scenarios"]
    assert scenario["file"] == str(WORKED)
    assert scenario["failures"] == []
    assert [s["step"] for s in scenario["step_results"]] == [1, 2, 3, 4, 5]
    assert all(s["passed"] for s in scenario["step_results"])


def test_a_bad_scenario_file_is_named_and_the_others_still_run(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "plans:\n  - plan: ../nowhere.yaml\nsteps:\n  - expect:\n      pools: [{balance: 1.5}]\n"
    )
    result = claims("simulate", bad, WORKED, code=1)
    lines = result.stdout.splitlines()
    assert lines[0] == f"ERROR {bad}"
    assert lines[1].startswith(f"  {bad}:2: field plans[0].plan: {tmp_path}/../nowhere.yaml: ")
    assert "cannot read the plan file: No such file or directory" in lines[1]
    assert lines[2].startswith(f"PASS  {WORKED}")
    assert result.stderr.startswith("error: 1 of 2 scenarios failed")


def test_a_bad_expectation_is_named_with_its_field_path(tmp_path: Path) -> None:
    old = '          plan_paid: "80.00"\n'
    path, _ = copy_fixture(tmp_path, "worked-examples.yaml", old, "          plan_paid: 80.00\n")
    line = line_of(path, '        - allowed: "300.00"')
    result = claims("simulate", path, code=1)
    assert (
        f"  {path}:{line}: field steps[1].expect.lines[0].plan_paid: amount 80.0 is a "
        "floating-point number"
    ) in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give one or more SCENARIO.yaml files (or --generate)"),
        (["--seed", "3", str(WORKED)], "--seed only applies with --generate"),
        (["--members", "3", "--claims", "4", str(WORKED)], "--members, --claims only apply"),
        (["--generate", str(WORKED)], "give SCENARIO files or --generate, not both"),
        (["--generate", "--junit", "x.xml"], "--junit applies to scenario files"),
        (["nowhere.yaml"], "does not exist"),
    ],
)
def test_usage_errors(args: list[str], message: str) -> None:
    result = claims("simulate", *args, code=2)
    assert result.stderr.startswith("error: ")
    assert message in result.stderr


def test_as_does_not_apply() -> None:
    result = claims("--as", "insurer", "simulate", WORKED, code=2)
    assert "--as does not apply" in result.stderr


def test_generate_without_the_population_module(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes the import fail as if the module did not exist.
    monkeypatch.setitem(sys.modules, "claimsengine.population", None)
    result = claims("simulate", "--generate", "--members", "5", code=1)
    assert result.stderr.strip() == (
        "error: population mode (--generate) is not available in this installation: the "
        "module claimsengine.population does not exist yet (hint: run scenario files "
        "instead: claims simulate SCENARIO.yaml)"
    )


class FakeReport:
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems

    def to_json(self) -> dict[str, object]:
        return {"seed": 9, "records": {"generated": 4}, "pool": [1, 2]}

    def check(self) -> list[str]:
        return self.problems


@pytest.mark.parametrize("terminal", [False, True])
@pytest.mark.parametrize("problems", [[], ["statuses do not add up"]])
def test_generate_runs_the_population(
    monkeypatch: pytest.MonkeyPatch, problems: list[str], terminal: bool
) -> None:
    if terminal:  # rich then draws as on a terminal
        monkeypatch.setenv("FORCE_COLOR", "1")
    calls: list[tuple[object, ...]] = []
    population = types.SimpleNamespace(records=[{}] * 4)

    def generate_population(*args: object) -> object:
        calls.append(args)
        return population

    def run_population(
        generated: object, *, rpc: str | None, advance: Callable[[int], None]
    ) -> FakeReport:
        calls.append((generated, rpc))
        advance(4)
        return FakeReport(problems)

    module = types.ModuleType("claimsengine.population")
    module.generate_population = generate_population  # type: ignore[attr-defined]
    module.run_population = run_population  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "claimsengine.population", module)
    result = claims("simulate", "--generate", "--members", "7", "--seed", "9")
    assert calls == [(7, 2000, 9), (population, None)]
    assert result.stdout == 'seed: 9\nrecords: {"generated": 4}\n'
    # The progress bar goes to stderr, and only on a terminal.
    assert ("Simulating the plan year" in result.stderr) is terminal
    if problems:
        assert result.exit_code == 1
        assert "the population's counts do not add up: statuses do not add up" in result.stderr
    else:
        assert result.exit_code == 0, result.output


@pytest.mark.anvil
@pytest.mark.skipif(find_anvil() is None, reason="anvil is not installed")
def test_a_scenario_over_json_rpc() -> None:
    # A node of its own: scenarios move the clock forward, which other tests must not see.
    with start_anvil() as node:
        result = claims("--rpc", node.url, "simulate", WORKED, code=0)
    assert result.stdout.startswith(f"PASS  {WORKED}")


@pytest.mark.anvil
@pytest.mark.skipif(find_anvil() is None, reason="anvil is not installed")
@pytest.mark.parametrize("name", ["voids", "replacements", "two-person-review", "before-a-claim"])
def test_the_scenarios_after_a_claim_over_json_rpc(name: str) -> None:
    # Voids, corrections, votes and estimates run the same over JSON-RPC (a fresh node each).
    path = ROOT / "fixtures" / "scenarios" / f"{name}.yaml"
    with start_anvil() as node:
        result = claims("--rpc", node.url, "simulate", path, code=0)
    assert result.stdout.startswith(f"PASS  {path}")
