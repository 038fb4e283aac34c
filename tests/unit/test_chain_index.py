"""The embedded chain's compact log index: the word coding, and logs read back as written."""

from __future__ import annotations

from pathlib import Path

import pytest

from claimsengine.chain.embedded import EmbeddedChain
from claimsengine.chain.index import pack_data, pack_word, unpack_data, unpack_word
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
UPDATE meta SET value = '1' WHERE name = 'schema_version';
"""


def test_a_schema_1_chain_is_migrated_on_open(tmp_path: Path, counter: Counter) -> None:
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
        assert version == "3"
        receipt = chain.send("hospital-1", address, counter.increment)
        assert chain.get_logs(address, [])[-1] == receipt.logs[0]
