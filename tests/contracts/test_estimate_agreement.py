"""An estimate (the contract's own `submit_claim`, run on a scratch state with nothing
sent) gives exactly what submitting the claim next gives, over the oracle tests' random
plans and claims: every line, the status, the plan_paid and the claim id, and the oracle
agrees with both. Each estimate leaves the chain as it was: same block, same state."""

from __future__ import annotations

from hypothesis import HealthCheck, event, given, settings

from claimsengine import adjudication as oracle
from claimsengine.abi import text_to_bytes32
from claimsengine.days import from_day
from claimsengine.engine import ChainClaim
from claimsengine.errors import TransactionReverted
from claimsengine.estimate import SimulatedCall, simulate
from claimsengine.history import group_claim_events
from claimsengine.plan import Plan, Service

from .conftest import (
    Deployment,
    deploy,
    line_result,
    new_chain,
    noon,
    open_plan,
    oracle_line_result,
)
from .test_oracle_agreement import (
    LATER,
    STATUS,
    TODAY_DAY,
    Scenario,
    base,
    chain_claim,
    enrol,
    rolled_back,
    scenarios,
    versioned,
)


def estimate(d: Deployment, claim: ChainClaim, sender: str) -> SimulatedCall:
    data = d.engine.abi.encode_call("submit_claim", text_to_bytes32(d.plan_id), claim.as_abi())
    (simulated,) = simulate(d.chain, [(sender, d.engine.address, data)])
    return simulated


def fingerprint(d: Deployment) -> tuple[object, ...]:
    """What an estimate must not change: the block, the claim counter and the pool."""
    return (d.chain.block_number(), d.engine.next_claim_id(), d.pool())


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenarios())
def test_an_estimate_is_what_the_submission_then_gets(scenario: Scenario) -> None:
    b = base()
    with rolled_back(b.chain):
        plan = scenario.plan
        d = open_plan(b.chain, b.engine, b.token, plan, fund_cents=100_000_000)
        ledger = oracle.Ledger()
        claims = enrol(d, scenario, ledger)
        play_with_estimates(d, plan, ledger, claims, TODAY_DAY)


def play_with_estimates(
    d: Deployment,
    plan: Plan,
    ledger: oracle.Ledger,
    claims: list[tuple[oracle.ClaimInput, str]],
    today: int,
) -> None:
    """Estimate each claim, check nothing was sent, submit it, and compare the estimate,
    the submission and the oracle; decide those that wait for review."""
    providers = {"hospital": d.hospital, "hospital2": d.hospital2}
    for claim, decision in claims:
        on_chain = chain_claim(d, claim)
        sender = providers[claim.provider]
        before = fingerprint(d)
        guess = estimate(d, on_chain, sender)
        assert fingerprint(d) == before  # nothing was sent
        try:
            expected = oracle.adjudicate(plan, ledger, claim, today=today)
        except oracle.ClaimRejected as rejected:
            assert guess.error == f"claims: {rejected.reason}"
            try:
                d.submit(on_chain, sender=sender)
            except TransactionReverted as error:
                assert error.reason == guess.error
            else:
                raise AssertionError("the estimate reverted, the submission did not") from None
            event("rejected")
            continue
        assert guess.error is None, guess.error
        (events,) = group_claim_events(d.engine.decode_logs(guess.logs)).values()
        sub = d.submit(on_chain, sender=sender)
        # The contract's estimate, the submission and the oracle: the same lines...
        assert [line_result(e.args) for e in events.lines] == [line_result(x) for x in sub.lines]
        assert [line_result(x) for x in sub.lines] == [
            oracle_line_result(x) for x in expected.lines
        ]
        # ... the same status, plan_paid and claim id.
        assert events.submitted_status == sub.status == STATUS[expected.status]
        assert int(events.submitted.args["plan_paid"]) == sub.submitted["plan_paid"]
        assert events.claim_id == sub.claim_id
        event(f"status {sub.status}")
        if expected.status == "pending_review" and decision != "leave":
            d.review(sub.claim_id, decision == "approve")
            if decision == "deny":
                oracle.reverse(plan, ledger, claim, expected)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenarios())
def test_claims_estimated_together_see_each_other(scenario: Scenario) -> None:
    """All of a scenario's claims estimated in one go (each sees the ones before, as when
    they are submitted one after another), then submitted: the same results."""
    b = base()
    with rolled_back(b.chain):
        d = open_plan(b.chain, b.engine, b.token, scenario.plan, fund_cents=100_000_000)
        claims = enrol(d, scenario)
        providers = {"hospital": d.hospital, "hospital2": d.hospital2}
        sent = [(chain_claim(d, c), providers[c.provider]) for c, _decision in claims]
        calls = [
            (
                sender,
                d.engine.address,
                d.engine.abi.encode_call(
                    "submit_claim", text_to_bytes32(d.plan_id), claim.as_abi()
                ),
            )
            for claim, sender in sent
        ]
        before = fingerprint(d)
        guesses = simulate(d.chain, calls)
        assert fingerprint(d) == before
        for (claim, sender), guess in zip(sent, guesses, strict=True):
            try:
                sub = d.submit(claim, sender=sender)
            except TransactionReverted as error:
                assert guess.error == error.reason
                continue
            assert guess.error is None
            (events,) = group_claim_events(d.engine.decode_logs(guess.logs)).values()
            assert [line_result(e.args) for e in events.lines] == [
                line_result(x) for x in sub.lines
            ]
            assert (events.claim_id, events.submitted_status) == (
                sub.claim_id,
                sub.status,
            )


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(versioned())
def test_an_estimate_is_what_the_submission_gets_across_schedule_versions(
    drawn: tuple[Scenario, list[tuple[int, tuple[Service, ...]]]],
) -> None:
    scenario, versions = drawn
    chain = new_chain()
    try:
        plan = scenario.plan
        d = deploy(chain, plan, fund_cents=100_000_000)
        ledger = oracle.Ledger()
        claims = enrol(d, scenario, ledger)
        for day, services_of_day in versions:
            d.engine.update_schedule(d.insurer, d.plan_id, services_of_day, day)
            ledger.update_schedule(day, services_of_day)
        chain.set_time(noon(from_day(TODAY_DAY + LATER)))
        play_with_estimates(d, plan, ledger, claims, TODAY_DAY + LATER)
    finally:
        chain.close()
