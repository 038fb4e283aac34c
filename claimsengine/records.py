"""Treatment records: the hospital's input, loaded, validated and made canonical.

A record is what a hospital bills for one visit (docs/formats.md, "Treatment record"). This
module reads records from files (one JSON record, a JSON array, JSON Lines, or FHIR through
``claimsengine.fhir``), validates every field before anything touches the chain, and gives
each record one canonical byte form, which the salted commitment hashes.

A bad record is set aside as a ``RejectedRecord`` whose ``RecordError`` names the file, the
record (its ``record_id``, or ``#index`` when it has none) and the field, such as
``lines[1].billed``. A bad record never stops the good ones next to it.

Canonical form (``TreatmentRecord.canonical_bytes``): the ``to_json()`` object written as
JSON with keys sorted by Unicode code point at every level, no whitespace (``,`` and ``:``),
non-ASCII characters written as themselves (not ``\\u`` escapes) and encoded as UTF-8.
Amounts are strings with exactly 2 decimals ("180.00"), dates are "YYYY-MM-DD", units are
integers, an absent ``prior_auth`` or ``patient`` is ``null``, and numbers inside ``patient``
or unknown keys keep the exact text they were read with (they are never floats). Changing
this form changes every commitment: treat it as a breaking change.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from claimsengine.days import parse_date, to_day
from claimsengine.errors import InputError, RecordError
from claimsengine.money import format_cents, parse_amount

__all__ = [
    "RECORD_KEYS",
    "LoadResult",
    "RecordLine",
    "RejectedRecord",
    "SourcedRecord",
    "TreatmentRecord",
    "canonical_json",
    "check_context",
    "dump_json",
    "find_duplicates",
    "load_json_text",
    "load_paths",
    "load_records",
    "quarantine",
]

# The keys of the record format; any other top-level key is kept in ``extra``.
RECORD_KEYS = (
    "record_id",
    "plan_id",
    "member_id",
    "provider_id",
    "service_date",
    "prior_auth",
    "diagnoses",
    "lines",
    "patient",
)
_LINE_KEYS = ("code", "units", "billed")
# Suffixes that load_paths picks up in a folder.
RECORD_SUFFIXES = (".json", ".jsonl", ".ndjson")
_LINES_SUFFIXES = (".jsonl", ".ndjson")

# Plan ids go on-chain as bytes32 (formats.md, "Plan").
_PLAN_ID = re.compile(r"[A-Za-z0-9._-]{1,32}")
# A service code goes on-chain as left-aligned bytes32: visible ASCII, no spaces.
_CODE = re.compile(r"[!-~]{1,32}")
# So does the provider's reference (the id a plan registers the provider under).
_PROVIDER_ID = _CODE
_MAX_ID_LENGTH = 128
_MAX_DIAGNOSIS_LENGTH = 64
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# --------------------------------------------------------------------------------------------
# JSON with exact numbers
# --------------------------------------------------------------------------------------------


def _refuse_constant(name: str) -> Any:
    # NaN and Infinity are not JSON; Python accepts them by default.
    raise ValueError(f"{name} is not valid JSON")


def load_json_text(text: str) -> Any:
    """Parse JSON text keeping every number exact: integers as ``int``, others as ``Decimal``.

    Floats are never produced, so 28.104000000000003 stays visible as written and is
    rejected later instead of being rounded.
    """
    return json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)


def _encode(value: Any, out: list[str], indent: int | None, level: int) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} cannot be written as JSON")
        out.append(str(value))
    elif isinstance(value, float):
        raise TypeError("floats are not allowed in records: use a Decimal or a string")
    elif isinstance(value, Mapping):
        keys = sorted(value)
        for key in keys:
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be strings, got {key!r}")
        if not keys:
            out.append("{}")
            return
        out.append("{")
        for position, key in enumerate(keys):
            if position:
                out.append(",")
            _newline(out, indent, level + 1)
            out.append(json.dumps(key, ensure_ascii=False))
            out.append(":" if indent is None else ": ")
            _encode(value[key], out, indent, level + 1)
        _newline(out, indent, level)
        out.append("}")
    elif isinstance(value, list | tuple):
        if not value:
            out.append("[]")
            return
        out.append("[")
        for position, item in enumerate(value):
            if position:
                out.append(",")
            _newline(out, indent, level + 1)
            _encode(item, out, indent, level + 1)
        _newline(out, indent, level)
        out.append("]")
    else:
        raise TypeError(f"{type(value).__name__} cannot be written as JSON")


def _newline(out: list[str], indent: int | None, level: int) -> None:
    if indent is not None:
        out.append("\n" + " " * (indent * level))


def canonical_json(value: Any) -> bytes:
    """The canonical JSON bytes of a value: sorted keys, no whitespace, UTF-8.

    ``Decimal`` numbers are written as their exact text; floats are refused.
    """
    out: list[str] = []
    _encode(value, out, None, 0)
    return "".join(out).encode("utf-8")


def dump_json(value: Any, *, indent: int = 2) -> str:
    """Readable JSON with sorted keys that keeps ``Decimal`` numbers exact (for files)."""
    out: list[str] = []
    _encode(value, out, indent, 0)
    return "".join(out) + "\n"


# --------------------------------------------------------------------------------------------
# The record
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordLine:
    """One billed service: ``units`` of ``code``, billed ``billed`` cents in total."""

    code: str
    units: int
    billed: int

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "units": self.units, "billed": format_cents(self.billed)}


@dataclass(frozen=True)
class TreatmentRecord:
    """A validated treatment record (formats.md). Money in cents, the date as a ``date``.

    Construction validates every field (raising ``RecordError`` naming the field), so a
    ``TreatmentRecord`` that exists is always fit for the chain and has canonical bytes.
    ``patient`` and ``extra`` (unknown top-level keys) stay off-chain; they are part of the
    committed record but never sent.
    """

    record_id: str
    plan_id: str
    member_id: str
    provider_id: str
    service_date: date
    prior_auth: str | None
    diagnoses: tuple[str, ...]
    lines: tuple[RecordLine, ...]
    patient: Mapping[str, Any] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Lists are accepted for convenience and frozen into tuples.
        object.__setattr__(self, "diagnoses", tuple(self.diagnoses))
        object.__setattr__(self, "lines", tuple(self.lines))
        object.__setattr__(self, "extra", dict(self.extra))
        if self.patient is not None:
            object.__setattr__(self, "patient", dict(self.patient))
        _validate(self)

    def __hash__(self) -> int:
        return hash(self.canonical_bytes())

    @property
    def service_day(self) -> int:
        """The on-chain day number of the service date."""
        return to_day(self.service_date)

    @property
    def billed_total(self) -> int:
        """The sum of the lines' billed amounts, in cents."""
        return sum(line.billed for line in self.lines)

    def to_json(self) -> dict[str, Any]:
        """The formats.md shape: amounts as "0.00" strings, the date as "YYYY-MM-DD"."""
        data: dict[str, Any] = dict(self.extra)
        data.update(
            {
                "record_id": self.record_id,
                "plan_id": self.plan_id,
                "member_id": self.member_id,
                "provider_id": self.provider_id,
                "service_date": self.service_date.isoformat(),
                "prior_auth": self.prior_auth,
                "diagnoses": list(self.diagnoses),
                "lines": [line.to_json() for line in self.lines],
                "patient": None if self.patient is None else dict(self.patient),
            }
        )
        return data

    def canonical_bytes(self) -> bytes:
        """The bytes the record commitment hashes; see the module docstring for the form.

        Computed once per record: the salt, the commitment, the vault and hashing all need
        them. (A record is frozen; its mappings are never changed after validation.)"""
        cached: bytes | None = self.__dict__.get("_canonical")
        if cached is None:
            cached = canonical_json(self.to_json())
            object.__setattr__(self, "_canonical", cached)
        return cached

    @classmethod
    def from_json(
        cls,
        obj: Any,
        *,
        index: int | None = None,
        default_plan: str | None = None,
        default_provider: str | None = None,
    ) -> TreatmentRecord:
        """Build a record from its JSON object (as ``load_json_text`` parsed it).

        ``default_plan`` / ``default_provider`` fill a missing ``plan_id`` / ``provider_id``;
        they never replace a value the record states. Raises ``RecordError`` naming the
        record and the field; the caller adds the file.
        """
        return _parse_record(obj, index, default_plan, default_provider)


