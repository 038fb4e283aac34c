"""Claims read from the embedded chain's file, without the EVM: status, member, review list.

`claims status`, `claims member` and `claims review list` only read. On the embedded chain
what they read is plain data in the chain's file: the log index (a claim's events, found by
its id, its member or its plan) and the engine's storage (a claim's current status). Read
there, through engine_storage.py and chain/snapshot.py, they answer in milliseconds; the
EVM's view calls would first cost more than half a second of imports (py-evm, eth-abi,
eth-utils).

``ClaimStorage`` adds to ``EngineStorage`` the reads of claims, with ``Engine``'s signatures
and answers:

- ``claim_status``: ``claim_words[plan][provider number][commitment]``, the provider's
  number from ``provider_numbers[plan][provider ref]``, unpacked as ``packing._unpack_claim``;
- ``provider_of``: ``account_words[plan][account]`` and ``provider_refs``, as registry.vy's
  ``provider_of`` reads them;
- ``events`` with a block range (``Engine.events``' ``from_block`` and ``to_block``).

``claim_reads(workspace)`` gives the reads a command should use: this one in a read-only
workspace on the embedded chain, the engine itself anywhere else (a node over JSON-RPC, or
an engine whose code is not the one whose storage layout the package ships). The SDK's
read functions (sdk.py: ``claim_result``, ``member_accumulators``, the review queue) run
the same code on either. tests/integration/test_claim_reads.py compares the two on a chain
with claims of every status.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol
from weakref import WeakKeyDictionary

from claimsengine.days import day_of_timestamp, from_day, to_day
from claimsengine.engine import Role
from claimsengine.engine_storage import EngineStorage
from claimsengine.errors import ClaimsError, InputError, NotFound
from claimsengine.history import ClaimEvents, EventReads, build_result, claim_events
from claimsengine.ids import bytes32_to_text, text_to_bytes32
from claimsengine.periods import NOT_ENROLLED_HINT
from claimsengine.results import AccumulatorReport, ClaimResult, ReviewVotes
from claimsengine.status import NO_CLAIM, ClaimStatus

if TYPE_CHECKING:
    from claimsengine.abi import DecodedEvent
    from claimsengine.engine import ClaimState
    from claimsengine.workspace import Workspace

__all__ = [
    "ClaimReads",
    "ClaimStorage",
    "ReviewQueue",
    "claim_reads",
    "claim_result",
    "head_block",
    "member_accumulators",
    "reading",
    "record_result",
    "result_of",
    "review_quorum",
    "with_quorum",
]

# contracts/modules/packing.vy: a claim word is claim_id (40 bits) | status (8) |
# plan_paid (48) | ...; an account word is payout (160) | provider number (32) | active (1).
_CLAIM_STATUS = 40
_CLAIM_PLAN_PAID = 48
_ACCOUNT_PROVIDER = 160
_ACCOUNT_ACTIVE = 192
_MASK_8 = 2**8 - 1
_MASK_32 = 2**32 - 1
_MASK_40 = 2**40 - 1
_MASK_48 = 2**48 - 1
# contracts/modules/ledger.vy: a ballot's vote is the adjudicator | approved << 160.
_MASK_160 = 2**160 - 1


class ClaimReads(EventReads, Protocol):
    """What the SDK's claim reads need: ``Engine``, or ``ClaimStorage``."""

    def claim_status(self, plan_id: str, provider_id: str, commitment: bytes) -> ClaimState: ...

    def provider_of(self, plan_id: str, account: str) -> tuple[str | None, bool]: ...

    def member(self, plan_id: str, member: bytes) -> tuple[bool, int, int | None, int]: ...

    def accumulators(self, plan_id: str, member: bytes, period: int) -> tuple[int, int, int]: ...

    def review_votes(self, plan_id: str, claim_id: int) -> tuple[int, int]: ...


