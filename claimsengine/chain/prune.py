"""Pruning the embedded chain's state: keep the nodes of the head's state, drop the rest.

py-evm writes every trie node it makes into the key-value store and never deletes one, so a
chain keeps every historical state (an archive node): most of the file would be nodes that
no later state refers to. The embedded chain reads only its head's state (calls, balances,
the next block), and a command that fails is undone by its SQL transaction, not by an older
state root. So, as a geth full node does, it keeps the head's state alone:

- the nodes reachable from the head's state root (the account trie, each account's storage
  trie and its code);
- every block header (the ``block-number-to-hash`` lookup names them), so the chain of
  headers, ``BLOCKHASH`` and the block numbers stay as they were;
- every key that names no node (py-evm's lookups: canonical head, scores, the
  transaction-to-block index).

Every block's transactions (its transaction trie) stay too, as a geth full node keeps its
blocks: what was sent stays readable, and auditable (the privacy scan reads every
calldata). They live compressed in the store's ``bodies`` table (chain/kvstore.py), which
pruning never touches; ``move_block_bodies`` moves them there from a chain written before.

**Reference counts.** Each row of ``kv`` under a node key (a 32-byte hash, or a storage
node's path key: chain/nodekeys.py) carries in ``refs`` how many
stored nodes refer to it, plus one for each recent block whose state root it is (its pins:
the head's alone for the CLI; the last 128 blocks' for ``claims node``, as geth keeps them
for calls at a recent block); -1 (``KEPT``) marks a row that is kept whatever refers to it
(headers, the blank trie root, the empty uncle list). A row that py-evm has just written has
no count yet (NULL). As a command commits, ``collect`` counts the references of the rows it
wrote, moves the pins to the recent blocks' roots, and deletes every row whose count is
zero, then, one after another, the rows that only those referred to. Its work follows
what the command wrote and what became garbage, not the size of the state: the head of a
chain of 100,000 claims costs as little to keep as that of a fresh one.

Counting is exact where a walk of the tries would not be safe to cut short: one node can sit
in two places (two contracts whose storage holds the same slot with the same value share the
leaf; a state that goes back to an earlier value writes the same node again), and it goes
only when the last place lets it go. ``live_keys`` (a walk of the whole live state) is the
reference the tests hold the counts to. What a stored value refers to is read by
chain/noderefs.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from itertools import chain
from typing import Any

from eth.abc import BlockHeaderAPI
from eth.constants import BLANK_ROOT_HASH, EMPTY_UNCLE_HASH

from claimsengine.chain.kvstore import SqliteKV
from claimsengine.chain.nodekeys import SQL_NODE_KEY, hash_key, is_node_key, root_key
from claimsengine.chain.noderefs import EMPTY_CODE_HASH, node_references, references, rlp_decode

__all__ = [
    "KEPT",
    "NODE_RECENT_STATES",
    "RECENT_STATES",
    "collect",
    "forget_counts",
    "leave_uncounted",
    "live_keys",
    "move_block_bodies",
    "prune_chain",
    "storage_nodes",
]

#: ``refs`` of a row that pruning never deletes.
KEPT = -1
#: Blocks whose state stays readable, the head's and those before it: the CLI reads the
#: head's alone; ``claims node`` keeps the last 128, as geth does, for calls at a recent
#: block (a client replays a failed transaction on the state before it).
RECENT_STATES = 1
NODE_RECENT_STATES = 128
_STATE_ROOT = 3  # a header's fields: parent, uncles, coinbase, state root, ...
_TRANSACTION_ROOT = 4  # a header's fields: parent, uncles, coinbase, state root, tx root
_NUMBER_TO_HASH = b"block-number-to-hash:"
_KEYS_PER_QUERY = 500  # under sqlite's limit of bound parameters (999 in older builds)
#: Counting a whole file holds its uncounted rows in memory (about 800 bytes a row) up to
#: this many; beyond, it goes ``_ROWS_PER_CHUNK`` rows at a time, in bounded memory but
#: about three times slower (``_collect_everything``).
_ROWS_IN_MEMORY = 250_000
_ROWS_PER_CHUNK = 10_000
# The first key after every "block-number-to-hash:<n>" key (";" follows ":" in ASCII).
_NUMBER_TO_HASH_END = b"block-number-to-hash;"


# -- counting and collecting ----------------------------------------------------------------


def _rows(
    store: SqliteKV, columns: str, keys: Iterable[bytes], where: str = "", table: str = "kv"
) -> dict[bytes, Any]:
    """``key -> columns`` (a value, or a tuple of several) for the rows of ``table`` among
    ``keys`` (and ``where``), a few hundred keys a query."""
    wanted = list(keys)
    found: dict[bytes, Any] = {}
    for start in range(0, len(wanted), _KEYS_PER_QUERY):
        chunk = wanted[start : start + _KEYS_PER_QUERY]
        marks = ", ".join("?" * len(chunk))
        rows = store.connection.execute(
            f"SELECT key, {columns} FROM {table} WHERE key IN ({marks}){where}", chunk
        )
        if "," in columns:
            found.update((row[0], row[1:]) for row in rows)
        else:
            found.update(rows)  # pairs already: the quicker path for one column
    return found


def _uncounted(store: SqliteKV, written: Iterable[bytes] | None) -> dict[bytes, bytes]:
    """The rows among ``written`` (every row when None) that have no count yet."""
    if written is None:
        rows = store.connection.execute(
            f"SELECT key, value FROM kv WHERE refs IS NULL AND {SQL_NODE_KEY}"
        )
        return {bytes(key): bytes(value) for key, value in rows}
    return _rows(store, "value", (key for key in written if is_node_key(key)), " AND refs IS NULL")


def _many_uncounted(store: SqliteKV) -> bool:
    """Whether more rows than ``_ROWS_IN_MEMORY`` wait without a count."""
    (count,) = store.connection.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM kv WHERE refs IS NULL AND {SQL_NODE_KEY} LIMIT ?)",
        (_ROWS_IN_MEMORY + 1,),
    ).fetchone()
    return bool(count > _ROWS_IN_MEMORY)


class _Counts:
    """The changes of one collection: counts of the new rows, changes to the counted ones,
    and what goes."""

    def __init__(self, store: SqliteKV, new: dict[bytes, bytes], kept: set[bytes]) -> None:
        self.store = store
        self.kept = {key for key in new if key in kept}
        path_keys = store.path_keys
        self.children = {
            key: references(value, key, path_keys) for key, value in new.items() if key not in kept
        }
        self.new = dict.fromkeys(self.children, 0)
        self.change: dict[bytes, int] = {}  # to the counts of rows counted before
        self.stored: dict[bytes, int | None] = {}  # those counts, as read
        self.values: dict[bytes, bytes] = {}  # and those rows' values, read with them
        self.dead: list[bytes] = []
        for refs in self.children.values():
            for child in refs:
                self.add(child, 1)

    def add(self, key: bytes, amount: int) -> None:
        if key in self.new:
            self.new[key] += amount
        elif key not in self.kept:
            self.change[key] = self.change.get(key, 0) + amount

    def drop(self, key: bytes, refs: list[bytes]) -> list[bytes]:
        """``key`` goes: what it referred to loses a reference; the new rows that now have
        none are returned."""
        self.dead.append(key)
        orphans = []
        for child in refs:
            self.add(child, -1)
            if self.new.get(child) == 0:
                orphans.append(child)
        return orphans

    def sweep(self) -> None:
        """Drop every row left with no reference, then those only they referred to."""
        pending = [key for key, count in self.new.items() if count == 0]
        gone: set[bytes] = set()
        while True:
            while pending:
                key = pending.pop()
                gone.add(key)
                pending.extend(self.drop(key, self.children[key]))
            # Rows counted before that lost references: read their counts to see which go.
            losing = [key for key, n in self.change.items() if n < 0 and key not in gone]
            self._read_counts([key for key in losing if key not in self.stored])
            dying = []
            for key in losing:
                stored = self.stored[key]
                if stored is None or stored == KEPT:
                    continue  # no such row (a reference that only code seemed to make), or kept
                left = stored + self.change[key]
                if left < 0:
                    raise _below_zero(key)
                if left == 0:
                    dying.append(key)
            if not dying:
                return
            values = self._read_values(dying)
            for key in dying:
                gone.add(key)
                refs = references(values[key], key, self.store.path_keys)
                pending.extend(self.drop(key, refs))

    def _read_values(self, keys: list[bytes]) -> dict[bytes, bytes]:
        """The values of rows whose counts were read (one lookup a row for both: most rows
        that lose a reference lose their last)."""
        missing = [key for key in keys if key not in self.values]
        self.values.update(_rows(self.store, "value", missing))
        return {key: self.values[key] for key in keys}

    def _read_counts(self, keys: list[bytes]) -> None:
        for key, (refs, value) in _rows(self.store, "refs, value", keys).items():
            self.stored[key] = refs
            self.values[key] = value
        for key in keys:
            self.stored.setdefault(key, None)

    def write(self) -> None:
        for key, count in self.new.items():
            if count < 0:
                raise _below_zero(key)
        connection = self.store.connection
        dead = set(self.dead)
        connection.executemany(
            "UPDATE kv SET refs = ? WHERE key = ?",
            [(count, key) for key, count in self.new.items() if key not in dead]
            + [(KEPT, key) for key in self.kept],
        )
        connection.executemany(
            "UPDATE kv SET refs = refs + ? WHERE key = ? AND refs >= 0",
            [(n, key) for key, n in self.change.items() if n and key not in dead],
        )
        connection.executemany("DELETE FROM kv WHERE key = ?", [(key,) for key in self.dead])


def _below_zero(key: bytes) -> RuntimeError:
    return RuntimeError(
        f"the reference count of 0x{key.hex()} fell below zero: the chain file's counts are "
        "wrong, and nothing was deleted (EmbeddedChain.recount() counts them again)"
    )


def collect(
    store: SqliteKV,
    pins: dict[bytes, int],
    kept: set[bytes],
    *,
    everything: bool = False,
) -> tuple[int, int]:
    """Count the references of the rows written in this transaction (``everything``: of
    every row without a count, as a chain from before the counts needs once), add ``pins``
    (state roots to keep, +1; to let go, -1), and delete what nothing refers to any more.
    ``kept``: the new rows never to delete (the new blocks' headers); the blank trie root
    and the empty uncle list are always kept. Runs inside the caller's SQL transaction and
    drops from the store's cache what it deleted. Returns (rows counted, rows deleted)."""
    kept = kept | {BLANK_ROOT_HASH, EMPTY_UNCLE_HASH}
    if everything and _many_uncounted(store):
        return _collect_everything(store, pins, kept)
    new = _uncounted(store, None if everything else store.written)
    counts = _Counts(store, new, kept)
    for root, change in pins.items():
        counts.add(root, change)
    counts.sweep()
    counts.write()
    store.forget(counts.dead)
    return len(new), len(counts.dead)


def _collect_everything(
    store: SqliteKV, pins: dict[bytes, int], kept: set[bytes]
) -> tuple[int, int]:
    """``collect`` of every row without a count (a migration, a repair, the first pruning
    after archive mode) when there are too many to hold in memory: ``_ROWS_PER_CHUNK`` rows
    at a time, what they refer to added up in a temporary table, what goes queued in
    another and what went noted in a third, so that a file of millions of rows is counted
    in the memory of one chunk. The result is ``_Counts``'s, row for row."""
    connection = store.connection
    for table, columns in _TEMPORARY.items():
        connection.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table} ({columns}) WITHOUT ROWID")
        connection.execute(f"DELETE FROM {table}")
    try:
        counted = _count_references(store, pins, kept)
        deleted = _delete_unreferenced(store)
    finally:
        for table in _TEMPORARY:  # emptied, not dropped: a drop fails beside an open read
            connection.execute(f"DELETE FROM {table}")
    store.forget()
    return counted, deleted