def _label(obj: Any, index: int | None) -> str | None:
    """record_id when the raw record has a usable one, else ``#index``."""
    if isinstance(obj, Mapping):
        record_id = obj.get("record_id")
        if isinstance(record_id, str) and _record_id_problem(record_id) is None:
            return record_id
    return None if index is None else f"#{index}"


def _record_id_problem(value: str) -> str | None:
    if value.startswith("#"):
        # "#3" names a record by its position in error messages; an id must not look alike.
        return "starts with '#'"
    return _id_problem(value)


def _id_problem(value: str) -> str | None:
    if not value.strip():
        return "is empty"
    if len(value) > _MAX_ID_LENGTH:
        return f"is longer than {_MAX_ID_LENGTH} characters"
    if _CONTROL.search(value):
        return "contains a control character"
    return None


def _check_id(value: Any, *, record: str | None, field: str) -> None:
    if not isinstance(value, str):
        raise RecordError(f"expected a string, got {_describe(value)}", record=record, field=field)
    problem = _id_problem(value)
    if problem is not None:
        raise RecordError(f"{value!r} {problem}", record=record, field=field)


def _describe(value: Any) -> str:
    """A short description of a JSON value for an error message: 'a number 1.5'."""
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, bool):
        return f"a boolean {'true' if value else 'false'}"
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, int | Decimal | float):
        return f"a number {value}"
    elif isinstance(value, list):
        return f"an array of {len(value)}"
    else:
        return type(value).__name__
    return f"a string {text if len(text) <= 60 else text[:57] + '...'}"


