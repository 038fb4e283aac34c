"""A hypothesis state machine over the whole engine: enrolments, funding, single and batch
submissions, review votes (a quorum of two of three adjudicators), voids and replacements,
settlement, withdrawals and the passing of time, and the moves of parties that need not
trust each other: schedule changes from a future day, payout changes by providers, a token
that blocks payout addresses, credits and their collection, pause, an admin hand-over, and
a second plan on the same token. All in any order.

Ghost state follows along: the oracle (`claimsengine.adjudication`) keeps the member side,
and a small model keeps the pools, the first-in, first-out queue, the payout addresses, the
providers' credits and their debts (voided paid claims). After every step the invariants
compare the chain with the ghost and check what must always hold: tokens are conserved (the
engine holds the pools plus the credits), no claim is paid twice, queued claims are paid in
order (a voided one leaves the queue), oop_met never passes the out-of-pocket maximum, every
line balances, the accumulators equal the oracle's, every address received exactly what
was its own (no party moves another party's money), and each provider's money balances:
what reached it plus its credit equals the plan_paid of its paid, unvoided claims plus its
debt.
"""

from __future__ import annotations

import copy
import dataclasses
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from eth_utils import to_checksum_address
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
from claimsengine.engine import ChainClaim, ChainLine, Enrollment, Role
from claimsengine.errors import TransactionReverted
from claimsengine.plan import Service
from claimsengine.status import ClaimStatus
from tests.contracts.conftest import (
    TODAY,
    TOKEN_SCALE,
    HostileToken,
    deploy,
    line_result,
    make_plan,
    member_label,
    new_chain,
    noon,
    oracle_line_result,
    pseudonym,
    service,
)
from tests.prune_checks import assert_exact

# 60-day benefit periods from 2027-01-01, deductible 200.00, oop max 1000.00, 20%,
# benefit max 3000.00 a period, auto-approve up to 250.00, 10 days' wait, 120 days to file,
# and a provider daily limit of 300.00.
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
# A provider's claims approved without review may total 300.00 a chain day; two of the
# three adjudicators decide a claim in review.
PLAN = dataclasses.replace(PLAN, provider_daily_limit=30_000, review_quorum=2)
ADJUDICATORS = ("adjudicator", "hospital-3", "hospital-4")
MEMBERS = ("m0", "m1", "m2", "m3")
PROVIDERS = {"HOSP-A": "hospital-1", "HOSP-B": "hospital-2"}
PAYOUTS = {"HOSP-A": "hospital-3", "HOSP-B": "hospital-4"}  # paid apart from the accounts
# Where a provider may move its payout; and where the insurer's withdrawals go.
OTHER_PAYOUTS = {
    "HOSP-A": to_checksum_address("0x" + "a1" * 20),
    "HOSP-B": to_checksum_address("0x" + "b2" * 20),
}
WITHDRAWALS = to_checksum_address("0x" + "d0" * 20)
NEW_ADMIN = "auditor"  # the account the plan may be handed over to
OTHER = make_plan("OTHER", [service("X", 30_000)])  # a second plan on the same token
LAST_DAY = to_day(date(2027, 9, 30))  # time moves no further than this
LAST_PERIOD = (LAST_DAY - PLAN.effective_day) // PLAN.benefit_period_days
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

    def approve(self, claim_id: int, amount: int) -> ClaimStatus:
        if not self.queue and self.balance >= amount:
            self.balance -= amount
            self.paid.append((claim_id, amount))
            return ClaimStatus.PAID
        self.queue.append((claim_id, amount))
        return ClaimStatus.QUEUED

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
    status: ClaimStatus


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
# Claims that an open plan sends to review (a BIG line: over the auto-approve limit, for a
# member covered from the plan's start), so that most runs hold a claim in review from their
# first step and the votes, the quorum and a revoked adjudicator's dropped vote are reached;
# with claim_specs alone, 25 runs cast three votes in all. Their results are the oracle's,
# like every other claim's.
review_specs = st.tuples(
    st.sampled_from(MEMBERS[:3]),
    st.sampled_from(sorted(PROVIDERS)),
    st.integers(0, 20),
    st.just(False),
    st.lists(st.tuples(st.just("BIG"), st.just(1), st.just(90_000)), min_size=1, max_size=2),
)


class EngineMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.chain = new_chain()
        self.d = deploy(self.chain, PLAN, fund_cents=0, token_type=HostileToken)
        self.admin = self.d.insurer
        # The providers (registered by `deploy`) move their payouts off their accounts.
        self.payout: dict[str, str] = {}
        for ref, alias in PROVIDERS.items():
            self.payout[ref] = self.chain.accounts[PAYOUTS[ref]]
            self.d.engine.set_payout(self.chain.accounts[alias], PLAN.id, ref, self.payout[ref])
        self.blocked: set[str] = set()  # payout addresses the token refuses
        self.credit = dict.fromkeys(PROVIDERS, 0)
        self.received: Counter[str] = Counter()  # cents each payout address got
        self.payees: list[str] = []  # the payee of each ClaimPaid, in order
        self.paused = False
        self.last_version_day = PLAN.effective_day
        self.schedule: tuple[Service, ...] = PLAN.services
        # A second plan on the same token: its pool is its own.
        self.other = self.d.with_plan(OTHER, fund_cents=100_000)
        self.other_balance = 100_000
        self.other_withdrawn = 0
        self.today = to_day(TODAY)
        self.ledger = oracle.Ledger()
        self.pool = GhostPool()
        self.claims: dict[int, GhostClaim] = {}
        self.pending: list[int] = []
        # claim id -> its ballot: (adjudicator, approved), in vote order (ledger.vy's ballot)
        self.votes: dict[int, list[tuple[str, bool]]] = {}
        self.adjudicators = set(ADJUDICATORS)  # those that hold the role now
        self.debt = dict.fromkeys(PROVIDERS, 0)
        self.recovered = 0  # cents kept back from payments for debts, back in the pool
        for alias in ADJUDICATORS[1:]:
            self.d.engine.set_role(
                self.admin, PLAN.id, self.chain.accounts[alias], Role.ADJUDICATOR
            )
        self.funded = 0
        self.withdrawn = 0
        self.commitments = 0
        # What the invariants need not read again: claims seen in a final status (denied or
        # voided), and whether any step since the last check could move accumulators.
        self.final: set[int] = set()
        self.accumulators_moved = True

    def teardown(self) -> None:
        # Whatever ran, the chain kept exactly its head's state, each node counted exactly
        # (pruning by reference counts, chain/prune.py).
        assert_exact(self.chain)
        self.chain.close()

    # -- helpers -------------------------------------------------------------------------

    def _claim(self, spec: ClaimSpec) -> tuple[oracle.ClaimInput, ChainClaim]:
        member, provider, ago, prior_auth, lines = spec
        day = self.today - ago
        claim = oracle.ClaimInput(
            member=member_label(member, max(oracle.period_of(PLAN, day), 0)),
            provider=provider,
            service_day=day,
            prior_auth=prior_auth,
            lines=tuple(oracle.ClaimLineInput(c, u, b) for c, u, b in lines),
        )
        self.commitments += 1
        on_chain = ChainClaim(
            commitment=(b"machine-%d" % self.commitments).ljust(32, b"\0"),
            member=pseudonym(claim.member),
            service_day=claim.service_day,
            prior_auth=prior_auth,
            lines=tuple(ChainLine(c, u, b) for c, u, b in lines),
        )
        return claim, on_chain

    def _sender(self, claim: oracle.ClaimInput) -> str:
        return self.chain.accounts[PROVIDERS[claim.provider]]

    def _pay(self, provider: str, amount: int) -> None:
        """A claim of `provider` paid now: its debt is kept back first (back to the pool),
        the rest goes to its payout address, or to its credit when the token refuses that
        address."""
        payee = self.payout[provider]
        self.payees.append(payee)
        kept = min(self.debt[provider], amount)
        if kept:
            self.debt[provider] -= kept
            self.pool.balance += kept
            self.recovered += kept
            event("debt recovered")
        rest = amount - kept
        if not rest:
            return
        if payee in self.blocked:
            self.credit[provider] += rest
            event("payment credited")
        else:
            self.received[payee] += rest

    def _settled(self, claim_ids: list[int]) -> None:
        for claim_id in claim_ids:
            self.claims[claim_id].status = ClaimStatus.PAID
            self._pay(self.claims[claim_id].claim.provider, dict(self.pool.paid)[claim_id])

    def _pick_claim(self, pick: int, live: bool) -> int:
        """A claim id: any claim, or (`live`) one that may be voided, when there is one."""
        voidable = (ClaimStatus.PENDING_REVIEW, ClaimStatus.QUEUED, ClaimStatus.PAID)
        ids = sorted(self.claims)
        if live:
            ids = [i for i in ids if self.claims[i].status in voidable] or ids
        return ids[pick % len(ids)]

    def _void_refusal(self, ghost: GhostClaim, by_other: bool) -> str | None:
        """The revert a void of this claim gets now, in the contract's order, or None."""
        if self.paused:
            return "plan paused"
        voidable = (ClaimStatus.PENDING_REVIEW, ClaimStatus.QUEUED, ClaimStatus.PAID)
        if by_other or ghost.status not in voidable:
            return "not voidable"
        if self.ledger.filed_late(PLAN, ghost.claim.service_day, self.today):
            return "void window closed"  # the days the plan was paused not counted
        return None

    def _take_void(self, claim_id: int) -> None:
        """The spec's void: effects taken back, out of the queue, a paid claim's plan_paid
        the provider's debt."""
        ghost = self.claims[claim_id]
        oracle.void(PLAN, self.ledger, ghost.claim, ghost.adjudication)
        if ghost.status == ClaimStatus.QUEUED:
            self.pool.queue = [entry for entry in self.pool.queue if entry[0] != claim_id]
        elif ghost.status == ClaimStatus.PAID:
            self.debt[ghost.claim.provider] += ghost.adjudication.plan_paid
        elif ghost.status == ClaimStatus.PENDING_REVIEW:
            self.pending.remove(claim_id)
        event(f"void of a claim {ghost.status}")
        ghost.status = ClaimStatus.VOIDED
        self.accumulators_moved = True

    def _decide(
        self,
        ledger: oracle.Ledger,
        pool: GhostPool,
        claim: oracle.ClaimInput,
        claim_id: int,
    ) -> tuple[oracle.ClaimAdjudication, ClaimStatus]:
        """The spec's outcome of a claim that passed the rejects: priced by the oracle,
        then denied, pending review, paid or queued."""
        result = oracle.adjudicate(PLAN, ledger, claim, today=self.today)
        if result.status == "denied":
            return result, ClaimStatus.DENIED
        if result.status == "pending_review":
            return result, ClaimStatus.PENDING_REVIEW
        return result, pool.approve(claim_id, result.plan_paid)

    def _record(
        self,
        submitted: dict[str, Any],
        lines: list[dict[str, Any]],
        claim: oracle.ClaimInput,
        on_chain: ChainClaim,
        result: oracle.ClaimAdjudication,
        status: ClaimStatus,
    ) -> None:
        claim_id = submitted["claim_id"]
        assert ClaimStatus.from_code(submitted["status"]) == status, (claim, result)
        assert submitted["plan_paid"] == result.plan_paid
        got = [line_result(e) for e in lines]
        want = [oracle_line_result(x) for x in result.lines]
        assert got == want, claim
        self.claims[claim_id] = GhostClaim(claim, on_chain.commitment, result, status)
        self.accumulators_moved = True
        event(f"claim {status}")
        if status == ClaimStatus.PENDING_REVIEW:
            self.pending.append(claim_id)

    # -- rules ---------------------------------------------------------------------------

    @initialize(
        starts=st.lists(st.integers(-200, 20), min_size=3, max_size=3),
        funding=st.sampled_from([0, 50_000, 1_000_000]) | st.integers(0, 300_000),
        blocked=st.booleans(),
        in_review=st.lists(review_specs, max_size=3),
    )
    def open_the_plan(
        self, starts: list[int], funding: int, blocked: bool, in_review: list[ClaimSpec]
    ) -> None:
        # Three members covered from about the plan's start (m3 only by the enrol rule),
        # a pool that may be empty, short or ample, maybe a token that refuses to pay
        # HOSP-A's payout address from the start, and a few claims that go to review.
        for member, start in zip(MEMBERS, starts, strict=False):
            self.enrol(member, start, None)
        if blocked:
            self.token_blocks(f"alias:{PAYOUTS['HOSP-A']}", True)
        if funding:
            self.fund(funding)
        for spec in in_review:
            self.submit(spec)

    @rule(
        member=st.sampled_from(MEMBERS),
        start=st.integers(-200, 100),
        length=st.none() | st.integers(0, 200),
    )
    def enrol(self, member: str, start: int, length: int | None) -> None:
        # Relative to the plan's effective day, 2027-01-01.
        first = PLAN.effective_day + start
        last = None if length is None else first + length
        # The member's pseudonym of every period the machine reaches, each for its period.
        labels = [member_label(member, period) for period in range(LAST_PERIOD + 1)]
        enrolments = [
            Enrollment(pseudonym(label), first, last, p) for p, label in enumerate(labels)
        ]
        before = self.ledger.enrollment(labels[0])  # every period got the same dates
        days = PLAN.benefit_period_days
        within = [
            (PLAN.effective_day + p * days, PLAN.effective_day + (p + 1) * days - 1)
            for p in range(LAST_PERIOD + 1)
        ]
        if before is not None and any(
            before.takes_back(first, last, self.today, d) for d in within
        ):
            # Coverage already lived stays (a claim for such a day may be on its way).
            send = self.d.engine.enroll
            expect_revert(
                lambda: send(self.admin, PLAN.id, enrolments),
                "claims: coverage already lived",
            )
            event("a coverage change that reaches back refused")
            return
        self.d.engine.enroll(self.admin, PLAN.id, enrolments)
        for period, label in enumerate(labels):
            self.ledger.enroll(label, oracle.Enrollment(first, last, period), self.today, PLAN)

    @rule(amount=st.integers(1, 150_000))
    def fund(self, amount: int) -> None:
        self.d.fund(amount, sender=self.admin)
        self.funded += amount
        self.pool.balance += amount
        self._settled(self.pool.settle(AUTO_SETTLE))  # funding settles, paused or not

    @rule(spec=claim_specs)
    def submit(self, spec: ClaimSpec) -> None:
        claim, on_chain = self._claim(spec)
        if self.paused:
            send = self.d.engine.submit_claim
            expect_revert(lambda: send(self._sender(claim), PLAN.id, on_chain), "plan paused")
            return
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
        if status == ClaimStatus.PAID:
            self._pay(claim.provider, result.plan_paid)

    @rule(
        specs=st.lists(claim_specs, min_size=1, max_size=5),
        provider=st.sampled_from(["HOSP-A", "HOSP-B"]),
    )
    def submit_batch(self, specs: list[ClaimSpec], provider: str) -> None:
        pairs = [self._claim((s[0], provider, s[2], s[3], s[4])) for s in specs]
        if self.paused:
            sender = self.chain.accounts[PROVIDERS[provider]]
            batch = [c for _, c in pairs]
            expect_revert(
                lambda: self.d.engine.submit_claims(sender, PLAN.id, batch), "plan paused"
            )
            return
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
            if status == ClaimStatus.PAID:
                self._pay(provider, result.plan_paid)
        # Whatever was paid now, less the debt kept back, went out in one transfer per
        # batch (or one credit).
        paid_now = sum(e["amount"] for e in self.d.events(receipt, "ClaimPaid"))
        paid_now -= sum(e["amount"] for e in self.d.events(receipt, "DebtRecovered"))
        refused = self.payout[provider] in self.blocked
        assert len(self.d.transfers(receipt)) == (1 if paid_now and not refused else 0)

    @precondition(lambda self: bool(self.pending))
    @rule(pick=st.integers(0, 1_000), approve=st.booleans(), who=st.sampled_from(ADJUDICATORS))
    def review(self, pick: int, approve: bool, who: str) -> None:
        # A vote; two of the same kind decide. Each adjudicator votes once.
        claim_id = self.pending[pick % len(self.pending)]
        voter = self.chain.accounts[who]
        if who not in self.adjudicators:  # the role is checked first
            expect_revert(
                lambda: self.d.review(claim_id, approve, sender=voter), "access: not authorised"
            )
            return
        if self.paused:
            expect_revert(lambda: self.d.review(claim_id, approve, sender=voter), "plan paused")
            return
        ballot = self.votes.setdefault(claim_id, [])
        if who in (voted for voted, _ in ballot):
            expect_revert(
                lambda: self.d.review(claim_id, approve, sender=voter), "claims: already voted"
            )
            return
        receipt = self.d.review(claim_id, approve, sender=voter)
        # The votes of accounts that lost the role are dropped; they may vote again.
        if any(voted not in self.adjudicators for voted, _ in ballot):
            event("a revoked adjudicator's vote dropped")
        ballot[:] = [(voted, yes) for voted, yes in ballot if voted in self.adjudicators]
        ballot.append((who, approve))
        approvals = sum(yes for _, yes in ballot)
        counts = (approvals, len(ballot) - approvals)
        (voted_event,) = self.d.events(receipt, "ReviewVoted")
        assert (voted_event["approvals"], voted_event["denials"]) == counts
        if max(counts) < PLAN.review_quorum:
            # The ballot of a claim still in review (the deciding vote is in events only).
            assert self.d.engine.review_votes(self.d.plan_id, claim_id) == counts
            event("a vote short of the quorum")
            return
        self.pending.remove(claim_id)
        ghost = self.claims[claim_id]
        self.accumulators_moved = True
        if approve:
            ghost.status = self.pool.approve(claim_id, ghost.adjudication.plan_paid)
            if ghost.status == ClaimStatus.PAID:
                self._pay(ghost.claim.provider, ghost.adjudication.plan_paid)
        else:
            oracle.reverse(PLAN, self.ledger, ghost.claim, ghost.adjudication)
            ghost.status = ClaimStatus.DENIED
        # Asked again by the adjudicator who decided it (the default one may have lost the role).
        expect_revert(
            lambda: self.d.review(claim_id, not approve, sender=voter),
            "claims: not pending review",
        )

    @precondition(lambda self: bool(self.claims))
    @rule(pick=st.integers(0, 10_000), by_other=st.booleans(), live=st.booleans())
    def void(self, pick: int, by_other: bool, live: bool) -> None:
        # The claim's own provider voids it; the other provider may not.
        claim_id = self._pick_claim(pick, live)
        ghost = self.claims[claim_id]
        provider = ghost.claim.provider
        if by_other:
            provider = next(ref for ref in PROVIDERS if ref != provider)
        sender = self.chain.accounts[PROVIDERS[provider]]
        refusal = self._void_refusal(ghost, by_other)
        if refusal:
            expect_revert(lambda: self.d.engine.void(sender, claim_id), refusal)
            return
        self.d.engine.void(sender, claim_id)
        self._take_void(claim_id)

    @precondition(lambda self: bool(self.claims))
    @rule(
        pick=st.integers(0, 10_000), spec=claim_specs, same_visit=st.booleans(), live=st.booleans()
    )
    def replace(self, pick: int, spec: ClaimSpec, same_visit: bool, live: bool) -> None:
        # A corrected record for a claim of the same provider: void and submit at once.
        # It corrects the lines of the same visit (member and day), or it is another.
        old_id = self._pick_claim(pick, live)
        old = self.claims[old_id]
        provider = old.claim.provider
        member, ago = spec[0], spec[2]
        if same_visit:
            # The same member (the name, without the period of its pseudonym) and day.
            member, ago = old.claim.member.split("@")[0], self.today - old.claim.service_day
        claim, on_chain = self._claim((member, provider, ago, spec[3], spec[4]))
        sender = self.chain.accounts[PROVIDERS[provider]]
        send = lambda: self.d.engine.submit_replacement(  # noqa: E731
            sender, PLAN.id, old_id, on_chain
        )
        refusal = self._void_refusal(old, False)
        if refusal:
            expect_revert(send, refusal)
            return
        saved = (self.ledger.copy(), copy.deepcopy(self.pool), dict(self.debt), list(self.pending))
        status_before = old.status
        self._take_void(old_id)
        new_id = self.d.engine.next_claim_id()
        try:
            result, status = self._decide(self.ledger, self.pool, claim, new_id)
        except oracle.ClaimRejected as rejected:
            # The whole transaction reverts: the old claim stands.
            self.ledger, self.pool, self.debt, self.pending = saved
            old.status = status_before
            expect_revert(send, rejected.reason)
            return
        receipt = send()
        (sub,) = self.d.read(receipt)
        assert sub.claim_id == new_id
        (voided,) = self.d.events(receipt, "ClaimVoided")
        assert (voided["claim_id"], voided["replaced_by"]) == (old_id, new_id)
        event(f"replaced by a claim {status}")
        self._record(sub.submitted, sub.lines, claim, on_chain, result, status)
        if status == ClaimStatus.PAID:
            self._pay(provider, result.plan_paid)

    @rule(most=st.sampled_from([1, 2, 256]))
    def settle(self, most: int) -> None:
        # Anyone settles, also while the plan is paused: the pause holds no approved money.
        receipt = self.d.engine.settle(self.d.outsider, PLAN.id, most)
        expected = self.pool.settle(most)
        self._settled(expected)
        event(f"settle paid {min(len(expected), 2)}{'+' if len(expected) >= 2 else ''}")
        assert [e["claim_id"] for e in self.d.events(receipt, "ClaimPaid")] == expected

    @rule(extra=st.sampled_from([0, 1]) | st.integers(-50_000, 0))
    def withdraw(self, extra: int) -> None:
        # Around the boundary: exactly the free balance, a cent more, or less.
        amount = self.pool.balance - self.pool.reserved + extra
        if amount <= 0:
            return
        recipient = WITHDRAWALS
        if extra > 0 or self.paused:
            expect_revert(
                lambda: self.d.engine.withdraw(self.admin, PLAN.id, amount, recipient),
                "plan paused" if self.paused else "pool: amount exceeds free balance",
            )
            return
        self.d.engine.withdraw(self.admin, PLAN.id, amount, recipient)
        self.pool.balance -= amount
        self.withdrawn += amount

    @precondition(lambda self: self.today < LAST_DAY)
    @rule(days=st.integers(1, 45))
    def advance(self, days: int) -> None:
        self.today = min(self.today + days, LAST_DAY)
        self.chain.set_time(noon(from_day(self.today)))
        assert self.d.engine.today() == self.today

    @rule(ref=st.sampled_from(sorted(PROVIDERS)), elsewhere=st.booleans())
    def change_payout(self, ref: str, elsewhere: bool) -> None:
        # Only the provider's own account moves its payout; the admin cannot.
        to = OTHER_PAYOUTS[ref] if elsewhere else self.chain.accounts[PAYOUTS[ref]]
        engine = self.d.engine
        expect_revert(
            lambda: engine.set_payout(self.admin, PLAN.id, ref, self.admin), "not the provider"
        )
        engine.set_payout(self.chain.accounts[PROVIDERS[ref]], PLAN.id, ref, to)
        self.payout[ref] = to

    @rule(
        address=st.sampled_from(
            [*OTHER_PAYOUTS.values(), *(f"alias:{a}" for a in PAYOUTS.values())]
        ),
        blocked=st.booleans(),
    )
    def token_blocks(self, address: str, blocked: bool) -> None:
        # The token's own blocklist: a payment there is refused (and credited instead).
        if address.startswith("alias:"):
            address = self.chain.accounts[address.removeprefix("alias:")]
        self.d.token.transact(self.d.insurer, "set_blocked", address, blocked)
        if blocked:
            self.blocked.add(address)
        else:
            self.blocked.discard(address)

    @rule(ref=st.sampled_from(sorted(PROVIDERS)))
    def collect(self, ref: str) -> None:
        engine = self.d.engine
        expect_revert(lambda: engine.collect(self.admin, PLAN.id, ref), "not the provider")
        owner = self.chain.accounts[PROVIDERS[ref]]
        kept = min(self.debt[ref], self.credit[ref])  # the debt is kept back first
        sent = self.credit[ref] - kept
        if sent and self.payout[ref] in self.blocked:
            expect_revert(lambda: engine.collect(owner, PLAN.id, ref), "pool: transfer failed")
            return
        engine.collect(owner, PLAN.id, ref)
        self.debt[ref] -= kept
        self.pool.balance += kept
        self.recovered += kept
        self.received[self.payout[ref]] += sent
        self.credit[ref] = 0
        event("collected")

    @rule(paused=st.booleans())
    def pause(self, paused: bool) -> None:
        # Filing and void windows stand still while the plan is paused (the oracle keeps
        # the last pause as the engine does).
        self.d.engine.set_paused(self.admin, PLAN.id, paused)
        self.ledger.set_paused(PLAN, paused, self.today)
        self.paused = paused

    @rule(
        ahead=st.integers(1, 40),
        x_fee=st.sampled_from([30_000, 20_000, 45_000]),
        u_limit=st.integers(2, 6),
        at_period_start=st.booleans(),
    )
    def change_schedule(self, ahead: int, x_fee: int, u_limit: int, at_period_start: bool) -> None:
        # A new version from a future day; U's period limit may change only when the
        # version starts a benefit period.
        engine = self.d.engine
        expect_revert(
            lambda: engine.update_schedule(self.admin, PLAN.id, self.schedule, self.today),
            "effective day not after today",
        )
        after = max(self.today, self.last_version_day)
        limit = next(s.max_units_per_period for s in self.schedule if s.code == "U")
        if at_period_start:
            periods = (after - PLAN.effective_day) // PLAN.benefit_period_days + 1
            day = PLAN.effective_day + periods * PLAN.benefit_period_days
            limit = u_limit
        else:
            day = after + ahead
        services = tuple(
            dataclasses.replace(s, fee=x_fee)
            if s.code == "X"
            else dataclasses.replace(s, max_units_per_period=limit)
            if s.code == "U"
            else s
            for s in self.schedule
        )
        engine.update_schedule(self.admin, PLAN.id, services, day)
        self.ledger.update_schedule(day, services)
        self.schedule, self.last_version_day = services, day
        event("schedule changed" + (" at a period start" if at_period_start else ""))

    @rule(who=st.sampled_from(ADJUDICATORS), grant=st.booleans())
    def set_adjudicator(self, who: str, grant: bool) -> None:
        # The admin revokes a role (a stolen key) or grants it again: a revoked account's
        # votes on claims in review count no more; the ballots the view counts say so.
        role = Role.ADJUDICATOR if grant else Role(0)
        self.d.engine.set_role(self.admin, PLAN.id, self.chain.accounts[who], role)
        if grant:
            self.adjudicators.add(who)
        else:
            self.adjudicators.discard(who)
        for claim_id in self.pending:
            ballot = self.votes.get(claim_id, [])
            counted = [yes for voted, yes in ballot if voted in self.adjudicators]
            expected = (sum(counted), len(counted) - sum(counted))
            assert self.d.engine.review_votes(self.d.plan_id, claim_id) == expected

    @precondition(lambda self: any(self.votes.get(claim_id) for claim_id in self.pending))
    @rule(pick=st.integers(0, 1_000))
    def revoke_a_voter(self, pick: int) -> None:
        # The stolen-key case: an adjudicator that voted on a claim still in review loses
        # the role (so that the next vote on that claim drops its vote).
        voted = [claim_id for claim_id in self.pending if self.votes.get(claim_id)]
        who, _ = self.votes[voted[pick % len(voted)]][0]
        self.set_adjudicator(who, grant=False)

    @precondition(lambda self: self.admin == self.d.insurer)
    @rule()
    def hand_over(self) -> None:
        old, new = self.admin, self.chain.accounts[NEW_ADMIN]
        self.d.engine.transfer_admin(old, PLAN.id, new)
        self.d.engine.accept_admin(new, PLAN.id)
        self.admin = new
        expect_revert(
            lambda: self.d.engine.set_paused(old, PLAN.id, True), "access: not authorised"
        )

    @rule(amount=st.integers(1, 50_000), withdraw=st.booleans())
    def other_plan(self, amount: int, withdraw: bool) -> None:
        # The second plan's money moves only in its own pool.
        if withdraw:
            amount = min(amount, self.other_balance)
            if amount == 0:
                return
            self.d.engine.withdraw(self.other.insurer, OTHER.id, amount, WITHDRAWALS)
            self.other_balance -= amount
            self.other_withdrawn += amount
        else:
            self.other.fund(amount)
            self.other_balance += amount

    # -- invariants ----------------------------------------------------------------------

    @invariant()
    def tokens_are_conserved(self) -> None:
        # The engine holds both pools and the providers' credits: no more, no less.
        state = self.d.pool()
        engine_units = self.d.token.balance_of(self.d.engine.address)
        credits = sum(self.credit.values())
        assert engine_units == (state.balance + self.other_balance + credits) * TOKEN_SCALE
        assert self.other.pool().balance == self.other_balance
        paid = sum(a for _, a in self.pool.paid)
        assert self.funded - paid - self.withdrawn + self.recovered == state.balance
        withdrawn = self.withdrawn + self.other_withdrawn
        assert self.d.token.balance_of(WITHDRAWALS) == withdrawn * TOKEN_SCALE
        assert (state.balance, state.reserved) == (self.pool.balance, self.pool.reserved)
        # A voided queued claim may leave a hole between head and tail.
        assert state.tail - state.head >= len(self.pool.queue)

    @invariant()
    def providers_money_balances(self) -> None:
        # What reached a provider (its payout addresses) plus its credit is the plan_paid of
        # its paid claims that are not voided, plus its debt (voided paid claims not yet
        # kept back from later payments).
        for ref, alias in PAYOUTS.items():
            info = self.d.engine.provider_info(PLAN.id, ref)
            assert info.debt == self.debt[ref]
            addresses = (self.chain.accounts[alias], OTHER_PAYOUTS[ref])
            reached = sum(self.d.token.balance_of(a) for a in addresses) // TOKEN_SCALE
            paid = sum(
                g.adjudication.plan_paid
                for g in self.claims.values()
                if g.claim.provider == ref and g.status == ClaimStatus.PAID
            )
            assert reached + info.credit == paid + info.debt

    @invariant()
    def no_claim_is_paid_twice(self) -> None:
        paid = self.d.all_events("ClaimPaid")
        counts = Counter(e["claim_id"] for e in paid)
        assert all(n == 1 for n in counts.values())
        assert [(e["claim_id"], e["amount"]) for e in paid] == self.pool.paid
        # Each claim is paid to its own provider's payout address as it was then, and every
        # address holds exactly what was its own: no party moved another party's money.
        assert [e["payee"] for e in paid] == self.payees
        addresses = [*OTHER_PAYOUTS.values(), *(self.chain.accounts[a] for a in PAYOUTS.values())]
        for address in addresses:
            assert self.d.token.balance_of(address) == self.received[address] * TOKEN_SCALE
        for ref, cents in self.credit.items():
            assert self.d.engine.provider_info(PLAN.id, ref).credit == cents

    @invariant()
    def queued_claims_are_paid_in_order(self) -> None:
        voided = {
            e["claim_id"]
            for e in self.d.all_events("ClaimVoided")
            if e["status_before"] == ClaimStatus.QUEUED.code
        }
        queued = [e["claim_id"] for e in self.d.all_events("ClaimQueued")]
        queued = [claim_id for claim_id in queued if claim_id not in voided]
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
            if expected == ClaimStatus.QUEUED and claim_id not in queued:
                expected = ClaimStatus.PAID  # settled since
            state = self.d.status(ghost.commitment, ghost.claim.provider)
            assert (state.claim_id, state.status) == (claim_id, expected)
            if expected in (ClaimStatus.VOIDED, ClaimStatus.DENIED):
                self.final.add(claim_id)


TestEngineMachine = EngineMachine.TestCase
TestEngineMachine.settings = settings(
    max_examples=25,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
