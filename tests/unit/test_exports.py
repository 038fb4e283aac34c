"""The exports of a reconciliation report: the X12 835 (structure and balancing, read back
with a few lines of splitting, not the exporter's own code), the FHIR Bundle (validated with
the fhir.resources R4B models) and the CSV.

The claims are the spec's worked examples (see test_reconcile_core): the copay visit (billed
180.00, 45: 60.00, 3: 25.00, paid 95.00) and claim A (billed 500.00, 45: 200.00, 1: 200.00,
2: 20.00, paid 80.00).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.claimresponse import ClaimResponse
from fhir.resources.R4B.organization import Organization

from claimsengine.errors import ClaimsError
from claimsengine.exports import ExportError, render
from claimsengine.exports.csv import COLUMNS, report_csv
from claimsengine.exports.fhir import bundle, bundle_json, dumps
from claimsengine.exports.x12 import Segment, TransactionSet, build_835, check_835
from claimsengine.history import group_claim_events
from claimsengine.reconcile import ReconciliationReport, TokenTransfer, claims_from_events, match
from claimsengine.status import ClaimStatus
from tests.fhir_validator import assert_valid_bundle
from tests.unit.test_reconcile_core import (
    ACCOUNT_A,
    CLAIM_A,
    COPAY_VISIT,
    SCALE,
    claim,
    denied_line,
    priced,
    rows,
    settlements,
    submitted,
    transfer_for,
)
from tests.x12_validator import assert_valid_835

PRIOR_AUTH_MISSING = denied_line("27447", 4_625_000, 197)  # CO
NOT_COVERED = denied_line("J3490", 5_000, 96)  # PR


def sample_report(**changes: object) -> ReconciliationReport:
    """HOSP-A: claim 1 (copay visit, paid 95.00), claim 2 (visit + claim A, paid 175.00),
    claim 3 (visit + a line denied 197, paid 95.00), claim 4 (denied 27), claim 5 queued,
    claim 6 pending review. HOSP-B: claim 7 (claim A, paid 80.00), claim 8 (denied 96)."""
    claims = [
        claim(1),
        claim(2, (COPAY_VISIT, CLAIM_A)),
        claim(3, (COPAY_VISIT, PRIOR_AUTH_MISSING)),
        claim(4, (denied_line("99213", 18_000, 27),), status="denied"),
        claim(5, status="queued"),
        claim(6, status="pending_review"),
        claim(7, (CLAIM_A,), provider="HOSP-B"),
        claim(8, (NOT_COVERED,), provider="HOSP-B", status="denied"),
    ]
    ledger = rows(("REC-1", 9_500), ("REC-2", 20_000), ("REC-9", 100))
    return match(settlements(claims, **changes), ledger)  # type: ignore[arg-type]


def valid_835(report: ReconciliationReport, **options: Any) -> str:
    """The report's 835 text, after pyx12 found no error in it."""
    text = build_835(report, **options).text
    assert_valid_835(text)
    return text


def segments_of(text: str) -> list[list[str]]:
    return [s.strip().split("*") for s in text.split("~") if s.strip()]


def cents(amount: str) -> int:
    assert re.fullmatch(r"[0-9]+\.[0-9]{2}", amount), amount
    whole, part = amount.split(".")
    return int(whole) * 100 + int(part)


# -- X12 835 --------------------------------------------------------------------------------


def test_835_envelope_and_segment_counts() -> None:
    text = valid_835(sample_report())
    assert text.startswith("ISA*00*          *00*          *ZZ*CLAIMSENGINE   *ZZ*SILVER-2027    *")
    assert len(text.split("~")[0]) + 1 == 106  # ISA is fixed width
    segs = segments_of(text)
    ids = [s[0] for s in segs]
    assert ids[:2] == ["ISA", "GS"] and ids[-2:] == ["GE", "IEA"]
    assert segs[1][1] == "HP" and segs[1][-1] == "005010X221A1"
    starts = [i for i, s in enumerate(segs) if s[0] == "ST"]
    ends = [i for i, s in enumerate(segs) if s[0] == "SE"]
    assert len(starts) == len(ends) == 2  # one transaction set per provider
    for start, end in zip(starts, ends, strict=True):
        assert segs[start][1:] == ["835", segs[end][2]]  # no ST03: the guide marks it not used
        assert int(segs[end][1]) == end - start + 1  # SE01 counts ST through SE
    assert segs[-2][1:] == ["2", "1"]  # GE: 2 transaction sets, group control 1
    assert segs[-1][1:] == ["1", "000000001"]  # IEA: 1 group, the ISA control number
    assert segs[0][13] == "000000001"


