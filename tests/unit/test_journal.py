"""The submission journal: rows keep what was prepared and submitted; file paths, chain
names and transaction hashes are kept once; a journal of an earlier layout (a path, a
chain name and a transaction hash on every row) is rewritten on open."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from claimsengine import journal as journal_module
from claimsengine.journal import PREPARED, SUBMITTED, Journal, JournalEntry

#: The first layout, as the first versions created it (``replaces`` came later, as a column).
FIRST_LAYOUT = """
CREATE TABLE records (
    commitment BLOB PRIMARY KEY,
    chain TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    record_id TEXT NOT NULL,
    plan_id TEXT NOT NULL,
    source TEXT,
    state TEXT NOT NULL,
    claim_id INTEGER,
    tx_hash BLOB,
    updated_at REAL NOT NULL,
    UNIQUE (chain, provider_id, record_id)
);
CREATE INDEX records_by_claim ON records (chain, claim_id);
"""
WEEK = "/data/records/round-001-2027-01-07/CLINIC-C.jsonl"


def commitment(n: int) -> bytes:
    return n.to_bytes(32, "big")


def fill(journal: Journal, rows: int) -> None:
    journal.prepare_many(
        [
            (commitment(n), "embedded", "HOSP-A", f"R-{n}", "PLAN-1", WEEK if n % 2 else None)
            for n in range(rows)
        ]
    )
    with journal.after_commit():
        for n in range(0, rows, 3):
            journal.mark_submitted(commitment(n), 100 + n, b"\x07" * 32)


def test_rows_read_back_with_their_file(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    fill(journal, 6)
    journal.prepare(
        commitment(99), chain="embedded", provider_id="HOSP-B", record_id="C-1",
        plan_id="PLAN-1", source="fix.json", replaces=103,
    )  # fmt: skip
    assert journal.by_commitment(commitment(3)) == JournalEntry(
        commitment(3), "embedded", "HOSP-A", "R-3", "PLAN-1", WEEK, SUBMITTED, 103, b"\x07" * 32
    )
    assert journal.by_record("embedded", "HOSP-A", "R-4") == JournalEntry(
        commitment(4), "embedded", "HOSP-A", "R-4", "PLAN-1", None, PREPARED, None, None
    )
    assert journal.by_claim("embedded", 100) == journal.by_commitment(commitment(0))
    corrected = journal.by_record_id("embedded", "C-1")
    assert [(e.source, e.replaces) for e in corrected] == [("fix.json", 103)]
    assert [e.commitment for e in journal.pending("embedded")] == [
        commitment(n) for n in (1, 2, 4, 5, 99)
    ]
    assert journal.count("embedded", SUBMITTED) == 2
    # Each path is stored once, however many rows name it.
    with sqlite3.connect(tmp_path / "journal.sqlite") as db:
        paths = db.execute("SELECT path FROM sources ORDER BY path").fetchall()
    assert paths == [(WEEK,), ("fix.json",)]
    journal.close()


def _first_layout(path: Path, rows: int) -> list[tuple[Any, ...]]:
    """A first-layout journal of ``rows`` rows, written as the first versions wrote it: each
    row prepared, then every third one marked submitted."""
    with sqlite3.connect(path) as db:
        db.executescript(FIRST_LAYOUT)
        db.executemany(
            "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    commitment(n),
                    "embedded",
                    "HOSP-A",
                    f"R-{n}",
                    "PLAN-1",
                    WEEK if n % 2 else None,
                    PREPARED,
                    None,
                    None,
                    1_800_000_000.0,
                )  # fmt: skip
                for n in range(rows)
            ],
        )
        db.executemany(
            "UPDATE records SET state = ?, claim_id = ?, tx_hash = ? WHERE commitment = ?",
            [(SUBMITTED, 100 + n, b"\x07" * 32, commitment(n)) for n in range(0, rows, 3)],
        )
        found = db.execute("SELECT * FROM records ORDER BY commitment").fetchall()
    db.close()
    return found


def test_a_first_layout_journal_is_rewritten_on_open(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    old = _first_layout(path, 7)
    journal = Journal(path)
    for commitment_, chain, provider, record, plan, source, state, claim, tx, _at in old:
        entry = journal.by_commitment(commitment_)
        assert entry == JournalEntry(
            commitment_, chain, provider, record, plan, source, state, claim, tx, None
        )
    assert journal.count("embedded", PREPARED) == 4
    assert journal.by_claim("embedded", 106) == journal.by_commitment(commitment(6))
    journal.prepare_many([(commitment(50), "embedded", "HOSP-A", "R-50", "PLAN-1", WEEK)])
    assert journal.by_commitment(commitment(50)).source == WEEK  # type: ignore[union-attr]
    journal.close()
    with sqlite3.connect(path) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(records)")}
        assert "source" not in columns and {"source_id", "replaces"} <= columns
        assert not {"chain", "tx_hash"} & columns and {"chain_id", "tx_id"} <= columns
        assert db.execute("SELECT count(*) FROM sources").fetchone() == (1,)
    db.close()
    Journal(path).close()  # opening it again changes nothing


def test_a_rewrite_that_fails_leaves_the_journal_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "journal.sqlite"
    old = _first_layout(path, 5)
    rewrite = Journal._rewrite

    def crash(self: Journal, columns: set[str]) -> None:
        rewrite(self, columns)
        raise OSError("disk full")

    monkeypatch.setattr(Journal, "_rewrite", crash)
    with pytest.raises(OSError, match="disk full"):
        Journal(path)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT * FROM records ORDER BY commitment").fetchall() == old
    db.close()
    monkeypatch.undo()
    journal = Journal(path)
    assert journal.by_commitment(commitment(1)).source == WEEK  # type: ignore[union-attr]
    journal.close()


def _file_bytes(path: Path) -> int:
    with sqlite3.connect(path) as db:
        (pages,) = db.execute("PRAGMA page_count").fetchone()
        (size,) = db.execute("PRAGMA page_size").fetchone()
    db.close()
    return int(pages * size)


def test_a_journal_takes_less_room_than_the_first_layout(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    fill(journal, 2000)
    journal.close()
    # The same 2,000 rows in the first layout: the 49-byte path on each of the 1,000 rows
    # that have one.
    old = tmp_path / "old.sqlite"
    _first_layout(old, 2000)
    saved = _file_bytes(old) - _file_bytes(tmp_path / "journal.sqlite")
    assert saved > 1000 * 40


def test_the_prepared_rows_are_read_through_an_index(tmp_path: Path) -> None:
    """Every submission counts the prepared rows, and a resumed run reads them: neither may
    read the chain's whole history (a prepared row has no claim id: records_by_claim)."""
    journal = Journal(tmp_path / "journal.sqlite")
    fill(journal, 30)  # rows 0, 3, ..., 27 submitted: 10; the other 20 prepared
    assert journal.count("embedded", PREPARED) == 20
    assert journal.count("embedded", SUBMITTED) == 10
    assert journal.count("other-chain", PREPARED) == 0
    assert sorted(e.commitment for e in journal.pending("embedded")) == sorted(
        commitment(n) for n in range(30) if n % 3
    )
    for query in ("SELECT COUNT(*) FROM records", "SELECT * FROM records"):
        plan = " ".join(
            str(row[-1])
            for row in journal._db.execute(
                f"EXPLAIN QUERY PLAN {query} WHERE {journal_module._PREPARED_ROWS}",
                ("embedded",),
            )
        )
        assert "USING" in plan and "records_by_claim" in plan, plan


