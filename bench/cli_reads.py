"""The read-only commands on a large chain: `claims status`, `claims member`, `claims review list`.

    python -m bench.cli_reads --claims 100000 --state /tmp/reads-100k   # build once (long)
    python -m bench.cli_reads --state /tmp/reads-100k [--runs 7]        # time again

Prepares (once) an embedded state folder holding ``--claims`` one-line claims of the bench
plan (bench/scenario.py), submitted through the SDK in large batches, with some of every
status: paid (most), pending review (one claim in ``--review-every``: 80 chest X-rays, whose
plan share is above the plan's 5,000.00 auto-approve limit), denied and approved in review,
voided by the provider, and queued (sent after the pool was emptied). When ``--state``
already holds a chain, it is reused as it is: building 100,000 claims takes 10-25 minutes
on a shared 2-core machine, timing takes seconds.

Then it times, each in a fresh process as a user's shell runs it, the median of ``--runs``:

- ``claims --json status CLAIM_ID`` (a paid claim in the middle of the chain),
- ``claims --json status --record RECORD_ID``,
- ``claims --json member PLAN_ID MEMBER_ID`` (a member with ten claims),
- ``claims --json review list PLAN_ID`` (every claim pending review),

wall seconds and CPU seconds (the child's user + system time), with the load average at the
start and end. With ``--before CLAIMS`` it also times another installed ``claims`` (an older
version's venv), alternately with this one so that both see the same load, and checks that
both print the same JSON. ``--profile DIR`` also writes ``python -X importtime`` and
cProfile output of each command into DIR. Writes bench/results/cli_reads.json (or
``--out``).
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench import scenario

CLAIMS = Path(sys.executable).parent / "claims"
#: One claim in this many goes to review (its plan share is above the auto-approve limit).
REVIEW_EVERY = 500
#: 80 chest X-rays: billed and allowed 7,600.00, the plan pays 80%, 6,080.00 (above 5,000.00).
REVIEW_UNITS = 80
#: Claims of each of the rarer statuses: denied and approved in review, voided, queued.
FEW = 20
#: Records per command while building (each command is one atomic unit of work).
CHUNK = 5_000
TARGET_SECONDS = 0.5


def bench_records(count: int, review_every: int) -> list[Any]:
    """The one-line records, with one in ``review_every`` made large enough for review."""
    records = scenario.one_line_records(count)
    for n in range(review_every // 2, count, review_every):
        line = dataclasses.replace(records[n].lines[0], units=REVIEW_UNITS)
        line = dataclasses.replace(line, billed=scenario.BILLED * REVIEW_UNITS)
        records[n] = dataclasses.replace(records[n], lines=(line,))
    return records


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def build_state(state: Path, count: int, review_every: int) -> dict[str, Any]:
    """The chain: plan, members, ``count`` claims and a few of every other status."""
    from claimsengine.sdk import AdjudicatorClient, HospitalClient, InsurerClient
    from claimsengine.workspace import Workspace

    records = bench_records(count, review_every)
    begin = time.perf_counter()
    workspace = Workspace.open(state, create=True)
    try:
        workspace.chain.set_time(scenario.NOW)
        # The pool holds 95.00 a claim: room for the 76.00 of each and the approvals.
        scenario.setup_plan(workspace, count)
        insurer = InsurerClient(workspace, "insurer")
        with workspace.command():
            insurer.set_adjudicator(scenario.PLAN_ID, "adjudicator")
        hospital = HospitalClient(workspace)
        for start in range(0, count, CHUNK):
            with workspace.command():
                outcomes = hospital.submit_many(records[start : start + CHUNK])
            bad = [o for o in outcomes if o.error is not None]
            if bad:
                raise RuntimeError(f"record {bad[0].record.record_id}: {bad[0].error}")
            done = start + len(outcomes)
            log(f"{done:,} claims ({done / (time.perf_counter() - begin):.0f}/s)")
        adjudicator = AdjudicatorClient(workspace, "adjudicator")
        with workspace.command():
            # Money for the approvals (each pays 6,080.00, less than its billed amount).
            insurer.fund(scenario.PLAN_ID, FEW * REVIEW_UNITS * scenario.BILLED)
            waiting = [r.claim_id for r in adjudicator.queue(scenario.PLAN_ID)]
            for claim_id in waiting[:FEW]:
                adjudicator.deny(claim_id)
            for claim_id in waiting[FEW : 2 * FEW]:
                adjudicator.approve(claim_id)
        with workspace.command():
            for claim_id in range(2, 2 + 50 * FEW, 50):  # paid claims, early in the chain
                hospital.void(claim_id)
        with workspace.command():
            pool = insurer.pool(scenario.PLAN_ID)
            if pool.free:
                insurer.withdraw(scenario.PLAN_ID, pool.free)
            # The first members' 11th claims, on a day of their own: the pool is empty, so
            # each one waits in the queue.
            template = scenario.one_line_records(1)[0]
            extra = [
                dataclasses.replace(
                    template,
                    record_id=f"QUEUED-{n:06d}",
                    member_id=member_id,
                    service_date=scenario.FIRST_SERVICE + timedelta(days=100),
                )
                for n, member_id in enumerate(scenario.member_ids(FEW), start=1)
            ]
            queued = hospital.submit_many(extra)
        statuses = {
            "queued": sum(1 for o in queued if o.result and o.result.status == "queued"),
            "pending_review": len(waiting) - 2 * FEW,
            "denied": FEW,
            "approved": FEW,
            "voided": FEW,
        }
    finally:
        workspace.close()
    return {
        "claims": count + FEW,
        "statuses": statuses,
        "build_seconds": round(time.perf_counter() - begin, 1),
        "state_bytes": sum(p.stat().st_size for p in state.rglob("*") if p.is_file()),
    }


def child_env(bytecode: bool) -> dict[str, str]:
    """The commands' environment. With ``bytecode``, Python keeps compiled bytecode (as an
    install from a wheel has it), under a prefix in the temporary folder so that no source
    folder is written to; without, every run compiles the project's modules again (an
    editable install where PYTHONDONTWRITEBYTECODE is set: about 0.2 s a command)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if bytecode:
        env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "claims-bench-pycache")
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall and CPU seconds of one fresh process, and its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    begin = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    wall = time.perf_counter() - begin
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.strip()}")
    return wall, cpu, done.stdout


