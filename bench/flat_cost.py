"""Flat cost: what a new claim costs on a chain that already holds many, against a fresh one.

    python -m bench.flat_cost [--background 10000] [--measured 5000] [--batch 100]
                              [--cold | --per-file] [--chains FOLDER]

Two embedded chains, state on disk, the same plan and enrolments (bench/scenario.py). The
"full" one first takes ``--background`` one-line claims (not timed); then both take the
same ``--measured`` claims, in files of ``--batch`` as ``claims submit`` would: one-line
claims of members who have none yet, so each is the same work on both chains.

On a shared machine the load drifts from minute to minute, so both chains stay open and are
measured alternately, file by file (fresh, full, full, fresh, ...: each chain goes first as
often as second), in the same minutes. Reported: CPU seconds (process time) and wall seconds
per claim, the median over the files, and the ratio full / fresh (target: at most 1.2); also
the mean over the files (it counts a pruning that falls among them) and the median of the
first ten files alone (the window of the first runs of this benchmark, right after the
background's own pruning), and the median of the pairs (a file's full / fresh, the two
measured back to back: the figure least moved by the machine's minutes). Writes
bench/results/flat_cost.json.

Fifty files by default. On this shared 2-core machine one file's CPU time moves by a third
from one minute to the next, and the median of ten moved the ratio by 0.1 between runs of
the same code. (Pruning walked the whole live state, once in about 45 files on a
100,000-claim chain, before chain schema 5; every command now prunes what it made garbage.)

By default the chains are measured in the process that built them, whose caches (decoded
trie nodes, the store's values) hold the full chain's nodes from its background. With
``--cold`` a new process opens both chains from disk and measures them, as each CLI
command opens its state; with ``--per-file`` every file is measured in a new process of its
own, as ``claims submit`` runs one file (each chain's caches start empty every time, and
the chain's close, which copies its write-ahead log back into the file, is counted);
``caches`` in the JSON says which.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import statistics
import subprocess
import sys
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


def build_chains(folder: Path, labels: dict[str, int], measured: int) -> dict[str, Workspace]:
    """One chain a label under ``folder``, each with its background claims (``labels``:
    label -> how many) and ``measured`` members waiting for their first claim."""
    workspaces: dict[str, Workspace] = {}
    try:
        for label, background in labels.items():
            where = folder / label
            where.mkdir()
            workspaces[label] = workspace = chain_with(where, max(background, 1), measured)
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
    except BaseException:
        for workspace in workspaces.values():
            workspace.close()
        raise
    return workspaces


def measure_file(
    workspace: Workspace, chunk: list[TreatmentRecord], path: Path
) -> tuple[float, float]:
    """Submit one file of claims; (CPU seconds, wall seconds) per claim."""
    scenario.write_records(chunk, path)
    cpu_begin, begin = time.process_time(), time.perf_counter()
    results, _, _ = scenario.submit_file(workspace, path)
    wall = (time.perf_counter() - begin) / len(chunk)
    cpu = (time.process_time() - cpu_begin) / len(chunk)
    if any(result.status != "paid" for result in results):
        raise RuntimeError("a measured claim was not paid")
    return cpu, wall


def summary(cpu: list[float], wall: list[float]) -> dict[str, Any]:
    return {
        "cpu_ms_per_claim": round(statistics.median(cpu) * 1000, 2),
        "wall_ms_per_claim": round(statistics.median(wall) * 1000, 2),
        "cpu_ms_per_claim_mean": round(statistics.mean(cpu) * 1000, 2),
        "cpu_ms_per_claim_first_ten_files": round(statistics.median(cpu[:10]) * 1000, 2),
        "cpu_ms_per_claim_each_file": [round(c * 1000, 2) for c in cpu],
    }


def _ratio(paths: dict[str, Any], figure: str) -> float:
    return round(paths["full"][figure] / paths["fresh"][figure], 2)


def paired_ratio(cpu: dict[str, list[float]]) -> float:
    """The median over the files of full / fresh for the same file, measured back to back:
    a slow minute slows both of a pair, so the ratio moves less than the two medians'."""
    pairs = zip(cpu["fresh"], cpu["full"], strict=True)
    return round(statistics.median(full / fresh for fresh, full in pairs), 2)


