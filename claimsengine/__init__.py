"""claimsengine: a smart-contract engine for health-insurance claims.

The public API, for insurers, hospitals and adjudicators, is re-exported here; see
docs/architecture.md for the map of the modules behind it.
"""

import os as _os

# keccak256 is the engine's hottest hash (storage keys, tries, commitments). eth-hash picks
# pycryptodome first when both are installed; pysha3's C keccak is about 6x faster per call.
# A choice the user made in ETH_HASH_BACKEND is kept.
try:
    import sha3 as _sha3  # noqa: F401  (safe-pysha3)
except ImportError:  # pragma: no cover - the dependency is pinned
    pass
else:
    _os.environ.setdefault("ETH_HASH_BACKEND", "pysha3")

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
