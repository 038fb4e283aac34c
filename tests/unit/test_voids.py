"""Voided and replaced claims in reconciliation and in every export, on synthetic inputs (no
chain): the result kind ``voided``, the provider's debt and what later payments give back of
it, the 835's reversal (CLP02 22) and recoupment (PLB WO), FHIR's cancelled responses and
the CSV row.

Amounts are cents, from the spec's worked examples (see test_reconcile_core): the copay
visit (billed 180.00, 45: 60.00 CO, 3: 25.00 PR, the plan pays 95.00) and claim A (billed
500.00, 45: 200.00 CO, 1: 200.00 PR, 2: 20.00 PR, the plan pays 80.00).

The story most tests use, HOSP-A, one payout address:
- claim 1, record REC-1: the visit, paid 95.00 (transfer 95.00); then voided from paid:
  its 95.00 becomes HOSP-A's debt; a correction, claim 3, replaced it;
- claim 2, record REC-2: claim A, paid 80.00, all of it kept back for the debt
  (DebtRecovered 80.00, no transfer): the debt drops to 95.00 - 80.00 = 15.00;
- claim 3, record REC-1 again (the corrected record): the visit, paid 95.00, of which 15.00
  is kept back (DebtRecovered 15.00, transfer 95.00 - 15.00 = 80.00): the debt is 0.00.
Payments (ClaimPaid) 95.00 + 80.00 + 95.00 = 270.00; kept back 80.00 + 15.00 = 95.00;
transfers 95.00 + 0.00 + 80.00 = 175.00 = 270.00 - 95.00.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import datetime, time
from decimal import Decimal
from typing import Any

import pytest

from claimsengine.abi import DecodedEvent, text_to_bytes32
from claimsengine.exports.csv import report_csv
from claimsengine.exports.fhir import bundle_json
from claimsengine.exports.x12 import _transaction, build_835, check_835
from claimsengine.history import group_claim_events
from claimsengine.reconcile import (
    RESULTS,
    DebtRecovery,
    OnChainClaim,
    ReconciliationReport,
    apply_credits,
    apply_recoveries,
    claim_status,
    claims_from_events,
    match,
    recoveries_from_events,
)
from claimsengine.status import ClaimStatus
from tests.fhir_validator import assert_valid_bundle
from tests.unit.test_reconcile_core import (
    ACCOUNT_A,
    CLAIM_A,
    SCALE,
    claim,
    event,
    paid_event,
    rows,
    settlements,
    submitted,
    transfer_for,
)
from tests.x12_validator import assert_valid_835


def tx(number: int) -> bytes:
    return number.to_bytes(32, "big")


def voided(base: OnChainClaim, *, at: int = 10, replaced_by: int | None = None) -> OnChainClaim:
    """``base`` voided in block ``at``: a paid claim's payment becomes its debt."""
    return dataclasses.replace(
        base,
        status="voided",
        voided_from=base.status,
        voided_tx=tx(at),
        voided_order=(at, 0),
        replaced_by=replaced_by,
        debt=base.paid if base.status == "paid" else 0,
    )


def kept(claim_id: int, amount: int, block: int) -> DebtRecovery:
    """``amount`` kept back from the payment of ``claim_id`` in transaction ``block``."""
    return DebtRecovery("HOSP-A", claim_id, amount, tx(block), (block, 1))


STORY_RECOVERIES = (kept(2, 8_000, 2), kept(3, 1_500, 3))


def story(*, recoveries: tuple[DebtRecovery, ...] = STORY_RECOVERIES) -> list[OnChainClaim]:
    claims = [
        voided(claim(1), replaced_by=3),
        claim(2, (CLAIM_A,), tx=tx(2)),
        dataclasses.replace(claim(3, tx=tx(3)), replaces=1),
    ]
    return apply_recoveries(claims, recoveries)


def story_report(ledger: list[Any] | None = None, **changes: Any) -> ReconciliationReport:
    claims = story()
    # claim 1's own 95.00; nothing for claim 2 (all of it kept); 80.00 for claim 3.
    transfers = [transfer_for(claims[0]), transfer_for(claims[2], 8_000 * SCALE)]
    read = settlements(
        claims,
        transfers,
        {1: "REC-1", 2: "REC-2", 3: "REC-1"},
        recoveries=STORY_RECOVERIES,
        **changes,
    )
    if ledger is None:
        ledger = rows(("REC-1", 9_500), ("REC-2", 8_000))
    return match(read, ledger)


