"""Running a scenario on a fresh chain, step by step, checking every expectation."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from claimsengine.days import SECONDS_PER_DAY, day_of_timestamp, from_day, to_day
from claimsengine.errors import ClaimsError, ScenarioError
from claimsengine.scenario.load import load_scenario
from claimsengine.scenario.model import (
    DEFAULT_INSURER,
    INSURER_GRANT,
    KINDS,
    NOON,
    Action,
    ClaimExpectation,
    EligibilityCheck,
    EligibilityExpectation,
    Estimate,
    Fund,
    MemberExpectation,
    PoolExpectation,
    ProviderExpectation,
    Renew,
    Replace,
    Review,
    Scenario,
    Settle,
    Step,
    Submit,
    Void,
)
from claimsengine.scenario.result import Checks, ScenarioResult, StepResult

if TYPE_CHECKING:
    from claimsengine.eligibility import Eligibility
    from claimsengine.estimate import Estimate as RecordEstimate
    from claimsengine.results import ClaimResult
    from claimsengine.sdk import InsurerClient, Submission
    from claimsengine.workspace import Workspace


def run_file(path: str | Path, *, rpc: str | None = None) -> ScenarioResult:
    """Load and run one scenario file; a file that does not load gives a failed result."""
    started = time.perf_counter()
    try:
        scenario = load_scenario(path)
    except ScenarioError as error:
        return ScenarioResult(
            file=str(path),
            name=Path(path).stem,
            load_error=error.explained(),
            seconds=time.perf_counter() - started,
        )
    return run_scenario(scenario, rpc=rpc)


def run_scenario(scenario: Scenario, *, rpc: str | None = None) -> ScenarioResult:
    """Run a scenario on a fresh in-memory chain (or on the node at ``rpc``, with a fresh
    engine deployment) and check every expectation."""
    from claimsengine.workspace import Workspace

    started = time.perf_counter()
    result = ScenarioResult(file=str(scenario.path), name=scenario.name)
    # A clock that stands still at the start: blocks then move one second each, so a run
    # never depends on the wall clock (or on today's date).
    begin = to_day(scenario.start) * SECONDS_PER_DAY + NOON
    with Workspace.ephemeral(
        rpc=rpc, clock=lambda: float(begin), prefix="claims-scenario-"
    ) as workspace:
        runner = _Runner(scenario, workspace)
        try:
            runner.setup()
        except ClaimsError as error:
            result.setup_error = error.explained()
        for step in scenario.steps:
            if result.setup_error is not None:
                result.steps.append(StepResult(step.number, step.line, step.title, skipped=True))
                continue
            result.steps.append(runner.run(step))
    result.seconds = time.perf_counter() - started
    return result


@dataclass
class _Outcome:
    """What a step's action left: the submissions (or estimates) by (provider, record),
    the answer of an eligibility step, or its error."""

    submissions: dict[tuple[str, str], Submission] = field(default_factory=dict)
    estimates: dict[tuple[str, str], RecordEstimate] = field(default_factory=dict)
    eligibility: Eligibility | None = None
    error: ClaimsError | None = None

    def errors(self) -> dict[tuple[str, str], ClaimsError | None]:
        """Each record's error (None: it went, or was estimated), by (provider, record)."""
        found: dict[tuple[str, str], ClaimsError | None] = {
            key: submission.error for key, submission in self.submissions.items()
        }
        found.update((key, estimate.error) for key, estimate in self.estimates.items())
        return found


