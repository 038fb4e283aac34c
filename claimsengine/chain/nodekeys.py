"""Where a storage-trie node is kept in the chain file: under its path, then its hash.

A trie node is named by the keccak of its bytes, and py-evm stores it under that hash. In a
B-tree keyed by hashes the nodes of one slot's path land on pages all over the file, so a
command that rewrites a few hundred slots of a large contract dirties a page for nearly
every node it writes or deletes (bench/README.md, "Where the flat-cost difference goes").
A chain written with *path keys* (schema 6, ``storage_keys = path`` in its ``meta``) keeps
each node of a contract's storage trie under

    the first nibbles of its path from the root (up to ``PATH_NIBBLES``, one byte each)
    + one byte, 0x10 + the number of those nibbles
    + its hash

so the nodes of one slot's path, and a node and the one that replaces it, sort side by side,
as geth's path scheme keeps them. The hash stays in the key: two versions of a node at one
path (the head's and a recent block's) are two rows, and reference counting (chain/prune.py)
works on keys as before. The storage root sits under ``0x10 + hash``. Everything else (the
account trie, code, headers, py-evm's lookups) keeps its key.

Every reader of a storage trie comes from its root, so knows each node's path: the batched
trie (chain/trie_batch.py), the snapshot reader, pruning's references and walk. py-evm's own
storage trie reads by hash alone, so ``CLAIMS_EVM=reference`` writes *hash keys*
(``storage_keys = hash``, the only layout of a chain written before schema 6); the fast
path writes either, through ``SqliteKV``, which stores a path key of a hash-keyed chain
under its hash (``hash_key``).
"""

from __future__ import annotations

__all__ = [
    "PATH_NIBBLES",
    "SQL_NODE_KEY",
    "child_path",
    "hash_key",
    "is_node_key",
    "is_path_key",
    "node_key",
    "path_of",
    "root_key",
]

#: The nibbles of a node's path its key starts with: 16^6 groups, enough that the nodes of a
#: storage trie of millions of slots share a group only with their own subtree's.
PATH_NIBBLES = 6
_MARK = 0x10


def node_key(path: bytes, node_hash: bytes) -> bytes:
    """The key of the storage-trie node ``node_hash`` at ``path`` (nibbles, at most
    ``PATH_NIBBLES`` of them: see ``child_path``)."""
    return path + bytes((_MARK + len(path),)) + node_hash


def root_key(node_hash: bytes) -> bytes:
    """The key of a storage trie's root node."""
    return bytes((_MARK,)) + node_hash


def child_path(path: bytes, step: bytes) -> bytes:
    """The (truncated) path of the node ``step`` nibbles below the node at ``path``."""
    if len(path) >= PATH_NIBBLES:
        return path
    return (path + step)[:PATH_NIBBLES]


def is_path_key(key: bytes) -> bool:
    """Whether ``key`` is a storage node's path key (py-evm's own keys are ASCII text or
    32-byte hashes: neither starts with a byte under 0x11 and is 33 to 39 bytes long)."""
    length = len(key)
    return 33 <= length <= 33 + PATH_NIBBLES and key[length - 33] == _MARK + length - 33


def path_of(key: bytes) -> bytes:
    """The path nibbles a path key starts with."""
    return key[: len(key) - 33]


def hash_key(key: bytes) -> bytes:
    """A path key's node hash (the key the node has in a hash-keyed chain)."""
    return key[-32:]


def is_node_key(key: bytes) -> bool:
    """Whether ``key`` names a stored node or code (what reference counting counts): a
    32-byte hash or a path key."""
    return len(key) == 32 or is_path_key(key)


#: The same test in SQL, on the column ``key`` (a path key starts with a nibble or 0x10;
#: py-evm's text keys with a printable character).
SQL_NODE_KEY = "(length(key) = 32 OR (length(key) BETWEEN 33 AND 39 AND key < x'11'))"
