"""claimsengine: a smart-contract engine for health-insurance claims.

The public API, for insurers, hospitals and adjudicators, is re-exported here; see
docs/architecture.md for the map of the modules behind it.
"""

import os as _os
from importlib import import_module as _import_module
from typing import TYPE_CHECKING, Any

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

# The public API, imported on first use (PEP 562), so that ``import claimsengine`` stays
# cheap: a command that only needs the records never pays for web3 or the chain. Each name
# maps to the module that defines it.
_EXPORTS: dict[str, str] = {
    # a state folder and its chain
    "Workspace": "claimsengine.workspace",
    # the three parties
    "AdjudicatorClient": "claimsengine.sdk",
    "HospitalClient": "claimsengine.sdk",
    "InsurerClient": "claimsengine.sdk",
    # inputs: plans, members, treatment records
    "Plan": "claimsengine.plan",
    "Service": "claimsengine.plan",
    "load_plan": "claimsengine.plan",
    "Member": "claimsengine.members",
    "load_members": "claimsengine.members",
    "LoadResult": "claimsengine.records",
    "RecordLine": "claimsengine.records",
    "TreatmentRecord": "claimsengine.records",
    "load_records": "claimsengine.records",
    # results (formats.md, "Result")
    "AccumulatorReport": "claimsengine.results",
    "ClaimResult": "claimsengine.results",
    "LineResult": "claimsengine.results",
    "ClaimStatus": "claimsengine.status",
    "Totals": "claimsengine.results",
    # errors: one root, ClaimsError, and its domain subclasses
    "ChainError": "claimsengine.errors",
    "ClaimsError": "claimsengine.errors",
    "InputError": "claimsengine.errors",
    "MissingRole": "claimsengine.errors",
    "NotAuthorised": "claimsengine.errors",
    "NotFound": "claimsengine.errors",
    "PlanError": "claimsengine.errors",
    "RecordError": "claimsengine.errors",
    "StateLocked": "claimsengine.errors",
    "TransactionReverted": "claimsengine.errors",
}

if TYPE_CHECKING:  # what type checkers and editors see; nothing is imported at run time
    from claimsengine.errors import (
        ChainError,
        ClaimsError,
        InputError,
        MissingRole,
        NotAuthorised,
        NotFound,
        PlanError,
        RecordError,
        StateLocked,
        TransactionReverted,
    )
    from claimsengine.members import Member, load_members
    from claimsengine.plan import Plan, Service, load_plan
    from claimsengine.records import LoadResult, RecordLine, TreatmentRecord, load_records
    from claimsengine.results import (
        AccumulatorReport,
        ClaimResult,
        LineResult,
        Totals,
    )
    from claimsengine.sdk import AdjudicatorClient, HospitalClient, InsurerClient
    from claimsengine.status import ClaimStatus
    from claimsengine.workspace import Workspace

__version__ = "0.1.0"

__all__ = [
    "AccumulatorReport",
    "AdjudicatorClient",
    "ChainError",
    "ClaimResult",
    "ClaimStatus",
    "ClaimsError",
    "HospitalClient",
    "InputError",
    "InsurerClient",
    "LineResult",
    "LoadResult",
    "Member",
    "MissingRole",
    "NotAuthorised",
    "NotFound",
    "Plan",
    "PlanError",
    "RecordError",
    "RecordLine",
    "Service",
    "StateLocked",
    "Totals",
    "TransactionReverted",
    "TreatmentRecord",
    "Workspace",
    "__version__",
    "load_members",
    "load_plan",
    "load_records",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_import_module(module), name)
    globals()[name] = value  # the next look-up is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
