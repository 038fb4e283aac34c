"""A faster opcode loop for py-evm's Prague computation, used by the embedded chain.

py-evm spends about 2.3 us per opcode, and a claim runs about 2,100 of them: most of the
embedded chain's time is the interpreter's own overhead, not the claim's logic. Each opcode
goes through ``Opcode.__call__`` -> ``computation.consume_gas`` -> ``GasMeter.consume_gas``
-> the logic function -> ``computation.stack_pop_ints`` -> ``Stack.pop_any`` -> ``to_int``
... about ten Python calls for an ``ADD``.

``FastPragueComputation.apply_computation`` runs the same bytecode with the hottest opcodes
(PUSH*, DUP*, SWAP*, POP, MLOAD, MSTORE, JUMP, JUMPI, JUMPDEST, and plain arithmetic,
comparison and bit operations; about 90% of what the engine executes) inlined in one loop,
and hands every other opcode to py-evm's own implementation. The results are identical:
same gas to the unit, same errors, same state (bench/fast_evm_check.py replays a workload
on both interpreters and compares every block hash).

Each inlined opcode:
- charges the static gas that py-evm's own opcode table gives it (read from the table, so a
  fork with other costs stays right), raising ``OutOfGas`` exactly where py-evm would;
- keeps the 1024-item stack limit (``FullStack``) and raises ``InsufficientStack`` on
  underflow;
- for MLOAD/MSTORE, charges memory expansion through py-evm's own ``extend_memory`` whenever
  memory grows (the inline path covers only accesses inside memory already paid for);
- for JUMP/JUMPI, checks the destination is a JUMPDEST outside PUSH data, as py-evm does,
  with the same exception classes.

Stack items pushed inline are ints; py-evm's stack accepts ints or bytes and converts on
pop, so its own opcodes read them as before.
"""

from __future__ import annotations

from typing import Any

from eth.abc import ComputationAPI, MessageAPI, StateAPI, TransactionContextAPI
from eth.exceptions import (
    FullStack,
    Halt,
    InsufficientStack,
    InvalidInstruction,
    InvalidJumpDestination,
    OutOfGas,
)
from eth.vm import logic
from eth.vm.computation import NO_RESULT
from eth.vm.forks.prague import PragueVM
from eth.vm.forks.prague.computation import PragueComputation
from eth.vm.forks.prague.state import PragueState

UINT_256_MAX = 2**256 - 1
_JUMPDEST = 0x5B

# The py-evm logic function each inlined opcode replaces. An opcode is inlined only if the
# fork's table still maps it to exactly this function (so its static gas is all it costs).
_INLINED = {
    0x01: logic.arithmetic.add,
    0x02: logic.arithmetic.mul,
    0x03: logic.arithmetic.sub,
    0x04: logic.arithmetic.div,
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
    0x50: logic.stack.pop,
    0x51: logic.memory.mload,
    0x52: logic.memory.mstore,
    0x56: logic.flow.jump,
    0x57: logic.flow.jumpi,
    0x5B: logic.flow.jumpdest,
    0x5F: logic.stack.push0,
}

_jumpdest_cache: dict[bytes, frozenset[int]] = {}


def _jumpdests(code: bytes) -> frozenset[int]:
    """Positions of JUMPDEST bytes that are opcodes, not PUSH data (cached per code)."""
    found = _jumpdest_cache.get(code)
    if found is None:
        valid = set()
        position, length = 0, len(code)
        while position < length:
            op = code[position]
            if op == _JUMPDEST:
                valid.add(position)
            position += op - 0x5E if 0x60 <= op <= 0x7F else 1
        found = frozenset(valid)
        if len(_jumpdest_cache) > 256:
            _jumpdest_cache.clear()
        _jumpdest_cache[code] = found
    return found


def _static_gas(opcodes: dict[int, Any]) -> dict[int, int]:
    """Static gas of the inlinable opcodes, from the fork's own table."""
    gas: dict[int, int] = {}
    for op, fn in opcodes.items():
        logic_fn = getattr(fn, "logic_fn", None)
        if op in _INLINED and logic_fn is _INLINED[op]:
            gas[op] = fn.gas_cost
        elif 0x60 <= op <= 0x9F and logic_fn is not None:
            gas[op] = fn.gas_cost  # PUSH1-32, DUP1-16, SWAP1-16
    return gas


