"""Pricing steps 1-7 of adjudication.md, on the contract, with the arithmetic by hand.

Amounts are cents (300.00 is 30000). A line's reasons are the codes of its non-zero
adjustments in the order 45, 1, 3, 2, 119; the contract emits the amounts and the order is
derived from them, as the result JSON does. Today is 2027-06-01.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from claimsengine.abi import bytes32_to_text
from claimsengine.adjudication import LineAdjudication
from claimsengine.chain.embedded import EmbeddedChain
from claimsengine.plan import Service
from claimsengine.status import ClaimStatus

from .conftest import Deployment, deploy, make_plan, service

DAY = date(2027, 5, 1)
X = service("X", 30_000)  # fee 300.00, deductible applies, coinsurance
N = service("N", 10_000, deductible_applies=False)  # fee 100.00, coinsurance only
Z = service("Z", 12_000, copay=2_500, deductible_applies=False)  # fee 120.00, copay 25.00


def price(line: dict[str, Any]) -> tuple[int, int, int, int, int, int]:
    """(allowed, deductible, copay, coinsurance, benefit_limit, plan_paid) of a line event."""
    return (
        line["allowed"],
        line["deductible"],
        line["copay"],
        line["coinsurance"],
        line["benefit_limit"],
        line["plan_paid"],
    )


def reasons(line: dict[str, Any]) -> list[str]:
    """The spec's reasons: codes of the non-zero adjustments, in the order 45, 1, 3, 2, 119."""
    if line["denial"]:
        return [str(line["denial"])]
    adjustments = (
        (45, line["billed"] - line["allowed"]),
        (1, line["deductible"]),
        (3, line["copay"]),
        (2, line["coinsurance"]),
        (119, line["benefit_limit"]),
    )
    found = [str(code) for code, cents in adjustments if cents]
    # The Python side (result JSON, 835 output) must list them the same way.
    oracle = LineAdjudication(
        code=bytes32_to_text(line["code"]),
        units=line["units"],
        billed=line["billed"],
        allowed=line["allowed"],
        deductible=line["deductible"],
        copay=line["copay"],
        coinsurance=line["coinsurance"],
        benefit_limit=line["benefit_limit"],
        plan_paid=line["plan_paid"],
    )
    assert list(oracle.reasons) == found
    return found


def plan_with(
    chain: EmbeddedChain, plan_id: str, services: list[Service], **terms: Any
) -> Deployment:
    return deploy(chain, make_plan(plan_id, services, **terms), fund_cents=10_000_000)


# -- 1: allowed = min(billed, fee x units); a reduction is 45 --------------------------------


def test_1_fee_schedule(chain: EmbeddedChain) -> None:
    d = plan_with(chain, "FEES", [X])
    member = d.enroll("m1", date(2026, 1, 1))
    sub = d.submit(
        d.claim(member, DAY, [("X", 1, 50_000), ("X", 1, 25_000), ("X", 3, 100_000), ("X", 1, 0)])
    )
    # 500.00 billed, fee 300.00: allowed 300.00 (45: 200.00); coinsurance 60.00, plan 240.00.
    assert price(sub.lines[0]) == (30_000, 0, 0, 6_000, 0, 24_000)
    assert reasons(sub.lines[0]) == ["45", "2"]
    # Billed 250.00 under the fee: allowed 250.00, no 45; coinsurance 50.00, plan 200.00.
    assert price(sub.lines[1]) == (25_000, 0, 0, 5_000, 0, 20_000)
    assert reasons(sub.lines[1]) == ["2"]
    # 3 units: min(1000.00, 3 x 300.00) = 900.00; coinsurance 180.00, plan 720.00.
    assert price(sub.lines[2]) == (90_000, 0, 0, 18_000, 0, 72_000)
    # Billed 0: priced at 0, no reasons.
    assert price(sub.lines[3]) == (0, 0, 0, 0, 0, 0) and reasons(sub.lines[3]) == []
    assert sub.submitted["plan_paid"] == 24_000 + 20_000 + 72_000


# -- reason order: 45, 1, 3, 2, 119 -------------------------------------------------------------


