"""`claims simulate SCENARIO.yaml...`: run scenarios and check their expectations.

Each scenario runs on a fresh in-memory chain in a temporary folder (or, with the global
``--rpc``, on that node with a fresh engine deployment); ``--state`` is never touched. The
format is in docs/scenarios.md. Exit status: 0 when every expectation held, 1 when any
failed or a scenario could not be loaded or set up, 2 for a usage error.

Population mode (``--generate --members N --claims M --seed S``) is the other half of the
command. It lives in ``claimsengine.population``, imported only when ``--generate`` is given;
``_generate`` is the whole of the glue.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from claimsengine.cli.abort import OneLineUsageError
from claimsengine.cli.options import App, json_option, pass_app
from claimsengine.cli.render import progress
from claimsengine.errors import ClaimsError

if TYPE_CHECKING:
    from claimsengine.scenario import ScenarioResult

#: Defaults of population mode (as `python -m claimsengine.population`), only with --generate.
DEFAULT_MEMBERS = 200
DEFAULT_CLAIMS = 2000
DEFAULT_SEED = 7


@click.command(short_help="Run a scenario and check its expectations.")
@click.argument(
    "scenarios",
    metavar="[SCENARIO.yaml]...",
    nargs=-1,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option(
    "--junit",
    "junit_path",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Also write JUnit XML to FILE: a testsuite per scenario, a testcase per step.",
)
@click.option(
    "--generate",
    is_flag=True,
    help="Population mode: generate members and claims instead of running scenario files.",
)
@click.option(
    "--members",
    type=click.IntRange(min=1),
    metavar="N",
    help=f"With --generate: how many members (default {DEFAULT_MEMBERS}).",
)
@click.option(
    "--claims",
    type=click.IntRange(min=1),
    metavar="M",
    help=f"With --generate: how many claims (default {DEFAULT_CLAIMS}).",
)
@click.option(
    "--seed",
    type=int,
    metavar="S",
    help=f"With --generate: the random seed (default {DEFAULT_SEED}).",
)
@json_option
@pass_app
def simulate(
    app: App,
    scenarios: tuple[Path, ...],
    junit_path: Path | None,
    generate: bool,
    members: int | None,
    claims: int | None,
    seed: int | None,
) -> None:
    """Run each SCENARIO.yaml on a fresh chain and check its expectations.

    Failures are listed as `step N: <what>: expected X, got Y (FILE:LINE)`. The command
    exits 1 if any expectation failed. With the global --rpc, scenarios run on that node
    (a dev node such as anvil, whose clock can be moved) instead of an in-memory chain.

    \b
    Examples:
      claims simulate fixtures/scenarios/worked-examples.yaml
      claims simulate fixtures/scenarios/*.yaml --junit report.xml
      claims --json simulate fixtures/scenarios/copays.yaml
    """
    ctx = click.get_current_context()
    if app.as_account:
        raise OneLineUsageError(
            "simulate acts as the accounts each scenario names; --as does not apply", ctx
        )
    if generate:
        if scenarios:
            raise OneLineUsageError("give SCENARIO files or --generate, not both", ctx)
        _generate(app, members=members, claims=claims, seed=seed, junit_path=junit_path)
        return
    population_options = (("--members", members), ("--claims", claims), ("--seed", seed))
    given = [name for name, value in population_options if value is not None]
    if given:
        verb = "apply" if len(given) > 1 else "applies"
        raise OneLineUsageError(f"{', '.join(given)} only {verb} with --generate", ctx)
    if not scenarios:
        raise OneLineUsageError("give one or more SCENARIO.yaml files (or --generate)", ctx)
    _run_scenarios(app, scenarios, junit_path)


def _run_scenarios(app: App, scenarios: tuple[Path, ...], junit_path: Path | None) -> None:
    from claimsengine.scenario import junit_xml, run_file

    results: list[ScenarioResult] = []
    for path in scenarios:
        result = run_file(path, rpc=app.rpc)
        results.append(result)
        if not app.json_output:
            _print_result(result)
    if junit_path is not None:
        try:
            junit_path.write_text(junit_xml(results), encoding="utf-8")
        except OSError as error:
            raise ClaimsError(
                f"cannot write the JUnit report {junit_path}: {error.strerror or error}"
            ) from None
    failed = [r for r in results if not r.passed]
    seconds = sum(r.seconds for r in results)
    if app.json_output:
        summary = {
            "passed": len(results) - len(failed),
            "failed": len(failed),
            "seconds": round(seconds, 3),
            "scenarios": [r.to_json() for r in results],
        }
        app.emit(summary, lambda _console: None)
    else:
        plural = "s" if len(results) != 1 else ""
        click.echo(
            f"{len(results)} scenario{plural}: {len(results) - len(failed)} passed, "
            f"{len(failed)} failed ({seconds:.1f} s)"
        )
    if failed:
        failures = sum(len(r.messages()) for r in failed)
        raise ClaimsError(
            f"{len(failed)} of {len(results)} scenario{'s' if len(results) != 1 else ''} "
            f"failed ({failures} failure{'s' if failures != 1 else ''})",
            hint="each failure above names its step, the check, and the file and line",
        )


def _print_result(result: ScenarioResult) -> None:
    if result.load_error is not None:
        click.echo(f"ERROR {result.file}")
    else:
        failed = result.failed_steps
        detail = f"{len(result.steps)} steps, {result.checks} checks"
        if failed:
            detail += f", {failed} step{'s' if failed != 1 else ''} failed"
        label = "PASS " if result.passed else "FAIL "
        click.echo(f"{label} {result.file}: {result.name} ({detail}, {result.seconds:.1f} s)")
    for message in result.messages():
        click.echo(f"  {message}")


def _population() -> tuple[Callable[..., Any], Callable[..., Any]]:
    """``generate_population`` and ``run_population``, or a clear error when this
    installation has no population mode."""
    try:
        population = importlib.import_module("claimsengine.population")
    except ModuleNotFoundError as error:
        if error.name != "claimsengine.population":
            raise
        raise ClaimsError(
            "population mode (--generate) is not available in this installation: "
            "the module claimsengine.population does not exist yet",
            hint="run scenario files instead: claims simulate SCENARIO.yaml",
        ) from None
    generate = getattr(population, "generate_population", None)
    run = getattr(population, "run_population", None)
    if not callable(generate) or not callable(run):
        raise ClaimsError(
            "population mode (--generate) is not available: claimsengine.population lacks "
            "generate_population or run_population",
            hint="run scenario files instead: claims simulate SCENARIO.yaml",
        )
    return generate, run


def _generate(
    app: App,
    *,
    members: int | None,
    claims: int | None,
    seed: int | None,
    junit_path: Path | None,
) -> None:
    """Population mode, done by ``claimsengine.population``:
    ``generate_population(members, claims, seed)`` then ``run_population(population,
    rpc=..., advance=...)`` under a progress bar, whose report has ``to_json()`` and
    ``check()`` (the identities its counts must satisfy; any problem fails the command)."""
    if junit_path is not None:
        raise OneLineUsageError(
            "--junit applies to scenario files, not to --generate", click.get_current_context()
        )
    generate, run = _population()
    generated: Any = generate(
        members if members is not None else DEFAULT_MEMBERS,
        claims if claims is not None else DEFAULT_CLAIMS,
        seed if seed is not None else DEFAULT_SEED,
    )
    # On a terminal, a bar on stderr counts the records as the weekly rounds take them.
    with progress("Simulating the plan year", len(generated.records)) as advance:
        report: Any = run(generated, rpc=app.rpc, advance=advance)
    data: dict[str, Any] = report.to_json()

    def render(_console: Any) -> None:
        for key, value in data.items():
            if key not in ("pool", "paid_per_day", "results"):
                shown = value if isinstance(value, str | int | float) else json.dumps(value)
                click.echo(f"{key}: {shown}")

    app.emit(data, render)
    problems = list(report.check())
    if problems:
        raise ClaimsError(f"the population's counts do not add up: {'; '.join(problems)}")
