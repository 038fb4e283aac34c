"""Typed clients for each party: the insurer, the hospital and the adjudicator.

The same code runs on the embedded chain and over JSON-RPC: a client holds a
`Workspace` (state folder + chain) and the account it acts as. Amounts are int cents;
results are the `ClaimResult` / `AccumulatorReport` of results.py.

A hospital submits a claim in a few lines::

    from claimsengine.sdk import HospitalClient
    from claimsengine.records import load_records
    from claimsengine.workspace import Workspace

    with Workspace.open(".claims") as workspace:
        hospital = HospitalClient(workspace, "hospital-1")
        for record in load_records("visit.json").records:
            print(hospital.submit(record.record).status)

One module a party: ``insurer``, ``hospital``, ``adjudicator``; ``party`` holds what they
share (and what anyone may do: settle a queue). Import the clients from here.
"""

from claimsengine.claim_reads import (
    ReviewQueue,
    claim_result,
    member_accumulators,
    record_result,
    result_of,
    review_quorum,
    with_quorum,
)
from claimsengine.engine import (
    DEFAULT_REVIEW_REASON,
    MAX_ENROLMENTS_PER_CALL,
    REVIEW_REASONS,
    PoolState,
    ProviderState,
    Role,
)
from claimsengine.sdk.adjudicator import AdjudicatorClient, check_denial_reason
from claimsengine.sdk.hospital import HospitalClient, PreparedClaim, Submission, journal_prepared
from claimsengine.sdk.insurer import InsurerClient
from claimsengine.sdk.party import Party, describe_account, settle, transaction_gas

# The contract's names an SDK user meets (the CLI takes them from here, not from engine).
__all__ = [
    "DEFAULT_REVIEW_REASON",
    "MAX_ENROLMENTS_PER_CALL",
    "REVIEW_REASONS",
    "AdjudicatorClient",
    "HospitalClient",
    "InsurerClient",
    "Party",
    "PoolState",
    "PreparedClaim",
    "ProviderState",
    "ReviewQueue",
    "Role",
    "Submission",
    "check_denial_reason",
    "claim_result",
    "describe_account",
    "journal_prepared",
    "member_accumulators",
    "record_result",
    "result_of",
    "review_quorum",
    "settle",
    "transaction_gas",
    "with_quorum",
]
