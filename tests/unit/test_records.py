"""Treatment records: formats, validation, canonical bytes, duplicates, context, quarantine.

Every validation error kind has a test that the message names the file, the record and the
field (formats.md: "Bad input gets an error that names the file, the record and the field").
"""

from __future__ import annotations

import copy
import json
import stat
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claimsengine.errors import InputError, RecordError
from claimsengine.records import (
    LoadResult,
    RecordLine,
    RejectedRecord,
    SourcedRecord,
    TreatmentRecord,
    canonical_json,
    check_context,
    dump_json,
    find_duplicates,
    load_json_text,
    load_paths,
    load_records,
    quarantine,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def good(**changes: Any) -> dict[str, Any]:
    """A valid record as JSON; keyword arguments replace (or, with None, delete) keys."""
    record: dict[str, Any] = {
        "record_id": "HOSP-A-2027-000123",
        "plan_id": "SILVER-2027",
        "member_id": "M-0001",
        "provider_id": "HOSP-A",
        "service_date": "2027-03-14",
        "prior_auth": None,
        "diagnoses": ["J20.9"],
        "lines": [
            {"code": "99213", "units": 1, "billed": "180.00"},
            {"code": "71046", "units": 1, "billed": "95.00"},
        ],
        "patient": {"name": "Ada Example"},
    }
    for key, value in changes.items():
        if value is _DELETE:
            record.pop(key, None)
        else:
            record[key] = value
    return record


_DELETE = object()


def write(tmp_path: Path, name: str, content: Any) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), "utf-8")
    return path


def only_rejection(path: Path, **defaults: str) -> RejectedRecord:
    result = load_records(path, **defaults)
    assert len(result.rejected) == 1, [str(r.error) for r in result.rejected]
    return result.rejected[0]


# --------------------------------------------------------------------------------------------
# Formats
# --------------------------------------------------------------------------------------------


def test_a_single_record_file_loads(tmp_path: Path) -> None:
    result = load_records(write(tmp_path, "one.json", good()))
    assert result.rejected == []
    [sourced] = result.records
    record = sourced.record
    assert (sourced.file, sourced.index) == (tmp_path / "one.json", 0)
    assert record.record_id == "HOSP-A-2027-000123"
    assert record.service_date == date(2027, 3, 14)
    assert record.service_day == 20891
    assert record.lines == (RecordLine("99213", 1, 18000), RecordLine("71046", 1, 9500))
    assert record.billed_total == 27500
    assert record.diagnoses == ("J20.9",)
    assert record.patient == {"name": "Ada Example"}


def test_an_array_file_loads_every_record_with_its_index(tmp_path: Path) -> None:
    records = [good(record_id=f"R-{n}") for n in range(3)]
    result = load_records(write(tmp_path, "many.json", records))
    assert [(s.index, s.record.record_id) for s in result.records] == [
        (0, "R-0"),
        (1, "R-1"),
        (2, "R-2"),
    ]


def test_json_lines_load_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    text = "\n".join(json.dumps(good(record_id=f"R-{n}")) for n in range(3))
    path = write(tmp_path, "batch.jsonl", text.replace("\n", "\n\n", 1) + "\n")
    result = load_records(path)
    assert [s.record.record_id for s in result.records] == ["R-0", "R-1", "R-2"]
    assert result.rejected == []


def test_json_lines_are_detected_in_a_json_file_too(tmp_path: Path) -> None:
    text = "\n".join(json.dumps(good(record_id=f"R-{n}")) for n in range(2))
    result = load_records(write(tmp_path, "batch.json", text))
    assert [s.record.record_id for s in result.records] == ["R-0", "R-1"]


def test_a_bad_json_line_is_one_rejection_and_the_others_load(tmp_path: Path) -> None:
    lines = [
        json.dumps(good(record_id="R-0")),
        '{"record_id": "R-1", oops',
        json.dumps(good(record_id="R-2")),
    ]
    path = write(tmp_path, "batch.ndjson", "\n".join(lines))
    result = load_records(path)
    assert [s.record.record_id for s in result.records] == ["R-0", "R-2"]
    [bad] = result.rejected
    assert bad.index == 1 and bad.raw == lines[1]
    assert str(bad.error).startswith(f"{path}: record #1: line 2 is not JSON")


