"""Eligibility: is a member covered on a day, and what is left of their benefits.

Read-only, from the chain: the member's enrolment and accumulators, the plan's terms (its
PlanCreated event) and the schedule version in force on the day (ScheduleVersion and
ServiceSet events). The denial is the one a claim for a service on that day would get
from the claim-level checks 5 to 8 of adjudication.md, in their order: 31 (not enrolled),
26 (before the plan's effective day or the coverage start), 27 (after the coverage end),
and 26 again inside the waiting period. Timely filing (check 9) is about when a claim is
sent, not about coverage, so it is not part of eligibility.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from claimsengine.days import day_of_timestamp, from_day, to_day
from claimsengine.errors import NotFound
from claimsengine.ids import bytes32_to_text, plan_id_problem, text_to_bytes32
from claimsengine.money import format_cents
from claimsengine.workspace import EngineReads, Workspace

__all__ = [
    "Eligibility",
    "EligibilityRequest",
    "LimitedService",
    "check_eligibility",
    "coverage_eligibility_response",
    "read_eligibility_request",
]

# The claim-level denials of adjudication.md (checks 5 to 8).
DENY_NOT_ENROLLED = "31"
DENY_BEFORE_COVERAGE = "26"
DENY_AFTER_COVERAGE = "27"


@dataclass(frozen=True)
class LimitedService:
    """A code with a period limit, in the schedule version in force on the day."""

    code: str
    max_units_per_period: int
    units_used: int

    @property
    def units_left(self) -> int:
        return max(self.max_units_per_period - self.units_used, 0)


@dataclass(frozen=True)
class Eligibility:
    """formats.md "Eligibility". Amounts are int cents; ``period`` and the amounts left are
    None on a day before the plan's effective day (no benefit period holds it), and
    ``benefit_left`` is None when the plan has no annual maximum."""

    plan_id: str
    member_id: str
    day: date
    denial: str | None
    period: int | None
    period_start: date | None
    period_end: date | None
    coverage_start: date | None
    coverage_end: date | None
    deductible: int
    out_of_pocket_max: int
    annual_benefit_max: int | None
    deductible_left: int | None
    out_of_pocket_left: int | None
    benefit_left: int | None
    limited: tuple[LimitedService, ...] = field(default_factory=tuple)

    @property
    def covered(self) -> bool:
        return self.denial is None

    @property
    def units_left(self) -> dict[str, int]:
        return {s.code: s.units_left for s in sorted(self.limited, key=lambda s: s.code)}

    def to_json(self) -> dict[str, Any]:
        def cents(value: int | None) -> str | None:
            return None if value is None else format_cents(value)

        return {
            "plan_id": self.plan_id,
            "member_id": self.member_id,
            "date": self.day.isoformat(),
            "covered": self.covered,
            "denial": self.denial,
            "period": self.period,
            "coverage_start": self.coverage_start.isoformat() if self.coverage_start else None,
            "coverage_end": self.coverage_end.isoformat() if self.coverage_end else None,
            "deductible_left": cents(self.deductible_left),
            "out_of_pocket_left": cents(self.out_of_pocket_left),
            "benefit_left": cents(self.benefit_left),
            "units_left": self.units_left,
        }


def check_eligibility(
    workspace: Workspace, plan_id: str, member_id: str, on: date | None = None
) -> Eligibility:
    """The member's eligibility in ``plan_id`` on ``on`` (default: the chain's today).
    Raises NotFound for an unknown plan, and when this workspace has no key for the plan.

    The engine's state comes from ``workspace.reads``: the engine's view calls, or, in a
    read-only workspace on the embedded chain, its storage read from the chain's file
    (engine_storage.py); the rules below are the same for both."""
    engine = workspace.reads
    plan_topic = text_to_bytes32(plan_id)
    created = engine.events("PlanCreated", plan_topic)[:1]
    if not created:
        raise NotFound(f"no plan {plan_id!r} on this chain", hint="deploy it with `claims deploy`")
    terms = created[0].args
    effective_day = int(terms["effective_day"])
    period_days = int(terms["benefit_period_days"])
    day = to_day(on) if on else day_of_timestamp(workspace.now())
    member = workspace.pseudonym_on(plan_id, member_id, day)
    enrolled, start, end, enrolled_period = engine.member(plan_id, member)

    denial: str | None = None
    # Check 5: the pseudonym must be enrolled for the day's own benefit period.
    if not enrolled or enrolled_period != workspace.periods(plan_id).of(day):
        denial = DENY_NOT_ENROLLED
    elif day < max(effective_day, start):
        denial = DENY_BEFORE_COVERAGE
    elif end is not None and day > end:
        denial = DENY_AFTER_COVERAGE
    elif day < start + int(terms["waiting_period_days"]):
        denial = DENY_BEFORE_COVERAGE

    deductible = int(terms["deductible"])
    oop_max = int(terms["out_of_pocket_max"])
    benefit_max = int(terms["annual_benefit_max"]) if terms["has_benefit_max"] else None
    period: int | None = None
    deductible_left = oop_left = benefit_left = None
    limited: tuple[LimitedService, ...] = ()
    first = 0
    if day >= effective_day:
        period = (day - effective_day) // period_days
        first = effective_day + period * period_days
        met, oop_met, used = engine.accumulators(plan_id, member, period)
        deductible_left = max(deductible - met, 0)
        oop_left = max(oop_max - oop_met, 0)
        benefit_left = None if benefit_max is None else max(benefit_max - used, 0)
        limited = tuple(
            LimitedService(
                code=code,
                max_units_per_period=int(service["max_units_per_period"]),
                units_used=engine.units_used(plan_id, member, period, code),
            )
            for code, service in _schedule_on(engine, plan_id, day).items()
            if int(service["max_units_per_period"]) != 0
        )
    return Eligibility(
        plan_id=plan_id,
        member_id=member_id,
        day=from_day(day),
        denial=denial,
        period=period,
        period_start=None if period is None else from_day(first),
        period_end=None if period is None else from_day(first + period_days - 1),
        coverage_start=from_day(start) if enrolled else None,
        coverage_end=from_day(end) if enrolled and end is not None else None,
        deductible=deductible,
        out_of_pocket_max=oop_max,
        annual_benefit_max=benefit_max,
        deductible_left=deductible_left,
        out_of_pocket_left=oop_left,
        benefit_left=benefit_left,
        limited=limited,
    )


def _schedule_on(engine: EngineReads, plan_id: str, day: int) -> dict[str, Any]:
    """The codes of the schedule version in force on ``day``, with their ServiceSet terms
    (the deployed schedule is version 0, in force from the plan's effective day)."""
    plan_topic = text_to_bytes32(plan_id)
    version = 0
    for event in engine.events("ScheduleVersion", plan_topic):
        if int(event.args["effective_day"]) <= day:
            version = max(version, int(event.args["version"]))
    services: dict[str, Any] = {}
    for event in engine.events("ServiceSet", plan_topic, None, version.to_bytes(32, "big")):
        services[bytes32_to_text(event.args["code"])] = event.args  # the last setting counts
    return services


# -- FHIR R4 (the R4B models of fhir.resources; these resources are the same in R4) -----------

BENEFIT_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/benefit-type"
BENEFIT_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/ex-benefitcategory"
ENGINE_BENEFIT_SYSTEM = "urn:claimsengine:benefit-type"
ELIGIBILITY_REQUEST_SYSTEM = "urn:claimsengine:eligibility-request"


def coverage_eligibility_response(
    eligibility: Eligibility,
    *,
    request: dict[str, Any] | None = None,
    created: date | None = None,
) -> dict[str, Any]:
    """The eligibility as a FHIR CoverageEligibilityResponse (validated with fhir.resources).

    ``insurance[0].inforce`` is ``covered``; its items give, for the plan as a whole
    (category 30, "Health Benefit Plan Coverage"), the deductible, the out-of-pocket
    maximum and the annual benefit maximum (allowedMoney) and what is used of them
    (usedMoney), and for each code with a period limit its units allowed and used. A
    denial is an ``error`` with its X12 reason code. ``request`` is the reference to the
    CoverageEligibilityRequest it answers (by default an identifier of plan/member/date);
    ``created`` the day it is answered (by default the day asked about).
    """
    from fhir.resources.R4B.coverageeligibilityresponse import CoverageEligibilityResponse

    from claimsengine.exports.fhir import CARC_SYSTEM, _concept, _money
    from claimsengine.records.fhir_fields import MEMBER_SYSTEM, PLAN_SYSTEM

    e = eligibility
    day = e.day.isoformat()
    coverage: dict[str, Any] = {"identifier": {"system": PLAN_SYSTEM, "value": e.plan_id}}
    if e.coverage_start is not None:
        end = e.coverage_end.isoformat() if e.coverage_end else "open-ended"
        coverage["display"] = f"coverage {e.coverage_start.isoformat()} to {end}"
    insurance: dict[str, Any] = {"coverage": coverage, "inforce": e.covered}
    if e.period_start is not None and e.period_end is not None:
        insurance["benefitPeriod"] = {
            "start": e.period_start.isoformat(),
            "end": e.period_end.isoformat(),
        }
    if e.period is not None:
        benefits = []
        for code, system, total, left in (
            ("deductible", BENEFIT_TYPE_SYSTEM, e.deductible, e.deductible_left),
            ("out-of-pocket", ENGINE_BENEFIT_SYSTEM, e.out_of_pocket_max, e.out_of_pocket_left),
            ("benefit", BENEFIT_TYPE_SYSTEM, e.annual_benefit_max, e.benefit_left),
        ):
            if total is None or left is None:
                continue  # no annual benefit maximum
            benefits.append(
                {
                    "type": _concept(system, code),
                    "allowedMoney": _money(total),
                    "usedMoney": _money(total - left),
                }
            )
        items: list[dict[str, Any]] = [
            {
                "category": _concept(BENEFIT_CATEGORY_SYSTEM, "30", "Health Benefit Plan Coverage"),
                "name": f"benefit period {e.period}",
                "benefit": benefits,
            }
        ]
        items += [
            {
                "productOrService": _concept("urn:claimsengine:service-code", s.code),
                "name": f"{s.code}: units per benefit period",
                "benefit": [
                    {
                        "type": _concept(ENGINE_BENEFIT_SYSTEM, "units"),
                        "allowedUnsignedInt": s.max_units_per_period,
                        "usedUnsignedInt": min(s.units_used, s.max_units_per_period),
                    }
                ],
            }
            for s in sorted(e.limited, key=lambda s: s.code)
        ]
        insurance["item"] = items
    resource: dict[str, Any] = {
        "resourceType": "CoverageEligibilityResponse",
        "status": "active",
        "purpose": ["benefits", "validation"],
        "patient": {"identifier": {"system": MEMBER_SYSTEM, "value": e.member_id}},
        "servicedDate": day,
        "created": (created or e.day).isoformat(),
        "request": request
        or {
            "identifier": {
                "system": ELIGIBILITY_REQUEST_SYSTEM,
                "value": f"{e.plan_id}/{e.member_id}/{day}",
            }
        },
        "outcome": "complete",
        "disposition": "covered" if e.covered else f"not covered: denial {e.denial}",
        "insurer": {"identifier": {"system": PLAN_SYSTEM, "value": e.plan_id}},
        "insurance": [insurance],
    }
    if e.denial is not None:
        resource["error"] = [{"code": _concept(CARC_SYSTEM, e.denial)}]
    # Validate: a resource the models refuse is a bug here, never output.
    CoverageEligibilityResponse.model_validate(resource)
    return resource


@dataclass(frozen=True)
class EligibilityRequest:
    """What a CoverageEligibilityRequest asks: a plan, a member, a day (None: today)."""

    plan_id: str
    member_id: str
    day: date | None
    reference: dict[str, Any]


def read_eligibility_request(
    path: str, *, default_plan: str | None = None, default_date: date | None = None
) -> EligibilityRequest:
    """Read a FHIR CoverageEligibilityRequest file (JSON).

    - member id: the patient, as for a Claim (identifier in urn:claimsengine:member, else
      the id of the referenced Patient);
    - plan id: ``insurance[].coverage.identifier`` in urn:claimsengine:plan, else
      ``insurer.identifier`` in that system, else ``default_plan``;
    - day: ``servicedDate``, else the start of ``servicedPeriod``, else ``default_date``.
    """
    import json

    from fhir.resources.R4B.coverageeligibilityrequest import CoverageEligibilityRequest
    from pydantic import ValidationError

    from claimsengine.errors import InputError, RecordError
    from claimsengine.records.fhir_fields import PLAN_SYSTEM
    from claimsengine.records.fhir_fields import member_id_of as _member_id

    try:
        with open(path, encoding="utf-8") as handle:
            raw = json.load(handle)
    except OSError as error:
        raise InputError(f"cannot read it: {error.strerror}", file=path) from None
    except json.JSONDecodeError as error:
        raise InputError(f"not JSON: {error.msg} (line {error.lineno})", file=path) from None
    if not isinstance(raw, dict) or raw.get("resourceType") != "CoverageEligibilityRequest":
        kind = raw.get("resourceType") if isinstance(raw, dict) else type(raw).__name__
        raise InputError(f"expected a CoverageEligibilityRequest, got {kind!r}", file=path)
    label = raw.get("id")

    def fail(message: str, where: str, hint: str | None = None) -> RecordError:
        return RecordError(message, file=path, record=label, field=where, hint=hint)

    try:
        model = CoverageEligibilityRequest.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise fail(str(first["msg"]), where) from None
    member_id = _member_id(model.patient, fail)
    plan_id, plan_field = default_plan, "insurance"
    identifiers = [
        ("insurance", i.coverage.identifier)
        for i in (model.insurance or [])
        if i.coverage is not None
    ] + [("insurer", model.insurer.identifier if model.insurer is not None else None)]
    for where, identifier in identifiers:
        if identifier is not None and identifier.system == PLAN_SYSTEM and identifier.value:
            plan_id, plan_field = identifier.value, where
            break
    if plan_id is None:
        raise fail(
            "no plan id: give the coverage or insurer an identifier in " + PLAN_SYSTEM,
            "insurance",
            hint="or name the plan: `claims eligibility PLAN_ID --request FILE`",
        )
    problem = plan_id_problem(plan_id)
    if problem is not None:
        raise fail(problem, plan_field)
    day = default_date
    if model.servicedDate is not None:
        day = _as_date(model.servicedDate)
    elif model.servicedPeriod is not None and model.servicedPeriod.start is not None:
        day = _as_date(model.servicedPeriod.start)
    reference: dict[str, Any] = (
        {"reference": f"CoverageEligibilityRequest/{model.id}"}
        if model.id
        else {"identifier": {"system": ELIGIBILITY_REQUEST_SYSTEM, "value": path}}
    )
    return EligibilityRequest(plan_id, member_id, day, reference)


def _as_date(value: Any) -> date:
    # The calendar day as written (a dateTime's own time zone), as for a Claim's dates.
    return date.fromisoformat(str(value)[:10])
