"""Find, start and stop a local anvil node, for tests and development.

`make test` installs anvil (from npm) into ``<repo>/.tools/node_modules/.bin``; CI and
developers may also have it on PATH. The node listens on 127.0.0.1 only, on a free port the
OS picks unless one is given, and uses Prague rules like the embedded chain, so gas figures
agree between the two backends.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from claimsengine.errors import ChainError

__all__ = ["AnvilNode", "find_anvil", "start_anvil", "stop_process"]

_REPO_ROOT = Path(__file__).resolve().parents[2]
_LISTENING = re.compile(rb"Listening on (127\.0\.0\.1):(\d+)")
HARDFORK = "prague"


@dataclass
class AnvilNode:
    """A running anvil process started by ``start_anvil``."""

    url: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self, timeout: float = 5.0) -> None:
        """Stop this node (and only it): SIGTERM, then SIGKILL if it does not exit."""
        stop_process(self.process, timeout)

    def log(self) -> str:
        """What the node printed so far (for failure messages)."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


def stop_process(process: subprocess.Popen[Any], timeout: float) -> None:
    """Stop a child process we started: SIGTERM, then SIGKILL if it does not exit in time."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)


def find_anvil() -> str | None:
    """The anvil binary: on PATH, else in ``<repo>/.tools/node_modules/.bin``; or None."""
    on_path = shutil.which("anvil")
    if on_path:
        return on_path
    local = _REPO_ROOT / ".tools" / "node_modules" / ".bin" / "anvil"
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return None


@contextmanager
def start_anvil(
    port: int | None = None,
    *,
    block_gas_limit: int | None = None,
    hardfork: str = HARDFORK,
    startup_timeout: float = 15.0,
    extra_args: tuple[str, ...] = (),
) -> Iterator[AnvilNode]:
    """Run anvil on 127.0.0.1 for the duration of the ``with`` block.

    ``port=None`` lets the OS pick a free port (read back from anvil's banner), so parallel
    test workers never collide. Raises ``ChainError`` if anvil is missing or does not start.
    """
    binary = find_anvil()
    if binary is None:
        raise ChainError(
            "anvil is not installed",
            hint="run `make install` (it puts anvil in .tools/), or put anvil on PATH",
        )
    args = [binary, "--host", "127.0.0.1", "--port", str(port or 0), "--hardfork", hardfork]
    if block_gas_limit is not None:
        args += ["--gas-limit", str(block_gas_limit)]
    args += list(extra_args)
    # Log to a file, not a pipe: anvil logs every request and would block on a full pipe.
    log_fd, log_name = tempfile.mkstemp(prefix="anvil-", suffix=".log")
    log_path = Path(log_name)
    try:
        process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=log_fd, stderr=subprocess.STDOUT
        )
    finally:
        os.close(log_fd)
    node: AnvilNode | None = None
    try:
        node = _wait_until_listening(process, log_path, startup_timeout)
        yield node
    finally:
        if node is not None:
            node.stop()
        elif process.poll() is None:
            process.kill()
            process.wait()
        log_path.unlink(missing_ok=True)


def _wait_until_listening(
    process: subprocess.Popen[bytes], log_path: Path, timeout: float
) -> AnvilNode:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _LISTENING.search(log_path.read_bytes())
        if found:
            host, port = found.group(1).decode(), int(found.group(2))
            return AnvilNode(f"http://{host}:{port}", port, process, log_path)
        if process.poll() is not None:
            break
        time.sleep(0.02)
    output = log_path.read_text(errors="replace")[-2000:]
    raise ChainError(
        f"anvil did not start (exit code {process.poll()}): {output.strip() or 'no output'}"
    )