class ClaimStorage(EngineStorage):
    """The engine's claim reads, from a snapshot of the embedded chain."""

    @classmethod
    def of(cls, storage: EngineStorage) -> ClaimStorage:
        """The same engine and snapshot as ``storage`` (already checked against the layout)."""
        reads = cls.__new__(cls)
        reads.__dict__.update(storage.__dict__)
        return reads

    def events(
        self,
        name: str,
        *topics: bytes | None,
        from_block: int = 0,
        to_block: int | None = None,
    ) -> list[DecodedEvent]:
        """``Engine.events``: every ``name`` event, filtered by topics and block range.
        Each query is read and decoded once: the snapshot never changes, and the claims of
        a list ask for some of the same (their plan's voids) again and again."""
        known: dict[tuple[str, tuple[bytes | None, ...]], list[DecodedEvent]]
        known = self.__dict__.setdefault("_events", {})
        if (name, topics) not in known:
            known[(name, topics)] = super().events(name, *topics)
        return [
            event
            for event in known[(name, topics)]
            if event.block_number >= from_block
            and (to_block is None or event.block_number <= to_block)
        ]

    def claim_status(self, plan_id: str, provider_id: str, commitment: bytes) -> ClaimState:
        """``Engine.claim_status``: the claim a provider submitted with this commitment."""
        from claimsengine.engine import ClaimState

        plan = text_to_bytes32(plan_id)
        numbers: dict[tuple[str, str], int] = self.__dict__.setdefault("_numbers", {})
        if (plan_id, provider_id) not in numbers:
            ref = text_to_bytes32(provider_id)
            numbers[(plan_id, provider_id)] = self._read("registry", "provider_numbers", plan, ref)
        number = numbers[(plan_id, provider_id)]
        word = self._read("ledger", "claim_words", plan, number, commitment) if number else 0
        status = (word >> _CLAIM_STATUS) & _MASK_8
        found = None if status == NO_CLAIM else ClaimStatus.from_code(status)
        return ClaimState(word & _MASK_40, found, (word >> _CLAIM_PLAN_PAID) & _MASK_48)

    def provider_of(self, plan_id: str, account: str) -> tuple[str | None, bool]:
        """``Engine.provider_of``: the provider id an account submits for (None when none),
        and whether the account may submit. Kept per account: the snapshot never changes,
        and a list of claims names few providers many times."""
        known: dict[tuple[str, str], tuple[str | None, bool]]
        known = self.__dict__.setdefault("_providers", {})
        if (plan_id, account) not in known:
            known[(plan_id, account)] = self._provider_of(plan_id, account)
        return known[(plan_id, account)]

    def _provider_of(self, plan_id: str, account: str) -> tuple[str | None, bool]:
        plan = text_to_bytes32(plan_id)
        address = bytes.fromhex(account.removeprefix("0x")).rjust(32, b"\x00")
        word = self._read("registry", "account_words", plan, address)
        ref = self._read("registry", "provider_refs", plan, (word >> _ACCOUNT_PROVIDER) & _MASK_32)
        active = bool((word >> _ACCOUNT_ACTIVE) & 1)
        return (bytes32_to_text(ref.to_bytes(32, "big")) if ref else None), active

    def review_votes(self, plan_id: str, claim_id: int) -> tuple[int, int]:
        """``Engine.review_votes``: the approvals and denials on a claim's ballot whose
        adjudicators hold the role now (the ledger's ``_counted_votes``, from storage)."""
        plan = text_to_bytes32(plan_id)
        approvals = denials = 0
        for index in range(self._read("ledger", "votes", claim_id)):
            vote = self._read("ledger", "ballots", claim_id, index)
            adjudicator = (vote & _MASK_160).to_bytes(32, "big")
            if Role.ADJUDICATOR & self._read("plan_access", "roles", plan, adjudicator):
                if vote >> 160 == 1:
                    approvals += 1
                else:
                    denials += 1
        return approvals, denials

    def head_block(self) -> int:
        """The number of the chain's head block in the snapshot."""
        return int(self._snapshot.block_number)


def claim_reads(workspace: Workspace) -> ClaimReads:
    """The claim reads for ``workspace``: from the chain's file when it is a read-only
    workspace on the embedded chain (and the engine's code is the one the package's layout
    describes), else the engine's view calls."""
    reads: Any = workspace.reads
    if isinstance(reads, EngineStorage):
        if reads not in _CLAIM_STORAGE:
            _CLAIM_STORAGE[reads] = ClaimStorage.of(reads)
        return _CLAIM_STORAGE[reads]
    return workspace.engine


#: The ClaimStorage of each workspace's EngineStorage (one per snapshot, for its caches).
_CLAIM_STORAGE: WeakKeyDictionary[EngineStorage, ClaimStorage] = WeakKeyDictionary()


@contextmanager
def reading(workspace: Workspace) -> Iterator[ClaimReads]:
    """A read-only command's reads: straight from the chain's file (a snapshot of its last
    commit, which no writer changes under it), or else inside ``workspace.command()`` as
    any command's."""
    reads = claim_reads(workspace)
    if isinstance(reads, ClaimStorage):
        yield reads
    else:
        with workspace.command():
            yield reads