#: The second layout: file paths by number, but the chain's name, the transaction's hash and
#: the state's name on every row.
SECOND_LAYOUT = """
CREATE TABLE sources (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE);
CREATE TABLE records (
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
CREATE INDEX records_by_claim ON records (chain, claim_id);
INSERT INTO sources (id, path) VALUES (1, '/data/records/round-001-2027-01-07/CLINIC-C.jsonl');
"""


def _second_layout(path: Path, rows: int, *, per_tx: int = 10) -> list[JournalEntry]:
    """A second-layout journal of ``rows`` rows on two chains: every third one submitted, in
    transactions of ``per_tx`` rows; returns the entries it holds."""
    entries = []
    for n in range(rows):
        submitted = n % 3 == 0
        entries.append(
            JournalEntry(
                commitment(n),
                "embedded" if n % 4 else "rpc:http://127.0.0.1:8545",
                "HOSP-A",
                f"R-{n}",
                "PLAN-1",
                WEEK if n % 2 else None,
                SUBMITTED if submitted else PREPARED,
                100 + n if submitted else None,
                bytes([n // per_tx % 256]) * 32 if submitted else None,
                7 if n == 5 else None,
            )
        )
    with sqlite3.connect(path) as db:
        db.executescript(SECOND_LAYOUT)
        db.executemany(
            "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (e.commitment, e.chain, e.provider_id, e.record_id, e.plan_id,
                 1 if e.source else None, e.state, e.claim_id, e.tx_hash, 1_800_000_000.0,
                 e.replaces)
                for e in entries
            ],
        )  # fmt: skip
    db.close()
    return entries


