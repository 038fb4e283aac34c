"""The scenario format: every fixture loads; every bad file is refused with an error that
names the file, the YAML line and the field path; JUnit XML is what CI parsers read."""

from __future__ import annotations

import textwrap
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import pytest

from claimsengine.scenario import (
    Failure,
    Fund,
    Renew,
    Review,
    ScenarioError,
    ScenarioResult,
    Settle,
    StepResult,
    Submit,
    Withdraw,
    junit_xml,
    load_scenario,
    run_file,
)

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "fixtures" / "scenarios").glob("*.yaml"))

# A small valid scenario; tests break one thing in it at a time.
PLAN = """\
plans:
  - id: P-1
    name: Test plan
    token: dev
    effective_date: 2027-01-01
    benefit_period_days: 365
    deductible: "100.00"
    out_of_pocket_max: "1000.00"
    coinsurance: 20
    waiting_period_days: 0
    timely_filing_days: 365
    auto_approve_limit: "5000.00"
    services:
      - {code: "X", allowed: "100.00"}
members:
  P-1:
    - {member_id: M-1, coverage_start: 2027-01-01}
providers:
  - {id: H-1, account: hospital-1}
funding:
  P-1: "1000.00"
"""

SUBMIT = """\
steps:
  - date: 2027-02-01
    submit:
      - record_id: R-1
        member_id: M-1
        service_date: 2027-02-01
        lines:
          - {code: "X", units: 1, billed: "100.00"}
    expect:
      status: paid
      lines:
        - {plan_paid: "80.00"}
"""


