"""The dashboard's web server (aiohttp, as `claims node`): read-only, loopback by default.

Every page is a GET. The one POST is the ledger upload, which is parsed in memory and
answered with a redirect to its result page; nothing is ever sent to the chain. Any other
method is refused (405). Pages are built on one worker thread (site.Dashboard); a watcher
thread keeps the snapshot up to date (watcher.ChainWatcher).
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from aiohttp import web

from claimsengine.dashboard.site import Answer, Dashboard
from claimsengine.errors import ClaimsError, LedgerError

__all__ = ["DEFAULT_PORT", "Dashboard", "make_app", "serve"]

DEFAULT_PORT = 8050
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
        plan_id, filename, content = request.query.get("plan", ""), "", b""
        try:
            form = await request.post()
        except web.HTTPRequestEntityTooLarge:
            limit = MAX_UPLOAD_BYTES // 2**20
            problem = LedgerError(
                f"the upload is larger than {limit} MB",
                hint="reconcile a ledger that size with `claims reconcile --ledger FILE`",
            )
            return await on_worker(lambda: dashboard.reconcile({"plan": plan_id}, problem))
        except ValueError:  # not a form at all
            form = {}  # type: ignore[assignment]
        plan_id = str(form.get("plan", plan_id))
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
        dashboard.chain.watch()

    async def stop_working(app: web.Application) -> None:
        await asyncio.get_running_loop().run_in_executor(None, dashboard.chain.stop)
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
    dashboard.chain.refresh()
