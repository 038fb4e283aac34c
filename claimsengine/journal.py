"""The submission journal: a SQLite file next to the state, one row per record.

It is keyed by the record commitment, which is deterministic for a record's content (see
workspace.record_salt), so that sending the same record twice is recognised, a different
record under a used record_id is caught, and a run killed at any point can be resumed:
a row is written as `prepared` before its transaction is sent, and marked `submitted` with
its claim id once the chain has it. On resume, a `prepared` row is checked against the
chain (`claim_status`) before anything is sent again, and the contract refuses a
commitment it has seen, so nothing is ever submitted, or paid, twice.

A corrected record (`submit --replaces`) is journaled with the claim it replaces, so that a
run stopped before its transaction landed finishes it as a replacement, never as a plain
submission.

A row names its records file by a small number (``sources``: one row per file path), not
by the path itself, which a weekly batch repeats on every row. A journal written before
that is rewritten so when opened, in one transaction (a crash leaves it as it was).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PREPARED = "prepared"
SUBMITTED = "submitted"

#: (commitment, chain, provider_id, record_id, plan_id, source) of a row to prepare.
PreparedRow = tuple[bytes, str, str, str, str, "str | None"]

_RECORDS = """
CREATE TABLE IF NOT EXISTS records (
    commitment BLOB PRIMARY KEY,
    chain TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    record_id TEXT NOT NULL,
    plan_id TEXT NOT NULL,
    source_id INTEGER,
    state TEXT NOT NULL,
    claim_id INTEGER,
    tx_hash BLOB,
    updated_at REAL NOT NULL,
    replaces INTEGER,
    UNIQUE (chain, provider_id, record_id)
);
CREATE INDEX IF NOT EXISTS records_by_claim ON records (chain, claim_id);
"""
#: A prepared row has no claim id yet (``mark_submitted`` sets both together), so the
#: prepared rows are read through records_by_claim, not by scanning the chain's history.
_PREPARED_ROWS = "chain = ? AND claim_id IS NULL AND state = ?"
_SOURCES = "CREATE TABLE IF NOT EXISTS sources (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE)"
#: Added after the first schema: the claim a corrected record replaces (NULL: none).
_REPLACES_COLUMN = "ALTER TABLE records ADD COLUMN replaces INTEGER"
_COLUMNS = (
    "commitment, chain, provider_id, record_id, plan_id, {source}, state, claim_id, tx_hash,"
    " updated_at, replaces"
)


@dataclass(frozen=True)
class JournalEntry:
    commitment: bytes
    chain: str
    provider_id: str
    record_id: str
    plan_id: str
    source: str | None
    state: str
    claim_id: int | None
    tx_hash: bytes | None
    replaces: int | None = None


class Journal:
    """The journal of one state folder. Every write is its own committed transaction."""

    def __init__(self, path: Path) -> None:
        self._deferred: list[tuple[bytes, int, bytes | None]] | None = None
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(_SOURCES)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(records)")}
        if "source" in columns:
            with self.transaction():
                self._intern_sources("replaces" in columns)
        self._db.executescript(_RECORDS)

    def _intern_sources(self, has_replaces: bool) -> None:
        """Rewrite a journal that kept each row's file path (the first schemas)."""
        if not has_replaces:
            self._db.execute(_REPLACES_COLUMN)
        self._db.execute(
            "INSERT OR IGNORE INTO sources (path) SELECT DISTINCT source FROM records"
            " WHERE source IS NOT NULL"
        )
        self._db.execute("ALTER TABLE records RENAME TO records_v1")
        self._db.execute("DROP INDEX IF EXISTS records_by_claim")
        for statement in _RECORDS.split(";"):
            if statement.strip():
                self._db.execute(statement)
        self._db.execute(
            f"INSERT INTO records ({_COLUMNS.format(source='source_id')})"
            f" SELECT {_COLUMNS.format(source='s.id')} FROM records_v1"
            " LEFT JOIN sources s ON s.path = records_v1.source"
        )
        self._db.execute("DROP TABLE records_v1")

    def _source_ids(self, paths: Sequence[str | None]) -> dict[str | None, int | None]:
        """The number of each file path (added when new); None stays None."""
        ids: dict[str | None, int | None] = {None: None}
        for path in set(paths) - {None}:
            self._db.execute("INSERT OR IGNORE INTO sources (path) VALUES (?)", (path,))
            (ids[path],) = self._db.execute(
                "SELECT id FROM sources WHERE path = ?", (path,)
            ).fetchone()
        return ids

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _rows(self, where: str, *args: object) -> list[JournalEntry]:
        cursor = self._db.execute(
            "SELECT commitment, chain, provider_id, record_id, plan_id, sources.path, state,"
            " claim_id, tx_hash, replaces FROM records"
            f" LEFT JOIN sources ON sources.id = records.source_id WHERE {where}",
            args,
        )
        return [JournalEntry(*row) for row in cursor.fetchall()]

    def by_commitment(self, commitment: bytes) -> JournalEntry | None:
        rows = self._rows("commitment = ?", commitment)
        return rows[0] if rows else None

    def by_record(self, chain: str, provider_id: str, record_id: str) -> JournalEntry | None:
        rows = self._rows(
            "chain = ? AND provider_id = ? AND record_id = ?", chain, provider_id, record_id
        )
        return rows[0] if rows else None

    def by_record_id(self, chain: str, record_id: str) -> list[JournalEntry]:
        return self._rows("chain = ? AND record_id = ?", chain, record_id)

    def by_claim(self, chain: str, claim_id: int) -> JournalEntry | None:
        rows = self._rows("chain = ? AND claim_id = ?", chain, claim_id)
        return rows[0] if rows else None

    def pending(self, chain: str) -> list[JournalEntry]:
        """Rows prepared but not known to be on the chain (a run stopped mid-way)."""
        return self._rows(_PREPARED_ROWS, chain, PREPARED)

    def prepare(
        self,
        commitment: bytes,
        *,
        chain: str,
        provider_id: str,
        record_id: str,
        plan_id: str,
        source: str | None,
        replaces: int | None = None,
    ) -> None:
        """Journal a record as `prepared`; ``replaces``: the claim a correction replaces."""
        # The file's number first: a crash between the two leaves only an unused number.
        source_id = self._source_ids([source])[source]
        self._db.execute(
            "INSERT OR IGNORE INTO records (commitment, chain, provider_id, record_id, plan_id,"
            " source_id, state, updated_at, replaces) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                commitment,
                chain,
                provider_id,
                record_id,
                plan_id,
                source_id,
                PREPARED,
                time.time(),
                replaces,
            ),
        )

    def prepare_many(self, rows: Sequence[PreparedRow]) -> None:
        """``prepare`` for a whole batch in one SQL transaction: one sync instead of one per
        row (each autocommitted row costs a WAL fsync, about 4 ms here)."""
        if not rows:
            return
        now = time.time()
        with self.transaction():
            ids = self._source_ids([row[5] for row in rows])
            self._db.executemany(
                "INSERT OR IGNORE INTO records (commitment, chain, provider_id, record_id,"
                " plan_id, source_id, state, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(*row[:5], ids[row[5]], PREPARED, now) for row in rows],
            )

    @contextmanager
    def after_commit(self) -> Iterator[None]:
        """Hold `submitted` marks until the block exits cleanly, i.e. until the chain has
        committed what they describe; on an error they are dropped and the rows stay
        `prepared`, to be checked against the chain on the next run."""
        if self._deferred is not None:
            yield
            return
        self._deferred = []
        try:
            yield
            marks = self._deferred
        finally:
            self._deferred = None
        with self.transaction():
            for commitment, claim_id, tx_hash in marks:
                self.mark_submitted(commitment, claim_id, tx_hash)

    def mark_submitted(self, commitment: bytes, claim_id: int, tx_hash: bytes | None) -> None:
        if self._deferred is not None:
            self._deferred.append((commitment, claim_id, tx_hash))
            return
        self._db.execute(
            "UPDATE records SET state = ?, claim_id = ?, tx_hash = ?, updated_at = ?"
            " WHERE commitment = ?",
            (SUBMITTED, claim_id, tx_hash, time.time(), commitment),
        )

    def forget(self, commitment: bytes) -> None:
        """Drop a prepared row whose record the chain refused (it may be fixed and sent again)."""
        self._db.execute(
            "DELETE FROM records WHERE commitment = ? AND state = ?", (commitment, PREPARED)
        )

    def count(self, chain: str, state: str | None = None) -> int:
        if state is None:
            row = self._db.execute(
                "SELECT COUNT(*) FROM records WHERE chain = ?", (chain,)
            ).fetchone()
        elif state == PREPARED:
            row = self._db.execute(
                f"SELECT COUNT(*) FROM records WHERE {_PREPARED_ROWS}", (chain, state)
            ).fetchone()
        else:
            row = self._db.execute(
                "SELECT COUNT(*) FROM records WHERE chain = ? AND state = ?", (chain, state)
            ).fetchone()
        return int(row[0])
