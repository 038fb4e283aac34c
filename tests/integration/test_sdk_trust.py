"""The SDK's side of "Trust between parties": each party's new method, and the refusals it
gives before anything is sent (the same words the CLI prints)."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from claimsengine.engine import DevToken, Role
from claimsengine.errors import (
    ClaimsError,
    InputError,
    MissingRole,
    NotFound,
    TransactionReverted,
)
from claimsengine.plan import load_plan
from claimsengine.records import TreatmentRecord
from claimsengine.sdk import AdjudicatorClient, HospitalClient, InsurerClient
from claimsengine.workspace import Workspace
from tests.integration import test_orchestrator as orchestrator_tests
from tests.integration.test_orchestrator import FIXTURES, PLAN, record

# The silver plan with HOSP-A (hospital-1) and HOSP-B (hospital-2), the six members, the
# adjudicator and a pool of 100,000.00; the clock at 2027-07-01: test_orchestrator's.
workspace = orchestrator_tests.workspace


def knee(workspace: Workspace) -> int:
    """A claim pending review: a knee replacement (27447, billed 48,500.00, allowed
    30,000.00) with prior auth, whose plan_paid is above the 5,000.00 auto-approve limit."""
    surgery = record(
        "HOSP-A-KNEE-1",
        member_id="M-0002",
        prior_auth="PA-1",
        lines=[{"code": "27447", "units": 1, "billed": "48500.00"}],
    )
    with workspace.command():
        result = HospitalClient(workspace).submit(TreatmentRecord.from_json(surgery))
    assert result.status == "pending_review"
    return result.claim_id


# -- roles, checked before anything is sent -------------------------------------------------


def test_require_passes_an_account_with_the_role(workspace: Workspace) -> None:
    assert InsurerClient(workspace, "insurer").require(PLAN, "admin").plan_id == PLAN
    AdjudicatorClient(workspace, "adjudicator").require(PLAN, Role.ADJUDICATOR)


def test_require_refuses_an_admin_action_with_the_clis_words(workspace: Workspace) -> None:
    with pytest.raises(MissingRole) as refused:
        HospitalClient(workspace, "hospital-1").require(PLAN, "admin", "enrol members")
    assert str(refused.value) == (
        "hospital-1 (0x90F7…b906) is not the insurer (admin) of plan SILVER-2027, so it "
        "cannot enrol members"
    )
    assert (refused.value.plan_id, refused.value.role) == (PLAN, "admin")
    assert refused.value.account == workspace.chain.address_of("hospital-1")
    assert not isinstance(refused.value, TransactionReverted)  # nothing was sent
    # The fix names the plan's own admin, by the alias this chain knows it by.
    assert refused.value.hint == "act as the plan's admin: --as insurer"


def test_the_admin_hint_names_the_plans_own_admin(workspace: Workspace) -> None:
    # A plan that hospital-3 created (once the owner made it an insurer): its admin is
    # hospital-3, so "--as insurer" would be wrong advice.
    other = dataclasses.replace(load_plan(FIXTURES / "plans" / "silver.yaml"), id="H3-PLAN")
    with workspace.command():
        owner = InsurerClient(workspace, "insurer")
        owner.engine.set_insurer(owner.account, workspace.chain.address_of("hospital-3"))
        InsurerClient(workspace, "hospital-3").deploy(other)
    with pytest.raises(MissingRole) as refused:
        InsurerClient(workspace, "insurer").require("H3-PLAN", "admin", "renew members")
    assert refused.value.hint == "act as the plan's admin: --as hospital-3"


def test_require_refuses_an_adjudication_without_the_role(workspace: Workspace) -> None:
    with pytest.raises(MissingRole) as refused:
        AdjudicatorClient(workspace, "hospital-1").require(PLAN, Role.ADJUDICATOR)
    assert str(refused.value) == (
        "hospital-1 (0x90F7…b906) is not an adjudicator of plan SILVER-2027"
    )
    # The fix names this account, ready to copy (not a placeholder, nor an alias that
    # may lack the role as well).
    assert refused.value.hint == (
        "act as an account that is an adjudicator of the plan (--as ALIAS), or the insurer "
        "grants this one the role: `claims adjudicator add SILVER-2027 --account hospital-1`"
    )


def test_require_names_a_missing_plan_first(workspace: Workspace) -> None:
    with pytest.raises(NotFound):
        HospitalClient(workspace, "hospital-1").require("NO-SUCH-PLAN", "admin")


def test_funding_by_an_outsider_is_refused_before_the_token_is_touched(
    workspace: Workspace,
) -> None:
    outsider = InsurerClient(workspace, "hospital-1")
    token = DevToken(workspace.chain, workspace.plan(PLAN).token)
    allowance = token.allowance(outsider.account, workspace.engine.address)
    with pytest.raises(MissingRole) as refused, workspace.command():
        outsider.fund(PLAN, 1_000)
    assert str(refused.value).endswith("so it cannot fund the pool")
    assert token.allowance(outsider.account, workspace.engine.address) == allowance


# -- the owner ----------------------------------------------------------------------------------


def test_the_owner_admits_and_removes_insurers(workspace: Workspace) -> None:
    owner = InsurerClient(workspace, "insurer")
    with workspace.command():
        assert owner.add_insurer("hospital-3") is True
        assert owner.remove_insurer("hospital-3") is False


def test_only_the_owner_admits_insurers(workspace: Workspace) -> None:
    with pytest.raises(ClaimsError) as refused, workspace.command():
        InsurerClient(workspace, "hospital-1").add_insurer("hospital-1")
    assert str(refused.value) == (
        "hospital-1 (0x90F7…b906) is not the engine's owner, so it cannot grant the insurer role"
    )
    assert refused.value.hint == "act as the owner, insurer (0xf39F…2266)"
    assert workspace.engine.is_insurer(workspace.chain.address_of("hospital-1")) is False


def test_whoever_deploys_the_engine_owns_it_and_is_an_insurer(tmp_path: Path) -> None:
    # On a node, the account that deploys the engine (`claims --as X deploy`) is the owner
    # and an insurer; on the embedded chain `init` deploys it as `insurer`.
    with Workspace.open(tmp_path / "state", create=True) as ws, ws.command():
        engine = ws.setup("hospital-3")
        hospital_3 = ws.chain.address_of("hospital-3")
        assert engine.owner() == hospital_3 and engine.is_insurer(hospital_3)
        assert not engine.is_insurer(ws.chain.address_of("insurer"))


# -- the insurer's schedule ---------------------------------------------------------------------


@pytest.mark.parametrize("effective", [date(2027, 7, 1), date(2027, 6, 30)])
def test_a_schedule_change_must_start_after_today(workspace: Workspace, effective: date) -> None:
    insurer = InsurerClient(workspace, "insurer")
    with pytest.raises(InputError) as refused, workspace.command():
        insurer.update_schedule(load_plan(FIXTURES / "plans" / "silver.yaml"), effective)
    assert refused.value.field == "--effective"
    assert f"the effective date {effective.isoformat()} is not after the chain's today " in str(
        refused.value
    )
    assert refused.value.hint == "give 2027-07-02 or later"


def test_schedule_versions_from_tomorrow_on(workspace: Workspace) -> None:
    insurer = InsurerClient(workspace, "insurer")
    silver = load_plan(FIXTURES / "plans" / "silver.yaml")
    with workspace.command():
        first = insurer.update_schedule(silver, date(2027, 7, 2))
        second = insurer.update_schedule(silver, date(2027, 8, 1))
    assert (first, second) == (1, 2)  # the deployed schedule is version 0
    with pytest.raises(InputError) as refused, workspace.command():
        insurer.update_schedule(silver, date(2027, 8, 1))
    assert str(refused.value) == (
        "field --effective: schedule version 2 of SILVER-2027 takes effect on 2027-08-01; "
        "versions take effect in order, so the effective date 2027-08-01 is too early"
    )
    assert refused.value.hint == "give 2027-08-02 or later"


# -- registering a provider ---------------------------------------------------------------------


@pytest.mark.parametrize("provider_id", ["HOSP C", "H" * 33, "HÔPITAL", ""])
def test_a_provider_id_no_record_can_use_is_refused_before_sending(
    workspace: Workspace, provider_id: str
) -> None:
    height = workspace.chain.block_number()
    with pytest.raises(InputError) as refused, workspace.command():
        InsurerClient(workspace, "insurer").add_provider(PLAN, provider_id, "hospital-3")
    assert refused.value.field == "provider_id"
    assert refused.value.message == (
        f"{provider_id!r} is not a provider id: 1-32 ASCII letters, digits or symbols, no "
        "spaces (it is the provider's reference on the chain)"
    )
    assert workspace.chain.block_number() == height


# -- the provider's money -----------------------------------------------------------------------


def test_the_provider_sets_its_payout(workspace: Workspace) -> None:
    hospital_3 = workspace.chain.address_of("hospital-3")
    with workspace.command():
        state = HospitalClient(workspace, "hospital-1").set_payout(PLAN, "HOSP-A", "hospital-3")
    assert state.payout == hospital_3
    assert state.owner == workspace.chain.address_of("hospital-1")
    # Without an account, the client acts as the provider's owner account.
    with workspace.command():
        back = HospitalClient(workspace).set_payout(PLAN, "HOSP-A", "hospital-1")
    assert back.payout == state.owner


@pytest.mark.parametrize("outsider", ["insurer", "hospital-2", "adjudicator"])
def test_only_the_provider_moves_its_money(workspace: Workspace, outsider: str) -> None:
    client = HospitalClient(workspace, outsider)
    for action, move in (
        ("change its payout address", lambda: client.set_payout(PLAN, "HOSP-A", outsider)),
        ("collect its credit", lambda: client.collect(PLAN, "HOSP-A")),
    ):
        with pytest.raises(ClaimsError) as refused, workspace.command():
            move()
        assert f"is not the owner account of provider HOSP-A in plan {PLAN}, so it cannot " in (
            str(refused.value)
        )
        assert str(refused.value).endswith(action)
    owner = workspace.chain.address_of("hospital-1")
    assert workspace.engine.provider_info(PLAN, "HOSP-A").payout == owner


def test_only_the_provider_adds_its_accounts(workspace: Workspace) -> None:
    height = workspace.chain.block_number()
    # The insurer registering HOSP-A again with another account: refused, nothing sent.
    with pytest.raises(ClaimsError) as refused, workspace.command():
        InsurerClient(workspace, "insurer").add_provider(PLAN, "HOSP-A", "hospital-3")
    assert str(refused.value).startswith(
        f"provider HOSP-A of plan {PLAN} is registered with account hospital-1"
    )
    for who in ("insurer", "hospital-2", "adjudicator"):
        with pytest.raises(ClaimsError) as refused, workspace.command():
            HospitalClient(workspace, who).add_account(PLAN, "HOSP-A", "hospital-3")
        assert str(refused.value).endswith("so it cannot add an account")
    assert workspace.chain.block_number() == height
    with workspace.command():
        HospitalClient(workspace).add_account(PLAN, "HOSP-A", "hospital-3")
    third = workspace.chain.address_of("hospital-3")
    assert workspace.provider(PLAN, "HOSP-A").accounts[-1] == third
    assert workspace.engine.provider_of(PLAN, third) == ("HOSP-A", True)
    with workspace.command():
        HospitalClient(workspace, "hospital-1").remove_account(PLAN, "HOSP-A", "hospital-3")
    assert third not in workspace.provider(PLAN, "HOSP-A").accounts
    assert workspace.engine.provider_of(PLAN, third) == ("HOSP-A", False)


def test_payout_of_an_unknown_provider(workspace: Workspace) -> None:
    with pytest.raises(NotFound) as missing, workspace.command():
        HospitalClient(workspace).set_payout(PLAN, "HOSP-Z", "hospital-3")
    assert str(missing.value) == f"provider 'HOSP-Z' is not registered for plan {PLAN}"


def test_collect_with_no_credit_sends_nothing(workspace: Workspace) -> None:
    height = workspace.chain.block_number()
    with workspace.command():
        collected, state = HospitalClient(workspace).collect(PLAN, "HOSP-B")
    assert collected == 0 and state.credit == 0
    assert workspace.chain.block_number() == height


# -- the adjudicator ----------------------------------------------------------------------------


@pytest.mark.parametrize("reason", [0, 1, 45, 51, 119])
def test_a_denial_reason_outside_the_list_is_refused_before_sending(
    workspace: Workspace, reason: int
) -> None:
    claim_id = knee(workspace)
    with pytest.raises(InputError) as refused, workspace.command():
        AdjudicatorClient(workspace, "adjudicator").deny(claim_id, reason)
    assert str(refused.value) == (
        f"field --reason: {reason} is not a reason code for a review denial; use one of "
        "50, 16, 96, 197, 204"
    )
    assert AdjudicatorClient(workspace, "adjudicator").queue(PLAN)[0].claim_id == claim_id


@pytest.mark.parametrize("reason", [50, 16, 96, 197, 204])
def test_a_denial_carries_its_reason_on_every_line(workspace: Workspace, reason: int) -> None:
    claim_id = knee(workspace)
    with workspace.command():
        result = AdjudicatorClient(workspace, "adjudicator").deny(claim_id, reason)
    assert result.status == "denied"
    assert [(line.denied, line.reasons) for line in result.lines] == [(True, (str(reason),))]
    assert result.totals.plan_paid == 0
