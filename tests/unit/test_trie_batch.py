"""Batched storage tries (chain/trie_batch.py, chain/fast_storage.py) against py-evm's own.

The embedded chain's fast path writes contract storage a block at a time; its state roots
must be py-evm's to the bit, and the nodes it stores must be the ones py-evm stores (pruning
and readers walk them), each under the path key of the place it has in py-evm's trie
(chain/nodekeys.py). Random sets, overwrites and deletions, in several blocks, over several
tries or accounts, go through both and are compared: the roots, every node written and its
key, and every read.
"""

from __future__ import annotations

import gc
from typing import Any

import pytest
from eth.db.account import AccountDB
from eth.db.atomic import AtomicDB
from eth_hash.auto import keccak
from eth_utils import ValidationError
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from trie import HexaryTrie

from claimsengine.chain import fast_storage, trie_batch
from claimsengine.chain.fast_storage import FastAccountDB
from claimsengine.chain.kvstore import SqliteKV
from claimsengine.chain.nodekeys import PATH_NIBBLES, hash_key, is_path_key, node_key
from claimsengine.chain.prune import live_keys
from claimsengine.chain.rlpread import rlp_decode

# Keys: hashed (as storage slots are), or sharing long prefixes (extension nodes). Values:
# short ones make nodes under 32 bytes, which live inline in their parent.
_KEYS = st.one_of(
    st.integers(0, 400).map(lambda n: keccak(n.to_bytes(2, "big"))),
    st.integers(0, 400).map(lambda n: bytes([n % 3]) * 30 + n.to_bytes(2, "big")),
)
_VALUES = st.one_of(
    st.just(b""), st.binary(min_size=1, max_size=3), st.binary(min_size=1, max_size=40)
)
_BLOCK = st.dictionaries(_KEYS, _VALUES, max_size=40)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tries=st.lists(st.lists(_BLOCK, min_size=1, max_size=5), min_size=1, max_size=3))
def test_batched_tries_match_py_evm(tries: list[list[dict[bytes, bytes]]]) -> None:
    trie_batch._decoded.clear()  # nodes cached by an earlier example must not hide one missing here
    reference_db: dict[bytes, bytes] = {}
    ours_db: dict[bytes, bytes] = {}
    for blocks in tries:  # several tries in one database, as several accounts' storage
        reference = HexaryTrie(reference_db)
        root = trie_batch.BLANK_ROOT
        touched: set[bytes] = set()
        for changes in blocks:
            for key, value in changes.items():
                if value:
                    reference[key] = value
                elif reference.exists(key):
                    del reference[key]
            touched.update(changes)
            paths = {trie_batch.nibbles(key): value for key, value in changes.items()}
            root, nodes = trie_batch.apply(ours_db.__getitem__, root, paths)
            ours_db.update(nodes)
            assert root == reference.root_hash
            for stored, encoded in nodes.items():
                assert reference_db[hash_key(stored)] == encoded
            # Every node of the trie sits under the key of its place in py-evm's trie.
            assert _path_keys(reference_db, root) <= set(ours_db)
            trie_batch._decoded.clear()  # read back from the stored nodes, by their keys
            for key in touched:
                assert trie_batch.get(ours_db.__getitem__, root, trie_batch.nibbles(key)) == (
                    reference.get(key)
                )


def _path_keys(db: dict[bytes, bytes], root: bytes) -> set[bytes]:
    """The path key of every hashed node of the trie at ``root`` in py-evm's ``db`` (keyed
    by hash): its place found by walking the decoded nodes from the root."""
    if root == trie_batch.BLANK_ROOT:
        return set()
    keys = set()
    pending: list[tuple[Any, bytes, bytes | None]] = [(root, b"", None)]
    while pending:
        ref, path, _ = pending.pop()
        if isinstance(ref, bytes):
            keys.add(node_key(path[:PATH_NIBBLES], ref))
            node = rlp_decode(db[ref])
        else:
            node = ref  # inline: no key of its own
        if len(node) == 17:
            for index, child in enumerate(node[:16]):
                if child != b"":
                    pending.append((child, path + bytes((index,)), None))
        elif node[0][0] >> 4 in (0, 1):  # an extension
            digits = trie_batch.nibbles(node[0])
            step = digits[1:] if node[0][0] >> 4 == 1 else digits[2:]
            pending.append((node[1], path + step, None))
    return keys