def test_reasons_45_1_2_119(chain: EmbeddedChain) -> None:
    # Deductible 100.00, oop max 5000.00, 20%, benefit max 300.00; W fee 500.00.
    d = plan_with(
        chain,
        "ORDER",
        [service("W", 50_000)],
        deductible=10_000,
        out_of_pocket_max=500_000,
        annual_benefit_max=30_000,
    )
    member = d.enroll("m1", date(2026, 1, 1))
    (line,) = d.submit(d.claim(member, DAY, [("W", 1, 60_000)])).lines
    # allowed min(600, 500) = 500.00 (45: 100.00); deductible min(500, 100, 5000) = 100.00;
    # rest 400.00; coinsurance floor(400 x 20%) = 80.00; plan_share 320.00;
    # plan_paid min(320, 300) = 300.00; benefit_limit 20.00.
    assert price(line) == (50_000, 10_000, 0, 8_000, 2_000, 30_000)
    assert reasons(line) == ["45", "1", "2", "119"]
    # The benefit limit does not count toward the oop max: oop_met 100 + 80 = 180.00.
    assert d.accumulators(member) == (10_000, 18_000, 30_000)


def test_reasons_45_1_3_119(chain: EmbeddedChain) -> None:
    # Deductible 50.00, benefit max 10.00; C fee 100.00, copay 30.00, deductible applies.
    d = plan_with(
        chain,
        "ORDER-COPAY",
        [service("C", 10_000, copay=3_000)],
        deductible=5_000,
        out_of_pocket_max=500_000,
        annual_benefit_max=1_000,
    )
    member = d.enroll("m1", date(2026, 1, 1))
    (line,) = d.submit(d.claim(member, DAY, [("C", 1, 15_000)])).lines
    # allowed 100.00 (45: 50.00); deductible 50.00; rest 50.00; copay min(30, 50, 4950) =
    # 30.00; plan_share 20.00; plan_paid min(20, 10) = 10.00; benefit_limit 10.00.
    assert price(line) == (10_000, 5_000, 3_000, 0, 1_000, 1_000)
    assert reasons(line) == ["45", "1", "3", "119"]
    assert d.accumulators(member) == (5_000, 8_000, 1_000)


# -- 2: the deductible ------------------------------------------------------------------------


def test_2_deductible_across_lines_of_one_claim(chain: EmbeddedChain) -> None:
    d = plan_with(chain, "DED", [X, N, Z], deductible=100_000, out_of_pocket_max=300_000)
    member = d.enroll("m1", date(2026, 1, 1))
    sub = d.submit(d.claim(member, DAY, [("X", 1, 30_000)] * 4))
    # Deductible 1000.00 left: 300, 300, 300, then min(300, 100) = 100.00, whose rest 200.00
    # takes coinsurance 40.00 and pays 160.00.
    assert [price(line) for line in sub.lines] == [
        (30_000, 30_000, 0, 0, 0, 0),
        (30_000, 30_000, 0, 0, 0, 0),
        (30_000, 30_000, 0, 0, 0, 0),
        (30_000, 10_000, 0, 4_000, 0, 16_000),
    ]
    assert [reasons(line) for line in sub.lines] == [["1"], ["1"], ["1"], ["1", "2"]]
    assert d.accumulators(member) == (100_000, 104_000, 16_000)
    # Met: the next claim's X takes no deductible; coinsurance 60.00, plan 240.00.
    (line,) = d.submit(d.claim(member, date(2027, 5, 2), [("X", 2, 60_000)])).lines
    assert price(line) == (60_000, 0, 0, 12_000, 0, 48_000)


def test_2_deductible_does_not_apply_to_some_codes(chain: EmbeddedChain) -> None:
    d = plan_with(chain, "DED", [X, N, Z], deductible=100_000, out_of_pocket_max=300_000)
    member = d.enroll("m1", date(2026, 1, 1))
    sub = d.submit(d.claim(member, DAY, [("N", 1, 10_000), ("Z", 1, 12_000)]))
    # N: no deductible although 1000.00 is left; coinsurance 20.00, plan 80.00.
    assert price(sub.lines[0]) == (10_000, 0, 0, 2_000, 0, 8_000)
    # Z: copay 25.00, plan 95.00.
    assert price(sub.lines[1]) == (12_000, 0, 2_500, 0, 0, 9_500)
    assert d.accumulators(member) == (0, 4_500, 17_500)