def write(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def refused(tmp_path: Path, text: str) -> ScenarioError:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    return caught.value


def line_of(text: str, fragment: str) -> int:
    """The 1-based line of the first line of ``text`` that contains ``fragment``."""
    for number, line in enumerate(textwrap.dedent(text).splitlines(), start=1):
        if fragment in line:
            return number
    raise AssertionError(f"{fragment!r} not in the text")


# -- the fixture library --------------------------------------------------------------------


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_every_fixture_scenario_loads(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.steps
    assert scenario.name
    # Steps count from 1 and carry their YAML line.
    assert [s.number for s in scenario.steps] == list(range(1, len(scenario.steps) + 1))
    assert all(s.line for s in scenario.steps)


def test_the_library_covers_what_the_test_team_asked_for() -> None:
    names = {p.stem for p in SCENARIOS}
    assert {
        "worked-examples",
        "deductible-coinsurance",
        "out-of-pocket-max",
        "benefit-maximum",
        "copays",
        "unit-limits",
        "prior-auth",
        "claim-denials",
        "duplicates",
        "review",
        "pool-queue",
        "two-insurers",
        "before-a-claim",
        "voids",
        "replacements",
        "two-person-review",
    } <= names


# -- what a valid file becomes ---------------------------------------------------------------


def test_a_valid_scenario_is_read_with_its_defaults(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, PLAN + SUBMIT))
    assert scenario.name == "scenario"  # the file's stem when no name is given
    assert scenario.start == date(2027, 1, 1)  # the earliest plan's effective date
    (setup,) = scenario.plans
    assert (setup.plan.id, setup.insurer, setup.adjudicator) == ("P-1", "insurer", "adjudicator")
    assert scenario.funding == {"P-1": 100000}
    (step,) = scenario.steps
    assert isinstance(step.action, Submit)
    (record,) = step.action.records
    # With one plan and one provider, records may leave plan_id and provider_id out.
    assert (record.plan_id, record.provider_id) == ("P-1", "H-1")
    assert step.expect.claim is not None
    assert step.expect.claim.values == {"status": "paid"}
    assert step.expect.claim.lines == ({"plan_paid": 8000},)
    assert step.title == "2027-02-01: submit R-1"
    assert step.line == line_of(PLAN + SUBMIT, "- date: 2027-02-01")


def test_actions_and_titles(tmp_path: Path) -> None:
    text = (
        PLAN
        + SUBMIT
        + textwrap.indent(
            textwrap.dedent("""\
            - name: approve it
              review: {record: R-1, decision: approve}
            - fund: {amount: "50.00"}
            - advance: 3
              settle:
            - withdraw: {amount: "10.00", to: auditor, as: insurer}
            - expect:
                pools: [{balance: "1.00", queued: 0}]
            - renew:
        """),
            "  ",
        )
    )
    scenario = load_scenario(write(tmp_path, text))
    steps = scenario.steps
    assert isinstance(steps[1].action, Review) and steps[1].action.approve
    assert steps[1].title == "approve it (review R-1: approve)"
    assert isinstance(steps[2].action, Fund) and steps[2].action.cents == 5000
    assert isinstance(steps[3].action, Settle) and steps[3].advance == 3
    assert steps[3].title == "advance 3 days: settle P-1"
    assert isinstance(steps[4].action, Withdraw)
    assert (steps[4].action.to, steps[4].action.account) == ("auditor", "insurer")
    assert steps[5].title == "check"
    assert steps[5].expect.pools[0].values == {"balance": 100, "queued": 0}
    assert steps[6].action == Renew("P-1", None)  # the only plan, its insurer
    assert steps[6].title == "renew P-1"


def test_reason_codes_may_be_written_as_numbers(tmp_path: Path) -> None:
    text = PLAN + SUBMIT.replace('{plan_paid: "80.00"}', '{reasons: [1, "2"]}')
    scenario = load_scenario(write(tmp_path, text))
    claim = scenario.steps[0].expect.claim
    assert claim is not None and claim.lines == ({"reasons": ("1", "2")},)


# -- errors name the file, the line and the field --------------------------------------------


def test_a_float_amount_names_its_field_path_and_line(tmp_path: Path) -> None:
    text = PLAN + SUBMIT.replace('{plan_paid: "80.00"}', "{plan_paid: 80.00}")
    error = refused(tmp_path, text)
    assert error.field == "steps[0].expect.lines[0].plan_paid"
    assert error.line == line_of(text, "{plan_paid: 80.0")
    assert str(error).startswith(
        f"{tmp_path / 'scenario.yaml'}:{error.line}: field steps[0].expect.lines[0].plan_paid: "
    )
    assert "floating-point" in str(error)
    assert error.hint and '"180.00"' in error.hint


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        ("    submit:", "    sumbit:", "steps[0].sumbit", "unknown key 'sumbit'"),
        ("status: paid", "status: approved", "steps[0].expect.status", "expected one of paid"),
        (
            'billed: "100.00"}',
            'billed: "1.005"}',
            "steps[0].submit[0].lines[0].billed",
            "2 decimals",
        ),
        (
            "member_id: M-1\n        service",
            "member_id: 7\n        service",
            "steps[0].submit[0].member_id",
            "expected a string",
        ),
        ('allowed: "100.00"}', 'allowed: "-1"}', "plans[0].services[0].allowed", "negative"),
        ("account: hospital-1", "account: hospital-9", "providers[0].account", "not an account"),
        ('  P-1: "1000.00"', '  P-2: "1000.00"', "funding.P-2", "not a plan of this scenario"),
        (
            "  - date: 2027-02-01",
            "  - date: 2027-02-30",
            None,
            "'2027-02-30' is not a calendar date",
        ),
        ("  - date: 2027-02-01", '  - date: "2027-02-30"', "steps[0].date", "not a calendar date"),
        (
            "      status: paid",
            "      status: paid\n      colour: red",
            "steps[0].expect.colour",
            "unknown key",
        ),
        (
            "coverage_start: 2027-01-01}",
            "coverage_start: 2027-01-01, coverage_end: 2026-01-01}",
            "members.P-1[0].coverage_end",
            "before coverage_start",
        ),
    ],
)
def test_each_bad_field_is_named(
    tmp_path: Path, old: str, new: str, field: str, message: str
) -> None:
    text = PLAN + SUBMIT
    assert old in text
    error = refused(tmp_path, text.replace(old, new, 1))
    assert error.field == field
    assert message in str(error)
    assert str(tmp_path / "scenario.yaml") in str(error)
    assert error.line is not None


def test_a_claim_expectation_on_a_step_without_a_claim(tmp_path: Path) -> None:
    text = PLAN + SUBMIT + '  - fund: {amount: "10.00"}\n    expect: {status: paid}\n'
    error = refused(tmp_path, text)
    assert error.field == "steps[1].expect.status"
    assert "no claim of its own" in error.message
    assert error.hint and "claims" in error.hint


