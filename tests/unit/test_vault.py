"""The encrypted record vault: round trip, tamper detection, wrong key."""

from __future__ import annotations

import secrets
import sqlite3
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from claimsengine.errors import NotFound
from claimsengine.privacy import KeyStore, new_plan_key, new_salt, record_commitment
from claimsengine.records import TreatmentRecord, canonical_json, load_paths
from claimsengine.vault import RecordVault, VaultIntegrityError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture
def record() -> TreatmentRecord:
    return next(
        s.record for s in load_paths([FIXTURES / "records"]).records if s.record.patient is not None
    )


@pytest.fixture
def vault(tmp_path: Path) -> RecordVault:
    return RecordVault(tmp_path / "vault", KeyStore(tmp_path / "keys").vault_key())


def test_round_trip(vault: RecordVault, record: TreatmentRecord) -> None:
    salt = new_salt()
    commitment = vault.put(record, salt)
    assert commitment == record_commitment(salt, record)
    assert vault.get(commitment) == (record, salt)
    assert commitment in vault and list(vault.commitments()) == [commitment]


def test_every_fixture_record_round_trips(vault: RecordVault) -> None:
    stored = {}
    for sourced in load_paths(
        [FIXTURES / "records", FIXTURES / "fhir"],
        default_plan="SILVER-2027",
        default_provider="HOSP-A",
    ).records:
        salt = new_salt()
        stored[vault.put(sourced.record, salt)] = (sourced.record, salt)
    assert len(stored) == 13
    for commitment, expected in stored.items():
        assert vault.get(commitment) == expected


