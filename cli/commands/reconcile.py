"""`claims reconcile PLAN_ID --ledger FILE [--format F] [--out FILE]`: settlements vs a ledger."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from claimsengine.cli.options import PLAN_ID, PROVIDER_ID, App, json_option, pass_app
from claimsengine.cli.render import key_value_table, table
from claimsengine.errors import ClaimsError
from claimsengine.exports import FORMATS

if TYPE_CHECKING:
    from claimsengine.payer import Payer
    from claimsengine.reconcile import ReconciliationReport

#: Above this many records, the human table shows only those that are not matched.
RECORD_ROWS_SHOWN = 100


@click.command(short_help="Check settlements against a ledger.")
@click.argument("plan_id", type=PLAN_ID)
@click.option(
    "--ledger",
    "ledger_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="CSV with the header record_id,expected_paid (provider_id optional).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="Write the report in this format: to --out, or to stdout instead of the tables.",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    metavar="FILE",
    help="Write the report (in --format, default json) to FILE.",
)
@click.option(
    "--provider",
    "provider_id",
    type=PROVIDER_ID,
    metavar="PROVIDER_ID",
    help="Only this provider's claims (a hospital reconciling its own ledger).",
)
@click.option(
    "--plan-file",
    "plan_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PLAN.yaml",
    help="Take the payer block (for x12-835 and fhir) from this plan file, instead of the "
    "one `claims deploy` recorded in this state folder.",
)
@json_option
@pass_app
def reconcile(
    app: App,
    plan_id: str,
    ledger_path: Path,
    fmt: str | None,
    out_path: Path | None,
    provider_id: str | None,
    plan_file: Path | None,
) -> None:
    """Reconcile PLAN_ID's settlements on the chain against a ledger of what you expect to
    be paid. Every record gets a result: matched, short_paid (with the adjustment codes and
    amounts), over_paid, denied, pending_review, queued, voided (counted 0 paid; a paid
    claim's payment becomes the provider's debt), not_on_chain (in the ledger, never
    submitted) or not_in_ledger (paid on-chain, not in the ledger). A corrected record is
    matched to the claim that replaced the voided one. Per provider, what the
    plan paid is checked against the token transfers its payout address received.

    Amounts, statuses and payments are read from the chain's events. Record ids never go
    on-chain: they are matched through this state folder's journal (or vault), so run it
    where the records were submitted, or with a copy of that state folder.

    Exits 0 with the report, whatever the records' results; exits 1 only when a balancing
    check fails (a line or claim whose billed − adjustments is not its payment, or
    payments that differ from the token transfers).

    An x12-835 needs the plan's payer block (recorded by `claims deploy`, or given with
    --plan-file), each provider's NPI (`claims provider add ... --npi`) and the member ids
    of this state folder's records; without them it is refused and nothing is written.

    \b
    Examples:
      claims reconcile SILVER-2027 --ledger ledger.csv
      claims --json reconcile SILVER-2027 --ledger ledger.csv --provider HOSP-A
      claims reconcile SILVER-2027 --ledger ledger.csv --format x12-835 --out remit.835
      claims reconcile SILVER-2027 --ledger ledger.csv --format x12-835 --plan-file plan.yaml
    """
    from claimsengine.exports import render as render_export
    from claimsengine.reconcile import reconcile as run_reconcile

    payer = None if plan_file is None else _payer_of(plan_file, plan_id)
    workspace = app.workspace()
    with workspace.command():
        report = run_reconcile(
            workspace,
            plan_id,
            ledger_path,
            provider=provider_id,
            payer=payer,
            member_ids=fmt == "x12-835",
        )

    if out_path is not None:
        _write_out(app, report, fmt or "json", out_path)
    elif fmt is not None:
        click.echo(render_export(report, fmt), nl=False)
    else:
        app.emit(report.to_json(), lambda console: _render(console, report, None))

    failed = [check for check in report.checks if not check.ok]
    if failed:
        names = ", ".join(check.name for check in failed)
        raise ClaimsError(
            f"reconciliation of {plan_id}: balancing failed ({names}): {failed[0].detail}",
            hint="the chain's payments do not add up; keep the report and tell the insurer",
        )


def _payer_of(plan_file: Path, plan_id: str) -> Payer:
    """The payer block of ``plan_file``, which must be the file of plan ``plan_id``."""
    from claimsengine.errors import PlanError
    from claimsengine.plan import load_plan

    plan = load_plan(plan_file)
    if plan.id != plan_id:
        raise PlanError(
            f"is plan {plan.id}, not {plan_id}", file=str(plan_file), field="id",
            hint="give the plan file of the plan you reconcile",
        )  # fmt: skip
    if plan.payer is None:
        raise PlanError(
            "has no payer block", file=str(plan_file), field="payer",
            hint="add the plan's payer (name, id, address, contact): formats.md",
        )  # fmt: skip
    return plan.payer


def _write_out(app: App, report: ReconciliationReport, out_format: str, out_path: Path) -> None:
    """Write the report in ``out_format`` to ``out_path``, then show it (tables or --json)."""
    from claimsengine.exports import render as render_export

    text = render_export(report, out_format)
    try:
        out_path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise ClaimsError(
            f"cannot write {out_path}: {error.strerror}", hint="choose another --out"
        ) from None
    data = report.to_json()
    data["output"] = {"format": out_format, "path": str(out_path)}
    app.emit(data, lambda console: _render(console, report, (out_format, out_path)))


def _render(console: Any, report: ReconciliationReport, written: tuple[str, Path] | None) -> None:
    scope = f" · provider {report.provider}" if report.provider else ""
    console.print(
        f"[bold]Reconciliation of {report.plan_id}[/bold] against {report.ledger}{scope}"
        f" · chain date {report.today_date.isoformat()}"
    )
    _render_records(console, report)
    console.print(
        key_value_table(
            [(result.replace("_", " "), str(count)) for result, count in report.summary.items()],
            title="Results",
        )
    )
    _render_providers(console, report)
    checks = table("balancing check", "result", "detail", title="Balancing")
    for check in report.checks:
        checks.add_row(check.name, "ok" if check.ok else "FAILED", check.detail)
    console.print(checks)
    if report.unledgered:
        by_status: dict[str, int] = {}
        for claim in report.unledgered:
            by_status[claim.claim.status] = by_status.get(claim.claim.status, 0) + 1
        parts = ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in by_status.items())
        console.print(
            f"{len(report.unledgered)} other claims on the chain are not in the ledger and not "
            f"paid ({parts}); --json lists them under `unledgered`."
        )
    for warning in report.warnings:
        console.print(f"[bold]warning:[/bold] {warning}")
    if written is not None:
        console.print(f"Wrote the {written[0]} report to {written[1]}.")


def _cents(value: int | None) -> str:
    from claimsengine.money import format_cents

    return "" if value is None else format_cents(value)


def _render_records(console: Any, report: ReconciliationReport) -> None:
    """The records' table: all of them, or, past RECORD_ROWS_SHOWN, those not matched."""
    records, note = report.records_to_read(RECORD_ROWS_SHOWN)
    if note:
        note += " (--json or --format csv has them all)"
    rows = table(
        "record",
        "result",
        "expected",
        "plan paid",
        "paid",
        "difference",
        "claim",
        "reasons",
        title="Records",
        right=("expected", "plan paid", "paid", "difference", "claim"),
    )
    for record in records:
        rows.add_row(
            record.record_id or "(record id unknown here)",
            record.result,
            _cents(record.expected_paid),
            _cents(record.plan_paid),
            _cents(record.paid),
            _cents(record.difference),
            "" if record.claim is None else str(record.claim.claim_id),
            ", ".join(record.reasons),
        )
    console.print(rows)
    if note:
        console.print(note)


