"""What one view call costs on the embedded chain, on a chain that holds claims.

    python -m bench.reads [--claims 2000] [--calls 1000]

Sets up bench/scenario.py's plan on an embedded chain on disk, submits ``--claims``
one-line claims, then times ``--calls`` view calls of three kinds, each on a different key,
as a command reading many members or claims does: ``member`` (a member's record),
``claim_status`` (a submitted claim) and ``pool_state`` (one key, read again and again).
Reports milliseconds per call, wall and CPU (target: at most 1 ms). Writes
bench/results/reads.json.
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import scenario
from bench.throughput import write_report
from claimsengine.workspace import Workspace

TARGET_MS = 1.0


def timed(calls: list[Callable[[], object]]) -> dict[str, float]:
    cpu_begin, begin = time.process_time(), time.perf_counter()
    for call in calls:
        call()
    wall, cpu = time.perf_counter() - begin, time.process_time() - cpu_begin
    return {
        "ms_per_call": round(wall / len(calls) * 1000, 3),
        "cpu_ms_per_call": round(cpu / len(calls) * 1000, 3),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=2000)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=scenario.RESULTS / "reads.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        workspace = Workspace.open(folder / "state", create=True)
        try:
            workspace.chain.set_time(scenario.NOW)
            scenario.setup_plan(workspace, args.claims)
            records = scenario.one_line_records(args.claims)
            path = scenario.write_records(records, folder / "records.jsonl")
            scenario.submit_file(workspace, path)
            engine = workspace.engine
            plan = scenario.PLAN_ID
            members = [hashlib.sha256(b"member %d" % n).digest() for n in range(args.calls)]
            claims = [(r.provider_id, workspace.commitment(r)[1]) for r in records[: args.calls]]
            if engine.claim_status(plan, *claims[0]).claim_id == 0:
                raise RuntimeError("the claims read are not on the chain")
            kinds = {
                "member, each a different key": [
                    (lambda m=m: engine.member(plan, m)) for m in members
                ],
                "claim_status, each a submitted claim": [
                    (lambda c=c: engine.claim_status(plan, *c)) for c in claims
                ],
                "pool_state, the same key": [
                    (lambda: engine.pool_state(plan)) for _ in range(args.calls)
                ],
            }
            paths = {kind: timed(calls) for kind, calls in kinds.items()}
        finally:
            workspace.close()
    worst = max(out["ms_per_call"] for out in paths.values())
    comparison = {"worst_ms_per_call": worst, "target": TARGET_MS, "met": worst <= TARGET_MS}
    head = {"benchmark": "reads", "claims": args.claims, "calls": args.calls}
    report = write_report(args.out, head, paths, comparison)
    for kind, out in paths.items():
        print(f"  {kind}: {out['ms_per_call']} ms ({out['cpu_ms_per_call']} CPU ms) per call")
    return report


if __name__ == "__main__":
    main()
