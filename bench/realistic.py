"""The realistic load: a generated plan year end to end, three ways, side by side in one run.

    python -m bench.realistic [--members 500] [--claims 3000] [--seed 11] [--skip naive,anvil]
    python -m bench.realistic --profile bench/results/realistic_profile.txt

The population is what ``claims simulate --generate --members 500 --claims 3000 --seed 11``
runs: multi-line claims, denials, reviews, the payment queue, top-ups, settlement and every
hospital's reconciliation, in weekly rounds over a plan year (``population.run``).

1. **embedded**: the population on the embedded chain, its state on disk in a temporary
   folder (the ``claims`` default); also the state folder's bytes per claim, by file.
2. **anvil**: the same population over JSON-RPC to a local anvil; CPU seconds include the
   node's.
3. **naive**: web3 ``transact()`` per claim on EthereumTesterProvider, one ``submit_claim``
   call per one-line claim and a status read (``bench/throughput.py``'s path 1); timed on a
   sample and extrapolated, which flatters it.

The ratios (claims/s of the whole run) are measured in one run on the same machine; the
machine may be shared, so CPU seconds (process time) are reported beside wall time, with
the load average. ``--profile`` runs only the embedded path under cProfile and writes the
functions by cumulative and by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import resource
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

from bench import scenario
from bench.throughput import (
    load_average,
    print_paths,
    run_naive,
    run_paths,
    tree_cpu_seconds,
    write_report,
)

#: Targets for the embedded path (issue: realistic load).
TARGET_VS_NAIVE = 15.0
TARGET_VS_ANVIL = 1.0
#: Disk per claim, state folder (chain, journal, vault).
TARGET_BYTES_PER_CLAIM = 2048

PATHS = ("embedded", "anvil", "naive")


def _rate(claims: int, seconds: float) -> float:
    return round(claims / seconds, 1) if seconds > 0 else 0.0


def folder_bytes(folder: Path) -> dict[str, int]:
    """Bytes of every file under ``folder``, by path relative to it."""
    return {
        str(path.relative_to(folder)): path.stat().st_size
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


#: The chain file's tables by part (sqlite's own indexes go with their table).
_CHAIN_PARTS = {
    "kv": "chain_state",  # trie nodes of the head's state (and garbage), headers, lookups
    "bodies": "chain_bodies",  # block bodies, compressed
    "txs": "chain_index",
    "events": "chain_index",
    "logs": "chain_index",
    "meta": "chain_index",
}
#: The state folder's files by part.
_FILE_PARTS = {
    "vault/vault.sqlite": "vault",
    "journal.sqlite": "journal",
    "members.sqlite": "roster",
}


def disk_parts(state: Path) -> dict[str, int]:
    """Bytes of the state folder by part: the chain file by table (sqlite's dbstat, when this
    sqlite has it; free pages and the schema in ``chain_other``), vault, journal, roster,
    and ``other`` (keys, deployments, write-ahead logs left beside a file)."""
    parts: dict[str, int] = {}
    chain = state / "chain" / "chain.sqlite"
    for name, size in folder_bytes(state).items():
        part = _FILE_PARTS.get(name, "other")
        if name == "chain/chain.sqlite":
            part = "chain_other"
        parts[part] = parts.get(part, 0) + size
    if chain.exists():
        with closing(sqlite3.connect(chain)) as db:
            try:
                rows = db.execute(
                    "SELECT m.tbl_name, sum(d.pgsize) FROM dbstat d"
                    " JOIN sqlite_master m ON m.name = d.name GROUP BY m.tbl_name"
                ).fetchall()
            except sqlite3.OperationalError:
                rows = []  # no dbstat in this sqlite: the file as one part
        for table, size in rows:
            part = _CHAIN_PARTS.get(table, "chain_other")
            if part != "chain_other":
                parts[part] = parts.get(part, 0) + int(size)
                parts["chain_other"] -= int(size)
    return parts


def _population(members: int, claims: int, seed: int) -> Any:
    from claimsengine.population.generate import generate_population

    return generate_population(members, claims, seed)


def _outcome(report: Any, claims: int, seconds: float, cpu: float) -> dict[str, Any]:
    data = report.to_json()
    return {
        "claims": claims,
        "seconds": round(seconds, 2),
        "claims_per_s": _rate(claims, seconds),
        "cpu_seconds": round(cpu, 2),
        "claims_per_cpu_s": _rate(claims, cpu),
        "final_status": data.get("final_status"),
        "gas_per_claim": data.get("gas_per_claim"),
    }


def run_embedded(members: int, claims: int, seed: int) -> dict[str, Any]:
    from claimsengine.population.run import run_population

    population = _population(members, claims, seed)
    with tempfile.TemporaryDirectory() as folder:
        state = Path(folder) / "state"
        cpu_begin = time.process_time()
        begin = time.perf_counter()
        report = run_population(population, state_dir=state, out_dir=Path(folder) / "out")
        seconds = time.perf_counter() - begin
        cpu = time.process_time() - cpu_begin
        files = folder_bytes(state)
        parts = disk_parts(state)
    out = _outcome(report, claims, seconds, cpu)
    total = sum(files.values())
    out.update(
        path="population on the embedded chain, state on disk",
        state_bytes=total,
        state_bytes_per_claim=round(total / claims),
        state_files=files,
        state_bytes_per_claim_by_part={
            part: round(size / claims) for part, size in sorted(parts.items())
        },
        peak_rss_mib=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    )
    return out


def run_anvil(members: int, claims: int, seed: int) -> dict[str, Any]:
    from claimsengine.chain.anvil import start_anvil
    from claimsengine.population.run import run_population

    population = _population(members, claims, seed)
    with tempfile.TemporaryDirectory() as folder, start_anvil() as node:
        node_cpu = tree_cpu_seconds(node.process.pid)
        cpu_begin = time.process_time()
        begin = time.perf_counter()
        report = run_population(
            population, state_dir=Path(folder) / "state", rpc=node.url, out_dir=Path(folder)
        )
        seconds = time.perf_counter() - begin
        node_cpu = tree_cpu_seconds(node.process.pid) - node_cpu
        cpu = time.process_time() - cpu_begin + node_cpu
    out = _outcome(report, claims, seconds, cpu)
    out.update(path="population over JSON-RPC to anvil", node_cpu_seconds=round(node_cpu, 2))
    return out


def compare(paths: dict[str, dict[str, Any]]) -> dict[str, Any]:
    ours = paths.get("embedded", {})
    out: dict[str, Any] = {}
    if "claims_per_s" not in ours:
        return out
    for name, target in (("naive", TARGET_VS_NAIVE), ("anvil", TARGET_VS_ANVIL)):
        other = paths.get(name, {})
        if not other.get("claims_per_s"):
            out[f"vs_{name}"] = {"ratio": None, "note": "not run"}
            continue
        ratio = round(ours["claims_per_s"] / other["claims_per_s"], 2)
        entry: dict[str, Any] = {"ratio": ratio, "target": target, "met": ratio >= target}
        if other.get("claims_per_cpu_s"):
            entry["ratio_cpu"] = round(ours["claims_per_cpu_s"] / other["claims_per_cpu_s"], 2)
        out[f"vs_{name}"] = entry
    per_claim = ours.get("state_bytes_per_claim")
    if per_claim is not None:
        out["disk"] = {
            "bytes_per_claim": per_claim,
            "target": TARGET_BYTES_PER_CLAIM,
            "met": per_claim <= TARGET_BYTES_PER_CLAIM,
        }
    return out


def profile(members: int, claims: int, seed: int, out: Path) -> None:
    """The embedded path under cProfile: top functions by cumulative and by own time."""
    from claimsengine.population.run import run_population

    population = _population(members, claims, seed)
    profiler = cProfile.Profile()
    with tempfile.TemporaryDirectory() as folder:
        begin = time.perf_counter()
        profiler.enable()
        run_population(population, state_dir=Path(folder) / "state", chart=False)
        profiler.disable()
        seconds = time.perf_counter() - begin
    text = io.StringIO()
    text.write(
        f"cProfile of the embedded path, --members {members} --claims {claims} --seed {seed}: "
        f"{seconds:.1f} s under the profiler, load average {load_average()}\n"
    )
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(30)
    root = str(scenario.REPO) + "/"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text.getvalue().replace(root, "").replace(sys.prefix + "/", "<venv>/"))
    print(f"profile written to {out}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--claims", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--naive-sample", type=int, default=200)
    parser.add_argument("--skip", default="", help="comma-separated: embedded,anvil,naive")
    parser.add_argument("--profile", type=Path, default=None, help="profile the embedded path")
    parser.add_argument("--out", type=Path, default=scenario.RESULTS / "realistic.json")
    args = parser.parse_args(argv)
    if args.profile is not None:
        profile(args.members, args.claims, args.seed, args.profile)
        return {}
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}

    def log(text: str) -> None:
        print(f"[realistic] {text}", file=sys.stderr, flush=True)

    runners: dict[str, Callable[[], dict[str, Any]]] = {
        "embedded": lambda: run_embedded(args.members, args.claims, args.seed),
        "anvil": lambda: run_anvil(args.members, args.claims, args.seed),
        "naive": lambda: run_naive(
            scenario.one_line_records(min(args.naive_sample, args.claims)), args.claims
        ),
    }
    # Embedded first: this process's peak RSS is then the embedded run's.
    paths = run_paths([name for name in PATHS if name not in skip], runners, log)
    head = {
        "benchmark": "realistic",
        "population": {"members": args.members, "claims": args.claims, "seed": args.seed},
    }
    report = write_report(args.out, head, paths, compare(paths))
    print_summary(report)
    return report


def print_summary(report: dict[str, Any]) -> None:
    population = report["population"]
    print(
        f"realistic: --members {population['members']} --claims {population['claims']} "
        f"--seed {population['seed']}, load average {report['machine']['load_average']}"
    )
    print_paths(report)


if __name__ == "__main__":
    main()