def measure_files(
    workspaces: dict[str, Workspace], records: list[TreatmentRecord], batch: int, folder: Path
) -> dict[str, Any]:
    """Both chains take the same files, alternately: CPU and wall seconds a claim, each file,
    and the load average before each pair."""
    cpu: dict[str, list[float]] = {label: [] for label in workspaces}
    wall: dict[str, list[float]] = {label: [] for label in workspaces}
    loads = []
    for number, start in enumerate(range(0, len(records), batch)):
        chunk = records[start : start + batch]
        order = list(workspaces) if number % 2 == 0 else list(reversed(workspaces))
        loads.append(load_average())
        for label in order:
            where = folder / label / f"measured-{start}.jsonl"
            file_cpu, file_wall = measure_file(workspaces[label], chunk, where)
            cpu[label].append(file_cpu)
            wall[label].append(file_wall)
    return {"cpu": cpu, "wall": wall, "loads": loads}


def _measure_cold(folder: Path, labels: dict[str, int], measured: int, batch: int) -> None:
    """In this (new) process: open both chains from disk, with nothing of them in memory,
    as a CLI command opens its state, and measure; write the figures to the folder."""
    records = measured_records(measured)
    workspaces = {label: Workspace.open(folder / label / "state") for label in labels}
    try:
        figures = measure_files(workspaces, records, batch, folder)
    finally:
        for workspace in workspaces.values():
            workspace.close()
    (folder / "measured.json").write_text(json.dumps(figures))


def _measure_one_file(folder: Path, label: str, number: int, measured: int, batch: int) -> None:
    """In this (new) process: open one chain and measure its ``number``-th file, and the
    close that follows it (the last connection copies the write-ahead log back into the
    file, part of what a CLI command costs); print the figures (JSON) for the parent."""
    records = measured_records(measured)[number * batch : (number + 1) * batch]
    workspace = Workspace.open(folder / label / "state")
    try:
        path = scenario.write_records(records, folder / label / f"measured-{number}.jsonl")
        cpu_begin, begin = time.process_time(), time.perf_counter()
        results, _, _ = scenario.submit_file(workspace, path)
    finally:
        workspace.close()
    wall = (time.perf_counter() - begin) / len(records)
    cpu = (time.process_time() - cpu_begin) / len(records)
    if any(result.status != "paid" for result in results):
        raise RuntimeError("a measured claim was not paid")
    print(json.dumps({"cpu": cpu, "wall": wall}))


