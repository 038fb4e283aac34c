"""No PHI on the chain: a scan of everything the chain holds after a demo-like flow.

The flow: a plan, its members, both hospitals submitting every fixture record (JSON, JSON
array, JSON Lines, both FHIR bundles), a review, funding and settlement; and, on a second
plan, both Synthea patients' bundles (names, birth dates, SSN, passport and licence numbers,
addresses, phone numbers, SNOMED diagnoses). Then every
transaction's calldata, every event's topics and data, the storage of the engine and the
token, and every raw key-value pair of the embedded chain's database are searched for every
member id, patient name, birth date, MRN, diagnosis code, free text and record id in the
fixtures, in each of these encodings: UTF-8, UTF-16 (LE and BE), hex text (lower and upper
case), left- and right-padded bytes32, and keccak256 / sha256 of the plain string (raw and
as hex text).

A member with claims in two benefit periods has two pseudonyms that nothing on the chain
pairs up (no transaction, event or storage word holds both), and their member id is nowhere.

The scanner is shown to work: it finds each encoding planted in a random blob, and it finds
a member id and a hashed record id planted on the chain through each source it reads
(calldata, an event, contract storage, the raw database).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import rlp
from eth.db.atomic import AtomicDB
from eth.db.chain import ChainDB
from eth.rlp.accounts import Account
from eth.vm.forks import PragueVM
from eth_typing import BlockNumber
from eth_utils import keccak, to_canonical_address, to_checksum_address
from trie import HexaryTrie
from trie.iter import NodeIterator

from claimsengine.chain.embedded import EmbeddedChain
from claimsengine.chain.kvstore import unpack_body
from claimsengine.chain.prune import storage_nodes
from claimsengine.members import Member
from claimsengine.orchestrator import submit_paths
from claimsengine.records import load_paths
from claimsengine.sdk import AdjudicatorClient, InsurerClient, settle
from claimsengine.workspace import Workspace
from tests.integration.test_orchestrator import (
    FIXTURES,
    PLAN,
    SYNTHEA,
    open_workspace,
    set_up_plan,
)
from tests.integration.test_orchestrator import synthea_plan as make_synthea_plan

SYNTHEA_PLAN = "SYNTHEA-2010"

#: Shorter secrets (a diagnosis code like "I10") are not searched as bare bytes: three bytes
#: turn up by chance in megabytes of hashes. They are searched in every other encoding.
MIN_RAW_BYTES = 5


# -- the scanner ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Leak:
    secret: str
    kind: str
    encoding: str
    where: str


def encodings(secret: str) -> dict[str, bytes]:
    """Every form in which ``secret`` is looked for."""
    raw = secret.encode("utf-8")
    forms = {
        "utf-16-le": secret.encode("utf-16-le"),
        "utf-16-be": secret.encode("utf-16-be"),
        "hex text": raw.hex().encode(),
        "HEX text": raw.hex().upper().encode(),
        "quoted utf-8": b'"' + raw + b'"',
        "keccak256": keccak(raw),
        "sha256": hashlib.sha256(raw).digest(),
        "keccak256 hex text": keccak(raw).hex().encode(),
        "sha256 hex text": hashlib.sha256(raw).hexdigest().encode(),
    }
    if len(raw) >= MIN_RAW_BYTES:
        forms["utf-8"] = raw
    if len(raw) <= 32:
        forms["bytes32 right-padded"] = raw.ljust(32, b"\0")
        forms["bytes32 left-padded"] = raw.rjust(32, b"\0")
        forms["keccak256 of bytes32"] = keccak(raw.ljust(32, b"\0"))
    return forms


def scan(blobs: Iterable[tuple[str, bytes]], secrets: Mapping[str, str]) -> list[Leak]:
    """Every (secret, encoding) found in the blobs. ``secrets`` maps a secret to its kind."""
    blobs = list(blobs)
    # One search per needle over all blobs joined (a separator no needle contains).
    separator = b"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8"
    starts: list[int] = []
    joined = bytearray()
    for _where, blob in blobs:
        starts.append(len(joined))
        joined += blob + separator
    haystack = bytes(joined)
    leaks = []
    for secret, kind in secrets.items():
        for encoding, needle in encodings(secret).items():
            # A hash can lose its leading zero bytes inside RLP (the raw database).
            needle = needle.lstrip(b"\0") if encoding.startswith(("keccak", "sha")) else needle
            at = haystack.find(needle)
            while at != -1:
                index = max(i for i, start in enumerate(starts) if start <= at)
                leaks.append(Leak(secret, kind, encoding, blobs[index][0]))
                at = haystack.find(needle, at + 1)
    return leaks


# -- what the chain holds -------------------------------------------------------------------


def transactions(chain: EmbeddedChain) -> Iterator[tuple[str, bytes]]:
    """Every transaction's calldata (deployments included), block by block."""
    chaindb = ChainDB(AtomicDB(chain.store))
    decoder = PragueVM.get_transaction_builder()
    head = chaindb.get_canonical_head().block_number
    for number in range(head + 1):
        header = chaindb.get_canonical_block_header_by_number(BlockNumber(number))
        for tx in chaindb.get_block_transactions(header, decoder):
            yield f"calldata of tx 0x{bytes(tx.hash).hex()} (block {number})", bytes(tx.data)


