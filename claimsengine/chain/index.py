"""The embedded chain's index of transactions and logs, compact on disk.

Written in the same SQL transaction as each block, it serves ``receipt`` and ``get_logs``
without scanning the chain. It is most of the state on disk once past states are pruned
(about four events a claim), so it is kept small:

- an event is named by a small integer (``events``: one row per contract address and first
  topic), not by 52 bytes of address and signature on every log and in every index;
- a log names its transaction by its position in the block (the ``txs`` row has the hash);
- every 32-byte word, of a topic or of the data, is stored without its run of zero bytes,
  leading or trailing, whichever is longer, behind one length byte: ``pack_word``. Numbers,
  addresses and short texts are most of what events carry, so most words shrink to a few
  bytes. The coding is one-to-one, so a topic is looked up by its packed form;
- an index on the second, third or fourth topic holds only the logs that have one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from claimsengine.chain.base import Log, iter_topic_filter
from claimsengine.ids import checksum_address

__all__ = [
    "SCHEMA",
    "TOPIC_KEY_BYTES",
    "LogIndex",
    "migrate_from_v1",
    "pack_data",
    "pack_word",
    "rebuild_topic_indexes",
    "topic_key",
    "topic_match",
    "topic_params",
    "unpack_data",
    "unpack_word",
]

#: How many bytes of a packed topic its index keeps: the last ones, where hashes, addresses,
#: numbers and the ends of texts (a plan's year) differ. A lookup matches the key, then the
#: whole topic: two topics with the same key only share a stretch of the index. A member's
#: pseudonym keyed in full took 24 more bytes in each of its index entries.
TOPIC_KEY_BYTES = 8


def topic_key(position: int, table: str = "") -> str:
    """The SQL of the index key of topic ``position`` (1-3): its last TOPIC_KEY_BYTES."""
    column = f"{table}.topic{position}" if table else f"topic{position}"
    return f"substr({column}, -{TOPIC_KEY_BYTES})"


SCHEMA = """
CREATE TABLE txs (
    hash BLOB PRIMARY KEY,
    block_number INTEGER NOT NULL,
    tx_index INTEGER NOT NULL,
    status INTEGER NOT NULL,
    gas_used INTEGER NOT NULL,
    contract_address BLOB,
    revert_reason TEXT
) WITHOUT ROWID;
CREATE UNIQUE INDEX txs_by_position ON txs (block_number, tx_index);
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    address BLOB NOT NULL,
    topic0 BLOB NOT NULL,
    UNIQUE (address, topic0)
);
CREATE TABLE logs (
    block_number INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    tx_index INTEGER NOT NULL,
    event INTEGER NOT NULL,
    topic_count INTEGER NOT NULL,
    topic1 BLOB, topic2 BLOB, topic3 BLOB,
    data BLOB NOT NULL,
    PRIMARY KEY (block_number, log_index)
) WITHOUT ROWID;
CREATE INDEX logs_by_event ON logs (event, block_number);
""" + "".join(
    f"CREATE INDEX logs_by_topic{n} ON logs (event, {topic_key(n)}, block_number)"
    f" WHERE topic{n} IS NOT NULL;\n"
    for n in (1, 2, 3)
)

_ZERO = b"\x00"
_RAW, _WORDS = b"\x00", b"\x01"
_SELECT = (
    "SELECT l.block_number, l.log_index, l.event, l.topic_count, l.topic1, l.topic2, l.topic3,"
    " l.data, t.hash FROM logs l"
    " JOIN txs t ON t.block_number = l.block_number AND t.tx_index = l.tx_index"
)


def topic_match(position: int, table: str = "l") -> str:
    """The SQL that finds logs whose topic ``position`` is a given word, through its index:
    the index key first, then the whole packed topic (parameters: ``topic_params``)."""
    return f"{topic_key(position, table)} = ? AND {table}.topic{position} = ?"


def topic_params(topic: bytes) -> tuple[bytes, bytes]:
    """The parameters of ``topic_match`` for the 32-byte word ``topic``."""
    packed = pack_word(topic)
    return packed[-TOPIC_KEY_BYTES:], packed


def rebuild_topic_indexes(connection: sqlite3.Connection) -> None:
    """Drop the topic indexes and create them as SCHEMA has them (a chain written when they
    kept whole topics). Runs inside the caller's transaction."""
    for position in (1, 2, 3):
        connection.execute(f"DROP INDEX IF EXISTS logs_by_topic{position}")
    for statement in SCHEMA.split(";"):
        if "logs_by_topic" in statement:
            connection.execute(statement)


