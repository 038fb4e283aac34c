"""The rules for a record's off-chain identifiers, and the wording of its errors.

Each failure is a ``RecordError`` naming the record (its ``record_id``, or ``#index`` when it
has none) and the field, such as ``lines[1].billed``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from claimsengine.errors import InputError, RecordError
from claimsengine.fieldreader import FieldReader, describe

# Plan ids, codes and provider ids go on-chain as bytes32: their rules are in ids.py. A
# record id, a member id and a prior authorisation stay off-chain, under the rule below.
MAX_ID_LENGTH = 128
MAX_DIAGNOSIS_LENGTH = 64
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def label_of(obj: Any, index: int | None) -> str | None:
    """record_id when the raw record has a usable one, else ``#index``."""
    if isinstance(obj, Mapping):
        record_id = obj.get("record_id")
        if isinstance(record_id, str) and record_id_problem(record_id) is None:
            return record_id
    return None if index is None else f"#{index}"


def record_id_problem(value: str) -> str | None:
    if value.startswith("#"):
        # "#3" names a record by its position in error messages; an id must not look alike.
        return "starts with '#'"
    return id_problem(value)


def id_problem(value: str) -> str | None:
    if not value.strip():
        return "is empty"
    if len(value) > MAX_ID_LENGTH:
        return f"is longer than {MAX_ID_LENGTH} characters"
    if CONTROL.search(value):
        return "contains a control character"
    return None


def check_id(value: Any, *, record: str | None, field: str) -> None:
    if not isinstance(value, str):
        raise RecordError(f"expected a string, got {describe(value)}", record=record, field=field)
    problem = id_problem(value)
    if problem is not None:
        raise RecordError(f"{value!r} {problem}", record=record, field=field)


class RecordReader(FieldReader):
    """The reader of one record's JSON object: a ``RecordError`` naming the record (its
    ``label``), at the field; a field that is absent or null is "missing"."""

    MISSING = "missing"

    def __init__(self, label: str | None) -> None:
        super().__init__(RecordError, record=label)
        self.label = label


def relabel(
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
