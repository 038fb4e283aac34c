"""`claims provider add|suspend|reinstate|list`: the hospitals a plan pays."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from claimsengine.cli.options import PLAN_ID, PROVIDER_ID, App, json_option, pass_app
from claimsengine.cli.render import table

if TYPE_CHECKING:
    from claimsengine.sdk import ProviderState
    from claimsengine.workspace import ProviderInfo


def _provider_json(plan_id: str, info: ProviderInfo) -> dict[str, Any]:
    return {
        "plan_id": plan_id,
        "provider_id": info.provider_id,
        "account": info.account,
        "payout": info.payout,
        "active": info.active,
        "accounts": list(info.accounts),
    }


@click.group(short_help="Register, suspend or reinstate a hospital; its payout and credit.")
def provider() -> None:
    """Register a plan's hospitals (providers), suspend or reinstate them, as the insurer.
    The provider itself, and only it, changes where its money goes (`payout`), collects
    the credit that refused transfers left in the engine (`collect`), and adds or removes
    other accounts that submit for it (`account add|remove`).

    \b
    Example:
      claims provider add SILVER-2027 HOSP-A --account hospital-1
      claims provider list SILVER-2027
      claims provider payout SILVER-2027 HOSP-A hospital-3
      claims provider collect SILVER-2027 HOSP-A
      claims provider account add SILVER-2027 HOSP-A --account hospital-3
    """


@provider.command(short_help="Register a hospital and the account it submits from.")
@click.argument("plan_id", type=PLAN_ID)
@click.argument("provider_id", type=PROVIDER_ID)
@click.option(
    "--account", required=True, metavar="ALIAS", help="The account the hospital submits from."
)
@click.option(
    "--payout",
    metavar="ALIAS",
    hidden=True,  # refused unless it is the --account: only the provider sets its payout
    help="Only the --account itself: the provider sets its payout (`provider payout`).",
)
@click.option(
    "--npi",
    metavar="NPI",
    help="Its 10-digit National Provider Identifier (Luhn-checked); remittance names it by it.",
)
@json_option
@pass_app
def add(
    app: App, plan_id: str, provider_id: str, account: str, payout: str | None, npi: str | None
) -> None:
    """Register PROVIDER_ID as a hospital of PLAN_ID that submits from --account. Its
    payments go to that account until the provider itself changes it (`claims provider
    payout`); the insurer never can. Registering a known PROVIDER_ID again with its own
    --account sets its --npi; only the provider adds other accounts (`claims provider account
    add`). An X12 835 export names the hospital by its --npi, and refuses a hospital without
    one.

    \b
    Example:
      claims provider add SILVER-2027 HOSP-A --account hospital-1 --npi 1234567893
    """
    from claimsengine.npi import parse_npi
    from claimsengine.sdk import InsurerClient

    if npi is not None:
        npi = parse_npi(npi, field="--npi")  # a bad NPI fails before anything is sent
    workspace = app.workspace()
    acting = app.account("insurer")
    insurer = InsurerClient(workspace, acting)
    workspace.chain.address_of(account)  # an unknown alias fails before anything is sent
    if payout:
        workspace.chain.address_of(payout)
    with workspace.command():
        insurer.require(plan_id, "admin", "register providers")
        insurer.add_provider(plan_id, provider_id, account, payout, npi=npi)
    info = workspace.provider(plan_id, provider_id)
    _show(app, plan_id, info, "Registered")


def _set_active(app: App, plan_id: str, provider_id: str, active: bool) -> None:
    from claimsengine.sdk import InsurerClient

    workspace = app.workspace()
    acting = app.account("insurer")
    insurer = InsurerClient(workspace, acting)
    action = "reinstate providers" if active else "suspend providers"
    with workspace.command():
        insurer.require(plan_id, "admin", action)
        insurer.set_provider_active(plan_id, provider_id, active)
    info = workspace.provider(plan_id, provider_id)
    _show(app, plan_id, info, "Reinstated" if active else "Suspended")


@provider.command(short_help="Stop a hospital submitting claims.")
@click.argument("plan_id", type=PLAN_ID)
@click.argument("provider_id", type=PROVIDER_ID)
@json_option
@pass_app
def suspend(app: App, plan_id: str, provider_id: str) -> None:
    """Suspend PROVIDER_ID in PLAN_ID: its new claims are refused until it is reinstated.
    Claims already queued are still paid.

    \b
    Example:
      claims provider suspend SILVER-2027 HOSP-B
    """
    _set_active(app, plan_id, provider_id, False)


@provider.command(short_help="Let a suspended hospital submit again.")
@click.argument("plan_id", type=PLAN_ID)
@click.argument("provider_id", type=PROVIDER_ID)
@json_option
@pass_app
def reinstate(app: App, plan_id: str, provider_id: str) -> None:
    """Reinstate a suspended PROVIDER_ID in PLAN_ID.

    \b
    Example:
      claims provider reinstate SILVER-2027 HOSP-B
    """
    _set_active(app, plan_id, provider_id, True)


@provider.command("list", short_help="A plan's hospitals and their accounts.")
@click.argument("plan_id", type=PLAN_ID)
@json_option
@pass_app
def list_providers(app: App, plan_id: str) -> None:
    """List the hospitals registered for PLAN_ID, as the chain's events left them, with
    each one's NPI (what remittance names it by; none when it was added without one),
    credit (payments the token refused, to collect) and debt (voided paid claims, kept
    back from its next payments from the plan).

    \b
    Example:
      claims provider list SILVER-2027
    """
    from claimsengine.money import format_cents

    workspace = app.workspace()
    with workspace.command():
        workspace.plan(plan_id)
        providers = workspace.providers(plan_id)
        money = {pid: workspace.engine.provider_info(plan_id, pid) for pid in providers}
    data = [
        {
            **_provider_json(plan_id, info),
            "npi": _npi(money[pid].npi),
            "credit": format_cents(money[pid].credit),
            "debt": format_cents(money[pid].debt),
        }
        for pid, info in providers.items()
    ]

    def render(console: Any) -> None:
        rows = table(
            "provider", "npi", "account", "payout", "active", "credit", "debt",
            title=f"Providers of {plan_id}", right=("credit", "debt"),
        )  # fmt: skip
        for pid, info in providers.items():
            rows.add_row(
                info.provider_id,
                _npi(money[pid].npi) or "-",
                info.account,
                info.payout,
                "yes" if info.active else "no",
                format_cents(money[pid].credit),
                format_cents(money[pid].debt),
            )
        console.print(rows)

    app.emit(data, render)


def _npi(npi: int) -> str | None:
    """An NPI as its 10 digits, None for a provider registered without one (0 on-chain)."""
    return f"{npi:010d}" if npi else None


def _show(app: App, plan_id: str, info: ProviderInfo, verb: str) -> None:
    def render(console: Any) -> None:
        state = "active" if info.active else "suspended"
        console.print(
            f"{verb} {info.provider_id} for {plan_id}: account {info.account}, "
            f"payout {info.payout} ({state})."
        )

    app.emit(_provider_json(plan_id, info), render)


def _provider_money_json(plan_id: str, provider_id: str, state: ProviderState) -> dict[str, Any]:
    from claimsengine.money import format_cents

    return {
        "plan_id": plan_id,
        "provider_id": provider_id,
        "owner": state.owner,
        "payout": state.payout,
        "active": state.active,
        "credit": format_cents(state.credit),
        "debt": format_cents(state.debt),
    }


@provider.command(short_help="Change where a provider's money goes (the provider only).")
@click.argument("plan_id", type=PLAN_ID)
@click.argument("provider_id", type=PROVIDER_ID)
@click.argument("address")
@json_option
@pass_app
def payout(app: App, plan_id: str, provider_id: str, address: str) -> None:
    """Send PROVIDER_ID's payments in PLAN_ID, and the credit it collects, to ADDRESS (an
    alias or a 0x address), as the provider's owner account: the account it was first
    registered with. The insurer cannot change it. Acts as that account unless --as is given.

    \b
    Example:
      claims provider payout SILVER-2027 HOSP-A 0x90F79bf6EB2c4f870365E785982E1f101E93b906
    """
    from claimsengine.sdk import HospitalClient

    workspace = app.workspace()
    hospital = HospitalClient(workspace, app.as_account)
    with workspace.command():
        state = hospital.set_payout(plan_id, provider_id, address)

    def render(console: Any) -> None:
        console.print(f"{provider_id}'s payments in {plan_id} now go to {state.payout}.")

    app.emit(_provider_money_json(plan_id, provider_id, state), render)


@provider.command(short_help="Take the credit refused transfers left (the provider only).")
@click.argument("plan_id", type=PLAN_ID)
@click.argument("provider_id", type=PROVIDER_ID)
@json_option
@pass_app
def collect(app: App, plan_id: str, provider_id: str) -> None:
    """Send PROVIDER_ID's credit in PLAN_ID to its payout address, as the provider's owner
    account. A payment the token refused (a blocked address, say) is credited to the
    provider inside the engine; change the payout with `claims provider payout` if the
    token refuses it, then collect. Acts as the owner account unless --as is given.

    \b
    Example:
      claims provider collect SILVER-2027 HOSP-A
    """
    from claimsengine.money import format_cents
    from claimsengine.sdk import HospitalClient

    workspace = app.workspace()
    hospital = HospitalClient(workspace, app.as_account)
    with workspace.command():
        collected, state = hospital.collect(plan_id, provider_id)
    data = {
        **_provider_money_json(plan_id, provider_id, state),
        "collected": format_cents(collected),
    }

    def render(console: Any) -> None:
        if collected == 0:
            console.print(f"{provider_id} has no credit to collect in {plan_id}.")
        else:
            console.print(
                f"Collected {format_cents(collected)} for {provider_id} in {plan_id}, "
                f"sent to {state.payout}."
            )

    app.emit(data, render)


@provider.group(short_help="Accounts that submit for a hospital (the provider only).")
def account() -> None:
    """Add or remove other accounts that submit, and void, for a provider (a second
    machine, say), as the provider's owner account: the account it was first registered
    with. The insurer cannot. An added account is paid as the provider is; it cannot change
    the payout, collect, or add accounts. A removed account is retired in the plan.

    \b
    Example:
      claims provider account add SILVER-2027 HOSP-A --account hospital-3
      claims provider account remove SILVER-2027 HOSP-A --account hospital-3
    """


@account.command("add", short_help="Let another account submit for a hospital.")
@click.argument("plan_id", type=PLAN_ID)
@click.argument("provider_id", type=PROVIDER_ID)
@click.option("--account", "other", required=True, metavar="ALIAS", help="The account to add.")
@json_option
@pass_app
def account_add(app: App, plan_id: str, provider_id: str, other: str) -> None:
    """Let --account submit and void claims for PROVIDER_ID in PLAN_ID, as the provider's
    owner account (unless --as is given).

    \b
    Example:
      claims provider account add SILVER-2027 HOSP-A --account hospital-3
    """
    _change_account(app, plan_id, provider_id, other, added=True)


@account.command("remove", short_help="Stop an added account submitting for a hospital.")
@click.argument("plan_id", type=PLAN_ID)
@click.argument("provider_id", type=PROVIDER_ID)
@click.option(
    "--account", "other", required=True, metavar="ALIAS", help="The added account to remove."
)
@json_option
@pass_app
def account_remove(app: App, plan_id: str, provider_id: str, other: str) -> None:
    """Stop --account, which the provider added, submitting or voiding for PROVIDER_ID in
    PLAN_ID (a lost key, say), as the provider's owner account (unless --as is given). The
    account is retired in the plan; the provider's claims and money are untouched.

    \b
    Example:
      claims provider account remove SILVER-2027 HOSP-A --account hospital-3
    """
    _change_account(app, plan_id, provider_id, other, added=False)


def _change_account(app: App, plan_id: str, provider_id: str, other: str, added: bool) -> None:
    from claimsengine.sdk import HospitalClient
    from claimsengine.sdk.party import describe_account

    workspace = app.workspace()
    hospital = HospitalClient(workspace, app.as_account)
    with workspace.command():
        if added:
            hospital.add_account(plan_id, provider_id, other)
        else:
            hospital.remove_account(plan_id, provider_id, other)
    info = workspace.provider(plan_id, provider_id)
    address = workspace.chain.address_of(other)

    def render(console: Any) -> None:
        verb = "now submits" if added else "no longer submits"
        count = len(info.accounts)
        console.print(
            f"{describe_account(workspace, address)} {verb} for {provider_id} in {plan_id}; "
            f"it has {count} account{'' if count == 1 else 's'}."
        )

    app.emit({**_provider_json(plan_id, info), "changed": address, "added": added}, render)