def test_an_unchanged_trie_keeps_its_root_and_writes_nothing() -> None:
    db: dict[bytes, bytes] = {}
    key = trie_batch.nibbles(keccak(b"slot"))
    root, nodes = trie_batch.apply(db.__getitem__, trie_batch.BLANK_ROOT, {key: b"\x05"})
    db.update(nodes)
    missing = trie_batch.nibbles(keccak(b"other"))
    assert trie_batch.apply(db.__getitem__, root, {missing: b""}) == (root, {})
    assert trie_batch.apply(db.__getitem__, root, {key: b""})[0] == trie_batch.BLANK_ROOT
    assert trie_batch.get(db.__getitem__, root, missing) == b""


def test_cached_nodes_cost_the_garbage_collector_nothing() -> None:
    """The decoded-node cache holds up to 300,000 nodes; were they lists, every full
    collection would walk them all. Tuples of bytes leave the collector's view once a pass
    has seen their contents untracked (a branch seen before its inline children waits for a
    later pass, one a level of nesting): after a few, none is tracked."""
    trie_batch._decoded.clear()
    db: dict[bytes, bytes] = {}
    # Hashed keys make branches of hashes; short values and shared prefixes make leaves and
    # extensions, some inline in their parent.
    hashed = [trie_batch.nibbles(keccak(n.to_bytes(2, "big"))) for n in range(300)]
    shared = [trie_batch.nibbles(bytes(30) + n.to_bytes(2, "big")) for n in range(20)]
    changes = dict.fromkeys(hashed, b"\x07" * 40) | dict.fromkeys(shared, b"\x01")
    root, nodes = trie_batch.apply(db.__getitem__, trie_batch.BLANK_ROOT, changes)
    db.update(nodes)
    trie_batch._decoded.clear()  # read back: every node decoded from its stored bytes
    for key in changes:
        trie_batch.get(db.__getitem__, root, key)
    again = dict.fromkeys(list(changes)[:50], b"\x09" * 40)
    root, nodes = trie_batch.apply(db.__getitem__, root, again)  # and nodes an update caches
    for _ in range(4):  # the deepest nesting here: a branch, a branch inline in it, leaves
        gc.collect()
    cached = list(trie_batch._decoded.values())
    assert len(cached) > 300
    assert [node for node in cached if gc.is_tracked(node)] == []


# -- whole account databases: journal, reverts, self-destruct, persist --------------------

_ADDRESSES = [bytes([n]) * 20 for n in (1, 2, 3)]
_OPS = st.lists(
    st.one_of(
        st.tuples(
            st.just("set"), st.sampled_from(_ADDRESSES), st.integers(0, 60), st.integers(0, 3)
        ),
        st.tuples(
            st.just("set"),
            st.sampled_from(_ADDRESSES),
            st.integers(0, 2**256 - 1),
            st.integers(0, 2**256 - 1),
        ),
        st.tuples(st.just("snapshot"), st.none(), st.none(), st.none()),
        st.tuples(st.just("revert"), st.none(), st.none(), st.none()),
        st.tuples(st.just("lock"), st.none(), st.none(), st.none()),
        st.tuples(st.just("persist"), st.none(), st.none(), st.none()),
        st.tuples(st.just("wipe"), st.sampled_from(_ADDRESSES), st.none(), st.none()),
    ),
    max_size=60,
)


