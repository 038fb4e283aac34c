"""A hypothesis state machine over the whole engine: enrolments, funding, single and batch
submissions, reviews, settlement, withdrawals and the passing of time, in any order.

Ghost state follows along: the oracle (`claimsengine.adjudication`) keeps the member side,
and a small model keeps the pool and its first-in, first-out queue. After every step the
invariants compare the chain with the ghost and check what must always hold: tokens are
conserved, no claim is paid twice, queued claims are paid in order, oop_met never passes
the out-of-pocket maximum, every line balances, and the accumulators equal the oracle's.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from claimsengine import adjudication as oracle
from claimsengine.days import from_day, to_day
from claimsengine.engine import ChainClaim, ChainLine, Enrollment, PoolState, Status
from claimsengine.errors import TransactionReverted
from tests.contracts.conftest import (
    TODAY,
    TOKEN_SCALE,
    deploy,
    line_result,
    make_plan,
    new_chain,
    noon,
    oracle_line_result,
    pseudonym,
    service,
)

# 60-day benefit periods from 2027-01-01, deductible 200.00, oop max 1000.00, 20%,
# benefit max 3000.00 a period, auto-approve up to 250.00, 10 days' wait, 120 days to file.
PLAN = make_plan(
    "MACHINE",
    [
        service("X", 30_000, max_units_per_day=2),
        service("Z", 12_000, copay=2_500, deductible_applies=False),
        service("U", 5_000, max_units_per_period=4),
        service("BIG", 90_000),
        service("PA", 10_000, prior_auth=True),
    ],
    benefit_period_days=60,
    deductible=20_000,
    out_of_pocket_max=100_000,
    annual_benefit_max=300_000,
    auto_approve_limit=25_000,
    waiting_period_days=10,
    timely_filing_days=120,
)
MEMBERS = ("m0", "m1", "m2", "m3")
PROVIDERS = {"HOSP-A": "hospital-1", "HOSP-B": "hospital-2"}
PAYOUTS = {"HOSP-A": "hospital-3", "HOSP-B": "hospital-4"}  # paid apart from the accounts
LAST_DAY = to_day(date(2027, 9, 30))  # time moves no further than this
AUTO_SETTLE = 32


def expect_revert(send: Callable[[], object], reason: str) -> None:
    """`send` must revert with `reason`; the oracle's reject reasons lack the "claims: "."""
    if not reason.startswith(("claims: ", "pool: ", "access: ")):
        reason = f"claims: {reason}"
    try:
        send()
    except TransactionReverted as error:
        assert error.reason == reason
    else:
        raise AssertionError(f"the contract did not refuse: expected {reason!r}")


@dataclass
class GhostPool:
    """The pool as the spec says it behaves: a balance and a FIFO queue of (claim, cents)."""

    balance: int = 0
    queue: list[tuple[int, int]] = field(default_factory=list)
    paid: list[tuple[int, int]] = field(default_factory=list)  # (claim id, cents), in order

    @property
    def reserved(self) -> int:
        return sum(amount for _, amount in self.queue)

    def approve(self, claim_id: int, amount: int) -> Status:
        if not self.queue and self.balance >= amount:
            self.balance -= amount
            self.paid.append((claim_id, amount))
            return Status.PAID
        self.queue.append((claim_id, amount))
        return Status.QUEUED

    def settle(self, most: int) -> list[int]:
        settled: list[int] = []
        while self.queue and len(settled) < most and self.balance >= self.queue[0][1]:
            claim_id, amount = self.queue.pop(0)
            self.balance -= amount
            self.paid.append((claim_id, amount))
            settled.append(claim_id)
        return settled


@dataclass
class GhostClaim:
    claim: oracle.ClaimInput
    commitment: bytes
    adjudication: oracle.ClaimAdjudication
    status: Status


# (member, provider, days ago, prior authorisation, [(code, units, billed)])
ClaimSpec = tuple[str, str, int, bool, list[tuple[str, int, int]]]

