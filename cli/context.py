"""The names this module held before it was split, for code written against it.

It mixed jobs; each now has its module: options.py (``App``, the shared options and
parameter types), abort.py (one way to fail) and render.py (tables and progress for people).
The role check is the SDK's ``Party.require``. Import from those; this module only forwards.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from claimsengine.cli.abort import ClaimsAbort, OneLineUsageError, error_line, one_way_to_abort
from claimsengine.cli.options import (
    AMOUNT,
    DATE,
    WAIT_MESSAGE,
    App,
    json_option,
    pass_app,
    record_path_options,
)
from claimsengine.cli.render import (
    claim_table,
    console,
    key_value_table,
    pool_json,
    pool_rows,
    progress,
    table,
)

if TYPE_CHECKING:
    from claimsengine.workspace import Workspace

__all__ = [
    "AMOUNT",
    "DATE",
    "WAIT_MESSAGE",
    "App",
    "ClaimsAbort",
    "OneLineUsageError",
    "claim_table",
    "console",
    "describe_account",
    "error_line",
    "json_option",
    "key_value_table",
    "one_way_to_abort",
    "pass_app",
    "pool_json",
    "pool_rows",
    "progress",
    "record_path_options",
    "require_role",
    "table",
]


def describe_account(workspace: Workspace, account: str) -> str:
    """``hospital-1 (0x7099…79C8)``: the SDK's ``describe_account``."""
    from claimsengine.sdk import describe_account as describe

    return describe(workspace, account)


def require_role(workspace: Workspace, plan_id: str, account: str, role: str, action: str) -> None:
    """The SDK's ``Party(workspace, account).require(plan_id, role, action)``."""
    from claimsengine.sdk import Party

    Party(workspace, account).require(plan_id, role, action)
