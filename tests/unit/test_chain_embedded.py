"""The embedded py-evm chain: transactions, logs, atomic commands, persistence, lock, clock.

Real behaviour only: a Vyper counter is deployed and driven on a real py-evm chain; crash
safety and locking are checked with real subprocesses.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from eth_keys.backends import CoinCurveECCBackend, get_backend

from claimsengine.chain.base import DEV_ALIASES, Receipt
from claimsengine.chain.embedded import BLOCK_GAS_LIMIT, CHAIN_ID, DEV_BALANCE, EmbeddedChain
from claimsengine.errors import ChainError, StateLocked, TransactionReverted
from tests.conftest import Counter

REPO = Path(__file__).resolve().parents[2]


def deploy(chain: EmbeddedChain, counter: Counter, start: int = 0) -> str:
    receipt = chain.send("insurer", None, counter.deploy_data(start))
    assert receipt.contract_address is not None
    return receipt.contract_address


def count(chain: EmbeddedChain, counter: Counter, address: str) -> int:
    return int.from_bytes(chain.call(address, counter.count), "big")


def word(address: str) -> bytes:
    return bytes(12) + bytes.fromhex(address[2:])


class FakeClock:
    """A wall clock the test moves by hand."""

    def __init__(self, start: float) -> None:
        self.value = start

    def __call__(self) -> float:
        return self.value


@pytest.fixture
def memory_chain() -> Iterator[EmbeddedChain]:
    chain = EmbeddedChain.memory()
    yield chain
    chain.close()


# -- accounts and signing ------------------------------------------------------------------


def test_dev_accounts_are_funded_in_alias_order(memory_chain: EmbeddedChain) -> None:
    assert list(memory_chain.accounts) == list(DEV_ALIASES)
    assert memory_chain.chain_id == CHAIN_ID
    assert memory_chain.block_gas_limit == BLOCK_GAS_LIMIT
    for alias, address in memory_chain.accounts.items():
        assert memory_chain.balance(alias) == DEV_BALANCE
        assert memory_chain.address_of(address.lower()) == address


def test_dev_accounts_are_anvils_mnemonic_accounts(memory_chain: EmbeddedChain) -> None:
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    mnemonic = "test test test test test test test test test test test junk"
    expected = [
        Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{i}").address
        for i in range(len(DEV_ALIASES))
    ]
    assert list(memory_chain.accounts.values()) == expected


def test_signing_and_sender_recovery_use_coincurve(memory_chain: EmbeddedChain) -> None:
    # Signing keys carry coincurve explicitly; recovery (py-evm's `tx.sender`) uses the
    # process default, which must also be coincurve, or every transaction pays ~60% more.
    assert all(isinstance(k.backend, CoinCurveECCBackend) for k in memory_chain._keys.values())
    assert isinstance(get_backend(), CoinCurveECCBackend)


def test_unknown_sender_is_refused(memory_chain: EmbeddedChain, counter: Counter) -> None:
    with pytest.raises(ChainError, match="unknown account 'nobody'"):
        memory_chain.send("nobody", None, counter.deploy_data())
    stranger = "0x" + "11" * 20
    with pytest.raises(ChainError, match="no key for"):
        memory_chain.send(stranger, None, counter.deploy_data())


# -- send, call, receipts, logs -------------------------------------------------------------


def test_deploy_send_call_and_receipt(memory_chain: EmbeddedChain, counter: Counter) -> None:
    chain = memory_chain
    address = deploy(chain, counter, start=5)
    assert chain.block_number() == 1
    assert count(chain, counter, address) == 5

    receipt = chain.send("hospital-1", address, counter.increment)
    assert receipt.status == 1
    assert receipt.block_number == 2
    assert receipt.contract_address is None
    # What any Prague chain charges: anvil charges exactly this too (integration test).
    assert receipt.gas_used == 27_824
    (log,) = receipt.logs
    assert log.address == address
    assert log.topics == (counter.incremented_topic, word(chain.accounts["hospital-1"]))
    assert int.from_bytes(log.data, "big") == 6
    assert (log.block_number, log.tx_hash, log.log_index) == (2, receipt.tx_hash, 0)
    assert chain.receipt(receipt.tx_hash) == receipt
    assert count(chain, counter, address) == 6


def test_call_does_not_mine(memory_chain: EmbeddedChain, counter: Counter) -> None:
    address = deploy(memory_chain, counter)
    before = memory_chain.block_number()
    result = memory_chain.call(address, counter.increment, sender="auditor")
    assert int.from_bytes(result, "big") == 1
    assert memory_chain.block_number() == before
    assert count(memory_chain, counter, address) == 0


def test_revert_raises_with_the_reason_and_mines_nothing(
    memory_chain: EmbeddedChain, counter: Counter
) -> None:
    address = deploy(memory_chain, counter)
    before = memory_chain.block_number()
    with pytest.raises(TransactionReverted) as raised:
        memory_chain.send("insurer", address, counter.fail)
    assert raised.value.reason == "counter: always fails"
    with pytest.raises(TransactionReverted) as raised:
        memory_chain.send("insurer", address, counter.fail, gas=100_000)
    assert raised.value.reason == "counter: always fails"
    with pytest.raises(TransactionReverted) as raised:
        memory_chain.call(address, counter.fail)
    assert raised.value.reason == "counter: always fails"
    assert memory_chain.block_number() == before
    # The nonce was not used up: the next transaction goes through.
    assert memory_chain.send("insurer", address, counter.increment).status == 1


def test_out_of_gas_is_a_revert_too(memory_chain: EmbeddedChain, counter: Counter) -> None:
    address = deploy(memory_chain, counter)
    with pytest.raises(TransactionReverted, match="OutOfGas"):
        memory_chain.send("insurer", address, counter.increment, gas=22_000)


def test_estimate_gas_is_enough_and_refuses_reverts(
    memory_chain: EmbeddedChain, counter: Counter
) -> None:
    address = deploy(memory_chain, counter)
    estimate = memory_chain.estimate_gas("insurer", address, counter.increment)
    assert 21_000 < estimate < 100_000
    assert memory_chain.send("insurer", address, counter.increment, gas=estimate).status == 1
    assert memory_chain.estimate_gas("insurer", None, counter.deploy_data()) > 100_000
    with pytest.raises(TransactionReverted, match="counter: always fails"):
        memory_chain.estimate_gas("insurer", address, counter.fail)


def test_send_many_puts_everything_in_one_block(
    memory_chain: EmbeddedChain, counter: Counter
) -> None:
    address = deploy(memory_chain, counter)
    calls = [(address, counter.increment)] * 50 + [(address, counter.fail)]
    receipts = memory_chain.send_many("hospital-2", calls, gas=100_000)
    assert len(receipts) == 51
    assert {r.block_number for r in receipts} == {2}
    assert [r.status for r in receipts] == [1] * 50 + [0]
    assert receipts[-1].revert_reason == "counter: always fails"
    # Storing into an empty slot costs more than overwriting: real gas, per transaction.
    assert [r.gas_used for r in receipts[:3]] == [44_924, 27_824, 27_824]
    assert [int.from_bytes(r.logs[0].data, "big") for r in receipts[:50]] == list(range(1, 51))
    assert [r.logs[0].log_index for r in receipts[:50]] == list(range(50))
    assert memory_chain.receipt(receipts[-1].tx_hash) == receipts[-1]
    assert memory_chain.receipt(receipts[7].tx_hash) == receipts[7]
    assert count(memory_chain, counter, address) == 50


def test_send_many_spills_into_another_block_when_one_is_full(
    memory_chain: EmbeddedChain, counter: Counter
) -> None:
    address = deploy(memory_chain, counter)
    gas = BLOCK_GAS_LIMIT - 10_000  # two of these never fit in one block
    receipts = memory_chain.send_many("insurer", [(address, counter.increment)] * 3, gas=gas)
    assert [r.block_number for r in receipts] == [2, 3, 4]
    assert all(r.status == 1 for r in receipts)


def test_get_logs_filters_by_topic_position_and_block(
    memory_chain: EmbeddedChain, counter: Counter
) -> None:
    chain = memory_chain
    address = deploy(chain, counter)
    other = deploy(chain, counter)
    chain.send("hospital-1", address, counter.increment)  # block 3
    chain.send("hospital-2", address, counter.increment)  # block 4
    chain.send("hospital-1", other, counter.increment)  # block 5
    chain.send("hospital-1", address, counter.increment)  # block 6

    every = chain.get_logs(address, [])
    assert [log.block_number for log in every] == [3, 4, 6]
    assert chain.get_logs(address, [counter.incremented_topic]) == every
    by_one = chain.get_logs(address, [None, word(chain.accounts["hospital-1"])])
    assert [log.block_number for log in by_one] == [3, 6]
    assert [log.block_number for log in chain.get_logs(address, [], from_block=4)] == [4, 6]
    assert [log.block_number for log in chain.get_logs(address, [], 4, to_block=5)] == [4]
    assert chain.get_logs(address, [b"\x01" * 32]) == []
    assert [log.block_number for log in chain.get_logs(other, [])] == [5]
    with pytest.raises(ChainError, match="32 bytes"):
        chain.get_logs(address, [b"short"])


def test_unknown_receipt_is_an_error(memory_chain: EmbeddedChain) -> None:
    with pytest.raises(ChainError, match="no transaction 0x"):
        memory_chain.receipt(b"\x00" * 32)


# -- receipts and logs cost the same at any chain length -------------------------------------


def sqlite_steps(chain: EmbeddedChain, action: Callable[[], object]) -> int:
    """sqlite virtual-machine steps `action` takes: a measure of rows touched, not of time."""
    steps = 0

    def tick() -> int:
        nonlocal steps
        steps += 1
        return 0

    connection = chain.store.connection
    connection.set_progress_handler(tick, 1)
    try:
        action()
    finally:
        connection.set_progress_handler(None, 1)
    return steps


def test_receipt_and_log_lookups_do_not_grow_with_the_chain(
    memory_chain: EmbeddedChain, counter: Counter
) -> None:
    chain = memory_chain
    address = deploy(chain, counter)
    first = chain.send("hospital-1", address, counter.increment)
    for _ in range(8):
        chain.send("insurer", address, counter.increment)
    assert chain.block_number() == 10

    def lookups() -> None:
        reads = chain.store.reads
        chain.receipt(first.tx_hash)
        # An event type (topic0) and an indexed field, as the engine asks.
        by_sender = [counter.incremented_topic, word(chain.accounts["hospital-1"])]
        assert len(chain.get_logs(address, by_sender)) == 1
        assert chain.store.reads == reads  # served by the index tables, not by py-evm

    def any_event() -> None:  # no event type: each of the address's events is looked up
        assert len(chain.get_logs(address, [None, word(chain.accounts["hospital-1"])])) == 1

    def scan() -> None:  # every log is read
        chain.store.connection.execute("SELECT count(*) FROM logs WHERE length(data) > 0")

    early, early_any = sqlite_steps(chain, lookups), sqlite_steps(chain, any_event)
    early_scan = sqlite_steps(chain, scan)
    for _ in range(290):
        chain.send("insurer", address, counter.increment)
    assert chain.block_number() == 300
    late, late_any = sqlite_steps(chain, lookups), sqlite_steps(chain, any_event)
    late_scan = sqlite_steps(chain, scan)

    # A B-tree may gain a level; a scan grows with the chain (which shows the measure works).
    assert late <= early * 1.3, (early, late)
    assert late_any <= early_any * 1.3, (early_any, late_any)
    assert late_scan > early_scan * 10, (early_scan, late_scan)
    assert chain.receipt(first.tx_hash) == first


# -- atomic commands ---------------------------------------------------------------------------


def test_command_commits_everything_together(
    embedded_chain: EmbeddedChain, counter: Counter
) -> None:
    chain = embedded_chain
    address = deploy(chain, counter)
    with chain.command():
        chain.send("insurer", address, counter.increment)
        chain.send("insurer", address, counter.increment)
    assert count(chain, counter, address) == 2
    assert chain.block_number() == 3


def test_command_rolls_back_on_exception(embedded_chain: EmbeddedChain, counter: Counter) -> None:
    chain = embedded_chain
    address = deploy(chain, counter)
    with pytest.raises(RuntimeError), chain.command():
        sent = chain.send("insurer", address, counter.increment)
        chain.send_many("insurer", [(address, counter.increment)] * 3, gas=100_000)
        assert count(chain, counter, address) == 4  # visible inside the command
        raise RuntimeError("the command failed half way")
    assert count(chain, counter, address) == 0
    assert chain.block_number() == 1
    assert chain.get_logs(address, []) == []
    with pytest.raises(ChainError):
        chain.receipt(sent.tx_hash)
    # The chain carries on from the state before the command.
    again = chain.send("insurer", address, counter.increment)
    assert again.block_number == 2
    assert count(chain, counter, address) == 1


def test_a_failed_inner_command_undoes_only_itself(
    embedded_chain: EmbeddedChain, counter: Counter
) -> None:
    chain = embedded_chain
    address = deploy(chain, counter)
    with chain.command():
        chain.send("insurer", address, counter.increment)
        with pytest.raises(TransactionReverted), chain.command():
            chain.send("insurer", address, counter.increment)
            chain.send("insurer", address, counter.fail)
        chain.send("insurer", address, counter.increment)
    assert count(chain, counter, address) == 2
    assert [log.block_number for log in chain.get_logs(address, [])] == [2, 3]


def test_reopening_keeps_the_chain(tmp_path: Path, counter: Counter) -> None:
    state = tmp_path / "state"
    clock = FakeClock(1_800_000_000)
    with EmbeddedChain.open(state, create=True, clock=clock) as chain:
        address = deploy(chain, counter)
        sent = chain.send("hospital-3", address, counter.increment)
        chain.set_time(1_900_000_000)
        accounts = chain.accounts
    assert EmbeddedChain.exists(state)
    with EmbeddedChain.open(state, clock=clock) as chain:
        assert chain.accounts == accounts
        assert chain.block_number() == 2
        assert count(chain, counter, address) == 1
        assert chain.receipt(sent.tx_hash) == sent
        assert len(chain.get_logs(address, [])) == 1
        assert chain.now() == 1_900_000_000
        assert chain.send("hospital-3", address, counter.increment).block_number == 3
    with EmbeddedChain.open(state, create=True, clock=clock) as chain:  # create is idempotent
        assert chain.block_number() == 3


def test_opening_a_missing_chain_says_to_init(tmp_path: Path) -> None:
    with pytest.raises(ChainError, match="no chain in") as raised:
        EmbeddedChain.open(tmp_path / "nowhere")
    assert raised.value.hint is not None and "claims init" in raised.value.hint


def test_a_closed_chain_refuses_work(tmp_path: Path, counter: Counter) -> None:
    chain = EmbeddedChain.open(tmp_path / "state", create=True)
    chain.close()
    chain.close()
    with pytest.raises(ChainError, match="closed"):
        chain.send("insurer", None, counter.deploy_data())


# -- crash safety and locking, with real processes --------------------------------------------


def python(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_line(process: subprocess.Popen[str], expected: str) -> None:
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if line != expected:
        process.kill()
        _, err = process.communicate()
        raise AssertionError(f"child said {line!r}, expected {expected!r}:\n{err}")


def test_sigkill_inside_a_command_leaves_the_chain_as_before(
    tmp_path: Path, counter: Counter
) -> None:
    state = tmp_path / "state"
    with EmbeddedChain.open(state, create=True) as chain:
        address = deploy(chain, counter)
        chain.send("insurer", address, counter.increment)
    child = python(
        """
        import sys, time
        from claimsengine.chain.embedded import EmbeddedChain
        state, address, data = sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3])
        chain = EmbeddedChain.open(state)
        with chain.command():
            for _ in range(5):
                chain.send("insurer", address, data)
            chain.send_many("insurer", [(address, data)] * 20, gas=100_000)
            print("SENT", flush=True)
            time.sleep(60)
        """,
        str(state),
        address,
        counter.increment.hex(),
    )
    wait_for_line(child, "SENT")
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    assert child.returncode == -signal.SIGKILL
    with EmbeddedChain.open(state) as chain:
        assert chain.block_number() == 2
        assert count(chain, counter, address) == 1
        assert len(chain.get_logs(address, [])) == 1
        assert chain.send("insurer", address, counter.increment).block_number == 3


HOLD_THE_LOCK = """
    import sys
    from claimsengine.chain.embedded import EmbeddedChain
    chain = EmbeddedChain.open(sys.argv[1])
    print("OPEN", flush=True)
    sys.stdin.readline()  # hold the chain until the parent says so
    chain.close()
    print("CLOSED", flush=True)
