"""FHIR R4 Claims and Bundles -> treatment records (docs/fhir-mapping.md).

Real input: the two Synthea Bundles in fixtures/synthea (README beside them gives the
counts asserted here). Hand-made input: fixtures/fhir and small Claims built below.
"""

from __future__ import annotations

import copy
import json
import time
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.claim import Claim
from hypothesis import given, settings
from hypothesis import strategies as st

from claimsengine.privacy import member_pseudonym, new_plan_key, new_salt, record_commitment
from claimsengine.records import (
    RecordLine,
    TreatmentRecord,
    dump_json,
    load_json_text,
    load_paths,
    load_records,
)
from claimsengine.records.fhir_input import (
    PLAN_SYSTEM,
    PROVIDER_SYSTEM,
    claim_to_record,
    read_bundle,
    record_to_fhir_claim,
)

ROOT = Path(__file__).resolve().parents[2]
SYNTHEA = ROOT / "fixtures" / "synthea"
MELINDA = SYNTHEA / "Melinda114_Thiel172_d1376fd1-810a-3a17-b510-3a1b4cd399b2.json"
BENNETT = SYNTHEA / "Bennett146_Swaniawski813_704c9750-f6e6-473b-ee83-fbd48e07fe3f.json"
FIXTURES = ROOT / "fixtures"
DEFAULTS = {"default_plan": "SILVER-2027", "default_provider": "HOSP-A"}


def raw_claims(path: Path) -> list[tuple[int, dict[str, Any]]]:
    bundle = load_json_text(path.read_text("utf-8"))
    return [
        (n, e["resource"])
        for n, e in enumerate(bundle["entry"])
        if e["resource"]["resourceType"] == "Claim"
    ]


def claim_type(claim: dict[str, Any]) -> str:
    return str(claim["type"]["coding"][0]["code"])


# --------------------------------------------------------------------------------------------
# Synthea
# --------------------------------------------------------------------------------------------

SYNTHEA_CASES = [
    # file, Claims, records, priced lines, rejections by Claim type, patient uuid, name
    (
        MELINDA,
        30,
        22,
        85,
        {"pharmacy": 5, "institutional": 3},
        "d1376fd1-810a-3a17-b510-3a1b4cd399b2",
        "Melinda114 Thiel172",
        "1996-01-27",
    ),
    (
        BENNETT,
        19,
        7,
        39,
        {"pharmacy": 2, "institutional": 10},
        "704c9750-f6e6-473b-ee83-fbd48e07fe3f",
        "Bennett146 Swaniawski813",
        "1983-10-04",
    ),
]