def _measure_per_file(folder: Path, labels: dict[str, int], args: argparse.Namespace) -> dict:
    """Each file in a new process, both chains alternately (as ``measure_files``)."""
    cpu: dict[str, list[float]] = {label: [] for label in labels}
    wall: dict[str, list[float]] = {label: [] for label in labels}
    loads = []
    base = [sys.executable, "-m", "bench.flat_cost", "--measure-in", str(folder)]
    base += ["--background", str(args.background), "--measured", str(args.measured)]
    base += ["--batch", str(args.batch)]
    for number in range(-(-args.measured // args.batch)):
        order = list(labels) if number % 2 == 0 else list(reversed(labels))
        loads.append(load_average())
        for label in order:
            done = subprocess.run(
                [*base, "--file", f"{label}:{number}"], check=True, capture_output=True, text=True
            )
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            cpu[label].append(figures["cpu"])
            wall[label].append(figures["wall"])
    return {"cpu": cpu, "wall": wall, "loads": loads}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--background", type=int, default=10_000)
    parser.add_argument("--measured", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument(
        "--cold",
        action="store_true",
        help="measure in a new process that opens both chains from disk (as a CLI command "
        "does), not in the process that built them, whose caches hold the full chain",
    )
    parser.add_argument(
        "--per-file",
        action="store_true",
        help="measure every file in a new process of its own, as `claims submit` runs one",
    )
    parser.add_argument(
        "--chains",
        type=Path,
        help="a folder holding fresh/state and full/state, built before with --background and "
        "at least --measured members waiting (bench/flat_cost_layout.py takes the same): "
        "measured in copies, not built again",
    )
    parser.add_argument("--measure-in", type=Path, help=argparse.SUPPRESS)  # a child's folder
    parser.add_argument("--file", help=argparse.SUPPRESS)  # --per-file's child: LABEL:NUMBER
    parser.add_argument("--out", type=Path, default=scenario.RESULTS / "flat_cost.json")
    args = parser.parse_args(argv)
    labels = {"fresh": 0, "full": args.background}
    if args.measure_in is not None and args.file is not None:
        label, _, number = args.file.partition(":")
        _measure_one_file(args.measure_in, label, int(number), args.measured, args.batch)
        return {}
    if args.measure_in is not None:
        _measure_cold(args.measure_in, labels, args.measured, args.batch)
        return {}
    records = measured_records(args.measured)
    paths: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        if args.chains is not None:  # chains built before: measured in copies of them
            for label in labels:
                shutil.copytree(args.chains / label / "state", folder / label / "state")
            workspaces = {label: Workspace.open(folder / label / "state") for label in labels}
        else:
            workspaces = build_chains(folder, labels, args.measured)
        try:
            if args.cold or args.per_file:
                for workspace in workspaces.values():
                    workspace.close()
                workspaces = {}
            if args.per_file:
                figures = _measure_per_file(folder, labels, args)
            elif args.cold:
                child = [sys.executable, "-m", "bench.flat_cost", "--measure-in", str(folder)]
                child += ["--background", str(args.background), "--measured", str(args.measured)]
                subprocess.run([*child, "--batch", str(args.batch)], check=True)
                figures = json.loads((folder / "measured.json").read_text())
            else:
                figures = measure_files(workspaces, records, args.batch, folder)
            cpu = figures["cpu"]
            for label, background in labels.items():
                paths[label] = {"claims_before": background, "load_average": figures["loads"]}
                paths[label].update(summary(figures["cpu"][label], figures["wall"][label]))
        finally:
            for workspace in workspaces.values():
                workspace.close()
        for label in labels:
            paths[label]["state_bytes"] = sum(folder_bytes(folder / label / "state").values())
    ratio = round(paths["full"]["cpu_ms_per_claim"] / paths["fresh"]["cpu_ms_per_claim"], 2)
    wall_ratio = round(paths["full"]["wall_ms_per_claim"] / paths["fresh"]["wall_ms_per_claim"], 2)
    comparison = {
        "full_vs_fresh_cpu": ratio,
        "full_vs_fresh_wall": wall_ratio,
        "full_vs_fresh_cpu_mean": _ratio(paths, "cpu_ms_per_claim_mean"),
        "full_vs_fresh_cpu_paired": paired_ratio(cpu),
        "full_vs_fresh_cpu_first_ten_files": _ratio(paths, "cpu_ms_per_claim_first_ten_files"),
        "target": TARGET_RATIO,
        "met": ratio <= TARGET_RATIO,
    }
    head = {
        "benchmark": "flat_cost",
        "background": args.background,
        "measured": args.measured,
        "caches": (
            "per file: each file measured in a new process"
            if args.per_file
            else "cold: measured in a new process"
            if args.cold
            else "warm: the building process"
        ),
    }
    report = write_report(args.out, head, paths, comparison)
    for label, out in paths.items():
        print(
            f"  ({label}, {out['claims_before']} claims before) {out['cpu_ms_per_claim']} CPU ms"
            f" and {out['wall_ms_per_claim']} wall ms per new claim"
        )
    print(f"  full / fresh: {ratio}x CPU, {wall_ratio}x wall (target at most {TARGET_RATIO}x)")
    print(
        f"  mean of the files: {comparison['full_vs_fresh_cpu_mean']}x CPU; median of the first"
        f" ten files: {comparison['full_vs_fresh_cpu_first_ten_files']}x CPU; median of the pairs"
        f" (a file on both chains, back to back): {comparison['full_vs_fresh_cpu_paired']}x"
    )
    return report


if __name__ == "__main__":
    main()