def test_the_fixture_folder_loads_every_format() -> None:
    result = load_paths([FIXTURES / "records"])
    assert result.rejected == []
    files = sorted({s.file.name for s in result.records})
    assert files == [
        "hosp-a-2027-02-office-visit.json",
        "hosp-a-2027-batch.json",
        "hosp-b-2027.jsonl",
    ]
    assert len(result.records) == 9
    ids = {s.record.member_id for s in result.records}
    assert ids == {f"M-000{n}" for n in range(1, 7)}
    knee = next(s.record for s in result.records if s.record.record_id == "HOSP-A-2027-000104")
    assert knee.prior_auth == "PA-2027-0042" and knee.lines == (RecordLine("27447", 1, 4850000),)


def test_a_bad_record_never_stops_the_good_ones_in_its_file() -> None:
    path = FIXTURES / "records-bad" / "hosp-a-2027-mixed.json"
    result = load_records(path)
    assert [(s.index, s.record.record_id) for s in result.records] == [
        (0, "HOSP-A-2027-000901"),
        (5, "HOSP-A-2027-000906"),
    ]
    found = [(r.index, r.record_id, r.error.field) for r in result.rejected]
    assert found == [
        (1, "HOSP-A-2027-000902", "lines[1].billed"),
        (2, "HOSP-A-2027-000903", "service_date"),
        (3, "HOSP-A-2027-000904", "lines[0].units"),
        (4, None, "record_id"),
    ]
    for rejected in result.rejected:
        assert str(rejected.error).startswith(f"{path}: record ")


def test_unknown_keys_are_kept_as_extra_and_committed(tmp_path: Path) -> None:
    raw = good(encounter_type="outpatient", weight_kg=Decimal("71.50"))
    raw["lines"][0]["description"] = "office visit"  # unknown line key: ignored
    [sourced] = load_records(write(tmp_path, "r.json", dump_json(raw))).records
    record = sourced.record
    assert record.extra == {"encounter_type": "outpatient", "weight_kg": Decimal("71.50")}
    assert record.to_json()["weight_kg"] == Decimal("71.50")
    assert b'"weight_kg":71.50' in record.canonical_bytes()
    assert b"description" not in record.canonical_bytes()


def test_json_numbers_for_amounts_are_read_exactly(tmp_path: Path) -> None:
    raw = good()
    text = json.dumps(raw).replace('"180.00"', "180.5").replace('"95.00"', "95")
    [sourced] = load_records(write(tmp_path, "r.json", text)).records
    assert [line.billed for line in sourced.record.lines] == [18050, 9500]


def test_defaults_fill_missing_plan_and_provider_but_never_override(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "r.json",
        [good(plan_id=_DELETE, provider_id=_DELETE), good(record_id="R-2", plan_id="GOLD-2027")],
    )
    result = load_records(path, default_plan="SILVER-2027", default_provider="HOSP-B")
    first, second = (s.record for s in result.records)
    assert (first.plan_id, first.provider_id) == ("SILVER-2027", "HOSP-B")
    assert (second.plan_id, second.provider_id) == ("GOLD-2027", "HOSP-A")


# --------------------------------------------------------------------------------------------
# Validation: every kind names the file, the record and the field
# --------------------------------------------------------------------------------------------

BAD_RECORDS: list[tuple[str, dict[str, Any], str, str]] = [
    # (case, changes to the good record, field, words in the message)
    ("missing plan", {"plan_id": _DELETE}, "plan_id", "missing; add it to the record or pass"),
    ("missing member", {"member_id": _DELETE}, "member_id", "missing"),
    ("missing provider", {"provider_id": _DELETE}, "provider_id", "--provider"),
    ("missing date", {"service_date": _DELETE}, "service_date", "missing"),
    ("missing lines", {"lines": _DELETE}, "lines", "missing"),
    ("not ISO date", {"service_date": "03/14/2027"}, "service_date", "YYYY-MM-DD"),
    ("no such day", {"service_date": "2027-02-30"}, "service_date", "not a calendar date"),
    ("date and time", {"service_date": "2027-03-14T10:00:00"}, "service_date", "YYYY-MM-DD"),
    ("date as number", {"service_date": 20270314}, "service_date", "expected a date"),
    ("bad plan id", {"plan_id": "SILVER 2027"}, "plan_id", "not a plan id"),
    ("long plan id", {"plan_id": "P" * 33}, "plan_id", "not a plan id"),
    ("member not string", {"member_id": 1}, "member_id", "expected a string"),
    ("empty member", {"member_id": "  "}, "member_id", "is empty"),
    ("control char", {"member_id": "M-\x000001"}, "member_id", "control character"),
    ("long provider", {"provider_id": "H" * 33}, "provider_id", "not a provider id"),
    ("prior auth number", {"prior_auth": 42}, "prior_auth", "expected a string"),
    ("diagnoses not list", {"diagnoses": "J20.9"}, "diagnoses", "expected an array"),
    ("diagnosis not string", {"diagnoses": ["J20.9", 7]}, "diagnoses[1]", "diagnosis code"),
    ("lines not list", {"lines": {"code": "99213"}}, "lines", "expected an array"),
    ("empty lines", {"lines": []}, "lines", "no lines"),
    ("patient not object", {"patient": "Ada"}, "patient", "expected an object"),
]

