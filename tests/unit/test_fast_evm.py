"""The embedded chain's fast opcode loop (chain/fast_evm.py) against py-evm's own.

The same workload (deploy, plan, members, providers, the fixture records in JSON and FHIR,
a review approval and denial, funding, settlement, a withdrawal and a refused duplicate)
runs twice in fresh processes on a frozen clock with the same keys: once with
CLAIMS_EVM=reference, once with the default fast loop. Every block hash must be equal, and
a block hash covers the state root, the receipts (gas, status, logs) and the bloom.

Then each inlined opcode, alone: hand-written programs run on both interpreters with every
amount of gas up to what they need (out of gas at each opcode, at memory growth, at word
and log costs), edge cases (stack limits, bad jumps, huge offsets, static calls), and
random code from hypothesis.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]

WORKLOAD = r"""
import json, sys
from datetime import date
from pathlib import Path
from claimsengine.chain.embedded import EmbeddedChain
from claimsengine.days import to_day
from claimsengine.errors import ClaimsError
from claimsengine.members import load_members
from claimsengine.plan import load_plan
from claimsengine.records import load_paths
from claimsengine.sdk import AdjudicatorClient, HospitalClient, InsurerClient, settle
from claimsengine.workspace import Workspace

fixtures = Path(sys.argv[1])
now = to_day(date(2027, 7, 1)) * 86_400
chain = EmbeddedChain.memory(clock=lambda: now)
ws = Workspace(Path(sys.argv[2]), chain, "embedded")
ws.setup()
insurer = InsurerClient(ws, "insurer")
insurer.deploy(load_plan(fixtures / "plans" / "silver.yaml"))
insurer.enroll("SILVER-2027", load_members(fixtures / "members.csv"))
insurer.add_provider("SILVER-2027", "HOSP-A", "hospital-1")
insurer.add_provider("SILVER-2027", "HOSP-B", "hospital-2")
insurer.set_adjudicator("SILVER-2027", "adjudicator")
insurer.fund("SILVER-2027", 50_000)
loaded = load_paths([fixtures / "records", fixtures / "fhir"])
hospital = HospitalClient(ws)
outcomes = hospital.submit_many([s.record for s in loaded.records])
adjudicator = AdjudicatorClient(ws, "adjudicator")
pending = adjudicator.queue("SILVER-2027")
adjudicator.approve(pending[0].claim_id)
for claim in pending[1:]:
    adjudicator.deny(claim.claim_id)
insurer.fund("SILVER-2027", 5_000_000)
settle(ws, "SILVER-2027", "auditor")
insurer.withdraw("SILVER-2027", 1_000)
first = next(o for o in outcomes if o.result is not None)
try:
    ws.engine.submit_claim(
        ws.chain.address_of("hospital-1"), "SILVER-2027",
        hospital.prepare(first.record).claim,
    )
except ClaimsError as error:
    refused = str(error)
hashes = [
    chain._evm.get_canonical_block_header_by_number(n).hash.hex()
    for n in range(chain.block_number() + 1)
]
print(json.dumps({"hashes": hashes, "refused": refused, "vm": type(chain._evm.get_vm()).__name__,
                  "statuses": [o.result.status for o in outcomes if o.result]}))
