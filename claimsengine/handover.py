"""Handing a plan to a hospital on another machine: export and import of key bundles.

The insurer seals the plan's pseudonym key to the hospital account's public key
(keybundle.py). The hospital, from an empty state folder, imports it: the bundle names the
chain and the engine, so the folder learns where the engine is and keeps the plan key, and
its next `claims --rpc URL submit` just works. No plaintext key leaves a state folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from claimsengine.chain.base import Chain
from claimsengine.errors import ClaimsError, NotFound
from claimsengine.keybundle import KeyBundle, open_bundle, parse_public_key, seal
from claimsengine.workspace import Workspace

__all__ = ["ImportedBundle", "export_bundle", "import_bundle", "private_key_for", "public_key_for"]

_PUBLIC_KEY_HEX_DIGITS = (66, 128, 130)  # compressed, x‖y, 04‖x‖y


def public_key_for(chain: Chain, who: str) -> bytes:
    """The public key to seal to: given as hex, or an alias or address's, when it is a dev
    account (its key is public) or has signed a transaction on this chain."""
    if len(who.removeprefix("0x")) in _PUBLIC_KEY_HEX_DIGITS:
        return parse_public_key(who)
    address = chain.address_of(who)
    from claimsengine.chain.embedded import dev_private_keys

    dev_key = dev_private_keys().get(address)
    if dev_key is not None:
        import coincurve

        return coincurve.PrivateKey(dev_key).public_key.format(compressed=False)
    recover = getattr(chain, "public_key_of", None)
    recovered = recover(address) if recover is not None else None
    if recovered is not None:
        return bytes(recovered)
    where = "" if recover is not None else " (reading keys from transactions needs --rpc)"
    raise ClaimsError(
        f"no public key is known for {address}: it has signed no transaction on this chain{where}",
        hint="pass the account's public key instead: --to 0x04… (130 hex digits)",
    )


def private_key_for(chain: Chain, who: str, keystore: Path | None) -> bytes:
    """The private key that opens a bundle sealed to ``who``: from a keystore file, or a dev
    account's public test key."""
    if keystore is not None:
        from claimsengine.chain.accounts import load_keystore

        return load_keystore(keystore).private_key
    address = chain.address_of(who)
    from claimsengine.chain.embedded import dev_private_keys

    dev_key = dev_private_keys().get(address)
    if dev_key is None:
        raise ClaimsError(
            f"no key here for {address} to open the bundle with",
            hint="give the account's keystore file with --keystore FILE "
            "(password in $CLAIMS_KEYSTORE_PASSWORD)",
        )
    return dev_key


def export_bundle(workspace: Workspace, plan_id: str, public_key: bytes) -> KeyBundle:
    """The plan's key sealed to ``public_key``, for this chain and engine."""
    workspace.plan(plan_id)  # NotFound names a plan that is not on the chain
    if plan_id not in workspace.keys.plans():
        raise NotFound(
            f"this workspace has no pseudonym key for plan {plan_id}",
            hint="export from the insurer's state folder (the one that deployed the plan)",
        )
    return seal(
        workspace.keys.pseudonym_key(plan_id),
        chain_id=workspace.chain.chain_id,
        engine=workspace.engine.address,
        plan_id=plan_id,
        public_key=public_key,
    )


@dataclass(frozen=True)
class ImportedBundle:
    plan_id: str
    engine: str
    chain_id: int
    recipient: str
    new_key: bool


def import_bundle(
    workspace: Workspace, bundle: KeyBundle, private_key: bytes, *, source: Path
) -> ImportedBundle:
    """Open ``bundle`` and set the state folder up for its plan: the engine's address and
    the plan's key. Refuses a bundle for another chain, engine or account, or a changed one.
    """
    chain_id = workspace.chain.chain_id
    if bundle.chain_id != chain_id:
        raise ClaimsError(
            f"{source}: the key bundle is for chain {bundle.chain_id}, but this chain is "
            f"{chain_id}",
            hint="point --rpc at the chain the insurer runs the plan on",
        )
    plan_key = open_bundle(bundle, private_key, source=source)  # account, then integrity
    known = workspace.deployed_engine()
    if known is not None and known != bundle.engine:
        raise ClaimsError(
            f"{workspace.state_dir} already works with the engine at {known}; the bundle "
            f"is for {bundle.engine}",
            hint="import it into a fresh --state folder",
        )
    workspace.use_engine(bundle.engine, bundle.plan_id)
    new_key = workspace.keys.import_pseudonym_key(bundle.plan_id, plan_key)
    return ImportedBundle(bundle.plan_id, bundle.engine, chain_id, bundle.recipient, new_key)
