"""Reading a step's ``expect``: its claim, other claims, members, pools and balances."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from claimsengine.fieldreader import describe
from claimsengine.results import LINE_AMOUNTS, TOTAL_AMOUNTS
from claimsengine.scenario.model import (
    ACCUMULATOR_AMOUNTS,
    ELIGIBILITY_AMOUNTS,
    KINDS,
    POOL_AMOUNTS,
    PROVIDER_AMOUNTS,
    ClaimExpectation,
    EligibilityExpectation,
    Expectation,
    MemberExpectation,
    PoolExpectation,
    ProviderExpectation,
)
from claimsengine.scenario.reader import FieldReader, line_of
from claimsengine.status import STATUSES

_LINE_KEYS = ("code", "units", *LINE_AMOUNTS, "denied", "reasons")
# The keys about one claim; in a step's own `expect` they describe the step's claim.
_CLAIM_KEYS = (
    "status",
    "claim_id",
    "already_submitted",
    "replaces",
    "replaced_by",
    "approvals",
    "denials",
    "totals",
    "lines",
)
_CLAIMS_ENTRY_KEYS = ("record", "provider", *_CLAIM_KEYS, "error")
_EXPECT_KEYS = (
    *_CLAIM_KEYS,
    "error",
    "claims",
    "members",
    "pools",
    "providers",
    "balances",
    "eligibility",
)
_MEMBER_EXPECT_KEYS = ("member", "plan", "date", "period", *ACCUMULATOR_AMOUNTS, "units_used")
_POOL_KEYS = ("plan", *POOL_AMOUNTS, "queued")
_PROVIDER_EXPECT_KEYS = ("provider", "plan", *PROVIDER_AMOUNTS)
_ELIGIBILITY_EXPECT_KEYS = ("covered", "denial", "period", *ELIGIBILITY_AMOUNTS, "units_left")
#: The steps that send records (only their records can be `already_submitted`).
_SENDING_STEPS = ("submit", "replace")


class ExpectationReader(FieldReader):
    """Reads the expectations of steps, and the records they refer to."""

    def record_ref(
        self, row: Mapping[str, Any], where: str, this_step: set[tuple[str, str]]
    ) -> tuple[str, str | None]:
        """The (record, provider) a mapping names; it must have been submitted by now."""
        record = row["record"]
        if not isinstance(record, str):
            self.fail(f"{where}.record", f"expected a record_id, got {describe(record)}", row)
        provider = row.get("provider")
        if provider is not None and not isinstance(provider, str):
            self.fail(f"{where}.provider", f"expected a provider id, got {describe(provider)}", row)
        known = self.submitted | this_step
        matches = [p for p, r in known if r == record and (provider is None or p == provider)]
        if not matches:
            self.fail(
                f"{where}.record",
                f"no step up to here submits record {record}"
                + (f" from {provider}" if provider else ""),
                row,
            )
        if provider is None and len(set(matches)) > 1:
            self.fail(
                f"{where}.provider",
                f"record {record} is submitted by several providers "
                f"({', '.join(sorted(set(matches)))}): name one",
                row,
            )
        return record, provider

    # -- expectations --------------------------------------------------------------------

    def expectation(
        self,
        value: Any,
        where: str,
        at: Any,
        own: tuple[str, str | None] | None,
        this_step: set[tuple[str, str]],
    ) -> Expectation:
        if value is None:
            return Expectation()
        row = self.mapping(value, where, _EXPECT_KEYS, at=at)
        claim = None
        own_keys = [key for key in _CLAIM_KEYS if key in row]
        if own_keys:
            if own is None:
                self.fail(
                    f"{where}.{own_keys[0]}",
                    "this step has no claim of its own (only a submit or an estimate of one "
                    "record, a review, a void or a replace has one)",
                    row,
                    hint="name the claim: expect: {claims: [{record: ID, ...}]}",
                )
            if "already_submitted" in row and not any(key in at for key in _SENDING_STEPS):
                self.fail(
                    f"{where}.already_submitted", "only a submit or replace sends records", row
                )
            claim = self.claim_values(row, where, *own)
        error = None
        if row.get("error") is not None:
            error = self.text(row["error"], f"{where}.error", row)
        claims = []
        if row.get("claims") is not None:
            for index, entry in enumerate(
                self.items(row["claims"], f"{where}.claims", row, what="claims")
            ):
                claims.append(self.claims_entry(entry, f"{where}.claims[{index}]", row, this_step))
        members = []
        if row.get("members") is not None:
            for index, entry in enumerate(
                self.items(row["members"], f"{where}.members", row, what="members")
            ):
                members.append(self.member_expectation(entry, f"{where}.members[{index}]", row))
        pools = []
        if row.get("pools") is not None:
            for index, entry in enumerate(
                self.items(row["pools"], f"{where}.pools", row, what="pools")
            ):
                pools.append(self.pool_expectation(entry, f"{where}.pools[{index}]", row))
        providers = []
        if row.get("providers") is not None:
            for index, entry in enumerate(
                self.items(row["providers"], f"{where}.providers", row, what="providers")
            ):
                providers.append(
                    self.provider_expectation(entry, f"{where}.providers[{index}]", row)
                )
        eligibility = None
        if row.get("eligibility") is not None:
            if "eligibility" not in at:
                self.fail(
                    f"{where}.eligibility",
                    "only an eligibility step has an answer to check",
                    row,
                    hint="add `eligibility: {member: ID}` to the step",
                )
            eligibility = self.eligibility_expectation(
                row["eligibility"], f"{where}.eligibility", row
            )
        balances = self.balances(row, where)
        return Expectation(
            claim=claim,
            claims=tuple(claims),
            members=tuple(members),
            pools=tuple(pools),
            providers=tuple(providers),
            eligibility=eligibility,
            balances=balances,
            error=error,
            line=line_of(row),
            balances_line=line_of(row.get("balances")) or line_of(row),
        )

    def claims_entry(
        self, entry: Any, here: str, at: Any, this_step: set[tuple[str, str]]
    ) -> ClaimExpectation:
        """One entry of ``expect.claims``: a claim named by its record (and provider)."""
        item = self.mapping(entry, here, _CLAIMS_ENTRY_KEYS, required=("record",), at=at)
        record, provider = self.record_ref(item, here, this_step)
        expectation = self.claim_values(item, here, record, provider)
        step_only = [k for k in ("already_submitted", "error") if k in item]
        in_step = any(r == record for _, r in this_step)
        if step_only and not in_step:
            self.fail(
                f"{here}.{step_only[0]}",
                f"only for a record this step submits; {record} was submitted earlier",
                item,
            )
        if item.get("error") is not None:
            expectation = replace(
                expectation, error=self.text(item["error"], f"{here}.error", item)
            )
        return expectation

    def balances(self, row: Mapping[str, Any], where: str) -> dict[str, int]:
        """``expect.balances``: token balances (cents) by account."""
        balances: dict[str, int] = {}
        if row.get("balances") is None:
            return balances
        raw = row["balances"]
        if not isinstance(raw, Mapping):
            self.fail(
                f"{where}.balances",
                f"expected a mapping of account to amount, got {describe(raw)}",
                row,
            )
        for account, amount in raw.items():
            here = f"{where}.balances.{account}"
            balances[self.account(account, here, raw)] = self.amount(amount, here, raw)
        return balances

    def claim_values(
        self, row: Mapping[str, Any], where: str, record: str, provider: str | None
    ) -> ClaimExpectation:
        values: dict[str, Any] = {}
        if row.get("status") is not None:
            status = row["status"]
            if status not in STATUSES:
                self.fail(
                    f"{where}.status",
                    f"expected one of {', '.join(STATUSES)}, got {describe(status)}",
                    row,
                )
            values["status"] = status
        if row.get("claim_id") is not None:
            values["claim_id"] = self.count(row["claim_id"], f"{where}.claim_id", row, minimum=1)
        if row.get("already_submitted") is not None:
            values["already_submitted"] = self.flag(
                row["already_submitted"], f"{where}.already_submitted", row
            )
        for key in ("replaces", "replaced_by"):  # named by their record ids
            if row.get(key) is not None:
                values[key] = self.text(row[key], f"{where}.{key}", row)
        for key in ("approvals", "denials"):
            if row.get(key) is not None:
                values[key] = self.count(row[key], f"{where}.{key}", row)
        totals: dict[str, int] = {}
        totals_line = None
        if row.get("totals") is not None:
            raw = self.mapping(row["totals"], f"{where}.totals", TOTAL_AMOUNTS, at=row)
            totals_line = line_of(raw)
            for key in TOTAL_AMOUNTS:
                if raw.get(key) is not None:
                    totals[key] = self.amount(raw[key], f"{where}.totals.{key}", raw)
        lines = None
        line_numbers: tuple[int | None, ...] = ()
        if "lines" in row:
            entries = self.items(row["lines"], f"{where}.lines", row, what="lines")
            lines = tuple(
                self.line_values(entry, f"{where}.lines[{index}]", row)
                for index, entry in enumerate(entries)
            )
            line_numbers = tuple(line_of(entry) or line_of(row) for entry in entries)
        return ClaimExpectation(
            record=record,
            provider=provider,
            values=values,
            totals=totals,
            lines=lines,
            line=line_of(row),
            totals_line=totals_line or line_of(row),
            line_numbers=line_numbers,
        )

    def line_values(self, value: Any, where: str, at: Any) -> Mapping[str, Any]:
        row = self.mapping(value, where, _LINE_KEYS, at=at, what="a line (a mapping, {} to skip)")
        values: dict[str, Any] = {}
        for key in _LINE_KEYS:
            if row.get(key) is None:
                continue
            raw = row[key]
            here = f"{where}.{key}"
            kind = KINDS[key]
            if kind == "amount":
                values[key] = self.amount(raw, here, row)
            elif kind == "count":
                values[key] = self.count(raw, here, row, minimum=1)
            elif kind == "flag":
                values[key] = self.flag(raw, here, row)
            elif kind == "codes":
                values[key] = self.reason_codes(raw, here, row)
            else:
                values[key] = self.text(raw, here, row)
        return values

    def reason_codes(self, value: Any, where: str, at: Any) -> tuple[str, ...]:
        codes = self.items(value, where, at, what='reason codes, such as ["45", "1"]')
        result: list[str] = []
        for code in codes:
            # Reason codes are numbers without leading zeros, so 45 and "45" are the same.
            if isinstance(code, bool) or not isinstance(code, str | int):
                self.fail(where, f'expected reason codes such as "45", got {describe(code)}', at)
            result.append(str(code))
        return tuple(result)

    def member_expectation(self, value: Any, where: str, at: Any) -> MemberExpectation:
        row = self.mapping(value, where, _MEMBER_EXPECT_KEYS, required=("member",), at=at)
        member = self.text(row["member"], f"{where}.member", row)
        plan_id = self.plan_ref(row.get("plan"), f"{where}.plan", row)
        if member not in {m.member_id for m in self.members.get(plan_id, ())}:
            self.fail(f"{where}.member", f"member {member} is not enrolled in {plan_id}", row)
        on = None
        if row.get("date") is not None:
            on = self.date_value(row["date"], f"{where}.date", row)
        values: dict[str, int] = {}
        if row.get("period") is not None:
            values["period"] = self.count(row["period"], f"{where}.period", row)
        for key in ACCUMULATOR_AMOUNTS:
            if row.get(key) is not None:
                values[key] = self.amount(row[key], f"{where}.{key}", row)
        units = self.units_by_code(row, "units_used", where)
        return MemberExpectation(member, plan_id, on, values, units, line_of(row))

    def pool_expectation(self, value: Any, where: str, at: Any) -> PoolExpectation:
        row = self.mapping(value, where, _POOL_KEYS, at=at)
        plan_id = self.plan_ref(row.get("plan"), f"{where}.plan", row)
        values: dict[str, int] = {}
        for key in POOL_AMOUNTS:
            if row.get(key) is not None:
                values[key] = self.amount(row[key], f"{where}.{key}", row)
        if row.get("queued") is not None:
            values["queued"] = self.count(row["queued"], f"{where}.queued", row)
        return PoolExpectation(plan_id, values, line_of(row))

    def provider_expectation(self, value: Any, where: str, at: Any) -> ProviderExpectation:
        row = self.mapping(value, where, _PROVIDER_EXPECT_KEYS, required=("provider",), at=at)
        plan_id = self.plan_ref(row.get("plan"), f"{where}.plan", row)
        provider_id = self.text(row["provider"], f"{where}.provider", row)
        if provider_id not in {p.provider_id for p in self.providers if p.plan_id == plan_id}:
            self.fail(
                f"{where}.provider", f"provider {provider_id} is not registered in {plan_id}", row
            )
        values = {
            key: self.amount(row[key], f"{where}.{key}", row)
            for key in PROVIDER_AMOUNTS
            if row.get(key) is not None
        }
        return ProviderExpectation(provider_id, plan_id, values, line_of(row))

    def eligibility_expectation(self, value: Any, where: str, at: Any) -> EligibilityExpectation:
        row = self.mapping(value, where, _ELIGIBILITY_EXPECT_KEYS, at=at)
        values: dict[str, Any] = {}
        if row.get("covered") is not None:
            values["covered"] = self.flag(row["covered"], f"{where}.covered", row)
        if row.get("denial") is not None:
            denial = row["denial"]
            if str(denial) not in ("31", "26", "27") or isinstance(denial, bool):
                self.fail(f"{where}.denial", f"expected 31, 26 or 27, got {describe(denial)}", row)
            values["denial"] = str(denial)
        if row.get("period") is not None:
            values["period"] = self.count(row["period"], f"{where}.period", row)
        for key in ELIGIBILITY_AMOUNTS:
            if row.get(key) is not None:
                values[key] = self.amount(row[key], f"{where}.{key}", row)
        units = self.units_by_code(row, "units_left", where)
        return EligibilityExpectation(values, units, line_of(row))

    def units_by_code(self, row: Mapping[str, Any], key: str, where: str) -> dict[str, int]:
        """``{code: units}`` under ``key`` (units_used, units_left); none: empty."""
        units: dict[str, int] = {}
        if row.get(key) is None:
            return units
        raw = row[key]
        if not isinstance(raw, Mapping):
            self.fail(
                f"{where}.{key}", f"expected a mapping of code to units, got {describe(raw)}", row
            )
        for code, count in raw.items():
            if not isinstance(code, str):
                self.fail(
                    f"{where}.{key}",
                    f"code {code!r} must be a string",
                    raw,
                    hint='quote it ("99213"): YAML reads unquoted digits as a number',
                )
            units[code] = self.count(count, f"{where}.{key}.{code}", raw)
        return units
