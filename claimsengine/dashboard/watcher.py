"""The chain the dashboard reads, and the snapshot it keeps of it.

A watcher thread looks for a new block every ``watch_seconds`` and reads the snapshot again
when there is one, while pages go on being built from the snapshot as it stands. The
workspace is opened only while the chain is read and closed again, so the embedded chain's
lock is held only then and `claims` commands on the same state folder run beside it.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from claimsengine.dashboard.snapshot import Snapshot, read_snapshot
from claimsengine.errors import ClaimsError

if TYPE_CHECKING:
    from claimsengine.workspace import Workspace

__all__ = ["WATCH_SECONDS", "ChainWatcher"]

#: How often the dashboard looks for a new block, in seconds.
WATCH_SECONDS = 2.0


class ChainWatcher:
    """A state folder (or a node through ``rpc``) and the latest snapshot of its chain.

    ``reading`` is the block being read while a re-read runs; ``problem`` says why the
    last look at the chain failed (a long command holding the folder), until one works.
    """

    def __init__(
        self, state: Path, rpc: str | None = None, *, watch_seconds: float = WATCH_SECONDS
    ) -> None:
        self.state = Path(state)
        self.rpc = rpc
        self.watch_seconds = watch_seconds
        self.reading: int | None = None
        self.problem: str | None = None
        #: block -> chain day, kept across snapshots (blocks do not change); used under
        #: the lock only.
        self.days: dict[int, int] = {}
        self._snapshot: Snapshot | None = None
        # One workspace open at a time in this process (the embedded chain's lock is the
        # process's too).
        self._chain = threading.Lock()
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

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
                self.reading = block
                try:
                    current = read_snapshot(workspace, self.days).warm()
                    self._snapshot = current
                finally:
                    self.reading = None
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
                self.problem = None
            except ClaimsError as error:  # e.g. a long command holds the state folder
                self.problem = str(error)
            except Exception as error:  # shown in the footer; the trace in the terminal
                traceback.print_exc(file=sys.stderr)
                self.problem = f"reading the chain failed ({type(error).__name__})"
