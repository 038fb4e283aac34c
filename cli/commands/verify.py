"""`claims verify RECORD [--claim CLAIM_ID | --commitment HEX] [--salt HEX]`: the auditor's
check of a record file against its on-chain commitment."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from claimsengine.cli.options import PLAN_ID, PROVIDER_ID, App, json_option, pass_app
from claimsengine.cli.render import table
from claimsengine.errors import ClaimsError, InputError

if TYPE_CHECKING:
    from claimsengine.records import TreatmentRecord
    from claimsengine.verification import Verification


class HexBytes(click.ParamType):
    """32 bytes as 64 hex digits, with or without 0x."""

    name = "hex"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> bytes:
        if isinstance(value, bytes):
            return value
        text = str(value).strip().removeprefix("0x").removeprefix("0X")
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raw = b""
        if len(raw) != 32:
            self.fail(f"expected 64 hex digits (32 bytes), got {value!r}", param, ctx)
        return raw


HEX32 = HexBytes()


@click.command(short_help="Check a record file against the chain.")
@click.argument(
    "record_file", metavar="RECORD", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--claim",
    "claim_id",
    type=click.IntRange(min=1),
    metavar="CLAIM_ID",
    help="Check against this claim's on-chain commitment.",
)
@click.option(
    "--commitment", type=HEX32, metavar="HEX", help="Check against this on-chain commitment."
)
@click.option(
    "--salt",
    type=HEX32,
    metavar="HEX",
    help="The record's salt (default: from this workspace's vault).",
)
@click.option(
    "--plan",
    "plan_id",
    type=PLAN_ID,
    metavar="PLAN_ID",
    help="Plan of records that name none (as given to `claims submit`).",
)
@click.option(
    "--provider",
    "provider_id",
    type=PROVIDER_ID,
    metavar="PROVIDER_ID",
    help="Provider of records that name none (as given to `claims submit`).",
)
@click.option(
    "--reveal-salt",
    is_flag=True,
    help="Print the salt too (the hospital hands it to an auditor with the record).",
)
@json_option
@pass_app
def verify(
    app: App,
    record_file: Path,
    claim_id: int | None,
    commitment: bytes | None,
    salt: bytes | None,
    plan_id: str | None,
    provider_id: str | None,
    reveal_salt: bool,
) -> None:
    """Check that the record in RECORD (a JSON record or FHIR, as it was submitted) is the
    one committed on the chain: keccak256(salt || canonical record) must equal the claim's
    commitment. Any change to the record, even one cent, makes it differ. Exits 1 on a
    mismatch, saying which record and, where the committed copy is known, which fields.

    The hospital that submitted the record checks it with no options (the commitment and
    salt come from its journal and vault). An auditor is given the record file and its
    salt, and names the claim: `claims verify visit.json --claim 7 --salt HEX`.

    \b
    Examples:
      claims verify visit.json
      claims verify visit.json --reveal-salt
      claims verify visit.json --claim 7 --salt 5f0c...e1
    """
    from claimsengine.verification import verify_record

    one = claim_id is not None or commitment is not None or salt is not None
    records = _records(record_file, plan_id, provider_id, one=one)
    workspace = app.workspace()
    checks = [
        verify_record(
            workspace,
            record,
            salt=salt,
            commitment=commitment,
            claim_id=claim_id,
            source=str(record_file),
        )
        for record in records
    ]
    app.emit(
        [check.to_json(reveal_salt=reveal_salt) for check in checks],
        lambda console: _render(console, checks, reveal_salt),
    )
    failed = [check for check in checks if not check.matches]
    if failed:
        first = failed[0]
        others = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        raise ClaimsError(
            f"{record_file}: record {first.record.record_id} does not match the chain: "
            f"{first.problem}{others}",
            hint="the file is not the record that was submitted (or the salt is wrong)",
        )


def _records(
    record_file: Path, plan_id: str | None, provider_id: str | None, *, one: bool
) -> list[TreatmentRecord]:
    """The file's records, all valid; exactly one when ``one`` (an option names a claim)."""
    from claimsengine.records import load_records

    loaded = load_records(record_file, default_plan=plan_id, default_provider=provider_id)
    if loaded.rejected:
        raise loaded.rejected[0].error
    records = [sourced.record for sourced in loaded.records]
    if not records:
        raise InputError("the file holds no record", file=str(record_file))
    if one and len(records) > 1:
        raise InputError(
            f"the file holds {len(records)} records; --claim, --commitment and --salt name one",
            file=str(record_file),
            hint="put the record to check in a file of its own",
        )
    return records


def _render(console: Any, checks: list[Verification], reveal_salt: bool) -> None:
    rows = table(
        "record",
        "provider",
        "claim",
        "status",
        "result",
        title="Record against its on-chain commitment",
        right=("claim",),
    )
    for check in checks:
        rows.add_row(
            check.record.record_id,
            check.record.provider_id,
            str(check.claim_id or ""),
            check.status or "not on chain",
            "match" if check.matches else "MISMATCH",
        )
    console.print(rows)
    # Full hashes on lines of their own: a table would cut them short.
    for check in checks:
        console.print(f"{check.record.record_id}:", soft_wrap=True)
        console.print(f"  commitment 0x{check.commitment.hex()}", soft_wrap=True)
        if reveal_salt:
            console.print(f"  salt       0x{check.salt.hex()}", soft_wrap=True)
        if check.problem:
            console.print(f"  {check.problem}", soft_wrap=True)
