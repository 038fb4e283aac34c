"""`claims node` against the embedded chain: one client, and four clients at once.

    python -m bench.node_throughput [--claims 800] [--out FILE]

Three runs of the same workload (bench/scenario.py: one-line claims that each pay 76.00):
1. **embedded**: one process on the embedded chain, state on disk (the baseline);
2. **node, 1 client**: the same submission through `claims node` over JSON-RPC;
3. **node, 4 clients**: four processes, each with its own state folder set up by a key
   bundle (as hospitals would), submit a quarter each, at once, as the same provider.

Targets (issue 13): (2) at least 0.8x of (1); (3) in total at least (2). Loopback only;
the node is a child process started for the run and stopped after it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import scenario
from bench.throughput import run_embedded, run_engine
from claimsengine.records import TreatmentRecord

CLIENTS = 4
TARGET_ONE_CLIENT = 0.8


def run_node_one(records: list[TreatmentRecord]) -> dict[str, Any]:
    from claimsengine.chain.node import start_node
    from claimsengine.workspace import Workspace

    with tempfile.TemporaryDirectory() as folder, start_node(Path(folder) / "node") as node:
        workspace = Workspace.open(Path(folder) / "state", rpc=node.url)
        try:
            out = run_engine(workspace, records, Path(folder), node.process.pid)
        finally:
            workspace.close()
    out["path"] = "our engine over JSON-RPC to claims node, one client"
    return out


def run_node_many(records: list[TreatmentRecord]) -> dict[str, Any]:
    from claimsengine.chain.node import start_node
    from claimsengine.handover import export_bundle, import_bundle, public_key_for
    from claimsengine.workspace import Workspace

    with tempfile.TemporaryDirectory() as folder, start_node(Path(folder) / "node") as node:
        root = Path(folder)
        with Workspace.open(root / "insurer", rpc=node.url) as insurer:
            insurer.chain.set_time(scenario.NOW)
            scenario.setup_plan(insurer, len(records))
            account = insurer.chain.address_of(scenario.PROVIDER_ACCOUNT)
            bundle = export_bundle(
                insurer, scenario.PLAN_ID, public_key_for(insurer.chain, account)
            )
        from claimsengine.chain.embedded import dev_private_keys

        commands = []
        for n in range(CLIENTS):
            state = root / f"desk-{n}"
            with Workspace.open(state, rpc=node.url) as desk:
                import_bundle(desk, bundle, dev_private_keys()[account], source=root / "bundle")
            part = scenario.write_records(records[n::CLIENTS], root / f"records-{n}.jsonl")
            commands.append(
                [
                    sys.executable,
                    "-m",
                    "bench.node_throughput",
                    "--client",
                    str(state),
                    node.url,
                    str(part),
                ]
            )
        begin = time.perf_counter()
        clients = [
            subprocess.Popen(c, cwd=scenario.REPO, stdout=subprocess.PIPE, text=True)
            for c in commands
        ]
        outputs = [json.loads(c.communicate()[0]) for c in clients]
        seconds = time.perf_counter() - begin
        with Workspace.open(root / "insurer", rpc=node.url) as insurer:
            provider = insurer.chain.address_of(scenario.PROVIDER_ACCOUNT)
            provider_tokens = insurer.dev_token.balance_of(provider)
    paid = sum(o["paid"] for o in outputs)
    # From the first client's first submission to the last one's end: the processes' own
    # start-up (about 2 s of imports each, on 2 cores) is reported apart.
    submitting = max(o["ended"] for o in outputs) - min(o["started"] for o in outputs)
    return {
        "path": f"our engine over JSON-RPC to claims node, {CLIENTS} clients at once",
        "claims": len(records),
        "seconds": round(submitting, 2),
        "claims_per_s": round(len(records) / submitting, 1),
        "seconds_with_process_start": round(seconds, 2),
        "paid": paid,
        "clients": outputs,
        "provider_token_units": provider_tokens,
    }


def client(state: Path, url: str, records: Path) -> None:
    """One desk: submit its records file, print what landed (JSON)."""
    from claimsengine.workspace import Workspace

    with Workspace.open(state, rpc=url) as workspace:
        started = time.time()  # wall clock: comparable across the clients
        results, set_aside, _ = scenario.submit_file(workspace, records)
        ended = time.time()
    out = {
        "started": started,
        "ended": ended,
        "claims": len(results),
        "paid": sum(1 for r in results if r.status == "paid"),
        "set_aside": set_aside,
        "seconds": round(ended - started, 2),
        "plan_paid_cents": sum(r.totals.plan_paid for r in results),
    }
    print(json.dumps(out))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=800)
    parser.add_argument("--out", type=Path, default=scenario.RESULTS / "node_throughput.json")
    parser.add_argument("--client", nargs=3, metavar=("STATE", "URL", "RECORDS"))
    args = parser.parse_args(argv)
    if args.client:
        client(Path(args.client[0]), args.client[1], Path(args.client[2]))
        return {}
    records = scenario.one_line_records(args.claims)
    embedded = run_embedded(records)
    one = run_node_one(records)
    many = run_node_many(records)
    report = {
        "embedded": embedded,
        "node_one_client": one,
        "node_many_clients": many,
        "ratio_one_client_vs_embedded": round(one["claims_per_s"] / embedded["claims_per_s"], 2),
        "target_one_client_vs_embedded": TARGET_ONE_CLIENT,
        "ratio_many_vs_one_client": round(many["claims_per_s"] / one["claims_per_s"], 2),
        "target_many_vs_one_client": 1.0,
        # Every claim pays 76.00 (bench/scenario.py): the provider gets exactly that much.
        "all_paid_once": many["paid"] == len(records)
        and many["provider_token_units"] // 10**4 == len(records) * scenario.PAID_PER_CLAIM,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    for name in ("embedded", "node_one_client", "node_many_clients"):
        print(f"{name:>18}: {report[name]['claims_per_s']:>7} claims/s")
    print(
        f"node/embedded {report['ratio_one_client_vs_embedded']} (target >= {TARGET_ONE_CLIENT}); "
        f"{CLIENTS} clients/1 client {report['ratio_many_vs_one_client']} (target >= 1.0); "
        f"all paid once: {report['all_paid_once']}"
    )
    return report


if __name__ == "__main__":
    main()
