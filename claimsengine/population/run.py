"""Running a population: a year of weekly rounds on a chain, and what came of it.

Each round moves the clock (renewing the plan on the first round of a new benefit
period), submits the records due (as ``claims submit`` does, through the
orchestrator), works the review queue, and tops the pool up and settles when claims wait.
At the end, every hospital reconciles its ledger with ``reconcile``.
"""

from __future__ import annotations

import bisect
import csv
import json
import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from claimsengine.days import from_day, to_day
from claimsengine.engine import PoolState
from claimsengine.history import plan_claim_events
from claimsengine.money import format_cents
from claimsengine.onboarding import PlanOnboarding, ProviderEntry, onboard
from claimsengine.orchestrator import MemberCheck, submit_paths
from claimsengine.periods import BenefitPeriods
from claimsengine.population.generate import PLAN_ID, RUN_END, YEAR_START, Population
from claimsengine.population.report import PoolSample, PopulationReport, write_chart
from claimsengine.reconcile import claim_status, reconcile
from claimsengine.results import ClaimResult
from claimsengine.sdk import AdjudicatorClient, InsurerClient, settle
from claimsengine.status import STATUSES
from claimsengine.workspace import Workspace

#: Submission rounds: one a week.
ROUND_DAYS = 7
#: Share of pending claims the adjudicator denies.
REVIEW_DENIAL_RATE = 0.2


