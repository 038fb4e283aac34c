"""Remittance that a clearinghouse accepts: every 835 here passes pyx12 (tests/x12_validator)
and balances; the data it needs (payer block, NPIs, member ids) is checked first, and a
missing piece is a refusal that names what to add. Also NPIs, the payer block, review
denials and provider credits in reconciliation.

Lines are the spec's worked examples (see test_reconcile_core): the copay visit (billed
180.00, 45: 60.00, 3: 25.00, paid 95.00) and claim A (billed 500.00, 45: 200.00, 1: 200.00,
2: 20.00, paid 80.00).
"""

from __future__ import annotations

from typing import Any

import pytest

from claimsengine.abi import text_to_bytes32
from claimsengine.errors import InputError, PlanError
from claimsengine.exports import ExportError, adjustment_group
from claimsengine.exports.x12 import build_835
from claimsengine.fieldreader import FieldReader
from claimsengine.history import group_claim_events
from claimsengine.npi import is_valid_npi, npi_check_digit, parse_npi
from claimsengine.payer import DEFAULT_CLAIM_FILING_INDICATOR, payer_from_dict, payer_to_dict
from claimsengine.plan import plan_from_dict
from claimsengine.reconcile import (
    CreditCollection,
    TokenTransfer,
    apply_credits,
    claims_from_events,
    match,
)
from claimsengine.status import ClaimStatus
from tests.unit.test_reconcile_core import (
    ACCOUNT_A,
    ACCOUNT_B,
    CLAIM_A,
    COPAY_VISIT,
    PAYER,
    SCALE,
    claim,
    denied_line,
    event,
    paid_event,
    rows,
    settlements,
    submitted,
    transfer_for,
)
from tests.x12_validator import assert_valid_835, validate_835


def segments_of(text: str) -> list[list[str]]:
    return [s.strip().split("*") for s in text.split("~") if s.strip()]


def claims_by_id(text: str) -> dict[str, list[str]]:
    return {s[7]: s for s in segments_of(text) if s[0] == "CLP"}


# -- NPI -----------------------------------------------------------------------------------


@pytest.mark.parametrize("npi", ["1234567893", "1245319599", "1003000126"])
def test_valid_npis(npi: str) -> None:
    assert is_valid_npi(npi) and parse_npi(npi) == npi


def test_npi_check_digit_is_luhn_over_80840() -> None:
    # CMS's worked example: 123456789 -> 80840123456789. From the right, the doubled digits
    # 9, 7, 5, 3, 1, 4, 0 give 18, 14, 10, 6, 2, 8, 0, whose digit sums are 9 + 5 + 1 + 6 +
    # 2 + 8 + 0 = 31; the others 8 + 6 + 4 + 2 + 0 + 8 + 8 = 36. 67: the check digit is 3.
    assert npi_check_digit("123456789") == 3


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1234567890", "NPI 1234567890 fails its check digit"),
        ("123456789", "NPI '123456789' must be 10 digits"),
        ("12345678931", "NPI '12345678931' must be 10 digits"),
        ("12345-7893", "NPI '12345-7893' must be 10 digits"),
        ("", "NPI '' must be 10 digits"),
    ],
)
def test_bad_npis_are_refused(value: str, message: str) -> None:
    assert not is_valid_npi(value)
    with pytest.raises(InputError) as caught:
        parse_npi(value, field="--npi")
    assert str(caught.value) == f"field --npi: {message}"


# -- the payer block -----------------------------------------------------------------------


def payer_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Silver Health Plan",
        "id": "SHP01",
        "address": {"line": "1 Main St", "city": "Springfield", "state": "IL", "zip": "62701"},
        "contact": {"name": "Claims Support", "phone": "8005551234"},
    }
    data.update(changes)
    return data


def plan_with(payer: Any) -> dict[str, Any]:
    return {
        "id": "P",
        "name": "P",
        "token": "dev",
        "effective_date": "2027-01-01",
        "benefit_period_days": 365,
        "deductible": "0.00",
        "out_of_pocket_max": "0.00",
        "coinsurance": 0,
        "waiting_period_days": 0,
        "timely_filing_days": 365,
        "auto_approve_limit": "1.00",
        "services": [{"code": "99213", "allowed": "1.00"}],
        "payer": payer,
    }


