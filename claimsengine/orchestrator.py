"""The submission orchestrator: record files in, claims on the chain, crash-safe.

``submit_paths`` is what ``claims submit`` runs. In order:

1. **Load and validate** the files and folders (``records.load_paths``): one JSON record, a
   JSON array, JSON Lines, a FHIR Claim or a FHIR Bundle. A path that does not exist stops
   the run here, before anything touches the chain.
2. **Check the context** before anything is sent: the plan is on the chain, the member is
   enrolled (the plan's enrolment of their pseudonym is on-chain), no record id is used
   for two different records (``records.check_context``; across runs the journal catches
   it), and with ``as_account`` the sender is the record's provider.
3. **Set aside** each bad record in the quarantine folder (default ``<state>/quarantine``),
   the record as read next to its error. A bad record never stops the good ones.
4. **Finish an earlier run.** ``HospitalClient.resume()`` submits, from the encrypted vault,
   every record that a killed run left ``prepared`` in the journal, and marks the ones the
   chain already has. Nothing is sent twice: the journal and the chain are keyed by the
   record's deterministic commitment, and the contract refuses a commitment it has seen.
5. **Submit** the good records with ``HospitalClient.submit_many`` (gas-sized batches per
   plan and sender), ``chunk_size`` records per ``workspace.command()``, so a long run
   commits as it goes and a crash loses at most the chunk in flight, which the next run
   finishes from the journal.

Transient JSON-RPC failures are retried by ``RpcChain`` (``retry_transient``). A failure
that remains stops the run with ``SubmitInterrupted``, which says what was done and that
running the same command again resumes from the journal.

The other direction, an auditor's check of a record against the chain, is verification.py.
docs/orchestrator.md and docs/privacy.md tell the whole story.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from claimsengine import faults
from claimsengine.days import day_of_timestamp
from claimsengine.errors import (
    ChainError,
    ClaimsError,
    InputError,
    RecordError,
    SubmitInterrupted,
)
from claimsengine.journal import PREPARED
from claimsengine.records import (
    LoadResult,
    RejectedRecord,
    SourcedRecord,
    canonical_json,
    check_context,
    load_paths,
    quarantine,
)
from claimsengine.results import ClaimResult
from claimsengine.sdk import HospitalClient, Submission
from claimsengine.status import STATUSES
from claimsengine.workspace import ProviderInfo, Workspace

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MemberCheck",
    "Progress",
    "SetAside",
    "SubmitInterrupted",
    "SubmitReport",
    "SubmittedClaim",
    "check_paths",
    "submit_paths",
]

#: Records per atomic command: what a crash can cost, and how often the embedded chain commits.
DEFAULT_CHUNK_SIZE = 1_000

#: ``progress(done, total)``: first called with ``done=0`` once the total is known.
Progress = Callable[[int, int], None]

_QUARANTINE_INDEX = ".index.json"


@dataclass(frozen=True)
class SubmittedClaim:
    """One record's claim on the chain.

    ``already_submitted``: the chain had it before this run. ``resumed``: an earlier run
    that was stopped had prepared it, and this run sent it.
    """

    result: ClaimResult
    source: str | None
    already_submitted: bool = False
    resumed: bool = False


@dataclass(frozen=True)
class SetAside:
    """A record (or a whole file) that was not submitted, its error, and its quarantine copy."""

    file: str
    record_id: str | None
    error: ClaimsError
    quarantined: Path | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``{"file", "record_id", "error"}`` object of ``claims --json submit``."""
        return {"file": self.file, "record_id": self.record_id, "error": self.error.explained()}


