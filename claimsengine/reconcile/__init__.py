"""Settlements against a ledger, from the chain's events.

A hospital (or the insurer) keeps a ledger of what it expects to be paid per record
(cli.md: CSV ``record_id,expected_paid``). Reconciliation gives every record a result
(matched, short_paid, over_paid, denied, pending_review, queued, voided, not_on_chain,
not_in_ledger), per-provider totals checked against the token transfers the providers'
payout addresses actually received, and the 835 balancing checks.

A voided claim counts 0 paid. If it had been paid, its payment became the provider's debt
to the plan, which later payments give back (DebtRecovered): the totals show what was
reversed, kept back and still owed, and the transfer check counts what was kept back. A
ledger row whose record was voided and submitted again (a correction) is matched to the
live claim; the voided one is listed apart.

It is built in three layers, so that the matching is fast and testable without a chain.
The modules, each one job:

- ``model``: the result kinds and the plain values (``OnChainClaim``, ``TokenTransfer``,
  ``CreditCollection``, ``PlanSettlements``);
- ``ledger``: the ledger CSV -> ``LedgerRow``s, every problem located;
- ``read``: the only part that talks to the chain (``read_settlements``). It reads the
  plan's claim events (history.plan_claim_events), the token ``Transfer`` events sent by
  the engine, the plan's providers (ProviderSet events), and maps commitments to record ids;
- ``events``: decoded events -> plain values (``claims_from_events``,
  ``transfers_from_events``, ``apply_credits``). Amounts, statuses and payments come from
  events only, never from a local copy;
- ``match``: a pure function over (claims, transfers, ledger rows, record-id map). It is
  linear in the number of claims and rows: 100,000 of each take about a second on a shared
  2-core machine (bench/reconcile_bench.py);
- ``balance``: the 835 balancing checks on the chain's numbers;
- ``report``: each record's result, the totals per provider, and their JSON.

Record ids never go on the chain; it knows only salted commitments. A ledger row is tied
to its claim through the submitter's journal (record_id -> commitment), with the
encrypted vault as a fallback. A party reconciling from another machine needs the
submitter's journal or vault (and its keys), or every row comes out ``not_on_chain``;
``match`` warns when it knows the record id of none of the plan's claims.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from claimsengine.reconcile.events import (
    apply_credits,
    apply_recoveries,
    claim_status,
    claims_from_events,
    recoveries_from_events,
    transfers_from_events,
)
from claimsengine.reconcile.ledger import LedgerError, LedgerRow, load_ledger
from claimsengine.reconcile.match import match
from claimsengine.reconcile.model import (
    ADJUSTMENT_ORDER,
    RESULTS,
    CreditCollection,
    DebtRecovery,
    OnChainClaim,
    PlanSettlements,
    Result,
    TokenTransfer,
    reasons_of,
)
from claimsengine.reconcile.read import provider_npis, read_settlements
from claimsengine.reconcile.report import (
    BalanceCheck,
    ProviderTotals,
    ReconciliationReport,
    RecordResult,
    UnledgeredClaim,
)

if TYPE_CHECKING:
    from claimsengine.payer import Payer
    from claimsengine.workspace import Workspace

__all__ = [
    "ADJUSTMENT_ORDER",
    "RESULTS",
    "BalanceCheck",
    "CreditCollection",
    "DebtRecovery",
    "LedgerError",
    "LedgerRow",
    "OnChainClaim",
    "PlanSettlements",
    "ProviderTotals",
    "ReconciliationReport",
    "RecordResult",
    "Result",
    "TokenTransfer",
    "UnledgeredClaim",
    "apply_credits",
    "apply_recoveries",
    "claim_status",
    "claims_from_events",
    "load_ledger",
    "match",
    "provider_npis",
    "read_settlements",
    "reasons_of",
    "reconcile",
    "recoveries_from_events",
    "transfers_from_events",
]


def reconcile(
    workspace: Workspace,
    plan_id: str,
    ledger_path: str | Path,
    *,
    provider: str | None = None,
    payer: Payer | None = None,
    member_ids: bool = False,
) -> ReconciliationReport:
    """Reconcile a plan's settlements on the chain against a ledger CSV.

    ``provider`` limits the report to one provider's claims. The ledger is read first, so
    a bad file fails before the chain is read. ``payer`` and ``member_ids`` are for the
    835 export (see ``read_settlements``).
    """
    # read_settlements is looked up here, in the package, so that tests can replace it.
    ledger = load_ledger(ledger_path)
    if provider is not None:
        workspace.provider(plan_id, provider)  # NotFound with the registered ids
    settlements = read_settlements(workspace, plan_id, payer=payer, member_ids=member_ids)
    return match(settlements, ledger, provider=provider, ledger_name=str(ledger_path))