"""


def _run(tmp: Path, mode: str) -> dict[str, object]:
    env = dict(os.environ, CLAIMS_EVM=mode, CLAIMS_KEYS_DIR=str(tmp / "keys"))
    done = subprocess.run(
        [sys.executable, "-c", WORKLOAD, str(ROOT / "fixtures"), str(tmp / mode)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_fast_loop_gives_the_same_blocks_as_py_evm(tmp_path: Path) -> None:
    reference = _run(tmp_path, "reference")
    fast = _run(tmp_path, "fast")
    assert len(reference["hashes"]) >= 15  # type: ignore[arg-type]  # 18 blocks
    assert (reference["vm"], fast["vm"]) == ("PragueVM", "FastPragueVM")
    assert fast["hashes"] == reference["hashes"]
    assert fast["refused"] == reference["refused"] == "transaction reverted: claims: duplicate"
    assert fast["statuses"] == reference["statuses"]
    assert {"paid", "denied", "pending_review"} <= set(reference["statuses"])  # type: ignore[arg-type]


def test_the_decoded_node_cache_hands_out_copies_the_trie_may_edit() -> None:
    from trie import HexaryTrie
    from trie.constants import BLANK_NODE, BLANK_NODE_HASH
    from trie.utils.nodes import decode_node

    from claimsengine.chain import node_cache

    class Plain(HexaryTrie):  # type: ignore[misc]
        """py-evm's decoding every time, as without the cache."""

        def get_node(self, node_hash: Any) -> Any:
            if node_hash in (BLANK_NODE, BLANK_NODE_HASH):
                return BLANK_NODE
            if len(node_hash) < 32:
                return decode_node(node_hash)
            return decode_node(self.db[node_hash])

    node_cache.install()
    keys = [bytes([n * 6]) * 32 for n in range(40)]  # first bytes differ: a branch at the root
    cached, plain = HexaryTrie({}), Plain({})
    for trie in (cached, plain):
        for n, key in enumerate(keys):
            trie[key] = b"value %d" % n
    first = cached.get_node(cached.root_hash)
    assert isinstance(first, list) and len(first) == 17
    first[0] = b"edited in place"
    assert cached.get_node(cached.root_hash) != first  # the kept node was not touched
    # Edits through the cache give the roots and values that plain decoding gives.
    for trie in (cached, plain):
        trie[keys[3]] = b"changed"
        trie[b"\x01" * 32] = b"one more"
        del trie[keys[7]]
    assert cached.root_hash == plain.root_hash
    assert [cached.get(k) for k in keys] == [plain.get(k) for k in keys]


# -- each inlined opcode against py-evm's own, one computation at a time ---------------------
#
# The same bytecode runs on py-evm's PragueComputation and on FastPragueComputation, on the
# same state (reverted after each run). Everything a caller can see must be equal: the
# error's class, the gas left and refunded, the output, the logs, the storage written and,
# when the code ends without an error, the stack and memory.

CONTRACT: Any = bytes.fromhex("c0de" * 10)
SENDER: Any = bytes.fromhex("5e9d" * 10)


@pytest.fixture(scope="module")
def state() -> Any:
    from claimsengine.chain.embedded import EmbeddedChain

    return EmbeddedChain.memory()._evm.get_vm().state


def _execute(
    state: Any,
    fast: bool,
    code: bytes,
    gas: int,
    data: bytes = b"",
    static: bool = False,
    value: int = 0,
) -> dict[str, Any]:
    from eth.vm.forks.prague.computation import PragueComputation
    from eth.vm.message import Message

    from claimsengine.chain.fast_evm import FastPragueComputation

    computation_class = FastPragueComputation if fast else PragueComputation
    snapshot = state.snapshot()
    try:
        message = Message(
            gas=gas,
            to=CONTRACT,
            sender=SENDER,
            value=value,
            data=data,
            code=code,
            is_static=static,
        )
        context = state.get_transaction_context_class()(gas_price=1, origin=SENDER)
        done: Any = computation_class.apply_computation(state, message, context)
        seen: dict[str, Any] = {
            "error": type(done.error).__name__ if done.is_error else None,
            "gas_left": done.get_gas_remaining(),
            "meter": done._gas_meter.gas_remaining,
            "refund": done.get_gas_refund(),
            "output": done.output,
            "logs": done.get_log_entries(),
            "storage": [state.get_storage(CONTRACT, slot) for slot in range(4)],
        }
        if not done.is_error:
            seen["stack"] = [
                v if isinstance(v, int) else int.from_bytes(v, "big") for v in done._stack.values
            ]
            seen["memory"] = bytes(done._memory._bytes)
        return seen
    finally:
        state.revert(snapshot)


def _same(state: Any, code: bytes, gas: int = 1_000_000, **kwargs: Any) -> dict[str, Any]:
    reference = _execute(state, False, code, gas, **kwargs)
    assert _execute(state, True, code, gas, **kwargs) == reference
    return reference


