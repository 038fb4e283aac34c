"""Fixtures shared by every test folder: chains to run on, and a tiny contract to run there.

- ``embedded_chain``: a fresh embedded chain on disk in ``tmp_path`` (closed afterwards).
- ``anvil_node``: one anvil per test session (per xdist worker) on 127.0.0.1. Skipped when
  anvil is not installed, unless ``CI`` is set: under CI a missing anvil is a failure.
- ``rpc_chain``: an ``RpcChain`` on that node.
- ``counter``: a compiled Vyper counter (an event, a revert with a reason, the clock).

Hypothesis profiles: ``repeatable`` (what ``make test``, and so ``.ci/run``, uses) draws
the same examples on every run, so that a fresh clone passes or fails the same way each
time; without it (``pytest`` alone), each run draws new examples, which is how new cases
are found. ``explore`` (``make explore``) draws new ones too, prints a failing case's
blob to reproduce it, and sets no wall-clock limit per example (a busy machine fails one).
A case found that way is kept as an ``@example``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_utils import keccak
from hypothesis import settings

from claimsengine.chain.anvil import AnvilNode, find_anvil, start_anvil
from claimsengine.chain.embedded import EmbeddedChain
from claimsengine.chain.rpc import RpcChain

settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False, print_blob=True, deadline=None)

COUNTER_SOURCE = """\
# pragma version ~=0.4.3
# @dev A test contract for the chain layer: a counter that logs, a revert, the clock.

# @dev Emitted on every increment, with the new value.
event Incremented:
    by: indexed(address)
    value: uint256

# @dev The current count.
count: public(uint256)


@deploy
def __init__(start: uint256):
    self.count = start


@external
def increment() -> uint256:
    self.count += 1
    log Incremented(by=msg.sender, value=self.count)
    return self.count


@external
def fail():
    raise "counter: always fails"


@external
@view
def stamp() -> uint256:
    return block.timestamp
"""


@dataclass(frozen=True)
class Counter:
    """The compiled counter and the call data to drive it."""

    bytecode: bytes
    increment: bytes = keccak(text="increment()")[:4]
    fail: bytes = keccak(text="fail()")[:4]
    count: bytes = keccak(text="count()")[:4]
    stamp: bytes = keccak(text="stamp()")[:4]
    incremented_topic: bytes = keccak(text="Incremented(address,uint256)")

    def deploy_data(self, start: int = 0) -> bytes:
        return self.bytecode + start.to_bytes(32, "big")


@pytest.fixture(scope="session")
def counter() -> Counter:
    import vyper

    compiled = vyper.compile_code(COUNTER_SOURCE, output_formats=["bytecode"])
    return Counter(bytecode=bytes.fromhex(compiled["bytecode"].removeprefix("0x")))


@pytest.fixture
def embedded_chain(tmp_path: Path) -> Iterator[EmbeddedChain]:
    chain = EmbeddedChain.open(tmp_path / "state", create=True)
    try:
        yield chain
    finally:
        chain.close()


def in_ci() -> bool:
    """Whether the CI environment variable is set (to anything but an explicit no)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def anvil_node() -> Iterator[AnvilNode]:
    if find_anvil() is None:
        if in_ci():
            pytest.fail("anvil is not installed, and CI is set: `make test` must install it")
        pytest.skip("anvil is not installed (run `make install`, or put anvil on PATH)")
    with start_anvil() as node:
        yield node


@pytest.fixture
def rpc_chain(anvil_node: AnvilNode) -> Iterator[RpcChain]:
    chain = RpcChain(anvil_node.url)
    try:
        yield chain
    finally:
        chain.close()