#: The temporary tables of a whole-file count: references gained (less those lost since;
#: ``new``: the row had no count before), rows to delete, rows deleted.
_TEMPORARY = {
    "prune_gained": "key BLOB PRIMARY KEY, n INTEGER NOT NULL, new INTEGER NOT NULL DEFAULT 0",
    "prune_doomed": "key BLOB PRIMARY KEY",
    "prune_deleted": "key BLOB PRIMARY KEY",
}


def _add_gains(store: SqliteKV, gains: Iterable[tuple[bytes, int]]) -> None:
    store.connection.executemany(
        "INSERT INTO prune_gained (key, n) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET n = n + excluded.n",
        gains,
    )


def _count_references(store: SqliteKV, pins: dict[bytes, int], kept: set[bytes]) -> int:
    """Give every row without a count its count (kept rows: ``KEPT``), and the rows counted
    before what the others add to theirs; queue the rows this leaves at 0 (and those only:
    a row found at 0 that this count did not set is a wrong count, never a reason to
    delete). Returns the number of rows that had no count."""
    connection = store.connection
    counted = 0
    last = b""
    while True:
        rows = connection.execute(
            f"SELECT key, value FROM kv WHERE key > ? AND refs IS NULL AND {SQL_NODE_KEY}"
            " ORDER BY key LIMIT ?",
            (last, _ROWS_PER_CHUNK),
        ).fetchall()
        if not rows:
            break
        last = rows[-1][0]
        counted += len(rows)
        gains: Counter[bytes] = Counter()
        for key, value in rows:
            if key not in kept:
                gains.update(references(value, key, store.path_keys))
        _add_gains(store, gains.items())
    _add_gains(store, pins.items())
    connection.executemany(
        "UPDATE kv SET refs = ? WHERE key = ? AND refs IS NULL", [(KEPT, key) for key in kept]
    )
    wrong = connection.execute(
        "SELECT g.key FROM prune_gained g JOIN kv ON kv.key = g.key"
        " WHERE (kv.refs >= 0 AND kv.refs + g.n < 0) OR (kv.refs IS NULL AND g.n < 0) LIMIT 1"
    ).fetchone()
    if wrong is not None:
        raise _below_zero(wrong[0])
    connection.execute(
        "UPDATE prune_gained SET new = 1"
        f" WHERE key IN (SELECT key FROM kv WHERE refs IS NULL AND {SQL_NODE_KEY})"
    )
    # What goes: rows counted before that a pin let go of, and new rows nothing refers to
    # (those stay uncounted: they are deleted, not written).
    connection.execute(
        "INSERT INTO prune_doomed (key) SELECT g.key FROM prune_gained g"
        " JOIN kv ON kv.key = g.key WHERE kv.refs >= 0 AND g.n < 0 AND kv.refs + g.n = 0"
    )
    connection.execute(
        f"INSERT INTO prune_doomed (key) SELECT key FROM kv WHERE refs IS NULL AND {SQL_NODE_KEY}"
        " AND NOT EXISTS (SELECT 1 FROM prune_gained g WHERE g.key = kv.key AND g.n != 0)"
    )
    # The rows counted before first: the others are not counted yet, so not matched twice.
    connection.execute(
        "UPDATE kv SET refs = refs + (SELECT n FROM prune_gained g WHERE g.key = kv.key)"
        " WHERE key IN (SELECT key FROM prune_gained) AND refs >= 0"
    )
    connection.execute(
        "UPDATE kv SET refs = (SELECT n FROM prune_gained g WHERE g.key = kv.key)"
        f" WHERE refs IS NULL AND {SQL_NODE_KEY} AND key NOT IN (SELECT key FROM prune_doomed)"
    )
    return counted


