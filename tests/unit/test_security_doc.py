"""docs/security.md names the tests that prove each party's limits: every name must exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "security.md"
PARTIES = ("owner", "insurer", "adjudicator", "provider", "anyone", "the token")


def functions_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}


def cited() -> list[tuple[str, str | None]]:
    """(file under tests/, test name or None) for each `file::name`, `::name` and `file`
    the table cites; `::name` belongs to the file cited before it."""
    found: list[tuple[str, str | None]] = []
    current = ""
    for ref in re.findall(r"`([\w/.]*(?:::\w+)?)`", DOC.read_text()):
        path, _, name = ref.partition("::")
        if path.endswith(".py"):
            current = path
        elif path:
            continue  # not a test reference
        found.append((current, name or None))
    return found


def test_every_party_has_a_row() -> None:
    rows = [line for line in DOC.read_text().splitlines() if line.startswith("| **")]
    assert [re.match(r"\| \*\*(.+?)\*\*", row).group(1) for row in rows] == list(PARTIES)  # type: ignore[union-attr]


def test_every_cited_test_exists() -> None:
    references = cited()
    assert len(references) > 20
    for path, name in references:
        file = ROOT / "tests" / path
        assert file.is_file(), f"security.md cites {path}, which does not exist"
        if name is not None:
            assert name in functions_in(file), f"security.md cites {path}::{name}, not there"


def test_every_cited_error_case_exists() -> None:
    from tests.integration.test_cli_errors import CASES

    for case in re.findall(r'"([^"]+)"', DOC.read_text()):
        if case.startswith(("wrong role", "schedule", "review", "payout")):
            assert case in CASES, f"security.md cites the error case {case!r}, not there"