def _run(computation: Any, gas_of: list[int]) -> None:
    """Execute ``computation.code`` from its program counter until it halts."""
    code = computation.code
    raw: bytes = code._raw_code_bytes
    length = len(raw)
    stack: list[Any] = computation._stack.values
    push = stack.append
    pop = stack.pop
    meter = computation._gas_meter
    memory = computation._memory
    opcodes = computation.opcodes
    jumpdests = _jumpdests(raw)
    pc = code.program_counter
    try:
        while True:
            if pc >= length:
                return  # past the end: STOP
            op = raw[pc]
            pc += 1
            cost = gas_of[op]
            if cost < 0:
                # Not inlined: py-evm's own opcode, with the program counter handed over.
                code.program_counter = pc
                computation.get_opcode_fn(op)(computation=computation)
                pc = code.program_counter
                continue
            remaining = meter.gas_remaining - cost
            if remaining < 0:
                raise OutOfGas(
                    f"Out of gas: Needed {cost} - Remaining {meter.gas_remaining} - Reason: "
                    f"{opcodes[op].mnemonic}"
                )
            meter.gas_remaining = remaining
            if op >= 0x60:
                if op < 0x80:  # PUSH1-PUSH32
                    size = op - 0x5F
                    if len(stack) > 1023:
                        raise FullStack("Stack limit reached")
                    end = pc + size
                    value = raw[pc:end]
                    pc = end
                    if len(value) < size:
                        value = value.ljust(size, b"\x00")
                    push(int.from_bytes(value, "big"))
                elif op < 0x90:  # DUP1-DUP16
                    if len(stack) > 1023:
                        raise FullStack("Stack limit reached")
                    position = op - 0x7F
                    if position > len(stack):
                        raise InsufficientStack(f"Insufficient stack items for DUP{position}")
                    push(stack[-position])
                else:  # SWAP1-SWAP16
                    position = op - 0x8F
                    if position >= len(stack):
                        raise InsufficientStack(f"Insufficient stack items for SWAP{position}")
                    index = -position - 1
                    stack[-1], stack[index] = stack[index], stack[-1]
                continue
            if op == 0x51:  # MLOAD
                start = _pop_int(stack)
                if start + 32 > len(memory._bytes):
                    computation.extend_memory(start, 32)
                push(int.from_bytes(memory._bytes[start : start + 32], "big"))
            elif op == 0x52:  # MSTORE
                start = _pop_int(stack)
                value = _pop_any(stack)
                data = (
                    value.to_bytes(32, "big")
                    if value.__class__ is int
                    else value.rjust(32, b"\x00")[-32:]
                )
                if start + 32 > len(memory._bytes):
                    computation.extend_memory(start, 32)
                memory._bytes[start : start + 32] = data
            elif op == 0x50:  # POP
                if not stack:
                    raise InsufficientStack("Wanted 1 stack item, had none")
                pop()
            elif op == 0x57:  # JUMPI
                if len(stack) < 2:
                    raise InsufficientStack(f"Wanted 2 stack items, only had {len(stack)}")
                dest = _pop_int(stack)
                if _pop_int(stack):
                    pc = _jump(dest, raw, length, jumpdests)
            elif op == 0x5B:  # JUMPDEST
                pass
            elif op == 0x56:  # JUMP
                pc = _jump(_pop_int(stack), raw, length, jumpdests)
            elif op == 0x5F:  # PUSH0
                if len(stack) > 1023:
                    raise FullStack("Stack limit reached")
                push(0)
            elif op == 0x15:  # ISZERO
                push(1 if _pop_int(stack) == 0 else 0)
            elif op == 0x19:  # NOT
                push(UINT_256_MAX - _pop_int(stack))
            else:
                if len(stack) < 2:
                    raise InsufficientStack(f"Wanted 2 stack items, only had {len(stack)}")
                a = _pop_int(stack)
                b = _pop_int(stack)
                if op == 0x01:
                    push((a + b) & UINT_256_MAX)
                elif op == 0x16:
                    push(a & b)
                elif op == 0x1C:
                    push(0 if a >= 256 else b >> a)
                elif op == 0x1B:
                    push(0 if a >= 256 else (b << a) & UINT_256_MAX)
                elif op == 0x10:
                    push(1 if a < b else 0)
                elif op == 0x11:
                    push(1 if a > b else 0)
                elif op == 0x03:
                    push((a - b) & UINT_256_MAX)
                elif op == 0x18:
                    push(a ^ b)
                elif op == 0x02:
                    push((a * b) & UINT_256_MAX)
                elif op == 0x14:
                    push(1 if a == b else 0)
                elif op == 0x17:
                    push(a | b)
                elif op == 0x04:
                    push(0 if b == 0 else (a // b) & UINT_256_MAX)
                else:  # pragma: no cover - _static_gas only lists the ops above
                    raise AssertionError(f"opcode 0x{op:02x} is not inlined")
    except Halt:
        return
    finally:
        code.program_counter = pc


def _pop_int(stack: list[Any]) -> int:
    if not stack:
        raise InsufficientStack("Wanted 1 stack item, had none")
    value = stack.pop()
    return value if value.__class__ is int else int.from_bytes(value, "big")


def _pop_any(stack: list[Any]) -> Any:
    if not stack:
        raise InsufficientStack("Wanted 1 stack item, had none")
    return stack.pop()


def _jump(dest: int, raw: bytes, length: int, jumpdests: frozenset[int]) -> int:
    # py-evm's order: a destination that is not a JUMPDEST byte (or past the end) is an
    # InvalidJumpDestination; a JUMPDEST byte inside PUSH data is an InvalidInstruction.
    if dest >= length or raw[dest] != _JUMPDEST:
        raise InvalidJumpDestination("Invalid Jump Destination")
    if dest not in jumpdests:
        raise InvalidInstruction("Jump resulted in invalid instruction")
    return dest


class FastPragueComputation(PragueComputation):
    """PragueComputation with the opcode loop above; everything else is py-evm's."""

    _gas_table: list[int] | None = None

    @classmethod
    def _gas_of(cls) -> list[int]:
        if cls._gas_table is None:
            table = [-1] * 256
            for op, gas in _static_gas(cls.opcodes).items():
                table[op] = gas
            cls._gas_table = table
        return cls._gas_table

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
            _run(computation, cls._gas_of())
        return computation


FastPragueState = PragueState.configure(
    __name__="FastPragueState", computation_class=FastPragueComputation
)
FastPragueVM = PragueVM.configure(__name__="FastPragueVM", _state_class=FastPragueState)
