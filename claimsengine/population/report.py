"""What a population run did: counts that add up, the pool over time, and the chart."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from claimsengine.days import from_day
from claimsengine.money import format_cents


@dataclass(frozen=True)
class PoolSample:
    """The pool after one step of a round, in cents; ``day`` is the chain's day number."""

    day: int
    step: str
    balance: int
    reserved: int
    queued: int

    def to_json(self) -> dict[str, Any]:
        return {
            "date": from_day(self.day).isoformat(),
            "step": self.step,
            "balance": format_cents(self.balance),
            "reserved": format_cents(self.reserved),
            "queued": self.queued,
        }


@dataclass
class PopulationReport:
    """What a run did, with counts that add up (see ``check``)."""

    seed: int
    fingerprint: str
    backend: str
    entry_point: str
    generated: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    set_aside: int = 0
    set_aside_reasons: dict[str, int] = field(default_factory=dict)
    repeated: int = 0
    submitted: int = 0
    already_submitted: int = 0
    status_at_submission: dict[str, int] = field(default_factory=dict)
    final_status: dict[str, int] = field(default_factory=dict)
    line_denials: dict[str, int] = field(default_factory=dict)
    claim_denials: dict[str, int] = field(default_factory=dict)
    reviews: dict[str, int] = field(default_factory=dict)
    total_paid: int = 0
    total_funded: int = 0
    submit_seconds: float = 0.0
    wall_seconds: float = 0.0
    gas_per_claim: float | None = None
    transactions: int = 0
    pool: list[PoolSample] = field(default_factory=list)
    paid_per_day: dict[int, int] = field(default_factory=dict)
    reconciliation: dict[str, Any] = field(default_factory=dict)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Each renewal of the plan (``RenewReport.to_json``), on entering a new benefit period.
    renewals: list[dict[str, Any]] = field(default_factory=list)
    chart: str | None = None

    @property
    def claims_per_second(self) -> float:
        """Claims submitted per second of the whole run: set-up, every round's submission,
        reviews, top-ups and settlement, then the reconciliations (not the chart)."""
        return self.submitted / self.wall_seconds if self.wall_seconds else 0.0

    @property
    def submit_claims_per_second(self) -> float:
        """Claims submitted per second of submission alone (load, check, chain, commit)."""
        return self.submitted / self.submit_seconds if self.submit_seconds else 0.0

    def check(self) -> list[str]:
        """The identities the counts must satisfy; an empty list when they all hold."""
        problems = []
        accounted = self.set_aside + self.repeated + self.submitted + self.already_submitted
        if accounted != self.generated:
            problems.append(
                f"set aside {self.set_aside} + repeated {self.repeated} + submitted "
                f"{self.submitted} + already submitted {self.already_submitted} = {accounted}, "
                f"not the {self.generated} generated"
            )
        for name, counts in (("at submission", self.status_at_submission),
                             ("final", self.final_status)):  # fmt: skip
            if sum(counts.values()) != self.submitted:
                problems.append(f"statuses {name} add up to {sum(counts.values())}, "
                                f"not the {self.submitted} claims")  # fmt: skip
        if sum(self.kinds.values()) != self.generated:
            problems.append("the kinds of record do not add up to the records generated")
        if sum(self.paid_per_day.values()) != self.total_paid:
            problems.append("the amounts paid per day do not add up to the total paid")
        return problems

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "fingerprint": self.fingerprint,
            "backend": self.backend,
            "entry_point": self.entry_point,
            "records": {
                "generated": self.generated,
                "kinds": self.kinds,
                "set_aside": self.set_aside,
                "set_aside_reasons": self.set_aside_reasons,
                "repeated": self.repeated,
                "submitted": self.submitted,
                "already_submitted": self.already_submitted,
            },
            "status_at_submission": self.status_at_submission,
            "final_status": self.final_status,
            "denials": {"lines": self.line_denials, "claims": self.claim_denials},
            "reviews": self.reviews,
            "total_paid": format_cents(self.total_paid),
            "total_funded": format_cents(self.total_funded),
            "throughput": {
                "claims_per_second": round(self.claims_per_second, 1),
                "wall_seconds": round(self.wall_seconds, 2),
                "submit_claims_per_second": round(self.submit_claims_per_second, 1),
                "submit_seconds": round(self.submit_seconds, 2),
                "note": "claims_per_second: the whole run (set-up, rounds, reviews, "
                "settlement, reconciliation); submit_: submission alone; shared machines vary",
            },
            "gas_per_claim": None if self.gas_per_claim is None else round(self.gas_per_claim),
            "transactions": self.transactions,
            "pool": [sample.to_json() for sample in self.pool],
            "paid_per_day": {
                from_day(day).isoformat(): format_cents(cents)
                for day, cents in sorted(self.paid_per_day.items())
            },
            "reconciliation": self.reconciliation,
            "renewals": self.renewals,
            "chart": self.chart,
            "checks": self.check(),
        }


def write_chart(report: PopulationReport, path: Path | str) -> Path:
    """A PNG of the pool balance over time and the amounts paid per chain day."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    days = [from_day(sample.day) for sample in report.pool]
    top.step(days, [s.balance / 100 for s in report.pool], where="post", label="balance")
    top.step(days, [s.reserved / 100 for s in report.pool], where="post", label="reserved")
    top.set_ylabel("pool (currency units)")
    top.set_title(f"Population seed {report.seed}: pool and payments per chain day")
    top.legend(loc="upper right")
    paid = sorted(report.paid_per_day.items())
    bottom.bar([from_day(d) for d, _ in paid], [c / 100 for _, c in paid], width=5)
    bottom.set_ylabel("paid per day")
    bottom.set_xlabel("chain date")
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path, format="png", dpi=100)
    plt.close(figure)
    return path
