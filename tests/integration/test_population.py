"""Generated populations: reproducible from the seed, run end to end, counts that add up.

Small sizes, and quarterly submission rounds instead of weekly ones, so that a run takes a
few seconds on the embedded chain.
"""

from __future__ import annotations

import struct
from datetime import date
from pathlib import Path

import pytest

from claimsengine.adjudication import ClaimInput, ClaimLineInput, Ledger, adjudicate
from claimsengine.adjudication import Enrollment as OracleEnrollment
from claimsengine.days import to_day
from claimsengine.money import format_cents, parse_amount
from claimsengine.population import (
    PLAN_ID,
    PopulationReport,
    generate_population,
    run_population,
)
from claimsengine.records import load_json_text

MEMBERS = 12
CLAIMS = 60
SEED = 2027
ROUND_DAYS = 91


@pytest.fixture(scope="module")
def steps() -> list[int]:
    """What the first run passed to its ``advance`` callback, round by round."""
    return []


@pytest.fixture(scope="module")
def two_runs(
    tmp_path_factory: pytest.TempPathFactory, steps: list[int]
) -> tuple[PopulationReport, ...]:
    """The same seed, run twice on two fresh embedded chains."""
    reports = []
    for name in ("first", "second"):
        folder = tmp_path_factory.mktemp(name)
        population = generate_population(MEMBERS, CLAIMS, SEED)
        reports.append(
            run_population(
                population,
                state_dir=folder / "state",
                out_dir=folder / "out",
                round_days=ROUND_DAYS,
                advance=steps.append if name == "first" else None,
            )
        )
    return tuple(reports)


def test_the_same_seed_generates_the_same_population() -> None:
    first = generate_population(MEMBERS, CLAIMS, SEED)
    second = generate_population(MEMBERS, CLAIMS, SEED)
    assert first.records == second.records
    assert first.members == second.members
    assert first.send_days == second.send_days
    assert first.fingerprint() == second.fingerprint()


def test_another_seed_generates_another_population() -> None:
    first = generate_population(MEMBERS, CLAIMS, SEED)
    other = generate_population(MEMBERS, CLAIMS, SEED + 1)
    assert first.fingerprint() != other.fingerprint()
    assert first.records != other.records


def test_a_population_has_the_asked_size_and_a_realistic_mix() -> None:
    population = generate_population(200, 2000, SEED)
    assert len(population.records) == 2000
    assert len(population.members) == 200
    assert len({p.provider_id for p in population.providers}) >= 2
    kinds = population.kind_counts()
    assert kinds["office_visit"] > kinds["xray"] > kinds["knee_replacement"] > 0
    for bad in ("bad_amount", "negative_amount", "zero_units", "unknown_member"):
        assert kinds.get(bad, 0) > 0, bad
    assert kinds.get("exact_copy", 0) > 0
    assert kinds.get("conflicting_copy", 0) > 0
    # Some members start or stop during the year.
    assert any(m.coverage_end is not None for m in population.members)
    assert any(m.coverage_start.year == 2027 for m in population.members)


def test_generate_refuses_an_empty_population() -> None:
    with pytest.raises(ValueError):
        generate_population(0, 10, SEED)
    with pytest.raises(ValueError):
        generate_population(10, 0, SEED)


def test_the_same_seed_gives_the_same_results(two_runs: tuple[PopulationReport, ...]) -> None:
    first, second = two_runs
    assert first.fingerprint == second.fingerprint
    assert first.results == second.results
    assert first.status_at_submission == second.status_at_submission
    assert first.final_status == second.final_status
    assert first.line_denials == second.line_denials
    assert first.reviews == second.reviews
    assert first.total_paid == second.total_paid
    assert first.total_funded == second.total_funded
    assert first.paid_per_day == second.paid_per_day
    assert [(s.day, s.step, s.balance) for s in first.pool] == [
        (s.day, s.step, s.balance) for s in second.pool
    ]
    assert first.reconciliation.get("summary") == second.reconciliation.get("summary")


def test_the_counts_add_up(two_runs: tuple[PopulationReport, ...]) -> None:
    report = two_runs[0]
    assert report.check() == []
    assert report.generated == CLAIMS
    assert (
        report.set_aside + report.repeated + report.submitted + report.already_submitted == CLAIMS
    )
    assert report.set_aside >= 1  # the generator always slips in some bad input
    assert sum(report.status_at_submission.values()) == report.submitted
    assert sum(report.final_status.values()) == report.submitted
    assert sum(report.set_aside_reasons.values()) == report.set_aside
    assert sum(report.paid_per_day.values()) == report.total_paid
    assert report.total_paid <= report.total_funded
    assert report.submit_seconds > 0 and report.claims_per_second > 0
    assert report.gas_per_claim is not None and report.gas_per_claim > 0


def test_the_report_json_is_complete(two_runs: tuple[PopulationReport, ...]) -> None:
    data = two_runs[0].to_json()
    for key in (
        "records",
        "status_at_submission",
        "final_status",
        "denials",
        "total_paid",
        "throughput",
        "gas_per_claim",
        "pool",
        "paid_per_day",
        "reconciliation",
        "chart",
    ):
        assert key in data, key
    assert data["checks"] == []
    reconciliation = data["reconciliation"]
    if reconciliation.get("available"):
        assert reconciliation["ok"] is True
        assert sum(reconciliation["summary"].values()) > 0
    else:
        assert "not" in reconciliation["reason"]
    written = Path(data["chart"]).parent / "report.json"
    assert load_json_text(written.read_text())["seed"] == SEED


