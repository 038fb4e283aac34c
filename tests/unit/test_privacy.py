"""Member pseudonyms, record commitments and the key store (formats.md, "Privacy")."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from eth_hash.auto import keccak

from claimsengine.errors import ClaimsError
from claimsengine.privacy import (
    KeyStore,
    member_pseudonym,
    new_plan_key,
    new_salt,
    record_commitment,
)
from claimsengine.records import RecordLine, TreatmentRecord

FIXED_KEY = bytes(range(32))


def a_record(**changes: object) -> TreatmentRecord:
    record = TreatmentRecord.from_json(
        {
            "record_id": "HOSP-A-2027-000123",
            "plan_id": "SILVER-2027",
            "member_id": "M-0001",
            "provider_id": "HOSP-A",
            "service_date": "2027-03-14",
            "diagnoses": ["J20.9"],
            "lines": [{"code": "99213", "units": 1, "billed": "180.00"}],
            "patient": {"name": "Ada Example"},
        }
    )
    return replace(record, **changes)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Pseudonyms
# --------------------------------------------------------------------------------------------


def test_pseudonym_is_hmac_sha256_of_the_period_and_the_member_id() -> None:
    pseudonym = member_pseudonym(FIXED_KEY, 0, "M-0001")
    assert len(pseudonym) == 32
    # The period as 8 bytes big-endian, then the UTF-8 member id.
    message = bytes(8) + b"M-0001"
    assert pseudonym == hmac.new(FIXED_KEY, message, hashlib.sha256).digest()
    assert member_pseudonym(FIXED_KEY, 0, "M-0001") == pseudonym  # stable
    third = hmac.new(FIXED_KEY, b"\x00" * 7 + b"\x03" + b"M-0001", hashlib.sha256).digest()
    assert member_pseudonym(FIXED_KEY, 3, "M-0001") == third


def test_pseudonym_is_never_a_plain_hash() -> None:
    pseudonym = member_pseudonym(new_plan_key(), 0, "M-0001")
    assert pseudonym != hashlib.sha256(b"M-0001").digest()
    assert pseudonym != keccak(b"M-0001")
    assert pseudonym != hashlib.sha3_256(b"M-0001").digest()
    assert pseudonym != hashlib.sha256(bytes(8) + b"M-0001").digest()


def test_pseudonym_differs_per_plan_key_period_and_member() -> None:
    silver, gold = new_plan_key(), new_plan_key()
    assert silver != gold
    assert member_pseudonym(silver, 0, "M-0001") != member_pseudonym(gold, 0, "M-0001")
    assert member_pseudonym(silver, 0, "M-0001") != member_pseudonym(silver, 0, "M-0002")
    # A new pseudonym in each benefit period.
    per_period = {member_pseudonym(silver, period, "M-0001") for period in range(50)}
    assert len(per_period) == 50
    # Exactly as written: no case folding or trimming.
    assert member_pseudonym(silver, 0, "M-0001") != member_pseudonym(silver, 0, "m-0001")
    assert member_pseudonym(silver, 0, "M-0001") != member_pseudonym(silver, 0, "M-0001 ")


def test_the_fixed_width_period_keeps_pairs_apart() -> None:
    # Written as text without a width, (1, "23") and (12, "3") would both hash "123".
    assert member_pseudonym(FIXED_KEY, 1, "23") != member_pseudonym(FIXED_KEY, 12, "3")


@pytest.mark.parametrize("key", [b"", b"short", bytes(31), bytes(33), "x" * 32])
def test_pseudonym_refuses_a_bad_key(key: object) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        member_pseudonym(key, 0, "M-0001")  # type: ignore[arg-type]


@pytest.mark.parametrize("period", [-1, 2**64, True, 1.0, "1"])
def test_pseudonym_refuses_a_bad_period(period: object) -> None:
    with pytest.raises(ValueError, match="period"):
        member_pseudonym(FIXED_KEY, period, "M-0001")  # type: ignore[arg-type]


def test_pseudonym_refuses_an_empty_member() -> None:
    with pytest.raises(ValueError):
        member_pseudonym(FIXED_KEY, 0, "")


# --------------------------------------------------------------------------------------------
# Commitments
# --------------------------------------------------------------------------------------------


def test_commitment_is_keccak_of_salt_and_canonical_record() -> None:
    record, salt = a_record(), new_salt()
    commitment = record_commitment(salt, record)
    assert len(commitment) == 32
    assert commitment == keccak(salt + record.canonical_bytes())
    assert record_commitment(salt, a_record()) == commitment  # deterministic


def test_salts_are_32_random_bytes() -> None:
    salts = {new_salt() for _ in range(50)}
    assert len(salts) == 50 and all(len(s) == 32 for s in salts)


def test_commitment_changes_with_any_byte_of_the_salt() -> None:
    record, salt = a_record(), bytes(32)
    base = record_commitment(salt, record)
    for position in range(32):
        flipped = bytearray(salt)
        flipped[position] ^= 0x01
        assert record_commitment(bytes(flipped), record) != base


@pytest.mark.parametrize(
    "changes",
    [
        {"member_id": "M-0002"},
        {"record_id": "HOSP-A-2027-000124"},
        {"provider_id": "HOSP-B"},
        {"prior_auth": "P"},
        {"diagnoses": ("J20.8",)},
        {"lines": (RecordLine("99213", 1, 18001),)},
        {"lines": (RecordLine("99214", 1, 18000),)},
        {"lines": (RecordLine("99213", 2, 18000),)},
        {"patient": {"name": "Ada Exampla"}},
        {"patient": None},
        {"extra": {"note": "x"}},
    ],
)
def test_commitment_changes_with_one_change_to_the_record(changes: dict[str, object]) -> None:
    salt = new_salt()
    assert record_commitment(salt, a_record(**changes)) != record_commitment(salt, a_record())


def test_commitment_changes_with_one_byte_of_the_canonical_record() -> None:
    record = a_record()
    canonical = record.canonical_bytes()
    salt = new_salt()
    for position in range(len(canonical)):
        changed = bytearray(canonical)
        changed[position] ^= 0x01
        assert keccak(salt + bytes(changed)) != record_commitment(salt, record)


@pytest.mark.parametrize("salt", [b"", bytes(31), bytes(33)])
def test_commitment_refuses_a_salt_that_is_not_32_bytes(salt: bytes) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        record_commitment(salt, a_record())


def test_commitment_does_not_contain_the_record() -> None:
    commitment = record_commitment(new_salt(), a_record())
    assert b"M-0001" not in commitment and b"Ada" not in commitment


# --------------------------------------------------------------------------------------------
# Key store
# --------------------------------------------------------------------------------------------


def test_key_store_creates_keys_on_first_use_with_private_permissions(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path / "keys")
    silver = keys.pseudonym_key("SILVER-2027")
    assert len(silver) == 32
    assert stat.S_IMODE((tmp_path / "keys" / "keys.json").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    assert keys.pseudonym_key("SILVER-2027") == silver
    assert KeyStore(tmp_path / "keys").pseudonym_key("SILVER-2027") == silver  # persisted


def test_key_store_keeps_one_key_per_plan_and_a_vault_key(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path)
    silver, gold, vault = (
        keys.pseudonym_key("SILVER-2027"),
        keys.pseudonym_key("GOLD"),
        (keys.vault_key()),
    )
    assert len({silver, gold, vault}) == 3
    assert keys.vault_key() == vault
    assert keys.plans() == ["GOLD", "SILVER-2027"]
    stored = json.loads((tmp_path / "keys.json").read_text())
    assert stored["plans"]["SILVER-2027"] == silver.hex() and stored["vault"] == vault.hex()


def test_key_store_refuses_a_key_file_others_can_read(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path)
    keys.vault_key()
    os.chmod(tmp_path / "keys.json", 0o644)
    with pytest.raises(ClaimsError, match="can be read by other users") as caught:
        KeyStore(tmp_path).vault_key()
    assert caught.value.hint == f"run: chmod 600 {tmp_path / 'keys.json'}"


@pytest.mark.parametrize("content", ["not json", '{"version": 2, "vault": "abcd"}', "[]"])
def test_key_store_reports_a_damaged_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "keys.json"
    path.write_text(content)
    os.chmod(path, 0o600)
    with pytest.raises(ClaimsError, match="keys.json"):
        KeyStore(tmp_path).vault_key()


def test_key_store_refuses_a_key_file_of_one_pseudonym_per_plan(tmp_path: Path) -> None:
    # Version 1 key files belong to state folders whose members have one pseudonym per
    # plan: refused, never mixed with per-period pseudonyms.
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"version": 1, "plans": {"SILVER-2027": "11" * 32}}))
    os.chmod(path, 0o600)
    with pytest.raises(ClaimsError) as caught:
        KeyStore(tmp_path).pseudonym_key("SILVER-2027")
    assert str(caught.value) == (
        f"{path} was made by an older claimsengine, which gave each member one pseudonym "
        "per plan; this version gives a new pseudonym in each benefit period, and the two "
        "cannot be mixed"
    )
    assert caught.value.hint == "start afresh: a new --state (and CLAIMS_KEYS_DIR) on a new chain"


def test_key_store_never_loses_a_key_when_created_concurrently(tmp_path: Path) -> None:
    found: list[bytes] = []

    def create(plan: str) -> None:
        found.append(KeyStore(tmp_path).pseudonym_key(plan))

    threads = [threading.Thread(target=create, args=(f"P-{n % 4}",)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    keys = KeyStore(tmp_path)
    assert keys.plans() == ["P-0", "P-1", "P-2", "P-3"]
    assert set(found) == {keys.pseudonym_key(f"P-{n}") for n in range(4)}


def test_key_store_must_live_apart_from_the_data(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path / "state" / "keys")
    keys.check_apart_from(tmp_path / "state" / "vault", tmp_path / "records")
    for folder in (
        tmp_path / "state" / "keys",
        tmp_path / "state",
        tmp_path / "state" / "keys" / "vault",
    ):
        with pytest.raises(ClaimsError, match="overlap"):
            keys.check_apart_from(folder)
