"""Fixtures for the contract tests: a fresh embedded chain with the engine, the dev token,
and one plan funded and ready, plus named actors (insurer, adjudicator, hospital, outsider)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from claimsengine.abi import DecodedEvent
from claimsengine.adjudication import LineAdjudication
from claimsengine.chain.base import Receipt
from claimsengine.chain.embedded import EmbeddedChain
from claimsengine.days import from_day, to_day
from claimsengine.engine import (
    ChainClaim,
    ChainLine,
    ClaimState,
    DevToken,
    Engine,
    Enrollment,
    PoolState,
    Role,
)
from claimsengine.errors import TransactionReverted
from claimsengine.plan import Plan, Service, load_plan
from claimsengine.status import ClaimStatus

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
TOKEN_SCALE = 10**4  # 6-decimal token: units per cent
TODAY = date(2027, 6, 1)  # the chain clock of the `chain` fixture


def noon(d: date) -> int:
    """A timestamp at noon UTC of a day."""
    return to_day(d) * 86_400 + 43_200


@contextmanager
def reverts(reason: str) -> Iterator[pytest.ExceptionInfo[TransactionReverted]]:
    """Expect a transaction to revert with exactly `reason`, word for word."""
    with pytest.raises(TransactionReverted) as info:
        yield info
    assert info.value.reason == reason


def service(code: str, fee: int, **options: Any) -> Service:
    """A fee-schedule entry (fee in cents per unit); options as `Service` names them."""
    return Service(code=code, description=f"test service {code}", fee=fee, **options)


def make_plan(
    plan_id: str,
    services: Sequence[Service],
    *,
    effective: date = date(2027, 1, 1),
    benefit_period_days: int = 365,
    deductible: int = 0,
    out_of_pocket_max: int = 1_000_000,
    coinsurance_bps: int = 2000,
    annual_benefit_max: int | None = None,
    waiting_period_days: int = 0,
    timely_filing_days: int = 365,
    auto_approve_limit: int = 100_000_000,
) -> Plan:
    """A plan built in code. Money in cents; the defaults keep every rule but the ones a
    test names out of the way (no deductible, oop max 10000.00, 20%, no benefit max)."""
    return Plan(
        id=plan_id,
        name=f"Test plan {plan_id}",
        token="dev",
        effective_date=effective,
        benefit_period_days=benefit_period_days,
        deductible=deductible,
        out_of_pocket_max=out_of_pocket_max,
        coinsurance_bps=coinsurance_bps,
        annual_benefit_max=annual_benefit_max,
        waiting_period_days=waiting_period_days,
        timely_filing_days=timely_filing_days,
        auto_approve_limit=auto_approve_limit,
        services=tuple(services),
    )


LINE_FIELDS = (
    "units",
    "billed",
    "allowed",
    "deductible",
    "copay",
    "coinsurance",
    "benefit_limit",
    "plan_paid",
)


def line_result(line: dict[str, Any]) -> tuple[int, ...]:
    """A LineAdjudicated event as (units, billed, allowed, deductible, copay, coinsurance,
    benefit_limit, plan_paid, denial), to compare with `oracle_line_result`."""
    return (*(int(line[name]) for name in LINE_FIELDS), int(line["denial"]))


def oracle_line_result(line: LineAdjudication) -> tuple[int, ...]:
    """The oracle's line in the shape of `line_result` (a priced line has denial 0)."""
    return (*(int(getattr(line, name)) for name in LINE_FIELDS), line.denial or 0)


def member_label(name: str, period: int) -> str:
    """The oracle's name for the member's pseudonym of ``period``:
    ``pseudonym(member_label(name, p)) == pseudonym(name, p)``."""
    return name if period == 0 else f"{name}@{period}"


def pseudonym(name: str, period: int = 0) -> bytes:
    """A stand-in member pseudonym of one benefit period for contract tests (the SDK uses
    an HMAC of the period and the member id)."""
    suffix = b"" if period == 0 else b"@%d" % period
    return hashlib.sha256(b"contract-test:" + name.encode() + suffix).digest()


@dataclass
class Submitted:
    """A submitted claim, read back from its receipt's events."""

    receipt: Receipt
    events: list[DecodedEvent]
    claim_id: int
    status: ClaimStatus
    lines: list[dict[str, Any]]
    submitted: dict[str, Any]

    def names(self) -> list[str]:
        return [e.name for e in self.events]


