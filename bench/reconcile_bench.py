"""Reconciliation at scale: 100,000 claims against a 100,000-row ledger.

The chain's side is generated as the decoded events a node would return (ClaimSubmitted,
LineAdjudicated, ClaimQueued, ClaimPendingReview, ClaimReviewed, ClaimPaid and the token's
Transfer events, batches of 100 claims paid in one transfer as submit_claims does), so the
benchmark runs the same code as `claims reconcile` from the events on: grouping, events to
claims, the ledger CSV reader, the matching, and the exports. Reading the logs from a node
is left out: it is the node's speed, not ours.

Two baselines, run on the same machine in the same run:
- ``dict_join``: the least any matcher must do, a bare dict join of ledger rows to paid
  amounts with no reasons, totals or checks. ``match`` / ``dict_join`` is the price of the
  reasons, the per-provider transfer totals and the balancing checks.
- ``nested_scan``: the obvious first version, which looks each ledger row up by scanning
  the claims. Timed on a sample of rows and extrapolated to the whole ledger.

Writes bench/results/reconcile_bench.json. A benchmark prints figures; it is not a test.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from claimsengine.abi import DecodedEvent, text_to_bytes32
from claimsengine.exports.csv import report_csv
from claimsengine.exports.fhir import bundle_json
from claimsengine.exports.x12 import build_835
from claimsengine.history import group_claim_events
from claimsengine.money import format_cents
from claimsengine.reconcile import (
    PlanSettlements,
    claims_from_events,
    load_ledger,
    match,
    transfers_from_events,
)
from claimsengine.status import ClaimStatus

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
PLAN_ID = "BENCH-2027"
ENGINE = "0x" + "e0" * 20
SCALE = 10**4
BATCH = 100  # claims per submit_claims transaction
PROVIDERS = 20
T = TypeVar("T")

# Line shapes from the spec's worked examples: (code, billed, allowed, deductible, copay,
# coinsurance), plan_paid = allowed - the shares.
LINES = (
    ("99213", 18_000, 12_000, 0, 2_500, 0),  # copay example: 45: 60.00, 3: 25.00 -> 95.00
    ("X", 50_000, 30_000, 20_000, 0, 2_000),  # claim A: 45, 1, 2 -> 80.00
    ("71046", 9_500, 9_500, 0, 0, 1_900),  # 20% coinsurance -> 76.00
)


def _line_args(claim_id: int, index: int, shape: tuple[Any, ...], denial: int) -> dict[str, Any]:
    code, billed, allowed, deductible, copay, coinsurance = shape
    if denial:
        allowed = deductible = copay = coinsurance = 0
    return {
        "claim_id": claim_id,
        "line": index,
        "code": text_to_bytes32(code),
        "units": 1,
        "billed": billed,
        "allowed": allowed,
        "deductible": deductible,
        "copay": copay,
        "coinsurance": coinsurance,
        "benefit_limit": 0,
        "plan_paid": allowed - deductible - copay - coinsurance,
        "denial": denial,
    }


def generate(
    claims: int, seed: int = 2027
) -> tuple[list[DecodedEvent], list[DecodedEvent], list[dict[str, Any]]]:
    """Engine events, token Transfer events, and the facts to write a ledger from."""
    rng = random.Random(seed)
    plan = text_to_bytes32(PLAN_ID)
    accounts = [f"0x{index + 1:040x}" for index in range(PROVIDERS)]
    payees = [f"0x{index + 0x100:040x}" for index in range(PROVIDERS)]
    engine_events: list[DecodedEvent] = []
    transfer_events: list[DecodedEvent] = []
    facts: list[dict[str, Any]] = []
    claim_id = 0
    block = 0
    while claim_id < claims:
        block += 1
        provider = rng.randrange(PROVIDERS)
        tx = block.to_bytes(32, "big")
        log = 0
        batch_paid = 0
        for _ in range(min(BATCH, claims - claim_id)):
            claim_id += 1
            roll = rng.random()
            status = (
                ClaimStatus.DENIED
                if roll < 0.04
                else ClaimStatus.PENDING_REVIEW
                if roll < 0.06
                else ClaimStatus.QUEUED
                if roll < 0.10
                else ClaimStatus.PAID
            )
            shapes = [LINES[rng.randrange(len(LINES))] for _ in range(rng.randint(1, 3))]
            denial = 27 if status == ClaimStatus.DENIED else 0
            lines = [_line_args(claim_id, i, s, denial) for i, s in enumerate(shapes)]
            plan_paid = sum(line["plan_paid"] for line in lines)
            for line in lines:
                engine_events.append(DecodedEvent("LineAdjudicated", line, block, tx, log, ENGINE))
                log += 1
            engine_events.append(
                DecodedEvent(
                    "ClaimSubmitted",
                    {
                        "claim_id": claim_id,
                        "plan_id": plan,
                        "member": rng.randbytes(32),
                        "provider": accounts[provider],
                        "commitment": claim_id.to_bytes(32, "big"),
                        "service_day": 20_500 + claim_id % 150,
                        "status": int(status),
                        "plan_paid": plan_paid,
                    },
                    block,
                    tx,
                    log,
                    ENGINE,
                )
            )
            log += 1
            later = {
                ClaimStatus.PAID: "ClaimPaid",
                ClaimStatus.QUEUED: "ClaimQueued",
                ClaimStatus.PENDING_REVIEW: "ClaimPendingReview",
            }.get(status)
            if later == "ClaimPaid":
                args = {"claim_id": claim_id, "plan_id": plan, "payee": payees[provider]}
                args["amount"] = plan_paid
                batch_paid += plan_paid
            elif later == "ClaimQueued":
                args = {"claim_id": claim_id, "plan_id": plan, "position": claim_id}
                args["amount"] = plan_paid
            elif later == "ClaimPendingReview":
                args = {"claim_id": claim_id, "plan_id": plan, "plan_paid": plan_paid}
            if later:
                engine_events.append(DecodedEvent(later, args, block, tx, log, ENGINE))
                log += 1
            facts.append(
                {
                    "record_id": f"REC-{claim_id:07d}",
                    "paid": plan_paid if status == ClaimStatus.PAID else 0,
                    "plan_paid": plan_paid,
                }
            )
        if batch_paid:
            transfer_events.append(
                DecodedEvent(
                    "Transfer",
                    {"sender": ENGINE, "receiver": payees[provider], "value": batch_paid * SCALE},
                    block,
                    tx,
                    log,
                    "0x" + "70" * 20,
                )
            )
    return engine_events, transfer_events, facts


def write_ledger(path: Path, facts: list[dict[str, Any]], seed: int = 7) -> int:
    """A ledger of as many rows as claims: 1% of claims left out (not_in_ledger when paid),
    replaced by rows never submitted (not_on_chain); 5% expect more, 5% less."""
    rng = random.Random(seed)
    rows = 0
    with path.open("w", encoding="utf-8") as out:
        out.write("record_id,expected_paid\n")
        for fact in facts:
            roll = rng.random()
            if roll < 0.01:
                out.write(f"NEVER-{fact['record_id']},{format_cents(fact['plan_paid'])}\n")
            else:
                expected = fact["plan_paid"]
                if roll < 0.06:
                    expected += 500
                elif roll < 0.11:
                    expected = max(expected - 500, 0)
                out.write(f"{fact['record_id']},{format_cents(expected)}\n")
            rows += 1
    return rows


def timed(fn: Callable[[], T], repeat: int = 1) -> tuple[T, float]:
    """The result and the best wall time of ``repeat`` runs (GC off while timing)."""
    best = float("inf")
    result: Any = None
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            begin = time.perf_counter()
            result = fn()
            best = min(best, time.perf_counter() - begin)
        finally:
            gc.enable()
    return result, best


def dict_join(ledger: list[Any], paid_by_record: dict[str, int]) -> dict[str, int]:
    """Baseline: ledger rows joined to paid amounts, nothing else."""
    counts = {"matched": 0, "short_paid": 0, "over_paid": 0, "not_on_chain": 0}
    for row in ledger:
        paid = paid_by_record.get(row.record_id)
        if paid is None:
            counts["not_on_chain"] += 1
        elif paid == row.expected_paid:
            counts["matched"] += 1
        elif paid < row.expected_paid:
            counts["short_paid"] += 1
        else:
            counts["over_paid"] += 1
    return counts


def nested_scan(ledger: list[Any], claims: list[tuple[str, int]]) -> int:
    """Baseline: each row looked up by scanning the claims (the obvious first version)."""
    found = 0
    for row in ledger:
        for record_id, _paid in claims:
            if record_id == row.record_id:
                found += 1
                break
    return found


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of N for the fast stages")
    parser.add_argument("--scan-sample", type=int, default=200, help="rows for nested_scan")
    parser.add_argument(
        "--fhir-claims",
        type=int,
        default=10_000,
        help="claims in the timed FHIR export (0: none); a Bundle of 100,000 claims is ~1 GB",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "reconcile_bench.json")
    args = parser.parse_args(argv)

    def log(text: str) -> None:
        print(f"[reconcile] {text}", file=sys.stderr, flush=True)

    log(f"generating {args.claims} claims as events ...")
    engine_events, transfer_events, facts = generate(args.claims)
    stages: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        ledger_path = Path(folder) / "ledger.csv"
        rows = write_ledger(ledger_path, facts)
        ledger, stages["load_ledger"] = timed(lambda: load_ledger(ledger_path), args.repeat)

    grouped, stages["group_events"] = timed(lambda: group_claim_events(engine_events), args.repeat)
    accounts = {f"0x{index + 1:040x}": f"HOSP-{index:02d}" for index in range(PROVIDERS)}
    claims, stages["claims_from_events"] = timed(
        lambda: claims_from_events(grouped, accounts), args.repeat
    )
    payment_txs = {c.paid_tx for c in claims if c.paid_tx is not None}
    transfers, stages["transfers_from_events"] = timed(
        lambda: transfers_from_events(transfer_events, payment_txs), args.repeat
    )
    settlements = PlanSettlements(
        plan_id=PLAN_ID,
        token="0x" + "70" * 20,
        token_scale=SCALE,
        engine=ENGINE,
        today=20_700,
        claims=tuple(claims),
        transfers=tuple(transfers),
        record_ids={c.commitment: f"REC-{c.claim_id:07d}" for c in claims},
    )
    report, stages["match"] = timed(lambda: match(settlements, ledger), args.repeat)
    _, stages["report_json"] = timed(lambda: json.dumps(report.to_json()))
    _, stages["export_csv"] = timed(lambda: report_csv(report))
    _, stages["export_x12_835"] = timed(lambda: build_835(report))
    fhir_claims = min(args.fhir_claims, len(report.claims))
    fhir_megabytes: float | None = None
    if fhir_claims:
        part = dataclasses.replace(report, claims=report.claims[:fhir_claims])
        fhir_text, fhir_seconds = timed(lambda: bundle_json(part))
        stages[f"export_fhir_{fhir_claims}_claims"] = fhir_seconds
        fhir_megabytes = round(len(fhir_text) / 1e6, 1)
        del fhir_text

    paid_by_record = {
        settlements.record_ids[c.commitment]: c.paid for c in claims if c.status == "paid"
    }
    _, baseline = timed(lambda: dict_join(ledger, paid_by_record), args.repeat)
    pairs = list(paid_by_record.items())
    sample = ledger[: args.scan_sample]
    _, scan_sample_seconds = timed(lambda: nested_scan(sample, pairs))
    scan_seconds = scan_sample_seconds * len(ledger) / max(len(sample), 1)

    core = stages["group_events"] + stages["claims_from_events"]
    core += stages["transfers_from_events"] + stages["match"]
    pipeline = stages["load_ledger"] + core
    result = {
        "benchmark": "reconcile",
        "claims": args.claims,
        "ledger_rows": rows,
        "events": len(engine_events) + len(transfer_events),
        "machine": {"cpus": os.cpu_count(), "shared": True, "load_average": load_average()},
        "seconds": {name: round(value, 4) for name, value in stages.items()},
        "reconcile_seconds": round(pipeline, 3),
        "summary": report.summary,
        "fhir_claims": fhir_claims,
        "fhir_megabytes": fhir_megabytes,
        "checks_ok": report.ok,
        "baselines": {
            "dict_join_seconds": round(baseline, 4),
            "match_over_dict_join": round(stages["match"] / baseline, 2),
            "nested_scan_seconds_extrapolated": round(scan_seconds, 1),
            "nested_scan_sample_rows": len(sample),
            "nested_scan_over_match": round(scan_seconds / stages["match"], 1),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")

    print(f"reconcile: {args.claims} claims against a {rows}-row ledger (shared machine)")
    for name, value in stages.items():
        print(f"  {name:<22} {value:8.3f} s")
    print(f"  ledger + events -> report: {pipeline:.2f} s (checks ok: {report.ok})")
    base = result["baselines"]
    print(
        f"  match / dict_join baseline: {base['match_over_dict_join']}x "
        f"({stages['match']:.3f} s vs {baseline:.3f} s)"
    )
    print(
        f"  nested_scan baseline (extrapolated from {len(sample)} rows): {scan_seconds:.0f} s, "
        f"{base['nested_scan_over_match']}x slower than match"
    )
    print(f"  wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
