"""A storage trie updated a block at a time: each changed node encoded and hashed once.

py-evm's ``HexaryTrie`` applies a storage write at once: it rewrites the whole path from the
root to the slot, RLP-encodes every node on it and hashes it, and a block that writes 200
slots of one contract re-encodes the top of that contract's trie 200 times. Here the block's
writes to one account are applied together (``apply``): the nodes they touch are loaded into
small mutable objects, changed in place, and only at the end is each changed node encoded and
hashed, once, children before parents. The trie is the same Merkle Patricia trie, so the
root and every node's bytes are exactly what py-evm computes (a property test replays random
sets and deletions through both, tests/unit/test_trie_batch.py), and the new nodes are
returned to be stored as py-evm would store them (the root always hashed, other nodes whose
encoding is shorter than 32 bytes kept inline in their parent), but under path keys (below).

Reads (``get``) walk the trie through a cache of decoded nodes keyed by hash: a node's hash
fixes its content, so a cached node is right for every trie that refers to it, in every
chain of the process; the nodes an update makes go straight into the cache.

Nodes are read and returned under their *path keys* (chain/nodekeys.py: the first nibbles
of the node's path, then its hash): every walk here starts at the root, so it knows where
each node sits. A chain kept by hash stores them under the hash alone (``SqliteKV``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from eth_hash.auto import keccak
from lru import LRU

from claimsengine.chain.nodekeys import PATH_NIBBLES, child_path, node_key
from claimsengine.chain.rlpread import rlp_decode

__all__ = ["BLANK_ROOT", "apply", "get", "hp_decode", "nibbles"]

#: The root of the empty trie: keccak(rlp(b"")).
BLANK_ROOT = keccak(b"\x80")

#: Decoded nodes kept, the least recently used dropped first (a branch takes about 1.3 KB,
#: a leaf 0.4 KB; the tries of a 100,000-claim chain have about 30,000 branches).
_ENTRIES = 300_000

# A node, as cached and as read: a branch is a tuple of 17 (16 child references, value); a
# leaf is (path nibbles, value, True), an extension (path nibbles, child reference, False).
# A child reference is b"" (none), a 32-byte hash, or the inline child node itself. Tuples
# of bytes, not lists: the garbage collector stops tracking them once it has seen them, so
# a full cache adds nothing to its full collections (with lists, one took up to 0.27 s on
# the 100,000-claim benchmark chain; with tuples, 0.06 s).
_decoded: Any = LRU(_ENTRIES)

_Get = Callable[[bytes], bytes]


_HEX_DIGITS = bytes.maketrans(b"0123456789abcdef", bytes(range(16)))
_DIGITS_HEX = bytes.maketrans(bytes(range(16)), b"0123456789abcdef")


def nibbles(key: bytes) -> bytes:
    """``key`` as one byte per nibble, high nibble first."""
    return key.hex().encode().translate(_HEX_DIGITS)


def hp_decode(encoded: bytes) -> tuple[bytes, bool]:
    """A node's hex-prefix path: (nibbles, is a leaf)."""
    flag = encoded[0] >> 4
    digits = nibbles(encoded)
    return (digits[1:] if flag & 1 else digits[2:]), flag >= 2


def _hp_encode(path: bytes, leaf: bool) -> bytes:
    flag = 2 if leaf else 0
    path = bytes((flag + 1,)) + path if len(path) % 2 else bytes((flag, 0)) + path
    return bytes.fromhex(path.translate(_DIGITS_HEX).decode())


def _convert(raw: Any) -> Any:
    """An RLP-decoded node (or child reference) in the cached form above."""
    if isinstance(raw, bytes):
        return raw  # b"" or a hash
    if len(raw) == 17:
        return (*[_convert(item) for item in raw[:16]], raw[16])
    path, leaf = hp_decode(raw[0])
    return (path, raw[1], True) if leaf else (path, _convert(raw[1]), False)


def _load(get: _Get, node_hash: bytes, path: bytes) -> Any:
    """The node ``node_hash`` at ``path`` (its first nibbles), decoded."""
    node = _decoded.get(node_hash)
    if node is None:
        # the small decoder: 2-3x pyrlp's speed
        node = _convert(rlp_decode(get(node_key(path, node_hash))))
        _decoded[node_hash] = node
    return node


def get(get_node: _Get, root: bytes, key: bytes) -> bytes:
    """The value under ``key`` (as nibbles) in the trie at ``root``; b"" when there is none."""
    if root == BLANK_ROOT:
        return b""
    node = _load(get_node, root, b"")
    position = 0
    end = len(key)
    while True:
        if len(node) == 17:
            if position == end:
                return node[16]  # type: ignore[no-any-return]
            ref = node[key[position]]
            position += 1
        else:
            path, second, leaf = node
            length = len(path)
            if key[position : position + length] != path:
                return b""
            if leaf:
                return second if position + length == end else b""  # type: ignore[no-any-return]
            position += length
            ref = second
        if ref.__class__ is bytes:
            if not ref:
                return b""
            node = _load(get_node, ref, key[: min(position, PATH_NIBBLES)])
        else:
            node = ref


