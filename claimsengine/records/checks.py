"""Records against what the chain knows, and the quarantine of the records set aside."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from claimsengine.errors import InputError, RecordError
from claimsengine.periods import NOT_ENROLLED_HINT
from claimsengine.records.jsontext import dump_json
from claimsengine.records.load import LoadResult, RejectedRecord, SourcedRecord, find_duplicates

__all__ = ["check_context", "quarantine"]


def check_context(
    records: LoadResult | Iterable[SourcedRecord],
    known_plans: set[str],
    known_members: Callable[[str, str, int], bool],
    *,
    today: int | None = None,
) -> LoadResult:
    """Reject records for a plan or member the chain does not know, and duplicates.

    ``known_members(plan_id, member_id, service_day)`` says whether the member is enrolled
    in the plan in the benefit period of the service day (a member has a pseudonym, and an
    enrolment, per period). A record dated after ``today`` (a day number) is not checked
    for the member: the service date comes first (adjudication.md, checks 4 then 5), and
    the submission refuses it for its date.
    Rejections already in a given ``LoadResult`` are carried over.
    """
    result = LoadResult.of(records)
    checked, result.records = result.records, []
    for sourced in checked:
        record = sourced.record
        error: RecordError | None = None
        if record.plan_id not in known_plans:
            error = RecordError(
                f"plan {record.plan_id!r} is not on the chain",
                file=str(sourced.file),
                record=record.record_id,
                field="plan_id",
                hint="check the plan id, or deploy the plan first (`claims deploy PLAN.yaml`)",
            )
        elif (today is None or record.service_day <= today) and not known_members(
            record.plan_id, record.member_id, record.service_day
        ):
            error = RecordError(
                f"member {record.member_id!r} is not enrolled in plan {record.plan_id!r} "
                f"in the benefit period of {record.service_date}",
                file=str(sourced.file),
                record=record.record_id,
                field="member_id",
                hint=NOT_ENROLLED_HINT.format(plan_id=record.plan_id),
            )
        if error is None:
            result.records.append(sourced)
        else:
            result.rejected.append(
                RejectedRecord(
                    sourced.file, record.record_id, sourced.index, error, record.to_json()
                )
            )
    return find_duplicates(result)


_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def quarantine(rejected: Iterable[RejectedRecord], folder: Path | str) -> list[Path]:
    """Write each rejected record to ``folder`` as ``<name>.json`` plus ``<name>.error.txt``.

    ``<name>`` is the source file's stem and the record id (or index). An earlier quarantined
    file is never overwritten: a ``-2``, ``-3``... suffix is added. A whole file that was not
    JSON is copied as it was read. Returns the ``.json`` paths written. The records hold
    health data: the files are the user's alone (0600), and so is a folder made here (0700).
    """
    folder = Path(folder)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    written: list[Path] = []
    for entry in rejected:
        if entry.index is None:
            base = entry.file.stem
        else:
            base = f"{entry.file.stem}.{entry.record_id or entry.index}"
        base = _UNSAFE_NAME.sub("_", base).strip("._") or "record"
        if isinstance(entry.raw, str):
            body = entry.raw if entry.raw.endswith("\n") else entry.raw + "\n"
        else:
            body = dump_json(entry.raw)
        text = str(entry.error)
        if entry.error.hint:
            text += f"\nhint: {entry.error.hint}"
        written.append(_write_pair(folder, base, body, text + "\n"))
    return written


def _write_pair(folder: Path, base: str, body: str, error_text: str) -> Path:
    for attempt in range(1, 10_000):
        name = base if attempt == 1 else f"{base}-{attempt}"
        record_path = folder / f"{name}.json"
        error_path = folder / f"{name}.error.txt"
        # O_EXCL on both: two runs quarantining at once never overwrite each other.
        try:
            error_fd = os.open(error_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        try:
            record_fd = os.open(record_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            os.close(error_fd)
            error_path.unlink()  # release the name we claimed; the pair takes the next one
            continue
        with os.fdopen(record_fd, "w", encoding="utf-8") as handle:
            handle.write(body)
        with os.fdopen(error_fd, "w", encoding="utf-8") as handle:
            handle.write(error_text)
        return record_path
    raise InputError("too many quarantined files with the same name", file=str(folder / base))
