"""The `claims` console script: a thin shell over the SDK.

The group is lazy: ``COMMANDS`` maps each command to the ``module:attribute`` that defines
it and its section of the help, and a command's module is imported only when that command
runs. ``claims --help`` lists every command under its section with the command's own
``short_help``, read from the module's source, so the help is written once and no command
is imported; nor does any command pay for another's imports (web3, py-evm and vyper load
only inside the commands that use the chain).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from claimsengine.cli.abort import one_way_to_abort
from claimsengine.cli.options import App
from claimsengine.errors import ClaimsError


class LazyCommand:
    """Where a command lives ("package.module:attribute") and its section of ``claims --help``.

    Its help line is the command's own ``short_help`` (else its docstring's first sentence),
    read from its module's source without importing it; ``help`` overrides it (a command
    whose module is not there yet has no source to read).
    """

    def __init__(self, target: str, help: str | None = None, section: str = "Anyone") -> None:
        self.target = target
        self.section = section
        self._help = help

    @property
    def help(self) -> str:
        if self._help is None:
            self._help = own_short_help(self.target) or ""
        return self._help


def own_short_help(target: str) -> str | None:
    """The short help a command declares (``short_help=`` of its click decorator, else the
    first sentence of its docstring), read from the source of ``module:attribute``; None
    when the module or the command is not there."""
    module_name, _, attribute = target.partition(":")
    path = _source_of(module_name)
    if path is None:
        return None
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef) and node.name == attribute:
            for decorator in node.decorator_list:
                for keyword in decorator.keywords if isinstance(decorator, ast.Call) else ():
                    if keyword.arg == "short_help" and isinstance(keyword.value, ast.Constant):
                        return str(keyword.value.value)
            paragraph = " ".join((ast.get_docstring(node) or "").split("\n\n")[0].split())
            sentence, dot, _rest = paragraph.partition(". ")
            return (sentence + dot).strip() or None
    return None


def _source_of(module_name: str) -> Path | None:
    """The file of a module of this package (by its place beside this one), or of any
    other module (found without importing it)."""
    if module_name.startswith(_CLI + "."):
        relative = module_name.removeprefix(_CLI + ".").replace(".", "/")
        path = Path(__file__).parent / f"{relative}.py"
        return path if path.is_file() else None
    try:
        spec = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        return None
    return Path(spec.origin) if spec is not None and spec.origin else None


_CLI = "claimsengine.cli"
_PKG = f"{_CLI}.commands"
SECTIONS = (
    "Getting started",
    "Insurer",
    "Hospital",
    "Adjudicator",
    "Anyone",
    "Dev chain and tests",
)


# Each command's line in --help is its own short_help; --help lists them in this order.
COMMANDS: dict[str, LazyCommand] = {
    "init": LazyCommand(f"{_PKG}.init:init", section="Getting started"),
    "demo": LazyCommand(f"{_PKG}.demo:demo", section="Getting started"),
    "insurer": LazyCommand(f"{_PKG}.insurer:insurer", section="Insurer"),
    "deploy": LazyCommand(f"{_PKG}.deploy:deploy", section="Insurer"),
    "schedule": LazyCommand(f"{_PKG}.schedule:schedule", section="Insurer"),
    "enroll": LazyCommand(f"{_PKG}.enroll:enroll", section="Insurer"),
    "renew": LazyCommand(f"{_PKG}.renew:renew", section="Insurer"),
    "provider": LazyCommand(f"{_PKG}.provider:provider", section="Insurer"),
    "adjudicator": LazyCommand(f"{_PKG}.adjudicator:adjudicator", section="Insurer"),
    "fund": LazyCommand(f"{_PKG}.fund:fund", section="Insurer"),
    "withdraw": LazyCommand(f"{_PKG}.fund:withdraw", section="Insurer"),
    "pause": LazyCommand(f"{_PKG}.pause:pause", section="Insurer"),
    "resume": LazyCommand(f"{_PKG}.pause:resume", section="Insurer"),
    "submit": LazyCommand(f"{_PKG}.submit:submit", section="Hospital"),
    "eligibility": LazyCommand(f"{_PKG}.eligibility:eligibility", section="Hospital"),
    "estimate": LazyCommand(f"{_PKG}.estimate:estimate", section="Hospital"),
    "void": LazyCommand(f"{_PKG}.void:void", section="Hospital"),
    "reconcile": LazyCommand(f"{_PKG}.reconcile:reconcile", section="Hospital"),
    "review": LazyCommand(f"{_PKG}.review:review", section="Adjudicator"),
    "status": LazyCommand(f"{_PKG}.status:status", section="Anyone"),
    "member": LazyCommand(f"{_PKG}.member:member", section="Anyone"),
    "pool": LazyCommand(f"{_PKG}.fund:pool", section="Anyone"),
    "settle": LazyCommand(f"{_PKG}.settle:settle", section="Anyone"),
    "verify": LazyCommand(f"{_PKG}.verify:verify", section="Anyone"),
    "time": LazyCommand(f"{_PKG}.time:time", section="Dev chain and tests"),
    "simulate": LazyCommand(f"{_PKG}.simulate:simulate", section="Dev chain and tests"),
    "node": LazyCommand(f"{_PKG}.node:node", section="Anyone"),
    "keys": LazyCommand(f"{_PKG}.keys:keys", section="Insurer"),
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