def segments_of(text: str) -> list[list[str]]:
    return [s.strip().split("*") for s in text.split("~") if s.strip()]


# -- from events --------------------------------------------------------------------------


def void_event(
    claim_id: int, block: int, before: ClaimStatus, debt: int, replaced_by: int = 0
) -> Any:
    return event(
        "ClaimVoided",
        block,
        0,
        claim_id=claim_id,
        plan_id=text_to_bytes32("SILVER-2027"),
        provider_ref=text_to_bytes32("HOSP-A"),
        status_before=before.code,
        replaced_by=replaced_by,
        debt=debt,
    )


def recovered_event(claim_id: int, block: int, amount: int) -> DecodedEvent:
    return event(
        "DebtRecovered",
        block,
        1,
        plan_id=text_to_bytes32("SILVER-2027"),
        provider_ref=text_to_bytes32("HOSP-A"),
        claim_id=claim_id,
        amount=amount,
    )


def test_a_void_after_payment_reads_voided_with_its_debt_and_replacement() -> None:
    events = [
        *submitted(1, ClaimStatus.PAID, 9_500, tx=1),
        paid_event(1, 1),
        void_event(1, 4, ClaimStatus.PAID, 9_500, replaced_by=2),
        *submitted(2, ClaimStatus.PAID, 9_500, tx=4),
    ]
    grouped = group_claim_events(events)
    assert claim_status(grouped[1]) == "voided"  # the ClaimPaid before it does not count
    old, new = claims_from_events(grouped, {ACCOUNT_A: "HOSP-A"})
    assert (old.status, old.voided_from, old.debt, old.replaced_by) == ("voided", "paid", 9_500, 2)
    assert old.paid == 9_500 and old.net_paid == 0 and old.reversed
    assert old.voided_tx == tx(4) and old.voided_order == (4, 0)
    assert (new.status, new.replaces, new.replaced_by, new.debt) == ("paid", 1, None, 0)


@pytest.mark.parametrize("before", [ClaimStatus.QUEUED, ClaimStatus.PENDING_REVIEW])
def test_a_void_before_payment_has_no_debt(before: ClaimStatus) -> None:
    events = [*submitted(1, before, 9_500), void_event(1, 3, before, 0)]
    (found,) = claims_from_events(group_claim_events(events), {ACCOUNT_A: "HOSP-A"})
    assert (found.status, found.voided_from, found.debt, found.reversed) == (
        "voided",
        str(before),
        0,
        False,
    )


def test_recoveries_pay_the_oldest_void_first() -> None:
    # Claim 1 voided in block 10 (debt 95.00), claim 2 in block 11 (debt 80.00). 100.00 is
    # recovered (60.00, then 40.00): claim 1's 95.00 first, then 5.00 of claim 2's 80.00.
    recoveries = recoveries_from_events(
        [recovered_event(7, 13, 4_000), recovered_event(6, 12, 6_000)]
    )
    assert [r.amount for r in recoveries] == [6_000, 4_000]  # chain order
    assert recoveries[0] == DebtRecovery("HOSP-A", 6, 6_000, tx(12), (12, 1))
    claims = [voided(claim(2, (CLAIM_A,)), at=11), voided(claim(1), at=10)]
    second, first = apply_recoveries(claims, recoveries)
    assert (first.debt, first.recovered) == (9_500, 9_500)
    assert (second.debt, second.recovered) == (8_000, 500)


def test_a_batch_credit_net_of_its_recovery_credits_each_claim() -> None:
    # Claims 1 and 2 (95.00 each) paid in batch tx 5, 30.00 kept back for a debt (claim id
    # 0), the one transfer of 190.00 - 30.00 = 160.00 refused: credited 160.00 (claim 0).
    # The kept 30.00 comes off the first claim: credited 65.00 and 95.00.
    paid = [claim(1, tx=tx(5)), claim(2, tx=tx(5))]
    credit = event(
        "ProviderCredited", 5, 3, plan_id=b"", provider_ref=text_to_bytes32("HOSP-A"),
        claim_id=0, amount=16_000,
    )  # fmt: skip
    first, second = apply_credits(paid, [credit], [kept(0, 3_000, 5)])
    assert (first.credited, second.credited) == (6_500, 9_500)
    # Without the recovery the credit explains no set of payments: nothing is credited.
    assert [c.credited for c in apply_credits(paid, [credit])] == [0, 0]


