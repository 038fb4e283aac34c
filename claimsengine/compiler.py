"""Compile the engine's Vyper contracts, with a cache keyed by the sources' hash.

Compiling the engine takes seconds; every CLI command and test needs its bytecode. The
cache key covers every source the compiler can see (our contracts and the snekmate
modules they import) and the compiler's version, so a stale artefact is never used.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from importlib import metadata, resources
from pathlib import Path
from typing import Any

ENGINE = "ClaimsEngine"
DEV_TOKEN = "DevToken"


@dataclass(frozen=True)
class Artifact:
    """A compiled contract: its ABI and its deployment bytecode."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: bytes


def contracts_dir() -> Path:
    """The folder of the Vyper sources, inside the installed package."""
    return Path(str(resources.files("claimsengine.contracts")))


def cache_dir() -> Path:
    root = os.environ.get("CLAIMS_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "claimsengine"
    )
    return Path(root) / "contracts"


def _snekmate_dir() -> Path:
    import snekmate  # a namespace package: it has no __file__

    return Path(next(iter(snekmate.__path__))).resolve()


def source_hash() -> str:
    """Hash of every source a compilation can read, and of the compiler's version."""
    # The installed version, without importing the compiler (slow) on the cached path.
    digest = hashlib.sha256(metadata.version("vyper").encode())
    for root in (contracts_dir(), _snekmate_dir()):
        for path in sorted(root.rglob("*.vy")) + sorted(root.rglob("*.vyi")):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:32]


def _compile(name: str) -> Artifact:
    from vyper.compiler import compile_from_file_input
    from vyper.compiler.input_bundle import FilesystemInputBundle

    search = [contracts_dir(), *(Path(p) for p in sys.path if p and Path(p).is_dir())]
    bundle = FilesystemInputBundle(search)
    file_input = bundle.load_file(Path(f"{name}.vy"))
    out = compile_from_file_input(
        file_input, input_bundle=bundle, output_formats=["abi", "bytecode"]
    )
    return Artifact(name=name, abi=out["abi"], bytecode=bytes.fromhex(out["bytecode"][2:]))


def _compile_storage(name: str) -> dict[str, Any]:
    from eth_hash.auto import keccak
    from vyper.compiler import compile_from_file_input
    from vyper.compiler.input_bundle import FilesystemInputBundle

    search = [contracts_dir(), *(Path(p) for p in sys.path if p and Path(p).is_dir())]
    bundle = FilesystemInputBundle(search)
    file_input = bundle.load_file(Path(f"{name}.vy"))
    out = compile_from_file_input(
        file_input, input_bundle=bundle, output_formats=["abi", "layout", "bytecode_runtime"]
    )
    runtime = bytes.fromhex(out["bytecode_runtime"][2:])
    return {
        "contract": name,
        "events": [entry for entry in out["abi"] if entry["type"] == "event"],
        "runtime_code_hash": keccak(runtime).hex(),
        "storage_layout": out["layout"]["storage_layout"],
    }


def storage_layout_path(name: str) -> Path:
    """Where the package ships a contract's storage layout (``NAME.layout.json``)."""
    return contracts_dir() / f"{name}.layout.json"


@cache
def storage_layout(name: str) -> dict[str, Any]:
    """The storage layout the package ships for ``name`` (the Vyper compiler's ``-f layout``
    output, ``storage_layout``), ``runtime_code_hash``, the keccak of the runtime code it
    describes, and ``events``, the ABI's events. Shipped, not compiled, so that a read-only
    command needs neither the compiler nor the artefact cache;
    tests/integration/test_engine_storage.py checks it against a fresh compilation
    (``write_storage_layout`` writes it again after a contract change)."""
    data: dict[str, Any] = json.loads(storage_layout_path(name).read_text(encoding="utf-8"))
    return data


def compiled_storage_layout(name: str) -> dict[str, Any]:
    """What ``storage_layout`` must be for the sources as they are (compiles: seconds)."""
    return _compile_storage(name)


def write_storage_layout(name: str) -> Path:
    """Write ``storage_layout_path(name)`` from a fresh compilation."""
    path = storage_layout_path(name)
    path.write_text(json.dumps(_compile_storage(name), indent=1, sort_keys=True) + "\n")
    storage_layout.cache_clear()
    return path


@cache
def load(name: str) -> Artifact:
    """The compiled contract `name`, from the cache or freshly compiled into it."""
    path = cache_dir() / source_hash() / f"{name}.json"
    if path.exists():
        data = json.loads(path.read_text())
        return Artifact(name=name, abi=data["abi"], bytecode=bytes.fromhex(data["bytecode"]))
    artifact = _compile(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename, so that a concurrent or killed process never reads half a file.
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as tmp:
        json.dump({"abi": artifact.abi, "bytecode": artifact.bytecode.hex()}, tmp)
    os.replace(tmp.name, path)
    return artifact
