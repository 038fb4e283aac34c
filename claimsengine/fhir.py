"""FHIR R4 ``Claim`` resources and ``Bundle``s -> treatment records, and back.

Only the Claim resources are parsed with the ``fhir.resources`` models (the R4B models read
R4 Claims: the Claim resource did not change between R4 and R4B). Everything else in a Bundle
is read raw, and only when a Claim points at it (its Patient, its Conditions): Synthea
Bundles hold hundreds of resources that the engine never needs.

The mapping, with the reasons for each choice, is in docs/fhir-mapping.md. In short:

- record_id: ``identifier[0].value``, else ``id``, else the uuid of a ``urn:uuid:`` fullUrl.
- member_id: the id of the referenced Patient (``urn:uuid:X``, ``Patient/X``).
- plan_id / provider_id: an identifier in the engine's own systems (``urn:claimsengine:plan``
  on ``insurance[].coverage``, ``urn:claimsengine:provider`` on ``provider``) when the Claim
  has one; else the default from the command line; for the provider only, else the Claim's
  own provider identifier or reference id. A display name is never used as an id.
- service_date: the date written in ``billablePeriod.start``, in its own time zone; else the
  items' ``servicedDate`` (they must agree).
- lines: each item with ``net`` or ``unitPrice``; others (Synthea's encounter lines) skipped.
  Amounts that are not whole cents are rejected with the item named, never rounded.

Bundle positions: a record's ``index`` is its Claim's position in ``Bundle.entry``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
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
from claimsengine.money import format_cents, parse_amount
from claimsengine.records import (
    RecordLine,
    TreatmentRecord,
    canonical_json,
    load_json_text,
)

__all__ = [
    "EXTRA_EXTENSION",
    "MEMBER_SYSTEM",
    "PATIENT_EXTENSION",
    "PLAN_SYSTEM",
    "PROVIDER_SYSTEM",
    "RECORD_SYSTEM",
    "BundleIndex",
    "ClaimOutcome",
    "claim_to_record",
    "read_bundle",
    "read_claim",
    "record_to_fhir_claim",
]

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

_CLAIM_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/claim-type"
_PRIORITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/processpriority"
_CURRENCY = "USD"  # the engine counts cents of US dollars (docs/adjudication.md, "Units")
_REFUSED_STATUSES = {"cancelled", "draft", "entered-in-error"}

_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
# A literal reference, relative or absolute, with an optional version: .../Type/id[/_history/v]
_LITERAL_REFERENCE = re.compile(
    r"(?:^|/)(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$"
)
# A conditional reference, as in Synthea transaction Bundles: Type?identifier=system|value
_CONDITIONAL_REFERENCE = re.compile(
    r"^(?P<type>[A-Z][A-Za-z]+)\?identifier=(?:(?P<system>[^|&]*)\|)?(?P<value>[^&]+)$"
)


# fail(message, field, hint=None) builds the RecordError of the Claim being read.
_Fail = Callable[..., RecordError]


@dataclass(frozen=True)
class ClaimOutcome:
    """What became of one Claim: a record, or the error that set it aside."""

    index: int  # the Claim's position in Bundle.entry (0 for a Claim on its own)
    raw: Any  # the Claim resource as read
    record_id: str | None  # the record id, when the Claim yields one
    record: TreatmentRecord | None
    error: RecordError | None


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
            match = _LITERAL_REFERENCE.search(reference)
            if match:
                found = self._by_key.get(f"{match['type']}/{match['id']}")
        if found is not None and found.get("resourceType") == kind:
            return found
        return None


def read_bundle(
    bundle: Mapping[str, Any],
    *,
    default_plan: str | None = None,
    default_provider: str | None = None,
) -> list[ClaimOutcome]:
    """Every Claim in a Bundle, each as a record or a rejection. Other resources are skipped.

    Any Bundle type is read (Synthea writes ``collection`` and ``transaction``).
    """
    entries = bundle.get("entry")
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        error = RecordError("expected an array of entries", field="entry")
        return [ClaimOutcome(0, bundle, None, None, error)]
    index = BundleIndex(entries)
    outcomes: list[ClaimOutcome] = []
    for position, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(resource, Mapping) or resource.get("resourceType") != "Claim":
            continue
        full_url = entry.get("fullUrl")
        outcomes.append(
            read_claim(
                resource,
                default_plan=default_plan,
                default_provider=default_provider,
                full_url=full_url if isinstance(full_url, str) else None,
                index=position,
                bundle=index,
            )
        )
    return outcomes


def read_claim(
    claim: Mapping[str, Any],
    *,
    default_plan: str | None = None,
    default_provider: str | None = None,
    full_url: str | None = None,
    index: int = 0,
    bundle: BundleIndex | None = None,
) -> ClaimOutcome:
    """One Claim as a ``ClaimOutcome`` (never raises ``RecordError``)."""
    try:
        record = claim_to_record(
            claim,
            default_plan=default_plan,
            default_provider=default_provider,
            full_url=full_url,
            bundle=bundle,
        )
    except RecordError as error:
        return ClaimOutcome(index, claim, _raw_record_id(claim, full_url), None, error)
    return ClaimOutcome(index, claim, record.record_id, record, None)


def claim_to_record(
    claim: Mapping[str, Any],
    *,
    default_plan: str | None = None,
    default_provider: str | None = None,
    full_url: str | None = None,
    bundle: BundleIndex | None = None,
) -> TreatmentRecord:
    """Map one FHIR Claim (a JSON object, numbers as ``Decimal``) to a ``TreatmentRecord``.

    Raises ``RecordError`` naming the record and the FHIR field (``item[3].net``). The
    caller adds the file.
    """
    label = _raw_record_id(claim, full_url)
    try:
        model = Claim.model_validate(claim)
    except ValidationError as error:
        raise _validation_error(error, label) from None

    def fail(message: str, field: str, hint: str | None = None) -> RecordError:
        return RecordError(message, record=label, field=field, hint=hint)

    if model.status in _REFUSED_STATUSES:
        raise fail(
            f"the Claim's status is {model.status!r}; only an active Claim is paid", "status"
        )
    if model.use not in (None, "claim"):
        raise fail(
            f"the Claim's use is {model.use!r}; only use 'claim' is a bill to pay "
            "(a preauthorization or predetermination is not)",
            "use",
        )
    if label is None:
        raise fail(
            "the Claim has no identifier, id or urn:uuid fullUrl to use as record_id", "identifier"
        )

    member_id = _member_id(model.patient, fail)
    provider_id = _provider_id(model.provider, default_provider, fail)
    plan_id = _plan_id(model, default_plan, fail)
    lines, line_items = _lines(model, fail)
    service_date = _service_date(claim, line_items, fail)
    extensions = _extensions(model, fail)
    patient = extensions.get(PATIENT_EXTENSION)
    if patient is None and bundle is not None:
        patient = _patient_details(bundle.resolve(model.patient.reference, "Patient"))

    prior_auth: str | None = None
    for insurance in model.insurance or []:
        if insurance.preAuthRef:
            prior_auth = insurance.preAuthRef[0]
            break

    try:
        return TreatmentRecord(
            record_id=label,
            plan_id=plan_id,
            member_id=member_id,
            provider_id=provider_id,
            service_date=service_date,
            prior_auth=prior_auth,
            diagnoses=tuple(_diagnoses(model, bundle)),
            lines=tuple(lines),
            patient=patient,
            extra=extensions.get(EXTRA_EXTENSION) or {},
        )
    except RecordError as error:
        raise _to_fhir_field(error, label, line_items) from None


# --------------------------------------------------------------------------------------------
# Field by field
# --------------------------------------------------------------------------------------------


def _raw_record_id(claim: Mapping[str, Any], full_url: str | None) -> str | None:
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


def _validation_error(error: ValidationError, label: str | None) -> RecordError:
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
    match = _CONDITIONAL_REFERENCE.match(text)
    if match:
        return match["type"], unquote(match["value"])
    match = _LITERAL_REFERENCE.search(text)
    if match:
        return match["type"], match["id"]
    return None, None


def _member_id(patient: Reference, fail: _Fail) -> str:
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


def _provider_id(provider: Reference, default: str | None, fail: _Fail) -> str:
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


def _plan_id(model: Claim, default: str | None, fail: _Fail) -> str:
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


def _lines(model: Claim, fail: _Fail) -> tuple[list[RecordLine], list[tuple[int, ClaimItem]]]:
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


def _units(item: ClaimItem, prefix: str, fail: _Fail) -> int:
    if item.quantity is None or item.quantity.value is None:
        return 1
    value = Decimal(item.quantity.value)
    if value != value.to_integral_value() or value < 1:
        raise fail(
            f"the quantity must be a whole number of at least 1, got {value}",
            f"{prefix}.quantity.value",
        )
    return int(value)


def _cents(money: Money, field: str, fail: _Fail) -> int:
    if money.currency not in (None, _CURRENCY):
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


def _service_date(
    claim: Mapping[str, Any], line_items: list[tuple[int, ClaimItem]], fail: _Fail
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


def _date_part(text: Any, field: str, fail: _Fail) -> date:
    if not isinstance(text, str):
        raise fail(f"expected a date, got {text!r}", field)
    try:
        return parse_date(text[:10], field=field)
    except InputError:
        raise fail(
            f"expected a full date (YYYY-MM-DD, optionally with a time), got {text!r}", field
        ) from None


def _diagnoses(model: Claim, bundle: BundleIndex | None) -> list[str]:
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


def _patient_details(patient: Mapping[str, Any] | None) -> dict[str, Any] | None:
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


def _extensions(model: Claim, fail: _Fail) -> dict[str, Any]:
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


# Record fields -> the FHIR element they came from, for errors raised by TreatmentRecord.
_RECORD_TO_FHIR = {
    "record_id": "identifier[0].value",
    "member_id": "patient",
    "provider_id": "provider",
    "plan_id": "insurance",
    "prior_auth": "insurance.preAuthRef",
    "patient": f"extension({PATIENT_EXTENSION})",
}
_LINE_TO_FHIR = {
    "code": "productOrService.coding[0].code",
    "units": "quantity.value",
    "billed": "net",
}


def _to_fhir_field(
    error: RecordError, label: str, line_items: list[tuple[int, ClaimItem]]
) -> RecordError:
    field = error.field or ""
    match = re.fullmatch(r"lines\[(\d+)\]\.(\w+)", field)
    if match:
        position, item = line_items[int(match[1])]
        element = _LINE_TO_FHIR.get(match[2], match[2])
        if match[2] == "billed" and item.net is None:
            element = "unitPrice"
        field = f"item[{position}].{element}"
    elif field.startswith("diagnoses"):
        field = "diagnosis"
    else:
        field = _RECORD_TO_FHIR.get(field, field)
    hint = error.hint
    if hint is None and field in ("provider", "insurance"):
        option = "--provider" if field == "provider" else "--plan"
        hint = f"pass a default {field if field == 'provider' else 'plan'} ({option})"
    return RecordError(error.message, record=label, field=field or None, hint=hint)


# --------------------------------------------------------------------------------------------
# Record -> FHIR
# --------------------------------------------------------------------------------------------


def record_to_fhir_claim(record: TreatmentRecord) -> dict[str, Any]:
    """A FHIR R4 Claim for a record; ``claim_to_record`` gives the same record back.

    Ids travel as identifiers in the engine's systems; ``patient`` and ``extra`` ride in two
    extensions as JSON text. Amounts are ``Decimal`` values: write the result with
    ``claimsengine.records.dump_json`` (the standard ``json`` module cannot). The Claim holds
    the record's PHI: it is for the hospital's side, never for the chain.
    """
    patient_reference: dict[str, Any] = {
        "identifier": {"system": MEMBER_SYSTEM, "value": record.member_id}
    }
    if _FHIR_ID.fullmatch(record.member_id):
        patient_reference["reference"] = f"Patient/{record.member_id}"
    insurance: dict[str, Any] = {
        "sequence": 1,
        "focal": True,
        "coverage": {
            "identifier": {"system": PLAN_SYSTEM, "value": record.plan_id},
            "display": record.plan_id,
        },
    }
    if record.prior_auth is not None:
        insurance["preAuthRef"] = [record.prior_auth]
    day = record.service_date.isoformat()
    claim: dict[str, Any] = {
        "resourceType": "Claim",
        "identifier": [{"system": RECORD_SYSTEM, "value": record.record_id}],
        "status": "active",
        "type": {"coding": [{"system": _CLAIM_TYPE_SYSTEM, "code": "institutional"}]},
        "use": "claim",
        "patient": patient_reference,
        "billablePeriod": {"start": day, "end": day},
        "created": day,
        "provider": {"identifier": {"system": PROVIDER_SYSTEM, "value": record.provider_id}},
        "priority": {"coding": [{"system": _PRIORITY_SYSTEM, "code": "normal"}]},
        "insurance": [insurance],
        "item": [
            {
                "sequence": n,
                "productOrService": {"coding": [{"code": line.code}]},
                "quantity": {"value": line.units},
                "net": {"value": Decimal(format_cents(line.billed)), "currency": _CURRENCY},
            }
            for n, line in enumerate(record.lines, start=1)
        ],
    }
    if _FHIR_ID.fullmatch(record.record_id):
        claim["id"] = record.record_id
    if record.diagnoses:
        claim["diagnosis"] = [
            {"sequence": n, "diagnosisCodeableConcept": {"coding": [{"code": code}]}}
            for n, code in enumerate(record.diagnoses, start=1)
        ]
    extensions = []
    if record.patient is not None:
        extensions.append(
            {
                "url": PATIENT_EXTENSION,
                "valueString": canonical_json(record.patient).decode("utf-8"),
            }
        )
    if record.extra:
        extensions.append(
            {"url": EXTRA_EXTENSION, "valueString": canonical_json(record.extra).decode("utf-8")}
        )
    if extensions:
        claim["extension"] = extensions
    return claim
