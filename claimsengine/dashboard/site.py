"""The dashboard's answers: one method per page, each a complete HTML page (or a download).

``Dashboard`` builds every page from the watcher's snapshot; a claim's history, a member's
accumulators and the 835's member ids are read from the chain for that one request. It
also keeps the uploaded ledgers (in memory) and the last reconciliation reports.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from claimsengine.dashboard.claims import claim_page, claims_page
from claimsengine.dashboard.labels import Page, day_text
from claimsengine.dashboard.markup import layout, notice, url
from claimsengine.dashboard.members import members_page
from claimsengine.dashboard.plans import plans_page
from claimsengine.dashboard.reconciliation import (
    DOWNLOADS,
    Ledger,
    LedgerShelf,
    check_format,
    ledger_files,
    parse_upload,
    read_state_ledger,
    reconciliation_page,
    run_match,
)
from claimsengine.dashboard.reviews import reviews_page
from claimsengine.dashboard.snapshot import Snapshot, claim_history
from claimsengine.dashboard.watcher import WATCH_SECONDS, ChainWatcher
from claimsengine.errors import ClaimsError, LedgerError

if TYPE_CHECKING:
    from claimsengine.reconcile import ReconciliationReport

__all__ = ["Answer", "Dashboard"]

#: Reconciliation reports kept (by snapshot, plan and ledger).
REPORTS_KEPT = 8


@dataclass
class Answer:
    """What a page handler gives back, built on the worker thread."""

    body: str | bytes
    status: int = 200
    content_type: str = "text/html"
    headers: dict[str, str] = field(default_factory=dict)


class Dashboard:
    """The pages of one chain (a state folder, or a node through ``rpc``)."""

    def __init__(
        self, state: Path, rpc: str | None = None, *, watch_seconds: float = WATCH_SECONDS
    ) -> None:
        self.chain = ChainWatcher(state, rpc, watch_seconds=watch_seconds)
        self.shelf = LedgerShelf()
        self._reports: OrderedDict[tuple[int, str, Ledger], ReconciliationReport] = OrderedDict()
        self._files: dict[tuple[str, int, int], Ledger] = {}

    def footer(self, snapshot: Snapshot) -> dict[str, object]:
        facts: dict[str, object] = {
            "chain": self.chain.rpc or str(self.chain.state),
            "block": snapshot.block,
            "chain date": day_text(snapshot.today),
        }
        if self.chain.reading is not None:
            facts["reading block"] = self.chain.reading
        if self.chain.problem is not None:
            facts["not up to date:"] = self.chain.problem
        return facts

    def page(self, current: str, build: Callable[[Snapshot], Page]) -> Answer:
        snapshot = self.chain.snapshot
        title, body = build(snapshot)
        return Answer(layout(title, body, current=current, footer=self.footer(snapshot)))

    # -- the pages ----------------------------------------------------------------------

    def plans(self, query: Mapping[str, str]) -> Answer:
        return self.page("/", plans_page)

    def claims(self, query: Mapping[str, str]) -> Answer:
        return self.page("/claims", lambda snapshot: claims_page(snapshot, query))

    def claim(self, claim_id: int) -> Answer:
        known = False

        def build(snapshot: Snapshot) -> Page:
            nonlocal known
            known = snapshot.claim(claim_id) is not None
            steps = []
            if known:
                with self.chain.workspace() as workspace:
                    steps = claim_history(workspace, claim_id, self.chain.days)
            return claim_page(snapshot, claim_id, steps)

        answer = self.page("/claims", build)
        if not known:
            answer.status = 404
        return answer

    def reviews(self, query: Mapping[str, str]) -> Answer:
        return self.page("/reviews", lambda snapshot: reviews_page(snapshot, query))

    def members(self, query: Mapping[str, str]) -> Answer:
        def build(snapshot: Snapshot) -> Page:
            if not query.get("member") or query.get("plan", "") not in snapshot.keys:
                return members_page(snapshot, query, None)
            with self.chain.workspace() as workspace:
                return members_page(snapshot, query, workspace)

        return self.page("/members", build)

    def reconcile(self, query: Mapping[str, str], error: ClaimsError | None = None) -> Answer:
        def build(snapshot: Snapshot) -> Page:
            nonlocal error
            ledger = None
            if error is None:
                try:
                    ledger = self._ledger(query)
                except ClaimsError as problem:
                    error = problem
            return reconciliation_page(
                snapshot,
                query,
                files=ledger_files(self.chain.state),
                ledger=ledger,
                error=error,
                report_of=self._report_of,
            )

        answer = self.page("/reconcile", build)
        if error is not None:
            answer.status = 400
        return answer

    def upload(self, plan_id: str, filename: str, content: bytes) -> Answer:
        try:
            ledger = parse_upload(filename, content)
        except LedgerError as error:
            return self.reconcile({"plan": plan_id}, error)
        token = self.shelf.put(ledger)
        target = url("/reconcile", plan=plan_id, upload=token)
        return Answer("", status=303, headers={"Location": target})

    def download(self, query: Mapping[str, str]) -> Answer:
        from claimsengine.exports import render
        from claimsengine.reconcile import match, read_settlements

        fmt = query.get("format", "")
        check_format(fmt)
        ledger = self._ledger(query)
        if ledger is None:
            raise ClaimsError("no ledger to reconcile", hint="choose a ledger or upload one")
        snapshot = self.chain.snapshot
        plan_id = query.get("plan", "")
        if plan_id not in snapshot.plans:
            raise ClaimsError(f"no plan {plan_id!r} on this chain")
        settlements = snapshot.plans[plan_id].settlements
        if fmt == "x12-835":  # the 835 names each patient by member id (the vault's)
            with self.chain.workspace() as workspace:
                settlements = read_settlements(workspace, plan_id, member_ids=True)
        report = match(settlements, ledger.rows, ledger_name=ledger.name)
        text = render(report, fmt)
        suffix, media = DOWNLOADS[fmt]
        stem = Path(ledger.name).stem or "ledger"
        name = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in f"{plan_id}-{stem}")
        return Answer(
            text.encode("utf-8"),
            content_type=media,
            headers={"Content-Disposition": f'attachment; filename="{name}{suffix}"'},
        )

    def _report_of(self, snapshot: Snapshot, plan_id: str, ledger: Ledger) -> ReconciliationReport:
        """A ledger's report, kept for the snapshot it was made from (matching a hospital's
        whole ledger takes seconds on a large chain; looking at it again should not)."""
        key = (snapshot.block, plan_id, ledger)
        report = self._reports.get(key)
        if report is None:
            report = self._reports[key] = run_match(snapshot, plan_id, ledger)
            while len(self._reports) > REPORTS_KEPT:
                self._reports.popitem(last=False)
        return report

    def _ledger(self, query: Mapping[str, str]) -> Ledger | None:
        token = query.get("upload")
        if token:
            ledger = self.shelf.get(token)
            if ledger is None:
                raise ClaimsError(
                    "that upload is no longer kept here",
                    hint="the dashboard keeps the last few uploads in memory: upload it again",
                )
            return ledger
        name = query.get("ledger")
        if not name:
            return None
        try:
            stat = (self.chain.state / name).stat()
        except OSError:
            return read_state_ledger(self.chain.state, name)  # its own message
        key = (name, stat.st_mtime_ns, stat.st_size)
        ledger = self._files.get(key)
        if ledger is None:
            ledger = read_state_ledger(self.chain.state, name)
            self._files = {key: ledger}  # the last one read: a file is looked at again and again
        return ledger

    def error_page(self, error: Exception, status: int) -> Answer:
        if isinstance(error, ClaimsError):
            body = notice(str(error), kind="error", hint=error.hint)
        else:
            body = notice(
                f"The dashboard could not read the chain ({type(error).__name__}).",
                kind="error",
                hint="the details are in the terminal that runs `claims dashboard`",
            )
        facts = {"chain": self.chain.rpc or str(self.chain.state)}
        return Answer(layout("Something went wrong", body, current="", footer=facts), status)
