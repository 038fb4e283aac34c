"""The chain interface the SDK is written against, and the types it speaks.

Everything above the chain (engine wrapper, SDK, CLI) talks to ``Chain`` only, so the same
code runs on the embedded py-evm chain and over JSON-RPC. Addresses are checksummed ``str``;
hashes, topics and call data are ``bytes``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from claimsengine.errors import ChainError

# eth-abi and eth-utils (about 0.2 s to import) are imported where they are used: a reader
# that needs only ``Log`` or ``Chain``'s name must not pay for them.

__all__ = [
    "DEV_ALIASES",
    "Chain",
    "Log",
    "Receipt",
    "decode_revert_reason",
]

#: The dev account aliases, in the order both backends assign them.
DEV_ALIASES: tuple[str, ...] = (
    "insurer",
    "adjudicator",
    "auditor",
    "hospital-1",
    "hospital-2",
    "hospital-3",
    "hospital-4",
)

_ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
_PANIC_SELECTOR = bytes.fromhex("4e487b71")  # Panic(uint256)


@dataclass(frozen=True)
class Log:
    """One event log, as a node reports it (``log_index`` counts within the block)."""

    address: str
    topics: tuple[bytes, ...]
    data: bytes
    block_number: int
    tx_hash: bytes
    log_index: int


@dataclass(frozen=True)
class Receipt:
    """The outcome of a mined transaction.

    ``status`` is 1 for success. Only ``Chain.send_many`` returns receipts with status 0;
    those carry the decoded ``revert_reason`` when it is known.
    """

    tx_hash: bytes
    status: int
    gas_used: int
    block_number: int
    logs: tuple[Log, ...]
    contract_address: str | None
    revert_reason: str | None = None


def decode_revert_reason(output: bytes) -> str:
    """The human reason in a revert's return data: the ``Error(string)`` text word for word.

    Empty data gives ``"execution reverted"`` (an ``assert`` without a reason). Anything
    else that is not ``Error(string)`` is shown in hex, so nothing is silently lost.
    """
    if not output:
        return "execution reverted"
    if output[:4] == _ERROR_STRING_SELECTOR:
        from eth_abi import decode as abi_decode

        try:
            (reason,) = abi_decode(["string"], output[4:])
        except Exception:  # malformed payload: fall through to the hex form
            pass
        else:
            return str(reason)
    if output[:4] == _PANIC_SELECTOR and len(output) == 36:
        return f"panic 0x{int.from_bytes(output[4:], 'big'):02x}"
    return "execution reverted: 0x" + output.hex()


class Chain(ABC):
    """An Ethereum chain the engine can send transactions to and read from.

    ``accounts`` maps aliases (``insurer``, ``adjudicator``, ``auditor``, ``hospital-1`` ...
    ``hospital-4``) to checksummed addresses. A ``sender`` argument is an alias or an address.
    Use as a context manager to ``close()`` on exit.
    """

    accounts: dict[str, str]
    chain_id: int

    # -- transactions -------------------------------------------------------------------

    @abstractmethod
    def send(self, sender: str, to: str | None, data: bytes, *, gas: int | None = None) -> Receipt:
        """Sign (or have the node sign), mine, and return the receipt; ``to=None`` deploys.

        Raises ``TransactionReverted(reason)`` when the transaction fails; never returns a
        receipt with status 0. Without ``gas`` the backend picks a limit that is enough.
        """

    @abstractmethod
    def send_many(
        self, sender: str, calls: Sequence[tuple[str | None, bytes]], *, gas: int
    ) -> list[Receipt]:
        """Send many transactions from one sender as fast as the backend allows.

        Receipts come back in the order of ``calls``. A failed call does not raise: its
        receipt has status 0 and a ``revert_reason``.
        """

    @abstractmethod
    def call(self, to: str, data: bytes, *, sender: str | None = None) -> bytes:
        """``eth_call`` on the latest state, without mining. Raises ``TransactionReverted``."""

    @abstractmethod
    def estimate_gas(self, sender: str, to: str | None, data: bytes) -> int:
        """The gas the transaction needs. Raises ``TransactionReverted`` if it would fail."""

    # -- reading ------------------------------------------------------------------------

    @abstractmethod
    def get_logs(
        self,
        address: str,
        topics: Sequence[bytes | None],
        from_block: int = 0,
        to_block: int | None = None,
    ) -> list[Log]:
        """Logs of ``address``, oldest first. ``topics`` filters by position; None matches any."""

    @abstractmethod
    def receipt(self, tx_hash: bytes) -> Receipt:
        """The receipt of a mined transaction. Raises ``ChainError`` if it is unknown."""

    @abstractmethod
    def block_number(self) -> int:
        """The number of the latest mined block."""

    @abstractmethod
    def balance(self, address: str) -> int:
        """The ether balance, in wei, of an address or alias."""

    @property
    @abstractmethod
    def block_gas_limit(self) -> int:
        """Gas one block may hold: size batches (``send_many`` gas) to fit under it."""

    # -- time ---------------------------------------------------------------------------

    @abstractmethod
    def now(self) -> int:
        """The timestamp the next block will carry (never less than the latest block's)."""

    @abstractmethod
    def set_time(self, timestamp: int) -> None:
        """Make the next block carry ``timestamp``. Forward only: earlier raises ChainError."""

    # -- lifecycle ----------------------------------------------------------------------

    #: Whether ``command`` can undo what was sent in it (the embedded chain); a node's
    #: chain cannot: what it mined stays.
    rolls_back = True

    @abstractmethod
    def command(self) -> AbstractContextManager[None]:
        """An atomic unit: everything sent inside commits together or not at all."""

    @abstractmethod
    def close(self) -> None:
        """Release the backend (files, locks, connections). Safe to call twice."""

    def address_of(self, who: str) -> str:
        """The checksummed address of an alias or an address."""
        if who in self.accounts:
            return self.accounts[who]
        from eth_utils import is_address, to_checksum_address

        if is_address(who):
            return to_checksum_address(who)
        known = ", ".join(self.accounts) or "none"
        raise ChainError(f"unknown account {who!r}", hint=f"use an address or one of: {known}")

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def iter_topic_filter(topics: Sequence[bytes | None]) -> Iterator[tuple[int, bytes]]:
    """(position, topic) pairs of a positional topic filter, skipping wildcards."""
    if len(topics) > 4:
        raise ChainError(f"a log has at most 4 topics; the filter gave {len(topics)}")
    for position, topic in enumerate(topics):
        if topic is None:
            continue
        if len(topic) != 32:
            raise ChainError(f"topic {position} must be 32 bytes, got {len(topic)}")
        yield position, topic
