"""`claims status`, `claims member` and `claims review list` read the embedded chain's file
(claim_reads.py), not the EVM: the answers are the EVM's, and py-evm is not imported.

The chain (prepared once): SILVER-2027 (fixtures/plans/silver.yaml) and SILVER-Q2 (the same
with review_quorum 2), HOSP-A and HOSP-B in both, 30 members, 60 claims of every kind, then
what happens to claims after they are sent:

- paid (office visits, chest X-rays), denied (an MRI without prior auth: 197), pending
  review (a knee replacement with prior auth, an 8-unit emergency visit: above the plan's
  5,000.00 auto-approve limit);
- in review: approved (paid), denied with a reason (every line reads as denied), and in
  SILVER-Q2 one vote of two (still pending, with its vote);
- voided by the provider (paid and pending ones), and a correction that replaced a paid
  claim (``replaces`` / ``replaced_by``);
- queued: the pool emptied, then more visits sent and a knee approved.

Every claim's result, every record's, every member's accumulators and the review queue of
each plan are compared with what the EVM's view calls give (the SDK on a workspace that is
not read-only).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from claimsengine.claim_reads import (
    ClaimStorage,
    ReviewQueue,
    claim_reads,
    claim_result,
    member_accumulators,
    reading,
    record_result,
)
from claimsengine.engine import Engine
from claimsengine.members import Member
from claimsengine.plan import load_plan, plan_from_dict, plan_to_dict
from claimsengine.records import TreatmentRecord
from claimsengine.results import ClaimResult
from claimsengine.sdk import AdjudicatorClient, HospitalClient, InsurerClient
from claimsengine.workspace import Workspace
from tests.integration.test_voids import FIXTURES, JULY_2027, PLAN, QUORUM_PLAN

MEMBERS = [f"M-{n:04d}" for n in range(1001, 1031)]
FIRST_DAY = date(2027, 3, 1)
CLAIMS = 60

# One kind of claim for each n % 6: (plan, provider, lines, prior auth).
KINDS: list[tuple[str, str, list[dict[str, Any]], str | None]] = [
    (PLAN, "HOSP-A", [{"code": "99213", "units": 1, "billed": "180.00"}], None),  # paid
    (PLAN, "HOSP-A", [{"code": "27447", "units": 1, "billed": "30000.00"}], "PA-K"),  # review
    (PLAN, "HOSP-B", [{"code": "70553", "units": 1, "billed": "1400.00"}], None),  # 197
    (
        PLAN,
        "HOSP-B",
        [
            {"code": "71046", "units": 1, "billed": "95.00"},
            {"code": "97110", "units": 2, "billed": "70.00"},
        ],
        None,
    ),  # paid, two lines
    (QUORUM_PLAN, "HOSP-A", [{"code": "99285", "units": 8, "billed": "9600.00"}], None),  # review
    (QUORUM_PLAN, "HOSP-B", [{"code": "99213", "units": 1, "billed": "120.00"}], None),  # paid
]


def record(n: int, member: str, day: date, record_id: str | None = None) -> TreatmentRecord:
    plan, provider, lines, prior_auth = KINDS[n % len(KINDS)]
    return TreatmentRecord.from_json(
        {
            "record_id": record_id or f"R-{n:03d}",
            "plan_id": plan,
            "member_id": member,
            "provider_id": provider,
            "service_date": day.isoformat(),
            "lines": lines,
            **({"prior_auth": prior_auth} if prior_auth else {}),
        }
    )


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    state = tmp_path_factory.mktemp("claim-reads") / "state"
    with Workspace.open(state, create=True) as workspace:
        workspace.chain.set_time(JULY_2027)
        silver = load_plan(FIXTURES / "plans" / "silver.yaml")
        quorum = plan_from_dict(
            {**plan_to_dict(silver), "id": QUORUM_PLAN, "review_quorum": 2}, source="test"
        )
        insurer = InsurerClient(workspace, "insurer")
        members = [Member(m, date(2027, 1, 1), None) for m in MEMBERS]
        with workspace.command():
            workspace.setup()
            for plan in (silver, quorum):
                insurer.deploy(plan)
                insurer.enroll(plan.id, members)
                insurer.add_provider(plan.id, "HOSP-A", "hospital-1")
                insurer.add_provider(plan.id, "HOSP-B", "hospital-2")
                insurer.set_adjudicator(plan.id, "adjudicator")
                insurer.set_adjudicator(plan.id, "auditor")
                insurer.fund(plan.id, 20_000_000)
        hospital = HospitalClient(workspace)
        # Member n % 30 on day n // 30: no member has two claims on one day.
        records = [
            record(n, MEMBERS[n % 30], FIRST_DAY + timedelta(days=n // 30)) for n in range(CLAIMS)
        ]
        with workspace.command():
            outcomes = hospital.submit_many(records)
        ids = [o.result.claim_id for o in outcomes if o.result is not None]
        assert len(ids) == CLAIMS
        knees = [ids[n] for n in range(CLAIMS) if n % 6 == 1]
        emergencies = [ids[n] for n in range(CLAIMS) if n % 6 == 4]
        visits = [ids[n] for n in range(CLAIMS) if n % 6 == 0]
        adjudicator = AdjudicatorClient(workspace, "adjudicator")
        with workspace.command():
            adjudicator.approve(knees[0])
            adjudicator.deny(knees[1], 96)
            adjudicator.approve(emergencies[0])  # one vote of two: still pending
            adjudicator.deny(emergencies[1])
            AdjudicatorClient(workspace, "auditor").deny(emergencies[1], 16)  # denied, 2 of 2
        with workspace.command():
            hospital.void(visits[0])  # paid, voided
            hospital.void(knees[2])  # pending review, voided
            hospital.replace(visits[1], record(0, MEMBERS[visits[1] % 30], date(2027, 6, 1), "C-1"))
        with workspace.command():
            insurer.withdraw(PLAN, insurer.pool(PLAN).free)
            late = [
                record(0, MEMBERS[m], date(2027, 6, 2), f"LATE-{m}") for m in range(3)
            ]  # queued: the pool is empty
            assert {o.result.status for o in hospital.submit_many(late) if o.result} == {"queued"}
            assert adjudicator.approve(knees[3]).status == "queued"
    return state


@pytest.fixture
def state(prepared: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "state"
    shutil.copytree(prepared, copy)
    return copy


@pytest.fixture
def read_only(prepared: Path) -> Iterator[Workspace]:
    with Workspace.open(prepared, read_only=True) as workspace:
        yield workspace


@pytest.fixture
def evm(prepared: Path) -> Iterator[Workspace]:
    with Workspace.open(prepared) as workspace:
        yield workspace


def all_results(workspace: Workspace) -> list[ClaimResult]:
    results = []
    claim_id = 1
    while True:
        try:
            results.append(claim_result(workspace, claim_id))
        except Exception:  # NotFound: past the last claim
            return results
        claim_id += 1


def test_a_read_only_workspace_reads_claims_from_the_file(
    read_only: Workspace, evm: Workspace
) -> None:
    assert isinstance(claim_reads(read_only), ClaimStorage)
    assert isinstance(claim_reads(evm), Engine)  # not read-only: the EVM's view calls


def test_an_engine_the_layout_does_not_describe_is_read_through_the_evm(
    prepared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # EngineStorage.open gives None when the engine's code is not the one the shipped
    # layout describes: the same reads then run on the engine's view calls.
    from claimsengine.engine_storage import EngineStorage

    monkeypatch.setattr(EngineStorage, "open", classmethod(lambda cls, snapshot, address: None))
    with Workspace.open(prepared, read_only=True) as workspace:
        assert isinstance(claim_reads(workspace), Engine)
        with reading(workspace):
            queue = ReviewQueue().read(workspace, PLAN)
        assert "chain" in workspace.__dict__  # the chain was opened for its view calls
    with Workspace.open(prepared, read_only=True) as workspace:
        monkeypatch.undo()
        assert isinstance(claim_reads(workspace), ClaimStorage)
        assert ReviewQueue().read(workspace, PLAN) == queue


def test_every_claim_reads_the_same_as_through_the_evm(
    read_only: Workspace, evm: Workspace
) -> None:
    fast = all_results(read_only)
    with evm.command():
        slow = all_results(evm)
    assert fast == slow
    # 60 claims, the correction and the three late visits; every status is among them.
    assert len(fast) == CLAIMS + 4
    statuses = Counter(str(result.status) for result in fast)
    assert set(statuses) == {"paid", "queued", "pending_review", "denied", "voided"}
    assert any(r.replaces for r in fast) and any(r.replaced_by for r in fast)
    assert any(r.review is not None and r.review.votes for r in fast)
    # Reading a claim from the file never opens the EVM chain.
    assert "chain" not in read_only.__dict__


def test_every_record_reads_the_same(read_only: Workspace, evm: Workspace) -> None:
    record_ids = [f"R-{n:03d}" for n in range(CLAIMS)] + ["C-1", "LATE-0", "LATE-2"]
    fast = [record_result(read_only, record_id) for record_id in record_ids]
    with evm.command():
        assert fast == [record_result(evm, record_id) for record_id in record_ids]


def test_every_members_accumulators_read_the_same(read_only: Workspace, evm: Workspace) -> None:
    asked = [(plan, member) for plan in (PLAN, QUORUM_PLAN) for member in MEMBERS]
    fast = [member_accumulators(read_only, plan, member) for plan, member in asked]
    with evm.command():
        assert fast == [member_accumulators(evm, plan, member) for plan, member in asked]
    assert any(report.units_used for report in fast)


def test_the_review_queue_reads_the_same(read_only: Workspace, evm: Workspace) -> None:
    fast = [ReviewQueue().read(read_only, plan) for plan in (PLAN, QUORUM_PLAN, None)]
    with evm.command():
        slow = [ReviewQueue().read(evm, plan) for plan in (PLAN, QUORUM_PLAN, None)]
    assert fast == slow
    assert fast[0] and fast[1] and fast[2] == sorted(fast[0] + fast[1], key=lambda r: r.claim_id)
    # The SDK's queue (an adjudicator's client) gives the same.
    assert AdjudicatorClient(evm, "adjudicator").queue() == fast[2]


def test_a_revoked_adjudicators_vote_stops_counting_at_once(state: Path) -> None:
    """The engine counts a vote in review only while its adjudicator holds the role: once
    the role is revoked, a claim's result says so at once (both reads), not at the next
    vote; the vote itself stays in the claim's history. Given the role back before any
    other vote, the vote counts again, as the engine counts it."""
    pending = record(4, MEMBERS[4], date(2027, 6, 21), "REVOKED-VOTE")
    with Workspace.open(state) as workspace, workspace.command():
        (sent,) = HospitalClient(workspace).submit_many([pending])
        assert sent.result is not None and sent.result.status == "pending_review"
        claim_id = sent.result.claim_id
        AdjudicatorClient(workspace, "adjudicator").approve(claim_id)
        InsurerClient(workspace, "insurer").set_adjudicator(
            QUORUM_PLAN, "adjudicator", enabled=False
        )

    def counts(workspace: Workspace) -> tuple[int, int, int]:
        review = claim_result(workspace, claim_id).review
        assert review is not None
        return review.approvals, review.denials, len(review.votes)

    with Workspace.open(state, read_only=True) as reader:
        assert counts(reader) == (0, 0, 1)
    with Workspace.open(state) as workspace, workspace.command():
        assert counts(workspace) == (0, 0, 1)
        assert workspace.engine.review_votes(QUORUM_PLAN, claim_id) == (0, 0)
        InsurerClient(workspace, "insurer").set_adjudicator(QUORUM_PLAN, "adjudicator")
        assert counts(workspace) == (1, 0, 1)
    with Workspace.open(state, read_only=True) as reader:
        assert counts(reader) == (1, 0, 1)


def test_reads_do_not_wait_for_a_writer(state: Path) -> None:
    """While another command holds the chain (its lock, an open write), a read-only
    workspace answers at once from the last commit; the new claim shows once committed."""
    with Workspace.open(state) as writer:
        with Workspace.open(state, read_only=True) as reader:
            last = all_results(reader)[-1]
        new = record(0, MEMBERS[0], date(2027, 6, 20), "DURING")
        with writer.command():
            (sent,) = HospitalClient(writer).submit_many([new])
            assert sent.result is not None and sent.result.claim_id == last.claim_id + 1
            with Workspace.open(state, read_only=True) as reader:
                assert all_results(reader)[-1] == last  # not committed yet
                assert ReviewQueue().read(reader, PLAN)  # the queue, read meanwhile
        with Workspace.open(state, read_only=True) as reader:
            assert claim_result(reader, last.claim_id + 1).status == "queued"


# -- the commands, in a fresh process -------------------------------------------------------

#: Runs `claims ARGS...` and writes which of py-evm, eth-utils and eth-abi it imported.
RUN_CLAIMS = """
import sys
from claimsengine.cli.main import main
out = sys.argv.pop(1)
sys.argv[0] = "claims"
try:
    main()