def events(chain: EmbeddedChain) -> Iterator[tuple[str, bytes]]:
    """Every event of every contract: each topic and the data."""
    rows = chain.store.connection.execute("SELECT DISTINCT address FROM events")
    for (address,) in rows.fetchall():
        for log in chain.get_logs(to_checksum_address(bytes(address)), []):
            where = f"event {log.block_number}:{log.log_index}"
            for position, topic in enumerate(log.topics):
                yield f"{where} topic {position}", topic
            yield f"{where} data", log.data


def storage(chain: EmbeddedChain, address: str) -> Iterator[tuple[str, bytes]]:
    """Every storage slot of a contract, read from the state trie: key and 32-byte value."""
    chaindb = ChainDB(AtomicDB(chain.store))
    state_root = chaindb.get_canonical_head().state_root
    accounts = HexaryTrie(chain.store, state_root)
    encoded = accounts[keccak(to_canonical_address(address))]
    assert encoded, f"no account {address}"
    account = rlp.decode(encoded, sedes=Account)
    slots = HexaryTrie(storage_nodes(chain.store, account.storage_root), account.storage_root)
    for key, value in NodeIterator(slots).items():
        word = rlp.decode(value).rjust(32, b"\0")
        yield f"storage of {address} at slot hash 0x{key.hex()}", key
        yield f"storage of {address} at slot hash 0x{key.hex()}", word


def database(chain: EmbeddedChain) -> Iterator[tuple[str, bytes]]:
    """Every raw key and value in the embedded chain's key-value store (trie nodes, headers,
    code, lookups), and every block body, inflated as the store reads it back."""
    for key, value in chain.store.connection.execute("SELECT key, value FROM kv"):
        yield f"database key 0x{bytes(key).hex()[:16]}…", bytes(key) + b"\xff" * 8 + bytes(value)
    for key, body in chain.store.connection.execute("SELECT key, value FROM bodies"):
        value = unpack_body(bytes(body))
        yield f"block body 0x{bytes(key).hex()[:16]}…", bytes(key) + b"\xff" * 8 + value


def everything(workspace: Workspace) -> dict[str, list[tuple[str, bytes]]]:
    chain = workspace.chain
    assert isinstance(chain, EmbeddedChain)
    return {
        "calldata": list(transactions(chain)),
        "events": list(events(chain)),
        "storage": [
            *storage(chain, workspace.engine.address),
            *storage(chain, workspace.dev_token.address),
        ],
        "database": list(database(chain)),
    }


# -- what must not be there -----------------------------------------------------------------


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings_in(item)