def head_block(workspace: Workspace, reads: ClaimReads) -> int:
    """The chain's head block number, as ``reads`` sees it."""
    if isinstance(reads, ClaimStorage):
        return reads.head_block()
    return workspace.chain.block_number()


# -- claims ---------------------------------------------------------------------------------


def result_of(
    workspace: Workspace, events: ClaimEvents, reads: ClaimReads | None = None
) -> ClaimResult:
    """A claim's result: amounts from its events, status from the contract's storage, the
    off-chain names (record id, provider id) that this workspace knows, and the votes of a
    claim that had any, with its plan's quorum."""
    reads = reads or claim_reads(workspace)
    entry = workspace.journal.by_commitment(events.commitment)
    plan_id = bytes32_to_text(events.submitted.args["plan_id"])
    # The account's provider (an account belongs to one provider of a plan, for good).
    provider_id, _active = reads.provider_of(plan_id, events.provider_account)
    state = reads.claim_status(plan_id, provider_id or "", events.commitment)
    if state.status is None:  # its events say it was submitted: storage must have it
        raise ClaimsError(f"claim {events.claim_id} has events but no status on the chain")
    # In review, a vote counts while its adjudicator holds the role: the counts of now,
    # not those of the last vote's event.
    in_review = state.status is ClaimStatus.PENDING_REVIEW and events.votes
    return build_result(
        events,
        status=state.status,
        record_id=entry.record_id if entry else None,
        provider_id=provider_id,
        quorum=review_quorum(workspace, plan_id, reads) if events.votes else None,
        vote_counts=reads.review_votes(plan_id, events.claim_id) if in_review else None,
    )


def claim_result(
    workspace: Workspace, claim_id: int, reads: ClaimReads | None = None
) -> ClaimResult:
    """The current result of one claim, read from the chain."""
    reads = reads or claim_reads(workspace)
    return result_of(workspace, claim_events(reads, claim_id), reads)


def record_result(
    workspace: Workspace, record_id: str, provider_id: str | None = None
) -> ClaimResult:
    """The result of the claim submitted for a record (looked up in the local journal)."""
    entries = [
        e
        for e in workspace.journal.by_record_id(workspace.chain_key, record_id)
        if provider_id is None or e.provider_id == provider_id
    ]
    if not entries:
        raise NotFound(
            f"record {record_id} was not submitted from this workspace",
            hint="look the claim up by its id: `claims status CLAIM_ID`",
        )
    if len(entries) > 1:
        providers = ", ".join(sorted(e.provider_id for e in entries))
        raise InputError(
            f"record id {record_id} is used by several providers ({providers})",
            hint="name the provider too",
        )
    entry = entries[0]
    reads = claim_reads(workspace)
    state = reads.claim_status(entry.plan_id, entry.provider_id, entry.commitment)
    if state.status is None:
        raise NotFound(f"record {record_id} is not on the chain yet", hint="submit it again")
    return claim_result(workspace, state.claim_id, reads)


# -- members --------------------------------------------------------------------------------


def member_accumulators(
    workspace: Workspace, plan_id: str, member_id: str, on: date | None = None
) -> AccumulatorReport:
    """A member's accumulators in the benefit period that holds `on` (default: today).

    Deductible, out-of-pocket and benefit come from the contract's storage. Units come from
    the events of the member's claims that stand (the contract stores units only for codes
    with a period limit, the one check that needs them): the member's claims are found in
    the index by their member topic, so the work grows with the member's claims only."""
    reads = claim_reads(workspace)
    periods = workspace.periods(plan_id)
    day = to_day(on) if on else day_of_timestamp(workspace.now())
    if day < periods.effective_day:
        raise InputError(
            f"{from_day(day)} is before the plan's effective date "
            f"{from_day(periods.effective_day)}",
            field="--date",
        )
    period = periods.of(day)
    member = workspace.pseudonym(plan_id, member_id, period)
    enrolled, _start, _end, enrolled_period = reads.member(plan_id, member)
    if not (enrolled and enrolled_period == period):
        raise NotFound(
            f"member {member_id} is not enrolled in plan {plan_id} in benefit period {period} "
            f"(the one that holds {from_day(day)})",
            hint=NOT_ENROLLED_HINT.format(plan_id=plan_id),
        )
    deductible, oop, benefit = reads.accumulators(plan_id, member, period)
    units: dict[str, int] = {}
    providers: dict[str, str | None] = {}
    for event in reads.events("ClaimSubmitted", None, text_to_bytes32(plan_id), member):
        service_day = int(event.args["service_day"])
        if service_day < periods.effective_day or periods.of(service_day) != period:
            continue
        claim_id = int(event.args["claim_id"])
        account = str(event.args["provider"])
        if account not in providers:
            providers[account] = reads.provider_of(plan_id, account)[0]
        commitment = bytes(event.args["commitment"])
        # A denial in review and a void take a claim's units back.
        status = reads.claim_status(plan_id, providers[account] or "", commitment).status
        if status in (ClaimStatus.DENIED, ClaimStatus.VOIDED):
            continue
        for line in reads.events("LineAdjudicated", claim_id.to_bytes(32, "big")):
            if int(line.args["denial"]) == 0:
                code = bytes32_to_text(line.args["code"])
                units[code] = units.get(code, 0) + int(line.args["units"])
    return AccumulatorReport(
        plan_id=plan_id,
        member_id=member_id,
        period=period,
        deductible_met=deductible,
        oop_met=oop,
        benefit_used=benefit,
        units_used=units,
    )