def _delete_unreferenced(store: SqliteKV) -> int:
    """Delete the queued rows, then, a chunk at a time, the rows that only those referred
    to; the number of rows deleted. As with the counts of a command (``_Counts``), a row
    counted before goes only if this count took references from it (its gains less its
    losses are below zero) and left it none. A row deleted here that loses another
    reference had a wrong count: that raises, as any count below zero."""
    connection = store.connection
    deleted = 0
    while True:
        doomed = [
            key
            for (key,) in connection.execute(
                "SELECT key FROM prune_doomed LIMIT ?", (_ROWS_PER_CHUNK,)
            )
        ]
        if not doomed:
            return deleted
        gone = [(key,) for key in doomed]
        connection.executemany("DELETE FROM prune_doomed WHERE key = ?", gone)
        connection.executemany("INSERT INTO prune_deleted (key) VALUES (?)", gone)
        values = _rows(store, "value", doomed)
        connection.executemany("DELETE FROM kv WHERE key = ?", gone)
        deleted += len(doomed)
        losses = Counter(
            chain.from_iterable(
                references(value, key, store.path_keys) for key, value in values.items()
            )
        )
        found = _rows(store, "refs", losses)
        missing = [key for key in losses if key not in found]
        lost_again = list(_rows(store, "1", missing, table="prune_deleted"))
        if lost_again:
            raise _below_zero(lost_again[0])
        counted = {key: refs for key, refs in found.items() if refs != KEPT}
        _add_gains(store, [(key, -losses[key]) for key in counted])
        # key -> (references gained less lost, whether the row had no count before)
        nets = _rows(store, "n, new", counted, table="prune_gained")
        updates, emptied = [], []
        for key, stored in counted.items():
            left = (stored or 0) - losses[key]
            if left < 0:
                raise _below_zero(key)
            updates.append((left, key))
            net, new = nets[key]
            if left == 0 and (new or net < 0):
                emptied.append((key,))
        connection.executemany("UPDATE kv SET refs = ? WHERE key = ?", updates)
        connection.executemany("INSERT OR IGNORE INTO prune_doomed (key) VALUES (?)", emptied)


