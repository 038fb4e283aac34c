"""Pruning the embedded chain: the head's state and the blocks stay, past states go.

Real chains only: a Vyper counter driven on py-evm, one chain pruned and a twin not, fed the
same transactions on the same clock. What pruning keeps is held to a walk of the whole live
state (``live_keys``), and each row's reference count to the references the live rows make.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import rlp
from eth.db.atomic import AtomicDB
from eth.db.chain import ChainDB
from eth.vm.forks import PragueVM
from eth_hash.auto import keccak
from eth_typing import BlockNumber
from eth_utils import to_canonical_address
from trie import HexaryTrie
from trie.exceptions import MissingTrieNode

from claimsengine.chain import embedded, noderefs, prune
from claimsengine.chain.embedded import EmbeddedChain
from claimsengine.chain.kvstore import SqliteKV, pack_body, unpack_body
from claimsengine.chain.nodekeys import SQL_NODE_KEY
from claimsengine.chain.snapshot import SCHEMA_VERSION
from claimsengine.errors import ChainError
from tests.conftest import Counter
from tests.prune_checks import assert_exact, stored_keys


class FakeClock:
    def __init__(self, start: float) -> None:
        self.value = start

    def __call__(self) -> float:
        return self.value


def nodes(chain: EmbeddedChain) -> int:
    """Values stored under a node key: trie nodes, code, headers."""
    (n,) = chain.store.connection.execute(
        f"SELECT count(*) FROM kv WHERE {SQL_NODE_KEY}"
    ).fetchone()
    return int(n)


def drive(chain: EmbeddedChain, counter: Counter, sends: int) -> str:
    address = chain.send("insurer", None, counter.deploy_data(0)).contract_address
    assert address is not None
    for _ in range(sends):
        chain.send("hospital-1", address, counter.increment)
    return address


def transactions(chain: EmbeddedChain) -> list[bytes]:
    """Every transaction of every block, read from py-evm's block bodies."""
    chaindb = ChainDB(AtomicDB(chain.store))
    decoder = PragueVM.get_transaction_builder()
    out: list[bytes] = []
    for number in range(chain.block_number() + 1):
        header = chaindb.get_canonical_block_header_by_number(BlockNumber(number))
        out.extend(bytes(tx.hash) for tx in chaindb.get_block_transactions(header, decoder))
    return out


def count(chain: EmbeddedChain, counter: Counter, address: str) -> int:
    return int.from_bytes(chain.call(address, counter.count), "big")


def test_every_command_leaves_the_head_and_the_blocks_and_drops_past_states(
    counter: Counter,
) -> None:
    clock = FakeClock(1_800_000_000)
    with EmbeddedChain.memory(clock=clock) as pruned, EmbeddedChain.memory(clock=clock) as full:
        full.pruning = False  # an archive: every past state stays
        address = drive(pruned, counter, 30)
        drive(full, counter, 30)
        sent = transactions(pruned)
        assert_exact(pruned)
        # Each of the 30 sends left a state root behind on the archive; none on the pruned.
        assert nodes(full) > nodes(pruned) + 30
        assert pruned.prune() == (nodes(pruned), 0)  # nothing left to delete
        assert transactions(pruned) == sent  # every block keeps its transactions
        assert count(pruned, counter, address) == 30
        assert pruned.balance("hospital-1") == full.balance("hospital-1")
        # The chain goes on as its unpruned twin: the same blocks, to the hash.
        for chain in (pruned, full):
            chain.send("hospital-1", address, counter.increment)
        assert pruned._head.hash == full._head.hash
        assert count(pruned, counter, address) == 31
        receipt = pruned.send("hospital-1", address, counter.increment)
        assert pruned.receipt(receipt.tx_hash) == receipt  # receipts from the index
        # The archive, pruned at once, keeps what the pruned chain kept.
        full.send("hospital-1", address, counter.increment)
        kept, deleted = full.prune()
        assert deleted > 30
        # Counted at once, nothing waits uncounted: the next pruning need not count all.
        assert not full.store.connection.execute(
            "SELECT 1 FROM meta WHERE name = 'uncounted'"
        ).fetchall()
        assert stored_keys(full).keys() == stored_keys(pruned).keys()
        assert_exact(full)


