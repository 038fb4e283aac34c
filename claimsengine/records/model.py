"""The treatment record: its lines, its rules, and how it is read from a JSON object.

A ``TreatmentRecord`` validates every field when it is made, however it is made (a file,
FHIR, code, the vault), so a record that exists is always fit for the chain and has
canonical bytes (see the package docstring).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from claimsengine.days import to_day
from claimsengine.errors import RecordError
from claimsengine.fieldreader import describe
from claimsengine.ids import CODE, plan_id_problem, provider_id_problem
from claimsengine.money import format_cents
from claimsengine.records.fields import (
    CONTROL,
    MAX_DIAGNOSIS_LENGTH,
    RecordReader,
    check_id,
    label_of,
    record_id_problem,
    relabel,
)
from claimsengine.records.jsontext import canonical_json

__all__ = ["RECORD_KEYS", "RecordLine", "TreatmentRecord"]

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
#: The most a line may carry: the engine keeps units in 32 bits and billed cents in 43
#: (contracts/modules/packing.vy, MASK_32 and MASK_43) and refuses a claim beyond them.
MAX_UNITS = 2**32 - 1
MAX_BILLED_CENTS = 2**43 - 1


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
        return parse_record(obj, index, default_plan, default_provider)


def _validate(record: TreatmentRecord) -> None:
    """The rules every record obeys, however it was made (file, FHIR, code, vault)."""
    check_id(record.record_id, record=None, field="record_id")
    label = record.record_id
    if label.startswith("#"):
        raise RecordError(f"{label!r} {record_id_problem(label)}", field="record_id")
    _validate_ids(record, label)
    if not isinstance(record.service_date, date) or isinstance(record.service_date, datetime):
        raise RecordError(
            f"expected a date, got {record.service_date!r}", record=label, field="service_date"
        )
    if record.prior_auth is not None:
        check_id(record.prior_auth, record=label, field="prior_auth")
    _validate_diagnoses(record.diagnoses, label)
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


def _validate_ids(record: TreatmentRecord, label: str) -> None:
    """The plan, member and provider ids: the plan's and provider's go on-chain as bytes32."""
    problem = plan_id_problem(record.plan_id)
    if problem is not None:
        raise RecordError(problem, record=label, field="plan_id")
    check_id(record.member_id, record=label, field="member_id")
    problem = provider_id_problem(record.provider_id)
    if problem is not None:
        raise RecordError(problem, record=label, field="provider_id")


def _validate_diagnoses(diagnoses: tuple[str, ...], label: str) -> None:
    for position, diagnosis in enumerate(diagnoses):
        name = f"diagnoses[{position}]"
        if not isinstance(diagnosis, str) or not diagnosis.strip():
            raise RecordError(
                f"expected a diagnosis code, got {describe(diagnosis)}", record=label, field=name
            )
        if len(diagnosis) > MAX_DIAGNOSIS_LENGTH or CONTROL.search(diagnosis):
            raise RecordError(
                f"{diagnosis!r} is not a diagnosis code (at most {MAX_DIAGNOSIS_LENGTH} "
                "characters, no control characters)",
                record=label,
                field=name,
            )


def _validate_line(line: RecordLine, *, label: str | None, prefix: str) -> None:
    if not isinstance(line, RecordLine):
        raise RecordError(f"expected a RecordLine, got {line!r}", record=label, field=prefix)
    if not isinstance(line.code, str) or not CODE.fullmatch(line.code):
        raise RecordError(
            f"{line.code!r} is not a service code: 1-32 ASCII letters, digits or symbols, "
            "no spaces",
            record=label,
            field=f"{prefix}.code",
        )
    if isinstance(line.units, bool) or not isinstance(line.units, int):
        raise RecordError(
            f"expected a whole number of units, got {describe(line.units)}",
            record=label,
            field=f"{prefix}.units",
        )
    if line.units <= 0:
        raise RecordError(
            f"units must be at least 1, got {line.units}", record=label, field=f"{prefix}.units"
        )
    if line.units > MAX_UNITS:
        raise RecordError(
            f"units must be at most {MAX_UNITS}, got {line.units}",
            record=label,
            field=f"{prefix}.units",
        )
    if isinstance(line.billed, bool) or not isinstance(line.billed, int) or line.billed < 0:
        raise RecordError(
            f"expected a non-negative amount in cents, got {line.billed!r}",
            record=label,
            field=f"{prefix}.billed",
        )
    if line.billed > MAX_BILLED_CENTS:
        raise RecordError(
            f"billed must be at most {format_cents(MAX_BILLED_CENTS)}, got "
            f"{format_cents(line.billed)}",
            record=label,
            field=f"{prefix}.billed",
        )


def parse_record(
    obj: Any, index: int | None, default_plan: str | None, default_provider: str | None
) -> TreatmentRecord:
    """A record from its JSON object; ``RecordError`` names the record and the field."""
    label = label_of(obj, index)
    read = RecordReader(label)
    if not isinstance(obj, Mapping):
        read.fail(None, f"expected a treatment record (a JSON object), got {describe(obj)}")
    if "resourceType" in obj:
        read.fail(
            "resourceType",
            f"a FHIR {obj.get('resourceType')} resource is not a treatment record; "
            "give a Claim or a Bundle of Claims",
        )
    record_id, plan_id, member_id, provider_id = _read_ids(
        read, obj, default_plan, default_provider
    )
    service_date = read.date_value(_required(read, obj, "service_date"), "service_date")
    prior_auth = obj.get("prior_auth")
    if prior_auth is not None:
        check_id(prior_auth, record=label, field="prior_auth")
    diagnoses, lines = _read_lists(read, obj)
    patient = obj.get("patient")
    if patient is not None and not isinstance(patient, Mapping):
        read.fail("patient", f"expected an object or null, got {describe(patient)}")
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
        raise relabel(error, record=label) from None


def _required(
    read: RecordReader, obj: Mapping[str, Any], name: str, default: str | None = None
) -> Any:
    """A key the record must have (or its default from the command line)."""
    value = obj.get(name)
    if value is None:
        if default is not None:
            return default
        hint = {
            "plan_id": "; add it to the record or pass a default plan (--plan)",
            "provider_id": "; add it to the record or pass a default provider (--provider)",
        }.get(name, "")
        read.fail(name, f"{read.MISSING}{hint}")
    return value


def _read_ids(
    read: RecordReader,
    obj: Mapping[str, Any],
    default_plan: str | None,
    default_provider: str | None,
) -> tuple[str, str, str, str]:
    """(record_id, plan_id, member_id, provider_id), each checked as it is read."""
    label = read.label
    record_id = _required(read, obj, "record_id")
    check_id(record_id, record=label, field="record_id")
    if record_id.startswith("#"):
        read.fail("record_id", f"{record_id!r} {record_id_problem(record_id)}")
    plan_id = _required(read, obj, "plan_id", default_plan)
    if not isinstance(plan_id, str):
        read.fail("plan_id", f"expected a string, got {describe(plan_id)}")
    member_id = _required(read, obj, "member_id")
    check_id(member_id, record=label, field="member_id")
    provider_id = _required(read, obj, "provider_id", default_provider)
    check_id(provider_id, record=label, field="provider_id")
    return record_id, plan_id, member_id, provider_id


def _read_lists(read: RecordReader, obj: Mapping[str, Any]) -> tuple[list[Any], list[RecordLine]]:
    """The diagnoses (checked as the record is made) and the parsed lines."""
    diagnoses = obj.get("diagnoses")
    if diagnoses is None:
        diagnoses = []
    if not isinstance(diagnoses, list):
        read.fail("diagnoses", f"expected an array of codes, got {describe(diagnoses)}")
    raw_lines = _required(read, obj, "lines")
    if not isinstance(raw_lines, list):
        read.fail("lines", f"expected an array of lines, got {describe(raw_lines)}")
    lines = [_parse_line(read, raw, f"lines[{n}]") for n, raw in enumerate(raw_lines)]
    return diagnoses, lines


def _parse_line(read: RecordReader, raw: Any, prefix: str) -> RecordLine:
    if not isinstance(raw, Mapping):
        read.fail(
            prefix, f"expected a line object with code, units and billed, got {describe(raw)}"
        )
    for key in _LINE_KEYS:
        read.required(raw, key, prefix)
    code = raw["code"]
    if not isinstance(code, str):
        read.fail(f"{prefix}.code", f"expected a code as a string, got {describe(code)}")
    units = raw["units"]
    # Units are counted, so 1.0 or "1" is refused rather than guessed at.
    if isinstance(units, bool) or not isinstance(units, int):
        read.fail(
            f"{prefix}.units", f"expected a whole number of units like 1, got {describe(units)}"
        )
    billed = read.amount(raw["billed"], f"{prefix}.billed")
    line = RecordLine(code=code, units=units, billed=billed)
    _validate_line(line, label=read.label, prefix=prefix)
    return line
