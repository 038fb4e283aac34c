"""National Provider Identifiers: the 10-digit id that remittance (X12 835, FHIR) names a
provider by.

An NPI is 9 digits and a check digit. The check digit is the Luhn (mod 10) check digit of
the 9 digits prefixed with ``80840`` (the card issuer prefix that makes an NPI a valid ISO
7812 identifier), as CMS's "NPI check digit" standard describes. ``1234567893`` is valid.
"""

from __future__ import annotations

from claimsengine.errors import InputError

__all__ = ["NPI_PREFIX", "is_valid_npi", "npi_check_digit", "parse_npi"]

#: ISO 7812 prefix for US health applications; the Luhn check runs over it and the NPI.
NPI_PREFIX = "80840"


def npi_check_digit(first_nine: str) -> int:
    """The check digit of an NPI's first 9 digits (Luhn over ``80840`` + the 9 digits)."""
    digits = [int(d) for d in NPI_PREFIX + first_nine]
    total = 0
    # Luhn: from the right, double every other digit starting with the rightmost one (the
    # check digit is not there yet), and add the digits of the products.
    for position, digit in enumerate(reversed(digits)):
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def is_valid_npi(value: str) -> bool:
    """True for 10 ASCII digits whose last one is the Luhn check digit of the first 9."""
    return (
        len(value) == 10
        and value.isascii()
        and value.isdigit()
        and npi_check_digit(value[:9]) == int(value[9])
    )


def parse_npi(value: object, *, field: str = "npi") -> str:
    """A valid NPI as text, or ``InputError`` naming the field and saying what is wrong."""
    text = str(value).strip() if isinstance(value, str | int) else None
    if text is None or not (len(text) == 10 and text.isascii() and text.isdigit()):
        raise InputError(
            f"NPI {value!r} must be 10 digits",
            field=field,
            hint="an NPI is the provider's 10-digit National Provider Identifier",
        )
    if npi_check_digit(text[:9]) != int(text[9]):
        raise InputError(
            f"NPI {text} fails its check digit",
            field=field,
            hint="check the NPI for a typo: its last digit is a Luhn check digit",
        )
    return text
