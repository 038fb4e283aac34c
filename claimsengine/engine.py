"""Typed access to the deployed contracts: the claims engine and the settlement token.

Everything here is one call or one transaction. It converts between the Python domain
(plans, cents, days, pseudonyms) and the contract's ABI, and turns reverts into the
project's exceptions with a hint of what to do (reverts.py). The SDK (sdk.py) builds on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntFlag
from typing import TYPE_CHECKING, Any

from claimsengine import compiler
from claimsengine.abi import ContractABI, DecodedEvent, bytes32_to_text, text_to_bytes32
from claimsengine.adjudication import REJECT_INVALID_CLAIM
from claimsengine.chain.base import Chain, Log, Receipt
from claimsengine.days import day_of_timestamp
from claimsengine.errors import ClaimRejected, ClaimsError, TransactionReverted
from claimsengine.reverts import reverted
from claimsengine.status import NO_CLAIM, ClaimStatus

if TYPE_CHECKING:  # plan.py (and YAML) are not needed to read the engine
    from claimsengine.plan import Plan, Service

# Mirrors of the contract's constants.
MAX_LINES = 32
MAX_BATCH = 100
MAX_SERVICES_PER_CALL = 64
MAX_ENROLMENTS_PER_CALL = 256
MAX_SETTLE = 256


class Role(IntFlag):
    """Per-plan roles, as the contract's `plan_access.Role` flag."""

    ADMIN = 1
    ADJUDICATOR = 2


# Review denial reasons (adjudication.md, Claim outcome); 0 asks for the default, 50.
REVIEW_REASONS = (50, 16, 96, 197, 204)
DEFAULT_REVIEW_REASON = 50


@dataclass(frozen=True)
class ChainLine:
    """One claim line as the contract takes it."""

    code: str
    units: int
    billed: int

    def as_abi(self) -> tuple[bytes, int, int]:
        return (text_to_bytes32(self.code), self.units, self.billed)


@dataclass(frozen=True)
class ChainClaim:
    """A claim as the contract takes it: no direct identifier, only pseudonym and commitment."""

    commitment: bytes
    member: bytes
    service_day: int
    prior_auth: bool
    lines: tuple[ChainLine, ...]

    def as_abi(self) -> tuple[Any, ...]:
        return (
            self.commitment,
            self.member,
            self.service_day,
            self.prior_auth,
            [line.as_abi() for line in self.lines],
        )


@dataclass(frozen=True)
class Enrollment:
    """A pseudonym's enrolment: coverage days (end None: open-ended) and the benefit period
    the pseudonym stands for (a claim of another period under it is denied 31)."""

    member: bytes
    coverage_start: int
    coverage_end: int | None
    period: int

    def as_abi(self) -> tuple[bytes, int, int, int]:
        return (self.member, self.coverage_start, self.coverage_end or 0, self.period)


@dataclass(frozen=True)
class PoolState:
    """A plan's pool: its balance, what the queued claims need (reserved), the queue's
    head and tail positions, and the holes between them (the places of queued claims that
    were voided, which settlement passes over)."""

    balance: int
    reserved: int
    head: int
    tail: int
    holes: int = 0

    @property
    def free(self) -> int:
        """What the insurer may withdraw: the balance no queued claim needs."""
        return max(self.balance - self.reserved, 0)

    @property
    def shortfall(self) -> int:
        """What the pool lacks to pay every queued claim."""
        return max(self.reserved - self.balance, 0)

    @property
    def queued(self) -> int:
        """Claims waiting in the queue (a hole is no claim)."""
        return self.tail - self.head - self.holes


@dataclass(frozen=True)
class ClaimState:
    """A claim as ``claim_status`` reads it; status None (and claim_id 0): no such claim."""

    claim_id: int
    status: ClaimStatus | None
    plan_paid: int


@dataclass(frozen=True)
class ProviderState:
    """A provider as the contract keeps it; owner is the zero address when unknown."""

    owner: str
    payout: str
    active: bool
    npi: int
    credit: int  # cents: payments the token refused, to collect
    debt: int = 0  # cents: voided paid claims, kept back from the provider's next payments


