"""The members CSV (formats.md, "Members"): every bad row is reported at once, each by its
line and field, and nothing is enrolled from a file with a bad row."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from claimsengine.errors import InputError
from claimsengine.members import Member, load_members

HEADER = "member_id,coverage_start,coverage_end\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "members.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_members_with_open_and_closed_coverage(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "M-1,2027-01-01,\n\nM-2,2027-02-01,2027-06-30\n")
    assert load_members(path) == [
        Member("M-1", date(2027, 1, 1), None),
        Member("M-2", date(2027, 2, 1), date(2027, 6, 30)),
    ]


def test_one_bad_row_is_named_by_its_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "M-1,2027-01-01,\nM-2,2027-02-30,\n")
    with pytest.raises(InputError) as refused:
        load_members(path)
    assert (refused.value.record, refused.value.field) == ("line 3", "coverage_start")
    assert str(refused.value).startswith(f"{path}: record line 3: field coverage_start: ")


def test_every_bad_row_is_reported_at_once(tmp_path: Path) -> None:
    rows = [
        "M-1,2027-01-01,",
        "M-2,2027-02-30,",  # line 3: not a calendar date
        ",2027-01-01,",  # line 4: no member_id
        "M-1,2027-03-01,",  # line 5: M-1 again
        "M-5,2027-06-01,2027-05-01",  # line 6: ends before it starts
        "M-6,2027-01-01",  # line 7: two columns
    ]
    path = write(tmp_path, HEADER + "\n".join(rows) + "\n")
    with pytest.raises(InputError) as refused:
        load_members(path)
    text = str(refused.value)
    assert text.startswith(f"{path}: 5 rows are wrong: record line 3: field coverage_start: ")
    for where in (
        "; record line 4: field member_id: member_id is empty",
        "; record line 5: field member_id: member M-1 is listed again (first on line 2)",
        "; record line 6: field coverage_end: coverage_end is before coverage_start",
        "; record line 7: expected 3 columns, got 2",
    ):
        assert where in text
    assert refused.value.hint is not None and "nothing was enrolled" in refused.value.hint


def test_a_long_list_of_bad_rows_is_cut_short(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "".join(f"M-{n},someday,\n" for n in range(25)))
    with pytest.raises(InputError) as refused:
        load_members(path)
    text = str(refused.value)
    assert text.startswith(f"{path}: 25 rows are wrong: ")
    assert text.count("field coverage_start") == 10
    assert "; and 15 more" in text


def test_a_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    # A Latin-1 export: one error line naming the file (it was a traceback).
    path = tmp_path / "members.csv"
    path.write_bytes(HEADER.encode() + "M-1,2027-01-01,\nM-ü,2027-01-01,\n".encode("latin-1"))
    with pytest.raises(InputError) as refused:
        load_members(path)
    offset = len(HEADER) + len("M-1,2027-01-01,\n") + len("M-")  # 38 + 16 + 2: the ü
    assert str(refused.value).startswith(f"{path}: is not UTF-8 text (byte {offset})")
    assert refused.value.hint == "save it as UTF-8 CSV"
