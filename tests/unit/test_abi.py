"""The fast event decoder gives exactly what eth-abi gives, for every event we emit."""

from __future__ import annotations

import random

import pytest
from eth_abi import decode, encode

from claimsengine import compiler
from claimsengine.abi import ContractABI, _normalise

WORD_VALUES = {
    "uint256": lambda rng: rng.getrandbits(256),
    "uint8": lambda rng: rng.getrandbits(8),
    "bool": lambda rng: rng.random() < 0.5,
    "address": lambda rng: "0x" + rng.getrandbits(160).to_bytes(20, "big").hex(),
    "bytes32": lambda rng: rng.getrandbits(256).to_bytes(32, "big"),
}


@pytest.mark.parametrize("name", [compiler.ENGINE, compiler.DEV_TOKEN])
def test_fast_event_decoding_equals_eth_abi(name: str) -> None:
    abi = ContractABI(compiler.load(name).abi)
    rng = random.Random(7)
    for event in abi.events.values():
        assert event._words_only, event.name  # the fast path covers every event we emit
        for _ in range(25):
            values = {
                field: WORD_VALUES[kind](rng) for field, kind in (*event.indexed, *event.data)
            }
            topics = (
                event.topic,
                *(encode([kind], [values[field]]) for field, kind in event.indexed),
            )
            data = encode([kind for _, kind in event.data], [values[f] for f, _ in event.data])
            fast = event.decode(topics, data)
            assert list(fast) == list(event.order)
            for field, kind in event.data:
                index = [f for f, _ in event.data].index(field)
                (reference,) = decode([kind], data[32 * index : 32 * index + 32])
                assert fast[field] == _normalise(reference), (event.name, field)
            for (field, kind), topic in zip(event.indexed, topics[1:], strict=True):
                (reference,) = decode([kind], topic)
                assert fast[field] == _normalise(reference), (event.name, field)


def test_a_malformed_bool_is_refused() -> None:
    abi = ContractABI(compiler.load(compiler.ENGINE).abi)
    event = abi.events["PauseSet"]
    with pytest.raises(ValueError):
        event.decode((event.topic, bytes(32)), (2).to_bytes(32, "big"))