def _validate(record: TreatmentRecord) -> None:
    """The rules every record obeys, however it was made (file, FHIR, code, vault)."""
    _check_id(record.record_id, record=None, field="record_id")
    label = record.record_id
    if label.startswith("#"):
        raise RecordError(f"{label!r} {_record_id_problem(label)}", field="record_id")
    if not isinstance(record.plan_id, str) or not _PLAN_ID.fullmatch(record.plan_id):
        raise RecordError(
            f"{record.plan_id!r} is not a plan id: 1-32 characters from A-Z a-z 0-9 . _ -",
            record=label,
            field="plan_id",
        )
    _check_id(record.member_id, record=label, field="member_id")
    if not isinstance(record.provider_id, str) or not _PROVIDER_ID.fullmatch(record.provider_id):
        raise RecordError(
            f"{record.provider_id!r} is not a provider id: 1-32 ASCII letters, digits or "
            "symbols, no spaces (it is the provider's reference on the chain)",
            record=label,
            field="provider_id",
        )
    if not isinstance(record.service_date, date) or isinstance(record.service_date, datetime):
        raise RecordError(
            f"expected a date, got {record.service_date!r}", record=label, field="service_date"
        )
    if record.prior_auth is not None:
        _check_id(record.prior_auth, record=label, field="prior_auth")
    for position, diagnosis in enumerate(record.diagnoses):
        name = f"diagnoses[{position}]"
        if not isinstance(diagnosis, str) or not diagnosis.strip():
            raise RecordError(
                f"expected a diagnosis code, got {_describe(diagnosis)}", record=label, field=name
            )
        if len(diagnosis) > _MAX_DIAGNOSIS_LENGTH or _CONTROL.search(diagnosis):
            raise RecordError(
                f"{diagnosis!r} is not a diagnosis code (at most {_MAX_DIAGNOSIS_LENGTH} "
                "characters, no control characters)",
                record=label,
                field=name,
            )
    if not record.lines:
        raise RecordError(
            "the record has no lines; a claim needs at least one billed service",
            record=label,
            field="lines",
        )
    for position, line in enumerate(record.lines):
        _validate_line(line, label=label, prefix=f"lines[{position}]")
    if record.patient is not None and not isinstance(record.patient, Mapping):
        raise RecordError("expected an object or null", record=label, field="patient")
    for key in record.extra:
        if key in RECORD_KEYS:
            raise RecordError(
                f"extra key {key!r} clashes with a record field", record=label, field=key
            )
    try:
        canonical_json(record.to_json())
    except (TypeError, ValueError, UnicodeEncodeError) as error:
        raise RecordError(
            f"cannot be written as canonical JSON: {error}",
            record=label,
            field="patient" if record.patient is not None else None,
        ) from None


