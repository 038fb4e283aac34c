"""Voids, corrections and review by quorum from the hospital's and the adjudicator's side:
the SDK (HospitalClient.void / void_record / replace, AdjudicatorClient.queue / review) and
the CLI (`claims void`, `claims submit --replaces`, `claims review` and `review list`), on
the embedded chain. A correction is as crash-safe as a submission: killed at any point, it
is finished as a replacement and never sent twice.

The state (prepared once, copied per test): SILVER-2027 (fixtures/plans/silver.yaml) and
SILVER-Q2, the same plan with review_quorum 2; HOSP-A (hospital-1) and HOSP-B (hospital-2)
in both; `adjudicator` and `auditor` adjudicate both; each pool holds 100000.00; the clock
is 2027-07-01. Claims, in order:

1. V-1, HOSP-A, M-0001, 99213 billed 180.00: allowed 120.00 (45: 60.00), copay 25.00,
   plan_paid 95.00, paid.
2. V-2, HOSP-A, M-0002, 27447 billed 30000.00 with prior auth: deductible 1000.00,
   coinsurance min(floor(29000 x 20%) = 5800, 3000 - 1000) = 2000.00, plan_paid 27000.00 >
   5000.00: pending_review.
3. V-3, HOSP-B, M-0003, 70553 without prior auth: 197 on its only line, denied.
4. Q-1, HOSP-A, M-0001 in SILVER-Q2, 99285 x 8 billed 9600.00: deductible 1000.00,
   coinsurance floor(8600 x 20%) = 1720.00, plan_paid 6880.00 > 5000.00: pending_review.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from claimsengine import faults
from claimsengine.days import to_day
from claimsengine.engine import Engine
from claimsengine.errors import ClaimsError, RecordError
from claimsengine.journal import PREPARED
from claimsengine.members import load_members
from claimsengine.orchestrator import submit_paths
from claimsengine.plan import load_plan, plan_from_dict, plan_to_dict
from claimsengine.records import TreatmentRecord
from claimsengine.sdk import (
    AdjudicatorClient,
    HospitalClient,
    InsurerClient,
    journal_prepared,
    member_accumulators,
)
from claimsengine.workspace import Workspace
from tests.integration.test_cli import claims, claims_json
from tests.integration.test_crash_resume import claims_command

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
PLAN = "SILVER-2027"
QUORUM_PLAN = "SILVER-Q2"
JULY_2027 = to_day(date(2027, 7, 1)) * 86_400 + 43_200


def record(record_id: str, member_id: str, lines: list[dict[str, Any]], **more: Any) -> dict:
    return {
        "record_id": record_id,
        "plan_id": PLAN,
        "member_id": member_id,
        "provider_id": "HOSP-A",
        "service_date": "2027-06-01",
        "lines": lines,
        **more,
    }


VISIT = [{"code": "99213", "units": 1, "billed": "180.00"}]
KNEE = [{"code": "27447", "units": 1, "billed": "30000.00"}]
MRI = [{"code": "70553", "units": 1, "billed": "1400.00"}]
CHEAP_VISIT = [{"code": "99213", "units": 1, "billed": "120.00"}]
ED = [{"code": "99285", "units": 8, "billed": "9600.00"}]
RECORDS = [
    record("V-1", "M-0001", VISIT),
    record("V-2", "M-0002", KNEE, prior_auth="PA-2"),
    record(
        "V-3", "M-0003", [{"code": "70553", "units": 1, "billed": "1400.00"}], provider_id="HOSP-B"
    ),
    record("Q-1", "M-0001", ED, plan_id=QUORUM_PLAN),
]


def treatment(data: dict[str, Any]) -> TreatmentRecord:
    return TreatmentRecord.from_json(data)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    state = tmp_path_factory.mktemp("voids") / "state"
    with Workspace.open(state, create=True) as workspace:
        workspace.chain.set_time(JULY_2027)
        with workspace.command():
            workspace.setup()
        silver = load_plan(FIXTURES / "plans" / "silver.yaml")
        quorum = plan_from_dict(
            {**plan_to_dict(silver), "id": QUORUM_PLAN, "review_quorum": 2}, source="test"
        )
        insurer = InsurerClient(workspace, "insurer")
        with workspace.command():
            for plan in (silver, quorum):
                insurer.deploy(plan)
                insurer.enroll(plan.id, load_members(FIXTURES / "members.csv"))
                insurer.add_provider(plan.id, "HOSP-A", "hospital-1")
                insurer.add_provider(plan.id, "HOSP-B", "hospital-2")
                insurer.set_adjudicator(plan.id, "adjudicator")
                insurer.set_adjudicator(plan.id, "auditor")
                insurer.fund(plan.id, 10_000_000)
        with workspace.command():
            outcomes = HospitalClient(workspace).submit_many([treatment(r) for r in RECORDS])
        statuses = [o.result.status if o.result else o.error for o in outcomes]
        assert statuses == ["paid", "pending_review", "denied", "pending_review"]
    return state


@pytest.fixture
def state(prepared: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "state"
    shutil.copytree(prepared, copy)
    return copy


@pytest.fixture
def workspace(state: Path) -> Iterator[Workspace]:
    with Workspace.open(state) as ws:
        yield ws


def events(workspace: Workspace, name: str) -> list[Any]:
    return workspace.engine.events(name)


# -- voids through the SDK ----------------------------------------------------------------


def test_a_void_takes_back_the_claim_and_leaves_a_debt(workspace: Workspace) -> None:
    hospital = HospitalClient(workspace)
    with workspace.command():
        voided = hospital.void(1)
    assert voided.status == "voided"
    assert voided.transactions["voided"].startswith("0x")
    # What it was worth stays on it: 95.00.
    assert voided.totals.plan_paid == 9_500
    assert voided.lines[0].reasons == ("45", "3")
    # It was paid 95.00: HOSP-A owes that to the plan now.
    assert workspace.engine.provider_info(PLAN, "HOSP-A").debt == 9_500
    # M-0001's copay (25.00) and plan_paid (95.00) are taken back, and so is the unit.
    report = member_accumulators(workspace, PLAN, "M-0001", date(2027, 6, 1))
    assert (report.oop_met, report.benefit_used, report.units_used) == (0, 0, {})


def test_voiding_twice_is_harmless(workspace: Workspace) -> None:
    hospital = HospitalClient(workspace)
    with workspace.command():
        first = hospital.void_record("V-1")
        again = hospital.void(1)
    assert again == first
    assert len(events(workspace, "ClaimVoided")) == 1
    assert workspace.engine.provider_info(PLAN, "HOSP-A").debt == 9_500


def test_a_claim_in_review_is_voided_without_debt_and_leaves_the_queue(
    workspace: Workspace,
) -> None:
    adjudicator = AdjudicatorClient(workspace, "adjudicator")
    assert [c.claim_id for c in adjudicator.queue(PLAN)] == [2]
    with workspace.command():
        assert HospitalClient(workspace, "hospital-1").void(2).status == "voided"
    assert adjudicator.queue(PLAN) == []
    assert workspace.engine.provider_info(PLAN, "HOSP-A").debt == 0
    report = member_accumulators(workspace, PLAN, "M-0002", date(2027, 6, 1))
    assert (report.deductible_met, report.oop_met, report.benefit_used) == (0, 0, 0)


def test_the_queue_reads_only_the_blocks_since_its_last_look(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[tuple[str, int]] = []
    read_events = Engine.events

    def counted(
        engine: Engine, name: str, *topics: Any, from_block: int = 0, to_block: int | None = None
    ) -> Any:
        # Scans (not filtered by claim id; a claim's own result reads its events by id).
        if name in ("ClaimPendingReview", "ClaimReviewed") and not (topics and topics[0]):
            reads.append((name, from_block))
        return read_events(engine, name, *topics, from_block=from_block, to_block=to_block)

    monkeypatch.setattr(Engine, "events", counted)
    adjudicator = AdjudicatorClient(workspace, "adjudicator")
    assert [c.claim_id for c in adjudicator.queue()] == [2, 4]  # every plan, oldest first
    assert reads == [("ClaimPendingReview", 0), ("ClaimReviewed", 0)]

    # Claim 2 is denied, and a knee replacement of M-0004 goes to review (claim 5).
    after = workspace.chain.block_number() + 1
    with workspace.command():
        adjudicator.deny(2)
        HospitalClient(workspace).submit_many(
            [treatment(record("V-4", "M-0004", KNEE, prior_auth="PA-4"))]
        )
    reads.clear()
    assert [c.claim_id for c in adjudicator.queue()] == [4, 5]
    # Only the blocks mined since the last look were read.
    assert reads == [("ClaimPendingReview", after), ("ClaimReviewed", after)]
    # A new client, reading the whole history, sees the same queue.
    assert AdjudicatorClient(workspace, "auditor").queue() == adjudicator.queue()


def test_a_denied_claim_cannot_be_voided(workspace: Workspace) -> None:
    with pytest.raises(ClaimsError) as refused, workspace.command():
        HospitalClient(workspace).void(3)
    assert refused.value.message == (
        "claim 3 is denied; only a claim that is pending_review, queued or paid can be voided"
    )
    assert events(workspace, "ClaimVoided") == []


def test_only_the_claims_provider_voids_it(workspace: Workspace) -> None:
    with pytest.raises(ClaimsError) as refused, workspace.command():
        HospitalClient(workspace, "hospital-2").void(1)
    assert "hospital-2 (" in refused.value.message
    assert refused.value.message.endswith(
        "is not an account of provider HOSP-A in plan SILVER-2027, so it cannot void claim 1"
    )
    assert events(workspace, "ClaimVoided") == []


# -- corrections through the SDK ------------------------------------------------------------


def test_a_correction_replaces_a_paid_claim(workspace: Workspace) -> None:
    corrected = treatment(
        record("V-1A", "M-0001", [{"code": "99213", "units": 1, "billed": "120.00"}])
    )
    with workspace.command():
        new = HospitalClient(workspace).replace(1, corrected)
    old = HospitalClient(workspace).status(1)
    # V-1's effects go first, so V-1A prices from zero: allowed 120.00, copay 25.00,
    # plan_paid 95.00. V-1 was paid 95.00 (the debt), and V-1A's 95.00 is kept back for it.
    assert (new.claim_id, new.status, new.replaces, new.totals.plan_paid) == (5, "paid", 1, 9_500)
    assert (old.status, old.replaced_by) == ("voided", 5)
    assert new.transactions["submitted"] == old.transactions["voided"]  # one transaction
    assert workspace.engine.provider_info(PLAN, "HOSP-A").debt == 0
    assert new.to_json()["replaces"] == 1 and old.to_json()["replaced_by"] == 5
    entry = workspace.journal.by_claim(workspace.chain_key, 5)
    assert entry is not None and (entry.record_id, entry.replaces) == ("V-1A", 1)


def test_a_claims_result_reads_the_voids_of_its_own_block_only(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A correction voids the claim it replaces in its own transaction, so the ClaimVoided
    # that names it is in its block: the plan's later voids are not read (they grow with
    # the chain).
    corrected = treatment(record("V-1B", "M-0001", VISIT))
    with workspace.command():
        new = HospitalClient(workspace).replace(1, corrected)
        HospitalClient(workspace).void(2)  # a later void of the same plan
    block = workspace.chain.receipt(bytes.fromhex(new.transactions["submitted"][2:])).block_number
    ranges: list[tuple[int, int | None]] = []
    read_events = Engine.events

    def counted(
        engine: Engine, name: str, *topics: Any, from_block: int = 0, to_block: int | None = None
    ) -> Any:
        if name == "ClaimVoided" and not (topics and topics[0]):
            ranges.append((from_block, to_block))
        return read_events(engine, name, *topics, from_block=from_block, to_block=to_block)

    monkeypatch.setattr(Engine, "events", counted)
    assert HospitalClient(workspace).status(new.claim_id).replaces == 1
    assert ranges == [(block, block)]


def test_sending_a_correction_again_is_harmless(workspace: Workspace) -> None:
    corrected = treatment(record("V-2A", "M-0002", VISIT))
    hospital = HospitalClient(workspace)
    with workspace.command():
        first = hospital.replace(2, corrected)
        again = hospital.replace_record(2, corrected)
    assert again.already_submitted and again.result == first
    assert len(events(workspace, "ClaimVoided")) == 1


def test_a_record_on_the_chain_as_another_claim_does_not_replace_a_claim(
    workspace: Workspace,
) -> None:
    # V-1 is claim 1: sent with --replaces 2, it is refused, and claim 2 stays as it was.
    hospital = HospitalClient(workspace)
    with workspace.command():
        outcome = hospital.replace_record(2, treatment(RECORDS[0]), "v1.json")
    assert isinstance(outcome.error, RecordError)
    assert outcome.error.message == (
        "the record is already on the chain as claim 1, which does not replace claim 2"
    )
    assert (outcome.error.record, outcome.error.file) == ("V-1", "v1.json")
    assert outcome.error.hint == (
        "a correction needs a record_id of its own; see claim 1 with `claims status 1`"
    )
    assert hospital.status(2).status == "pending_review"
    assert events(workspace, "ClaimVoided") == []


def test_a_correction_on_the_chain_does_not_replace_another_claim(workspace: Workspace) -> None:
    # V-2A replaced claim 2; sent again for claim 1, it is refused, and claim 1 stays paid.
    corrected = treatment(record("V-2A", "M-0002", VISIT))
    hospital = HospitalClient(workspace)
    with workspace.command():
        first = hospital.replace(2, corrected)
        outcome = hospital.replace_record(1, corrected)
    assert isinstance(outcome.error, RecordError)
    assert outcome.error.message == (
        f"the record is already on the chain as claim {first.claim_id}, which replaces "
        "claim 2, not claim 1"
    )
    assert hospital.status(1).status == "paid"
    assert len(events(workspace, "ClaimVoided")) == 1


@pytest.mark.parametrize(
    ("claim_id", "changes", "field", "words"),
    [
        (
            1,
            {"provider_id": "HOSP-B"},
            "provider_id",
            "claim 1 is HOSP-A's in plan SILVER-2027; a corrected record must have the same "
            "plan and provider, and this one has provider_id HOSP-B",
        ),
        (
            1,
            {"plan_id": QUORUM_PLAN},
            "plan_id",
            "claim 1 is HOSP-A's in plan SILVER-2027; a corrected record must have the same "
            "plan and provider, and this one has plan_id SILVER-Q2",
        ),
        (
            3,
            {"provider_id": "HOSP-B", "member_id": "M-0003", "prior_auth": "PA-3"},
            None,
            "claim 3 is denied; only a claim that is pending_review, queued or paid can be "
            "replaced",
        ),
    ],
)
def test_a_correction_that_cannot_replace_the_claim_is_refused(
    workspace: Workspace, claim_id: int, changes: dict[str, str], field: str | None, words: str
) -> None:
    corrected = treatment({**record("FIX-1", "M-0001", VISIT), **changes})
    with workspace.command():
        outcome = HospitalClient(workspace).replace_record(claim_id, corrected, "fix.json")
    assert isinstance(outcome.error, RecordError)
    assert outcome.error.message == words
    assert (outcome.error.record, outcome.error.field, outcome.error.file) == (
        "FIX-1",
        field,
        "fix.json",
    )
    assert events(workspace, "ClaimVoided") == []
    # Nothing stays journaled for a correction that was never sent.
    assert workspace.journal.pending(workspace.chain_key) == []


def test_a_correction_under_the_old_record_id_is_refused(workspace: Workspace) -> None:
    corrected = treatment(
        record("V-1", "M-0001", [{"code": "99213", "units": 1, "billed": "1.00"}])
    )
    with pytest.raises(RecordError) as refused, workspace.command():
        HospitalClient(workspace).replace(1, corrected)
    assert "record_id V-1 was already submitted by HOSP-A with different content" in str(
        refused.value
    )
    assert refused.value.hint == "give a corrected record a new record_id"


# -- a correction stopped half-way ------------------------------------------------------------


def test_a_correction_left_prepared_is_finished_as_a_replacement(workspace: Workspace) -> None:
    # The journal says `prepared` (with the claim it replaces), and the chain rolled back:
    # the next run, even of another file, sends it as a replacement, not as a new claim.
    hospital = HospitalClient(workspace)
    corrected = treatment(record("V-1A", "M-0001", VISIT))
    prepared = hospital.prepare(corrected, "fix.json")
    workspace.vault.put_many([(corrected, prepared.salt)])
    journal_prepared(workspace, prepared, replaces=1)
    other = FIXTURES / "records" / "hosp-a-2027-02-office-visit.json"
    report = submit_paths(workspace, [other])
    resumed = [c for c in report.claims if c.resumed]
    assert [c.result.record_id for c in resumed] == ["V-1A"]
    assert resumed[0].result.replaces == 1
    assert HospitalClient(workspace).status(1).replaced_by == resumed[0].result.claim_id
    assert workspace.journal.pending(workspace.chain_key) == []


def test_a_correction_left_prepared_that_can_no_longer_apply_is_reported_once(
    workspace: Workspace,
) -> None:
    # Killed after journaling the correction; then the provider voided claim 1 itself.
    # The correction cannot apply any more: the next run says so once and drops it, so
    # later runs neither report it again nor refuse its record id.
    hospital = HospitalClient(workspace)
    corrected = treatment(record("V-1A", "M-0001", VISIT))
    prepared = hospital.prepare(corrected, "fix.json")
    workspace.vault.put_many([(corrected, prepared.salt)])
    journal_prepared(workspace, prepared, replaces=1)
    with workspace.command():
        hospital.void(1)
    other = FIXTURES / "records" / "hosp-a-2027-02-office-visit.json"
    report = submit_paths(workspace, [other])
    (refused,) = [aside for aside in report.set_aside if aside.record_id == "V-1A"]
    assert "claim 1 is voided" in refused.error.message
    assert workspace.journal.pending(workspace.chain_key) == []
    assert submit_paths(workspace, [other]).set_aside == []
    # The record id is free: the correction goes in as a claim of its own.
    with workspace.command():
        (fresh,) = hospital.submit_many([corrected])
    assert fresh.error is None and fresh.result is not None and fresh.result.replaces is None


def test_a_correction_the_chain_has_is_not_sent_again(workspace: Workspace) -> None:
    # The chain has the replacement; the journal still says `prepared` (killed in between).
    hospital = HospitalClient(workspace)
    corrected = treatment(record("V-1A", "M-0001", VISIT))
    prepared = hospital.prepare(corrected)
    journal_prepared(workspace, prepared, replaces=1)
    with workspace.command():
        workspace.engine.submit_replacement(prepared.sender, PLAN, 1, prepared.claim)
    assert [e.commitment for e in workspace.journal.pending(workspace.chain_key)] == [
        prepared.commitment
    ]
    with workspace.command():
        assert hospital.resume() == []
    entry = workspace.journal.by_record(workspace.chain_key, "HOSP-A", "V-1A")
    assert entry is not None and entry.claim_id == 5 and entry.state != PREPARED
    assert (
        Counter(bytes(e.args["commitment"]) for e in events(workspace, "ClaimSubmitted"))[
            prepared.commitment
        ]
        == 1
    )
    assert len(events(workspace, "ClaimVoided")) == 1


@pytest.mark.parametrize("fault", ["after-prepare:1", "after-send:1", "after-receipt:1"])
def test_claims_submit_replaces_killed_at_each_fault_point(
    state: Path, tmp_path: Path, fault: str
) -> None:
    fix = tmp_path / "fix.json"
    fix.write_text(json.dumps(record("V-1A", "M-0001", VISIT)))
    argv = [*claims_command(), "--state", str(state), "--json", "submit", str(fix)]
    env = {**os.environ, faults.ENV: fault}
    killed = subprocess.run([*argv, "--replaces", "1"], env=env, capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr
    # Run again: the correction is finished (or recognised), never sent twice.
    again = subprocess.run([*argv, "--replaces", "1"], capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    (result,) = json.loads(again.stdout)
    assert (result["record_id"], result["status"], result["replaces"]) == ("V-1A", "paid", 1)
    with Workspace.open(state) as workspace:
        voids = events(workspace, "ClaimVoided")
        assert [(int(e.args["claim_id"]), int(e.args["replaced_by"])) for e in voids] == [
            (1, result["claim_id"])
        ]
        submitted = Counter(e.args["claim_id"] for e in events(workspace, "ClaimSubmitted"))
        assert sorted(submitted) == [1, 2, 3, 4, 5] and set(submitted.values()) == {1}
        assert workspace.journal.pending(workspace.chain_key) == []


# -- review by quorum through the SDK -------------------------------------------------------


def test_a_quorum_of_two_approves_at_the_second_approval(workspace: Workspace) -> None:
    first, second = (AdjudicatorClient(workspace, a) for a in ("adjudicator", "auditor"))
    (waiting,) = first.queue(QUORUM_PLAN)
    assert waiting.review is not None
    assert (waiting.review.quorum, waiting.review.approvals, waiting.review.denials) == (2, 0, 0)
    with workspace.command():
        after_one = first.approve(4)
    assert after_one.status == "pending_review"
    assert after_one.review is not None and after_one.review.approvals == 1
    assert after_one.review.votes[0].adjudicator == first.account
    (still,) = first.queue(QUORUM_PLAN)
    assert still.review is not None and still.review.voted(first.account)
    with pytest.raises(ClaimsError) as twice, workspace.command():
        first.approve(4)
    assert twice.value.message == (
        f"adjudicator ({first.account[:6]}…{first.account[-4:]}) has voted on claim 4 "
        "already; each adjudicator decides a claim once"
    )
    with workspace.command():
        decided = second.approve(4)
    # 6880.00 from a pool of 100000.00: paid at once.
    assert (decided.status, decided.totals.plan_paid) == ("paid", 688_000)
    assert decided.review is not None and decided.review.approvals == 2
    assert first.queue(QUORUM_PLAN) == []


# -- the CLI --------------------------------------------------------------------------------


def test_claims_void_prints_the_claim_its_gas_and_the_debt(state: Path) -> None:
    out = claims(state, "void", "1").stdout
    assert out.startswith("Claim 1 is voided (transaction 0x")
    assert ", gas " in out.splitlines()[0]
    assert "HOSP-A owes plan SILVER-2027 95.00, kept back from its next payments" in out
    assert "voided" in out.splitlines()[2]  # the claim table's title
    data = claims_json(state, "status", "--record", "V-1")
    assert data["status"] == "voided" and data["transactions"]["voided"].startswith("0x")


def test_claims_provider_list_shows_the_debt_of_a_voided_paid_claim(state: Path) -> None:
    def hosp_a() -> dict[str, Any]:
        rows = claims_json(state, "provider", "list", "SILVER-2027")
        return next(row for row in rows if row["provider_id"] == "HOSP-A")

    before = hosp_a()
    assert (before["credit"], before["debt"]) == ("0.00", "0.00")
    claims(state, "void", "1")
    # Claim 1 (V-1) was paid 95.00 (99213: allowed 120.00 less the 25.00 copay): once voided,
    # HOSP-A owes the plan that much, and nothing is credited to it.
    after = hosp_a()
    assert (after["credit"], after["debt"]) == ("0.00", "95.00")
    table = claims(state, "provider", "list", "SILVER-2027").stdout
    assert "debt" in table and "95.00" in table


def test_claims_void_again_sends_nothing(state: Path) -> None:
    first = claims_json(state, "void", "1")
    again = claims(state, "void", "1").stdout
    assert again.startswith(
        f"Claim 1 was voided already (transaction {first['transactions']['voided']}); nothing sent."
    )
    assert claims_json(state, "void", "1") == first


def test_claims_void_by_record_in_json(state: Path) -> None:
    data = claims_json(state, "void", "--record", "V-2", "--provider", "HOSP-A")
    assert (data["claim_id"], data["status"]) == (2, "voided")
    assert data["totals"]["plan_paid"] == "27000.00"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ((), "error: give either CLAIM_ID or --record RECORD_ID (hint: see `claims void --help`)"),
        (("1", "--record", "V-1"), "error: give either CLAIM_ID or --record RECORD_ID"),
        (("1", "--provider", "HOSP-A"), "error: --provider goes with --record"),
        (("0",), "error: Invalid value for '[CLAIM_ID]'"),
    ],
)
def test_claims_void_usage_errors(state: Path, args: tuple[str, ...], words: str) -> None:
    result = claims(state, "void", *args, code=2)
    assert result.stderr.startswith(words)
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (
            ("void", "3"),
            "error: claim 3 is denied; only a claim that is pending_review, queued or paid can "
            "be voided (hint: a corrected record for a denied claim is a new claim",
        ),
        (("void", "9"), "error: no claim 9 on this chain (hint: check the claim id)"),
        (
            ("--as", "hospital-2", "void", "1"),
            "error: hospital-2 (0x",
        ),
    ],
)
def test_claims_void_refusals(state: Path, args: tuple[str, ...], words: str) -> None:
    result = claims(state, *args, code=1)
    assert result.stderr.startswith(words)
    assert len(result.stderr.splitlines()) == 1


def test_claims_submit_replaces(state: Path, tmp_path: Path) -> None:
    fix = tmp_path / "fix.json"
    fix.write_text(
        json.dumps(record("V-2A", "M-0002", KNEE, prior_auth="PA-2", service_date="2027-06-02"))
    )
    out = claims(state, "submit", fix, "--replaces", "2").stdout
    assert "Claim 5 replaces claim 2, which is now voided (one transaction, gas " in out
    (result,) = claims_json(state, "submit", fix, "--replaces", "2")
    assert (result["claim_id"], result["replaces"], result["status"]) == (5, 2, "pending_review")
    assert claims_json(state, "status", "2")["replaced_by"] == 5
    assert "It replaces claim 2, which is voided." in claims(state, "status", "5").stdout
    assert "Claim 5 replaced it." in claims(state, "status", "2").stdout


def test_claims_submit_replaces_refuses_a_record_that_is_another_claim(
    state: Path, tmp_path: Path
) -> None:
    fix = tmp_path / "fix.json"
    fix.write_text(json.dumps(record("V-1A", "M-0001", VISIT)))
    claims(state, "submit", fix, "--replaces", "1")  # claim 5 replaces claim 1
    claims(state, "submit", fix, "--replaces", "1")  # the same correction again: harmless
    refused = claims(state, "submit", fix, "--replaces", "2", code=1)
    assert "which is now voided" not in refused.stdout
    # A correction is one record: its refusal is the command's error line.
    assert refused.stderr == (
        f"error: {fix}: record V-1A: the record is already on the chain as claim 5, which "
        "replaces claim 1, not claim 2 (hint: a correction needs a record_id of its own; see "
        "claim 5 with `claims status 5`)\n"
    )
    assert claims_json(state, "status", "2")["status"] == "pending_review"
    outcome = claims(state, "--json", "submit", fix, "--replaces", "2", code=1)
    (aside,) = json.loads(outcome.stdout)
    assert aside["record_id"] == "V-1A" and "claim 5, which replaces claim 1" in aside["error"]


def test_claims_submit_replaces_takes_one_record(state: Path) -> None:
    result = claims(state, "submit", FIXTURES / "records", "--replaces", "1", code=1)
    assert result.stderr.startswith(
        "error: field --replaces: a correction is one record, and 9 were found"
    )


def test_claims_review_shows_the_votes_so_far(state: Path) -> None:
    listed = claims(state, "review", "list", QUORUM_PLAN).stdout
    assert "0 of 2 approvals, 0 of 2 denials" in listed
    out = claims(state, "review", "4", "--approve").stdout
    assert out.startswith(
        "Voted to approve claim 4: it is still pending_review, with 1 of 2 approvals, "
        "0 of 2 denials. Gas "
    )
    listed = claims(state, "review", "list", QUORUM_PLAN).stdout
    assert "1 of 2 approvals, 0 of 2 denials" in listed
    status = claims(state, "status", "4").stdout
    assert "Votes so far: 1 of 2 approvals, 0 of 2 denials (adjudicator (0x" in status
    assert "adjudicator (0x" in listed and ": approve" in listed
    (waiting,) = claims_json(state, "review", "list", QUORUM_PLAN)
    assert waiting["review"]["quorum"] == 2
    assert [v["decision"] for v in waiting["review"]["votes"]] == ["approve"]
    again = claims(state, "review", "4", "--approve", code=1)
    assert again.stderr.startswith("error: adjudicator (0x")
    assert "has voted on claim 4 already; each adjudicator decides a claim once (hint: " in (
        again.stderr
    )
    denied = claims(state, "--as", "auditor", "review", "4", "--deny", "--reason", "96").stdout
    assert denied.startswith(
        "Voted to deny (reason 96) claim 4: it is still pending_review, with 1 of 2 approvals, "
        "1 of 2 denials."
    )