def _asm(*parts: int | bytes | str) -> bytes:
    """Bytecode from opcodes (ints), raw bytes, and "pushN:value" strings."""
    out = bytearray()
    for part in parts:
        if isinstance(part, int):
            out.append(part)
        elif isinstance(part, bytes):
            out += part
        else:
            size, value = part.removeprefix("push").split(":")
            out.append(0x5F + int(size))
            out += int(value, 0).to_bytes(int(size), "big")
    return bytes(out)


ADD, MUL, SUB, DIV, MOD, LT, GT, EQ, ISZERO, AND, OR, XOR, NOT, SHL, SHR = (
    0x01, 0x02, 0x03, 0x04, 0x06, 0x10, 0x11, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1B, 0x1C,
)  # fmt: skip
SHA3, ADDRESS, CALLER, CALLVALUE, CALLDATALOAD, CALLDATASIZE, CALLDATACOPY = (
    0x20, 0x30, 0x33, 0x34, 0x35, 0x36, 0x37,
)  # fmt: skip
POP, MLOAD, MSTORE, SLOAD, SSTORE, JUMP, JUMPI, GAS, JUMPDEST, MCOPY, PUSH0 = (
    0x50, 0x51, 0x52, 0x54, 0x55, 0x56, 0x57, 0x5A, 0x5B, 0x5E, 0x5F,
)  # fmt: skip
STOP, LOG0, LOG2, LOG4, RETURN, REVERT, INVALID = 0x00, 0xA0, 0xA2, 0xA4, 0xF3, 0xFD, 0xFE