def time_command(
    argv: list[str], runs: int, env: dict[str, str], before: str | None = None
) -> dict[str, Any]:
    """The command's figures; with ``before`` (another installed ``claims``), that one's
    too, run alternately with this one so that both see the same load, and the two outputs
    compared (they must print the same JSON)."""
    versions = {"after": argv}
    if before:
        versions = {"before": [before, *argv[1:]], **versions}
    outputs = {name: run_once(a, env)[2] for name, a in versions.items()}  # warm, not timed
    if before and json.loads(outputs["before"]) != json.loads(outputs["after"]):
        raise RuntimeError(f"{' '.join(argv[1:])}: the two versions answer differently")
    walls: dict[str, list[float]] = {name: [] for name in versions}
    cpus: dict[str, list[float]] = {name: [] for name in versions}
    for _ in range(runs):
        for name, a in versions.items():
            wall, cpu, _out = run_once(a, env)
            walls[name].append(wall)
            cpus[name].append(cpu)
    entry: dict[str, Any] = {
        "command": " ".join(["claims", *argv[1:]]),
        "wall": scenario.summary(walls["after"]),
        "cpu": scenario.summary(cpus["after"]),
        "output_bytes": len(outputs["after"]),
    }
    if before:
        entry["before"] = {
            "wall": scenario.summary(walls["before"]),
            "cpu": scenario.summary(cpus["before"]),
        }
    return entry