def test_the_file_is_encrypted_and_private(vault: RecordVault, record: TreatmentRecord) -> None:
    vault.put(record, new_salt())
    vault.close()  # everything in the database file itself, not only in its WAL
    files = [p for p in vault.folder.iterdir() if p.is_file()]
    assert vault.path in files
    assert record.patient is not None
    for path in files:
        body = path.read_bytes()
        for secret in (record.member_id, record.record_id, str(record.patient["name"]), "99213"):
            assert secret.encode() not in body, (path, secret)
    assert stat.S_IMODE(vault.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(vault.folder.stat().st_mode) == 0o700


def test_put_twice_keeps_the_first_entry(vault: RecordVault, record: TreatmentRecord) -> None:
    salt = new_salt()
    commitment = vault.put(record, salt)
    before = vault.body(commitment)
    assert vault.put(record, salt) == commitment
    assert vault.body(commitment) == before
    assert len(list(vault.commitments())) == 1


def test_the_same_record_under_two_salts_is_two_entries(
    vault: RecordVault, record: TreatmentRecord
) -> None:
    first, second = vault.put(record, new_salt()), vault.put(record, new_salt())
    assert first != second and len(list(vault.commitments())) == 2


@pytest.mark.parametrize("where", ["magic", "nonce", "ciphertext", "tag"])
def test_a_tampered_entry_raises_a_clear_error(
    vault: RecordVault, record: TreatmentRecord, where: str
) -> None:
    commitment = vault.put(record, new_salt())
    stored = vault.body(commitment)
    assert stored is not None
    body = bytearray(stored)
    position = {"magic": 0, "nonce": 5, "ciphertext": 40, "tag": len(body) - 1}[where]
    body[position] ^= 0x01
    vault.replace_body(commitment, bytes(body))
    with pytest.raises(VaultIntegrityError) as caught:
        vault.get(commitment)
    assert str(vault.path) in str(caught.value)
    text = str(caught.value)
    assert "does not authenticate" in text or "not a vault entry" in text


def test_a_truncated_entry_raises(vault: RecordVault, record: TreatmentRecord) -> None:
    commitment = vault.put(record, new_salt())
    stored = vault.body(commitment)
    assert stored is not None
    vault.replace_body(commitment, stored[:20])
    with pytest.raises(VaultIntegrityError, match="not a vault entry"):
        vault.get(commitment)


def test_an_entry_moved_to_another_commitment_fails(
    vault: RecordVault, record: TreatmentRecord
) -> None:
    commitment = vault.put(record, new_salt())
    other = bytes(32)
    stored = vault.body(commitment)
    assert stored is not None
    vault.replace_body(other, stored)
    with pytest.raises(VaultIntegrityError, match="does not authenticate"):
        vault.get(other)


def test_the_wrong_key_cannot_read(tmp_path: Path, record: TreatmentRecord) -> None:
    commitment = RecordVault(tmp_path, new_plan_key()).put(record, new_salt())
    with pytest.raises(VaultIntegrityError, match="another vault key") as caught:
        RecordVault(tmp_path, new_plan_key()).get(commitment)
    assert caught.value.hint is not None and "keys.json" in caught.value.hint


def test_a_missing_commitment_is_not_found(vault: RecordVault) -> None:
    with pytest.raises(NotFound, match="0x" + "ab" * 32):
        vault.get(bytes([0xAB]) * 32)
    assert bytes(32) not in vault


def test_verify_checks_record_and_salt_against_the_chain(
    vault: RecordVault, record: TreatmentRecord
) -> None:
    salt = new_salt()
    onchain = vault.put(record, salt)
    assert vault.verify(record, salt, onchain)
    assert not vault.verify(record, new_salt(), onchain)
    changed = TreatmentRecord.from_json({**record.to_json(), "member_id": "M-0002"})
    assert not vault.verify(changed, salt, onchain)
    assert not vault.verify(record, b"short", onchain)


def test_the_vault_refuses_a_bad_key(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        RecordVault(tmp_path, b"too short")


def _plain_body(key: bytes, record: TreatmentRecord, salt: bytes) -> bytes:
    """A body as the first vault format (CEV1) wrote it: the canonical JSON, not deflated."""
    plaintext = canonical_json({"record": record.to_json(), "salt": salt.hex()})
    nonce = secrets.token_bytes(12)
    commitment = record_commitment(salt, record)
    return b"CEV1" + nonce + AESGCM(key).encrypt(nonce, plaintext, commitment)


def test_a_record_is_deflated_before_it_is_encrypted(
    vault: RecordVault, record: TreatmentRecord, tmp_path: Path
) -> None:
    salt = new_salt()
    commitment = vault.put(record, salt)
    body = vault.body(commitment)
    assert body is not None and body[:4] == b"CEV2"
    plain = _plain_body(KeyStore(tmp_path / "keys").vault_key(), record, salt)
    # 4 magic + 12 nonce + 16 tag around the plaintext: the deflated one is much shorter.
    assert len(body) < 0.6 * len(plain)
    assert vault.get(commitment) == (record, salt)


def test_a_first_format_body_is_still_read(tmp_path: Path, record: TreatmentRecord) -> None:
    key = KeyStore(tmp_path / "keys").vault_key()
    salt = new_salt()
    commitment = record_commitment(salt, record)
    # A vault file as the first version made it: a rowid table, a body in the CEV1 format.
    folder = tmp_path / "vault"
    folder.mkdir()
    with sqlite3.connect(folder / "vault.sqlite") as old:
        old.execute("CREATE TABLE records (commitment BLOB PRIMARY KEY, body BLOB NOT NULL)")
        old.execute(
            "INSERT INTO records VALUES (?, ?)", (commitment, _plain_body(key, record, salt))
        )
    old.close()
    vault = RecordVault(folder, key)
    assert vault.get(commitment) == (record, salt)
    other = new_salt()
    vault.put(record, other)  # new entries go in the new format, in the same table
    body = vault.body(record_commitment(other, record))
    assert body is not None and body[:4] == b"CEV2"
    assert vault.get(record_commitment(other, record)) == (record, other)
    vault.close()


def test_a_body_that_does_not_inflate_is_an_integrity_error(
    tmp_path: Path, record: TreatmentRecord
) -> None:
    key = KeyStore(tmp_path / "keys").vault_key()
    vault = RecordVault(tmp_path / "vault", key)
    salt = new_salt()
    commitment = record_commitment(salt, record)
    nonce = secrets.token_bytes(12)
    # Authentic (the right key and commitment) but not a deflate stream.
    body = b"CEV2" + nonce + AESGCM(key).encrypt(nonce, b"\xff" * 40, commitment)
    vault.replace_body(commitment, body)
    with pytest.raises(VaultIntegrityError, match="the stored record cannot be read"):
        vault.get(commitment)
    vault.close()
