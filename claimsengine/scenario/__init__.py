"""Scenarios: a test team's plan year, written as YAML, run on a chain and checked.

A scenario states plans, members, providers and funding, then a timeline of steps (move the
clock, submit records, review (a vote, under a plan's review_quorum), fund, settle,
withdraw, renew, ask eligibility, estimate records, void a claim, replace it with a
correction), each with what the team expects to see afterwards: a claim's status, votes and
line amounts, a member's accumulators, a pool, a provider's debt, token balances, an
eligibility answer, or an error. ``load_scenario`` reads and validates a file (every error names the
file, the line and the field path, such as ``steps[3].expect.lines[0].plan_paid``);
``run_scenario`` runs it on a fresh in-memory chain (or a node at ``rpc``) and returns a
``ScenarioResult`` listing every expectation that failed as
``step N: <what>: expected X, got Y``. ``junit_xml`` turns results into JUnit XML for CI.

The format is documented, with a full example, in docs/scenarios.md.

Steps count from 1 in results ("step 4"), because people count steps that way; field paths
in load errors count list indexes from 0 ("steps[3]"), like every loader in the project.
Both carry the YAML line number, so either leads straight to the spot.

The modules: ``model`` (the scenario as loaded), ``reader`` / ``load`` / ``expect`` (YAML ->
model, with every error located), ``run`` (the steps on a chain) and ``result`` (what
failed, and JUnit XML).
"""

from __future__ import annotations

from claimsengine.errors import ScenarioError
from claimsengine.scenario.load import load_scenario
from claimsengine.scenario.model import (
    Action,
    ClaimExpectation,
    EligibilityCheck,
    EligibilityExpectation,
    Estimate,
    Expectation,
    Fund,
    MemberExpectation,
    PlanSetup,
    PoolExpectation,
    ProviderExpectation,
    ProviderSetup,
    Renew,
    Replace,
    Review,
    Scenario,
    Settle,
    Step,
    Submit,
    Void,
    Withdraw,
)
from claimsengine.scenario.result import Failure, ScenarioResult, StepResult, junit_xml
from claimsengine.scenario.run import run_file, run_scenario

__all__ = [
    "Action",
    "ClaimExpectation",
    "EligibilityCheck",
    "EligibilityExpectation",
    "Estimate",
    "Expectation",
    "Failure",
    "Fund",
    "MemberExpectation",
    "PlanSetup",
    "PoolExpectation",
    "ProviderExpectation",
    "ProviderSetup",
    "Replace",
    "Review",
    "Scenario",
    "ScenarioError",
    "ScenarioResult",
    "Renew",
    "Settle",
    "Step",
    "StepResult",
    "Submit",
    "Void",
    "Withdraw",
    "junit_xml",
    "load_scenario",
    "run_file",
    "run_scenario",
]
