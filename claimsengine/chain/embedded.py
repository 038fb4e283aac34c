"""The embedded chain: py-evm in process, kept in one sqlite file, the `claims` CLI default.

It exists so that `claims` works with no node to run: each CLI command opens the chain in
``--state DIR``, holds an exclusive lock on it, and commits everything it sent in one SQL
transaction (or nothing, if it fails or is killed). It is built directly on py-evm's
``MiningChain`` (Prague rules, the EVM target Vyper 0.4.3 compiles for), not through web3 or
eth-tester, which are far slower.

Receipts and logs are served from index tables written in the same SQL transaction as the
blocks (chain/index.py), so looking one up does not cost time proportional to the length of
the chain. Only the head's state is kept: as a command commits, the nodes that no longer
belong to the head's state go, by reference counts (chain/prune.py); blocks and their
transactions stay. View calls
run on a read state kept warm until the head moves.

The dev accounts are anvil's first seven accounts (the well-known ``test ... junk``
mnemonic), so an alias names the same address here and on an anvil node. Their private keys
are public knowledge: this chain is for development and tests only.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from eth.abc import (
    BlockAPI,
    BlockHeaderAPI,
    ComputationAPI,
    ReceiptAPI,
    SignedTransactionAPI,
    StateAPI,
    VirtualMachineAPI,
)
from eth.chains.base import MiningChain
from eth.consensus import ConsensusApplier, NoProofConsensus
from eth.constants import BLANK_ROOT_HASH, ZERO_ADDRESS, ZERO_HASH32
from eth.db.atomic import AtomicDB
from eth.db.trie import make_trie_root_and_nodes
from eth.exceptions import BlockNotFound, HeaderNotFound, Revert
from eth.vm.forks import PragueVM
from eth.vm.forks.prague.transactions import PragueTransactionBuilder
from eth.vm.message import Message
from eth.vm.spoof import SpoofTransaction
from eth_keys.backends import CoinCurveECCBackend
from eth_keys.datatypes import PrivateKey
from eth_typing import Address, BlockNumber, Hash32
from eth_utils import ValidationError, keccak, to_canonical_address, to_checksum_address

from claimsengine.chain import node_cache, statelock
from claimsengine.chain.base import (
    DEV_ALIASES,
    Chain,
    Log,
    Receipt,
    decode_revert_reason,
)
from claimsengine.chain.fast_evm import FastPragueState, FastPragueVM
from claimsengine.chain.fast_storage import FastAccountDB
from claimsengine.chain.index import SCHEMA as INDEX_SCHEMA
from claimsengine.chain.index import LogIndex
from claimsengine.chain.kvstore import SqliteKV
from claimsengine.chain.migrate import OLDER_SCHEMAS, migrate
from claimsengine.chain.nodekeys import SQL_NODE_KEY
from claimsengine.chain.prune import (
    RECENT_STATES,
    forget_counts,
    leave_uncounted,
    prune_chain,
)
from claimsengine.chain.snapshot import SCHEMA_VERSION as _SCHEMA_VERSION
from claimsengine.chain.snapshot import next_timestamp
from claimsengine.errors import ChainError, TransactionReverted

__all__ = [
    "BLOCK_GAS_LIMIT",
    "CHAIN_ID",
    "DEV_BALANCE",
    "EmbeddedChain",
    "dev_private_keys",
]

CHAIN_ID = 1337
#: Large, so that a whole batch of claim transactions fits in one block.
BLOCK_GAS_LIMIT = 1_000_000_000
#: Each dev account starts with 10,000 ether, as on anvil.
DEV_BALANCE = 10_000 * 10**18

STATE_FILE = "chain.sqlite"
# 2: the compact index of chain/index.py; 3: block bodies compressed apart (chain/kvstore.py);
# 4: topics indexed by their last bytes; 5: reference counts for pruning (chain/prune.py);
# 6: storage-trie nodes under path keys (chain/nodekeys.py), as ``meta``'s storage_keys says
_PRIORITY_FEE = 0  # the embedded chain has no miner to tip

# anvil's accounts 0-6 (mnemonic "test test test test test test test test test test test
# junk", m/44'/60'/0'/0/i). Public test keys: never fund them on a real network.
_DEV_KEYS: dict[str, str] = dict(
    zip(
        DEV_ALIASES,
        (
            "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
            "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
            "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
            "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
            "47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
            "8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
            "92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
        ),
        strict=True,
    )
)

_INDEX_SCHEMA = (
    "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;" + INDEX_SCHEMA
)


#: The fast path: the fast opcode loop (fast_evm.py) over storage kept in batched tries
#: (fast_storage.py).
_FastVM = FastPragueVM.configure(
    __name__="FastPragueVM",
    _state_class=FastPragueState.configure(
        __name__="FastPragueState", account_db_class=FastAccountDB
    ),
)


def _interpreter() -> type[VirtualMachineAPI]:
    """The fast path unless CLAIMS_EVM=reference asks for py-evm's own: both give identical
    blocks (tests/unit/test_fast_evm.py checks it). The fast path comes with the account
    trie's decoded-node cache (node_cache.py). Chosen once, as this module is imported."""
    if os.environ.get("CLAIMS_EVM", "").strip().lower() == "reference":
        return PragueVM
    node_cache.install()
    return _FastVM