BAD_LINES: list[tuple[str, Any, str, str]] = [
    # (case, the second line, field, words in the message)
    ("line not object", "99213", "lines[1]", "expected a line object"),
    ("missing code", {"units": 1, "billed": "1.00"}, "lines[1].code", "missing"),
    ("missing units", {"code": "99213", "billed": "1.00"}, "lines[1].units", "missing"),
    ("missing billed", {"code": "99213", "units": 1}, "lines[1].billed", "missing"),
    (
        "3 decimals",
        {"code": "X", "units": 1, "billed": "95.125"},
        "lines[1].billed",
        "more than 2 decimals",
    ),
    (
        "3 decimal number",
        {"code": "X", "units": 1, "billed": Decimal("28.104000000000003")},
        "lines[1].billed",
        "not a whole number of cents",
    ),
    ("negative", {"code": "X", "units": 1, "billed": "-5.00"}, "lines[1].billed", "negative"),
    ("not amount", {"code": "X", "units": 1, "billed": "abc"}, "lines[1].billed", "not a number"),
    (
        "bool amount",
        {"code": "X", "units": 1, "billed": True},
        "lines[1].billed",
        "expected an amount",
    ),
    ("zero units", {"code": "X", "units": 0, "billed": "1.00"}, "lines[1].units", "at least 1"),
    (
        "negative units",
        {"code": "X", "units": -2, "billed": "1.00"},
        "lines[1].units",
        "at least 1",
    ),
    (
        "fractional units",
        {"code": "X", "units": Decimal("1.5"), "billed": "1.00"},
        "lines[1].units",
        "whole number",
    ),
    (
        "float-like units",
        {"code": "X", "units": Decimal("1.0"), "billed": "1.00"},
        "lines[1].units",
        "whole number",
    ),
    (
        "string units",
        {"code": "X", "units": "1", "billed": "1.00"},
        "lines[1].units",
        "whole number",
    ),
    (
        "bool units",
        {"code": "X", "units": True, "billed": "1.00"},
        "lines[1].units",
        "whole number",
    ),
    (
        "empty code",
        {"code": "", "units": 1, "billed": "1.00"},
        "lines[1].code",
        "not a service code",
    ),
    (
        "long code",
        {"code": "9" * 33, "units": 1, "billed": "1.00"},
        "lines[1].code",
        "not a service code",
    ),
    (
        "non-ASCII code",
        {"code": "9921\u00e9", "units": 1, "billed": "1.00"},
        "lines[1].code",
        "not a service code",
    ),
    (
        "code with space",
        {"code": "992 13", "units": 1, "billed": "1.00"},
        "lines[1].code",
        "not a service code",
    ),
    (
        "code not string",
        {"code": 99213, "units": 1, "billed": "1.00"},
        "lines[1].code",
        "expected a code as a string",
    ),
    # Past what the engine keeps (32-bit units, 43-bit cents): named here, not left to the
    # chain's bare "claims: invalid claim".
    (
        "units past 32 bits",
        {"code": "X", "units": 2**32, "billed": "1.00"},
        "lines[1].units",
        "units must be at most 4294967295, got 4294967296",
    ),
    (
        "billed past 43 bits",
        {"code": "X", "units": 1, "billed": "87960930222.08"},
        "lines[1].billed",
        "billed must be at most 87960930222.07, got 87960930222.08",
    ),
]


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [case[1:] for case in BAD_RECORDS],
    ids=[c[0] for c in BAD_RECORDS],
)
def test_a_bad_field_is_named_with_file_and_record(
    tmp_path: Path, changes: dict[str, Any], field: str, words: str
) -> None:
    path = write(tmp_path, "bad.json", dump_json([good(record_id="OK-1"), good(**changes)]))
    result = load_records(path)
    assert [s.record.record_id for s in result.records] == ["OK-1"]
    [rejected] = result.rejected
    assert rejected.error.file == str(path)
    assert rejected.error.record == "HOSP-A-2027-000123"
    assert rejected.error.field == field
    assert str(rejected.error).startswith(f"{path}: record HOSP-A-2027-000123: field {field}: ")
    assert words in str(rejected.error)
    assert rejected.index == 1 and rejected.record_id == "HOSP-A-2027-000123"


