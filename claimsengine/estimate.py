"""Estimates: the result a record would get if it were submitted now, with nothing sent.

An estimate runs the contract's own code: the same ``submit_claim`` calls that ``submit``
would send, from the same account and in the same order, are executed on a scratch copy of
the chain's state (the pending block, as ``eth_call`` sees it) and their would-be events are
decoded into claim results. Nothing is signed, mined or stored, so the chain's block number
and state are unchanged. Records estimated together see each other, as they would when
submitted together: the second claim of a member sees the first one's accumulators.

- Embedded chain: the calls are applied one after another to one throw-away py-evm state.
- JSON-RPC node: one ``eth_simulateV1`` request with the calls in one simulated block
  (anvil, geth and Besu answer it), with the block's time set to the node's clock.

Records go through the same loading and checks as ``submit`` (``orchestrator.check_paths``
and ``HospitalClient.prepare``), so a bad record gets the same error; a revert of the
simulated call (duplicate, invalid claim, not authorised, paused) is the contract's own.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eth_utils import to_checksum_address

from claimsengine.abi import text_to_bytes32
from claimsengine.adjudication import LineAdjudication
from claimsengine.chain.base import Chain, Log
from claimsengine.engine import Engine
from claimsengine.errors import ChainError, ClaimsError, RecordError, TransactionReverted
from claimsengine.history import build_result, group_claim_events
from claimsengine.orchestrator import SetAside, check_paths
from claimsengine.records import TreatmentRecord
from claimsengine.results import ClaimResult
from claimsengine.reverts import reverted
from claimsengine.workspace import Workspace

if TYPE_CHECKING:
    from claimsengine.sdk import PreparedClaim

__all__ = [
    "Estimate",
    "EstimateReport",
    "SimulatedCall",
    "estimate_json",
    "estimate_paths",
    "estimate_records",
    "not_estimated",
    "predetermination",
    "simulate",
]


@dataclass(frozen=True)
class SimulatedCall:
    """One call run on a scratch state: its return data and logs, or its revert reason."""

    output: bytes
    logs: tuple[Log, ...]
    error: str | None = None


def simulate(chain: Chain, calls: Sequence[tuple[str, str, bytes]]) -> list[SimulatedCall]:
    """Run ``(sender, to, data)`` calls one after another on a scratch copy of the pending
    state, each seeing the ones before (a reverted call leaves no trace). Nothing is sent."""
    if not calls:
        return []
    # A chain's own module is loaded already; importing the other one would cost a second
    # (web3 and its crypto for the JSON-RPC chain).
    embedded = sys.modules.get("claimsengine.chain.embedded")
    if embedded is not None and isinstance(chain, embedded.EmbeddedChain):
        return _simulate_embedded(chain, calls)
    rpc = sys.modules.get("claimsengine.chain.rpc")
    if rpc is not None and isinstance(chain, rpc.RpcChain):
        return _simulate_rpc(chain, calls)
    raise ChainError(f"estimates are not supported on {type(chain).__name__}")


def _simulate_embedded(chain: Any, calls: Sequence[tuple[str, str, bytes]]) -> list[SimulatedCall]:
    from claimsengine.chain.embedded import _computation_failure

    # Its own state: the warm state that view calls share must never see these writes.
    state = chain.sandbox_state()
    block = chain.block_number() + 1
    results: list[SimulatedCall] = []
    for sender, to, data in calls:
        snapshot = state.snapshot()
        computation = state.apply_transaction(
            chain._spoof(state, sender, to, data, state.gas_limit)
        )
        if computation.is_error:
            state.revert(snapshot)
            results.append(SimulatedCall(b"", (), _computation_failure(computation)))
            continue
        state.commit(snapshot)
        state.lock_changes()  # the next call sees this one as a new transaction would
        logs = tuple(
            Log(
                address=to_checksum_address(address),
                topics=tuple(topic.to_bytes(32, "big") for topic in topics),
                data=bytes(payload),
                block_number=block,
                tx_hash=b"",
                log_index=index,
            )
            for index, (address, topics, payload) in enumerate(computation.get_log_entries())
        )
        results.append(SimulatedCall(bytes(computation.output), logs))
    return results


def _simulate_rpc(chain: Any, calls: Sequence[tuple[str, str, bytes]]) -> list[SimulatedCall]:
    from claimsengine.chain.base import decode_revert_reason

    request = {
        "blockStateCalls": [
            {
                # The time the next mined block would have: "today" as submit would see it.
                "blockOverrides": {"time": hex(chain.now())},
                "calls": [
                    chain._call_object(chain.address_of(sender), to, data)
                    for sender, to, data in calls
                ],
            }
        ],
        "validation": False,
    }
    (block,) = chain._request("eth_simulateV1", request, "latest")
    number = int(block["number"], 16)
    results: list[SimulatedCall] = []
    for answer in block["calls"]:
        output = bytes.fromhex(str(answer.get("returnData", "0x"))[2:])
        if int(answer.get("status", "0x1"), 16) != 1:
            error = answer.get("error") or {}
            data = error.get("data")
            reason = (
                decode_revert_reason(bytes.fromhex(data[2:]))
                if isinstance(data, str) and data.startswith("0x")
                else decode_revert_reason(output)
            )
            results.append(SimulatedCall(output, (), reason or str(error.get("message", ""))))
            continue
        logs = tuple(
            Log(
                address=to_checksum_address(log["address"]),
                topics=tuple(bytes.fromhex(t[2:]) for t in log["topics"]),
                data=bytes.fromhex(log["data"][2:]),
                block_number=number,
                tx_hash=b"",
                log_index=index,
            )
            for index, log in enumerate(answer.get("logs", []))
        )
        results.append(SimulatedCall(output, logs))
    return results


@dataclass(frozen=True)
class Estimate:
    """What one record would get: its result (``claim_id`` is the id it would take, and it
    has no transactions), or the error that ``submit`` would set it aside with."""

    record: TreatmentRecord
    source: str | None
    result: ClaimResult | None = None
    error: ClaimsError | None = None
    #: The lines as the contract decided them (what the FHIR adjudication is built from).
    lines: tuple[LineAdjudication, ...] = ()


def estimate_json(result: ClaimResult) -> dict[str, Any]:
    """formats.md's estimate: a claim result with ``"estimate": true``, no ``claim_id`` and
    no ``transactions``."""
    data = {"estimate": True, **result.to_json()}
    del data["claim_id"], data["transactions"]
    return data


def estimate_records(
    workspace: Workspace,
    records: Sequence[TreatmentRecord],
    *,
    sources: Sequence[str | None] | None = None,
    as_account: str | None = None,
) -> list[Estimate]:
    """Estimate each record, in order, as if ``submit`` sent them all now."""
    from claimsengine.sdk import HospitalClient

    client = HospitalClient(workspace, as_account)
    engine = workspace.engine
    srcs = list(sources) if sources is not None else [None] * len(records)
    outcomes: dict[int, Estimate] = {}
    to_run: list[tuple[int, PreparedClaim]] = []
    for index, (record, source) in enumerate(zip(records, srcs, strict=True)):
        try:
            prepared = client.prepare(record, source)
            _check_not_submitted(client, prepared)
        except ClaimsError as error:
            outcomes[index] = Estimate(record, source, error=error)
            continue
        to_run.append((index, prepared))
    # Submit sends each (plan, account) group in input order, one group after another.
    groups: dict[tuple[str, str], list[tuple[int, PreparedClaim]]] = {}
    for item in to_run:
        groups.setdefault((item[1].record.plan_id, item[1].sender), []).append(item)
    ordered = [item for items in groups.values() for item in items]
    calls = [
        (
            prepared.sender,
            engine.address,
            engine.abi.encode_call(
                "submit_claim", text_to_bytes32(prepared.record.plan_id), prepared.claim.as_abi()
            ),
        )
        for _, prepared in ordered
    ]
    for (index, prepared), simulated in zip(ordered, simulate(workspace.chain, calls), strict=True):
        outcomes[index] = _estimate_of(engine, prepared, simulated)
    return [outcomes[i] for i in range(len(records))]


def _estimate_of(engine: Engine, prepared: PreparedClaim, simulated: SimulatedCall) -> Estimate:
    """What one simulated submit_claim says of its record: the result, or the refusal."""
    record = prepared.record
    if simulated.error is not None:
        refused = reverted(TransactionReverted(simulated.error))
        return Estimate(
            record,
            prepared.source,
            error=RecordError(
                refused.reason, file=prepared.source, record=record.record_id, hint=refused.hint
            ),
        )
    (events,) = group_claim_events(engine.decode_logs(simulated.logs)).values()
    result = build_result(
        events,
        status=events.submitted_status,
        record_id=record.record_id,
        provider_id=record.provider_id,
    )
    return Estimate(
        record,
        prepared.source,
        result=_without_transactions(result),
        lines=events.line_adjudications(),
    )


def _without_transactions(result: ClaimResult) -> ClaimResult:
    from dataclasses import replace

    return replace(result, transactions={})


def _check_not_submitted(client: Any, prepared: Any) -> None:
    """Refuse what submit would not send as new: a different record under a used record id
    (the same error as submit), or this very record, already on the chain."""
    if client.earlier_submission(prepared) is None:
        return  # never sent from here: the simulated call finds any duplicate itself
    record = prepared.record
    state = client.engine.claim_status(record.plan_id, record.provider_id, prepared.commitment)
    if state.status is not None:
        raise RecordError(
            f"record {record.record_id} is already on the chain as claim {state.claim_id} "
            f"({state.status}); submitting it again changes nothing",
            file=prepared.source,
            record=record.record_id,
            field="record_id",
            hint=f"see its result with `claims status {state.claim_id}`",
        )


@dataclass
class EstimateReport:
    """The estimates of a run, in input order, and the records set aside with their errors."""

    estimates: list[Estimate] = field(default_factory=list)
    set_aside: list[SetAside] = field(default_factory=list)

    @property
    def results(self) -> list[ClaimResult]:
        return [e.result for e in self.estimates if e.result is not None]

    def to_json(self) -> list[dict[str, Any]]:
        """The estimates, then one ``{"file", "record_id", "error"}`` per record set aside
        (as ``claims --json submit`` lists them)."""
        return [estimate_json(r) for r in self.results] + [e.to_json() for e in self.set_aside]


def estimate_paths(
    workspace: Workspace,
    paths: Iterable[Path | str],
    *,
    default_plan: str | None = None,
    default_provider: str | None = None,
    as_account: str | None = None,
) -> EstimateReport:
    """Estimate every record in ``paths`` (files or folders), as ``submit`` would read them."""
    checked = check_paths(
        workspace,
        paths,
        default_plan=default_plan,
        default_provider=default_provider,
        as_account=as_account,
    )
    report = EstimateReport()
    for rejected in checked.rejected:
        report.set_aside.append(SetAside(str(rejected.file), rejected.record_id, rejected.error))
    estimates = estimate_records(
        workspace,
        [sourced.record for sourced in checked.records],
        sources=[str(sourced.file) for sourced in checked.records],
        as_account=as_account,
    )
    for estimate in estimates:
        if estimate.result is not None:
            report.estimates.append(estimate)
        else:
            assert estimate.error is not None
            report.set_aside.append(
                SetAside(estimate.source or "", estimate.record.record_id, estimate.error)
            )
    return report


def predetermination(estimate: Estimate, *, created: str) -> dict[str, Any]:
    """An estimate as a FHIR ClaimResponse with ``use: predetermination`` (validated with
    fhir.resources): per item the same adjudication as the reconciliation export, and
    ``outcome`` ``complete`` (``queued`` when the claim would wait for review)."""
    from fhir.resources.R4B.claimresponse import ClaimResponse

    from claimsengine.exports.fhir import (
        _DISPOSITIONS,
        ADJUDICATION_SYSTEM,
        CLAIM_TYPE_SYSTEM,
        PLAN_SYSTEM,
        PROVIDER_SYSTEM,
        RECORD_SYSTEM,
        _adjudication,
        _concept,
        _fhir_id,
        _identifier,
        _money,
    )
    from claimsengine.records.fhir_fields import MEMBER_SYSTEM

    result = estimate.result
    assert result is not None, "only an estimate with a result has a ClaimResponse"
    items = [
        {"itemSequence": number, "adjudication": _adjudication(line, line.adjustments)}
        for number, line in enumerate(estimate.lines, start=1)
    ]
    totals = result.totals
    resource: dict[str, Any] = {
        "resourceType": "ClaimResponse",
        "id": _fhir_id(f"estimate-{result.provider_id}-{result.record_id}"),
        "status": "active",
        "type": _concept(CLAIM_TYPE_SYSTEM, "institutional"),
        "use": "predetermination",
        "patient": {"identifier": _identifier(MEMBER_SYSTEM, estimate.record.member_id)},
        "created": created,
        "insurer": {"identifier": _identifier(PLAN_SYSTEM, result.plan_id)},
        "requestor": {"identifier": _identifier(PROVIDER_SYSTEM, result.provider_id or "")},
        "request": {"identifier": _identifier(RECORD_SYSTEM, result.record_id or "")},
        "outcome": "queued" if result.status == "pending_review" else "complete",
        "disposition": "estimate: " + _DISPOSITIONS[result.status],
        "item": items,
        "total": [
            {"category": _concept(ADJUDICATION_SYSTEM, name), "amount": _money(cents)}
            for name, cents in (
                ("submitted", totals.billed),
                ("eligible", totals.allowed),
                ("benefit", totals.plan_paid),
            )
        ],
    }
    ClaimResponse.model_validate(resource)
    return resource


def not_estimated(entry: SetAside) -> dict[str, Any]:
    """A record that could not be estimated, as a FHIR OperationOutcome (validated with
    fhir.resources): its error located at file, record and field as ``--json`` gives it,
    and the field again as the issue's ``expression``."""
    from fhir.resources.R4B.operationoutcome import OperationOutcome

    error = entry.error
    issue: dict[str, Any] = {
        "severity": "error",
        "code": "invalid",
        "diagnostics": error.explained(),
    }
    field_name = getattr(error, "field", None)
    if field_name:
        issue["expression"] = [field_name]
    resource = {"resourceType": "OperationOutcome", "issue": [issue]}
    OperationOutcome.model_validate(resource)
    return resource
