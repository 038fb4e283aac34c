"""Contract storage for the embedded chain's fast path: batched storage roots, lean reads.

py-evm keeps each account's storage behind a ``StorageLookup``, a ``HexaryTrie`` that takes
every write at once (rewriting and re-hashing the slot's whole path) and every read by
walking the trie with its general-purpose machinery. ``BatchStorageLookup`` takes its place,
with the same interface and the same results:

- writes wait in a dict until the storage root is asked for (at the end of a block), then go
  into the trie together (chain/trie_batch.py): each changed node encoded and hashed once;
- reads see those pending writes first, then the account's flat slot map (below), then walk
  the trie through a cache of decoded nodes.

The flat slot map (``_Flat``) is what this process knows of an account's storage at one
storage root: slot -> value (b"" for an empty slot), filled by reads and moved forward by
each commit (the block's writes applied, the new root recorded), so a slot read again in a
later block costs one dict lookup, not a walk from the root. It is keyed by the root, which
fixes the storage's content: a lookup at another root (a command rolled back, a past
block, another chain in the process) does not use it, and a lookup left behind when the map
moves on sees that its root no longer matches and walks the trie.

``FastAccountDB`` is py-evm's ``AccountDB`` with this lookup under every account's storage;
the embedded chain's fast state uses it (not ``CLAIMS_EVM=reference``). State roots, node
bytes and so blocks are identical to py-evm's: tests/unit/test_trie_batch.py compares the
tries and whole account databases, tests/unit/test_fast_storage_replay.py and
tests/unit/test_fast_evm.py whole workloads' block hashes.
"""

from __future__ import annotations

from typing import Any

from eth.abc import AccountStorageDatabaseAPI, DatabaseAPI
from eth.db.account import AccountDB
from eth.db.backends.memory import MemoryDB
from eth.db.cache import CacheDB
from eth.db.journal import JournalDB
from eth.db.storage import CLEAR_COUNT_KEY_NAME, AccountStorageDB
from eth_hash.auto import keccak
from eth_typing import Address, Hash32
from eth_utils import ValidationError, int_to_big_endian, to_bytes

from claimsengine.chain import trie_batch

__all__ = ["BatchStorageLookup", "FastAccountDB", "FastAccountStorageDB"]

_ZERO = b"\x00" * 32
#: Slots one flat map holds before it starts again empty, and flat maps kept per process.
_FLAT_SLOTS = 400_000
_FLAT_MAPS = 64


class _Flat:
    """An account's slots as this process knows them at ``root``."""

    __slots__ = ("root", "slots")

    def __init__(self, root: bytes, slots: dict[bytes, bytes]) -> None:
        self.root = root
        self.slots = slots


#: (address, storage root) -> the flat map at that root
_flats: dict[tuple[bytes, bytes], _Flat] = {}


def _flat_at(address: bytes, root: bytes) -> _Flat:
    flat = _flats.get((address, root))
    if flat is None:
        if len(_flats) >= _FLAT_MAPS:
            _flats.clear()
        flat = _flats[(address, root)] = _Flat(root, {})
    return flat


