"""Wall time of the `claims` command as a user feels it: start-up and read-only queries.

    python -m bench.cli_startup [--runs 7]

Times ``claims --help``, ``claims --json member PLAN MEMBER`` (a read-only command on a
prepared embedded state: read the member's accumulators, print JSON) and ``claims --json
eligibility PLAN MEMBER`` (both answered from the chain's file without the EVM; issue 10
asks for under 0.5 s), each in a fresh process, and reports the
median of several runs (plus min and max), of wall time and of CPU time (the process's user
and system seconds). A fresh process pays Python start-up and imports every time, as a
user's shell does, with Python's bytecode cache as an installed package has it (one untimed
run first writes it; PYTHONDONTWRITEBYTECODE is left out of the children's environment:
recompiling every module on every run is not what users see). The machine may be shared:
the median is the figure to read, and CPU time is less moved by the neighbours than wall
time (the load average is recorded). Writes bench/results/cli_startup.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import scenario

CLAIMS = Path(sys.executable).parent / "claims"


def prepare_state(state: Path) -> tuple[str, str]:
    """A state folder with the bench plan, its members and a few paid claims."""
    from claimsengine.sdk import HospitalClient
    from claimsengine.workspace import Workspace

    workspace = Workspace.open(state, create=True)
    try:
        workspace.chain.set_time(scenario.NOW)
        scenario.setup_plan(workspace, 50)
        with workspace.command():
            HospitalClient(workspace).submit_many(scenario.one_line_records(50))
    finally:
        workspace.close()
    return scenario.PLAN_ID, scenario.member_ids(1)[0]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_command(argv: list[str], runs: int) -> dict[str, Any]:
    """Wall seconds (median, min, max) and, under ``cpu``, CPU seconds of ``runs`` runs."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(argv, capture_output=True, check=False, env=env)  # the bytecode cache
    times = []
    cpu = []
    for _ in range(runs):
        cpu_before = _children_cpu()
        begin = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
        times.append(time.perf_counter() - begin)
        cpu.append(_children_cpu() - cpu_before)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.strip()}")
    return {
        "command": " ".join([Path(argv[0]).name, *argv[1:]]),
        **scenario.summary(times),
        "cpu": scenario.summary(cpu),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--out", type=Path, default=scenario.RESULTS / "cli_startup.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        state = Path(folder) / "state"
        plan_id, member_id = prepare_state(state)
        claims = str(CLAIMS)
        results = {
            "help": time_command([claims, "--help"], args.runs),
            "member": time_command(
                [claims, "--state", str(state), "--json", "member", plan_id, member_id],
                args.runs,
            ),
            "eligibility": time_command(
                [claims, "--state", str(state), "--json", "eligibility", plan_id, member_id],
                args.runs,
            ),
        }
    report = {
        "benchmark": "cli_startup",
        "unit": "seconds, wall (cpu: user + system), fresh process each run",
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "shared_machine": True,
        **results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"claims start-up, median of {args.runs} fresh processes (shared machine)")
    for name, entry in results.items():
        print(
            f"  {name:11s} {entry['median']:.3f} s wall (min {entry['min']:.3f}, "
            f"max {entry['max']:.3f}), {entry['cpu']['median']:.3f} s CPU  {entry['command']}"
        )
    print(f"  load average {report['load_average']}")
    return report


if __name__ == "__main__":
    main()