def _validate_line(line: RecordLine, *, label: str | None, prefix: str) -> None:
    if not isinstance(line, RecordLine):
        raise RecordError(f"expected a RecordLine, got {line!r}", record=label, field=prefix)
    if not isinstance(line.code, str) or not _CODE.fullmatch(line.code):
        raise RecordError(
            f"{line.code!r} is not a service code: 1-32 ASCII letters, digits or symbols, "
            "no spaces",
            record=label,
            field=f"{prefix}.code",
        )
    if isinstance(line.units, bool) or not isinstance(line.units, int):
        raise RecordError(
            f"expected a whole number of units, got {_describe(line.units)}",
            record=label,
            field=f"{prefix}.units",
        )
    if line.units <= 0:
        raise RecordError(
            f"units must be at least 1, got {line.units}", record=label, field=f"{prefix}.units"
        )
    if isinstance(line.billed, bool) or not isinstance(line.billed, int) or line.billed < 0:
        raise RecordError(
            f"expected a non-negative amount in cents, got {line.billed!r}",
            record=label,
            field=f"{prefix}.billed",
        )


def _parse_record(
    obj: Any, index: int | None, default_plan: str | None, default_provider: str | None
) -> TreatmentRecord:
    label = _label(obj, index)
    if not isinstance(obj, Mapping):
        raise RecordError(
            f"expected a treatment record (a JSON object), got {_describe(obj)}", record=label
        )
    if "resourceType" in obj:
        raise RecordError(
            f"a FHIR {obj.get('resourceType')} resource is not a treatment record; "
            "give a Claim or a Bundle of Claims",
            record=label,
            field="resourceType",
        )

    def required(name: str, default: str | None = None) -> Any:
        value = obj.get(name)
        if value is None:
            if default is not None:
                return default
            hint = {
                "plan_id": "; add it to the record or pass a default plan (--plan)",
                "provider_id": "; add it to the record or pass a default provider (--provider)",
            }.get(name, "")
            raise RecordError(f"missing{hint}", record=label, field=name)
        return value

    record_id = required("record_id")
    _check_id(record_id, record=label, field="record_id")
    if record_id.startswith("#"):
        raise RecordError(
            f"{record_id!r} {_record_id_problem(record_id)}", record=label, field="record_id"
        )
    plan_id = required("plan_id", default_plan)
    if not isinstance(plan_id, str):
        raise RecordError(
            f"expected a string, got {_describe(plan_id)}", record=label, field="plan_id"
        )
    member_id = required("member_id")
    _check_id(member_id, record=label, field="member_id")
    provider_id = required("provider_id", default_provider)
    _check_id(provider_id, record=label, field="provider_id")
    service_date = _located(parse_date, required("service_date"), label, "service_date")

    prior_auth = obj.get("prior_auth")
    if prior_auth is not None:
        _check_id(prior_auth, record=label, field="prior_auth")

    diagnoses = obj.get("diagnoses")
    if diagnoses is None:
        diagnoses = []
    if not isinstance(diagnoses, list):
        raise RecordError(
            f"expected an array of codes, got {_describe(diagnoses)}",
            record=label,
            field="diagnoses",
        )

    raw_lines = required("lines")
    if not isinstance(raw_lines, list):
        raise RecordError(
            f"expected an array of lines, got {_describe(raw_lines)}", record=label, field="lines"
        )
    lines = [_parse_line(raw, label, f"lines[{n}]") for n, raw in enumerate(raw_lines)]

    patient = obj.get("patient")
    if patient is not None and not isinstance(patient, Mapping):
        raise RecordError(
            f"expected an object or null, got {_describe(patient)}", record=label, field="patient"
        )
    extra = {key: value for key, value in obj.items() if key not in RECORD_KEYS}
    try:
        return TreatmentRecord(
            record_id=record_id,
            plan_id=plan_id,
            member_id=member_id,
            provider_id=provider_id,
            service_date=service_date,
            prior_auth=prior_auth,
            diagnoses=tuple(diagnoses),
            lines=tuple(lines),
            patient=patient,
            extra=extra,
        )
    except RecordError as error:
        raise _relabel(error, record=label) from None