# -- the update: mutable nodes -------------------------------------------------------------


class _Node:
    __slots__ = ("embed",)
    #: How a parent holds this node (b"\xa0" + hash, or the inline encoding); None: changed.
    embed: bytes | None


class _Leaf(_Node):
    __slots__ = ("path", "value")

    def __init__(self, path: bytes, value: bytes, embed: bytes | None = None) -> None:
        self.path, self.value, self.embed = path, value, embed


class _Ext(_Node):
    __slots__ = ("child", "path")

    def __init__(self, path: bytes, child: Any, embed: bytes | None = None) -> None:
        self.path, self.child, self.embed = path, child, embed


class _Branch(_Node):
    __slots__ = ("children", "value")

    def __init__(self, children: list[Any], value: bytes, embed: bytes | None = None) -> None:
        self.children, self.value, self.embed = children, value, embed


def _object(node: Any, embed: bytes | None) -> _Node:
    """A cached node as a fresh mutable object (its inline children stay in cached form)."""
    if len(node) == 17:
        return _Branch(list(node[:16]), node[16], embed)
    path, second, leaf = node
    return _Leaf(path, second, embed) if leaf else _Ext(path, second, embed)


#: One nibble as a path step, for each branch slot.
_STEPS = [bytes((index,)) for index in range(16)]


class _Update:
    """One batch of changes to one trie; ``nodes`` gathers what it wrote (path key ->
    encoding). Each method takes ``at``: the path (first nibbles) of the node it is given."""

    def __init__(self, get_node: _Get) -> None:
        self.get_node = get_node
        self.nodes: dict[bytes, bytes] = {}

    def resolve(self, ref: Any, at: bytes) -> _Node | None:
        if ref.__class__ is bytes:
            if not ref:
                return None
            return _object(_load(self.get_node, ref, at), b"\xa0" + ref)
        if isinstance(ref, _Node):
            return ref
        return _object(ref, None)  # an inline node: re-encoded, to the same bytes

    def put(self, ref: Any, key: bytes, value: bytes, at: bytes) -> _Node:
        node = self.resolve(ref, at)
        if node is None:
            return _Leaf(key, value)
        if node.__class__ is _Branch:
            assert isinstance(node, _Branch)
            node.embed = None
            if not key:
                node.value = value
            else:
                step = key[0]
                node.children[step] = self.put(
                    node.children[step], key[1:], value, child_path(at, _STEPS[step])
                )
            return node
        assert isinstance(node, _Leaf | _Ext)
        path = node.path
        common = 0
        limit = min(len(path), len(key))
        while common < limit and path[common] == key[common]:
            common += 1
        if isinstance(node, _Leaf):
            if common == len(path) == len(key):
                node.value, node.embed = value, None
                return node
            branch = _Branch([b""] * 16, b"")
            _attach(branch, path[common:], node.value)
        else:
            if common == len(path):
                below = child_path(at, path)
                node.child, node.embed = self.put(node.child, key[common:], value, below), None
                return node
            branch = _Branch([b""] * 16, b"")
            rest = path[common + 1 :]
            branch.children[path[common]] = _Ext(rest, node.child) if rest else node.child
        _attach(branch, key[common:], value)
        return _Ext(key[:common], branch) if common else branch

    def delete(self, ref: Any, key: bytes, at: bytes) -> tuple[Any, bool]:
        """(the node without ``key``, or b"" if none is left; whether anything changed)."""
        node = self.resolve(ref, at)
        if node is None:
            return b"", False
        if isinstance(node, _Leaf):
            return (b"", True) if node.path == key else (node, False)
        if isinstance(node, _Ext):
            length = len(node.path)
            if key[:length] != node.path:
                return node, False
            below = child_path(at, node.path)
            child, changed = self.delete(node.child, key[length:], below)
            if not changed:
                return node, False
            return self.join(node.path, child, below), True
        assert isinstance(node, _Branch)
        if not key:
            if not node.value:
                return node, False
            node.value = b""
        else:
            step = key[0]
            child, changed = self.delete(node.children[step], key[1:], child_path(at, _STEPS[step]))
            if not changed:
                return node, False
            node.children[step] = child
        node.embed = None
        return self.normalise(node, at), True

    def join(self, path: bytes, child: Any, below: bytes) -> Any:
        """An extension of ``path`` over ``child`` (whose path is ``below``), merged with it
        where it is a leaf or an extension (a trie never holds an extension over either)."""
        node = self.resolve(child, below)
        if node is None:
            return b""
        if isinstance(node, _Leaf):
            return _Leaf(path + node.path, node.value)
        if isinstance(node, _Ext):
            return _Ext(path + node.path, node.child)
        return _Ext(path, node) if path else node

    def normalise(self, branch: _Branch, at: bytes) -> Any:
        """A branch left with fewer than two entries becomes what the trie makes of it."""
        used = [index for index, child in enumerate(branch.children) if child != b""]
        if len(used) + bool(branch.value) >= 2:
            return branch
        if not used:
            return _Leaf(b"", branch.value) if branch.value else b""
        step = _STEPS[used[0]]
        return self.join(step, branch.children[used[0]], child_path(at, step))

    def embed(self, ref: Any, at: bytes) -> bytes:
        """The bytes by which a parent holds ``ref``; stores the nodes encoded on the way."""
        if ref.__class__ is bytes:
            return b"\xa0" + ref if ref else b"\x80"
        node = ref if isinstance(ref, _Node) else _object(ref, None)
        if node.embed is not None:
            return node.embed
        encoded = self.encode(node, at)
        if len(encoded) < 32:
            node.embed = encoded
        else:
            node_hash = keccak(encoded)
            self.store(node_hash, encoded, node, at)
            node.embed = b"\xa0" + node_hash
        return node.embed

    def encode(self, node: _Node, at: bytes) -> bytes:
        if isinstance(node, _Branch):
            if len(at) >= PATH_NIBBLES:
                payload = b"".join([self.embed(child, at) for child in node.children])
            else:
                payload = b"".join(
                    [
                        self.embed(child, (at + step)[:PATH_NIBBLES])
                        for child, step in zip(node.children, _STEPS, strict=True)
                    ]
                )
            payload += _rlp_bytes(node.value)
        elif isinstance(node, _Leaf):
            payload = _rlp_bytes(_hp_encode(node.path, True)) + _rlp_bytes(node.value)
        else:
            assert isinstance(node, _Ext)
            below = child_path(at, node.path)
            payload = _rlp_bytes(_hp_encode(node.path, False)) + self.embed(node.child, below)
        return _rlp_list(payload)

    def store(self, node_hash: bytes, encoded: bytes, node: _Node, at: bytes) -> None:
        self.nodes[node_key(at, node_hash)] = encoded
        _decoded[node_hash] = _cached_form(node)