def profile(argv: list[str], folder: Path, name: str, env: dict[str, str]) -> None:
    """``-X importtime`` (stderr) and a cProfile of one run of the command. They run in the
    temporary folder: ``python -c`` looks for modules in its working folder first, and the
    installed package is the one to profile, not a checkout that happens to be there."""
    folder.mkdir(parents=True, exist_ok=True)
    cwd = tempfile.gettempdir()
    code = "import sys; from claimsengine.cli.main import main; sys.argv[0] = 'claims'; main()"
    imports = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code, *argv[1:]],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=cwd,
    )
    # The 40 heaviest imports, by cumulative microseconds (python -X importtime's 2nd column).
    lines = [line for line in imports.stderr.splitlines() if line.startswith("import time:")]
    heaviest = sorted(lines[1:], key=lambda line: -int(line.split("|")[1]))[:40]
    (folder / f"{name}.importtime.txt").write_text("\n".join([lines[0], *heaviest]) + "\n")
    stats = Path(tempfile.gettempdir()) / f"claims-bench-{name}.prof"
    run = (
        "import cProfile, sys; from claimsengine.cli.main import main; sys.argv[0] = 'claims'\n"
        "try:\n    cProfile.run('main()', sys.argv.pop(1))\nexcept SystemExit:\n    pass"
    )
    subprocess.run(
        [sys.executable, "-c", run, str(stats), *argv[1:]],
        capture_output=True,
        check=False,
        env=env,
        cwd=cwd,
    )
    import pstats

    text = io.StringIO()
    pstats.Stats(str(stats), stream=text).sort_stats("cumulative").print_stats(40)
    # Paths from the package down (claimsengine/..., cli/..., site-packages/...).
    short = re.sub(r"/(?:[^\s/:]+/)+?(?=(?:site-packages|claimsengine|cli)/)", "", text.getvalue())
    (folder / f"{name}.cprofile.txt").write_text(short)


def commands(state: Path, count: int, review_every: int) -> dict[str, list[str]]:
    base = [str(CLAIMS), "--state", str(state), "--json"]
    middle = count // 2 + 1  # claim ids start at 1; record n is claim n (one command each)
    members = scenario.members_for(count)
    return {
        "status": [*base, "status", str(middle)],
        "status_record": [*base, "status", "--record", f"BENCH-{middle:06d}"],
        "member": [*base, "member", scenario.PLAN_ID, scenario.member_ids(members)[members // 2]],
        "review_list": [*base, "review", "list", scenario.PLAN_ID],
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", type=Path, required=True, help="kept between runs")
    parser.add_argument("--claims", type=int, default=100_000, help="when building the state")
    parser.add_argument("--review-every", type=int, default=REVIEW_EVERY)
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--profile", type=Path, help="write importtime and cProfile here")
    parser.add_argument("--label", default="", help="a name for this run in the report")
    parser.add_argument(
        "--before",
        metavar="CLAIMS",
        help="another installed claims (an older version's venv) to time alternately",
    )
    parser.add_argument(
        "--no-bytecode",
        action="store_true",
        help="compile the modules in every run (PYTHONDONTWRITEBYTECODE), as a dev shell may",
    )
    parser.add_argument("--out", type=Path, default=scenario.RESULTS / "cli_reads.json")
    args = parser.parse_args(argv)

    meta_path = args.state / "bench-cli-reads.json"
    if not meta_path.exists():
        log(f"building {args.claims:,} claims in {args.state}")
        meta = build_state(args.state, args.claims, args.review_every)
        meta.update(requested=args.claims, review_every=args.review_every)
        meta_path.write_text(json.dumps(meta, indent=2) + "\n")
        log(f"built: {meta}")
    meta = json.loads(meta_path.read_text())
    if args.build_only:
        return meta
    argvs = commands(args.state, meta["requested"], meta["review_every"])
    load_before = [round(x, 2) for x in os.getloadavg()]
    env = child_env(not args.no_bytecode)
    results = {name: time_command(a, args.runs, env, args.before) for name, a in argvs.items()}
    load_after = [round(x, 2) for x in os.getloadavg()]
    if args.profile:
        for name, a in argvs.items():
            profile(a, args.profile, name, env)
    report = {
        "benchmark": "cli_reads",
        "label": args.label,
        "unit": "seconds per fresh process: wall, and CPU (user + system)",
        "runs": args.runs,
        "bytecode_cached": not args.no_bytecode,
        "chain": meta,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "shared_machine": True,
        "target_seconds": TARGET_SECONDS,
        **results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"claims reads on {meta['claims']:,} claims, median of {args.runs} fresh processes "
        f"(load {load_before} -> {load_after})"
    )
    for name, entry in results.items():
        print(
            f"  {name:13s} wall {entry['wall']['median']:.3f} s  cpu {entry['cpu']['median']:.3f} s"
            f"  {entry['command']}"
        )
        if "before" in entry:
            old = entry["before"]
            print(
                f"  {'  before':13s} wall {old['wall']['median']:.3f} s"
                f"  cpu {old['cpu']['median']:.3f} s"
            )
    return report


if __name__ == "__main__":
    main()