def test_payer_block_in_a_plan_round_trips() -> None:
    plan = plan_from_dict(plan_with(payer_data()), source="p.yaml")
    assert plan.payer == PAYER
    assert plan.payer.claim_filing_indicator == DEFAULT_CLAIM_FILING_INDICATOR == "15"
    assert payer_from_dict(payer_to_dict(PAYER), FieldReader()) == PAYER


@pytest.mark.parametrize(
    ("payer", "message"),
    [
        ("Silver", "field payer: expected a mapping with name, id, address and contact"),
        ({**payer_data(), "phone": "1"}, "field payer.phone: unknown key 'phone'"),
        ({k: v for k, v in payer_data().items() if k != "id"}, "field payer.id: is required"),
        (
            payer_data(address={"line": "1 Main St", "city": "S", "state": "Il", "zip": "62701"}),
            "field payer.address.state: 'Il' must be 2 capital letters",
        ),
        (
            payer_data(address={"line": "1 Main St", "city": "S", "state": "IL", "zip": 62701}),
            "field payer.address.zip: 62701 must be quoted text (5 or 9 digits)",
        ),
        (
            payer_data(contact={"name": "Claims"}),
            "field payer.contact: needs a phone or an email",
        ),
        (
            payer_data(contact={"name": "Claims", "phone": "800-555-1234"}),
            "field payer.contact.phone: '800-555-1234' must be 10 digits, no spaces or dashes",
        ),
        (
            payer_data(claim_filing_indicator="CI"),
            "field payer.claim_filing_indicator: 'CI' is not an X12 835 claim filing indicator",
        ),
        (payer_data(name="A*B"), "field payer.name: 'A*B' must be at most 60 characters"),
    ],
)
def test_bad_payer_blocks_name_the_field(payer: Any, message: str) -> None:
    with pytest.raises(PlanError) as caught:
        plan_from_dict(plan_with(payer), source="p.yaml")
    assert str(caught.value).startswith(f"p.yaml: {message}")


# -- the 835 passes pyx12 --------------------------------------------------------------------


def test_a_paid_claim_passes_pyx12() -> None:
    text = build_835(match(settlements([claim(1)]), rows(("REC-1", 9_500)))).text
    assert_valid_835(text)
    segs = segments_of(text)
    ids = [s[0] for s in segs]
    # The guide's order: header, payer loop (N1 N3 N4 REF PER), payee loop, claim, lines.
    assert ids[2:] == [
        "ST", "BPR", "TRN", "DTM", "N1", "N3", "N4", "REF", "PER", "N1", "REF", "LX",
        "CLP", "NM1", "DTM", "DTM", "SVC", "DTM", "CAS", "CAS", "AMT", "SE", "GE", "IEA",
    ]  # fmt: skip
    assert ["N1", "PR", "Silver Health Plan"] in segs
    assert ["N3", "1 Main St"] in segs and ["N4", "Springfield", "IL", "62701"] in segs
    assert ["REF", "2U", "SHP01"] in segs
    assert ["PER", "BL", "Claims Support", "TE", "8005551234"] in segs
    assert ["N1", "PE", "HOSP-A", "XX", "1234567893"] in segs
    # The patient: member id with MI, and no name (NM103-NM107 empty).
    assert ["NM1", "QC", "1", "", "", "", "", "", "MI", "M-0001"] in segs
    assert ["ST", "835", "0001"] in segs  # no ST03
    assert ["DTM", "232", "20260216"] in segs and ["DTM", "233", "20260216"] in segs


def test_a_short_paid_claim_passes_pyx12() -> None:
    # Claim A and the visit, expected 680.00 (all billed): paid 80.00 + 95.00 = 175.00.
    report = match(settlements([claim(2, (COPAY_VISIT, CLAIM_A))]), rows(("REC-2", 68_000)))
    assert report.records[0].result == "short_paid"
    text = build_835(report).text
    assert_valid_835(text)
    # Patient responsibility 25.00 (copay) + 200.00 (deductible) + 20.00 (coinsurance).
    assert claims_by_id(text)["2"][2:6] == ["1", "680.00", "175.00", "245.00"]


