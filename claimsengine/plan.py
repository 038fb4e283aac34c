"""Plans: the insurer's YAML (formats.md, "Plan") as validated, typed ``Plan`` / ``Service``.

Every money value is int cents and the coinsurance is basis points, so what the adjudicator
and the contract read is exact. Validation is strict, because a plan sets how money moves:
an unknown key (a typo such as ``copy:``), a duplicated key or an unquoted code that YAML
turned into a number is an error, never silently ignored. Each error names the file and the
field, e.g. ``silver.yaml: field services[2].allowed: ...`` (list indexes count from 0).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import Any, TypeVar

import yaml

from claimsengine.days import to_day
from claimsengine.errors import PlanError
from claimsengine.fieldreader import FieldReader, describe
from claimsengine.ids import CODE, MAX_CODE_LENGTH, MAX_PLAN_ID_LENGTH, PLAN_ID, PLAN_ID_RULE
from claimsengine.money import format_cents, parse_percent_bps
from claimsengine.payer import Payer, payer_from_dict, payer_to_dict
from claimsengine.yamlfile import StrictLoader, describe_yaml_error, read_text

__all__ = [
    "DEV_TOKEN",
    "MAX_CODE_LENGTH",
    "MAX_PLAN_ID_LENGTH",
    "Plan",
    "Service",
    "load_plan",
    "plan_from_dict",
    "plan_to_dict",
]

_T = TypeVar("_T")

DEV_TOKEN = "dev"

_HEX_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")

_PLAN_KEYS = (
    "id",
    "name",
    "token",
    "effective_date",
    "benefit_period_days",
    "deductible",
    "out_of_pocket_max",
    "coinsurance",
    "annual_benefit_max",
    "waiting_period_days",
    "timely_filing_days",
    "auto_approve_limit",
    "provider_daily_limit",
    "review_quorum",
    "services",
    "payer",
)
_OPTIONAL_PLAN_KEYS = frozenset(
    {"annual_benefit_max", "provider_daily_limit", "review_quorum", "payer"}
)
#: Adjudicators a plan may require to decide a claim in review (a 5-bit field on-chain).
MAX_REVIEW_QUORUM = 31
_SERVICE_KEYS = (
    "code",
    "description",
    "allowed",
    "copay",
    "deductible_applies",
    "max_units_per_day",
    "max_units_per_period",
    "prior_auth",
)
_REQUIRED_SERVICE_KEYS = frozenset({"code", "allowed"})


@dataclass(frozen=True)
class Service:
    """One entry of the fee schedule. Money is int cents; ``fee`` is per unit (YAML ``allowed``)."""

    code: str
    description: str
    fee: int
    copay: int | None = None
    deductible_applies: bool = True
    max_units_per_day: int | None = None
    max_units_per_period: int | None = None
    prior_auth: bool = False


@dataclass(frozen=True)
class Plan:
    """A validated plan. Money is int cents, ``coinsurance_bps`` is basis points (20% = 2000)."""

    id: str
    name: str
    token: str  # "dev" or a checksummed ERC-20 address
    effective_date: date
    benefit_period_days: int
    deductible: int
    out_of_pocket_max: int
    coinsurance_bps: int
    annual_benefit_max: int | None  # None: no limit
    waiting_period_days: int
    timely_filing_days: int
    auto_approve_limit: int
    services: tuple[Service, ...]
    provider_daily_limit: int | None = None  # None: no limit
    payer: Payer | None = None  # off-chain: who pays, for remittance (payer.py)
    review_quorum: int = 1  # distinct adjudicators who approve (or deny) a claim in review

    @property
    def effective_day(self) -> int:
        """The effective date as an on-chain day number."""
        return to_day(self.effective_date)

    @cached_property
    def _services_by_code(self) -> dict[str, Service]:
        # Frozen, so the index never goes stale; built once per plan.
        return {service.code: service for service in self.services}

    def service(self, code: str) -> Service | None:
        """The fee-schedule entry for ``code``, or None when the plan does not cover it."""
        return self._services_by_code.get(code)


def load_plan(path: str | os.PathLike[str]) -> Plan:
    """Read and validate a plan YAML file; ``PlanError`` names the file and the field."""
    source = os.fspath(path)
    text = read_text(source, "plan file", lambda message: PlanError(message, file=source))
    try:
        data = yaml.load(text, Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        raise PlanError(f"not valid YAML: {describe_yaml_error(error)}", file=source) from None
    return plan_from_dict(data, source=source)


def plan_from_dict(data: Any, *, source: str) -> Plan:
    """Validate a plan as parsed from YAML (or built in code); ``source`` names it in errors."""
    check = FieldReader(PlanError, file=source)
    if not isinstance(data, Mapping):
        check.fail(None, "a plan must be a mapping of keys (id, name, token, ...)")
    check.mapping(data, None, _PLAN_KEYS, required=set(_PLAN_KEYS) - _OPTIONAL_PLAN_KEYS)

    plan_id = data["id"]
    if not isinstance(plan_id, str) or not PLAN_ID.fullmatch(plan_id):
        check.fail(
            "id",
            f"plan id {plan_id!r} must be {PLAN_ID_RULE}",
            hint="quote it if YAML reads it as a number",
        )
    name = data["name"]
    if not isinstance(name, str) or not name.strip():
        check.fail("name", f"expected a non-empty name, got {describe(name)}")

    token = _token(check, data["token"])
    effective_date = check.date_value(data["effective_date"], "effective_date")
    benefit_period_days = check.count(data["benefit_period_days"], "benefit_period_days", minimum=1)
    deductible = check.amount(data["deductible"], "deductible")
    out_of_pocket_max = check.amount(data["out_of_pocket_max"], "out_of_pocket_max")
    coinsurance_bps = check.parsed(
        lambda: parse_percent_bps(data["coinsurance"], field="coinsurance")
    )
    annual_benefit_max = None
    if data.get("annual_benefit_max") is not None:
        annual_benefit_max = check.amount(data["annual_benefit_max"], "annual_benefit_max")
    waiting_period_days = check.count(data["waiting_period_days"], "waiting_period_days", minimum=0)
    timely_filing_days = check.count(data["timely_filing_days"], "timely_filing_days", minimum=0)
    auto_approve_limit = check.amount(data["auto_approve_limit"], "auto_approve_limit")
    provider_daily_limit = None
    if data.get("provider_daily_limit") is not None:
        provider_daily_limit = check.amount(data["provider_daily_limit"], "provider_daily_limit")
    review_quorum = 1
    if data.get("review_quorum") is not None:
        review_quorum = check.count(data["review_quorum"], "review_quorum", minimum=1)
        if review_quorum > MAX_REVIEW_QUORUM:
            check.fail(
                "review_quorum",
                f"must be at most {MAX_REVIEW_QUORUM} adjudicators, got {review_quorum}",
            )

    raw_services = data["services"]
    if not isinstance(raw_services, list) or not raw_services:
        check.fail("services", "expected a list of at least one service (the fee schedule)")
    services: list[Service] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_services):
        service = _service_from_dict(check, raw, f"services[{index}]")
        if service.code in seen:
            check.fail(
                f"services[{index}].code",
                f"code {service.code!r} is already listed at services[{seen[service.code]}]",
            )
        seen[service.code] = index
        services.append(service)

    return Plan(
        id=plan_id,
        name=name,
        token=token,
        effective_date=effective_date,
        benefit_period_days=benefit_period_days,
        deductible=deductible,
        out_of_pocket_max=out_of_pocket_max,
        coinsurance_bps=coinsurance_bps,
        annual_benefit_max=annual_benefit_max,
        waiting_period_days=waiting_period_days,
        timely_filing_days=timely_filing_days,
        auto_approve_limit=auto_approve_limit,
        services=tuple(services),
        provider_daily_limit=provider_daily_limit,
        payer=None if data.get("payer") is None else payer_from_dict(data["payer"], check),
        review_quorum=review_quorum,
    )


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The plan as formats.md writes it: ``plan_from_dict(plan_to_dict(p), ...) == p``.

    Plain str/int/bool values only, so it dumps to YAML or JSON as it is.
    """
    data: dict[str, Any] = {
        "id": plan.id,
        "name": plan.name,
        "token": plan.token,
        "effective_date": plan.effective_date.isoformat(),
        "benefit_period_days": plan.benefit_period_days,
        "deductible": format_cents(plan.deductible),
        "out_of_pocket_max": format_cents(plan.out_of_pocket_max),
        "coinsurance": _format_percent(plan.coinsurance_bps),
    }
    if plan.annual_benefit_max is not None:
        data["annual_benefit_max"] = format_cents(plan.annual_benefit_max)
    data["waiting_period_days"] = plan.waiting_period_days
    data["timely_filing_days"] = plan.timely_filing_days
    data["auto_approve_limit"] = format_cents(plan.auto_approve_limit)
    if plan.provider_daily_limit is not None:
        data["provider_daily_limit"] = format_cents(plan.provider_daily_limit)
    if plan.review_quorum != 1:
        data["review_quorum"] = plan.review_quorum
    data["services"] = [_service_to_dict(service) for service in plan.services]
    if plan.payer is not None:
        data["payer"] = payer_to_dict(plan.payer)
    return data


