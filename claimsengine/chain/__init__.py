"""The chain layer: one ``Chain`` interface, an embedded py-evm backend and a JSON-RPC one.

``open_chain`` is the one way the CLI and SDK pick a backend: ``--rpc URL`` gives an
``RpcChain``; otherwise the embedded chain kept in ``--state DIR``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from claimsengine.chain.base import DEV_ALIASES, Chain, Log, Receipt, decode_revert_reason
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
    "open_chain",
    "retry_transient",
]


def open_chain(
    *,
    state: Path | str | None = None,
    rpc: str | None = None,
    create: bool = False,
    on_wait: Callable[[], None] | None = None,
) -> Chain:
    """The chain a command should use: ``rpc`` if given, else the embedded one in ``state``."""
    if rpc is not None:
        return RpcChain(rpc)
    return EmbeddedChain.open(
        state if state is not None else ".claims", create=create, on_wait=on_wait
    )
