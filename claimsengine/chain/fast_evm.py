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
- keeps the 1024-item stack limit and raises ``InsufficientStack`` on underflow;
- for JUMP/JUMPI, checks the destination is a JUMPDEST outside PUSH data, as py-evm does,
  with the same exception classes; LOG* refuses a static call with ``WriteProtection``.

The loop works by straight runs (the opcodes up to the next jump, halt, or opcode it hands
to py-evm): entering a run, it charges the run's static gas and checks that the stack
cannot pass 1,024 items in it; a run that the gas cannot pay, or that could fill the stack,
goes to py-evm's own loop, which then raises ``OutOfGas`` or ``FullStack`` at the exact
opcode. Inside a run only errors that burn all the gas can stop it early, so the charge is
what py-evm would have charged by then; where the gas is seen (py-evm's opcodes, memory
growth and other dynamic costs, the end) it is exactly py-evm's figure. The gas lives in a
local and goes back to py-evm's gas meter before any opcode it hands over, and on the way
out. Stack items are kept as ints: py-evm's own opcodes may push bytes, and the loop
converts that one pushed item after each handed-over opcode.
"""

from __future__ import annotations

from typing import Any

from eth import constants
from eth.abc import ComputationAPI, MessageAPI, StateAPI, TransactionContextAPI
from eth.exceptions import (
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

#: Opcodes after which the loop charges the next straight run's static gas anew.
_ENDS_RUN = {0x00, 0x56, 0x57, 0xF3, 0xFD}


def _stack_change(op: int) -> int:
    """Items an inlined opcode adds to the stack (negative: takes)."""
    if 0x5F <= op <= 0x8F or op in (0x30, 0x33, 0x34, 0x36):  # PUSH*, DUP*, context reads
        return 1
    if 0x90 <= op <= 0x9F or op in (0x00, 0x15, 0x19, 0x35, 0x51, 0x5B):
        return 0
    if 0xA0 <= op <= 0xA4:
        return -2 - (op - 0xA0)
    if op in (0x52, 0x57, 0xF3, 0xFD):
        return -2
    if op in (0x37, 0x5E):
        return -3
    return -1  # two in, one out (arithmetic, comparison, bits, SHA3), or POP, JUMP


_Analysis = tuple[bytes, list[int], frozenset[int], list[int], list[int]]


def _analyse(raw: bytes, translate: bytes, gas_of: list[int]) -> _Analysis:
    """The code as the loop reads it, PUSH values, valid JUMPDESTs, and by straight run: gas
    and stack room.

    ``ops`` is the code with every opcode the loop does not inline mapped to ``_DELEGATED``,
    then padding; ``pushed[pc]`` is the value of the PUSH whose data starts at ``pc``. A
    straight run goes from ``pc`` up to and including the next JUMP, JUMPI, STOP, RETURN or
    REVERT, or up to (not including) the next opcode that py-evm runs, or to the end of the
    code: ``run_gas[pc]`` is its static gas, and ``run_room[pc]`` the most stack items it
    may start with and never pass 1,024 (so the loop checks the stack limit once a run).
    """
    valid = set()
    pushed = [0] * (len(raw) + 1)
    padded = raw + _PADDING
    starts = []
    position, length = 0, len(raw)
    while position < length:
        starts.append(position)
        op = raw[position]
        if op == _JUMPDEST:
            valid.add(position)
        if 0x60 <= op <= 0x7F:
            size = op - 0x5F
            pushed[position + 1] = int.from_bytes(padded[position + 1 : position + 1 + size], "big")
            position += size + 1
        else:
            position += 1
    run_gas = [0] * (length + len(_PADDING) + 1)
    growth = [0] * (length + len(_PADDING) + 1)  # the most items a run adds at any point
    following = length
    for position in reversed(starts):
        op = raw[position]
        if translate[op] != op or op == _DELEGATED:
            pass  # py-evm's own opcode: it charges itself and checks its own stack
        elif op in _ENDS_RUN:
            run_gas[position] = gas_of[op]
            growth[position] = max(0, _stack_change(op))
        else:
            run_gas[position] = gas_of[op] + run_gas[following]
            growth[position] = max(0, _stack_change(op) + growth[following])
        following = position
    run_room = [1024 - added for added in growth]
    return raw.translate(translate) + _PADDING, pushed, frozenset(valid), run_gas, run_room


def _hand_over(computation: Any, pc: int, gas: int) -> None:
    """Run the rest of the computation in py-evm's own loop, from ``pc`` with ``gas``.

    The loop does this when the gas left cannot pay a whole straight run, or the stack
    could pass 1,024 items in it: py-evm then finds the exact opcode that runs out of gas
    or fills the stack (or the error that comes first).
    """
    computation._gas_meter.gas_remaining = gas
    code = computation.code
    code.program_counter = pc
    for opcode in code:
        try:
            computation.get_opcode_fn(opcode)(computation=computation)
        except Halt:
            break


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


def _run(computation: Any, gas_of: list[int], translate: bytes, analyses: dict[bytes, Any]) -> None:
    """Execute ``computation.code`` from its program counter until it halts.

    Gas and the stack limit are checked by straight run (see the module docstring); where a
    dynamic cost is charged mid-run, ``gas + rest`` (the rest of the run's charge given
    back) is py-evm's figure at that opcode.
    """
    code = computation.code
    raw: bytes = code._raw_code_bytes
    analysis = analyses.get(raw)
    if analysis is None:
        if len(analyses) > 256:
            analyses.clear()
        analysis = analyses[raw] = _analyse(raw, translate, gas_of)
    ops, pushed, jumpdests, run_gas, run_room = analysis
    stack: list[Any] = computation._stack.values
    for index, item in enumerate(stack):
        if item.__class__ is not int:
            stack[index] = int.from_bytes(item, "big")
    push = stack.append
    pop = stack.pop
    meter = computation._gas_meter
    memory = computation._memory
    msg = computation.msg
    gas: int = meter.gas_remaining
    pc: int = code.program_counter
    handed = False  # py-evm holds the gas and the counter (its opcode, or its loop)
    try:
        cost = run_gas[pc]
        if cost > gas or len(stack) > run_room[pc]:
            handed = True
            return _hand_over(computation, pc, gas)
        gas -= cost
        while True:
            op = ops[pc]
            pc += 1
            if op >= 0x60:
                if op < 0x80:  # PUSH1-PUSH32
                    push(pushed[pc])
                    pc += op - 0x5F
                elif op < 0x90:  # DUP1-DUP16
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
                    rest = run_gas[pc]
                    gas += rest
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
                    gas -= rest
                    if gas < 0:
                        handed = True
                        return _hand_over(computation, pc, gas + rest)
                elif op == 0xF3 or op == 0xFD:  # RETURN, REVERT (each ends its run)
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
                    return None
                else:  # pragma: no cover - the translation sends nothing else here
                    raise AssertionError(f"opcode 0x{op:02x} is not inlined")
            elif op >= 0x50:
                if op == 0x51:  # MLOAD
                    start = pop()
                    if start + 32 > len(memory._bytes):
                        rest = run_gas[pc]
                        gas = _expand(memory, start, 32, gas + rest) - rest
                        if gas < 0:
                            push(int.from_bytes(memory._bytes[start : start + 32], "big"))
                            handed = True
                            return _hand_over(computation, pc, gas + rest)
                    push(int.from_bytes(memory._bytes[start : start + 32], "big"))
                elif op == 0x52:  # MSTORE
                    start = pop()
                    value = pop()
                    if start + 32 > len(memory._bytes):
                        rest = run_gas[pc]
                        gas = _expand(memory, start, 32, gas + rest) - rest
                        if gas < 0:
                            memory._bytes[start : start + 32] = value.to_bytes(32, "big")
                            handed = True
                            return _hand_over(computation, pc, gas + rest)
                    memory._bytes[start : start + 32] = value.to_bytes(32, "big")
                elif op == 0x57:  # JUMPI
                    dest = pop()
                    if pop():
                        if dest not in jumpdests:
                            raise _bad_jump(dest, raw)
                        pc = dest
                    cost = run_gas[pc]
                    if cost > gas or len(stack) > run_room[pc]:
                        handed = True
                        return _hand_over(computation, pc, gas)
                    gas -= cost
                elif op == 0x5B:  # JUMPDEST
                    pass
                elif op == 0x5F:  # PUSH0
                    push(0)
                elif op == 0x56:  # JUMP
                    dest = pop()
                    if dest not in jumpdests:
                        raise _bad_jump(dest, raw)
                    pc = dest
                    cost = run_gas[pc]
                    if cost > gas or len(stack) > run_room[pc]:
                        handed = True
                        return _hand_over(computation, pc, gas)
                    gas -= cost
                elif op == 0x5E:  # MCOPY
                    dest = pop()
                    source = pop()
                    size = pop()
                    rest = run_gas[pc]
                    gas += rest
                    if size:
                        high = source if source > dest else dest
                        if high + size > len(memory._bytes):
                            gas = _expand(memory, high, size, gas)
                    fee = GAS_COPY * ((size + 31) // 32)
                    if fee > gas:
                        raise _out_of_gas(fee, gas, "MCOPY fee")
                    gas -= fee + rest
                    if size:
                        buffer = memory._bytes
                        buffer[dest : dest + size] = buffer[source : source + size]
                    if gas < 0:
                        handed = True
                        return _hand_over(computation, pc, gas + rest)
                elif op == 0x50:  # POP
                    pop()
                else:  # pragma: no cover - the translation sends nothing else here
                    raise AssertionError(f"opcode 0x{op:02x} is not inlined")
            elif op >= 0x20:
                if op == 0x20:  # SHA3
                    start = pop()
                    size = pop()
                    rest = run_gas[pc]
                    gas += rest
                    if size:
                        if start + size > len(memory._bytes):
                            gas = _expand(memory, start, size, gas)
                        data = bytes(memory._bytes[start : start + size])
                    else:
                        data = b""
                    fee = GAS_SHA3WORD * ((size + 31) // 32)
                    if fee > gas:
                        raise _out_of_gas(fee, gas, "SHA3: word gas cost")
                    gas -= fee + rest
                    push(int.from_bytes(keccak(data), "big"))
                    if gas < 0:
                        handed = True
                        return _hand_over(computation, pc, gas + rest)
                elif op == 0x35:  # CALLDATALOAD
                    start = pop()
                    value = msg.data[start : start + 32]
                    push(int.from_bytes(value, "big") << (256 - 8 * len(value)) & UINT_256_MAX)
                elif op == 0x36:  # CALLDATASIZE
                    push(len(msg.data))
                elif op == 0x37:  # CALLDATACOPY
                    start = pop()
                    source = pop()
                    size = pop()
                    rest = run_gas[pc]
                    gas += rest
                    if size and start + size > len(memory._bytes):
                        gas = _expand(memory, start, size, gas)
                    fee = GAS_COPY * ((size + 31) // 32)
                    if fee > gas:
                        raise _out_of_gas(fee, gas, "CALLDATACOPY fee")
                    gas -= fee + rest
                    if size:
                        value = bytes(msg.data[source : source + size])
                        memory._bytes[start : start + size] = value.ljust(size, b"\x00")
                    if gas < 0:
                        handed = True
                        return _hand_over(computation, pc, gas + rest)
                elif op == 0x33:  # CALLER
                    push(int.from_bytes(msg.sender, "big"))
                elif op == 0x34:  # CALLVALUE
                    push(msg.value)
                elif op == 0x30:  # ADDRESS
                    push(int.from_bytes(msg.storage_address, "big"))
                else:  # pragma: no cover - the translation sends nothing else here
                    raise AssertionError(f"opcode 0x{op:02x} is not inlined")
            elif op == _DELEGATED or op == 0x00:
                if op == 0x00:
                    return None  # STOP, or past the end of the code
                # Not inlined: py-evm's own opcode, with the counter and the gas handed over.
                meter.gas_remaining = gas
                code.program_counter = pc
                handed = True
                computation.get_opcode_fn(raw[pc - 1])(computation=computation)
                handed = False
                gas = meter.gas_remaining
                pc = code.program_counter
                if stack and stack[-1].__class__ is not int:
                    stack[-1] = int.from_bytes(stack[-1], "big")
                cost = run_gas[pc]
                if cost > gas or len(stack) > run_room[pc]:
                    handed = True
                    return _hand_over(computation, pc, gas)
                gas -= cost
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
        return None
    except IndexError:
        if handed:
            raise
        raise InsufficientStack("Insufficient stack items") from None
    finally:
        if not handed:
            meter.gas_remaining = gas
            code.program_counter = pc


class FastPragueComputation(PragueComputation):
    """PragueComputation with the opcode loop above; everything else is py-evm's."""

    _tables: tuple[list[int], bytes, dict[bytes, Any]] | None = None

    @classmethod
    def _loop_tables(cls) -> tuple[list[int], bytes, dict[bytes, Any]]:
        """Static gas by opcode (0 for py-evm's own), the opcode translation, the analyses."""
        if cls._tables is None:
            inlined = _inlinable(cls.opcodes, cls.extend_memory is BaseComputation.extend_memory)
            gas = [0] * 256
            translate = bytearray([_DELEGATED] * 256)
            for op, cost in inlined.items():
                gas[op] = cost
                translate[op] = op
            cls._tables = (gas, bytes(translate), {})
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