@pytest.mark.parametrize(
    ("path", "claims", "records", "lines", "rejected_by_type", "patient", "name", "born"),
    SYNTHEA_CASES,
    ids=["Melinda", "Bennett"],
)
def test_synthea_bundle_gives_the_exact_split(
    path: Path,
    claims: int,
    records: int,
    lines: int,
    rejected_by_type: dict[str, int],
    patient: str,
    name: str,
    born: str,
) -> None:
    result = load_records(path, **DEFAULTS)
    by_entry = dict(raw_claims(path))
    print(f"\n{path.name}: {len(result.records)} records, {len(result.rejected)} rejected")
    for rejected in result.rejected:
        print(f"  rejected ({claim_type(rejected.raw)}): {rejected.error}")

    assert len(by_entry) == claims
    # Every Claim is accounted for: a record or a rejection, never both, never neither.
    assert len(result.records) + len(result.rejected) == claims
    positions = [s.index for s in result.records] + [r.index or 0 for r in result.rejected]
    assert sorted(positions) == sorted(by_entry)
    assert len(result.records) == records
    assert sum(len(s.record.lines) for s in result.records) == lines
    assert result.repeated == []

    # The rejections: Claims with no priced item (pharmacy Claims price only Claim.total).
    assert Counter(claim_type(r.raw) for r in result.rejected) == rejected_by_type
    for rejected in result.rejected:
        assert rejected.error.field == "item"
        assert rejected.record_id == rejected.raw["id"]
        assert str(rejected.error).startswith(f"{path}: record {rejected.raw['id']}: field item: ")
        assert "no priced items" in rejected.error.message
        assert not any("net" in item or "unitPrice" in item for item in rejected.raw["item"])
        if claim_type(rejected.raw) == "pharmacy":
            assert "pharmacy" in rejected.error.message

    for sourced in result.records:
        record, claim = sourced.record, by_entry[sourced.index]
        priced = [item for item in claim["item"] if "net" in item]
        assert record.record_id == claim["id"]
        assert record.member_id == patient
        assert (record.plan_id, record.provider_id) == ("SILVER-2027", "HOSP-A")
        # The date as written in +10:00, never the UTC date.
        assert record.service_date.isoformat() == claim["billablePeriod"]["start"][:10]
        assert [line.code for line in record.lines] == [
            item["productOrService"]["coding"][0]["code"] for item in priced
        ]
        assert [line.billed for line in record.lines] == [
            int(Decimal(item["net"]["value"]) * 100) for item in priced
        ]
        assert all(line.units == 1 for line in record.lines)
        assert record.patient == {"name": name, "birth_date": born}
        assert record.prior_auth is None


def test_synthea_dates_are_not_converted_to_utc() -> None:
    result = load_records(MELINDA, **DEFAULTS)
    first = min(result.records, key=lambda s: s.record.service_date)
    # 2013-03-16T08:38:05+10:00 is 2013-03-15 in UTC.
    assert first.record.service_date == date(2013, 3, 16)
    raw = load_json_text(MELINDA.read_text())["entry"][first.index]["resource"]
    assert raw["billablePeriod"]["start"] == "2013-03-16T08:38:05+10:00"
    rejected_first = next(r for r in result.rejected if r.raw["id"].startswith("680bde3a"))
    assert rejected_first.raw["billablePeriod"]["start"] == "2012-01-16T08:38:05+10:00"


def test_synthea_total_with_a_float_artefact_does_not_matter() -> None:
    result = load_records(MELINDA, **DEFAULTS)
    record = next(
        s.record
        for s in result.records
        if s.record.record_id == "e08af8de-357d-be81-cd80-ce1b6c2dbaef"
    )
    # Claim.total is 786.3299999999999; the lines are read instead.
    assert [(line.code, line.billed) for line in record.lines] == [
        ("140", 14052),
        ("710841007", 51665),
        ("171207006", 51665),
        ("715252007", 3754),
    ]


def test_synthea_diagnoses_come_from_the_referenced_conditions() -> None:
    result = load_records(BENNETT, **DEFAULTS)
    record = next(
        s.record
        for s in result.records
        if s.record.record_id == "0f7ba636-c7d9-a624-686e-f8fd574d01e3"
    )
    assert record.diagnoses == ("160904001", "73595000")
    assert record.service_date == date(2014, 12, 16)
    assert len(record.lines) == 13


def test_synthea_without_defaults_says_what_to_pass() -> None:
    no_plan = load_paths([SYNTHEA])
    assert len(no_plan.records) == 0 and len(no_plan.rejected) == 49
    assert {r.error.field for r in no_plan.rejected} == {"insurance"}
    assert {r.error.hint for r in no_plan.rejected} == {"pass a default plan (--plan)"}

    no_provider = load_paths([SYNTHEA], default_plan="SILVER-2027")
    fields = Counter(r.error.field for r in no_provider.rejected)
    assert fields == {"provider": 29, "item": 20}
    bennett = next(
        r for r in no_provider.rejected if r.file == BENNETT and r.error.field == "provider"
    )
    # The conditional reference Organization?identifier=...|<uuid> gives the uuid, which is
    # too long for a bytes32 provider reference.
    organization = bennett.raw["provider"]["reference"].rsplit("|", 1)[1]
    assert bennett.error.message.startswith(f"'{organization}' is not a provider id")
    assert bennett.error.hint == "pass a default provider (--provider)"