@dataclass
class Deployment:
    chain: EmbeddedChain
    engine: Engine
    token: DevToken
    plan: Plan
    insurer: str
    adjudicator: str
    hospital: str
    hospital2: str
    outsider: str
    counter: list[int] = field(default_factory=lambda: [0])

    @property
    def plan_id(self) -> str:
        return self.plan.id

    def enroll(self, name: str, start: date, end: date | None = None, *, period: int = 0) -> bytes:
        """Enrols the member's pseudonym of benefit ``period`` (default the first)."""
        member = pseudonym(name, period)
        self.engine.enroll(
            self.insurer,
            self.plan_id,
            [Enrollment(member, to_day(start), to_day(end) if end else None, period)],
        )
        return member

    def claim(
        self,
        member: bytes,
        service: date,
        lines: list[tuple[str, int, int]],
        *,
        prior_auth: bool = False,
        commitment: bytes | None = None,
    ) -> ChainClaim:
        self.counter[0] += 1
        return ChainClaim(
            commitment=commitment or hashlib.sha256(b"record-%d" % self.counter[0]).digest(),
            member=member,
            service_day=to_day(service),
            prior_auth=prior_auth,
            lines=tuple(ChainLine(code, units, billed) for code, units, billed in lines),
        )

    def read(self, receipt: Receipt) -> list[Submitted]:
        events = self.engine.decode_logs(receipt.logs)
        out = []
        for event in events:
            if event.name != "ClaimSubmitted":
                continue
            claim_id = event.args["claim_id"]
            out.append(
                Submitted(
                    receipt=receipt,
                    events=[e for e in events if e.args.get("claim_id") == claim_id],
                    claim_id=claim_id,
                    status=ClaimStatus.from_code(event.args["status"]),
                    lines=[
                        e.args
                        for e in events
                        if e.name == "LineAdjudicated" and e.args["claim_id"] == claim_id
                    ],
                    submitted=event.args,
                )
            )
        return out

    def submit(self, claim: ChainClaim, *, sender: str | None = None) -> Submitted:
        receipt = self.engine.submit_claim(sender or self.hospital, self.plan_id, claim)
        (submitted,) = self.read(receipt)
        return submitted

    def submit_batch(
        self, claims: Sequence[ChainClaim], *, sender: str | None = None
    ) -> list[Submitted]:
        receipt = self.engine.submit_claims(sender or self.hospital, self.plan_id, claims)
        return self.read(receipt)

    def review(
        self, claim_id: int, approve: bool, *, reason: int = 0, sender: str | None = None
    ) -> Receipt:
        return self.engine.review(sender or self.adjudicator, claim_id, approve, reason)

    def fund(self, cents: int, *, sender: str | None = None) -> Receipt:
        """Mint `cents` to the funder (the plan's insurer unless told), approve, fund."""
        funder = sender or self.insurer
        minter = self.chain.accounts["insurer"]  # the token's deployer and only minter
        self.token.mint(minter, self.chain.address_of(funder), cents * TOKEN_SCALE)
        self.token.approve(funder, self.engine.address, cents * TOKEN_SCALE)
        return self.engine.fund(funder, self.plan_id, cents)

    def status(self, commitment: bytes, provider: str = "HOSP-A") -> ClaimState:
        """The state of the claim a provider (HOSP-A unless told) sent with `commitment`."""
        return self.engine.claim_status(self.plan_id, provider, commitment)

    def events(self, receipt: Receipt, name: str) -> list[dict[str, Any]]:
        """The args of every `name` event of the engine in a receipt, in order."""
        return [e.args for e in self.engine.decode_logs(receipt.logs) if e.name == name]

    def transfers(self, receipt: Receipt) -> list[tuple[str, str, int]]:
        """(sender, receiver, value) of every token Transfer in a receipt, in order."""
        return [
            (e.args["sender"], e.args["receiver"], e.args["value"])
            for e in self.token.decode_logs(receipt.logs)
            if e.name == "Transfer"
        ]

    def all_events(self, name: str) -> list[dict[str, Any]]:
        """The args of every `name` event the engine ever emitted, oldest first."""
        return [e.args for e in self.engine.events(name)]

    def accumulators(self, member: bytes, period: int = 0) -> tuple[int, int, int]:
        return self.engine.accumulators(self.plan_id, member, period)

    def units(self, member: bytes, code: str, period: int = 0) -> int:
        return self.engine.units_used(self.plan_id, member, period, code)

    def pool(self) -> PoolState:
        return self.engine.pool_state(self.plan_id)

    def balance(self, account: str) -> int:
        """A token balance in token units."""
        return self.token.balance_of(self.chain.address_of(account))

    def today(self) -> date:
        return from_day(self.engine.today())

    def with_plan(
        self, plan: Plan, *, fund_cents: int = 0, insurer: str | None = None
    ) -> Deployment:
        """Another plan in the same engine (same token, actors and commitment counter)."""
        return open_plan(
            self.chain,
            self.engine,
            self.token,
            plan,
            fund_cents=fund_cents,
            insurer=insurer,
            counter=self.counter,
        )