# -- the chain's bookkeeping: pins, new headers, rows left uncounted -----------------------


def prune_chain(
    store: SqliteKV,
    head: BlockHeaderAPI,
    recent_states: int = RECENT_STATES,
    *,
    everything: bool = False,
) -> int:
    """``collect`` for the embedded chain whose head is ``head``: the pins move to the state
    roots of its last ``recent_states`` blocks, and the headers of the blocks since the last
    count are kept. Every row without a count is counted with ``everything`` (a chain from
    before the counts, once) or when rows were left uncounted (``leave_uncounted``). Keeps
    where it stopped in the chain file's ``meta`` table; returns the number of rows
    deleted."""
    everything = everything or _meta(store, "uncounted") is not None
    number = int(head.block_number)
    counted_block = int(_meta(store, "counted_block") or -1)
    headers = {_block_hash(store, n) for n in range(counted_block + 1, number + 1)}
    previous = _pinned(store)
    recent: dict[int, bytes] = {number: bytes(head.state_root)}
    for n in range(number - 1, max(number - recent_states, -1), -1):
        root = previous.get(n)
        if root is None:
            root = _state_root(store, n)
            if root not in store:
                continue  # a state pruned before (the window grew) is not brought back
        recent[n] = root
    pins: dict[bytes, int] = {}
    for root in recent.values():
        pins[root] = pins.get(root, 0) + 1
    for root in previous.values():
        pins[root] = pins.get(root, 0) - 1
    _counted, deleted = collect(
        store, {root: n for root, n in pins.items() if n}, headers, everything=everything
    )
    store.connection.execute("DELETE FROM meta WHERE name = 'uncounted'")
    pinned = " ".join(f"{n}:{root.hex()}" for n, root in recent.items())
    store.connection.executemany(
        "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)",
        [("pinned_roots", pinned), ("counted_block", str(number))],
    )
    return deleted


