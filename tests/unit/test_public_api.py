"""The public API at the package root: every name resolves, and importing it stays cheap."""

from __future__ import annotations

import subprocess
import sys
from importlib import import_module

import pytest

import claimsengine

PUBLIC = [name for name in claimsengine.__all__ if name != "__version__"]


@pytest.mark.parametrize("name", PUBLIC)
def test_each_public_name_resolves_to_its_home(name: str) -> None:
    value = getattr(claimsengine, name)
    home = import_module(claimsengine._EXPORTS[name])
    assert value is getattr(home, name)


def test_the_api_names_the_parties_inputs_results_and_errors() -> None:
    for name in (
        "Workspace",
        "InsurerClient",
        "HospitalClient",
        "AdjudicatorClient",
        "load_records",
        "load_members",
        "Plan",
        "ClaimResult",
        "LineResult",
        "ClaimsError",
    ):
        assert name in claimsengine.__all__
    assert set(PUBLIC) == set(claimsengine._EXPORTS)
    assert set(claimsengine.__all__) <= set(dir(claimsengine))
    assert issubclass(claimsengine.PlanError, claimsengine.ClaimsError)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'Nothing'"):
        _ = claimsengine.Nothing  # type: ignore[attr-defined]


def test_import_claimsengine_loads_no_domain_module_and_no_web3() -> None:
    # The names load on first use: importing the package alone must not pull in the plan
    # (eth_utils), the SDK or the chain (web3, py-evm).
    code = (
        "import sys, claimsengine\n"
        "print(' '.join(m for m in sys.modules if m.startswith(('claimsengine.', 'web3', "
        "'eth.', 'eth_utils', 'eth_abi', 'yaml'))))\n"
        "from claimsengine import Plan\n"
        "print('claimsengine.plan' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    loaded, plan_after = result.stdout.splitlines()
    assert loaded == ""
    assert plan_after == "True"