def test_synthea_bundles_load_fast() -> None:
    load_records(BENNETT, **DEFAULTS)  # warm the model classes
    # CPU time, not the wall clock: other processes on a busy machine do not count.
    started = time.process_time()
    for path in (MELINDA, BENNETT):
        load_records(path, **DEFAULTS)
    assert time.process_time() - started < 3.0


def test_synthea_names_never_reach_the_chain_side() -> None:
    """What goes on-chain: the pseudonym, codes, units, amounts, the day and the commitment."""
    key, salt = new_plan_key(), new_salt()
    for sourced in load_records(MELINDA, **DEFAULTS).records:
        record = sourced.record
        onchain = b"".join(
            [
                member_pseudonym(key, 0, record.member_id),
                record_commitment(salt, record),
                record.service_day.to_bytes(8, "big"),
                record.plan_id.encode(),
            ]
            + [
                line.code.encode() + line.units.to_bytes(4, "big") + line.billed.to_bytes(16, "big")
                for line in record.lines
            ]
        )
        for secret in (
            "Melinda114",
            "Thiel172",
            "1996-01-27",
            record.member_id,
            record.record_id,
            *record.diagnoses,
        ):
            assert secret.encode() not in onchain, secret


# --------------------------------------------------------------------------------------------
# Hand-made fixtures
# --------------------------------------------------------------------------------------------


def test_fixture_bundles() -> None:
    result = load_paths([FIXTURES / "fhir"], **DEFAULTS)
    assert result.rejected == []
    by_id = {s.record.record_id: s.record for s in result.records}
    assert sorted(by_id) == [
        "HOSP-A-2027-000401",
        "HOSP-A-2027-000402",
        "HOSP-B-2027-000301",
        "HOSP-B-2027-000302",
    ]

    visit = by_id["HOSP-A-2027-000401"]  # unitPrice, items' servicedDate, no billablePeriod
    assert (visit.member_id, visit.provider_id, visit.plan_id) == (
        "M-0005",
        "HOSP-A",
        "SILVER-2027",
    )
    assert visit.service_date == date(2027, 3, 18)
    assert visit.lines == (RecordLine("99213", 1, 18000), RecordLine("71046", 1, 9500))
    assert by_id["HOSP-A-2027-000402"].lines == (RecordLine("80053", 2, 6250),)

    # The engine's own identifiers win over the defaults; encounter line skipped.
    checkup = by_id["HOSP-B-2027-000301"]
    assert (checkup.member_id, checkup.provider_id) == ("M-0004", "HOSP-B")
    assert checkup.lines == (RecordLine("99213", 1, 17500), RecordLine("80053", 1, 6250))
    assert checkup.diagnoses == ("I10",)
    assert checkup.patient == {"name": "Dana Example", "birth_date": "1975-09-02"}
    # 23:30+10:00 is still the 5th, though it is the 5th 13:30 in UTC.
    assert by_id["HOSP-B-2027-000302"].service_date == date(2027, 4, 5)


def test_fixture_bundle_needs_the_plan_default() -> None:
    result = load_records(FIXTURES / "fhir" / "hosp-a-bundle.json")
    assert [r.error.field for r in result.rejected] == ["insurance", "insurance"]
    assert str(result.rejected[0].error).startswith(
        f"{FIXTURES / 'fhir' / 'hosp-a-bundle.json'}: record HOSP-A-2027-000401: field insurance:"
    )


# --------------------------------------------------------------------------------------------
# Single Claims: each mapping rule and each refusal
# --------------------------------------------------------------------------------------------


