"""The state folder's lock: one claims command at a time changes an embedded chain.

An exclusive ``flock`` on ``STATE_DIR/lock``, taken when a command opens the chain and
released when it closes it. The operating system drops it if the process dies, so a crash
never leaves the folder locked. Read-only commands (chain/snapshot.py) take no lock: they
read the last commit.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable
from pathlib import Path

from claimsengine.errors import StateLocked

__all__ = ["LOCK_FILE", "acquire", "release"]

LOCK_FILE = "lock"
_POLL_SECONDS = 0.05


def acquire(state_dir: Path, name: str, timeout: float, on_wait: Callable[[], None] | None) -> int:
    """An exclusive flock on ``state_dir/lock``; the OS drops it if the process dies."""
    fd = os.open(state_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + timeout
    waiting = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            pass
        if not waiting:
            waiting = True
            if on_wait is not None:
                on_wait()
        if time.monotonic() >= deadline:
            os.close(fd)
            raise StateLocked(
                f"another claims command is using {name}; waiting timed out after {timeout:g} s",
                hint="let the other command finish, or stop it, then try again",
            )
        time.sleep(_POLL_SECONDS)


def release(fd: int) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