def pack_word(word: bytes) -> bytes:
    """A 32-byte word as one length byte and its bytes without the longer run of zeros.

    Length 0-32: the word without its leading zeros; 33-64: 32 + the length of the word
    without its trailing zeros (left-aligned text).
    """
    lead = word.lstrip(_ZERO)
    trail = word.rstrip(_ZERO)
    if len(trail) < len(lead):
        return bytes((32 + len(trail),)) + trail
    return bytes((len(lead),)) + lead


def unpack_word(packed: bytes, position: int = 0) -> tuple[bytes, int]:
    """The word packed at ``position``, and the position after it."""
    length = packed[position]
    start = position + 1
    if length > 32:
        end = start + length - 32
        return packed[start:end].ljust(32, _ZERO), end
    end = start + length
    return packed[start:end].rjust(32, _ZERO), end


def pack_data(data: bytes) -> bytes:
    """Log data: word by word when it is whole words (ABI encoding), else as it is."""
    if len(data) % 32:
        return _RAW + data
    return _WORDS + b"".join(pack_word(data[i : i + 32]) for i in range(0, len(data), 32))


def unpack_data(packed: bytes) -> bytes:
    if packed[:1] == _RAW:
        return packed[1:]
    words = []
    position = 1
    while position < len(packed):
        word, position = unpack_word(packed, position)
        words.append(word)
    return b"".join(words)


