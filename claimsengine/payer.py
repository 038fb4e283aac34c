"""The plan's optional ``payer`` block (formats.md, "Plan"): who pays, as remittance says it.

An X12 835 must name its payer with an address and a technical contact, and a FHIR
``Organization`` carries the same. The block is off-chain plan metadata: the chain never
needs it, so ``claims deploy`` records it beside the plan's addresses in the state folder's
deployment registry, and ``claims reconcile --plan-file`` reads it from the plan file.

```yaml
payer:
  name: Silver Health Plan
  id: "SHP01"
  address: {line: "1 Main St", city: Springfield, state: IL, zip: "62701"}
  contact: {name: Claims Support, phone: "8005551234"}
  claim_filing_indicator: "12"     # optional; X12 CLP06, default 15 (indemnity insurance)
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from claimsengine.fieldreader import FieldReader

__all__ = [
    "CLAIM_FILING_INDICATORS",
    "DEFAULT_CLAIM_FILING_INDICATOR",
    "Payer",
    "PayerAddress",
    "PayerContact",
    "payer_from_dict",
    "payer_to_dict",
]

#: The codes X12 835 (005010X221A1) allows in CLP06, with their meaning.
CLAIM_FILING_INDICATORS: dict[str, str] = {
    "12": "preferred provider organization (PPO)",
    "13": "point of service (POS)",
    "14": "exclusive provider organization (EPO)",
    "15": "indemnity insurance",
    "16": "health maintenance organization (HMO) Medicare risk",
    "17": "dental maintenance organization",
    "AM": "automobile medical",
    "CH": "CHAMPUS",
    "DS": "disability",
    "HM": "health maintenance organization",
    "LM": "liability medical",
    "MA": "Medicare part A",
    "MB": "Medicare part B",
    "MC": "Medicaid",
    "OF": "other federal program",
    "TV": "Title V",
    "VA": "Veterans Affairs plan",
    "WC": "workers' compensation health claim",
    "ZZ": "mutually defined",
}
#: A plan of this engine pays a share of a fee schedule after a deductible and coinsurance,
#: with no network rules: indemnity insurance. A PPO or HMO plan says so with its own code.
DEFAULT_CLAIM_FILING_INDICATOR = "15"

_KEYS = ("name", "id", "address", "contact", "claim_filing_indicator")
_ADDRESS_KEYS = ("line", "line2", "city", "state", "zip")
_CONTACT_KEYS = ("name", "phone", "email")
_STATE = re.compile(r"[A-Z]{2}")
_ZIP = re.compile(r"[0-9]{5}(?:[0-9]{4})?")
_PHONE = re.compile(r"[0-9]{10}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# X12 delimiters and control characters cannot be in a remittance's text.
_TEXT = re.compile(r"[^*:^~\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class PayerAddress:
    line: str
    city: str
    state: str
    zip: str
    line2: str | None = None


@dataclass(frozen=True)
class PayerContact:
    name: str
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Payer:
    """Who pays a plan's claims, as an 835's payer loop and a FHIR Organization name it."""

    name: str
    id: str
    address: PayerAddress
    contact: PayerContact
    claim_filing_indicator: str = DEFAULT_CLAIM_FILING_INDICATOR


def payer_from_dict(data: Any, check: FieldReader, path: str = "payer") -> Payer:
    """Validate a payer block as parsed from YAML or JSON; ``check`` raises the caller's
    error (PlanError with the file, say) at the field path of the first problem."""
    data = check.mapping(
        data, path, _KEYS, required=("name", "id", "address", "contact"),
        what="a mapping with name, id, address and contact",
    )  # fmt: skip
    address = check.mapping(
        data["address"], f"{path}.address", _ADDRESS_KEYS,
        required=("line", "city", "state", "zip"),
        what="a mapping with line, city, state and zip",
    )  # fmt: skip
    contact = check.mapping(
        data["contact"], f"{path}.contact", _CONTACT_KEYS, required=("name",),
        what="a mapping with name and phone (or email)",
    )  # fmt: skip
    if contact.get("phone") is None and contact.get("email") is None:
        check.fail(
            f"{path}.contact", "needs a phone or an email: remittance gives a contact number"
        )

    def text(value: Any, field: str, limit: int) -> str:
        value = check.text(value, field)
        if len(value) > limit or not _TEXT.fullmatch(value):
            check.fail(field, f"{value!r} must be at most {limit} characters, without * : ^ ~")
        return value.strip()

    def pattern(value: Any, field: str, regex: re.Pattern[str], expected: str) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            check.fail(field, f"{value!r} must be quoted text ({expected})")
        if not isinstance(value, str) or not regex.fullmatch(value):
            check.fail(field, f"{value!r} must be {expected}")
        return value

    indicator = data.get("claim_filing_indicator", DEFAULT_CLAIM_FILING_INDICATOR)
    if indicator not in CLAIM_FILING_INDICATORS:
        check.fail(
            f"{path}.claim_filing_indicator",
            f"{indicator!r} is not an X12 835 claim filing indicator "
            f'(one of {", ".join(CLAIM_FILING_INDICATORS)}; quote it: "12")',
        )
    line2 = address.get("line2")
    phone, email = contact.get("phone"), contact.get("email")
    return Payer(
        name=text(data["name"], f"{path}.name", 60),
        id=text(data["id"], f"{path}.id", 50),
        address=PayerAddress(
            line=text(address["line"], f"{path}.address.line", 55),
            line2=None if line2 is None else text(line2, f"{path}.address.line2", 55),
            city=text(address["city"], f"{path}.address.city", 30),
            state=pattern(address["state"], f"{path}.address.state", _STATE, "2 capital letters"),
            zip=pattern(address["zip"], f"{path}.address.zip", _ZIP, "5 or 9 digits"),
        ),
        contact=PayerContact(
            name=text(contact["name"], f"{path}.contact.name", 60),
            phone=None if phone is None else pattern(phone, f"{path}.contact.phone", _PHONE,
                                                     "10 digits, no spaces or dashes"),
            email=None if email is None else pattern(email, f"{path}.contact.email", _EMAIL,
                                                     "an email address"),
        ),
        claim_filing_indicator=indicator,
    )  # fmt: skip


def payer_to_dict(payer: Payer) -> dict[str, Any]:
    """The block as formats.md writes it: ``payer_from_dict(payer_to_dict(p)) == p``."""
    address: dict[str, Any] = {"line": payer.address.line}
    if payer.address.line2 is not None:
        address["line2"] = payer.address.line2
    address.update(city=payer.address.city, state=payer.address.state, zip=payer.address.zip)
    contact: dict[str, Any] = {"name": payer.contact.name}
    if payer.contact.phone is not None:
        contact["phone"] = payer.contact.phone
    if payer.contact.email is not None:
        contact["email"] = payer.contact.email
    return {
        "name": payer.name,
        "id": payer.id,
        "address": address,
        "contact": contact,
        "claim_filing_indicator": payer.claim_filing_indicator,
    }
