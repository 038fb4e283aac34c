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
from decimal import Decimal
from typing import Any

from fhir.resources.R4B.claim import Claim, ClaimItem
from pydantic import ValidationError

from claimsengine.errors import RecordError
from claimsengine.money import format_cents
from claimsengine.records.fhir_fields import (
    CLAIM_TYPE_SYSTEM,
    CURRENCY,
    EXTRA_EXTENSION,
    FHIR_ID,
    MEMBER_SYSTEM,
    PATIENT_EXTENSION,
    PLAN_SYSTEM,
    PRIORITY_SYSTEM,
    PROVIDER_SYSTEM,
    RECORD_SYSTEM,
    BundleIndex,
    diagnoses_of,
    extensions_of,
    lines_of,
    member_id_of,
    patient_details,
    plan_id_of,
    provider_id_of,
    raw_record_id,
    service_date_of,
    validation_error,
)
from claimsengine.records.jsontext import canonical_json
from claimsengine.records.model import TreatmentRecord

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

_REFUSED_STATUSES = {"cancelled", "draft", "entered-in-error"}


@dataclass(frozen=True)
class ClaimOutcome:
    """What became of one Claim: a record, or the error that set it aside."""

    index: int  # the Claim's position in Bundle.entry (0 for a Claim on its own)
    raw: Any  # the Claim resource as read
    record_id: str | None  # the record id, when the Claim yields one
    record: TreatmentRecord | None
    error: RecordError | None


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
        return ClaimOutcome(index, claim, raw_record_id(claim, full_url), None, error)
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
    label = raw_record_id(claim, full_url)
    try:
        model = Claim.model_validate(claim)
    except ValidationError as error:
        raise validation_error(error, label) from None

    def fail(message: str, field: str, hint: str | None = None) -> RecordError:
        return RecordError(message, record=label, field=field, hint=hint)

    _check_billable(model, fail)
    if label is None:
        raise fail(
            "the Claim has no identifier, id or urn:uuid fullUrl to use as record_id", "identifier"
        )

    member_id = member_id_of(model.patient, fail)
    provider_id = provider_id_of(model.provider, default_provider, fail)
    plan_id = plan_id_of(model, default_plan, fail)
    lines, line_items = lines_of(model, fail)
    service_date = service_date_of(claim, line_items, fail)
    extensions = extensions_of(model, fail)
    patient = extensions.get(PATIENT_EXTENSION)
    if patient is None and bundle is not None:
        patient = patient_details(bundle.resolve(model.patient.reference, "Patient"))

    try:
        return TreatmentRecord(
            record_id=label,
            plan_id=plan_id,
            member_id=member_id,
            provider_id=provider_id,
            service_date=service_date,
            prior_auth=_prior_auth(model),
            diagnoses=tuple(diagnoses_of(model, bundle)),
            lines=tuple(lines),
            patient=patient,
            extra=extensions.get(EXTRA_EXTENSION) or {},
        )
    except RecordError as error:
        raise _to_fhir_field(error, label, line_items) from None


def _check_billable(model: Claim, fail: Callable[..., RecordError]) -> None:
    """Only an active Claim whose use is 'claim' is a bill to pay."""
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


def _prior_auth(model: Claim) -> str | None:
    """The first insurance's prior authorisation reference, if any has one."""
    for insurance in model.insurance or []:
        if insurance.preAuthRef:
            return insurance.preAuthRef[0]
    return None


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


def record_to_fhir_claim(record: TreatmentRecord) -> dict[str, Any]:
    """A FHIR R4 Claim for a record; ``claim_to_record`` gives the same record back.

    Ids travel as identifiers in the engine's systems; ``patient`` and ``extra`` ride in two
    extensions as JSON text. Amounts are ``Decimal`` values: write the result with
    ``claimsengine.records.dump_json`` (the standard ``json`` module cannot). The Claim holds
    the record's PHI: it is for the hospital's side, never for the chain.
    """
    day = record.service_date.isoformat()
    claim: dict[str, Any] = {
        "resourceType": "Claim",
        "identifier": [{"system": RECORD_SYSTEM, "value": record.record_id}],
        "status": "active",
        "type": {"coding": [{"system": CLAIM_TYPE_SYSTEM, "code": "institutional"}]},
        "use": "claim",
        "patient": _patient_reference(record),
        "billablePeriod": {"start": day, "end": day},
        "created": day,
        "provider": {"identifier": {"system": PROVIDER_SYSTEM, "value": record.provider_id}},
        "priority": {"coding": [{"system": PRIORITY_SYSTEM, "code": "normal"}]},
        "insurance": [_insurance(record)],
        "item": [
            {
                "sequence": n,
                "productOrService": {"coding": [{"code": line.code}]},
                "quantity": {"value": line.units},
                "net": {"value": Decimal(format_cents(line.billed)), "currency": CURRENCY},
            }
            for n, line in enumerate(record.lines, start=1)
        ],
    }
    if FHIR_ID.fullmatch(record.record_id):
        claim["id"] = record.record_id
    if record.diagnoses:
        claim["diagnosis"] = [
            {"sequence": n, "diagnosisCodeableConcept": {"coding": [{"code": code}]}}
            for n, code in enumerate(record.diagnoses, start=1)
        ]
    extensions = _extensions(record)
    if extensions:
        claim["extension"] = extensions
    return claim


def _patient_reference(record: TreatmentRecord) -> dict[str, Any]:
    reference: dict[str, Any] = {"identifier": {"system": MEMBER_SYSTEM, "value": record.member_id}}
    if FHIR_ID.fullmatch(record.member_id):
        reference["reference"] = f"Patient/{record.member_id}"
    return reference


def _insurance(record: TreatmentRecord) -> dict[str, Any]:
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
    return insurance


def _extensions(record: TreatmentRecord) -> list[dict[str, Any]]:
    """``patient`` and ``extra`` as canonical JSON text, so that nothing is lost."""
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
    return extensions
