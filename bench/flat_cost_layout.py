"""Flat cost, what another layout of the store would buy: the SQL of real files replayed
against the chain's ``kv`` table as it is (trie nodes under their hashes) and against the
same rows under keys that put a storage-trie node's path in front of its hash.

    python -m bench.flat_cost_layout [--background 100000] [--files 6] [--rounds 3]
                                     [--chains FOLDER]

Why: on a chain that holds many claims, each new slot's nodes are written and the nodes
they replace deleted at random places in a large table (hash keys have no order), so a
file of claims dirties nearly a page of ``kv`` per node it writes or deletes; on a fresh
chain the same work shares a few hundred pages. Keyed by path, a slot's nodes sit side by
side, as geth's path scheme stores them. This measures what that would save before anyone
builds it (docs/decisions.md, "Toward flat cost: storage nodes keyed by path").

How: the two chains of bench/flat_cost.py (built here, or taken from ``--chains``: a
folder holding ``fresh/state`` and ``full/state``) each take ``--files`` files of 100 new
one-line claims as ``claims submit`` would, in a copy, with every statement on the chain's
file recorded with its parameters. Walking the storage tries gives each stored node's path.
Then, for each chain and each layout, the chain's file as it was before the files is
rebuilt (the ``kv`` rows inserted again, in one shuffled order for both layouts, so both
tables are grown alike) and the recorded statements are replayed file by file, each file
on a new connection with the chain's settings (cold page cache, as a command opens its
state; the close, which copies the write-ahead log back, included). A 32-byte parameter
that names a storage-trie node is replaced, in the path layout, by its path key.

Reported: CPU ms a file in SQL, by chain and layout (the median over ``--rounds`` replays
of the files), in all and by kind of statement, and the CPU ms a whole file took when
recorded; and, as an estimate, the
full / fresh ratio of a whole file if the SQL cost what the path layout's replay costs
(whole-file CPU, less the hash layout's SQL, plus the path layout's). It is an estimate:
the replay runs the statements, not py-evm or the pruning's Python, which a path layout
would change too. Writes bench/results/flat_cost_layout.json.

Since schema 6, new chains keep storage nodes by path (chain/nodekeys.py): this replay
measured the layout before it was built, on chains kept by hash, and refuses a chain kept
by path (its walk reads nodes by hash).
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

from bench import scenario
from bench.flat_cost import build_chains, measured_records
from bench.flat_cost_sql import statement_kind
from bench.throughput import write_report
from claimsengine.chain.embedded import EmbeddedChain
from claimsengine.chain.kvstore import WAL_CHECKPOINT_PAGES
from claimsengine.chain.noderefs import node_references, rlp_decode
from claimsengine.workspace import Workspace

_BLANK_ROOT = bytes.fromhex("56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421")
_CHAIN_FILE = "chain.sqlite"
_LAYOUTS = ("hash", "path")
_CONNECT = sqlite3.connect
#: Nibbles of a node's path in front of its hash: enough to keep a slot's nodes together on
#: a chain of millions of slots (16**6 groups), few enough to keep keys short.
PATH_NIBBLES = 6

Statement = tuple[str, Any, bool]  # sql, parameters (rows for executemany), many


class RecordingConnection(sqlite3.Connection):
    """A connection that records each statement with its parameters while ``recording``."""

    recording: list[Statement] | None = None

    def execute(self, sql: str, parameters: Any = (), /) -> Any:  # type: ignore[override]
        if self.recording is not None:
            self.recording.append((sql, tuple(parameters), False))
        return super().execute(sql, parameters)

    def executemany(self, sql: str, rows: Any, /) -> Any:  # type: ignore[override]
        rows = [tuple(row) for row in rows]
        if self.recording is not None:
            self.recording.append((sql, rows, True))
        return super().executemany(sql, rows)


def _hex_prefix_path(encoded: bytes) -> tuple[tuple[int, ...], bool]:
    """A leaf's or extension's path, as nibbles, and whether it is a leaf."""
    flag = encoded[0] >> 4
    digits = tuple(int(digit, 16) for digit in encoded.hex())
    return (digits[1:] if flag & 1 else digits[2:]), flag >= 2


def storage_paths(
    get: Callable[[bytes], bytes],
    root: bytes,
    into: dict[bytes, tuple[int, ...]],
    only: set[bytes] | None = None,
) -> None:
    """Add each stored node of the storage trie under ``root`` to ``into``: hash -> its path
    (nibbles from the root). With ``only``, stop at stored nodes outside it."""
    pending: list[tuple[Any, tuple[int, ...]]] = [(root, ())]
    while pending:
        ref, path = pending.pop()
        if isinstance(ref, bytes):
            if len(ref) != 32 or (only is not None and ref not in only):
                continue
            into[ref] = path
            node = rlp_decode(get(ref))
        else:
            node = ref  # a short node, inside its parent
        if len(node) == 17:
            children = enumerate(node[:16])
            pending.extend((child, (*path, index)) for index, child in children if child)
            continue
        rest, leaf = _hex_prefix_path(node[0])
        if not leaf:
            pending.append((node[1], path + rest))


def storage_roots(get: Callable[[bytes], bytes], state_root: bytes) -> list[bytes]:
    """Every account's storage root (but the empty trie's) in the state at ``state_root``."""
    roots: list[bytes] = []

    def account(encoded: bytes) -> None:
        storage_root = rlp_decode(encoded)[2]
        if storage_root != _BLANK_ROOT:
            roots.append(storage_root)

    pending = [state_root]
    while pending:
        pending.extend(node_references(rlp_decode(get(pending.pop())), account))
    return roots


def record_files(
    state: Path, files: int, batch: int
) -> tuple[list[list[Statement]], list[float], dict[bytes, tuple[int, ...]]]:
    """Submit ``files`` files to the chain in ``state``: the statements on its file, file
    by file; each file's CPU ms; and the path of every storage-trie node seen."""
    with mock.patch.object(sqlite3, "connect", _recording_connect):
        workspace = Workspace.open(state)
    statements: list[list[Statement]] = []
    cpu: list[float] = []
    paths: dict[bytes, tuple[int, ...]] = {}
    records = measured_records(files * batch)
    try:
        chain = workspace.chain
        assert isinstance(chain, EmbeddedChain)
        if chain.store.path_keys:
            raise SystemExit(f"{state} keeps storage by path: this replay reads chains by hash")
        connection = chain.store.connection
        assert isinstance(connection, RecordingConnection)
        for root in storage_roots(chain.store.__getitem__, chain.state_at().state_root):
            storage_paths(chain.store.__getitem__, root, paths)
        for number in range(files):
            recorded: list[Statement] = []
            connection.recording = recorded
            path = scenario.write_records(
                records[number * batch : (number + 1) * batch], state.parent / f"r{number}.jsonl"
            )
            begin = time.process_time()
            scenario.submit_file(workspace, path)
            cpu.append((time.process_time() - begin) * 1000)
            connection.recording = None
            statements.append(recorded)
            written = {
                parameters[0]
                for sql, rows, many in recorded
                if sql.startswith("INSERT INTO kv")
                for parameters in (rows if many else [rows])
            }
            for root in storage_roots(chain.store.__getitem__, chain.state_at().state_root):
                storage_paths(chain.store.__getitem__, root, paths, only=written)
    finally:
        workspace.close()
    return statements, cpu, paths


