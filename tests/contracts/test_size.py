"""The engine's runtime code must fit the EIP-170 limit of 24,576 bytes, or no chain with
that limit can deploy it. The figure is printed (`pytest -s`), so a change that eats into
the room left shows in review."""

from __future__ import annotations

import sys
from pathlib import Path

from claimsengine import compiler

EIP_170_LIMIT = 24_576


def runtime_size(name: str) -> int:
    from vyper.compiler import compile_from_file_input
    from vyper.compiler.input_bundle import FilesystemInputBundle

    # As compiler._compile builds it: the contracts folder, then sys.path (snekmate).
    search = [compiler.contracts_dir(), *(Path(p) for p in sys.path if p and Path(p).is_dir())]
    bundle = FilesystemInputBundle(search)
    out = compile_from_file_input(
        bundle.load_file(Path(f"{name}.vy")),
        input_bundle=bundle,
        output_formats=["bytecode_runtime"],
    )
    return len(bytes.fromhex(out["bytecode_runtime"].removeprefix("0x")))


def test_the_engine_fits_eip_170() -> None:
    size = runtime_size(compiler.ENGINE)
    print(f"engine runtime code: {size:,} bytes ({EIP_170_LIMIT - size:,} left)")
    assert size <= EIP_170_LIMIT
