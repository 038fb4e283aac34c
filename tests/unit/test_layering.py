"""The layers of docs/architecture.md, kept: who may import whom.

Every import in claimsengine/ and cli/ is read from the source (ast, so imports inside
functions and under ``TYPE_CHECKING`` count too) and checked against the map:

    foundation   errors, ids, faults, status                 imports no other layer
    domain       money, days, yamlfile, plan, members,       foundation
                 records, results, adjudication, periods,
                 fieldreader
    stores       privacy, vault, journal, keybundle, roster, foundation, domain
                 deployments
    chain        chain/                                      foundation
    contracts    compiler, abi, engine, engine_storage,      foundation, domain, chain
                 history
    parties      workspace, handover, sdk, claim_reads,      every layer above
                 orchestrator, verification, enrolment,
                 reconcile/, exports/, onboarding,
                 demo, scenario/, population/, eligibility,
                 estimate, corrections,
                 dashboard
    api          claimsengine/__init__.py                    every layer but the CLI
    cli          cli/ (installed as claimsengine.cli)        everything but the contracts

A module that fits no layer fails the test, so a new module is placed on purpose. Inside
the reconcile package, only ``read`` (and the package root, which runs the whole job) reaches
the chain: the matching runs on plain values.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

LAYERS: dict[str, tuple[str, ...]] = {
    "foundation": ("errors", "ids", "faults", "status"),
    "domain": (
        "money",
        "days",
        "yamlfile",
        "plan",
        "members",
        "records",
        "results",
        "adjudication",
        "npi",
        "payer",
        "periods",
        "fieldreader",
    ),
    "stores": ("privacy", "vault", "journal", "keybundle", "roster", "deployments"),
    "chain": ("chain",),
    "contracts": ("compiler", "abi", "reverts", "engine", "engine_storage", "history"),
    "parties": (
        "workspace",
        "handover",
        "sdk",
        "claim_reads",
        "enrolment",
        "orchestrator",
        "verification",
        "reconcile",
        "exports",
        "onboarding",
        "eligibility",
        "estimate",
        "corrections",
        "demo",
        "scenario",
        "population",
        "dashboard",
    ),
    "cli": ("cli",),
}

_BELOW_PARTIES = {"foundation", "domain", "stores", "chain", "contracts"}
MAY_IMPORT: dict[str, set[str]] = {
    "foundation": set(),
    "domain": {"foundation"},
    "stores": {"foundation", "domain"},
    "chain": {"foundation"},
    "contracts": {"foundation", "domain", "chain"},
    "parties": _BELOW_PARTIES,
    "api": _BELOW_PARTIES | {"parties"},
    # The CLI speaks to the contracts through the SDK (its clients, and the constants and
    # types sdk re-exports), never to engine, abi or history directly.
    "cli": (_BELOW_PARTIES - {"contracts"}) | {"parties", "api"},
}

# Third-party packages that belong to one layer. py-evm installs as ``eth``.
_CHAIN_LIBRARIES = {"web3", "eth", "eth_abi", "eth_account", "eth_keys", "vyper", "requests"}
_TERMINAL_LIBRARIES = {"click", "rich"}
FORBIDDEN_LIBRARIES: dict[str, set[str]] = {
    "foundation": _CHAIN_LIBRARIES | _TERMINAL_LIBRARIES,
    "domain": _CHAIN_LIBRARIES | _TERMINAL_LIBRARIES,
    "stores": _CHAIN_LIBRARIES | _TERMINAL_LIBRARIES,
    "chain": _TERMINAL_LIBRARIES,
    "contracts": _TERMINAL_LIBRARIES,
    "parties": _TERMINAL_LIBRARIES,
    "api": _CHAIN_LIBRARIES | _TERMINAL_LIBRARIES,
    "cli": set(),
}

# Edges that break the map today, each with what must change to remove it. Empty: keep it so.
KNOWN_EXCEPTIONS: dict[tuple[str, str], str] = {}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[0] == "cli":
        parts = ["claimsengine", *parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str:
    if module == "claimsengine":
        return "api"
    top = module.split(".")[1]
    for layer, names in LAYERS.items():
        if top in names:
            return layer
    raise AssertionError(f"{module} is in no layer: place it in tests/unit/test_layering.py")


def imports_of(path: Path, module: str) -> set[str]:
    """Every module ``path`` imports, by absolute dotted name."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            found.add(source)
            # `from claimsengine import sdk` imports claimsengine.sdk.
            found.update(f"{source}.{alias.name}" for alias in node.names)
    return found


def sources() -> list[Path]:
    return sorted([*(ROOT / "claimsengine").rglob("*.py"), *(ROOT / "cli").rglob("*.py")])


@cache
def edges() -> list[tuple[str, str, str]]:
    """(importer, imported module, imported top-level package) for every import."""
    result = []
    for path in sources():
        importer = module_name(path)
        for imported in sorted(imports_of(path, importer)):
            result.append((importer, imported, imported.split(".")[0]))
    return result


def internal_layer(imported: str) -> str | None:
    """The layer of an import inside claimsengine (None: a name, not a module, or the root)."""
    parts = imported.split(".")
    if parts[0] != "claimsengine" or len(parts) < 2:
        return None
    if parts[1] == "__version__":
        return "api"
    try:
        return layer_of(imported)
    except AssertionError:
        return None  # `from claimsengine import Plan`: judged by the root's own layer


