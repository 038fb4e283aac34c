"""After a claim: a provider voids its own claim, or replaces it with a corrected record.

adjudication.md ("Before and after a claim"): a provider may void its own claim that is
pending_review, queued or paid, within timely_filing_days of the service day; the contract
takes back its accumulators and duplicate-line keys, takes it out of the queue, and makes
a paid claim's amount a debt of the provider. A correction (`submit --replaces`) voids the
old claim and submits the new record in one transaction.

The contract decides; this module checks what it can name better first (whose claim it is,
a claim that is denied or already voided), and keeps a correction as safe as a submission:
the corrected record is journaled `prepared`, with the claim it replaces, before it is sent,
so a run stopped at any point finishes it as a replacement and never submits it twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from claimsengine.abi import bytes32_to_text
from claimsengine.errors import ClaimsError, NotFound, RecordError, TransactionReverted
from claimsengine.history import ClaimEvents, build_result, claim_events, group_claim_events
from claimsengine.results import ClaimResult
from claimsengine.status import ClaimStatus

if TYPE_CHECKING:
    from claimsengine.sdk import HospitalClient, PreparedClaim, Submission
    from claimsengine.workspace import Workspace

__all__ = ["VOIDABLE", "claim_provider", "replace_claim", "void_claim"]

#: The statuses a provider may void (adjudication.md, Before and after a claim).
VOIDABLE = (ClaimStatus.PENDING_REVIEW, ClaimStatus.QUEUED, ClaimStatus.PAID)


def claim_provider(workspace: Workspace, events: ClaimEvents) -> tuple[str, str]:
    """The (plan id, provider id) of a claim: the provider whose account sent it."""
    plan_id = bytes32_to_text(events.submitted.args["plan_id"])
    provider_id, _active = workspace.engine.provider_of(plan_id, events.provider_account)
    if provider_id is None:  # an account is never unregistered; kept for a clear message
        raise NotFound(f"claim {events.claim_id} has no registered provider in plan {plan_id}")
    return plan_id, provider_id


def _sender(
    workspace: Workspace, plan_id: str, provider_id: str, account: str | None, action: str
) -> str:
    """The account to send as: ``account`` when it is one of the provider's accounts (any of
    them, also while the provider is suspended), else the provider's first account."""
    from claimsengine.sdk import describe_account

    if not account:
        return workspace.engine.provider_info(plan_id, provider_id).owner
    if not workspace.provider(plan_id, provider_id).submits_from(
        workspace.chain.address_of(account)
    ):
        raise ClaimsError(
            f"{describe_account(workspace, account)} is not an account of provider "
            f"{provider_id} in plan {plan_id}, so it cannot {action}",
            hint="act as one of the provider's accounts, or leave --as out to act as its "
            "first account",
        )
    return account


def _refuse_unvoidable(result: ClaimResult, action: str) -> None:
    """A denied claim cannot be voided (nor replaced); a voided one is voided already."""
    if result.status in VOIDABLE:
        return
    if result.status == ClaimStatus.VOIDED:
        by = f" (replaced by claim {result.replaced_by})" if result.replaced_by else ""
        raise ClaimsError(
            f"claim {result.claim_id} is voided already{by}, so it cannot {action}",
            hint=f"see it with `claims status {result.claim_id}`",
        )
    raise ClaimsError(
        f"claim {result.claim_id} is {result.status}; only a claim that is pending_review, "
        f"queued or paid can {action}",
        hint="a corrected record for a denied claim is a new claim: `claims submit PATH` "
        "(without --replaces)",
    )


def void_claim(workspace: Workspace, claim_id: int, account: str | None = None) -> ClaimResult:
    """Void a claim as its provider (``account``: one of its accounts; None: its first).
    A claim that is voided already is returned as it is: voiding twice is harmless."""
    from claimsengine.sdk import result_of

    events = claim_events(workspace.engine, claim_id)
    current = result_of(workspace, events)
    if current.status == ClaimStatus.VOIDED:
        return current
    _refuse_unvoidable(current, "be voided")
    plan_id, provider_id = claim_provider(workspace, events)
    sender = _sender(workspace, plan_id, provider_id, account, f"void claim {claim_id}")
    workspace.engine.void(sender, claim_id)
    return result_of(workspace, claim_events(workspace.engine, claim_id))