def claim(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "resourceType": "Claim",
        "id": "claim-1",
        "status": "active",
        "type": {"coding": [{"code": "institutional"}]},
        "use": "claim",
        "patient": {"reference": "urn:uuid:4b1c9d2e-0000-4000-8000-000000000001"},
        "billablePeriod": {"start": "2027-03-14T23:59:00-05:00"},
        "created": "2027-03-15",
        "provider": {"display": "Hospital A"},
        "priority": {"coding": [{"code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"display": "Silver"}}],
        "item": [
            {
                "sequence": 1,
                "productOrService": {"coding": [{"code": "99213"}]},
                "net": {"value": Decimal("180.00"), "currency": "USD"},
            },
            {"sequence": 2, "productOrService": {"coding": [{"code": "185349003"}]}},
            {
                "sequence": 3,
                "productOrService": {"coding": [{"code": "71046"}]},
                "quantity": {"value": Decimal("2")},
                "unitPrice": {"value": Decimal("47.50")},
            },
        ],
    }
    base.update(changes)
    return base


def item_change(position: int, **changes: Any) -> list[dict[str, Any]]:
    items = copy.deepcopy(claim()["item"])
    items[position].update(changes)
    return items


def load_claim(tmp_path: Path, resource: dict[str, Any], **defaults: str) -> Any:
    path = tmp_path / "claim.json"
    path.write_text(dump_json(resource), "utf-8")
    return path, load_records(path, **defaults)


def test_a_claim_file_maps_to_one_record(tmp_path: Path) -> None:
    _, result = load_claim(tmp_path, claim(), **DEFAULTS)
    [sourced] = result.records
    record = sourced.record
    assert record.record_id == "claim-1"
    assert record.member_id == "4b1c9d2e-0000-4000-8000-000000000001"
    assert record.service_date == date(2027, 3, 14)
    assert record.lines == (RecordLine("99213", 1, 18000), RecordLine("71046", 2, 9500))
    assert record.patient is None and record.diagnoses == ()


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"identifier": [{"value": "HOSP-A-9"}]}, "HOSP-A-9"),
        ({"identifier": [{"system": "x"}]}, "claim-1"),
    ],
)
def test_record_id_prefers_the_identifier(
    tmp_path: Path, changes: dict[str, Any], expected: str
) -> None:
    _, result = load_claim(tmp_path, claim(**changes), **DEFAULTS)
    assert result.records[0].record.record_id == expected


def test_record_id_falls_back_to_the_fullurl_uuid() -> None:
    resource = claim()
    del resource["id"]
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": "urn:uuid:9f0e", "resource": resource}],
    }
    [outcome] = read_bundle(bundle, **DEFAULTS)
    assert outcome.record is not None and outcome.record.record_id == "9f0e"


@pytest.mark.parametrize(
    ("reference", "member"),
    [
        ({"reference": "Patient/M-0001"}, "M-0001"),
        ({"reference": "https://fhir.example/r4/Patient/M-0002/_history/3"}, "M-0002"),
        ({"reference": "Patient?identifier=https://hosp.example/mrn|M-0003"}, "M-0003"),
        ({"identifier": {"system": "https://hosp.example/mrn", "value": "M-0004"}}, "M-0004"),
        (
            {
                "reference": "Patient/x",
                "identifier": {"system": "urn:claimsengine:member", "value": "M 0005"},
            },
            "M 0005",
        ),
    ],
)
def test_member_id_is_the_referenced_patient(
    tmp_path: Path, reference: dict[str, Any], member: str
) -> None:
    _, result = load_claim(tmp_path, claim(patient=reference), **DEFAULTS)
    assert result.records[0].record.member_id == member


