"""A long run of voided places at the queue's head does not hold back the claims behind it.

The engine passes at most 256 voided places (holes) each time it looks at the head of a
plan's queue, so a single `fund` or `settle` transaction stops at a longer run without
paying anything. A hospital that voids a few hundred queued claims (a batch sent against
the wrong terms, say) would so hold back every other provider's queued claim behind them
until someone settled again, and again. The SDK goes on settling, a transaction at a time,
while a transaction passes holes and stops at one: `fund` and `settle` pay what the pool
covers, whatever the holes.

The chain: SILVER-2027 (fixtures/plans/silver.yaml) with an empty pool; HOSP-A sends 600
office visits (99213 billed 180.00: allowed 120.00, copay 25.00, plan_paid 95.00 each,
no deductible: all queued), HOSP-B one more, behind them; HOSP-A voids all its visits but
the first. (A void at the head passes the holes behind it, 256 at a time; with a live claim
at the head, the 599 holes stay until settlement passes them.) Funding 190.00 then pays
the first visit and passes 256 holes; two settlement transactions pass the other 343 and
pay HOSP-B's claim.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from claimsengine.engine import DevToken
from claimsengine.members import Member
from claimsengine.plan import load_plan
from claimsengine.records import TreatmentRecord
from claimsengine.sdk import HospitalClient, InsurerClient, settle
from claimsengine.workspace import Workspace
from tests.integration.test_voids import FIXTURES, JULY_2027, PLAN

SENT = 600  # HOSP-A's visits: the first stays, 599 are voided
VOIDED = SENT - 1  # more than two transactions' worth of holes (256 each)
PER_MEMBER = 12  # 99213's max_units_per_period
MEMBERS = [f"H-{n:03d}" for n in range(SENT // PER_MEMBER + 1)]
VISIT_PAID = 9_500  # cents: allowed 120.00 less the 25.00 copay


def visit(record_id: str, member: str, day: date, provider: str) -> TreatmentRecord:
    return TreatmentRecord.from_json(
        {
            "record_id": record_id,
            "plan_id": PLAN,
            "member_id": member,
            "provider_id": provider,
            "service_date": day.isoformat(),
            "lines": [{"code": "99213", "units": 1, "billed": "180.00"}],
        }
    )


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    state = tmp_path_factory.mktemp("queue-holes") / "state"
    with Workspace.open(state, create=True) as workspace:
        workspace.chain.set_time(JULY_2027)
        insurer = InsurerClient(workspace, "insurer")
        with workspace.command():
            workspace.setup()
            plan = load_plan(FIXTURES / "plans" / "silver.yaml")
            insurer.deploy(plan)
            insurer.enroll(PLAN, [Member(m, date(2027, 1, 1), None) for m in MEMBERS])
            insurer.add_provider(PLAN, "HOSP-A", "hospital-1")
            insurer.add_provider(PLAN, "HOSP-B", "hospital-2")
        first = date(2027, 3, 1)
        visits = [
            visit(
                f"A-{n:03d}",
                MEMBERS[n // PER_MEMBER],
                first + timedelta(days=n % PER_MEMBER),
                "HOSP-A",
            )
            for n in range(SENT)
        ]
        hospital = HospitalClient(workspace)
        with workspace.command():
            sent = hospital.submit_many(visits)
            (behind,) = hospital.submit_many([visit("B-1", MEMBERS[-1], first, "HOSP-B")])
        assert {s.result.status for s in sent if s.result} == {"queued"}
        assert behind.result is not None and behind.result.status == "queued"
        voider = workspace.chain.address_of("hospital-1")
        with workspace.command():
            for submission in sent[1:]:
                assert submission.result is not None
                workspace.engine.void(voider, submission.result.claim_id)
            pool = workspace.engine.pool_state(PLAN)
        shape = (pool.head, pool.tail, pool.holes, pool.reserved)
        assert shape == (0, SENT + 1, VOIDED, 2 * VISIT_PAID)
        return state, behind.result.claim_id


@pytest.fixture
def workspace(prepared: tuple[Path, int], tmp_path: Path) -> Workspace:
    shutil.copytree(prepared[0], tmp_path / "state")
    return Workspace.open(tmp_path / "state")


def status(workspace: Workspace, claim_id: int) -> str:
    from claimsengine.sdk import claim_result

    return str(claim_result(workspace, claim_id).status)


def test_funding_pays_the_claim_behind_the_holes(
    workspace: Workspace, prepared: tuple[Path, int]
) -> None:
    claim_id = prepared[1]
    with workspace, workspace.command():
        pool = InsurerClient(workspace, "insurer").fund(PLAN, 2 * VISIT_PAID)
        assert status(workspace, claim_id) == "paid"
        assert (pool.head, pool.tail, pool.balance, pool.reserved) == (SENT + 1, SENT + 1, 0, 0)


def test_settle_pays_the_claim_behind_the_holes(
    workspace: Workspace, prepared: tuple[Path, int]
) -> None:
    claim_id = prepared[1]
    with workspace, workspace.command():
        # The money arrives by the engine's fund alone (as another client might send it):
        # its settlement passes 256 holes and stops at the next.
        insurer = workspace.chain.address_of("insurer")
        token, scale = workspace.engine.token_of(PLAN)
        DevToken(workspace.chain, token).approve(
            insurer, workspace.engine.address, 2 * VISIT_PAID * scale
        )
        workspace.engine.fund(insurer, PLAN, 2 * VISIT_PAID)
        assert status(workspace, claim_id) == "queued"
        assert workspace.engine.stopped_at_a_hole(PLAN, workspace.engine.pool_state(PLAN))
        paid, pool = settle(workspace, PLAN, "auditor")  # anyone may settle
        assert paid == 1 and status(workspace, claim_id) == "paid"
        assert pool.head == pool.tail == SENT + 1
