"""What a value stored in the embedded chain's key-value store refers to (chain/prune.py
counts these references, and walks the live state by them).

A trie node refers to its children, by their 32-byte hashes, and holds short children
(under 32 bytes encoded) inline; an account leaf refers to its storage root and its code.
Code and headers refer to nothing. Most nodes are branches of hashes, which
``branch_hashes`` reads without decoding them.

In a chain that keeps storage-trie nodes under path keys (chain/nodekeys.py), a reference
is the key the child is stored under: a storage node's children under its own path plus the
child's step, an account's storage root under ``root_key``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from eth.constants import BLANK_ROOT_HASH
from eth_hash.auto import keccak

from claimsengine.chain.nodekeys import (
    PATH_NIBBLES,
    child_path,
    is_path_key,
    node_key,
    path_of,
    root_key,
)
from claimsengine.chain.rlpread import rlp_decode as _rlp_decode
from claimsengine.chain.trie_batch import hp_decode

__all__ = [
    "EMPTY_CODE_HASH",
    "branch_hashes",
    "node_references",
    "references",
    "rlp_decode",
]

EMPTY_CODE_HASH = keccak(b"")


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


def branch_hashes(encoded: bytes) -> list[bytes] | None:
    """The child hashes of a branch node whose 16 slots are each empty or a 32-byte hash
    and whose value is empty (every branch of a state or storage trie: their keys all have
    one length); None for any other node, which the caller decodes in full."""
    slots = _branch_slots(encoded)
    return None if slots is None else [child for child in slots if child]


def _branch_slots(encoded: bytes) -> list[bytes] | None:
    """``branch_hashes``, slot by slot (b"" for an empty one)."""
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
            hashes.append(b"")
            position += 1
        elif item == 0xA0:
            hashes.append(encoded[position + 1 : position + 33])
            position += 33
        else:
            return None  # a short child inside the branch
    if position != end - 1 or encoded[position] != 0x80:
        return None  # a value in the branch, or not a 17-item list
    return hashes


def _is_leaf(node: list[Any]) -> bool:
    return len(node) == 2 and bool(node[0]) and node[0][0] >> 4 in (2, 3)


def node_references(node: list[Any], on_leaf: Callable[[bytes], None] | None) -> Iterator[bytes]:
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


def _account_references(value: bytes) -> tuple[bytes | None, bytes | None]:
    """An account's storage root and code hash, None for the empty ones (no row holds
    them); neither for a storage leaf's value (an RLP string, never a list of four)."""
    try:
        account = rlp_decode(value)
    except ValueError:
        return None, None
    if not (isinstance(account, list) and len(account) == 4):
        return None, None
    _nonce, _balance, storage_root, code_hash = account
    stored = isinstance(storage_root, bytes) and len(storage_root) == 32
    has_code = isinstance(code_hash, bytes) and len(code_hash) == 32
    return (
        storage_root if stored and storage_root != BLANK_ROOT_HASH else None,
        code_hash if has_code and code_hash != EMPTY_CODE_HASH else None,
    )


def _is_node(item: Any) -> bool:
    """Whether a decoded value has a trie node's shape (code and headers have not)."""
    if not isinstance(item, list):
        return False
    if len(item) == 17:
        return all(isinstance(slot, bytes | list) for slot in item[:16])
    return len(item) == 2 and isinstance(item[0], bytes) and bool(item[0])


def references(encoded: bytes, key: bytes = b"", path_keys: bool = False) -> list[bytes]:
    """The keys that the stored value ``encoded`` (stored under ``key``) refers to, once for
    each place it names them: a trie node's children (and those of the short nodes inside
    it), and, in an account leaf, the account's storage root and code. Code and headers
    refer to none. ``path_keys``: the chain keeps storage nodes under path keys."""
    if path_keys and is_path_key(key):
        return _storage_references(encoded, path_of(key))
    return _hash_references(encoded, path_keys)


def _storage_references(encoded: bytes, path: bytes) -> list[bytes]:
    """The path keys of the children of the storage node ``encoded`` at ``path``."""
    slots = _branch_slots(encoded)
    if slots is not None:
        if len(path) >= PATH_NIBBLES:
            return [node_key(path, child) for child in slots if child]
        return [
            node_key((path + bytes((index,)))[:PATH_NIBBLES], child)
            for index, child in enumerate(slots)
            if child
        ]
    found: list[bytes] = []
    pending = [(rlp_decode(encoded), path)]
    while pending:
        node, at = pending.pop()
        if len(node) == 17:
            steps = [(child, child_path(at, bytes((i,)))) for i, child in enumerate(node[:16])]
        elif _is_leaf(node):
            continue  # a slot's value: refers to nothing
        else:
            steps = [(node[1], child_path(at, hp_decode(node[0])[0]))]
        for child, below in steps:
            if isinstance(child, list):
                pending.append((child, below))  # a short node: it lives inside its parent
            elif len(child) == 32:
                found.append(node_key(below, child))
    return found


def _hash_references(encoded: bytes, path_keys: bool) -> list[bytes]:
    """``references`` of a value under a 32-byte key (or of any, by hash alone)."""
    if not encoded:
        return []  # no code
    hashes = branch_hashes(encoded)
    if hashes is not None:
        return hashes  # most nodes: a branch of hashes, read without decoding
    try:
        node = rlp_decode(encoded)
    except ValueError:
        return []  # code that is no RLP
    if not _is_node(node):
        return []
    found: list[bytes] = []

    def account(value: bytes) -> None:
        storage_root, code_hash = _account_references(value)
        if storage_root is not None:
            found.append(root_key(storage_root) if path_keys else storage_root)
        if code_hash is not None:
            found.append(code_hash)

    try:
        found.extend(node_references(node, account))
    except (TypeError, IndexError):
        return []  # code that happens to parse as a list of 2 or 17 items
    return found
