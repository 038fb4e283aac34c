"""FHIR Claim elements, one by one, as the fields of a treatment record.

Each reader takes the parsed ``fhir.resources`` Claim (or its raw JSON) and either returns a
record field or raises the ``RecordError`` that ``fail`` builds, naming the FHIR element
(``item[3].net``). The mapping and its reasons are in docs/fhir-mapping.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

from fhir.resources.R4B.claim import Claim, ClaimItem
from fhir.resources.R4B.money import Money
from fhir.resources.R4B.reference import Reference
from pydantic import ValidationError

from claimsengine.days import parse_date
from claimsengine.errors import InputError, RecordError
from claimsengine.money import parse_amount
from claimsengine.records.jsontext import load_json_text
from claimsengine.records.model import RecordLine

# The engine's own identifier systems: a value in one of these is exact, so it is used as is
# (like a field of a native record); foreign identifiers are only a fallback.
PLAN_SYSTEM = "urn:claimsengine:plan"
PROVIDER_SYSTEM = "urn:claimsengine:provider"
RECORD_SYSTEM = "urn:claimsengine:record"
MEMBER_SYSTEM = "urn:claimsengine:member"
# Extensions that carry a record's free-form ``patient`` and ``extra`` objects (as canonical
# JSON text), so that record -> Claim -> record loses nothing.
PATIENT_EXTENSION = "urn:claimsengine:record-patient"
EXTRA_EXTENSION = "urn:claimsengine:record-extra"

CLAIM_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/claim-type"
PRIORITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/processpriority"
CURRENCY = "USD"  # the engine counts cents of US dollars (docs/adjudication.md, "Units")

FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
# A literal reference, relative or absolute, with an optional version: .../Type/id[/_history/v]
LITERAL_REFERENCE = re.compile(
    r"(?:^|/)(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$"
)
# A conditional reference, as in Synthea transaction Bundles: Type?identifier=system|value
CONDITIONAL_REFERENCE = re.compile(
    r"^(?P<type>[A-Z][A-Za-z]+)\?identifier=(?:(?P<system>[^|&]*)\|)?(?P<value>[^&]+)$"
)


# fail(message, field, hint=None) builds the RecordError of the Claim being read.
Fail = Callable[..., RecordError]


class BundleIndex:
    """Resources of a Bundle by fullUrl and by ``Type/id``, for resolving references."""

    def __init__(self, entries: list[Any]) -> None:
        self._by_key: dict[str, Mapping[str, Any]] = {}
        for entry in entries:
            if not isinstance(entry, Mapping):
                continue
            resource = entry.get("resource")
            if not isinstance(resource, Mapping):
                continue
            full_url = entry.get("fullUrl")
            if isinstance(full_url, str):
                self._by_key[full_url] = resource
            kind, rid = resource.get("resourceType"), resource.get("id")
            if isinstance(kind, str) and isinstance(rid, str):
                self._by_key.setdefault(f"{kind}/{rid}", resource)

    def resolve(self, reference: str | None, kind: str) -> Mapping[str, Any] | None:
        if not reference:
            return None
        found = self._by_key.get(reference)
        if found is None:
            match = LITERAL_REFERENCE.search(reference)
            if match:
                found = self._by_key.get(f"{match['type']}/{match['id']}")
        if found is not None and found.get("resourceType") == kind:
            return found
        return None


def raw_record_id(claim: Mapping[str, Any], full_url: str | None) -> str | None:
    """The record id, read before validation so that even an invalid Claim is named."""
    identifiers = claim.get("identifier")
    if isinstance(identifiers, list) and identifiers and isinstance(identifiers[0], Mapping):
        value = identifiers[0].get("value")
        if isinstance(value, str) and value.strip():
            return value
    claim_id = claim.get("id")
    if isinstance(claim_id, str) and claim_id.strip():
        return claim_id
    if full_url and full_url.startswith("urn:uuid:"):
        return full_url.removeprefix("urn:uuid:")
    return None


def validation_error(error: ValidationError, label: str | None) -> RecordError:
    first = error.errors()[0]
    field = _path(first["loc"])
    kind = first["type"]
    if kind == "missing":
        message = "missing (FHIR R4 requires it in a Claim)"
    elif kind == "extra_forbidden":
        message = "not an element of a FHIR R4 Claim"
    else:
        message = f"not valid FHIR: {first['msg']}"
    more = len(error.errors()) - 1
    if more:
        message += f" (and {more} more problem{'s' if more > 1 else ''} in this Claim)"
    return RecordError(message, record=label, field=field or None)


def _path(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _reference_id(reference: Reference | None) -> tuple[str | None, str | None]:
    """(resource type, id) of a reference; a conditional reference gives its identifier."""
    if reference is None or not reference.reference:
        return None, None
    text = reference.reference
    if text.startswith(("urn:uuid:", "urn:oid:")):
        return None, text.split(":", 2)[2]
    match = CONDITIONAL_REFERENCE.match(text)
    if match:
        return match["type"], unquote(match["value"])
    match = LITERAL_REFERENCE.search(text)
    if match:
        return match["type"], match["id"]
    return None, None


def member_id_of(patient: Reference, fail: Fail) -> str:
    identifier = patient.identifier
    if identifier is not None and identifier.system == MEMBER_SYSTEM and identifier.value:
        return identifier.value
    kind, rid = _reference_id(patient)
    if kind not in (None, "Patient"):
        raise fail(
            f"expected a reference to a Patient, got {patient.reference!r}", "patient.reference"
        )
    if rid:
        return rid
    if identifier is not None and identifier.value:
        return identifier.value
    if patient.reference:
        raise fail(
            f"cannot read a Patient id from the reference {patient.reference!r}",
            "patient.reference",
        )
    raise fail("the Claim does not say which Patient it is for", "patient")


def provider_id_of(provider: Reference, default: str | None, fail: Fail) -> str:
    identifier = provider.identifier
    if identifier is not None and identifier.system == PROVIDER_SYSTEM and identifier.value:
        return identifier.value
    if default is not None:
        return default
    # No default: the Claim's own provider id is the best guess; its display name never is.
    if identifier is not None and identifier.value:
        return identifier.value
    _, rid = _reference_id(provider)
    if rid:
        return rid
    raise fail(
        "no provider id: the Claim's provider has no identifier or reference",
        "provider",
        hint="pass a default provider (--provider)",
    )


def plan_id_of(model: Claim, default: str | None, fail: Fail) -> str:
    for insurance in model.insurance or []:
        identifier = insurance.coverage.identifier if insurance.coverage else None
        if identifier is not None and identifier.system == PLAN_SYSTEM and identifier.value:
            return identifier.value
    if default is not None:
        return default
    raise fail(
        "no plan id: a FHIR Claim does not carry the engine's plan id",
        "insurance",
        hint="pass a default plan (--plan)",
    )


def lines_of(model: Claim, fail: Fail) -> tuple[list[RecordLine], list[tuple[int, ClaimItem]]]:
    """Priced items as lines, with each line's item position (for error paths)."""
    lines: list[RecordLine] = []
    items: list[tuple[int, ClaimItem]] = []
    for position, item in enumerate(model.item or []):
        if item.net is None and item.unitPrice is None:
            continue  # not priced (Synthea's encounter line): nothing to bill
        prefix = f"item[{position}]"
        coding = item.productOrService.coding or []
        code = coding[0].code if coding else None
        if not code:
            raise fail(
                "the priced item has no code in productOrService.coding",
                f"{prefix}.productOrService.coding",
            )
        units = _units(item, prefix, fail)
        if item.net is not None:
            billed = _cents(item.net, f"{prefix}.net", fail)
        else:
            assert item.unitPrice is not None
            if item.factor is not None and item.factor != 1:
                raise fail(
                    "a factor other than 1 is not supported without a net amount",
                    f"{prefix}.factor",
                    hint="give the item's net amount",
                )
            billed = _cents(item.unitPrice, f"{prefix}.unitPrice", fail) * units
        lines.append(RecordLine(code=code, units=units, billed=billed))
        items.append((position, item))
    if not lines:
        count = len(model.item or [])
        kinds = [c.code for c in (model.type.coding or []) if c.code]
        # Synthea's pharmacy Claims price the medication only in Claim.total.
        why = (
            " (a pharmacy Claim that prices its medication only in Claim.total)"
            if ("pharmacy" in kinds)
            else ""
        )
        raise fail(
            f"the Claim has no priced items{why}: none of its {count} item"
            f"{'s' if count != 1 else ''} has a net or unitPrice, so there is no line to bill; "
            "Claim.total is not read",
            "item",
            hint="give each billed item a net amount",
        )
    return lines, items


