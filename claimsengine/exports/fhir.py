"""A reconciliation report as a FHIR R4B Bundle (type ``collection``) in which every
resource validates with the ``fhir.resources`` R4B models and every reference resolves to
an entry of the bundle (``urn:uuid:`` full URLs).

- One **Organization** for the payer: the plan's ``payer`` block (name, id, address, the
  claims contact and its phone or email), or, for a plan deployed without one, the plan id
  alone. One **Organization** per provider, identified by its provider id and its NPI
  (``http://hl7.org/fhir/sid/us-npi``) when it has one.
- One **Patient** per member pseudonym, and one **Coverage** of it by the plan (payor: the
  payer): the patient is the on-chain pseudonym, with no name and no member id.
- One **ClaimResponse** and one **ExplanationOfBenefit** per claim of the report (every
  status). ``outcome`` is ``complete`` once adjudication is final (paid, queued, denied) and
  ``queued`` while a claim waits for review. Per item, the adjudication lists
  ``submitted`` (billed), ``eligible`` (allowed), ``deductible``, ``copay``, ``benefit``
  (plan paid), and one entry per adjustment with its X12 reason code (CARC) in ``reason``
  and its group (CO/PR) as the category, so the numbers balance as in the 835. A claim
  denied in review has every item denied under the review's reason code (CO 50 by default).
  The record id (the hospital's own identifier, which never goes on-chain) is the second
  identifier, beside the on-chain claim id.
- A **voided** claim's ClaimResponse and ExplanationOfBenefit have ``status: cancelled``
  (R4: "the instance is withdrawn, rescinded or reversed") and keep ``outcome: complete``
  (it was adjudicated; the void is the provider's, not a processing error); the disposition
  says what it was, what its payment became and what replaced it. A correction's
  ExplanationOfBenefit names the claim it replaced in ``related`` (relationship ``prior``).
- One **PaymentReconciliation** per provider: what the plan paid it, with one ``detail``
  per payment (a claim voided after payment too: that money moved) pointing at its
  ClaimResponse, and the chain transaction that paid it (a payment the token refused and
  the engine credited has no transaction; the disposition says how much was credited); and
  one negative ``adjustment`` detail per amount kept back for the provider's debt, so the
  details add up to ``paymentAmount``.

Amounts are JSON numbers with exactly 2 decimals (written from Decimal, never a float).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from claimsengine.adjudication import LineAdjudication
from claimsengine.exports.groups import adjustment_group
from claimsengine.money import cents_to_decimal, format_cents

if TYPE_CHECKING:
    from claimsengine.payer import Payer
    from claimsengine.reconcile import DebtRecovery, OnChainClaim, ReconciliationReport

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
PAYER_SYSTEM = "urn:claimsengine:payer"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
ORGANIZATION_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/organization-type"
CONTACT_PURPOSE_SYSTEM = "http://terminology.hl7.org/CodeSystem/contactentity-type"
ADJUSTMENT_GROUP_SYSTEM = "urn:claimsengine:adjustment-group"
CARC_SYSTEM = "https://x12.org/codes/claim-adjustment-reason-codes"
ADJUDICATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/adjudication"
CLAIM_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/claim-type"
PAYMENT_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/ex-paymenttype"
PAYMENT_DETAIL_SYSTEM = "http://terminology.hl7.org/CodeSystem/payment-type"
RELATED_CLAIM_SYSTEM = "http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship"

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


def _ref(url: str) -> dict[str, Any]:
    """A reference to an entry of the bundle, by its full URL."""
    return {"reference": url}


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
        group = adjustment_group(code)
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


@dataclass(frozen=True)
class _Parties:
    """The full URLs of the bundle's parties: the payer, each provider, each patient (by
    pseudonym) and each patient's coverage."""

    payer: str
    providers: dict[str, str]
    patients: dict[bytes, str]
    coverages: dict[bytes, str]


def _disposition(claim: OnChainClaim) -> str:
    if claim.status == "voided":
        words = f"voided by the provider (was {str(claim.voided_from).replace('_', ' ')})"
        if claim.reversed:
            words += (
                f"; payment {format_cents(claim.paid)} reversed as the provider's debt, "
                f"{format_cents(claim.recovered)} of it recovered"
            )
        if claim.replaced_by is not None:
            words += f"; replaced by claim {claim.replaced_by}"
        return words
    if claim.review_reason is not None:
        words = f"denied in review (reason {claim.review_reason})"
    else:
        words = _DISPOSITIONS[claim.status]
    if claim.replaces is not None:
        words += f"; replaces claim {claim.replaces}"
    return words


def _common(
    report: ReconciliationReport, claim: OnChainClaim, day: str, parties: _Parties
) -> dict[str, Any]:
    """The fields ClaimResponse and ExplanationOfBenefit share."""
    identifiers = [_identifier(CLAIM_SYSTEM, str(claim.claim_id))]
    record_id = report.record_id_of(claim)
    if record_id is not None:
        identifiers.append(_identifier(RECORD_SYSTEM, record_id))
    return {
        "identifier": identifiers,
        # A voided claim's response is withdrawn: R4 gives `cancelled` for exactly that.
        "status": "cancelled" if claim.status == "voided" else "active",
        "type": _concept(CLAIM_TYPE_SYSTEM, "institutional"),
        "use": "claim",
        "patient": _ref(parties.patients[claim.member]),
        "created": day,
        "insurer": _ref(parties.payer),
        "outcome": "queued" if claim.status == "pending_review" else "complete",
        "disposition": _disposition(claim),
    }