# Programs that end well with enough gas; each is also run with every smaller amount.
PROGRAMS = {
    "arithmetic": _asm(
        "push1:7",
        "push1:5",
        ADD,
        "push32:" + hex(2**256 - 1),
        MUL,
        "push1:3",
        0x90,  # SWAP1
        SUB,
        "push1:0",
        DIV,
        "push1:9",
        "push1:4",
        MOD,
        "push1:0",
        "push1:9",
        MOD,
        LT,
        GT,
        "push1:1",
        EQ,
        ISZERO,
        NOT,
        "push1:255",
        AND,
        "push1:3",
        OR,
        "push1:6",
        XOR,
        "push1:4",
        SHL,
        "push2:300",
        SHR,
        "push1:1",
        "push2:256",
        SHL,
        "push32:" + hex(2**256 - 3),
        "push1:4",
        SHL,  # bits shifted out
        "push32:" + hex(2**256 - 3),
        "push1:9",
        ADD,  # wraps
        "push1:9",
        PUSH0,
        SUB,  # wraps below zero
        PUSH0,
        0x80,
        0x81,
        0x91,
        0x82,  # DUP3
        POP,
        STOP,
    ),
    "memory growth": _asm(
        "push1:42",
        "push1:0",
        MSTORE,
        "push1:43",
        "push2:1000",
        MSTORE,
        "push1:31",
        MLOAD,
        "push2:2000",
        MLOAD,
        "push1:64",
        "push1:0",
        SHA3,
        "push1:0",
        "push2:3000",
        SHA3,
        "push1:33",
        "push1:1",
        SHA3,  # two words
        "push1:40",
        "push1:10",
        "push2:4000",
        MCOPY,
        "push1:0",
        "push1:1",
        "push1:2",
        MCOPY,
        "push1:0",
        "push1:0",
        RETURN,
    ),
    "call data": _asm(
        CALLDATASIZE,
        "push1:0",
        CALLDATALOAD,
        "push1:30",
        CALLDATALOAD,
        "push32:" + hex(2**255),
        CALLDATALOAD,
        "push1:70",
        "push1:2",
        "push1:16",
        CALLDATACOPY,
        "push1:0",
        "push1:9",
        "push2:900",
        CALLDATACOPY,
        CALLER,
        CALLVALUE,
        ADDRESS,
        0x32,  # ORIGIN: py-evm's own, which pushes bytes
        "push1:1",
        ADD,
        "push1:64",
        MSTORE,
        "push1:96",
        "push1:0",
        RETURN,
    ),
    "logs": _asm(
        "push1:7",
        "push1:0",
        MSTORE,
        "push1:1",
        "push1:2",
        "push1:40",
        "push1:0",
        LOG2,
        "push1:1",
        "push1:2",
        "push1:3",
        "push1:4",
        "push1:0",
        "push2:500",
        LOG4,
        "push1:0",
        "push1:0",
        LOG0,
        STOP,
    ),
    "jumps": _asm(
        "push1:0",
        "push1:16",
        JUMPI,
        "push1:1",
        "push1:16",
        JUMPI,
        INVALID,
        INVALID,
        INVALID,
        INVALID,
        INVALID,
        INVALID,
        JUMPDEST,
        "push1:24",
        JUMP,
        INVALID,
        INVALID,
        INVALID,
        INVALID,
        JUMPDEST,
        GAS,
        "push1:5",
        STOP,
    ),  # fmt: skip
    "storage and gas": _asm(
        GAS,
        "push1:5",
        "push1:1",
        SSTORE,
        GAS,
        "push1:0",
        "push1:1",
        SSTORE,
        "push1:1",
        SLOAD,
        GAS,
        "push1:9",
        "push1:2",
        SSTORE,
        "push1:2",
        "push1:0",
        REVERT,
    ),
    "revert with data": _asm("push2:0xbeef", "push1:0", MSTORE, "push1:2", "push1:30", REVERT),
    "truncated push": _asm("push1:1", 0x7F, b"\x01\x02"),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_each_program_gives_py_evm_results_with_any_gas(state: Any, name: str) -> None:
    code = PROGRAMS[name]
    data = bytes(range(1, 48))
    enough = _same(state, code, data=data, value=3)
    assert enough["error"] in (None, "Revert")
    used = 1_000_000 - enough["gas_left"]
    # Out of gas at every opcode, memory growth, word and log cost on the way: every amount
    # (for the storage program, whose SSTOREs cost 20,000 and more, every amount near the
    # start and the end, where its cheap opcodes are, and every 37th between).
    amounts = set(range(min(used, 2_500))) | set(range(max(0, used - 2_500), used + 2))
    for gas in sorted(amounts | set(range(0, used, 37))):
        _same(state, code, gas=gas, data=data, value=3)


def test_the_programs_run_the_opcodes_they_name(state: Any) -> None:
    from claimsengine.chain.fast_evm import FastPragueComputation

    gas, translate, _ = FastPragueComputation._loop_tables()
    inlined = {op for op in range(256) if translate[op] == op and op != 0x0C}
    used = set()
    for code in PROGRAMS.values():
        used |= set(code)  # push data too, which only overstates
    missing = inlined - used - set(range(0x60, 0xA0)) - {0xA1, 0xA3}
    assert not missing, sorted(hex(op) for op in missing)
    assert {SLOAD, SSTORE, GAS} & inlined == set()  # py-evm's own, handed over


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (_asm(*["push1:1"] * 1025), "FullStack"),
        (_asm(*["push1:1"] * 1024, 0x80), "FullStack"),  # DUP1 on a full stack
        (_asm(*[PUSH0] * 1024, CALLDATASIZE), "FullStack"),
        (_asm(*["push1:1"] * 1024, CALLER), "FullStack"),
        (_asm(*["push1:1"] * 1023, 0x80, STOP), None),  # exactly 1024 items
        (_asm(POP), "InsufficientStack"),
        (_asm("push1:1", ADD), "InsufficientStack"),
        (_asm("push1:1", 0x81), "InsufficientStack"),  # DUP2 of one item
        (_asm(*["push1:1"] * 16, 0x9F), "InsufficientStack"),  # SWAP16 of 16 items
        (_asm(*["push1:1"] * 17, 0x9F, STOP), None),
        (_asm("push1:1", "push1:1", "push1:1", LOG2), "InsufficientStack"),
        (_asm("push1:0", MSTORE), "InsufficientStack"),
        (_asm("push1:3", JUMP, INVALID, JUMPDEST), "InvalidJumpDestination"),
        (_asm("push1:4", JUMP, "push1:0x5b"), "InvalidInstruction"),  # JUMPDEST in PUSH data
        (_asm("push1:200", JUMP), "InvalidJumpDestination"),  # past the end
        (_asm("push1:1", "push1:200", JUMPI), "InvalidJumpDestination"),
        (_asm("push1:0", "push1:200", JUMPI, STOP), None),  # not taken: no check
        (_asm("push32:" + hex(2**256 - 1), JUMP), "InvalidJumpDestination"),
        (_asm(INVALID), "InvalidInstruction"),
        (_asm(0x0C), "InvalidInstruction"),  # unassigned: the loop's own marker byte
        (_asm(0xEF), "InvalidInstruction"),
        (_asm("push32:" + hex(2**256 - 1), MLOAD), "OutOfGas"),
        (_asm("push1:1", "push32:" + hex(2**255), SHA3), "OutOfGas"),
        (_asm("push1:0", "push32:" + hex(2**255), SHA3, STOP), None),  # no bytes, no memory
        (_asm("push1:0", "push32:" + hex(2**255), "push1:0", MCOPY, STOP), None),
        (_asm("push32:" + hex(2**200), "push1:0", "push1:0", MCOPY), "OutOfGas"),
        (_asm("push1:1", "push32:" + hex(2**255), RETURN), "OutOfGas"),
        (_asm("push1:0", "push32:" + hex(2**255), RETURN), None),
        (_asm("push32:" + hex(2**250), "push1:0", "push1:0", CALLDATACOPY), "OutOfGas"),
        (_asm("push32:" + hex(2**250), "push1:0", LOG0), "OutOfGas"),
    ],
)
def test_edge_cases_give_py_evm_errors(state: Any, code: bytes, error: str | None) -> None:
    assert _same(state, code, data=b"\x01\x02")["error"] == error


