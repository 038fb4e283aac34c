"""What a state folder knows about the contracts deployed on each chain: ``deployments.json``.

Per chain (``embedded``, or ``rpc:<chain id>``): the engine's and the dev token's addresses,
and the plans' payer blocks that remittance needs. All of it is public (anyone can read it
off the chain or the plan file); the secrets (the key file, the vault, the salts) are kept
apart, by ``privacy.KeyStore`` and ``vault.RecordVault``.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from claimsengine.errors import InputError
from claimsengine.fieldreader import FieldReader
from claimsengine.payer import Payer, payer_from_dict, payer_to_dict

__all__ = ["DEPLOYMENTS_FILE", "Deployments"]

DEPLOYMENTS_FILE = "deployments.json"


class Deployments:
    """The registry of one state folder, seen from one chain (``chain_key``)."""

    def __init__(self, state_dir: Path, chain_key: str) -> None:
        self.state_dir = state_dir
        self.chain_key = chain_key

    @property
    def path(self) -> Path:
        return self.state_dir / DEPLOYMENTS_FILE

    def _all(self) -> dict[str, Any]:
        if not self.path.exists():
            return {}
        data: dict[str, Any] = json.loads(self.path.read_text())
        return data

    def entry(self) -> dict[str, Any]:
        """This chain's entry (empty when nothing is deployed on it yet)."""
        entry: dict[str, Any] = self._all().get(self.chain_key, {})
        return entry

    def remember(self, **values: Any) -> None:
        """Add ``values`` to this chain's entry; the file is replaced whole (atomically)."""
        registry = self._all()
        registry.setdefault(self.chain_key, {}).update(values)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", dir=self.state_dir, delete=False, suffix=".tmp"
        ) as tmp:
            json.dump(registry, tmp, indent=2)
        os.replace(tmp.name, self.path)

    def address(self, name: str) -> str | None:
        """The address of ``engine`` or ``dev_token`` on this chain, if one is known."""
        address = self.entry().get(name)
        return str(address) if address else None

    def remember_payer(self, plan_id: str, payer: Payer) -> None:
        payers = dict(self.entry().get("payers", {}))
        payers[plan_id] = payer_to_dict(payer)
        self.remember(payers=payers)

    def payer(self, plan_id: str) -> Payer | None:
        """The payer block recorded for the plan, if any (checked as a plan's is)."""
        data = self.entry().get("payers", {}).get(plan_id)
        if data is None:
            return None
        check = FieldReader(InputError, file=str(self.path))
        return payer_from_dict(data, check, f"payers.{plan_id}")
