"""py-evm's BLS12-381 precompiles load on first use, and still work."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import sys
from claimsengine.chain.embedded import EmbeddedChain
loaded_before = "py_ecc.optimized_bls12_381" in sys.modules
chain = EmbeddedChain.memory()
# BLS12_G1ADD (EIP-2537, address 0x0b): the point at infinity plus itself is itself.
out = chain.call("0x" + "00" * 19 + "0b", bytes(256))
print(loaded_before, "py_ecc.optimized_bls12_381" in sys.modules, out == bytes(128))
"""


def test_bls_precompiles_load_on_first_call_and_work() -> None:
    done = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "True", "True"]
