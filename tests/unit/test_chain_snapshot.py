"""chain/snapshot.py's small readers against the libraries py-evm writes with: RLP (``rlp``),
and the hexary Merkle-Patricia trie (``trie``, py-trie). The reads of a real chain are checked in
tests/integration/test_engine_storage.py."""

from __future__ import annotations

from typing import Any

import pytest
import rlp
from hypothesis import given, settings
from hypothesis import strategies as st
from trie import HexaryTrie

from claimsengine.chain import trie_batch
from claimsengine.chain.snapshot import (
    BLANK_ROOT,
    next_timestamp,
    rlp_decode,
    trie_get,
)

_items: st.SearchStrategy[Any] = st.recursive(
    st.binary(max_size=80),
    lambda children: st.lists(children, max_size=6),
    max_leaves=30,
)


@given(_items)
def test_rlp_decodes_what_rlp_encodes(item: Any) -> None:
    assert rlp_decode(rlp.encode(item)) == item


@pytest.mark.parametrize(
    "bad", [b"", b"\x83ab", b"\xc3\x01\x02", b"\x01\x02", b"\xb9\x01", b"\xc2\x83a"]
)
def test_malformed_rlp_is_refused(bad: bytes) -> None:
    with pytest.raises(ValueError):
        rlp_decode(bad)


@settings(max_examples=60, deadline=None)
@given(
    entries=st.dictionaries(
        st.binary(min_size=1, max_size=6) | st.binary(min_size=32, max_size=32),
        st.binary(min_size=1, max_size=70),
        max_size=60,
    ),
    missing=st.lists(st.binary(min_size=1, max_size=32), max_size=10),
)
def test_trie_lookups_are_py_tries(entries: dict[bytes, bytes], missing: list[bytes]) -> None:
    """Short keys and values make embedded nodes, shared prefixes extensions and branches
    with values; 32-byte keys are what the state tries use."""
    db: dict[bytes, bytes] = {}
    reference = HexaryTrie(db)
    for key, value in entries.items():
        reference[key] = value
    root = reference.root_hash
    for key, value in entries.items():
        assert trie_get(db.__getitem__, root, key) == value
    for key in missing:
        expected = reference.get(key) or None
        assert trie_get(db.__getitem__, root, key) == expected


@settings(max_examples=40, deadline=None)
@given(
    entries=st.dictionaries(
        st.binary(min_size=32, max_size=32),
        st.binary(min_size=1, max_size=40),
        min_size=1,
        max_size=300,
    ),
    missing=st.lists(st.binary(min_size=32, max_size=32), max_size=10),
)
def test_trie_lookups_by_path_keys(entries: dict[bytes, bytes], missing: list[bytes]) -> None:
    """A storage trie kept under path keys (chain/nodekeys.py), as the batched trie writes
    it, reads as py-trie's does; a node under its hash alone is not found there."""
    db: dict[bytes, bytes] = {}
    reference = HexaryTrie(db)
    for key, value in entries.items():
        reference[key] = value
    changes = {trie_batch.nibbles(key): value for key, value in entries.items()}
    root, by_path = trie_batch.apply({}.__getitem__, trie_batch.BLANK_ROOT, changes)
    assert root == reference.root_hash
    for key, value in entries.items():
        assert trie_get(by_path.__getitem__, root, key, path_keys=True) == value
    for key in missing:
        expected = reference.get(key) or None
        assert trie_get(by_path.__getitem__, root, key, path_keys=True) == expected
    with pytest.raises(KeyError):
        trie_get(by_path.__getitem__, root, next(iter(entries)))  # read by hash


def test_the_empty_trie_holds_nothing() -> None:
    assert HexaryTrie({}).root_hash == BLANK_ROOT
    assert trie_get({}.__getitem__, BLANK_ROOT, b"\x01" * 32) is None


def test_the_clock() -> None:
    clock = lambda: 1_000.7  # noqa: E731
    assert next_timestamp(500, None, 0, clock) == 1_000  # the clock, in whole seconds
    assert next_timestamp(500, None, 250, clock) == 1_250  # moved by `claims time set`
    assert next_timestamp(500, 2_000, 250, clock) == 2_000  # a pinned next block
    assert next_timestamp(5_000, None, 250, clock) == 5_001  # always after the head


def test_the_constants_are_py_evms_and_the_chains() -> None:
    from eth.constants import BLANK_ROOT_HASH
    from eth.db.schema import SchemaV1

    from claimsengine.chain import embedded, snapshot

    assert snapshot.BLANK_ROOT == BLANK_ROOT_HASH
    assert SchemaV1.make_canonical_head_hash_lookup_key() == snapshot.CANONICAL_HEAD_KEY
    assert snapshot.SCHEMA_VERSION == embedded._SCHEMA_VERSION
    assert snapshot.STATE_FILE == embedded.STATE_FILE
