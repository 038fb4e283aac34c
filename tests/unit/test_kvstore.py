"""The embedded chain's sqlite store (chain/kvstore.py): how it spends its write-ahead log."""

from __future__ import annotations

import os
from pathlib import Path

from eth_hash.auto import keccak

from claimsengine.chain.kvstore import WAL_CHECKPOINT_PAGES, SqliteKV

_FRAME = 24 + 4096  # a WAL frame: its header and one page


def _commit_rows(store: SqliteKV, rows: int) -> None:
    """One transaction that writes the same ``rows`` rows (new values of 300 bytes, about
    ten to a page), so that each such commit writes the same pages."""
    store.begin()
    for n in range(rows):
        store[keccak(n.to_bytes(4, "big"))] = os.urandom(300)
    store.commit()


def test_large_commits_share_one_checkpoint(tmp_path: Path) -> None:
    """A command on a large chain writes some 2,400 pages; sqlite's default (a checkpoint
    once the log passes 1,000 pages) would copy every command's pages back into the file at
    once. The log runs to WAL_CHECKPOINT_PAGES instead, so that a page written by several
    commands is copied back once (bench/README.md: about 5 CPU ms a command saved on the
    100,000-claim chain)."""
    store = SqliteKV(tmp_path / "chain.sqlite")
    wal = tmp_path / "chain.sqlite-wal"  # its size: the most frames the log has held
    try:
        _commit_rows(store, 15_000)
        first = wal.stat().st_size // _FRAME
        _commit_rows(store, 15_000)
        second = wal.stat().st_size // _FRAME
        assert first > 1000
        assert second > first * 3 // 2  # the first commit's pages were still in the log
        # It does not grow without end: past the threshold, a checkpoint starts it again.
        for _ in range(2 * WAL_CHECKPOINT_PAGES // first):
            _commit_rows(store, 15_000)
        assert wal.stat().st_size // _FRAME <= WAL_CHECKPOINT_PAGES + first + 10
    finally:
        store.close()
