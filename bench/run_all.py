"""Run every benchmark, one process each, and collect their results (`make bench`).

    python -m bench.run_all [--quick]

Order: gas (deterministic), cli_startup, throughput (the four paths side by side), memory,
reconciliation, reads, the realistic plan year (three paths side by side), flat cost.
Each writes its JSON to bench/results/; this writes
bench/results/summary.json with all of them. ``--quick`` runs small sizes (a smoke test,
about a minute); the full run takes several minutes on 2 cores. The machine may be shared
with other work: compare the ratios, which are measured side by side in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

from bench import scenario

BENCHMARKS: list[tuple[str, list[str], list[str]]] = [
    # (name, full arguments, quick arguments)
    ("gas", [], ["--batch", "20"]),
    ("cli_startup", ["--runs", "7"], ["--runs", "3"]),
    ("throughput", [], ["--claims", "500", "--naive-sample", "30"]),
    ("memory", [], ["--claims", "500"]),
    ("reconcile_bench", [], ["--claims", "10000"]),
    ("node_throughput", [], ["--claims", "200"]),
    ("reads", [], ["--claims", "300", "--calls", "200"]),
    ("realistic", [], ["--members", "50", "--claims", "300", "--naive-sample", "30"]),
    ("flat_cost", [], ["--background", "2000", "--measured", "200"]),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke test")
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    args = parser.parse_args(argv)
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    results: dict[str, Any] = {}
    failed = []
    for name, full, quick in BENCHMARKS:
        if only and name not in only:
            continue
        out = scenario.RESULTS / f"{name}.json"
        command = [sys.executable, "-m", f"bench.{name}", *(quick if args.quick else full)]
        command += ["--out", str(out)]
        print(f"== {name}: {' '.join(command[1:])}", flush=True)
        begin = time.perf_counter()
        done = subprocess.run(command, cwd=scenario.REPO, check=False)
        seconds = round(time.perf_counter() - begin, 1)
        if done.returncode != 0 or not out.exists():
            failed.append(name)
            results[name] = {"error": f"exit code {done.returncode}", "seconds": seconds}
            continue
        results[name] = {"seconds": seconds, "result": json.loads(out.read_text())}
    summary = {
        "quick": args.quick,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "benchmarks": results,
    }
    path = scenario.RESULTS / "summary.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {path.relative_to(scenario.REPO)}" + (f"; FAILED: {failed}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