@pytest.mark.parametrize(
    ("line", "field", "words"), [case[1:] for case in BAD_LINES], ids=[c[0] for c in BAD_LINES]
)
def test_a_bad_line_is_named_with_its_index(
    tmp_path: Path, line: Any, field: str, words: str
) -> None:
    raw = good()
    raw["lines"][1] = line
    rejected = only_rejection(write(tmp_path, "bad.json", dump_json(raw)))
    assert (rejected.error.file, rejected.error.record, rejected.error.field) == (
        str(tmp_path / "bad.json"),
        "HOSP-A-2027-000123",
        field,
    )
    assert str(rejected.error).startswith(
        f"{tmp_path / 'bad.json'}: record HOSP-A-2027-000123: field {field}: "
    )
    assert words in rejected.error.message


@pytest.mark.parametrize("record_id", [None, 12, "", "x" * 129, "#1"])
def test_a_record_without_a_usable_id_is_named_by_its_index(tmp_path: Path, record_id: Any) -> None:
    path = write(tmp_path, "bad.json", [good(record_id="OK"), good(record_id=record_id)])
    rejected = only_rejection(path)
    assert rejected.error.record == "#1" and rejected.error.field == "record_id"
    assert str(rejected.error).startswith(f"{path}: record #1: field record_id: ")
    assert rejected.record_id is None


def test_an_array_element_that_is_not_an_object_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.json", [good(), 42])
    rejected = only_rejection(path)
    assert str(rejected.error) == (
        f"{path}: record #1: expected a treatment record (a JSON object), got a number 42"
    )


def test_a_non_claim_fhir_resource_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.json", [good(), {"resourceType": "Patient", "id": "p"}])
    rejected = only_rejection(path)
    assert rejected.error.field == "resourceType" and "FHIR Patient" in rejected.error.message


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("this is not JSON at all\nnor this\n", "not JSON"),
        ('[\n{"record_id": "A"},\n{"record_id": "B", oops},\n{"record_id": "C"}\n]', "not JSON"),
        ('"a string"\n"another"\n', "not JSON"),
        ('{"record_id": "HOSP-A-1", "lines": [\n', "not JSON"),
        ('{"billed": NaN}', "not JSON"),
        ("42", "got a number 42"),
        ("", "the file is empty"),
        (" \n", "the file is empty"),
    ],
)
def test_a_file_that_is_not_json_is_one_rejection_naming_the_file(
    tmp_path: Path, content: str, words: str
) -> None:
    path = write(tmp_path, "junk.json", content)
    result = load_records(path)
    assert result.records == []
    [rejected] = result.rejected
    assert rejected.index is None and rejected.record_id is None
    assert rejected.error.file == str(path) and rejected.error.record is None
    assert str(rejected.error).startswith(f"{path}: ")
    assert words in str(rejected.error)
    assert rejected.raw == content


def test_a_file_that_is_not_utf8_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"member_id": "M\xe9"}')
    rejected = only_rejection(path)
    assert rejected.index is None and "not UTF-8" in str(rejected.error)


def test_an_empty_json_lines_file_is_reported(tmp_path: Path) -> None:
    rejected = only_rejection(write(tmp_path, "empty.jsonl", "\n\n"))
    assert "the file is empty" in str(rejected.error)


def test_a_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(good()).encode())
    assert len(load_records(path).records) == 1