#: The EVM of every chain in this process.
_VM = _interpreter()


def _reads_storage_by_hash() -> bool:
    """Whether this process runs py-evm's own storage trie (CLAIMS_EVM=reference as the
    chain module was imported), which reads storage nodes by hash alone."""
    return _VM is PragueVM


def _new_chains_keep_paths() -> bool:
    """Whether a new chain keeps its storage nodes under path keys (chain/nodekeys.py): yes,
    but where the EVM in use reads them by hash. Decided by that EVM, never by CLAIMS_EVM as
    it is later: a chain kept by path under py-evm's own storage would have its storage
    nodes counted as garbage."""
    return not _reads_storage_by_hash()


class _PragueChain(MiningChain):
    """py-evm chain with Prague rules from genesis, no proof of work, a fixed gas limit."""

    chain_id = CHAIN_ID
    vm_configuration = ConsensusApplier(NoProofConsensus).amend_vm_configuration(((0, _VM),))

    def create_header_from_parent(
        self, parent_header: BlockHeaderAPI, **header_params: Any
    ) -> BlockHeaderAPI:
        # Keep the block gas limit constant instead of drifting toward mainnet's.
        header_params.setdefault("gas_limit", parent_header.gas_limit)
        return super().create_header_from_parent(parent_header, **header_params)


def dev_private_keys() -> dict[str, bytes]:
    """The dev accounts' private keys by checksummed address. They are public test keys
    (anvil's too): for dev chains only, to decrypt what is sealed to a dev account."""
    return {
        to_checksum_address(_address(_dev_key(hex_key))): bytes.fromhex(hex_key)
        for hex_key in _DEV_KEYS.values()
    }


def _dev_key(hex_key: str) -> PrivateKey:
    # coincurve signs and recovers ~50x faster than the pure-Python backend.
    return PrivateKey(bytes.fromhex(hex_key), backend=CoinCurveECCBackend())


def _address(key: PrivateKey) -> Address:
    return Address(key.public_key.to_canonical_address())