def test_a_review_of_a_record_never_submitted(tmp_path: Path) -> None:
    text = PLAN + SUBMIT + "  - review: {record: R-2, decision: deny}\n"
    error = refused(tmp_path, text)
    assert error.field == "steps[1].review.record"
    assert "no step up to here submits record R-2" in error.message


def test_a_claims_entry_for_a_record_submitted_later(tmp_path: Path) -> None:
    text = PLAN + SUBMIT.replace(
        "    expect:\n", "    expect:\n      claims: [{record: R-9, status: paid}]\n", 1
    )
    error = refused(tmp_path, text)
    assert error.field == "steps[0].expect.claims[0].record"


def test_error_and_already_submitted_belong_to_records_of_the_step(tmp_path: Path) -> None:
    text = PLAN + SUBMIT + "  - expect:\n      claims: [{record: R-1, already_submitted: true}]\n"
    error = refused(tmp_path, text)
    assert error.field == "steps[1].expect.claims[0].already_submitted"
    assert "only for a record this step submits" in error.message


def test_time_only_moves_forward(tmp_path: Path) -> None:
    text = PLAN + SUBMIT + "  - date: 2027-01-15\n"
    error = refused(tmp_path, text)
    assert error.field == "steps[1].date"
    assert "before the scenario's date at this point (2027-02-01)" in error.message
    assert error.line == line_of(text, "date: 2027-01-15")


def test_advance_counts_toward_the_timeline(tmp_path: Path) -> None:
    text = PLAN + SUBMIT + "  - advance: 10\n  - date: 2027-02-05\n"
    error = refused(tmp_path, text)
    assert error.field == "steps[2].date"
    assert "(2027-02-11)" in error.message


def test_one_action_per_step(tmp_path: Path) -> None:
    text = PLAN + 'steps:\n  - fund: {amount: "1.00"}\n    settle:\n'
    error = refused(tmp_path, text)
    assert error.field == "steps[0]"
    assert "fund and settle" in error.message


def test_an_empty_step(tmp_path: Path) -> None:
    error = refused(tmp_path, PLAN + "steps:\n  - name: nothing\n")
    assert error.field == "steps[0]"
    assert "needs an action" in error.message


def test_date_and_advance_together(tmp_path: Path) -> None:
    error = refused(tmp_path, PLAN + "steps:\n  - {date: 2027-02-01, advance: 1}\n")
    assert error.field == "steps[0]"


def test_a_bare_on_key_gets_a_yaml_hint(tmp_path: Path) -> None:
    text = PLAN + "steps:\n  - expect:\n      members: [{member: M-1, on: 2027-03-01}]\n"
    error = refused(tmp_path, text)
    assert error.field == "steps[0].expect.members[0].True"
    assert error.hint and "on/off/yes/no" in error.hint


def test_a_member_that_is_not_enrolled(tmp_path: Path) -> None:
    text = PLAN + 'steps:\n  - expect:\n      members: [{member: M-2, oop_met: "0.00"}]\n'
    error = refused(tmp_path, text)
    assert error.field == "steps[0].expect.members[0].member"
    assert "not enrolled in P-1" in error.message


def test_the_plan_must_be_named_when_there_are_several(tmp_path: Path) -> None:
    second = textwrap.indent(
        PLAN.split("members:")[0].split("plans:\n", 1)[1].replace("P-1", "P-2"), ""
    )
    text = (
        PLAN.replace("members:", second + "members:", 1)
        .replace("account: hospital-1}", "account: hospital-1, plan: P-1}")
        .replace('  P-1: "1000.00"', '  P-1: "1000.00"\n  P-2: "1000.00"')
    )
    text += 'steps:\n  - fund: {amount: "1.00"}\n'
    error = refused(tmp_path, text)
    assert error.field == "steps[0].fund.plan"
    assert "several plans" in error.message
    assert error.hint and "P-1, P-2" in error.hint


def test_a_plan_listed_twice(tmp_path: Path) -> None:
    plan = PLAN.split("members:")[0].split("plans:\n", 1)[1]
    text = PLAN.replace("members:", plan + "members:", 1) + SUBMIT
    error = refused(tmp_path, text)
    assert error.field == "plans[1].id"


