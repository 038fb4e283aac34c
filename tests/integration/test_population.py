"""Generated populations: reproducible from the seed, run end to end, counts that add up.

Small sizes, and quarterly submission rounds instead of weekly ones, so that a run takes a
few seconds on the embedded chain.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

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
