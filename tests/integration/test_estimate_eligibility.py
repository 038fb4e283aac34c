"""Eligibility and estimates through the SDK and the CLI (adjudication.md, "Before and
after a claim"), on the embedded chain and on anvil.

The fixture plan SILVER-2027 (fixtures/plans/silver.yaml): deductible 1,000.00,
out-of-pocket max 3,000.00, coinsurance 20%, annual benefit max 250,000.00, waiting period
30 days, auto-approve limit 5,000.00; 99213 (fee 120.00, copay 25.00, 12 units a period)
and 97110 (fee 35.00, 60 units a period) are the codes with a period limit. Members
(fixtures/members.csv): M-0001 from 2027-01-01, M-0005 from 2027-01-01 to 2027-04-30,
M-0006 from 2027-03-01.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.coverageeligibilityresponse import CoverageEligibilityResponse

from claimsengine.days import from_day, to_day
from claimsengine.eligibility import coverage_eligibility_response
from claimsengine.errors import NotFound
from claimsengine.estimate import estimate_json
from claimsengine.members import load_members
from claimsengine.plan import load_plan
from claimsengine.records import TreatmentRecord, load_paths
from claimsengine.sdk import AdjudicatorClient, HospitalClient, InsurerClient
from claimsengine.workspace import Workspace

from .test_cli import claims, claims_json

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
PLAN = "SILVER-2027"
JULY = date(2027, 7, 1)


def set_up(ws: Workspace, fund_cents: int) -> None:
    insurer = InsurerClient(ws, "insurer")
    with ws.command():
        insurer.deploy(load_plan(FIXTURES / "plans" / "silver.yaml"))
        insurer.enroll(PLAN, load_members(FIXTURES / "members.csv"))
        insurer.add_provider(PLAN, "HOSP-A", "hospital-1")
        insurer.add_provider(PLAN, "HOSP-B", "hospital-2")
        insurer.set_adjudicator(PLAN, "adjudicator")
        insurer.fund(PLAN, fund_cents)


@pytest.fixture(params=["embedded", "anvil"])
def workspace(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workspace]:
    if request.param == "embedded":
        ws = Workspace.open(tmp_path / "state", create=True)
    else:
        node = request.getfixturevalue("anvil_node")
        ws = Workspace.open(tmp_path / "state", rpc=node.url)
    target = to_day(JULY) * 86_400 + 43_200
    if ws.chain.now() < target:  # a shared anvil's clock only moves forward
        ws.chain.set_time(target)
    try:
        yield ws
    finally:
        ws.close()


def records() -> list[TreatmentRecord]:
    return [s.record for s in load_paths([FIXTURES / "records"]).records]


def chain_state(ws: Workspace) -> tuple[Any, ...]:
    """What nothing-sent means: the block, the claim counter, the pool, accumulators."""
    member = ws.pseudonym(PLAN, "M-0001", 0)
    return (
        ws.chain.block_number(),
        ws.engine.next_claim_id(),
        ws.engine.pool_state(PLAN),
        ws.engine.accumulators(PLAN, member, 0),
    )


def without_ids(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k not in ("claim_id", "transactions")}


def test_estimate_then_submit_gives_the_same_results(workspace: Workspace) -> None:
    # 1,500.00 in the pool: the three small HOSP-A claims are paid, the knee replacement
    # waits for review, and HOSP-B's 71046 ... whatever the pool cannot cover is queued.
    set_up(workspace, 150_000)
    hospital = HospitalClient(workspace)
    before = chain_state(workspace)
    estimates = hospital.estimate(records())
    assert chain_state(workspace) == before  # nothing was sent
    assert all(e.error is None for e in estimates)
    with workspace.command():
        outcomes = hospital.submit_many(records())
    for estimate, outcome in zip(estimates, outcomes, strict=True):
        assert estimate.result is not None and outcome.result is not None
        guess = estimate_json(estimate.result)
        assert guess.pop("estimate") is True
        assert "claim_id" not in guess and "transactions" not in guess
        assert guess == without_ids(outcome.result.to_json())
    statuses = {e.record.record_id: e.result.status for e in estimates if e.result}
    # 99213 billed 180.00 for M-0001: fee 120.00 (45: 60.00), copay 25.00 -> 95.00 paid.
    first = estimates[0].result
    assert first is not None and first.record_id == "HOSP-A-2027-000101"
    assert (first.status, first.totals.plan_paid, first.lines[0].reasons) == (
        "paid",
        9_500,
        ("45", "3"),
    )
    # The knee replacement (27,025.00 plan paid, above the 5,000.00 limit) would wait.
    assert statuses["HOSP-A-2027-000104"] == "pending_review"
    # M-0005's coverage ended 2027-04-30: the 2027-05-05 visit would be denied 27.
    assert statuses["HOSP-A-2027-000105"] == "denied"


def test_an_estimate_says_queued_when_the_pool_is_short(workspace: Workspace) -> None:
    # An empty pool (1.00): the 95.00 visit is approved but cannot be paid -> queued; the
    # same record submitted next is queued too.
    set_up(workspace, 100)
    visit = [r for r in records() if r.record_id == "HOSP-A-2027-000101"]
    hospital = HospitalClient(workspace)
    (estimate,) = hospital.estimate(visit)
    assert estimate.result is not None and estimate.result.status == "queued"
    assert estimate.result.totals.plan_paid == 9_500
    with workspace.command():
        (outcome,) = hospital.submit_many(visit)
    assert outcome.result is not None and outcome.result.status == "queued"
    assert without_ids(outcome.result.to_json()) == {
        k: v for k, v in estimate_json(estimate.result).items() if k != "estimate"
    }


def test_estimate_refuses_what_submit_refuses(workspace: Workspace) -> None:
    set_up(workspace, 150_000)
    hospital = HospitalClient(workspace)
    visit = [r for r in records() if r.record_id == "HOSP-A-2027-000101"]
    with workspace.command():
        hospital.submit_many(visit)
    # The same record again: on the chain already, so nothing new would happen.
    (again,) = hospital.estimate(visit)
    assert again.error is not None and "is already on the chain as claim 1 (paid)" in str(
        again.error
    )
    # A different record under the same record id: submit's own error, word for word.
    changed = TreatmentRecord.from_json({**visit[0].to_json(), "service_date": "2027-02-11"})
    (estimated,) = hospital.estimate([changed])
    (submitted,) = hospital.submit_many([changed])
    assert estimated.error is not None and submitted.error is not None
    assert str(estimated.error) == str(submitted.error)
    assert "with different content" in str(estimated.error)
    # A service date after the chain's today (a shared anvil's today may be later than July).
    tomorrow = from_day(workspace.engine.today() + 1)
    future = TreatmentRecord.from_json(
        {**visit[0].to_json(), "record_id": "FUTURE-1", "service_date": tomorrow.isoformat()}
    )
    (late,) = hospital.estimate([future])
    assert late.error is not None
    assert f"service date {tomorrow} is after the chain's today" in str(late.error)
    # An account that is not the provider's: the contract's own refusal, as submit gives it.
    outsider = HospitalClient(workspace, "auditor")
    (refused,) = outsider.estimate(
        [TreatmentRecord.from_json({**visit[0].to_json(), "record_id": "X-1"})]
    )
    assert refused.error is not None and "is not an account of provider HOSP-A" in str(
        refused.error
    )
    # A paused plan: the contract's own revert, from the simulated call, as submit gets it.
    with workspace.command():
        InsurerClient(workspace, "insurer").pause(PLAN)
    fresh = TreatmentRecord.from_json({**visit[0].to_json(), "record_id": "PAUSED-1"})
    (paused,) = hospital.estimate([fresh])
    with workspace.command():
        (sent,) = hospital.submit_many([fresh])
    assert paused.error is not None and sent.error is not None
    assert str(paused.error) == str(sent.error)
    assert str(paused.error) == "record PAUSED-1: claims: plan paused"
    assert paused.error.hint == sent.error.hint


def test_eligibility(workspace: Workspace) -> None:
    set_up(workspace, 150_000)
    hospital = HospitalClient(workspace)
    # On 2027-07-01 (a shared anvil's today may be later), before any claim: the whole
    # deductible, out-of-pocket and benefit are left.
    assert hospital.eligibility(PLAN, "M-0001", JULY).to_json() == {
        "plan_id": PLAN,
        "member_id": "M-0001",
        "date": "2027-07-01",
        "covered": True,
        "denial": None,
        "period": 0,
        "coverage_start": "2027-01-01",
        "coverage_end": None,
        "deductible_left": "1000.00",
        "out_of_pocket_left": "3000.00",
        "benefit_left": "250000.00",
        "units_left": {"97110": 60, "99213": 12},
    }
    with workspace.command():
        hospital.submit_many(records())
    # M-0001's claims (test_sdk_flow derives them): the 99213 visit (copay 25.00, 1 unit),
    # the knee replacement pending review (deductible 1,000.00, coinsurance 1,975.00, plan
    # paid 27,025.00). Pending claims count at once. So: deductible left 0.00, out of pocket
    # left 3,000 - 25 - 1,000 - 1,975 = 0.00, benefit left 250,000 - 95 - 27,025 = 222,880.00,
    # 99213 units left 12 - 1 = 11.
    after = hospital.eligibility(PLAN, "M-0001", JULY).to_json()
    assert (after["deductible_left"], after["out_of_pocket_left"], after["benefit_left"]) == (
        "0.00",
        "0.00",
        "222880.00",
    )
    assert after["units_left"] == {"97110": 60, "99213": 11}
    # A review denial takes the knee's effects back: 1,000.00 - 0 and 3,000 - 25 left.
    (knee,) = AdjudicatorClient(workspace, "adjudicator").queue(PLAN)
    with workspace.command():
        AdjudicatorClient(workspace, "adjudicator").deny(knee.claim_id)
    back = hospital.eligibility(PLAN, "M-0001", JULY).to_json()
    assert (back["deductible_left"], back["out_of_pocket_left"], back["benefit_left"]) == (
        "1000.00",
        "2975.00",
        "249905.00",
    )


@pytest.mark.parametrize(
    ("member", "day", "covered", "denial", "period"),
    [
        ("M-0001", date(2027, 1, 30), False, "26", 0),  # day 29 of the 30-day waiting period
        ("M-0001", date(2027, 1, 31), True, None, 0),  # the first day after it
        ("M-0005", date(2027, 4, 30), True, None, 0),  # the last day of coverage
        ("M-0005", date(2027, 5, 1), False, "27", 0),  # after the coverage end
        ("M-0006", date(2027, 2, 28), False, "26", 0),  # before the coverage start
        ("M-9999", date(2027, 3, 1), False, "31", 0),  # never enrolled
        ("M-0001", date(2026, 12, 31), False, "26", None),  # before the plan's effective day
    ],
)
def test_eligibility_denials(
    tmp_path: Path, member: str, day: date, covered: bool, denial: str | None, period: int | None
) -> None:
    with Workspace.open(tmp_path / "state", create=True) as ws:
        ws.chain.set_time(to_day(JULY) * 86_400)
        set_up(ws, 100)
        answer = HospitalClient(ws).eligibility(PLAN, member, day).to_json()
    assert (answer["covered"], answer["denial"], answer["period"]) == (covered, denial, period)
    if period is None:
        assert answer["deductible_left"] is None and answer["units_left"] == {}
    if member == "M-9999":
        assert answer["coverage_start"] is None and answer["coverage_end"] is None


def test_eligibility_of_an_unknown_plan(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "state", create=True) as ws:
        ws.chain.set_time(to_day(JULY) * 86_400)
        set_up(ws, 100)
        with pytest.raises(NotFound, match="no plan 'NOPE' on this chain"):
            HospitalClient(ws).eligibility("NOPE", "M-0001")


def test_units_left_follow_the_schedule_version_of_the_day(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "state", create=True) as ws:
        ws.chain.set_time(to_day(date(2027, 12, 1)) * 86_400)
        set_up(ws, 100)
        plan = load_plan(FIXTURES / "plans" / "silver.yaml")
        # From 2028-01-01 (the next period's first day) 99213 has 6 units a period and
        # 97110 no period limit.
        services = tuple(
            s.__class__(**{**s.__dict__, "max_units_per_period": 6})
            if s.code == "99213"
            else s.__class__(**{**s.__dict__, "max_units_per_period": None})
            if s.code == "97110"
            else s
            for s in plan.services
        )
        with ws.command():
            InsurerClient(ws, "insurer").update_schedule(
                plan.__class__(**{**plan.__dict__, "services": services}), date(2028, 1, 1)
            )
        hospital = HospitalClient(ws)
        assert hospital.eligibility(PLAN, "M-0001", date(2027, 12, 31)).units_left == {
            "97110": 60,
            "99213": 12,
        }
        assert hospital.eligibility(PLAN, "M-0001", date(2028, 1, 1)).units_left == {"99213": 6}


# -- the CLI ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli") / "state"
    claims(folder, "init")
    claims(folder, "time", "set", "2027-07-01")
    claims(folder, "deploy", FIXTURES / "plans" / "silver.yaml")
    claims(folder, "enroll", PLAN, FIXTURES / "members.csv")
    claims(folder, "provider", "add", PLAN, "HOSP-A", "--account", "hospital-1")
    claims(folder, "fund", PLAN, "1500.00")
    return folder


def test_cli_eligibility(state: Path) -> None:
    answer = claims_json(state, "eligibility", PLAN, "M-0005")
    assert list(answer) == [
        "plan_id",
        "member_id",
        "date",
        "covered",
        "denial",
        "period",
        "coverage_start",
        "coverage_end",
        "deductible_left",
        "out_of_pocket_left",
        "benefit_left",
        "units_left",
    ]
    assert (answer["covered"], answer["denial"], answer["coverage_end"]) == (
        False,
        "27",
        "2027-04-30",
    )
    assert (
        json.loads(claims(state, "eligibility", PLAN, "M-0005", "--format", "json").stdout)
        == answer
    )
    human = claims(state, "eligibility", PLAN, "M-0001", "--date", "2027-03-01").stdout
    assert "Member M-0001 in SILVER-2027 on 2027-03-01" in human
    assert "covered              yes" in human
    assert "97110 × 60, 99213 × 12" in human


def test_cli_eligibility_fhir(state: Path, tmp_path: Path) -> None:
    text = claims(state, "eligibility", PLAN, "M-0005", "--format", "fhir").stdout
    response = CoverageEligibilityResponse.model_validate_json(text)
    insurance = response.insurance[0]
    assert insurance.inforce is False
    assert response.error[0].code.coding[0].code == "27"
    units = {i.productOrService.coding[0].code: i.benefit[0] for i in insurance.item[1:]}
    assert units["99213"].allowedUnsignedInt == 12 and units["99213"].usedUnsignedInt == 0
    # From a CoverageEligibilityRequest: plan, member and day from the file.
    request = tmp_path / "request.json"
    request.write_text(
        json.dumps(
            {
                "resourceType": "CoverageEligibilityRequest",
                "id": "ask-1",
                "status": "active",
                "purpose": ["benefits"],
                "patient": {"reference": "Patient/M-0005"},
                "servicedDate": "2027-03-01",
                "created": "2027-07-01",
                "insurer": {"identifier": {"system": "urn:claimsengine:plan", "value": PLAN}},
            }
        )
    )
    text = claims(state, "eligibility", "--request", request, "--format", "fhir").stdout
    answered = CoverageEligibilityResponse.model_validate_json(text)
    assert answered.insurance[0].inforce is True  # 2027-03-01 is inside M-0005's coverage
    assert answered.request.reference == "CoverageEligibilityRequest/ask-1"
    assert claims_json(state, "eligibility", "--request", request)["date"] == "2027-03-01"


def test_cli_eligibility_errors(state: Path, tmp_path: Path) -> None:
    usage = claims(state, "eligibility", PLAN, code=2)
    assert "give PLAN_ID and MEMBER_ID, or --request FILE" in usage.stderr
    unknown = claims(state, "eligibility", "NOPE", "M-0001", code=1)
    assert unknown.stderr.startswith("error: no plan 'NOPE' on this chain")
    assert len(unknown.stderr.strip().splitlines()) == 1
    wrong = tmp_path / "claim.json"
    wrong.write_text(json.dumps({"resourceType": "Claim"}))
    bad = claims(state, "eligibility", "--request", wrong, code=1)
    assert "expected a CoverageEligibilityRequest, got 'Claim'" in bad.stderr
    # A plan id in the request that no plan can have: its field, not a traceback.
    long_plan = tmp_path / "long-plan.json"
    long_plan.write_text(
        json.dumps(
            {
                "resourceType": "CoverageEligibilityRequest",
                "id": "ask-2",
                "status": "active",
                "purpose": ["benefits"],
                "patient": {"reference": "Patient/M-0001"},
                "created": "2027-07-01",
                "insurer": {"identifier": {"system": "urn:claimsengine:plan", "value": "P" * 33}},
            }
        )
    )
    bad = claims(state, "eligibility", "--request", long_plan, code=1)
    assert bad.stderr.startswith(
        f"error: {long_plan}: record ask-2: field insurer: {'P' * 33!r} is not a plan id: "
        "1-32 characters of A-Z a-z 0-9 . _ -"
    )


def test_cli_estimate(state: Path) -> None:
    visit = FIXTURES / "records" / "hosp-a-2027-02-office-visit.json"
    (estimate,) = claims_json(state, "estimate", visit)
    assert estimate["estimate"] is True and "claim_id" not in estimate
    assert "transactions" not in estimate
    assert (estimate["status"], estimate["totals"]["plan_paid"]) == ("paid", "95.00")
    human = claims(state, "estimate", visit).stdout
    assert (
        "Estimate · SILVER-2027 · HOSP-A-2027-000101 (HOSP-A) · 2027-02-10 · would be paid" in human
    )
    assert "Nothing was sent." in human
    bundle = Bundle.model_validate_json(claims(state, "estimate", visit, "--format", "fhir").stdout)
    (entry,) = bundle.entry
    assert entry.resource.use == "predetermination"
    # Nothing was sent: status of claim 1 does not exist, and submit gives the same result.
    (submitted,) = claims_json(state, "submit", visit)
    assert without_ids(submitted) == {k: v for k, v in estimate.items() if k != "estimate"}


def test_cli_estimate_errors_are_submits(state: Path) -> None:
    bad = FIXTURES / "records-bad" / "hosp-a-2027-mixed.json"
    result = claims(state, "--json", "estimate", bad, code=1)
    listed = json.loads(result.stdout)
    errors = [entry for entry in listed if "error" in entry]
    assert [e["record_id"] for e in errors] == [
        "HOSP-A-2027-000902",
        "HOSP-A-2027-000903",
        "HOSP-A-2027-000904",
        None,
    ]
    assert "amount '95.125' has more than 2 decimals" in errors[0]["error"]
    assert result.stderr.startswith("error: 4 records could not be estimated")
    assert len(result.stderr.strip().splitlines()) == 1


def test_cli_estimate_lists_bad_records_as_submit_does(state: Path) -> None:
    # The table has a column for the file and one for the record: the error cell gives the
    # field, the message and the hint, as submit's table of records set aside does (it
    # repeated the file and the record). Whitespace is collapsed: a long cell wraps.
    bad = FIXTURES / "records-bad" / "hosp-a-2027-mixed.json"
    result = claims(state, "estimate", bad, code=1)
    table = " ".join(result.stdout[result.stdout.index("Records that could not") :].split())
    assert "HOSP-A-2027-000903 service_date: '2027-04-31' is not a calendar date" in table
    assert "- record_id: missing" in table
    assert "record HOSP-A-2027-000903" not in table and "field service_date" not in table


def test_cli_estimate_fhir_lists_every_record_it_could_not_estimate(state: Path) -> None:
    # Stdout is the Bundle, so the records set aside are in it too: one OperationOutcome
    # each, with the file, record and field, as --json lists them.
    bad = FIXTURES / "records-bad" / "hosp-a-2027-mixed.json"
    result = claims(state, "estimate", bad, "--format", "fhir", code=1)
    bundle = Bundle.model_validate_json(result.stdout)
    kinds = [entry.resource.get_resource_type() for entry in bundle.entry]
    assert kinds == ["ClaimResponse"] * 2 + ["OperationOutcome"] * 4
    outcomes = [entry.resource for entry in bundle.entry[2:]]
    assert [o.issue[0].expression for o in outcomes] == [
        ["lines[1].billed"],
        ["service_date"],
        ["lines[0].units"],
        ["record_id"],
    ]
    first = outcomes[0].issue[0]
    assert (first.severity, first.code) == ("error", "invalid")
    assert first.diagnostics == (
        f"{bad}: record HOSP-A-2027-000902: field lines[1].billed: amount '95.125' has more "
        "than 2 decimals (hint: write the amount as a quoted string with at most 2 decimals, "
        'like "180.00")'
    )
    assert outcomes[3].issue[0].diagnostics == f"{bad}: record #4: field record_id: missing"
    assert result.stderr.startswith(
        "error: 4 records could not be estimated (each is listed with its error); the first: "
    )
    assert len(result.stderr.strip().splitlines()) == 1


def worked_record(record_id: str, day: str, *lines: tuple[str, int, str]) -> TreatmentRecord:
    return TreatmentRecord.from_json(
        {
            "record_id": record_id,
            "plan_id": "WORKED-EXAMPLE",
            "member_id": "W-1",
            "provider_id": "HOSP-A",
            "service_date": day,
            "lines": [{"code": c, "units": u, "billed": b} for c, u, b in lines],
        }
    )


def test_the_worked_examples_estimated_then_submitted(tmp_path: Path) -> None:
    """adjudication.md's worked examples: the member starts with deductible_met 800.00 and
    oop_met 1,200.00; claim A (1 x X billed 500.00) then claim B (1 x Y billed 20,000.00)."""
    with Workspace.open(tmp_path / "state", create=True) as ws:
        ws.chain.set_time(to_day(JULY) * 86_400)
        insurer = InsurerClient(ws, "insurer")
        members = tmp_path / "members.csv"
        members.write_text("member_id,coverage_start,coverage_end\nW-1,2027-01-01,\n")
        with ws.command():
            insurer.deploy(load_plan(FIXTURES / "plans" / "worked-example.yaml"))
            insurer.enroll("WORKED-EXAMPLE", load_members(members))
            insurer.add_provider("WORKED-EXAMPLE", "HOSP-A", "hospital-1")
            insurer.fund("WORKED-EXAMPLE", 5_000_000)
        hospital = HospitalClient(ws)
        # The starting point: Y billed 800.00 is all deductible (800.00, oop 800.00); then 16
        # lines of Z (copay 25.00 each, no deductible) add 400.00 of copays: oop 1,200.00.
        with ws.command():
            hospital.submit_many(
                [
                    worked_record("W-0", "2027-06-01", ("Y", 1, "800.00")),
                    worked_record("W-00", "2027-06-02", *[("Z", 1, "120.00")] * 16),
                ]
            )
        before = hospital.eligibility("WORKED-EXAMPLE", "W-1").to_json()
        # 1,000 - 800 = 200.00 and 3,000 - 1,200 = 1,800.00 left; no benefit maximum.
        assert (before["deductible_left"], before["out_of_pocket_left"]) == ("200.00", "1800.00")
        assert before["benefit_left"] is None and before["units_left"] == {}
        fhir = CoverageEligibilityResponse.model_validate(
            coverage_eligibility_response(hospital.eligibility("WORKED-EXAMPLE", "W-1"))
        )
        kinds = [b.type.coding[0].code for b in fhir.insurance[0].item[0].benefit]
        assert kinds == ["deductible", "out-of-pocket"]  # no benefit maximum to report

        a = worked_record("W-A", "2027-06-10", ("X", 1, "500.00"))
        b = worked_record("W-B", "2027-06-11", ("Y", 1, "20000.00"))
        for record, plan_paid, coinsurance in ((a, 8_000, 2_000), (b, 1_042_000, 158_000)):
            # A: allowed 300.00, deductible 200.00, coinsurance floor(100 x 20%) = 20.00,
            # plan paid 80.00. B: allowed 12,000.00, coinsurance min(2,400, 3,000 - 1,420) =
            # 1,580.00, plan paid 10,420.00.
            (estimate,) = hospital.estimate([record])
            assert estimate.result is not None
            assert estimate.result.totals.plan_paid == plan_paid
            assert estimate.result.lines[0].coinsurance == coinsurance
            with ws.command():
                (outcome,) = hospital.submit_many([record])
            assert outcome.result is not None
            assert without_ids(outcome.result.to_json()) == {
                k: v for k, v in estimate_json(estimate.result).items() if k != "estimate"
            }
        after = hospital.eligibility("WORKED-EXAMPLE", "W-1").to_json()
        assert (after["deductible_left"], after["out_of_pocket_left"]) == ("0.00", "0.00")
