"""What pruning must leave on the embedded chain, checked against a walk of the live state.

The store holds exactly the rows that the recent blocks' states and the blocks need (the
walk of ``live_keys``), and each row's reference count is the number of stored rows that
refer to it, plus one for each recent block whose state root it is.
"""

from __future__ import annotations

from claimsengine.chain import noderefs, prune
from claimsengine.chain.embedded import EmbeddedChain
from claimsengine.chain.nodekeys import SQL_NODE_KEY


def stored_keys(chain: EmbeddedChain) -> dict[bytes, int | None]:
    """Every row under a node key (a hash or a storage node's path key), with its
    reference count."""
    rows = chain.store.connection.execute(f"SELECT key, refs FROM kv WHERE {SQL_NODE_KEY}")
    return {bytes(key): refs for key, refs in rows}


def assert_exact(chain: EmbeddedChain, recent: int = 1) -> None:
    """The store holds exactly what the last ``recent`` blocks' states and the blocks need,
    each row counted exactly."""
    rows = stored_keys(chain)
    head = chain.block_number()
    numbers = range(max(head - recent + 1, 0), head + 1)
    roots = [_state_root(chain, n) for n in numbers]
    # A state pruned before the window grew stays gone; the head's is always there.
    roots = [root for root in roots if root in chain.store]
    assert _state_root(chain, head) in roots
    live: set[bytes] = set()
    for root in roots:
        live |= prune.live_keys(chain.store, root)
    never_stored = {prune.BLANK_ROOT_HASH, prune.EMPTY_UNCLE_HASH} - set(rows)
    assert set(rows) == live - never_stored
    expected = dict.fromkeys(rows, 0)
    for key, refs in rows.items():
        if refs != prune.KEPT:
            for child in noderefs.references(chain.store[key], key, chain.store.path_keys):
                expected[child] += 1
    for root in roots:
        expected[root] += 1
    kept = {bytes(key) for key in prune.header_hashes(chain.store)}
    kept |= {prune.BLANK_ROOT_HASH, prune.EMPTY_UNCLE_HASH}
    for key, refs in rows.items():
        assert refs == (prune.KEPT if key in kept else expected[key]), key.hex()


def _state_root(chain: EmbeddedChain, number: int) -> bytes:
    block = chain.block_at(number)
    assert block is not None
    return bytes(block.header.state_root)
