"""Line-level rules a-e of adjudication.md, on the contract.

Each rule has a test that it fires (the line denied with its code, allowed 0, plan_paid 0,
nothing accumulated for it) and tests that it does not, including the spec's order between
rules. The plan has no deductible and 20% coinsurance, so a priced line of fee f pays
f - floor(f x 20%). Amounts are cents. Today is 2027-06-01.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from claimsengine.chain.embedded import EmbeddedChain
from claimsengine.status import ClaimStatus

from .conftest import Deployment, deploy, make_plan, service

LINE_PLAN = make_plan(
    "LINES",
    [
        service("A", 10_000),  # priced: coinsurance 20.00, plan_paid 80.00
        service("B", 5_000),  # priced: coinsurance 10.00, plan_paid 40.00
        service("PA", 20_000, prior_auth=True),  # priced: coinsurance 40.00, plan_paid 160.00
        service("D", 1_000, max_units_per_day=3),
        service("U", 1_000, max_units_per_period=5),
        service("DU", 1_000, max_units_per_day=2, max_units_per_period=3),
        service("BIG", 100_000),  # plan_paid 800.00 > the 500.00 auto-approve limit
    ],
    auto_approve_limit=50_000,
)
DAY = date(2027, 5, 1)


@pytest.fixture
def lines(chain: EmbeddedChain) -> Deployment:
    return deploy(chain, LINE_PLAN, fund_cents=10_000_000)


@pytest.fixture
def member(lines: Deployment) -> bytes:
    return lines.enroll("m1", date(2026, 1, 1))


def assert_line_denied(line: dict[str, Any], code: int, billed: int) -> None:
    assert line["denial"] == code
    assert line["billed"] == billed  # the whole billed amount carries the denial code
    assert line["allowed"] == line["plan_paid"] == 0
    assert line["deductible"] == line["copay"] == line["coinsurance"] == 0
    assert line["benefit_limit"] == 0


def assert_line_priced(line: dict[str, Any], fee_total: int) -> None:
    """Priced at allowed = fee x units (billed at or above it), 20% coinsurance floored."""
    coinsurance = fee_total * 2000 // 10_000
    assert line["denial"] == 0
    assert (line["allowed"], line["coinsurance"], line["plan_paid"]) == (
        fee_total,
        coinsurance,
        fee_total - coinsurance,
    )


def day(offset: int) -> date:
    return DAY + timedelta(days=offset)


# -- a: the code is not in the plan's schedule ------------------------------------------


def test_a_uncovered_code_is_denied_96(lines: Deployment, member: bytes) -> None:
    sub = lines.submit(lines.claim(member, DAY, [("NOPE", 1, 5_000), ("A", 1, 10_000)]))
    assert_line_denied(sub.lines[0], 96, 5_000)
    assert_line_priced(sub.lines[1], 10_000)  # the covered line is priced
    assert sub.status == ClaimStatus.PAID and sub.submitted["plan_paid"] == 8_000
    # Only A accumulated: oop_met 20.00, benefit_used 80.00.
    assert lines.accumulators(member) == (0, 2_000, 8_000)


def test_a_codes_are_exact(lines: Deployment, member: bytes) -> None:
    sub = lines.submit(lines.claim(member, DAY, [("a", 1, 10_000), ("A ", 1, 10_000)]))
    assert [line["denial"] for line in sub.lines] == [96, 96]
    assert sub.status == ClaimStatus.DENIED  # every line denied
    assert lines.accumulators(member) == (0, 0, 0)


def test_a_a_covered_code_is_priced(lines: Deployment, member: bytes) -> None:
    sub = lines.submit(lines.claim(member, DAY, [("A", 1, 10_000)]))
    assert_line_priced(sub.lines[0], 10_000)


# -- b: the code needs prior authorisation and the claim carries none ---------------------


def test_b_prior_auth_missing_is_denied_197(lines: Deployment, member: bytes) -> None:
    sub = lines.submit(lines.claim(member, DAY, [("PA", 1, 20_000), ("A", 1, 10_000)]))
    assert_line_denied(sub.lines[0], 197, 20_000)
    assert_line_priced(sub.lines[1], 10_000)


def test_b_prior_auth_given_is_priced(lines: Deployment, member: bytes) -> None:
    sub = lines.submit(lines.claim(member, DAY, [("PA", 1, 20_000)], prior_auth=True))
    assert_line_priced(sub.lines[0], 20_000)


def test_b_comes_before_c(lines: Deployment, member: bytes) -> None:
    lines.submit(lines.claim(member, DAY, [("PA", 1, 20_000)], prior_auth=True))
    # Same key again, without the authorisation: b decides (197), not c (18).
    sub = lines.submit(lines.claim(member, DAY, [("PA", 1, 20_000)]))
    assert sub.lines[0]["denial"] == 197


# -- c: the same (member, provider, code, day) on an earlier claim --------------------------


def test_c_same_line_on_an_earlier_claim_is_denied_18(lines: Deployment, member: bytes) -> None:
    lines.submit(lines.claim(member, DAY, [("A", 1, 10_000)]))
    sub = lines.submit(lines.claim(member, DAY, [("A", 1, 12_000), ("B", 1, 5_000)]))
    assert_line_denied(sub.lines[0], 18, 12_000)
    assert_line_priced(sub.lines[1], 5_000)
    # A once (oop 20.00, plan 80.00) + B (oop 10.00, plan 40.00).
    assert lines.accumulators(member) == (0, 3_000, 12_000)


def test_c_not_when_the_earlier_line_was_denied(lines: Deployment, member: bytes) -> None:
    first = lines.submit(lines.claim(member, DAY, [("D", 4, 4_000)]))
    assert first.lines[0]["denial"] == 151
    sub = lines.submit(lines.claim(member, DAY, [("D", 1, 1_000)]))
    assert_line_priced(sub.lines[0], 1_000)


def test_c_not_when_the_earlier_claim_was_denied_at_review(
    lines: Deployment, member: bytes
) -> None:
    pending = lines.submit(lines.claim(member, DAY, [("BIG", 1, 100_000)]))
    assert pending.status == ClaimStatus.PENDING_REVIEW
    # While it waits, its line holds the key.
    held = lines.submit(lines.claim(member, DAY, [("BIG", 1, 100_000)]))
    assert held.lines[0]["denial"] == 18 and held.status == ClaimStatus.DENIED
    lines.review(pending.claim_id, False)
    again = lines.submit(lines.claim(member, DAY, [("BIG", 1, 100_000)]))
    assert_line_priced(again.lines[0], 100_000)
    assert again.status == ClaimStatus.PENDING_REVIEW


def test_c_not_for_another_provider_member_day_or_code(lines: Deployment, member: bytes) -> None:
    other = lines.enroll("m2", date(2026, 1, 1))
    lines.submit(lines.claim(member, DAY, [("A", 1, 10_000)]))
    for sub in (
        lines.submit(lines.claim(member, DAY, [("A", 1, 10_000)]), sender=lines.hospital2),
        lines.submit(lines.claim(other, DAY, [("A", 1, 10_000)])),
        lines.submit(lines.claim(member, day(1), [("A", 1, 10_000)])),
        lines.submit(lines.claim(member, DAY, [("B", 1, 5_000)])),
    ):
        assert sub.lines[0]["denial"] == 0


def test_c_not_across_plans(lines: Deployment, member: bytes) -> None:
    second = lines.with_plan(make_plan("LINES-2", LINE_PLAN.services), fund_cents=100_000)
    assert second.enroll("m1", date(2026, 1, 1)) == member
    lines.submit(lines.claim(member, DAY, [("A", 1, 10_000)]))
    sub = second.submit(second.claim(member, DAY, [("A", 1, 10_000)]))
    assert_line_priced(sub.lines[0], 10_000)


def test_c_two_lines_of_one_code_in_one_claim_are_not_duplicates(
    lines: Deployment, member: bytes
) -> None:
    sub = lines.submit(lines.claim(member, DAY, [("A", 1, 10_000), ("A", 1, 10_000)]))
    assert_line_priced(sub.lines[0], 10_000)
    assert_line_priced(sub.lines[1], 10_000)
    assert sub.submitted["plan_paid"] == 16_000
    # ... but a later claim with that line is.
    later = lines.submit(lines.claim(member, DAY, [("A", 1, 10_000)]))
    assert later.lines[0]["denial"] == 18


def test_c_comes_before_d_and_e(lines: Deployment, member: bytes) -> None:
    lines.submit(lines.claim(member, DAY, [("D", 1, 1_000), ("U", 5, 5_000)]))
    # D 4 units would also break d (4 > 3); U 1 more would also break e (5 + 1 > 5).
    sub = lines.submit(lines.claim(member, DAY, [("D", 4, 4_000), ("U", 1, 1_000)]))
    assert [line["denial"] for line in sub.lines] == [18, 18]


# -- d: units > max_units_per_day ----------------------------------------------------------


def test_d_too_many_units_is_denied_151(lines: Deployment, member: bytes) -> None:
    sub = lines.submit(lines.claim(member, DAY, [("D", 4, 4_000)]))
    assert_line_denied(sub.lines[0], 151, 4_000)
    assert sub.status == ClaimStatus.DENIED


def test_d_the_limit_itself_is_fine(lines: Deployment, member: bytes) -> None:
    sub = lines.submit(lines.claim(member, DAY, [("D", 3, 3_000)]))
    assert_line_priced(sub.lines[0], 3_000)  # 3 x 10.00: coinsurance 6.00, plan_paid 24.00


def test_d_is_per_line(lines: Deployment, member: bytes) -> None:
    # The spec compares each line's units with the daily limit: 3 and 3 pass on one day.
    sub = lines.submit(lines.claim(member, DAY, [("D", 3, 3_000), ("D", 3, 3_000)]))
    assert [line["denial"] for line in sub.lines] == [0, 0]


def test_d_comes_before_e(lines: Deployment, member: bytes) -> None:
    lines.submit(lines.claim(member, day(-1), [("DU", 2, 2_000)]))  # period units 2 of 3
    # 3 units: 3 > 2 a day (d) and 2 + 3 > 3 a period (e): d decides.
    sub = lines.submit(lines.claim(member, DAY, [("DU", 3, 3_000)]))
    assert sub.lines[0]["denial"] == 151
    assert lines.units(member, "DU") == 2


# -- e: units used in this period + units > max_units_per_period ---------------------------


def test_e_over_the_period_limit_is_denied_119(lines: Deployment, member: bytes) -> None:
    lines.submit(lines.claim(member, day(-2), [("U", 3, 3_000)]))
    sub = lines.submit(lines.claim(member, day(-1), [("U", 3, 3_000)]))  # 3 + 3 > 5
    assert_line_denied(sub.lines[0], 119, 3_000)
    assert lines.units(member, "U") == 3  # a denied line uses no units
    # The boundary: 3 + 2 = 5 is fine.
    last = lines.submit(lines.claim(member, DAY, [("U", 2, 2_000)]))
    assert_line_priced(last.lines[0], 2_000)
    assert lines.units(member, "U") == 5


def test_e_a_line_sees_the_units_of_earlier_lines_of_its_claim(
    lines: Deployment, member: bytes
) -> None:
    sub = lines.submit(lines.claim(member, DAY, [("U", 3, 3_000), ("U", 3, 3_000)]))
    assert_line_priced(sub.lines[0], 3_000)
    assert_line_denied(sub.lines[1], 119, 3_000)  # 3 + 3 > 5
    assert lines.units(member, "U") == 3


def test_e_lines_of_one_claim_may_fill_the_limit_exactly(lines: Deployment, member: bytes) -> None:
    sub = lines.submit(lines.claim(member, DAY, [("U", 3, 3_000), ("U", 2, 2_000)]))
    assert [line["denial"] for line in sub.lines] == [0, 0]
    assert lines.units(member, "U") == 5
    # Full: one more unit, on another day, is 119.
    assert lines.submit(lines.claim(member, day(1), [("U", 1, 1_000)])).lines[0]["denial"] == 119


def test_e_units_are_per_member(lines: Deployment, member: bytes) -> None:
    other = lines.enroll("m2", date(2026, 1, 1))
    lines.submit(lines.claim(member, DAY, [("U", 5, 5_000)]))
    sub = lines.submit(lines.claim(other, DAY, [("U", 5, 5_000)]))
    assert_line_priced(sub.lines[0], 5_000)
