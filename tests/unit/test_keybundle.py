"""Key bundles: sealed to one account, bound to their chain, engine and plan, tamper-evident."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import coincurve
import pytest

from claimsengine.errors import ClaimsError, InputError
from claimsengine.keybundle import (
    KeyBundle,
    address_of_public_key,
    open_bundle,
    parse_public_key,
    seal,
)
from claimsengine.privacy import KeyStore, new_plan_key

#: anvil's account 3 (`hospital-1`): a public test key, and its well-known address.
HOSPITAL_KEY = bytes.fromhex("7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6")
HOSPITAL = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
ENGINE = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"


def public_key(private_key: bytes) -> bytes:
    return coincurve.PrivateKey(private_key).public_key.format(compressed=False)


def sealed(plan_key: bytes) -> KeyBundle:
    return seal(
        plan_key,
        chain_id=1337,
        engine=ENGINE,
        plan_id="SILVER-2027",
        public_key=public_key(HOSPITAL_KEY),
    )


def test_the_recipient_opens_what_was_sealed_to_it() -> None:
    plan_key = new_plan_key()
    bundle = sealed(plan_key)
    assert bundle.recipient == HOSPITAL == address_of_public_key(public_key(HOSPITAL_KEY))
    assert plan_key not in bundle.ciphertext
    assert open_bundle(bundle, HOSPITAL_KEY) == plan_key
    # Fresh randomness each time: two bundles of one key look unrelated.
    assert sealed(plan_key).ciphertext != bundle.ciphertext


def test_another_account_cannot_open_it() -> None:
    other = bytes.fromhex("47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a")
    with pytest.raises(ClaimsError) as refused:
        open_bundle(sealed(new_plan_key()), other, source=Path("b.json"))
    assert refused.value.message == (
        f"b.json: the key bundle is for {HOSPITAL}, not for "
        "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"
    )


@pytest.mark.parametrize(
    "change",
    [
        {"chain_id": 31337},
        {"engine": "0x5FbDB2315678afecb367f032d93F642f64180aa3"},
        {"plan_id": "GOLD-2027"},
    ],
)
def test_a_changed_field_does_not_open(change: dict[str, object]) -> None:
    bundle = replace(sealed(new_plan_key()), **change)  # type: ignore[arg-type]
    with pytest.raises(ClaimsError, match="the key bundle was changed or damaged"):
        open_bundle(bundle, HOSPITAL_KEY)


def test_a_changed_ciphertext_does_not_open() -> None:
    bundle = sealed(new_plan_key())
    flipped = bytearray(bundle.ciphertext)
    flipped[-1] ^= 1
    with pytest.raises(ClaimsError, match="the key bundle was changed or damaged"):
        open_bundle(replace(bundle, ciphertext=bytes(flipped)), HOSPITAL_KEY)
    with pytest.raises(ClaimsError, match="cut short"):
        open_bundle(replace(bundle, ciphertext=bundle.ciphertext[:20]), HOSPITAL_KEY)


def test_the_file_round_trips_and_names_what_is_wrong(tmp_path: Path) -> None:
    plan_key = new_plan_key()
    path = tmp_path / "bundle.json"
    sealed(plan_key).write(path)
    data = json.loads(path.read_text())
    assert list(data) == ["version", "chain_id", "engine", "plan_id", "recipient", "ciphertext"]
    assert open_bundle(KeyBundle.read(path), HOSPITAL_KEY) == plan_key

    for edit, expected in (
        (
            {"version": 2},
            "field version: key bundle version 2 is not supported (this reads version 1)",
        ),
        ({"chain_id": "1337"}, "field chain_id: must be a positive integer"),
        ({"recipient": "hospital-1"}, "field recipient: must be an address"),
        ({"ciphertext": "0xzz"}, "field ciphertext: must be hex"),
    ):
        path.write_text(json.dumps({**data, **edit}))
        with pytest.raises(InputError) as bad:
            KeyBundle.read(path)
        assert str(bad.value) == f"{path}: {expected}"
    path.write_text(json.dumps({k: v for k, v in data.items() if k != "engine"}))
    with pytest.raises(InputError, match="field engine: is missing: not a key bundle"):
        KeyBundle.read(path)
    path.write_text("{")
    with pytest.raises(InputError, match="not a key bundle \\(not JSON"):
        KeyBundle.read(path)


def test_public_keys_in_every_usual_form() -> None:
    full = public_key(HOSPITAL_KEY)
    compressed = coincurve.PublicKey(full).format(compressed=True)
    for text in ("0x" + full.hex(), full[1:].hex(), "0x" + compressed.hex()):
        assert parse_public_key(text) == full
    with pytest.raises(ClaimsError, match="is not a secp256k1 public key"):
        parse_public_key("0x04" + "00" * 64)


def test_an_imported_key_is_kept_and_never_replaced(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    plan_key = new_plan_key()
    assert store.import_pseudonym_key("SILVER-2027", plan_key) is True
    assert store.import_pseudonym_key("SILVER-2027", plan_key) is False
    assert store.pseudonym_key("SILVER-2027") == plan_key
    with pytest.raises(ClaimsError, match="already holds another pseudonym key"):
        store.import_pseudonym_key("SILVER-2027", new_plan_key())