def test_a_static_call_refuses_logs_as_py_evm_does(state: Any) -> None:
    code = _asm("push1:0", "push1:0", LOG0, STOP)
    assert _same(state, code, static=True)["error"] == "WriteProtection"
    assert _same(state, code)["error"] is None
    store = _asm("push1:1", "push1:0", SSTORE)
    assert _same(state, store, static=True)["error"] == "WriteProtection"


_ATOMS = [
    *(bytes([op]) for op in (ADD, MUL, SUB, DIV, MOD, LT, GT, EQ, ISZERO, AND, OR, XOR, NOT)),
    *(bytes([op]) for op in (SHL, SHR, SHA3, CALLER, CALLVALUE, CALLDATALOAD, CALLDATASIZE)),
    *(bytes([op]) for op in (CALLDATACOPY, POP, MLOAD, MSTORE, JUMP, JUMPI, GAS, JUMPDEST)),
    *(bytes([op]) for op in (MCOPY, PUSH0, SLOAD, SSTORE, LOG0, 0xA1, LOG2, RETURN, REVERT)),
    *(bytes([op]) for op in (STOP, ADDRESS, 0x32, 0x80, 0x81, 0x83, 0x90, 0x91, 0x93, 0x0C)),
    b"\x60\x00", b"\x60\x01", b"\x60\x05", b"\x60\x20", b"\x60\x40", b"\x61\x01\x00",
    b"\x7f" + b"\xff" * 32,
]  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.lists(st.sampled_from(_ATOMS), max_size=60),
    gas=st.integers(0, 40_000),
    static=st.booleans(),
)
def test_random_code_gives_py_evm_results(
    state: Any, body: list[bytes], gas: int, static: bool
) -> None:
    # Small values first, so that memory offsets and jumps often land somewhere.
    code = _asm("push1:4", "push1:32", "push1:1", "push1:9", "push1:0") + b"".join(body)
    _same(state, code, gas=gas, data=bytes(range(40)), static=static)
