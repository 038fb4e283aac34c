"""ClaimStatus: the contract's status codes and formats.md's words, one vocabulary."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from claimsengine.results import ClaimResult
from claimsengine.status import NO_CLAIM, STATUSES, ClaimStatus

CONTRACT = Path(__file__).resolve().parents[2] / "contracts" / "ClaimsEngine.vy"


def test_codes_are_the_contracts_constants() -> None:
    # Every STATUS_<NAME>: constant(uint256) = <code> in the contract is a ClaimStatus with
    # that code, so the two cannot drift apart.
    constants = re.findall(
        r"^STATUS_([A-Z_]+): constant\(uint256\) = (\d+)$",
        CONTRACT.read_text(encoding="utf-8"),
        re.MULTILINE,
    )
    assert len(constants) >= 4
    for name, code in constants:
        assert ClaimStatus[name].code == int(code)
        assert ClaimStatus.from_code(int(code)) is ClaimStatus[name]


def test_codes_as_the_interface_fixes_them() -> None:
    assert {status.value: status.code for status in ClaimStatus} == {
        "denied": 1,
        "pending_review": 2,
        "queued": 3,
        "paid": 4,
        "voided": 5,
    }


@pytest.mark.parametrize("code", [NO_CLAIM, 6, -1])
def test_a_code_that_is_no_status_is_refused(code: int) -> None:
    with pytest.raises(ValueError, match=f"{code} is not a claim status code"):
        ClaimStatus.from_code(code)


def test_a_status_is_its_word_and_not_its_number() -> None:
    paid = ClaimStatus.PAID
    assert paid == "paid" and f"{paid}" == "paid" and json.dumps({"s": paid}) == '{"s": "paid"}'
    assert paid in {"paid"} and {"paid": 1}[paid] == 1  # hashes like its word, too
    assert paid != 4 and paid.code == 4  # a number from the chain goes through from_code


def test_reports_list_statuses_in_the_formats_order() -> None:
    assert STATUSES == ("paid", "queued", "pending_review", "denied", "voided")


def test_a_result_holds_a_status_even_when_given_a_word() -> None:
    result = ClaimResult.from_json(
        {
            "claim_id": 1,
            "plan_id": "SILVER-2027",
            "record_id": None,
            "provider_id": None,
            "service_date": "2027-03-14",
            "status": "queued",
            "lines": [],
            "totals": {
                "billed": "0.00",
                "allowed": "0.00",
                "plan_paid": "0.00",
                "patient_responsibility": "0.00",
            },
        }
    )
    assert result.status is ClaimStatus.QUEUED