# -- reconciliation -----------------------------------------------------------------------


def test_voided_is_a_result_kind() -> None:
    assert "voided" in RESULTS


def test_a_ledger_row_for_a_voided_paid_claim_shows_the_difference() -> None:
    # REC-1 was paid 95.00, then voided with no correction and nothing recovered: it counts
    # 0.00 paid, so the ledger's 95.00 is 0.00 - 95.00 = -95.00 off, all of it still owed.
    read = settlements([voided(claim(1))], [transfer_for(claim(1))])
    (record,) = match(read, rows(("REC-1", 9_500))).records
    assert record.result == "voided"
    assert (record.expected_paid, record.plan_paid, record.paid) == (9_500, 9_500, 0)
    assert record.difference == -9_500
    assert record.reasons == (
        "voided (was paid)",
        "payment 95.00 reversed: 0.00 recovered, 95.00 still owed",
    )
    data = record.to_json()
    assert (data["result"], data["paid"], data["status"]) == ("voided", "0.00", "voided")
    assert (data["voided_from"], data["debt"], data["debt_recovered"]) == ("paid", "95.00", "0.00")


def test_a_ledger_row_for_a_voided_queued_claim() -> None:
    read = settlements([voided(claim(1, status="queued"))], [])
    (record,) = match(read, rows(("REC-1", 9_500))).records
    assert (record.result, record.paid, record.difference) == ("voided", 0, -9_500)
    assert record.reasons == ("voided (was queued)",)
    assert match(read, rows(("REC-1", 9_500))).ok


def test_a_corrected_record_matches_the_claim_that_replaced_the_voided_one() -> None:
    report = story_report()
    rec1, rec2 = report.records
    # REC-1 is on claims 1 (voided) and 3 (its replacement): the row is about claim 3.
    assert (rec1.result, rec1.claim and rec1.claim.claim_id, rec1.paid) == ("matched", 3, 9_500)
    assert rec1.to_json()["replaces"] == 1 and "replaced_by" not in rec1.to_json()
    assert (rec2.result, rec2.paid) == ("matched", 8_000)  # paid 80.00, though all kept
    # The voided claim is listed apart, with what replaced it.
    (apart,) = report.unledgered
    assert apart.to_json() == {
        "claim_id": 1,
        "record_id": "REC-1",
        "provider_id": "HOSP-A",
        "status": "voided",
        "plan_paid": "95.00",
        "replaced_by": 3,
        "voided_from": "paid",
        "debt": "95.00",
        "debt_recovered": "95.00",
    }
    assert report.summary["matched"] == 2 and report.summary["voided"] == 0


def test_when_every_claim_of_a_record_was_voided_the_latest_answers() -> None:
    claims = [voided(claim(1, status="queued"), at=5), voided(claim(2, status="queued"), at=6)]
    read = settlements(claims, [], {1: "REC-1", 2: "REC-1"})
    report = match(read, rows(("REC-1", 9_500)))
    (record,) = report.records
    assert record.claim is not None and record.claim.claim_id == 2
    assert [u.claim.claim_id for u in report.unledgered] == [1]


def test_provider_totals_count_the_debt_and_what_came_back() -> None:
    report = story_report()
    (totals,) = report.providers
    # See the module docstring: 270.00 paid, 95.00 reversed by the void and 95.00 kept back,
    # 175.00 transferred; nothing owed any more.
    assert (totals.paid, totals.voided, totals.recovered, totals.debt) == (27_000, 9_500, 9_500, 0)
    assert totals.transfers == 17_500 * SCALE and totals.net_paid == 17_500
    assert totals.ok and report.ok
    data = totals.to_json()
    assert (data["voided"], data["debt_recovered"], data["debt"]) == ("95.00", "95.00", "0.00")
    checks = {c.name: c for c in report.checks}
    assert checks["payments match transfers"].detail == (
        "paid 270.00 = transfers 175.00 + kept back for debts 95.00"
    )
    assert checks["debts balance"].detail == (
        "voided payments 95.00 = recovered 95.00 + still owed 0.00"
    )
    assert report.totals()["voided"] == "95.00" and report.totals()["debt_recovered"] == "95.00"