def violations(found: list[tuple[str, str, str]]) -> list[str]:
    """The edges the map refuses (a layer too high) or a layer's libraries refuse."""
    broken = []
    for importer, imported, package in found:
        if (importer, imported) in KNOWN_EXCEPTIONS:
            continue
        own, layer = layer_of(importer), internal_layer(imported)
        if layer is not None and layer != own and layer not in MAY_IMPORT[own]:
            broken.append(f"{importer} ({own}) imports {imported} ({layer})")
        if package in FORBIDDEN_LIBRARIES[own]:
            broken.append(f"{importer} ({own}) imports {imported}")
    return broken


def test_every_module_has_a_layer() -> None:
    for path in sources():
        layer_of(module_name(path))


def test_the_map_holds() -> None:
    assert violations(edges()) == []


def test_the_chain_never_imports_the_parties_nor_the_domain() -> None:
    # The rule the map gives the chain, spelled out: claimsengine/chain knows bytes,
    # addresses and receipts, never plans, records, workspaces or the SDK.
    for importer, imported, _ in edges():
        if layer_of(importer) == "chain":
            assert internal_layer(imported) in (None, "chain", "foundation"), (importer, imported)


#: The chain's modules that know tries and bytes only: no py-evm (``eth``), no other module.
#: trie_batch computes storage roots that must equal py-evm's, so it is kept apart from
#: py-evm's classes (fast_storage hooks it in) and can be tested against them; it decodes
#: nodes with rlpread and keys them with nodekeys, plain as well.
CHAIN_PLAIN = ("trie_batch", "rlpread", "nodekeys")


def test_the_batched_trie_is_plain() -> None:
    plain = {f"claimsengine.chain.{name}" for name in CHAIN_PLAIN}
    assert "claimsengine.chain.trie_batch" in {importer for importer, _, _ in edges()}
    for importer, imported, package in edges():
        of_plain = any(imported == name or imported.startswith(name + ".") for name in plain)
        if importer in plain and not of_plain:
            assert package not in ("eth", "claimsengine", "trie"), (importer, imported)


#: The reconcile modules that work on plain values: no chain, workspace, store or party.
RECONCILE_PURE = ("model", "ledger", "events", "match", "balance", "report")
#: What they may import besides each other: the foundation, the domain, and the pure
#: decoders of the contracts layer (events -> values).
RECONCILE_PURE_MAY_IMPORT = {"claimsengine.abi", "claimsengine.history", "claimsengine.engine"}


def reconcile_violations(found: list[tuple[str, str, str]]) -> list[str]:
    """The imports of the pure reconcile modules that reach past plain values."""
    pure = {f"claimsengine.reconcile.{name}" for name in RECONCILE_PURE}
    broken = []
    for importer, imported, _ in found:
        if importer not in pure or internal_layer(imported) in (None, "foundation", "domain"):
            continue
        parts = imported.split(".")
        if ".".join(parts[:2]) in RECONCILE_PURE_MAY_IMPORT or ".".join(parts[:3]) in pure:
            continue
        broken.append(f"{importer} imports {imported}")
    return broken


def test_reconcile_matches_without_a_chain() -> None:
    present = {importer for importer, _, _ in edges()}
    assert {f"claimsengine.reconcile.{name}" for name in RECONCILE_PURE} <= present
    assert reconcile_violations(edges()) == []


@pytest.mark.parametrize(
    "imported",
    [
        "claimsengine.workspace.Workspace",
        "claimsengine.reconcile.read.read_settlements",
        "claimsengine.chain.base",
        "claimsengine.vault",
    ],
)
def test_reconcile_reaching_the_chain_is_reported(imported: str) -> None:
    edge = ("claimsengine.reconcile.match", imported, "claimsengine")
    assert reconcile_violations([edge]) == [f"claimsengine.reconcile.match imports {imported}"]
    assert reconcile_violations([("claimsengine.reconcile.read", imported, "claimsengine")]) == []


@pytest.mark.parametrize(
    ("importer", "imported", "words"),
    [
        ("claimsengine.money", "claimsengine.chain.base", "(domain) imports claimsengine.chain"),
        ("claimsengine.chain.rpc", "claimsengine.sdk", "(chain) imports claimsengine.sdk"),
        ("claimsengine.chain.base", "claimsengine.plan", "(chain) imports claimsengine.plan"),
        ("claimsengine.records.model", "eth.vm", "(domain) imports eth.vm"),
        ("claimsengine.plan", "web3", "(domain) imports web3"),
        ("claimsengine.sdk", "click", "(parties) imports click"),
        ("claimsengine.engine", "claimsengine.cli.context", "(contracts) imports claimsengine.cli"),
        ("claimsengine.cli.main", "claimsengine.engine", "(cli) imports claimsengine.engine"),
    ],
)
def test_a_bad_edge_is_reported(importer: str, imported: str, words: str) -> None:
    (reported,) = violations([(importer, imported, imported.split(".")[0])])
    assert reported.startswith(importer) and words in reported


def test_allowed_edges_are_not_reported() -> None:
    allowed = [
        ("claimsengine.sdk", "claimsengine.chain.base", "claimsengine"),
        ("claimsengine.chain.rpc", "claimsengine.errors", "claimsengine"),
        ("claimsengine.plan", "eth_utils", "eth_utils"),
        ("claimsengine.cli.main", "click", "click"),
    ]
    assert violations(allowed) == []


def test_every_known_exception_is_still_real() -> None:
    # Once the import is gone, its entry must go too, so the list only ever shrinks.
    present = {(importer, imported) for importer, imported, _ in edges()}
    assert set(KNOWN_EXCEPTIONS) <= present
