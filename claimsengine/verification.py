"""The auditor's check: a record and its salt against the commitment the chain holds.

``verify_record`` recomputes keccak256(salt || canonical record) and compares it with the
claim's on-chain commitment, names the fields in which the record differs from the
committed copy (when the vault holds it), and what the claim on the chain bills
differently from the record (plan, service date, member, lines). ``claims verify`` runs it;
docs/privacy.md tells what a commitment proves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from claimsengine.abi import bytes32_to_text
from claimsengine.errors import InputError, NotFound
from claimsengine.history import claim_events
from claimsengine.privacy import SALT_BYTES, record_commitment
from claimsengine.records import TreatmentRecord
from claimsengine.status import ClaimStatus
from claimsengine.workspace import Workspace

__all__ = ["Verification", "verify_record"]


@dataclass(frozen=True)
class Verification:
    """Whether a record (and its salt) matches a commitment that is on the chain.

    ``commitment`` is the on-chain commitment the record was checked against; ``computed``
    is keccak256(salt || canonical record). ``differences`` names the fields in which the
    record differs from the committed copy, when that copy is known (the vault).
    ``claim_differences`` names what the claim on the chain bills differently from the
    record (plan, service date, lines), which a commitment alone cannot show.
    """

    record: TreatmentRecord
    source: str | None
    commitment: bytes
    computed: bytes
    claim_id: int | None
    status: ClaimStatus | None
    salt: bytes
    salt_from: str
    differences: tuple[str, ...] = ()
    claim_differences: tuple[str, ...] = ()

    @property
    def on_chain(self) -> bool:
        return self.claim_id is not None

    @property
    def matches(self) -> bool:
        return self.on_chain and self.computed == self.commitment and not self.claim_differences

    @property
    def problem(self) -> str | None:
        """Why the record does not match, in words; None when it matches."""
        if self.matches:
            return None
        if not self.on_chain:
            return f"no claim on the chain has the commitment 0x{self.commitment.hex()}"
        if self.computed == self.commitment:
            return (
                f"the record matches the commitment of claim {self.claim_id}, but the claim "
                "on the chain bills differently: " + ", ".join(self.claim_differences)
            )
        text = (
            f"the record and salt hash to 0x{self.computed.hex()}, not to the commitment "
            f"0x{self.commitment.hex()} of claim {self.claim_id}"
        )
        if self.differences:
            text += "; it differs from the committed record in " + ", ".join(self.differences)
        return text

    def to_json(self, *, reveal_salt: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "file": self.source,
            "record_id": self.record.record_id,
            "provider_id": self.record.provider_id,
            "match": self.matches,
            "claim_id": self.claim_id,
            "status": self.status,
            "commitment": "0x" + self.commitment.hex(),
            "computed": "0x" + self.computed.hex(),
            "problem": self.problem,
            "claim_differences": list(self.claim_differences),
        }
        if reveal_salt:
            data["salt"] = "0x" + self.salt.hex()
        return data


def verify_record(
    workspace: Workspace,
    record: TreatmentRecord,
    *,
    salt: bytes | None = None,
    commitment: bytes | None = None,
    claim_id: int | None = None,
    source: str | None = None,
) -> Verification:
    """Check a record against its on-chain commitment: keccak256(salt || canonical record).

    The commitment to check against is, in order: that of claim ``claim_id`` (read from
    its ClaimSubmitted event); ``commitment``; the one this workspace's journal holds for
    the record's (provider_id, record_id); else, with a ``salt``, the record's own, which
    the chain must then know. The salt is ``salt``, else the vault's copy for that
    commitment. Raises ``InputError`` when neither can be found.
    """
    if claim_id is not None:
        onchain = claim_events(workspace.engine, claim_id).commitment
        if commitment is not None and commitment != onchain:
            raise InputError(
                f"claim {claim_id} has commitment 0x{onchain.hex()}, not the one given",
                field="--commitment",
                hint="give --claim or --commitment, not both",
            )
        commitment = onchain
    if commitment is None:
        entry = workspace.journal.by_record(
            workspace.chain_key, record.provider_id, record.record_id
        )
        if entry is not None:
            commitment = entry.commitment
    if salt is not None and len(salt) != SALT_BYTES:
        raise InputError(f"a salt is {SALT_BYTES} bytes (64 hex digits)", field="--salt")
    if commitment is None and salt is None:
        raise InputError(
            f"record {record.record_id} of {record.provider_id} was not submitted from this "
            "workspace, so its commitment and salt are not known here",
            file=source,
            hint="pass the claim (--claim CLAIM_ID) or commitment (--commitment HEX) and the "
            "salt (--salt HEX) that the hospital gave you",
        )

    committed: TreatmentRecord | None = None
    salt_from = "given"
    if salt is None:
        assert commitment is not None
        committed, salt = _vault_copy(workspace, commitment, record, source)
        salt_from = "vault"
    computed = record_commitment(salt, record)
    if commitment is None:
        commitment = computed

    state = workspace.engine.claim_status(record.plan_id, record.provider_id, commitment)
    on_chain = state.status is not None
    differences: tuple[str, ...] = ()
    if committed is not None and computed != commitment:
        differences = tuple(_differences(committed.to_json(), record.to_json()))
    claim_differences: tuple[str, ...] = ()
    if on_chain:
        claim_differences = _claim_differences(workspace, state.claim_id, record)
    return Verification(
        record=record,
        source=source,
        commitment=commitment,
        computed=computed,
        claim_id=state.claim_id if on_chain else None,
        status=state.status,
        salt=salt,
        salt_from=salt_from,
        differences=differences,
        claim_differences=claim_differences,
    )


def _claim_differences(
    workspace: Workspace, claim_id: int, record: TreatmentRecord
) -> tuple[str, ...]:
    """What the claim's events bill differently from the record: a hospital could commit to
    one record and send other lines; the commitment alone would not show it."""
    events = claim_events(workspace.engine, claim_id)
    found: list[str] = []
    if bytes32_to_text(events.submitted.args["plan_id"]) != record.plan_id:
        found.append("plan_id")
    if int(events.submitted.args["service_day"]) != record.service_day:
        found.append("service_date")
    if record.plan_id in workspace.keys.plans():
        # The member's pseudonym of the service day's benefit period: a claim under another
        # period's pseudonym would meet that period's (empty) accumulators.
        expected = workspace.pseudonym_on(record.plan_id, record.member_id, record.service_day)
        if bytes(events.submitted.args["member"]) != expected:
            found.append("member_id")
    billed = [
        (bytes32_to_text(e.args["code"]), int(e.args["units"]), int(e.args["billed"]))
        for e in events.lines
    ]
    recorded = [(line.code, line.units, line.billed) for line in record.lines]
    if len(billed) != len(recorded):
        found.append(f"lines ({len(billed)} on the chain, {len(recorded)} in the record)")
    else:
        found.extend(
            f"lines[{position}]"
            for position, (onchain, given) in enumerate(zip(billed, recorded, strict=True))
            if onchain != given
        )
    return tuple(found)


def _vault_copy(
    workspace: Workspace, commitment: bytes, record: TreatmentRecord, source: str | None
) -> tuple[TreatmentRecord, bytes]:
    hint = "pass the salt the hospital gave you (--salt HEX)"
    # An auditor's workspace has no keys: do not create any just to look.
    if not workspace.keys.path.exists():
        raise InputError(
            "this workspace has no record vault to take the salt from",
            file=source,
            record=record.record_id,
            hint=hint,
        )
    try:
        return workspace.vault.get(commitment)
    except NotFound:
        raise InputError(
            f"the vault holds no salt for commitment 0x{commitment.hex()}",
            file=source,
            record=record.record_id,
            hint=hint,
        ) from None


def _differences(committed: Any, given: Any, where: str = "") -> list[str]:
    """The paths at which two JSON values differ: ``lines[0].billed``."""
    if isinstance(committed, dict) and isinstance(given, dict):
        found: list[str] = []
        for key in sorted(set(committed) | set(given)):
            path = f"{where}.{key}" if where else key
            if key not in committed or key not in given:
                found.append(path)
            else:
                found.extend(_differences(committed[key], given[key], path))
        return found
    if isinstance(committed, list) and isinstance(given, list) and len(committed) == len(given):
        found = []
        for position, (left, right) in enumerate(zip(committed, given, strict=True)):
            found.extend(_differences(left, right, f"{where}[{position}]"))
        return found
    return [] if committed == given else [where or "the record"]
