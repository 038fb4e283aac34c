"""Pruning the embedded chain's state: keep the nodes of the head's state, drop the rest.

py-evm writes every trie node it makes into the key-value store and never deletes one, so a
chain keeps every historical state (an archive node): most of the file is nodes that no
later state refers to. The embedded chain reads only its head's state (calls, balances, the
next block), and a command that fails is undone by its SQL transaction, not by an older
state root. So, as a geth full node does, it can keep the head's state alone:

- the nodes reachable from the head's state root (the account trie, each account's storage
  trie and its code);
- every block header (the ``block-number-to-hash`` lookup names them), so the chain of
  headers, ``BLOCKHASH`` and the block numbers stay as they were;
- every key that is not a 32-byte hash (py-evm's lookups: canonical head, scores, the
  transaction-to-block index).

Every block's transactions (its transaction trie) stay too, as a geth full node keeps its
blocks: what was sent stays readable, and auditable (the privacy scan reads every
calldata). They live compressed in the store's ``bodies`` table (chain/kvstore.py), which
pruning never touches; ``move_block_bodies`` moves them there from a chain written before.

Everything else in ``kv`` keyed by a 32-byte hash goes: the tries of past states (and the
receipt tries of blocks written before the chain dropped them as it indexes each block:
receipts and logs are read from the chain's own ``txs`` and ``logs`` tables, which pruning
leaves alone). Blocks, their hashes, their transactions and the head's state are exactly
what they were: only history that nothing reads is gone.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

from eth.constants import BLANK_ROOT_HASH, EMPTY_UNCLE_HASH
from eth_hash.auto import keccak

from claimsengine.chain.kvstore import KV_SCHEMA, SqliteKV
from claimsengine.chain.snapshot import rlp_decode as _rlp_decode

__all__ = ["live_keys", "move_block_bodies", "prune"]

_EMPTY_CODE_HASH = keccak(b"")
_TRANSACTION_ROOT = 4  # a header's fields: parent, uncles, coinbase, state root, tx root
_NUMBER_TO_HASH = b"block-number-to-hash:"
_KEYS_PER_QUERY = 500  # under sqlite's limit of bound parameters (999 in older builds)
# The first key after every "block-number-to-hash:<n>" key (";" follows ":" in ASCII).
_NUMBER_TO_HASH_END = b"block-number-to-hash;"


def rlp_decode(data: bytes) -> Any:
    """An RLP item, by the small decoder (half of pyrlp's time: no sedes, no cache); typed
    Any, as pyrlp's was: nodes, accounts and headers are read here by position."""
    return _rlp_decode(data)


def _children(node: list[Any]) -> Iterator[Any]:
    """The references a decoded trie node holds: 32-byte hashes or inline (short) nodes."""
    if len(node) == 17:
        yield from node[:16]
    elif len(node) == 2 and node[0] and node[0][0] >> 4 in (0, 1):
        yield node[1]  # an extension: its one child


def _branch_hashes(encoded: bytes) -> list[bytes] | None:
    """The child hashes of a branch node whose 16 slots are each empty or a 32-byte hash
    and whose value is empty (every branch of a state or storage trie: their keys all have
    one length); None for any other node, which the caller decodes in full."""
    prefix = encoded[0]
    if prefix < 0xF8:
        return None  # a list under 56 bytes: a leaf, an extension or a short branch
    position = 1 + prefix - 0xF7
    end = len(encoded)
    hashes = []
    for _ in range(16):
        if position >= end:
            return None
        item = encoded[position]
        if item == 0x80:
            position += 1
        elif item == 0xA0:
            hashes.append(encoded[position + 1 : position + 33])
            position += 33
        else:
            return None  # a short child inside the branch
    if position != end - 1 or encoded[position] != 0x80:
        return None  # a value in the branch, or not a 17-item list
    return hashes


def _item_end(encoded: bytes, position: int) -> int:
    """Where the RLP item at ``position`` ends (the position after it)."""
    prefix = encoded[position]
    if prefix < 0x80:
        return position + 1
    if prefix < 0xB8:
        return position + 1 + prefix - 0x80  # a short string
    if 0xC0 <= prefix < 0xF8:
        return position + 1 + prefix - 0xC0  # a short list
    size = prefix - (0xB7 if prefix < 0xC0 else 0xF7)  # a long one: its length's length
    length = int.from_bytes(encoded[position + 1 : position + 1 + size], "big")
    return position + 1 + size + length


def _is_stored_leaf(encoded: bytes) -> bool:
    """Whether ``encoded`` is a leaf: a list of exactly two items whose first, the path, is a
    string that starts with the leaf flag (2 or 3). Anything else, False (the caller then
    decodes it in full)."""
    prefix = encoded[0]
    if prefix < 0xC0:
        return False
    start = 1 if prefix < 0xF8 else 1 + prefix - 0xF7
    path = encoded[start]
    if path >= 0xB8 or path == 0x80:
        return False  # a list, a long string or an empty string: no leaf's path
    second = _item_end(encoded, start)
    if second >= len(encoded) or _item_end(encoded, second) != len(encoded):
        return False  # not two items
    flags = path if path < 0x80 else encoded[start + 1]
    return flags >> 4 in (2, 3)


def _is_leaf(node: list[Any]) -> bool:
    return len(node) == 2 and bool(node[0]) and node[0][0] >> 4 in (2, 3)


def _references(node: list[Any], on_leaf: Callable[[bytes], None] | None) -> Iterator[bytes]:
    """The 32-byte references of a decoded node and of the short nodes held inside it;
    ``on_leaf(value)`` for each leaf among them."""
    pending = [node]
    while pending:
        node = pending.pop()
        if _is_leaf(node):
            if on_leaf is not None:
                on_leaf(node[1])
            continue
        for child in _children(node):
            if isinstance(child, list):
                pending.append(child)  # a short node: it lives inside its parent
            elif len(child) == 32:
                yield child  # b"", an empty branch slot, is neither


def _walk(
    get: Callable[[bytes], bytes], root: bytes, live: set[bytes], on_leaf: Callable[[bytes], None]
) -> None:
    """Add every stored node of the trie under ``root`` to ``live``; call ``on_leaf(value)``."""
    if root == BLANK_ROOT_HASH:
        return
    pending = [root]
    while pending:
        ref = pending.pop()
        if ref in live:
            continue
        live.add(ref)
        pending.extend(_references(rlp_decode(get(ref)), on_leaf))


def _ignore(_value: bytes) -> None:
    pass


def _header_hashes(store: SqliteKV) -> list[bytes]:
    rows = store.connection.execute(
        "SELECT value FROM kv WHERE key >= ? AND key < ?", (_NUMBER_TO_HASH, _NUMBER_TO_HASH_END)
    )
    return [rlp_decode(value) for (value,) in rows]


def move_block_bodies(store: SqliteKV) -> int:
    """Move every block's transaction trie from ``kv`` to ``bodies`` (a chain written
    before bodies were kept apart). Runs inside the caller's transaction; returns the
    number of nodes moved."""
    moved = 0
    for header_hash in _header_hashes(store):
        transaction_root = rlp_decode(store[header_hash])[_TRANSACTION_ROOT]
        keys: set[bytes] = set()
        _walk(store.__getitem__, transaction_root, keys, _ignore)
        store.put_bodies({key: store[key] for key in keys})
        moved += len(keys)
    return moved


def _walk_level_by_level(
    connection: sqlite3.Connection,
    roots: list[bytes],
    live: set[bytes],
    on_leaf: Callable[[bytes], None] | None,
) -> None:
    """``_walk`` from every root in ``roots`` at once, one depth at a time, reading each
    depth's nodes from ``kv`` in a few queries rather than one query a node (the walk of the
    live state is most of a pruning's time, and a query each was most of the walk). With
    ``on_leaf`` None (storage tries: a leaf's value names no node), a stored leaf is known
    by its first bytes and not decoded."""
    level = [root for root in set(roots) if root not in live]
    while level:
        live.update(level)
        found: dict[bytes, bytes] = {}
        for start in range(0, len(level), _KEYS_PER_QUERY):
            keys = level[start : start + _KEYS_PER_QUERY]
            marks = ", ".join("?" * len(keys))
            found.update(
                connection.execute(f"SELECT key, value FROM kv WHERE key IN ({marks})", keys)
            )
        below: set[bytes] = set()
        for key in level:
            try:
                encoded = found[key]
            except KeyError:
                raise KeyError(f"trie node 0x{key.hex()} is missing from kv") from None
            hashes = _branch_hashes(encoded)
            if hashes is not None:  # most nodes: a branch of hashes, read without decoding
                below.update(child for child in hashes if child not in live)
                continue
            if on_leaf is None and _is_stored_leaf(encoded):
                continue  # most of the others: a storage leaf
            references = _references(rlp_decode(encoded), on_leaf)
            below.update(child for child in references if child not in live)
        level = list(below)


def live_keys(store: SqliteKV, state_root: bytes) -> set[bytes]:
    """The 32-byte keys of ``kv`` that a chain whose head has ``state_root`` still needs."""
    live: set[bytes] = {BLANK_ROOT_HASH, EMPTY_UNCLE_HASH}
    live.update(_header_hashes(store))
    storage_roots: list[bytes] = []

    def account(encoded: bytes) -> None:
        _nonce, _balance, storage_root, code_hash = rlp_decode(encoded)
        if storage_root != BLANK_ROOT_HASH:
            storage_roots.append(storage_root)
        if code_hash != _EMPTY_CODE_HASH:
            live.add(code_hash)

    _walk_level_by_level(store.connection, [state_root], live, account)
    _walk_level_by_level(store.connection, storage_roots, live, None)
    return live


def prune(store: SqliteKV, state_root: bytes) -> tuple[int, int]:
    """Delete the 32-byte keys that the head (``state_root``) no longer needs.

    ``kv`` is written again, in key order, with what stays: its keys are hashes, so nodes
    land all over the table and deleting the dead ones would leave every page part empty
    (a third of the table, measured); written in order, its pages are full. The table keeps
    its name, its keys and its raw values. The cost is of the order of the walk of the live
    state that pruning makes anyway.

    Runs inside the caller's SQL transaction (so a command that fails undoes it too) and
    drops the store's cache. Returns (nodes kept, nodes deleted).
    """
    live = live_keys(store, state_root)
    connection: sqlite3.Connection = store.connection
    connection.execute("DROP TABLE IF EXISTS kv_compact")
    connection.execute(KV_SCHEMA.replace("IF NOT EXISTS kv", "kv_compact"))
    (before,) = connection.execute("SELECT count(*) FROM kv WHERE length(key) = 32").fetchone()
    # SQLite copies the rows (in kv's key order: what stays goes to the end of kv_compact);
    # Python only answers which keys stay, so no value passes through it.
    connection.create_function(
        "stays", 1, lambda key: len(key) != 32 or key in live, deterministic=True
    )
    try:
        connection.execute(
            "INSERT INTO kv_compact (key, value) SELECT key, value FROM kv WHERE stays(key)"
            " ORDER BY key"
        )
    finally:
        connection.create_function("stays", 1, None)  # let the live set go
    connection.execute("DROP TABLE kv")
    connection.execute("ALTER TABLE kv_compact RENAME TO kv")
    (kept,) = connection.execute("SELECT count(*) FROM kv WHERE length(key) = 32").fetchone()
    store.release_free_pages()
    store.forget()
    return int(kept), int(before) - int(kept)
