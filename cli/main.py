"""The `claims` console script: a thin shell over the SDK.

The group is lazy: ``COMMANDS`` maps each command to the ``module:attribute`` that defines
it and a short help line, and a command's module is imported only when that command runs.
So ``claims --help`` lists every command without importing any of them, and no command
pays for another's imports (web3, py-evm and vyper load only inside the commands that use
the chain).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from claimsengine.cli.context import App, one_way_to_abort
from claimsengine.errors import ClaimsError


@dataclass(frozen=True)
class LazyCommand:
    """Where a command lives ("package.module:attribute"), its short help and its section."""

    target: str
    help: str
    section: str


_PKG = "claimsengine.cli.commands"
SECTIONS = (
    "Getting started",
    "Insurer",
    "Hospital",
    "Adjudicator",
    "Anyone",
    "Dev chain and tests",
)

COMMANDS: dict[str, LazyCommand] = {
    "init": LazyCommand(
        f"{_PKG}.init:init", "Create the embedded chain and dev accounts.", "Getting started"
    ),
    "demo": LazyCommand(
        f"{_PKG}.demo:demo",
        "Run the whole flow on a fresh chain in a temp folder.",
        "Getting started",
    ),
    "insurer": LazyCommand(
        f"{_PKG}.insurer:insurer", "Grant or revoke the right to create plans (owner).", "Insurer"
    ),
    "deploy": LazyCommand(f"{_PKG}.deploy:deploy", "Put a plan (YAML) on the chain.", "Insurer"),
    "schedule": LazyCommand(
        f"{_PKG}.schedule:schedule",
        "Change a plan's service schedule from a future day.",
        "Insurer",
    ),
    "enroll": LazyCommand(
        f"{_PKG}.enroll:enroll", "Enrol members from a CSV, or update their dates.", "Insurer"
    ),
    "provider": LazyCommand(
        f"{_PKG}.provider:provider",
        "Register, suspend or reinstate a hospital; its payout and credit.",
        "Insurer",
    ),
    "adjudicator": LazyCommand(
        f"{_PKG}.adjudicator:adjudicator", "Grant or revoke the adjudicator role.", "Insurer"
    ),
    "fund": LazyCommand(f"{_PKG}.fund:fund", "Move tokens into a plan's pool.", "Insurer"),
    "withdraw": LazyCommand(
        f"{_PKG}.fund:withdraw", "Take money no queued claim needs out of the pool.", "Insurer"
    ),
    "pause": LazyCommand(f"{_PKG}.pause:pause", "Stop a plan taking claims.", "Insurer"),
    "resume": LazyCommand(
        f"{_PKG}.pause:resume", "Let a paused plan take claims again.", "Insurer"
    ),
    "submit": LazyCommand(
        f"{_PKG}.submit:submit", "Submit treatment records (JSON or FHIR).", "Hospital"
    ),
    "eligibility": LazyCommand(
        f"{_PKG}.eligibility:eligibility",
        "Is a member covered on a day, and what is left.",
        "Hospital",
    ),
    "estimate": LazyCommand(
        f"{_PKG}.estimate:estimate", "What records would get if submitted now.", "Hospital"
    ),
    "reconcile": LazyCommand(
        f"{_PKG}.reconcile:reconcile", "Check settlements against a ledger.", "Hospital"
    ),
    "review": LazyCommand(
        f"{_PKG}.review:review", "Approve or deny a claim pending review; list them.", "Adjudicator"
    ),
    "status": LazyCommand(f"{_PKG}.status:status", "One claim's result.", "Anyone"),
    "member": LazyCommand(f"{_PKG}.member:member", "A member's accumulators.", "Anyone"),
    "pool": LazyCommand(f"{_PKG}.fund:pool", "A plan's pool: balance, owed, queued.", "Anyone"),
    "settle": LazyCommand(
        f"{_PKG}.settle:settle", "Pay queued claims, first in first out.", "Anyone"
    ),
    "verify": LazyCommand(
        f"{_PKG}.verify:verify", "Check a record file against the chain.", "Anyone"
    ),
    "time": LazyCommand(
        f"{_PKG}.time:time", "Show or move the dev chain's clock.", "Dev chain and tests"
    ),
    "simulate": LazyCommand(
        f"{_PKG}.simulate:simulate",
        "Run a scenario and check its expectations.",
        "Dev chain and tests",
    ),
    "node": LazyCommand(f"{_PKG}.node:node", "Serve the embedded chain over JSON-RPC.", "Anyone"),
    "dashboard": LazyCommand(
        f"{_PKG}.dashboard:dashboard", "Serve a read-only web dashboard of the chain.", "Anyone"
    ),
    "keys": LazyCommand(
        f"{_PKG}.keys:keys", "Hand a plan's key to a hospital, sealed to its account.", "Insurer"
    ),
}


def _unavailable(name: str, entry: LazyCommand, reason: str) -> click.Command:
    """A stand-in for a command whose module is missing: any use gives one `error:` line."""

    def fail() -> None:
        raise ClaimsError(
            f"the `{name}` command is not available in this installation ({reason})",
            hint="see `claims --help` for the commands, or reinstall claimsengine",
        )

    return click.Command(
        name,
        callback=fail,
        help=entry.help,
        add_help_option=False,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )


class LazyGroup(click.Group):
    """A click group that imports a command's module only when the command is used."""

    def __init__(self, *args: Any, lazy_commands: dict[str, LazyCommand], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = lazy_commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*self.lazy_commands, *(n for n in self.commands if n not in self.lazy_commands)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        entry = self.lazy_commands.get(cmd_name)
        if entry is None:
            return None
        module_name, _, attribute = entry.target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            # Only the command's own module being absent is "not available"; a missing
            # dependency inside it is a broken installation and should say so loudly.
            if error.name is None or not (
                module_name == error.name or module_name.startswith(error.name + ".")
            ):
                raise
            return _unavailable(cmd_name, entry, f"{module_name} is missing")
        command = getattr(module, attribute, None)
        if not isinstance(command, click.Command):
            return _unavailable(cmd_name, entry, f"{entry.target} is not a command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # From the table, not the modules: `claims --help` imports no command.
        by_section: dict[str, list[tuple[str, str]]] = {}
        for name, entry in self.lazy_commands.items():
            by_section.setdefault(entry.section, []).append((name, entry.help))
        for section in sorted(by_section, key=lambda s: SECTIONS.index(s) if s in SECTIONS else 99):
            with formatter.section(section):
                formatter.write_dl(by_section[section])

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        with one_way_to_abort():
            return super().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        with one_way_to_abort():
            return super().invoke(ctx)


EPILOG = """\b
Examples:
  claims init
  claims deploy fixtures/plans/silver.yaml
  claims enroll SILVER-2027 fixtures/members.csv
  claims provider add SILVER-2027 HOSP-A --account hospital-1
  claims fund SILVER-2027 50000.00
  claims --json status 1
  claims demo
"""


@click.group(
    "claims",
    cls=LazyGroup,
    lazy_commands=COMMANDS,
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--state",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".claims"),
    envvar="CLAIMS_STATE",
    show_default=True,
    metavar="DIR",
    help="Folder of the embedded chain and local state (env CLAIMS_STATE).",
)
@click.option(
    "--rpc",
    metavar="URL",
    envvar="CLAIMS_RPC",
    help="Use this JSON-RPC node (anvil, geth, Besu) instead (env CLAIMS_RPC).",
)
@click.option(
    "--as",
    "as_account",
    metavar="ALIAS",
    help="Act as this account: an alias (insurer, adjudicator, auditor, hospital-1..4) "
    "or an address.",
)
@click.option("--json", "json_output", is_flag=True, help="Machine-readable output on stdout.")
@click.version_option(package_name="claimsengine", message="%(prog)s %(version)s")
@click.pass_context
def main(
    ctx: click.Context, state: Path, rpc: str | None, as_account: str | None, json_output: bool
) -> None:
    """claims: a smart-contract engine for health-insurance claims.

    Global options come before the command. Errors go to stderr as one line starting
    with `error:`; a usage error exits 2, any other failure 1.
    """
    app = ctx.ensure_object(App)
    app.state = state
    app.rpc = rpc or None
    app.as_account = as_account or None
    app.json_output = app.json_output or json_output
    ctx.call_on_close(app.close)


def run(argv: Sequence[str] | None = None) -> None:
    """Run `claims` with ``argv`` (for ``python -m claimsengine.cli``)."""
    main.main(args=list(argv) if argv is not None else None, prog_name="claims")
