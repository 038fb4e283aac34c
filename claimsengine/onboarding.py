"""Onboarding a plan: deploy it, enrol its members, register its providers and adjudicators,
and fund its pool, through the insurer's SDK client.

The demo, scenarios and generated populations all start this way; each stage is one atomic
command on the chain, so a caller can report progress between them (``on_stage``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from claimsengine.members import Member
from claimsengine.plan import Plan
from claimsengine.sdk import InsurerClient

if TYPE_CHECKING:
    from claimsengine.workspace import Workspace

__all__ = ["STAGES", "PlanOnboarding", "ProviderEntry", "Stage", "onboard"]

Stage = Literal["deploy", "enrol", "register", "fund"]
#: The stages, in the order they run.
STAGES: tuple[Stage, ...] = ("deploy", "enrol", "register", "fund")


@dataclass(frozen=True)
class ProviderEntry:
    """A provider to register: its id in the plan, the account it submits from, and where
    its payments go (None: to that account)."""

    provider_id: str
    account: str
    payout: str | None = None


@dataclass(frozen=True)
class PlanOnboarding:
    """Everything a plan needs before its first claim. ``funding`` is in cents (None: the
    pool is not funded here). ``more_adjudicators`` also get the adjudicator role (a plan
    whose review_quorum is k needs k of them)."""

    plan: Plan
    insurer: str = "insurer"
    adjudicator: str = "adjudicator"
    more_adjudicators: Sequence[str] = ()
    members: Sequence[Member] = ()
    providers: Sequence[ProviderEntry] = field(default_factory=tuple)
    funding: int | None = None


def onboard(
    workspace: Workspace,
    setup: PlanOnboarding,
    *,
    on_stage: Callable[[Stage], None] | None = None,
) -> InsurerClient:
    """Deploy, enrol, register (providers and the adjudicator) and fund, each stage one
    command; ``on_stage`` is told each stage as it starts. Returns the insurer's client.

    A stage with nothing to do (no members, no funding) still reports itself, so progress
    shown to a user always has the same steps.
    """
    insurer = InsurerClient(workspace, setup.insurer)
    plan_id = setup.plan.id

    def stage(name: Stage) -> None:
        if on_stage is not None:
            on_stage(name)

    stage("deploy")
    with workspace.command():
        insurer.deploy(setup.plan)
    stage("enrol")
    if setup.members:
        with workspace.command():
            insurer.enroll(plan_id, list(setup.members))
    stage("register")
    with workspace.command():
        for provider in setup.providers:
            insurer.add_provider(plan_id, provider.provider_id, provider.account)
            if provider.payout is not None:
                # Only the provider moves its payout address: it does so itself.
                chain = workspace.chain
                workspace.engine.set_payout(
                    chain.address_of(provider.account),
                    plan_id,
                    provider.provider_id,
                    chain.address_of(provider.payout),
                )
        for adjudicator in (setup.adjudicator, *setup.more_adjudicators):
            insurer.set_adjudicator(plan_id, adjudicator)
    stage("fund")
    if setup.funding is not None:
        with workspace.command():
            insurer.fund(plan_id, setup.funding)
    return insurer
