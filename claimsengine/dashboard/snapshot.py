"""What the dashboard shows, read from the chain once per new block.

A ``Snapshot`` holds, per plan, its terms (PlanCreated), its pool (the engine's view), its
claims as reconciliation reads them (``reconcile.read_settlements``: events only) and the
pool's history by chain day (PoolFunded, PoolWithdrawn, ClaimPaid). Pages filter and sum
these plain values in memory, so a page costs no chain reads; the snapshot is read again
only when the chain has a new block.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from claimsengine.abi import DecodedEvent, bytes32_to_text, text_to_bytes32
from claimsengine.days import day_of_timestamp
from claimsengine.engine import PoolState
from claimsengine.reconcile import OnChainClaim, PlanSettlements, read_settlements

if TYPE_CHECKING:
    from claimsengine.chain.base import Chain
    from claimsengine.engine import Engine
    from claimsengine.workspace import Workspace

__all__ = [
    "PlanTerms",
    "PlanView",
    "PoolDay",
    "Snapshot",
    "block_days",
    "pool_history",
    "read_snapshot",
    "review_votes",
]


@dataclass(frozen=True)
class PlanTerms:
    """A plan's terms as its PlanCreated event gave them (money in cents; None: no limit)."""

    effective_day: int
    benefit_period_days: int
    waiting_period_days: int
    timely_filing_days: int
    deductible: int
    out_of_pocket_max: int
    annual_benefit_max: int | None
    coinsurance_bps: int
    auto_approve_limit: int
    provider_daily_limit: int | None
    review_quorum: int = 1

    @classmethod
    def from_event(cls, args: Mapping[str, Any]) -> PlanTerms:
        return cls(
            effective_day=int(args["effective_day"]),
            benefit_period_days=int(args["benefit_period_days"]),
            waiting_period_days=int(args["waiting_period_days"]),
            timely_filing_days=int(args["timely_filing_days"]),
            deductible=int(args["deductible"]),
            out_of_pocket_max=int(args["out_of_pocket_max"]),
            annual_benefit_max=(
                int(args["annual_benefit_max"]) if args["has_benefit_max"] else None
            ),
            coinsurance_bps=int(args["coinsurance_bps"]),
            auto_approve_limit=int(args["auto_approve_limit"]),
            provider_daily_limit=(
                int(args["provider_daily_limit"]) if args["has_provider_daily_limit"] else None
            ),
            review_quorum=int(args.get("review_quorum", 1)),
        )

    def period_start(self, today: int) -> int:
        """The first day of the benefit period that holds ``today``."""
        if today < self.effective_day:
            return self.effective_day
        elapsed = (today - self.effective_day) // self.benefit_period_days
        return self.effective_day + elapsed * self.benefit_period_days


@dataclass(frozen=True)
class PoolDay:
    """The pool at the end of one chain day, and what it paid that day (cents)."""

    day: int
    balance: int
    paid: int
    funded: int
    withdrawn: int


@dataclass(frozen=True)
class PlanView:
    """One plan, as the dashboard shows it."""

    plan_id: str
    terms: PlanTerms
    pool: PoolState
    paused: bool
    settlements: PlanSettlements
    history: tuple[PoolDay, ...]
    #: What the plan paid in payments made since the current benefit period began.
    paid_this_period: int
    #: Review votes so far by claim id, for engines with quorum review (else empty).
    votes: Mapping[int, tuple[Mapping[str, Any], ...]] = field(default_factory=dict)

    @property
    def claims(self) -> tuple[OnChainClaim, ...]:
        return self.settlements.claims

    def count(self, status: str) -> int:
        return self.status_counts.get(status, 0)

    # Sums over every claim, taken once per snapshot: pages read them on every load.
    @cached_property
    def status_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for claim in self.claims:
            counts[claim.status] = counts.get(claim.status, 0) + 1
        return counts

    @cached_property
    def totals(self) -> tuple[int, int, int, int]:
        """Billed, allowed, plan paid and paid, over every claim (cents)."""
        billed = allowed = plan_paid = paid = 0
        for claim in self.claims:
            billed += claim.billed
            allowed += claim.allowed
            plan_paid += claim.plan_paid
            paid += claim.paid
        return billed, allowed, plan_paid, paid

    @cached_property
    def pending(self) -> tuple[OnChainClaim, ...]:
        """The claims pending review, oldest first."""
        return tuple(claim for claim in self.claims if claim.status == "pending_review")

    @cached_property
    def providers(self) -> tuple[str, ...]:
        return tuple(sorted({claim.provider for claim in self.claims}))

    @cached_property
    def denials(self) -> dict[tuple[str, int], tuple[int, int, int]]:
        """(provider, reason code) -> (denied lines, claims they are on, cents billed)."""
        totals: dict[tuple[str, int], list[int]] = {}
        for claim in self.claims:
            seen: set[int] = set()
            for line in claim.lines:
                if line.denial is None:
                    continue
                row = totals.setdefault((claim.provider, line.denial), [0, 0, 0])
                row[0] += 1
                row[1] += line.denial not in seen
                row[2] += line.billed
                seen.add(line.denial)
        return {key: (lines, claims, billed) for key, (lines, claims, billed) in totals.items()}

    def record_id(self, claim: OnChainClaim) -> str | None:
        return self.settlements.record_ids.get(claim.commitment)