def _archive(counter: Counter, sends: int) -> tuple[EmbeddedChain, str]:
    """A chain kept as an archive (every past state stays, uncounted) after ``sends``."""
    chain = EmbeddedChain.memory(clock=FakeClock(1_800_000_000))
    chain.pruning = False
    return chain, drive(chain, counter, sends)


@pytest.mark.parametrize("chunk", [1, 7, 10_000])
def test_counting_a_whole_file_a_chunk_at_a_time_is_exact(
    counter: Counter, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """The first pruning after archive mode, and a repair, count every row: a few rows at a
    time (down to one), they leave what the incremental counts leave, to the row."""
    monkeypatch.setattr(prune, "_ROWS_IN_MEMORY", 0)  # a chunk at a time, however few
    monkeypatch.setattr(prune, "_ROWS_PER_CHUNK", chunk)
    with EmbeddedChain.memory(clock=FakeClock(1_800_000_000)) as pruned:
        address = drive(pruned, counter, 12)
        archive, _ = _archive(counter, 12)
        with archive:
            counted, deleted = archive.prune()
            assert deleted > 12  # the past states went
            assert stored_keys(archive).keys() == stored_keys(pruned).keys()
            assert_exact(archive)
            assert archive.recount() == 0  # counted again from nothing: nothing to delete
            assert_exact(archive)
            archive.pruning = True  # and from now on, every command prunes its own garbage
            archive.send("hospital-1", address, counter.increment)
            assert count(archive, counter, address) == 13
            assert_exact(archive)


def test_counting_a_whole_file_leaves_a_row_it_did_not_set_to_zero(counter: Counter) -> None:
    """A live row whose count is wrongly 0 (what ``recount()`` repairs), untouched by what
    the count finds: it stays. A wrong count is never a reason to delete (found by an
    independent review: the count deleted every row it found at 0)."""
    with EmbeddedChain.memory(clock=FakeClock(1_800_000_000)) as chain:
        moved = chain.send("insurer", None, counter.deploy_data(0)).contract_address
        still = chain.send("insurer", None, counter.deploy_data(5)).contract_address
        assert moved is not None and still is not None
        accounts = HexaryTrie(chain.store, chain._head.state_root)
        account = rlp.decode(accounts[keccak(to_canonical_address(still))])
        storage = bytes(account[2])  # nonce, balance, storage root, code hash
        with chain.command():  # the counter left alone: its storage's one node, counted 0
            chain.store.connection.execute("UPDATE kv SET refs = 0 WHERE key = ?", (storage,))
        chain.pruning = False
        chain.send("hospital-1", moved, counter.increment)
        chain.pruning = True
        chain.prune()
        assert storage in chain.store
        chain.store.forget()
        assert count(chain, counter, still) == 5
        chain.recount()
        assert_exact(chain)


def test_a_row_deleted_by_a_whole_file_count_that_loses_another_reference_raises(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two rows that go refer to a third whose count says one: the count is wrong, and the
    second loss raises, whichever chunk each lands in (a chunk of one row deletes the first,
    then the third at 0, then meets the second)."""
    monkeypatch.setattr(prune, "_ROWS_IN_MEMORY", 0)
    monkeypatch.setattr(prune, "_ROWS_PER_CHUNK", 1)
    first, shared, second = (bytes([n]) * 32 for n in (1, 2, 3))  # the order chunks take
    rows = {
        first: (_branch({0: shared}), 1),
        shared: (b"\x60\x00", 1),  # code: it refers to nothing; two rows refer to it
        second: (_branch({5: shared}), 1),
    }
    store = SqliteKV(":memory:")
    store.connection.executemany(
        "INSERT INTO kv (key, value, refs) VALUES (?, ?, ?)",
        [(key, value, refs) for key, (value, refs) in rows.items()],
    )
    store.begin()
    with pytest.raises(RuntimeError, match="fell below zero"):
        prune.collect(store, {first: -1, second: -1}, set(), everything=True)
    store.rollback()
    store.close()


def _branch(children: dict[int, bytes]) -> bytes:
    """A branch node's encoding with the given 32-byte children."""
    return rlp.encode([children.get(n, b"") for n in range(16)] + [b""])


def test_counting_a_whole_file_holds_one_chunk_in_memory(
    counter: Counter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counting every row holds them all in memory (about 800 bytes a row: gigabytes for a
    file of millions), up to ``_ROWS_IN_MEMORY`` rows. Beyond, a chunk at a time, the peak
    does not grow with the file."""
    peaks = {}
    monkeypatch.setattr(prune, "_ROWS_PER_CHUNK", 50)
    for in_memory in (0, 1_000_000):
        monkeypatch.setattr(prune, "_ROWS_IN_MEMORY", in_memory)
        chain, _ = _archive(counter, 400)
        with chain:
            rows = nodes(chain)
            tracemalloc.start()
            chain.prune()
            peaks[in_memory] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            assert_exact(chain)
    assert rows > 2500
    assert peaks[0] * 3 < peaks[1_000_000]


def test_a_command_that_fails_undoes_its_pruning(counter: Counter) -> None:
    with EmbeddedChain.memory() as chain:
        chain.pruning = False
        address = drive(chain, counter, 10)
        chain.pruning = True
        before = stored_keys(chain)
        with pytest.raises(RuntimeError), chain.command():
            chain.prune()
            assert nodes(chain) < len(before)
            raise RuntimeError("undo")
        assert stored_keys(chain) == before
        assert count(chain, counter, address) == 10
        chain.prune()
        assert_exact(chain)


def test_pruning_inside_a_savepoint_that_rolls_back_is_done_again_at_the_commit(
    counter: Counter,
) -> None:
    with EmbeddedChain.memory() as chain:
        address = drive(chain, counter, 3)
        with chain.command():
            chain.send("hospital-1", address, counter.increment)
            with pytest.raises(RuntimeError), chain.command():
                chain.prune()  # counts the outer command's rows too ...
                chain.send("hospital-1", address, counter.increment)
                raise RuntimeError("undo the inner command")
            # ... and the rollback undid those counts: the commit counts them again.
        assert_exact(chain)
        assert count(chain, counter, address) == 4


def test_a_node_in_two_places_goes_with_the_last_that_refers_to_it(counter: Counter) -> None:
    """Two counters at the same count have the same storage trie: one row, counted twice.
    Moving one of them must not take the other's state away (a walk of only what changed
    would delete it)."""
    with EmbeddedChain.memory() as chain:
        first = chain.send("insurer", None, counter.deploy_data(5)).contract_address
        second = chain.send("insurer", None, counter.deploy_data(5)).contract_address
        assert first and second
        assert_exact(chain)
        chain.send("hospital-1", first, counter.increment)  # first: 6, second: 5
        assert_exact(chain)
        assert count(chain, counter, second) == 5
        chain.send("hospital-1", second, counter.increment)  # both 6 again: written again
        assert_exact(chain)
        chain.send("hospital-1", first, counter.increment)
        chain.store.forget()  # read from the file, not from the cache
        assert (count(chain, counter, first), count(chain, counter, second)) == (7, 6)
        assert_exact(chain)


def test_a_count_that_would_fall_below_zero_stops_the_command(counter: Counter) -> None:
    """A wrong count is a bug, never a reason to delete: the command fails and is undone."""
    with EmbeddedChain.memory() as chain:
        address = drive(chain, counter, 2)
        root = bytes(chain._head.state_root)
        with chain.command():  # a corrupt count: the head's root pinned, counted 0
            chain.store.connection.execute("UPDATE kv SET refs = 0 WHERE key = ?", (root,))
        before = stored_keys(chain)
        with pytest.raises(RuntimeError, match="fell below zero"):
            chain.send("hospital-1", address, counter.increment)  # unpins the old root
        assert stored_keys(chain) == before
        assert count(chain, counter, address) == 2
        # The repair counts every row again, from nothing; the chain goes on.
        assert chain.recount() == 0
        assert_exact(chain)
        chain.send("hospital-1", address, counter.increment)
        assert count(chain, counter, address) == 3
        assert_exact(chain)


def _initcode_for(runtime: bytes) -> bytes:
    """Initcode that returns ``runtime`` as the new contract's code."""
    # PUSH2 len DUP1 PUSH2 offset PUSH1 0 CODECOPY PUSH1 0 RETURN, then the runtime.
    head = 13
    return (
        b"\x61"
        + len(runtime).to_bytes(2, "big")
        + b"\x80\x61"
        + head.to_bytes(2, "big")
        + b"\x60\x00\x39\x60\x00\xf3"
        + runtime
    )


def test_code_equal_to_a_later_receipt_trie_node_survives_that_block(
    counter: Counter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An attack: anyone may deploy code whose bytes are the receipt-trie node that a later
    block will make (learned on a twin chain). Receipt tries leave the store as a block is
    indexed; they must not take a live row with them."""
    made: list[bytes] = []
    trie_nodes = embedded._trie_nodes

    def recording(items: Any) -> dict[bytes, bytes]:
        nodes = trie_nodes(items)
        made.extend(nodes.values())
        return nodes

    with EmbeddedChain.memory() as twin:
        address = twin.send("insurer", None, counter.deploy_data(0)).contract_address
        assert address is not None
        monkeypatch.setattr(embedded, "_trie_nodes", recording)
        twin.send("hospital-1", address, counter.increment)
        monkeypatch.setattr(embedded, "_trie_nodes", trie_nodes)
    node = max(made, key=len)  # the receipt, with its log (the transaction is shorter)
    with EmbeddedChain.memory() as chain:
        assert chain.send("insurer", None, counter.deploy_data(0)).contract_address == address
        evil = chain.send("hospital-2", None, _initcode_for(node)).contract_address
        assert evil is not None
        chain.send("hospital-1", address, counter.increment)  # makes that receipt node
        chain.store.forget()
        assert chain.state_at().get_code(to_canonical_address(evil)) == node
        assert_exact(chain)


def test_every_command_leaves_exactly_the_live_state(counter: Counter) -> None:
    with EmbeddedChain.memory() as chain:
        address = drive(chain, counter, 2)
        for sends in (1, 5, 1, 12):
            with chain.command():
                for _ in range(sends):
                    chain.send("hospital-1", address, counter.increment)
            assert_exact(chain)
        assert count(chain, counter, address) == 21


def test_recent_states_stay_readable_and_older_ones_go(counter: Counter) -> None:
    with EmbeddedChain.memory() as chain:
        chain.recent_states = 3
        address = drive(chain, counter, 6)
        head = chain.block_number()
        assert_exact(chain, recent=3)
        for back in range(3):
            state = chain.state_at(head - back)
            assert state.get_storage(to_canonical_address(address), 0) == 6 - back
        with pytest.raises(MissingTrieNode):
            chain.state_at(head - 3).get_storage(to_canonical_address(address), 0)
        chain.recent_states = 1  # the CLI after `claims node`: the head alone
        chain.send("hospital-1", address, counter.increment)
        assert_exact(chain)


def test_a_pruned_chain_reopens_as_it_was(tmp_path: Path, counter: Counter) -> None:
    with EmbeddedChain.open(tmp_path / "state", create=True) as chain:
        chain.pruning = False
        address = drive(chain, counter, 60)
        _, deleted = chain.prune()
        assert deleted > 0
        # Pages the pruned nodes emptied go back to the file system.
        free = chain.store.connection.execute("PRAGMA freelist_count").fetchone()[0]
        assert free <= 5
        head = chain._head.hash
    with EmbeddedChain.open(tmp_path / "state") as chain:
        assert chain._head.hash == head
        assert count(chain, counter, address) == 60
        chain.send("hospital-1", address, counter.increment)
        assert count(chain, counter, address) == 61
        assert_exact(chain)


@pytest.fixture
def hash_keyed(monkeypatch: pytest.MonkeyPatch) -> None:
    """New chains keep their storage nodes by hash, as every chain before schema 6 did."""
    monkeypatch.setattr(embedded, "_new_chains_keep_paths", lambda: False)


def _as_schema(chain: EmbeddedChain, version: str) -> None:
    """Make the hash-keyed chain's file as an older claimsengine left it: no layout noted
    (before 6), no reference counts (before 5)."""
    assert not chain.store.path_keys
    with chain.command():
        connection = chain.store.connection
        if version < "5":
            connection.execute("ALTER TABLE kv DROP COLUMN refs")
            connection.execute("DELETE FROM meta WHERE name IN ('pinned_roots', 'counted_block')")
        connection.execute("DELETE FROM meta WHERE name = 'storage_keys'")
        connection.execute("UPDATE meta SET value = ? WHERE name = 'schema_version'", (version,))


def _schema(chain: EmbeddedChain) -> str:
    (version,) = chain.store.connection.execute(
        "SELECT value FROM meta WHERE name = 'schema_version'"
    ).fetchone()
    return str(version)


def _storage_keys(chain: EmbeddedChain) -> str:
    (layout,) = chain.store.connection.execute(
        "SELECT value FROM meta WHERE name = 'storage_keys'"
    ).fetchone()
    return str(layout)


@pytest.mark.usefixtures("hash_keyed")
def test_a_schema_5_chain_keeps_its_storage_by_hash(
    tmp_path: Path, counter: Counter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chain from before path keys goes on as it was written: storage nodes under their
    hashes, noted in its file, and read, written and pruned that way."""
    with EmbeddedChain.open(tmp_path / "state", create=True) as chain:
        address = drive(chain, counter, 10)
        head = chain._head.hash
        _as_schema(chain, "5")
    monkeypatch.undo()  # new chains keep paths again: the file's own note decides
    with EmbeddedChain.open(tmp_path / "state") as chain:
        assert _schema(chain) == SCHEMA_VERSION == "6"
        assert _storage_keys(chain) == "hash" and not chain.store.path_keys
        assert chain._head.hash == head
        chain.send("hospital-1", address, counter.increment)
        assert count(chain, counter, address) == 11
        assert_exact(chain)
        lengths = {len(key) for key in stored_keys(chain)}
        assert lengths == {32}


def test_a_new_chain_keeps_its_storage_by_path(tmp_path: Path, counter: Counter) -> None:
    with EmbeddedChain.open(tmp_path / "state", create=True) as chain:
        address = drive(chain, counter, 10)
        assert _storage_keys(chain) == "path" and chain.store.path_keys
    with EmbeddedChain.open(tmp_path / "state") as chain:
        assert chain.store.path_keys
        chain.send("hospital-1", address, counter.increment)
        assert count(chain, counter, address) == 11
        assert_exact(chain)
        # The counter's storage root sits under 0x10 + its hash (a one-slot trie).
        path_keyed = [key for key in stored_keys(chain) if len(key) != 32]
        assert path_keyed and all(key[0] == 0x10 and len(key) == 33 for key in path_keyed)


def test_the_reference_evm_refuses_a_chain_kept_by_path(
    tmp_path: Path, counter: Counter, monkeypatch: pytest.MonkeyPatch
) -> None:
    with EmbeddedChain.open(tmp_path / "state", create=True) as chain:
        drive(chain, counter, 1)
    # As in a process that imported the chain under CLAIMS_EVM=reference.
    monkeypatch.setattr(embedded, "_reads_storage_by_hash", lambda: True)
    with pytest.raises(ChainError, match="keeps contract storage by path"):
        EmbeddedChain.open(tmp_path / "state")


_LAYOUT_FOLLOWS_THE_EVM = """
import os, sys
os.environ["CLAIMS_EVM"] = "reference"  # as the process imports the chain
from claimsengine.chain.embedded import EmbeddedChain
del os.environ["CLAIMS_EVM"]  # changed later in the same process
code, increment, count = (bytes.fromhex(arg) for arg in sys.argv[1:])
with EmbeddedChain.memory() as chain:
    address = chain.send("insurer", None, code).contract_address
    for _ in range(3):
        chain.send("hospital-1", address, increment)
    print(chain.store.path_keys, int.from_bytes(chain.call(address, count), "big"))
"""


def test_a_chain_keeps_storage_as_the_evm_in_use_reads_it(counter: Counter) -> None:
    """The layout of a new chain follows the EVM the process runs, not CLAIMS_EVM as it is
    later: py-evm's own storage (chosen as the chain module was imported) keeps nodes by
    hash; were the chain kept by path, pruning would take them for garbage."""
    import subprocess
    import sys

    argv = [counter.deploy_data(0).hex(), counter.increment.hex(), counter.count.hex()]
    done = subprocess.run(
        [sys.executable, "-c", _LAYOUT_FOLLOWS_THE_EVM, *argv],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "3"]


@pytest.mark.usefixtures("hash_keyed")
def test_a_schema_4_chain_counts_its_references_on_open(tmp_path: Path, counter: Counter) -> None:
    with EmbeddedChain.open(tmp_path / "state", create=True) as chain:
        chain.pruning = False  # schema 4 pruned rarely: past states wait in the file
        address = drive(chain, counter, 20)
        head = chain._head.hash
        before = nodes(chain)
        _as_schema(chain, "4")
    with EmbeddedChain.open(tmp_path / "state") as chain:
        assert _schema(chain) == SCHEMA_VERSION
        assert _storage_keys(chain) == "hash"
        assert chain._head.hash == head
        assert nodes(chain) < before - 20  # the past states went at once
        assert_exact(chain)
        chain.send("hospital-1", address, counter.increment)
        assert count(chain, counter, address) == 21
        assert_exact(chain)


def _body_keys(chain: EmbeddedChain) -> set[bytes]:
    rows = chain.store.connection.execute("SELECT key FROM bodies")
    return {bytes(key) for (key,) in rows}


def _kv_keys(chain: EmbeddedChain) -> set[bytes]:
    rows = chain.store.connection.execute("SELECT key FROM kv")
    return {bytes(key) for (key,) in rows}


def test_block_bodies_are_kept_compressed_apart_and_read_back(counter: Counter) -> None:
    clock = FakeClock(1_800_000_000)
    with EmbeddedChain.memory(clock=clock) as chain:
        drive(chain, counter, 5)
        bodies = _body_keys(chain)
        # One transaction per block: each block's transaction trie is a single node, under
        # its transaction root, and it is in `bodies` only.
        chaindb = ChainDB(AtomicDB(chain.store))
        roots = {
            bytes(chaindb.get_canonical_block_header_by_number(BlockNumber(n)).transaction_root)
            for n in range(1, chain.block_number() + 1)
        }
        assert bodies == roots
        assert not bodies & _kv_keys(chain)
        for key in bodies:
            (packed,) = chain.store.connection.execute(
                "SELECT value FROM bodies WHERE key = ?", (key,)
            ).fetchone()
            raw = unpack_body(bytes(packed))
            assert keccak(raw) == key  # the node py-evm made, to the byte
            assert len(packed) <= len(raw) + 1  # never more than the marker byte
            assert pack_body(raw) == bytes(packed)  # the same bytes give the same body
        # Each block's receipt trie left the store as the block was indexed: no node of kv
        # is garbage that pruning would delete yet, but the past states.
        receipt_roots = {
            bytes(chaindb.get_canonical_block_header_by_number(BlockNumber(n)).receipt_root)
            for n in range(1, chain.block_number() + 1)
        }
        assert not receipt_roots & _kv_keys(chain)
        # A fresh store (no cache) reads the transactions from the compressed bodies.
        sent = transactions(chain)
        assert len(sent) == 6
        chain.store.forget()
        assert transactions(chain) == sent


@pytest.mark.usefixtures("hash_keyed")
def test_a_schema_2_chain_moves_its_bodies_on_open(tmp_path: Path, counter: Counter) -> None:
    with EmbeddedChain.open(tmp_path / "state", create=True) as chain:
        address = drive(chain, counter, 8)
        sent = transactions(chain)
        head = chain._head.hash
        # Schema 2 kept every transaction trie raw in kv, beside the state.
        moved = _body_keys(chain)
        with chain.command():
            connection = chain.store.connection
            for key in moved:
                connection.execute(
                    "INSERT INTO kv (key, value) VALUES (?, ?)", (key, chain.store[key])
                )
            connection.execute("DELETE FROM bodies")
        _as_schema(chain, "2")
    with EmbeddedChain.open(tmp_path / "state") as chain:
        assert _schema(chain) == SCHEMA_VERSION
        assert _body_keys(chain) == moved
        assert not moved & _kv_keys(chain)
        assert chain._head.hash == head
        assert transactions(chain) == sent
        assert_exact(chain)  # counting leaves the moved bodies alone
        assert transactions(chain) == sent
        assert count(chain, counter, address) == 8
        chain.send("hospital-1", address, counter.increment)
        assert count(chain, counter, address) == 9


def test_a_body_is_deflated_when_that_is_shorter_and_kept_as_it_is_otherwise() -> None:
    calldata = bytes(4) + (7).to_bytes(32, "big") * 40  # ABI words: mostly zeros
    packed = pack_body(calldata)
    assert packed[:1] == b"\x01" and len(packed) < len(calldata) / 10
    assert unpack_body(packed) == calldata
    noise = keccak(b"a") + keccak(b"b")  # 64 bytes that do not compress
    assert pack_body(noise) == b"\x00" + noise
    assert unpack_body(pack_body(noise)) == noise
    assert unpack_body(pack_body(b"")) == b""
    with pytest.raises(ValueError, match="not a stored block body"):
        unpack_body(b"\x02" + noise)


# -- the walk of the live state -------------------------------------------------------------


def _trie_nodes_of(items: dict[bytes, bytes]) -> tuple[bytes, dict[bytes, bytes]]:
    """A py-evm trie of ``items`` (keys hashed, as in a storage trie): root and stored nodes."""
    from trie import HexaryTrie

    db: dict[bytes, bytes] = {}
    trie = HexaryTrie(db)
    for key, value in items.items():
        trie[keccak(key)] = value
    return trie.root_hash, db


@pytest.mark.parametrize("size", [1, 2, 17, 300])
def test_a_branch_is_read_as_its_decoding_reads_it(size: int) -> None:
    import rlp

    from claimsengine.chain.noderefs import branch_hashes as _branch_hashes

    # Values of every length, among them 31-byte words (a 32-byte RLP string, like a hash).
    items = {
        n.to_bytes(4, "big"): rlp.encode((n * 7919 + 1) << (8 * (n % 31))) for n in range(size)
    }
    _root, stored = _trie_nodes_of(items)
    branches = 0
    for encoded in stored.values():
        node = rlp.decode(encoded)
        hashes = _branch_hashes(encoded)
        if hashes is None:
            # Leaves, extensions and branches with a short child or a value: decoded in full.
            assert (
                not (
                    len(node) == 17
                    and node[16] == b""
                    and all(c == b"" or (isinstance(c, bytes) and len(c) == 32) for c in node[:16])
                )
                or len(encoded) < 56
            )
        else:
            branches += 1
            assert len(node) == 17 and node[16] == b""
            assert hashes == [child for child in node[:16] if child]
    assert branches or size < 17


def test_a_leaf_that_looks_like_hashes_is_not_read_as_a_branch() -> None:
    from claimsengine.chain.noderefs import branch_hashes as _branch_hashes

    # A leaf of 63 nibbles (a 32-byte path) holding a 31-byte word: two 0xa0 items.
    leaf = bytes((0xF8, 0x42, 0xA0)) + b"\x3a" * 32 + bytes((0xA0,)) + b"\x9f" + b"\x01" * 31
    assert _branch_hashes(leaf) is None
    # A branch with a value in its 17th slot.
    hashes = [b"\x11" * 32, b"\x22" * 32]
    payload = b"".join(b"\xa0" + h for h in hashes) + b"\x80" * 14 + b"\x83abc"
    branch = bytes((0xF8, len(payload))) + payload
    assert _branch_hashes(branch) is None
    assert _branch_hashes(bytes((0xF8, len(payload) - 3)) + payload[:-4] + b"\x80") == hashes


@pytest.mark.parametrize("size", [1, 2, 17, 300])
def test_the_references_of_a_node_are_what_its_full_decoding_holds(size: int) -> None:
    import rlp

    # Storage tries (values of every length, some a 32-byte RLP string like a hash), and an
    # account trie whose leaves name storage roots and code.
    items = {
        n.to_bytes(4, "big"): rlp.encode((n * 7919 + 1) << (8 * (n % 31))) for n in range(size)
    }
    accounts = {
        n.to_bytes(20, "big"): rlp.encode(
            [
                n,
                n * 10**18,
                keccak(b"storage %d" % n) if n % 3 else prune.BLANK_ROOT_HASH,
                keccak(b"code %d" % (n % 4)) if n % 2 else keccak(b""),
            ]
        )
        for n in range(size)
    }
    for trie_items, is_account_trie in ((items, False), (accounts, True)):
        _root, stored = _trie_nodes_of(trie_items)
        for encoded in stored.values():
            found: list[bytes] = []
            expected = list(noderefs.node_references(rlp.decode(encoded), found.append))
            for value in found if is_account_trie else []:
                _nonce, _balance, storage_root, code_hash = rlp.decode(value)
                if storage_root != prune.BLANK_ROOT_HASH:
                    expected.append(storage_root)
                if code_hash != keccak(b""):
                    expected.append(code_hash)
            assert sorted(noderefs.references(encoded)) == sorted(expected)


def test_code_and_headers_refer_to_nothing(counter: Counter) -> None:
    with EmbeddedChain.memory() as chain:
        drive(chain, counter, 2)
        for header_hash in prune.header_hashes(chain.store):
            assert noderefs.references(chain.store[header_hash]) == []
        assert noderefs.references(counter.bytecode) == []
        assert noderefs.references(b"") == []
