"""A hypothesis state machine over pruning: counters deployed at a few starting values (so
that two contracts often hold the same storage, and a node sits in two places), increments
alone or many in one command, nested commands that fail after they wrote (and after a
pruning), whole commands that fail, recent states kept for ``claims node`` or not, spells
as an archive (every row then counted at once, a few rows at a time) and repairs.

After every step the chain holds exactly the state its recent blocks need, every row counted
exactly (tests/prune_checks.py), and each counter reads what the model says.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from claimsengine.chain import prune
from claimsengine.chain.embedded import EmbeddedChain
from tests.conftest import Counter
from tests.prune_checks import assert_exact

_COUNTER: Counter | None = None


def _counter() -> Counter:
    global _COUNTER
    if _COUNTER is None:
        import vyper

        from tests.conftest import COUNTER_SOURCE

        compiled = vyper.compile_code(COUNTER_SOURCE, output_formats=["bytecode"])
        _COUNTER = Counter(bytecode=bytes.fromhex(compiled["bytecode"].removeprefix("0x")))
    return _COUNTER


class Undo(Exception):
    """Raised inside a command to roll it back."""


class PruneMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.counter = _counter()
        self.chain = EmbeddedChain.memory()
        self.counts: dict[str, int] = {}  # the model: each counter's value
        # Counting a whole file goes a chunk at a time (beyond what memory takes): here
        # always, in chunks of a few rows, so that the machine's small chains take many.
        self.limits = prune._ROWS_IN_MEMORY, prune._ROWS_PER_CHUNK
        prune._ROWS_IN_MEMORY, prune._ROWS_PER_CHUNK = 0, 3

    def teardown(self) -> None:
        prune._ROWS_IN_MEMORY, prune._ROWS_PER_CHUNK = self.limits
        self.chain.close()

    def _increment(self, address: str, model: dict[str, int]) -> None:
        self.chain.send("hospital-1", address, self.counter.increment)
        model[address] += 1

    @rule(start=st.integers(0, 3))
    def deploy(self, start: int) -> None:
        receipt = self.chain.send("insurer", None, self.counter.deploy_data(start))
        assert receipt.contract_address is not None
        self.counts[receipt.contract_address] = start

    @precondition(lambda self: self.counts)
    @rule(data=st.data())
    def increment(self, data: st.DataObject) -> None:
        address = data.draw(st.sampled_from(sorted(self.counts)))
        self._increment(address, self.counts)

    @precondition(lambda self: self.counts)
    @rule(data=st.data(), times=st.integers(2, 6))
    def several_in_one_command(self, data: st.DataObject, times: int) -> None:
        with self.chain.command():
            for _ in range(times):
                self._increment(data.draw(st.sampled_from(sorted(self.counts))), self.counts)

    @precondition(lambda self: self.counts)
    @rule(data=st.data(), prune_inside=st.booleans())
    def a_nested_command_fails(self, data: st.DataObject, prune_inside: bool) -> None:
        addresses = sorted(self.counts)
        with self.chain.command():
            self._increment(data.draw(st.sampled_from(addresses)), self.counts)
            scratch = dict(self.counts)
            try:
                with self.chain.command():
                    if prune_inside:
                        self.chain.prune()
                    self._increment(data.draw(st.sampled_from(addresses)), scratch)
                    raise Undo
            except Undo:
                pass  # the inner command's work is undone; the outer one commits

    @precondition(lambda self: self.counts)
    @rule(data=st.data(), prune_inside=st.booleans())
    def a_command_fails(self, data: st.DataObject, prune_inside: bool) -> None:
        scratch = dict(self.counts)
        try:
            with self.chain.command():
                self._increment(data.draw(st.sampled_from(sorted(self.counts))), scratch)
                if prune_inside:
                    self.chain.prune()
                raise Undo
        except Undo:
            pass

    @precondition(lambda self: self.counts)
    @rule(data=st.data(), times=st.integers(1, 4), at_once=st.booleans())
    def an_archive_for_a_while(self, data: st.DataObject, times: int, at_once: bool) -> None:
        """Past states kept, uncounted; then every row counted at once, by ``prune()`` or
        by the next command's pruning."""
        self.chain.pruning = False
        for _ in range(times):
            self._increment(data.draw(st.sampled_from(sorted(self.counts))), self.counts)
        self.chain.pruning = True
        if at_once:
            self.chain.prune()
        else:
            self._increment(data.draw(st.sampled_from(sorted(self.counts))), self.counts)

    @rule()
    def recount(self) -> None:
        assert self.chain.recount() == 0  # the counts were exact: nothing was waiting to go

    @rule(recent=st.sampled_from([1, 2, 5]))
    def keep_recent_states(self, recent: int) -> None:
        self.chain.recent_states = recent
        self.chain.prune()  # the pins move now, not at the next command

    @invariant()
    def the_store_holds_exactly_the_live_state(self) -> None:
        assert_exact(self.chain, recent=self.chain.recent_states)

    @invariant()
    def every_counter_reads_its_count(self) -> None:
        self.chain.store.forget()  # from the file, not from the cache
        for address, value in self.counts.items():
            read = int.from_bytes(self.chain.call(address, self.counter.count), "big")
            assert read == value


TestPruneMachine = PruneMachine.TestCase
TestPruneMachine.settings = settings(
    max_examples=50,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