def run_population(
    population: Population,
    *,
    state_dir: Path | str | None = None,
    rpc: str | None = None,
    out_dir: Path | str | None = None,
    chart: bool = True,
    initial_funding_share: float = 0.05,
    round_days: int = ROUND_DAYS,
    advance: Callable[[int], None] | None = None,
) -> PopulationReport:
    """Run a population end to end and report on it (see the package docstring).

    ``state_dir`` keeps the embedded chain there (default: a temporary folder, on disk);
    ``rpc`` runs against a node instead. Record files, quarantine, ledgers, report.json and
    the chart go to ``out_dir`` (default: a new temporary folder, left in place).
    ``round_days`` is the time between submission rounds (a week; tests use longer ones).
    ``advance(n)`` is called after each round with the number of records it took, so the
    calls add up to the records generated (a progress bar's step).
    """
    began = time.perf_counter()
    out = Path(out_dir) if out_dir is not None else Path(tempfile.mkdtemp(prefix="population-"))
    out.mkdir(parents=True, exist_ok=True)
    report = PopulationReport(
        seed=population.seed,
        fingerprint=population.fingerprint(),
        backend="rpc" if rpc else "embedded",
        entry_point="orchestrator",
        generated=len(population.records),
        kinds=population.kind_counts(),
    )
    rounds = _rounds(population, round_days)
    expected = _expected_outflow(population)
    state = Path(state_dir) if state_dir is not None else None
    with _workspace(state, rpc) as workspace:
        year = _Year(workspace, population, report, out)
        year.set_up(first_funding=max(100_000, int(expected * initial_funding_share)))
        weekly_budget = max(100_000, expected // max(1, len(rounds)))
        for number, (day, indexes) in enumerate(rounds, start=1):
            year.play_round(number, day, indexes, weekly_budget)
            if advance is not None:
                advance(len(indexes))
        year.close_books()
    report.wall_seconds = time.perf_counter() - began
    if chart:
        report.chart = str(write_chart(report, out / "population.png"))
    (out / "report.json").write_text(json.dumps(report.to_json(), indent=2) + "\n")
    return report


@contextmanager
def _workspace(state_dir: Path | None, rpc: str | None) -> Iterator[Workspace]:
    """The workspace kept in ``state_dir``, or a temporary one (its chain on disk)."""
    if state_dir is None:
        with Workspace.ephemeral(rpc=rpc, in_memory=False, prefix="population-") as workspace:
            yield workspace
        return
    with Workspace.open(state_dir, rpc=rpc, create=rpc is None) as workspace:
        yield workspace


class _Year:
    """One run's parties and running totals, round by round."""

    def __init__(
        self, workspace: Workspace, population: Population, report: PopulationReport, out: Path
    ) -> None:
        self.workspace = workspace
        self.population = population
        self.report = report
        self.out = out
        self.insurer = InsurerClient(workspace, "insurer")
        self.adjudicator = AdjudicatorClient(workspace, "adjudicator")
        # Every round's files share one check: each member is read once per period.
        self.members = MemberCheck(workspace)
        self.submitted: dict[str, ClaimResult] = {}
        self.submission_txs: set[str] = set()
        self.paid_blocks: list[tuple[int, int]] = []  # (first block of a round, its day)
        self.periods: BenefitPeriods | None = None  # the plan's, once it is on the chain
        self.period = 0  # the benefit period of the latest round

    def sample(self, day: int, step: str, pool: PoolState | None = None) -> None:
        pool = pool if pool is not None else self.insurer.pool(PLAN_ID)
        self.report.pool.append(PoolSample(day, step, pool.balance, pool.reserved, pool.queued))

    def set_up(self, first_funding: int) -> None:
        """Engine, plan, members, providers and adjudicator; then the first funding."""
        workspace = self.workspace
        chain = workspace.chain
        chain.set_time(to_day(YEAR_START) * 86_400 + 3_600)
        with workspace.command():
            workspace.setup()
        providers = [ProviderEntry(p.provider_id, p.account) for p in self.population.providers]
        onboarding = PlanOnboarding(
            plan=self.population.plan, members=self.population.members, providers=providers
        )
        onboard(workspace, onboarding)
        self.periods = workspace.periods(PLAN_ID)
        self.sample(chain.now() // 86_400, "start")
        with workspace.command():
            self.insurer.fund(PLAN_ID, first_funding)
        self.report.total_funded += first_funding

    def play_round(self, number: int, day: int, indexes: Sequence[int], budget: int) -> None:
        """Move the clock to the round's day, submit its records, review, top up."""
        chain = self.workspace.chain
        timestamp = day * 86_400 + 43_200
        if timestamp > chain.now():
            chain.set_time(timestamp)
        self.renew(day)
        self.paid_blocks.append((chain.block_number() + 1, day))
        folder = self.out / "records" / f"round-{number:03d}-{from_day(day).isoformat()}"
        _write_round(self.population, indexes, folder)
        self.submit(folder)
        self.sample(day, "submitted")
        self.review()
        self.sample(day, "reviewed")
        self.top_up(day, budget)

    def renew(self, day: int) -> None:
        """On the first round of a new benefit period, the insurer renews the plan: the
        period after this one is enrolled for the members still covered (set-up enrolled
        the first two)."""
        assert self.periods is not None
        period = self.periods.of(day)
        if period == self.period:
            return
        self.period = period
        with self.workspace.command():
            renewed = self.insurer.renew(PLAN_ID)
        self.report.renewals.append(renewed.to_json())

    def submit(self, folder: Path) -> None:
        """Submit every record file of the round, as ``claims submit`` does, and count."""
        report = self.report
        begin = time.perf_counter()
        submitted = submit_paths(
            self.workspace,
            [folder],
            quarantine_dir=self.out / "quarantine",
            members=self.members,
        )
        report.submit_seconds += time.perf_counter() - begin
        report.set_aside += len(submitted.set_aside)
        for entry_aside in submitted.set_aside:
            reason = _reason(entry_aside)
            report.set_aside_reasons[reason] = report.set_aside_reasons.get(reason, 0) + 1
        report.repeated += submitted.repeated
        for claim in submitted.claims:
            result: ClaimResult = claim.result
            if claim.already_submitted:
                report.already_submitted += 1
                continue
            report.submitted += 1
            self.submitted[result.record_id or str(result.claim_id)] = result
            self.submission_txs.add(result.transactions["submitted"])

    def review(self) -> None:
        """The adjudicator works the review queue; the decision is drawn per record."""
        for pending in self.adjudicator.queue(PLAN_ID):
            seed = f"{self.population.seed}:{pending.record_id}:{pending.claim_id}"
            approve = random.Random(seed).random() >= REVIEW_DENIAL_RATE
            with self.workspace.command():
                if approve:
                    self.adjudicator.approve(pending.claim_id)
                else:
                    self.adjudicator.deny(pending.claim_id)
            key = "approved" if approve else "denied"
            self.report.reviews[key] = self.report.reviews.get(key, 0) + 1

    def top_up(self, day: int, budget: int) -> None:
        """Top up when claims wait or the pool runs low (a lean insurer: a week's budget at
        a time, so that claims do queue now and then), then settle the queue."""
        pool = self.insurer.pool(PLAN_ID)
        if not (pool.queued or pool.free < budget // 4):
            return
        amount = budget + max(0, pool.reserved - pool.balance)
        with self.workspace.command():
            self.insurer.fund(PLAN_ID, amount)
        self.report.total_funded += amount
        pool = self.insurer.pool(PLAN_ID)
        while pool.queued and pool.free >= 0:
            with self.workspace.command():
                paid, pool = settle(self.workspace, PLAN_ID, "insurer")
            if not paid:
                break
        self.sample(day, "funded", pool)

    def close_books(self) -> None:
        """Statuses, payments and gas from the chain; then every hospital reconciles."""
        report = self.report
        chain = self.workspace.chain
        _collect(self.workspace, report, self.submitted, self.paid_blocks)
        report.transactions = len(self.submission_txs)
        gas = sum(chain.receipt(bytes.fromhex(tx[2:])).gas_used for tx in self.submission_txs)
        report.gas_per_claim = gas / report.submitted if report.submitted else None
        report.reconciliation = _reconcile(
            self.workspace, self.population, self.submitted, self.out
        )


def _rounds(population: Population, every: int = ROUND_DAYS) -> list[tuple[int, list[int]]]:
    """(round day, record indexes due by then), for the rounds that have records."""
    start = to_day(YEAR_START) + every - 1
    due: dict[int, list[int]] = {}
    for index, day in enumerate(population.send_days):
        round_day = start + max(0, -(-(day - start) // every)) * every
        due.setdefault(min(round_day, to_day(RUN_END)), []).append(index)
    return sorted(due.items())


def _reason(error: Any) -> str:
    """A short, stable label for why a record was set aside."""
    text = str(getattr(error, "error", error))
    for label, needle in (
        ("amount", "amount"),
        ("units", "units"),
        ("unknown member", "not enrolled"),
        ("record id reused", "record_id"),
        ("service date", "service date"),
    ):
        if needle in text:
            return label
    return "other"


def _expected_outflow(population: Population) -> int:
    """A rough estimate of what routine claims cost the plan over the year: the insurer's
    budget. Claims that go to review (above the auto-approve limit) are left out, so when
    one is approved the pool is often short and it queues until the next top-up."""
    total = 0
    for record, kind in zip(population.records, population.kinds, strict=True):
        if kind in ("exact_copy", "conflicting_copy", "not_covered") or kind.startswith(
            ("bad_", "negative_", "zero_", "unknown_")
        ):
            continue
        cost = 0
        for line in record["lines"]:
            service = population.plan.service(line["code"])
            if service is not None:
                cost += service.fee * int(line["units"]) * 6 // 10
        if cost <= population.plan.auto_approve_limit:
            total += cost
    return total


def _write_round(population: Population, indexes: Sequence[int], folder: Path) -> None:
    """The round's records as one JSON Lines file per provider, as hospitals send them."""
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, list[bytes]] = {}
    for index in indexes:
        record = population.records[index]
        files.setdefault(str(record["provider_id"]), []).append(
            json.dumps(record, separators=(",", ":")).encode()
        )
    for provider_id, lines in sorted(files.items()):
        (folder / f"{provider_id}.jsonl").write_bytes(b"\n".join(lines) + b"\n")


def _collect(
    workspace: Workspace,
    report: PopulationReport,
    submitted: Mapping[str, ClaimResult],
    paid_blocks: Sequence[tuple[int, int]],
) -> None:
    """Statuses, denial reasons and payments, from the results and the chain's events."""
    report.status_at_submission = dict.fromkeys(STATUSES, 0)
    for result in submitted.values():
        report.status_at_submission[result.status] += 1
        if result.status == "denied" and result.lines:
            first = result.lines[0].reasons[0] if result.lines[0].reasons else "?"
            if all(line.denied for line in result.lines):
                report.claim_denials[first] = report.claim_denials.get(first, 0) + 1
        for line in result.lines:
            if line.denied:
                code = line.reasons[0] if line.reasons else "?"
                report.line_denials[code] = report.line_denials.get(code, 0) + 1
    report.line_denials = dict(sorted(report.line_denials.items()))
    report.claim_denials = dict(sorted(report.claim_denials.items()))

    grouped = plan_claim_events(workspace.engine, PLAN_ID)
    report.final_status = dict.fromkeys(STATUSES, 0)
    starts = [block for block, _ in paid_blocks]
    for events in grouped.values():
        report.final_status[claim_status(events)] += 1
        paid = events.paid_event
        if paid is None:
            continue
        amount = int(paid.args["amount"])
        report.total_paid += amount
        position = max(0, bisect.bisect_right(starts, paid.block_number) - 1)
        day = paid_blocks[position][1] if paid_blocks else 0
        report.paid_per_day[day] = report.paid_per_day.get(day, 0) + amount
    report.results = {
        record_id: {
            "claim_id": result.claim_id,
            "plan_id": result.plan_id,
            "status": result.status,
            "plan_paid": format_cents(result.totals.plan_paid),
            "reasons": [list(line.reasons) for line in result.lines],
        }
        for record_id, result in sorted(submitted.items())
    }


def _reconcile(
    workspace: Workspace,
    population: Population,
    submitted: Mapping[str, ClaimResult],
    out: Path,
) -> dict[str, Any]:
    """Each hospital's ledger against the chain, with ``reconcile.reconcile``.

    The ledgers hold what each hospital expects per record: what the engine quoted at
    submission, except that about 1 in 30 rows expects 10% more (a contract dispute), and
    the records set aside are in it too (they show as not_on_chain).
    """
    rng = random.Random(f"{population.seed}:ledger")
    rows: dict[str, list[tuple[str, int]]] = {}
    seen: set[str] = set()
    for record in population.records:
        record_id = str(record["record_id"])
        if record_id in seen:
            continue
        seen.add(record_id)
        result = submitted.get(record_id)
        expected = result.totals.plan_paid if result is not None else 0
        if result is not None and expected and rng.random() < 1 / 30:
            expected = expected * 11 // 10
        rows.setdefault(str(record["provider_id"]), []).append((record_id, expected))
    summary: Counter[str] = Counter()
    providers: dict[str, Any] = {}
    ok = True
    for provider_id, ledger in sorted(rows.items()):
        path = out / f"ledger-{provider_id}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["record_id", "expected_paid"])
            for record_id, cents in ledger:
                writer.writerow([record_id, format_cents(cents)])
        reconciled = reconcile(workspace, PLAN_ID, path, provider=provider_id)
        counts = {k: v for k, v in reconciled.summary.items() if v}
        summary.update(counts)
        ok = ok and reconciled.ok
        providers[provider_id] = {"ok": reconciled.ok, "summary": counts, "ledger": str(path)}
    return {"available": True, "ok": ok, "summary": dict(summary), "providers": providers}