def test_a_debt_partly_recovered_is_still_owed() -> None:
    # Only claims 1 and 2: 80.00 of the 95.00 came back, 15.00 is still owed.
    claims = story(recoveries=(kept(2, 8_000, 2),))[:2]
    read = settlements(claims, [transfer_for(claims[0])], recoveries=(kept(2, 8_000, 2),))
    report = match(read, [])
    (totals,) = report.providers
    assert (totals.voided, totals.recovered, totals.debt) == (9_500, 8_000, 1_500)
    assert report.ok
    assert {c.name: c.detail for c in report.checks}["debts balance"] == (
        "voided payments 95.00 = recovered 80.00 + still owed 15.00"
    )


def test_no_debt_check_without_voids() -> None:
    report = match(settlements([claim(1)]), rows(("REC-1", 9_500)))
    assert [c.name for c in report.checks] == [
        "lines balance",
        "claims balance",
        "payments match transfers",
    ]


def test_recovering_more_than_voids_created_fails() -> None:
    # 95.00 of debt, 100.00 kept back: the check names the provider and both amounts (and
    # the payments do not match the transfers either: 95.00 + 80.00 - 100.00 != 95.00).
    claims = [voided(claim(1)), claim(2, (CLAIM_A,), tx=tx(2))]
    recoveries = (kept(2, 10_000, 2),)
    read = settlements(claims, [transfer_for(claims[0])], recoveries=recoveries)
    report = match(read, [])
    checks = {c.name: c for c in report.checks}
    assert not checks["debts balance"].ok
    assert checks["debts balance"].detail == "HOSP-A: recovered 100.00 for voided payments of 95.00"


def test_a_kept_back_amount_without_its_recovery_event_fails_the_transfer_check() -> None:
    # The story's transfers, but the chain shows no DebtRecovered: 270.00 paid, 175.00 moved.
    claims = story(recoveries=())
    transfers = [transfer_for(claims[0]), transfer_for(claims[2], 8_000 * SCALE)]
    report = match(settlements(claims, transfers), [])
    check = {c.name: c for c in report.checks}["payments match transfers"]
    assert not check.ok and check.detail == "HOSP-A: paid 270.00, transfers 175.00"


def test_a_void_whose_debt_differs_from_its_payment_fails() -> None:
    wrong = dataclasses.replace(voided(claim(1)), debt=9_000)
    report = match(settlements([wrong], [transfer_for(claim(1))]), [])
    check = {c.name: c for c in report.checks}["claims balance"]
    assert not check.ok
    assert check.detail == "claim 1 (voided from paid): debt 90.00, its payment gives 95.00"


def test_a_debt_kept_back_at_collect_reduces_the_credit_in_the_engine() -> None:
    # Claim 2 (80.00) paid as a credit (the token refused it); claim 1 (95.00) was paid,
    # then voided. The provider collects: 80.00 of credit, 80.00 kept for the debt (a
    # DebtRecovered in the collect's transaction, claim 0), 0.00 sent.
    from claimsengine.reconcile import CreditCollection

    claims = [voided(claim(1)), dataclasses.replace(claim(2, (CLAIM_A,), tx=tx(2)), credited=8_000)]
    recoveries = (kept(0, 8_000, 9),)
    collect = CreditCollection("HOSP-A", "0x" + "aa" * 20, 0, tx(9))
    read = settlements(
        apply_recoveries(claims, recoveries),
        [transfer_for(claims[0])],
        recoveries=recoveries,
        collections=(collect,),
    )
    report = match(read, [])
    (totals,) = report.providers
    assert (totals.recovered, totals.recovered_from_credits) == (0, 8_000)
    assert (totals.credited, totals.collected, totals.credit_in_engine) == (8_000, 0, 0)
    assert totals.debt == 9_500 - 8_000
    assert report.ok
    # The 835: 95.00 + 80.00 - 95.00 (reversal) = 80.00 in CLP04; PLB -95.00 + 80.00;
    # BPR02 = 80.00 - (-15.00) = 95.00: the first transfer, and a credit that all went to
    # the debt.
    text = build_835(report).text
    assert_valid_835(text)
    assert [s[2] for s in segments_of(text) if s[0] == "BPR"] == ["95.00"]


# -- the 835 ------------------------------------------------------------------------------