line_specs = st.tuples(
    st.sampled_from(["X", "Z", "U", "BIG", "PA", "X", "Z", "U", "NOPE"]),
    st.integers(1, 3),
    st.sampled_from([30_000, 12_000, 5_000, 90_000]) | st.integers(0, 120_000),
)
claim_specs = st.tuples(
    st.sampled_from([*MEMBERS, *MEMBERS[:3], "stranger"]),  # member
    st.sampled_from(sorted(PROVIDERS)),  # provider
    st.integers(0, 150) | st.sampled_from([0, 1, 121, -1]),  # days ago (-1: tomorrow)
    st.booleans(),  # prior authorisation
    st.lists(line_specs, min_size=1, max_size=3),
)


class EngineMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.chain = new_chain()
        self.d = deploy(self.chain, PLAN, fund_cents=0)
        for ref, alias in PROVIDERS.items():
            account = self.chain.accounts[alias]
            payout = self.chain.accounts[PAYOUTS[ref]]
            self.d.engine.register_provider(self.d.insurer, PLAN.id, ref, account)
            self.d.engine.set_payout(account, PLAN.id, ref, payout)
        self.today = to_day(TODAY)
        self.ledger = oracle.Ledger()
        self.pool = GhostPool()
        self.claims: dict[int, GhostClaim] = {}
        self.pending: list[int] = []
        self.funded = 0
        self.withdrawn = 0
        self.commitments = 0
        # What the invariants need not read again: claims seen in a final status (paid or
        # denied), and whether any step since the last check could move accumulators.
        self.final: set[int] = set()
        self.accumulators_moved = True

    def teardown(self) -> None:
        self.chain.close()

    # -- helpers -------------------------------------------------------------------------

    def _claim(self, spec: ClaimSpec) -> tuple[oracle.ClaimInput, ChainClaim]:
        member, provider, ago, prior_auth, lines = spec
        claim = oracle.ClaimInput(
            member=member,
            provider=provider,
            service_day=self.today - ago,
            prior_auth=prior_auth,
            lines=tuple(oracle.ClaimLineInput(c, u, b) for c, u, b in lines),
        )
        self.commitments += 1
        on_chain = ChainClaim(
            commitment=(b"machine-%d" % self.commitments).ljust(32, b"\0"),
            member=pseudonym(member),
            service_day=claim.service_day,
            prior_auth=prior_auth,
            lines=tuple(ChainLine(c, u, b) for c, u, b in lines),
        )
        return claim, on_chain

    def _sender(self, claim: oracle.ClaimInput) -> str:
        return self.chain.accounts[PROVIDERS[claim.provider]]

    def _decide(
        self,
        ledger: oracle.Ledger,
        pool: GhostPool,
        claim: oracle.ClaimInput,
        claim_id: int,
    ) -> tuple[oracle.ClaimAdjudication, Status]:
        """The spec's outcome of a claim that passed the rejects: priced by the oracle,
        then denied, pending review, paid or queued."""
        result = oracle.adjudicate(PLAN, ledger, claim, today=self.today)
        if result.status == "denied":
            return result, Status.DENIED
        if result.status == "pending_review":
            return result, Status.PENDING_REVIEW
        return result, pool.approve(claim_id, result.plan_paid)

    def _record(
        self,
        submitted: dict[str, Any],
        lines: list[dict[str, Any]],
        claim: oracle.ClaimInput,
        on_chain: ChainClaim,
        result: oracle.ClaimAdjudication,
        status: Status,
    ) -> None:
        claim_id = submitted["claim_id"]
        assert submitted["status"] == status, (claim, result)
        assert submitted["plan_paid"] == result.plan_paid
        got = [line_result(e) for e in lines]
        want = [oracle_line_result(x) for x in result.lines]
        assert got == want, claim
        self.claims[claim_id] = GhostClaim(claim, on_chain.commitment, result, status)
        self.accumulators_moved = True
        event(f"claim {status.label}")
        if status == Status.PENDING_REVIEW:
            self.pending.append(claim_id)

    # -- rules ---------------------------------------------------------------------------

    @initialize(
        starts=st.lists(st.integers(-200, 20), min_size=3, max_size=3),
        funding=st.sampled_from([0, 50_000, 1_000_000]) | st.integers(0, 300_000),
    )
    def open_the_plan(self, starts: list[int], funding: int) -> None:
        # Three members covered from about the plan's start (m3 only by the enrol rule),
        # and a pool that may be empty, short or ample.
        for member, start in zip(MEMBERS, starts, strict=False):
            self.enrol(member, start, None)
        if funding:
            self.fund(funding)

    @rule(
        member=st.sampled_from(MEMBERS),
        start=st.integers(-200, 100),
        length=st.none() | st.integers(0, 200),
    )
    def enrol(self, member: str, start: int, length: int | None) -> None:
        # Relative to the plan's effective day, 2027-01-01.
        first = PLAN.effective_day + start
        last = None if length is None else first + length
        self.d.engine.enroll(self.d.insurer, PLAN.id, [Enrollment(pseudonym(member), first, last)])
        self.ledger.enroll(member, oracle.Enrollment(first, last))

    @rule(amount=st.integers(1, 150_000))
    def fund(self, amount: int) -> None:
        self.d.fund(amount)
        self.funded += amount
        self.pool.balance += amount
        self.pool.settle(AUTO_SETTLE)

    @rule(spec=claim_specs)
    def submit(self, spec: ClaimSpec) -> None:
        claim, on_chain = self._claim(spec)
        claim_id = self.d.engine.next_claim_id()
        try:
            result, status = self._decide(self.ledger, self.pool, claim, claim_id)
        except oracle.ClaimRejected as rejected:
            send = self.d.engine.submit_claim
            expect_revert(lambda: send(self._sender(claim), PLAN.id, on_chain), rejected.reason)
            return
        receipt = self.d.engine.submit_claim(self._sender(claim), PLAN.id, on_chain)
        (sub,) = self.d.read(receipt)
        assert sub.claim_id == claim_id
        self._record(sub.submitted, sub.lines, claim, on_chain, result, status)

    @rule(
        specs=st.lists(claim_specs, min_size=1, max_size=5),
        provider=st.sampled_from(["HOSP-A", "HOSP-B"]),
    )
    def submit_batch(self, specs: list[ClaimSpec], provider: str) -> None:
        pairs = [self._claim((s[0], provider, s[2], s[3], s[4])) for s in specs]
        ledger, pool = self.ledger.copy(), copy.deepcopy(self.pool)
        first_id = self.d.engine.next_claim_id()
        decided = []
        sender = self.chain.accounts[PROVIDERS[provider]]
        try:
            for i, (claim, _) in enumerate(pairs):
                decided.append(self._decide(ledger, pool, claim, first_id + i))
        except oracle.ClaimRejected as rejected:
            before = self.d.engine.next_claim_id()
            batch = [c for _, c in pairs]
            expect_revert(
                lambda: self.d.engine.submit_claims(sender, PLAN.id, batch), rejected.reason
            )
            assert self.d.engine.next_claim_id() == before  # all of it undone
            return
        receipt = self.d.engine.submit_claims(sender, PLAN.id, [c for _, c in pairs])
        subs = self.d.read(receipt)
        assert len(subs) == len(pairs)
        self.ledger, self.pool = ledger, pool
        for sub, (claim, on_chain), (result, status) in zip(subs, pairs, decided, strict=True):
            self._record(sub.submitted, sub.lines, claim, on_chain, result, status)
        # Whatever was paid now went out in one transfer per batch.
        paid_now = sum(e["amount"] for e in self.d.events(receipt, "ClaimPaid"))
        assert len(self.d.transfers(receipt)) == (1 if paid_now else 0)

    @precondition(lambda self: bool(self.pending))
    @rule(pick=st.integers(0, 1_000), approve=st.booleans())
    def review(self, pick: int, approve: bool) -> None:
        claim_id = self.pending.pop(pick % len(self.pending))
        ghost = self.claims[claim_id]
        self.d.review(claim_id, approve)
        self.accumulators_moved = True
        if approve:
            ghost.status = self.pool.approve(claim_id, ghost.adjudication.plan_paid)
        else:
            oracle.reverse(PLAN, self.ledger, ghost.claim, ghost.adjudication)
            ghost.status = Status.DENIED
        expect_revert(lambda: self.d.review(claim_id, not approve), "claims: not pending review")

    @rule(most=st.sampled_from([1, 2, 256]))
    def settle(self, most: int) -> None:
        receipt = self.d.engine.settle(self.d.outsider, PLAN.id, most)
        expected = self.pool.settle(most)
        event(f"settle paid {min(len(expected), 2)}{'+' if len(expected) >= 2 else ''}")
        assert [e["claim_id"] for e in self.d.events(receipt, "ClaimPaid")] == expected

    @rule(extra=st.sampled_from([0, 1]) | st.integers(-50_000, 0))
    def withdraw(self, extra: int) -> None:
        # Around the boundary: exactly the free balance, a cent more, or less.
        amount = self.pool.balance - self.pool.reserved + extra
        if amount <= 0:
            return
        recipient = self.d.outsider
        if extra > 0:
            expect_revert(
                lambda: self.d.engine.withdraw(self.d.insurer, PLAN.id, amount, recipient),
                "pool: amount exceeds free balance",
            )
            return
        self.d.engine.withdraw(self.d.insurer, PLAN.id, amount, recipient)
        self.pool.balance -= amount
        self.withdrawn += amount

    @precondition(lambda self: self.today < LAST_DAY)
    @rule(days=st.integers(1, 45))
    def advance(self, days: int) -> None:
        self.today = min(self.today + days, LAST_DAY)
        self.chain.set_time(noon(from_day(self.today)))
        assert self.d.engine.today() == self.today

    # -- invariants ----------------------------------------------------------------------

    @invariant()
    def tokens_are_conserved(self) -> None:
        state = self.d.pool()
        engine_units = self.d.token.balance_of(self.d.engine.address)
        assert engine_units == state.balance * TOKEN_SCALE
        assert self.funded - sum(a for _, a in self.pool.paid) - self.withdrawn == state.balance
        assert self.d.balance(self.d.outsider) == self.withdrawn * TOKEN_SCALE
        assert state == PoolState(
            balance=self.pool.balance,
            reserved=self.pool.reserved,
            head=state.head,
            tail=state.head + len(self.pool.queue),
        )

    @invariant()
    def no_claim_is_paid_twice(self) -> None:
        paid = self.d.all_events("ClaimPaid")
        counts = Counter(e["claim_id"] for e in paid)
        assert all(n == 1 for n in counts.values())
        assert [(e["claim_id"], e["amount"]) for e in paid] == self.pool.paid
        received = sum(self.d.balance(self.chain.accounts[a]) for a in PAYOUTS.values())
        assert received == sum(e["amount"] for e in paid) * TOKEN_SCALE
        # Each claim is paid to its own provider's payout address.
        for e in paid:
            ref = self.claims[e["claim_id"]].claim.provider
            assert e["payee"] == self.chain.accounts[PAYOUTS[ref]]

    @invariant()
    def queued_claims_are_paid_in_order(self) -> None:
        queued = [e["claim_id"] for e in self.d.all_events("ClaimQueued")]
        paid_queued = [
            e["claim_id"] for e in self.d.all_events("ClaimPaid") if e["claim_id"] in set(queued)
        ]
        assert paid_queued == queued[: len(paid_queued)]

    @invariant()
    def every_line_balances(self) -> None:
        for line in self.d.all_events("LineAdjudicated"):
            shares = (
                line["deductible"]
                + line["copay"]
                + line["coinsurance"]
                + line["benefit_limit"]
                + line["plan_paid"]
            )
            assert line["allowed"] == shares
            assert line["billed"] >= line["allowed"]
            if line["denial"]:
                assert line["allowed"] == 0

    @invariant()
    def accumulators_equal_the_oracle(self) -> None:
        # Only submissions and reviews move accumulators; skip the reads after other steps.
        if not self.accumulators_moved:
            return
        self.accumulators_moved = False
        for (member, period), acc in self.ledger.periods():
            got = self.d.accumulators(pseudonym(member), period)
            assert got == (acc.deductible_met, acc.oop_met, acc.benefit_used), (member, period)
            assert got[1] <= PLAN.out_of_pocket_max
            assert self.d.units(pseudonym(member), "U", period) == acc.units_used.get("U", 0)

    @invariant()
    def statuses_equal_the_ghost(self) -> None:
        queued = {claim_id for claim_id, _ in self.pool.queue}
        for claim_id, ghost in self.claims.items():
            if claim_id in self.final:
                continue
            expected = ghost.status
            if expected == Status.QUEUED and claim_id not in queued:
                expected = Status.PAID  # settled since
            state = self.d.status(ghost.commitment)
            assert (state.claim_id, state.status) == (claim_id, expected)
            if expected in (Status.PAID, Status.DENIED):
                self.final.add(claim_id)


TestEngineMachine = EngineMachine.TestCase
TestEngineMachine.settings = settings(
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
