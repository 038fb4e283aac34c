"""The hospital's client: treatment records made into claims, submitted in batches that
survive a crash (the journal), then followed, voided, replaced and estimated."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from claimsengine.claim_reads import (
    claim_result,
    member_accumulators,
    record_result,
)
from claimsengine.days import day_of_timestamp, from_day
from claimsengine.engine import (
    MAX_BATCH,
    MAX_LINES,
    ChainClaim,
    ChainLine,
    ProviderState,
)
from claimsengine.errors import (
    ClaimsError,
    InputError,
    NotFound,
    RecordError,
    TransactionReverted,
)
from claimsengine.history import (
    build_result,
    claim_events,
    group_claim_events,
)
from claimsengine.journal import JournalEntry
from claimsengine.records import TreatmentRecord
from claimsengine.results import AccumulatorReport, ClaimResult
from claimsengine.workspace import ProviderInfo, Workspace

if TYPE_CHECKING:
    from claimsengine.eligibility import Eligibility
    from claimsengine.estimate import Estimate
from claimsengine.sdk.party import Party, describe_account

#: Gas a batch may use, well under any node's block limit (anvil's is 30M).
BATCH_GAS_BUDGET = 12_000_000
#: A generous estimate of one claim's gas in a batch, per line and fixed.
GAS_PER_CLAIM = 60_000
GAS_PER_LINE = 30_000
#: Batches this small go as single submissions (cheaper in gas).
SMALL_BATCH = 3

#: Statuses that nothing changes any more (a paid claim may still be voided by its provider,
#: but nothing pays it again).
FINAL_STATUSES = ("paid", "denied", "voided")


@dataclass(frozen=True)
class PreparedClaim:
    """A record made ready for the chain: its salt, commitment and on-chain claim."""

    record: TreatmentRecord
    source: str | None
    salt: bytes
    claim: ChainClaim
    sender: str

    @property
    def commitment(self) -> bytes:
        return self.claim.commitment


@dataclass(frozen=True)
class Submission:
    """What happened to one record: its result, or the error that set it aside."""

    record: TreatmentRecord
    source: str | None
    result: ClaimResult | None = None
    error: ClaimsError | None = None
    already_submitted: bool = False


def journal_prepared(
    workspace: Workspace, prepared: PreparedClaim, replaces: int | None = None
) -> None:
    """Journal one record as `prepared` (a correction with the claim it replaces)."""
    record = prepared.record
    workspace.journal.prepare(
        prepared.commitment,
        chain=workspace.chain_key,
        provider_id=record.provider_id,
        record_id=record.record_id,
        plan_id=record.plan_id,
        source=prepared.source,
        replaces=replaces,
    )


def estimate_batch_gas(claims: Iterable[ChainClaim]) -> int:
    return sum(GAS_PER_CLAIM + GAS_PER_LINE * len(c.lines) for c in claims)


class HospitalClient(Party):
    """Submits treatment records and follows their claims.

    `account` is the account to act as; None acts as each record's registered provider
    account (the CLI's default).
    """

    def __init__(self, workspace: Workspace, account: str | None = None) -> None:
        self.workspace = workspace
        self.account = workspace.chain.address_of(account) if account else ""
        # Providers looked up during one submit_many (None outside it): one read per
        # provider instead of one per record.
        self._providers: dict[tuple[str, str], ProviderInfo] | None = None
        # The provider the acting account submits for, per plan, during one submit_many.
        self._acting_for: dict[str, str | None] | None = None

    def _provider(self, plan_id: str, provider_id: str) -> ProviderInfo:
        """The registered provider (raises NotFound for an unknown plan or provider)."""
        key = (plan_id, provider_id)
        if self._providers is not None and key in self._providers:
            return self._providers[key]
        self.workspace.plan(plan_id)
        provider = self.workspace.provider(plan_id, provider_id)
        if self._providers is not None:
            self._providers[key] = provider
        return provider

    def _has_plan(self, plan_id: str) -> bool:
        try:
            self.workspace.plan(plan_id)
        except NotFound:
            return False
        return True

    def _provider_of_acting_account(self, plan_id: str) -> str | None:
        """The provider id the acting account submits for in the plan (None: none)."""
        if self._acting_for is not None and plan_id in self._acting_for:
            return self._acting_for[plan_id]
        provider_id, _active = self.engine.provider_of(plan_id, self.account)
        if self._acting_for is not None:
            self._acting_for[plan_id] = provider_id
        return provider_id

    def today(self) -> int:
        return day_of_timestamp(self.workspace.chain.now())

    def prepare(self, record: TreatmentRecord, source: str | None = None) -> PreparedClaim:
        """Check a record against the chain and build its claim. Raises RecordError."""
        label = record.record_id
        if len(record.lines) > MAX_LINES:
            raise RecordError(
                f"a claim may have at most {MAX_LINES} lines, this one has {len(record.lines)}",
                file=source,
                record=label,
                field="lines",
            )
        try:
            provider = self._provider(record.plan_id, record.provider_id)
        except NotFound as error:
            # Which lookup failed: the plan's (then the record's plan_id is wrong) or the
            # provider's (its provider_id).
            field = "provider_id" if self._has_plan(record.plan_id) else "plan_id"
            raise RecordError(error.message, file=source, record=label, field=field) from None
        if record.service_day > self.today():
            raise RecordError(
                f"service date {record.service_date} is after the chain's today "
                f"{from_day(self.today())}",
                file=source,
                record=label,
                field="service_date",
                hint="submit it on or after the service date",
            )
        try:
            member = self.workspace.pseudonym_on(
                record.plan_id, record.member_id, record.service_day
            )
        except NotFound as error:
            raise RecordError(
                error.message, file=source, record=label, field="plan_id", hint=error.hint
            ) from None
        salt, commitment = self.workspace.commitment(record)
        claim = ChainClaim(
            commitment=commitment,
            member=member,
            service_day=record.service_day,
            prior_auth=bool(record.prior_auth),
            lines=tuple(ChainLine(line.code, line.units, line.billed) for line in record.lines),
        )
        if (
            self.account
            and self.account != provider.account
            and self._provider_of_acting_account(record.plan_id) != record.provider_id
        ):
            # A claim is its sender's provider's: never send another provider's record.
            raise RecordError(
                f"the account acting here ({self.account}) is not an account of provider "
                f"{record.provider_id}, which is registered to {provider.account}",
                file=source,
                record=label,
                field="provider_id",
                hint="act as one of the provider's accounts, or leave --as out",
            )
        return PreparedClaim(record, source, salt, claim, self.account or provider.account)

    def submit(self, record: TreatmentRecord) -> ClaimResult:
        """Submit one record; the same record sent again returns its existing claim."""
        (outcome,) = self.submit_many([record])
        if outcome.error is not None:
            raise outcome.error
        assert outcome.result is not None
        return outcome.result

    def submit_many(
        self,
        records: Sequence[TreatmentRecord],
        *,
        sources: Sequence[str | None] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> list[Submission]:
        """Submit records in gas-sized batches. A record that cannot go (bad plan, provider,
        date, a different record under a used id) is returned with its error; the others
        still go. Records already on the chain are recognised and not sent again."""
        self._providers, self._acting_for = {}, {}
        try:
            return self._submit_many(records, sources, progress)
        finally:
            self._providers, self._acting_for = None, None

    def _submit_many(
        self,
        records: Sequence[TreatmentRecord],
        sources: Sequence[str | None] | None,
        progress: Callable[[int], None] | None,
    ) -> list[Submission]:
        ws = self.workspace
        srcs = list(sources) if sources is not None else [None] * len(records)
        outcomes: dict[int, Submission] = {}
        to_send: list[tuple[int, PreparedClaim]] = []
        for index, (record, source) in enumerate(zip(records, srcs, strict=True)):
            try:
                prepared = self.prepare(record, source)
                if self._known(index, prepared, outcomes):
                    continue
            except ClaimsError as error:
                outcomes[index] = Submission(record, source, error=error)
                continue
            to_send.append((index, prepared))
        # The vault copy and the journal row of everything about to be sent, before it is
        # sent: one disk sync for each store, not one per record.
        ws.vault.put_many([(p.record, p.salt) for _, p in to_send])
        ws.journal.prepare_many(
            [
                (
                    p.commitment,
                    ws.chain_key,
                    p.record.provider_id,
                    p.record.record_id,
                    p.record.plan_id,
                    p.source,
                )
                for _, p in to_send
            ]
        )
        if progress and outcomes:
            progress(len(outcomes))

        for batch in self._batches(to_send):
            self._send_batch(batch, outcomes)
            if progress:
                progress(len(batch))
        return [outcomes[i] for i in range(len(records))]

    def earlier_submission(self, prepared: PreparedClaim) -> JournalEntry | None:
        """This workspace's journal entry of the record's id, if it sent one. Raises
        RecordError when a different record was submitted under the same record id."""
        ws = self.workspace
        record = prepared.record
        earlier = ws.journal.by_record(ws.chain_key, record.provider_id, record.record_id)
        if earlier is not None and earlier.commitment != prepared.commitment:
            raise RecordError(
                f"record_id {record.record_id} was already submitted by {record.provider_id} "
                f"with different content (first from {earlier.source or 'an earlier run'}, "
                f"commitment 0x{earlier.commitment.hex()[:16]}…); this version differs",
                file=prepared.source,
                record=record.record_id,
                field="record_id",
                hint="give a corrected record a new record_id",
            )
        return earlier

    def _known(self, index: int, prepared: PreparedClaim, outcomes: dict[int, Submission]) -> bool:
        """True when the record is already on the chain (its result is filled in). Raises
        when a different record was submitted under the same record id."""
        ws = self.workspace
        record = prepared.record
        earlier = self.earlier_submission(prepared)
        if earlier is None:
            # Never sent from this workspace, so not on the chain unless another workspace
            # shares its keys; then the contract refuses it as a duplicate, and _send_batch
            # finds it with claim_status. This saves a claim_status call per new record.
            return False
        state = ws.engine.claim_status(record.plan_id, record.provider_id, prepared.commitment)
        if state.status is None:
            return False
        if earlier.claim_id is None:
            journal_prepared(ws, prepared)
            ws.journal.mark_submitted(prepared.commitment, state.claim_id, None)
        # Build the result from the state just read: no second storage read, no provider map.
        result = build_result(
            claim_events(ws.engine, state.claim_id),
            status=state.status,
            record_id=record.record_id,
            provider_id=record.provider_id,
        )
        outcomes[index] = Submission(record, prepared.source, result=result, already_submitted=True)
        return True

    def _batches(
        self, to_send: list[tuple[int, PreparedClaim]]
    ) -> Iterable[list[tuple[int, PreparedClaim]]]:
        """Group by (plan, sender) in order, and cut by count and by estimated gas."""
        groups: dict[tuple[str, str], list[tuple[int, PreparedClaim]]] = {}
        for item in to_send:
            key = (item[1].record.plan_id, item[1].sender)
            groups.setdefault(key, []).append(item)
        for items in groups.values():
            batch: list[tuple[int, PreparedClaim]] = []
            gas = 0
            for item in items:
                cost = estimate_batch_gas([item[1].claim])
                if batch and (len(batch) >= MAX_BATCH or gas + cost > BATCH_GAS_BUDGET):
                    yield batch
                    batch, gas = [], 0
                batch.append(item)
                gas += cost
            if batch:
                yield batch

    def _send_batch(
        self, batch: list[tuple[int, PreparedClaim]], outcomes: dict[int, Submission]
    ) -> None:
        ws = self.workspace
        plan_id = batch[0][1].record.plan_id
        sender = batch[0][1].sender
        claims = [p.claim for _, p in batch]
        if 1 < len(claims) <= SMALL_BATCH:
            # A batch pays ~230k gas of memory for its ABI bounds: below 4 claims, singles
            # cost less.
            for item in batch:
                self._send_batch([item], outcomes)
            return
        try:
            if len(claims) == 1:
                receipt = ws.engine.submit_claim(sender, plan_id, claims[0])
            else:
                receipt = ws.engine.submit_claims(sender, plan_id, claims)
        except TransactionReverted as error:
            if len(batch) == 1:
                index, prepared = batch[0]
                record = prepared.record
                state = ws.engine.claim_status(
                    record.plan_id, record.provider_id, prepared.commitment
                )
                if state.status is not None:
                    # "claims: duplicate": an earlier send did land (a retried JSON-RPC
                    # request whose first answer was lost). It is on the chain: not an error.
                    ws.journal.mark_submitted(prepared.commitment, state.claim_id, None)
                    outcomes[index] = Submission(
                        prepared.record,
                        prepared.source,
                        result=claim_result(ws, state.claim_id),
                        already_submitted=True,
                    )
                    return
                ws.journal.forget(prepared.commitment)
                outcomes[index] = Submission(
                    prepared.record,
                    prepared.source,
                    error=RecordError(
                        error.reason,
                        file=prepared.source,
                        record=prepared.record.record_id,
                        hint=error.hint,
                    ),
                )
                return
            # A batch is atomic: find the claim that was refused by sending one by one.
            for item in batch:
                self._send_batch([item], outcomes)
            return
        grouped = group_claim_events(ws.engine.decode_logs(receipt.logs))
        by_commitment = {events.commitment: events for events in grouped.values()}
        for index, prepared in batch:
            events = by_commitment[prepared.commitment]
            ws.journal.mark_submitted(prepared.commitment, events.claim_id, receipt.tx_hash)
            # Right after its batch, a claim's status is the one it was submitted with:
            # only a later review, funding or settlement changes it.
            result = build_result(
                events,
                status=events.submitted_status,
                record_id=prepared.record.record_id,
                provider_id=prepared.record.provider_id,
            )
            outcomes[index] = Submission(prepared.record, prepared.source, result=result)

    def resume(self) -> list[Submission]:
        """Finish what a stopped run left `prepared` in the journal: mark what the chain
        already has, and submit the rest from the vault (never twice)."""
        ws = self.workspace
        records: list[TreatmentRecord] = []
        sources: list[str | None] = []
        corrections: list[Submission] = []
        for entry in ws.journal.pending(ws.chain_key):
            state = ws.engine.claim_status(entry.plan_id, entry.provider_id, entry.commitment)
            if state.status is not None:
                ws.journal.mark_submitted(entry.commitment, state.claim_id, None)
                continue
            record, _salt = ws.vault.get(entry.commitment)
            if entry.replaces is not None:  # a correction finishes as a replacement
                corrections.append(self.replace_record(entry.replaces, record, entry.source))
                continue
            records.append(record)
            sources.append(entry.source)
        return (self.submit_many(records, sources=sources) if records else []) + corrections

    def status(self, claim_id: int) -> ClaimResult:
        return claim_result(self.workspace, claim_id)

    # -- after a claim: claimsengine/corrections.py ----------------------------------------
    def void(self, claim_id: int) -> ClaimResult:
        """Void one of the provider's claims (pending_review, queued or paid, within the
        plan's timely-filing window). Voiding a voided claim again returns it unchanged."""
        from claimsengine.corrections import void_claim

        return void_claim(self.workspace, claim_id, self.account or None)

    def void_record(self, record_id: str, provider_id: str | None = None) -> ClaimResult:
        """Void the claim submitted for a record (looked up in the local journal)."""
        claim_id = record_result(self.workspace, record_id, provider_id).claim_id
        return self.void(claim_id)

    def replace(self, claim_id: int, record: TreatmentRecord) -> ClaimResult:
        """Submit a corrected record in place of claim `claim_id`: the old claim is voided
        and the record submitted in one transaction. Sending it again is harmless."""
        outcome = self.replace_record(claim_id, record)
        if outcome.error is not None:
            raise outcome.error
        assert outcome.result is not None
        return outcome.result

    def replace_record(
        self, claim_id: int, record: TreatmentRecord, source: str | None = None
    ) -> Submission:
        """`replace`, with the error (located at the record) in the Submission."""
        from claimsengine.corrections import replace_claim

        try:
            prepared = self.prepare(record, source)
        except ClaimsError as error:
            return Submission(record, source, error=error)
        return replace_claim(self, claim_id, prepared)

    # -- the provider's own money ----------------------------------------------------------
    def _as_provider_owner(self, plan_id: str, provider_id: str, action: str) -> ProviderState:
        """The provider as the chain has it, once the acting account is checked to be its
        owner account (the only one that moves its money). Without an account, act as it."""
        self.workspace.plan(plan_id)
        state = self.engine.provider_info(plan_id, provider_id)
        if int(state.owner, 16) == 0:
            raise NotFound(
                f"provider {provider_id!r} is not registered for plan {plan_id}",
                hint="the insurer registers it with `claims provider add`",
            )
        if self.account and self.account.lower() != state.owner.lower():
            raise ClaimsError(
                f"{describe_account(self.workspace, self.account)} is not the owner account "
                f"of provider {provider_id} in plan {plan_id}, so it cannot {action}",
                hint=f"act as {describe_account(self.workspace, state.owner)}, the account "
                "the provider was first registered with (leave --as out to act as it)",
            )
        return state

    def set_payout(self, plan_id: str, provider_id: str, payout: str) -> ProviderState:
        """Send the provider's future payments (and collected credit) to `payout`."""
        address = self.workspace.chain.address_of(payout)
        if int(address, 16) == 0:
            raise InputError("the payout cannot be the zero address", field="ADDRESS")
        state = self._as_provider_owner(plan_id, provider_id, "change its payout address")
        self.engine.set_payout(self.account or state.owner, plan_id, provider_id, address)
        return self.engine.provider_info(plan_id, provider_id)

    def add_account(self, plan_id: str, provider_id: str, account: str) -> ProviderState:
        """Let ``account`` (an alias or address) submit, and void, for the provider too: a
        second machine, say. As the provider's owner account; the insurer never can."""
        address = self.workspace.chain.address_of(account)
        state = self._as_provider_owner(plan_id, provider_id, "add an account")
        self.engine.add_provider_account(self.account or state.owner, plan_id, provider_id, address)
        return state

    def remove_account(self, plan_id: str, provider_id: str, account: str) -> ProviderState:
        """Stop an account the provider added (a lost key, say) acting for it; the account
        is retired in the plan. As the provider's owner account."""
        address = self.workspace.chain.address_of(account)
        state = self._as_provider_owner(plan_id, provider_id, "remove an account")
        self.engine.remove_provider_account(
            self.account or state.owner, plan_id, provider_id, address
        )
        return state

    def collect(self, plan_id: str, provider_id: str) -> tuple[int, ProviderState]:
        """Take the credit that refused token transfers left in the engine, to the current
        payout address. Returns the cents collected (0: there was none) and the provider."""
        state = self._as_provider_owner(plan_id, provider_id, "collect its credit")
        if state.credit == 0:
            return 0, state
        receipt = self.engine.collect(self.account or state.owner, plan_id, provider_id)
        collected = sum(
            int(e.args["amount"])
            for e in self.engine.decode_logs(receipt.logs)
            if e.name == "CreditCollected"
        )
        return collected, self.engine.provider_info(plan_id, provider_id)

    def status_of_record(self, record_id: str, provider_id: str | None = None) -> ClaimResult:
        return record_result(self.workspace, record_id, provider_id)

    def wait_for_payment(
        self, claim_id: int, *, timeout: float = 60.0, poll: float = 1.0
    ) -> ClaimResult:
        """Wait until the claim is paid (or denied, or voided); raise ClaimsError on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.status(claim_id)
            if result.status in FINAL_STATUSES or time.monotonic() >= deadline:
                break
            time.sleep(poll)
        if result.status not in FINAL_STATUSES:
            raise ClaimsError(
                f"claim {claim_id} is still {result.status} after {timeout:g} s",
                hint="queued claims are paid when the insurer funds the pool or someone settles",
            )
        return result

    def accumulators(
        self, plan_id: str, member_id: str, on: date | None = None
    ) -> AccumulatorReport:
        return member_accumulators(self.workspace, plan_id, member_id, on)

    # -- before a claim: claimsengine/eligibility.py and claimsengine/estimate.py ---------
    def eligibility(self, plan_id: str, member_id: str, day: date | None = None) -> Eligibility:
        """Whether the member is covered on `day` (default: today), and what is left."""
        from claimsengine.eligibility import check_eligibility

        return check_eligibility(self.workspace, plan_id, member_id, day)

    def estimate(self, records: Sequence[TreatmentRecord]) -> list[Estimate]:
        """What each record would get if submitted now (in order); nothing is sent."""
        from claimsengine.estimate import estimate_records

        return estimate_records(self.workspace, records, as_account=self.account or None)