# -- 4: copay or coinsurance -----------------------------------------------------------------


def test_4_copay_replaces_coinsurance_and_is_capped_by_the_rest(chain: EmbeddedChain) -> None:
    d = plan_with(
        chain,
        "COPAY",
        [
            Z,
            service("Z2", 1_000, copay=2_500, deductible_applies=False),
            service("ZD", 12_000, copay=2_500),
        ],
        deductible=10_000,
    )
    member = d.enroll("m1", date(2026, 1, 1))
    sub = d.submit(d.claim(member, DAY, [("Z", 1, 18_000), ("Z2", 1, 1_000), ("ZD", 1, 12_000)]))
    # Z: the spec's copay example: allowed 120.00 (45: 60.00), copay 25.00, plan 95.00.
    assert price(sub.lines[0]) == (12_000, 0, 2_500, 0, 0, 9_500)
    assert reasons(sub.lines[0]) == ["45", "3"]
    # Z2: fee 10.00 < copay 25.00: copay min(25, 10, oop) = 10.00, plan 0.
    assert price(sub.lines[1]) == (1_000, 0, 1_000, 0, 0, 0)
    # ZD: deductible 100.00 first, rest 20.00, copay min(25, 20) = 20.00, plan 0.
    assert price(sub.lines[2]) == (12_000, 10_000, 2_000, 0, 0, 0)
    assert reasons(sub.lines[2]) == ["1", "3"]


def test_4_coinsurance_floors_to_the_cent(chain: EmbeddedChain) -> None:
    d = plan_with(
        chain,
        "FLOOR",
        [service("F", 3_333, deductible_applies=False), service("G", 1, deductible_applies=False)],
    )
    member = d.enroll("m1", date(2026, 1, 1))
    sub = d.submit(d.claim(member, DAY, [("F", 1, 3_333), ("G", 1, 1)]))
    # 33.33 x 20% = 6.666 -> 6.66; plan 26.67.
    assert price(sub.lines[0]) == (3_333, 0, 0, 666, 0, 2_667)
    # 0.01 x 20% = 0.002 -> 0; plan 0.01.
    assert price(sub.lines[1]) == (1, 0, 0, 0, 0, 1)


def test_4_coinsurance_basis_points(chain: EmbeddedChain) -> None:
    f = service("F", 3_333, deductible_applies=False)
    d = plan_with(chain, "BPS-1250", [f], coinsurance_bps=1_250)
    full = d.with_plan(make_plan("BPS-10000", [f], coinsurance_bps=10_000), fund_cents=100_000)
    none = d.with_plan(make_plan("BPS-0", [f], coinsurance_bps=0), fund_cents=100_000)
    member = d.enroll("m1", date(2026, 1, 1))
    full.enroll("m1", date(2026, 1, 1))
    none.enroll("m1", date(2026, 1, 1))
    # 33.33 x 12.5% = 4.16625 -> 4.16; plan 29.17.
    assert price(d.submit(d.claim(member, DAY, [("F", 1, 3_333)])).lines[0]) == (
        3_333,
        0,
        0,
        416,
        0,
        2_917,
    )
    # 100%: the patient pays it all (up to the oop max, 10000.00 here).
    assert price(full.submit(full.claim(member, DAY, [("F", 1, 3_333)])).lines[0]) == (
        3_333,
        0,
        0,
        3_333,
        0,
        0,
    )
    # 0%: the plan pays it all.
    assert price(none.submit(none.claim(member, DAY, [("F", 1, 3_333)])).lines[0]) == (
        3_333,
        0,
        0,
        0,
        0,
        3_333,
    )


# -- oop_left caps the deductible, the copay and the coinsurance ------------------------------