def _computation_failure(computation: ComputationAPI) -> str:
    error = computation.error
    if isinstance(error, Revert):
        return decode_revert_reason(computation.output)
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class EmbeddedChain(Chain):
    """The py-evm chain, on disk (``open``) or in memory (``memory``).

    Every ``send`` outside ``command()`` commits on its own; inside, everything commits when
    the outermost ``command()`` exits, or is rolled back if it raises. Nested ``command()``
    blocks are savepoints: an inner one that raises undoes only its own work.
    """

    def __init__(
        self,
        store: SqliteKV,
        *,
        state_dir: Path | None = None,
        lock_fd: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Use ``EmbeddedChain.open`` or ``EmbeddedChain.memory``, not this."""
        self._store = store
        self.state_dir = state_dir
        self._lock_fd = lock_fd
        self._clock = clock
        self._depth = 0
        self._closed = False
        #: Each command, as it commits, deletes the state nodes that no recent block needs
        #: (chain/prune.py). False keeps every past state, as an archive node does (tests
        #: compare a pruned chain with its unpruned twin).
        self.pruning = True
        #: How many recent blocks' states stay readable (``RECENT_STATES``).
        self.recent_states = RECENT_STATES
        self._time_offset = 0
        self._pinned_timestamp: int | None = None
        self._read_state: tuple[tuple[bytes, int], StateAPI] | None = None
        self.chain_id = CHAIN_ID
        self._keys: dict[Address, PrivateKey] = {}
        self.accounts = {}
        for alias, hex_key in _DEV_KEYS.items():
            key = _dev_key(hex_key)
            address = _address(key)
            self._keys[address] = key
            self.accounts[alias] = to_checksum_address(address)
        self._reload()

    # -- construction -------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        state_dir: Path | str,
        *,
        create: bool = False,
        lock_timeout: float = 30.0,
        on_wait: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.time,
        display_name: str | None = None,
    ) -> EmbeddedChain:
        """Open the chain kept in ``state_dir``, holding its lock until ``close()``.

        ``create=True`` makes a new chain (funded dev accounts) when there is none yet, and
        opens the existing one otherwise. If another process holds the lock, wait up to
        ``lock_timeout`` seconds, calling ``on_wait()`` once when the wait starts, then raise
        ``StateLocked``. ``display_name`` names the state in messages (default: the path).
        """
        state_dir = Path(state_dir)
        name = display_name or str(state_dir)
        if create:
            state_dir.mkdir(parents=True, exist_ok=True)
        elif not (state_dir / STATE_FILE).exists():
            raise ChainError(
                f"no chain in {name}",
                hint="run `claims init` to create one there, or point --state at an existing one",
            )
        lock_fd = statelock.acquire(state_dir, name, lock_timeout, on_wait)
        store: SqliteKV | None = None
        try:
            store = SqliteKV(state_dir / STATE_FILE)
            if not _is_initialised(store):
                if not create:
                    raise ChainError(
                        f"{state_dir / STATE_FILE} holds no chain (an interrupted `claims init`?)",
                        hint="run `claims init` again",
                    )
                _initialise(store, int(clock()))
            return cls(store, state_dir=state_dir, lock_fd=lock_fd, clock=clock)
        except BaseException:
            if store is not None:
                store.close()
            statelock.release(lock_fd)
            raise

    @classmethod
    def memory(cls, *, clock: Callable[[], float] = time.time) -> EmbeddedChain:
        """A fresh chain that lives in memory only (tests, benchmarks, `claims demo`)."""
        store = SqliteKV(":memory:")
        _initialise(store, int(clock()))
        return cls(store, clock=clock)

    @staticmethod
    def exists(state_dir: Path | str) -> bool:
        """Whether ``state_dir`` holds a chain file (``claims init`` was run there)."""
        return (Path(state_dir) / STATE_FILE).exists()

    @property
    def store(self) -> SqliteKV:
        """The sqlite store under the chain (for diagnostics and tests)."""
        return self._store

    @property
    def block_gas_limit(self) -> int:
        return int(self._head.gas_limit)

    # -- atomic commands ----------------------------------------------------------------

    @contextmanager
    def command(self) -> Iterator[None]:
        self._check_open()
        depth = self._depth
        savepoint = f"command_{depth}"
        if depth == 0:
            self._store.begin()
        else:
            self._store.savepoint(savepoint)
        self._depth += 1
        try:
            yield
            self._depth -= 1
            if depth == 0:
                if self._store.written:
                    self._prune()
                self._store.commit()
            else:
                self._store.release(savepoint)
        except BaseException:
            self._depth = depth
            if depth == 0:
                self._store.rollback()
            else:
                self._store.rollback_to(savepoint)
            # py-evm holds the head and caches in memory: rebuild them from the database.
            self._reload()
            raise

    def prune(self) -> tuple[int, int]:
        """Delete the state that the head no longer needs (see chain/prune.py), at once.

        Every command does it as it commits; this is for tests and tools, inside a command
        or on a chain kept with ``pruning`` off. Returns (nodes kept,
        nodes deleted).
        """
        with self.command():
            deleted = self._prune(at_once=True)
            self._store.release_free_pages()
            (kept,) = self._store.connection.execute(
                f"SELECT count(*) FROM kv WHERE {SQL_NODE_KEY}"
            ).fetchone()
        return int(kept), deleted

    def recount(self) -> int:
        """Count every state node's references again from nothing, and delete what nothing
        needs: a repair, should a count ever be wrong (a command that finds one below zero
        fails and is undone, deleting nothing). Returns the number of nodes deleted."""
        with self.command():
            forget_counts(self._store)
            deleted = prune_chain(self._store, self._head, self.recent_states, everything=True)
            self._store.release_free_pages()
            self._read_state = None
        return deleted

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._store.close()  # rolls back a command left open
        if self._lock_fd is not None:
            statelock.release(self._lock_fd)
            self._lock_fd = None

    # -- transactions -------------------------------------------------------------------

    def send(self, sender: str, to: str | None, data: bytes, *, gas: int | None = None) -> Receipt:
        with self.command():
            key = self._key_for(sender)
            vm = self._evm.get_vm(self._pending_header())
            header = vm.get_header()
            nonce = vm.state.get_nonce(_address(key))
            # Without a limit, offer the whole block: gas_used (what is charged) is the same.
            tx = self._sign(key, nonce, to, data, gas or header.gas_limit, header)
            (receipt,) = self._mine([tx], fail_fast=True, vm=vm)
            return receipt

    def send_many(
        self, sender: str, calls: Sequence[tuple[str | None, bytes]], *, gas: int
    ) -> list[Receipt]:
        if not calls:
            return []
        with self.command():
            key = self._key_for(sender)
            vm = self._evm.get_vm(self._pending_header())
            header = vm.get_header()
            nonce = vm.state.get_nonce(_address(key))
            txs = [
                self._sign(key, nonce + i, to, data, gas, header)
                for i, (to, data) in enumerate(calls)
            ]
            return self._mine(txs, fail_fast=False, vm=vm)

    def call(
        self, to: str, data: bytes, *, sender: str | None = None, block: int | None = None
    ) -> bytes:
        """``Chain.call``; ``block`` runs it on the state that block left (JSON-RPC's block
        tag, for ``claims node``), else on the latest."""
        self._check_open()
        if block is None or block == self._head.block_number:
            state = self._scratch_state()
        else:
            state = self._scratch_state(self._header_at(block))
        computation = self._view(state, sender, to, data, state.gas_limit)
        if computation.is_error:
            raise TransactionReverted(_computation_failure(computation))
        return bytes(computation.output)

    def estimate_gas(self, sender: str, to: str | None, data: bytes) -> int:
        """Gas enough for the transaction: usually two executions, not a binary search."""
        self._check_open()
        state = self._scratch_state()
        limit = state.gas_limit
        computation = self._try(state, sender, to, data, limit)
        if computation.is_error:
            raise TransactionReverted(_computation_failure(computation))
        # Gas consumed before refunds; more only when a call forwards 63/64 of what is left.
        candidate = limit - computation.get_gas_remaining()
        while candidate < limit:
            computation = self._try(state, sender, to, data, candidate)
            if computation.is_success:
                return candidate
            candidate = min(limit, candidate + max(candidate // 64, 2_300))
        return limit

    # -- reading ------------------------------------------------------------------------

    def receipt(self, tx_hash: bytes) -> Receipt:
        self._check_open()
        row = self._store.connection.execute(
            "SELECT block_number, tx_index, status, gas_used, contract_address, revert_reason"
            " FROM txs WHERE hash = ?",
            (tx_hash,),
        ).fetchone()
        if row is None:
            raise ChainError(f"no transaction 0x{tx_hash.hex()} on this chain")
        block_number, tx_index, status, gas_used, contract, reason = row
        return Receipt(
            tx_hash=tx_hash,
            status=status,
            gas_used=gas_used,
            block_number=block_number,
            logs=tuple(self._logs.tx_logs(block_number, tx_index)),
            contract_address=to_checksum_address(contract) if contract else None,
            revert_reason=reason,
        )

    def get_logs(
        self,
        address: str,
        topics: Sequence[bytes | None],
        from_block: int = 0,
        to_block: int | None = None,
    ) -> list[Log]:
        self._check_open()
        where = to_canonical_address(self.address_of(address))
        return self._logs.logs(where, topics, from_block, to_block)

    def block_number(self) -> int:
        self._check_open()
        return int(self._head.block_number)

    def balance(self, address: str) -> int:
        self._check_open()
        state = self._evm.get_vm(self._head).state
        return int(state.get_balance(to_canonical_address(self.address_of(address))))

    # -- serving other clients (claims node) -------------------------------------------

    def send_raw(self, raw: bytes) -> Receipt:
        """Mine one transaction signed elsewhere, alone in a block, committed on its own.

        A transaction that reverts is mined with status 0, as on any node. One the chain
        cannot take (bad encoding, signature, chain id, nonce or funds) raises ChainError and
        nothing is mined.
        """
        with self.command():
            builder = PragueVM.get_transaction_builder()
            try:
                tx = builder.decode(raw)
            except Exception as error:
                raise ChainError(f"transaction rejected: cannot decode it ({error})") from None
            if getattr(tx, "chain_id", CHAIN_ID) not in (None, CHAIN_ID):
                raise ChainError(
                    f"transaction rejected: it is for chain {tx.chain_id}, this is {CHAIN_ID}"
                )
            (receipt,) = self._mine([tx], fail_fast=False)
            return receipt

    def state_at(self, block: int | None = None) -> StateAPI:
        """The account state after ``block`` (default: the latest), read-only."""
        self._check_open()
        header = self._head if block is None else self._header_at(block)
        return self._evm.get_vm(header).state

    def block_at(self, ref: int | bytes) -> BlockAPI | None:
        """A mined block by number or by hash; None when there is none."""
        self._check_open()
        try:
            if isinstance(ref, int):
                if not 0 <= ref <= self._head.block_number:
                    return None
                return self._evm.get_canonical_block_by_number(BlockNumber(ref))
            return self._evm.get_block_by_hash(Hash32(ref))
        except (BlockNotFound, HeaderNotFound):
            return None

    def transaction_position(self, tx_hash: bytes) -> tuple[int, int] | None:
        """(block number, index in the block) of a mined transaction, or None."""
        self._check_open()
        row = self._store.connection.execute(
            "SELECT block_number, tx_index FROM txs WHERE hash = ?", (tx_hash,)
        ).fetchone()
        return None if row is None else (int(row[0]), int(row[1]))

    # -- time ---------------------------------------------------------------------------

    def now(self) -> int:
        self._check_open()
        return self._next_timestamp(self._head)

    def set_time(self, timestamp: int) -> None:
        with self.command():
            current = self.now()
            if timestamp < current:
                raise ChainError(
                    f"cannot move the clock back: the next block is at {current}, "
                    f"asked for {timestamp}",
                    hint="time only moves forward",
                )
            # The next block carries exactly `timestamp`; later ones follow the wall clock
            # from there, as on anvil.
            self._time_offset = timestamp - int(self._clock())
            self._pinned_timestamp = timestamp
            self._write_clock()

    # -- internals: mining --------------------------------------------------------------

    def _mine(
        self,
        txs: list[SignedTransactionAPI],
        *,
        fail_fast: bool,
        vm: VirtualMachineAPI | None = None,
    ) -> list[Receipt]:
        """Apply ``txs`` in order, in as few blocks as the gas limit allows, and index them.

        ``vm`` is the pending block's VM if the caller already built it. With ``fail_fast``
        the first failing transaction raises before anything is mined.
        """
        results: list[Receipt] = []
        position = 0
        while position < len(txs):
            if vm is None:
                vm = self._evm.get_vm(self._pending_header())
            header = vm.get_header()
            block_txs: list[SignedTransactionAPI] = []
            receipts: list[ReceiptAPI] = []
            computations: list[ComputationAPI] = []
            while position < len(txs):
                tx = txs[position]
                if block_txs and header.gas_used + tx.gas > header.gas_limit:
                    break  # the block is full: seal it and go on in the next one
                try:
                    receipt, computation = vm.apply_transaction(header, tx)
                except ValidationError as error:
                    raise ChainError(f"transaction rejected: {error}") from error
                if fail_fast and computation.is_error:
                    raise TransactionReverted(_computation_failure(computation))
                header = vm.add_receipt_to_header(header, receipt)
                header = vm.increment_blob_gas_used(header, tx)
                block_txs.append(tx)
                receipts.append(receipt)
                computations.append(computation)
                position += 1
            block = self._seal(vm, header, block_txs, receipts)
            results.extend(self._index(block, receipts, computations))
            vm = None
        return results

    def _seal(
        self,
        vm: VirtualMachineAPI,
        header: BlockHeaderAPI,
        txs: list[SignedTransactionAPI],
        receipts: list[ReceiptAPI],
    ) -> BlockAPI:
        filled = vm.set_block_transactions_and_withdrawals(vm.get_block(), header, txs, receipts)
        # prevrandao: deterministic, derived from the parent, so replays are reproducible.
        mined = vm.mine_block(filled, mix_hash=keccak(header.parent_hash)).block
        self._evm.chaindb.persist_block(mined)
        self._head = mined.header
        self._read_state = None  # reads see the new head from now on
        if self._pinned_timestamp is not None:
            self._pinned_timestamp = None
            self._write_clock()
        return mined

    def _index(
        self,
        block: BlockAPI,
        receipts: list[ReceiptAPI],
        computations: list[ComputationAPI],
    ) -> list[Receipt]:
        number = int(block.number)
        # The block's transactions, compressed, in the store's bodies. Its receipt trie,
        # like the raw transaction trie, is garbage that pruning deletes as the command
        # commits (the index below serves receipts and logs; chain/prune.py).
        self._store.put_bodies(_trie_nodes(block.transactions))
        results: list[Receipt] = []
        cumulative = 0
        log_index = 0
        for tx_index, (tx, receipt, computation) in enumerate(
            zip(block.transactions, receipts, computations, strict=True)
        ):
            tx_hash = bytes(tx.hash)
            gas_used = receipt.gas_used - cumulative  # py-evm's gas_used is cumulative
            cumulative = receipt.gas_used
            status = 0 if computation.is_error else 1
            reason = _computation_failure(computation) if status == 0 else None
            contract = bytes(computation.msg.storage_address) if status == 1 and not tx.to else None
            logs: list[Log] = []
            for entry in receipt.logs:
                logs.append(
                    Log(
                        address=to_checksum_address(entry.address),
                        topics=tuple(t.to_bytes(32, "big") for t in entry.topics),
                        data=bytes(entry.data),
                        block_number=number,
                        tx_hash=tx_hash,
                        log_index=log_index,
                    )
                )
                log_index += 1
            self._logs.add_tx((tx_hash, number, tx_index, status, gas_used, contract, reason))
            self._logs.add_logs(number, tx_index, logs)
            results.append(
                Receipt(
                    tx_hash=tx_hash,
                    status=status,
                    gas_used=gas_used,
                    block_number=number,
                    logs=tuple(logs),
                    contract_address=to_checksum_address(contract) if contract else None,
                    revert_reason=reason,
                )
            )
        return results

    def _sign(
        self,
        key: PrivateKey,
        nonce: int,
        to: str | None,
        data: bytes,
        gas: int,
        header: BlockHeaderAPI,
    ) -> SignedTransactionAPI:
        builder = cast(type[PragueTransactionBuilder], PragueVM.get_transaction_builder())
        unsigned = builder.new_unsigned_dynamic_fee_transaction(
            chain_id=CHAIN_ID,
            nonce=nonce,
            max_priority_fee_per_gas=_PRIORITY_FEE,
            # Headroom so that a batch spilling into later blocks stays valid if the base
            # fee rises; only the base fee is charged.
            max_fee_per_gas=2 * (header.base_fee_per_gas or 0) + 10**9,
            gas=gas,
            to=self._to(to),
            value=0,
            data=bytes(data),
            access_list=(),
        )
        return unsigned.as_signed_transaction(key)

    def _to(self, to: str | None) -> Address:
        # py-evm spells "create a contract" as an empty `to`.
        return to_canonical_address(self.address_of(to)) if to else Address(b"")

    def _key_for(self, sender: str) -> PrivateKey:
        address = to_canonical_address(self.address_of(sender))
        try:
            return self._keys[address]
        except KeyError:
            raise ChainError(
                f"the embedded chain has no key for {to_checksum_address(address)}",
                hint="send as one of: " + ", ".join(self.accounts),
            ) from None

    # -- internals: pruning ---------------------------------------------------------------

    def _prune(self, *, at_once: bool = False) -> int:
        """Count the references of what this command wrote and delete what no recent block
        needs (chain/prune.py); the number of nodes deleted. With ``pruning`` off (and not
        ``at_once``), only note that rows wait uncounted: the next pruning counts them."""
        if not (self.pruning or at_once):
            leave_uncounted(self._store)
            return 0
        deleted = prune_chain(self._store, self._head, self.recent_states)
        if deleted:
            self._read_state = None
        return deleted

    # -- internals: state and clock ------------------------------------------------------

    def _pending_header(self) -> BlockHeaderAPI:
        head = self._head
        return self._evm.create_header_from_parent(head, timestamp=self._next_timestamp(head))

    def _next_timestamp(self, head: BlockHeaderAPI) -> int:
        # One rule with the read-only snapshot's clock (py-evm requires strictly increasing
        # block timestamps).
        return next_timestamp(
            int(head.timestamp), self._pinned_timestamp, self._time_offset, self._clock
        )

    def _scratch_state(self, parent: BlockHeaderAPI | None = None) -> StateAPI:
        """State of the next block, free of charge, that is never persisted (eth_call).
        With ``parent``, the state of the block after it, built afresh (a call at a past
        block, for ``claims node``; pruning keeps only the recent states).

        It is kept warm between calls (its caches of accounts, storage and trie nodes), and
        built again when the head or the next block's timestamp changes. A caller applies
        its transaction between ``snapshot()`` and ``revert()``, so the state stays the
        head's: a read never sees another read's writes.
        """
        if parent is not None:
            header = self._evm.create_header_from_parent(parent, timestamp=parent.timestamp + 1)
            return self._evm.get_vm(header.copy(base_fee_per_gas=0)).state
        head = self._head
        timestamp = self._next_timestamp(head)
        key = (bytes(head.hash), timestamp)
        if self._read_state is None or self._read_state[0] != key:
            header = self._evm.create_header_from_parent(head, timestamp=timestamp)
            state = self._evm.get_vm(header.copy(base_fee_per_gas=0)).state
            if self._read_state is not None and self._read_state[0][0] == key[0]:
                # Same head, a later second: the accounts and storage read so far are still
                # the head's; only the block context (its timestamp) differs.
                warm = self._read_state[1]
                state._account_db = warm._account_db  # type: ignore[attr-defined]
            self._read_state = (key, state)
        return self._read_state[1]

    def sandbox_state(self) -> StateAPI:
        """A fresh state of the next block (its timestamp as a transaction would get it),
        never persisted and never shared with view calls: a caller may apply transactions
        to it and keep their effects across calls (an estimate of several claims)."""
        self._check_open()
        head = self._head
        header = self._evm.create_header_from_parent(head, timestamp=self._next_timestamp(head))
        return self._evm.get_vm(header.copy(base_fee_per_gas=0)).state

    def _header_at(self, number: int) -> BlockHeaderAPI:
        if not 0 <= number <= self._head.block_number:
            latest = self._head.block_number
            raise ChainError(f"no block {number} on this chain (the latest is {latest})")
        return self._evm.chaindb.get_canonical_block_header_by_number(BlockNumber(number))

    def _try(
        self, state: StateAPI, sender: str | None, to: str | None, data: bytes, gas: int
    ) -> ComputationAPI:
        """Run a transaction on ``state`` and undo it: the state is left as it was."""
        snapshot = state.snapshot()
        try:
            return state.apply_transaction(self._spoof(state, sender, to, data, gas))
        finally:
            state.revert(snapshot)

    def _view(
        self, state: StateAPI, sender: str | None, to: str, data: bytes, gas: int
    ) -> ComputationAPI:
        """Run a call's message on ``state`` and undo it: what ``_try`` does, without the
        transaction's bookkeeping around it (charging the fee, the sender's nonce, refunds).

        The message, its context and the addresses it starts warm are the transaction's,
        built by py-evm's own executor, so the output is the same; only ``_try`` gives
        the gas a transaction would use (``estimate_gas``).
        """
        spoof = self._spoof(state, sender, to, data, gas)
        executor = state.get_transaction_executor()
        snapshot = state.snapshot()
        try:
            code, delegation = executor.get_code_at_address(spoof.to)  # type: ignore[attr-defined]
            message = Message(
                gas=spoof.gas - spoof.intrinsic_gas,
                to=spoof.to,
                sender=spoof.sender,
                value=0,
                data=spoof.data,
                code=code,
                is_delegation=delegation is not None,
            )
            return executor.build_computation(message, spoof)
        finally:
            state.revert(snapshot)
            state.clear_transient_storage()  # type: ignore[attr-defined]

    def _spoof(
        self, state: StateAPI, sender: str | None, to: str | None, data: bytes, gas: int
    ) -> SignedTransactionAPI:
        origin = to_canonical_address(self.address_of(sender)) if sender else ZERO_ADDRESS
        unsigned = PragueVM.get_transaction_builder().create_unsigned_transaction(
            nonce=state.get_nonce(origin),
            gas_price=0,
            gas=gas,
            to=self._to(to),
            value=0,
            data=bytes(data),
        )
        return SpoofTransaction(unsigned, from_=origin)  # type: ignore[return-value]

    def _reload(self) -> None:
        self._read_state = None
        self._logs = LogIndex(self._store.connection)
        self._evm = _PragueChain(AtomicDB(self._store))
        self._head = self._evm.get_canonical_head()
        rows = dict(self._store.connection.execute("SELECT name, value FROM meta").fetchall())
        self._time_offset = int(rows.get("time_offset") or 0)
        pinned = rows.get("pinned_timestamp")
        self._pinned_timestamp = int(pinned) if pinned else None

    def _write_clock(self) -> None:
        self._store.connection.executemany(
            "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)",
            [
                ("time_offset", str(self._time_offset)),
                (
                    "pinned_timestamp",
                    "" if self._pinned_timestamp is None else str(self._pinned_timestamp),
                ),
            ],
        )

    def _check_open(self) -> None:
        if self._closed:
            raise ChainError("the chain is closed")


def _trie_nodes(items: Sequence[SignedTransactionAPI] | Sequence[ReceiptAPI]) -> dict[bytes, bytes]:
    """The nodes of the trie of a block's transactions or receipts, but the blank root (a
    node the state's empty tries share)."""
    _root, nodes = make_trie_root_and_nodes(items)  # type: ignore[arg-type]
    return {bytes(key): value for key, value in nodes.items() if key != BLANK_ROOT_HASH}