@dataclass(frozen=True)
class ClaimEffects:
    """What a claim left behind, as a void or a review denial takes it back, rebuilt from
    the claim's events (the contract keeps only their hash): the member, the service day,
    the claim's deductible and out-of-pocket shares and its priced lines (code, units).
    ``position`` is its place in the queue when it was queued (else 0)."""

    plan_id: str
    provider_id: str
    commitment: bytes
    member: bytes
    service_day: int
    deductible: int
    out_of_pocket: int
    lines: tuple[tuple[bytes, int], ...]
    position: int = 0

    def as_abi(self) -> tuple[Any, ...]:
        return (
            self.member,
            self.service_day,
            self.deductible,
            self.out_of_pocket,
            [list(line) for line in self.lines],
        )


def service_abi(service: Service) -> tuple[Any, ...]:
    return (
        text_to_bytes32(service.code),
        service.fee,
        service.copay is not None,
        service.copay or 0,
        service.deductible_applies,
        service.prior_auth,
        service.max_units_per_day or 0,
        service.max_units_per_period or 0,
    )


def terms_abi(plan: Plan, token: str) -> tuple[Any, ...]:
    return (
        token,
        plan.effective_day,
        plan.benefit_period_days,
        plan.waiting_period_days,
        plan.timely_filing_days,
        plan.deductible,
        plan.out_of_pocket_max,
        plan.annual_benefit_max is not None,
        plan.annual_benefit_max or 0,
        plan.coinsurance_bps,
        plan.auto_approve_limit,
        plan.review_quorum,
        plan.provider_daily_limit is not None,
        plan.provider_daily_limit or 0,
    )


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Contract:
    """A deployed contract: calls, transactions and its decoded events."""

    artifact_name = ""

    def __init__(self, chain: Chain, address: str) -> None:
        self.chain = chain
        self.address = address
        self.abi = ContractABI(compiler.load(self.artifact_name).abi)

    @classmethod
    def deploy(cls, chain: Chain, sender: str, *args: Any) -> Contract:
        artifact = compiler.load(cls.artifact_name)
        abi = ContractABI(artifact.abi)
        try:
            receipt = chain.send(sender, None, artifact.bytecode + abi.encode_constructor(*args))
        except TransactionReverted as error:
            raise reverted(error) from error
        assert receipt.contract_address is not None
        return cls(chain, receipt.contract_address)

    def call(self, name: str, *args: Any) -> Any:
        try:
            data = self.chain.call(self.address, self.abi.encode_call(name, *args))
        except TransactionReverted as error:
            raise reverted(error) from error
        return self.abi.decode_result(name, data)

    def transact(self, sender: str, name: str, *args: Any, gas: int | None = None) -> Receipt:
        try:
            return self.chain.send(sender, self.address, self.abi.encode_call(name, *args), gas=gas)
        except TransactionReverted as error:
            raise reverted(error) from error

    def decode_logs(self, logs: Iterable[Log]) -> list[DecodedEvent]:
        events = []
        for log in logs:
            if log.address.lower() != self.address.lower() or not log.topics:
                continue
            event = self.abi.event_for(log.topics[0])
            if event is None:
                continue
            events.append(
                DecodedEvent(
                    name=event.name,
                    args=event.decode(log.topics, log.data),
                    block_number=log.block_number,
                    tx_hash=log.tx_hash,
                    log_index=log.log_index,
                    address=log.address,
                )
            )
        return events

    def events(
        self,
        name: str,
        *topics: bytes | None,
        from_block: int = 0,
        to_block: int | None = None,
    ) -> list[DecodedEvent]:
        """Every `name` event, optionally filtered by its indexed fields (as topics) and by
        block range (both ends included)."""
        topic0 = self.abi.events[name].topic
        logs = self.chain.get_logs(
            self.address, [topic0, *topics], from_block=from_block, to_block=to_block
        )
        return self.decode_logs(logs)


class DevToken(Contract):
    """The 6-decimal test stablecoin of dev chains (snekmate erc20)."""

    artifact_name = compiler.DEV_TOKEN

    def mint(self, sender: str, to: str, amount: int) -> Receipt:
        return self.transact(sender, "mint", to, amount)

    def approve(self, sender: str, spender: str, amount: int) -> Receipt:
        return self.transact(sender, "approve", spender, amount)

    def transfer(self, sender: str, to: str, amount: int) -> Receipt:
        return self.transact(sender, "transfer", to, amount)

    def balance_of(self, account: str) -> int:
        return int(self.call("balanceOf", account))

    def allowance(self, owner: str, spender: str) -> int:
        return int(self.call("allowance", owner, spender))

    def decimals(self) -> int:
        return int(self.call("decimals"))


