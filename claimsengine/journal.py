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

A row names its records file, its chain and the transaction that carried it by small
numbers (``sources``, ``chains`` and ``txs``: one row per file path, chain and
transaction), not by the path, the name and the 32-byte hash themselves, which a weekly
batch repeats on every row; its state is a number too (0 prepared, 1 submitted). A
journal written before that is rewritten so when opened, in one transaction (a crash
leaves it as it was).
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
    chain_id INTEGER NOT NULL,
    provider_id TEXT NOT NULL,
    record_id TEXT NOT NULL,
    plan_id TEXT NOT NULL,
    source_id INTEGER,
    state INTEGER NOT NULL,
    claim_id INTEGER,
    tx_id INTEGER,
    updated_at REAL NOT NULL,
    replaces INTEGER,
    UNIQUE (chain_id, provider_id, record_id)
);
CREATE INDEX IF NOT EXISTS records_by_claim ON records (chain_id, claim_id);
"""
#: The tables that name what rows repeat: files, chains and transactions.
_NAMES = """
CREATE TABLE IF NOT EXISTS sources (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS chains (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS txs (id INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE);
"""
_STATES = {PREPARED: 0, SUBMITTED: 1}
#: A chain's number, from its name (the first parameter): no rows when it has none yet.
_CHAIN = "chain_id = (SELECT id FROM chains WHERE name = ?)"
#: A prepared row has no claim id yet (``mark_submitted`` sets both together), so the
#: prepared rows are read through records_by_claim, not by scanning the chain's history.
_PREPARED_ROWS = f"{_CHAIN} AND claim_id IS NULL AND state = 0"
_SELECT = (
    "SELECT commitment, chains.name, provider_id, record_id, plan_id, sources.path,"
    f" CASE state WHEN 0 THEN '{PREPARED}' ELSE '{SUBMITTED}' END, claim_id, txs.hash, replaces"
    " FROM records JOIN chains ON chains.id = records.chain_id"
    " LEFT JOIN sources ON sources.id = records.source_id"
    " LEFT JOIN txs ON txs.id = records.tx_id"
)
#: The earlier layouts' rows as this one's: ``{source}`` is the file's number (a column of
#: the second layout, a join on the first one's path).
_REWRITE = (
    "INSERT INTO records SELECT old.commitment, c.id, old.provider_id, old.record_id,"
    f" old.plan_id, {{source}}, CASE old.state WHEN '{PREPARED}' THEN 0 ELSE 1 END,"
    " old.claim_id, t.id, old.updated_at, old.replaces FROM records_old old"
    " JOIN chains c ON c.name = old.chain"
    " LEFT JOIN txs t ON t.hash = old.tx_hash"
)
#: Added after the first layout: the claim a corrected record replaces (NULL: none).
_REPLACES_COLUMN = "ALTER TABLE records ADD COLUMN replaces INTEGER"


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
        self._db.executescript(_NAMES)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(records)")}
        if "chain" in columns:
            with self.transaction():
                self._rewrite(columns)
            self._db.execute("VACUUM")  # the old table's pages back to the file system
        self._db.executescript(_RECORDS)

    def _rewrite(self, columns: set[str]) -> None:
        """Rewrite a journal of an earlier layout: the first kept each row's file path, both
        kept each row's chain name and transaction hash, and its state as text."""
        first = "source" in columns
        if "replaces" not in columns:
            self._db.execute(_REPLACES_COLUMN)
        if first:
            self._db.execute(
                "INSERT OR IGNORE INTO sources (path) SELECT DISTINCT source FROM records"
                " WHERE source IS NOT NULL"
            )
        self._db.execute("INSERT OR IGNORE INTO chains (name) SELECT DISTINCT chain FROM records")
        self._db.execute(
            "INSERT OR IGNORE INTO txs (hash) SELECT DISTINCT tx_hash FROM records"
            " WHERE tx_hash IS NOT NULL"
        )
        self._db.execute("ALTER TABLE records RENAME TO records_old")
        self._db.execute("DROP INDEX IF EXISTS records_by_claim")
        for statement in _RECORDS.split(";"):  # not executescript: it would commit
            if statement.strip():
                self._db.execute(statement)
        if first:
            self._db.execute(
                _REWRITE.format(source="s.id")
                + " LEFT JOIN sources s ON s.path = old.source ORDER BY old.rowid"
            )
        else:
            self._db.execute(_REWRITE.format(source="old.source_id") + " ORDER BY old.rowid")
        self._db.execute("DROP TABLE records_old")

    def _ids(self, table: str, column: str, values: Sequence[object]) -> dict[object, int | None]:
        """The number of each value in ``table`` (added when new); None stays None."""
        ids: dict[object, int | None] = {None: None}
        for value in set(values) - {None}:
            self._db.execute(f"INSERT OR IGNORE INTO {table} ({column}) VALUES (?)", (value,))
            (ids[value],) = self._db.execute(
                f"SELECT id FROM {table} WHERE {column} = ?", (value,)
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
        cursor = self._db.execute(f"{_SELECT} WHERE {where}", args)
        return [JournalEntry(*row) for row in cursor.fetchall()]

    def by_commitment(self, commitment: bytes) -> JournalEntry | None:
        rows = self._rows("commitment = ?", commitment)
        return rows[0] if rows else None

    def by_record(self, chain: str, provider_id: str, record_id: str) -> JournalEntry | None:
        rows = self._rows(
            f"{_CHAIN} AND provider_id = ? AND record_id = ?", chain, provider_id, record_id
        )
        return rows[0] if rows else None

    def by_record_id(self, chain: str, record_id: str) -> list[JournalEntry]:
        return self._rows(f"{_CHAIN} AND record_id = ?", chain, record_id)

    def by_claim(self, chain: str, claim_id: int) -> JournalEntry | None:
        rows = self._rows(f"{_CHAIN} AND claim_id = ?", chain, claim_id)
        return rows[0] if rows else None

    def pending(self, chain: str) -> list[JournalEntry]:
        """Rows prepared but not known to be on the chain (a run stopped mid-way)."""
        return self._rows(_PREPARED_ROWS, chain)

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
        # The numbers first: a crash between them and the row leaves only unused numbers.
        source_id = self._ids("sources", "path", [source])[source]
        chain_id = self._ids("chains", "name", [chain])[chain]
        self._db.execute(
            "INSERT OR IGNORE INTO records (commitment, chain_id, provider_id, record_id,"
            " plan_id, source_id, state, updated_at, replaces) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)",
            (
                commitment,
                chain_id,
                provider_id,
                record_id,
                plan_id,
                source_id,
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
            sources = self._ids("sources", "path", [row[5] for row in rows])
            chains = self._ids("chains", "name", [row[1] for row in rows])
            self._db.executemany(
                "INSERT OR IGNORE INTO records (commitment, chain_id, provider_id, record_id,"
                " plan_id, source_id, state, updated_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?)",
                [(row[0], chains[row[1]], *row[2:5], sources[row[5]], now) for row in rows],
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
        tx_id = self._ids("txs", "hash", [tx_hash])[tx_hash]
        self._db.execute(
            "UPDATE records SET state = 1, claim_id = ?, tx_id = ?, updated_at = ?"
            " WHERE commitment = ?",
            (claim_id, tx_id, time.time(), commitment),
        )

    def forget(self, commitment: bytes) -> None:
        """Drop a prepared row whose record the chain refused (it may be fixed and sent again)."""
        self._db.execute("DELETE FROM records WHERE commitment = ? AND state = 0", (commitment,))

    def count(self, chain: str, state: str | None = None) -> int:
        if state is None:
            where = _CHAIN
        elif state == PREPARED:
            where = _PREPARED_ROWS
        else:
            where = f"{_CHAIN} AND state = {_STATES.get(state, -1)}"  # -1: no row has it
        row = self._db.execute(f"SELECT COUNT(*) FROM records WHERE {where}", (chain,)).fetchone()
        return int(row[0])
