"""The identifiers that go on-chain, one rule each, and their bytes32 encoding.

A plan id, a service code and a provider's reference are stored on the chain as a
left-aligned, zero-padded ``bytes32`` (docs/architecture.md, "On-chain identifiers"). Plans,
records and the SDK all check them against the patterns here, so a plan can never cover a
code that no record can bill, nor a record name a plan no plan file can have.
"""

from __future__ import annotations

import re

from eth_hash.auto import keccak

__all__ = [
    "CODE",
    "MAX_CODE_LENGTH",
    "MAX_PLAN_ID_LENGTH",
    "PLAN_ID",
    "PLAN_ID_RULE",
    "PROVIDER_ID",
    "PROVIDER_ID_RULE",
    "bytes32_to_text",
    "checksum_address",
    "plan_id_problem",
    "provider_id_problem",
    "text_to_bytes32",
]

MAX_PLAN_ID_LENGTH = 32
MAX_CODE_LENGTH = 32

# A plan id (formats.md, "Plan"): 1-32 characters of A-Z a-z 0-9 . _ -
PLAN_ID = re.compile(r"[A-Za-z0-9._-]{1,32}")
# A service code: 1-32 visible ASCII characters, no spaces (a space anywhere in a code is
# almost always a typo, and a record's code is matched to the plan's byte for byte).
CODE = re.compile(r"[!-~]{1,32}")
# The id a plan registers a provider under: the same rule as a code.
PROVIDER_ID = CODE

#: Each id rule in words, for the messages that refuse an id.
PLAN_ID_RULE = "1-32 characters of A-Z a-z 0-9 . _ -"
PROVIDER_ID_RULE = (
    "1-32 ASCII letters, digits or symbols, no spaces (it is the provider's reference on the chain)"
)


def plan_id_problem(value: object) -> str | None:
    """Why ``value`` cannot be a plan id, or None when it can."""
    if isinstance(value, str) and PLAN_ID.fullmatch(value):
        return None
    return f"{value!r} is not a plan id: {PLAN_ID_RULE}"


def provider_id_problem(value: object) -> str | None:
    """Why ``value`` cannot be a provider id, or None when it can."""
    if isinstance(value, str) and PROVIDER_ID.fullmatch(value):
        return None
    return f"{value!r} is not a provider id: {PROVIDER_ID_RULE}"


def text_to_bytes32(text: str) -> bytes:
    """An ASCII id (plan id, service code, provider id) as a left-aligned bytes32."""
    raw = text.encode("ascii")
    if not 1 <= len(raw) <= 32:
        raise ValueError(f"{text!r} must be 1 to 32 ASCII characters")
    return raw.ljust(32, b"\0")


def bytes32_to_text(value: bytes) -> str:
    """The id a left-aligned bytes32 holds (the inverse of ``text_to_bytes32``)."""
    return value.rstrip(b"\0").decode("ascii")


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
