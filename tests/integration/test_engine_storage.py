"""The read-only path of the embedded chain (chain/snapshot.py, engine_storage.py) against
the contract itself: every value it reads from storage and the log index must be what the
engine's view calls and events give through the EVM.

The chain: two plans (SILVER-2027 from fixtures/plans/silver.yaml, and BRONZE-2027, the same
plan with a 500.00 deductible), the fixture members enrolled in both, every fixture record
submitted to both (so deductibles are met, the 99213 and 97110 period limits used, and
knee replacements pend review), one review denial, one approval, a paid claim voided, a
schedule version from 2028-01-01, the members renewed into period 1, and claims in 2028.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claimsengine import compiler
from claimsengine.chain.snapshot import ChainSnapshot
from claimsengine.days import to_day
from claimsengine.eligibility import check_eligibility
from claimsengine.engine_storage import EngineStorage
from claimsengine.ids import text_to_bytes32
from claimsengine.members import load_members
from claimsengine.plan import Plan, load_plan
from claimsengine.records import RecordLine, TreatmentRecord, load_paths
from claimsengine.sdk import AdjudicatorClient, HospitalClient, InsurerClient
from claimsengine.workspace import Workspace

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SILVER, BRONZE = "SILVER-2027", "BRONZE-2027"
PLANS = (SILVER, BRONZE)
MEMBERS = ("M-0001", "M-0002", "M-0003", "M-0004", "M-0005", "M-0006", "M-9999")
PERIODS = (0, 1, 2)
EVENTS = ("PlanCreated", "ScheduleVersion", "ServiceSet", "MemberEnrolled", "ClaimSubmitted")
DAYS = (
    date(2026, 12, 31),  # before the plans' effective day
    date(2027, 1, 30),  # inside the 30-day waiting period
    date(2027, 1, 31),
    date(2027, 3, 1),
    date(2027, 4, 30),  # M-0005's last day
    date(2027, 5, 1),
    date(2027, 7, 1),
    date(2027, 12, 31),  # M-0003's last day, the last of period 0
    date(2028, 1, 1),  # period 1, schedule version 1
    date(2028, 1, 20),
    date(2029, 1, 1),  # period 2: nobody enrolled
)
NOON = 43_200


def _at(day: date) -> int:
    return to_day(day) * 86_400 + NOON


def _plans() -> tuple[Plan, Plan]:
    silver = load_plan(FIXTURES / "plans" / "silver.yaml")
    return silver, replace(silver, id=BRONZE, deductible=50_000)


def _records(plan_id: str) -> list[TreatmentRecord]:
    records = [s.record for s in load_paths([FIXTURES / "records"]).records]
    if plan_id == SILVER:
        return records
    return [replace(r, plan_id=plan_id, record_id=f"{r.record_id}-B") for r in records]


def _visit(plan_id: str, member: str, provider: str, day: date, number: int) -> TreatmentRecord:
    """An office visit: 99213 (one unit, its daily limit) and three units of 97110."""
    return TreatmentRecord(
        record_id=f"{provider}-2028-{number:06d}",
        plan_id=plan_id,
        member_id=member,
        provider_id=provider,
        service_date=day,
        prior_auth=None,
        diagnoses=("J20.9",),
        lines=(RecordLine("99213", 1, 18_000), RecordLine("97110", 3, 10_500)),
    )


def build_chain(state: Path) -> None:
    with Workspace.open(state, create=True) as ws:
        ws.chain.set_time(_at(date(2027, 7, 1)))
        insurer = InsurerClient(ws, "insurer")
        silver, bronze = _plans()
        with ws.command():
            for plan in (silver, bronze):
                insurer.deploy(plan)
                insurer.enroll(plan.id, load_members(FIXTURES / "members.csv"))
                insurer.add_provider(plan.id, "HOSP-A", "hospital-1")
                insurer.add_provider(plan.id, "HOSP-B", "hospital-2")
                insurer.set_adjudicator(plan.id, "adjudicator")
                insurer.fund(plan.id, 10_000_000)
        hospital = HospitalClient(ws)
        with ws.command():
            submissions = hospital.submit_many(_records(SILVER) + _records(BRONZE))
        assert all(s.error is None for s in submissions), [s.error for s in submissions]
        adjudicator = AdjudicatorClient(ws, "adjudicator")
        silver_review = adjudicator.queue(SILVER)
        bronze_review = adjudicator.queue(BRONZE)
        assert silver_review and bronze_review
        with ws.command():
            adjudicator.deny(silver_review[0].claim_id)  # takes its accumulators back
            adjudicator.approve(bronze_review[0].claim_id)
        # HOSP-A voids BRONZE's paid M-0002 visit of 2027-03-14 (its accumulators go back).
        (paid,) = [
            s.result
            for s in submissions
            if s.record.record_id == "HOSP-A-2027-000102-B" and s.result is not None
        ]
        assert paid.status == "paid"
        with ws.command():
            HospitalClient(ws, "hospital-1").void(paid.claim_id)
        # From 2028-01-01, SILVER's 99213 has 6 units a period and 97110 no period limit.
        services = tuple(
            replace(s, max_units_per_period=6)
            if s.code == "99213"
            else replace(s, max_units_per_period=None)
            if s.code == "97110"
            else s
            for s in silver.services
        )
        with ws.command():
            insurer.update_schedule(replace(silver, services=services), date(2028, 1, 1))
        ws.chain.set_time(_at(date(2027, 12, 20)))
        with ws.command():
            insurer.renew(SILVER)
            insurer.renew(BRONZE)
        ws.chain.set_time(_at(date(2028, 1, 25)))
        visits = [
            _visit(plan, member, "HOSP-A", date(2028, 1, day), number)
            for number, (plan, member, day) in enumerate(
                [
                    (SILVER, "M-0001", 10),
                    (SILVER, "M-0001", 11),
                    (SILVER, "M-0002", 12),
                    (BRONZE, "M-0001", 10),
                    (BRONZE, "M-0004", 14),
                ]
            )
        ]
        with ws.command():
            later = hospital.submit_many(visits)
        assert all(s.result is not None for s in later), [s.error for s in later]


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("storage") / "state"
    build_chain(folder)
    return folder


@pytest.fixture
def both(state: Path) -> Iterator[tuple[Workspace, EngineStorage]]:
    """The chain opened as usual (EVM view calls), and its storage read from the file."""
    with Workspace.open(state) as ws, ChainSnapshot.open(state / "chain") as snapshot:
        assert snapshot is not None
        storage = EngineStorage.open(snapshot, ws.engine.address)
        assert storage is not None, "the deployed engine is the code the shipped layout is of"
        yield ws, storage


def _codes(ws: Workspace, plan_id: str) -> list[str]:
    found = {
        e.args["code"].rstrip(b"\0").decode()
        for e in ws.engine.events("ServiceSet", text_to_bytes32(plan_id))
    }
    return sorted(found) + ["NOPE"]


def test_member_accumulators_units_are_the_view_calls(
    both: tuple[Workspace, EngineStorage],
) -> None:
    ws, storage = both
    engine = ws.engine
    compared = 0
    for plan_id in PLANS:
        codes = _codes(ws, plan_id)
        for member_id in MEMBERS:
            for pseudonym_period in PERIODS:
                member = ws.pseudonym(plan_id, member_id, pseudonym_period)
                assert storage.member(plan_id, member) == engine.member(plan_id, member)
                for period in PERIODS:
                    assert storage.accumulators(plan_id, member, period) == engine.accumulators(
                        plan_id, member, period
                    ), (plan_id, member_id, pseudonym_period, period)
                    for code in codes:
                        assert storage.units_used(plan_id, member, period, code) == (
                            engine.units_used(plan_id, member, period, code)
                        ), (plan_id, member_id, period, code)
                        compared += 1
    # Not all zeros: the chain has met deductibles and used units in both periods.
    met = [
        storage.accumulators(SILVER, ws.pseudonym(SILVER, m, p), p) for m in MEMBERS for p in (0, 1)
    ]
    assert any(d for d, _, _ in met) and any(b for _, _, b in met)
    used = [
        storage.units_used(SILVER, ws.pseudonym(SILVER, "M-0001", p), p, "99213") for p in (0, 1)
    ]
    assert all(used), used
    assert compared > 500


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    plan_id=st.sampled_from([*PLANS, "NOPE"]),
    member=st.binary(min_size=32, max_size=32),
    period=st.integers(min_value=0, max_value=2**32),
    code=st.sampled_from(["99213", "97110", "27447", "71046", "X"]),
)
def test_any_key_reads_as_the_view_calls(
    both: tuple[Workspace, EngineStorage], plan_id: str, member: bytes, period: int, code: str
) -> None:
    ws, storage = both
    engine = ws.engine
    assert storage.member(plan_id, member) == engine.member(plan_id, member)
    assert storage.accumulators(plan_id, member, period) == engine.accumulators(
        plan_id, member, period
    )
    assert storage.units_used(plan_id, member, period, code) == engine.units_used(
        plan_id, member, period, code
    )


def test_events_are_the_engines(both: tuple[Workspace, EngineStorage]) -> None:
    ws, storage = both
    for name in EVENTS:
        assert storage.events(name) == ws.engine.events(name), name
        for plan_id in (*PLANS, "NOPE"):
            topic = text_to_bytes32(plan_id)
            assert storage.events(name, topic) == ws.engine.events(name, topic), name
    for version in (0, 1, 2):
        word = version.to_bytes(32, "big")
        for plan_id in PLANS:
            topics = (text_to_bytes32(plan_id), None, word)
            assert storage.events("ServiceSet", *topics) == ws.engine.events("ServiceSet", *topics)
    assert len(storage.events("ScheduleVersion", text_to_bytes32(SILVER))) == 1


def test_eligibility_read_only_is_the_evms(state: Path) -> None:
    with Workspace.open(state, read_only=True) as fast:
        assert isinstance(fast.reads, EngineStorage)
        answers = {
            (plan_id, member_id, day): check_eligibility(fast, plan_id, member_id, day)
            for plan_id in PLANS
            for member_id in MEMBERS
            for day in (*DAYS, None)
        }
        today = fast.now()
        assert "chain" not in fast.__dict__, "the read-only path never opened the chain"
    with Workspace.open(state) as ws:
        assert abs(ws.chain.now() - today) <= 2
        for (plan_id, member_id, day), answer in answers.items():
            assert answer == check_eligibility(ws, plan_id, member_id, day), (
                plan_id,
                member_id,
                day,
            )
    # The chain these answers come from is not a trivial one.
    kinds = {(a.denial, a.period) for a in answers.values()}
    assert {(None, 0), (None, 1), ("31", 2), ("26", None), ("27", 0), ("31", 0)} <= kinds
    limited = answers[(SILVER, "M-0001", date(2028, 1, 20))]
    # SILVER in 2028 (version 1): 99213 has 6 units; M-0001 used one on 01-10 and one on
    # 01-11: 6 - 2 = 4 left (97110 has no period limit in version 1).
    assert limited.units_left == {"99213": 4}
    today_answer = answers[(SILVER, "M-0001", None)]  # the chain's today: 2028-01-25
    assert today_answer == replace(limited, day=date(2028, 1, 25))


def test_another_engine_code_falls_back_to_the_view_calls(
    state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Workspace.open(state, read_only=True) as fast:
        assert fast._snapshot is not None
        token = fast.deployments.address("dev_token")
        assert token is not None
        assert EngineStorage.open(fast._snapshot, token) is None  # the dev token's code
        assert EngineStorage.open(fast._snapshot, "0x" + "ab" * 20) is None  # no account
        expected = check_eligibility(fast, SILVER, "M-0001", date(2027, 7, 1))
    layout = dict(compiler.storage_layout(compiler.ENGINE), runtime_code_hash="00" * 32)
    monkeypatch.setattr(compiler, "storage_layout", lambda name: layout)
    with Workspace.open(state, read_only=True) as fast:
        assert not isinstance(fast.reads, EngineStorage)  # the engine's own views
        assert check_eligibility(fast, SILVER, "M-0001", date(2027, 7, 1)) == expected


def test_the_shipped_layout_is_the_compilers() -> None:
    shipped = compiler.storage_layout(compiler.ENGINE)
    assert shipped == compiler.compiled_storage_layout(compiler.ENGINE), (
        "contracts/ClaimsEngine.layout.json is stale: run "
        "`python -c 'from claimsengine import compiler; "
        "compiler.write_storage_layout(compiler.ENGINE)'`"
    )
    assert compiler.storage_layout_path(compiler.ENGINE).is_file()


def _small_chain(ws: Workspace) -> None:
    """SILVER-2027 alone: deployed, the fixture members enrolled, HOSP-A, a funded pool."""
    ws.chain.set_time(_at(date(2027, 7, 1)))
    silver, _ = _plans()
    insurer = InsurerClient(ws, "insurer")
    with ws.command():
        insurer.deploy(silver)
        insurer.enroll(SILVER, load_members(FIXTURES / "members.csv"))
        insurer.add_provider(SILVER, "HOSP-A", "hospital-1")
        insurer.fund(SILVER, 1_000_000)


def test_a_snapshot_is_one_read_transaction(tmp_path: Path) -> None:
    """A commit made after the snapshot opened is not seen by it (no torn reads); a new
    snapshot sees it. The clock is the chain's own (a pinned time, then the offset)."""
    state = tmp_path / "state"
    with Workspace.open(state, create=True) as ws:
        _small_chain(ws)
        ws.chain.set_time(_at(date(2027, 7, 2)))
        before = ChainSnapshot.open(state / "chain")
        assert before is not None
        assert before.now() == ws.chain.now() == _at(date(2027, 7, 2))  # pinned
        member = ws.pseudonym(SILVER, "M-0001", 0)
        storage = EngineStorage.open(before, ws.engine.address)
        assert storage is not None
        assert storage.accumulators(SILVER, member, 0) == (0, 0, 0)
        with ws.command():
            HospitalClient(ws).submit(_visit(SILVER, "M-0001", "HOSP-A", date(2027, 6, 1), 1))
        after = ws.engine.accumulators(SILVER, member, 0)
        assert after != (0, 0, 0)
        # The snapshot still reads the chain as it was when it opened.
        assert storage.accumulators(SILVER, member, 0) == (0, 0, 0)
        assert before.block_number == ws.chain.block_number() - 1
        assert storage.units_used(SILVER, member, 0, "99213") == 0
        before.close()
        with ChainSnapshot.open(state / "chain") as fresh:
            assert fresh is not None
            now = fresh.now()
            assert abs(now - ws.chain.now()) <= 1  # no longer pinned: the clock plus offset
            storage = EngineStorage.open(fresh, ws.engine.address)
            assert storage is not None
            assert storage.accumulators(SILVER, member, 0) == after
            assert storage.units_used(SILVER, member, 0, "99213") == 1


