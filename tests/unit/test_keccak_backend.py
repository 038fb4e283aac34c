"""claimsengine hashes with pysha3's C keccak, without leaking the choice to child processes."""

from __future__ import annotations

import os
import subprocess
import sys


def test_fast_keccak_is_chosen_and_not_inherited() -> None:
    code = (
        "import os, claimsengine\n"
        "from eth_hash.auto import keccak\n"
        "print(keccak.hasher.__module__)\n"
        "print(os.environ.get('ETH_HASH_BACKEND'))\n"
        "print(keccak(b'').hex())\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "ETH_HASH_BACKEND"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[0] == "eth_hash.backends.pysha3"
    assert out[1] == "None"  # the environment is as it was
    # keccak256 of the empty string, as Ethereum defines it (not SHA3-256).
    assert out[2] == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
