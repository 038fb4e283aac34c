"""Claims per second from records to paid, four ways, side by side in one run.

    python -m bench.throughput [--claims 10000] [--naive-sample 200] [--skip naive,boa,rpc]

The same records (bench/scenario.py: one-line chest X-rays, every claim paid at once)
against the same compiled contracts:

1. **naive**: web3 ``transact()`` per claim on EthereumTesterProvider (gas estimated each
   time, a receipt wait and a status call per claim). Too slow to run 10,000: a sample is
   timed and extrapolated linearly, which flatters it (eth-tester's receipt lookup grows
   with the chain).
2. **boa**: titanoboa 0.2.8 calling ``submit_claim`` once per claim, in the benchmark venv
   (bench/.venv-bench, a subprocess that prints JSON). Its time is the calls plus the same
   record preparation (pseudonyms, commitments) done here.
3. **rpc**: our engine over JSON-RPC to a local anvil, as ``claims --rpc URL submit``.
4. **embedded**: our engine on the embedded chain with its state on disk, as
   ``claims submit``.

Paths 3 and 4 start from a records file and end when every claim is paid and committed.
Writes bench/results/throughput.json. The machine may be shared: the ratios, measured in
one run, are the figures to trust; absolute times move with the load (``load_average`` is
recorded).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench import scenario
from claimsengine import compiler
from claimsengine.abi import text_to_bytes32
from claimsengine.days import to_day
from claimsengine.engine import service_abi, terms_abi
from claimsengine.privacy import member_pseudonym, record_commitment
from claimsengine.records import TreatmentRecord

BENCH_VENV = scenario.REPO / "bench" / ".venv-bench"
BOA_REQUIREMENT = "titanoboa==0.2.8"
PATHS = ("naive", "boa", "rpc", "embedded")

#: Targets for the embedded path (4).
TARGET_VS_NAIVE = 30.0
TARGET_VS_BOA = 1.0
TARGET_SECONDS = 30.0

# Fixed keys for the paths that do not use a workspace (1 and 2): what a naive
# integrator would hold. They make the same kind of pseudonyms and commitments.
_PSEUDONYM_KEY = hashlib.sha256(b"bench pseudonym key").digest()
_SALT_KEY = hashlib.sha256(b"bench salt key").digest()
#: Every bench service day is in 2027, the plan's first benefit period.
_PERIOD = 0


# -- helpers ------------------------------------------------------------------------------


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def abi_claim(record: TreatmentRecord) -> tuple[Any, ...]:
    """A record as submit_claim's ABI tuple, with a keyed pseudonym and commitment."""
    salt = hmac.new(_SALT_KEY, record.canonical_bytes(), hashlib.sha256).digest()
    return (
        record_commitment(salt, record),
        member_pseudonym(_PSEUDONYM_KEY, _PERIOD, record.member_id),
        record.service_day,
        bool(record.prior_auth),
        [(text_to_bytes32(line.code), line.units, line.billed) for line in record.lines],
    )


def enrollments(claims: int) -> list[tuple[bytes, int, int, int]]:
    start = to_day(scenario.COVERAGE_START)
    return [
        (member_pseudonym(_PSEUDONYM_KEY, _PERIOD, member_id), start, 0, _PERIOD)
        for member_id in scenario.member_ids(scenario.members_for(claims))
    ]