class Engine(Contract):
    """The claims engine: plans, members, providers, claims, review and pools."""

    artifact_name = compiler.ENGINE

    # -- owner -------------------------------------------------------------------------
    def set_insurer(self, sender: str, account: str, allowed: bool = True) -> Receipt:
        return self.transact(sender, "set_insurer", account, allowed)

    def owner(self) -> str:
        return str(self.call("owner"))

    def has_code(self) -> bool:
        """Whether the chain holds a contract at the address: a call to an address without
        code answers nothing."""
        return self.chain.call(self.address, self.abi.encode_call("owner")) != b""

    def is_insurer(self, account: str) -> bool:
        return bool(self.call("insurers", account))

    # -- insurer -----------------------------------------------------------------------
    def create_plan(self, sender: str, plan: Plan, token: str) -> list[Receipt]:
        """Create the plan; a schedule of more than 64 codes follows in `add_services` calls."""
        plan_id = text_to_bytes32(plan.id)
        services = [service_abi(s) for s in plan.services]
        first = services[:MAX_SERVICES_PER_CALL]
        receipts = [self.transact(sender, "create_plan", plan_id, terms_abi(plan, token), first)]
        for chunk in _chunks(services[MAX_SERVICES_PER_CALL:], MAX_SERVICES_PER_CALL):
            receipts.append(self.transact(sender, "add_services", plan_id, list(chunk)))
        return receipts

    def update_schedule(
        self, sender: str, plan_id: str, services: Sequence[Service], effective_day: int
    ) -> list[Receipt]:
        """A new schedule version from `effective_day` on: the first 64 codes start it,
        the rest follow in `add_services` calls (allowed until the day comes)."""
        key = text_to_bytes32(plan_id)
        chunks = list(_chunks([service_abi(s) for s in services], MAX_SERVICES_PER_CALL)) or [[]]
        receipts = [self.transact(sender, "update_schedule", key, list(chunks[0]), effective_day)]
        for chunk in chunks[1:]:
            receipts.append(self.transact(sender, "add_services", key, list(chunk)))
        return receipts

    def add_services(self, sender: str, plan_id: str, services: Sequence[Service]) -> list[Receipt]:
        return [
            self.transact(
                sender, "add_services", text_to_bytes32(plan_id), [service_abi(s) for s in chunk]
            )
            for chunk in _chunks(list(services), MAX_SERVICES_PER_CALL)
        ]

    def enroll(self, sender: str, plan_id: str, enrollments: Sequence[Enrollment]) -> list[Receipt]:
        return [
            self.transact(sender, "enroll", text_to_bytes32(plan_id), [e.as_abi() for e in chunk])
            for chunk in _chunks(list(enrollments), MAX_ENROLMENTS_PER_CALL)
        ]

    def register_provider(
        self, sender: str, plan_id: str, provider_id: str, account: str, npi: int = 0
    ) -> Receipt:
        """A new provider (its first account is its owner and payout), or the NPI of a
        known one (with its owner account again)."""
        return self.transact(
            sender,
            "register_provider",
            text_to_bytes32(plan_id),
            text_to_bytes32(provider_id),
            account,
            npi,
        )

    def add_provider_account(
        self, sender: str, plan_id: str, provider_id: str, account: str
    ) -> Receipt:
        """Another account that submits for the provider; ``sender``: its owner account."""
        return self.transact(
            sender,
            "add_provider_account",
            text_to_bytes32(plan_id),
            text_to_bytes32(provider_id),
            account,
        )

    def remove_provider_account(
        self, sender: str, plan_id: str, provider_id: str, account: str
    ) -> Receipt:
        """An added account no longer submits for the provider; ``sender``: its owner."""
        return self.transact(
            sender,
            "remove_provider_account",
            text_to_bytes32(plan_id),
            text_to_bytes32(provider_id),
            account,
        )

    def set_provider_active(
        self, sender: str, plan_id: str, provider_id: str, active: bool
    ) -> Receipt:
        return self.transact(
            sender,
            "set_provider_active",
            text_to_bytes32(plan_id),
            text_to_bytes32(provider_id),
            active,
        )

    def set_payout(self, sender: str, plan_id: str, provider_id: str, payout: str) -> Receipt:
        return self.transact(
            sender, "set_payout", text_to_bytes32(plan_id), text_to_bytes32(provider_id), payout
        )

    def collect(self, sender: str, plan_id: str, provider_id: str) -> Receipt:
        return self.transact(
            sender, "collect", text_to_bytes32(plan_id), text_to_bytes32(provider_id)
        )

    def set_role(self, sender: str, plan_id: str, account: str, roles: Role) -> Receipt:
        return self.transact(sender, "set_role", text_to_bytes32(plan_id), account, int(roles))

    def transfer_admin(self, sender: str, plan_id: str, new_admin: str) -> Receipt:
        return self.transact(sender, "transfer_admin", text_to_bytes32(plan_id), new_admin)

    def accept_admin(self, sender: str, plan_id: str) -> Receipt:
        return self.transact(sender, "accept_admin", text_to_bytes32(plan_id))

    def set_paused(self, sender: str, plan_id: str, paused: bool) -> Receipt:
        return self.transact(sender, "set_paused", text_to_bytes32(plan_id), paused)

    def fund(self, sender: str, plan_id: str, cents: int) -> Receipt:
        return self.transact(sender, "fund", text_to_bytes32(plan_id), cents)

    def withdraw(self, sender: str, plan_id: str, cents: int, recipient: str) -> Receipt:
        return self.transact(sender, "withdraw", text_to_bytes32(plan_id), cents, recipient)

    # -- hospital ----------------------------------------------------------------------
    @staticmethod
    def _check_shape(claims: Sequence[ChainClaim]) -> None:
        # The contract's ABI bounds refuse these before its code runs, with no reason at
        # all. Say what is wrong before sending: an error of ours, not a revert.
        if len(claims) > MAX_BATCH:
            raise ClaimsError(
                f"a batch holds at most {MAX_BATCH} claims, this one has {len(claims)}",
                hint=f"send at most {MAX_BATCH} claims per batch",
            )
        for claim in claims:
            if len(claim.lines) > MAX_LINES:
                raise ClaimRejected(
                    REJECT_INVALID_CLAIM, f"{len(claim.lines)} lines, at most {MAX_LINES}"
                )

    def submit_claim(
        self, sender: str, plan_id: str, claim: ChainClaim, *, gas: int | None = None
    ) -> Receipt:
        self._check_shape([claim])
        return self.transact(
            sender, "submit_claim", text_to_bytes32(plan_id), claim.as_abi(), gas=gas
        )

    def submit_claims_data(self, plan_id: str, claims: Sequence[ChainClaim]) -> bytes:
        """The calldata of one batch (for callers that send many batches at once)."""
        return self.abi.encode_call(
            "submit_claims", text_to_bytes32(plan_id), [c.as_abi() for c in claims]
        )

    def submit_claims(
        self, sender: str, plan_id: str, claims: Sequence[ChainClaim], *, gas: int | None = None
    ) -> Receipt:
        self._check_shape(claims)
        return self.transact(
            sender, "submit_claims", text_to_bytes32(plan_id), [c.as_abi() for c in claims], gas=gas
        )

    def void(self, sender: str, claim_id: int) -> Receipt:
        """Void a claim of the sender's provider (pending review, queued or paid)."""
        effects = self._effects_or_revert(claim_id, "claims: not voidable")
        return self.transact(
            sender,
            "void_claim",
            text_to_bytes32(effects.plan_id),
            effects.commitment,
            effects.as_abi(),
            effects.position,
        )

    def submit_replacement(
        self,
        sender: str,
        plan_id: str,
        old_claim_id: int,
        claim: ChainClaim,
        *,
        gas: int | None = None,
    ) -> Receipt:
        """Void `old_claim_id` and submit `claim` in its place, in one transaction. The old
        claim must be the sender's provider's, in the same plan."""
        self._check_shape([claim])
        effects = self._effects_or_revert(old_claim_id, "claims: not voidable")
        return self.transact(
            sender,
            "submit_replacement",
            text_to_bytes32(plan_id),
            effects.commitment,
            effects.as_abi(),
            effects.position,
            claim.as_abi(),
            gas=gas,
        )

    # -- adjudicator and anyone --------------------------------------------------------
    def review(self, sender: str, claim_id: int, approve: bool, reason: int = 0) -> Receipt:
        """Vote on a pending claim; the plan's review_quorum of votes decides it. A denial's
        `reason` is 0 (meaning 50) or one of REVIEW_REASONS."""
        effects = self._effects_or_revert(claim_id, "claims: not pending review")
        return self.transact(
            sender,
            "review",
            text_to_bytes32(effects.plan_id),
            text_to_bytes32(effects.provider_id),
            effects.commitment,
            effects.as_abi(),
            approve,
            reason,
        )

    def review_votes(self, plan_id: str, claim_id: int) -> tuple[int, int]:
        """(approvals, denials) so far on a claim in review, of accounts that hold the
        adjudicator role now (a revoked adjudicator's vote no longer counts)."""
        approvals, denials = self.call("review_votes", text_to_bytes32(plan_id), claim_id)
        return int(approvals), int(denials)

    def has_voted(self, claim_id: int, account: str) -> bool:
        return bool(self.call("has_voted", claim_id, account))

    def claim_effects(self, claim_id: int) -> ClaimEffects | None:
        """A claim's effects, rebuilt from its events; None when there is no such claim."""
        topic = claim_id.to_bytes(32, "big")
        submitted = self.events("ClaimSubmitted", topic)
        if not submitted:
            return None
        claim = submitted[0].args
        plan_id = bytes32_to_text(claim["plan_id"])
        provider_id, _active = self.provider_of(plan_id, claim["provider"])
        priced = [e.args for e in self.events("LineAdjudicated", topic) if not e.args["denial"]]
        queued = self.events("ClaimQueued", topic)
        return ClaimEffects(
            plan_id=plan_id,
            provider_id=provider_id or "",
            commitment=claim["commitment"],
            member=claim["member"],
            service_day=int(claim["service_day"]),
            deductible=sum(int(line["deductible"]) for line in priced),
            out_of_pocket=sum(
                int(line["deductible"]) + int(line["copay"]) + int(line["coinsurance"])
                for line in priced
            ),
            lines=tuple((line["code"], int(line["units"])) for line in priced),
            position=int(queued[-1].args["position"]) if queued else 0,
        )

    def _effects_or_revert(self, claim_id: int, reason: str) -> ClaimEffects:
        # An unknown claim id gets the revert the contract gives a claim in the wrong state.
        effects = self.claim_effects(claim_id)
        if effects is None:
            raise reverted(TransactionReverted(reason))
        return effects

    def settle(self, sender: str, plan_id: str, max_claims: int = MAX_SETTLE) -> Receipt:
        return self.transact(sender, "settle", text_to_bytes32(plan_id), max_claims)

    # -- views -------------------------------------------------------------------------
    def plan_exists(self, plan_id: str) -> bool:
        return self.call("admin", text_to_bytes32(plan_id)) != "0x" + "0" * 40

    def plan_admin(self, plan_id: str) -> str:
        return str(self.call("admin", text_to_bytes32(plan_id)))

    def plan_terms(self, plan_id: str) -> tuple[Any, ...]:
        return tuple(self.call("plan_terms", text_to_bytes32(plan_id)))

    def service(self, plan_id: str, code: str, day: int | None = None) -> tuple[Any, ...] | None:
        """A code of the schedule version in force on `day` (today's, by the chain's clock,
        when None)."""
        if day is None:
            day = day_of_timestamp(self.chain.now())
        result = self.call("service_on", text_to_bytes32(plan_id), text_to_bytes32(code), day)
        return None if result[0] == b"\0" * 32 else tuple(result)

    def member(self, plan_id: str, member: bytes) -> tuple[bool, int, int | None, int]:
        """Enrolled, coverage start, coverage end (None: open-ended), and the benefit period
        the pseudonym is enrolled for."""
        enrolled, start, end, period = self.call("member", text_to_bytes32(plan_id), member)
        return bool(enrolled), int(start), (int(end) or None), int(period)

    def enrolled_in(self, plan_id: str, member: bytes, period: int) -> bool:
        """Whether ``member`` is enrolled for benefit ``period`` (a claim of that period under
        it passes check 5)."""
        enrolled, _start, _end, enrolled_period = self.member(plan_id, member)
        return enrolled and enrolled_period == period

    def accumulators(self, plan_id: str, member: bytes, period: int) -> tuple[int, int, int]:
        deductible, oop, benefit = self.call(
            "accumulators", text_to_bytes32(plan_id), member, period
        )
        return int(deductible), int(oop), int(benefit)

    def units_used(self, plan_id: str, member: bytes, period: int, code: str) -> int:
        return int(
            self.call("units_used", text_to_bytes32(plan_id), member, period, text_to_bytes32(code))
        )

    def claim_status(self, plan_id: str, provider_id: str, commitment: bytes) -> ClaimState:
        """The claim a provider submitted to a plan with this record commitment."""
        claim_id, status, plan_paid = self.call(
            "claim_status", text_to_bytes32(plan_id), text_to_bytes32(provider_id), commitment
        )
        found = None if status == NO_CLAIM else ClaimStatus.from_code(status)
        return ClaimState(int(claim_id), found, int(plan_paid))

    def pool_state(self, plan_id: str) -> PoolState:
        balance, reserved, head, tail = (
            int(v) for v in self.call("pool_state", text_to_bytes32(plan_id))
        )
        holes = self._queue_holes(plan_id, head, tail) if tail > head else 0
        return PoolState(balance, reserved, head, tail, holes)

    def _queue_holes(self, plan_id: str, head: int, tail: int) -> int:
        """The places in [head, tail) of queued claims that were voided since, read from
        the plan's voids (few) and each voided claim's place in the queue."""
        holes = 0
        for voided in self.events("ClaimVoided", None, text_to_bytes32(plan_id)):
            if ClaimStatus.from_code(voided.args["status_before"]) != ClaimStatus.QUEUED:
                continue
            topic = int(voided.args["claim_id"]).to_bytes(32, "big")
            queued = self.events("ClaimQueued", topic)
            if queued and head <= int(queued[-1].args["position"]) < tail:
                holes += 1
        return holes

    def stopped_at_a_hole(self, plan_id: str, pool: PoolState) -> bool:
        """Whether the queue's head is a voided claim's place: a transaction passes at most
        256 of them (the pool's MAX_HOLES) and stops at a longer run, paying nothing
        behind it until the next settlement."""
        if pool.head >= pool.tail:
            return False
        claim_id = self.call("queued_claim", text_to_bytes32(plan_id), pool.head)[0]
        return int(claim_id) == 0

    def token_of(self, plan_id: str) -> tuple[str, int]:
        token, scale = self.call("token_of", text_to_bytes32(plan_id))
        return str(token), int(scale)

    def provider(self, plan_id: str, account: str) -> tuple[str, bool]:
        """The payout address of an account's provider, and whether it is active."""
        payout, active = self.call("provider", text_to_bytes32(plan_id), account)
        return str(payout), bool(active)

    def provider_of(self, plan_id: str, account: str) -> tuple[str | None, bool]:
        """The provider id an account submits for (None when none), and whether it is active."""
        ref, active = self.call("provider_of", text_to_bytes32(plan_id), account)
        return (bytes32_to_text(ref) if any(ref) else None), bool(active)

    def provider_info(self, plan_id: str, provider_id: str) -> ProviderState:
        owner, payout, active, npi, credit, debt = self.call(
            "provider_info", text_to_bytes32(plan_id), text_to_bytes32(provider_id)
        )
        return ProviderState(
            str(owner), str(payout), bool(active), int(npi), int(credit), int(debt)
        )

    def roles(self, plan_id: str, account: str) -> Role:
        return Role(int(self.call("roles", text_to_bytes32(plan_id), account)))

    def paused(self, plan_id: str) -> bool:
        """Whether the plan is paused: what its last PauseSet said (the engine keeps the
        flag in the plan's packed word and has no view of its own for it, for room)."""
        changes = self.events("PauseSet", text_to_bytes32(plan_id))
        if not changes:
            return False
        last = max(changes, key=lambda e: (e.block_number, e.log_index))
        return bool(last.args["paused"])

    def today(self) -> int:
        return int(self.call("today"))

    def next_claim_id(self) -> int:
        return int(self.call("next_claim_id"))


__all__ = [
    "ChainClaim",
    "ChainLine",
    "ClaimEffects",
    "ClaimState",
    "DevToken",
    "Engine",
    "Enrollment",
    "MAX_BATCH",
    "MAX_LINES",
    "PoolState",
    "ProviderState",
    "REVIEW_REASONS",
    "Role",
    "bytes32_to_text",
    "reverted",
]
