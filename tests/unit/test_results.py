"""Claim results and member accumulators in the JSON of formats.md, key for key."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from claimsengine.adjudication import (
    Accumulators,
    ClaimAdjudication,
    ClaimInput,
    ClaimLineInput,
    Enrollment,
    Ledger,
    LineAdjudication,
    adjudicate,
)
from claimsengine.errors import InputError
from claimsengine.plan import Plan, Service
from claimsengine.results import AccumulatorReport, ClaimResult, LineResult, Totals

# The claim result printed in formats.md, verbatim.
FORMATS_EXAMPLE = json.loads("""
{
  "claim_id": 7, "plan_id": "SILVER-2027", "record_id": "HOSP-A-2027-000123",
  "provider_id": "HOSP-A", "service_date": "2027-03-14",
  "status": "paid",
  "lines": [
    {"code": "99213", "units": 1, "billed": "180.00", "allowed": "120.00",
     "deductible": "0.00", "copay": "25.00", "coinsurance": "0.00", "benefit_limit": "0.00",
     "plan_paid": "95.00", "patient_responsibility": "25.00", "denied": false, "reasons": ["45", "3"]}
  ],
  "totals": {"billed": "180.00", "allowed": "120.00", "plan_paid": "95.00", "patient_responsibility": "25.00"},
  "transactions": {"submitted": "0x…", "paid": "0x…"}
}
""")  # noqa: E501

# The spec's copay example as the adjudicator gives it: 180.00 billed, fee 120.00, copay 25.00.
COPAY_LINE = LineAdjudication(
    code="99213",
    units=1,
    billed=18_000,
    allowed=12_000,
    deductible=0,
    copay=2_500,
    coinsurance=0,
    benefit_limit=0,
    plan_paid=9_500,
)
DENIED_LINE = LineAdjudication("71046", 2, 19_000, 0, 0, 0, 0, 0, 0, denial=96)


def example_result(status: Any = "paid") -> ClaimResult:
    return ClaimResult.from_adjudication(
        ClaimAdjudication("approved", (COPAY_LINE,), period=0),
        claim_id=7,
        plan_id="SILVER-2027",
        record_id="HOSP-A-2027-000123",
        provider_id="HOSP-A",
        service_date=date(2027, 3, 14),
        status=status,
        transactions={"submitted": "0x…", "paid": "0x…"},
    )


def test_claim_result_json_is_the_formats_example() -> None:
    produced = example_result().to_json()
    assert produced == FORMATS_EXAMPLE
    assert list(produced) == list(FORMATS_EXAMPLE)  # same key order
    assert list(produced["lines"][0]) == list(FORMATS_EXAMPLE["lines"][0])
    assert list(produced["totals"]) == list(FORMATS_EXAMPLE["totals"])


def test_claim_result_round_trips_through_json_text() -> None:
    result = example_result()
    assert ClaimResult.from_json(json.loads(json.dumps(result.to_json()))) == result
    assert ClaimResult.from_json(FORMATS_EXAMPLE) == result


def test_line_result_from_adjudication() -> None:
    line = LineResult.from_adjudication(COPAY_LINE)
    assert line.patient_responsibility == 2_500  # 0 + 25.00 + 0 + 0
    assert line.reasons == ("45", "3")
    assert line.denied is False


def test_denied_line_json() -> None:
    assert LineResult.from_adjudication(DENIED_LINE).to_json() == {
        "code": "71046",
        "units": 2,
        "billed": "190.00",
        "allowed": "0.00",
        "deductible": "0.00",
        "copay": "0.00",
        "coinsurance": "0.00",
        "benefit_limit": "0.00",
        "plan_paid": "0.00",
        "patient_responsibility": "0.00",
        "denied": True,
        "reasons": ["96"],
    }


def test_totals() -> None:
    lines = [LineResult.from_adjudication(COPAY_LINE), LineResult.from_adjudication(DENIED_LINE)]
    totals = Totals.of_lines(lines)
    assert totals == Totals(
        billed=37_000,  # 180.00 + 190.00
        allowed=12_000,  # 120.00 + 0
        plan_paid=9_500,  # 95.00 + 0
        patient_responsibility=2_500,  # 25.00 + 0
    )
    assert totals.to_json() == {
        "billed": "370.00",
        "allowed": "120.00",
        "plan_paid": "95.00",
        "patient_responsibility": "25.00",
    }
    assert Totals.from_json(totals.to_json()) == totals


def test_status_comes_from_the_adjudication_when_it_is_final() -> None:
    for status in ("denied", "pending_review"):
        adjudication = ClaimAdjudication(status, (DENIED_LINE,), period=0)  # type: ignore[arg-type]
        result = ClaimResult.from_adjudication(
            adjudication,
            claim_id=1,
            plan_id="P",
            record_id=None,
            provider_id=None,
            service_date=date(2027, 3, 14),
        )
        assert result.status == status
        assert result.to_json()["record_id"] is None


def test_an_approved_claim_needs_paid_or_queued() -> None:
    with pytest.raises(ValueError, match="paid.*queued"):
        example_result(status=None)
    assert example_result(status="queued").status == "queued"


def test_status_must_be_one_of_the_four() -> None:
    with pytest.raises(ValueError):
        example_result(status="approved")


def test_results_of_a_real_adjudication() -> None:
    plan = Plan(
        id="P", name="P", token="dev", effective_date=date(2027, 1, 1), benefit_period_days=365,
        deductible=100_000, out_of_pocket_max=300_000, coinsurance_bps=2000,
        annual_benefit_max=None, waiting_period_days=0, timely_filing_days=365,
        auto_approve_limit=500_000,
        services=(Service("99213", "visit", 12_000, copay=2_500, deductible_applies=False),),
    )  # fmt: skip
    ledger = Ledger()
    ledger.enroll("M", Enrollment(plan.effective_day))
    day = plan.effective_day + 72
    the_claim = ClaimInput("M", "HOSP-A", day, False, (ClaimLineInput("99213", 1, 18_000),))
    adjudication = adjudicate(plan, ledger, the_claim, today=day)
    result = ClaimResult.from_adjudication(
        adjudication,
        claim_id=7,
        plan_id="SILVER-2027",
        record_id="HOSP-A-2027-000123",
        provider_id="HOSP-A",
        service_date=date(2027, 3, 14),
        status="paid",
        transactions={"submitted": "0x…", "paid": "0x…"},
    )
    assert result.to_json() == FORMATS_EXAMPLE


def replaced(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(FORMATS_EXAMPLE))
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (replaced(("status",), "approved"), "status"),
        (replaced(("lines", 0, "billed"), 180.0), "lines[0].billed"),
        (replaced(("lines", 0, "plan_paid"), "95.001"), "lines[0].plan_paid"),
        (replaced(("lines", 0, "units"), True), "lines[0].units"),
        (replaced(("totals", "billed"), "-1.00"), "totals.billed"),
        (replaced(("service_date",), "14/03/2027"), "service_date"),
        (replaced(("claim_id",), "7"), "claim_id"),
        (replaced(("lines", 0, "reasons"), [45]), "lines[0].reasons"),
    ],
)
def test_from_json_refuses_bad_values(data: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as caught:
        ClaimResult.from_json(data)
    assert caught.value.field == field


def test_from_json_refuses_a_missing_key() -> None:
    data = json.loads(json.dumps(FORMATS_EXAMPLE))
    del data["lines"][0]["copay"]
    with pytest.raises(InputError) as caught:
        ClaimResult.from_json(data)
    assert caught.value.field == "lines[0].copay"


def test_accumulator_report_json() -> None:
    accumulators = Accumulators(
        deductible_met=80_000, oop_met=120_000, benefit_used=8_000, units_used={"99213": 2}
    )
    report = AccumulatorReport.from_accumulators(
        accumulators, plan_id="SILVER-2027", member_id="M-0001", period=0
    )
    produced = report.to_json()
    assert produced == {
        "plan_id": "SILVER-2027",
        "member_id": "M-0001",
        "period": 0,
        "deductible_met": "800.00",
        "oop_met": "1200.00",
        "benefit_used": "80.00",
        "units_used": {"99213": 2},
    }
    assert list(produced) == [
        "plan_id", "member_id", "period", "deductible_met", "oop_met", "benefit_used",
        "units_used",
    ]  # fmt: skip
    assert AccumulatorReport.from_json(json.loads(json.dumps(produced))) == report


def test_accumulator_report_is_a_snapshot() -> None:
    accumulators = Accumulators(units_used={"X": 1})
    report = AccumulatorReport.from_accumulators(accumulators, plan_id="P", member_id="M", period=0)
    accumulators.units_used["X"] = 5
    assert report.units_used == {"X": 1}


def test_accumulator_report_refuses_bad_units() -> None:
    data = AccumulatorReport("P", "M", 0, 0, 0, 0, {"X": 1}).to_json()
    data["units_used"] = {"X": "1"}
    with pytest.raises(InputError) as caught:
        AccumulatorReport.from_json(data)
    assert caught.value.field == "units_used"