def test_835_reverses_a_voided_payment_and_recoups_it_with_plb_wo() -> None:
    text = build_835(story_report()).text
    assert_valid_835(text)
    segs = segments_of(text)
    clp = [s for s in segs if s[0] == "CLP"]
    # Claim by claim: claim 1 as it was paid, then its reversal with every amount negated
    # (charge -180.00, paid -95.00, patient -25.00); claim 2; claim 3, the correction.
    assert [s[1:8] for s in clp] == [
        ["REC-1", "1", "180.00", "95.00", "25.00", "15", "1"],
        ["REC-1", "22", "-180.00", "-95.00", "-25.00", "15", "1"],
        ["REC-2", "1", "500.00", "80.00", "220.00", "15", "2"],
        ["REC-1", "1", "180.00", "95.00", "25.00", "15", "3"],
    ]
    reversal = segs[segs.index(clp[1]) : segs.index(clp[2])]
    assert ["SVC", "HC:99213", "-180.00", "-95.00", "", "1"] in reversal
    assert ["CAS", "CO", "45", "-60.00"] in reversal and ["CAS", "PR", "3", "-25.00"] in reversal
    assert ["AMT", "B6", "-120.00"] in reversal
    # The correction names the claim it replaces (REF F8: the original's CLP07).
    correction = segs[segs.index(clp[3]) :]
    assert correction[2] == ["REF", "F8", "1"]
    # PLB: the reversed 95.00 is not taken from this remittance (WO -95.00, the provider's
    # debt); 95.00 was kept back from later payments (WO 95.00).
    (plb,) = [s for s in segs if s[0] == "PLB"]
    assert plb == ["PLB", "1234567893", "20261231", "WO:REC-1", "-95.00", "WO:REC-1", "95.00"]
    assert [s[0] for s in segs][-4:] == ["PLB", "SE", "GE", "IEA"]
    # BPR02 = CLP04 95.00 - 95.00 + 80.00 + 95.00 = 175.00, less PLB -95.00 + 95.00 = 0.00:
    # 175.00, the token transfers.
    (bpr,) = [s for s in segs if s[0] == "BPR"]
    assert bpr[1:3] == ["I", "175.00"]


def test_835_with_the_debt_partly_recovered_balances() -> None:
    claims = story(recoveries=(kept(2, 8_000, 2),))[:2]
    read = settlements(claims, [transfer_for(claims[0])], recoveries=(kept(2, 8_000, 2),))
    text = build_835(match(read, [])).text
    assert_valid_835(text)
    segs = segments_of(text)
    # CLP04: 95.00 - 95.00 + 80.00 = 80.00. PLB: -95.00 + 80.00 = -15.00 (still owed).
    # BPR02 = 80.00 - (-15.00) = 95.00: the one transfer (claim 2's 80.00 was all kept).
    assert [s[4] for s in segs if s[0] == "CLP"] == ["95.00", "-95.00", "80.00"]
    (plb,) = [s for s in segs if s[0] == "PLB"]
    assert plb[3:] == ["WO:REC-1", "-95.00", "WO:REC-1", "80.00"]
    assert [s[2] for s in segs if s[0] == "BPR"] == ["95.00"]


def test_835_leaves_out_a_claim_voided_before_payment() -> None:
    claims = [claim(1), voided(claim(2, status="queued"))]
    text = build_835(match(settlements(claims), [])).text
    assert_valid_835(text)
    segs = segments_of(text)
    assert [s[7] for s in segs if s[0] == "CLP"] == ["1"]
    assert not [s for s in segs if s[0] == "PLB"]


def test_835_many_voids_are_summed_in_one_plb() -> None:
    # Claims 1-7 (95.00 each) paid, then voided: 665.00 of debt. Claims 8 and 9 (95.00 each)
    # are paid later, 95.00 and 30.00 of them kept back: 125.00 recovered. Seven reversal
    # WOs and two recoupment WOs are more than one PLB holds (pyx12 refuses a second PLB),
    # so the two amounts are given once: WO -665.00 and WO 125.00 (PLB sum -540.00).
    # CLP04: 7 x (95.00 - 95.00) + 95.00 + 95.00 = 190.00; BPR02 = 190.00 - (-540.00) =
    # 730.00 = the transfers: 7 x 95.00 + 0.00 (claim 8, all kept) + 65.00 (claim 9).
    recoveries = (kept(8, 9_500, 20), kept(9, 3_000, 21))
    claims = [voided(claim(n), at=10 + n) for n in range(1, 8)]
    later = [claim(8, tx=tx(20)), claim(9, tx=tx(21))]
    claims = apply_recoveries([*claims, *later], recoveries)
    transfers = [transfer_for(claim(n)) for n in range(1, 8)]
    transfers.append(transfer_for(later[1], (9_500 - 3_000) * SCALE))  # claim 8's all kept
    report = match(settlements(claims, transfers, recoveries=recoveries), [])
    assert report.ok
    text = build_835(report).text
    assert_valid_835(text)
    (plb,) = [s for s in segments_of(text) if s[0] == "PLB"]
    assert plb[3:] == ["WO:7 VOIDED CLAIMS", "-665.00", "WO:RECOVERED", "125.00"]
    assert [s[2] for s in segments_of(text) if s[0] == "BPR"] == ["730.00"]


