"""A faster opcode loop for py-evm's Prague computation, used by the embedded chain.

py-evm spends about 2.3 us per opcode, and a claim runs about 1,940 of them: most of the
embedded chain's time is the interpreter's own overhead, not the claim's logic. Each opcode
goes through ``Opcode.__call__`` -> ``computation.consume_gas`` -> ``GasMeter.consume_gas``
-> the logic function -> ``computation.stack_pop_ints`` -> ``Stack.pop_any`` -> ``to_int``
... about ten Python calls for an ``ADD``.

``FastPragueComputation.apply_computation`` runs the same bytecode with the opcodes the
engine's contracts execute inlined in one loop (PUSH*, DUP*, SWAP*, POP, MLOAD, MSTORE,
MCOPY, JUMP, JUMPI, JUMPDEST, STOP, RETURN, REVERT, LOG0-4, SHA3, the call-data and
caller reads, plain arithmetic, comparison and bit operations; all but about 15 of a
claim's 1,940 opcodes), and hands every other opcode (SLOAD, SSTORE, CALL, ...) to
py-evm's own implementation. The results are identical: same gas to the unit, same errors,
same state (tests/unit/test_fast_evm.py replays a workload on both interpreters and
compares every block hash, and runs each inlined opcode's edge cases on both).

Each inlined opcode:
- charges the static gas that py-evm's own opcode table gives it (read from the table, so a
  fork with other costs stays right), raising ``OutOfGas`` exactly where py-evm would; an
  opcode is inlined only while the fork's table maps it to the py-evm function it mirrors;
- charges its dynamic gas (memory expansion by py-evm's own ``memory_gas_cost``, SHA3 and
  copy words, log data and topics) in py-evm's order;
- keeps the 1024-item stack limit (``FullStack``) and raises ``InsufficientStack`` on
  underflow;
- for JUMP/JUMPI, checks the destination is a JUMPDEST outside PUSH data, as py-evm does,
  with the same exception classes; LOG* refuses a static call with ``WriteProtection``.

The loop keeps the gas in a local and writes it back to py-evm's gas meter before any
opcode it hands over (and reads it back after), and on the way out. Stack items are kept
as ints: py-evm's own opcodes may push bytes, and the loop converts that one pushed item
after each handed-over opcode (py-evm's stack accepts either and converts on pop).
"""

from __future__ import annotations

from typing import Any

from eth import constants
from eth.abc import ComputationAPI, MessageAPI, StateAPI, TransactionContextAPI
from eth.exceptions import (
    FullStack,
    Halt,
    InsufficientStack,
    InvalidInstruction,
    InvalidJumpDestination,
    OutOfGas,
    Revert,
    WriteProtection,
)
from eth.vm import logic
from eth.vm.computation import NO_RESULT, BaseComputation, memory_gas_cost
from eth.vm.forks.byzantium.opcodes import ensure_no_static
from eth.vm.forks.prague import PragueVM
from eth.vm.forks.prague.computation import PragueComputation
from eth.vm.forks.prague.state import PragueState
from eth_hash.auto import keccak

UINT_256_MAX = 2**256 - 1
_JUMPDEST = 0x5B
#: The loop sees every opcode it does not inline as this byte (an unassigned opcode), and
#: hands the real one to py-evm.
_DELEGATED = 0x0C
#: Zero bytes (STOP) after the code: running off the end, or a PUSH cut short, reads them.
_PADDING = b"\x00" * 33