def test_835_balances_line_by_line_claim_by_claim_and_in_total() -> None:
    report = sample_report()
    segs = segments_of(valid_835(report))
    transfers = {p.provider_id: p.transfers for p in report.providers}
    payee = None
    bpr_total = clp_total = 0
    claim_charge = claim_paid = claim_cut = 0
    line_charge = line_paid = line_cut = None

    def close_line() -> None:
        if line_charge is not None:
            assert line_charge - line_cut == line_paid

    def close_claim() -> None:
        if claim_charge:
            assert claim_charge - claim_cut == claim_paid

    for seg in segs:
        if seg[0] == "ST":
            bpr_total = clp_total = 0
        elif seg[0] == "BPR":
            bpr_total = cents(seg[2])
        elif seg[0] == "N1" and seg[1] == "PE":
            payee = seg[2]
        elif seg[0] == "CLP":
            close_line()
            close_claim()
            line_charge = None
            claim_charge, claim_paid, claim_cut = cents(seg[3]), cents(seg[4]), 0
            clp_total += claim_paid
        elif seg[0] == "SVC":
            close_line()
            line_charge, line_paid, line_cut = cents(seg[2]), cents(seg[3]), 0
        elif seg[0] == "CAS":
            amounts = [cents(seg[i]) for i in range(3, len(seg), 3)]
            line_cut = (line_cut or 0) + sum(amounts)
            claim_cut += sum(amounts)
        elif seg[0] == "SE":
            close_line()
            close_claim()
            line_charge, claim_charge = None, 0
            assert clp_total == bpr_total  # Σ CLP04 = BPR02
            assert bpr_total * SCALE == transfers[payee]  # = the token transfers
    # HOSP-A: 95.00 + 175.00 + 95.00 = 365.00; HOSP-B: 80.00.
    assert [cents(s[2]) for s in segs if s[0] == "BPR"] == [36_500, 8_000]


def test_835_claims_status_and_adjustment_groups() -> None:
    segs = segments_of(valid_835(sample_report()))
    clp = {s[7]: s for s in segs if s[0] == "CLP"}
    # Queued (5) and pending (6) claims are not remitted yet.
    assert sorted(clp, key=int) == ["1", "2", "3", "4", "7", "8"]
    # CLP: record id, status, charge, paid, patient responsibility, filing indicator (the
    # default 15, indemnity insurance), claim id.
    assert clp["1"] == ["CLP", "REC-1", "1", "180.00", "95.00", "25.00", "15", "1"]
    assert clp["4"][2:6] == ["4", "180.00", "0.00", "180.00"]  # denied 27: PR
    assert clp["3"][2:6] == ["1", "46430.00", "95.00", "25.00"]  # 197 is the provider's (CO)
    assert clp["8"][2:6] == ["4", "50.00", "0.00", "50.00"]  # 96: PR
    cas = [s for s in segs if s[0] == "CAS"]
    assert ["CAS", "CO", "45", "60.00"] in cas and ["CAS", "PR", "3", "25.00"] in cas
    assert ["CAS", "CO", "197", "46250.00"] in cas
    # Claim A's line: PR 1 and 2 in one CAS, in the spec's order, quantity left empty.
    assert ["CAS", "PR", "1", "200.00", "", "2", "20.00"] in cas
    svc = [s for s in segs if s[0] == "SVC"]
    assert ["SVC", "HC:99213", "180.00", "95.00", "", "1"] in svc
    assert ["SVC", "ER:X", "500.00", "80.00", "", "1"] in svc  # not a CPT-shaped code
    assert ["AMT", "B6", "120.00"] in segs  # allowed amount
    assert ["N1", "PE", "HOSP-A", "XX", "1234567893"] in segs
    assert ["REF", "PQ", "0x" + "aa" * 20] in segs


