"""Treatment records: the hospital's input, loaded, validated and made canonical.

A record is what a hospital bills for one visit (docs/formats.md, "Treatment record"). This
package reads records from files (one JSON record, a JSON array, JSON Lines, or FHIR), validates
every field before anything touches the chain, and gives each record one canonical byte form,
which the salted commitment hashes.

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

The modules, each one job:

- ``model``: ``TreatmentRecord`` and ``RecordLine``, their rules, and reading one JSON object;
- ``fields``: the identifier rules and the wording of a record's errors;
- ``jsontext``: JSON with exact numbers, and the canonical form;
- ``load``: files and folders -> a ``LoadResult`` (records kept, set aside, repeated);
- ``checks``: records against the chain's plans and members, and the quarantine folder;
- ``fhir_input`` / ``fhir_fields``: FHIR R4 ``Claim`` and ``Bundle`` -> records, and back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from claimsengine.records.checks import check_context, quarantine
from claimsengine.records.jsontext import canonical_json, dump_json, load_json_text
from claimsengine.records.load import (
    RECORD_SUFFIXES,
    LoadResult,
    RejectedRecord,
    SourcedRecord,
    find_duplicates,
    load_paths,
    load_records,
)
from claimsengine.records.model import RECORD_KEYS, RecordLine, TreatmentRecord

if TYPE_CHECKING:
    from claimsengine.records.fhir_input import (
        ClaimOutcome,
        claim_to_record,
        read_bundle,
        read_claim,
        record_to_fhir_claim,
    )

__all__ = [
    "RECORD_KEYS",
    "RECORD_SUFFIXES",
    "ClaimOutcome",
    "LoadResult",
    "RecordLine",
    "RejectedRecord",
    "SourcedRecord",
    "TreatmentRecord",
    "canonical_json",
    "check_context",
    "claim_to_record",
    "dump_json",
    "find_duplicates",
    "load_json_text",
    "load_paths",
    "load_records",
    "quarantine",
    "read_bundle",
    "read_claim",
    "record_to_fhir_claim",
]

# The FHIR names load fhir.resources (pydantic) on first use, not with every record import.
_FHIR_NAMES = frozenset(
    {"ClaimOutcome", "claim_to_record", "read_bundle", "read_claim", "record_to_fhir_claim"}
)


def __getattr__(name: str) -> Any:
    if name in _FHIR_NAMES:
        from claimsengine.records import fhir_input

        return getattr(fhir_input, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