finally:
    with open(out, "w") as handle:
        handle.write(" ".join(m for m in ("eth", "eth_utils", "eth_abi") if m in sys.modules))
"""


def run_claims(state: Path, tmp_path: Path, *args: str) -> tuple[Any, str]:
    """The command's JSON output, and the heavy modules it imported."""
    imported = tmp_path / "imported.txt"
    done = subprocess.run(
        [sys.executable, "-c", RUN_CLAIMS, str(imported), "--state", str(state), "--json", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), imported.read_text()


@pytest.mark.parametrize(
    "args",
    [
        ("status", "2"),
        ("status", "--record", "R-005"),
        ("member", PLAN, "M-1002"),
        ("member", QUORUM_PLAN, "M-1005", "--date", "2027-03-02"),
        ("review", "list", PLAN),
        ("review", "list"),
    ],
)
def test_the_commands_answer_without_the_evm(
    state: Path, tmp_path: Path, args: tuple[str, ...]
) -> None:
    answer, imported = run_claims(state, tmp_path, *args)
    assert imported == ""  # neither py-evm, nor eth-utils, nor eth-abi
    with Workspace.open(state) as workspace, workspace.command():
        if args[0] == "status" and args[1] == "--record":
            expected: Any = record_result(workspace, args[2]).to_json()
        elif args[0] == "status":
            expected = claim_result(workspace, int(args[1])).to_json()
        elif args[0] == "member":
            on = date.fromisoformat(args[4]) if len(args) > 3 else None
            expected = member_accumulators(workspace, args[1], args[2], on).to_json()
        else:
            plan = args[2] if len(args) > 2 else None
            expected = [
                r.to_json() for r in AdjudicatorClient(workspace, "adjudicator").queue(plan)
            ]
    assert answer == expected