def test_a_plan_file_that_does_not_exist(tmp_path: Path) -> None:
    text = "plans:\n  - plan: nowhere.yaml\nsteps:\n  - advance: 1\n"
    error = refused(tmp_path, text)
    assert error.field == "plans[0].plan"
    assert "nowhere.yaml" in error.message and "cannot read" in error.message


def test_a_plan_file_with_an_error_names_both_files(tmp_path: Path) -> None:
    (tmp_path / "plan.yaml").write_text("id: P-1\nname: x\n")
    text = "plans:\n  - plan: plan.yaml\nsteps:\n  - advance: 1\n"
    error = refused(tmp_path, text)
    assert error.field == "plans[0].plan"
    assert f"{tmp_path / 'plan.yaml'}: field token: is required" in error.message


def test_a_scenario_plan_must_use_the_dev_token(tmp_path: Path) -> None:
    text = PLAN.replace("token: dev", 'token: "0x5FbDB2315678afecb367f032d93F642f64180aa3"')
    error = refused(tmp_path, text + SUBMIT)
    assert error.field == "plans[0].token"


def test_a_members_csv_with_an_error(tmp_path: Path) -> None:
    (tmp_path / "members.csv").write_text(
        "member_id,coverage_start,coverage_end\nM-1,2027-13-01,\n"
    )
    text = PLAN.replace(
        "  P-1:\n    - {member_id: M-1, coverage_start: 2027-01-01}\n", "  P-1: members.csv\n"
    )
    error = refused(tmp_path, text + SUBMIT)
    assert error.field == "members.P-1"
    assert "members.csv: record line 2: field coverage_start" in error.message


def test_record_files_are_loaded_and_checked(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"record_id": "R-1", "member_id": "M-1"}')
    text = PLAN + "steps:\n  - submit: {files: [bad.json]}\n"
    error = refused(tmp_path, text)
    assert error.field == "steps[0].submit.files"
    assert "bad.json" in error.message and "service_date" in error.message


def test_not_yaml(tmp_path: Path) -> None:
    error = refused(tmp_path, PLAN + "steps: [\n")
    assert error.message.startswith("not valid YAML")
    assert error.line is not None


def test_a_key_given_twice(tmp_path: Path) -> None:
    error = refused(tmp_path, PLAN + 'funding:\n  P-1: "1.00"\n' + SUBMIT)
    assert "found the key 'funding' twice" in error.message


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        ("- 1\n", None, "must be a mapping"),
        ("plans: []\nsteps: []\n", "plans", "at least one plan"),
        (PLAN, "steps", "is required"),
        (PLAN + "steps: []\n", "steps", "at least one step"),
    ],
)
def test_the_top_level(tmp_path: Path, text: str, field: str | None, message: str) -> None:
    error = refused(tmp_path, text)
    assert error.field == field
    assert message in error.message


def test_a_missing_file_is_a_failed_result_not_a_crash(tmp_path: Path) -> None:
    result = run_file(tmp_path / "missing.yaml")
    assert not result.passed
    assert result.load_error and "cannot read the scenario file" in result.load_error
    assert result.messages() == [result.load_error]


# -- JUnit XML ---------------------------------------------------------------------------------


def results() -> list[ScenarioResult]:
    passing = ScenarioResult(
        file="a.yaml",
        name="A",
        steps=[StepResult(1, 5, "2027-03-01: submit R-1", checks=4, seconds=0.25)],
        seconds=0.5,
    )
    failing = ScenarioResult(
        file="b.yaml",
        name="B & co",
        steps=[
            StepResult(
                1,
                3,
                "submit R-1",
                checks=3,
                failures=[
                    Failure("claim R-1: lines[0].plan_paid: expected 79.00, got 80.00", 9),
                    Failure("claim R-1: status: expected queued, got paid", None),
                ],
            ),
            StepResult(2, 12, "withdraw", error="transaction reverted: pool: amount exceeds"),
            StepResult(3, 15, "settle P-1", checks=1),
        ],
        seconds=1.0,
    )
    broken = ScenarioResult(file="c.yaml", name="c", load_error="c.yaml:2: field plans: bad")
    no_setup = ScenarioResult(
        file="d.yaml",
        name="D",
        setup_error="plan P-1 already exists",
        steps=[StepResult(1, 4, "fund P-1 1.00", skipped=True)],
    )
    return [passing, failing, broken, no_setup]


