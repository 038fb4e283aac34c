"""A sqlite-backed key-value store for py-evm, so the embedded chain survives between commands.

py-evm 0.12 ships only an in-memory database. ``SqliteKV`` is a ``BaseDB`` on the standard
library's sqlite3 (WAL journal). The embedded chain writes its own index tables (receipts,
logs, metadata) through the same connection, so one SQL transaction covers everything a
command changes: ``begin()`` ... ``commit()`` or ``rollback()``. A process that dies before
``commit()`` leaves the file exactly as it was.

Block bodies (the nodes of each block's transaction trie) are kept apart, compressed, in a
``bodies`` table: they are the one large thing py-evm stores that no state needs, and
calldata compresses well (ABI words are mostly zeros). Reads fall back from ``kv`` to
``bodies`` and inflate there, so py-evm reads a block's transactions as before. The
``kv`` table keeps everything else raw, under the same keys as py-evm writes them: trie
nodes of the state, headers, code and py-evm's lookup keys; beside each, in ``refs``, the
count of references that pruning keeps (chain/prune.py; NULL until it counts the row).

Storage-trie nodes come under path keys (chain/nodekeys.py). A store whose chain keeps
them by hash (``path_keys`` False: one written before schema 6, or by
``CLAIMS_EVM=reference``) stores each under its hash instead, so both layouts read and write
through the same code above it.
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path

from eth.db.backends.base import BaseDB

from claimsengine.chain.nodekeys import hash_key, is_node_key, is_path_key, root_key

__all__ = ["KV_SCHEMA", "WAL_CHECKPOINT_PAGES", "SqliteKV", "pack_body", "unpack_body"]

#: Pages the write-ahead log takes before sqlite copies them back into the file (its default
#: is 1,000). A command on a 100,000-claim chain writes about 2,400 pages, most of them
#: leaves of the tries, hash-keyed and so spread over the whole file; with the default, each
#: command's pages were copied back at once. A longer log lets a page that several commands
#: wrote be copied back once: 32 MiB of log, about 5 CPU ms less a command there (3%).
WAL_CHECKPOINT_PAGES = 8192
_CACHE_ENTRIES = 100_000  # trie nodes are at most ~530 bytes: tens of MB at worst
KV_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY, value BLOB NOT NULL, refs INTEGER)"
    " WITHOUT ROWID"
)
# A rowid table, unlike kv: a body of a few kB stays on its own page (a WITHOUT ROWID row
# keeps at most about 1 kB of a value on its page and spills the rest to an overflow page
# of its own, mostly empty).
_BODIES_SCHEMA = "CREATE TABLE IF NOT EXISTS bodies (key BLOB PRIMARY KEY, value BLOB NOT NULL)"
#: Raw deflate (no zlib header or checksum: sqlite's pages are what keeps the bytes), at
#: zlib's default level; the stream is deterministic for a given zlib.
_DEFLATE_LEVEL = 6
_RAW_DEFLATE = -15
#: A body's first byte: what follows is the value as it is, or deflated.
_STORED, _DEFLATED = b"\x00", b"\x01"


def pack_body(value: bytes) -> bytes:
    """``value`` deflated behind one marker byte, or as it is when that is no shorter
    (a small transaction); ``unpack_body`` gives it back."""
    packer = zlib.compressobj(_DEFLATE_LEVEL, zlib.DEFLATED, _RAW_DEFLATE)
    packed = packer.compress(value) + packer.flush()
    if len(packed) < len(value):
        return _DEFLATED + packed
    return _STORED + value


def unpack_body(body: bytes) -> bytes:
    if body[:1] == _DEFLATED:
        return zlib.decompress(body[1:], _RAW_DEFLATE)
    if body[:1] == _STORED:
        return body[1:]
    raise ValueError(f"not a stored block body (marker {body[:1].hex() or 'missing'})")


class SqliteKV(BaseDB):
    """py-evm key-value store in one sqlite table; ``":memory:"`` keeps it off disk.

    Reads are served from a write-through cache of the values this process has seen. The
    cache is dropped on ``rollback()``, so it never outlives the SQL transaction that
    produced it. ``lookups`` counts every lookup, ``reads`` those that reached sqlite
    (tests use them to measure work done).
    """

    def __init__(self, path: Path | str, *, path_keys: bool = False) -> None:
        self.path = str(path)
        #: Whether storage-trie nodes are kept under their path keys (else under their
        #: hashes); the embedded chain sets it from its file's ``meta``.
        self.path_keys = path_keys
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
            self.connection.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
        self.connection.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache
        self.connection.execute(KV_SCHEMA)
        self.connection.execute(_BODIES_SCHEMA)
        self._cache: dict[bytes, bytes] = {}
        self.reads = 0
        self.lookups = 0
        #: The node keys (trie nodes, mostly) written in the open transaction: what
        #: pruning counts as it commits. Rolling back to a savepoint leaves keys here that
        #: are no longer stored; pruning reads the rows, so they count for nothing.
        self.written: set[bytes] = set()

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
        self.written.clear()

    def rollback(self) -> None:
        if self.connection.in_transaction:
            self.connection.execute("ROLLBACK")
        self._cache.clear()
        self.written.clear()

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

    def forget(self, keys: Iterable[bytes] | None = None) -> None:
        """Drop ``keys`` from the cache, or all of it (after rows were deleted behind it, as
        pruning does)."""
        if keys is None:
            self._cache.clear()
            return
        for key in keys:
            self._cache.pop(key, None)

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

    def _stored_key(self, key: bytes) -> bytes:
        """The key ``key`` has in this store: a path key becomes its hash when the chain
        keeps storage nodes by hash."""
        if not self.path_keys and len(key) != 32 and is_path_key(key):
            return hash_key(key)
        return key

    def __getitem__(self, key: bytes) -> bytes:
        self.lookups += 1
        key = self._stored_key(key)
        try:
            return self._cache[key]
        except KeyError:
            pass
        self.reads += 1
        row = self.connection.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        if row is not None:
            value: bytes = row[0]
        else:
            row = self.connection.execute(
                "SELECT value FROM bodies WHERE key = ?", (key,)
            ).fetchone()
            if row is None:
                raise KeyError(key)
            value = unpack_body(row[0])
        self._remember(key, value)
        return value

    def __setitem__(self, key: bytes, value: bytes) -> None:
        key = self._stored_key(key)
        # An upsert, not INSERT OR REPLACE: a node written again keeps its count.
        self.connection.execute(
            "INSERT INTO kv (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
        if is_node_key(key):
            self.written.add(key)
        self._remember(key, value)

    def __delitem__(self, key: bytes) -> None:
        key = self._stored_key(key)
        self._cache.pop(key, None)
        cursor = self.connection.execute("DELETE FROM kv WHERE key = ?", (key,))
        if cursor.rowcount == 0:
            cursor = self.connection.execute("DELETE FROM bodies WHERE key = ?", (key,))
        if cursor.rowcount == 0:
            raise KeyError(key)

    # -- block bodies ------------------------------------------------------------------

    def put_bodies(self, nodes: Mapping[bytes, bytes]) -> None:
        """Keep ``nodes`` (a block's transaction trie) compressed in ``bodies``.

        Reads find them as before. The copies py-evm wrote to ``kv`` are left to pruning,
        which deletes them as the command commits, unless a live row has the same key (a
        contract whose code is those bytes: chain/prune.py)."""
        self.connection.executemany(
            "INSERT OR REPLACE INTO bodies (key, value) VALUES (?, ?)",
            [(key, pack_body(value)) for key, value in nodes.items()],
        )
        for key, value in nodes.items():
            self._remember(key, value)

    def _remember(self, key: bytes, value: bytes) -> None:
        if len(self._cache) >= _CACHE_ENTRIES:
            self._cache.clear()  # crude, but bounded: sqlite's own page cache sits below
        self._cache[key] = value

    def _exists(self, key: bytes) -> bool:
        try:
            self[key]
        except KeyError:
            # py-evm looks for a new storage root under its hash alone (AccountDB.persist).
            return self.path_keys and len(key) == 32 and root_key(key) in self
        return True
