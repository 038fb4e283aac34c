"""A reconciliation report as CSV: one row per record, amounts as "180.00".

The first five columns are the ledger's view (record_id, result, expected_paid, plan_paid,
paid); the rest say why and where: the difference paid − expected, the reasons
("45: 60.00, 3: 25.00"), the on-chain claim id and status, the provider and the ledger line.
An empty cell is a side that is missing (no ledger row, or no claim on the chain).
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

from claimsengine.money import format_cents

if TYPE_CHECKING:
    from claimsengine.reconcile import ReconciliationReport

__all__ = ["COLUMNS", "report_csv"]

COLUMNS = (
    "record_id",
    "result",
    "expected_paid",
    "plan_paid",
    "paid",
    "difference",
    "reasons",
    "claim_id",
    "status",
    "provider_id",
    "ledger_line",
)


def _cents(value: int | None) -> str:
    return "" if value is None else format_cents(value)


def report_csv(report: ReconciliationReport) -> str:
    """The report's records as CSV text (with a header line, "\\n" line ends)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for record in report.records:
        claim = record.claim
        writer.writerow(
            (
                record.record_id or "",
                record.result,
                _cents(record.expected_paid),
                _cents(record.plan_paid),
                _cents(record.paid),
                _cents(record.difference),
                ", ".join(record.reasons),
                "" if claim is None else claim.claim_id,
                "" if claim is None else claim.status,
                record.provider_id or "",
                "" if record.line is None else record.line,
            )
        )
    return out.getvalue()