@dataclass
class SubmitReport:
    """What a run did. ``claims`` is in input order (records finished from an earlier run
    come first); ``set_aside`` in the order the problems were found."""

    claims: list[SubmittedClaim] = field(default_factory=list)
    set_aside: list[SetAside] = field(default_factory=list)
    #: Identical copies of a record in the input (harmless: each record is sent once).
    repeated: int = 0
    quarantine_dir: Path | None = None

    @property
    def results(self) -> list[ClaimResult]:
        return [claim.result for claim in self.claims]

    @property
    def submitted(self) -> int:
        """Claims this run put on the chain (including those finished for an earlier run)."""
        return sum(1 for claim in self.claims if not claim.already_submitted)

    @property
    def already_submitted(self) -> int:
        """Records that were on the chain before this run (recognised, not sent again)."""
        return sum(1 for claim in self.claims if claim.already_submitted)

    @property
    def resumed(self) -> int:
        return sum(1 for claim in self.claims if claim.resumed)

    @property
    def quarantined(self) -> int:
        return len(self.set_aside)

    def count(self, status: str) -> int:
        """How many of the run's claims now have ``status`` (paid, queued, ...)."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}")
        return sum(1 for claim in self.claims if claim.result.status == status)

    @property
    def paid(self) -> int:
        return self.count("paid")

    @property
    def denied(self) -> int:
        return self.count("denied")

    @property
    def pending_review(self) -> int:
        return self.count("pending_review")

    @property
    def queued(self) -> int:
        return self.count("queued")

    @property
    def plan_paid(self) -> int:
        """Cents the plan pays (or owes, for queued claims) on the run's approved claims."""
        return sum(
            claim.result.totals.plan_paid
            for claim in self.claims
            if claim.result.status in ("paid", "queued")
        )

    @property
    def ok(self) -> bool:
        """True when no record was set aside (``claims submit`` exits 0)."""
        return not self.set_aside

    def to_json(self) -> list[dict[str, Any]]:
        """``claims --json submit``: the claim results, then one object per record set aside."""
        return [claim.result.to_json() for claim in self.claims] + [
            entry.to_json() for entry in self.set_aside
        ]


def check_paths(
    workspace: Workspace,
    paths: Iterable[Path | str],
    *,
    default_plan: str | None = None,
    default_provider: str | None = None,
    as_account: str | None = None,
    members: MemberCheck | None = None,
) -> LoadResult:
    """Read the records in ``paths`` and check them as ``submit`` does before sending:
    the records that may go, and those set aside with their errors. Reads the chain only.
    ``members`` is a check kept from earlier files of the same run (a new one if None)."""
    loaded = load_paths(paths, default_plan=default_plan, default_provider=default_provider)
    known_plans = _known_plans(workspace, loaded)
    loaded = _check_keys(workspace, loaded, known_plans)
    if members is None:
        members = MemberCheck(workspace)
    members.forget_refusals()
    today = day_of_timestamp(workspace.chain.now())  # the day HospitalClient.prepare checks
    checked = check_context(loaded, known_plans, members, today=today)
    if as_account is not None:
        checked = _check_sender(workspace, checked, as_account)
    return checked


def submit_paths(
    workspace: Workspace,
    paths: Iterable[Path | str],
    *,
    default_plan: str | None = None,
    default_provider: str | None = None,
    as_account: str | None = None,
    quarantine_dir: Path | str | None = None,
    progress: Progress | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    replaces: int | None = None,
    members: MemberCheck | None = None,
) -> SubmitReport:
    """Submit every record in ``paths`` (files or folders) and report what happened.

    With ``replaces``, ``paths`` hold one corrected record, submitted in place of that
    claim (the old claim is voided in the same transaction; corrections.py).

    ``default_plan`` / ``default_provider`` fill records that lack them (Synthea's FHIR).
    ``as_account`` sends as that account; None sends as each record's registered provider.
    Bad records are set aside in ``quarantine_dir`` (default ``<state>/quarantine``) and
    listed in the report; they never stop the good ones. A path that does not exist raises
    ``InputError`` before anything is done. A chain failure that retries cannot cure raises
    ``SubmitInterrupted``. ``members``: a ``MemberCheck`` shared by a run's files, so that
    each enrolled member is read from the chain once per benefit period, not once per file.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    folder = (
        Path(quarantine_dir) if quarantine_dir is not None else workspace.state_dir / "quarantine"
    )
    report = SubmitReport(quarantine_dir=folder)
    jail = _QuarantineFolder(folder)

    # Read everything before touching the chain: a typo in a path stops the run here.
    checked = check_paths(
        workspace,
        paths,
        default_plan=default_plan,
        default_provider=default_provider,
        as_account=as_account,
        members=members,
    )
    found = len(checked.records) + len(checked.rejected)
    if replaces is not None and found != 1:
        raise InputError(
            f"a correction is one record, and {found} were found",
            field="--replaces",
            hint="give the one corrected record that replaces the claim",
        )
    report.repeated = len(checked.repeated)
    for rejected in checked.rejected:
        report.set_aside.append(jail.put(rejected))

    good = checked.records
    pending = workspace.journal.count(workspace.chain_key, PREPARED)
    total = pending + len(good)
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(min(done, total), total)

    if progress is not None:
        progress(0, total)

    def sent(count: int) -> None:
        advance(count)
        faults.reach(faults.AFTER_PREPARE)

    client = HospitalClient(workspace, as_account)
    resumed: dict[bytes, Submission] = {}
    try:
        if pending:
            with _command(workspace):
                for outcome in client.resume():
                    resumed[workspace.commitment(outcome.record)[1]] = outcome
            advance(pending)
            for outcome in resumed.values():
                _record_outcome(report, jail, outcome, resumed=True)
        for start in range(0, len(good), chunk_size):
            chunk = good[start : start + chunk_size]
            with _command(workspace):
                if replaces is not None:
                    (sourced,) = chunk
                    outcomes = [client.replace_record(replaces, sourced.record, str(sourced.file))]
                    sent(1)
                else:
                    outcomes = client.submit_many(
                        [sourced.record for sourced in chunk],
                        sources=[str(sourced.file) for sourced in chunk],
                        progress=sent,
                    )
            for sourced, outcome in zip(chunk, outcomes, strict=True):
                if resumed and workspace.commitment(sourced.record)[1] in resumed:
                    continue  # sent by resume() a moment ago; already in the report
                _record_outcome(report, jail, outcome, sourced=sourced)
    except ChainError as error:
        if isinstance(error, SubmitInterrupted):
            raise
        raise SubmitInterrupted(
            f"{error.message}; stopped after {report.submitted} claims were submitted in this run",
            report=report,
            hint=(
                (f"{error.hint}; then " if error.hint else "")
                + "run the same command again: it resumes from the journal and never "
                "submits a record twice"
            ),
        ) from error
    return report


# -- internals ------------------------------------------------------------------------------


@contextmanager
def _command(workspace: Workspace) -> Iterator[None]:
    """``workspace.command()`` with the fault points between its two commits: the chain's,
    then the journal's. ``journal.after_commit`` nests: the outer one holds the marks."""
    with workspace.journal.after_commit():
        with workspace.command():
            yield
        faults.reach(faults.AFTER_SEND)
    faults.reach(faults.AFTER_RECEIPT)