def replace_claim(client: HospitalClient, claim_id: int, prepared: PreparedClaim) -> Submission:
    """Submit ``prepared`` in place of claim ``claim_id``: one transaction voids the old
    claim and submits the corrected record. Errors come back in the Submission, located at
    the record, as a submission's do."""
    from claimsengine.sdk import Submission

    record, source = prepared.record, prepared.source
    try:
        landed = _landed(client, claim_id, prepared)
        if landed is not None:
            return landed
    except ClaimsError as error:
        return Submission(record, source, error=_at_record(error, prepared))
    try:
        _check_replaceable(client.workspace, claim_id, prepared)
    except ClaimsError as error:
        # It cannot apply (the claim was voided or decided since an earlier run journaled
        # this correction, say): reported once; a row that run left goes, as when the
        # chain refuses one, so no later run resumes it or holds its record id.
        client.workspace.journal.forget(prepared.commitment)
        return Submission(record, source, error=_at_record(error, prepared))
    return _send(client, claim_id, prepared)


def _at_record(error: ClaimsError, prepared: PreparedClaim) -> RecordError:
    """``error``, located at the correction's record."""
    if isinstance(error, RecordError):
        return error
    return RecordError(
        error.message, file=prepared.source, record=prepared.record.record_id, hint=error.hint
    )


def _landed(client: HospitalClient, claim_id: int, prepared: PreparedClaim) -> Submission | None:
    """The correction's claim, when an earlier run already put it on the chain in place of
    claim ``claim_id``. Raises RecordError for a different record under a record id already
    used, and for a record on the chain as a claim that does not replace ``claim_id``."""
    from claimsengine.sdk import Submission, claim_result

    ws = client.workspace
    record = prepared.record
    client.earlier_submission(prepared)
    state = ws.engine.claim_status(record.plan_id, record.provider_id, prepared.commitment)
    if state.status is None:
        return None
    result = claim_result(ws, state.claim_id)
    if result.replaces != claim_id:
        raise _not_a_replacement(claim_id, prepared, result)
    ws.journal.mark_submitted(prepared.commitment, state.claim_id, None)
    return Submission(record, prepared.source, result=result, already_submitted=True)


def _not_a_replacement(claim_id: int, prepared: PreparedClaim, landed: ClaimResult) -> RecordError:
    """The record is on the chain already, as a claim that does not replace ``claim_id``:
    sending it again changes nothing, so the claim named would silently stay as it is."""
    what = (
        "which does not replace"
        if landed.replaces is None
        else f"which replaces claim {landed.replaces}, not"
    )
    return RecordError(
        f"the record is already on the chain as claim {landed.claim_id}, {what} claim {claim_id}",
        file=prepared.source,
        record=prepared.record.record_id,
        hint=f"a correction needs a record_id of its own; see claim {landed.claim_id} with "
        f"`claims status {landed.claim_id}`",
    )


def _check_replaceable(workspace: Workspace, claim_id: int, prepared: PreparedClaim) -> None:
    """The old claim is the same provider's, in the same plan, and may still be voided."""
    from claimsengine.sdk import result_of

    record = prepared.record
    events = claim_events(workspace.engine, claim_id)
    plan_id, provider_id = claim_provider(workspace, events)
    for field, theirs, ours in (
        ("plan_id", plan_id, record.plan_id),
        ("provider_id", provider_id, record.provider_id),
    ):
        if theirs != ours:
            raise RecordError(
                f"claim {claim_id} is {provider_id}'s in plan {plan_id}; a corrected record "
                f"must have the same plan and provider, and this one has {field} {ours}",
                file=prepared.source,
                record=record.record_id,
                field=field,
                hint="replace a claim with a record of the same plan and provider",
            )
    _refuse_unvoidable(result_of(workspace, events), "be replaced")


def _send(client: HospitalClient, claim_id: int, prepared: PreparedClaim) -> Submission:
    """Journal the correction, send it, and mark it submitted (or forget it if refused)."""
    from claimsengine.sdk import Submission, journal_prepared

    ws = client.workspace
    record = prepared.record
    ws.vault.put_many([(record, prepared.salt)])
    journal_prepared(ws, prepared, replaces=claim_id)
    try:
        receipt = ws.engine.submit_replacement(
            prepared.sender, record.plan_id, claim_id, prepared.claim
        )
    except TransactionReverted as error:
        landed = _landed(client, claim_id, prepared)  # a retry whose first answer was lost
        if landed is not None:
            return landed
        ws.journal.forget(prepared.commitment)
        return Submission(
            record,
            prepared.source,
            error=RecordError(
                error.reason, file=prepared.source, record=record.record_id, hint=error.hint
            ),
        )
    grouped = group_claim_events(ws.engine.decode_logs(receipt.logs))
    (events,) = [e for e in grouped.values() if e.commitment == prepared.commitment]
    ws.journal.mark_submitted(prepared.commitment, events.claim_id, receipt.tx_hash)
    result = build_result(
        events,
        status=events.submitted_status,
        record_id=record.record_id,
        provider_id=record.provider_id,
    )
    return Submission(record, prepared.source, result=result)
