"""A storage-heavy workload on the embedded chain: the fast path's blocks are py-evm's.

Two small contracts take random slot writes (new slots, overwrites, zeroes that delete), in
many blocks and several commands, one of them rolled back halfway, with reads between them.
The workload runs in fresh processes, once with CLAIMS_EVM=reference (py-evm's own storage
tries) and once on the fast path (batched storage roots, the flat slot map, the decoded-node
cache): every block hash, and so every state root, and every read must be equal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# Runtime: with 32 bytes of calldata, return SLOAD(word 0); with 64, SSTORE(word 0, word 1).
_RUNTIME = "36602014600f576020356000355500" + "5b6000355460005260206000f3"
_INIT = "601c600c600039601c6000f3" + _RUNTIME

WORKLOAD = r"""
import json, random, sys
from claimsengine.chain.embedded import EmbeddedChain

init = bytes.fromhex(sys.argv[1])
chain = EmbeddedChain.memory(clock=lambda: 1_800_000_000)
sender = next(iter(chain.accounts))
contracts = [chain.send(sender, None, init).contract_address for _ in range(2)]
rng = random.Random(7)
reads = []

def word(n):
    return n.to_bytes(32, "big")

def writes(count):
    calls = []
    for _ in range(count):
        slot = rng.randrange(3000) if rng.random() < 0.8 else rng.randrange(2**256)
        value = 0 if rng.random() < 0.25 else rng.randrange(1, 2**rng.choice((8, 64, 256)))
        calls.append((rng.choice(contracts), word(slot) + word(value)))
    return calls

for command in range(24):
    if command == 11:
        try:
            with chain.command():
                chain.send_many(sender, writes(30), gas=100_000)
                raise RuntimeError("the command fails: everything it sent is undone")
        except RuntimeError:
            pass
    with chain.command():
        for _ in range(3):  # three blocks in one command
            chain.send_many(sender, writes(20), gas=100_000)
    for _ in range(20):
        slot = rng.randrange(3000)
        reads.append(chain.call(rng.choice(contracts), word(slot)).hex())
hashes = [
    chain._evm.get_canonical_block_header_by_number(n).hash.hex()
    for n in range(chain.block_number() + 1)
]
print(json.dumps({"hashes": hashes, "reads": reads,
                  "state": type(chain.state_at()._account_db).__name__}))
"""


def _run(mode: str) -> dict[str, object]:
    env = dict(os.environ, CLAIMS_EVM=mode)
    done = subprocess.run(
        [sys.executable, "-c", WORKLOAD, _INIT],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_storage_heavy_workload_gives_py_evms_blocks(tmp_path: Path) -> None:
    reference = _run("reference")
    fast = _run("fast")
    assert (reference["state"], fast["state"]) == ("AccountDB", "FastAccountDB")
    assert len(reference["hashes"]) == 3 + 24 * 3  # type: ignore[arg-type]  # genesis, deploys
    assert fast["hashes"] == reference["hashes"]
    assert fast["reads"] == reference["reads"]
    assert any(int(value, 16) for value in reference["reads"])  # type: ignore[attr-defined]