def test_835_self_check_catches_a_plb_that_does_not_balance() -> None:
    report = story_report()
    assert report.payer is not None
    when = datetime.combine(report.today_date, time())
    transaction = _transaction(report, report.payer, "HOSP-A", report.claims, 1, when)
    # The recoupment left out: CLP04 175.00 - PLB -95.00 = 270.00, not BPR02's 175.00.
    transaction.adjustments = transaction.adjustments[:1]
    problems = check_835([transaction], build_835(report).segments)
    assert problems == [
        "ST 0001 (HOSP-A): the CLP04 sum 175.00 - the PLB sum -95.00 != BPR02 175.00"
    ]


# -- FHIR and CSV -------------------------------------------------------------------------


def resources(data: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == kind]


def test_fhir_a_voided_claim_is_a_cancelled_response() -> None:
    data = assert_valid_bundle(bundle_json(story_report()))
    responses = {r["id"]: r for r in resources(data, "ClaimResponse")}
    old = responses["claim-1-response"]
    assert (old["status"], old["outcome"]) == ("cancelled", "complete")
    assert old["disposition"] == (
        "voided by the provider (was paid); payment 95.00 reversed as the provider's debt, "
        "95.00 of it recovered; replaced by claim 3"
    )
    assert "payment" not in old  # a cancelled response pays nothing
    new = responses["claim-3-response"]
    assert (new["status"], new["disposition"]) == ("active", "paid; replaces claim 1")
    eobs = {r["id"]: r for r in resources(data, "ExplanationOfBenefit")}
    assert eobs["claim-1-eob"]["status"] == "cancelled"
    assert eobs["claim-3-eob"]["related"] == [
        {
            "relationship": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship",
                        "code": "prior",
                        "display": "Prior Claim",
                    }
                ]
            },
            "reference": {"system": "urn:claimsengine:claim", "value": "1"},
        }
    ]


def test_fhir_payment_details_add_up_to_what_moved() -> None:
    data = assert_valid_bundle(bundle_json(story_report()))
    (payments,) = resources(data, "PaymentReconciliation")
    # Payments 95.00 (claim 1, since voided) + 80.00 + 95.00, less 80.00 and 15.00 kept
    # back: 175.00, the transfers.
    assert Decimal(str(payments["paymentAmount"]["value"])) == Decimal("175.00")
    amounts = [Decimal(str(d["amount"]["value"])) for d in payments["detail"]]
    assert amounts == [Decimal(v) for v in ("95.00", "80.00", "95.00", "-80.00", "-15.00")]
    assert sum(amounts) == Decimal("175.00")
    kinds = [d["type"]["coding"][0]["code"] for d in payments["detail"]]
    assert kinds == ["payment", "payment", "payment", "adjustment", "adjustment"]
    assert payments["disposition"] == (
        "2 paid claims of plan SILVER-2027; 1 voided after payment, 95.00 reversed as the "
        "provider's debt; 95.00 kept back from payments for it"
    )


def test_csv_has_a_voided_row() -> None:
    read = settlements([voided(claim(1))], [transfer_for(claim(1))])
    report = match(read, rows(("REC-1", 9_500)))
    (row,) = list(csv.DictReader(io.StringIO(report_csv(report))))
    assert row == {
        "record_id": "REC-1",
        "result": "voided",
        "expected_paid": "95.00",
        "plan_paid": "95.00",
        "paid": "0.00",
        "difference": "-95.00",
        "reasons": "voided (was paid), payment 95.00 reversed: 0.00 recovered, 95.00 still owed",
        "claim_id": "1",
        "status": "voided",
        "provider_id": "HOSP-A",
        "ledger_line": "2",
    }
