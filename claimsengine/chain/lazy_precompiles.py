"""Defer py-evm's BLS12-381 precompiles until a contract calls one.

Importing py-evm loads its Prague precompiles, and the BLS12-381 ones pull in py_ecc's
curve arithmetic: about 0.2 s of every `claims` command that opens the embedded chain,
for precompiles the engine never calls. Before py-evm is imported, this module registers
`eth.precompiles.bls12_381` as a package whose seven precompile functions import the real
implementation on their first call and hand it the computation. Behaviour is unchanged:
the same functions run, only later (tests/unit/test_lazy_precompiles.py calls one).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any

_PACKAGE = "eth.precompiles.bls12_381"
_FUNCTIONS = {
    "bls12_g1_add": "bls12_381_g1",
    "bls12_g1_msm": "bls12_381_g1",
    "bls12_map_fp_to_g1": "bls12_381_g1",
    "bls12_g2_add": "bls12_381_g2",
    "bls12_g2_msm": "bls12_381_g2",
    "bls12_map_fp2_to_g2": "bls12_381_g2",
    "bls12_pairing_check": "bls12_381_pairing",
}


def _deferred(name: str, submodule: str) -> Any:
    def precompile(*args: Any, **kwargs: Any) -> Any:
        real = getattr(importlib.import_module(f"{_PACKAGE}.{submodule}"), name)
        return real(*args, **kwargs)

    precompile.__name__ = name
    return precompile


def install() -> None:
    """Register the deferred package, unless py-evm's precompiles are already loaded."""
    if _PACKAGE in sys.modules or "eth.precompiles" in sys.modules:
        return
    spec = importlib.util.find_spec("eth")
    if spec is None or not spec.submodule_search_locations:
        return
    folder = f"{next(iter(spec.submodule_search_locations))}/precompiles/bls12_381"
    package = types.ModuleType(_PACKAGE)
    package.__path__ = [folder]
    package.__package__ = _PACKAGE
    for name, submodule in _FUNCTIONS.items():
        setattr(package, name, _deferred(name, submodule))
    sys.modules[_PACKAGE] = package


install()
