"""A sqlite-backed key-value store for py-evm, so the embedded chain survives between commands.

py-evm 0.12 ships only an in-memory database. ``SqliteKV`` is a ``BaseDB`` on the standard
library's sqlite3 (WAL journal). The embedded chain writes its own index tables (receipts,
logs, metadata) through the same connection, so one SQL transaction covers everything a
command changes: ``begin()`` ... ``commit()`` or ``rollback()``. A process that dies before
``commit()`` leaves the file exactly as it was.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from eth.db.backends.base import BaseDB

__all__ = ["SqliteKV"]

_CACHE_ENTRIES = 100_000  # trie nodes are at most ~530 bytes: tens of MB at worst
_SCHEMA = "CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID"


class SqliteKV(BaseDB):
    """py-evm key-value store in one sqlite table; ``":memory:"`` keeps it off disk.

    Reads are served from a write-through cache of the values this process has seen. The
    cache is dropped on ``rollback()``, so it never outlives the SQL transaction that
    produced it. ``lookups`` counts every lookup, ``reads`` those that reached sqlite
    (tests use them to measure work done).
    """

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so the python module never
        # commits behind our back.
        self.connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        # A new file lets ``release_free_pages`` give pruned pages back (an existing one
        # keeps its setting: it reuses them instead). Before WAL, which fixes the setting.
        self.connection.execute("PRAGMA auto_vacuum=INCREMENTAL")
        if self.path != ":memory:":
            self.connection.execute("PRAGMA journal_mode=WAL")
            # FULL: a command the CLI reported as done survives a power cut too.
            self.connection.execute("PRAGMA synchronous=FULL")
        self.connection.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache
        self.connection.execute(_SCHEMA)
        self._cache: dict[bytes, bytes] = {}
        self.reads = 0
        self.lookups = 0
        #: Values stored under a 32-byte key (trie nodes, mostly): what pruning may reclaim.
        self.node_writes = 0

    # -- transactions -------------------------------------------------------------------

    @property
    def in_transaction(self) -> bool:
        return self.connection.in_transaction

    def begin(self) -> None:
        """Start the SQL transaction that the next ``commit()`` or ``rollback()`` ends."""
        # IMMEDIATE takes the write lock now, so a commit can never fail on a busy database.
        self.connection.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.connection.execute("COMMIT")

    def rollback(self) -> None:
        if self.connection.in_transaction:
            self.connection.execute("ROLLBACK")
        self._cache.clear()
        self.node_writes = 0

    def savepoint(self, name: str) -> None:
        """Mark a point inside the open transaction that ``rollback_to(name)`` returns to."""
        self.connection.execute(f'SAVEPOINT "{name}"')

    def release(self, name: str) -> None:
        """Keep the work done since ``savepoint(name)`` (it commits with the transaction)."""
        self.connection.execute(f'RELEASE "{name}"')

    def rollback_to(self, name: str) -> None:
        """Undo the work done since ``savepoint(name)`` and forget the savepoint."""
        self.connection.execute(f'ROLLBACK TO "{name}"')
        self.connection.execute(f'RELEASE "{name}"')
        self._cache.clear()

    def forget(self) -> None:
        """Drop the cache (after keys were deleted behind it, as pruning does)."""
        self._cache.clear()

    def release_free_pages(self) -> None:
        """Give the file's free pages back to the file system (new files only; see above)."""
        # Python's sqlite3 steps this pragma once, and a step frees one page: go on until
        # no free page is left.
        free = self.connection.execute("PRAGMA freelist_count").fetchone()[0]
        while free:
            self.connection.execute("PRAGMA incremental_vacuum(0)").fetchall()
            left = self.connection.execute("PRAGMA freelist_count").fetchone()[0]
            if left >= free:
                break  # not a file made with auto_vacuum: it keeps its free pages
            free = left

    def close(self) -> None:
        self.rollback()
        self.connection.close()

    # -- BaseDB -------------------------------------------------------------------------

    def __getitem__(self, key: bytes) -> bytes:
        self.lookups += 1
        try:
            return self._cache[key]
        except KeyError:
            pass
        self.reads += 1
        row = self.connection.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        value: bytes = row[0]
        self._remember(key, value)
        return value

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.connection.execute(
            "INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", (key, value)
        )
        if len(key) == 32:
            self.node_writes += 1
        self._remember(key, value)

    def __delitem__(self, key: bytes) -> None:
        self._cache.pop(key, None)
        cursor = self.connection.execute("DELETE FROM kv WHERE key = ?", (key,))
        if cursor.rowcount == 0:
            raise KeyError(key)

    def _remember(self, key: bytes, value: bytes) -> None:
        if len(self._cache) >= _CACHE_ENTRIES:
            self._cache.clear()  # crude, but bounded: sqlite's own page cache sits below
        self._cache[key] = value

    def _exists(self, key: bytes) -> bool:
        try:
            self[key]
        except KeyError:
            return False
        return True
