"""Signing keys for real networks: encrypted keystore files, never keys on a command line.

On a dev node the aliases name the node's own unlocked accounts and nothing here is needed.
On a real network each alias (``insurer``, ``hospital-1`` ...) is an encrypted keystore file
(the standard Web3 Secret Storage JSON that geth, clef and eth-account write). The password
comes from ``CLAIMS_KEYSTORE_PASSWORD`` or from a prompt callback the CLI supplies.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_utils import to_checksum_address

from claimsengine.errors import ChainError

__all__ = [
    "PASSWORD_ENV",
    "LocalSigner",
    "create_keystore",
    "load_keystore",
    "load_keystore_dir",
]

PASSWORD_ENV = "CLAIMS_KEYSTORE_PASSWORD"

#: Asked for a password, given what it unlocks (e.g. "keystore insurer.json").
PasswordPrompt = Callable[[str], str]


@dataclass(frozen=True)
class LocalSigner:
    """An account whose key is held in this process; signs transactions locally."""

    address: str
    _key: bytes = field(repr=False)

    def sign_transaction(self, transaction: Mapping[str, Any]) -> tuple[bytes, bytes]:
        """Sign an eth-account transaction dict; returns (raw transaction, transaction hash)."""
        signed = Account.sign_transaction(dict(transaction), self._key)
        return bytes(signed.raw_transaction), bytes(signed.hash)

    @property
    def private_key(self) -> bytes:
        """The raw key, to open what was sealed to this account (key bundles). Never print
        it or write it anywhere."""
        return self._key

    @classmethod
    def from_key(cls, private_key: bytes) -> LocalSigner:
        """A signer for a raw 32-byte key (tests and dev tooling; not for user input)."""
        return cls(Account.from_key(private_key).address, bytes(private_key))


def load_keystore(
    path: Path | str,
    *,
    password: str | None = None,
    prompt: PasswordPrompt | None = None,
) -> LocalSigner:
    """Decrypt one keystore file.

    The password is ``password`` if given, else ``$CLAIMS_KEYSTORE_PASSWORD``, else what
    ``prompt`` returns. Raises ``ChainError`` when the file is unreadable or the password
    is wrong.
    """
    path = Path(path)
    try:
        encrypted = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ChainError(f"cannot read keystore {path}: {error}") from error
    secret = _password(path, password, prompt)
    try:
        key = Account.decrypt(encrypted, secret)
    except ValueError as error:
        raise ChainError(
            f"cannot unlock keystore {path}: wrong password or damaged file",
            hint=f"check ${PASSWORD_ENV}",
        ) from error
    signer = LocalSigner.from_key(bytes(key))
    declared = encrypted.get("address")
    if declared and to_checksum_address("0x" + declared.removeprefix("0x")) != signer.address:
        raise ChainError(f"keystore {path} names {declared} but holds the key of {signer.address}")
    return signer


def load_keystore_dir(
    directory: Path | str,
    *,
    password: str | None = None,
    prompt: PasswordPrompt | None = None,
) -> dict[str, LocalSigner]:
    """Every ``ALIAS.json`` keystore in ``directory``, keyed by alias (file name stem)."""
    directory = Path(directory)
    files = sorted(directory.glob("*.json"))
    if not files:
        raise ChainError(f"no keystore files (ALIAS.json) in {directory}")
    return {file.stem: load_keystore(file, password=password, prompt=prompt) for file in files}


def create_keystore(
    path: Path | str,
    password: str,
    *,
    private_key: bytes | None = None,
    iterations: int | None = None,
) -> LocalSigner:
    """Write a new encrypted keystore (a fresh random key unless one is given).

    ``iterations`` lowers the scrypt cost for tests; leave it None for real keys.
    """
    account = Account.from_key(private_key) if private_key is not None else Account.create()
    encrypted = Account.encrypt(account.key, password, iterations=iterations)
    path = Path(path)
    # Created 0600 from the start: the file is encrypted, but there is no reason to share it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(encrypted, handle)
    return LocalSigner(account.address, bytes(account.key))


def _password(path: Path, password: str | None, prompt: PasswordPrompt | None) -> str:
    if password is not None:
        return password
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env is not None:
        return from_env
    if prompt is not None:
        return prompt(f"password for keystore {path.name}")
    raise ChainError(
        f"no password for keystore {path}",
        hint=f"set ${PASSWORD_ENV} (never put a password or key on the command line)",
    )
