"""The reconciliation page: a ledger (from the state folder, or uploaded) against the chain.

An upload is parsed with ``reconcile.load_ledger`` and kept in this process's memory only
(the last few, under a random token), so that its result page and its downloads are plain
GETs. Nothing of it is written to the chain or to the state folder.
"""

from __future__ import annotations

import secrets
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from claimsengine.dashboard.labels import status_badge
from claimsengine.dashboard.markup import (
    Markup,
    cents,
    definitions,
    esc,
    form_select,
    join,
    link,
    notice,
    table,
    url,
)
from claimsengine.errors import ClaimsError, LedgerError
from claimsengine.exports import FORMATS
from claimsengine.reconcile import LedgerRow, ReconciliationReport, load_ledger, match

if TYPE_CHECKING:
    from claimsengine.dashboard.snapshot import Snapshot

__all__ = ["DOWNLOADS", "Ledger", "LedgerShelf", "ledger_files", "reconciliation_page"]

#: The exports offered for download: format -> (file suffix, media type).
DOWNLOADS: dict[str, tuple[str, str]] = {
    "x12-835": (".835", "application/edi-x12"),
    "fhir": (".fhir.json", "application/fhir+json"),
    "csv": (".csv", "text/csv"),
}
#: Above this many records the page shows only those that are not matched (at most this
#: many), as `claims reconcile` does, and points to the CSV for the rest.
RECORD_ROWS_SHOWN = 200
#: Uploads kept in memory (the oldest is forgotten first).
UPLOADS_KEPT = 16


@dataclass(frozen=True)
class Ledger:
    """A parsed ledger and the name it is shown under."""

    name: str
    rows: tuple[LedgerRow, ...]


def ledger_files(state_dir: Path) -> list[str]:
    """The ledger CSVs the dashboard may read: ``*.csv`` in the state folder and in its
    ``ledgers/`` folder, as paths relative to the state folder."""
    found = [*state_dir.glob("*.csv"), *(state_dir / "ledgers").glob("*.csv")]
    return sorted(p.relative_to(state_dir).as_posix() for p in found if p.is_file())


def read_state_ledger(state_dir: Path, name: str) -> Ledger:
    """A ledger from the state folder, by one of the names ``ledger_files`` lists (any
    other name is refused, so a query cannot reach a file outside the folder)."""
    if name not in ledger_files(state_dir):
        raise LedgerError(
            "is not a ledger CSV in the state folder",
            file=name,
            hint="pick one from the list, or upload the file",
        )
    return Ledger(name, tuple(load_ledger(state_dir / name)))


def parse_upload(filename: str, content: bytes) -> Ledger:
    """An uploaded ledger, read as ``claims reconcile`` reads a file; errors name the
    uploaded file's own name, line and field."""
    name = PurePath(filename.replace("\\", "/")).name or "upload.csv"
    with tempfile.TemporaryDirectory(prefix="claims-ledger-") as folder:
        path = Path(folder) / "ledger.csv"
        path.write_bytes(content)
        try:
            rows = load_ledger(path)
        except LedgerError as error:
            error.file = name
            raise
    return Ledger(name, tuple(rows))


class LedgerShelf:
    """Uploaded ledgers by token, in memory, the last ``UPLOADS_KEPT`` of them."""

    def __init__(self) -> None:
        self._ledgers: OrderedDict[str, Ledger] = OrderedDict()

    def put(self, ledger: Ledger) -> str:
        token = secrets.token_urlsafe(12)
        self._ledgers[token] = ledger
        while len(self._ledgers) > UPLOADS_KEPT:
            self._ledgers.popitem(last=False)
        return token

    def get(self, token: str) -> Ledger | None:
        return self._ledgers.get(token)


def run_match(snapshot: Snapshot, plan_id: str, ledger: Ledger) -> ReconciliationReport:
    return match(snapshot.plans[plan_id].settlements, ledger.rows, ledger_name=ledger.name)


