"""A read-only view of the embedded chain's file, without py-evm: the head, the clock,
contract storage and the log index, all in one SQLite read transaction.

A read-only command (`claims eligibility`) must answer in well under a second, and importing
py-evm alone (``eth``, its forks, eth-utils and pydantic) costs more than half a second. The
facts such a command needs are plain data in ``chain.sqlite``:

- the canonical head: py-evm keeps its hash under ``v1:canonical_head_hash`` in the ``kv``
  table, and the header's RLP under the hash; the header gives the state root (field 3),
  the number (8) and the timestamp (11);
- contract storage: the hexary Merkle-Patricia account trie (key keccak(address), value the
  RLP of [nonce, balance, storage root, code hash]), then the account's storage trie (key
  keccak(slot), value the RLP of the word's integer). Trie nodes are stored under the
  keccak of their RLP, a storage trie's nodes under their path keys when the ``meta``
  table's ``storage_keys`` says ``path`` (chain/nodekeys.py); a node shorter than 32 bytes
  is embedded in its parent;
- the chain's clock: the ``meta`` table's ``time_offset`` and ``pinned_timestamp``, read
  with ``next_timestamp`` (the same rule the chain uses for its next block);
- the log index (chain/index.py): ``events`` names an event by contract and first topic,
  ``logs`` holds its other topics and data packed word by word.

The connection holds one read transaction from ``open`` to ``close``: under SQLite's WAL
journal a writer committing meanwhile is not seen, so every read comes from the same
committed head. Nothing is ever written (``PRAGMA query_only``). ``open`` returns None for a
file this reader does not know how to read (another schema version, no head yet): the
caller then opens the chain itself.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from eth_hash.auto import keccak

from claimsengine.chain.index import topic_match, topic_params, unpack_data, unpack_word
from claimsengine.chain.nodekeys import PATH_NIBBLES, node_key
from claimsengine.chain.rlpread import RLPItem, rlp_decode

__all__ = [
    "BLANK_ROOT",
    "ChainSnapshot",
    "LogRow",
    "next_timestamp",
    "rlp_decode",
    "trie_get",
]

#: The root of an empty trie: keccak(rlp(b"")).
BLANK_ROOT = bytes.fromhex("56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421")
#: py-evm's key of the canonical head's hash (eth.db.schema.SchemaV1).
CANONICAL_HEAD_KEY = b"v1:canonical_head_hash"
#: The chain file's schema: what embedded.py writes (and migrates older files to), and
#: the only one this reader reads.
SCHEMA_VERSION = "6"
STATE_FILE = "chain.sqlite"

# A header's fields, by position in its RLP list.
_HEADER_STATE_ROOT = 3
_HEADER_NUMBER = 8
_HEADER_TIMESTAMP = 11
# An account's fields.
_ACCOUNT_STORAGE_ROOT = 2
_ACCOUNT_CODE_HASH = 3


def next_timestamp(
    head_timestamp: int, pinned: int | None, offset: int, clock: Callable[[], float]
) -> int:
    """The timestamp the chain's next block gets (the chain's "now"): the pinned time when
    `claims time set` pinned one, else the clock moved by the chain's offset; always after
    the head's, as block timestamps strictly increase."""
    wanted = pinned if pinned is not None else int(clock()) + offset
    return max(wanted, head_timestamp + 1)


# -- RLP ---------------------------------------------------------------------------------


def _as_list(item: RLPItem) -> list[RLPItem]:
    if not isinstance(item, list):
        raise ValueError("RLP: expected a list")
    return item


def _as_bytes(item: RLPItem) -> bytes:
    if not isinstance(item, bytes):
        raise ValueError("RLP: expected a string")
    return item


# -- the hexary Merkle-Patricia trie ------------------------------------------------------


def _nibbles(key: bytes) -> bytes:
    return bytes(n for byte in key for n in (byte >> 4, byte & 0x0F))


def _hex_prefix(encoded: bytes) -> tuple[bytes, bool]:
    """A compact (hex-prefix) path: its nibbles, and whether it ends in a leaf."""
    nibbles = _nibbles(encoded)
    flag = nibbles[0]
    if flag > 3:
        raise ValueError("trie: bad path prefix")
    return nibbles[2 - (flag & 1) :], flag >= 2


def trie_get(
    node_of: Callable[[bytes], bytes], root: bytes, key: bytes, *, path_keys: bool = False
) -> bytes | None:
    """The value under ``key`` (its bytes, not hashed here) in the trie at ``root``, or None.
    ``node_of(key)`` gives a node's RLP by its key (KeyError when missing): its hash, or
    with ``path_keys`` its path key."""
    if root == BLANK_ROOT:
        return None
    path = _nibbles(key)
    node = _as_list(rlp_decode(node_of(node_key(b"", root) if path_keys else root)))
    at = 0
    while True:
        if len(node) == 17:  # a branch: one child per nibble, then a value
            if at == len(path):
                value = _as_bytes(node[16])
                return value or None
            child = node[path[at]]
            at += 1
        elif len(node) == 2:  # a leaf or an extension: a shared path, then its value/child
            segment, leaf = _hex_prefix(_as_bytes(node[0]))
            if leaf:
                return _as_bytes(node[1]) if path[at:] == segment else None
            if path[at : at + len(segment)] != segment:
                return None
            at += len(segment)
            child = node[1]
        else:
            raise ValueError("trie: a node of neither 2 nor 17 items")
        if isinstance(child, list):
            node = child  # embedded (its RLP is shorter than 32 bytes)
        elif child == b"":
            return None
        else:
            stored = node_key(path[: min(at, PATH_NIBBLES)], child) if path_keys else child
            node = _as_list(rlp_decode(node_of(stored)))