@pytest.mark.parametrize(
    ("provider", "defaults", "expected"),
    [
        ({"identifier": {"system": PROVIDER_SYSTEM, "value": "HOSP-B"}}, DEFAULTS, "HOSP-B"),
        ({"identifier": {"system": "https://npi", "value": "1234567890"}}, DEFAULTS, "HOSP-A"),
        (
            {"identifier": {"system": "https://npi", "value": "1234567890"}},
            {"default_plan": "SILVER-2027"},
            "1234567890",
        ),
        (
            {"reference": "Organization?identifier=https://npi|998877"},
            {"default_plan": "SILVER-2027"},
            "998877",
        ),
        (
            {"reference": "Organization/org-7", "display": "Hospital Seven"},
            {"default_plan": "SILVER-2027"},
            "org-7",
        ),
    ],
)
def test_provider_id_rules(
    tmp_path: Path, provider: dict[str, Any], defaults: dict[str, str], expected: str
) -> None:
    _, result = load_claim(tmp_path, claim(provider=provider), **defaults)
    assert result.records[0].record.provider_id == expected


def test_plan_from_the_engine_system_beats_the_default(tmp_path: Path) -> None:
    insurance = [
        {
            "sequence": 1,
            "focal": True,
            "coverage": {"identifier": {"system": PLAN_SYSTEM, "value": "GOLD-2027"}},
        }
    ]
    _, result = load_claim(tmp_path, claim(insurance=insurance), **DEFAULTS)
    assert result.records[0].record.plan_id == "GOLD-2027"


def test_prior_auth_comes_from_pre_auth_ref(tmp_path: Path) -> None:
    insurance = [
        {"sequence": 1, "focal": True, "coverage": {"display": "A"}},
        {
            "sequence": 2,
            "focal": False,
            "coverage": {"display": "B"},
            "preAuthRef": ["PA-77", "PA-78"],
        },
    ]
    _, result = load_claim(tmp_path, claim(insurance=insurance), **DEFAULTS)
    assert result.records[0].record.prior_auth == "PA-77"


def test_coded_diagnoses_are_kept(tmp_path: Path) -> None:
    diagnosis = [
        {"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"code": "J20.9"}]}},
        {"sequence": 2, "diagnosisCodeableConcept": {"text": "Cough"}},
        {"sequence": 3, "diagnosisReference": {"reference": "Condition/elsewhere"}},
    ]
    _, result = load_claim(tmp_path, claim(diagnosis=diagnosis), **DEFAULTS)
    assert result.records[0].record.diagnoses == ("J20.9", "Cough")


def test_service_date_falls_back_to_the_items(tmp_path: Path) -> None:
    items = item_change(0, servicedDate="2027-03-02")
    items[2]["servicedPeriod"] = {"start": "2027-03-02T10:00:00+10:00"}
    resource = claim(item=items)
    del resource["billablePeriod"]
    _, result = load_claim(tmp_path, resource, **DEFAULTS)
    assert result.records[0].record.service_date == date(2027, 3, 2)


BAD_CLAIMS: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "float artefact",
        {"item": item_change(0, net={"value": Decimal("28.104000000000003")})},
        "item[0].net",
        "28.104000000000003 has more than 2 decimals",
    ),
    (
        "3 decimals",
        {"item": item_change(0, net={"value": Decimal("180.125")})},
        "item[0].net",
        "more than 2 decimals",
    ),
    (
        "negative net",
        {"item": item_change(0, net={"value": Decimal("-10.00")})},
        "item[0].net",
        "negative",
    ),
    (
        "unit price decimals",
        {"item": item_change(2, unitPrice={"value": Decimal("47.505")})},
        "item[2].unitPrice",
        "more than 2 decimals",
    ),
    (
        "currency",
        {"item": item_change(0, net={"value": Decimal("10"), "currency": "EUR"})},
        "item[0].net.currency",
        "EUR",
    ),
    (
        "no value",
        {"item": item_change(0, net={"currency": "USD"})},
        "item[0].net.value",
        "no value",
    ),
    (
        "fractional quantity",
        {"item": item_change(2, quantity={"value": Decimal("1.5")})},
        "item[2].quantity.value",
        "whole number",
    ),
    (
        "zero quantity",
        {"item": item_change(2, quantity={"value": Decimal("0")})},
        "item[2].quantity.value",
        "at least 1",
    ),
    ("factor", {"item": item_change(2, factor=Decimal("0.5"))}, "item[2].factor", "factor"),
    (
        "no code",
        {"item": item_change(0, productOrService={"text": "visit"})},
        "item[0].productOrService.coding",
        "no code",
    ),
    (
        "long code",
        {"item": item_change(0, productOrService={"coding": [{"code": "9" * 40}]})},
        "item[0].productOrService.coding[0].code",
        "not a service code",
    ),
    (
        "no priced item",
        {"item": [{"sequence": 1, "productOrService": {"text": "visit"}}]},
        "item",
        "no priced items",
    ),
    ("partial date", {"billablePeriod": {"start": "2027-03"}}, "billablePeriod.start", "full date"),
    ("not a patient", {"patient": {"reference": "Group/g1"}}, "patient.reference", "Patient"),
    (
        "contained patient",
        {"patient": {"reference": "#p1"}},
        "patient.reference",
        "cannot read a Patient id",
    ),
    ("no patient", {"patient": {"display": "Ada"}}, "patient", "which Patient"),
    ("cancelled", {"status": "cancelled"}, "status", "active"),
    ("preauthorization", {"use": "preauthorization"}, "use", "preauthorization"),
    ("missing priority", {"priority": None}, "priority", "missing"),
    ("unknown element", {"colour": "blue"}, "colour", "not an element"),
    (
        "bad element",
        {"item": item_change(0, sequence="first")},
        "item[0].sequence",
        "not valid FHIR",
    ),
]