def test_oop_max_caps_deductible_copay_and_coinsurance(chain: EmbeddedChain) -> None:
    # Deductible 1000.00 but oop max 500.00.
    d = plan_with(chain, "OOP", [X, N, Z], deductible=100_000, out_of_pocket_max=50_000)
    member = d.enroll("m1", date(2026, 1, 1))
    sub = d.submit(
        d.claim(
            member, DAY, [("X", 1, 30_000), ("X", 1, 30_000), ("Z", 1, 12_000), ("N", 1, 10_000)]
        )
    )
    # X: deductible min(300, 1000, 500) = 300.00; oop_left 200.00.
    assert price(sub.lines[0]) == (30_000, 30_000, 0, 0, 0, 0)
    # X: deductible min(300, 700, 200) = 200.00; oop_left 0: coinsurance min(20.00, 0) = 0.
    assert price(sub.lines[1]) == (30_000, 20_000, 0, 0, 0, 10_000)
    # Z: copay min(25, 120, 0) = 0; the plan pays 120.00.
    assert price(sub.lines[2]) == (12_000, 0, 0, 0, 0, 12_000)
    # N: coinsurance min(20.00, 0) = 0; the plan pays 100.00.
    assert price(sub.lines[3]) == (10_000, 0, 0, 0, 0, 10_000)
    # oop_met reaches the maximum and stops there; deductible_met stays below its own.
    assert d.accumulators(member) == (50_000, 50_000, 32_000)


def test_oop_left_goes_down_within_a_line(chain: EmbeddedChain) -> None:
    # Deductible 100.00, oop max 120.00.
    d = plan_with(chain, "OOP-LINE", [X], deductible=10_000, out_of_pocket_max=12_000)
    member = d.enroll("m1", date(2026, 1, 1))
    (line,) = d.submit(d.claim(member, DAY, [("X", 1, 30_000)])).lines
    # deductible min(300, 100, 120) = 100.00, oop_left 20.00; coinsurance
    # min(floor(200 x 20%) = 40.00, 20.00) = 20.00; plan 180.00.
    assert price(line) == (30_000, 10_000, 0, 2_000, 0, 18_000)
    assert d.accumulators(member) == (10_000, 12_000, 18_000)


def test_oop_max_caps_a_copay_partly(chain: EmbeddedChain) -> None:
    d = plan_with(chain, "OOP-COPAY", [Z, N], out_of_pocket_max=1_000)  # oop max 10.00
    member = d.enroll("m1", date(2026, 1, 1))
    sub = d.submit(d.claim(member, DAY, [("Z", 1, 12_000), ("N", 1, 10_000)]))
    # copay min(25, 120, 10) = 10.00, plan 110.00; then N: coinsurance min(20, 0) = 0.
    assert price(sub.lines[0]) == (12_000, 0, 1_000, 0, 0, 11_000)
    assert price(sub.lines[1]) == (10_000, 0, 0, 0, 0, 10_000)


def test_oop_max_caps_coinsurance_partly(chain: EmbeddedChain) -> None:
    d = plan_with(chain, "OOP-COINS", [X], out_of_pocket_max=5_000)  # oop max 50.00
    member = d.enroll("m1", date(2026, 1, 1))
    sub = d.submit(d.claim(member, DAY, [("X", 1, 30_000)]))
    # coinsurance min(60.00, 50.00) = 50.00, plan 250.00.
    assert price(sub.lines[0]) == (30_000, 0, 0, 5_000, 0, 25_000)
    # Later claims this period: covered lines pay in full.
    later = d.submit(d.claim(member, date(2027, 5, 2), [("X", 1, 30_000)]))
    assert price(later.lines[0]) == (30_000, 0, 0, 0, 0, 30_000)
    assert d.accumulators(member) == (0, 5_000, 55_000)


# -- 6: the annual benefit maximum (119) ------------------------------------------------------


def test_6_benefit_limit(chain: EmbeddedChain) -> None:
    d = plan_with(chain, "BENEFIT", [X], annual_benefit_max=50_000)  # 500.00
    member = d.enroll("m1", date(2026, 1, 1))
    paid = []
    for offset in range(4):
        sub = d.submit(d.claim(member, date(2027, 5, 1 + offset), [("X", 1, 30_000)]))
        assert sub.status == ClaimStatus.PAID
        paid.append(price(sub.lines[0]))
    # Each X: coinsurance 60.00, plan_share 240.00. benefit_left: 500, 260, 20, 0.
    assert paid == [
        (30_000, 0, 0, 6_000, 0, 24_000),
        (30_000, 0, 0, 6_000, 0, 24_000),
        (30_000, 0, 0, 6_000, 22_000, 2_000),  # plan_paid min(240, 20) = 20.00; 119: 220.00
        (30_000, 0, 0, 6_000, 24_000, 0),  # nothing left: 119 240.00
    ]
    # oop_met counts the coinsurance only (4 x 60.00), not the 460.00 over the limit.
    assert d.accumulators(member) == (0, 24_000, 50_000)