def test_read_only_does_not_wait_for_a_writer(tmp_path: Path) -> None:
    """While another command holds the chain (its lock, an open write), a read-only
    workspace answers at once, from the last commit; the commit shows in the next one."""
    state = tmp_path / "state"
    day = date(2027, 7, 1)
    with Workspace.open(state, create=True) as ws:
        _small_chain(ws)
        with Workspace.open(state, read_only=True) as reader:
            before = check_eligibility(reader, SILVER, "M-0001", day)
        with ws.command():
            HospitalClient(ws).submit(_visit(SILVER, "M-0001", "HOSP-A", date(2027, 6, 1), 1))
            with Workspace.open(state, read_only=True) as reader:
                assert check_eligibility(reader, SILVER, "M-0001", day) == before
        with Workspace.open(state, read_only=True) as reader:
            after = check_eligibility(reader, SILVER, "M-0001", day)
        assert after == check_eligibility(ws, SILVER, "M-0001", day)
    # The visit used one of 99213's 12 units a period.
    assert (before.units_left["99213"], after.units_left["99213"]) == (12, 11)


def test_a_chain_of_another_schema_is_not_read(tmp_path: Path) -> None:
    assert ChainSnapshot.open(tmp_path / "nowhere") is None
    state = tmp_path / "state"
    with Workspace.open(state, create=True) as ws:
        ws.chain.store.connection.execute(
            "UPDATE meta SET value = '99' WHERE name = 'schema_version'"
        )
    assert ChainSnapshot.open(state / "chain") is None


def test_the_eligibility_command_imports_no_evm(state: Path) -> None:
    """`claims eligibility` on the embedded chain imports neither py-evm nor eth-abi nor
    eth-utils (nor web3): `python -X importtime` lists every module a process imports."""
    claims = Path(sys.executable).parent / "claims"
    argv = [sys.executable, "-X", "importtime", str(claims), "--state", str(state), "--json"]
    done = subprocess.run(
        [*argv, "eligibility", SILVER, "M-0001", "--date", "2027-07-01"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "CLAIMS_KEYS_DIR": ""},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    imported = {
        line.split("|")[-1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "claimsengine.engine_storage" in imported  # the listing is of this command
    heavy = {"eth", "eth_utils", "eth_abi", "rlp", "trie", "web3", "pydantic", "vyper"}
    assert not {m for m in imported if m.split(".")[0] in heavy}
    with Workspace.open(state) as ws:
        expected = check_eligibility(ws, SILVER, "M-0001", date(2027, 7, 1)).to_json()
    assert json.loads(done.stdout) == expected
