"""Pruning the embedded chain: the head's state and the blocks stay, past states go.

Real chains only: a Vyper counter driven on py-evm, one chain pruned and a twin not, fed the
same transactions on the same clock.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from eth.db.atomic import AtomicDB
from eth.db.chain import ChainDB
from eth.vm.forks import PragueVM
from eth_typing import BlockNumber

from claimsengine.chain import embedded
from claimsengine.chain.embedded import EmbeddedChain
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
        # Garbage waits only until it outnumbers the live nodes (or the floor), so the store
        # never held much more than twice the live nodes (one send writes about a dozen).
        assert highest <= 2 * max(live, 50) + 15
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
