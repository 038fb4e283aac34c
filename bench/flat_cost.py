"""Flat cost: what a new claim costs on a chain that already holds many, against a fresh one.

    python -m bench.flat_cost [--background 10000] [--measured 500] [--batch 100]

Two embedded chains, state on disk, the same plan and enrolments (bench/scenario.py). The
"full" one first takes ``--background`` one-line claims (not timed); then both take the
same ``--measured`` claims, in files of ``--batch`` as ``claims submit`` would: one-line
claims of members who have none yet, so each is the same work on both chains. Reported:
CPU seconds (process time) and wall seconds per claim, the median over the files, and the
ratio full / fresh (target: at most 1.2). Writes bench/results/flat_cost.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import scenario
from bench.realistic import folder_bytes
from bench.throughput import load_average, write_report
from claimsengine.members import Member
from claimsengine.records import TreatmentRecord
from claimsengine.sdk import InsurerClient
from claimsengine.workspace import Workspace

TARGET_RATIO = 1.2


def measured_records(count: int) -> list[TreatmentRecord]:
    """``count`` one-line claims, each the first of a member of its own (F-000001, ...)."""
    return [
        dataclasses.replace(record, member_id=f"F-{n:06d}", record_id=f"FLAT-{n:06d}")
        for n, record in enumerate(scenario.one_line_records(count), start=1)
    ]


def chain_with(folder: Path, background: int, measured: int) -> Workspace:
    """A workspace with the plan, the background and measured members, a funded pool."""
    workspace = Workspace.open(folder / "state", create=True)
    workspace.chain.set_time(scenario.NOW)
    scenario.setup_plan(workspace, background)
    insurer = InsurerClient(workspace, "insurer")
    with workspace.command():
        news = [Member(f"F-{n:06d}", scenario.COVERAGE_START, None) for n in range(1, measured + 1)]
        insurer.enroll(scenario.PLAN_ID, news)
        insurer.fund(scenario.PLAN_ID, scenario.pool_cents(measured))
    return workspace


def measure(workspace: Workspace, records: list[TreatmentRecord], batch: int, folder: Path) -> Any:
    cpu: list[float] = []
    wall: list[float] = []
    for start in range(0, len(records), batch):
        chunk = records[start : start + batch]
        path = scenario.write_records(chunk, folder / f"measured-{start}.jsonl")
        cpu_begin, begin = time.process_time(), time.perf_counter()
        results, _, _ = scenario.submit_file(workspace, path)
        wall.append((time.perf_counter() - begin) / len(chunk))
        cpu.append((time.process_time() - cpu_begin) / len(chunk))
        if any(result.status != "paid" for result in results):
            raise RuntimeError("a measured claim was not paid")
    return {
        "cpu_ms_per_claim": round(statistics.median(cpu) * 1000, 2),
        "wall_ms_per_claim": round(statistics.median(wall) * 1000, 2),
        "cpu_ms_per_claim_each_file": [round(c * 1000, 2) for c in cpu],
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--background", type=int, default=10_000)
    parser.add_argument("--measured", type=int, default=500)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--out", type=Path, default=scenario.RESULTS / "flat_cost.json")
    args = parser.parse_args(argv)
    records = measured_records(args.measured)
    paths: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for label, background in (("fresh", 0), ("full", args.background)):
            where = folder / label
            where.mkdir()
            workspace = chain_with(where, max(background, 1), args.measured)
            try:
                if background:
                    begin = time.perf_counter()
                    bulk = scenario.write_records(
                        scenario.one_line_records(background), where / "background.jsonl"
                    )
                    scenario.submit_file(workspace, bulk)
                    print(
                        f"[flat_cost] {background} background claims in "
                        f"{time.perf_counter() - begin:.0f} s",
                        flush=True,
                    )
                paths[label] = {"claims_before": background, "load_average": load_average()}
                paths[label].update(measure(workspace, records, args.batch, where))
            finally:
                workspace.close()
            paths[label]["state_bytes"] = sum(folder_bytes(where / "state").values())
    ratio = round(paths["full"]["cpu_ms_per_claim"] / paths["fresh"]["cpu_ms_per_claim"], 2)
    wall_ratio = round(paths["full"]["wall_ms_per_claim"] / paths["fresh"]["wall_ms_per_claim"], 2)
    comparison = {
        "full_vs_fresh_cpu": ratio,
        "full_vs_fresh_wall": wall_ratio,
        "target": TARGET_RATIO,
        "met": ratio <= TARGET_RATIO,
    }
    head = {"benchmark": "flat_cost", "background": args.background, "measured": args.measured}
    report = write_report(args.out, head, paths, comparison)
    for label, out in paths.items():
        print(
            f"  ({label}, {out['claims_before']} claims before) {out['cpu_ms_per_claim']} CPU ms"
            f" and {out['wall_ms_per_claim']} wall ms per new claim"
        )
    print(f"  full / fresh: {ratio}x CPU, {wall_ratio}x wall (target at most {TARGET_RATIO}x)")
    return report


if __name__ == "__main__":
    main()
