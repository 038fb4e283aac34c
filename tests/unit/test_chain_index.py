"""The embedded chain's compact log index: the word coding, and logs read back as written."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from claimsengine.chain import embedded
from claimsengine.chain.base import Log
from claimsengine.chain.embedded import EmbeddedChain
from claimsengine.chain.index import (
    SCHEMA,
    TOPIC_KEY_BYTES,
    LogIndex,
    pack_data,
    pack_word,
    rebuild_topic_indexes,
    topic_match,
    topic_params,
    unpack_data,
    unpack_word,
)
from claimsengine.chain.snapshot import SCHEMA_VERSION
from tests.conftest import Counter

WORDS = [
    bytes(32),  # zero: the length byte alone
    (1).to_bytes(32, "big"),
    (2**256 - 1).to_bytes(32, "big"),  # nothing to strip
    bytes(12) + bytes(range(1, 21)),  # an address
    b"POP-2027".ljust(32, b"\x00"),  # left-aligned text (a bytes32 id)
    b"\x01" + bytes(30) + b"\x01",  # zeros inside only
    bytes(5) + b"\xff" + bytes(26),  # zeros on both sides: the longer run goes
]


@pytest.mark.parametrize("word", WORDS)
def test_a_packed_word_reads_back_as_it_was(word: bytes) -> None:
    packed = pack_word(word)
    assert unpack_word(packed) == (word, len(packed))


def test_packed_words_are_short_for_numbers_addresses_and_text() -> None:
    assert pack_word(bytes(32)) == b"\x00"
    assert pack_word((1).to_bytes(32, "big")) == b"\x01\x01"
    assert len(pack_word(WORDS[3])) == 21
    # Text keeps its 8 bytes behind a length of 32 + 8: it was left-aligned.
    assert pack_word(WORDS[4]) == bytes((40,)) + b"POP-2027"
    # Two different words never pack alike (topics are looked up by their packed form).
    assert len({pack_word(w) for w in WORDS}) == len(WORDS)


@pytest.mark.parametrize(
    "data", [b"", b"\x01\x02\x03", b"".join(WORDS), bytes(64) + b"tail"], ids=len
)
def test_log_data_reads_back_as_it_was(data: bytes) -> None:
    assert unpack_data(pack_data(data)) == data


def test_abi_data_packs_to_a_fraction(counter: Counter) -> None:
    data = b"".join(WORDS[:5])  # 160 bytes of numbers, an address and a text
    assert len(pack_data(data)) == 1 + 1 + 2 + 33 + 21 + 9


def test_logs_come_back_from_the_index_exactly(counter: Counter) -> None:
    with EmbeddedChain.memory() as chain:
        address = chain.send("insurer", None, counter.deploy_data(0)).contract_address
        assert address is not None
        sent = [chain.send(who, address, counter.increment) for who in ("insurer", "hospital-1")]
        logs = chain.get_logs(address, [])
        assert logs == [log for receipt in sent for log in receipt.logs]
        assert [chain.receipt(r.tx_hash) for r in sent] == sent
        sender = bytes(12) + bytes.fromhex(chain.accounts["hospital-1"][2:])
        assert chain.get_logs(address, [None, sender]) == list(sent[1].logs)
        assert chain.get_logs(address, [counter.incremented_topic, sender]) == list(sent[1].logs)
        assert chain.get_logs(address, [b"\x01" * 32]) == []  # an event never emitted
        assert chain.get_logs(chain.accounts["auditor"], []) == []  # no events at all


def test_an_event_first_seen_in_a_rolled_back_command_is_forgotten(counter: Counter) -> None:
    with EmbeddedChain.memory() as chain:
        address = chain.send("insurer", None, counter.deploy_data(0)).contract_address
        assert address is not None
        with pytest.raises(RuntimeError), chain.command():
            chain.send("insurer", address, counter.increment)  # the first Incremented
            raise RuntimeError("undo")
        assert chain.get_logs(address, []) == []
        # The event is named again, under a name the database holds.
        receipt = chain.send("insurer", address, counter.increment)
        assert chain.get_logs(address, [counter.incremented_topic]) == list(receipt.logs)
        (count,) = chain.store.connection.execute("SELECT count(*) FROM events").fetchone()
        assert count == 1


ADDRESS = "0x" + "ab" * 20
EVENT = b"\xee" * 32


def _index_of(logs: list[tuple[bytes, ...]]) -> LogIndex:
    """An index in memory holding one log per topic tuple, one block and transaction each."""
    connection = sqlite3.connect(":memory:")
    connection.executescript(SCHEMA)
    index = LogIndex(connection)
    for number, topics in enumerate(logs, start=1):
        index.add_tx((bytes([number]) * 32, number, 0, 1, 21_000, None, None))
        log = Log(ADDRESS, (EVENT, *topics), b"", number, bytes([number]) * 32, 0)
        index.add_logs(number, 0, [log])
    return index


def test_topics_that_share_an_index_key_are_told_apart() -> None:
    # Two pseudonyms alike in their last bytes, and a text of the same length: the index
    # keeps only the last TOPIC_KEY_BYTES of a packed topic, the lookup then the whole.
    tail = b"\x5a" * TOPIC_KEY_BYTES
    first, second = b"\x01" * 24 + tail, b"\x02" * 24 + tail
    assert topic_params(first)[0] == topic_params(second)[0]
    index = _index_of([(first,), (second,), (first, second), (second, first, first)])
    address = bytes.fromhex(ADDRESS[2:])

    def blocks(*topics: bytes | None) -> list[int]:
        return [log.block_number for log in index.logs(address, [EVENT, *topics], 0, None)]

    assert blocks(first) == [1, 3]
    assert blocks(second) == [2, 4]
    assert blocks(None, first) == [4]
    assert blocks(None, second) == [3]
    assert blocks(second, first, first) == [4]
    assert blocks(b"\x03" * 24 + tail) == []


@pytest.mark.parametrize("position", [1, 2, 3])
def test_a_topic_lookup_goes_through_its_index(position: int) -> None:
    connection = sqlite3.connect(":memory:")
    connection.executescript(SCHEMA)
    plan = connection.execute(
        f"EXPLAIN QUERY PLAN SELECT * FROM logs l WHERE l.event = ? AND {topic_match(position)}"
        " ORDER BY l.block_number, l.log_index",
        (1, *topic_params(b"\x07" * 32)),
    ).fetchall()
    assert any(f"USING INDEX logs_by_topic{position}" in row[-1] for row in plan), plan


def test_rebuilding_the_topic_indexes_keeps_every_log(counter: Counter) -> None:
    with EmbeddedChain.memory() as chain:
        address = chain.send("insurer", None, counter.deploy_data(0)).contract_address
        assert address is not None
        sent = [chain.send(who, address, counter.increment) for who in ("insurer", "hospital-1")]
        sender = bytes(12) + bytes.fromhex(chain.accounts["hospital-1"][2:])
        connection = chain.store.connection
        with chain.command():
            for position in (1, 2, 3):  # schema 3: whole topics
                connection.execute(f"DROP INDEX logs_by_topic{position}")
                connection.execute(
                    f"CREATE INDEX logs_by_topic{position} ON logs"
                    f" (event, topic{position}, block_number) WHERE topic{position} IS NOT NULL"
                )
            rebuild_topic_indexes(connection)
        indexes = dict(
            connection.execute(
                "SELECT name, sql FROM sqlite_master WHERE name LIKE 'logs_by_topic%'"
            ).fetchall()
        )
        assert sorted(indexes) == ["logs_by_topic1", "logs_by_topic2", "logs_by_topic3"]
        assert all(
            f"substr(topic{n}, -{TOPIC_KEY_BYTES})" in indexes[f"logs_by_topic{n}"]
            for n in (1, 2, 3)
        )
        assert chain.get_logs(address, [None, sender]) == list(sent[1].logs)


# The index as schema 1 wrote it: full addresses, topics and data on every log.
SCHEMA_1 = """
DROP TABLE logs; DROP TABLE events; DROP TABLE txs;
CREATE TABLE txs (
    hash BLOB PRIMARY KEY, block_number INTEGER NOT NULL, tx_index INTEGER NOT NULL,
    status INTEGER NOT NULL, gas_used INTEGER NOT NULL, contract_address BLOB,
    revert_reason TEXT
) WITHOUT ROWID;
CREATE TABLE logs (
    block_number INTEGER NOT NULL, log_index INTEGER NOT NULL, tx_hash BLOB NOT NULL,
    address BLOB NOT NULL, topic_count INTEGER NOT NULL,
    topic0 BLOB, topic1 BLOB, topic2 BLOB, topic3 BLOB, data BLOB NOT NULL,
    PRIMARY KEY (block_number, log_index)
) WITHOUT ROWID;
CREATE INDEX logs_by_event ON logs (address, topic0, block_number);
CREATE INDEX logs_by_topic1 ON logs (address, topic0, topic1, block_number);
CREATE INDEX logs_by_topic2 ON logs (address, topic0, topic2, block_number);
CREATE INDEX logs_by_topic3 ON logs (address, topic0, topic3, block_number);
CREATE INDEX logs_by_tx ON logs (tx_hash);
ALTER TABLE kv DROP COLUMN refs;
DELETE FROM meta WHERE name IN ('pinned_roots', 'counted_block', 'storage_keys');
UPDATE meta SET value = '1' WHERE name = 'schema_version';
"""


def test_a_schema_1_chain_is_migrated_on_open(
    tmp_path: Path, counter: Counter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Storage nodes under their hashes, as every chain before schema 6 kept them.
    monkeypatch.setattr(embedded, "_new_chains_keep_paths", lambda: False)
    with EmbeddedChain.open(tmp_path / "state", create=True) as chain:
        address = chain.send("insurer", None, counter.deploy_data(0)).contract_address
        assert address is not None
        sent = [chain.send(who, address, counter.increment) for who in ("insurer", "hospital-1")]
        deploy = chain.receipt(chain.get_logs(address, [])[0].tx_hash)  # any receipt
        txs = chain.store.connection.execute("SELECT * FROM txs").fetchall()
        logs = chain.get_logs(address, [])
        head = chain.block_number()
        with chain.command():
            for statement in SCHEMA_1.split(";"):
                chain.store.connection.execute(statement)
            chain.store.connection.executemany("INSERT INTO txs VALUES (?,?,?,?,?,?,?)", txs)
            chain.store.connection.executemany(
                "INSERT INTO logs VALUES (?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        log.block_number,
                        log.log_index,
                        log.tx_hash,
                        bytes.fromhex(log.address[2:]),
                        len(log.topics),
                        *(log.topics + (None,) * 4)[:4],
                        log.data,
                    )
                    for log in logs
                ],
            )
    with EmbeddedChain.open(tmp_path / "state") as chain:
        assert chain.get_logs(address, []) == logs
        assert [chain.receipt(r.tx_hash) for r in sent] == sent
        assert chain.receipt(deploy.tx_hash) == deploy
        assert chain.block_number() == head
        (version,) = chain.store.connection.execute(
            "SELECT value FROM meta WHERE name = 'schema_version'"
        ).fetchone()
        assert version == SCHEMA_VERSION
        receipt = chain.send("hospital-1", address, counter.increment)
        assert chain.get_logs(address, [])[-1] == receipt.logs[0]
