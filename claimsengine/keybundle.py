"""Key bundles: a plan's pseudonym key sealed to one account, to hand to a hospital.

A bundle (formats.md, Key bundle) is a JSON object::

    {"version": 1, "chain_id", "engine", "plan_id", "recipient": "<address>", "ciphertext"}

The ciphertext is ECIES to the recipient account's secp256k1 public key: an ephemeral key
pair, ECDH with the recipient's key (the shared point's x coordinate), HKDF-SHA256 to an
AES-256-GCM key, and the plan key encrypted under it. The bundle's other fields are the
GCM associated data, so changing any of them (or a byte of the ciphertext) makes opening
fail. Only the holder of the recipient account's private key can open it.

Layout of ``ciphertext`` (hex): ephemeral public key (33 bytes, compressed) ‖ nonce (12) ‖
AES-GCM output (the 32-byte key and the 16-byte tag).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import coincurve
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from eth_utils import is_address, keccak, to_checksum_address

from claimsengine.errors import ClaimsError, InputError

__all__ = [
    "BUNDLE_VERSION",
    "KeyBundle",
    "address_of_public_key",
    "open_bundle",
    "parse_public_key",
    "seal",
]

BUNDLE_VERSION = 1
_HKDF_INFO = b"claimsengine key bundle v1"
_EPHEMERAL = 33
_NONCE = 12
_FIELDS = ("version", "chain_id", "engine", "plan_id", "recipient", "ciphertext")


@dataclass(frozen=True)
class KeyBundle:
    """One plan key, sealed to ``recipient`` for the engine at ``engine`` on ``chain_id``."""

    chain_id: int
    engine: str
    plan_id: str
    recipient: str
    ciphertext: bytes

    def to_json(self) -> dict[str, Any]:
        return {**self._header(), "ciphertext": "0x" + self.ciphertext.hex()}

    def _header(self) -> dict[str, Any]:
        return {
            "version": BUNDLE_VERSION,
            "chain_id": self.chain_id,
            "engine": self.engine,
            "plan_id": self.plan_id,
            "recipient": self.recipient,
        }

    def associated_data(self) -> bytes:
        """What the ciphertext is bound to: every other field, canonically encoded."""
        return json.dumps(self._header(), sort_keys=True, separators=(",", ":")).encode()

    def write(self, path: Path) -> None:
        """Write the bundle (nothing secret in the clear) to ``path``, atomically."""
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")
        os.replace(temporary, path)

    @classmethod
    def read(cls, path: Path) -> KeyBundle:
        """Read and check a bundle file; errors name the file and the field."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as error:
            raise InputError(f"cannot read the key bundle: {error}", file=str(path)) from None
        except ValueError as error:
            raise InputError(f"not a key bundle (not JSON: {error})", file=str(path)) from None
        return cls.from_json(data, path)

    @classmethod
    def from_json(cls, data: Any, path: Path) -> KeyBundle:
        source = str(path)
        if not isinstance(data, dict):
            raise InputError("not a key bundle (expected a JSON object)", file=source)
        missing = [name for name in _FIELDS if name not in data]
        if missing:
            raise InputError(
                "is missing: not a key bundle", file=source, field=missing[0], hint="re-export it"
            )
        if data["version"] != BUNDLE_VERSION:
            raise InputError(
                f"key bundle version {data['version']!r} is not supported (this reads "
                f"version {BUNDLE_VERSION})",
                file=source,
                field="version",
            )
        chain_id = data["chain_id"]
        if not isinstance(chain_id, int) or isinstance(chain_id, bool) or chain_id <= 0:
            raise InputError("must be a positive integer", file=source, field="chain_id")
        for name in ("engine", "recipient"):
            if not isinstance(data[name], str) or not is_address(data[name]):
                raise InputError("must be an address", file=source, field=name)
        if not isinstance(data["plan_id"], str) or not data["plan_id"]:
            raise InputError("must be a plan id", file=source, field="plan_id")
        try:
            ciphertext = bytes.fromhex(str(data["ciphertext"]).removeprefix("0x"))
        except ValueError:
            raise InputError("must be hex", file=source, field="ciphertext") from None
        return cls(
            chain_id=chain_id,
            engine=to_checksum_address(data["engine"]),
            plan_id=data["plan_id"],
            recipient=to_checksum_address(data["recipient"]),
            ciphertext=ciphertext,
        )


