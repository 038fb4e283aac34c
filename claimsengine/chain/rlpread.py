"""A small RLP decoder: bytes, or nested lists of them, with no sedes and no cache.

About half of pyrlp's time on trie nodes, which the chain decodes by the hundred thousand
(a storage trie's nodes as the batched trie loads them, every node pruning counts, the
read-only path's walk of the state). Plain: it imports nothing of the project or of
py-evm, so the batched trie (trie_batch.py) can use it and stay plain.
"""

from __future__ import annotations

from typing import TypeAlias

__all__ = ["RLPItem", "rlp_decode"]

RLPItem: TypeAlias = bytes | list["RLPItem"]


def rlp_decode(data: bytes) -> RLPItem:
    """One RLP item: bytes, or a list of items. Raises ValueError on malformed input."""
    item, end = _rlp_item(data, 0)
    if end != len(data):
        raise ValueError("RLP: trailing bytes")
    return item


def _rlp_item(data: bytes, position: int) -> tuple[RLPItem, int]:
    if position >= len(data):
        raise ValueError("RLP: truncated")
    prefix = data[position]
    if prefix < 0x80:
        return data[position : position + 1], position + 1
    if prefix < 0xB8:
        start, length = position + 1, prefix - 0x80
    elif prefix < 0xC0:
        size = prefix - 0xB7
        start = position + 1 + size
        length = int.from_bytes(data[position + 1 : start], "big")
    else:
        if prefix < 0xF8:
            start, length = position + 1, prefix - 0xC0
        else:
            size = prefix - 0xF7
            start = position + 1 + size
            length = int.from_bytes(data[position + 1 : start], "big")
        end = start + length
        if end > len(data):
            raise ValueError("RLP: truncated list")
        items: list[RLPItem] = []
        cursor = start
        while cursor < end:
            item, cursor = _rlp_item(data, cursor)
            items.append(item)
        if cursor != end:
            raise ValueError("RLP: list overruns its length")
        return items, end
    end = start + length
    if end > len(data):
        raise ValueError("RLP: truncated string")
    return data[start:end], end