def test_constructing_a_record_validates_it() -> None:
    record = TreatmentRecord.from_json(load_json_text(json.dumps(good())))
    with pytest.raises(RecordError) as caught:
        TreatmentRecord(**{**record.__dict__, "lines": (RecordLine("99213", 0, 100),)})
    assert str(caught.value).startswith("record HOSP-A-2027-000123: field lines[0].units: ")
    with pytest.raises(RecordError, match="floats are not allowed"):
        TreatmentRecord(**{**record.__dict__, "extra": {"weight": 71.5}})
    with pytest.raises(RecordError, match="clashes"):
        TreatmentRecord(**{**record.__dict__, "extra": {"lines": []}})


# --------------------------------------------------------------------------------------------
# JSON shape and canonical bytes
# --------------------------------------------------------------------------------------------


def test_to_json_is_the_formats_md_shape() -> None:
    record = TreatmentRecord.from_json(load_json_text(json.dumps(good())))
    assert record.to_json() == {
        "record_id": "HOSP-A-2027-000123",
        "plan_id": "SILVER-2027",
        "member_id": "M-0001",
        "provider_id": "HOSP-A",
        "service_date": "2027-03-14",
        "prior_auth": None,
        "diagnoses": ["J20.9"],
        "lines": [
            {"code": "99213", "units": 1, "billed": "180.00"},
            {"code": "71046", "units": 1, "billed": "95.00"},
        ],
        "patient": {"name": "Ada Example"},
    }
    assert TreatmentRecord.from_json(record.to_json()) == record


def test_canonical_bytes_are_sorted_compact_utf8() -> None:
    record = TreatmentRecord.from_json(good(patient={"name": "Zoë", "age": 40}, diagnoses=[]))
    assert record.canonical_bytes() == (
        b'{"diagnoses":[],"lines":[{"billed":"180.00","code":"99213","units":1},'
        b'{"billed":"95.00","code":"71046","units":1}],"member_id":"M-0001",'
        b'"patient":{"age":40,"name":"Zo\xc3\xab"},"plan_id":"SILVER-2027",'
        b'"prior_auth":null,"provider_id":"HOSP-A","record_id":"HOSP-A-2027-000123",'
        b'"service_date":"2027-03-14"}'
    )


def test_canonical_bytes_do_not_depend_on_key_order_or_spacing(tmp_path: Path) -> None:
    raw = good()
    shuffled = dict(reversed(list(raw.items())))
    shuffled["lines"] = [dict(reversed(list(line.items()))) for line in raw["lines"]]
    a = load_records(write(tmp_path, "a.json", json.dumps(raw))).records[0].record
    b = load_records(write(tmp_path, "b.json", json.dumps(shuffled, indent=4))).records[0].record
    assert a.canonical_bytes() == b.canonical_bytes()
    assert a == b and hash(a) == hash(b)


def test_equal_amounts_written_differently_are_the_same_record(tmp_path: Path) -> None:
    a = TreatmentRecord.from_json(good())
    raw = good()
    raw["lines"][0]["billed"] = "180"
    assert TreatmentRecord.from_json(raw).canonical_bytes() == a.canonical_bytes()


def test_canonical_json_refuses_floats_and_keeps_decimals() -> None:
    assert canonical_json({"b": Decimal("1.10"), "a": [1, None, True]}) == (
        b'{"a":[1,null,true],"b":1.10}'
    )
    with pytest.raises(TypeError):
        canonical_json({"a": 1.1})
    assert load_json_text(dump_json({"x": Decimal("28.104000000000003")})) == {
        "x": Decimal("28.104000000000003")
    }


