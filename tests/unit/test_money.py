"""Money is exact: int cents in, int cents out, no floats, nothing rounded silently."""

from __future__ import annotations

from decimal import Decimal, localcontext
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claimsengine.errors import InputError
from claimsengine.money import (
    cents_to_decimal,
    cents_to_token_units,
    decimal_to_cents,
    format_cents,
    parse_amount,
    parse_percent_bps,
    token_scale,
    token_units_to_cents,
)


@pytest.mark.parametrize(
    ("value", "cents"),
    [
        ("180", 18_000),
        ("180.5", 18_050),
        ("180.00", 18_000),
        ("0.01", 1),
        ("0", 0),
        (" 95.00 ", 9_500),  # surrounding whitespace from a CSV cell is harmless
        (180, 18_000),
        (0, 0),
        (Decimal("180.50"), 18_050),
        (Decimal("1.250"), 125),  # a Decimal is judged by value: exactly 1.25
        (Decimal("1E+2"), 10_000),
        ("12345678901234567890123456789.99", 1_234_567_890_123_456_789_012_345_678_999),
    ],
)
def test_parse_amount_accepts(value: str | int | Decimal, cents: int) -> None:
    parsed = parse_amount(value, field="billed")
    assert parsed == cents
    assert type(parsed) is int


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (0.1, "floating-point"),
        (180.0, "floating-point"),
        (True, "expected an amount"),
        (None, "expected an amount"),
        (["180.00"], "expected an amount"),
        ("-1.00", "negative"),
        (-1, "negative"),
        (Decimal("-0.01"), "negative"),
        ("180.001", "more than 2 decimals"),
        ("180.000", "more than 2 decimals"),  # written text: 3 decimals is refused as written
        (Decimal("1.255"), "not a whole number of cents"),
        ("abc", "not a number"),
        ("", "not a number"),
        ("1e3", "not a number"),
        ("1,000.00", "not a number"),
        ("+5", "not a number"),
        (".5", "not a number"),
        ("5.", "not a number"),
        ("NaN", "not a number"),
        (Decimal("NaN"), "not a number"),
        (Decimal("Infinity"), "not a number"),
        ("١٢٣", "not a number"),  # non-ASCII digits
    ],
)
def test_parse_amount_rejects(value: Any, words: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_amount(value, field="lines[0].billed")
    assert caught.value.field == "lines[0].billed"
    assert "field lines[0].billed" in str(caught.value)
    assert words in str(caught.value)


def test_parse_amount_float_gets_a_hint_to_quote() -> None:
    with pytest.raises(InputError) as caught:
        parse_amount(0.1, field="deductible")  # type: ignore[arg-type]
    assert caught.value.hint is not None
    assert '"180.00"' in caught.value.hint


def test_parse_amount_sums_exactly() -> None:
    # The classic float failure: 0.1 + 0.2 != 0.3. In cents it is exact.
    assert parse_amount("0.1", field="a") + parse_amount("0.2", field="b") == parse_amount(
        "0.3", field="c"
    )


@pytest.mark.parametrize(
    ("cents", "text"),
    [(18_000, "180.00"), (-305, "-3.05"), (0, "0.00"), (5, "0.05"), (-5, "-0.05"), (100, "1.00")],
)
def test_format_cents(cents: int, text: str) -> None:
    assert format_cents(cents) == text


@pytest.mark.parametrize("value", [1.5, Decimal("1.5"), "150", True])
def test_format_cents_refuses_non_ints(value: Any) -> None:
    with pytest.raises(TypeError):
        format_cents(value)


@settings(deadline=None)  # a wall-clock limit per example fails on a busy machine
@given(st.integers(min_value=0, max_value=10**40))
def test_parse_format_round_trip(cents: int) -> None:
    assert parse_amount(format_cents(cents), field="x") == cents


@settings(deadline=None)  # a wall-clock limit per example fails on a busy machine
@given(st.integers(min_value=-(10**40), max_value=10**40))
def test_decimal_round_trip(cents: int) -> None:
    as_decimal = cents_to_decimal(cents)
    assert as_decimal.as_tuple().exponent == -2  # always 2 decimals
    with localcontext() as context:
        context.prec = 100  # wide enough that the check itself cannot round
        assert as_decimal * 100 == cents
    assert decimal_to_cents(as_decimal) == cents


def test_cents_to_decimal() -> None:
    assert cents_to_decimal(18_000) == Decimal("180.00")
    assert str(cents_to_decimal(18_000)) == "180.00"
    assert str(cents_to_decimal(-305)) == "-3.05"
    # Beyond the default 28-digit context, still exact.
    assert str(cents_to_decimal(10**40 + 1)) == "1" + "0" * 38 + ".01"


def test_decimal_to_cents() -> None:
    assert decimal_to_cents(Decimal("180.00")) == 18_000
    assert decimal_to_cents(Decimal("-3.05")) == -305
    assert decimal_to_cents(Decimal("1E+2")) == 10_000
    assert decimal_to_cents(Decimal("0.10")) == 10


@pytest.mark.parametrize("value", [Decimal("0.001"), Decimal("NaN"), Decimal("-Infinity")])
def test_decimal_to_cents_refuses_inexact(value: Decimal) -> None:
    with pytest.raises(InputError):
        decimal_to_cents(value)


def test_decimal_to_cents_refuses_floats() -> None:
    with pytest.raises(InputError):
        decimal_to_cents(0.5)  # type: ignore[arg-type]


def test_token_scale() -> None:
    assert token_scale(2) == 1
    assert token_scale(6) == 10_000  # 10**(6 - 2)
    assert token_scale(18) == 10**16


@pytest.mark.parametrize("decimals", [1, 0, -1, True])
def test_token_scale_needs_two_decimals(decimals: int) -> None:
    with pytest.raises(InputError):
        token_scale(decimals)


def test_cents_to_token_units() -> None:
    # Spec: c cents move exactly c x 10^(decimals - 2) token units.
    assert cents_to_token_units(18_000, 6) == 180_000_000  # 18000 x 10^4
    assert cents_to_token_units(1, 18) == 10**16
    assert cents_to_token_units(18_000, 2) == 18_000


def test_token_units_to_cents() -> None:
    assert token_units_to_cents(180_000_000, 6) == 18_000
    assert token_units_to_cents(0, 6) == 0


def test_token_units_below_a_cent_are_refused() -> None:
    with pytest.raises(InputError, match="not a whole number of cents"):
        token_units_to_cents(180_000_001, 6)


@settings(deadline=None)  # a wall-clock limit per example fails on a busy machine
@given(st.integers(min_value=0, max_value=10**30), st.integers(min_value=2, max_value=30))
def test_token_round_trip(cents: int, decimals: int) -> None:
    assert token_units_to_cents(cents_to_token_units(cents, decimals), decimals) == cents


@pytest.mark.parametrize(
    ("value", "bps"),
    [
        ("20", 2000),
        (20, 2000),
        (12.5, 1250),  # YAML's float for `coinsurance: 12.5`, via Decimal(str(12.5))
        ("12.5", 1250),
        ("12.50", 1250),
        (Decimal("12.5"), 1250),
        (12.34, 1234),  # str(12.34) is "12.34", not 12.3399999...
        (33.33, 3333),
        (0, 0),
        (100, 10_000),
        ("100.00", 10_000),
        ("0.01", 1),
    ],
)
def test_parse_percent_bps_accepts(value: Any, bps: int) -> None:
    parsed = parse_percent_bps(value)
    assert parsed == bps
    assert type(parsed) is int


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("12.345", "more than 2 decimals"),
        (12.345, "more than 2 decimals"),
        (1e-05, "more than 2 decimals"),
        (101, "not from 0 to 100"),
        ("100.01", "not from 0 to 100"),
        (-1, "not from 0 to 100"),
        ("-1", "not a number"),
        ("abc", "not a number"),
        ("20%", "not a number"),
        (True, "expected a percentage"),
        (None, "expected a percentage"),
        (float("nan"), "not from 0 to 100"),
        (float("inf"), "not from 0 to 100"),
    ],
)
def test_parse_percent_bps_rejects(value: Any, words: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_percent_bps(value, field="coinsurance")
    assert caught.value.field == "coinsurance"
    assert words in str(caught.value)