def _claim_response(
    report: ReconciliationReport, claim: OnChainClaim, day: str, parties: _Parties
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "ClaimResponse",
        "id": f"claim-{claim.claim_id}-response",
        **_common(report, claim, day, parties),
        "requestor": _ref(parties.providers[claim.provider]),
    }
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
    report: ReconciliationReport,
    claim: OnChainClaim,
    day: str,
    response_url: str,
    parties: _Parties,
) -> dict[str, Any]:
    service = claim.service_date.isoformat()
    resource: dict[str, Any] = {
        "resourceType": "ExplanationOfBenefit",
        "id": f"claim-{claim.claim_id}-eob",
        **_common(report, claim, day, parties),
        "billablePeriod": {"start": service, "end": service},
        "provider": _ref(parties.providers[claim.provider]),
    }
    resource["claimResponse"] = _ref(response_url)
    if claim.replaces is not None:
        resource["related"] = [
            {
                "relationship": _concept(RELATED_CLAIM_SYSTEM, "prior", "Prior Claim"),
                "reference": _identifier(CLAIM_SYSTEM, str(claim.replaces)),
            }
        ]
    resource["insurance"] = [{"focal": True, "coverage": _ref(parties.coverages[claim.member])}]
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
    parties: _Parties,
) -> dict[str, Any]:
    """What the plan paid the provider: one ``payment`` detail per payment made (a voided
    claim's too: the money moved), and one negative ``adjustment`` detail per amount kept
    back for the provider's debt, so that the details add up to ``paymentAmount``."""
    paid = [c for c in claims if c.status == "paid" or c.reversed]
    details = []
    for claim in paid:
        detail: dict[str, Any] = {
            "type": _concept(PAYMENT_DETAIL_SYSTEM, "payment"),
            "response": _ref(response_urls[claim.claim_id]),
            "payee": _ref(parties.providers[provider]),
            "date": day,
            "amount": _money(claim.paid),
        }
        if claim.paid_tx:
            detail["identifier"] = _identifier(TRANSACTION_SYSTEM, "0x" + claim.paid_tx.hex())
        details.append(detail)
    kept = [r for r in report.recoveries if r.provider_id == provider]
    details.extend(
        _kept_back(recovery, parties.providers[provider], response_urls, day) for recovery in kept
    )
    resource: dict[str, Any] = {
        "resourceType": "PaymentReconciliation",
        "id": _fhir_id(f"payments-{provider}"),
        "status": "active",
        "created": day,
        "paymentIssuer": _ref(parties.payer),
        "outcome": "complete",
        "disposition": _payment_disposition(report.plan_id, paid, kept),
        "paymentDate": day,
        "paymentAmount": _money(sum(c.paid for c in paid) - sum(r.amount for r in kept)),
    }
    payees = sorted({c.payee for c in paid if c.payee})
    if len(payees) == 1:
        resource["paymentIdentifier"] = _identifier(PAYEE_SYSTEM, payees[0])
    if details:
        resource["detail"] = details
    return resource


def _kept_back(
    recovery: DebtRecovery, payee: str, response_urls: dict[int, str], day: str
) -> dict[str, Any]:
    """A negative ``adjustment`` detail: what a payment (the claim's, when it names one) kept
    back for the provider's debt."""
    adjustment: dict[str, Any] = {
        "identifier": _identifier(TRANSACTION_SYSTEM, "0x" + recovery.tx_hash.hex()),
        "type": _concept(PAYMENT_DETAIL_SYSTEM, "adjustment"),
        "payee": _ref(payee),
        "date": day,
        "amount": _money(-recovery.amount),
    }
    if recovery.claim_id in response_urls:
        adjustment["response"] = _ref(response_urls[recovery.claim_id])
    return adjustment


def _payment_disposition(
    plan_id: str, paid: Sequence[OnChainClaim], kept: Sequence[DebtRecovery]
) -> str:
    live = sum(1 for c in paid if not c.reversed)
    words = f"{live} paid claims of plan {plan_id}"
    credited = sum(c.credited for c in paid)
    if credited:
        words += (
            f"; {format_cents(credited)} of it credited in the engine (the token refused the "
            "transfer), for the provider to collect"
        )
    reversed_ = [c for c in paid if c.reversed]
    if reversed_ or kept:
        debt = sum(c.debt for c in reversed_)
        recovered = sum(r.amount for r in kept)
        words += (
            f"; {len(reversed_)} voided after payment, {format_cents(debt)} reversed as the "
            f"provider's debt; {format_cents(recovered)} kept back from payments for it"
        )
    return words


