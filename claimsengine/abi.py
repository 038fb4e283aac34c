"""Encode contract calls and decode their results and events, from a compiled ABI.

The SDK talks to the chain in raw bytes (see chain/base.py), so that the same code runs
on the embedded chain and over JSON-RPC. This module is the one place that knows how
Solidity-ABI types map to Python values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eth_hash.auto import keccak

from claimsengine.ids import bytes32_to_text, text_to_bytes32  # noqa: F401  (re-exported)

# eth-abi (about 0.15 s to import, with eth-utils) is imported by the functions that encode
# or decode with it: reading the engine's events, whose fields are all single words, needs
# neither (the read-only path of chain/snapshot.py).


def checksum_address(address: bytes | str) -> str:
    """EIP-55: an address (20 bytes, or hex with or without 0x) in mixed-case hex."""
    hex_address = address.hex() if isinstance(address, bytes) else address.lower()[-40:]
    if len(hex_address) != 40:
        raise ValueError(f"not an address: {address!r}")
    digest = keccak(hex_address.encode("ascii")).hex()
    return "0x" + "".join(
        char.upper() if int(nibble, 16) >= 8 else char
        for char, nibble in zip(hex_address, digest[:40], strict=True)
    )


def _type_string(param: dict[str, Any]) -> str:
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(_type_string(c) for c in param["components"])
        return f"({inner}){kind[len('tuple') :]}"
    return kind


def _normalise(value: Any) -> Any:
    """Addresses come back checksummed; nested tuples stay tuples."""
    if isinstance(value, tuple | list):
        return tuple(_normalise(v) for v in value)
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return checksum_address(value)
    return value


@dataclass(frozen=True)
class Function:
    name: str
    selector: bytes
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    def encode(self, *args: Any) -> bytes:
        if len(args) != len(self.inputs):
            raise TypeError(f"{self.name} takes {len(self.inputs)} arguments, got {len(args)}")
        from eth_abi import encode

        return self.selector + encode(list(self.inputs), list(args))

    def decode(self, data: bytes) -> Any:
        """The result: a single value, or a tuple when the function returns several."""
        from eth_abi import decode

        values = _normalise(decode(list(self.outputs), data))
        return values[0] if len(values) == 1 else values


def _uint(word: bytes) -> int:
    return int.from_bytes(word, "big")


def _bool(word: bytes) -> bool:
    value = int.from_bytes(word, "big")
    if value > 1:
        raise ValueError(f"not an ABI bool: 0x{word.hex()}")
    return value == 1


# A chain's events name few distinct addresses, many times each: checksumming (keccak) was
# a third of the time of reading a plan's claims from their events.
@lru_cache(maxsize=4096)
def _address(word: bytes) -> str:
    if any(word[:12]):
        raise ValueError(f"not an ABI address: 0x{word.hex()}")
    return checksum_address(word[12:])


def _bytes32(word: bytes) -> bytes:
    return bytes(word)


_WORD_DECODERS: dict[str, Callable[[bytes], Any]] = {
    "uint256": _uint,
    "uint8": _uint,
    "bool": _bool,
    "address": _address,
    "bytes32": _bytes32,
}


@dataclass(frozen=True)
class Event:
    name: str
    topic: bytes
    indexed: tuple[tuple[str, str], ...]
    data: tuple[tuple[str, str], ...]
    order: tuple[str, ...]

    def decode(self, topics: tuple[bytes, ...], data: bytes) -> dict[str, Any]:
        if self._words_only and len(data) == 32 * len(self.data):
            return self._decode_words(topics, data)
        from eth_abi import decode

        fields: dict[str, Any] = {}
        for (name, kind), topic in zip(self.indexed, topics[1:], strict=True):
            fields[name] = _normalise(decode([kind], topic)[0])
        values = _normalise(decode([kind for _, kind in self.data], data))
        for (name, _), value in zip(self.data, values, strict=True):
            fields[name] = value
        return {name: fields[name] for name in self.order}

    @property
    def _words_only(self) -> bool:
        """Every field is one static 32-byte word (all the engine's events are)."""
        return all(kind in _WORD_DECODERS for _, kind in (*self.indexed, *self.data))

    def _decode_words(self, topics: tuple[bytes, ...], data: bytes) -> dict[str, Any]:
        # The same values eth-abi gives, read straight from the words: decoding the
        # engine's events was a measurable share of a 10,000-claim run.
        fields: dict[str, Any] = {}
        for (name, kind), topic in zip(self.indexed, topics[1:], strict=True):
            fields[name] = _WORD_DECODERS[kind](topic)
        for index, (name, kind) in enumerate(self.data):
            fields[name] = _WORD_DECODERS[kind](data[32 * index : 32 * index + 32])
        return {name: fields[name] for name in self.order}


@dataclass(frozen=True)
class DecodedEvent:
    """One decoded log, with where it was found."""

    name: str
    args: dict[str, Any]
    block_number: int
    tx_hash: bytes
    log_index: int
    address: str


class ContractABI:
    """Functions by name and events by name and topic, for one compiled contract."""

    def __init__(self, abi: list[dict[str, Any]]) -> None:
        self.functions: dict[str, Function] = {}
        self.events: dict[str, Event] = {}
        self.constructor_inputs: tuple[str, ...] = ()
        for entry in abi:
            if entry["type"] == "function":
                inputs = tuple(_type_string(p) for p in entry["inputs"])
                signature = f"{entry['name']}({','.join(inputs)})"
                self.functions[entry["name"]] = Function(
                    name=entry["name"],
                    selector=keccak(signature.encode())[:4],
                    inputs=inputs,
                    outputs=tuple(_type_string(p) for p in entry["outputs"]),
                )
            elif entry["type"] == "event":
                kinds = [_type_string(p) for p in entry["inputs"]]
                signature = f"{entry['name']}({','.join(kinds)})"
                self.events[entry["name"]] = Event(
                    name=entry["name"],
                    topic=keccak(signature.encode()),
                    indexed=tuple(
                        (p["name"], k)
                        for p, k in zip(entry["inputs"], kinds, strict=True)
                        if p["indexed"]
                    ),
                    data=tuple(
                        (p["name"], k)
                        for p, k in zip(entry["inputs"], kinds, strict=True)
                        if not p["indexed"]
                    ),
                    order=tuple(p["name"] for p in entry["inputs"]),
                )
            elif entry["type"] == "constructor":
                self.constructor_inputs = tuple(_type_string(p) for p in entry["inputs"])
        self._by_topic = {event.topic: event for event in self.events.values()}

    def encode_call(self, name: str, *args: Any) -> bytes:
        return self.functions[name].encode(*args)

    def decode_result(self, name: str, data: bytes) -> Any:
        return self.functions[name].decode(data)

    def encode_constructor(self, *args: Any) -> bytes:
        from eth_abi import encode

        return encode(list(self.constructor_inputs), list(args)) if self.constructor_inputs else b""

    def event_for(self, topic0: bytes) -> Event | None:
        return self._by_topic.get(topic0)