def _parse_line(raw: Any, label: str | None, prefix: str) -> RecordLine:
    if not isinstance(raw, Mapping):
        raise RecordError(
            f"expected a line object with code, units and billed, got {_describe(raw)}",
            record=label,
            field=prefix,
        )
    for key in _LINE_KEYS:
        if raw.get(key) is None:
            raise RecordError("missing", record=label, field=f"{prefix}.{key}")
    code = raw["code"]
    if not isinstance(code, str):
        raise RecordError(
            f"expected a code as a string, got {_describe(code)}",
            record=label,
            field=f"{prefix}.code",
        )
    units = raw["units"]
    # Units are counted, so 1.0 or "1" is refused rather than guessed at.
    if isinstance(units, bool) or not isinstance(units, int):
        raise RecordError(
            f"expected a whole number of units like 1, got {_describe(units)}",
            record=label,
            field=f"{prefix}.units",
        )
    billed = _located(parse_amount, raw["billed"], label, f"{prefix}.billed")
    line = RecordLine(code=code, units=units, billed=billed)
    _validate_line(line, label=label, prefix=prefix)
    return line


def _located(parse: Callable[..., Any], value: Any, label: str | None, name: str) -> Any:
    """Run a money/days parser, turning its ``InputError`` into a located ``RecordError``."""
    try:
        return parse(value, field=name)
    except InputError as error:
        raise RecordError(error.message, record=label, field=name, hint=error.hint) from None


