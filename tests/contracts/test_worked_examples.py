"""The spec's worked examples (adjudication.md), adjudicated by the contract.

Plan: deductible 1000.00, coinsurance 20%, out-of-pocket max 3000.00, no benefit max.
X: fee 300.00. Y: fee 12000.00. Z: fee 120.00, copay 25.00, no deductible.
The member starts with deductible_met 800.00 and oop_met 1200.00.
"""

from __future__ import annotations

from datetime import date

from claimsengine.status import ClaimStatus

from .conftest import TOKEN_SCALE, Deployment


def test_claim_a_then_claim_b(deployed: Deployment) -> None:
    member = deployed.enroll("worked", date(2026, 1, 1))
    # Bring accumulators to deductible_met 800.00, oop_met 1200.00 with priced X lines:
    # 1) X billed 300.00 on 2027-01-10: deductible min(300, 1000, 3000) = 300 -> ded 300, oop 300
    # 2) X billed 300.00 on 2027-01-11: deductible 300 -> ded 600, oop 600
    # 3) X billed 200.00 on 2027-01-12: deductible 200 -> ded 800, oop 800; plan_paid 0
    # 4) 16 x Z (copay 25.00, no deductible) add 16 x 25.00 = 400.00 -> oop 1200.00,
    #    each paying 120 - 25 = 95.00 (benefit_used 16 x 95.00).
    for day, billed in ((10, 30_000), (11, 30_000), (12, 20_000)):
        r = deployed.submit(deployed.claim(member, date(2027, 1, day), [("X", 1, billed)]))
        assert r.lines[0]["plan_paid"] == 0
    for day in range(16):
        deployed.submit(deployed.claim(member, date(2027, 2, 1 + day), [("Z", 1, 12_000)]))
    assert deployed.engine.accumulators(deployed.plan_id, member, 0) == (
        80_000,
        120_000,
        16 * 9_500,
    )

    # Claim A: 1 x X billed 500.00.
    a = deployed.submit(deployed.claim(member, date(2027, 3, 1), [("X", 1, 50_000)]))
    (line,) = a.lines
    assert line["allowed"] == 30_000  # min(500.00, 300.00 x 1)
    assert line["deductible"] == 20_000  # min(300, 1000 - 800, 3000 - 1200) = 200.00
    assert line["coinsurance"] == 2_000  # floor((300 - 200) x 20%) = 20.00
    assert line["copay"] == 0 and line["benefit_limit"] == 0
    assert line["plan_paid"] == 8_000  # 300 - 200 - 20 = 80.00
    assert line["denial"] == 0
    assert a.status == ClaimStatus.PAID
    assert deployed.engine.accumulators(deployed.plan_id, member, 0)[:2] == (100_000, 142_000)

    # Claim B, later: 1 x Y billed 20000.00.
    b = deployed.submit(deployed.claim(member, date(2027, 3, 2), [("Y", 1, 2_000_000)]))
    (line,) = b.lines
    assert line["allowed"] == 1_200_000  # min(20000.00, 12000.00)
    assert line["deductible"] == 0  # deductible already met
    assert line["coinsurance"] == 158_000  # min(floor(12000 x 20%) = 2400, 3000 - 1420) = 1580.00
    assert line["plan_paid"] == 1_042_000  # 12000 - 1580 = 10420.00
    assert deployed.engine.accumulators(deployed.plan_id, member, 0)[1] == 300_000  # oop 3000.00

    # Later covered lines this period pay in full: X billed 300.00 -> plan_paid 300.00.
    c = deployed.submit(deployed.claim(member, date(2027, 3, 3), [("X", 1, 30_000)]))
    assert c.lines[0]["plan_paid"] == 30_000
    assert c.lines[0]["coinsurance"] == 0


def test_copay_example(deployed: Deployment) -> None:
    member = deployed.enroll("copay", date(2026, 1, 1))
    before = deployed.token.balance_of(deployed.hospital)
    r = deployed.submit(deployed.claim(member, date(2027, 3, 14), [("Z", 1, 18_000)]))
    (line,) = r.lines
    assert line["allowed"] == 12_000  # min(180.00, 120.00): fee reduction 60.00 (code 45)
    assert line["deductible"] == 0  # deductible_applies false
    assert line["copay"] == 2_500  # min(25.00, 120.00, 3000.00)
    assert line["coinsurance"] == 0  # a copay replaces coinsurance
    assert line["plan_paid"] == 9_500  # 120 - 25 = 95.00
    assert r.status == ClaimStatus.PAID
    # Paid in the same transaction: 95.00 = 9500 cents x 10^4 token units.
    assert deployed.token.balance_of(deployed.hospital) - before == 9_500 * TOKEN_SCALE