def _play(
    account_db_class: type[AccountDB], ops: list[tuple[Any, ...]], path_keys: bool = False
) -> tuple[list[Any], SqliteKV]:
    store = SqliteKV(":memory:", path_keys=path_keys)
    db = account_db_class(AtomicDB(store))
    for address in _ADDRESSES:
        db.set_balance(address, 1)  # the accounts exist, as contracts do
    db.persist()
    seen: list[Any] = []
    checkpoints: list[Any] = []
    for op, address, slot, value in ops:
        if op == "set":
            db.set_storage(address, slot, value)
            seen.append(db.get_storage(address, slot))
        elif op == "snapshot":
            checkpoints.append(db.record())
        elif op == "revert" and checkpoints:
            try:
                db.discard(checkpoints.pop())
            except ValidationError as refused:
                # py-evm refuses to undo a storage wiped twice since the checkpoint (its
                # count of clears); the fast path must refuse it the same way.
                seen.append(("refused", str(refused)))
                return seen, store
        elif op == "lock":
            checkpoints.clear()
            db.lock_changes()
        elif op == "persist":
            checkpoints.clear()
            db.lock_changes()
            db.persist()
            seen.append(db.state_root)
        elif op == "wipe":
            db.delete_storage(address)
        seen.extend(db.get_storage(a, s) for a in _ADDRESSES for s in range(4))
    db.lock_changes()
    db.persist()
    seen.append(db.state_root)
    return seen, store


_WIPED_TWICE = [  # found by hypothesis: py-evm refuses the revert
    ("snapshot", None, None, None),
    ("wipe", _ADDRESSES[0], None, None),
    ("wipe", _ADDRESSES[0], None, None),
    ("revert", None, None, None),
]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=_OPS)
@example(ops=_WIPED_TWICE)
def test_the_fast_account_db_matches_py_evm(ops: list[tuple[Any, ...]]) -> None:
    trie_batch._decoded.clear()
    fast_storage._flats.clear()
    reference, reference_store = _play(AccountDB, ops)
    fast, fast_store = _play(FastAccountDB, ops)
    trie_batch._decoded.clear()  # the run kept by path reads its own nodes, not these
    fast_storage._flats.clear()
    by_path, path_store = _play(FastAccountDB, ops, path_keys=True)
    assert fast == reference  # every read, every state root, any refusal
    assert by_path == reference
    if reference[-1][0] == "refused":
        return
    root = reference[-1]
    # The live state, as pruning walks it, is all there, and byte for byte py-evm's.
    live = live_keys(fast_store, root)
    assert live == live_keys(reference_store, root)
    for key in live:
        if key in reference_store:
            assert fast_store[key] == reference_store[key]
    # Kept by path: the same nodes, storage nodes under path keys.
    live_by_path = live_keys(path_store, root)
    assert {hash_key(key) for key in live_by_path} == live
    for key in live_by_path:
        if hash_key(key) in reference_store:
            assert path_store[key] == reference_store[hash_key(key)]
    accounts = AccountDB(AtomicDB(reference_store), root)
    expected: set[bytes] = set()
    for address in _ADDRESSES:
        expected |= _path_keys(reference_store, accounts._get_storage_root(address))  # type: ignore[arg-type]
    assert {key for key in live_by_path if is_path_key(key)} == expected


@pytest.mark.parametrize("count", [1, 300])
def test_storage_written_across_blocks_reads_back(count: int) -> None:
    store = SqliteKV(":memory:")
    db = FastAccountDB(AtomicDB(store))
    address = _ADDRESSES[0]
    for block in range(3):
        for slot in range(count):
            db.set_storage(address, slot, slot * 7 + block + 1)
        db.lock_changes()
        db.persist()
    reread = FastAccountDB(AtomicDB(store), db.state_root)
    assert [reread.get_storage(address, slot) for slot in range(count)] == [
        slot * 7 + 3 for slot in range(count)
    ]
    assert reread.get_storage(address, count + 1) == 0