MAINNET_BLOCK_GAS = 30_000_000
# Deploys runtime code 0xfe (INVALID): any call to it burns all the gas it is given.
GAS_BURNER_INIT = bytes.fromhex("60fe60005360016000f3")


class HostileToken(DevToken):
    """Tests only: fee-on-transfer, blocklist, refuse-by-false, re-entry and receiver hooks."""

    artifact_name = "testing/HostileToken"


class NoReturnToken(DevToken):
    """Tests only: transfer and transferFrom return nothing."""

    artifact_name = "testing/NoReturnToken"


def deploy_engine(chain: EmbeddedChain) -> Engine:
    """An engine owned by the insurer account."""
    engine = Engine.deploy(chain, chain.accounts["insurer"])
    assert isinstance(engine, Engine)
    return engine


def deploy(
    chain: EmbeddedChain, plan: Plan, *, fund_cents: int, token_type: type[DevToken] = DevToken
) -> Deployment:
    """A fresh engine and token (the dev token unless told) with `plan` open and funded."""
    token = token_type.deploy(chain, chain.accounts["insurer"])
    assert isinstance(token, DevToken)
    return open_plan(chain, deploy_engine(chain), token, plan, fund_cents=fund_cents)


def open_plan(
    chain: EmbeddedChain,
    engine: Engine,
    token: DevToken,
    plan: Plan,
    *,
    fund_cents: int = 0,
    insurer: str | None = None,
    counter: list[int] | None = None,
) -> Deployment:
    """Create `plan` in `engine` as `insurer` (default: the insurer account), give the
    adjudicator its role, register both hospitals (paid to themselves) and fund it. The
    engine's owner admits `insurer` first."""
    insurer = chain.address_of(insurer) if insurer else chain.accounts["insurer"]
    if not engine.is_insurer(insurer):
        engine.set_insurer(engine.owner(), insurer, True)
    engine.create_plan(insurer, plan, token.address)
    d = Deployment(
        chain=chain,
        engine=engine,
        token=token,
        plan=plan,
        insurer=insurer,
        adjudicator=chain.accounts["adjudicator"],
        hospital=chain.accounts["hospital-1"],
        hospital2=chain.accounts["hospital-2"],
        outsider=chain.accounts["auditor"],
        counter=counter if counter is not None else [0],
    )
    engine.set_role(insurer, plan.id, d.adjudicator, Role.ADJUDICATOR)
    engine.register_provider(insurer, plan.id, "HOSP-A", d.hospital)
    engine.register_provider(insurer, plan.id, "HOSP-B", d.hospital2)
    if fund_cents:
        d.fund(fund_cents)
    return d


def new_chain(today: date = TODAY) -> EmbeddedChain:
    """A fresh in-memory chain whose clock is at noon of `today`."""
    c = EmbeddedChain.memory()
    c.set_time(noon(today))
    return c


@pytest.fixture
def chain() -> Any:
    c = new_chain()
    yield c
    c.close()


@pytest.fixture
def worked_plan() -> Plan:
    return load_plan(FIXTURES / "plans" / "worked-example.yaml")


@pytest.fixture
def silver_plan() -> Plan:
    return load_plan(FIXTURES / "plans" / "silver.yaml")


@pytest.fixture
def deployed(chain: EmbeddedChain, worked_plan: Plan) -> Deployment:
    """The worked-example plan, funded with 1,000,000.00."""
    return deploy(chain, worked_plan, fund_cents=100_000_000)