class LogIndex:
    """Reads and writes the ``txs``, ``events`` and ``logs`` tables on one connection."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        self._ids: dict[tuple[bytes, bytes], int] = {}
        self._names: dict[int, tuple[str, bytes]] = {}
        self.reload()

    def reload(self) -> None:
        """Read the event names again (after a rollback undid some)."""
        self._ids.clear()
        self._names.clear()
        for event_id, address, topic0 in self._connection.execute(
            "SELECT id, address, topic0 FROM events"
        ):
            self._remember(int(event_id), bytes(address), bytes(topic0))

    def _remember(self, event_id: int, address: bytes, topic0: bytes) -> None:
        self._ids[(address, topic0)] = event_id
        self._names[event_id] = (checksum_address(address), topic0)

    def _event_id(self, address: bytes, topic0: bytes) -> int:
        event_id = self._ids.get((address, topic0))
        if event_id is None:
            cursor = self._connection.execute(
                "INSERT INTO events (address, topic0) VALUES (?, ?)", (address, topic0)
            )
            event_id = int(cursor.lastrowid or 0)
            self._remember(event_id, address, topic0)
        return event_id

    # -- writing ------------------------------------------------------------------------

    def add_tx(self, row: tuple[Any, ...]) -> None:
        """(hash, block_number, tx_index, status, gas_used, contract_address, reason)."""
        self._connection.execute("INSERT INTO txs VALUES (?, ?, ?, ?, ?, ?, ?)", row)

    def add_logs(self, block_number: int, tx_index: int, logs: Sequence[Log]) -> None:
        rows = []
        for log in logs:
            topics = log.topics
            event = self._event_id(bytes.fromhex(log.address[2:]), topics[0] if topics else b"")
            packed = [pack_word(t) for t in topics[1:]]
            rows.append(
                (
                    block_number,
                    log.log_index,
                    tx_index,
                    event,
                    len(topics),
                    *(packed + [None, None, None])[:3],
                    pack_data(log.data),
                )
            )
        self._connection.executemany("INSERT INTO logs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    # -- reading ------------------------------------------------------------------------

    def tx_logs(self, block_number: int, tx_index: int) -> list[Log]:
        sql = f"{_SELECT} WHERE l.block_number = ? AND l.tx_index = ? ORDER BY l.log_index"
        rows = self._connection.execute(sql, (block_number, tx_index))
        return [self._log(row) for row in rows]

    def logs(
        self,
        address: bytes,
        topics: Sequence[bytes | None],
        from_block: int,
        to_block: int | None,
    ) -> list[Log]:
        filters = list(iter_topic_filter(topics))
        if filters and filters[0][0] == 0:
            wanted = self._ids.get((address, filters[0][1]))
            ids = [] if wanted is None else [wanted]
            filters = filters[1:]
        else:
            ids = [i for (a, _), i in self._ids.items() if a == address]
        if not ids:
            return []
        sql = f"{_SELECT} WHERE l.event IN ({', '.join('?' * len(ids))}) AND l.block_number >= ?"
        params: list[Any] = [*ids, from_block]
        if to_block is not None:
            sql += " AND l.block_number <= ?"
            params.append(to_block)
        for position, topic in filters:
            sql += f" AND {topic_match(position)}"
            params.extend(topic_params(topic))
        sql += " ORDER BY l.block_number, l.log_index"
        return [self._log(row) for row in self._connection.execute(sql, params)]

    def _log(self, row: tuple[Any, ...]) -> Log:
        block_number, log_index, event, count, t1, t2, t3, data, tx_hash = row
        address, topic0 = self._names[event]
        rest = tuple(unpack_word(bytes(t))[0] for t in (t1, t2, t3)[: max(0, count - 1)])
        return Log(
            address=address,
            topics=((topic0,) + rest) if count else (),
            data=unpack_data(bytes(data)),
            block_number=block_number,
            tx_hash=bytes(tx_hash),
            log_index=log_index,
        )


def migrate_from_v1(connection: sqlite3.Connection) -> None:
    """Rewrite a schema-1 index (full addresses, topics and data on every log) as this one.

    Runs inside the caller's transaction. Every log keeps its block, position, transaction,
    topics and data.
    """
    connection.execute("ALTER TABLE txs RENAME TO txs_v1")
    connection.execute("ALTER TABLE logs RENAME TO logs_v1")
    for name in ("logs_by_event", "logs_by_topic1", "logs_by_topic2", "logs_by_topic3"):
        connection.execute(f"DROP INDEX IF EXISTS {name}")
    connection.execute("DROP INDEX IF EXISTS logs_by_tx")
    for statement in SCHEMA.split(";"):
        if statement.strip():
            connection.execute(statement)
    connection.execute("INSERT INTO txs SELECT * FROM txs_v1")
    index = LogIndex(connection)
    rows = connection.execute(
        "SELECT l.address, l.topic_count, l.topic0, l.topic1, l.topic2, l.topic3, l.data,"
        " l.block_number, l.log_index, t.tx_index FROM logs_v1 l JOIN txs t ON t.hash = l.tx_hash"
        " ORDER BY l.block_number, l.log_index"
    ).fetchall()
    for address, count, t0, t1, t2, t3, data, block_number, log_index, tx_index in rows:
        log = Log(
            address=checksum_address(bytes(address)),
            topics=tuple(bytes(t) for t in (t0, t1, t2, t3)[:count]),
            data=bytes(data),
            block_number=block_number,
            tx_hash=b"",
            log_index=log_index,
        )
        index.add_logs(block_number, tx_index, [log])
    connection.execute("DROP TABLE logs_v1")
    connection.execute("DROP TABLE txs_v1")