def _units(item: ClaimItem, prefix: str, fail: Fail) -> int:
    if item.quantity is None or item.quantity.value is None:
        return 1
    value = Decimal(item.quantity.value)
    if value != value.to_integral_value() or value < 1:
        raise fail(
            f"the quantity must be a whole number of at least 1, got {value}",
            f"{prefix}.quantity.value",
        )
    return int(value)


def _cents(money: Money, field: str, fail: Fail) -> int:
    if money.currency not in (None, CURRENCY):
        raise fail(
            f"currency {money.currency!r} is not supported; amounts must be in USD",
            f"{field}.currency",
        )
    if money.value is None:
        raise fail("the amount has no value", f"{field}.value")
    value = Decimal(money.value)
    try:
        return parse_amount(value, field=field)
    except InputError as error:
        if value.is_finite() and value >= 0:
            # Synthea's float artefacts (28.104000000000003) land here: say so, never round.
            raise fail(
                f"{value} has more than 2 decimals (a floating-point artefact in the source?); "
                "amounts are never rounded",
                field,
                hint="fix the amount in the source file",
            ) from None
        raise fail(error.message, field, hint=error.hint) from None


def service_date_of(
    claim: Mapping[str, Any], line_items: list[tuple[int, ClaimItem]], fail: Fail
) -> date:
    # Read from the text, so the date is the one written, in its own zone (never UTC).
    period = claim.get("billablePeriod")
    start = period.get("start") if isinstance(period, Mapping) else None
    if start is not None:
        return _date_part(start, "billablePeriod.start", fail)
    raw_items = claim.get("item") or []
    dates: dict[date, str] = {}
    for position, _ in line_items:
        raw = raw_items[position]
        served = raw.get("servicedDate")
        name = f"item[{position}].servicedDate"
        if served is None and isinstance(raw.get("servicedPeriod"), Mapping):
            served = raw["servicedPeriod"].get("start")
            name = f"item[{position}].servicedPeriod.start"
        if served is not None:
            dates.setdefault(_date_part(served, name, fail), name)
    if not dates:
        raise fail(
            "no service date: the Claim has no billablePeriod.start and its priced items have "
            "no servicedDate",
            "billablePeriod.start",
        )
    if len(dates) > 1:
        names = sorted(dates.values())
        raise fail(
            f"the priced items have different service dates ({', '.join(names)}); a record "
            "has one service date",
            names[-1],
            hint="split the Claim by date, or give billablePeriod.start",
        )
    return next(iter(dates))