@contextmanager
def timed_method(obj: Any, name: str, totals: dict[str, float], key: str) -> Iterator[None]:
    """Add the time spent in ``obj.name`` to ``totals[key]`` while the block runs."""
    original = getattr(obj, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        begin = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            totals[key] = totals.get(key, 0.0) + time.perf_counter() - begin

    setattr(obj, name, wrapper)
    try:
        yield
    finally:
        delattr(obj, name)


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and its descendants (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += times.get(current, 0.0)
        todo.extend(child for child, parent in parents.items() if parent == current)
    return total


def _rate(claims: int, seconds: float) -> float:
    return round(claims / seconds, 1) if seconds > 0 else 0.0


# -- (1) naive web3 -----------------------------------------------------------------------


def run_naive(records: list[TreatmentRecord], total: int) -> dict[str, Any]:
    """web3 transact() per claim on EthereumTesterProvider, timed on ``records`` only."""
    from web3 import EthereumTesterProvider, Web3

    w3 = Web3(EthereumTesterProvider())
    insurer, hospital = w3.eth.accounts[0], w3.eth.accounts[3]
    token_art = compiler.load(compiler.DEV_TOKEN)
    engine_art = compiler.load(compiler.ENGINE)

    def deploy(art: compiler.Artifact) -> Any:
        factory = w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
        tx = factory.constructor().transact({"from": insurer})
        address = w3.eth.wait_for_transaction_receipt(tx)["contractAddress"]
        return w3.eth.contract(address=address, abi=art.abi)

    def send(call: Any, sender: str) -> Any:
        receipt = w3.eth.wait_for_transaction_receipt(call.transact({"from": sender}))
        if receipt["status"] != 1:
            raise RuntimeError("a naive transaction failed")
        return receipt

    w3.testing.timeTravel(scenario.NOW)
    token = deploy(token_art)
    engine = deploy(engine_art)
    plan = scenario.bench_plan()
    plan_id = text_to_bytes32(plan.id)
    send(engine.functions.set_insurer(insurer, True), insurer)  # the deployer owns the engine
    send(
        engine.functions.create_plan(
            plan_id, terms_abi(plan, token.address), [service_abi(s) for s in plan.services]
        ),
        insurer,
    )
    members = enrollments(len(records))
    for i in range(0, len(members), 256):
        send(engine.functions.enroll(plan_id, members[i : i + 256]), insurer)
    provider_ref = text_to_bytes32(scenario.PROVIDER_ID)
    send(engine.functions.register_provider(plan_id, provider_ref, hospital, 0), insurer)
    cents = scenario.pool_cents(len(records))
    send(token.functions.mint(insurer, cents * 10**4), insurer)
    send(token.functions.approve(engine.address, cents * 10**4), insurer)
    send(engine.functions.fund(plan_id, cents), insurer)

    per_claim: list[float] = []
    gas: list[int] = []
    cpu_begin = time.process_time()
    for record in records:
        begin = time.perf_counter()
        claim = abi_claim(record)
        receipt = send(engine.functions.submit_claim(plan_id, claim), hospital)
        state = engine.functions.claim_status(plan_id, provider_ref, claim[0]).call()
        per_claim.append(time.perf_counter() - begin)
        if state[1] != 4:
            raise RuntimeError(f"naive: claim {record.record_id} is not paid ({state})")
        gas.append(int(receipt["gasUsed"]))
    cpu = time.process_time() - cpu_begin
    measured = sum(per_claim)
    half = len(per_claim) // 2
    first, second = sum(per_claim[:half]), sum(per_claim[half:])
    return {
        "path": "naive web3 transact() per claim, EthereumTesterProvider",
        "claims_measured": len(records),
        "seconds_measured": round(measured, 3),
        "claims": total,
        "seconds": round(measured / len(records) * total, 1),
        "extrapolated": True,
        "note": (
            f"timed {len(records)} claims and extrapolated linearly to {total}; optimistic, "
            "since eth-tester's receipt lookup slows as the chain grows"
        ),
        "claims_per_s_first_half": _rate(half, first),
        "claims_per_s_second_half": _rate(len(per_claim) - half, second),
        "claims_per_s": _rate(len(records), measured),
        "cpu_seconds": round(cpu / len(records) * total, 1),
        "claims_per_cpu_s": _rate(len(records), cpu),
        "gas_per_claim": round(sum(gas) / len(gas)),
        "paid": len(records),
    }


# -- (2) titanoboa ------------------------------------------------------------------------


def ensure_bench_venv(log: Callable[[str], None]) -> Path:
    """bench/.venv-bench with titanoboa 0.2.8, created on first use (never the project venv)."""
    python = BENCH_VENV / "bin" / "python"
    if python.exists():
        check = subprocess.run(
            [str(python), "-c", "import boa"], capture_output=True, text=True, check=False
        )
        if check.returncode == 0:
            return python
    log(f"creating {BENCH_VENV} with {BOA_REQUIREMENT} (once; about 30 s)")
    subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", BOA_REQUIREMENT],
        check=True,
    )
    return python


def run_boa(records: list[TreatmentRecord], log: Callable[[str], None]) -> dict[str, Any]:
    python = ensure_bench_venv(log)
    begin = time.perf_counter()
    cpu_begin = time.process_time()
    claims = [abi_claim(record) for record in records]
    prepare_seconds = time.perf_counter() - begin
    prepare_cpu = time.process_time() - cpu_begin
    plan = scenario.bench_plan()
    engine_art = compiler.load(compiler.ENGINE)
    token_art = compiler.load(compiler.DEV_TOKEN)

    def hexed(value: Any) -> Any:
        if isinstance(value, bytes):
            return value.hex()
        if isinstance(value, list | tuple):
            return [hexed(v) for v in value]
        return value

    spec = {
        "now": scenario.NOW,
        "engine": {"abi": engine_art.abi, "bytecode": engine_art.bytecode.hex()},
        "token": {"abi": token_art.abi, "bytecode": token_art.bytecode.hex()},
        "plan_id": text_to_bytes32(plan.id).hex(),
        "terms": hexed(list(terms_abi(plan, "0x" + "00" * 20))),
        "services": [hexed(list(service_abi(s))) for s in plan.services],
        "enrollments": hexed(enrollments(len(records))),
        "provider_ref": text_to_bytes32(scenario.PROVIDER_ID).hex(),
        "pool_cents": scenario.pool_cents(len(records)),
        "token_scale": 10**4,
        "claims": [hexed(list(claim)) for claim in claims],
    }
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "boa-input.json"
        path.write_text(json.dumps(spec))
        done = subprocess.run(
            [str(python), str(scenario.REPO / "bench" / "boa_path.py"), str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"titanoboa path failed: {done.stderr.strip()[-2000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    seconds = out["seconds"] + prepare_seconds
    cpu = out["cpu_seconds"] + prepare_cpu
    gas = out["gas_sample"]
    return {
        "path": "titanoboa 0.2.8, one submit_claim call per claim",
        "claims": out["claims"],
        "seconds": round(seconds, 2),
        "seconds_calls": round(out["seconds"], 2),
        "seconds_record_preparation": round(prepare_seconds, 2),
        "claims_per_s": _rate(out["claims"], seconds),
        "cpu_seconds": round(cpu, 2),
        "claims_per_cpu_s": _rate(out["claims"], cpu),
        "gas_per_claim": round(sum(gas) / len(gas)) if gas else None,
        "gas_note": "titanoboa reads low: storage slots stay warm between its calls",
        "paid": out["paid"],
        "venv": str(BENCH_VENV.relative_to(scenario.REPO)),
    }


# -- (3) and (4): our engine ----------------------------------------------------------------


def run_engine(
    workspace: Any, records: list[TreatmentRecord], folder: Path, node_pid: int | None = None
) -> dict[str, Any]:
    """Set the plan up (not timed), then time records file -> paid claims.

    CPU time counts this process, plus the node's processes when ``node_pid`` is given.
    """
    workspace.chain.set_time(scenario.NOW)
    scenario.setup_plan(workspace, len(records))
    path = scenario.write_records(records, folder / "records.jsonl")
    totals: dict[str, float] = {}
    chain = workspace.chain
    node_cpu = tree_cpu_seconds(node_pid) if node_pid else 0.0
    cpu_begin = time.process_time()
    begin = time.perf_counter()
    with timed_method(chain, "send", totals, "send"), timed_method(chain, "call", totals, "call"):
        results, set_aside, entry = scenario.submit_file(workspace, path)
    seconds = time.perf_counter() - begin
    cpu = time.process_time() - cpu_begin
    if node_pid:
        node_cpu = tree_cpu_seconds(node_pid) - node_cpu
        cpu += node_cpu
    paid = sum(1 for r in results if r.status == "paid")
    return {
        "claims": len(records),
        "seconds": round(seconds, 2),
        "claims_per_s": _rate(len(records), seconds),
        "cpu_seconds": round(cpu, 2),
        "claims_per_cpu_s": _rate(len(records), cpu),
        "node_cpu_seconds": round(node_cpu, 2) if node_pid else None,
        "paid": paid,
        "set_aside": set_aside,
        "entry_point": entry,
        "seconds_in_send": round(totals.get("send", 0.0), 2),
        "seconds_in_call": round(totals.get("call", 0.0), 2),
        "plan_paid_cents": sum(r.totals.plan_paid for r in results),
    }


def run_rpc(records: list[TreatmentRecord]) -> dict[str, Any]:
    from claimsengine.chain.anvil import start_anvil
    from claimsengine.workspace import Workspace

    with tempfile.TemporaryDirectory() as folder, start_anvil() as node:
        workspace = Workspace.open(Path(folder) / "state", rpc=node.url)
        try:
            out = run_engine(workspace, records, Path(folder), node.process.pid)
        finally:
            workspace.close()
    out["path"] = "our engine over JSON-RPC to a local anvil"
    return out


def run_embedded(records: list[TreatmentRecord]) -> dict[str, Any]:
    from claimsengine.workspace import Workspace

    with tempfile.TemporaryDirectory() as folder:
        state = Path(folder) / "state"
        workspace = Workspace.open(state, create=True)
        try:
            out = run_engine(workspace, records, Path(folder))
        finally:
            workspace.close()
        out["state_bytes"] = sum(p.stat().st_size for p in state.rglob("*") if p.is_file())
    out["path"] = "our engine, embedded chain persisted on disk"
    return out


# -- the report ---------------------------------------------------------------------------


def compare(paths: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Path 4 against the others: ratio, target, shortfall."""
    out: dict[str, Any] = {}
    for subject in [name for name in paths if name.startswith("embedded")]:
        ours = paths[subject]
        if "claims_per_s" not in ours:
            continue
        rate = ours["claims_per_s"]
        entries: dict[str, Any] = {}
        for name, target in (("naive", TARGET_VS_NAIVE), ("boa", TARGET_VS_BOA), ("rpc", None)):
            other = paths.get(name)
            if not other or not other.get("claims_per_s"):
                entries[f"vs_{name}"] = {"ratio": None, "note": "not run"}
                continue
            value = round(rate / other["claims_per_s"], 2)
            entry: dict[str, Any] = {"ratio": value, "target": target}
            if ours.get("claims_per_cpu_s") and other.get("claims_per_cpu_s"):
                entry["ratio_cpu"] = round(ours["claims_per_cpu_s"] / other["claims_per_cpu_s"], 2)
            if target is not None:
                entry["met"] = value >= target
                if value < target:
                    entry["shortfall"] = f"{target / value:.2f}x too slow"
            entries[f"vs_{name}"] = entry
        seconds = ours["seconds"] * 10_000 / ours["claims"]
        absolute: dict[str, Any] = {
            "seconds_for_10000": round(seconds, 1),
            "target": TARGET_SECONDS,
            "met": seconds < TARGET_SECONDS,
        }
        if seconds >= TARGET_SECONDS:
            absolute["shortfall"] = f"{seconds / TARGET_SECONDS:.2f}x too slow"
        entries["absolute"] = absolute
        out[subject] = entries
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--naive-sample", type=int, default=200)
    parser.add_argument("--skip", default="", help="comma-separated: naive,boa,rpc,embedded")
    parser.add_argument("--out", type=Path, default=scenario.RESULTS / "throughput.json")
    args = parser.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}

    def log(text: str) -> None:
        print(f"[throughput] {text}", file=sys.stderr, flush=True)

    records = scenario.one_line_records(args.claims)
    runners: dict[str, Callable[[], dict[str, Any]]] = {
        "naive": lambda: run_naive(
            scenario.one_line_records(min(args.naive_sample, args.claims)), args.claims
        ),
        "boa": lambda: run_boa(records, log),
        "rpc": lambda: run_rpc(records),
        "embedded": lambda: run_embedded(records),
    }
    paths = run_paths([name for name in PATHS if name not in skip], runners, log)
    head = {
        "benchmark": "throughput",
        "claims": args.claims,
        "workload": "one-line claims (chest X-ray 71046), one provider, every claim paid",
    }
    report = write_report(args.out, head, paths, compare(paths))
    print_summary(report)
    return report


def write_report(
    out: Path, head: dict[str, Any], paths: dict[str, Any], comparison: dict[str, Any]
) -> dict[str, Any]:
    """The report as JSON in ``out``: ``head``, the machine and its load, paths, comparison."""
    machine = {"cpus": os.cpu_count(), "shared": True, "load_average": load_average()}
    report = {**head, "machine": machine, "paths": paths, "comparison": comparison}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    return report


def run_paths(
    names: list[str], runners: dict[str, Callable[[], dict[str, Any]]], log: Callable[[str], None]
) -> dict[str, dict[str, Any]]:
    """Run each path in turn; one that fails is reported, and the others still run."""
    paths: dict[str, dict[str, Any]] = {}
    for name in names:
        log(f"path {name} ... (load average {load_average()})")
        try:
            paths[name] = runners[name]()
        except Exception as error:  # one path failing must not hide the others
            paths[name] = {"error": f"{type(error).__name__}: {error}"}
        paths[name]["load_average_after"] = load_average()
        log(f"path {name}: {json.dumps(paths[name])[:300]}")
    return paths


def print_paths(report: dict[str, Any]) -> None:
    """One line per path (rate, wall, CPU), then the comparison."""
    for name, out in report["paths"].items():
        if "error" in out:
            print(f"  ({name}) FAILED: {out['error']}")
            continue
        extra = " (extrapolated from a sample)" if out.get("extrapolated") else ""
        print(
            f"  ({name}) {out['claims_per_s']:>8.1f} claims/s  {out['seconds']:>8.1f} s wall"
            f"  {out.get('cpu_seconds', 0):>8.1f} CPU s"
            f"  {out.get('claims_per_cpu_s', 0):>8.1f} claims/cpu-s{extra}"
        )
    for name, entry in report["comparison"].items():
        print(f"  {name}: {json.dumps(entry)}")


def print_summary(report: dict[str, Any]) -> None:
    print(f"throughput, {report['claims']} one-line claims, records to paid (shared machine)")
    print_paths(report)


if __name__ == "__main__":
    main()