@pytest.mark.parametrize(
    ("changes", "field", "words"), [c[1:] for c in BAD_CLAIMS], ids=[c[0] for c in BAD_CLAIMS]
)
def test_a_bad_claim_is_rejected_naming_file_record_and_element(
    tmp_path: Path, changes: dict[str, Any], field: str, words: str
) -> None:
    resource = claim(**changes)
    for key in [k for k, v in changes.items() if v is None]:
        del resource[key]
    path, result = load_claim(tmp_path, resource, **DEFAULTS)
    assert result.records == []
    [rejected] = result.rejected
    assert (rejected.error.file, rejected.error.record, rejected.error.field) == (
        str(path),
        "claim-1",
        field,
    )
    assert str(rejected.error).startswith(f"{path}: record claim-1: field {field}: ")
    assert words in rejected.error.message
    assert rejected.raw["id"] == "claim-1"


def test_items_on_different_days_without_a_billable_period_are_rejected(tmp_path: Path) -> None:
    items = item_change(0, servicedDate="2027-03-02")
    items[2]["servicedDate"] = "2027-03-03"
    resource = claim(item=items)
    del resource["billablePeriod"]
    path, result = load_claim(tmp_path, resource, **DEFAULTS)
    [rejected] = result.rejected
    assert rejected.error.field == "item[2].servicedDate"
    assert "item[0].servicedDate, item[2].servicedDate" in rejected.error.message


def test_a_claim_with_no_date_at_all_is_rejected(tmp_path: Path) -> None:
    resource = claim()
    del resource["billablePeriod"]
    _, result = load_claim(tmp_path, resource, **DEFAULTS)
    assert result.rejected[0].error.field == "billablePeriod.start"


def test_a_bad_claim_in_a_bundle_never_stops_the_others(tmp_path: Path) -> None:
    bad = claim(id="claim-2", item=item_change(0, net={"value": Decimal("1.001")}))
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": "urn:uuid:p", "resource": {"resourceType": "Patient", "id": "p"}},
            {"resource": claim()},
            {"resource": bad},
            {"resource": claim(id="claim-3")},
        ],
    }
    path = tmp_path / "bundle.json"
    path.write_text(dump_json(bundle), "utf-8")
    result = load_records(path, **DEFAULTS)
    assert [(s.index, s.record.record_id) for s in result.records] == [
        (1, "claim-1"),
        (3, "claim-3"),
    ]
    [rejected] = result.rejected
    assert (rejected.index, rejected.record_id, rejected.error.field) == (
        2,
        "claim-2",
        "item[0].net",
    )