def _render_providers(console: Any, report: ReconciliationReport) -> None:
    """Per provider: what the plan paid against the token transfers, and its credits."""
    amounts = ("expected", "plan paid", "paid", "queued", "pending review", "transfers")
    providers = table(
        "provider",
        "claims",
        *amounts,
        "check",
        title="Per provider: payments against token transfers",
        right=("claims", *amounts),
    )
    for provider in report.providers:
        providers.add_row(
            provider.provider_id,
            str(provider.claims),
            _cents(provider.expected_paid),
            _cents(provider.plan_paid),
            _cents(provider.paid),
            _cents(provider.queued),
            _cents(provider.pending_review),
            provider.to_json()["transfers"],
            "ok" if provider.ok else "MISMATCH",
        )
    console.print(providers)
    for provider in report.providers:
        if provider.credited:
            console.print(
                f"{provider.provider_id}: {_cents(provider.credited)} of its payments was "
                f"credited in the engine (the token refused the transfer); collected "
                f"{_cents(provider.collected)}, still in the engine "
                f"{_cents(provider.credit_in_engine)} (`claims provider collect`)."
            )
        if provider.voided or provider.recovered or provider.recovered_from_credits:
            console.print(
                f"{provider.provider_id}: voids reversed {_cents(provider.voided)} of its "
                f"payments; kept back from later payments "
                f"{_cents(provider.recovered + provider.recovered_from_credits)}, still owed "
                f"to the plan {_cents(provider.debt)}."
            )