@dataclass(frozen=True)
class Snapshot:
    """The chain as of ``block``: every plan, by plan id, in the order they were created."""

    block: int
    today: int
    plans: dict[str, PlanView]
    #: Whether this state folder holds the pseudonym key of each plan (the insurer's view).
    keys: frozenset[str] = frozenset()

    def warm(self) -> Snapshot:
        """Take every per-plan sum now (on the reading thread), not on a page's first load."""
        for plan in self.plans.values():
            _ = plan.status_counts, plan.totals, plan.providers, plan.denials, plan.pending
        _ = self._by_id
        return self

    def claim(self, claim_id: int) -> tuple[PlanView, OnChainClaim] | None:
        return self._by_id.get(claim_id)

    def plan_of(self, claim: OnChainClaim) -> PlanView:
        return self._by_id[claim.claim_id][0]

    @cached_property
    def _by_id(self) -> dict[int, tuple[PlanView, OnChainClaim]]:
        return {c.claim_id: (plan, c) for plan in self.plans.values() for c in plan.claims}


def read_snapshot(workspace: Workspace, day_cache: dict[int, int] | None = None) -> Snapshot:
    """Read every plan on the chain. ``day_cache`` (block -> chain day) is kept by the
    caller between snapshots: blocks do not change, so each is looked up once."""
    days = {} if day_cache is None else day_cache
    chain = workspace.chain
    block = chain.block_number()
    today = day_of_timestamp(chain.now())
    plans: dict[str, PlanView] = {}
    if workspace.has_engine:
        engine = workspace.engine
        for event in engine.events("PlanCreated"):
            plan_id = bytes32_to_text(event.args["plan_id"])
            plans[plan_id] = _plan_view(workspace, plan_id, event, today, days)
    return Snapshot(block=block, today=today, plans=plans, keys=frozenset(workspace.keys.plans()))


def _plan_view(
    workspace: Workspace, plan_id: str, created: DecodedEvent, today: int, days: dict[int, int]
) -> PlanView:
    engine = workspace.engine
    terms = PlanTerms.from_event(created.args)
    settlements = read_settlements(workspace, plan_id)
    history = pool_history(engine, workspace.chain, plan_id, created.block_number, days)
    start = terms.period_start(today)
    return PlanView(
        plan_id=plan_id,
        terms=terms,
        pool=engine.pool_state(plan_id),
        paused=engine.paused(plan_id),
        settlements=settlements,
        history=history,
        paid_this_period=sum(d.paid for d in history if d.day >= start),
        votes=review_votes(engine, plan_id, created.block_number),
    )