def leave_uncounted(store: SqliteKV) -> None:
    """Note that rows written in this transaction were left without a count (a chain kept
    as an archive): the next ``prune_chain`` counts every row."""
    if _uncounted(store, store.written):
        store.connection.execute(
            "INSERT OR REPLACE INTO meta (name, value) VALUES ('uncounted', '1')"
        )


def forget_counts(store: SqliteKV) -> None:
    """Drop every count and pin, so that the next ``prune_chain`` counts every row from
    nothing (a repair, should a count ever be found wrong)."""
    store.connection.execute(f"UPDATE kv SET refs = NULL WHERE {SQL_NODE_KEY}")
    store.connection.execute(
        "DELETE FROM meta WHERE name IN ('pinned_roots', 'counted_block', 'uncounted')"
    )


def _pinned(store: SqliteKV) -> dict[int, bytes]:
    """The state roots pinned at the last count, by block number."""
    pinned: dict[int, bytes] = {}
    for entry in (_meta(store, "pinned_roots") or "").split():
        number, _, root = entry.partition(":")
        pinned[int(number)] = bytes.fromhex(root)
    return pinned


def _meta(store: SqliteKV, name: str) -> str | None:
    row = store.connection.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
    return None if row is None or row[0] == "" else str(row[0])


def _block_hash(store: SqliteKV, number: int) -> bytes:
    return bytes(rlp_decode(store[f"block-number-to-hash:{number}".encode()]))


