"""A reconciliation report in the formats other systems read.

- ``json``: the report itself (``ReconciliationReport.to_json``), as ``claims --json
  reconcile`` prints it.
- ``csv``: one row per record (exports/csv.py).
- ``x12-835``: an X12 5010 835-style remittance advice, balanced and self-checked
  (exports/x12.py).
- ``fhir``: a FHIR R4B Bundle of ClaimResponse, ExplanationOfBenefit and
  PaymentReconciliation resources (exports/fhir.py).

Each format module is imported only when it is used.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from claimsengine.errors import ClaimsError, ExportError
from claimsengine.exports.groups import adjustment_group

if TYPE_CHECKING:
    from claimsengine.reconcile import ReconciliationReport

__all__ = ["FORMATS", "ExportError", "adjustment_group", "render"]

FORMATS: tuple[str, ...] = ("json", "csv", "x12-835", "fhir")


def render(report: ReconciliationReport, fmt: str) -> str:
    """The report as text in ``fmt`` (one of ``FORMATS``)."""
    if fmt == "json":
        return json.dumps(report.to_json(), indent=2) + "\n"
    if fmt == "csv":
        from claimsengine.exports.csv import report_csv

        return report_csv(report)
    if fmt == "x12-835":
        from claimsengine.exports.x12 import build_835

        return build_835(report).text
    if fmt == "fhir":
        from claimsengine.exports.fhir import bundle_json

        return bundle_json(report)
    raise ClaimsError(f"unknown export format {fmt!r}", hint=f"use one of: {', '.join(FORMATS)}")