class _Runner:
    def __init__(self, scenario: Scenario, workspace: Workspace) -> None:
        self.scenario = scenario
        self.workspace = workspace

    # -- time ----------------------------------------------------------------------------

    def today(self) -> int:
        return day_of_timestamp(self.workspace.chain.now())

    def move_to(self, day: int) -> None:
        """Move the chain to noon of ``day``; a day already reached is left as it is."""
        today = self.today()
        if day == today:
            return
        if day < today:
            raise ClaimsError(
                f"the chain's date is already {from_day(today)}, after {from_day(day)}",
                hint="time only moves forward: with --rpc, use a fresh node for each scenario",
            )
        self.workspace.chain.set_time(day * SECONDS_PER_DAY + NOON)

    # -- setup ---------------------------------------------------------------------------

    def setup(self) -> None:
        from claimsengine.money import token_scale
        from claimsengine.onboarding import PlanOnboarding, ProviderEntry, onboard

        ws = self.workspace
        scenario = self.scenario
        self.move_to(to_day(scenario.start))
        with ws.command():
            ws.setup(DEFAULT_INSURER)
        granted: set[str] = set()
        for setup in scenario.plans:
            plan_id = setup.plan.id
            if setup.insurer != DEFAULT_INSURER and setup.insurer not in granted:
                # The dev supply is the default insurer's: give another insurer its share.
                token = ws.dev_token
                grant = INSURER_GRANT * token_scale(token.decimals())
                with ws.command():
                    # The engine's owner (the default insurer) admits the plan's insurer.
                    owner = ws.chain.address_of(DEFAULT_INSURER)
                    insurer = ws.chain.address_of(setup.insurer)
                    ws.engine.set_insurer(owner, insurer, True)
                    token.transfer(owner, insurer, grant)
                granted.add(setup.insurer)
            providers = [
                ProviderEntry(p.provider_id, p.account, p.payout)
                for p in scenario.providers
                if p.plan_id == plan_id
            ]
            onboarding = PlanOnboarding(
                plan=setup.plan,
                insurer=setup.insurer,
                adjudicator=setup.adjudicator,
                more_adjudicators=setup.more_adjudicators,
                members=scenario.members.get(plan_id, ()),
                providers=providers,
                funding=scenario.funding.get(plan_id),
            )
            onboard(ws, onboarding)

    def insurer(self, plan_id: str, account: str | None = None) -> InsurerClient:
        """The plan's insurer, or ``account`` acting as one (to test who may)."""
        from claimsengine.sdk import InsurerClient

        return InsurerClient(self.workspace, account or self.scenario.plan_setup(plan_id).insurer)

    # -- steps ---------------------------------------------------------------------------

    def run(self, step: Step) -> StepResult:
        started = time.perf_counter()
        outcome = _Outcome()
        try:
            if step.date is not None:
                self.move_to(to_day(step.date))
            elif step.advance is not None:
                self.move_to(self.today() + step.advance)
            if step.action is not None:
                with self.workspace.command():
                    self.act(step.action, outcome)
        except ClaimsError as error:
            outcome.error = error
        checks = Checks()
        result = StepResult(step.number, step.line, step.title)
        self.check_error(step, outcome, checks, result)
        self.check(step, outcome, checks)
        result.checks = checks.count
        result.failures = checks.failures
        result.seconds = time.perf_counter() - started
        return result

    def act(self, action: Action, outcome: _Outcome) -> None:
        from claimsengine.sdk import AdjudicatorClient, HospitalClient, record_result, settle

        ws = self.workspace
        if isinstance(action, Submit):
            submissions = HospitalClient(ws).submit_many(
                list(action.records), sources=list(action.sources)
            )
            for submission in submissions:
                record = submission.record
                outcome.submissions[(record.provider_id, record.record_id)] = submission
        elif isinstance(action, Replace):
            old = record_result(ws, action.record, action.provider)
            submission = HospitalClient(ws, action.account).replace_record(
                old.claim_id, action.correction, action.source
            )
            record = action.correction
            outcome.submissions[(record.provider_id, record.record_id)] = submission
        elif isinstance(action, Void):
            claim = record_result(ws, action.record, action.provider)
            HospitalClient(ws, action.account).void(claim.claim_id)
        elif isinstance(action, Estimate):
            estimates = HospitalClient(ws).estimate(list(action.records))
            for estimate in estimates:
                record = estimate.record
                outcome.estimates[(record.provider_id, record.record_id)] = estimate
        elif isinstance(action, EligibilityCheck):
            outcome.eligibility = HospitalClient(ws).eligibility(
                action.plan_id, action.member, action.on
            )
        elif isinstance(action, Review):
            claim = record_result(ws, action.record, action.provider)
            account = action.account or self.scenario.plan_setup(claim.plan_id).adjudicator
            adjudicator = AdjudicatorClient(ws, account)
            if action.approve:
                adjudicator.approve(claim.claim_id)
            else:
                adjudicator.deny(claim.claim_id)
        elif isinstance(action, Fund):
            self.insurer(action.plan_id, action.account).fund(action.plan_id, action.cents)
        elif isinstance(action, Settle):
            account = action.account or self.scenario.plan_setup(action.plan_id).insurer
            settle(ws, action.plan_id, account)
        elif isinstance(action, Renew):
            self.insurer(action.plan_id, action.account).renew(action.plan_id)
        else:
            insurer = self.insurer(action.plan_id, action.account)
            insurer.withdraw(action.plan_id, action.cents, action.to)

    def check_error(
        self, step: Step, outcome: _Outcome, checks: Checks, result: StepResult
    ) -> None:
        """The step's error against ``expect.error``. For a submit of one record, a record
        that was set aside is the step's error."""
        error: ClaimsError | None = outcome.error
        if error is None and _one_record(step.action):
            (error,) = outcome.errors().values()
        expected = step.expect.error
        if expected is None:
            if error is not None:
                result.error = error.explained()
            return
        _match_error("error", expected, error, checks, step.expect.line)

    def check(self, step: Step, outcome: _Outcome, checks: Checks) -> None:
        expect = step.expect
        # Records of a multi-record submit (or estimate) that were set aside, with no
        # expectation saying so.
        if isinstance(step.action, Submit | Estimate) and not _one_record(step.action):
            expected_errors = {c.record for c in expect.claims if c.error is not None}
            for (_provider, record), set_aside in outcome.errors().items():
                if set_aside is not None and record not in expected_errors:
                    checks.fail(
                        f"record {record}", f"set aside: {set_aside.explained()}", step.line
                    )
        if expect.claim is not None and not expect.claim.is_empty:
            self.check_claim(expect.claim, outcome, checks)
        for claim in expect.claims:
            self.check_claim(claim, outcome, checks)
        for member in expect.members:
            self.check_member(member, checks)
        for pool in expect.pools:
            self.check_pool(pool, checks)
        for provider in expect.providers:
            self.check_provider(provider, checks)
        if expect.eligibility is not None:
            self.check_eligibility(expect.eligibility, outcome, checks)
        for account, cents in expect.balances.items():
            self.check_balance(account, cents, checks, expect.balances_line)

    def check_claim(self, expect: ClaimExpectation, outcome: _Outcome, checks: Checks) -> None:
        from claimsengine.sdk import record_result

        what = f"claim {expect.record}"
        line = expect.line
        estimate = next(
            (
                e
                for (provider, record), e in outcome.estimates.items()
                if record == expect.record and expect.provider in (None, provider)
            ),
            None,
        )
        if estimate is not None:
            self.check_estimate(expect, estimate, checks)
            return
        submission = next(
            (
                s
                for (provider, record), s in outcome.submissions.items()
                if record == expect.record and expect.provider in (None, provider)
            ),
            None,
        )
        if "already_submitted" in expect.values:
            checks.compare(
                f"{what}: already_submitted",
                "flag",
                expect.values["already_submitted"],
                submission.already_submitted if submission is not None else None,
                line,
            )
        if expect.error is not None:
            error = submission.error if submission is not None else None
            _match_error(what, expect.error, error, checks, line)
        if not expect.needs_result:
            return
        try:
            result = record_result(self.workspace, expect.record, expect.provider)
        except ClaimsError as error:
            if submission is not None and submission.error is not None:
                reason = f"is not on the chain: the record was set aside ({submission.error})"
            else:
                reason = f"cannot be read: {error}"
            checks.fail(what, reason, line)
            return
        self.check_result(what, expect, result, checks)

    def check_result(
        self, what: str, expect: ClaimExpectation, result: ClaimResult, checks: Checks
    ) -> None:
        """A claim's (or an estimate's) result against what is expected of it."""
        line = expect.line
        for key in ("status", "claim_id"):
            if key in expect.values:
                actual = getattr(result, key)
                checks.compare(f"{what}: {key}", KINDS[key], expect.values[key], actual, line)
        for key in ("replaces", "replaced_by"):
            if key in expect.values:
                actual = self.record_of(getattr(result, key))
                checks.compare(f"{what}: {key}", "text", expect.values[key], actual, line)
        votes = result.review.votes if result.review is not None else ()
        for key, approved in (("approvals", True), ("denials", False)):
            if key in expect.values:
                actual_count = sum(1 for vote in votes if vote.approved == approved)
                checks.compare(f"{what}: {key}", "count", expect.values[key], actual_count, line)
        for key, cents in expect.totals.items():
            actual = getattr(result.totals, key)
            checks.compare(f"{what}: totals.{key}", "amount", cents, actual, expect.totals_line)
        if expect.lines is not None:
            _check_lines(what, expect, result, checks)

    def record_of(self, claim_id: int | None) -> str | None:
        """The record id of a claim (None for none), as expectations name claims."""
        from claimsengine.sdk import claim_result

        if claim_id is None:
            return None
        return claim_result(self.workspace, claim_id).record_id or f"claim {claim_id}"

    def check_estimate(
        self, expect: ClaimExpectation, estimate: RecordEstimate, checks: Checks
    ) -> None:
        what = f"estimate of {expect.record}"
        if expect.error is not None:
            _match_error(what, expect.error, estimate.error, checks, expect.line)
        if not expect.needs_result:
            return
        if estimate.result is None:
            checks.fail(what, f"has no result: {estimate.error}", expect.line)
            return
        self.check_result(what, expect, estimate.result, checks)

    def check_provider(self, expect: ProviderExpectation, checks: Checks) -> None:
        state = self.workspace.engine.provider_info(expect.plan_id, expect.provider_id)
        actual = {"debt": state.debt, "credit": state.credit}
        for key, value in expect.values.items():
            what = f"provider {expect.provider_id} in {expect.plan_id}: {key}"
            checks.compare(what, "amount", value, actual[key], expect.line)

    def check_eligibility(
        self, expect: EligibilityExpectation, outcome: _Outcome, checks: Checks
    ) -> None:
        answer = outcome.eligibility
        if answer is None:
            checks.fail("eligibility", "there is no answer to check", expect.line)
            return
        for key, value in expect.values.items():
            actual = getattr(answer, key)
            checks.compare(f"eligibility: {key}", KINDS[key], value, actual, expect.line)
        for code, units in expect.units_left.items():
            actual_units = answer.units_left.get(code)
            what = f"eligibility: units_left.{code}"
            checks.compare(what, "count", units, actual_units, expect.line)

    def check_member(self, expect: MemberExpectation, checks: Checks) -> None:
        from claimsengine.sdk import member_accumulators

        what = f"member {expect.member} in {expect.plan_id}"
        try:
            report = member_accumulators(self.workspace, expect.plan_id, expect.member, expect.on)
        except ClaimsError as error:
            checks.fail(what, f"cannot be read: {error}", expect.line)
            return
        for key, value in expect.values.items():
            actual = getattr(report, key)
            checks.compare(f"{what}: {key}", KINDS[key], value, actual, expect.line)
        for code, units in expect.units_used.items():
            actual = report.units_used.get(code, 0)
            checks.compare(f"{what}: units_used.{code}", "count", units, actual, expect.line)

    def check_pool(self, expect: PoolExpectation, checks: Checks) -> None:
        pool = self.workspace.engine.pool_state(expect.plan_id)
        actual = {
            "balance": pool.balance,
            "reserved": pool.reserved,
            "free": pool.free,
            "queued": pool.queued,
        }
        for key, value in expect.values.items():
            what = f"pool {expect.plan_id}: {key}"
            checks.compare(what, KINDS[key], value, actual[key], expect.line)

    def check_balance(self, account: str, cents: int, checks: Checks, line: int | None) -> None:
        from claimsengine.money import token_units_to_cents

        token = self.workspace.dev_token
        units = token.balance_of(self.workspace.chain.address_of(account))
        actual = token_units_to_cents(units, token.decimals())
        checks.compare(f"token balance of {account}", "amount", cents, actual, line)


