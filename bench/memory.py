"""Peak memory (RSS) of the 10,000-claim embedded run, in a child process.

    python -m bench.memory [--claims 10000]

The child runs path 4 of bench/throughput.py (records file -> paid claims on the embedded
chain, state on disk) and exits; the parent reads the child's peak resident set size with
``resource.getrusage(RUSAGE_CHILDREN)``. Target: under 1 GB. Writes
bench/results/memory.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench import scenario

TARGET_BYTES = 1024**3

_CHILD = """
import json, sys
from bench import throughput, scenario
out = throughput.run_embedded(scenario.one_line_records({claims}))
print(json.dumps({{"claims": out["claims"], "paid": out["paid"], "seconds": out["seconds"]}}))
"""


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=scenario.RESULTS / "memory.json")
    args = parser.parse_args(argv)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    done = subprocess.run(
        [sys.executable, "-c", _CHILD.format(claims=args.claims)],
        cwd=scenario.REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the embedded run failed: {done.stderr.strip()[-2000:]}")
    # ru_maxrss is in KiB on Linux: the largest of the children waited for so far.
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    child = json.loads(done.stdout.strip().splitlines()[-1])
    report = {
        "benchmark": "memory",
        "claims": args.claims,
        "run": child,
        "peak_rss_bytes": peak,
        "peak_rss_mib": round(peak / 1024**2, 1),
        "target_bytes": TARGET_BYTES,
        "met": peak < TARGET_BYTES,
        "note": "peak RSS of the child process (Python, py-evm, the chain's sqlite cache)"
        + ("" if before == 0 else "; an earlier child may have had a larger peak"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    verdict = "ok" if report["met"] else "OVER the 1 GB target"
    print(
        f"peak RSS of the {args.claims}-claim embedded run: "
        f"{report['peak_rss_mib']} MiB ({verdict})"
    )
    return report


if __name__ == "__main__":
    main()
