"""Loading records from files and folders, each file in whichever format it is written.

A file is one JSON record, a JSON array, JSON Lines, a FHIR ``Claim`` or a FHIR ``Bundle``
(``fhir_input``). A bad record is set aside as a ``RejectedRecord`` whose error names the
file, the record and the field; it never stops the good ones next to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from claimsengine.errors import InputError, RecordError
from claimsengine.fieldreader import describe
from claimsengine.records.fields import label_of, relabel
from claimsengine.records.jsontext import load_json_text
from claimsengine.records.model import TreatmentRecord, parse_record

__all__ = [
    "RECORD_SUFFIXES",
    "LoadResult",
    "RejectedRecord",
    "SourcedRecord",
    "find_duplicates",
    "load_paths",
    "load_records",
]

# Suffixes that load_paths picks up in a folder.
RECORD_SUFFIXES = (".json", ".jsonl", ".ndjson")
_LINES_SUFFIXES = (".jsonl", ".ndjson")


@dataclass(frozen=True)
class SourcedRecord:
    """A valid record and where it came from (``index``: its position in the file)."""

    file: Path
    index: int
    record: TreatmentRecord

    @property
    def where(self) -> str:
        return f"{self.file} #{self.index}"


@dataclass(frozen=True)
class RejectedRecord:
    """A record (or a whole file, when ``index`` is None) set aside with its error.

    ``raw`` is what was read: the JSON value of the record, or the file's text when the file
    is not JSON.
    """

    file: Path
    record_id: str | None
    index: int | None
    error: RecordError
    raw: Any


@dataclass
class LoadResult:
    """The records that passed and the ones set aside. ``repeated`` lists identical copies
    of a record that was already kept (harmless: each is sent once)."""

    records: list[SourcedRecord] = field(default_factory=list)
    rejected: list[RejectedRecord] = field(default_factory=list)
    repeated: list[SourcedRecord] = field(default_factory=list)

    @classmethod
    def of(cls, loaded: LoadResult | Iterable[SourcedRecord]) -> LoadResult:
        """A new result to sort further: a copy of ``loaded``, or the given records."""
        if isinstance(loaded, LoadResult):
            return cls(list(loaded.records), list(loaded.rejected), list(loaded.repeated))
        return cls(records=list(loaded))

    def extend(self, other: LoadResult) -> None:
        self.records.extend(other.records)
        self.rejected.extend(other.rejected)
        self.repeated.extend(other.repeated)

    @property
    def ok(self) -> bool:
        return not self.rejected


def load_records(
    path: Path | str, *, default_plan: str | None = None, default_provider: str | None = None
) -> LoadResult:
    """Load one file, detecting its format, and validate each record in it.

    Formats: a JSON record, a JSON array of records, JSON Lines (one value per line; always
    for ``.jsonl``/``.ndjson``, and for any file that is not one JSON document but has at
    least one line that is), a FHIR ``Claim``, or a FHIR ``Bundle`` of Claims (see
    ``fhir_input``). A file that cannot be read as JSON at all gives one rejected entry for
    the whole file. Identical copies of a record are kept once; a different record
    under a used (provider_id, record_id) is rejected (see ``find_duplicates``).
    """
    path = Path(path)
    result = LoadResult()
    name = str(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as error:
        message = f"cannot read the file: {error.strerror}"
        result.rejected.append(_file_rejection(path, message, None))
        return result
    except UnicodeDecodeError as error:
        result.rejected.append(
            _file_rejection(path, f"not UTF-8 text (byte {error.start}); not a JSON file", None)
        )
        return result

    for index, value in _values(path, text, result):
        _read_value(path, name, index, value, result, default_plan, default_provider)
    # In file order: a line that is not JSON sits among the records around it.
    result.rejected.sort(key=lambda entry: -1 if entry.index is None else entry.index)
    return find_duplicates(result)


def _values(path: Path, text: str, result: LoadResult) -> list[tuple[int, Any]]:
    """The file's JSON values with their index: one document (a value or an array of them)
    or JSON Lines. What is not JSON at all is rejected into ``result``."""
    if not text.strip():
        result.rejected.append(_file_rejection(path, "the file is empty", text))
        return []
    if path.suffix.lower() in _LINES_SUFFIXES:
        return _read_lines(path, text, result)
    try:
        document = load_json_text(text)
    except ValueError as error:
        return _read_lines(path, text, result, whole_error=error)
    if isinstance(document, list):
        return list(enumerate(document))
    if isinstance(document, Mapping):
        return [(0, document)]
    message = f"expected a record, an array of records or a FHIR resource, got {describe(document)}"
    result.rejected.append(_file_rejection(path, message, text))
    return []


def _read_lines(
    path: Path, text: str, result: LoadResult, *, whole_error: ValueError | None = None
) -> list[tuple[int, Any]]:
    """JSON Lines: each non-blank line is one value; a bad line is one rejection."""
    values: list[tuple[int, Any]] = []
    failures: list[RejectedRecord] = []
    index = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = load_json_text(line)
        except ValueError as error:
            if whole_error is not None and index == 0:
                # JSON Lines start with a whole record on the first line; this file does not,
                # so it is a broken JSON document (such as an array with a syntax error).
                result.rejected.append(_file_rejection(path, f"not JSON: {whole_error}", text))
                return []
            failures.append(
                RejectedRecord(
                    file=path,
                    record_id=None,
                    index=index,
                    error=RecordError(
                        f"line {number} is not JSON: {error}", file=str(path), record=f"#{index}"
                    ),
                    raw=line,
                )
            )
        else:
            if whole_error is not None and index == 0 and not isinstance(value, Mapping):
                result.rejected.append(_file_rejection(path, f"not JSON: {whole_error}", text))
                return []
            values.append((index, value))
        index += 1
    result.rejected.extend(failures)
    return values


def _file_rejection(path: Path, message: str, raw: object) -> RejectedRecord:
    return RejectedRecord(
        file=path, record_id=None, index=None, error=RecordError(message, file=str(path)), raw=raw
    )


def _read_value(
    path: Path,
    name: str,
    index: int,
    value: Any,
    result: LoadResult,
    default_plan: str | None,
    default_provider: str | None,
) -> None:
    """One JSON value of a file: a native record, a FHIR Claim, or a FHIR Bundle."""
    resource_type = value.get("resourceType") if isinstance(value, Mapping) else None
    if resource_type in ("Claim", "Bundle"):
        _read_fhir(path, name, index, value, result, default_plan, default_provider)
        return
    try:
        record = parse_record(value, index, default_plan, default_provider)
    except RecordError as error:
        label = label_of(value, index)
        result.rejected.append(
            RejectedRecord(
                file=path,
                record_id=None if label is None or label.startswith("#") else label,
                index=index,
                error=relabel(error, file=name, record=label),
                raw=value,
            )
        )
    else:
        result.records.append(SourcedRecord(path, index, record))


def _read_fhir(
    path: Path,
    name: str,
    index: int,
    value: Mapping[str, Any],
    result: LoadResult,
    default_plan: str | None,
    default_provider: str | None,
) -> None:
    """A FHIR Claim, or each Claim of a Bundle, as a record or a rejection."""
    # Imported on the first FHIR value: fhir.resources and pydantic would add about 0.07 s
    # to every command that reads records. (fhir_input never imports this module.)
    from claimsengine.records import fhir_input as fhir

    is_bundle = value.get("resourceType") == "Bundle"
    if is_bundle:
        outcomes = fhir.read_bundle(
            value, default_plan=default_plan, default_provider=default_provider
        )
    else:
        outcomes = [
            fhir.read_claim(value, default_plan=default_plan, default_provider=default_provider)
        ]
    if not outcomes:
        # A Bundle with nothing to bill is reported, not passed over in silence.
        error = RecordError(
            "the Bundle holds no Claim resources", file=name, record=f"#{index}", field="entry"
        )
        result.rejected.append(RejectedRecord(path, None, index, error, value))
    for outcome in outcomes:
        # A Claim's position is its Bundle entry; a Claim on its own takes the file's.
        position = outcome.index if is_bundle else index
        if outcome.record is not None:
            result.records.append(SourcedRecord(path, position, outcome.record))
        else:
            assert outcome.error is not None
            error = relabel(outcome.error, file=name, record=f"#{position}")
            result.rejected.append(
                RejectedRecord(path, outcome.record_id, position, error, outcome.raw)
            )


def _walk(folder: Path) -> Iterator[Path]:
    """Record files under a folder, sorted, skipping hidden files and folders."""
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            yield from _walk(entry)
        elif entry.is_file() and entry.suffix.lower() in RECORD_SUFFIXES:
            yield entry


def load_paths(
    paths: Iterable[Path | str],
    *,
    default_plan: str | None = None,
    default_provider: str | None = None,
) -> LoadResult:
    """Load files and folders (folders recursively: *.json, *.jsonl, *.ndjson, sorted).

    A file named directly is read whatever its suffix. A path that does not exist raises
    ``InputError`` (a typo on the command line should stop the run, not be set aside).
    Duplicates are detected across all the files.
    """
    files: list[Path] = []
    seen: set[Path] = set()
    for given in paths:
        path = Path(given)
        if path.is_dir():
            candidates = list(_walk(path))
        elif path.exists():
            candidates = [path]
        else:
            raise InputError("no such file or folder", file=str(path))
        for candidate in candidates:
            key = candidate.resolve()
            if key not in seen:  # the same file named twice is read once
                seen.add(key)
                files.append(candidate)
    result = LoadResult()
    for file in files:
        result.extend(
            load_records(file, default_plan=default_plan, default_provider=default_provider)
        )
    return find_duplicates(result)


def find_duplicates(loaded: LoadResult | Iterable[SourcedRecord]) -> LoadResult:
    """Keep one record per (provider_id, record_id).

    An identical copy (same canonical bytes) is harmless: the first is kept, the copy goes to
    ``repeated``. A different record under a used key is rejected with an error naming both
    versions (file and index of each); the first version stays, as the chain would have it.
    """
    result = LoadResult.of(loaded)
    kept: dict[tuple[str, str], SourcedRecord] = {}
    records, result.records = result.records, []
    for sourced in records:
        record = sourced.record
        key = (record.provider_id, record.record_id)
        first = kept.get(key)
        if first is None:
            kept[key] = sourced
            result.records.append(sourced)
        elif first.record.canonical_bytes() == sourced.record.canonical_bytes():
            result.repeated.append(sourced)
        else:
            error = RecordError(
                f"record_id {record.record_id!r} of provider {record.provider_id!r} is used by "
                f"two different records: {first.where} and {sourced.where}; a record id must "
                "not be reused for a different record",
                file=str(sourced.file),
                record=record.record_id,
                field="record_id",
                hint="give the corrected record a new record_id, or send the same record again",
            )
            result.rejected.append(
                RejectedRecord(
                    sourced.file, record.record_id, sourced.index, error, record.to_json()
                )
            )
    return result
