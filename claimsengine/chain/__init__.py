"""The chain layer: one ``Chain`` interface, an embedded py-evm backend and a JSON-RPC one.

Everything above it (engine, SDK, CLI) talks to ``Chain`` only. ``Workspace.open`` picks the
backend: ``--rpc URL`` gives an ``RpcChain``, otherwise the ``EmbeddedChain`` in ``--state``.
The two backends are imported on first use, so a command on the embedded chain never pays
for importing web3 (about 0.3 s), and one over JSON-RPC never pays for py-evm.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from claimsengine.chain import lazy_precompiles  # noqa: F401  (before anything imports py-evm)
from claimsengine.chain.base import DEV_ALIASES, Chain, Log, Receipt, decode_revert_reason

if TYPE_CHECKING:
    from claimsengine.chain.embedded import EmbeddedChain
    from claimsengine.chain.rpc import RpcChain, retry_transient

__all__ = [
    "DEV_ALIASES",
    "Chain",
    "EmbeddedChain",
    "Log",
    "Receipt",
    "RpcChain",
    "decode_revert_reason",
    "retry_transient",
]


def __getattr__(name: str) -> object:
    if name == "EmbeddedChain":
        from claimsengine.chain.embedded import EmbeddedChain

        return EmbeddedChain
    if name in ("RpcChain", "retry_transient"):
        from claimsengine.chain import rpc

        return getattr(rpc, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