def _state_root(store: SqliteKV, number: int) -> bytes:
    return bytes(rlp_decode(store[_block_hash(store, number)])[_STATE_ROOT])


# -- the walk of the live state (the reference for the counts) ------------------------------


def _walk(
    get: Callable[[bytes], bytes], root: bytes, live: set[bytes], on_leaf: Callable[[bytes], None]
) -> None:
    """Add every stored node of the trie under ``root`` to ``live``; call ``on_leaf(value)``."""
    if root == BLANK_ROOT_HASH:
        return
    pending = [root]
    while pending:
        ref = pending.pop()
        if ref in live:
            continue
        live.add(ref)
        pending.extend(node_references(rlp_decode(get(ref)), on_leaf))


def _ignore(_value: bytes) -> None:
    pass


def header_hashes(store: SqliteKV) -> list[bytes]:
    """The hash of every block's header, by the ``block-number-to-hash`` lookups."""
    rows = store.connection.execute(
        "SELECT value FROM kv WHERE key >= ? AND key < ?", (_NUMBER_TO_HASH, _NUMBER_TO_HASH_END)
    )
    return [rlp_decode(value) for (value,) in rows]


def live_keys(store: SqliteKV, state_root: bytes) -> set[bytes]:
    """The node keys that a chain whose head has ``state_root`` needs, found by a walk of
    its whole state (what the counts keep must be exactly these)."""
    live: set[bytes] = {BLANK_ROOT_HASH, EMPTY_UNCLE_HASH}
    live.update(header_hashes(store))
    storage_roots: list[bytes] = []

    def account(encoded: bytes) -> None:
        _nonce, _balance, storage_root, code_hash = rlp_decode(encoded)
        if storage_root != BLANK_ROOT_HASH:
            storage_roots.append(storage_root)
        if code_hash != EMPTY_CODE_HASH:
            live.add(code_hash)

    _walk(store.__getitem__, state_root, live, account)
    for storage_root in storage_roots:
        if store.path_keys:
            _walk_path_keys(store, root_key(storage_root), live)
        else:
            _walk(store.__getitem__, storage_root, live, _ignore)
    return live


def storage_nodes(store: SqliteKV, storage_root: bytes) -> dict[bytes, bytes]:
    """The nodes of the storage trie at ``storage_root`` by hash, as py-evm's tries read
    them (tools and tests iterate a contract's slots with ``trie.HexaryTrie`` over these),
    whichever way the chain keeps them."""
    keys: set[bytes] = set()
    if store.path_keys:
        _walk_path_keys(store, root_key(storage_root), keys)
    else:
        _walk(store.__getitem__, storage_root, keys, _ignore)
    return {hash_key(key): store[key] for key in keys}


def _walk_path_keys(store: SqliteKV, key: bytes, live: set[bytes]) -> None:
    """Add every node of the storage trie whose root is under ``key`` to ``live``."""
    pending = [key]
    while pending:
        key = pending.pop()
        if key not in live:
            live.add(key)
            pending.extend(references(store[key], key, path_keys=True))


def move_block_bodies(store: SqliteKV) -> int:
    """Move every block's transaction trie from ``kv`` to ``bodies`` (a chain written
    before bodies were kept apart). Runs inside the caller's transaction; returns the
    number of nodes moved."""
    moved = 0
    for header_hash in header_hashes(store):
        transaction_root = rlp_decode(store[header_hash])[_TRANSACTION_ROOT]
        keys: set[bytes] = set()
        _walk(store.__getitem__, transaction_root, keys, _ignore)
        store.put_bodies({key: store[key] for key in keys})
        moved += len(keys)
    return moved