def _is_initialised(store: SqliteKV) -> bool:
    row = store.connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    if row is None:
        return False
    version = store.connection.execute(
        "SELECT value FROM meta WHERE name = 'schema_version'"
    ).fetchone()
    if version is None:
        return False
    if version[0] in OLDER_SCHEMAS:
        migrate(store, version[0])  # once, in one transaction (chain/migrate.py)
    elif version[0] != _SCHEMA_VERSION:
        raise ChainError(
            f"{store.path} was written by another claimsengine version (schema {version[0]})",
            hint="use the matching claimsengine, or `claims init` a fresh --state",
        )
    keys = store.connection.execute("SELECT value FROM meta WHERE name = 'storage_keys'")
    store.path_keys = keys.fetchone() == ("path",)
    if store.path_keys and _reads_storage_by_hash():
        raise ChainError(
            f"{store.path} keeps contract storage by path, which CLAIMS_EVM=reference"
            " (py-evm's own storage, read by hash) cannot read",
            hint="unset CLAIMS_EVM, or `claims init` a fresh --state with it set",
        )
    return True


def _initialise(store: SqliteKV, timestamp: int) -> None:
    """Create the genesis block (funded dev accounts) and the index tables, in one go."""
    store.begin()
    store.path_keys = _new_chains_keep_paths()
    try:
        for statement in _INDEX_SCHEMA.split(";"):
            if statement.strip():
                store.connection.execute(statement)
        genesis_params: dict[str, Any] = {
            "coinbase": ZERO_ADDRESS,
            "difficulty": 0,
            "extra_data": b"claimsengine",
            "gas_limit": BLOCK_GAS_LIMIT,
            "mix_hash": ZERO_HASH32,
            "nonce": b"\x00" * 8,
            "receipt_root": BLANK_ROOT_HASH,
            "timestamp": timestamp,
            "transaction_root": BLANK_ROOT_HASH,
        }
        genesis_state: dict[Address, Any] = {
            _address(_dev_key(hex_key)): {
                "balance": DEV_BALANCE,
                "nonce": 0,
                "code": b"",
                "storage": {},
            }
            for hex_key in _DEV_KEYS.values()
        }
        genesis = _PragueChain.from_genesis(AtomicDB(store), genesis_params, genesis_state)
        prune_chain(store, genesis.get_canonical_head())
        store.connection.executemany(
            "INSERT INTO meta (name, value) VALUES (?, ?)",
            [
                ("schema_version", _SCHEMA_VERSION),
                ("storage_keys", "path" if store.path_keys else "hash"),
                ("time_offset", "0"),
                ("pinned_timestamp", ""),
            ],
        )
        store.commit()
    except BaseException:
        store.rollback()
        raise
