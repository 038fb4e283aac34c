"""The engine's read-only views, from its storage on the embedded chain, without the EVM.

``EngineStorage`` answers the reads that eligibility needs (``member``, ``accumulators``,
``units_used`` and the plan's events) with the same values and types as ``Engine``'s view
calls, but from a ``ChainSnapshot`` (chain/snapshot.py): storage words found by the slots of
the Vyper compiler's storage layout (shipped with the package with the ABI's events,
compiler.storage_layout),
unpacked as the contract's ``packing`` module packs them. So a read-only command never
imports py-evm, eth-abi or eth-utils.

Guards: ``open`` gives None (use the EVM's view calls) unless the code deployed at the
engine's address is exactly the code the shipped layout describes (its code hash); the
layout itself is checked against a fresh compilation, and every read against the contract's
own view calls, by tests/integration/test_engine_storage.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eth_hash.auto import keccak

from claimsengine import compiler
from claimsengine.abi import ContractABI, DecodedEvent, checksum_address
from claimsengine.ids import text_to_bytes32

if TYPE_CHECKING:
    from claimsengine.chain.snapshot import ChainSnapshot

__all__ = ["EngineStorage"]

# contracts/modules/packing.vy: the member word is enrolled (1 bit) | coverage_start (32) |
# coverage_end (32) | period (32); the accumulator word deductible_met (64) | oop_met (64) |
# benefit_used (128).
_MASK_32 = 2**32 - 1
_MASK_64 = 2**64 - 1
_MEMBER_START = 1
_MEMBER_END = 33
_MEMBER_PERIOD = 65
_OPEN_ENDED = 2**32 - 1
_ACC_OOP = 64
_ACC_BENEFIT = 128


def _word(key: bytes | int) -> bytes:
    return key.to_bytes(32, "big") if isinstance(key, int) else key


class EngineStorage:
    """The engine at ``address``, read from a snapshot of the embedded chain."""

    def __init__(self, snapshot: ChainSnapshot, address: str, layout: dict[str, Any]) -> None:
        self._snapshot = snapshot
        self.address = checksum_address(address)
        self._raw_address = bytes.fromhex(self.address[2:])
        self._layout = layout["storage_layout"]
        self.abi = ContractABI(layout["events"])  # the events of the shipped ABI

    @classmethod
    def open(cls, snapshot: ChainSnapshot, address: str) -> EngineStorage | None:
        """The engine's storage reader, or None when the code at ``address`` is not the code
        whose storage layout this package ships (another version of the engine)."""
        layout = compiler.storage_layout(compiler.ENGINE)
        code_hash = snapshot.code_hash(bytes.fromhex(checksum_address(address)[2:]))
        if code_hash is None or code_hash.hex() != layout["runtime_code_hash"]:
            return None
        return cls(snapshot, address, layout)

    def slot(self, module: str, variable: str, *keys: bytes | int) -> int:
        """The storage slot of ``module.variable[keys[0]][keys[1]]...``: Vyper places a
        HashMap's value at keccak256(slot ‖ key), each a 32-byte word."""
        slot = int(self._layout[module][variable]["slot"])
        for key in keys:
            slot = int.from_bytes(keccak(slot.to_bytes(32, "big") + _word(key)), "big")
        return slot

    def _read(self, module: str, variable: str, *keys: bytes | int) -> int:
        return self._snapshot.storage(self._raw_address, self.slot(module, variable, *keys))

    # -- the views, as Engine gives them ----------------------------------------------------

    def member(self, plan_id: str, member: bytes) -> tuple[bool, int, int | None, int]:
        """``Engine.member``: enrolled, coverage start, coverage end (None: open-ended), and
        the benefit period the pseudonym is enrolled for."""
        word = self._read("registry", "member_words", text_to_bytes32(plan_id), member)
        end = (word >> _MEMBER_END) & _MASK_32
        return (
            word & 1 == 1,
            (word >> _MEMBER_START) & _MASK_32,
            None if end in (_OPEN_ENDED, 0) else end,
            (word >> _MEMBER_PERIOD) & _MASK_32,
        )

    def accumulators(self, plan_id: str, member: bytes, period: int) -> tuple[int, int, int]:
        """``Engine.accumulators``: deductible met, out-of-pocket met, benefit used (cents)."""
        word = self._read("ledger", "accumulator_words", text_to_bytes32(plan_id), member, period)
        return word & _MASK_64, (word >> _ACC_OOP) & _MASK_64, word >> _ACC_BENEFIT

    def units_used(self, plan_id: str, member: bytes, period: int, code: str) -> int:
        """``Engine.units_used``."""
        plan = text_to_bytes32(plan_id)
        return self._read("ledger", "units_used", plan, member, period, text_to_bytes32(code))

    def events(self, name: str, *topics: bytes | None) -> list[DecodedEvent]:
        """``Engine.events``: every ``name`` event, filtered by its indexed fields."""
        event = self.abi.events[name]
        return [
            DecodedEvent(
                name=name,
                args=event.decode(row.topics, row.data),
                block_number=row.block_number,
                tx_hash=row.tx_hash,
                log_index=row.log_index,
                address=self.address,
            )
            for row in self._snapshot.logs(self._raw_address, event.topic, topics)
        ]