def test_a_claim_without_any_id_is_named_by_its_entry(tmp_path: Path) -> None:
    resource = claim()
    del resource["id"]
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": {"resourceType": "Patient"}}, {"resource": resource}],
    }
    path = tmp_path / "bundle.json"
    path.write_text(dump_json(bundle), "utf-8")
    [rejected] = load_records(path, **DEFAULTS).rejected
    assert str(rejected.error).startswith(f"{path}: record #1: field identifier: ")


def test_a_bundle_without_claims_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "bundle.json"
    path.write_text(
        json.dumps(
            {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": {"resourceType": "Patient", "id": "p"}}],
            }
        ),
        "utf-8",
    )
    [rejected] = load_records(path, **DEFAULTS).rejected
    assert rejected.error.field == "entry" and "no Claim" in rejected.error.message


def test_claims_in_json_lines_are_read(tmp_path: Path) -> None:
    path = tmp_path / "Claim.ndjson"
    lines = [claim(id=f"c-{n}") for n in range(3)]
    path.write_text("\n".join(dump_json(c).replace("\n", "") for c in lines), "utf-8")
    result = load_records(path, **DEFAULTS)
    assert [s.record.record_id for s in result.records] == ["c-0", "c-1", "c-2"]


# --------------------------------------------------------------------------------------------
# Record -> FHIR Claim -> record
# --------------------------------------------------------------------------------------------


def test_fixture_records_round_trip_through_fhir() -> None:
    for sourced in load_paths([FIXTURES / "records"]).records:
        record = sourced.record
        resource = record_to_fhir_claim(record)
        Claim.model_validate(resource)  # a valid FHIR Claim
        reread = claim_to_record(load_json_text(dump_json(resource)))
        assert reread == record
        assert reread.canonical_bytes() == record.canonical_bytes()


ids = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=32)
names = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40)


@st.composite
def records(draw: st.DrawFn) -> TreatmentRecord:
    lines = draw(
        st.lists(
            st.builds(
                RecordLine, code=ids, units=st.integers(1, 1000), billed=st.integers(0, 10**12)
            ),
            min_size=1,
            max_size=5,
        )
    )
    extra = draw(
        st.dictionaries(
            st.sampled_from(["encounter", "ward", "weight"]),
            st.one_of(
                names, st.integers(), st.decimals(allow_nan=False, allow_infinity=False, places=3)
            ),
            max_size=2,
        )
    )
    return TreatmentRecord(
        record_id=draw(names.filter(lambda s: bool(s.strip()) and not s.startswith("#"))),
        plan_id=draw(st.from_regex(r"[A-Za-z0-9._-]{1,32}", fullmatch=True)),
        member_id=draw(names.filter(str.strip)),
        provider_id=draw(ids),
        service_date=draw(st.dates(date(1990, 1, 1), date(2099, 12, 31))),
        prior_auth=draw(st.none() | names.filter(str.strip)),
        diagnoses=tuple(draw(st.lists(ids, max_size=3))),
        lines=tuple(lines),
        patient=draw(st.none() | st.fixed_dictionaries({"name": names})),
        extra=extra,
    )


@settings(max_examples=150, deadline=None)
@given(records())
def test_any_record_round_trips_through_fhir(record: TreatmentRecord) -> None:
    resource = record_to_fhir_claim(record)
    reread = claim_to_record(load_json_text(dump_json(resource)))
    assert reread == record
    assert reread.canonical_bytes() == record.canonical_bytes()
