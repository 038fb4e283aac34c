"""Several processes acting as one account on one node: none fails because of the others.

Against anvil and against `claims node`, four processes send as the same account at once:
- signed by the node (its unlocked dev account, as `claims --rpc` does on a dev node);
- signed locally (a key held in the process, as with a keystore), where nonces do clash;
- and four `claims submit` processes as one hospital account, each from its own folder.
Every transaction lands exactly once: the counter ends at the number sent.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from claimsengine.chain.anvil import AnvilNode
from claimsengine.chain.node import start_node
from claimsengine.chain.rpc import RpcChain
from tests.conftest import Counter
from tests.integration.test_cli_anvil import Cli
from tests.integration.test_cli_subprocess import CLAIMS
from tests.integration.test_consortium import (
    MEMBERS,
    PLAN,
    claims_process,
    finish,
    office_visits,
    set_up_plan,
)

PROCESSES = 4
SENDS = 6  # per process: 3 one at a time, then a send_many of 3
#: anvil's first dev key (the `insurer` alias on both chains). A public test key.
INSURER_KEY = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

SENDER = """
import sys
from claimsengine.chain.accounts import LocalSigner
from claimsengine.chain.rpc import RpcChain

url, address, increment, key = sys.argv[1:5]
keystore = {"insurer": LocalSigner.from_key(bytes.fromhex(key))} if key != "-" else None
data = bytes.fromhex(increment)
with RpcChain(url, keystore=keystore) as chain:
    for _ in range(3):
        assert chain.send("insurer", address, data).status == 1
    receipts = chain.send_many("insurer", [(address, data)] * 3, gas=100_000)
    assert [r.status for r in receipts] == [1, 1, 1], receipts
"""


@pytest.fixture(params=["anvil", "claims node"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "anvil":
        anvil: AnvilNode = request.getfixturevalue("anvil_node")
        yield anvil.url
        return
    with start_node(tmp_path / "node") as node:
        yield node.url


def run_together(commands: list[list[str]]) -> None:
    processes = [
        subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for c in commands
    ]
    failures = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        if process.returncode != 0:
            failures.append(f"exit {process.returncode}: {out}{err}")
    assert not failures, "\n".join(failures)


@pytest.mark.anvil
@pytest.mark.parametrize("signed_by", ["node", "process"])
def test_one_account_many_processes(url: str, counter: Counter, signed_by: str) -> None:
    with RpcChain(url) as chain:
        address = chain.send("insurer", None, counter.deploy_data()).contract_address
        assert address is not None
        key = INSURER_KEY if signed_by == "process" else "-"
        script = [sys.executable, "-c", SENDER, url, address, counter.increment.hex(), key]
        run_together([script] * PROCESSES)
        assert int.from_bytes(chain.call(address, counter.count), "big") == PROCESSES * SENDS


@pytest.mark.anvil
@pytest.mark.skipif(CLAIMS is None, reason="the claims executable is not installed")
def test_claims_processes_as_one_hospital(url: str, tmp_path: Path) -> None:
    insurer = Cli(tmp_path / "insurer", url)
    set_up_plan(insurer)
    bundle = tmp_path / "hosp-a.bundle.json"
    insurer.json("keys", "export", PLAN, "--to", "hospital-1", "--out", bundle)
    running = []
    for n in range(PROCESSES):  # one hospital, four desks: four state folders, one account
        desk = tmp_path / f"desk-{n}"
        Cli(desk, url).json("--as", "hospital-1", "keys", "import", bundle)
        # Each desk its own day: 99213 allows one unit per day (fixtures/plans/silver.yaml).
        records = office_visits(tmp_path / "records" / str(n), "HOSP-A", first=n * 10, day=10 + n)
        running.append(claims_process(desk, url, "--as", "hospital-1", "submit", records))
    results = [r for process in running for r in finish(process)]
    assert len({r["claim_id"] for r in results}) == PROCESSES * len(MEMBERS)
    assert {r["status"] for r in results} == {"paid"}