def _service_to_dict(service: Service) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "code": service.code,
        "description": service.description,
        "allowed": format_cents(service.fee),
    }
    if service.copay is not None:
        entry["copay"] = format_cents(service.copay)
    entry["deductible_applies"] = service.deductible_applies
    if service.max_units_per_day is not None:
        entry["max_units_per_day"] = service.max_units_per_day
    if service.max_units_per_period is not None:
        entry["max_units_per_period"] = service.max_units_per_period
    entry["prior_auth"] = service.prior_auth
    return entry


def _format_percent(bps: int) -> int | str:
    # Whole percentages stay ints (20); others are exact strings ("12.5"), never floats.
    whole, part = divmod(bps, 100)
    if part == 0:
        return whole
    return str(Decimal(bps).scaleb(-2).normalize())


def _service_from_dict(check: FieldReader, raw: Any, path: str) -> Service:
    if not isinstance(raw, Mapping):
        check.fail(path, "a service must be a mapping with at least code and allowed")
    check.mapping(raw, path, _SERVICE_KEYS, required=_REQUIRED_SERVICE_KEYS)
    code = raw["code"]
    if not isinstance(code, str):
        check.fail(
            f"{path}.code",
            f"code {code!r} must be a string",
            hint='quote it ("0140"): YAML reads unquoted digits as a number and may change them',
        )
    if not CODE.fullmatch(code):
        # The records' rule: a code a record cannot carry is a code no claim can bill.
        check.fail(
            f"{path}.code",
            f"code {code!r} must be 1-32 printable ASCII characters, with no spaces",
        )
    description = raw.get("description", "")
    if description is None:
        description = ""
    if not isinstance(description, str):
        check.fail(f"{path}.description", f"expected text, got {describe(description)}")
    copay = raw.get("copay")
    return Service(
        code=code,
        description=description,
        fee=check.amount(raw["allowed"], f"{path}.allowed"),
        copay=None if copay is None else check.amount(copay, f"{path}.copay"),
        deductible_applies=check.flag(
            raw.get("deductible_applies", True), f"{path}.deductible_applies"
        ),
        max_units_per_day=_optional_count(check, raw, "max_units_per_day", path),
        max_units_per_period=_optional_count(check, raw, "max_units_per_period", path),
        prior_auth=check.flag(raw.get("prior_auth", False), f"{path}.prior_auth"),
    )


def _optional_count(check: FieldReader, raw: Mapping[str, Any], key: str, path: str) -> int | None:
    value = raw.get(key)
    return None if value is None else check.count(value, f"{path}.{key}")


def _token(check: FieldReader, token: Any) -> str:
    if token == DEV_TOKEN:
        return DEV_TOKEN
    if not isinstance(token, str) or not _HEX_ADDRESS.fullmatch(token):
        check.fail(
            "token",
            f"token {token!r} must be 'dev' or an ERC-20 address (0x and 40 hex digits)",
            hint="quote the address: YAML reads an unquoted 0x... as a number",
        )
    # eth-utils (0.2 s to import) only here: a command that reads claims needs plan.py's
    # names, never a token check.
    from eth_utils import is_checksum_address, to_checksum_address

    digits = token[2:]
    mixed_case = digits != digits.lower() and digits != digits.upper()
    if mixed_case and not is_checksum_address(token):
        check.fail("token", f"address {token} has a wrong checksum (mixed case); check for a typo")
    return str(to_checksum_address(token))
