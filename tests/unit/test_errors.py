"""Every exception lives in claimsengine/errors.py, under one root, as in web3.py."""

from __future__ import annotations

import ast
import pickle
import re
from pathlib import Path

from claimsengine import errors
from claimsengine.errors import ChainError, ClaimsError, InputError, RpcError, ScenarioError

ROOT = Path(__file__).resolve().parents[2]

# Exceptions that stay outside errors.py, each with its reason. The CLI's two are click
# exceptions (they subclass click.ClickException / click.UsageError so that click prints them
# and sets the exit status); they belong to the CLI and are not ClaimsErrors.
STAYS_OUTSIDE = {
    ("cli/abort.py", "ClaimsAbort"),  # a click.ClickException: a ClaimsError on its way out
    ("cli/abort.py", "OneLineUsageError"),  # a click.UsageError: usage errors, exit 2
}

_EXCEPTION_BASE = re.compile(
    r"(Error|Exception|Reverted|NotFound|NotAuthorised|StateLocked|Abort|Interrupt\w*)$"
)


def _base_name(base: ast.expr) -> str:
    if isinstance(base, ast.Attribute):
        return base.attr
    return base.id if isinstance(base, ast.Name) else ""


def exception_classes() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for folder in ("claimsengine", "cli"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative == "claimsengine/errors.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ClassDef) and any(
                    _EXCEPTION_BASE.search(_base_name(base)) for base in node.bases
                ):
                    found.add((relative, node.name))
    return found


def test_every_exception_is_in_errors_py() -> None:
    assert exception_classes() == STAYS_OUTSIDE


def test_every_error_has_the_one_root() -> None:
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), ClaimsError), name


def test_the_old_homes_still_export_the_moved_errors() -> None:
    from claimsengine import scenario, vault
    from claimsengine.scenario import model

    assert scenario.ScenarioError is model.ScenarioError is ScenarioError
    assert vault.VaultIntegrityError is errors.VaultIntegrityError
    from claimsengine import adjudication, exports, orchestrator, reconcile

    assert adjudication.ClaimRejected is errors.ClaimRejected
    assert exports.ExportError is errors.ExportError
    assert reconcile.LedgerError is errors.LedgerError
    assert orchestrator.SubmitInterrupted is errors.SubmitInterrupted


def test_a_scenario_error_names_the_line_and_survives_pickling() -> None:
    error = ScenarioError("expected a date", file="s.yaml", line=7, field="steps[0].date")
    assert str(error) == "s.yaml:7: field steps[0].date: expected a date"
    assert isinstance(error, InputError)
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == str(error) and copy.line == 7


def test_an_rpc_error_keeps_what_the_node_said() -> None:
    error = RpcError("eth_call", {"code": 3, "message": "execution reverted", "data": "0x"})
    assert isinstance(error, ChainError)
    assert str(error) == "eth_call: execution reverted (code 3)"
    assert (error.method, error.code, error.data) == ("eth_call", 3, "0x")
    assert str(pickle.loads(pickle.dumps(error))) == str(error)


def test_explained_adds_the_hint_to_the_located_message() -> None:
    # The one way to show an error with where it is and what to do.
    error = InputError("not a number", file="p.yaml", field="deductible", hint="quote it")
    assert error.explained() == "p.yaml: field deductible: not a number (hint: quote it)"
    assert ClaimsError("plan not found").explained() == "plan not found"
