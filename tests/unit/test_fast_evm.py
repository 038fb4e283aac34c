"""The embedded chain's fast opcode loop (chain/fast_evm.py) against py-evm's own.

The same workload (deploy, plan, members, providers, the fixture records in JSON and FHIR,
a review approval and denial, funding, settlement, a withdrawal and a refused duplicate)
runs twice in fresh processes on a frozen clock with the same keys: once with
CLAIMS_EVM=reference, once with the default fast loop. Every block hash must be equal, and
a block hash covers the state root, the receipts (gas, status, logs) and the bloom.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

WORKLOAD = r"""
import json, sys
from datetime import date
from pathlib import Path
from claimsengine.chain.embedded import EmbeddedChain
from claimsengine.days import to_day
from claimsengine.errors import ClaimsError
from claimsengine.members import load_members
from claimsengine.plan import load_plan
from claimsengine.records import load_paths
from claimsengine.sdk import AdjudicatorClient, HospitalClient, InsurerClient, settle
from claimsengine.workspace import Workspace

fixtures = Path(sys.argv[1])
now = to_day(date(2027, 7, 1)) * 86_400
chain = EmbeddedChain.memory(clock=lambda: now)
ws = Workspace(Path(sys.argv[2]), chain, "embedded")
ws.setup()
insurer = InsurerClient(ws, "insurer")
insurer.deploy(load_plan(fixtures / "plans" / "silver.yaml"))
insurer.enroll("SILVER-2027", load_members(fixtures / "members.csv"))
insurer.add_provider("SILVER-2027", "HOSP-A", "hospital-1")
insurer.add_provider("SILVER-2027", "HOSP-B", "hospital-2")
insurer.set_adjudicator("SILVER-2027", "adjudicator")
insurer.fund("SILVER-2027", 50_000)
loaded = load_paths([fixtures / "records", fixtures / "fhir"])
hospital = HospitalClient(ws)
outcomes = hospital.submit_many([s.record for s in loaded.records])
adjudicator = AdjudicatorClient(ws, "adjudicator")
pending = adjudicator.queue("SILVER-2027")
adjudicator.approve(pending[0].claim_id)
for claim in pending[1:]:
    adjudicator.deny(claim.claim_id)
insurer.fund("SILVER-2027", 5_000_000)
settle(ws, "SILVER-2027", "auditor")
insurer.withdraw("SILVER-2027", 1_000)
first = next(o for o in outcomes if o.result is not None)
try:
    ws.engine.submit_claim(
        ws.chain.address_of("hospital-1"), "SILVER-2027",
        hospital.prepare(first.record).claim,
    )
except ClaimsError as error:
    refused = str(error)
hashes = [
    chain._evm.get_canonical_block_header_by_number(n).hash.hex()
    for n in range(chain.block_number() + 1)
]
print(json.dumps({"hashes": hashes, "refused": refused, "vm": type(chain._evm.get_vm()).__name__,
                  "statuses": [o.result.status for o in outcomes if o.result]}))
"""


def _run(tmp: Path, mode: str) -> dict[str, object]:
    env = dict(os.environ, CLAIMS_EVM=mode, CLAIMS_KEYS_DIR=str(tmp / "keys"))
    done = subprocess.run(
        [sys.executable, "-c", WORKLOAD, str(ROOT / "fixtures"), str(tmp / mode)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_fast_loop_gives_the_same_blocks_as_py_evm(tmp_path: Path) -> None:
    reference = _run(tmp_path, "reference")
    fast = _run(tmp_path, "fast")
    assert len(reference["hashes"]) >= 15  # type: ignore[arg-type]  # 18 blocks
    assert (reference["vm"], fast["vm"]) == ("PragueVM", "FastPragueVM")
    assert fast["hashes"] == reference["hashes"]
    assert fast["refused"] == reference["refused"] == "transaction reverted: claims: duplicate"
    assert fast["statuses"] == reference["statuses"]
    assert {"paid", "denied", "pending_review"} <= set(reference["statuses"])  # type: ignore[arg-type]


def test_the_decoded_node_cache_hands_out_copies_the_trie_may_edit() -> None:
    from trie import HexaryTrie
    from trie.constants import BLANK_NODE, BLANK_NODE_HASH
    from trie.utils.nodes import decode_node

    from claimsengine.chain import node_cache

    class Plain(HexaryTrie):  # type: ignore[misc]
        """py-evm's decoding every time, as without the cache."""

        def get_node(self, node_hash: Any) -> Any:
            if node_hash in (BLANK_NODE, BLANK_NODE_HASH):
                return BLANK_NODE
            if len(node_hash) < 32:
                return decode_node(node_hash)
            return decode_node(self.db[node_hash])

    node_cache.install()
    keys = [bytes([n * 6]) * 32 for n in range(40)]  # first bytes differ: a branch at the root
    cached, plain = HexaryTrie({}), Plain({})
    for trie in (cached, plain):
        for n, key in enumerate(keys):
            trie[key] = b"value %d" % n
    first = cached.get_node(cached.root_hash)
    assert isinstance(first, list) and len(first) == 17
    first[0] = b"edited in place"
    assert cached.get_node(cached.root_hash) != first  # the kept node was not touched
    # Edits through the cache give the roots and values that plain decoding gives.
    for trie in (cached, plain):
        trie[keys[3]] = b"changed"
        trie[b"\x01" * 32] = b"one more"
        del trie[keys[7]]
    assert cached.root_hash == plain.root_hash
    assert [cached.get(k) for k in keys] == [plain.get(k) for k in keys]