def pool_history(
    engine: Engine, chain: Chain, plan_id: str, from_block: int, days: dict[int, int]
) -> tuple[PoolDay, ...]:
    """The pool's balance at the end of each chain day that moved it, with the day's
    payments, fundings and withdrawals. PoolFunded and PoolWithdrawn carry the balance they
    left; a ClaimPaid takes its amount out, a DebtRecovered (engines with voids) puts its
    amount back (in log order, so a top-up that pays the queue reads as the funding, then
    the payments)."""
    topic = text_to_bytes32(plan_id)
    moves = [
        *engine.events("PoolFunded", topic, from_block=from_block),
        *engine.events("PoolWithdrawn", topic, from_block=from_block),
        *engine.events("ClaimPaid", None, topic, from_block=from_block),
    ]
    if "DebtRecovered" in engine.abi.events:  # engines with voids: a debt paid back
        moves += engine.events("DebtRecovered", topic, from_block=from_block)
    moves.sort(key=lambda e: (e.block_number, e.log_index))
    day_of = block_days(chain, (e.block_number for e in moves), days)
    balance = 0
    by_day: dict[int, dict[str, int]] = {}
    for event in moves:
        amount = int(event.args["amount"])
        today = by_day.setdefault(
            day_of[event.block_number], {"paid": 0, "funded": 0, "withdrawn": 0}
        )
        if event.name == "ClaimPaid":
            balance -= amount
            today["paid"] += amount
        elif event.name == "DebtRecovered":
            balance += amount  # kept back from a payment, returned to the pool
        else:
            balance = int(event.args["balance"])
            today["funded" if event.name == "PoolFunded" else "withdrawn"] += amount
        today["balance"] = balance
    return tuple(
        PoolDay(
            day=day,
            balance=row["balance"],
            paid=row["paid"],
            funded=row["funded"],
            withdrawn=row["withdrawn"],
        )
        for day, row in sorted(by_day.items())
    )


def block_days(chain: Chain, numbers: Iterable[int], cache: dict[int, int]) -> dict[int, int]:
    """The chain day of each block (block.timestamp // 86400), remembered in ``cache``."""
    for number in set(numbers) - cache.keys():
        cache[number] = day_of_timestamp(_block_timestamp(chain, number))
    return cache


def _block_timestamp(chain: Chain, number: int) -> int:
    block_at = getattr(chain, "block_at", None)
    if block_at is not None:  # the embedded chain (web3 stays unimported: seconds saved)
        block = block_at(number)
        if block is None:
            raise LookupError(f"no block {number} on this chain")
        return int(block.header.timestamp)
    from claimsengine.chain.rpc import RpcChain

    if isinstance(chain, RpcChain):
        header = chain._request("eth_getBlockByNumber", hex(number), False)
        return int(header["timestamp"], 16)
    raise TypeError(f"cannot read block times from {type(chain).__name__}")


def review_votes(
    engine: Engine, plan_id: str, from_block: int = 0
) -> dict[int, tuple[Mapping[str, Any], ...]]:
    """Review votes by claim id, for an engine whose ABI has a vote event (quorum review):
    each vote's arguments, in chain order. An engine without one gives no votes."""
    votes: dict[int, list[Mapping[str, Any]]] = {}
    for name in sorted(engine.abi.events):
        if "Vote" not in name:
            continue
        for event in engine.events(name, from_block=from_block):
            args = event.args
            claim_id = args.get("claim_id")
            plan = args.get("plan_id")
            if claim_id is None or (plan is not None and bytes32_to_text(plan) != plan_id):
                continue
            votes.setdefault(int(claim_id), []).append(args)
    return {claim_id: tuple(found) for claim_id, found in votes.items()}


@dataclass(frozen=True)
class ClaimStep:
    """One event of a claim's history, with the chain day of its block."""

    name: str
    day: int
    block_number: int
    tx_hash: bytes
    args: Mapping[str, Any]


def claim_history(workspace: Workspace, claim_id: int, days: dict[int, int]) -> list[ClaimStep]:
    """Every event of the engine that names the claim (an indexed ``claim_id``), in chain
    order, without its LineAdjudicated lines (the claim page shows those as lines).

    Reading the engine's own ABI, not a fixed list, means events that later engines add
    (a void, a review vote) appear in the history as soon as the chain has them."""
    engine = workspace.engine
    topic = claim_id.to_bytes(32, "big")
    found: list[DecodedEvent] = []
    for name, event in engine.abi.events.items():
        names = [indexed for indexed, _kind in event.indexed]
        if name == "LineAdjudicated" or "claim_id" not in names:
            continue
        position = names.index("claim_id")
        found.extend(engine.events(name, *([None] * position), topic))
    found.sort(key=lambda e: (e.block_number, e.log_index))
    day_of = block_days(workspace.chain, (e.block_number for e in found), days)
    return [
        ClaimStep(e.name, day_of[e.block_number], e.block_number, e.tx_hash, e.args) for e in found
    ]
