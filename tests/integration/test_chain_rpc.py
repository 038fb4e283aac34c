"""The JSON-RPC chain against a real anvil on 127.0.0.1, checked against the embedded chain.

Also the transport: retries on transient failures (nothing listening, a node that starts
late, HTTP 5xx, a slow answer) and no retries on permanent ones (HTTP 4xx).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import requests

from claimsengine.chain.accounts import (
    PASSWORD_ENV,
    create_keystore,
    load_keystore,
    load_keystore_dir,
)
from claimsengine.chain.anvil import AnvilNode, start_anvil
from claimsengine.chain.base import DEV_ALIASES, Chain
from claimsengine.chain.embedded import EmbeddedChain
from claimsengine.chain.rpc import RpcChain, retry_transient
from claimsengine.errors import ChainError, TransactionReverted
from tests import http_stub
from tests.conftest import Counter

# anvil's account 7: funded on the node, and not one of the seven aliases.
SPARE_KEY = bytes.fromhex("4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356")


def deploy(chain: Chain, counter: Counter, sender: str = "insurer") -> str:
    receipt = chain.send(sender, None, counter.deploy_data())
    assert receipt.contract_address is not None
    return receipt.contract_address


def count(chain: Chain, counter: Counter, address: str) -> int:
    return int.from_bytes(chain.call(address, counter.count), "big")


def block_time(chain: RpcChain, number: int) -> int:
    block = chain._request("eth_getBlockByNumber", hex(number), False)
    return int(block["timestamp"], 16)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# -- the node -------------------------------------------------------------------------------


@pytest.mark.anvil
def test_anvil_listens_on_loopback_only(anvil_node: AnvilNode) -> None:
    assert anvil_node.url == f"http://127.0.0.1:{anvil_node.port}"
    assert anvil_node.process.poll() is None


@pytest.mark.anvil
def test_aliases_name_the_nodes_accounts_in_order(rpc_chain: RpcChain) -> None:
    node_accounts = rpc_chain._request("eth_accounts")
    assert list(rpc_chain.accounts) == list(DEV_ALIASES)
    assert [a.lower() for a in rpc_chain.accounts.values()] == [
        a.lower() for a in node_accounts[: len(DEV_ALIASES)]
    ]
    # The embedded chain's dev accounts are the same addresses.
    with EmbeddedChain.memory() as embedded:
        assert embedded.accounts == rpc_chain.accounts
    assert rpc_chain.chain_id == 31337


# -- transactions ---------------------------------------------------------------------------


@pytest.mark.anvil
def test_send_call_receipt_and_logs(rpc_chain: RpcChain, counter: Counter) -> None:
    chain = rpc_chain
    address = deploy(chain, counter)
    start = chain.block_number()
    receipt = chain.send("hospital-1", address, counter.increment)
    assert receipt.status == 1
    assert receipt.block_number == start + 1
    (log,) = receipt.logs
    assert log.address == address
    assert log.topics[0] == counter.incremented_topic
    assert log.topics[1] == bytes(12) + bytes.fromhex(chain.accounts["hospital-1"][2:])
    assert chain.receipt(receipt.tx_hash) == receipt
    assert count(chain, counter, address) == 1
    assert chain.get_logs(address, [counter.incremented_topic], from_block=start) == [log]
    assert chain.get_logs(address, [None, b"\x01" * 32]) == []
    assert chain.balance("hospital-1") > 0


@pytest.mark.anvil
def test_gas_matches_the_embedded_chain(rpc_chain: RpcChain, counter: Counter) -> None:
    def run(chain: Chain) -> list[int]:
        deployed = chain.send("insurer", None, counter.deploy_data())
        address = deployed.contract_address
        assert address is not None
        one = chain.send("insurer", address, counter.increment)
        # Calldata-heavy: priced by Prague's calldata floor (EIP-7623) on both chains.
        heavy = chain.send("insurer", address, counter.count + b"\x01" * 10_000, gas=2_000_000)
        calls = [(address, counter.increment)] * 3 + [(address, counter.fail)]
        many = chain.send_many("insurer", calls, gas=100_000)
        return [deployed.gas_used, one.gas_used, heavy.gas_used, *(r.gas_used for r in many)]

    with EmbeddedChain.memory() as embedded:
        expected = run(embedded)
    assert run(rpc_chain) == expected


@pytest.mark.anvil
def test_reverts_raise_with_the_reason(rpc_chain: RpcChain, counter: Counter) -> None:
    chain = rpc_chain
    address = deploy(chain, counter)
    for attempt in (
        lambda: chain.send("insurer", address, counter.fail),  # refused at estimate
        lambda: chain.send("insurer", address, counter.fail, gas=100_000),  # mined, status 0
        lambda: chain.call(address, counter.fail),
        lambda: chain.estimate_gas("insurer", address, counter.fail),
    ):
        with pytest.raises(TransactionReverted) as raised:
            attempt()
        assert raised.value.reason == "counter: always fails"


@pytest.mark.anvil
def test_send_many_reports_failures_per_receipt(rpc_chain: RpcChain, counter: Counter) -> None:
    chain = rpc_chain
    address = deploy(chain, counter)
    calls = [(address, counter.increment)] * 20 + [(address, counter.fail)]
    receipts = chain.send_many("hospital-2", calls, gas=100_000)
    assert [r.status for r in receipts] == [1] * 20 + [0]
    assert receipts[-1].revert_reason == "counter: always fails"
    assert chain.receipt(receipts[-1].tx_hash).revert_reason == "counter: always fails"
    assert count(chain, counter, address) == 20
    with pytest.raises(ChainError, match="exceeds the block gas limit"):
        chain.send_many("hospital-2", calls, gas=chain.block_gas_limit + 1)


@pytest.mark.anvil
def test_command_cannot_roll_back_a_real_chain(rpc_chain: RpcChain, counter: Counter) -> None:
    address = deploy(rpc_chain, counter)
    with pytest.raises(RuntimeError), rpc_chain.command():
        rpc_chain.send("insurer", address, counter.increment)
        raise RuntimeError("too late: it is mined")
    assert count(rpc_chain, counter, address) == 1


@pytest.mark.anvil
def test_unknown_receipt_is_an_error(rpc_chain: RpcChain) -> None:
    with pytest.raises(ChainError, match="no mined transaction"):
        rpc_chain.receipt(b"\x00" * 32)


# -- keystores: keys held here, signed locally -----------------------------------------------


@pytest.mark.anvil
def test_keystore_accounts_sign_locally(
    anvil_node: AnvilNode, counter: Counter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_keystore(tmp_path / "insurer.json", "s3cret", private_key=SPARE_KEY, iterations=1024)
    monkeypatch.setenv(PASSWORD_ENV, "s3cret")
    keystore = load_keystore_dir(tmp_path)
    assert list(keystore) == ["insurer"]
    with RpcChain(anvil_node.url, keystore=keystore) as chain:
        assert chain.accounts == {"insurer": keystore["insurer"].address}
        address = deploy(chain, counter)
        calls = [(address, counter.increment)] * 10 + [(address, counter.fail)]
        receipts = chain.send_many("insurer", calls, gas=100_000)
        assert [r.status for r in receipts] == [1] * 10 + [0]
        assert receipts[-1].revert_reason == "counter: always fails"
        with pytest.raises(TransactionReverted, match="counter: always fails"):
            chain.send("insurer", address, counter.fail, gas=100_000)
        assert count(chain, counter, address) == 10


def test_keystore_passwords_never_come_from_arguments_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "hospital-1.json"
    signer = create_keystore(path, "right", iterations=1024)
    assert "_key" not in repr(signer) and signer.address in repr(signer)
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    with pytest.raises(ChainError, match="no password") as raised:
        load_keystore(path)
    assert raised.value.hint is not None and PASSWORD_ENV in raised.value.hint
    asked: list[str] = []

    def prompt(question: str) -> str:
        asked.append(question)
        return "right"

    assert load_keystore(path, prompt=prompt).address == signer.address
    assert asked == ["password for keystore hospital-1.json"]
    monkeypatch.setenv(PASSWORD_ENV, "wrong")
    with pytest.raises(ChainError, match="wrong password"):
        load_keystore(path)


# -- time -------------------------------------------------------------------------------------


@pytest.mark.anvil
def test_set_time_moves_the_next_block_forward_only(rpc_chain: RpcChain, counter: Counter) -> None:
    chain = rpc_chain
    address = deploy(chain, counter)
    latest = block_time(chain, chain.block_number())
    assert chain.now() >= latest
    target = chain.now() + 30 * 86_400
    chain.set_time(target)
    assert chain.now() == target
    assert int.from_bytes(chain.call(address, counter.stamp), "big") == target
    receipt = chain.send("insurer", address, counter.increment)
    assert block_time(chain, receipt.block_number) == target
    with pytest.raises(ChainError, match="cannot move the clock back"):
        chain.set_time(target - 1)


# -- transport: retries ----------------------------------------------------------------------


def test_nothing_listening_fails_after_bounded_retries() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(ChainError, match="failed after 3 tries: connection refused") as raised:
        RpcChain(url, retries=3)
    assert time.monotonic() - started >= 0.1 + 0.2  # it backed off between tries
    assert raised.value.hint is not None and "node is running" in raised.value.hint


@pytest.mark.anvil
def test_a_node_that_starts_late_is_waited_for(
    anvil_node: AnvilNode, counter: Counter, monkeypatch: pytest.MonkeyPatch
) -> None:
    del anvil_node  # not used: asked for so that a missing anvil skips (or fails under CI)
    port = free_port()
    refused = threading.Event()
    stop = threading.Event()
    failure: list[BaseException] = []
    send = requests.Session.send

    def noting_refusals(session: requests.Session, request: Any, **kwargs: Any) -> Any:
        try:
            return send(session, request, **kwargs)
        except requests.ConnectionError:
            refused.set()
            raise

    monkeypatch.setattr(requests.Session, "send", noting_refusals)

    def late_node() -> None:
        try:
            # Start the node only once the client has been turned away: late on any
            # machine, however busy, with no wall-clock delay to guess.
            refused.wait(30)
            with start_anvil(port):
                stop.wait(30)
        except BaseException as error:  # surfaced by the main thread
            failure.append(error)

    thread = threading.Thread(target=late_node, daemon=True)
    thread.start()
    try:
        # Ten tries back off for ~11 s in all: room for anvil to start on a busy machine.
        with RpcChain(f"http://127.0.0.1:{port}", retries=10) as chain:
            assert refused.is_set() and not failure
            assert deploy(chain, counter)
    finally:
        stop.set()
        thread.join(30)


def test_retry_backs_off_exponentially_and_stops() -> None:
    delays: list[float] = []
    attempts: list[int] = []

    def refused() -> None:
        attempts.append(1)
        raise requests.ConnectionError("Connection refused")

    with pytest.raises(ChainError, match="ping failed after 5 tries"):
        retry_transient(refused, what="ping", sleep=delays.append)
    assert len(attempts) == 5
    assert delays == [0.1, 0.2, 0.4, 0.8]


def test_retry_gives_up_at_once_on_a_permanent_failure() -> None:
    attempts: list[int] = []

    def broken() -> None:
        attempts.append(1)
        raise ValueError("not JSON")

    with pytest.raises(ChainError, match="ping failed: ValueError: not JSON"):
        retry_transient(broken, what="ping", sleep=lambda _: None)
    assert attempts == [1]


class FakeNode:
    """A tiny HTTP JSON-RPC server whose first answers can be made to fail (transport tests)."""

    def __init__(self, failures: list[Callable[[BaseHTTPRequestHandler], None]]) -> None:
        self.failures = failures
        self.requests = 0
        self.arrived = threading.Event()  # set by a request once the failures are used

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        self.requests += 1
        if not self.failures:
            self.arrived.set()
        length = int(handler.headers.get("Content-Length", 0))
        request = json.loads(handler.rfile.read(length))
        if self.failures:
            self.failures.pop(0)(handler)
            return
        answers: dict[str, Any] = {
            "eth_chainId": "0x7a69",
            "eth_accounts": ["0x" + "ab" * 20],
            "eth_blockNumber": "0x2a",
        }
        body = json.dumps(
            {"jsonrpc": "2.0", "id": request["id"], "result": answers[request["method"]]}
        ).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)


def status(code: int) -> Callable[[BaseHTTPRequestHandler], None]:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(code)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return answer


def too_slow(node: FakeNode) -> Callable[[BaseHTTPRequestHandler], None]:
    """No answer until the client has timed out and tried again: late however busy the
    machine is, where a fixed delay might not be."""
    node.arrived.clear()

    def answer(handler: BaseHTTPRequestHandler) -> None:
        node.arrived.wait(30)
        with suppress(OSError):  # the client has gone; had it waited, it gets no JSON
            status(200)(handler)

    return answer


@contextmanager
def serve(node: FakeNode) -> Iterator[str]:
    with http_stub.serve(node.handle) as url:
        yield url


def test_http_5xx_and_timeouts_are_retried() -> None:
    node = FakeNode([status(503), status(502)])
    node.failures.append(too_slow(node))
    with serve(node) as url, RpcChain(url, request_timeout=0.3) as chain:
        assert chain.chain_id == 31337
        assert chain.block_number() == 42
    assert node.requests == 3 + 3  # three failures, then chainId, accounts, blockNumber


def test_http_4xx_is_not_retried() -> None:
    node = FakeNode([status(404)] * 5)
    with serve(node) as url, pytest.raises(ChainError, match="HTTP 404") as raised:
        RpcChain(url)
    assert node.requests == 1
    assert "tries" not in str(raised.value)


def test_find_anvil_falls_back_to_the_repos_tools_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from claimsengine.chain import anvil

    binary = tmp_path / ".tools" / "node_modules" / ".bin" / "anvil"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(anvil, "_REPO_ROOT", tmp_path)
    assert anvil.find_anvil() == str(binary)
    binary.unlink()
    assert anvil.find_anvil() is None