def _payer_organization(plan_id: str, payer: Payer | None) -> dict[str, Any]:
    """The payer as an Organization: the plan's payer block, or the plan id alone."""
    resource: dict[str, Any] = {
        "resourceType": "Organization",
        "id": "payer",
        "identifier": [_identifier(PLAN_SYSTEM, plan_id)],
        "active": True,
        "type": [_concept(ORGANIZATION_TYPE_SYSTEM, "pay", "Payer")],
        "name": plan_id,
    }
    if payer is None:
        return resource
    resource["identifier"].append(_identifier(PAYER_SYSTEM, payer.id))
    resource["name"] = payer.name
    telecom = []
    if payer.contact.phone is not None:
        telecom.append({"system": "phone", "value": payer.contact.phone, "use": "work"})
    if payer.contact.email is not None:
        telecom.append({"system": "email", "value": payer.contact.email, "use": "work"})
    lines = [payer.address.line, *([payer.address.line2] if payer.address.line2 else [])]
    address = {
        "use": "work",
        "type": "postal",
        "line": lines,
        "city": payer.address.city,
        "state": payer.address.state,
        "postalCode": payer.address.zip,
        "country": "US",
    }
    resource["telecom"] = telecom
    resource["address"] = [address]
    resource["contact"] = [
        {
            "purpose": _concept(CONTACT_PURPOSE_SYSTEM, "PAYOR", "Payor"),
            "name": {"text": payer.contact.name},
            "telecom": telecom,
        }
    ]
    return resource


def _provider_organization(provider: str, npi: str | None) -> dict[str, Any]:
    identifiers = [_identifier(PROVIDER_SYSTEM, provider)]
    if npi is not None:
        identifiers.insert(0, _identifier(NPI_SYSTEM, npi))
    return {
        "resourceType": "Organization",
        "id": _fhir_id(f"provider-{provider}"),
        "identifier": identifiers,
        "active": True,
        "type": [_concept(ORGANIZATION_TYPE_SYSTEM, "prov", "Healthcare Provider")],
        "name": provider,
    }


def bundle(report: ReconciliationReport) -> dict[str, Any]:
    """The report as a FHIR Bundle: a dict in which amounts are Decimal. Identical codings
    and amounts are one shared object: copy the dict before changing it."""
    day = report.today_date.isoformat()
    key = report.plan_id
    by_provider: dict[str, list[OnChainClaim]] = {}
    members: dict[bytes, None] = {}
    for claim in report.claims:
        by_provider.setdefault(claim.provider, []).append(claim)
        members.setdefault(claim.member)
    parties = _Parties(
        payer=_full_url("Organization", f"{key}/payer"),
        providers={p: _full_url("Organization", f"{key}/provider/{p}") for p in by_provider},
        patients={m: _full_url("Patient", f"{key}/{m.hex()}") for m in members},
        coverages={m: _full_url("Coverage", f"{key}/{m.hex()}") for m in members},
    )
    entries = _party_entries(report, sorted(by_provider), list(members), parties)
    response_urls: dict[int, str] = {}
    for claim in report.claims:
        response_url = _full_url("ClaimResponse", f"{key}/{claim.claim_id}")
        response_urls[claim.claim_id] = response_url
        entries.append(
            {"fullUrl": response_url, "resource": _claim_response(report, claim, day, parties)}
        )
        entries.append(
            {
                "fullUrl": _full_url("ExplanationOfBenefit", f"{key}/{claim.claim_id}"),
                "resource": _explanation(report, claim, day, response_url, parties),
            }
        )
    for provider in sorted(by_provider):
        entries.append(
            {
                "fullUrl": _full_url("PaymentReconciliation", f"{key}/{provider}"),
                "resource": _reconciliation(
                    report, provider, by_provider[provider], response_urls, day, parties
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


def _party_entries(
    report: ReconciliationReport,
    providers: list[str],
    members: list[bytes],
    parties: _Parties,
) -> list[dict[str, Any]]:
    """The bundle's first entries: the payer, each provider, and each member as a Patient
    (its pseudonym only) with its Coverage by the plan."""
    key = report.plan_id
    entries: list[dict[str, Any]] = [
        {"fullUrl": parties.payer, "resource": _payer_organization(key, report.payer)}
    ]
    for provider in providers:
        entries.append(
            {
                "fullUrl": parties.providers[provider],
                "resource": _provider_organization(provider, report.npis.get(provider)),
            }
        )
    for number, member in enumerate(members, start=1):
        pseudonym = _identifier(PSEUDONYM_SYSTEM, "0x" + member.hex())
        entries.append(
            {
                "fullUrl": parties.patients[member],
                "resource": {"resourceType": "Patient", "id": f"patient-{number}",
                             "identifier": [pseudonym]},
            }
        )  # fmt: skip
        entries.append(
            {
                "fullUrl": parties.coverages[member],
                "resource": {
                    "resourceType": "Coverage",
                    "id": f"coverage-{number}",
                    "identifier": [_identifier(PLAN_SYSTEM, key)],
                    "status": "active",
                    "beneficiary": _ref(parties.patients[member]),
                    "payor": [_ref(parties.payer)],
                },
            }
        )
    return entries


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
