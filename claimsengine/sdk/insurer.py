"""The insurer's client: plans, members, providers, adjudicators, the pool."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from claimsengine.abi import text_to_bytes32
from claimsengine.days import day_of_timestamp, from_day, to_day
from claimsengine.engine import (
    DevToken,
    PoolState,
    Role,
)
from claimsengine.enrolment import (
    TAKE_BACK_HINT,
    EnrolmentPlan,
    RenewReport,
    coverage_taken_back,
    plan_enrolment,
    plan_renewal,
)
from claimsengine.errors import (
    ClaimsError,
    InputError,
    NotFound,
    TransactionReverted,
)
from claimsengine.ids import provider_id_problem
from claimsengine.members import Member
from claimsengine.money import format_cents
from claimsengine.npi import parse_npi
from claimsengine.plan import DEV_TOKEN, Plan
from claimsengine.sdk.party import Party, describe_account, settle
from claimsengine.workspace import PlanInfo

#: Tries of a funding whose allowance another run as the same account spent meanwhile.
FUND_ATTEMPTS = 5
#: The token's revert when a funding finds less allowance than it needs.
ALLOWANCE_SPENT = "erc20: insufficient allowance"


class InsurerClient(Party):
    """Deploys plans, enrols members, registers providers, funds and runs the pool."""

    def deploy(self, plan: Plan) -> PlanInfo:
        engine = self.workspace.setup(self.account)
        if engine.plan_exists(plan.id):
            raise ClaimsError(
                f"plan {plan.id} already exists on this chain", hint="choose another id"
            )
        token = self.workspace.dev_token.address if plan.token == DEV_TOKEN else plan.token
        engine.create_plan(self.account, plan, token)
        self.workspace.keys.pseudonym_key(plan.id)  # the insurer makes the plan's key
        if plan.payer is not None:  # off-chain metadata that remittance needs
            self.workspace.remember_payer(plan.id, plan.payer)
        return self.workspace.plan(plan.id)

    def enroll(self, plan_id: str, members: Sequence[Member]) -> int:
        """Enrol members (or give them new dates) in every benefit period that their
        coverage overlaps, up to the period after today's (formats.md, Privacy); the
        members are kept in this workspace's roster for `renew`. Returns how many members."""
        self.workspace.plan(plan_id)
        self.check_enrolment(plan_id, members)
        today = day_of_timestamp(self.workspace.chain.now())
        self._send_enrolment(plan_id, plan_enrolment(self.workspace, plan_id, members, today))
        return len(members)

    def check_enrolment(
        self, plan_id: str, members: Sequence[Member], source: str = "members"
    ) -> None:
        """Refuse, before anything is sent, new dates that would take back coverage already
        lived (a day up to today that the dates enrolled before covered): every such member
        of ``source`` named at once."""
        today = day_of_timestamp(self.workspace.chain.now())
        problems = coverage_taken_back(self.workspace, plan_id, members, today, source)
        if problems:
            raise InputError.of_rows(problems, file=source, hint=TAKE_BACK_HINT)

    def renew(self, plan_id: str) -> RenewReport:
        """Enrol every member of the roster still covered in the next benefit period (the
        one after today's); a member whose coverage ended is not renewed."""
        self.workspace.plan(plan_id)
        if next(self.workspace.roster.members(plan_id), None) is None:
            raise NotFound(
                f"this workspace knows no members of plan {plan_id}",
                hint=f"enrol them from this --state first: claims enroll {plan_id} MEMBERS.csv",
            )
        today = day_of_timestamp(self.workspace.chain.now())
        plan, report = plan_renewal(self.workspace, plan_id, today)
        self._send_enrolment(plan_id, plan)
        return report

    def _send_enrolment(self, plan_id: str, plan: EnrolmentPlan) -> None:
        # The roster first: it may list a period that a failed send left out (sent again
        # next time), but never miss one that the chain holds. When the chain refuses the
        # first transaction, nothing of the enrolment landed: the roster goes back too.
        roster = self.workspace.roster
        roster.put_many(plan_id, plan.entries)
        for number, batch in enumerate(plan.batches()):
            try:
                self.engine.enroll(self.account, plan_id, batch)
            except TransactionReverted:
                if number == 0 and plan.earlier:
                    roster.put_many(plan_id, [e for e in plan.earlier.values() if e is not None])
                    roster.forget_many(plan_id, [m for m, e in plan.earlier.items() if e is None])
                raise

    def add_provider(
        self,
        plan_id: str,
        provider_id: str,
        account: str,
        payout: str | None = None,
        npi: str | None = None,
    ) -> None:
        """Register a provider; ``npi`` (10 digits, Luhn-checked) is what remittance names
        it by, and it is stored on-chain with the provider. A provider id that no record can
        name is refused before anything is sent."""
        problem = provider_id_problem(provider_id)
        if problem is not None:
            raise InputError(problem, field="provider_id")
        number = 0 if npi is None else int(parse_npi(npi))
        chain = self.workspace.chain
        address = chain.address_of(account)
        # The payout starts as the provider's own account; only the provider moves it.
        if payout is not None and chain.address_of(payout) != address:
            raise InputError(
                "only the provider sets its payout address",
                field="--payout",
                hint="register the provider with its account; it then runs "
                "`claims provider payout`",
            )
        known = self.workspace.providers(plan_id).get(provider_id)
        if known is not None and known.account.lower() != address.lower():
            raise ClaimsError(
                f"provider {provider_id} of plan {plan_id} is registered with account "
                f"{describe_account(self.workspace, known.account)}; only the provider adds "
                "another account it submits from",
                hint=f"the provider runs `claims provider account add {plan_id} {provider_id} "
                f"--account {account}` (as its owner account, the default)",
            )
        self.engine.register_provider(self.account, plan_id, provider_id, address, number)

    def set_provider_active(self, plan_id: str, provider_id: str, active: bool) -> None:
        self.workspace.provider(plan_id, provider_id)  # NotFound with the registered ids
        self.engine.set_provider_active(self.account, plan_id, provider_id, active)

    def set_insurer(self, account: str, allowed: bool) -> bool:
        """Grant (or revoke) the right to create plans, as the engine's owner. Returns
        whether `account` is an insurer now."""
        address = self.workspace.chain.address_of(account)
        owner = self.engine.owner()
        if owner.lower() != self.account.lower():
            verb = "grant" if allowed else "revoke"
            raise ClaimsError(
                f"{describe_account(self.workspace, self.account)} is not the engine's owner, "
                f"so it cannot {verb} the insurer role",
                hint=f"act as the owner, {describe_account(self.workspace, owner)}",
            )
        self.engine.set_insurer(self.account, address, allowed)
        return self.engine.is_insurer(address)

    def add_insurer(self, account: str) -> bool:
        return self.set_insurer(account, True)

    def remove_insurer(self, account: str) -> bool:
        return self.set_insurer(account, False)

    def update_schedule(self, plan: Plan, effective: date) -> int:
        """Replace `plan.id`'s service schedule with `plan.services`, for services on or
        after `effective` (which must be after the chain's today). The plan's other terms
        are fixed at deploy and are not read from `plan`. Returns the new version's number
        (the deployed schedule is version 0)."""
        self.workspace.plan(plan.id)  # NotFound names a missing plan first
        today = day_of_timestamp(self.workspace.chain.now())
        day = to_day(effective)
        if day <= today:
            raise InputError(
                f"the effective date {effective.isoformat()} is not after the chain's today "
                f"{from_day(today).isoformat()}; a schedule change may not reprice claims "
                "already made or in flight",
                field="--effective",
                hint=f"give {from_day(today + 1).isoformat()} or later",
            )
        versions = self.engine.events("ScheduleVersion", text_to_bytes32(plan.id))
        if versions:
            latest = max(versions, key=lambda e: int(e.args["version"]))
            latest_day = int(latest.args["effective_day"])
            if day <= latest_day:
                raise InputError(
                    f"schedule version {int(latest.args['version'])} of {plan.id} takes effect "
                    f"on {from_day(latest_day).isoformat()}; versions take effect in order, so "
                    f"the effective date {effective.isoformat()} is too early",
                    field="--effective",
                    hint=f"give {from_day(latest_day + 1).isoformat()} or later",
                )
        receipts = self.engine.update_schedule(self.account, plan.id, plan.services, day)
        (event,) = [
            e for e in self.engine.decode_logs(receipts[0].logs) if e.name == "ScheduleVersion"
        ]
        return int(event.args["version"])

    def set_adjudicator(self, plan_id: str, account: str, enabled: bool = True) -> None:
        address = self.workspace.chain.address_of(account)
        roles = self.engine.roles(plan_id, address)
        roles = roles | Role.ADJUDICATOR if enabled else roles & ~Role.ADJUDICATOR
        self.engine.set_role(self.account, plan_id, address, roles & ~Role.ADMIN)

    def fund(self, plan_id: str, cents: int) -> PoolState:
        if cents <= 0:
            raise InputError("the amount must be more than 0.00", field="AMOUNT")
        info = self.require(plan_id, Role.ADMIN, "fund the pool")  # before touching the token
        token = DevToken(self.workspace.chain, info.token)
        units = cents * info.token_scale
        balance = token.balance_of(self.account)
        if balance < units:
            raise ClaimsError(
                f"the insurer holds {format_cents(balance // info.token_scale)} of the token, "
                f"and {format_cents(cents)} are needed",
                hint="top up the insurer's account first",
            )
        # Other runs as this account may fund at the same time and spend the allowance
        # between our approval and our funding: top it up by what is short (never set it
        # down to our amount, which would take theirs), and when ours was spent, again.
        for attempt in range(FUND_ATTEMPTS):
            allowance = token.allowance(self.account, self.engine.address)
            if allowance < units:
                token.approve(self.account, self.engine.address, allowance + units)
            try:
                self.engine.fund(self.account, plan_id, cents)
                break
            except TransactionReverted as error:
                if error.reason != ALLOWANCE_SPENT or attempt == FUND_ATTEMPTS - 1:
                    raise
        pool = self.engine.pool_state(plan_id)
        # Funding settles what it covers, but its transaction stops at a long run of voided
        # places at the queue's head: settle on past them (a paused plan too: the pause
        # stops new work, not payment of approved claims).
        if self.engine.stopped_at_a_hole(plan_id, pool):
            _paid, pool = settle(self.workspace, plan_id, self.account)
        return pool

    def withdraw(self, plan_id: str, cents: int, to: str | None = None) -> PoolState:
        recipient = self.workspace.chain.address_of(to) if to else self.account
        self.engine.withdraw(self.account, plan_id, cents, recipient)
        return self.engine.pool_state(plan_id)

    def pause(self, plan_id: str, paused: bool = True) -> None:
        self.engine.set_paused(self.account, plan_id, paused)

    def pool(self, plan_id: str) -> PoolState:
        self.workspace.plan(plan_id)
        return self.engine.pool_state(plan_id)