"""


def test_a_second_process_waits_then_times_out(tmp_path: Path) -> None:
    state = tmp_path / "state"
    EmbeddedChain.open(state, create=True).close()
    holder = python(HOLD_THE_LOCK, str(state))
    try:
        wait_for_line(holder, "OPEN")
        waits: list[bool] = []
        started = time.monotonic()
        with pytest.raises(StateLocked) as raised:
            EmbeddedChain.open(
                state,
                lock_timeout=0.5,
                on_wait=lambda: waits.append(True),
                display_name=".claims",
            )
        assert time.monotonic() - started >= 0.5
        assert waits == [True]  # called once, however long the wait
        assert str(raised.value) == (
            "another claims command is using .claims; waiting timed out after 0.5 s"
        )
    finally:
        holder.communicate("go\n", timeout=10)
    with EmbeddedChain.open(state, lock_timeout=0.5) as chain:
        assert chain.block_number() == 0


def test_a_second_process_gets_the_chain_when_the_first_finishes(tmp_path: Path) -> None:
    state = tmp_path / "state"
    EmbeddedChain.open(state, create=True).close()
    holder = python(HOLD_THE_LOCK, str(state))
    wait_for_line(holder, "OPEN")
    waits: list[bool] = []

    def release_holder() -> None:
        waits.append(True)
        assert holder.stdin is not None
        holder.stdin.write("go\n")
        holder.stdin.flush()

    with EmbeddedChain.open(state, lock_timeout=20, on_wait=release_holder) as chain:
        assert chain.block_number() == 0
    assert waits == [True]
    holder.communicate(timeout=10)
    assert holder.returncode == 0


def test_a_killed_holder_releases_the_lock(tmp_path: Path) -> None:
    state = tmp_path / "state"
    EmbeddedChain.open(state, create=True).close()
    holder = python(HOLD_THE_LOCK, str(state))
    wait_for_line(holder, "OPEN")
    holder.kill()
    holder.communicate(timeout=10)
    with EmbeddedChain.open(state, lock_timeout=5) as chain:
        assert chain.block_number() == 0


# -- the clock --------------------------------------------------------------------------------


def stamp(chain: EmbeddedChain, counter: Counter, address: str) -> int:
    return int.from_bytes(chain.call(address, counter.stamp), "big")


def test_the_clock_follows_the_wall_clock_and_blocks_move_forward(counter: Counter) -> None:
    clock = FakeClock(1_800_000_000.5)
    with EmbeddedChain.memory(clock=clock) as chain:
        address = deploy(chain, counter)
        clock.value += 100
        assert chain.now() == 1_800_000_100
        assert stamp(chain, counter, address) == 1_800_000_100  # calls see the next block
        # Many blocks within one second still get strictly increasing timestamps.
        first = chain.now()
        chain.send("insurer", address, counter.increment)
        assert chain.now() == first + 1


def test_set_time_moves_forward_only(counter: Counter) -> None:
    clock = FakeClock(1_800_000_000)
    with EmbeddedChain.memory(clock=clock) as chain:
        address = deploy(chain, counter)
        target = 1_800_000_000 + 30 * 86_400
        chain.set_time(target)
        assert chain.now() == target
        clock.value += 5  # the next block still carries exactly the time that was set
        assert stamp(chain, counter, address) == target
        receipt: Receipt = chain.send("insurer", address, counter.increment)
        assert receipt.status == 1
        # After that block, time runs on from the new date with the wall clock.
        clock.value += 10
        assert chain.now() == target + 15
        with pytest.raises(ChainError, match="cannot move the clock back"):
            chain.set_time(target)
        chain.set_time(chain.now())  # standing still is allowed


# -- reads kept warm between commits ------------------------------------------------------------


def test_reads_reuse_one_state_until_the_head_or_the_time_moves(counter: Counter) -> None:
    clock = FakeClock(1_800_000_000)
    with EmbeddedChain.memory(clock=clock) as chain:
        address = deploy(chain, counter, start=3)
        assert count(chain, counter, address) == 3
        lookups = chain.store.lookups
        for _ in range(5):
            assert count(chain, counter, address) == 3
        # The state of the first read served the next five: no account, storage slot or trie
        # node was looked up again; only the contract's code, once a call.
        assert chain.store.lookups == lookups + 5
        # A later second: the block context is new, so calls see the new time.
        clock.value += 7
        assert stamp(chain, counter, address) == 1_800_000_007


def test_a_warm_read_state_never_keeps_a_calls_writes(
    memory_chain: EmbeddedChain, counter: Counter
) -> None:
    address = deploy(memory_chain, counter)
    # increment() run as a call writes in the read state, which is put back after each call.
    assert int.from_bytes(memory_chain.call(address, counter.increment), "big") == 1
    assert int.from_bytes(memory_chain.call(address, counter.increment), "big") == 1
    assert memory_chain.estimate_gas("insurer", address, counter.increment) > 21_000
    assert count(memory_chain, counter, address) == 0


def test_reads_follow_commits_and_rollbacks(memory_chain: EmbeddedChain, counter: Counter) -> None:
    chain = memory_chain
    address = deploy(chain, counter)
    assert count(chain, counter, address) == 0
    chain.send("insurer", address, counter.increment)
    assert count(chain, counter, address) == 1  # a new head: the read state is rebuilt
    with pytest.raises(RuntimeError), chain.command():
        chain.send("insurer", address, counter.increment)
        assert count(chain, counter, address) == 2  # inside the command, its own writes
        raise RuntimeError("undo")
    assert count(chain, counter, address) == 1  # the rolled-back block is forgotten
    with chain.command():
        chain.send("insurer", address, counter.increment)
    assert count(chain, counter, address) == 2


def test_a_call_gives_what_the_whole_transaction_gives(
    memory_chain: EmbeddedChain, counter: Counter
) -> None:
    # call() runs the message without the transaction's fee and nonce bookkeeping; its
    # output and errors are those of the transaction, run as estimate_gas runs it.
    chain = memory_chain
    address = deploy(chain, counter, start=41)
    state = chain._scratch_state()
    for data in (counter.count, counter.increment, counter.stamp, counter.fail):
        for sender in (None, "hospital-1"):
            view = chain._view(state, sender, address, data, state.gas_limit)
            whole = chain._try(state, sender, address, data, state.gas_limit)
            assert (view.is_error, bytes(view.output)) == (whole.is_error, bytes(whole.output))
            if view.is_error:
                assert type(view.error) is type(whole.error)
    assert count(chain, counter, address) == 41
