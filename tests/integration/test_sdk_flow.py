"""The insurer -> hospital -> adjudicator flow through the SDK, on the embedded chain and on
a real anvil node: the same code, the same results."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from claimsengine.days import to_day
from claimsengine.engine import DevToken, Engine
from claimsengine.errors import NotAuthorised
from claimsengine.members import load_members
from claimsengine.plan import load_plan
from claimsengine.records import load_paths
from claimsengine.sdk import AdjudicatorClient, HospitalClient, InsurerClient, settle
from claimsengine.workspace import Workspace

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
PLAN = "SILVER-2027"


@pytest.fixture(params=["embedded", "anvil"])
def workspace(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workspace]:
    if request.param == "embedded":
        ws = Workspace.open(tmp_path / "state", create=True)
    else:
        node = request.getfixturevalue("anvil_node")
        ws = Workspace.open(tmp_path / "state", rpc=node.url)
    target = to_day(date(2027, 7, 1)) * 86_400 + 43_200
    # anvil is shared by the session's tests and its clock only moves forward.
    if ws.chain.now() < target:
        ws.chain.set_time(target)
    try:
        yield ws
    finally:
        ws.close()


def test_flow(workspace: Workspace) -> None:
    insurer = InsurerClient(workspace, "insurer")
    with workspace.command():
        insurer.deploy(load_plan(FIXTURES / "plans" / "silver.yaml"))
        insurer.enroll(PLAN, load_members(FIXTURES / "members.csv"))
        insurer.add_provider(PLAN, "HOSP-A", "hospital-1")
        insurer.add_provider(PLAN, "HOSP-B", "hospital-2")
        insurer.set_adjudicator(PLAN, "adjudicator")
        insurer.fund(PLAN, 150_000)  # 1,500.00: not enough for the knee replacement

    loaded = load_paths([FIXTURES / "records"])
    hospital = HospitalClient(workspace)
    with workspace.command():
        outcomes = hospital.submit_many([s.record for s in loaded.records])
    results = {o.record.record_id: o.result for o in outcomes}
    assert all(o.error is None for o in outcomes)

    # 99213 billed 180.00, fee 120.00 (45: 60.00), copay 25.00 (3) -> plan paid 95.00.
    visit = results["HOSP-A-2027-000101"]
    assert visit is not None and visit.status == "paid"
    assert visit.totals.plan_paid == 9_500
    assert visit.lines[0].reasons == ("45", "3")
    # M-0005's coverage ended 2027-04-30; service 2027-05-05 -> denied 27.
    late = results["HOSP-A-2027-000105"]
    assert late is not None and late.status == "denied" and late.lines[0].reasons == ("27",)
    # Knee replacement for M-0001, 27447 billed 48,500.00 with prior auth: allowed
    # 30,000.00 (fee); deductible 1,000.00. M-0001 already paid a 25.00 copay (claim 101),
    # so oop_left is 3,000 - 25 - 1,000 = 1,975.00 and coinsurance = min(20% x 29,000.00 =
    # 5,800.00, 1,975.00) = 1,975.00. Plan paid 30,000 - 1,000 - 1,975 = 27,025.00, above
    # the 5,000.00 auto-approve limit -> pending review.
    knee = results["HOSP-A-2027-000104"]
    assert knee is not None and knee.status == "pending_review"
    assert knee.totals.plan_paid == 2_702_500

    adjudicator = AdjudicatorClient(workspace, "adjudicator")
    assert [c.claim_id for c in adjudicator.queue(PLAN)] == [knee.claim_id]
    with pytest.raises(NotAuthorised) as refused:
        AdjudicatorClient(workspace, "auditor").approve(knee.claim_id)
    assert refused.value.reason == "access: not authorised"
    with workspace.command():
        assert adjudicator.approve(knee.claim_id).status == "queued"

    with workspace.command():
        insurer.fund(PLAN, 3_000_000)  # 30,000.00 -> the queued claim settles
    assert hospital.status(knee.claim_id).status == "paid"
    assert hospital.status_of_record("HOSP-A-2027-000104").status == "paid"
    paid_now, pool = settle(workspace, PLAN, "auditor")
    assert paid_now == 0 and pool.reserved == 0 and pool.queued == 0

    # The same records again: recognised, nothing sent twice.
    with workspace.command():
        again = hospital.submit_many([s.record for s in loaded.records])
    assert all(o.already_submitted for o in again)

    report = hospital.accumulators(PLAN, "M-0001")
    # 25.00 copay + 1,000.00 deductible + 1,975.00 coinsurance = the 3,000.00 maximum.
    assert report.oop_met == 300_000
    assert report.deductible_met == 100_000


def test_a_hospital_without_the_plans_key_is_refused(tmp_path: Path) -> None:
    """Pseudonyms made under a new key would match no enrolment: never make one silently."""
    ws = Workspace.open(tmp_path / "state", create=True)
    try:
        ws.chain.set_time(to_day(date(2027, 7, 1)) * 86_400)
        insurer = InsurerClient(ws, "insurer")
        with ws.command():
            insurer.deploy(load_plan(FIXTURES / "plans" / "silver.yaml"))
            insurer.add_provider(PLAN, "HOSP-A", "hospital-1")
        (ws.keys.path).unlink()  # this side does not hold the insurer's key file
        record = load_paths([FIXTURES / "records" / "hosp-a-2027-02-office-visit.json"])
        (outcome,) = HospitalClient(ws).submit_many([s.record for s in record.records])
        assert outcome.error is not None and outcome.result is None
        assert "no pseudonym key for plan SILVER-2027" in str(outcome.error)
        assert "field plan_id" in str(outcome.error)
        assert PLAN not in ws.keys.plans()  # and none was created
    finally:
        ws.close()


def test_two_fundings_by_one_insurer_at_once_both_land(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two `claims fund` runs as the same insurer: the second runs whole between the first's
    # approval and its funding, and takes the allowance the first approved. The first must
    # still land, not fail with the token's "erc20: insufficient allowance".
    ws = Workspace.open(tmp_path / "state", create=True)
    try:
        first, second = InsurerClient(ws, "insurer"), InsurerClient(ws, "insurer")
        with ws.command():
            first.deploy(load_plan(FIXTURES / "plans" / "silver.yaml"))
        engine_fund = Engine.fund
        interleaved: list[bool] = []

        def fund_after_the_other(self: Engine, sender: str, plan_id: str, cents: int) -> Any:
            if not interleaved:
                interleaved.append(True)
                second.fund(PLAN, 20_000)
            return engine_fund(self, sender, plan_id, cents)

        monkeypatch.setattr(Engine, "fund", fund_after_the_other)
        with ws.command():
            pool = first.fund(PLAN, 10_000)
        assert interleaved
        # 100.00 + 200.00, both whole.
        assert pool.balance == 30_000
        info = ws.plan(PLAN)
        token = DevToken(ws.chain, info.token)
        assert token.allowance(first.account, ws.engine.address) == 0
    finally:
        ws.close()