def test_denied_claims_pass_pyx12() -> None:
    claims = [
        claim(4, (denied_line("99213", 18_000, 27),), status="denied"),  # PR 27
        claim(5, (denied_line("99213", 18_000, 29),), status="denied"),  # CO 29
    ]
    text = build_835(match(settlements(claims), [])).text
    assert_valid_835(text)
    assert claims_by_id(text)["4"][2:6] == ["4", "180.00", "0.00", "180.00"]
    assert claims_by_id(text)["5"][2:6] == ["4", "180.00", "0.00", "0.00"]
    assert [s for s in segments_of(text) if s[0] == "BPR"][0][1:3] == ["H", "0.00"]


def reviewed(claim_id: int, approved: bool, tx: int, **reason: int) -> Any:
    return event(
        "ClaimReviewed",
        tx,
        0,
        claim_id=claim_id,
        plan_id=b"",
        adjudicator=ACCOUNT_B,
        approved=approved,
        **reason,
    )


def test_a_claim_denied_in_review_reads_denied_balances_and_passes_pyx12() -> None:
    # The copay visit sent to review (plan_paid 95.00) and denied: every line reads as
    # denied under 50, the whole billed 180.00, and nothing is paid. An engine whose
    # ClaimReviewed has no reason field denies with 50 too.
    events = [*submitted(1, ClaimStatus.PENDING_REVIEW, 9_500), reviewed(1, False, 2)]
    (denied,) = claims_from_events(group_claim_events(events), {ACCOUNT_A: "HOSP-A"})
    assert denied.status == "denied" and denied.review_reason == 50
    assert denied.lines == (denied_line("99213", 18_000, 50),)
    assert (denied.billed, denied.plan_paid, denied.adjustments) == (18_000, 0, ((50, 18_000),))
    report = match(settlements([denied]), rows(("REC-1", 9_500)))
    assert report.records[0].result == "denied"
    assert report.records[0].reasons == ("50: 180.00",)
    assert report.ok, report.checks  # it balances: 180.00 - 180.00 = 0.00
    text = build_835(report).text
    assert_valid_835(text)
    assert claims_by_id(text)["1"][2:6] == ["4", "180.00", "0.00", "0.00"]  # CO: not the patient's
    assert ["CAS", "CO", "50", "180.00"] in segments_of(text)


@pytest.mark.parametrize(("reason", "group"), [(16, "CO"), (96, "PR"), (197, "CO"), (204, "PR")])
def test_a_review_denial_carries_its_reason_code(reason: int, group: str) -> None:
    events = [
        *submitted(1, ClaimStatus.PENDING_REVIEW, 9_500),
        reviewed(1, False, 2, reason=reason),
    ]
    (denied,) = claims_from_events(group_claim_events(events), {ACCOUNT_A: "HOSP-A"})
    assert adjustment_group(reason) == group
    text = build_835(match(settlements([denied]), [])).text
    assert_valid_835(text)
    assert ["CAS", group, str(reason), "180.00"] in segments_of(text)


def test_an_approved_review_keeps_its_pricing() -> None:
    events = [*submitted(1, ClaimStatus.PENDING_REVIEW, 9_500), reviewed(1, True, 2, reason=0)]
    (approved,) = claims_from_events(group_claim_events(events), {ACCOUNT_A: "HOSP-A"})
    assert approved.review_reason is None and approved.lines == (COPAY_VISIT,)


def test_a_queued_then_paid_claim_passes_pyx12() -> None:
    events = [
        *submitted(1, ClaimStatus.QUEUED, 9_500, tx=1),
        event("ClaimQueued", 1, 2, claim_id=1, plan_id=b"", position=0, amount=9_500),
        paid_event(1, tx=7),
    ]
    (paid,) = claims_from_events(group_claim_events(events), {ACCOUNT_A: "HOSP-A"})
    assert paid.status == "paid" and paid.paid == 9_500
    report = match(settlements([paid]), rows(("REC-1", 9_500)))
    assert report.records[0].result == "matched"
    text = build_835(report).text
    assert_valid_835(text)
    assert claims_by_id(text)["1"][2:6] == ["1", "180.00", "95.00", "25.00"]