def _relabel(
    error: InputError, *, file: str | None = None, record: str | None = None
) -> RecordError:
    """The same error with the file (and record, when unknown so far) filled in."""
    return RecordError(
        error.message,
        file=file if file is not None else error.file,
        record=error.record if error.record is not None else record,
        field=error.field,
        hint=error.hint,
    )


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


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
    ``claimsengine.fhir``). A file that cannot be read as JSON at all gives one rejected
    entry for the whole file. Identical copies of a record are kept once; a different record
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

    values: list[tuple[int, Any]] = []
    if not text.strip():
        result.rejected.append(_file_rejection(path, "the file is empty", text))
    elif path.suffix.lower() in _LINES_SUFFIXES:
        values = _read_lines(path, text, result)
    else:
        try:
            document = load_json_text(text)
        except ValueError as error:
            values = _read_lines(path, text, result, whole_error=error)
        else:
            if isinstance(document, list):
                values = list(enumerate(document))
            elif isinstance(document, Mapping):
                values = [(0, document)]
            else:
                result.rejected.append(
                    _file_rejection(
                        path,
                        f"expected a record, an array of records or a FHIR resource, got "
                        f"{_describe(document)}",
                        text,
                    )
                )
    for index, value in values:
        _read_value(path, name, index, value, result, default_plan, default_provider)
    # In file order: a line that is not JSON sits among the records around it.
    result.rejected.sort(key=lambda entry: -1 if entry.index is None else entry.index)
    return find_duplicates(result)


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
        from claimsengine import fhir  # fhir imports this module; import here to avoid a cycle

        outcomes = (
            fhir.read_bundle(value, default_plan=default_plan, default_provider=default_provider)
            if resource_type == "Bundle"
            else [
                fhir.read_claim(value, default_plan=default_plan, default_provider=default_provider)
            ]
        )
        if not outcomes:
            # A Bundle with nothing to bill is reported, not passed over in silence.
            result.rejected.append(
                RejectedRecord(
                    path,
                    None,
                    index,
                    RecordError(
                        "the Bundle holds no Claim resources",
                        file=name,
                        record=f"#{index}",
                        field="entry",
                    ),
                    value,
                )
            )
        for outcome in outcomes:
            # A Claim's position is its Bundle entry; a Claim on its own takes the file's.
            position = outcome.index if resource_type == "Bundle" else index
            if outcome.record is not None:
                result.records.append(SourcedRecord(path, position, outcome.record))
            else:
                assert outcome.error is not None
                error = _relabel(outcome.error, file=name, record=f"#{position}")
                result.rejected.append(
                    RejectedRecord(path, outcome.record_id, position, error, outcome.raw)
                )
        return
    try:
        record = _parse_record(value, index, default_plan, default_provider)
    except RecordError as error:
        label = _label(value, index)
        result.rejected.append(
            RejectedRecord(
                file=path,
                record_id=None if label is None or label.startswith("#") else label,
                index=index,
                error=_relabel(error, file=name, record=label),
                raw=value,
            )
        )
    else:
        result.records.append(SourcedRecord(path, index, record))


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


# --------------------------------------------------------------------------------------------
# Checks against context
# --------------------------------------------------------------------------------------------


def find_duplicates(loaded: LoadResult | Iterable[SourcedRecord]) -> LoadResult:
    """Keep one record per (provider_id, record_id).

    An identical copy (same canonical bytes) is harmless: the first is kept, the copy goes to
    ``repeated``. A different record under a used key is rejected with an error naming both
    versions (file and index of each); the first version stays, as the chain would have it.
    """
    result = _start_from(loaded)
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


def check_context(
    records: LoadResult | Iterable[SourcedRecord],
    known_plans: set[str],
    known_members: Callable[[str, str], bool],
) -> LoadResult:
    """Reject records for a plan or member the chain does not know, and duplicates.

    ``known_members(plan_id, member_id)`` says whether the member is enrolled in the plan.
    Rejections already in a given ``LoadResult`` are carried over.
    """
    result = _start_from(records)
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
                hint="check the plan id, or create the plan first (claims plan create)",
            )
        elif not known_members(record.plan_id, record.member_id):
            error = RecordError(
                f"member {record.member_id!r} is not enrolled in plan {record.plan_id!r}",
                file=str(sourced.file),
                record=record.record_id,
                field="member_id",
                hint="check the member id, or ask the insurer to enrol the member",
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


def _start_from(loaded: LoadResult | Iterable[SourcedRecord]) -> LoadResult:
    if isinstance(loaded, LoadResult):
        return LoadResult(list(loaded.records), list(loaded.rejected), list(loaded.repeated))
    return LoadResult(records=list(loaded))


# --------------------------------------------------------------------------------------------
# Quarantine
# --------------------------------------------------------------------------------------------

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def quarantine(rejected: Iterable[RejectedRecord], folder: Path | str) -> list[Path]:
    """Write each rejected record to ``folder`` as ``<name>.json`` plus ``<name>.error.txt``.

    ``<name>`` is the source file's stem and the record id (or index). An earlier quarantined
    file is never overwritten: a ``-2``, ``-3``... suffix is added. A whole file that was not
    JSON is copied as it was read. Returns the ``.json`` paths written.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
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
