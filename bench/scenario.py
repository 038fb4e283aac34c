"""The workload every throughput benchmark runs: one plan, many members, one-line claims.

All paths (naive web3, titanoboa, our engine over JSON-RPC and embedded) run these same
records against the same compiled contracts, so their figures compare like for like.

The plan is fixtures/plans/silver.yaml with no deductible, so that every claim pays the
provider something (76.00 of a 95.00 chest X-ray after 20% coinsurance) and goes from
record to *paid* in its submission transaction. Each member has at most one claim per day,
so no claim trips the duplicate-line rule.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from claimsengine.days import to_day
from claimsengine.members import Member
from claimsengine.plan import Plan, load_plan
from claimsengine.records import RecordLine, TreatmentRecord, canonical_json
from claimsengine.results import ClaimResult
from claimsengine.sdk import HospitalClient, InsurerClient
from claimsengine.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
SILVER = REPO / "fixtures" / "plans" / "silver.yaml"

PLAN_ID = "BENCH-2027"
PROVIDER_ID = "HOSP-A"
PROVIDER_ACCOUNT = "hospital-1"
CODE = "71046"  # chest X-ray: 95.00, no unit limits, no prior auth
BILLED = 9_500
#: Each claim pays 76.00: 95.00 less 20% coinsurance, no deductible.
PAID_PER_CLAIM = 7_600
COVERAGE_START = date(2027, 1, 1)
FIRST_SERVICE = date(2027, 2, 1)  # after the 30-day waiting period
#: Claims per member: 10 chest X-rays stay far below the out-of-pocket maximum, so every
#: claim pays the same 76.00.
CLAIMS_PER_MEMBER = 10
#: The chain's clock during the run: noon on the last day of 2027.
NOW = to_day(date(2027, 12, 31)) * 86_400 + 43_200


def bench_plan() -> Plan:
    """silver.yaml under its own id, with no deductible (every claim pays out)."""
    return dataclasses.replace(load_plan(SILVER), id=PLAN_ID, deductible=0)


def member_ids(count: int) -> list[str]:
    return [f"B-{n:06d}" for n in range(1, count + 1)]


def members(count: int) -> list[Member]:
    return [Member(member_id, COVERAGE_START, None) for member_id in member_ids(count)]


def members_for(claims: int) -> int:
    """Members for `claims` claims, CLAIMS_PER_MEMBER each (on different days)."""
    return max(1, -(-claims // CLAIMS_PER_MEMBER))


def one_line_records(count: int) -> list[TreatmentRecord]:
    """`count` one-line records: member n's k-th claim is on day k (never two a day)."""
    ids = member_ids(members_for(count))
    records = []
    for n in range(count):
        member = ids[n % len(ids)]
        day = FIRST_SERVICE + timedelta(days=n // len(ids))
        records.append(
            TreatmentRecord(
                record_id=f"BENCH-{n + 1:06d}",
                plan_id=PLAN_ID,
                member_id=member,
                provider_id=PROVIDER_ID,
                service_date=day,
                prior_auth=None,
                diagnoses=("R07.9",),
                lines=(RecordLine(CODE, 1, BILLED),),
            )
        )
    return records


def pool_cents(claims: int) -> int:
    """What the pool needs so that no claim waits in the queue (with room to spare)."""
    return claims * BILLED + 100_000


def summary(values: Iterable[float]) -> dict[str, Any]:
    ordered = sorted(values)
    if not ordered:
        return {"n": 0}
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return {
        "n": len(ordered),
        "median": round(median, 4),
        "min": round(ordered[0], 4),
        "max": round(ordered[-1], 4),
    }


def setup_plan(workspace: Workspace, claims: int) -> None:
    """Engine, plan, members, provider and a funded pool, through the SDK (not timed)."""
    insurer = InsurerClient(workspace, "insurer")
    with workspace.command():
        workspace.setup()
        insurer.deploy(bench_plan())
        insurer.enroll(PLAN_ID, members(members_for(claims)))
        insurer.add_provider(PLAN_ID, PROVIDER_ID, PROVIDER_ACCOUNT)
        insurer.fund(PLAN_ID, pool_cents(claims))


def write_records(records: Iterable[TreatmentRecord], path: Path) -> Path:
    """The records as a JSON Lines file, as a hospital would hand them over."""
    with path.open("wb") as handle:
        for record in records:
            handle.write(canonical_json(record.to_json()) + b"\n")
    return path


def submit_file(workspace: Workspace, path: Path) -> tuple[list[ClaimResult], int, str]:
    """Submit a records file the way `claims submit` does.

    Uses ``orchestrator.submit_paths`` when the project has it (load, check, quarantine,
    submit in atomic chunks), else loads the file and calls ``HospitalClient.submit_many``
    in one command. Returns the results, how many records were set aside, and which entry
    point ran.
    """
    try:
        from claimsengine.orchestrator import submit_paths
    except ImportError:
        submit_paths = None  # type: ignore[assignment]
    if submit_paths is not None:
        report = submit_paths(workspace, [path])
        return list(report.results), len(report.set_aside), "orchestrator.submit_paths"
    from claimsengine.records import load_paths

    loaded = load_paths([path])
    with workspace.command():
        outcomes = HospitalClient(workspace).submit_many([s.record for s in loaded.records])
    results = [o.result for o in outcomes if o.result is not None]
    set_aside = len(loaded.rejected) + sum(1 for o in outcomes if o.error is not None)
    return results, set_aside, "sdk.HospitalClient.submit_many"
