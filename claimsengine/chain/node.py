"""`claims node`: the embedded chain served over Ethereum JSON-RPC, for other processes.

The node owns the state folder while it runs: it holds the embedded chain's lock and writes
``node.json`` beside it (its URL and process id), so a local ``claims --state`` command on
the same folder refuses at once and points to ``--rpc`` (``serving_url``).

Every request runs on one worker thread, in arrival order: transactions are applied one at a
time, each mined alone in its block and committed in its own SQL transaction before the
answer goes out. A node killed at any moment keeps every transaction it has answered for.
The HTTP side is aiohttp (it comes with web3); ``NodeApi`` holds the methods.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from claimsengine.chain.anvil import stop_process
from claimsengine.errors import ChainError, StateLocked

if TYPE_CHECKING:
    from claimsengine.chain.embedded import EmbeddedChain

__all__ = ["MARKER_FILE", "NodeProcess", "refuse_if_served", "serve", "serving_url", "start_node"]

MARKER_FILE = "node.json"
DEFAULT_PORT = 8545
MAX_BODY_BYTES = 32 * 2**20


def serving_url(state_dir: Path) -> str | None:
    """The URL of the `claims node` serving ``state_dir``, or None when none is running."""
    try:
        marker = json.loads((Path(state_dir) / MARKER_FILE).read_text())
        pid, url = int(marker["pid"]), str(marker["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None  # a node that was killed: its marker is stale
    except PermissionError:
        pass  # alive, under another user
    return url


def refuse_if_served(state_dir: Path) -> None:
    """Raise ``StateLocked`` when a `claims node` serves ``state_dir``."""
    url = serving_url(state_dir)
    if url is not None:
        raise StateLocked(
            f"the chain in {state_dir} is served by `claims node` at {url}",
            hint=f"talk to it with `claims --rpc {url} ...` (from another --state folder), "
            "or stop the node first",
        )


def serve(
    state_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    on_ready: Callable[[str], None] = print,
) -> None:
    """Serve the embedded chain in ``state_dir/chain`` until SIGINT or SIGTERM.

    The chain is created when the folder has none. ``on_ready(url)`` is called once the
    socket listens (``port=0`` lets the OS pick one).
    """
    import asyncio  # here: every local command checks ``refuse_if_served``, few serve

    asyncio.run(_serve(Path(state_dir), host, port, on_ready))


async def _serve(state_dir: Path, host: str, port: int, on_ready: Callable[[str], None]) -> None:
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from aiohttp import web

    from claimsengine.chain.embedded import EmbeddedChain
    from claimsengine.chain.node_api import NodeApi
    from claimsengine.chain.prune import NODE_RECENT_STATES

    refuse_if_served(state_dir)
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="claims-node")
    loop = asyncio.get_running_loop()
    state_dir.mkdir(parents=True, exist_ok=True)

    def open_chain() -> EmbeddedChain:
        chain = EmbeddedChain.open(
            state_dir / "chain", create=True, lock_timeout=0, display_name=str(state_dir)
        )
        chain.recent_states = NODE_RECENT_STATES  # calls at a recent block, as on geth
        return chain

    try:
        chain = await loop.run_in_executor(executor, open_chain)
    except StateLocked as error:
        executor.shutdown()
        raise StateLocked(
            f"another claims command is using {state_dir}",
            hint="let it finish, then start the node",
        ) from error
    api = NodeApi(chain)
    app = web.Application(client_max_size=MAX_BODY_BYTES)

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        answer = await loop.run_in_executor(executor, api.handle_body, body)
        if answer is None:  # notifications only: nothing to say
            return web.Response(status=204)
        return web.Response(body=answer, content_type="application/json")

    app.router.add_post("/", handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    marker = state_dir / MARKER_FILE
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as error:  # the port is taken, the host is not this machine's, ...
            reason = error.strerror or str(error)
            raise ChainError(
                f"cannot listen on {host}:{port}: {reason}",
                hint="choose another --port (0 lets the system pick one) or a local --host",
            ) from None
        bound = runner.addresses[0][1]  # the port the OS gave, when asked for 0
        url = f"http://{host}:{bound}"
        _write_marker(marker, url)
        on_ready(url)
        await stop.wait()
    finally:
        await runner.cleanup()
        marker.unlink(missing_ok=True)
        await loop.run_in_executor(executor, chain.close)
        executor.shutdown()


def _write_marker(marker: Path, url: str) -> None:
    temporary = marker.with_name(f".{marker.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps({"url": url, "pid": os.getpid()}) + "\n")
    os.replace(temporary, marker)


@dataclass
class NodeProcess:
    """A `claims node` running in a child process, started by ``start_node``."""

    url: str
    process: subprocess.Popen[str]

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (a clean stop), then SIGKILL if it does not exit."""
        stop_process(self.process, timeout)

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        self.process.kill()
        self.process.wait()


@contextmanager
def start_node(
    state_dir: Path, *, port: int = 0, startup_timeout: float = 60.0
) -> Iterator[NodeProcess]:
    """Run `claims --state STATE node --port PORT` for the ``with`` block (tests,
    benchmarks); port 0 lets the OS pick a free one."""
    command = [sys.executable, "-c", "from claimsengine.cli.main import run; run()"]
    process = subprocess.Popen(
        [*command, "--state", str(state_dir), "--json", "node", "--port", str(port)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    node = NodeProcess("", process)
    try:
        node.url = _read_url(process, startup_timeout)
        yield node
    finally:
        node.stop()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def _read_url(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    line = process.stdout.readline() if ready else ""
    if not line:
        process.kill()
        _, errors = process.communicate()
        raise ChainError(f"claims node did not start: {errors.strip() or 'no output'}")
    return str(json.loads(line)["url"])
