"""`claims node` serves ethers (npm `ethers` v6, installed by `make install` in .tools), a
standard JavaScript client, unchanged: it connects, reads a view, sends a transaction that
it signs itself, and reads the receipt and its log.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from claimsengine.chain.node import NodeProcess, start_node
from claimsengine.chain.rpc import RpcChain
from tests.conftest import Counter, in_ci

TOOLS = Path(__file__).resolve().parents[2] / ".tools" / "node_modules"
#: The first dev account's well-known key (the insurer on dev chains).
INSURER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

SCRIPT = """\
const { ethers } = require("ethers");
const [url, key, address] = process.argv.slice(2);

async function main() {
  const provider = new ethers.JsonRpcProvider(url);
  const network = await provider.getNetwork();
  const abi = [
    "function count() view returns (uint256)",
    "function increment() returns (uint256)",
    "event Incremented(address indexed by, uint256 value)",
  ];
  const wallet = new ethers.Wallet(key, provider);
  const counter = new ethers.Contract(address, abi, wallet);
  const before = await counter.count();
  const sent = await counter.increment();  // signed here, sent as eth_sendRawTransaction
  const receipt = await sent.wait();
  const after = await counter.count();
  const parsed = receipt.logs.map((log) => counter.interface.parseLog(log));
  console.log(JSON.stringify({
    chainId: network.chainId.toString(),
    blockHashMatches: (await provider.getBlock(receipt.blockNumber)).hash === receipt.blockHash,
    before: before.toString(),
    after: after.toString(),
    from: sent.from,
    type: sent.type,
    status: receipt.status,
    receiptBlock: receipt.blockNumber,
    events: parsed.map((e) => [e.name, e.args[0], e.args[1].toString()]),
    balanceIsBigInt: typeof (await provider.getBalance(wallet.address)) === "bigint",
  }));
}

main().catch((error) => { console.error(error); process.exit(1); });
"""


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    with start_node(tmp_path_factory.mktemp("node") / "state") as running:
        yield running


def test_ethers_connects_reads_signs_sends_and_reads_the_receipt(
    node: NodeProcess, counter: Counter, tmp_path: Path
) -> None:
    runtime = shutil.which("node")
    if runtime is None or not (TOOLS / "ethers" / "package.json").exists():
        if in_ci():
            pytest.fail("node or ethers is not installed, and CI is set: run `make install`")
        pytest.skip("node or ethers is not installed (run `make install`)")
    with RpcChain(node.url) as chain:
        address = chain.send("insurer", None, counter.deploy_data(41)).contract_address
    assert address is not None
    script = tmp_path / "client.cjs"
    script.write_text(SCRIPT)
    done = subprocess.run(
        [runtime, str(script), node.url, INSURER_KEY, address],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NODE_PATH": str(TOOLS)},
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    insurer = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert seen["chainId"] == "1337"
    assert (seen["before"], seen["after"]) == ("41", "42")
    assert seen["from"] == insurer and seen["type"] == 2  # EIP-1559, from the fee methods
    assert seen["status"] == 1 and seen["receiptBlock"] > 0 and seen["blockHashMatches"]
    assert seen["events"] == [["Incremented", insurer, "42"]]
    assert seen["balanceIsBigInt"] is True
