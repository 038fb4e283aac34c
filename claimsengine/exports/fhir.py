"""A reconciliation report as a FHIR R4B Bundle (type ``collection``) that validates with
the ``fhir.resources`` R4B models.

- One **ClaimResponse** and one **ExplanationOfBenefit** per claim of the report (every
  status). ``outcome`` is ``complete`` once adjudication is final (paid, queued, denied) and
  ``queued`` while a claim waits for review. Per item, the adjudication lists
  ``submitted`` (billed), ``eligible`` (allowed), ``deductible``, ``copay``, ``benefit``
  (plan paid), and one entry per adjustment with its X12 reason code (CARC) in ``reason``
  and its group (CO/PR) as the category, so the numbers balance as in the 835.
- One **PaymentReconciliation** per provider: what the plan paid it, with one ``detail``
  per paid claim pointing at its ClaimResponse, and the chain transaction that paid it.

No PHI: the patient is referred to by the on-chain member pseudonym, never a member id; the
record id (the hospital's own identifier, which never goes on-chain) names the request.
Amounts are JSON numbers with exactly 2 decimals (written from Decimal, never a float).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from claimsengine.adjudication import GROUP_CODES, LineAdjudication
from claimsengine.money import cents_to_decimal

if TYPE_CHECKING:
    from claimsengine.reconcile import OnChainClaim, ReconciliationReport

__all__ = ["CURRENCY", "bundle", "bundle_json", "dumps"]

CURRENCY = "USD"
# The engine's identifier systems (as in the FHIR input, claimsengine/records/fhir_fields.py).
PLAN_SYSTEM = "urn:claimsengine:plan"
PROVIDER_SYSTEM = "urn:claimsengine:provider"
RECORD_SYSTEM = "urn:claimsengine:record"
CLAIM_SYSTEM = "urn:claimsengine:claim"
PSEUDONYM_SYSTEM = "urn:claimsengine:member-pseudonym"
SERVICE_SYSTEM = "urn:claimsengine:service-code"
TRANSACTION_SYSTEM = "urn:claimsengine:transaction"
PAYEE_SYSTEM = "urn:claimsengine:payout-address"
ADJUSTMENT_GROUP_SYSTEM = "urn:claimsengine:adjustment-group"
CARC_SYSTEM = "https://x12.org/codes/claim-adjustment-reason-codes"
ADJUDICATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/adjudication"
CLAIM_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/claim-type"
PAYMENT_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/ex-paymenttype"
PAYMENT_DETAIL_SYSTEM = "http://terminology.hl7.org/CodeSystem/payment-type"

_NAMESPACE = uuid.UUID("1b4c3f8e-6d0a-5b6e-9c1f-2a7d0e3c5b91")
_GROUP_NAMES = {"CO": "contractual obligation", "PR": "patient responsibility"}
_DISPOSITIONS = {
    "paid": "paid",
    "queued": "approved; queued for payment",
    "pending_review": "pending review by an adjudicator",
    "denied": "denied",
}


# Codings and amounts repeat across a bundle, so each distinct one is built once and shared.
@lru_cache(maxsize=1 << 16)
def _money(cents: int) -> dict[str, Any]:
    return {"value": cents_to_decimal(cents), "currency": CURRENCY}


@lru_cache(maxsize=1 << 12)
def _concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def _identifier(system: str, value: str) -> dict[str, Any]:
    return {"system": system, "value": value}


def _ref(system: str, value: str) -> dict[str, Any]:
    return {"identifier": _identifier(system, value)}


def _fhir_id(text: str) -> str:
    """A FHIR id: up to 64 of [A-Za-z0-9-.]."""
    return re.sub(r"[^A-Za-z0-9.-]", "-", text)[:64]


def _full_url(kind: str, key: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{kind}/{key}')}"


def _adjudication(
    line: LineAdjudication, adjustments: tuple[tuple[int, int], ...]
) -> list[dict[str, Any]]:
    entries = [
        {"category": _concept(ADJUDICATION_SYSTEM, "submitted"), "amount": _money(line.billed)},
        {"category": _concept(ADJUDICATION_SYSTEM, "eligible"), "amount": _money(line.allowed)},
    ]
    if line.deductible:
        entries.append(
            {
                "category": _concept(ADJUDICATION_SYSTEM, "deductible"),
                "amount": _money(line.deductible),
            }
        )
    if line.copay:
        entries.append(
            {"category": _concept(ADJUDICATION_SYSTEM, "copay"), "amount": _money(line.copay)}
        )
    for code, cents in adjustments:
        group = GROUP_CODES[code]
        entries.append(
            {
                "category": _concept(ADJUSTMENT_GROUP_SYSTEM, group, _GROUP_NAMES[group]),
                "reason": _concept(CARC_SYSTEM, str(code)),
                "amount": _money(cents),
            }
        )
    entries.append(
        {"category": _concept(ADJUDICATION_SYSTEM, "benefit"), "amount": _money(line.plan_paid)}
    )
    return entries


def _totals(claim: OnChainClaim) -> list[dict[str, Any]]:
    return [
        {"category": _concept(ADJUDICATION_SYSTEM, "submitted"), "amount": _money(claim.billed)},
        {"category": _concept(ADJUDICATION_SYSTEM, "eligible"), "amount": _money(claim.allowed)},
        {"category": _concept(ADJUDICATION_SYSTEM, "benefit"), "amount": _money(claim.plan_paid)},
    ]


def _payment(claim: OnChainClaim, day: str) -> dict[str, Any] | None:
    if claim.status != "paid":
        return None
    payment: dict[str, Any] = {
        "type": _concept(PAYMENT_TYPE_SYSTEM, "complete"),
        "date": day,
        "amount": _money(claim.paid),
    }
    if claim.paid_tx:
        payment["identifier"] = _identifier(TRANSACTION_SYSTEM, "0x" + claim.paid_tx.hex())
    return payment


def _common(report: ReconciliationReport, claim: OnChainClaim, day: str) -> dict[str, Any]:
    """The fields ClaimResponse and ExplanationOfBenefit share."""
    fields: dict[str, Any] = {
        "identifier": [_identifier(CLAIM_SYSTEM, str(claim.claim_id))],
        "status": "active",
        "type": _concept(CLAIM_TYPE_SYSTEM, "institutional"),
        "use": "claim",
        "patient": _ref(PSEUDONYM_SYSTEM, "0x" + claim.member.hex()),
        "created": day,
        "insurer": _ref(PLAN_SYSTEM, report.plan_id),
        "outcome": "queued" if claim.status == "pending_review" else "complete",
        "disposition": _DISPOSITIONS[claim.status],
    }
    return fields


def _claim_response(report: ReconciliationReport, claim: OnChainClaim, day: str) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "ClaimResponse",
        "id": f"claim-{claim.claim_id}-response",
        **_common(report, claim, day),
        "requestor": _ref(PROVIDER_SYSTEM, claim.provider),
    }
    record_id = report.record_id_of(claim)
    if record_id is not None:
        resource["request"] = _ref(RECORD_SYSTEM, record_id)
    resource["item"] = [
        {"itemSequence": number, "adjudication": _adjudication(line, cuts)}
        for number, (line, cuts) in enumerate(
            zip(claim.lines, claim.line_adjustments, strict=True), start=1
        )
    ]
    resource["total"] = _totals(claim)
    payment = _payment(claim, day)
    if payment is not None:
        resource["payment"] = payment
    return resource


def _explanation(
    report: ReconciliationReport, claim: OnChainClaim, day: str, response_url: str
) -> dict[str, Any]:
    service = claim.service_date.isoformat()
    resource: dict[str, Any] = {
        "resourceType": "ExplanationOfBenefit",
        "id": f"claim-{claim.claim_id}-eob",
        **_common(report, claim, day),
        "billablePeriod": {"start": service, "end": service},
        "provider": _ref(PROVIDER_SYSTEM, claim.provider),
    }
    record_id = report.record_id_of(claim)
    if record_id is not None:
        resource["claim"] = _ref(RECORD_SYSTEM, record_id)
    resource["claimResponse"] = {"reference": response_url}
    resource["insurance"] = [{"focal": True, "coverage": _ref(PLAN_SYSTEM, report.plan_id)}]
    resource["item"] = [
        {
            "sequence": number,
            "productOrService": _concept(SERVICE_SYSTEM, line.code),
            "servicedDate": service,
            "quantity": {"value": line.units},
            "net": _money(line.billed),
            "adjudication": _adjudication(line, cuts),
        }
        for number, (line, cuts) in enumerate(
            zip(claim.lines, claim.line_adjustments, strict=True), start=1
        )
    ]
    resource["total"] = _totals(claim)
    payment = _payment(claim, day)
    if payment is not None:
        resource["payment"] = payment
    return resource


def _reconciliation(
    report: ReconciliationReport,
    provider: str,
    claims: Iterable[OnChainClaim],
    response_urls: dict[int, str],
    day: str,
) -> dict[str, Any]:
    paid = [c for c in claims if c.status == "paid"]
    details = []
    for claim in paid:
        detail: dict[str, Any] = {
            "type": _concept(PAYMENT_DETAIL_SYSTEM, "payment"),
            "response": {"reference": response_urls[claim.claim_id]},
            "payee": _ref(PROVIDER_SYSTEM, provider),
            "date": day,
            "amount": _money(claim.paid),
        }
        if claim.paid_tx:
            detail["identifier"] = _identifier(TRANSACTION_SYSTEM, "0x" + claim.paid_tx.hex())
        record_id = report.record_id_of(claim)
        if record_id is not None:
            detail["request"] = _ref(RECORD_SYSTEM, record_id)
        details.append(detail)
    resource: dict[str, Any] = {
        "resourceType": "PaymentReconciliation",
        "id": _fhir_id(f"payments-{provider}"),
        "status": "active",
        "created": day,
        "paymentIssuer": _ref(PLAN_SYSTEM, report.plan_id),
        "outcome": "complete",
        "disposition": f"{len(paid)} paid claims of plan {report.plan_id}",
        "paymentDate": day,
        "paymentAmount": _money(sum(c.paid for c in paid)),
    }
    payees = sorted({c.payee for c in paid if c.payee})
    if len(payees) == 1:
        resource["paymentIdentifier"] = _identifier(PAYEE_SYSTEM, payees[0])
    if details:
        resource["detail"] = details
    return resource


def bundle(report: ReconciliationReport) -> dict[str, Any]:
    """The report as a FHIR Bundle: a dict in which amounts are Decimal. Identical codings
    and amounts are one shared object: copy the dict before changing it."""
    day = report.today_date.isoformat()
    entries: list[dict[str, Any]] = []
    response_urls: dict[int, str] = {}
    by_provider: dict[str, list[OnChainClaim]] = {}
    key = report.plan_id
    for claim in report.claims:
        response_url = _full_url("ClaimResponse", f"{key}/{claim.claim_id}")
        response_urls[claim.claim_id] = response_url
        by_provider.setdefault(claim.provider, []).append(claim)
        entries.append({"fullUrl": response_url, "resource": _claim_response(report, claim, day)})
        entries.append(
            {
                "fullUrl": _full_url("ExplanationOfBenefit", f"{key}/{claim.claim_id}"),
                "resource": _explanation(report, claim, day, response_url),
            }
        )
    for provider in sorted(by_provider):
        entries.append(
            {
                "fullUrl": _full_url("PaymentReconciliation", f"{key}/{provider}"),
                "resource": _reconciliation(
                    report, provider, by_provider[provider], response_urls, day
                ),
            }
        )
    return {
        "resourceType": "Bundle",
        "id": _fhir_id(f"reconciliation-{report.plan_id}"),
        "type": "collection",
        "timestamp": f"{day}T00:00:00Z",
        "entry": entries,
    }


def dumps(value: Any, indent: int = 2) -> str:
    """JSON text in which a Decimal is written as the number it is ("95.00"), never through
    a float (``json`` itself cannot write a Decimal as a number)."""
    parts: list[str] = []
    encode = json.encoder.encode_basestring_ascii  # what json.dumps uses for str

    def write(item: Any, level: int) -> None:
        if isinstance(item, str):
            parts.append(encode(item))
        elif isinstance(item, Decimal):
            parts.append(format(item, "f"))
        elif isinstance(item, dict):
            if not item:
                parts.append("{}")
                return
            inner = "\n" + " " * (indent * (level + 1))
            parts.append("{")
            for number, (key, child) in enumerate(item.items()):
                parts.append(("," if number else "") + inner + encode(str(key)) + ": ")
                write(child, level + 1)
            parts.append("\n" + " " * (indent * level) + "}")
        elif isinstance(item, list | tuple):
            if not item:
                parts.append("[]")
                return
            inner = "\n" + " " * (indent * (level + 1))
            parts.append("[")
            for number, child in enumerate(item):
                parts.append(("," if number else "") + inner)
                write(child, level + 1)
            parts.append("\n" + " " * (indent * level) + "]")
        else:
            parts.append(json.dumps(item))

    write(value, 0)
    return "".join(parts)


def bundle_json(report: ReconciliationReport) -> str:
    """The Bundle as JSON text."""
    return dumps(bundle(report)) + "\n"
