"""Gas per claim, one claim per transaction and in batches, against the ceilings.

    python -m bench.gas [--batch 100]

One-line claims (bench/scenario.py) on the embedded chain; gas follows the chain's rules,
not the machine, so these figures do not depend on load. A member's first claim of a
period writes new storage (accumulators, duplicate-line bitmap), later claims update it,
so both are measured. Ceilings, as tests/contracts/test_gas.py and the README hold them:
130,000 gas for a later claim sent alone, 147,000 for a member's first (164,000 for the
very first, which is the provider's first too), 75,000 a claim for later claims in a
batch; a batch of members' first claims has none (each writes its member's storage).
Writes bench/results/gas.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from bench import scenario
from claimsengine.chain.embedded import EmbeddedChain
from claimsengine.sdk import HospitalClient, PreparedClaim
from claimsengine.workspace import Workspace

CEILING_SINGLE = 130_000
CEILING_MEMBER_FIRST = 147_000
CEILING_PROVIDER_FIRST = 164_000
CEILING_BATCHED = 75_000


def _verdict(value: float, ceiling: int | None) -> dict[str, Any]:
    out: dict[str, Any] = {"gas_per_claim": round(value), "ceiling": ceiling}
    if ceiling is None:
        return out
    out["met"] = value <= ceiling
    if value > ceiling:
        out["over_by"] = f"{round(value - ceiling)} gas ({100 * (value / ceiling - 1):.1f}%)"
    return out


def measure(batch: int = 100, singles: int = 20) -> dict[str, Any]:
    members = 2 * batch
    claims = scenario.CLAIMS_PER_MEMBER * members
    with tempfile.TemporaryDirectory() as folder:
        chain = EmbeddedChain.memory()
        workspace = Workspace(Path(folder), chain, "embedded")
        try:
            chain.set_time(scenario.NOW)
            scenario.setup_plan(workspace, claims)
            client = HospitalClient(workspace)
            records = scenario.one_line_records(claims)
            with workspace.command():
                prepared = [client.prepare(r) for r in records]
            engine = workspace.engine
            sender = prepared[0].sender

            def single(items: list[PreparedClaim]) -> list[int]:
                with workspace.command():
                    return [
                        engine.submit_claim(sender, scenario.PLAN_ID, p.claim).gas_used
                        for p in items
                    ]

            def batched(items: list[PreparedClaim]) -> float:
                with workspace.command():
                    receipt = engine.submit_claims(
                        sender, scenario.PLAN_ID, [p.claim for p in items]
                    )
                return receipt.gas_used / len(items)

            # Record n is member n % members on day n // members: the first `members`
            # records are each member's first claim, the next ones their second.
            single_new = single(prepared[:singles])
            batch_new = batched(prepared[batch : 2 * batch])
            single_again = single(prepared[members : members + singles])
            batch_again = batched(prepared[members + batch : members + 2 * batch])
        finally:
            workspace.close()
    return {
        "single": {
            "first_claim_of_provider": _verdict(single_new[0], CEILING_PROVIDER_FIRST),
            "first_claim_of_member": _verdict(max(single_new[1:]), CEILING_MEMBER_FIRST),
            "later_claim_of_member": _verdict(max(single_again), CEILING_SINGLE),
            "note": f"the highest of {singles} one-line claims, each in its own transaction"
            " (of the first claims: the very first, the provider's, apart)",
        },
        "batched": {
            "first_claim_of_member": _verdict(batch_new, None),
            "later_claim_of_member": _verdict(batch_again, CEILING_BATCHED),
            "batch_size": batch,
            "note": "transaction gas divided by the claims in the batch",
        },
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--out", type=Path, default=scenario.RESULTS / "gas.json")
    args = parser.parse_args(argv)
    report = {"benchmark": "gas", "workload": "one-line claims", **measure(args.batch)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print("gas per claim (deterministic; does not depend on machine load)")
    for mode in ("single", "batched"):
        for case in ("first_claim_of_provider", "first_claim_of_member", "later_claim_of_member"):
            entry = report[mode].get(case)
            if entry is None:
                continue
            if entry["ceiling"] is None:
                judged = "(no ceiling)"
            else:
                status = "ok" if entry["met"] else f"OVER by {entry['over_by']}"
                judged = f"(ceiling {entry['ceiling']:,}) {status}"
            print(f"  {mode:8s} {case:24s} {entry['gas_per_claim']:>8,} {judged}")
    return report


if __name__ == "__main__":
    main()