def patient_secrets(resource: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """A FHIR Patient's identifying strings: names, birth date, identifiers, address,
    phone and e-mail."""
    for name in resource.get("name", []):
        parts = [*name.get("given", []), name.get("family", "")]
        for part in parts:
            yield part, "patient name"
        yield " ".join(parts), "patient name"
    if "birthDate" in resource:
        yield resource["birthDate"], "birth date"
    for identifier in resource.get("identifier", []):
        yield identifier["value"], "patient identifier (MRN, SSN, licence, passport)"
    for address in resource.get("address", []):
        for line in address.get("line", []):
            yield line, "address"
        for key in ("city", "postalCode"):
            if key in address:
                yield address[key], "address"
    for telecom in resource.get("telecom", []):
        yield telecom["value"], "phone or e-mail"


def bundle_secrets(path: Path) -> Iterator[tuple[str, str]]:
    bundle = json.loads(path.read_text())
    for entry in bundle.get("entry", []):
        resource = entry["resource"]
        kind = resource["resourceType"]
        if kind == "Patient":
            yield from patient_secrets(resource)
        elif kind == "Condition":
            for coding in resource["code"]["coding"]:
                yield coding["code"], "diagnosis"
                if coding.get("display"):
                    yield coding["display"], "diagnosis (text)"
        elif kind == "Claim":
            yield resource["id"], "claim id"
            for identifier in resource.get("identifier", []):
                yield identifier["value"], "record id"
            display = resource.get("patient", {}).get("display")
            if display:
                yield display, "patient name"


def record_secrets(folder: Path, **defaults: str) -> Iterator[tuple[str, str]]:
    loaded = load_paths([folder], **defaults)
    for sourced in loaded.records:
        record = sourced.record
        yield record.record_id, "record id"
        yield record.member_id, "member id"
        for code in record.diagnoses:
            yield code, "diagnosis"
        if record.prior_auth:
            yield record.prior_auth, "prior auth reference"
        for text in strings_in(record.patient):
            yield text, "patient (name, birth date, MRN)"
        for text in strings_in(record.extra):
            yield text, "free text"


def fixture_secrets() -> dict[str, str]:
    """Every identifier and piece of PHI in the fixtures (and the Synthea bundles), with its
    kind. Values that go on-chain by design (plan, provider and service codes) are left out:
    none of them is PHI, and none of them equals a secret here."""
    found: list[tuple[str, str]] = []
    with (FIXTURES / "members.csv").open() as handle:
        found.extend((row["member_id"], "member id") for row in csv.DictReader(handle))
    found.extend(record_secrets(FIXTURES / "records"))
    found.extend(record_secrets(FIXTURES / "fhir", default_plan=PLAN, default_provider="HOSP-A"))
    for path in sorted((FIXTURES / "fhir").glob("*.json")):
        found.extend(bundle_secrets(path))
    if SYNTHEA.is_dir():
        found.extend(
            record_secrets(SYNTHEA, default_plan=SYNTHEA_PLAN, default_provider="SYN-CLINIC")
        )
        for path in sorted(SYNTHEA.glob("*.json")):
            found.extend(bundle_secrets(path))
    secrets = {secret: kind for secret, kind in found if secret.strip()}
    onchain_by_design = {PLAN, SYNTHEA_PLAN, "HOSP-A", "HOSP-B", "SYN-CLINIC"}
    for folder, defaults in (
        (FIXTURES / "records", {}),
        (FIXTURES / "fhir", {"default_plan": PLAN, "default_provider": "HOSP-A"}),
        (SYNTHEA, {"default_plan": SYNTHEA_PLAN, "default_provider": "SYN-CLINIC"}),
    ):
        if folder.is_dir():
            for sourced in load_paths([folder], **defaults).records:
                onchain_by_design.update(line.code for line in sourced.record.lines)
    assert not onchain_by_design & set(secrets), onchain_by_design & set(secrets)
    return secrets


# -- tests ----------------------------------------------------------------------------------


def test_the_scanner_finds_each_encoding_it_claims_to_look_for() -> None:
    noise = os.urandom(4096)
    secrets = {"M-0001": "member id", "I10": "diagnosis"}
    assert scan([("noise", noise)], secrets) == []
    for secret in secrets:
        for encoding, needle in encodings(secret).items():
            blob = noise[:1000] + needle + noise[1000:]
            found = scan([("noise", noise), ("planted", blob)], secrets)
            assert Leak(secret, secrets[secret], encoding, "planted") in found, encoding
            assert {leak.where for leak in found} == {"planted"}
    # A hash that starts with a zero byte is still found after RLP dropped that byte.
    digest = keccak(b"x" * 7)
    assert scan([("rlp", b"\xa0" + digest.lstrip(b"\0"))], {"x" * 7: "test"})


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Workspace]:
    """A demo-like flow: plan, members, both hospitals, every fixture record, review,
    funding and settlement."""
    workspace = open_workspace(tmp_path / "state")
    set_up_plan(workspace, fund_cents=150_000)  # not enough for the knee: it queues
    records = submit_paths(workspace, [FIXTURES / "records"])
    bundles = submit_paths(
        workspace, [FIXTURES / "fhir"], default_plan=PLAN, default_provider="HOSP-A"
    )
    assert records.ok and bundles.ok and records.submitted + bundles.submitted == 13
    adjudicator = AdjudicatorClient(workspace, "adjudicator")
    with workspace.command():
        (knee,) = adjudicator.queue(PLAN)
        assert adjudicator.approve(knee.claim_id).status == "queued"
        InsurerClient(workspace, "insurer").fund(PLAN, 5_000_000)
        settle(workspace, PLAN, "auditor")
    assert workspace.engine.pool_state(PLAN).queued == 0
    if SYNTHEA.is_dir():
        insurer = InsurerClient(workspace, "insurer")
        patients = [path.stem.rsplit("_", 1)[1] for path in sorted(SYNTHEA.glob("*.json"))]
        with workspace.command():
            insurer.deploy(make_synthea_plan())
            insurer.enroll(SYNTHEA_PLAN, [Member(p, date(2010, 1, 1), None) for p in patients])
            insurer.add_provider(SYNTHEA_PLAN, "SYN-CLINIC", "hospital-3")
            insurer.fund(SYNTHEA_PLAN, 10_000_000)
        synthea = submit_paths(
            workspace, [SYNTHEA], default_plan=SYNTHEA_PLAN, default_provider="SYN-CLINIC"
        )
        assert synthea.submitted == 29
    try:
        yield workspace
    finally:
        workspace.close()


