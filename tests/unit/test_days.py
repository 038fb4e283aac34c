"""Calendar dates <-> on-chain day numbers (days since 1970-01-01, UTC)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claimsengine.days import day_of_timestamp, from_day, parse_date, to_day
from claimsengine.errors import InputError

# 1970-01-01 to 2027-01-01: 57 years of 365 days plus 14 leap days (1972, 1976, ..., 2024).
DAY_2027_01_01 = 57 * 365 + 14  # 20819


def test_to_day() -> None:
    assert to_day(date(1970, 1, 1)) == 0
    assert to_day(date(1970, 1, 2)) == 1
    assert to_day(date(2027, 1, 1)) == DAY_2027_01_01
    assert to_day("2027-01-01") == DAY_2027_01_01
    assert to_day(date(1969, 12, 31)) == -1


def test_from_day() -> None:
    assert from_day(0) == date(1970, 1, 1)
    assert from_day(DAY_2027_01_01) == date(2027, 1, 1)
    assert from_day(DAY_2027_01_01 + 31 + 28 + 13) == date(2027, 3, 14)


@settings(deadline=None)  # a wall-clock limit per example fails on a busy machine
@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)))
def test_round_trip(d: date) -> None:
    assert from_day(to_day(d)) == d


def test_to_day_takes_a_timestamp_date_as_written() -> None:
    # formats.md: take the date in its own time zone; in UTC this is still 2012-01-15.
    written = datetime(2012, 1, 16, 8, 38, 5, tzinfo=timezone(timedelta(hours=10)))
    assert to_day(written) == to_day(date(2012, 1, 16))


def test_parse_date() -> None:
    assert parse_date("2027-03-14", field="service_date") == date(2027, 3, 14)
    assert parse_date("2028-02-29", field="service_date") == date(2028, 2, 29)  # leap day
    assert parse_date(date(2027, 1, 1), field="effective_date") == date(2027, 1, 1)  # from YAML


@pytest.mark.parametrize(
    "value",
    [
        "2027-02-29",  # not a leap year
        "2027-13-01",
        "2027-1-1",
        "20270101",  # date.fromisoformat takes it; files must say YYYY-MM-DD
        "2027-W01-1",
        "2027-01-01T00:00:00",
        "14/03/2027",
        "",
        20270101,
        None,
        datetime(2027, 1, 1, 12, 0),
    ],
)
def test_parse_date_rejects(value: Any) -> None:
    with pytest.raises(InputError) as caught:
        parse_date(value, field="service_date")
    assert caught.value.field == "service_date"
    assert "field service_date" in str(caught.value)


def test_to_day_rejects_bad_text() -> None:
    with pytest.raises(InputError):
        to_day("March 14")


def test_day_of_timestamp() -> None:
    # "Today" on-chain is block.timestamp // 86400.
    midnight_2027 = DAY_2027_01_01 * 86_400  # 1798761600, 2027-01-01T00:00:00Z
    assert day_of_timestamp(0) == 0
    assert day_of_timestamp(86_399) == 0
    assert day_of_timestamp(86_400) == 1
    assert day_of_timestamp(midnight_2027) == DAY_2027_01_01
    assert day_of_timestamp(midnight_2027 - 1) == DAY_2027_01_01 - 1
    utc = datetime(2027, 1, 1, 23, 59, 59, tzinfo=UTC)
    assert day_of_timestamp(int(utc.timestamp())) == DAY_2027_01_01
