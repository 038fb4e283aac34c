"""claimsengine: a smart-contract engine for health-insurance claims.

The public API, for insurers, hospitals and adjudicators, is re-exported here; see
docs/architecture.md for the map of the modules behind it.
"""

from claimsengine.errors import (
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
from claimsengine.plan import Plan, Service, load_plan
from claimsengine.results import AccumulatorReport, ClaimResult, LineResult, Totals

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
