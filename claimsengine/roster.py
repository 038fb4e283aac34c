"""The insurer's members, kept off-chain and encrypted at rest, so that `renew` can enrol
them in the next benefit period without the members file.

One SQLite file, ``members.sqlite`` in the state folder, with one row per (plan, member).
A row's tag is a keyed HMAC of the plan and member id (so a member id is never written in
clear, and a row can be found again), and its body is a 4-byte magic, a 12-byte random
nonce and the AES-256-GCM ciphertext of ``{"member_id", "coverage_start", "coverage_end",
"periods"}`` (canonical JSON), with the plan id and tag as associated data: a body moved to
another row, or changed in any byte, fails to decrypt. ``periods`` are the benefit periods
whose pseudonyms were enrolled with these dates; enrolment writes the row before it sends,
so the list never misses a period that the chain holds.

Both keys derive from the vault key (a ``KeyStore``'s, in another folder).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from claimsengine.errors import VaultIntegrityError
from claimsengine.privacy import KEY_BYTES
from claimsengine.vault import PrivateDb

__all__ = ["Roster", "RosterEntry"]

_MAGIC = b"CER1"
_NONCE_BYTES = 12
_FILE = "members.sqlite"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS members "
    "(plan_id TEXT NOT NULL, tag BLOB NOT NULL, body BLOB NOT NULL, PRIMARY KEY (plan_id, tag))"
)


@dataclass(frozen=True)
class RosterEntry:
    """One member of a plan: coverage days (end None: open-ended) and the enrolled periods."""

    member_id: str
    coverage_start: int
    coverage_end: int | None
    periods: tuple[int, ...]


class Roster(PrivateDb):
    """The members of each plan that this insurer enrolled."""

    schema = _SCHEMA

    def __init__(self, folder: Path | str, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) != KEY_BYTES:
            raise ValueError(f"the roster key must be {KEY_BYTES} bytes")
        self.folder = Path(folder)
        self.path = self.folder / _FILE
        self._tag_key = hmac.new(key, b"claimsengine roster tag", hashlib.sha256).digest()
        self._aead = AESGCM(hmac.new(key, b"claimsengine roster body", hashlib.sha256).digest())
        self._db: sqlite3.Connection | None = None

    def _tag(self, plan_id: str, member_id: str) -> bytes:
        message = json.dumps([plan_id, member_id]).encode("utf-8")
        return hmac.new(self._tag_key, message, hashlib.sha256).digest()

    def get(self, plan_id: str, member_id: str) -> RosterEntry | None:
        db = self._connection(create=False)
        if db is None:
            return None
        tag = self._tag(plan_id, member_id)
        row = db.execute(
            "SELECT body FROM members WHERE plan_id = ? AND tag = ?", (plan_id, tag)
        ).fetchone()
        return None if row is None else self._open(plan_id, tag, bytes(row[0]))

    def put_many(self, plan_id: str, entries: Iterable[RosterEntry]) -> None:
        """Store (or replace) entries in one transaction."""
        rows = []
        for entry in entries:
            tag = self._tag(plan_id, entry.member_id)
            plaintext = json.dumps(
                {
                    "member_id": entry.member_id,
                    "coverage_start": entry.coverage_start,
                    "coverage_end": entry.coverage_end,
                    "periods": list(entry.periods),
                },
                sort_keys=True,
                separators=(",", ":"),
            ).encode("utf-8")
            nonce = secrets.token_bytes(_NONCE_BYTES)
            body = _MAGIC + nonce + self._aead.encrypt(nonce, plaintext, self._aad(plan_id, tag))
            rows.append((plan_id, tag, body))
        if not rows:
            return
        db = self._connection(create=True)
        assert db is not None
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                "INSERT OR REPLACE INTO members (plan_id, tag, body) VALUES (?, ?, ?)", rows
            )
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def forget_many(self, plan_id: str, member_ids: Iterable[str]) -> None:
        """Remove members' entries (those a refused enrolment wrote), in one transaction."""
        tags = [(plan_id, self._tag(plan_id, member_id)) for member_id in member_ids]
        db = self._connection(create=False)
        if db is None or not tags:
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany("DELETE FROM members WHERE plan_id = ? AND tag = ?", tags)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def members(self, plan_id: str) -> Iterator[RosterEntry]:
        """The plan's members, in no particular order."""
        db = self._connection(create=False)
        if db is None:
            return
        query = "SELECT tag, body FROM members WHERE plan_id = ?"
        for tag, body in db.execute(query, (plan_id,)).fetchall():
            yield self._open(plan_id, bytes(tag), bytes(body))

    @staticmethod
    def _aad(plan_id: str, tag: bytes) -> bytes:
        return plan_id.encode("utf-8") + b"\x00" + tag

    def _open(self, plan_id: str, tag: bytes, body: bytes) -> RosterEntry:
        where = f"{self.path} (plan {plan_id}, row 0x{tag.hex()[:16]}…)"
        if len(body) < len(_MAGIC) + _NONCE_BYTES + 16 or not body.startswith(_MAGIC):
            raise VaultIntegrityError(f"{where}: not a roster entry (damaged or truncated)")
        nonce = body[len(_MAGIC) : len(_MAGIC) + _NONCE_BYTES]
        try:
            plaintext = self._aead.decrypt(
                nonce, body[len(_MAGIC) + _NONCE_BYTES :], self._aad(plan_id, tag)
            )
            data = json.loads(plaintext)
            end = data["coverage_end"]
            return RosterEntry(
                member_id=str(data["member_id"]),
                coverage_start=int(data["coverage_start"]),
                coverage_end=None if end is None else int(end),
                periods=tuple(int(p) for p in data["periods"]),
            )
        except InvalidTag:
            raise VaultIntegrityError(
                f"{where}: the entry does not authenticate: it was changed, moved, or "
                "encrypted under another key",
                hint="restore members.sqlite from a backup, and check that the right "
                "keys.json is used",
            ) from None
        except (ValueError, KeyError, TypeError) as error:
            raise VaultIntegrityError(f"{where}: the entry cannot be read: {error}") from None