def test_835_is_deterministic_and_takes_a_creation_time() -> None:
    report = sample_report()
    assert valid_835(report) == valid_835(report)
    when = datetime(2027, 7, 2, 9, 30)
    segs = segments_of(valid_835(report, created=when, control_number=42, usage="T"))
    assert segs[0][9:11] == ["270702", "0930"] and segs[0][13] == "000000042"
    assert segs[0][15] == "T"
    assert segs[1][4:7] == ["20270702", "0930", "42"]


def test_835_replaces_delimiters_in_ids() -> None:
    report = sample_report()
    odd = {c.commitment: "R*1~x:y^z" for c in report.claims}
    segs = segments_of(valid_835(dataclasses.replace(report, record_ids=odd)))
    assert [s[1] for s in segs if s[0] == "CLP"][0] == "R-1-x-y-z"


def test_835_without_record_ids_names_claims_by_id() -> None:
    report = dataclasses.replace(sample_report(), record_ids={})
    assert [s[1] for s in segments_of(valid_835(report)) if s[0] == "CLP"][0] == "CLAIM-1"


def test_835_with_nothing_paid_is_a_notification() -> None:
    report = match(settlements([claim(4, (denied_line("99213", 100, 27),), status="denied")]), [])
    segs = segments_of(valid_835(report))
    assert [s for s in segs if s[0] == "BPR"][0][1:5] == ["H", "0.00", "C", "NON"]


def test_835_is_refused_when_payments_and_transfers_differ() -> None:
    paid = claim(1)
    report = match(settlements([paid], [transfer_for(paid, units=90 * 100 * SCALE)]), [])
    with pytest.raises(ExportError, match="BPR02 95.00 != what the payee received"):
        build_835(report)


def test_835_is_refused_when_a_line_does_not_balance() -> None:
    broken = dataclasses.replace(COPAY_VISIT, plan_paid=9_000)
    report = match(settlements([claim(1, (broken,))]), [])
    with pytest.raises(ExportError, match="line 1: charge 180.00 - adjustments 85.00 != paid"):
        build_835(report)


def test_835_self_check_catches_a_wrong_segment_count() -> None:
    body = [
        Segment("ST", ("835", "0001")),
        Segment("BPR", ("H", "0.00")),
        Segment("SE", ("3", "0001")),  # there are 3: right
    ]
    good = TransactionSet("0001", "HOSP-A", 0, 0, SCALE, [], body)
    envelope = [Segment("GE", ("1", "1")), Segment("IEA", ("1", "1"))]
    head = [Segment("ISA", ("x" * 101,)), Segment("GS", ("HP",))]
    assert check_835([good], [*head, *body, *envelope]) == []
    body[-1] = Segment("SE", ("4", "0001"))
    bad = TransactionSet("0001", "HOSP-A", 0, 0, SCALE, [], body)
    assert check_835([bad], [*head, *body, *envelope]) == ["ST 0001 (HOSP-A): SE01 4, but it has 3"]


def test_835_amounts_have_two_decimals() -> None:
    for seg in segments_of(valid_835(sample_report())):
        if seg[0] in ("CLP",):
            assert all(re.fullmatch(r"[0-9]+\.[0-9]{2}", v) for v in seg[3:6])
        if seg[0] in ("SVC", "BPR"):
            assert re.fullmatch(r"[0-9]+\.[0-9]{2}", seg[2])


# -- FHIR ------------------------------------------------------------------------------------


def test_fhir_bundle_validates_and_its_references_resolve() -> None:
    data = assert_valid_bundle(bundle_json(sample_report()))
    assert data["type"] == "collection"
    kinds = [e["resource"]["resourceType"] for e in data["entry"]]
    assert kinds.count("ClaimResponse") == 8 and kinds.count("ExplanationOfBenefit") == 8
    assert kinds.count("PaymentReconciliation") == 2
    # The payer and the two providers; one patient (every sample claim has one pseudonym)
    # and its coverage.
    assert kinds.count("Organization") == 3
    assert kinds.count("Patient") == 1 and kinds.count("Coverage") == 1