def _recording_connect(database: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
    if str(database).endswith(_CHAIN_FILE):
        kwargs["factory"] = RecordingConnection
    return _CONNECT(database, *args, **kwargs)


def path_key(paths: dict[bytes, tuple[int, ...]]) -> Callable[[Any], Any]:
    """The path layout's key of a parameter: a storage node's hash behind its path."""

    def key(value: Any) -> Any:
        path = paths.get(value) if isinstance(value, bytes) and len(value) == 32 else None
        if path is None:
            return value
        return bytes(path[:PATH_NIBBLES]) + bytes((0x10 + min(len(path), PATH_NIBBLES),)) + value

    return key


def rebuild(source: Path, target: Path, key: Callable[[Any], Any]) -> None:
    """``source``'s chain file in ``target``, its ``kv`` rows inserted again under ``key``,
    in one fixed shuffled order."""
    target.mkdir(parents=True)
    shutil.copy(source, target / _CHAIN_FILE)
    for suffix in ("-wal", "-shm"):
        if (source.parent / (source.name + suffix)).exists():
            shutil.copy(source.parent / (source.name + suffix), target / (_CHAIN_FILE + suffix))
    connection = sqlite3.connect(target / _CHAIN_FILE, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        rows = connection.execute("SELECT key, value, refs FROM kv").fetchall()
        random.Random(1).shuffle(rows)
        schema = connection.execute("SELECT sql FROM sqlite_schema WHERE name = 'kv'").fetchone()
        connection.execute("BEGIN")
        connection.execute("DROP TABLE kv")
        connection.execute(schema[0])
        connection.executemany(
            "INSERT INTO kv (key, value, refs) VALUES (?, ?, ?)",
            [(key(bytes(k)), v, r) for k, v, r in rows],
        )
        connection.execute("COMMIT")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


def replay(
    folder: Path, files: list[list[Statement]], key: Callable[[Any], Any]
) -> list[dict[str, float]]:
    """Each file's statements on a new connection to the chain file in ``folder`` (the
    chain's settings), parameters mapped by ``key``: CPU ms a file by kind of statement
    (bench/flat_cost_sql.py's kinds; ``close`` for the close, which copies the log back)."""
    spent = []
    for statements in files:
        kinds: defaultdict[str, float] = defaultdict(float)
        begin = time.process_time()
        connection = sqlite3.connect(folder / _CHAIN_FILE, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
        connection.execute("PRAGMA cache_size=-65536")
        kinds["open"] += time.process_time() - begin
        for sql, parameters, many in statements:
            begin = time.process_time()
            if many:
                connection.executemany(sql, [tuple(map(key, row)) for row in parameters])
            else:
                connection.execute(sql, tuple(map(key, parameters))).fetchall()
            kinds[statement_kind(sql)] += time.process_time() - begin
        begin = time.process_time()
        connection.close()
        kinds["close"] += time.process_time() - begin
        spent.append({kind: seconds * 1000 for kind, seconds in kinds.items()})
    return spent


def measure_chain(state: Path, work: Path, files: int, batch: int, rounds: int) -> dict[str, Any]:
    """One chain: its files recorded, then replayed ``rounds`` times in each layout."""
    source = work / "recorded" / "state"
    shutil.copytree(state, source)
    statements, cpu, paths = record_files(source, files, batch)
    keys = {"hash": lambda value: value, "path": path_key(paths)}
    original = state / "chain" / _CHAIN_FILE
    sql: dict[str, list[dict[str, float]]] = {}
    for layout in _LAYOUTS:
        built = work / f"built-{layout}"
        rebuild(original, built, keys[layout])
        sql[layout] = []
        for number in range(rounds):
            copy = work / f"{layout}-{number}"
            shutil.copytree(built, copy)
            sql[layout].extend(replay(copy, statements, keys[layout]))
            shutil.rmtree(copy)
    out: dict[str, Any] = {
        "file_cpu_ms": round(statistics.median(cpu), 1),
        "statements_per_file": round(statistics.median(len(s) for s in statements)),
        "storage_nodes": len(paths),
    }
    for layout in _LAYOUTS:
        files_sql = sql[layout]
        total = statistics.median(sum(f.values()) for f in files_sql)
        out[f"sql_cpu_ms_{layout}"] = round(total, 1)
        by_kind = {
            kind: round(statistics.median(f.get(kind, 0.0) for f in files_sql), 1)
            for kind in {kind for f in files_sql for kind in f}
        }
        out[f"sql_cpu_ms_by_kind_{layout}"] = dict(sorted(by_kind.items(), key=lambda kv: -kv[1]))
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--background", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=6)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--chains", type=Path, help="a folder with fresh/state and full/state")
    parser.add_argument("--out", type=Path, default=scenario.RESULTS / "flat_cost_layout.json")
    args = parser.parse_args(argv)
    labels = {"fresh": 0, "full": args.background}
    paths: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        chains = args.chains
        if chains is None:
            chains = folder / "chains"
            chains.mkdir()
            for workspace in build_chains(chains, labels, args.files * args.batch).values():
                workspace.close()
        for label in labels:
            paths[label] = measure_chain(
                chains / label / "state", folder / label, args.files, args.batch, args.rounds
            )
            print(f"  {label}: {paths[label]}", flush=True)
    fresh, full = paths["fresh"], paths["full"]

    def estimate(chain: dict[str, Any]) -> float:
        return float(chain["file_cpu_ms"] - chain["sql_cpu_ms_hash"] + chain["sql_cpu_ms_path"])

    comparison = {
        "sql_full_minus_fresh_ms": {
            layout: round(full[f"sql_cpu_ms_{layout}"] - fresh[f"sql_cpu_ms_{layout}"], 1)
            for layout in _LAYOUTS
        },
        "file_ratio_recorded": round(full["file_cpu_ms"] / fresh["file_cpu_ms"], 3),
        "file_ratio_estimated_path_layout": round(estimate(full) / estimate(fresh), 3),
    }
    head = {
        "benchmark": "flat_cost_layout",
        "background": args.background,
        "files": args.files,
        "rounds": args.rounds,
    }
    report = write_report(args.out, head, paths, comparison)
    print(f"  SQL full - fresh, ms a file: {comparison['sql_full_minus_fresh_ms']}")
    print(
        f"  whole file, full / fresh: {comparison['file_ratio_recorded']}x as recorded;"
        f" {comparison['file_ratio_estimated_path_layout']}x estimated with the path layout"
    )
    return report


if __name__ == "__main__":
    main()
