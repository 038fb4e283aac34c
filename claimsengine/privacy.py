"""What stands in for PHI on the chain: keyed member pseudonyms and salted record commitments.

- A member goes on-chain as HMAC-SHA256(plan pseudonym key, period || member_id), where
  period is the benefit period number (8 bytes, big-endian). A plain hash of a member id
  could be reversed by hashing every likely id; without the plan's key it cannot. One key
  per plan, so the same person is unlinkable across plans; and a new pseudonym in each
  benefit period, so whoever lacks the key cannot link a member's claims across periods.
- A record goes on-chain as keccak256(salt || canonical record bytes), with a 32-byte secret
  salt per record, so the commitment reveals nothing, yet an auditor given the record and its
  salt can check it against the chain. The workspace derives the salt with a keyed HMAC of
  the record (``Workspace.record_salt``), so the same record always has the same commitment
  and is never submitted twice; ``new_salt`` gives a random one for other uses.

Keys live in a ``KeyStore``: one ``keys.json`` (mode 0600) in a folder the caller chooses,
apart from the data (the vault, the journal, the records). Losing it makes pseudonyms
unreproducible and the vault unreadable: back it up, separately from the data.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eth_hash.auto import keccak

from claimsengine.errors import ClaimsError

if TYPE_CHECKING:  # records are only hashed here; a reader of pseudonyms never loads them
    from claimsengine.records import TreatmentRecord

__all__ = [
    "KEY_BYTES",
    "SALT_BYTES",
    "KeyStore",
    "member_pseudonym",
    "new_plan_key",
    "new_salt",
    "record_commitment",
]

KEY_BYTES = 32
SALT_BYTES = 32
#: The width of the benefit period number in a pseudonym's HMAC message.
PERIOD_BYTES = 8
KEY_FILE = "keys.json"
#: 2: per-period member pseudonyms. A version 1 file belongs to a state folder whose
#: members have one pseudonym per plan, which per-period pseudonyms must not mix with.
_FORMAT_VERSION = 2


def new_salt() -> bytes:
    """32 random bytes from the OS's secure source, for one record commitment."""
    return secrets.token_bytes(SALT_BYTES)


def new_plan_key() -> bytes:
    """A new 32-byte secret key (a plan's pseudonym key, or a vault key)."""
    return secrets.token_bytes(KEY_BYTES)


def member_pseudonym(key: bytes, period: int, member_id: str) -> bytes:
    """The member's on-chain id in one benefit period:
    HMAC-SHA256(key, period as 8 bytes big-endian || UTF-8 member_id), 32 bytes.

    The period comes first and has a fixed width, so no (period, member id) pair can be
    written as another. The member id is used exactly as written (no trimming or case
    folding): "M-0001" and "m-0001" are different members.
    """
    _check_key(key)
    if isinstance(period, bool) or not isinstance(period, int) or not 0 <= period < 2**64:
        raise ValueError("period must be a benefit period number, 0 or more")
    if not isinstance(member_id, str) or not member_id:
        raise ValueError("member_id must be a non-empty string")
    message = period.to_bytes(PERIOD_BYTES, "big") + member_id.encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).digest()


def record_commitment(salt: bytes, record: TreatmentRecord) -> bytes:
    """keccak256(salt || record.canonical_bytes()), 32 bytes; the salt must be 32 bytes."""
    if not isinstance(salt, bytes) or len(salt) != SALT_BYTES:
        raise ValueError(f"the salt must be {SALT_BYTES} bytes (use new_salt())")
    return bytes(keccak(salt + record.canonical_bytes()))


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes) or len(key) != KEY_BYTES:
        raise ValueError(f"a key must be {KEY_BYTES} bytes (use new_plan_key())")


