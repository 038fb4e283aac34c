"""Decoded trie nodes, kept: py-evm's tries decode a node's RLP every time they walk it.

Every storage read and every state-root computation walks the account and storage tries
from the root, and py-evm's ``HexaryTrie.get_node`` decodes each node on the way from its
RLP, again and again for the same top nodes. A node's encoding never changes what it
decodes to, so the decoded form is kept, keyed by the encoding, and handed out as a copy
(the trie edits branch nodes in place when it writes). The bytes read from the database
are the same; only the decoding is saved, so blocks are identical
(tests/unit/test_fast_evm.py). Installed with the fast opcode loop, not with
``CLAIMS_EVM=reference``.
"""

from __future__ import annotations

from typing import Any

from trie import hexary
from trie.constants import BLANK_NODE, BLANK_NODE_HASH
from trie.utils.nodes import decode_node

#: Decoded nodes kept (up to about 2 KB each with the encoding: 40 MB at most); emptied
#: when full, the top of the tries comes back within a block.
_ENTRIES = 20_000

_decoded: dict[bytes, list[Any]] = {}


def _copy(node: list[Any]) -> list[Any]:
    """A copy deep enough for the trie's in-place edits (inline child nodes are lists)."""
    return [_copy(item) if isinstance(item, list) else item for item in node]


def get_node(self: hexary.HexaryTrie, node_hash: Any) -> Any:
    """``HexaryTrie.get_node``, with the decoding of a 32-byte-keyed node remembered."""
    if node_hash in (BLANK_NODE, BLANK_NODE_HASH):
        return BLANK_NODE
    if len(node_hash) < 32:
        return decode_node(node_hash)
    encoded = self.db[node_hash]
    node = _decoded.get(encoded)
    if node is None:
        decoded = decode_node(encoded)
        if not isinstance(decoded, list):
            return decoded
        if len(_decoded) >= _ENTRIES:
            _decoded.clear()
        _decoded[encoded] = node = decoded
    return _copy(node)


def install() -> None:
    """Use the remembering ``get_node`` in every ``HexaryTrie`` of this process."""
    hexary.HexaryTrie.get_node = get_node  # type: ignore[method-assign]
