"""claimsengine: a smart-contract engine for health-insurance claims.

The public API, for insurers, hospitals and adjudicators, is re-exported here; see
docs/architecture.md for the map of the modules behind it.
"""

import os as _os

from eth_hash.auto import keccak as _keccak


def _prefer_fast_keccak() -> None:
    """keccak256 is the engine's hottest hash (storage keys, tries, commitments). eth-hash
    picks pycryptodome first when both are installed; pysha3's C keccak is about 6x faster
    per call. eth-hash chooses its backend on its first call, once per process, so choose it
    here through its own setting, then take the setting back out of the environment so that
    no child process inherits it. A backend the user set in ETH_HASH_BACKEND is kept."""
    if "ETH_HASH_BACKEND" in _os.environ:
        return
    try:
        import sha3  # noqa: F401  (safe-pysha3)
    except ImportError:  # pragma: no cover - the dependency is pinned
        return
    _os.environ["ETH_HASH_BACKEND"] = "pysha3"
    try:
        _keccak(b"")
    finally:
        del _os.environ["ETH_HASH_BACKEND"]


_prefer_fast_keccak()

from claimsengine.errors import (  # noqa: E402
    ChainError,
    ClaimsError,
    InputError,
    NotAuthorised,
    NotFound,
    PlanError,
    RecordError,
    StateLocked,
    TransactionReverted,
)
from claimsengine.plan import Plan, Service, load_plan  # noqa: E402
from claimsengine.results import AccumulatorReport, ClaimResult, LineResult, Totals  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "AccumulatorReport",
    "ChainError",
    "ClaimResult",
    "ClaimsError",
    "InputError",
    "LineResult",
    "NotAuthorised",
    "NotFound",
    "Plan",
    "PlanError",
    "RecordError",
    "Service",
    "StateLocked",
    "Totals",
    "TransactionReverted",
    "__version__",
    "load_plan",
]