def test_no_phi_anywhere_on_the_chain(demo: Workspace) -> None:
    secrets = fixture_secrets()
    kinds = set(secrets.values())
    assert {"member id", "record id", "diagnosis", "birth date", "patient name"} <= kinds
    assert len(secrets) >= (120 if SYNTHEA.is_dir() else 40)
    sources = everything(demo)
    # The readers read something real: the flow's claims are in there.
    assert len(sources["calldata"]) > 15 and len(sources["events"]) > 100
    assert len(sources["storage"]) > 100 and len(sources["database"]) > 200

    leaks = [leak for blobs in sources.values() for leak in scan(blobs, secrets)]

    assert leaks == [], "\n".join(
        f"{leak.kind} {leak.secret!r} as {leak.encoding} in {leak.where}" for leak in leaks[:20]
    )


PLANTER = """\
# pragma version ~=0.4.3
# @dev A contract that writes a word where the scan must look: storage and an event.

# @dev Logged with the planted word.
event Planted:
    word: bytes32

# @dev The planted word.
stored: public(bytes32)


@external
def plant(word: bytes32):
    self.stored = word
    log Planted(word=word)
"""


def test_the_chain_scan_finds_what_is_planted_in_each_source(tmp_path: Path) -> None:
    import vyper

    demo = open_workspace(tmp_path / "state")
    set_up_plan(demo)
    chain = demo.chain
    assert isinstance(chain, EmbeddedChain)
    bytecode = bytes.fromhex(
        vyper.compile_code(PLANTER, output_formats=["bytecode"])["bytecode"].removeprefix("0x")
    )
    member = "M-0003"
    record_id = "HOSP-B-2027-000204"
    with demo.command():
        planter = chain.send("auditor", None, bytecode).contract_address
        assert planter is not None
        word = member.encode().ljust(32, b"\0")
        chain.send("auditor", planter, keccak(text="plant(bytes32)")[:4] + word)
        chain.send(
            "auditor", chain.accounts["auditor"], hashlib.sha256(record_id.encode()).digest()
        )
    secrets = {member: "member id", record_id: "record id"}
    chain.prune()  # a pruned chain keeps every source the scan reads (calldata included)

    found = {
        (leak.secret, leak.encoding, source)
        for source, blobs in {
            **everything(demo),
            "planted storage": list(storage(chain, planter)),
        }.items()
        for leak in scan(blobs, secrets)
    }

    for source in ("calldata", "events", "planted storage", "database"):
        assert (member, "bytes32 right-padded", source) in found, source
    assert (record_id, "sha256", "calldata") in found
    assert (record_id, "sha256", "database") in found
    # The engine's own storage still holds neither.
    assert not [f for f in found if f[2] == "storage"]
    demo.close()