def test_a_broken_835_is_caught_by_the_validator() -> None:
    good = build_835(match(settlements([claim(1)]), [])).text
    assert validate_835(good) == (True, [])
    # The defects of the issue that asked for this: the patient's name loop dropped, CI as
    # the claim filing indicator, and the payer's address lines dropped.
    broken = (
        good.replace("NM1*QC*1******MI*M-0001~\n", "")
        .replace("*15*1~", "*CI*1~")
        .replace("N3*1 Main St~\n", "")
    )
    valid, messages = validate_835(broken)
    assert not valid
    text = "\n".join(messages)
    assert 'Mandatory segment "Patient Name" (NM1) missing' in text
    assert "(CI) is not a valid code for Claim Filing Indicator Code (CLP06)" in text
    assert 'Mandatory segment "Payer Address" (N3) missing' in text


# -- refusals: an 835 is never written without what it needs ---------------------------------


def test_no_payer_block_is_a_refusal() -> None:
    report = match(settlements([claim(1)], payer=None), [])
    with pytest.raises(ExportError) as caught:
        build_835(report)
    assert str(caught.value).startswith("plan SILVER-2027 has no payer block")
    assert "--plan-file PLAN.yaml" in (caught.value.hint or "")


def test_a_provider_without_npi_is_a_refusal() -> None:
    both = [claim(1), claim(7, provider="HOSP-B")]
    report = match(settlements(both, npis={"HOSP-A": "1234567893"}), [])
    with pytest.raises(ExportError) as caught:
        build_835(report)
    assert str(caught.value).startswith("provider HOSP-B has no NPI in plan SILVER-2027")
    assert caught.value.hint == (
        "register it with one: `claims provider add SILVER-2027 HOSP-B --account ALIAS --npi NPI`"
    )


def test_an_npi_that_fails_its_check_digit_is_a_refusal() -> None:
    report = match(settlements([claim(1)], npis={"HOSP-A": "1234567890"}), [])
    with pytest.raises(ExportError, match=r"the NPI of provider HOSP-A \(1234567890\) fails"):
        build_835(report)


def test_an_unknown_member_id_is_a_refusal() -> None:
    report = match(settlements([claim(1), claim(2)], member_ids={}), [])
    with pytest.raises(ExportError) as caught:
        build_835(report)
    assert str(caught.value).startswith("the member id of claim 1, 2 is not known here")


def test_nothing_to_remit_is_a_refusal() -> None:
    report = match(settlements([claim(5, status="queued")]), [])
    with pytest.raises(ExportError, match="has no paid or denied claims to remit"):
        build_835(report)


# -- provider credits ------------------------------------------------------------------------


def credit_event(claim_id: int, tx: int, amount: int = 9_500) -> Any:
    return event(
        "ProviderCredited",
        tx,
        3,
        plan_id=b"",
        provider_ref=text_to_bytes32("HOSP-A"),
        claim_id=claim_id,
        amount=amount,
    )


def credited_claim(claim_id: int, tx: int) -> Any:
    """A queued claim paid at settlement in transaction ``tx``, whose transfer the token
    refused: ClaimPaid, and ProviderCredited for the claim."""
    events = [*submitted(claim_id, ClaimStatus.QUEUED, 9_500, tx=1), paid_event(claim_id, tx)]
    claims = claims_from_events(group_claim_events(events), {ACCOUNT_A: "HOSP-A"})
    (found,) = apply_credits(claims, [credit_event(claim_id, tx)])
    return found