def test_a_second_layout_journal_is_rewritten_on_open(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    entries = _second_layout(path, 40)
    journal = Journal(path)
    for entry in entries:
        assert journal.by_commitment(entry.commitment) == entry
        assert journal.by_record(entry.chain, "HOSP-A", entry.record_id) == entry
    assert journal.count("embedded") == 30
    assert journal.count("rpc:http://127.0.0.1:8545", SUBMITTED) == 4  # 0, 12, 24, 36
    assert journal.count("embedded", PREPARED) == 20
    assert journal.by_claim("embedded", 103) == entries[3]
    assert journal.by_claim("rpc:http://127.0.0.1:8545", 103) is None
    assert [e.commitment for e in journal.pending("rpc:http://127.0.0.1:8545")] == [
        commitment(n) for n in (4, 8, 16, 20, 28, 32)
    ]
    journal.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM chains").fetchone() == (2,)
        assert db.execute("SELECT count(*) FROM txs").fetchone() == (4,)  # 14 rows, 4 txs
    db.close()
    journal = Journal(path)  # opening it again changes nothing
    assert [journal.by_commitment(e.commitment) for e in entries] == entries
    journal.close()


def test_rows_of_one_transaction_share_its_hash(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    fill(journal, 9)  # rows 0, 3 and 6 submitted in one transaction
    other = b"\x08" * 32
    journal.mark_submitted(commitment(1), 101, other)
    assert [journal.by_commitment(commitment(n)).tx_hash for n in (0, 1, 3, 6)] == [  # type: ignore[union-attr]
        b"\x07" * 32,
        other,
        b"\x07" * 32,
        b"\x07" * 32,
    ]
    assert journal.by_commitment(commitment(2)).tx_hash is None  # type: ignore[union-attr]
    assert journal._db.execute("SELECT count(*) FROM txs").fetchone() == (2,)
    journal.close()


def test_a_journal_takes_less_room_than_the_second_layout(tmp_path: Path) -> None:
    # 3,000 rows all submitted, ten to a transaction (a realistic weekly batch is about
    # nine): each row saves the 32-byte hash (less a tenth of its row in txs), the chain's
    # name in the row and in two indexes, and the state's name.
    old = tmp_path / "old.sqlite"
    entries = _second_layout(old, 3000)
    new = tmp_path / "new.sqlite"
    journal = Journal(new)
    journal.prepare_many(
        [(e.commitment, e.chain, e.provider_id, e.record_id, e.plan_id, e.source) for e in entries]
    )
    with journal.after_commit():
        for e in entries:
            if e.claim_id is not None:
                journal.mark_submitted(e.commitment, e.claim_id, e.tx_hash)
    journal.close()
    Journal(old).close()  # rewritten: the same rows in this layout
    assert abs(_file_bytes(old) - _file_bytes(new)) < _file_bytes(new) // 5
    second = tmp_path / "second.sqlite"
    _second_layout(second, 3000)
    assert _file_bytes(second) - _file_bytes(new) > 3000 * 25