class BatchStorageLookup:
    """py-evm's ``StorageLookup`` (slot key -> RLP value), writing to the trie in batches.

    Keys are a slot's big-endian bytes, as ``AccountStorageDB`` passes them. A missing
    slot reads as b"", as from py-evm's trie.
    """

    def __init__(self, db: DatabaseAPI, storage_root: Hash32, address: Address) -> None:
        self._db = db
        self._address = address
        self._initialise(storage_root)

    def _initialise(self, root: bytes) -> None:
        self._root = root
        self._flat = _flat_at(self._address, root)
        #: slot key -> new value (b"": deleted), in the order written
        self._pending: dict[bytes, bytes] = {}
        # Any write, or an emptied trie, since the last commit (py-evm's "changed root").
        self._dirty = False
        self._result: tuple[bytes, dict[bytes, bytes]] | None = None
        self._history: list[tuple[bytes, dict[bytes, bytes], bool]] = []

    # -- the key-value interface ---------------------------------------------------------

    def __getitem__(self, key: bytes) -> bytes:
        pending = self._pending.get(key)
        if pending is not None:
            return pending
        flat = self._flat
        if flat.root != self._root:
            return trie_batch.get(self._db.__getitem__, self._root, _path(key))
        value = flat.slots.get(key)
        if value is None:
            value = trie_batch.get(self._db.__getitem__, self._root, _path(key))
            if len(flat.slots) >= _FLAT_SLOTS:
                flat.slots.clear()
            flat.slots[key] = value
        return value

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._pending[key] = value
        self._dirty = True
        self._result = None

    def __delitem__(self, key: bytes) -> None:
        self[key] = b""

    def __contains__(self, key: bytes) -> bool:
        return self[key] != b""

    def _exists(self, key: bytes) -> bool:
        return key in self

    # -- what AccountStorageDB asks of its lookup ----------------------------------------

    @property
    def has_changed_root(self) -> bool:
        return self._dirty

    def get_changed_root(self) -> Hash32:
        if not self._dirty:
            raise ValidationError("Asked for changed root when no writes have been made")
        return Hash32(self._compute()[0])

    def _compute(self) -> tuple[bytes, dict[bytes, bytes]]:
        if self._result is None:
            changes = {_path(key): value for key, value in self._pending.items()}
            self._result = trie_batch.apply(self._db.__getitem__, self._root, changes)
        return self._result

    def commit_to(self, db: DatabaseAPI) -> None:
        if not self._dirty:
            raise ValidationError("no changes to commit to this account's storage")
        root, nodes = self._compute()
        for node_hash, encoded in nodes.items():
            db[node_hash] = encoded
        flat = self._flat
        if flat.root == self._root and _flats.get((self._address, flat.root)) is flat:
            # Move the map on to the new root: what it knew, with this block's writes.
            del _flats[(self._address, flat.root)]
            flat.slots.update(self._pending)
            flat.root = root
            _flats[(self._address, root)] = flat
        self._initialise(root)

    def new_trie(self) -> int:
        """Empty the storage (a self-destruct), keeping what was there for a revert."""
        self._dirty = True
        self._history.append((self._root, self._pending, True))
        self._root = trie_batch.BLANK_ROOT
        self._pending = {}
        self._result = None
        return len(self._history)

    def rollback_trie(self, trie_index: int) -> None:
        if trie_index >= len(self._history):
            raise ValidationError(
                f"Trying to roll back a delete to index {trie_index}, but there are "
                f"only {len(self._history)} indices available."
            )
        self._root, self._pending, self._dirty = self._history[trie_index]
        self._result = None
        del self._history[trie_index:]


def _path(key: bytes) -> bytes:
    """The trie path of a slot: the nibbles of keccak(slot as 32 bytes)."""
    return trie_batch.nibbles(keccak(_ZERO[len(key) :] + key))


class FastAccountStorageDB(AccountStorageDB):
    """py-evm's ``AccountStorageDB`` over a ``BatchStorageLookup`` (its layers as py-evm
    builds them: lookup -> cache -> locked changes -> journal), with a slot's value turned
    to and from its RLP form directly (an integer of at most 32 bytes) rather than through
    the general RLP codec."""

    def __init__(self, db: Any, storage_root: Hash32, address: Address) -> None:
        self._address = address
        self._storage_lookup = BatchStorageLookup(db, storage_root, address)  # type: ignore[assignment]
        self._storage_cache = CacheDB(self._storage_lookup)  # type: ignore[arg-type]
        self._locked_changes = JournalDB(self._storage_cache)
        self._journal_storage = JournalDB(self._locked_changes)
        self._accessed_slots: set[int] = set()
        self._clear_count = JournalDB(MemoryDB({CLEAR_COUNT_KEY_NAME: to_bytes(0)}))

    def get(self, slot: int, from_journal: bool = True) -> int:
        self._accessed_slots.add(slot)
        lookup_db = self._journal_storage if from_journal else self._locked_changes
        try:
            encoded = lookup_db[int_to_big_endian(slot)]
        except KeyError:
            return 0
        if len(encoded) == 1 and encoded[0] < 0x80:
            return encoded[0]  # a value under 128 is its own encoding
        return int.from_bytes(encoded[1:], "big")  # b"" and b"\x80" read as 0

    def set(self, slot: int, value: int) -> None:
        if not value:
            super().set(slot, value)  # a deletion, as py-evm does it
            return
        data = int_to_big_endian(value)
        encoded = data if len(data) == 1 and value < 0x80 else bytes((0x80 + len(data),)) + data
        self._journal_storage[int_to_big_endian(slot)] = encoded


class FastAccountDB(AccountDB):
    """py-evm's ``AccountDB`` whose accounts keep their storage in ``FastAccountStorageDB``."""

    def _get_address_store(self, address: Address) -> AccountStorageDatabaseAPI:
        store = self._account_stores.get(address)
        if store is None:
            storage_root = self._get_storage_root(address)
            store = FastAccountStorageDB(self._raw_store_db, storage_root, address)
            self._account_stores[address] = store
        return store
