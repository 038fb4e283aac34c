"""Fixtures for the contract tests: a fresh embedded chain with the engine, the dev token,
and one plan funded and ready, plus named actors (insurer, adjudicator, hospital, outsider)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from claimsengine.abi import DecodedEvent
from claimsengine.chain.base import Receipt
from claimsengine.chain.embedded import EmbeddedChain
from claimsengine.days import to_day
from claimsengine.engine import ChainClaim, ChainLine, DevToken, Engine, Enrollment, Role
from claimsengine.plan import Plan, load_plan

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
TOKEN_SCALE = 10**4  # 6-decimal token: units per cent


def noon(d: date) -> int:
    """A timestamp at noon UTC of a day."""
    return to_day(d) * 86_400 + 43_200


def pseudonym(name: str) -> bytes:
    """A stand-in member pseudonym for contract tests (the SDK uses an HMAC)."""
    return hashlib.sha256(b"contract-test:" + name.encode()).digest()


@dataclass
class Submitted:
    """A submitted claim, read back from its receipt's events."""

    receipt: Receipt
    events: list[DecodedEvent]
    claim_id: int
    status: int
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

    def enroll(self, name: str, start: date, end: date | None = None) -> bytes:
        member = pseudonym(name)
        self.engine.enroll(
            self.insurer,
            self.plan_id,
            [Enrollment(member, to_day(start), to_day(end) if end else None)],
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
                    status=event.args["status"],
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

    def fund(self, cents: int) -> Receipt:
        self.token.mint(self.insurer, self.chain.address_of(self.insurer), cents * TOKEN_SCALE)
        self.token.approve(self.insurer, self.engine.address, cents * TOKEN_SCALE)
        return self.engine.fund(self.insurer, self.plan_id, cents)


def deploy(chain: EmbeddedChain, plan: Plan, *, fund_cents: int) -> Deployment:
    insurer = chain.accounts["insurer"]
    token = DevToken.deploy(chain, insurer)
    engine = Engine.deploy(chain, insurer)
    assert isinstance(token, DevToken) and isinstance(engine, Engine)
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
    )
    engine.set_role(insurer, plan.id, d.adjudicator, Role.ADJUDICATOR)
    engine.set_provider(insurer, plan.id, d.hospital, d.hospital, "HOSP-A")
    engine.set_provider(insurer, plan.id, d.hospital2, d.hospital2, "HOSP-B")
    if fund_cents:
        d.fund(fund_cents)
    return d


@pytest.fixture
def chain() -> Any:
    c = EmbeddedChain.memory()
    c.set_time(noon(date(2027, 6, 1)))
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