_JSON_LEAVES = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
_JSON_VALUES = st.recursive(
    _JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(value=_JSON_VALUES)
def test_canonical_and_readable_json_are_the_standard_library_s(value: Any) -> None:
    # Without Decimals, the canonical form is json.dumps with sorted keys and no spaces
    # (any text, escapes and non-ASCII included), and dump_json its indented form.
    assert canonical_json(value) == json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")
    assert (
        dump_json(value) == json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    )


# --------------------------------------------------------------------------------------------
# Folders
# --------------------------------------------------------------------------------------------


def test_load_paths_walks_folders_sorted_and_skips_other_files(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / ".hidden").mkdir()
    write(tmp_path, "b.json", good(record_id="B"))
    write(tmp_path, "a.jsonl", json.dumps(good(record_id="A")))
    write(tmp_path / "sub", "c.ndjson", json.dumps(good(record_id="C")))
    write(tmp_path, "notes.txt", "not a record")
    write(tmp_path / ".hidden", "h.json", good(record_id="H"))
    result = load_paths([tmp_path])
    assert [s.record.record_id for s in result.records] == ["A", "B", "C"]
    assert result.rejected == []


def test_load_paths_reads_a_named_file_once_whatever_its_suffix(tmp_path: Path) -> None:
    path = write(tmp_path, "records.txt", good())
    result = load_paths([path, tmp_path / "records.txt"])
    assert len(result.records) == 1 and result.repeated == []


def test_load_paths_refuses_a_missing_path(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        load_paths([tmp_path / "nope"])
    assert str(caught.value) == f"{tmp_path / 'nope'}: no such file or folder"


# --------------------------------------------------------------------------------------------
# Duplicates and context
# --------------------------------------------------------------------------------------------


def test_the_identical_record_twice_is_kept_once(tmp_path: Path) -> None:
    write(tmp_path, "a.json", good())
    write(tmp_path, "b.json", dict(reversed(list(good().items()))))
    result = load_paths([tmp_path])
    assert [s.file.name for s in result.records] == ["a.json"]
    assert [s.file.name for s in result.repeated] == ["b.json"]
    assert result.rejected == []


def test_a_different_record_under_a_used_id_names_both_versions(tmp_path: Path) -> None:
    write(tmp_path, "a.json", [good(record_id="OTHER"), good()])
    changed = good()
    changed["lines"][0]["billed"] = "181.00"
    write(tmp_path, "b.json", changed)
    result = load_paths([tmp_path])
    assert [(s.file.name, s.index) for s in result.records] == [("a.json", 0), ("a.json", 1)]
    [rejected] = result.rejected
    error = rejected.error
    assert (error.file, error.record, error.field) == (
        str(tmp_path / "b.json"),
        "HOSP-A-2027-000123",
        "record_id",
    )
    assert f"{tmp_path / 'a.json'} #1" in str(error)
    assert f"{tmp_path / 'b.json'} #0" in str(error)
    assert rejected.raw == TreatmentRecord.from_json(changed).to_json()


def test_the_same_record_id_at_two_providers_is_no_duplicate() -> None:
    a = TreatmentRecord.from_json(good())
    b = TreatmentRecord.from_json(good(provider_id="HOSP-B"))
    result = find_duplicates([SourcedRecord(Path("x"), 0, a), SourcedRecord(Path("x"), 1, b)])
    assert len(result.records) == 2 and result.rejected == []


def sourced(**changes: Any) -> SourcedRecord:
    return SourcedRecord(Path("in.json"), 0, TreatmentRecord.from_json(good(**changes)))


def test_check_context_rejects_an_unknown_plan() -> None:
    result = check_context([sourced(plan_id="GOLD-2027")], {"SILVER-2027"}, lambda p, m, d: True)
    [rejected] = result.rejected
    assert str(rejected.error) == (
        "in.json: record HOSP-A-2027-000123: field plan_id: plan 'GOLD-2027' is not on the chain"
    )
    # The hint names a command that exists (cli.md): `claims deploy PLAN.yaml`.
    assert (
        rejected.error.hint
        == "check the plan id, or deploy the plan first (`claims deploy PLAN.yaml`)"
    )


def test_check_context_rejects_an_unknown_member() -> None:
    asked: list[tuple[str, str, int]] = []

    def known(plan_id: str, member_id: str, service_day: int) -> bool:
        asked.append((plan_id, member_id, service_day))
        return member_id == "M-0001"

    result = check_context(
        [sourced(), sourced(record_id="R-2", member_id="M-0099")], {"SILVER-2027"}, known
    )
    assert [s.record.record_id for s in result.records] == ["HOSP-A-2027-000123"]
    [rejected] = result.rejected
    assert str(rejected.error) == (
        "in.json: record R-2: field member_id: member 'M-0099' is not enrolled in plan "
        "'SILVER-2027' in the benefit period of 2027-03-14"
    )
    assert rejected.error.hint is not None and "claims renew SILVER-2027" in rejected.error.hint
    # The service day (2027-03-14 is day 20891) picks the benefit period, and the pseudonym.
    assert asked == [("SILVER-2027", "M-0001", 20891), ("SILVER-2027", "M-0099", 20891)]


def test_check_context_leaves_a_record_dated_after_today_to_the_date_check() -> None:
    # adjudication.md checks the service date (4) before the enrolment (5): a record from
    # after today is not called "not enrolled", whatever its period, and is left to the
    # submission's date check. Up to today, the enrolment is checked as before.
    asked: list[int] = []

    def nobody(plan_id: str, member_id: str, service_day: int) -> bool:
        asked.append(service_day)
        return False

    today = 20891  # 2027-03-14
    result = check_context(
        [sourced(record_id="LATER", service_date="2027-03-15"), sourced(record_id="TODAY")],
        {"SILVER-2027"},
        nobody,
        today=today,
    )
    assert [s.record.record_id for s in result.records] == ["LATER"]
    assert [(r.record_id, r.error.field) for r in result.rejected] == [("TODAY", "member_id")]
    assert asked == [today]


def test_check_context_keeps_earlier_rejections_and_finds_duplicates(tmp_path: Path) -> None:
    loaded = load_records(FIXTURES / "records-bad" / "hosp-a-2027-mixed.json")
    changed = TreatmentRecord.from_json(
        {**loaded.records[0].record.to_json(), "diagnoses": ["J21.9"]}
    )
    loaded.records.append(SourcedRecord(Path("late.json"), 0, changed))
    result = check_context(loaded, {"SILVER-2027"}, lambda p, m, d: True)
    assert len(result.records) == 2
    assert len(result.rejected) == 5
    assert result.rejected[-1].error.field == "record_id"


# --------------------------------------------------------------------------------------------
# Quarantine
# --------------------------------------------------------------------------------------------


def test_quarantine_writes_each_record_and_its_error(tmp_path: Path) -> None:
    result = load_records(FIXTURES / "records-bad" / "hosp-a-2027-mixed.json")
    written = quarantine(result.rejected, tmp_path / "q")
    assert [p.name for p in written] == [
        "hosp-a-2027-mixed.HOSP-A-2027-000902.json",
        "hosp-a-2027-mixed.HOSP-A-2027-000903.json",
        "hosp-a-2027-mixed.HOSP-A-2027-000904.json",
        "hosp-a-2027-mixed.4.json",
    ]
    first = written[0]
    assert load_json_text(first.read_text())["lines"][1]["billed"] == "95.125"
    error = first.with_name("hosp-a-2027-mixed.HOSP-A-2027-000902.error.txt").read_text()
    assert error.startswith(str(FIXTURES / "records-bad" / "hosp-a-2027-mixed.json"))
    assert "field lines[1].billed" in error and "hint:" in error
    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "q").stat().st_mode) == 0o700  # the folder it made