# -- the snapshot --------------------------------------------------------------------------


@dataclass(frozen=True)
class LogRow:
    """One indexed log of a contract, as stored: topics after the first, and the data."""

    block_number: int
    log_index: int
    topics: tuple[bytes, ...]
    data: bytes
    tx_hash: bytes


class ChainSnapshot:
    """The embedded chain's committed head, read straight from its file. Use ``open``."""

    def __init__(
        self, connection: sqlite3.Connection, clock: Callable[[], float] = time.time
    ) -> None:
        self._connection = connection
        self._clock = clock
        self._accounts: dict[bytes, list[RLPItem] | None] = {}
        head_hash = self._kv(CANONICAL_HEAD_KEY)
        header = _as_list(rlp_decode(self._kv(head_hash)))
        self.head_hash = head_hash
        self.state_root = _as_bytes(header[_HEADER_STATE_ROOT])
        self.block_number = int.from_bytes(_as_bytes(header[_HEADER_NUMBER]), "big")
        self.head_timestamp = int.from_bytes(_as_bytes(header[_HEADER_TIMESTAMP]), "big")
        meta = dict(connection.execute("SELECT name, value FROM meta").fetchall())
        self._time_offset = int(meta.get("time_offset") or 0)
        pinned = meta.get("pinned_timestamp")
        self._pinned = int(pinned) if pinned else None
        self._path_keys = meta.get("storage_keys") == "path"

    @classmethod
    def open(
        cls, state_dir: Path | str, *, clock: Callable[[], float] = time.time
    ) -> ChainSnapshot | None:
        """The chain in ``state_dir`` as its last commit left it, or None when its file is
        not one this reader knows (missing, another schema version, no head)."""
        path = Path(state_dir) / STATE_FILE
        if not path.is_file():
            return None
        connection = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        try:
            connection.execute("PRAGMA query_only = 1")
            # One read transaction for every read: it starts at the first SELECT.
            connection.execute("BEGIN")
            version = connection.execute(
                "SELECT value FROM meta WHERE name = 'schema_version'"
            ).fetchone()
            if version is None or version[0] != SCHEMA_VERSION:
                connection.close()
                return None
            return cls(connection, clock)
        except (sqlite3.Error, KeyError, ValueError):
            connection.close()
            return None

    def close(self) -> None:
        self._connection.close()  # ends the read transaction

    def __enter__(self) -> ChainSnapshot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ----------------------------------------------------------------------------

    def _kv(self, key: bytes) -> bytes:
        row = self._connection.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        return bytes(row[0])

    def now(self) -> int:
        """The chain's now: the timestamp its next block would get."""
        return next_timestamp(self.head_timestamp, self._pinned, self._time_offset, self._clock)

    def _account(self, address: bytes) -> list[RLPItem] | None:
        if address not in self._accounts:
            raw = trie_get(self._kv, self.state_root, keccak(address))
            self._accounts[address] = None if raw is None else _as_list(rlp_decode(raw))
        return self._accounts[address]

    def code_hash(self, address: bytes) -> bytes | None:
        """keccak of the code at ``address`` (20 bytes), or None for no account."""
        account = self._account(address)
        return None if account is None else _as_bytes(account[_ACCOUNT_CODE_HASH])

    def storage(self, address: bytes, slot: int) -> int:
        """The storage word at ``slot`` of the contract at ``address`` (0 when unset)."""
        account = self._account(address)
        if account is None:
            return 0
        root = _as_bytes(account[_ACCOUNT_STORAGE_ROOT])
        raw = trie_get(self._kv, root, keccak(slot.to_bytes(32, "big")), path_keys=self._path_keys)
        return 0 if raw is None else int.from_bytes(_as_bytes(rlp_decode(raw)), "big")

    def logs(
        self, address: bytes, topic0: bytes, topics: Sequence[bytes | None] = ()
    ) -> list[LogRow]:
        """The logs of the contract at ``address`` whose first topic is ``topic0`` and whose
        next topics are ``topics`` where given (None: any), in chain order."""
        row = self._connection.execute(
            "SELECT id FROM events WHERE address = ? AND topic0 = ?", (address, topic0)
        ).fetchone()
        if row is None:
            return []
        sql = (
            "SELECT l.block_number, l.log_index, l.topic_count, l.topic1, l.topic2, l.topic3,"
            " l.data, t.hash FROM logs l"
            " JOIN txs t ON t.block_number = l.block_number AND t.tx_index = l.tx_index"
            " WHERE l.event = ?"
        )
        params: list[object] = [row[0]]
        for position, topic in enumerate(topics, start=1):
            if topic is not None:
                sql += f" AND {topic_match(position)}"
                params.extend(topic_params(topic))
        sql += " ORDER BY l.block_number, l.log_index"
        found = []
        for number, index, count, t1, t2, t3, data, tx_hash in self._connection.execute(
            sql, params
        ):
            rest = tuple(unpack_word(bytes(t))[0] for t in (t1, t2, t3)[: max(0, count - 1)])
            found.append(
                LogRow(number, index, (topic0, *rest), unpack_data(bytes(data)), bytes(tx_hash))
            )
        return found