def _record_outcome(
    report: SubmitReport,
    jail: _QuarantineFolder,
    outcome: Submission,
    *,
    sourced: SourcedRecord | None = None,
    resumed: bool = False,
) -> None:
    if outcome.result is not None:
        report.claims.append(
            SubmittedClaim(
                result=outcome.result,
                source=outcome.source,
                already_submitted=outcome.already_submitted,
                resumed=resumed,
            )
        )
        return
    assert outcome.error is not None
    record = outcome.record
    error = outcome.error
    source = outcome.source or "(vault)"
    if not isinstance(error, RecordError):
        error = RecordError(error.message, file=source, record=record.record_id, hint=error.hint)
    elif error.file is None:
        error = RecordError(
            error.message,
            file=source,
            record=error.record or record.record_id,
            field=error.field,
            hint=error.hint,
        )
    file = sourced.file if sourced is not None else Path(source)
    index = sourced.index if sourced is not None else 0
    rejected = RejectedRecord(file, record.record_id, index, error, record.to_json())
    report.set_aside.append(jail.put(rejected))


def _known_plans(workspace: Workspace, loaded: LoadResult) -> set[str]:
    """The plans the records name that exist on the chain (one call per plan)."""
    named = {sourced.record.plan_id for sourced in loaded.records}
    return {plan_id for plan_id in named if workspace.engine.plan_exists(plan_id)}


def _check_keys(workspace: Workspace, loaded: LoadResult, known_plans: set[str]) -> LoadResult:
    """Set aside the records of a plan whose pseudonym key this workspace does not hold.

    Without the plan's key the member's on-chain id cannot be computed, and asking for it
    would create a new, wrong key for good (keys are never replaced).
    """
    with_keys = set(workspace.keys.plans())
    result = LoadResult(rejected=list(loaded.rejected), repeated=list(loaded.repeated))
    for sourced in loaded.records:
        record = sourced.record
        if record.plan_id not in known_plans or record.plan_id in with_keys:
            result.records.append(sourced)  # an unknown plan is reported by check_context
            continue
        error = RecordError(
            f"this workspace holds no pseudonym key for plan {record.plan_id}, so the "
            "member's on-chain id cannot be computed",
            file=str(sourced.file),
            record=record.record_id,
            field="plan_id",
            hint=f"add the plan's pseudonym key (from the insurer) to {workspace.keys.path}",
        )
        result.rejected.append(
            RejectedRecord(sourced.file, record.record_id, sourced.index, error, record.to_json())
        )
    return result