def test_one_members_claims_in_two_periods_share_no_pseudonym(tmp_path: Path) -> None:
    """Whoever reads the chain cannot follow a member from one benefit period to the next:
    the member's claims in two periods carry two pseudonyms, no transaction or event holds
    both, and the member id is nowhere."""
    from claimsengine.days import day_of_timestamp, to_day
    from claimsengine.records import RecordLine, TreatmentRecord
    from claimsengine.sdk import HospitalClient

    workspace = open_workspace(tmp_path / "state")  # 2027-07-01: period 0 of silver
    try:
        set_up_plan(workspace)  # enrols periods 0 and 1 (2027, and from 2028-01-01)
        hospital = HospitalClient(workspace, "hospital-1")

        def x_ray(record_id: str, day: date) -> TreatmentRecord:
            return TreatmentRecord(
                record_id=record_id,
                plan_id=PLAN,
                member_id="M-0001",
                provider_id="HOSP-A",
                service_date=day,
                prior_auth=None,
                diagnoses=("R07.9",),
                lines=(RecordLine("71046", 1, 9_500),),
            )

        with workspace.command():
            first = hospital.submit(x_ray("HOSP-A-P0", date(2027, 3, 14)))
        workspace.chain.set_time(to_day(date(2028, 2, 1)) * 86_400 + 43_200)
        with workspace.command():
            second = hospital.submit(x_ray("HOSP-A-P1", date(2028, 1, 20)))
        assert first.status == second.status == "paid"

        periods = workspace.periods(PLAN)
        assert periods.of(day_of_timestamp(workspace.chain.now())) == 1
        p0, p1 = (workspace.pseudonym(PLAN, "M-0001", period) for period in (0, 1))
        assert p0 != p1
        submitted = {int(e.args["claim_id"]): e for e in workspace.engine.events("ClaimSubmitted")}
        assert bytes(submitted[first.claim_id].args["member"]) == p0
        assert bytes(submitted[second.claim_id].args["member"]) == p1

        # Every pseudonym on the chain has its claims in one benefit period only.
        seen: dict[bytes, set[int]] = {}
        for event in submitted.values():
            period = periods.of(int(event.args["service_day"]))
            seen.setdefault(bytes(event.args["member"]), set()).add(period)
        assert seen and all(len(found) == 1 for found in seen.values())

        # No transaction's calldata, no event and no storage word holds both pseudonyms.
        # (A block of the raw database may hold two transactions: the enrolments of two
        # periods go in two transactions, each sorted by pseudonym, so neither a
        # transaction nor a position pairs them.)
        sources = everything(workspace)
        for name in ("calldata", "events"):  # the readers do see each pseudonym on its own
            assert any(p0 in blob for _where, blob in sources[name])
            assert any(p1 in blob for _where, blob in sources[name])
        for name in ("calldata", "events", "storage"):
            both = [where for where, blob in sources[name] if p0 in blob and p1 in blob]
            assert both == [], (name, both)
        enrolled = {
            bytes(e.args["member"]): e.tx_hash for e in workspace.engine.events("MemberEnrolled")
        }
        assert enrolled[p0] != enrolled[p1]

        # The member id itself is nowhere on the chain, in any encoding the scan knows.
        leaks = [leak for blobs in sources.values() for leak in scan(blobs, {"M-0001": "id"})]
        assert leaks == []
    finally:
        workspace.close()