def _date_part(text: Any, field: str, fail: Fail) -> date:
    if not isinstance(text, str):
        raise fail(f"expected a date, got {text!r}", field)
    try:
        return parse_date(text[:10], field=field)
    except InputError:
        raise fail(
            f"expected a full date (YYYY-MM-DD, optionally with a time), got {text!r}", field
        ) from None


def diagnoses_of(model: Claim, bundle: BundleIndex | None) -> list[str]:
    """Diagnosis codes (off-chain only), in order: coded concepts, or the Conditions
    referenced (Synthea), when they resolve inside the Bundle; others are left out."""
    codes: list[str] = []
    for diagnosis in model.diagnosis or []:
        code: str | None = None
        concept = diagnosis.diagnosisCodeableConcept
        if concept is not None:
            code = concept.coding[0].code if concept.coding else concept.text
        elif diagnosis.diagnosisReference is not None and bundle is not None:
            condition = bundle.resolve(diagnosis.diagnosisReference.reference, "Condition")
            concept_raw = condition.get("code") if condition else None
            if isinstance(concept_raw, Mapping):
                coding = concept_raw.get("coding")
                if isinstance(coding, list) and coding and isinstance(coding[0], Mapping):
                    code = coding[0].get("code")
                else:
                    code = concept_raw.get("text")
        if isinstance(code, str) and code:
            codes.append(code)
    return codes


def patient_details(patient: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Name and birth date of the Patient resource: kept in the (encrypted) record only."""
    if patient is None:
        return None
    details: dict[str, Any] = {}
    names = patient.get("name")
    if isinstance(names, list) and names and isinstance(names[0], Mapping):
        name = names[0]
        text = name.get("text")
        if not isinstance(text, str):
            given = [g for g in name.get("given") or [] if isinstance(g, str)]
            family = name.get("family")
            text = " ".join([*given, *([family] if isinstance(family, str) else [])])
        if text:
            details["name"] = text
    birth_date = patient.get("birthDate")
    if isinstance(birth_date, str):
        details["birth_date"] = birth_date
    return details or None


def extensions_of(model: Claim, fail: Fail) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for position, extension in enumerate(model.extension or []):
        if extension.url not in (PATIENT_EXTENSION, EXTRA_EXTENSION):
            continue
        field = f"extension[{position}].valueString"
        try:
            value = load_json_text(extension.valueString or "")
        except ValueError as error:
            raise fail(f"not JSON: {error}", field) from None
        if not isinstance(value, dict):
            raise fail("expected a JSON object", field)
        found[extension.url] = value
    return found
