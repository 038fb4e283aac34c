"""Loading and validating a scenario file, with the plans, members and records it names."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from claimsengine.errors import InputError, ScenarioError
from claimsengine.fieldreader import describe, join
from claimsengine.members import Member, load_members
from claimsengine.plan import DEV_TOKEN, Plan, load_plan, plan_from_dict
from claimsengine.scenario.model import (
    DEFAULT_ADJUDICATOR,
    DEFAULT_INSURER,
    PlanSetup,
    ProviderSetup,
    Scenario,
)
from claimsengine.scenario.reader import ScenarioLoader
from claimsengine.scenario.steps import StepReader
from claimsengine.yamlfile import read_text

_SCENARIO_KEYS = (
    "name",
    "description",
    "start",
    "plans",
    "members",
    "providers",
    "funding",
    "steps",
)
_PLAN_ENTRY_KEYS = ("insurer", "adjudicator", "adjudicators")
_PROVIDER_KEYS = ("id", "account", "plan", "payout")
_MEMBER_KEYS = ("member_id", "coverage_start", "coverage_end")


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file, with the plans, members and records it names.

    Raises ``ScenarioError`` naming the file, the line and the field."""
    path = Path(path)
    source = str(path)
    text = read_text(path, "scenario file", lambda message: ScenarioError(message, file=source))
    try:
        data = yaml.load(text, Loader=ScenarioLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(error, "problem", None) or str(error)
        raise ScenarioError(f"not valid YAML: {problem}", file=source, line=line) from None
    return _Reader(path).scenario(data)


class _Reader(StepReader):
    """Reads the scenario, its plans, members, providers and funding; ``StepReader`` the steps."""

    def scenario(self, data: Any) -> Scenario:
        if not isinstance(data, Mapping):
            self.fail(None, f"a scenario must be a mapping of keys, got {describe(data)}")
        self.mapping(data, "", _SCENARIO_KEYS, required=("plans", "steps"), at=data)
        name = data.get("name") or self.path.stem
        if not isinstance(name, str):
            self.fail("name", f"expected text, got {describe(name)}", data)
        description = data.get("description") or ""
        if not isinstance(description, str):
            self.fail("description", f"expected text, got {describe(description)}", data)

        plans = self.plans(data["plans"], data)
        self.members = self.member_lists(data.get("members"), data)
        self.providers = self.provider_list(data.get("providers"), data)
        funding = self.funding(data.get("funding"), data)
        earliest = min(setup.plan.effective_date for setup in plans)
        start = (
            earliest if data.get("start") is None else self.date_value(data["start"], "start", data)
        )
        steps = self.steps(data["steps"], data, start)
        return Scenario(
            path=self.path,
            name=name,
            description=description,
            start=start,
            plans=tuple(plans),
            members=self.members,
            providers=tuple(self.providers),
            funding=funding,
            steps=tuple(steps),
        )

    def plans(self, value: Any, at: Any) -> list[PlanSetup]:
        entries = self.items(value, "plans", at, what="plans")
        if not entries:
            self.fail("plans", "needs at least one plan", at)
        setups: list[PlanSetup] = []
        for index, entry in enumerate(entries):
            where = f"plans[{index}]"
            if not isinstance(entry, Mapping):
                self.fail(
                    where,
                    f"expected a plan (inline, or `plan: PATH`), got {describe(entry)}",
                    at,
                )
            scenario_keys = {k: entry[k] for k in _PLAN_ENTRY_KEYS if k in entry}
            plan_keys = {k: v for k, v in entry.items() if k not in _PLAN_ENTRY_KEYS}
            if "plan" in plan_keys:
                self.mapping(entry, where, ("plan", *_PLAN_ENTRY_KEYS), at=entry)
                plan = self.plan_file(plan_keys["plan"], f"{where}.plan", entry)
            else:
                plan = self.inline_plan(plan_keys, where, entry)
            if plan.token != DEV_TOKEN:
                self.fail(
                    f"{where}.token",
                    f"a scenario deploys its own chain, so its plans use the dev token, "
                    f"not {plan.token}",
                    entry,
                    hint="write token: dev",
                )
            if plan.id in self.plan_ids:
                self.fail(f"{where}.id", f"plan {plan.id} is listed twice", entry)
            self.plan_ids.append(plan.id)
            insurer = self.account(
                scenario_keys.get("insurer", DEFAULT_INSURER), f"{where}.insurer", entry
            )
            adjudicators = self.adjudicators(scenario_keys, where, entry)
            setups.append(PlanSetup(plan, insurer, adjudicators[0], adjudicators[1:]))
        return setups

    def adjudicators(self, keys: Mapping[str, Any], where: str, at: Any) -> tuple[str, ...]:
        """``adjudicator: ACCOUNT``, or ``adjudicators: [ACCOUNT, ...]`` for a plan whose
        review_quorum needs several; the first decides the reviews that name no one."""
        if "adjudicators" not in keys:
            return (
                self.account(
                    keys.get("adjudicator", DEFAULT_ADJUDICATOR), f"{where}.adjudicator", at
                ),
            )
        if "adjudicator" in keys:
            self.fail(where, "give adjudicator or adjudicators, not both", at)
        entries = self.items(keys["adjudicators"], f"{where}.adjudicators", at, what="accounts")
        if not entries:
            self.fail(f"{where}.adjudicators", "needs at least one account", at)
        accounts = [
            self.account(entry, f"{where}.adjudicators[{index}]", at)
            for index, entry in enumerate(entries)
        ]
        if len(set(accounts)) != len(accounts):
            self.fail(f"{where}.adjudicators", "lists an account twice", at)
        return tuple(accounts)

    def plan_file(self, value: Any, where: str, at: Any) -> Plan:
        path = self.file(value, where, at)
        try:
            return load_plan(path)
        except InputError as error:
            self.fail(where, str(error), at, hint=error.hint)
        except ValueError as error:  # PyYAML's bare error for an impossible date
            self.fail(where, f"{path}: not valid YAML: {error}", at)

    def inline_plan(self, data: Mapping[str, Any], where: str, at: Any) -> Plan:
        try:
            return plan_from_dict(dict(data), source=self.source)
        except InputError as error:
            inner = error.field or ""
            node = at
            # Point at the service's own line when the error is inside services[i].
            if inner.startswith("services[") and isinstance(data.get("services"), list):
                index_text = inner[len("services[") :].split("]", 1)[0]
                if index_text.isdigit() and int(index_text) < len(data["services"]):
                    node = data["services"][int(index_text)]
            self.fail(join(where, inner), error.message, node, hint=error.hint)

    def member_lists(self, value: Any, at: Any) -> dict[str, tuple[Member, ...]]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.fail(
                "members",
                f"expected a mapping of plan id to a CSV path or a list, got {describe(value)}",
                at,
            )
        result: dict[str, tuple[Member, ...]] = {}
        for plan_key, entry in value.items():
            where = f"members.{plan_key}"
            plan_id = self.plan_ref(plan_key, where, value)
            if isinstance(entry, str):
                path = self.file(entry, where, value)
                try:
                    result[plan_id] = tuple(load_members(path))
                except InputError as error:
                    self.fail(where, str(error), value, hint=error.hint)
            else:
                result[plan_id] = self.member_list(entry, where, value)
        return result

    def member_list(self, value: Any, where: str, at: Any) -> tuple[Member, ...]:
        entries = self.items(value, where, at, what="members, or a CSV path")
        members: list[Member] = []
        seen: set[str] = set()
        for index, entry in enumerate(entries):
            here = f"{where}[{index}]"
            row = self.mapping(
                entry, here, _MEMBER_KEYS, required=("member_id", "coverage_start"), at=at
            )
            member_id = self.text(row["member_id"], f"{here}.member_id", row)
            if member_id in seen:
                self.fail(f"{here}.member_id", f"member {member_id} is listed twice", row)
            seen.add(member_id)
            start = self.date_value(row["coverage_start"], f"{here}.coverage_start", row)
            end = None
            if row.get("coverage_end") is not None:
                end = self.date_value(row["coverage_end"], f"{here}.coverage_end", row)
                if end < start:
                    self.fail(f"{here}.coverage_end", "is before coverage_start", row)
            members.append(Member(member_id, start, end))
        return tuple(members)

    def provider_list(self, value: Any, at: Any) -> list[ProviderSetup]:
        if value is None:
            return []
        providers: list[ProviderSetup] = []
        seen: set[tuple[str, str]] = set()
        for index, entry in enumerate(self.items(value, "providers", at, what="providers")):
            where = f"providers[{index}]"
            row = self.mapping(entry, where, _PROVIDER_KEYS, required=("id", "account"), at=at)
            provider_id = self.text(row["id"], f"{where}.id", row)
            plan_id = self.plan_ref(row.get("plan"), f"{where}.plan", row)
            if (plan_id, provider_id) in seen:
                self.fail(
                    f"{where}.id", f"provider {provider_id} is listed twice for {plan_id}", row
                )
            seen.add((plan_id, provider_id))
            account = self.account(row["account"], f"{where}.account", row)
            payout = None
            if row.get("payout") is not None:
                payout = self.account(row["payout"], f"{where}.payout", row)
            providers.append(ProviderSetup(provider_id, account, plan_id, payout))
        return providers

    def funding(self, value: Any, at: Any) -> dict[str, int]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.fail(
                "funding", f"expected a mapping of plan id to amount, got {describe(value)}", at
            )
        funding: dict[str, int] = {}
        for plan_key, amount in value.items():
            where = f"funding.{plan_key}"
            plan_id = self.plan_ref(plan_key, where, value)
            cents = self.amount(amount, where, value)
            if cents > 0:
                funding[plan_id] = cents
        return funding

    # -- steps ---------------------------------------------------------------------------