def reconciliation_page(
    snapshot: Snapshot,
    query: Mapping[str, str],
    *,
    files: Sequence[str],
    ledger: Ledger | None,
    error: ClaimsError | None = None,
    report_of: Callable[[Snapshot, str, Ledger], ReconciliationReport] = run_match,
) -> tuple[str, Markup]:
    plan_id = query.get("plan") or next(iter(snapshot.plans), None)
    if plan_id is None:
        return "Reconciliation", notice("This chain has no plans yet.")
    plans = [(p, p) for p in snapshot.plans]
    pick = Markup(
        '<form class="filters" method="get" action="/reconcile" '
        'aria-label="Reconcile a ledger from the state folder">'
        f"<div>{form_select('plan', 'Plan', plans, plan_id)}</div>"
        f"<div>{form_select('ledger', 'Ledger in the state folder', [('', '(choose)'), *((f, f) for f in files)], query.get('ledger'))}</div>"  # noqa: E501
        '<div><button type="submit">Reconcile</button></div></form>'
        '<form class="filters" method="post" action="/reconcile" enctype="multipart/form-data" '
        'aria-label="Upload a ledger">'
        f"<div>{form_select('plan', 'Plan', plans, plan_id)}</div>"
        '<div><label for="f-upload">Or upload a ledger CSV (kept in memory here, never '
        'written to the chain)</label><input id="f-upload" name="ledger" type="file" '
        'accept=".csv,text/csv"></div><div><button type="submit">Upload and reconcile</button>'
        "</div></form>"
        "<p>A ledger has the header <code>record_id,expected_paid</code> (and optionally "
        "<code>provider_id</code>).</p>"
    )
    if error is not None:
        return "Reconciliation", Markup(
            pick + notice(f"The ledger was not read: {error}", kind="error", hint=error.hint)
        )
    if plan_id not in snapshot.plans:
        return "Reconciliation", Markup(
            pick + notice(f"No plan {plan_id!r} on this chain.", kind="error")
        )
    if ledger is None:
        return "Reconciliation", pick
    report = report_of(snapshot, plan_id, ledger)
    source = {"upload": query.get("upload")} if query.get("upload") else {"ledger": ledger.name}
    return "Reconciliation", Markup(pick + _report(report, plan_id, source))


def _report(report: ReconciliationReport, plan_id: str, source: Mapping[str, object]) -> Markup:
    downloads = join(
        (
            link(url("/reconcile/download", plan=plan_id, format=fmt, **source), label)
            for fmt, label in (("x12-835", "835 remittance"), ("fhir", "FHIR bundle"),
                               ("csv", "CSV"))
        ),
        " · ",
    )  # fmt: skip
    summary = definitions(
        [(result.replace("_", " "), count) for result, count in report.summary.items()],
        dl_id="summary",
    )
    records, more = report.records_to_read(RECORD_ROWS_SHOWN)
    if more:
        more += "; the CSV download has them all."
    record_table = table(
        ["record", "provider", "result", "expected", "plan paid", "paid", "difference",
         "claim", "reasons"],
        [
            (
                r.record_id or "(unknown here)",
                r.provider_id or (r.claim.provider if r.claim else ""),
                status_badge(r.result),
                cents(r.expected_paid),
                cents(r.plan_paid),
                cents(r.paid),
                cents(r.difference),
                link(f"/claims/{r.claim.claim_id}", r.claim.claim_id) if r.claim else "",
                ", ".join(r.reasons),
            )
            for r in records
        ],
        caption="Records",
        right=("expected", "plan paid", "paid", "difference", "claim"),
        table_id="records",
    )  # fmt: skip
    providers = table(
        ["provider", "claims", "expected", "plan paid", "paid", "queued", "pending review",
         "transfers", "check"],
        [
            (p.provider_id, p.claims, cents(p.expected_paid), cents(p.plan_paid), cents(p.paid),
             cents(p.queued), cents(p.pending_review), p.to_json()["transfers"],
             "ok" if p.ok else "MISMATCH")
            for p in report.providers
        ],
        caption="Per provider: payments against the token transfers",
        right=("claims", "expected", "plan paid", "paid", "queued", "pending review",
               "transfers"),
        table_id="providers",
    )  # fmt: skip
    checks = table(
        ["balancing check", "result", "detail"],
        [(c.name, "ok" if c.ok else "FAILED", c.detail) for c in report.checks],
        caption="Balancing",
        table_id="checks",
    )
    warnings = join(notice(w, kind="warn") for w in report.warnings)
    return Markup(
        f"<h2>{esc(report.ledger)} against {esc(plan_id)}</h2>"
        f"<p>Download: {downloads}</p>{warnings}{summary}{record_table}"
        f"{notice(more) if more else ''}{providers}{checks}"
    )


def check_format(fmt: str) -> None:
    if fmt not in DOWNLOADS or fmt not in FORMATS:
        raise ClaimsError(
            f"unknown download format {fmt!r}", hint=f"use one of: {', '.join(DOWNLOADS)}"
        )