def test_6_benefit_limit_within_a_claim(chain: EmbeddedChain) -> None:
    d = plan_with(chain, "BENEFIT", [X], annual_benefit_max=30_000)  # 300.00
    member = d.enroll("m1", date(2026, 1, 1))
    sub = d.submit(d.claim(member, DAY, [("X", 1, 30_000), ("X", 1, 30_000)]))
    # 240.00 paid, then min(240, 60) = 60.00 paid and 180.00 over the limit.
    assert [price(line) for line in sub.lines] == [
        (30_000, 0, 0, 6_000, 0, 24_000),
        (30_000, 0, 0, 6_000, 18_000, 6_000),
    ]
    assert sub.submitted["plan_paid"] == 30_000


# -- 7: accumulators are per member and benefit period ----------------------------------------


def test_7_accumulators_reset_in_a_new_benefit_period(chain: EmbeddedChain) -> None:
    # 90-day periods from 2027-01-01: period 0 ends 2027-03-31 (day 89), period 1 starts
    # 2027-04-01 (day 90). Deductible 100.00; U at most 2 units a period.
    d = plan_with(
        chain,
        "PERIODS",
        [X, service("U", 1_000, max_units_per_period=2)],
        benefit_period_days=90,
        deductible=10_000,
    )
    member = d.enroll("m1", date(2026, 1, 1))
    later = d.enroll("m1", date(2026, 1, 1), period=1)  # the member's period-1 pseudonym
    # X on the last day of period 0: deductible 100.00, coinsurance 40.00, plan 160.00.
    first = d.submit(d.claim(member, date(2027, 3, 31), [("X", 1, 30_000)]))
    assert price(first.lines[0]) == (30_000, 10_000, 0, 4_000, 0, 16_000)
    # X on the first day of period 1: the deductible is owed again.
    second = d.submit(d.claim(later, date(2027, 4, 1), [("X", 1, 30_000)]))
    assert price(second.lines[0]) == (30_000, 10_000, 0, 4_000, 0, 16_000)
    assert d.accumulators(member, 0) == d.accumulators(later, 1) == (10_000, 14_000, 16_000)
    # The period is the service day's, not the filing day's: a late claim for 2027-03-30
    # lands in period 0, where the deductible is met: coinsurance 60.00, plan 240.00.
    third = d.submit(d.claim(member, date(2027, 3, 30), [("X", 1, 30_000)]))
    assert price(third.lines[0]) == (30_000, 0, 0, 6_000, 0, 24_000)
    assert d.accumulators(member, 0) == (10_000, 20_000, 40_000)
    assert d.accumulators(later, 1) == (10_000, 14_000, 16_000)
    # Units too: 2 in period 0, 2 again in period 1, then a third in period 1 is 119.
    assert d.submit(d.claim(member, date(2027, 3, 29), [("U", 2, 2_000)])).lines[0]["denial"] == 0
    assert d.submit(d.claim(later, date(2027, 4, 2), [("U", 2, 2_000)])).lines[0]["denial"] == 0
    assert d.submit(d.claim(later, date(2027, 4, 3), [("U", 1, 1_000)])).lines[0]["denial"] == 119
    assert (d.units(member, "U", 0), d.units(later, "U", 1)) == (2, 2)


def test_7_accumulators_are_per_member(chain: EmbeddedChain) -> None:
    d = plan_with(chain, "MEMBERS", [X], deductible=10_000)
    first = d.enroll("m1", date(2026, 1, 1))
    second = d.enroll("m2", date(2026, 1, 1))
    d.submit(d.claim(first, DAY, [("X", 1, 30_000)]))
    (line,) = d.submit(d.claim(second, DAY, [("X", 1, 30_000)])).lines
    assert price(line) == (30_000, 10_000, 0, 4_000, 0, 16_000)  # m2 owes its own deductible