# -- the review queue -------------------------------------------------------------------------


def review_quorum(workspace: Workspace, plan_id: str, reads: ClaimReads | None = None) -> int:
    """How many adjudicators decide a claim in review in the plan (its review_quorum, fixed
    when the plan was created)."""
    created = (reads or claim_reads(workspace)).events("PlanCreated", text_to_bytes32(plan_id))
    if not created:
        raise NotFound(f"no plan {plan_id!r} on this chain", hint="deploy it with `claims deploy`")
    return int(created[0].args["review_quorum"])


def with_quorum(result: ClaimResult, quorum: int) -> ClaimResult:
    """The result with its review votes (none yet, maybe) and the plan's quorum."""
    review = result.review if result.review is not None else ReviewVotes()
    return replace(result, review=replace(review, quorum=quorum))


@dataclass
class ReviewQueue:
    """The claims pending review, read from what is pending now.

    It keeps the claims it found waiting and, on each read, reads only the events of the
    blocks mined since the last one (a claim sent to review, a claim decided), then each
    waiting claim's result. A long run that works the queue every week (a simulated year)
    so does not read the year's history again every week; a new queue reads it once, from
    the index (by event and plan: the plan's referrals and decisions, not its claims)."""

    #: Per plan (None: every plan): the next block to read, and the claims waiting.
    scans: dict[str | None, tuple[int, dict[int, None]]] = field(default_factory=dict)
    quorums: dict[str, int] = field(default_factory=dict)

    def read(self, workspace: Workspace, plan_id: str | None = None) -> list[ClaimResult]:
        """The claims pending review (of ``plan_id``, or of every plan), oldest first, each
        with its votes so far in ``result.review`` (the plan's quorum, the approvals and
        denials, and who voted)."""
        reads = claim_reads(workspace)
        waiting = self._pending(workspace, reads, plan_id)
        results = []
        for claim_id in list(waiting):
            result = claim_result(workspace, claim_id, reads)
            if result.status != "pending_review":
                del waiting[claim_id]  # voided by its provider while it waited
                continue
            if result.plan_id not in self.quorums:
                self.quorums[result.plan_id] = review_quorum(workspace, result.plan_id, reads)
            results.append(with_quorum(result, self.quorums[result.plan_id]))
        return results

    def _pending(
        self, workspace: Workspace, reads: ClaimReads, plan_id: str | None
    ) -> dict[int, None]:
        """The ids of the claims waiting for review, in the order they were sent to it,
        brought up to the chain's head."""
        head = head_block(workspace, reads)
        start, waiting = self.scans.get(plan_id, (0, {}))
        if head < start - 1:  # the chain went back (a command rolled back): read it again
            start, waiting = 0, {}
        topics: list[bytes | None] = [None, text_to_bytes32(plan_id)] if plan_id else []
        # Events of blocks after `head` (a node that mines meanwhile) are read now and
        # again next time: a claim's decision follows its referral, so reading both twice
        # gives the same set.
        for event in reads.events("ClaimPendingReview", *topics, from_block=start):
            waiting[int(event.args["claim_id"])] = None
        for event in reads.events("ClaimReviewed", *topics, from_block=start):
            waiting.pop(int(event.args["claim_id"]), None)
        self.scans[plan_id] = (head + 1, waiting)
        return waiting