def _check_sender(workspace: Workspace, checked: LoadResult, as_account: str) -> LoadResult:
    """Set aside the records of a provider that ``as_account`` is not an account of.

    The chain pays a claim to the provider that sends it, whatever the record says: a
    record of HOSP-A sent from HOSP-B's account would be paid to HOSP-B.
    """
    sender = workspace.chain.address_of(as_account)
    providers: dict[str, dict[str, ProviderInfo]] = {}
    result = LoadResult(rejected=list(checked.rejected), repeated=list(checked.repeated))
    for sourced in checked.records:
        record = sourced.record
        if record.plan_id not in providers:
            providers[record.plan_id] = workspace.providers(record.plan_id)
        info = providers[record.plan_id].get(record.provider_id)
        if info is None or info.submits_from(sender):
            result.records.append(sourced)  # an unknown provider is reported when sent
            continue
        error = RecordError(
            f"provider {record.provider_id!r} is registered to account {info.account}, but this "
            f"run acts as {as_account} ({sender}), which the chain would pay instead",
            file=str(sourced.file),
            record=record.record_id,
            field="provider_id",
            hint="leave out --as to send each record as its provider's account",
        )
        result.rejected.append(
            RejectedRecord(sourced.file, record.record_id, sourced.index, error, record.to_json())
        )
    return result


class MemberCheck:
    """Whether a member is enrolled in the benefit period of a service day: the plan's
    enrolment of their pseudonym of that period is on-chain.

    One call per (plan, member, period), however many records and files the member has.
    An enrolment is never withdrawn on-chain (``enroll`` only sets or moves its dates), so
    a yes is kept for as long as the check is: a run that submits many files (a simulated
    year's weekly rounds) passes one check to every ``submit_paths`` and reads each member
    once per period. A no is kept only until the next ``check_paths``, since the member
    may be enrolled (or renewed) between two files.
    """

    def __init__(self, workspace: Workspace) -> None:
        self._workspace = workspace
        self._enrolled: set[tuple[str, str, int]] = set()
        self._refused: set[tuple[str, str, int]] = set()

    def forget_refusals(self) -> None:
        """Ask the chain again about members it said were not enrolled."""
        self._refused.clear()

    def __call__(self, plan_id: str, member_id: str, service_day: int) -> bool:
        workspace = self._workspace
        period = workspace.periods(plan_id).of(service_day)
        key = (plan_id, member_id, period)
        if key in self._enrolled:
            return True
        if key in self._refused:
            return False
        pseudonym = workspace.pseudonym(plan_id, member_id, period)
        enrolled = workspace.engine.enrolled_in(plan_id, pseudonym, period)
        (self._enrolled if enrolled else self._refused).add(key)
        return enrolled


class _QuarantineFolder:
    """``records.quarantine`` that writes each distinct rejection once.

    Running the same folder twice would otherwise leave a second copy of every bad record.
    A hidden index maps a fingerprint of (file, position, error, record as read) to the
    file written for it; a copy that was since deleted (the user fixed it) is written again.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._index_path = folder / _QUARANTINE_INDEX
        self._index: dict[str, str] | None = None

    def put(self, rejected: RejectedRecord) -> SetAside:
        fingerprint = _fingerprint(rejected)
        index = self._load()
        name = index.get(fingerprint)
        if name is not None and (self.folder / name).exists():
            path = self.folder / name
        else:
            (path,) = quarantine([rejected], self.folder)
            index[fingerprint] = path.name
            self._save(index)
        return SetAside(
            file=str(rejected.file),
            record_id=rejected.record_id,
            error=rejected.error,
            quarantined=path,
        )

    def _load(self) -> dict[str, str]:
        if self._index is None:
            try:
                data = json.loads(self._index_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = {}
            self._index = (
                {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
            )
        return self._index

    def _save(self, index: dict[str, str]) -> None:
        temporary = self._index_path.with_name(f"{_QUARANTINE_INDEX}.{os.getpid()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(index, handle, indent=1, sort_keys=True)
        os.replace(temporary, self._index_path)


def _fingerprint(rejected: RejectedRecord) -> str:
    try:
        raw = canonical_json(rejected.raw).decode("utf-8")
    except (TypeError, ValueError):
        raw = repr(rejected.raw)
    parts: Sequence[str] = (
        str(Path(rejected.file).resolve()),
        str(rejected.index),
        rejected.error.explained(),
        raw,
    )
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()
