"""`claims node`: the embedded chain over JSON-RPC, as standard clients and `claims --rpc` see it.

One node per test module (a child process on a free loopback port), except where a test
stops or kills its own. Checked: the chain interface (``RpcChain``), web3.py, foundry's
`cast`, the `claims --rpc` flow, the state folder held while the node runs, and that a
SIGKILL loses no transaction the node answered for.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from claimsengine.chain.accounts import LocalSigner
from claimsengine.chain.embedded import EmbeddedChain
from claimsengine.chain.node import NodeProcess, serving_url, start_node
from claimsengine.chain.rpc import RpcChain
from claimsengine.cli.main import main
from claimsengine.errors import TransactionReverted
from tests.conftest import Counter
from tests.integration.test_cli_anvil import Cli

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
PLAN = "SILVER-2027"
#: anvil's (and the embedded chain's) first dev key: the `insurer`. Public test key.
INSURER_KEY = bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")


def find_cast() -> str | None:
    local = Path(__file__).resolve().parents[2] / ".tools" / "node_modules" / ".bin" / "cast"
    return shutil.which("cast") or (str(local) if local.exists() else None)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    with start_node(tmp_path_factory.mktemp("node") / "state") as running:
        yield running


@pytest.fixture
def chain(node: NodeProcess) -> Iterator[RpcChain]:
    with RpcChain(node.url) as rpc:
        yield rpc


def deploy(chain: RpcChain, counter: Counter) -> str:
    address = chain.send("insurer", None, counter.deploy_data()).contract_address
    assert address is not None
    return address


def count(chain: RpcChain, counter: Counter, address: str) -> int:
    return int.from_bytes(chain.call(address, counter.count), "big")


# -- the chain interface over the node ------------------------------------------------------


def test_send_call_receipt_and_logs(chain: RpcChain, counter: Counter) -> None:
    assert chain.chain_id == 1337
    with EmbeddedChain.memory() as embedded:
        assert chain.accounts == embedded.accounts  # the dev accounts, in alias order
    address = deploy(chain, counter)
    start = chain.block_number()
    receipt = chain.send("hospital-1", address, counter.increment)
    assert receipt.status == 1 and receipt.block_number == start + 1
    (log,) = receipt.logs
    assert log.topics == (
        counter.incremented_topic,
        bytes(12) + bytes.fromhex(chain.accounts["hospital-1"][2:]),
    )
    assert chain.receipt(receipt.tx_hash) == receipt
    assert count(chain, counter, address) == 1
    assert chain.get_logs(address, [counter.incremented_topic], from_block=start) == [log]
    assert chain.get_logs(address, [None, b"\x01" * 32]) == []


def test_reverts_carry_the_reason(chain: RpcChain, counter: Counter) -> None:
    address = deploy(chain, counter)
    for attempt in (
        lambda: chain.send("insurer", address, counter.fail),
        lambda: chain.send("insurer", address, counter.fail, gas=100_000),  # mined, status 0
        lambda: chain.call(address, counter.fail),
        lambda: chain.estimate_gas("insurer", address, counter.fail),
    ):
        with pytest.raises(TransactionReverted) as raised:
            attempt()
        assert raised.value.reason == "counter: always fails"
    receipts = chain.send_many(
        "insurer", [(address, counter.increment), (address, counter.fail)], gas=100_000
    )
    assert [r.status for r in receipts] == [1, 0]
    assert receipts[1].revert_reason == "counter: always fails"


def test_gas_matches_the_embedded_chain(chain: RpcChain, counter: Counter) -> None:
    def run(target: Any) -> list[int]:
        deployed = target.send("insurer", None, counter.deploy_data())
        one = target.send("insurer", deployed.contract_address, counter.increment)
        return [deployed.gas_used, one.gas_used]

    with EmbeddedChain.memory() as embedded:
        expected = run(embedded)
    assert run(chain) == expected


def test_locally_signed_transactions(node: NodeProcess, counter: Counter) -> None:
    signer = LocalSigner.from_key(INSURER_KEY)
    with RpcChain(node.url, keystore={"insurer": signer}) as signing:
        address = signing.send("insurer", None, counter.deploy_data()).contract_address
        assert address is not None
        receipts = signing.send_many("insurer", [(address, counter.increment)] * 3, gas=100_000)
        assert [r.status for r in receipts] == [1, 1, 1]
        assert int.from_bytes(signing.call(address, counter.count), "big") == 3


def test_the_clock_moves_forward_only(chain: RpcChain, counter: Counter) -> None:
    address = deploy(chain, counter)
    target = chain.now() + 86_400 * 30
    chain.set_time(target)
    assert chain.now() == target
    chain.send("insurer", address, counter.increment)
    assert int.from_bytes(chain.call(address, counter.stamp), "big") >= target
    with pytest.raises(Exception, match="cannot move the clock back"):
        chain.set_time(target - 1)


# -- standard clients -----------------------------------------------------------------------


def test_web3_py(node: NodeProcess, counter: Counter) -> None:
    from web3 import Web3
    from web3.exceptions import ContractLogicError

    w3 = Web3(Web3.HTTPProvider(node.url))
    assert w3.is_connected() and w3.eth.chain_id == 1337
    insurer = w3.eth.accounts[0]
    assert insurer == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    abi = [
        {"type": "constructor", "inputs": [{"name": "start", "type": "uint256"}]},
        {"type": "function", "name": "increment", "inputs": [], "outputs": [{"type": "uint256"}]},
        {"type": "function", "name": "fail", "inputs": [], "outputs": []},
        {
            "type": "function",
            "name": "count",
            "stateMutability": "view",
            "inputs": [],
            "outputs": [{"type": "uint256"}],
        },
        {
            "type": "event",
            "name": "Incremented",
            "anonymous": False,
            "inputs": [
                {"name": "by", "type": "address", "indexed": True},
                {"name": "value", "type": "uint256", "indexed": False},
            ],
        },
    ]
    factory = w3.eth.contract(abi=abi, bytecode=counter.bytecode)
    deployed = w3.eth.wait_for_transaction_receipt(
        factory.constructor(5).transact({"from": insurer})
    )
    assert deployed.status == 1
    contract = w3.eth.contract(address=deployed.contractAddress, abi=abi)
    assert w3.eth.get_code(contract.address) != b""
    assert contract.functions.count().call() == 5
    assert w3.eth.get_storage_at(contract.address, 0) == (5).to_bytes(32, "big")

    # A transaction signed by web3 itself, sent raw; fees from the node's fee methods.
    account = w3.eth.account.from_key(INSURER_KEY)
    transaction = contract.functions.increment().build_transaction(
        {"from": account.address, "nonce": w3.eth.get_transaction_count(account.address)}
    )
    signed = account.sign_transaction(transaction)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt.status == 1 and contract.functions.count().call() == 6
    fetched = w3.eth.get_transaction(tx_hash)
    assert fetched["from"] == account.address and fetched["blockNumber"] == receipt.blockNumber
    block = w3.eth.get_block(receipt.blockNumber, full_transactions=True)
    assert block["transactions"][0]["hash"] == tx_hash
    assert w3.eth.get_block(block["hash"])["number"] == block["number"]
    (event,) = contract.events.Incremented().process_receipt(receipt)
    assert event.args.value == 6
    logs = w3.eth.get_logs(
        {"address": contract.address, "fromBlock": 0, "topics": [receipt.logs[0]["topics"][0]]}
    )
    assert [log["transactionHash"] for log in logs] == [tx_hash]
    assert w3.eth.fee_history(2, "latest", [50])["oldestBlock"] >= 0
    assert w3.eth.get_balance(insurer) > 0

    with pytest.raises(ContractLogicError, match="counter: always fails"):
        contract.functions.fail().call()

    with w3.batch_requests() as batch:
        batch.add(w3.eth.get_block_number())
        batch.add(w3.eth.get_transaction_count(insurer))
        number, nonce = batch.execute()
    assert number == w3.eth.block_number and nonce == w3.eth.get_transaction_count(insurer)


def test_cast(node: NodeProcess, counter: Counter, tmp_path: Path) -> None:
    cast = find_cast()
    if cast is None:
        pytest.skip("cast is not installed (run `make install`)")

    def run(*args: str) -> str:
        # --rpc-url right after the subcommand: `send ... --create CODE` takes what follows.
        argv = [cast, args[0], "--rpc-url", node.url, *args[1:]]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"cast {' '.join(args)}: {done.stderr}"
        return done.stdout.strip()

    assert run("chain-id") == "1337"
    key = "0x" + INSURER_KEY.hex()
    created = json.loads(
        run("send", "--private-key", key, "--json", "--create", "0x" + counter.deploy_data(7).hex())
    )
    assert created["status"] == "0x1"
    address = created["contractAddress"]
    assert run("call", address, "count()(uint256)") == "7"
    sent = json.loads(run("send", "--private-key", key, "--json", address, "increment()"))
    assert sent["status"] == "0x1"
    assert run("call", address, "count()(uint256)") == "8"
    receipt = json.loads(run("receipt", "--json", sent["transactionHash"]))
    assert receipt["blockNumber"] == sent["blockNumber"]
    transaction = json.loads(run("tx", "--json", sent["transactionHash"]))
    assert transaction["from"].lower() == "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
    logs = json.loads(
        run(
            "logs",
            "--json",
            "--from-block",
            "0",
            "--address",
            address,
            "Incremented(address indexed,uint256)",
        )
    )
    assert len(logs) == 1
    assert int(run("block-number")) == int(sent["blockNumber"], 16)
    assert run("storage", address, "0") == "0x" + (8).to_bytes(32, "big").hex()
    assert int(run("nonce", "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")) > 0


# -- claims over the node -------------------------------------------------------------------


def test_the_claims_flow_over_the_node(tmp_path: Path) -> None:
    with start_node(tmp_path / "node") as running:
        claims = Cli(tmp_path / "insurer", running.url)
        # No init: the aliases are the node's dev accounts; deploy sets the engine up.
        deployed = claims.json("deploy", FIXTURES / "plans" / "silver.yaml")
        assert deployed["plan_id"] == PLAN
        assert claims.json("enroll", PLAN, FIXTURES / "members.csv")["enrolled"] == 6
        claims("provider", "add", PLAN, "HOSP-A", "--account", "hospital-1")
        claims("provider", "add", PLAN, "HOSP-B", "--account", "hospital-2")
        assert claims.json("fund", PLAN, "300.00")["pool"]["balance"] == "300.00"
        assert claims.json("time", "set", "2027-07-01")["date"] == "2027-07-01"
        submitted = claims.runner.invoke(
            main,
            [*claims.base, "--json", "submit", str(FIXTURES / "records")],
            catch_exceptions=False,
        )
        results = {r["record_id"]: r for r in json.loads(submitted.stdout) if "claim_id" in r}
        visit = results["HOSP-A-2027-000101"]
        # The fixture's worked example: 99213 allowed 120.00, copay 25.00 -> plan pays 95.00.
        assert visit["status"] == "paid" and visit["totals"]["plan_paid"] == "95.00"
        assert claims.json("status", visit["claim_id"])["status"] == "paid"
        assert claims.json("status", "--record", "HOSP-B-2027-000202")["status"] == "denied"


def test_the_node_holds_its_state_folder(tmp_path: Path) -> None:
    state = tmp_path / "state"
    runner = CliRunner()
    with start_node(state) as running:
        assert serving_url(state) == running.url
        refused = runner.invoke(main, ["--state", str(state), "status", "1"])
        assert refused.exit_code == 1
        assert refused.stderr.startswith(
            f"error: the chain in {state} is served by `claims node` at {running.url}"
        )
        assert f"claims --rpc {running.url}" in refused.stderr
        with start_node(tmp_path / "other") as second:  # another folder: its own node
            assert second.url != running.url
    assert serving_url(state) is None  # a clean stop removes the marker
    init = runner.invoke(main, ["--state", str(state), "--json", "init"])
    assert init.exit_code == 0, init.output


def test_sigkill_loses_no_answered_transaction(tmp_path: Path, counter: Counter) -> None:
    state = tmp_path / "state"
    answered: list[bytes] = []
    with start_node(state) as running, RpcChain(running.url, retries=1) as chain:
        address = deploy(chain, counter)
        for _ in range(5):
            answered.append(chain.send("insurer", address, counter.increment).tx_hash)
        running.kill()
    assert serving_url(state) is None  # the killed node's marker is stale, not a lock
    with start_node(state) as again, RpcChain(again.url) as chain:
        assert count(chain, counter, address) == 5
        assert [chain.receipt(h).status for h in answered] == [1] * 5


def test_a_batch_answers_each_request(node: NodeProcess) -> None:
    import requests

    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
        {"jsonrpc": "2.0", "id": 2, "method": "eth_nope", "params": []},
        {"jsonrpc": "2.0", "method": "eth_blockNumber", "params": []},  # a notification
    ]
    answers = requests.post(node.url, json=batch, timeout=10).json()
    assert answers[0] == {"jsonrpc": "2.0", "id": 1, "result": "0x539"}
    assert answers[1]["error"]["code"] == -32601 and len(answers) == 2
    garbled = requests.post(node.url, data=b"{", timeout=10).json()
    assert garbled["error"]["code"] == -32700


@pytest.mark.parametrize("command", [["node"], ["keys"], ["keys", "export"], ["keys", "import"]])
def test_help(command: list[str]) -> None:
    shown = CliRunner().invoke(main, [*command, "--help"])
    assert shown.exit_code == 0 and "Usage: claims" in shown.output


def test_node_serves_the_embedded_chain_only(tmp_path: Path) -> None:
    argv = ["--state", str(tmp_path), "--rpc", "http://127.0.0.1:1", "node"]
    refused = CliRunner().invoke(main, argv)
    assert refused.exit_code == 2
    assert refused.stderr.startswith(
        "error: `claims node` serves the embedded chain in --state; drop --rpc"
    )


def test_a_port_in_use_is_one_error_line(node: NodeProcess, tmp_path: Path) -> None:
    # The module's node holds its port: a second node there says so (it used to print a
    # traceback); a host that is not this machine's, likewise.
    # Each in a process of its own, as a user runs it: in this one, a browser test's
    # Playwright may hold a running event loop, where a node cannot start its own.
    port = node.url.rsplit(":", 1)[1]
    taken = _claims("--state", str(tmp_path / "a"), "node", "--port", port)
    assert taken.returncode == 1
    assert taken.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}: ")
    assert "choose another --port" in taken.stderr and "Traceback" not in taken.stderr
    nowhere = _claims("--state", str(tmp_path / "b"), "node", "--host", "256.1.1.1", "--port", "0")
    assert nowhere.returncode == 1
    assert nowhere.stderr.startswith("error: cannot listen on 256.1.1.1:0: ")


def _claims(*argv: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from claimsengine.cli.main import run; run()", *argv]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_a_client_rides_out_a_killed_node(tmp_path: Path, counter: Counter) -> None:
    """SIGKILL while a client sends: the client retries until the node is back, and every
    one of its transactions lands exactly once (none lost, none doubled)."""
    import threading
    import time

    state = tmp_path / "state"
    signer = LocalSigner.from_key(INSURER_KEY)
    sends = 30
    done: list[int] = []
    failure: list[BaseException] = []
    with start_node(state) as first:
        port = int(first.url.rsplit(":", 1)[1])
        with RpcChain(first.url) as chain:
            address = deploy(chain, counter)

        def client() -> None:
            try:
                with RpcChain(first.url, keystore={"me": signer}, retries=12) as sending:
                    for n in range(sends):
                        sending.send("me", address, counter.increment, gas=100_000)
                        done.append(n)
            except BaseException as error:  # surfaced by the test thread
                failure.append(error)

        thread = threading.Thread(target=client)
        thread.start()
        while len(done) < 5 and thread.is_alive():
            time.sleep(0.005)
        first.kill()
    killed_at = len(done)
    with start_node(state, port=port) as again:
        thread.join(120)
        assert not failure, failure
        assert killed_at < sends and done == list(range(sends))
        with RpcChain(again.url) as chain:
            assert count(chain, counter, address) == sends


def test_now_is_reused_for_half_a_second_at_most(node: NodeProcess) -> None:
    import time

    with RpcChain(node.url) as reader, RpcChain(node.url) as other:
        asked = time.monotonic()
        before = reader.now()
        target = before + 86_400 * 400
        other.set_time(target)  # another process moves the clock
        if time.monotonic() - asked < 0.4:  # (a loaded machine may take longer: then skip)
            assert reader.now() == before  # this client's answer is less than 0.5 s old
        time.sleep(0.5)
        assert reader.now() == target
        reader.set_time(target + 60)  # its own moves show at once
        assert reader.now() == target + 60