# The py-evm logic function each inlined opcode replaces. An opcode is inlined only if the
# fork's table still maps it to exactly this function.
_INLINED = {
    0x00: logic.flow.stop,
    0x01: logic.arithmetic.add,
    0x02: logic.arithmetic.mul,
    0x03: logic.arithmetic.sub,
    0x04: logic.arithmetic.div,
    0x06: logic.arithmetic.mod,
    0x10: logic.comparison.lt,
    0x11: logic.comparison.gt,
    0x14: logic.comparison.eq,
    0x15: logic.comparison.iszero,
    0x16: logic.comparison.and_op,
    0x17: logic.comparison.or_op,
    0x18: logic.comparison.xor,
    0x19: logic.comparison.not_op,
    0x1B: logic.arithmetic.shl,
    0x1C: logic.arithmetic.shr,
    0x20: logic.sha3.sha3,
    0x30: logic.context.address,
    0x33: logic.context.caller,
    0x34: logic.context.callvalue,
    0x35: logic.context.calldataload,
    0x36: logic.context.calldatasize,
    0x37: logic.context.calldatacopy,
    0x50: logic.stack.pop,
    0x51: logic.memory.mload,
    0x52: logic.memory.mstore,
    0x56: logic.flow.jump,
    0x57: logic.flow.jumpi,
    0x5B: logic.flow.jumpdest,
    0x5E: logic.memory.mcopy,
    0x5F: logic.stack.push0,
    0xF3: logic.system.return_op,
    0xFD: logic.system.revert,
}
# LOG0-LOG4: py-evm wraps each in ensure_no_static; the wrapper must be that one.
_LOGS = {
    0xA0: logic.logging.log0,
    0xA1: logic.logging.log1,
    0xA2: logic.logging.log2,
    0xA3: logic.logging.log3,
    0xA4: logic.logging.log4,
}
_NO_STATIC_CODE = ensure_no_static(logic.flow.jumpdest).__code__
# Opcodes that touch memory: inlined only if the computation's memory expansion is py-evm's.
_MEMORY_OPS = {0x20, 0x37, 0x51, 0x52, 0x5E, 0xF3, 0xFD, *_LOGS}

GAS_SHA3WORD = constants.GAS_SHA3WORD
GAS_COPY = constants.GAS_COPY
GAS_LOGDATA = constants.GAS_LOGDATA
GAS_LOGTOPIC = constants.GAS_LOGTOPIC

_Analysis = tuple[bytes, list[int], frozenset[int]]
_analysis_cache: dict[tuple[bytes, bytes], _Analysis] = {}


def _analyse(raw: bytes, translate: bytes) -> _Analysis:
    """The code as the loop reads it, PUSH values by position, valid JUMPDESTs (cached).

    ``ops`` is the code with every opcode the loop does not inline mapped to ``_DELEGATED``,
    then padding; ``pushed[pc]`` is the value of the PUSH whose data starts at ``pc``.
    """
    key = (raw, translate)
    found = _analysis_cache.get(key)
    if found is None:
        valid = set()
        pushed = [0] * (len(raw) + 1)
        padded = raw + _PADDING
        position, length = 0, len(raw)
        while position < length:
            op = raw[position]
            if op == _JUMPDEST:
                valid.add(position)
            if 0x60 <= op <= 0x7F:
                size = op - 0x5F
                pushed[position + 1] = int.from_bytes(
                    padded[position + 1 : position + 1 + size], "big"
                )
                position += size + 1
            else:
                position += 1
        found = (raw.translate(translate) + _PADDING, pushed, frozenset(valid))
        if len(_analysis_cache) > 256:
            _analysis_cache.clear()
        _analysis_cache[key] = found
    return found


def _inlinable(opcodes: dict[int, Any], memory_is_py_evm: bool) -> dict[int, int]:
    """Static gas of the opcodes the loop may run itself, from the fork's own table."""
    gas: dict[int, int] = {}
    for op, fn in opcodes.items():
        logic_fn = getattr(fn, "logic_fn", None)
        if op in _MEMORY_OPS and not memory_is_py_evm:
            continue
        if op in _LOGS:
            # py-evm's own LOG, behind ensure_no_static (whose check the loop repeats)
            inline = (
                getattr(logic_fn, "__code__", None) is _NO_STATIC_CODE
                and getattr(logic_fn, "__wrapped__", None) is _LOGS[op]
            )
        elif 0x60 <= op <= 0x9F:
            inline = logic_fn is not None  # PUSH1-32, DUP1-16, SWAP1-16
        else:
            inline = op in _INLINED and logic_fn is _INLINED[op]
        if inline:
            gas[op] = fn.gas_cost
    return gas


