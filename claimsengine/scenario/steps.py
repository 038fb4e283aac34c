"""Reading a scenario's timeline: each step's date, its action, and what it expects."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from claimsengine.errors import InputError
from claimsengine.fieldreader import describe
from claimsengine.records import SourcedRecord, TreatmentRecord, load_paths
from claimsengine.scenario.expect import ExpectationReader
from claimsengine.scenario.model import (
    ACTIONS,
    Action,
    EligibilityCheck,
    Estimate,
    Fund,
    Renew,
    Replace,
    Review,
    Settle,
    Step,
    Submit,
    Void,
    Withdraw,
)
from claimsengine.scenario.reader import LineMapping, line_of

_STEP_KEYS = ("name", "date", "advance", *ACTIONS, "expect")
_SUBMIT_KEYS = ("records", "files", "plan", "provider")
_REVIEW_KEYS = ("record", "provider", "decision", "as")
_FUND_KEYS = ("plan", "amount", "as")
_PLAN_AS_KEYS = ("plan", "as")  # settle and renew
_WITHDRAW_KEYS = ("plan", "amount", "to", "as")
_ELIGIBILITY_KEYS = ("member", "plan", "date")
_VOID_KEYS = ("record", "provider", "as")
_REPLACE_KEYS = ("record", "provider", "with", "as")


class StepReader(ExpectationReader):
    """Reads the steps of the timeline; each step's ``expect`` through ``ExpectationReader``."""

    def steps(self, value: Any, at: Any, start: date) -> list[Step]:
        entries = self.items(value, "steps", at, what="steps")
        if not entries:
            self.fail("steps", "needs at least one step", at)
        today = start
        steps: list[Step] = []
        for index, entry in enumerate(entries):
            step = self.step(entry, index, at, today)
            if step.date is not None:
                today = step.date
            elif step.advance is not None:
                today = today + timedelta(days=step.advance)
            steps.append(step)
        return steps

    def step(self, value: Any, index: int, at: Any, today: date) -> Step:
        where = f"steps[{index}]"
        data = self.mapping(value, where, _STEP_KEYS, at=at, what="a step")
        name = data.get("name")
        if name is not None and not isinstance(name, str):
            self.fail(f"{where}.name", f"expected text, got {describe(name)}", data)
        on, advance = self.when(data, where, today)
        actions = [key for key in ACTIONS if key in data]
        if len(actions) > 1:
            self.fail(
                where,
                f"a step does one thing; this one has {' and '.join(actions)}",
                data,
                hint="split it into several steps",
            )
        if not actions and on is None and advance is None and "expect" not in data:
            self.fail(
                where,
                "a step needs an action, a date or advance, or an expect",
                data,
                hint=f"the actions are: {', '.join(ACTIONS)}",
            )
        action: Action | None = None
        own: tuple[str, str | None] | None = None  # (record, provider) of the step's claim
        this_step: set[tuple[str, str]] = set()
        if actions:
            action, own, this_step = self.action(actions[0], where, data)
        if not isinstance(action, Estimate):  # an estimate sends nothing
            self.submitted |= this_step
        expect = self.expectation(data.get("expect"), f"{where}.expect", data, own, this_step)
        return Step(
            number=index + 1,
            line=line_of(data),
            name=name,
            date=on,
            advance=advance,
            action=action,
            expect=expect,
        )

    def when(
        self, data: Mapping[str, Any], where: str, today: date
    ) -> tuple[date | None, int | None]:
        """The step's ``date`` or ``advance`` (days), never both; time only moves forward."""
        if "date" in data and "advance" in data:
            self.fail(where, "give date or advance, not both", data)
        on = None
        if "date" in data:
            on = self.date_value(data["date"], f"{where}.date", data)
            if on < today:
                self.fail(
                    f"{where}.date",
                    f"{on} is before the scenario's date at this point ({today})",
                    data,
                    hint="time only moves forward: order the steps by date",
                )
        advance = None
        if "advance" in data:
            advance = self.count(data["advance"], f"{where}.advance", data, minimum=1)
        return on, advance

    def action(
        self, key: str, where: str, data: Mapping[str, Any]
    ) -> tuple[Action, tuple[str, str | None] | None, set[tuple[str, str]]]:
        """The step's action; the (record, provider) of its own claim, if it has one; and
        the (provider, record) pairs it submits."""
        here = f"{where}.{key}"
        raw = data[key]
        if key == "submit":
            submit = self.submit(raw, here, data)
            own = None
            if len(submit.records) == 1:
                own = (submit.records[0].record_id, submit.records[0].provider_id)
            return submit, own, {(r.provider_id, r.record_id) for r in submit.records}
        if key == "review":
            review = self.review(raw, here, data)
            return review, (review.record, review.provider), set()
        if key == "estimate":
            submit = self.submit(raw, here, data)
            estimate = Estimate(submit.records, submit.sources)
            own = None
            if len(estimate.records) == 1:
                own = (estimate.records[0].record_id, estimate.records[0].provider_id)
            return estimate, own, {(r.provider_id, r.record_id) for r in estimate.records}
        if key == "void":
            row = self.mapping(raw, here, _VOID_KEYS, required=("record",), at=data)
            record, provider = self.record_ref(row, here, set())
            void = Void(record, provider, self.optional_account(row, "as", here))
            return void, (record, provider), set()
        if key == "replace":
            replace = self.replace(raw, here, data)
            correction = replace.correction
            own_claim = (correction.record_id, correction.provider_id)
            return replace, own_claim, {(correction.provider_id, correction.record_id)}
        action: Action
        if key == "fund":
            row = self.mapping(raw, here, _FUND_KEYS, required=("amount",), at=data)
            action = Fund(
                self.plan_ref(row.get("plan"), f"{here}.plan", row),
                self.positive_amount(row["amount"], f"{here}.amount", row),
                self.optional_account(row, "as", here),
            )
        elif key == "eligibility":
            row = self.mapping(raw, here, _ELIGIBILITY_KEYS, required=("member",), at=data)
            plan_id = self.plan_ref(row.get("plan"), f"{here}.plan", row)
            member = self.text(row["member"], f"{here}.member", row)
            on = None
            if row.get("date") is not None:
                on = self.date_value(row["date"], f"{here}.date", row)
            action = EligibilityCheck(member, plan_id, on)
        elif key in ("settle", "renew"):
            row = self.mapping(raw, here, _PLAN_AS_KEYS, at=data)
            kind = Settle if key == "settle" else Renew
            action = kind(
                self.plan_ref(row.get("plan"), f"{here}.plan", row),
                self.optional_account(row, "as", here),
            )
        else:
            row = self.mapping(raw, here, _WITHDRAW_KEYS, required=("amount",), at=data)
            action = Withdraw(
                self.plan_ref(row.get("plan"), f"{here}.plan", row),
                self.positive_amount(row["amount"], f"{here}.amount", row),
                self.optional_account(row, "to", here),
                self.optional_account(row, "as", here),
            )
        return action, None, set()

    def positive_amount(self, value: Any, where: str, at: Any) -> int:
        cents = self.amount(value, where, at)
        if cents <= 0:
            self.fail(where, "must be more than 0.00", at)
        return cents

    def submit(self, value: Any, where: str, at: Any) -> Submit:
        # `submit: [records]` is short for `submit: {records: [records]}`.
        shorthand = isinstance(value, list)
        if shorthand:
            value = LineMapping(records=value)
            value.line = line_of(at)
        row = self.mapping(
            value,
            where,
            _SUBMIT_KEYS,
            at=at,
            what="a list of records, or a mapping with records and/or files",
        )
        if row.get("records") is None and row.get("files") is None:
            self.fail(where, "needs records (inline) or files", row)
        defaults = self.submit_defaults(row, where)
        records: list[TreatmentRecord] = []
        sources: list[str | None] = []
        if row.get("records") is not None:
            here = where if shorthand else f"{where}.records"
            for record, source in self.inline_records(row, here, defaults):
                records.append(record)
                sources.append(source)
        if row.get("files") is not None:
            for sourced in self.file_records(row, where, defaults):
                records.append(sourced.record)
                sources.append(str(sourced.file))
        if not records:
            self.fail(where, "submits no records", row)
        return Submit(tuple(records), tuple(sources))

    def submit_defaults(self, row: Mapping[str, Any], where: str) -> tuple[str | None, str | None]:
        """(plan, provider) for records that leave them out: the submit's own, else the
        scenario's only plan and only provider."""
        default_plan = (
            self.plan_ref(row["plan"], f"{where}.plan", row)
            if row.get("plan") is not None
            else (self.plan_ids[0] if len(self.plan_ids) == 1 else None)
        )
        default_provider = row.get("provider")
        if default_provider is None:
            known = {p.provider_id for p in self.providers}
            default_provider = known.pop() if len(known) == 1 else None
        elif not isinstance(default_provider, str):
            self.fail(f"{where}.provider", f"expected text, got {describe(default_provider)}", row)
        return default_plan, default_provider

    def inline_records(
        self, row: Mapping[str, Any], here: str, defaults: tuple[str | None, str | None]
    ) -> list[tuple[TreatmentRecord, str]]:
        """The records written in the scenario, each with its ``FILE:LINE``."""
        return [
            self.inline_record(raw, f"{here}[{index}]", row, defaults, index=index)
            for index, raw in enumerate(self.items(row["records"], here, row, what="records"))
        ]

    def inline_record(
        self,
        raw: Any,
        here: str,
        at: Any,
        defaults: tuple[str | None, str | None],
        *,
        index: int = 0,
    ) -> tuple[TreatmentRecord, str]:
        """One record written in the scenario, with its ``FILE:LINE``."""
        default_plan, default_provider = defaults
        try:
            record = TreatmentRecord.from_json(
                raw, index=index, default_plan=default_plan, default_provider=default_provider
            )
        except InputError as error:
            field_path = here + (f".{error.field}" if error.field else "")
            self.fail(field_path, error.message, raw if line_of(raw) else at)
        return record, f"{self.source}:{line_of(raw) or ''}".rstrip(":")

    def file_records(
        self, row: Mapping[str, Any], where: str, defaults: tuple[str | None, str | None]
    ) -> list[SourcedRecord]:
        """The records of the files the submit names; any bad record fails the scenario."""
        default_plan, default_provider = defaults
        raw_files = row["files"]
        names = [raw_files] if isinstance(raw_files, str) else raw_files
        paths = [
            self.file(name, f"{where}.files[{i}]", row)
            for i, name in enumerate(self.items(names, f"{where}.files", row, what="paths"))
        ]
        try:
            loaded = load_paths(paths, default_plan=default_plan, default_provider=default_provider)
        except InputError as error:
            self.fail(f"{where}.files", str(error), row)
        if loaded.rejected:
            self.fail(f"{where}.files", str(loaded.rejected[0].error), row)
        return loaded.records

    def review(self, value: Any, where: str, at: Any) -> Review:
        row = self.mapping(value, where, _REVIEW_KEYS, required=("record", "decision"), at=at)
        record, provider = self.record_ref(row, where, set())
        decision = row["decision"]
        if decision not in ("approve", "deny"):
            self.fail(
                f"{where}.decision", f"expected approve or deny, got {describe(decision)}", row
            )
        return Review(
            record, provider, decision == "approve", self.optional_account(row, "as", where)
        )

    def replace(self, value: Any, where: str, at: Any) -> Replace:
        """``replace: {record: OLD, with: {the corrected record}}``: the correction is by the
        old claim's provider, in its plan (the defaults of a record come from there)."""
        row = self.mapping(value, where, _REPLACE_KEYS, required=("record", "with"), at=at)
        record, provider = self.record_ref(row, where, set())
        owner = provider or next(p for p, r in sorted(self.submitted) if r == record)
        defaults = (self.submit_defaults(row, where)[0], owner)
        correction, source = self.inline_record(row["with"], f"{where}.with", row, defaults)
        return Replace(
            record, provider, correction, source, self.optional_account(row, "as", where)
        )