def parse_public_key(text: str) -> bytes:
    """A secp256k1 public key from hex (65 bytes 04…, 64 bytes x‖y, or 33 bytes 02/03…),
    as 65 uncompressed bytes. Raises ``ClaimsError`` for anything that is not a curve point."""
    raw = text.removeprefix("0x")
    try:
        key = bytes.fromhex(raw)
    except ValueError:
        key = b""
    if len(key) == 64:
        key = b"\x04" + key
    try:
        return coincurve.PublicKey(key).format(compressed=False)
    except (ValueError, TypeError):
        raise ClaimsError(
            f"{text!r} is not a secp256k1 public key",
            hint="give 0x04 followed by 128 hex digits (or the 33-byte compressed form)",
        ) from None


def address_of_public_key(public_key: bytes) -> str:
    """The Ethereum address of a public key (65-byte uncompressed form)."""
    return to_checksum_address(keccak(public_key[1:])[-20:])


def seal(
    plan_key: bytes, *, chain_id: int, engine: str, plan_id: str, public_key: bytes
) -> KeyBundle:
    """A bundle of ``plan_key`` that only the owner of ``public_key`` can open."""
    recipient_key = coincurve.PublicKey(public_key)
    header = KeyBundle(
        chain_id=chain_id,
        engine=to_checksum_address(engine),
        plan_id=plan_id,
        recipient=address_of_public_key(recipient_key.format(compressed=False)),
        ciphertext=b"",
    )
    ephemeral = coincurve.PrivateKey()
    ephemeral_public = ephemeral.public_key.format(compressed=True)
    aes_key = _derive(recipient_key.multiply(ephemeral.secret), ephemeral_public)
    nonce = os.urandom(_NONCE)
    sealed = AESGCM(aes_key).encrypt(nonce, plan_key, header.associated_data())
    return KeyBundle(
        chain_id=header.chain_id,
        engine=header.engine,
        plan_id=plan_id,
        recipient=header.recipient,
        ciphertext=ephemeral_public + nonce + sealed,
    )


def open_bundle(bundle: KeyBundle, private_key: bytes, *, source: Path | None = None) -> bytes:
    """The plan key in ``bundle``, opened with the recipient account's private key.

    Raises ``ClaimsError`` when the key is another account's, or the bundle was changed.
    """
    secret = coincurve.PrivateKey(private_key)
    holder = address_of_public_key(secret.public_key.format(compressed=False))
    where = f"{source}: " if source else ""
    if holder != bundle.recipient:
        raise ClaimsError(
            f"{where}the key bundle is for {bundle.recipient}, not for {holder}",
            hint="import it as the account it was exported to (--as), or ask the insurer "
            "for a bundle made for this account",
        )
    ciphertext = bundle.ciphertext
    if len(ciphertext) < _EPHEMERAL + _NONCE + 16:
        raise ClaimsError(f"{where}the key bundle's ciphertext is cut short", hint="re-export it")
    ephemeral_public = ciphertext[:_EPHEMERAL]
    nonce = ciphertext[_EPHEMERAL : _EPHEMERAL + _NONCE]
    try:
        shared = coincurve.PublicKey(ephemeral_public).multiply(private_key)
        aes_key = _derive(shared, ephemeral_public)
        return AESGCM(aes_key).decrypt(
            nonce, ciphertext[_EPHEMERAL + _NONCE :], bundle.associated_data()
        )
    except (InvalidTag, ValueError):
        raise ClaimsError(
            f"{where}the key bundle was changed or damaged: it does not open",
            hint="ask the insurer for a fresh bundle; do not edit bundle files",
        ) from None


def _derive(shared_point: coincurve.PublicKey, salt: bytes) -> bytes:
    shared_x = shared_point.format(compressed=True)[1:]
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=_HKDF_INFO).derive(shared_x)