def test_a_batchs_refused_transfer_credits_each_claim_paid_in_it() -> None:
    # Two claims paid in one batch transaction (tx 5) and one refused transfer of 190.00:
    # ProviderCredited with claim id 0. Each claim is credited its own 95.00.
    events = [
        *submitted(1, ClaimStatus.PAID, 9_500, tx=5),
        paid_event(1, 5),
        *submitted(2, ClaimStatus.PAID, 9_500, tx=5),
        paid_event(2, 5, index=4),
    ]
    claims = claims_from_events(group_claim_events(events), {ACCOUNT_A: "HOSP-A"})
    credited = apply_credits(claims, [credit_event(0, 5, amount=19_000)])
    assert [c.credited for c in credited] == [9_500, 9_500]
    report = match(settlements(credited, []), [])
    assert report.ok and report.providers[0].credit_in_engine == 19_000
    # A batch credit that matches no set of payments credits nothing: the check shows it.
    unexplained = apply_credits(claims, [credit_event(0, 5, amount=100)])
    assert [c.credited for c in unexplained] == [0, 0]
    assert not match(settlements(unexplained, []), []).ok


def test_a_credited_claim_is_paid_and_the_totals_say_where_the_money_is() -> None:
    # Claim 1 paid by transfer (95.00); claim 2's transfer refused: credited 95.00 in the
    # engine, then the provider collected 95.00 to its payout (a Transfer in the collect
    # transaction). Paid 190.00 = transfers 95.00 + credited 95.00; collected 95.00 =
    # the collect's transfer; nothing left in the engine.
    paid = claim(1)
    credited = credited_claim(2, tx=9)
    assert (credited.status, credited.paid, credited.credited) == ("paid", 9_500, 9_500)
    collect_tx = (20).to_bytes(32, "big")
    transfers = [
        transfer_for(paid),
        TokenTransfer(collect_tx, 0, "0x" + "aa" * 20, 9_500 * SCALE),
    ]
    collection = CreditCollection("HOSP-A", "0x" + "aa" * 20, 9_500, collect_tx)
    report = match(
        settlements([paid, credited], transfers, collections=(collection,)),
        rows(("REC-1", 9_500), ("REC-2", 9_500)),
    )
    assert [r.result for r in report.records] == ["matched", "matched"]
    assert report.records[1].to_json()["credited"] == "95.00"
    (totals,) = report.providers
    assert (totals.paid, totals.credited, totals.collected, totals.credit_in_engine) == (
        19_000,
        9_500,
        9_500,
        0,
    )
    assert totals.transfers == 9_500 * SCALE and totals.collected_transfers == 9_500 * SCALE
    assert report.ok, report.checks
    assert "credited in the engine 95.00" in report.checks[2].detail
    text = build_835(report).text
    assert_valid_835(text)
    assert [s for s in segments_of(text) if s[0] == "BPR"][0][2] == "190.00"


def test_an_uncollected_credit_stays_in_the_engine() -> None:
    report = match(settlements([credited_claim(2, tx=9)], []), [])
    (totals,) = report.providers
    assert (totals.credited, totals.collected, totals.credit_in_engine) == (9_500, 0, 9_500)
    assert totals.to_json()["credit_in_engine"] == "95.00"
    assert report.ok, report.checks


def test_a_collect_without_its_transfer_fails_the_check() -> None:
    collect_tx = (20).to_bytes(32, "big")
    collection = CreditCollection("HOSP-A", "0x" + "aa" * 20, 9_500, collect_tx)
    report = match(settlements([credited_claim(2, tx=9)], [], collections=(collection,)), [])
    assert not report.ok
    assert report.checks[2].detail == (
        "HOSP-A: paid 95.00 (credited in the engine 95.00), transfers 0.00; "
        "collected 95.00, transfers 0.00"
    )


def test_settlements_helper_defaults_are_valid() -> None:
    # The shared helper's NPIs are real check-digit NPIs.
    report = match(settlements([claim(1), claim(7, provider="HOSP-B")]), [])
    assert all(is_valid_npi(n) for n in report.npis.values())
    assert report.payer == PAYER


def test_the_provider_comes_from_the_claims_provider_ref_when_the_engine_emits_it() -> None:
    # A second account of HOSP-A (unknown to the account map) sends the claim; the event's
    # provider_ref names the provider.
    events = submitted(1, ClaimStatus.PAID, 9_500)
    events[1].args["provider"] = ACCOUNT_B
    events[1].args["provider_ref"] = text_to_bytes32("HOSP-A")
    (found,) = claims_from_events(group_claim_events(events), {})
    assert found.provider_id == "HOSP-A" and found.provider_account == ACCOUNT_B