def test_quarantine_never_overwrites_an_earlier_file(tmp_path: Path) -> None:
    result = load_records(write(tmp_path, "in.json", [good(lines=[])]))
    first = quarantine(result.rejected, tmp_path / "q")
    second = quarantine(result.rejected, tmp_path / "q")
    third = quarantine(result.rejected, tmp_path / "q")
    assert [p.name for p in first + second + third] == [
        "in.HOSP-A-2027-000123.json",
        "in.HOSP-A-2027-000123-2.json",
        "in.HOSP-A-2027-000123-3.json",
    ]
    assert (tmp_path / "q" / "in.HOSP-A-2027-000123-3.error.txt").exists()


def test_quarantine_copies_a_non_json_file_as_it_was(tmp_path: Path) -> None:
    path = write(tmp_path, "junk.json", "not json\n")
    [written] = quarantine(load_records(path).rejected, tmp_path / "q")
    assert written.name == "junk.json" and written.read_text() == "not json\n"
    assert "not JSON" in (tmp_path / "q" / "junk.error.txt").read_text()


def test_quarantine_keeps_float_artefacts_exact(tmp_path: Path) -> None:
    raw = good()
    raw["lines"][1]["billed"] = Decimal("28.104000000000003")
    result = load_records(write(tmp_path, "in.json", dump_json(raw)))
    [written] = quarantine(result.rejected, tmp_path / "q")
    assert "28.104000000000003" in written.read_text()


def test_load_result_extend_and_ok() -> None:
    result = LoadResult()
    assert result.ok
    other = LoadResult(records=[sourced()])
    result.extend(other)
    result.extend(copy.deepcopy(other))
    assert len(result.records) == 2 and result.ok