class KeyStore:
    """The secret keys of one party, in ``<folder>/keys.json`` (mode 0600, folder 0700).

    Keys are created on first use and never replaced: a replaced pseudonym key would turn
    every enrolled member into a stranger. Writes are atomic and serialised with a lock file,
    so two processes creating keys at once cannot lose one.
    """

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)
        self.path = self.folder / KEY_FILE

    def pseudonym_key(self, plan_id: str) -> bytes:
        """The plan's pseudonym key, created on first use."""
        if not isinstance(plan_id, str) or not plan_id:
            raise ValueError("plan_id must be a non-empty string")
        return self._get_or_create(("plans", plan_id))

    def import_pseudonym_key(self, plan_id: str, key: bytes) -> bool:
        """Keep a plan's key received from its insurer (a key bundle). False when this very
        key is already kept; a different key for the plan is refused, never replaced."""
        _check_key(key)
        with self._locked():
            data = self._read()
            existing = self._lookup(data, "plans", plan_id)
            if existing == key:
                return False
            if existing is not None:
                raise ClaimsError(
                    f"{self.path} already holds another pseudonym key for plan {plan_id}",
                    hint="a plan has one key: use a fresh --state for a bundle from elsewhere",
                )
            data.setdefault("plans", {})[plan_id] = key.hex()
            self._write(data)
            return True

    def vault_key(self) -> bytes:
        """The key of the encrypted record vault, created on first use."""
        return self._get_or_create(("vault", None))

    def plans(self) -> list[str]:
        """The plans that have a pseudonym key."""
        return sorted(self._read().get("plans", {}))

    def check_apart_from(self, *folders: Path | str) -> None:
        """Refuse a data folder that holds the key file, or is held by the key folder.

        The keys must not travel with the data: a copy of the vault must not carry its key.
        """
        keys = self.folder.resolve()
        for folder in folders:
            data = Path(folder).resolve()
            if keys == data or keys.is_relative_to(data) or data.is_relative_to(keys):
                raise ClaimsError(
                    f"the key folder {self.folder} and the data folder {folder} overlap",
                    hint="keep keys.json in a folder of its own, outside the data folders",
                )

    # -- storage -------------------------------------------------------------------------

    def _get_or_create(self, where: tuple[str, str | None]) -> bytes:
        section, name = where
        existing = self._lookup(self._read(), section, name)
        if existing is not None:
            return existing
        with self._locked():
            data = self._read()  # again, under the lock: another process may have written
            existing = self._lookup(data, section, name)
            if existing is not None:
                return existing
            key = new_plan_key()
            if name is None:
                data[section] = key.hex()
            else:
                data.setdefault(section, {})[name] = key.hex()
            self._write(data)
            return key

    def _lookup(self, data: dict[str, Any], section: str, name: str | None) -> bytes | None:
        value = data.get(section)
        if name is not None:
            value = value.get(name) if isinstance(value, dict) else None
        if value is None:
            return None
        try:
            key = bytes.fromhex(value)
        except (TypeError, ValueError):
            key = b""
        if len(key) != KEY_BYTES:
            where = section if name is None else f"{section}.{name}"
            raise ClaimsError(
                f"{self.path}: the key {where} is damaged", hint="restore keys.json from its backup"
            )
        return key

    def _read(self) -> dict[str, Any]:
        try:
            mode = self.path.stat().st_mode
        except FileNotFoundError:
            return {"version": _FORMAT_VERSION}
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ClaimsError(
                f"{self.path} can be read by other users (mode {stat.S_IMODE(mode):o})",
                hint=f"run: chmod 600 {self.path}",
            )
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ClaimsError(
                f"{self.path}: cannot read the key file: {error}",
                hint="restore keys.json from its backup",
            ) from None
        if isinstance(data, dict) and data.get("version") == 1:
            raise ClaimsError(
                f"{self.path} was made by an older claimsengine, which gave each member one "
                "pseudonym per plan; this version gives a new pseudonym in each benefit period, "
                "and the two cannot be mixed",
                hint="start afresh: a new --state (and CLAIMS_KEYS_DIR) on a new chain",
            )
        if not isinstance(data, dict) or data.get("version") != _FORMAT_VERSION:
            raise ClaimsError(
                f"{self.path}: not a key file of this version",
                hint="restore keys.json from its backup",
            )
        return data

    def _write(self, data: dict[str, Any]) -> None:
        temporary = self.path.with_name(f".{KEY_FILE}.{os.getpid()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(self.folder / f".{KEY_FILE}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
            os.close(descriptor)
