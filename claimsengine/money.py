"""Money: integer cents inside the engine, "180.00" strings in files, Decimal for users.

The rules (docs/adjudication.md, "Units"): money is an int count of cents; an input with more
than 2 decimals is rejected; nothing is rounded silently. So every conversion here is exact
or raises ``InputError``. Floats are refused everywhere (0.1 is not 10 cents in binary), with
a single documented exception: a percentage that YAML already parsed as a float.
"""

from __future__ import annotations

import re
from decimal import Decimal

from claimsengine.errors import InputError

__all__ = [
    "cents_to_decimal",
    "cents_to_token_units",
    "decimal_to_cents",
    "format_cents",
    "parse_amount",
    "parse_percent_bps",
    "token_scale",
    "token_units_to_cents",
]

# Plain digits with at most 2 decimals: no sign, exponent, grouping or bare point.
_AMOUNT = re.compile(r"[0-9]+(?:\.[0-9]{1,2})?")
# A percentage as text: digits with an optional fraction; more than 2 decimals is refused later.
_PERCENT = re.compile(r"[0-9]+(?:\.[0-9]+)?")

_AMOUNT_HINT = 'write the amount as a quoted string with at most 2 decimals, like "180.00"'


def parse_amount(value: str | int | Decimal, *, field: str) -> int:
    """Parse a non-negative money amount from a file or the CLI into cents.

    Accepts "180", "180.5", "180.00", ints (whole currency units) and Decimals that are an
    exact number of cents. Rejects floats, bools, negatives, more than 2 decimals and
    anything that is not a number, with an ``InputError`` that names ``field``.
    """
    if isinstance(value, bool):  # bool is an int subclass; True is not 1.00
        raise InputError(f"expected an amount, got {value!r}", field=field, hint=_AMOUNT_HINT)
    if isinstance(value, float):
        raise InputError(
            f"amount {value!r} is a floating-point number, which cannot hold cents exactly",
            field=field,
            hint=_AMOUNT_HINT,
        )
    if isinstance(value, int):
        if value < 0:
            raise InputError(f"amount {value} is negative", field=field)
        return value * 100
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise InputError(f"amount {value} is not a number", field=field, hint=_AMOUNT_HINT)
        if value < 0:
            raise InputError(f"amount {value} is negative", field=field)
        return decimal_to_cents(value, field=field)
    if isinstance(value, str):
        text = value.strip()
        if _AMOUNT.fullmatch(text):
            return decimal_to_cents(Decimal(text), field=field)
        if text.startswith("-"):
            raise InputError(f"amount {value!r} is negative", field=field)
        if re.fullmatch(r"[0-9]+\.[0-9]{3,}", text):
            raise InputError(
                f"amount {value!r} has more than 2 decimals", field=field, hint=_AMOUNT_HINT
            )
        raise InputError(f"amount {value!r} is not a number", field=field, hint=_AMOUNT_HINT)
    raise InputError(
        f"expected an amount, got {type(value).__name__} {value!r}", field=field, hint=_AMOUNT_HINT
    )


def format_cents(cents: int) -> str:
    """Format cents as a decimal string with exactly 2 decimals: 18000 -> "180.00"."""
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise TypeError(f"cents must be an int, got {type(cents).__name__}")
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"


def cents_to_decimal(cents: int) -> Decimal:
    """Cents as a Decimal in currency units, always with 2 decimals: 18000 -> Decimal("180.00")."""
    # Built from the exact string, so the context's precision never rounds large amounts.
    return Decimal(format_cents(cents))


def decimal_to_cents(value: Decimal, *, field: str | None = None) -> int:
    """A Decimal in currency units as cents; it must be an exact number of cents.

    Judged by value, so Decimal("1.250") is 125 cents, while Decimal("1.255") raises.
    """
    if not isinstance(value, Decimal):
        raise InputError(f"expected a Decimal, got {type(value).__name__}", field=field)
    if not value.is_finite():
        raise InputError(f"amount {value} is not a number", field=field)
    # Integer arithmetic on the digits: no Decimal context, so no hidden rounding.
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite, checked above
    coefficient = int("".join(map(str, digits)) or "0")
    shift = exponent + 2
    if shift >= 0:
        cents = coefficient * 10**shift
    else:
        cents, remainder = divmod(coefficient, 10**-shift)
        if remainder:
            raise InputError(f"amount {value} is not a whole number of cents", field=field)
    return -cents if sign else cents


def token_scale(decimals: int) -> int:
    """Token units per cent for a token with ``decimals`` decimals: 10**(decimals - 2)."""
    if isinstance(decimals, bool) or not isinstance(decimals, int) or decimals < 2:
        raise InputError(
            f"a settlement token needs at least 2 decimals to hold cents, got {decimals!r}",
            field="token",
        )
    return 10 ** (decimals - 2)


def cents_to_token_units(cents: int, decimals: int) -> int:
    """The exact token amount a payment of ``cents`` moves (spec: c × 10^(decimals − 2))."""
    return cents * token_scale(decimals)


def token_units_to_cents(units: int, decimals: int) -> int:
    """Token units as cents; an amount below a cent cannot be represented and is an error."""
    cents, remainder = divmod(units, token_scale(decimals))
    if remainder:
        raise InputError(
            f"{units} token units (decimals {decimals}) is not a whole number of cents",
            hint="token amounts the engine handles are always whole cents",
        )
    return cents


def parse_percent_bps(value: str | int | Decimal | float, *, field: str = "coinsurance") -> int:
    """A percentage from 0 to 100 with up to 2 decimals as basis points: "20" -> 2000, 12.5 -> 1250.

    Floats are accepted here only, because YAML reads ``coinsurance: 12.5`` as a float. It is
    converted through ``Decimal(str(value))``: ``str`` gives the shortest text that reads back
    as the same float, which is exactly what the user wrote for any percentage with 2 decimals.
    """
    hint = "write the percentage as a number from 0 to 100 with at most 2 decimals, like 20 or 12.5"
    number: Decimal
    if isinstance(value, bool):
        raise InputError(f"expected a percentage, got {value!r}", field=field, hint=hint)
    if isinstance(value, float):
        number = Decimal(str(value))
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, str):
        if not _PERCENT.fullmatch(value.strip()):
            raise InputError(f"percentage {value!r} is not a number", field=field, hint=hint)
        number = Decimal(value.strip())
    else:
        raise InputError(
            f"expected a percentage, got {type(value).__name__} {value!r}", field=field, hint=hint
        )
    if not number.is_finite() or number < 0 or number > 100:
        raise InputError(f"percentage {value!r} is not from 0 to 100", field=field, hint=hint)
    try:
        # Basis points are hundredths of a percent: the same scale step as cents.
        return decimal_to_cents(number, field=field)
    except InputError:
        raise InputError(
            f"percentage {value!r} has more than 2 decimals", field=field, hint=hint
        ) from None
