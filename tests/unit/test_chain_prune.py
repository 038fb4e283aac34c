"""Pruning the embedded chain: the head's state and the blocks stay, past states go.

Real chains only: a Vyper counter driven on py-evm, one chain pruned and a twin not, fed the
same transactions on the same clock.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from eth.db.atomic import AtomicDB
from eth.db.chain import ChainDB
from eth.vm.forks import PragueVM
from eth_hash.auto import keccak
from eth_typing import BlockNumber

from claimsengine.chain import embedded
from claimsengine.chain.embedded import EmbeddedChain
from claimsengine.chain.kvstore import pack_body, unpack_body
from claimsengine.chain.prune import live_keys
from tests.conftest import Counter


class FakeClock:
    def __init__(self, start: float) -> None:
        self.value = start

    def __call__(self) -> float:
        return self.value


def nodes(chain: EmbeddedChain) -> int:
    """Values stored under a 32-byte key: trie nodes, code, headers."""
    (n,) = chain.store.connection.execute(
        "SELECT count(*) FROM kv WHERE length(key) = 32"
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


def test_pruning_keeps_the_head_and_the_blocks_and_drops_past_states(counter: Counter) -> None:
    clock = FakeClock(1_800_000_000)
    with EmbeddedChain.memory(clock=clock) as pruned, EmbeddedChain.memory(clock=clock) as full:
        address = drive(pruned, counter, 30)
        drive(full, counter, 30)
        before = nodes(pruned)
        sent = transactions(pruned)
        kept, deleted = pruned.prune()
        # Each of the 30 sends left a state root and a receipt trie behind.
        assert deleted > 30
        assert transactions(pruned) == sent  # every block keeps its transactions
        assert nodes(pruned) == kept == before - deleted
        # What is kept is exactly what the head needs: its state and every header.
        assert kept == len(live_keys(pruned.store, pruned._head.state_root) - _absent(pruned))
        assert count(pruned, counter, address) == 30
        assert pruned.balance("hospital-1") == full.balance("hospital-1")
        # The chain goes on as its unpruned twin: the same blocks, to the hash.
        for chain in (pruned, full):
            chain.send("hospital-1", address, counter.increment)
        assert pruned._head.hash == full._head.hash
        assert count(pruned, counter, address) == 31
        receipt = pruned.send("hospital-1", address, counter.increment)
        assert pruned.receipt(receipt.tx_hash) == receipt  # receipts from the index


def _absent(chain: EmbeddedChain) -> set[bytes]:
    """Live keys that were never stored (the blank trie root, the empty uncle list)."""
    rows = chain.store.connection.execute("SELECT key FROM kv WHERE length(key) = 32")
    stored = {bytes(key) for (key,) in rows}
    return live_keys(chain.store, chain._head.state_root) - stored


def test_a_command_that_fails_undoes_its_pruning(counter: Counter) -> None:
    with EmbeddedChain.memory() as chain:
        address = drive(chain, counter, 10)
        before = nodes(chain)
        with pytest.raises(RuntimeError), chain.command():
            chain.prune()
            assert nodes(chain) < before
            raise RuntimeError("undo")
        assert nodes(chain) == before
        assert count(chain, counter, address) == 10


def test_commands_prune_on_their_own_as_garbage_builds_up(
    counter: Counter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embedded, "PRUNE_FLOOR", 10**9)  # never on its own
    with EmbeddedChain.memory() as archive:
        drive(archive, counter, 160)
        unpruned = nodes(archive)
    monkeypatch.setattr(embedded, "PRUNE_FLOOR", 50)
    with EmbeddedChain.memory() as chain:
        address = drive(chain, counter, 80)
        highest = 0
        for _ in range(80):
            chain.send("hospital-1", address, counter.increment)
            highest = max(highest, nodes(chain))
        live, _ = chain.prune()
        # Garbage waits only until it outnumbers a quarter of the live nodes (or the floor),
        # so the store never held much more than that over the live nodes (one send writes
        # about a dozen).
        assert highest <= live + max(50, live // embedded.PRUNE_SHARE) + 15
        assert highest < unpruned / 2
        assert count(chain, counter, address) == 160


def test_a_pruned_chain_reopens_as_it_was(tmp_path: Path, counter: Counter) -> None:
    with EmbeddedChain.open(tmp_path / "state", create=True) as chain:
        address = drive(chain, counter, 60)
        pages = chain.store.connection.execute("PRAGMA page_count").fetchone()[0]
        _, deleted = chain.prune()
        assert deleted > 0
        # The pages that held the pruned nodes go back to the file system (a few more free
        # up as the command writes its bookkeeping after the pruning).
        free = chain.store.connection.execute("PRAGMA freelist_count").fetchone()[0]
        after = chain.store.connection.execute("PRAGMA page_count").fetchone()[0]
        assert free <= 5
        assert after < pages
        head = chain._head.hash
    with EmbeddedChain.open(tmp_path / "state") as chain:
        assert chain._head.hash == head
        assert count(chain, counter, address) == 60
        chain.send("hospital-1", address, counter.increment)
        assert count(chain, counter, address) == 61


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
            connection.execute("UPDATE meta SET value = '2' WHERE name = 'schema_version'")
    with EmbeddedChain.open(tmp_path / "state") as chain:
        (version,) = chain.store.connection.execute(
            "SELECT value FROM meta WHERE name = 'schema_version'"
        ).fetchone()
        assert version == "4"
        assert _body_keys(chain) == moved
        assert not moved & _kv_keys(chain)
        assert chain._head.hash == head
        assert transactions(chain) == sent
        _, deleted = chain.prune()
        assert transactions(chain) == sent  # pruning leaves the moved bodies alone
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


def test_pruning_leaves_the_store_packed(tmp_path: Path, counter: Counter) -> None:
    with EmbeddedChain.open(tmp_path / "state", create=True) as chain:
        address = drive(chain, counter, 120)
        connection = chain.store.connection
        try:
            connection.execute("SELECT count(*) FROM dbstat").fetchone()
        except sqlite3.OperationalError:
            pytest.skip("this sqlite has no dbstat table")
        chain.prune()
        payload, size = connection.execute(
            "SELECT sum(payload), sum(pgsize) FROM dbstat WHERE name = 'kv'"
        ).fetchone()
        # Written again in key order, the table's pages are full but for the tail of each.
        assert payload > 0.85 * size
        assert count(chain, counter, address) == 120


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

    from claimsengine.chain.prune import _branch_hashes

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


@pytest.mark.parametrize("size", [1, 2, 17, 300])
def test_a_leaf_is_known_by_its_first_bytes_as_its_decoding_knows_it(size: int) -> None:
    import rlp

    from claimsengine.chain.prune import _is_leaf, _is_stored_leaf

    items = {n.to_bytes(4, "big"): rlp.encode(n << (8 * (n % 31))) for n in range(size)}
    _root, stored = _trie_nodes_of(items)
    for encoded in stored.values():
        assert _is_stored_leaf(encoded) == _is_leaf(rlp.decode(encoded))


def test_a_branch_or_an_extension_is_never_taken_for_a_leaf() -> None:
    import rlp

    from claimsengine.chain.prune import _branch_hashes, _is_stored_leaf

    # A branch whose first child's hash starts with a leaf's flag, and which holds a short
    # node inline (so the branch reader passes it on): its children must be walked.
    for first in (0x20, 0x35):
        branch = [bytes([first]) * 32] + [b""] * 14 + [[b"\x35", b"\x01"]] + [b""]
        encoded = rlp.encode(branch)
        assert _branch_hashes(encoded) is None and not _is_stored_leaf(encoded)
    # A branch with a value, extensions (flags 0 and 1), and a leaf of each flag.
    valued = rlp.encode([b"\x20" + bytes(31)] * 16 + [b"\x2a"])
    assert not _is_stored_leaf(valued)
    for flags in (b"\x00\x12", b"\x1a"):
        assert not _is_stored_leaf(rlp.encode([flags, b"\x33" * 32]))
    for flags in (b"\x20" + b"\x11" * 31, b"\x3b" + b"\x11" * 30):
        assert _is_stored_leaf(rlp.encode([flags, rlp.encode(5)]))


def test_a_leaf_that_looks_like_hashes_is_not_read_as_a_branch() -> None:
    from claimsengine.chain.prune import _branch_hashes

    # A leaf of 63 nibbles (a 32-byte path) holding a 31-byte word: two 0xa0 items.
    leaf = bytes((0xF8, 0x42, 0xA0)) + b"\x3a" * 32 + bytes((0xA0,)) + b"\x9f" + b"\x01" * 31
    assert _branch_hashes(leaf) is None
    # A branch with a value in its 17th slot.
    hashes = [b"\x11" * 32, b"\x22" * 32]
    payload = b"".join(b"\xa0" + h for h in hashes) + b"\x80" * 14 + b"\x83abc"
    branch = bytes((0xF8, len(payload))) + payload
    assert _branch_hashes(branch) is None
    assert _branch_hashes(bytes((0xF8, len(payload) - 3)) + payload[:-4] + b"\x80") == hashes


def test_the_level_by_level_walk_finds_what_a_node_by_node_walk_finds(
    tmp_path: Path, counter: Counter
) -> None:
    from claimsengine.chain import prune

    with EmbeddedChain.open(tmp_path / "state", create=True) as chain:
        drive(chain, counter, 12)
        root = bytes(chain._head.state_root)
        store = chain.store
        expected = {prune.BLANK_ROOT_HASH, prune.EMPTY_UNCLE_HASH}
        expected.update(prune._header_hashes(store))
        roots: list[bytes] = []

        def account(encoded: bytes) -> None:
            _nonce, _balance, storage_root, code_hash = prune.rlp_decode(encoded)
            if storage_root != prune.BLANK_ROOT_HASH:
                roots.append(storage_root)
            if code_hash != prune._EMPTY_CODE_HASH:
                expected.add(code_hash)

        prune._walk(store.__getitem__, root, expected, account)
        for storage_root in roots:
            prune._walk(store.__getitem__, storage_root, expected, prune._ignore)
        assert roots  # the counter has storage
        assert live_keys(store, root) == expected