def test_throughput_is_stated_for_the_whole_run_and_for_submission(
    two_runs: tuple[PopulationReport, ...],
) -> None:
    report = two_runs[0]
    throughput = report.to_json()["throughput"]
    # The whole run (set-up, rounds, reviews, settlement, reconciliation) takes longer
    # than its submissions, so its rate is the lower one.
    assert report.wall_seconds > report.submit_seconds > 0
    assert throughput["claims_per_second"] == round(report.submitted / report.wall_seconds, 1)
    assert throughput["wall_seconds"] == round(report.wall_seconds, 2)
    assert throughput["submit_claims_per_second"] == round(
        report.submitted / report.submit_seconds, 1
    )
    assert throughput["submit_seconds"] == round(report.submit_seconds, 2)
    assert report.claims_per_second < report.submit_claims_per_second


def test_progress_advances_once_a_round_up_to_every_record_generated(
    two_runs: tuple[PopulationReport, ...], steps: list[int]
) -> None:
    # Quarterly rounds over a plan year: at most five of them (the last one may be cut at
    # the year's end), each advancing by the records it took; together, all of them.
    assert 1 < len(steps) <= 5 and all(step > 0 for step in steps)
    assert sum(steps) == two_runs[0].generated == CLAIMS


def test_the_chart_is_a_valid_png(two_runs: tuple[PopulationReport, ...]) -> None:
    report = two_runs[0]
    assert report.chart is not None
    data = Path(report.chart).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    width, height = struct.unpack(">II", data[16:24])
    assert width > 100 and height > 100
    assert data[-8:-4] == b"IEND"


def test_results_name_generated_records(two_runs: tuple[PopulationReport, ...]) -> None:
    population = generate_population(MEMBERS, CLAIMS, SEED)
    generated = {str(record["record_id"]) for record in population.records}
    assert set(two_runs[0].results) <= generated
    assert len(two_runs[0].results) == two_runs[0].submitted
    assert all(result["plan_id"] == PLAN_ID for result in two_runs[0].results.values())


def test_the_run_crosses_a_benefit_period_boundary_and_renews(
    two_runs: tuple[PopulationReport, ...],
) -> None:
    """The timeline runs two months into the plan's second benefit period (2028-01-01 on,
    365 days from 2027-01-01). The rounds here are 91 days apart, so the rounds fall on
    2027-12-30 (period 0) and 2028-02-29 (period 1): every record of period 1 is sent in
    that last round, which is the first round of period 1, so the insurer renews then."""
    report = two_runs[0]
    population = generate_population(MEMBERS, CLAIMS, SEED)
    # Renewing on 2028-02-29 enrols period 2 (from 2028-12-31 = 2027-01-01 + 730 days; set-up
    # enrolled periods 0 and 1). Every member with open-ended coverage is still covered in
    # it (all coverage starts in 2026 or 2027), one pseudonym each; a member whose coverage
    # ended (always in 2027) is not renewed.
    open_ended = sum(1 for member in population.members if member.coverage_end is None)
    assert report.renewals == [
        {
            "plan_id": PLAN_ID,
            "period": 2,
            "period_start": "2028-12-31",
            "renewed": open_ended,
            "ended": MEMBERS - open_ended,
            "not_started": 0,
            "enrolments": open_ended,
        }
    ]
    boundary = to_day(date(2028, 1, 1))
    records = {str(r["record_id"]): r for r in population.records}
    days = {rid: to_day(date.fromisoformat(records[rid]["service_date"])) for rid in report.results}
    before = [rid for rid, day in days.items() if day < boundary]
    after = [rid for rid, day in days.items() if day >= boundary]
    assert any(report.results[rid]["status"] == "paid" for rid in before)
    assert any(report.results[rid]["status"] == "paid" for rid in after)
    assert not any("31" in line for r in report.results.values() for line in r["reasons"])


def test_claims_of_the_new_period_are_priced_from_zero_as_the_oracle_says(
    two_runs: tuple[PopulationReport, ...],
) -> None:
    """Period 1's claims, replayed through the oracle (claimsengine.adjudication) on a fresh
    ledger (accumulators at zero) in the order they were sent in the last round (provider
    files in name order, records in order), get the status and plan_paid the chain gave.
    Period 0's claims do not count toward period 1, so they are left out of the replay."""
    report = two_runs[0]
    population = generate_population(MEMBERS, CLAIMS, SEED)
    plan = population.plan
    boundary = to_day(date(2028, 1, 1))
    ledger = Ledger()
    for member in population.members:
        end = member.coverage_end
        ledger.enroll(
            member.member_id,
            # Only period 1's claims are replayed: the member's period-1 pseudonym.
            OracleEnrollment(to_day(member.coverage_start), to_day(end) if end else None, 1),
        )
    order = sorted(
        range(len(population.records)),
        key=lambda i: (str(population.records[i]["provider_id"]), i),
    )
    seen: set[str] = set()
    replayed = 0
    for index in order:
        record = population.records[index]
        record_id = str(record["record_id"])
        service_day = to_day(date.fromisoformat(record["service_date"]))
        if record_id in seen or record_id not in report.results or service_day < boundary:
            continue
        seen.add(record_id)
        assert population.send_days[index] >= boundary  # sent in the last round
        claim = ClaimInput(
            member=str(record["member_id"]),
            provider=str(record["provider_id"]),
            service_day=service_day,
            prior_auth=record["prior_auth"] is not None,
            lines=tuple(
                ClaimLineInput(
                    line["code"], int(line["units"]), parse_amount(line["billed"], field="billed")
                )
                for line in record["lines"]
            ),
        )
        decided = adjudicate(plan, ledger, claim, today=to_day(date(2028, 2, 29)))
        result = report.results[record_id]
        expected = {"approved": ("paid", "queued")}.get(decided.status, (decided.status,))
        assert result["status"] in expected, record_id
        assert result["plan_paid"] == format_cents(decided.plan_paid), record_id
        replayed += 1
    assert replayed >= 3
