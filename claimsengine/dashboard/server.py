"""The dashboard's web server (aiohttp, as `claims node`): read-only, loopback by default.

Every page is a GET. The one POST is the ledger upload, which is parsed in memory and
answered with a redirect to its result page; nothing is ever sent to the chain. Any other
method is refused (405).

Chain work runs on one worker thread. Each request opens the workspace and closes it
again, so the embedded chain's lock is held only while a page is read, and `claims`
commands on the same state folder run between page loads. The snapshot is read again only
when the chain has a new block.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

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
from claimsengine.dashboard.snapshot import Snapshot, claim_history, read_snapshot
from claimsengine.errors import ClaimsError, LedgerError

if TYPE_CHECKING:
    from claimsengine.reconcile import ReconciliationReport
    from claimsengine.workspace import Workspace

__all__ = ["DEFAULT_PORT", "Dashboard", "make_app", "serve"]

DEFAULT_PORT = 8050
#: Reconciliation reports kept (by snapshot, plan and ledger).
REPORTS_KEPT = 8
#: How often the dashboard looks for a new block, in seconds.
WATCH_SECONDS = 2.0
#: The largest upload taken (a ledger of a few hundred thousand rows).
MAX_UPLOAD_BYTES = 32 * 2**20
#: No script, no frames, no outside resources; forms post only back here.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass
class Answer:
    """What a page handler gives back, built on the worker thread."""

    body: str | bytes
    status: int = 200
    content_type: str = "text/html"
    headers: dict[str, str] = field(default_factory=dict)


class Dashboard:
    """The state folder (or node) the dashboard reads, its snapshot and its uploads.

    A watcher thread looks for a new block every ``watch_seconds`` and reads the snapshot
    again when there is one; pages are built from the snapshot as it stands, so they never
    wait for a re-read (only a claim's history, a member's accumulators and the 835, which
    read the chain themselves, wait for the chain while one runs)."""

    def __init__(
        self, state: Path, rpc: str | None = None, *, watch_seconds: float = WATCH_SECONDS
    ) -> None:
        self.state = Path(state)
        self.rpc = rpc
        self.watch_seconds = watch_seconds
        self.shelf = LedgerShelf()
        self._snapshot: Snapshot | None = None
        self._days: dict[int, int] = {}
        # One workspace open at a time in this process (the embedded chain's lock is the
        # process's too); the block cache is used only under it.
        self._chain = threading.Lock()
        self._reading: int | None = None
        self._problem: str | None = None
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._reports: OrderedDict[tuple[int, str, Ledger], ReconciliationReport] = OrderedDict()
        self._files: dict[tuple[str, int, int], Ledger] = {}

    @contextmanager
    def workspace(self) -> Iterator[Workspace]:
        from claimsengine.workspace import Workspace

        with self._chain, Workspace.open(self.state, rpc=self.rpc) as workspace:
            yield workspace

    def refresh(self) -> Snapshot:
        """Read the snapshot again when the chain has moved (or the keys changed)."""
        with self.workspace() as workspace:
            block = workspace.chain.block_number()
            current = self._snapshot
            if (
                current is None
                or current.block != block
                or current.keys != frozenset(workspace.keys.plans())
            ):
                self._reading = block
                try:
                    current = read_snapshot(workspace, self._days).warm()
                    self._snapshot = current
                finally:
                    self._reading = None
            return current

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot if self._snapshot is not None else self.refresh()

    def watch(self) -> None:
        """Start the watcher thread (``stop`` ends it)."""
        if self._watcher is None:
            self._stop.clear()
            self._watcher = threading.Thread(
                target=self._watch, name="claims-dashboard-watch", daemon=True
            )
            self._watcher.start()

    def stop(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=60)
            self._watcher = None

    def _watch(self) -> None:
        while not self._stop.wait(self.watch_seconds):
            try:
                self.refresh()
                self._problem = None
            except ClaimsError as error:  # e.g. a long command holds the state folder
                self._problem = str(error)
            except Exception as error:  # shown in the footer; the trace in the terminal
                traceback.print_exc(file=sys.stderr)
                self._problem = f"reading the chain failed ({type(error).__name__})"

    def footer(self, snapshot: Snapshot) -> dict[str, object]:
        facts: dict[str, object] = {
            "chain": self.rpc or str(self.state),
            "block": snapshot.block,
            "chain date": day_text(snapshot.today),
        }
        if self._reading is not None:
            facts["reading block"] = self._reading
        if self._problem is not None:
            facts["not up to date:"] = self._problem
        return facts

    def page(self, current: str, build: Callable[[Snapshot], Page]) -> Answer:
        snapshot = self.snapshot
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
                with self.workspace() as workspace:
                    steps = claim_history(workspace, claim_id, self._days)
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
            with self.workspace() as workspace:
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
                files=ledger_files(self.state),
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
        snapshot = self.snapshot
        plan_id = query.get("plan", "")
        if plan_id not in snapshot.plans:
            raise ClaimsError(f"no plan {plan_id!r} on this chain")
        settlements = snapshot.plans[plan_id].settlements
        if fmt == "x12-835":  # the 835 names each patient by member id (the vault's)
            with self.workspace() as workspace:
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
            stat = (self.state / name).stat()
        except OSError:
            return read_state_ledger(self.state, name)  # its own message
        key = (name, stat.st_mtime_ns, stat.st_size)
        ledger = self._files.get(key)
        if ledger is None:
            ledger = read_state_ledger(self.state, name)
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
        facts = {"chain": self.rpc or str(self.state)}
        return Answer(layout("Something went wrong", body, current="", footer=facts), status)


def make_app(dashboard: Dashboard) -> web.Application:
    """The aiohttp application: routes, the method rule and the security headers."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="claims-dashboard")

    async def on_worker(work: Callable[[], Answer]) -> web.StreamResponse:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        try:
            answer = await loop.run_in_executor(executor, work)
        except ClaimsError as error:
            answer = dashboard.error_page(error, 400)
        except Exception as error:  # the page says what failed; the terminal has the trace
            traceback.print_exc(file=sys.stderr)
            answer = dashboard.error_page(error, 500)
        headers = {**answer.headers, "Server-Timing": f"page;dur={_ms(started)}"}
        if answer.status in (301, 302, 303):
            return web.Response(status=answer.status, headers=headers)
        body = answer.body.encode("utf-8") if isinstance(answer.body, str) else answer.body
        return web.Response(
            body=body,
            status=answer.status,
            content_type=answer.content_type,
            charset="utf-8",
            headers=headers,
        )

    def query(request: web.Request) -> dict[str, str]:
        return {key: request.query.get(key, "") for key in request.query}

    async def plans(request: web.Request) -> web.StreamResponse:
        return await on_worker(lambda: dashboard.plans(query(request)))

    async def claims(request: web.Request) -> web.StreamResponse:
        return await on_worker(lambda: dashboard.claims(query(request)))

    async def claim(request: web.Request) -> web.StreamResponse:
        claim_id = int(request.match_info["claim_id"])
        return await on_worker(lambda: dashboard.claim(claim_id))

    async def reviews(request: web.Request) -> web.StreamResponse:
        return await on_worker(lambda: dashboard.reviews(query(request)))

    async def members(request: web.Request) -> web.StreamResponse:
        return await on_worker(lambda: dashboard.members(query(request)))

    async def reconcile(request: web.Request) -> web.StreamResponse:
        return await on_worker(lambda: dashboard.reconcile(query(request)))

    async def download(request: web.Request) -> web.StreamResponse:
        return await on_worker(lambda: dashboard.download(query(request)))

    async def upload(request: web.Request) -> web.StreamResponse:
        plan_id, filename, content = "", "", b""
        try:
            form = await request.post()
        except ValueError:  # not a form at all
            form = {}  # type: ignore[assignment]
        plan_id = str(form.get("plan", ""))
        part = form.get("ledger")
        if isinstance(part, web.FileField):
            filename, content = part.filename or "upload.csv", part.file.read()
        if not filename:
            problem = LedgerError("no file was chosen", hint="choose a ledger CSV to upload")
            return await on_worker(lambda: dashboard.reconcile({"plan": plan_id}, problem))
        return await on_worker(lambda: dashboard.upload(plan_id, filename, content))

    async def not_found(request: web.Request) -> web.StreamResponse:
        problem = ClaimsError(f"there is no page {request.path}", hint="use the links above")
        answer = dashboard.error_page(problem, 404)
        return web.Response(text=str(answer.body), status=404, content_type="text/html")

    @web.middleware
    async def rules(request: web.Request, handler: Any) -> web.StreamResponse:
        allowed = ("GET", "HEAD", "POST") if request.path == "/reconcile" else ("GET", "HEAD")
        if request.method not in allowed:
            response: web.StreamResponse = web.Response(
                text="This dashboard is read-only.\n",
                status=405,
                headers={"Allow": ", ".join(allowed)},
            )
        else:
            try:
                response = await handler(request)
            except web.HTTPNotFound:
                response = await not_found(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    app = web.Application(client_max_size=MAX_UPLOAD_BYTES, middlewares=[rules])
    app.router.add_get("/", plans)
    app.router.add_get("/claims", claims)
    app.router.add_get(r"/claims/{claim_id:\d{1,30}}", claim)
    app.router.add_get("/reviews", reviews)
    app.router.add_get("/members", members)
    app.router.add_get("/reconcile", reconcile)
    app.router.add_post("/reconcile", upload)
    app.router.add_get("/reconcile/download", download)

    async def start_watching(app: web.Application) -> None:
        dashboard.watch()

    async def stop_working(app: web.Application) -> None:
        await asyncio.get_running_loop().run_in_executor(None, dashboard.stop)
        executor.shutdown(wait=True)

    app.on_startup.append(start_watching)
    app.on_cleanup.append(stop_working)
    return app


def _ms(started: float) -> str:
    return f"{(time.perf_counter() - started) * 1000:.1f}"


def serve(
    state: Path,
    *,
    rpc: str | None = None,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    on_ready: Callable[[str], None] = print,
) -> None:
    """Serve the dashboard until SIGINT or SIGTERM; ``on_ready(url)`` once it listens."""
    asyncio.run(_serve(Dashboard(state, rpc), host, port, on_ready))


async def _serve(
    dashboard: Dashboard, host: str, port: int, on_ready: Callable[[str], None]
) -> None:
    loop = asyncio.get_running_loop()
    # Read the chain once before listening: a state folder with no chain fails here, with
    # its message, rather than on the first page.
    with ThreadPoolExecutor(max_workers=1) as first:
        await loop.run_in_executor(first, _check, dashboard)
    runner = web.AppRunner(make_app(dashboard), access_log=None, handle_signals=False)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0][1]
        shown = f"[{host}]" if ":" in host else host
        on_ready(f"http://{shown}:{bound}")
        await stop.wait()
    finally:
        await runner.cleanup()


def _check(dashboard: Dashboard) -> None:
    dashboard.refresh()
