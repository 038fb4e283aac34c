"""The dashboard on a large chain: how long each page takes to answer.

    python -m bench.dashboard_bench [--claims 100000] [--members 10000] [--seed 5]
                                    [--state DIR] [--repeat 5]

Builds the chain with a generated plan year (``claims simulate --generate``'s population,
kept in --state; a state folder that already holds a chain is reused as it is), then
starts `claims dashboard` on it and times every page over HTTP:

- the first load, which reads the snapshot (every plan's claims from the events);
- each page again, ``--repeat`` times, from the snapshot (the median and the slowest);
- a claim's page, which also reads that claim's history from the chain.

The target (issue: dashboard) is under 300 ms a page on a 100,000-claim chain. Writes
bench/results/dashboard.json. A benchmark prints figures; it is not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.throughput import load_average

RESULTS = Path(__file__).resolve().parent / "results" / "dashboard.json"
TARGET_MS = 300.0


def build(state: Path, members: int, claims: int, seed: int) -> dict[str, Any]:
    from claimsengine.population.generate import generate_population
    from claimsengine.population.run import run_population

    began = time.perf_counter()
    population = generate_population(members, claims, seed)
    report = run_population(population, state_dir=state, chart=False)
    return {
        "seconds": round(time.perf_counter() - began, 1),
        "claims_on_chain": report.submitted,
    }


def fetch_ms(url: str) -> float:
    began = time.perf_counter()
    with urllib.request.urlopen(url, timeout=600) as response:
        response.read()
        assert response.status == 200, url
    return (time.perf_counter() - began) * 1000


def time_pages(state: Path, repeat: int) -> dict[str, Any]:
    claims = shutil.which("claims", path=str(Path(sys.executable).parent)) or "claims"
    process = subprocess.Popen(
        [claims, "--state", str(state), "--json", "dashboard", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    began = time.perf_counter()
    ready = json.loads(process.stdout.readline())
    url = ready["url"]
    startup = (time.perf_counter() - began) * 1000  # the first snapshot is read here
    try:
        first = fetch_ms(url + "/")
        pages = {
            "plans": "/",
            "claims": "/claims",
            "claims, filtered": "/claims?status=denied&from=2027-03-01&to=2027-09-30",
            "claims, page 100": "/claims?page=100",
            "claim": "/claims/4242",
            "reviews": "/reviews",
            "members": "/members",
            "reconcile (form)": "/reconcile",
        }
        timed = {}
        for name, path in pages.items():
            runs = [fetch_ms(url + path) for _ in range(repeat)]
            timed[name] = {"median_ms": round(statistics.median(runs), 1),
                           "max_ms": round(max(runs), 1)}  # fmt: skip
    finally:
        process.terminate()
        process.wait(timeout=30)
    return {"startup_with_snapshot_ms": round(startup, 1), "first_page_ms": round(first, 1),
            "pages": timed}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--state", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    state = args.state or Path(tempfile.mkdtemp(prefix="dashboard-bench-")) / "state"
    built = None
    if not (state / "chain").exists():
        print(f"building {args.claims} claims in {state} ...", flush=True)
        built = build(state, args.members, args.claims, args.seed)
        print(f"built in {built['seconds']} s", flush=True)
    result = time_pages(state, args.repeat)
    slowest = max(page["median_ms"] for page in result["pages"].values())
    report = {
        "claims": args.claims,
        "members": args.members,
        "state": str(state),
        "built": built,
        **result,
        "slowest_median_ms": slowest,
        "target_ms": TARGET_MS,
        "load_average": load_average(),
        "cpus": os.cpu_count(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