def _one_record(action: Action | None) -> bool:
    """Whether the step's action sends (or estimates) exactly one record: then a record it
    sets aside is the step's error."""
    if isinstance(action, Submit | Estimate):
        return len(action.records) == 1
    return isinstance(action, Replace)


def _check_lines(what: str, expect: ClaimExpectation, result: ClaimResult, checks: Checks) -> None:
    """The claim's lines, one by one, against ``expect.lines``."""
    assert expect.lines is not None
    if len(expect.lines) != len(result.lines):
        checks.fail(
            f"{what}: lines",
            f"expected {len(expect.lines)} lines, got {len(result.lines)}",
            expect.line,
        )
    pairs = zip(expect.lines, expect.line_numbers, result.lines, strict=False)
    for index, (wanted, number, result_line) in enumerate(pairs):
        for key, value in wanted.items():
            actual = getattr(result_line, key)
            checks.compare(f"{what}: lines[{index}].{key}", KINDS[key], value, actual, number)


def _match_error(
    what: str, expected: str, error: ClaimsError | None, checks: Checks, line: int | None
) -> None:
    """An expected error: the text must appear, word for word, in the error's message."""
    if error is None:
        checks.fail(what, f"expected an error containing {expected!r}, got none", line)
    elif expected in str(error):
        checks.count += 1
    else:
        checks.fail(what, f"expected an error containing {expected!r}, got {str(error)!r}", line)