def test_junit_xml_parses_and_counts() -> None:
    root = ET.fromstring(junit_xml(results()))
    assert root.tag == "testsuites"
    assert {k: root.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": "7",
        "failures": "1",
        "errors": "3",
        "skipped": "1",
    }
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["A", "B & co", "c", "D"]
    assert [s.get("tests") for s in suites] == ["1", "3", "1", "2"]


def test_junit_xml_testcases_carry_the_failures() -> None:
    root = ET.fromstring(junit_xml(results()))
    cases = root.findall("testsuite")[1].findall("testcase")
    assert [c.get("name") for c in cases] == [
        "step 1: submit R-1",
        "step 2: withdraw",
        "step 3: settle P-1",
    ]
    assert cases[0].get("classname") == "simulate.b"
    assert (cases[0].get("file"), cases[0].get("line")) == ("b.yaml", "3")
    failure = cases[0].find("failure")
    assert failure is not None
    assert failure.get("message") == (
        "step 1: claim R-1: lines[0].plan_paid: expected 79.00, got 80.00 (b.yaml:9)"
    )
    assert failure.text is not None
    assert failure.text.splitlines() == [
        "step 1: claim R-1: lines[0].plan_paid: expected 79.00, got 80.00 (b.yaml:9)",
        # A failure without a line of its own points at the step.
        "step 1: claim R-1: status: expected queued, got paid (b.yaml:3)",
    ]
    error = cases[1].find("error")
    assert error is not None
    assert error.get("message", "").startswith("step 2: unexpected error: transaction reverted")
    assert list(cases[2]) == []  # passed: no child


def test_junit_xml_for_a_file_that_did_not_load_or_set_up() -> None:
    suites = ET.fromstring(junit_xml(results())).findall("testsuite")
    (load,) = suites[2].findall("testcase")
    assert load.get("name") == "load"
    assert load.find("error") is not None
    setup, step = suites[3].findall("testcase")
    assert setup.get("name") == "setup"
    assert step.find("skipped") is not None


def test_junit_xml_of_nothing() -> None:
    root = ET.fromstring(junit_xml([]))
    assert root.get("tests") == "0"


def test_an_impossible_date_in_a_plan_file(tmp_path: Path) -> None:
    silver = (ROOT / "fixtures" / "plans" / "silver.yaml").read_text()
    (tmp_path / "plan.yaml").write_text(silver.replace("2027-01-01", "2027-02-30"))
    error = refused(tmp_path, "plans:\n  - plan: plan.yaml\nsteps:\n  - advance: 1\n")
    assert error.field == "plans[0].plan"
    assert "day is out of range for month" in error.message


def test_the_docs_example_is_the_quickstart_fixture_word_for_word() -> None:
    page = (ROOT / "docs" / "scenarios.md").read_text()
    example = page.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert example == (ROOT / "fixtures" / "scenarios" / "quickstart.yaml").read_text()


# -- steps before and after a claim: eligibility, estimate, void, replace, votes -------------