def _cached_form(node: _Node) -> Any:
    """An encoded node (its children's ``embed`` known) in the cached form."""
    if isinstance(node, _Branch):
        return (*[_cached_ref(child) for child in node.children], node.value)
    if isinstance(node, _Leaf):
        return (node.path, node.value, True)
    assert isinstance(node, _Ext)
    return (node.path, _cached_ref(node.child), False)


def _cached_ref(child: Any) -> Any:
    if not isinstance(child, _Node):
        return child  # b"", a hash or an inline node, untouched
    assert child.embed is not None
    return child.embed[1:] if len(child.embed) == 33 else _cached_form(child)


def _attach(branch: _Branch, rest: bytes, value: bytes) -> None:
    if rest:
        branch.children[rest[0]] = _Leaf(rest[1:], value)
    else:
        branch.value = value


def _rlp_bytes(data: bytes) -> bytes:
    length = len(data)
    if length == 1 and data[0] < 0x80:
        return data
    if length < 56:
        return bytes((0x80 + length,)) + data
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((0xB7 + len(size),)) + size + data


def _rlp_list(payload: bytes) -> bytes:
    length = len(payload)
    if length < 56:
        return bytes((0xC0 + length,)) + payload
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((0xF7 + len(size),)) + size + payload


def apply(
    get_node: _Get, root: bytes, changes: Mapping[bytes, bytes]
) -> tuple[bytes, dict[bytes, bytes]]:
    """Write ``changes`` (key nibbles -> value; b"" deletes) into the trie at ``root``.

    Returns the new root and the new nodes (path key -> encoding) to store. The root node
    is stored whatever its size, as py-evm does.
    """
    update = _Update(get_node)
    top: Any = b"" if root == BLANK_ROOT else root
    for key, value in changes.items():
        if value:
            top = update.put(top, key, value, b"")
        else:
            top, _changed = update.delete(top, key, b"")
    if top.__class__ is bytes:
        return (top or BLANK_ROOT), update.nodes
    node = top if isinstance(top, _Node) else _object(top, None)
    if node.embed is not None and len(node.embed) == 33:
        return node.embed[1:], update.nodes  # a hashed node that nothing changed
    encoded = update.encode(node, b"")
    node_hash = keccak(encoded)
    update.store(node_hash, encoded, node, b"")
    return node_hash, update.nodes