def test_fhir_payer_and_providers_are_organizations() -> None:
    data = assert_valid_bundle(bundle_json(sample_report()))
    resources = {e["fullUrl"]: e["resource"] for e in data["entry"]}
    payer = Organization.model_validate(next(r for r in resources.values() if r["id"] == "payer"))
    assert payer.name == "Silver Health Plan"
    assert [(i.system, i.value) for i in payer.identifier] == [
        ("urn:claimsengine:plan", "SILVER-2027"),
        ("urn:claimsengine:payer", "SHP01"),
    ]
    (address,) = payer.address
    assert (address.line, address.city, address.state, address.postalCode) == (
        ["1 Main St"], "Springfield", "IL", "62701"
    )  # fmt: skip
    assert payer.contact[0].name.text == "Claims Support"
    assert payer.telecom[0].value == "8005551234"
    hosp_a = resources[
        next(r["provider"]["reference"] for r in resources.values()
             if r["resourceType"] == "ExplanationOfBenefit")
    ]  # fmt: skip
    assert hosp_a["name"] == "HOSP-A"
    assert hosp_a["identifier"][0] == {
        "system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"
    }  # fmt: skip
    for resource in resources.values():
        if resource["resourceType"] in ("ClaimResponse", "ExplanationOfBenefit"):
            assert resources[resource["insurer"]["reference"]]["id"] == "payer"
        if resource["resourceType"] == "PaymentReconciliation":
            assert resources[resource["paymentIssuer"]["reference"]]["id"] == "payer"


def test_fhir_without_a_payer_block_names_the_plan() -> None:
    report = dataclasses.replace(sample_report(), payer=None, npis={})
    data = assert_valid_bundle(bundle_json(report))
    payer = next(e["resource"] for e in data["entry"] if e["resource"]["id"] == "payer")
    assert payer["name"] == "SILVER-2027" and "address" not in payer
    providers = [
        e["resource"] for e in data["entry"] if e["resource"]["id"].startswith("provider-")
    ]
    assert [p["identifier"] for p in providers] == [
        [{"system": "urn:claimsengine:provider", "value": "HOSP-A"}],
        [{"system": "urn:claimsengine:provider", "value": "HOSP-B"}],
    ]


def test_fhir_marks_a_review_denial_denied() -> None:
    from tests.unit.test_remittance import reviewed

    events = [*submitted(1, ClaimStatus.PENDING_REVIEW, 9_500), reviewed(1, False, 2)]
    (denied,) = claims_from_events(group_claim_events(events), {ACCOUNT_A: "HOSP-A"})
    data = assert_valid_bundle(bundle_json(match(settlements([denied]), [])))
    response = ClaimResponse.model_validate(
        next(
            e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == "ClaimResponse"
        )
    )
    assert response.outcome == "complete"
    assert response.disposition == "denied in review (reason 50)"
    entries = {
        (a.category.coding[0].code, a.reason.coding[0].code if a.reason else None): a.amount.value
        for a in response.item[0].adjudication
    }
    assert entries == {
        ("submitted", None): Decimal("180.00"),
        ("eligible", None): Decimal("0.00"),
        ("CO", "50"): Decimal("180.00"),
        ("benefit", None): Decimal("0.00"),
    }


def test_fhir_amounts_balance_and_round_trip() -> None:
    report = sample_report()
    parsed = Bundle.model_validate_json(bundle_json(report))
    responses = {
        r.identifier[0].value: r
        for r in (e.resource for e in parsed.entry)
        if r.__resource_type__ == "ClaimResponse"
    }
    visit = responses["1"]
    assert visit.outcome == "complete" and visit.payment.amount.value == Decimal("95.00")
    assert [(i.system, i.value) for i in visit.identifier] == [
        ("urn:claimsengine:claim", "1"),
        ("urn:claimsengine:record", "REC-1"),
    ]
    item = visit.item[0]
    by_category = {}
    cut = Decimal(0)
    for adjudication in item.adjudication:
        code = adjudication.category.coding[0].code
        if adjudication.reason is not None:
            cut += adjudication.amount.value
            by_category[adjudication.reason.coding[0].code] = (code, adjudication.amount.value)
        else:
            by_category[code] = adjudication.amount.value
    assert by_category["45"] == ("CO", Decimal("60.00"))
    assert by_category["3"] == ("PR", Decimal("25.00"))
    assert by_category["submitted"] - cut == by_category["benefit"] == Decimal("95.00")
    assert responses["6"].outcome == "queued" and responses["6"].payment is None
    assert responses["5"].outcome == "complete" and responses["5"].payment is None

    payments = {
        r.id: r
        for r in (e.resource for e in parsed.entry)
        if r.__resource_type__ == "PaymentReconciliation"
    }
    hosp_a = payments["payments-HOSP-A"]
    assert hosp_a.paymentAmount.value == Decimal("365.00")
    assert sum(d.amount.value for d in hosp_a.detail) == Decimal("365.00")
    assert {d.response.reference for d in hosp_a.detail} <= {e.fullUrl for e in parsed.entry}