def _expand(memory: Any, start: int, size: int, gas: int) -> int:
    """py-evm's ``extend_memory`` for ``size`` > 0: charge the growth, grow; gas left."""
    before = len(memory._bytes)  # always a multiple of 32
    after = (start + size + 31) // 32 * 32
    fee = memory_gas_cost(after) - memory_gas_cost(before)
    if fee > 0:
        if fee > gas:
            raise OutOfGas(
                f"Out of gas: Needed {fee} - Remaining {gas} - Reason: Expanding memory "
                f"{before} -> {after}"
            )
        gas -= fee
    memory.extend(start, size)
    return gas


def _out_of_gas(needed: int, remaining: int, reason: str) -> OutOfGas:
    return OutOfGas(f"Out of gas: Needed {needed} - Remaining {remaining} - Reason: {reason}")


def _bad_jump(dest: int, raw: bytes) -> Exception:
    # py-evm's order: a destination that is not a JUMPDEST byte (or past the end) is an
    # InvalidJumpDestination; a JUMPDEST byte inside PUSH data is an InvalidInstruction.
    if dest >= len(raw) or raw[dest] != _JUMPDEST:
        return InvalidJumpDestination("Invalid Jump Destination")
    return InvalidInstruction("Jump resulted in invalid instruction")


def _run(computation: Any, gas_of: list[int], translate: bytes) -> None:
    """Execute ``computation.code`` from its program counter until it halts."""
    code = computation.code
    raw: bytes = code._raw_code_bytes
    ops, pushed, jumpdests = _analyse(raw, translate)
    stack: list[Any] = computation._stack.values
    for index, item in enumerate(stack):
        if item.__class__ is not int:
            stack[index] = int.from_bytes(item, "big")
    push = stack.append
    pop = stack.pop
    meter = computation._gas_meter
    memory = computation._memory
    msg = computation.msg
    opcodes = computation.opcodes
    gas: int = meter.gas_remaining
    pc: int = code.program_counter
    delegating = False
    try:
        while True:
            op = ops[pc]
            pc += 1
            cost = gas_of[op]
            gas -= cost
            if gas < 0:
                gas += cost
                raise _out_of_gas(cost, gas, opcodes[op].mnemonic)
            if op >= 0x60:
                if op < 0x80:  # PUSH1-PUSH32
                    if len(stack) > 1023:
                        raise FullStack("Stack limit reached")
                    push(pushed[pc])
                    pc += op - 0x5F
                elif op < 0x90:  # DUP1-DUP16
                    if len(stack) > 1023:
                        raise FullStack("Stack limit reached")
                    push(stack[0x7F - op])  # IndexError: too few items
                elif op < 0xA0:  # SWAP1-SWAP16
                    index = 0x8E - op
                    stack[-1], stack[index] = stack[index], stack[-1]
                elif op < 0xA5:  # LOG0-LOG4
                    if msg.is_static:
                        raise WriteProtection(
                            "Cannot modify state while inside of a STATICCALL context"
                        )
                    start = pop()
                    size = pop()
                    topics = tuple([pop() for _ in range(op - 0xA0)])
                    fee = GAS_LOGDATA * size + GAS_LOGTOPIC * (op - 0xA0)
                    if fee > gas:
                        raise _out_of_gas(fee, gas, "Log topic and data gas cost")
                    gas -= fee
                    if size:
                        if start + size > len(memory._bytes):
                            gas = _expand(memory, start, size, gas)
                        data = bytes(memory._bytes[start : start + size])
                    else:
                        data = b""
                    computation.add_log_entry(account=msg.storage_address, topics=topics, data=data)
                elif op == 0xF3 or op == 0xFD:  # RETURN, REVERT
                    start = pop()
                    size = pop()
                    if size:
                        if start + size > len(memory._bytes):
                            gas = _expand(memory, start, size, gas)
                        output = bytes(memory._bytes[start : start + size])
                    else:
                        output = b""
                    computation.output = output
                    if op == 0xFD:
                        raise Revert(output)
                    return
                else:  # pragma: no cover - the translation sends nothing else here
                    raise AssertionError(f"opcode 0x{op:02x} is not inlined")
            elif op >= 0x50:
                if op == 0x51:  # MLOAD
                    start = pop()
                    if start + 32 > len(memory._bytes):
                        gas = _expand(memory, start, 32, gas)
                    push(int.from_bytes(memory._bytes[start : start + 32], "big"))
                elif op == 0x52:  # MSTORE
                    start = pop()
                    value = pop()
                    if start + 32 > len(memory._bytes):
                        gas = _expand(memory, start, 32, gas)
                    memory._bytes[start : start + 32] = value.to_bytes(32, "big")
                elif op == 0x57:  # JUMPI
                    dest = pop()
                    if pop():
                        if dest not in jumpdests:
                            raise _bad_jump(dest, raw)
                        pc = dest
                elif op == 0x5B:  # JUMPDEST
                    pass
                elif op == 0x5F:  # PUSH0
                    if len(stack) > 1023:
                        raise FullStack("Stack limit reached")
                    push(0)
                elif op == 0x56:  # JUMP
                    dest = pop()
                    if dest not in jumpdests:
                        raise _bad_jump(dest, raw)
                    pc = dest
                elif op == 0x5E:  # MCOPY
                    dest = pop()
                    source = pop()
                    size = pop()
                    if size:
                        high = source if source > dest else dest
                        if high + size > len(memory._bytes):
                            gas = _expand(memory, high, size, gas)
                    fee = GAS_COPY * ((size + 31) // 32)
                    if fee > gas:
                        raise _out_of_gas(fee, gas, "MCOPY fee")
                    gas -= fee
                    if size:
                        buffer = memory._bytes
                        buffer[dest : dest + size] = buffer[source : source + size]
                elif op == 0x50:  # POP
                    pop()
                else:  # pragma: no cover - the translation sends nothing else here
                    raise AssertionError(f"opcode 0x{op:02x} is not inlined")
            elif op >= 0x20:
                if op == 0x20:  # SHA3
                    start = pop()
                    size = pop()
                    if size:
                        if start + size > len(memory._bytes):
                            gas = _expand(memory, start, size, gas)
                        data = bytes(memory._bytes[start : start + size])
                    else:
                        data = b""
                    fee = GAS_SHA3WORD * ((size + 31) // 32)
                    if fee > gas:
                        raise _out_of_gas(fee, gas, "SHA3: word gas cost")
                    gas -= fee
                    push(int.from_bytes(keccak(data), "big"))
                elif op == 0x35:  # CALLDATALOAD
                    start = pop()
                    value = msg.data[start : start + 32]
                    push(int.from_bytes(value, "big") << (256 - 8 * len(value)) & UINT_256_MAX)
                elif op == 0x36:  # CALLDATASIZE
                    if len(stack) > 1023:
                        raise FullStack("Stack limit reached")
                    push(len(msg.data))
                elif op == 0x37:  # CALLDATACOPY
                    start = pop()
                    source = pop()
                    size = pop()
                    if size and start + size > len(memory._bytes):
                        gas = _expand(memory, start, size, gas)
                    fee = GAS_COPY * ((size + 31) // 32)
                    if fee > gas:
                        raise _out_of_gas(fee, gas, "CALLDATACOPY fee")
                    gas -= fee
                    if size:
                        value = bytes(msg.data[source : source + size])
                        memory._bytes[start : start + size] = value.ljust(size, b"\x00")
                elif op == 0x33:  # CALLER
                    if len(stack) > 1023:
                        raise FullStack("Stack limit reached")
                    push(int.from_bytes(msg.sender, "big"))
                elif op == 0x34:  # CALLVALUE
                    if len(stack) > 1023:
                        raise FullStack("Stack limit reached")
                    push(msg.value)
                elif op == 0x30:  # ADDRESS
                    if len(stack) > 1023:
                        raise FullStack("Stack limit reached")
                    push(int.from_bytes(msg.storage_address, "big"))
                else:  # pragma: no cover - the translation sends nothing else here
                    raise AssertionError(f"opcode 0x{op:02x} is not inlined")
            elif op == _DELEGATED or op == 0x00:
                if op == 0x00:
                    return  # STOP, or past the end of the code
                # Not inlined: py-evm's own opcode, with the counter and the gas handed over.
                meter.gas_remaining = gas
                code.program_counter = pc
                delegating = True
                computation.get_opcode_fn(raw[pc - 1])(computation=computation)
                delegating = False
                gas = meter.gas_remaining
                pc = code.program_counter
                if stack and stack[-1].__class__ is not int:
                    stack[-1] = int.from_bytes(stack[-1], "big")
            elif op == 0x15:  # ISZERO
                push(1 if pop() == 0 else 0)
            elif op == 0x19:  # NOT
                push(UINT_256_MAX - pop())
            else:
                a = pop()
                b = pop()
                if op == 0x01:
                    push((a + b) & UINT_256_MAX)
                elif op == 0x18:
                    push(a ^ b)
                elif op == 0x10:
                    push(1 if a < b else 0)
                elif op == 0x16:
                    push(a & b)
                elif op == 0x02:
                    push((a * b) & UINT_256_MAX)
                elif op == 0x1C:
                    push(0 if a >= 256 else b >> a)
                elif op == 0x1B:
                    push(0 if a >= 256 else (b << a) & UINT_256_MAX)
                elif op == 0x11:
                    push(1 if a > b else 0)
                elif op == 0x17:
                    push(a | b)
                elif op == 0x03:
                    push((a - b) & UINT_256_MAX)
                elif op == 0x14:
                    push(1 if a == b else 0)
                elif op == 0x04:
                    push(0 if b == 0 else (a // b) & UINT_256_MAX)
                elif op == 0x06:
                    push(0 if b == 0 else a % b)
                else:  # pragma: no cover - the translation sends nothing else here
                    raise AssertionError(f"opcode 0x{op:02x} is not inlined")
    except Halt:
        return
    except IndexError:
        if delegating:
            raise
        raise InsufficientStack("Insufficient stack items") from None
    finally:
        if not delegating:
            meter.gas_remaining = gas
            code.program_counter = pc


class FastPragueComputation(PragueComputation):
    """PragueComputation with the opcode loop above; everything else is py-evm's."""

    _tables: tuple[list[int], bytes] | None = None

    @classmethod
    def _loop_tables(cls) -> tuple[list[int], bytes]:
        """Static gas by opcode (0 for py-evm's own), and the opcode translation."""
        if cls._tables is None:
            inlined = _inlinable(cls.opcodes, cls.extend_memory is BaseComputation.extend_memory)
            gas = [0] * 256
            translate = bytearray([_DELEGATED] * 256)
            for op, cost in inlined.items():
                gas[op] = cost
                translate[op] = op
            cls._tables = (gas, bytes(translate))
        return cls._tables

    @classmethod
    def apply_computation(
        cls,
        state: StateAPI,
        message: MessageAPI,
        transaction_context: TransactionContextAPI,
        parent_computation: ComputationAPI | None = None,
    ) -> ComputationAPI:
        if cls.logger.show_debug2:
            # Opcode-level debug logs: leave it all to py-evm.
            return super().apply_computation(
                state, message, transaction_context, parent_computation
            )
        # The same prologue as py-evm's BaseComputation.apply_computation.
        with cls(state, message, transaction_context) as computation:
            if computation.is_origin_computation:
                computation.contracts_created = []
                if message.is_create:
                    cls.consume_initcode_gas_cost(computation)
            if parent_computation is not None:
                computation.contracts_created = parent_computation.contracts_created
            if message.is_create:
                computation.contracts_created.append(message.storage_address)
            precompile = computation.precompiles.get(message.code_address, NO_RESULT)
            if precompile is not NO_RESULT:
                if not message.is_delegation:
                    precompile(computation)
                return computation
            _run(computation, *cls._loop_tables())
        return computation


FastPragueState = PragueState.configure(
    __name__="FastPragueState", computation_class=FastPragueComputation
)
FastPragueVM = PragueVM.configure(__name__="FastPragueVM", _state_class=FastPragueState)