def test_the_new_steps_are_read(tmp_path: Path) -> None:
    from claimsengine.scenario import EligibilityCheck, Estimate, Replace, Void

    steps = """\
  - eligibility: {member: M-1, date: 2027-02-01}
    expect:
      eligibility: {covered: true, denial: null, deductible_left: "100.00", units_left: {"X": 3}}
  - estimate:
      - record_id: E-1
        member_id: M-1
        service_date: 2027-02-01
        lines: [{code: "X", units: 1, billed: "100.00"}]
    expect: {status: paid}
  - void: {record: R-1, as: hospital-1}
    expect: {status: voided, providers: [{provider: H-1, debt: "80.00"}]}
  - replace:
      record: R-1
      with:
        record_id: R-1A
        member_id: M-1
        service_date: 2027-02-01
        lines: [{code: "X", units: 1, billed: "90.00"}]
    expect: {status: paid, replaces: R-1, claims: [{record: R-1, replaced_by: R-1A}]}
  - review: {record: R-1A, decision: approve, as: auditor}
    expect: {approvals: 1, denials: 0}
"""
    scenario = load_scenario(write(tmp_path, PLAN + SUBMIT + steps))
    eligibility, estimate, void, replace, review = (s.action for s in scenario.steps[1:])
    assert eligibility == EligibilityCheck("M-1", "P-1", date(2027, 2, 1))
    assert scenario.steps[1].expect.eligibility is not None
    assert scenario.steps[1].expect.eligibility.values == {
        "covered": True,
        "deductible_left": 10_000,
    }
    assert scenario.steps[1].expect.eligibility.units_left == {"X": 3}
    assert isinstance(estimate, Estimate) and estimate.records[0].record_id == "E-1"
    assert void == Void("R-1", None, "hospital-1")
    assert scenario.steps[3].expect.providers[0].values == {"debt": 8_000}
    assert isinstance(replace, Replace)
    # The correction takes the replaced claim's plan and provider.
    assert (replace.record, replace.correction.record_id) == ("R-1", "R-1A")
    assert (replace.correction.plan_id, replace.correction.provider_id) == ("P-1", "H-1")
    assert scenario.steps[4].expect.claim is not None
    assert scenario.steps[4].expect.claim.values == {"status": "paid", "replaces": "R-1"}
    assert scenario.steps[4].title == "replace R-1 with R-1A"
    assert isinstance(review, Review) and review.account == "auditor"
    assert scenario.steps[5].title == "review R-1A as auditor: approve"
    assert scenario.steps[5].expect.claim is not None
    assert scenario.steps[5].expect.claim.values == {"approvals": 1, "denials": 0}


def test_an_estimated_record_is_not_submitted_for_later_steps(tmp_path: Path) -> None:
    steps = """\
  - estimate:
      - record_id: E-1
        member_id: M-1
        service_date: 2027-02-01
        lines: [{code: "X", units: 1, billed: "100.00"}]
  - void: {record: E-1}
"""
    error = refused(tmp_path, PLAN + SUBMIT + steps)
    assert error.field == "steps[2].void.record"
    assert "no step up to here submits record E-1" in error.message


@pytest.mark.parametrize(
    ("step", "field", "message"),
    [
        (
            "  - replace: {record: R-1}\n",
            "steps[1].replace.with",
            "is required",
        ),
        (
            "  - replace: {record: R-1, with: {record_id: R-1A, member_id: M-1, lines: []}}\n",
            "steps[1].replace.with.service_date",
            "",
        ),
        (
            '  - fund: {amount: "1.00"}\n    expect: {eligibility: {covered: true}}\n',
            "steps[1].expect.eligibility",
            "only an eligibility step has an answer to check",
        ),
        (
            '  - eligibility: {member: M-1}\n    expect: {eligibility: {denial: "96"}}\n',
            "steps[1].expect.eligibility.denial",
            "expected 31, 26 or 27",
        ),
        (
            "  - void: {record: R-1}\n    expect: {already_submitted: true}\n",
            "steps[1].expect.already_submitted",
            "only a submit or replace sends records",
        ),
        (
            "  - void: {record: R-1}\n    expect: {providers: [{provider: H-9}]}\n",
            "steps[1].expect.providers[0].provider",
            "provider H-9 is not registered in P-1",
        ),
        (
            "  - review: {record: R-1, decision: approve}\n    expect: {approvals: -1}\n",
            "steps[1].expect.approvals",
            "must be at least 0",
        ),
    ],
)
def test_bad_new_steps_are_named(tmp_path: Path, step: str, field: str, message: str) -> None:
    error = refused(tmp_path, PLAN + SUBMIT + step)
    assert error.field == field
    assert message in error.message


def test_several_adjudicators(tmp_path: Path) -> None:
    text = PLAN.replace("    services:", "    adjudicators: [adjudicator, auditor]\n    services:")
    scenario = load_scenario(write(tmp_path, text + SUBMIT))
    (setup,) = scenario.plans
    assert (setup.adjudicator, setup.more_adjudicators) == ("adjudicator", ("auditor",))
    both = PLAN.replace(
        "    services:", "    adjudicator: auditor\n    adjudicators: [adjudicator]\n    services:"
    )
    assert "give adjudicator or adjudicators, not both" in str(refused(tmp_path, both + SUBMIT))
    twice = PLAN.replace("    services:", "    adjudicators: [auditor, auditor]\n    services:")
    assert "lists an account twice" in str(refused(tmp_path, twice + SUBMIT))