def test_fhir_carries_no_member_id_only_the_pseudonym() -> None:
    data = bundle(sample_report())
    (patient,) = [
        e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == "Patient"
    ]
    assert patient == {
        "resourceType": "Patient",
        "id": "patient-1",
        "identifier": [{"system": "urn:claimsengine:member-pseudonym", "value": "0x" + "01" * 32}],
    }
    assert "M-0001" not in bundle_json(sample_report())  # the member id never appears


def test_fhir_numbers_are_exact_decimals() -> None:
    text = bundle_json(sample_report())
    assert '"value": 95.00,' in text and '"value": 46250.00,' in text
    assert dumps({"a": [Decimal("0.10"), 1, "x", True, None, {}, []]}, indent=1) == (
        '{\n "a": [\n  0.10,\n  1,\n  "x",\n  true,\n  null,\n  {},\n  []\n ]\n}'
    )


def test_fhir_is_deterministic() -> None:
    assert bundle_json(sample_report()) == bundle_json(sample_report())


# -- CSV and the format switch -------------------------------------------------------------


def test_csv_rows() -> None:
    report = sample_report()
    parsed = list(csv.DictReader(io.StringIO(report_csv(report))))
    assert tuple(parsed[0]) == COLUMNS
    first = {r["record_id"]: r for r in parsed}
    assert first["REC-1"] == {
        "record_id": "REC-1",
        "result": "matched",
        "expected_paid": "95.00",
        "plan_paid": "95.00",
        "paid": "95.00",
        "difference": "0.00",
        "reasons": "",
        "claim_id": "1",
        "status": "paid",
        "provider_id": "HOSP-A",
        "ledger_line": "2",
    }
    assert first["REC-2"]["result"] == "short_paid"  # 175.00 paid, 200.00 expected
    assert first["REC-2"]["difference"] == "-25.00"
    assert first["REC-9"]["result"] == "not_on_chain" and first["REC-9"]["paid"] == ""
    assert first["REC-3"]["result"] == "not_in_ledger" and first["REC-3"]["expected_paid"] == ""
    assert first["REC-3"]["reasons"] == "45: 60.00, 3: 25.00, 197: 46250.00"


def test_csv_quotes_ids_with_commas() -> None:
    report = match(settlements([claim(1)], record_ids={1: 'A,"1"'}), rows(('A,"1"', 9_500)))
    (row,) = list(csv.DictReader(io.StringIO(report_csv(report))))
    assert row["record_id"] == 'A,"1"' and row["result"] == "matched"


def test_render_switches_formats() -> None:
    report = sample_report()
    assert json.loads(render(report, "json")) == report.to_json()
    assert render(report, "csv") == report_csv(report)
    assert render(report, "x12-835") == valid_835(report)
    assert render(report, "fhir") == bundle_json(report)
    with pytest.raises(ClaimsError, match="unknown export format"):
        render(report, "pdf")


def test_transfer_units_that_are_not_whole_cents_show_every_digit() -> None:
    paid = claim(1)
    odd = TokenTransfer(paid.paid_tx or b"", 1, paid.payee or "", 9_500 * SCALE + 1)
    report = match(settlements([paid], [odd]), [])
    assert report.providers[0].to_json()["transfers"] == "95.000001"
    assert not report.ok


def test_priced_helper_matches_the_spec_examples() -> None:
    # The copay example and claim A, as the spec's worked examples give them.
    assert COPAY_VISIT.adjustments == ((45, 6_000), (3, 2_500)) and COPAY_VISIT.plan_paid == 9_500
    assert CLAIM_A.adjustments == ((45, 20_000), (1, 20_000), (2, 2_000))
    assert CLAIM_A.plan_paid == 8_000
    assert priced("Z", 100, 100).adjustments == ()
