"""What every party's client shares: the workspace and the account it acts as, the check
of a role before anything is sent, how messages name an account; and what any party may
do alone (settle a pool's queue, read a transaction's gas)."""

from __future__ import annotations

from claimsengine.engine import (
    Engine,
    PoolState,
    Role,
)
from claimsengine.errors import (
    MissingRole,
)
from claimsengine.workspace import PlanInfo, Workspace


def account_alias(workspace: Workspace, account: str) -> str | None:
    """The alias this chain knows an account (alias or address) by, or None."""
    address = workspace.chain.address_of(account)
    return next(
        (name for name, known in workspace.chain.accounts.items() if known == address), None
    )


def describe_account(workspace: Workspace, account: str) -> str:
    """``hospital-1 (0x7099…79C8)`` for an account (alias or address) that has an alias on
    this chain, the address otherwise: what messages name an account by."""
    address = workspace.chain.address_of(account)
    alias = account_alias(workspace, address)
    return f"{alias} ({address[:6]}…{address[-4:]})" if alias else address


class Party:
    """A workspace and the account a party acts as (an alias or an address)."""

    def __init__(self, workspace: Workspace, account: str) -> None:
        self.workspace = workspace
        self.account = workspace.chain.address_of(account)

    @property
    def engine(self) -> Engine:
        return self.workspace.engine

    def require(self, plan_id: str, role: Role | str, action: str | None = None) -> PlanInfo:
        """Refuse, before sending anything, when this party's account lacks ``role`` (a
        ``Role``, or "admin" / "adjudicator") in the plan: ``MissingRole``, whose message
        names the account, the role, the plan and the fix. ``action`` ("fund the pool")
        words what was refused. A missing plan is ``NotFound`` first. Returns the plan."""
        needed = role if isinstance(role, Role) else Role[role.upper()]
        info = self.workspace.plan(plan_id)
        if needed in self.engine.roles(plan_id, self.account):
            return info
        who = describe_account(self.workspace, self.account)
        cannot = f", so it cannot {action}" if action else ""
        if needed == Role.ADMIN:
            raise MissingRole(
                f"{who} is not the insurer (admin) of plan {plan_id}{cannot}",
                plan_id=plan_id,
                role="admin",
                account=self.account,
                hint=self._admin_hint(info.admin),
            )
        raise MissingRole(
            f"{who} is not an adjudicator of plan {plan_id}{cannot}",
            plan_id=plan_id,
            role="adjudicator",
            account=self.account,
            hint="act as an account that is an adjudicator of the plan (--as ALIAS), or the "
            "insurer grants this one the role: `claims adjudicator add "
            f"{plan_id} --account {account_alias(self.workspace, self.account) or self.account}`",
        )

    def _admin_hint(self, admin: str) -> str:
        """How to act as the plan's admin: its alias on this chain, else its address."""
        alias = account_alias(self.workspace, admin)
        return (
            f"act as the plan's admin: --as {alias}"
            if alias
            else f"act as the plan's admin {admin}"
        )


def transaction_gas(workspace: Workspace, tx_hash: str) -> int:
    """The gas a transaction used, by its hash as results show it ("0x…")."""
    return workspace.chain.receipt(bytes.fromhex(tx_hash.removeprefix("0x"))).gas_used


#: Settlement transactions one ``settle`` sends at most while each stops at a run of voided
#: places: each passes 256 of them, so 64 pass 16,384.
SETTLE_TRANSACTIONS = 64


def settle(workspace: Workspace, plan_id: str, account: str) -> tuple[int, PoolState]:
    """Pay queued claims first-in, first-out while funds last (anyone may). A transaction
    passes at most 256 voided claims' places (holes) at the queue's head and stops at a
    longer run: settle again while one stops at a hole, so a hospital's mass void does
    not hold back the claims queued behind it."""
    workspace.plan(plan_id)
    sender = workspace.chain.address_of(account)
    engine = workspace.engine
    paid = 0
    for _ in range(SETTLE_TRANSACTIONS):
        receipt = engine.settle(sender, plan_id)
        paid += sum(1 for e in engine.decode_logs(receipt.logs) if e.name == "ClaimPaid")
        pool = engine.pool_state(plan_id)
        if not engine.stopped_at_a_hole(plan_id, pool):
            break
    return paid, pool
