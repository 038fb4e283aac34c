"""A submission run that is killed at any point loses nothing and sends nothing twice.

The main test runs the real thing as a subprocess (a small driver of ``submit_paths`` that
prints its progress, and the `claims submit` command itself) on ~300 generated records, and
kills it on purpose at each of the orchestrator's fault points (``claimsengine.faults``):
after a batch is journaled ``prepared`` (the embedded chain rolls it back), after the chain
committed and before the journal recorded it, and after the journal recorded it and before
the results were reported. At each it checks the journal and the chain against each other,
then the next run resumes. In the end every good record has exactly one ClaimSubmitted
event, the providers received exactly the plan_paid of the paid claims, and the journal has
nothing left in flight.

A second test adds kills at wall-clock delays (while Python starts, while it loads, in the
middle of sending ...) as extra coverage: where such a kill lands depends on the machine's
load, so it asserts only on the outcome, never on where the kills landed.

The same windows are also set up in-process: the chain has committed but the journal still
says `prepared`; and the journal says `prepared` but the chain rolled back. Over JSON-RPC
(anvil, when installed): transient failures are retried (including an answer lost after
the node mined the transaction), and a node that goes away stops the run with a message
saying that running again resumes.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import requests

from claimsengine import faults
from claimsengine.abi import text_to_bytes32
from claimsengine.engine import DevToken
from claimsengine.journal import PREPARED, SUBMITTED
from claimsengine.members import Member
from claimsengine.orchestrator import SubmitInterrupted, submit_paths
from claimsengine.records import TreatmentRecord, load_paths
from claimsengine.sdk import HospitalClient
from claimsengine.status import ClaimStatus
from claimsengine.workspace import Workspace
from tests import http_stub
from tests.integration.test_orchestrator import (
    FIXTURES,
    PLAN,
    claims_cli,
    open_workspace,
    record,
    set_up_plan,
    submissions,
    write_json,
)

MEMBERS = [Member(f"M-{n:04d}", date(2027, 1, 1), None) for n in range(1, 41)]
# (code, units, billed): none above the auto-approve limit, so every claim is decided now.
SERVICES = [
    ("99213", 1, "180.00"),
    ("71046", 1, "110.00"),
    ("80053", 1, "70.00"),
    ("97110", 2, "90.00"),
    ("99285", 1, "2500.00"),
]

DRIVER = """
import sys
from claimsengine.orchestrator import submit_paths
from claimsengine.workspace import Workspace

state, folder, chunk = sys.argv[1], sys.argv[2], int(sys.argv[3])
print("started", flush=True)
with Workspace.open(state) as workspace:
    report = submit_paths(
        workspace,
        [folder],
        chunk_size=chunk,
        progress=lambda done, total: print(f"progress {done} {total}", flush=True),
    )
print(f"finished {report.submitted} {report.already_submitted} {len(report.set_aside)}")
"""


def generated_records(count: int, *, plan_id: str = PLAN, prefix: str = "GEN") -> list[dict]:
    """``count`` valid records: the first half HOSP-A's, the rest HOSP-B's."""
    rng = random.Random(count)
    records = []
    for n in range(count):
        code, units, billed = rng.choice(SERVICES)
        records.append(
            record(
                f"{prefix}-{n:05d}",
                plan_id=plan_id,
                member_id=f"M-{rng.randint(1, 40):04d}",
                provider_id="HOSP-A" if n < count // 2 else "HOSP-B",
                service_date=(date(2027, 2, 1) + timedelta(days=rng.randint(0, 140))).isoformat(),
                lines=[{"code": code, "units": units, "billed": billed}],
                patient={"name": f"Patient {n}"},
            )
        )
    return records


def write_inputs(folder: Path, records: list[dict]) -> list[str]:
    """The records as a JSON array (HOSP-A) and JSON Lines (HOSP-B), plus five bad ones.
    Returns the record ids of the bad ones."""
    half = len(records) // 2
    write_json(folder / "hosp-a.json", records[:half])
    (folder / "hosp-b.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in records[half:]), encoding="utf-8"
    )
    bad = [
        record("BAD-MEMBER", member_id="M-9999"),
        record("BAD-AMOUNT", lines=[{"code": "71046", "units": 1, "billed": "1.001"}]),
        record("BAD-DATE", service_date="2027-02-30"),
        record("BAD-PROVIDER", provider_id="HOSP-Q"),
        record("BAD-FUTURE", service_date="2027-11-30"),
    ]
    write_json(folder / "bad.json", bad)
    return [r["record_id"] for r in bad]


def check_exactly_once(workspace: Workspace, records: list[dict]) -> None:
    """Every record is on the chain exactly once, and nothing else is; the providers were
    paid exactly what the paid claims say; the journal has nothing in flight."""
    expected = len(records)
    onchain = submissions(workspace)
    parsed = [TreatmentRecord.from_json(r) for r in records]
    commitments = [workspace.commitment(r)[1] for r in parsed]
    assert [onchain[c] for c in commitments] == [1] * expected
    assert sum(onchain.values()) == expected
    paid_cents = 0
    for parsed_record, commitment in zip(parsed, commitments, strict=True):
        state = workspace.engine.claim_status(
            parsed_record.plan_id, parsed_record.provider_id, commitment
        )
        assert state.status is not None
        if state.status == ClaimStatus.PAID:
            paid_cents += state.plan_paid
    info = workspace.plan(PLAN)
    token = DevToken(workspace.chain, info.token)
    received = sum(
        token.balance_of(workspace.chain.accounts[alias]) for alias in ("hospital-1", "hospital-2")
    )
    assert received == paid_cents * info.token_scale
    paid_events = [int(e.args["claim_id"]) for e in workspace.engine.events("ClaimPaid")]
    assert len(paid_events) == len(set(paid_events))
    assert workspace.journal.count(workspace.chain_key, PREPARED) == 0
    assert workspace.journal.count(workspace.chain_key, SUBMITTED) == expected


# -- killed subprocesses --------------------------------------------------------------------


def claims_command() -> list[str]:
    script = Path(sys.executable).with_name("claims")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from claimsengine.cli.main import run; run()"]


def submit_args(state: Path, folder: Path, *, cli: bool, chunk: int) -> list[str]:
    """`claims --json submit` (its default chunk), or the driver with ``chunk``."""
    if cli:
        return [*claims_command(), "--state", str(state), "--json", "submit", str(folder)]
    return [sys.executable, "-c", DRIVER, str(state), str(folder), str(chunk)]


@dataclass(frozen=True)
class FaultPoint:
    """Run until the fault point ``fault`` (``CLAIMS_TEST_FAULT``) stops the process.
    ``cli``: run `claims submit`, else the driver (chunks of 50)."""

    fault: str
    cli: bool = False


# In this order on one state, each run resuming what the one before left (6 chunks of 50):
FAULT_POINTS = [
    # The second batch sent: in the first chunk, or the second.
    FaultPoint("after-prepare:2"),
    # The resume of the records in flight commits first; then the first chunk's records
    # are found on the chain; the third commit is the second chunk's.
    FaultPoint("after-send:3"),
    # `claims submit`, paused: the resume (1), then all the rest in one chunk (2).
    FaultPoint("after-send:2:pause", cli=True),
    # The resume (1) finds them on the chain; the first chunk (2) has nothing left to send.
    FaultPoint("after-receipt:2", cli=True),
]


def run_to_fault(point: FaultPoint, state: Path, folder: Path, log: Path) -> str:
    """Run until ``point`` stops the process, SIGKILL it there; return its stdout."""
    args = submit_args(state, folder, cli=point.cli, chunk=50)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", faults.ENV: point.fault}
    process = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    with log.open("a") as errors:
        if point.fault.endswith(":pause"):
            assert process.stderr is not None
            paused = f"fault: paused at {point.fault.removesuffix(':pause')}"
            for line in process.stderr:
                errors.write(line)
                if line.startswith(paused):
                    break
            # Stopped at the point, holding the state: the journal is readable meanwhile.
            assert process.poll() is None, f"it ended before {point.fault}"
            in_flight = journal_states(state)
            assert PREPARED in in_flight.values() and SUBMITTED in in_flight.values()
            process.kill()  # SIGKILL: no cleanup, no atexit, no rollback by Python
        out, err = process.communicate(timeout=300)
        errors.write(err)
    assert process.returncode == -signal.SIGKILL, (point, process.returncode, err[-2000:])
    return out


def journal_states(state: Path) -> dict[bytes, str]:
    """Each journal row's commitment and state (read straight from the file)."""
    with sqlite3.connect(state / "journal.sqlite") as journal:
        rows = journal.execute(
            "SELECT commitment, CASE state WHEN 0 THEN ? ELSE ? END FROM records",
            (PREPARED, SUBMITTED),  # the journal keeps a state as its number
        ).fetchall()
    return {bytes(commitment): str(row_state) for commitment, row_state in rows}


def check_window(point: FaultPoint, state: Path) -> dict[str, int]:
    """The journal and the chain, as the fault point left them, agree with what the point
    means (claimsengine.faults). Returns how many rows are in each journal state."""
    rows = journal_states(state)
    with Workspace.open(state) as workspace:
        onchain = submissions(workspace)
    prepared = [c for c, s in rows.items() if s == PREPARED]
    submitted = [c for c, s in rows.items() if s == SUBMITTED]
    assert len(prepared) + len(submitted) == len(rows)
    # Whatever the journal calls submitted is on the chain, once; nothing else is there.
    assert [onchain[c] for c in submitted] == [1] * len(submitted)
    assert set(onchain) <= set(rows) and set(onchain.values()) <= {1}
    where = point.fault.split(":")[0]
    if where == faults.AFTER_PREPARE:
        # Journaled, sent, not committed: the chain rolled the command back.
        assert prepared and not any(onchain[c] for c in prepared)
    elif where == faults.AFTER_SEND:
        # Committed on the chain, not yet recorded in the journal.
        assert prepared and all(onchain[c] == 1 for c in prepared)
    else:
        # Recorded in the journal; the results were never reported.
        assert not prepared
    return {PREPARED: len(prepared), SUBMITTED: len(submitted)}


def prepare_run(tmp_path: Path) -> tuple[Path, Path, list[dict], list[str]]:
    """A funded plan, and a folder of 300 good records and five bad ones."""
    state = tmp_path / "state"
    workspace = open_workspace(state)
    set_up_plan(workspace, members=MEMBERS, fund_cents=100_000_000)
    workspace.close()
    folder = tmp_path / "records"
    records = generated_records(300)
    bad_ids = write_inputs(folder, records)
    return state, folder, records, bad_ids


def check_final_run(state: Path, folder: Path, records: list[dict], bad_ids: list[str]) -> None:
    """A last `claims submit` reports every record once, and the chain has each once."""
    final = claims_cli("--state", str(state), "--json", "submit", str(folder))

    assert final.exit_code == 1, final.stderr  # the five bad records are set aside
    output = json.loads(final.stdout)
    results = [item for item in output if "claim_id" in item]
    aside = [item for item in output if "claim_id" not in item]
    assert sorted(r["record_id"] for r in results) == sorted(r["record_id"] for r in records)
    assert sorted(item["record_id"] for item in aside) == sorted(bad_ids)
    with Workspace.open(state) as workspace:
        check_exactly_once(workspace, records)
        quarantined = {p.name for p in (state / "quarantine").glob("*.json")}
        for bad in bad_ids:
            assert any(bad in name for name in quarantined), (bad, quarantined)


def test_runs_killed_at_each_fault_point_resume_and_every_record_lands_exactly_once(
    tmp_path: Path,
) -> None:
    state, folder, records, bad_ids = prepare_run(tmp_path)
    log = tmp_path / "stderr.log"

    counts = []
    for point in FAULT_POINTS:
        out = run_to_fault(point, state, folder, log)
        assert "finished" not in out and "claim_id" not in out  # never reported
        counts.append(check_window(point, state))
    # Each run got further than the one before it, and the last had sent everything.
    submitted = [count[SUBMITTED] for count in counts]
    assert submitted == sorted(submitted) and submitted[-1] == len(records), counts

    check_final_run(state, folder, records, bad_ids)


@dataclass(frozen=True)
class KillPoint:
    """Kill ``delay`` seconds after the process prints a line that ``after`` accepts (or
    after it starts, when ``after`` is None). ``cli``: run `claims submit`, else the driver."""

    name: str
    delay: float
    after: Callable[[str], bool] | None = None
    cli: bool = False


def progress_at(fraction: float) -> Callable[[str], bool]:
    def reached(line: str) -> bool:
        if not line.startswith("progress "):
            return False
        done, total = (int(part) for part in line.split()[1:3])
        return done >= fraction * total

    return reached


# Where each kill lands depends on how busy the machine is: nothing asserts on it.
KILL_POINTS = [
    KillPoint("while Python starts", 0.05),
    KillPoint("claims submit while it imports and loads", 1.2, cli=True),
    KillPoint("right after the records are checked", 0.0, progress_at(0)),
    KillPoint("early in the first chunk", 0.02, progress_at(0.1)),
    KillPoint("claims submit in mid-run", 4.0, cli=True),
    KillPoint("at 30%", 0.1, progress_at(0.3)),
    KillPoint("at 55%", 0.0, progress_at(0.55)),
    KillPoint("at 80%", 0.05, progress_at(0.8)),
    KillPoint("as the last batch commits", 0.0, progress_at(1.0)),
    KillPoint("just after the end", 0.15, progress_at(1.0)),
]


def run_and_kill(point: KillPoint, state: Path, folder: Path, log: Path, *, chunk: int) -> None:
    """Start the run, SIGKILL it at ``point`` unless it has finished by then."""
    args = submit_args(state, folder, cli=point.cli, chunk=chunk)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop(faults.ENV, None)
    with log.open("ab") as errors:
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=errors, env=env)
        try:
            assert process.stdout is not None
            if point.after is not None:
                for raw in process.stdout:
                    if point.after(raw.decode()):
                        break
            time.sleep(point.delay)
        finally:
            process.kill()  # SIGKILL: no cleanup, no atexit, no rollback by Python
            process.wait(timeout=60)


def test_runs_killed_at_random_moments_resume_and_every_record_lands_exactly_once(
    tmp_path: Path,
) -> None:
    state, folder, records, bad_ids = prepare_run(tmp_path)
    log = tmp_path / "stderr.log"

    for point in KILL_POINTS:
        run_and_kill(point, state, folder, log, chunk=50)

    check_final_run(state, folder, records, bad_ids)


# -- the narrow windows, set up exactly -------------------------------------------------------


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = open_workspace(tmp_path / "state")
    set_up_plan(ws)
    try:
        yield ws
    finally:
        ws.close()


def test_chain_committed_but_journal_still_prepared(workspace: Workspace) -> None:
    # Killed after the chain committed and before the journal marked the claims.
    first = submit_paths(workspace, [FIXTURES / "records"])
    assert first.submitted == 9
    with sqlite3.connect(workspace.state_dir / "journal.sqlite") as journal:
        # The journal's own rows, set back to prepared (state 0) with no claim or transaction.
        journal.execute("UPDATE records SET state = 0, claim_id = NULL, tx_id = NULL")
    assert workspace.journal.count(workspace.chain_key, PREPARED) == 9

    again = submit_paths(workspace, [FIXTURES / "records"])

    assert again.submitted == 0 and again.already_submitted == 9
    onchain = submissions(workspace)
    assert len(onchain) == 9 and set(onchain.values()) == {1}
    assert workspace.journal.count(workspace.chain_key, PREPARED) == 0


def test_journal_prepared_but_chain_rolled_back(workspace: Workspace, tmp_path: Path) -> None:
    # Killed after the records were journalled and vaulted, before the chain committed:
    # the next run, whatever it is given, finishes them from the vault.
    loaded = load_paths([FIXTURES / "records"])
    hospital = HospitalClient(workspace)
    with pytest.raises(RuntimeError), workspace.command():
        outcomes = hospital.submit_many(
            [s.record for s in loaded.records], sources=[str(s.file) for s in loaded.records]
        )
        assert all(o.result is not None for o in outcomes)
        raise RuntimeError("killed before the chain committed")
    assert len(submissions(workspace)) == 0
    assert workspace.journal.count(workspace.chain_key, PREPARED) == 9

    empty = tmp_path / "nothing-new"
    empty.mkdir()
    report = submit_paths(workspace, [empty])

    assert report.resumed == report.submitted == 9
    assert {c.result.record_id for c in report.claims} == {
        s.record.record_id for s in loaded.records
    }
    onchain = submissions(workspace)
    assert len(onchain) == 9 and set(onchain.values()) == {1}
    assert workspace.journal.count(workspace.chain_key, PREPARED) == 0
    # Given the same records now, they are recognised.
    again = submit_paths(workspace, [FIXTURES / "records"])
    assert again.submitted == 0 and again.already_submitted == 9


# -- JSON-RPC: transient and permanent failures (anvil) -------------------------------------


class FlakyProxy:
    """An HTTP proxy in front of a node that fails some requests on purpose.

    ``decide(number, method)`` returns "pass", "fail" (HTTP 503, the node never sees the
    request) or "lose" (forwarded, then answered with HTTP 503: the node did it).
    """

    def __init__(self, upstream: str, decide: Callable[[int, str], str]) -> None:
        self.upstream = upstream
        self.decide = decide
        self.count = 0
        self.outcomes: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length", 0)))
        request: Any = json.loads(body)
        method = (request[0] if isinstance(request, list) else request).get("method", "")
        with self._lock:
            self.count += 1
            verdict = self.decide(self.count, method)
            self.outcomes.append((method, verdict))
        if verdict != "fail":
            answer = requests.post(
                self.upstream, data=body, headers={"Content-Type": "application/json"}
            )
        if verdict == "pass":
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(answer.content)))
            handler.end_headers()
            handler.wfile.write(answer.content)
        else:
            handler.send_response(503)
            handler.send_header("Content-Length", "0")
            handler.end_headers()


@contextmanager
def serve(proxy: FlakyProxy) -> Iterator[str]:
    with http_stub.serve(proxy.handle) as url:
        yield url


def rpc_setup(tmp_path: Path, url: str, plan_id: str) -> Path:
    """A plan on the node (its own id: anvil is shared by the session) and 40 records."""
    workspace = open_workspace(tmp_path / "state", rpc=url)
    try:
        set_up_plan(workspace, plan_id=plan_id, members=MEMBERS, fund_cents=50_000_000)
    finally:
        workspace.close()
    folder = tmp_path / "records"
    records = generated_records(40, plan_id=plan_id, prefix=plan_id)
    write_json(folder / "hosp-a.json", records[:20])
    write_json(folder / "hosp-b.json", records[20:])
    return folder


def count_plan_submissions(workspace: Workspace, plan_id: str) -> Counter[bytes]:
    return Counter(
        bytes(e.args["commitment"])
        for e in workspace.engine.events("ClaimSubmitted", None, text_to_bytes32(plan_id))
    )


@pytest.mark.anvil
def test_transient_rpc_failures_are_retried_and_nothing_doubles(
    anvil_node: Any, tmp_path: Path
) -> None:
    plan_id = "RPC-RETRY"
    folder = rpc_setup(tmp_path, anvil_node.url, plan_id)
    sends = 0

    def decide(number: int, method: str) -> str:
        nonlocal sends
        if method == "eth_sendTransaction":
            sends += 1
            if sends == 1:
                return "lose"  # mined, but the answer never arrives: the client sends again
        return "fail" if number % 6 == 0 else "pass"

    proxy = FlakyProxy(anvil_node.url, decide)
    with serve(proxy) as url, Workspace.open(tmp_path / "state", rpc=url) as workspace:
        report = submit_paths(workspace, [folder])

    assert [v for _, v in proxy.outcomes].count("fail") >= 10
    assert [v for _, v in proxy.outcomes].count("lose") == 1
    assert report.ok and len(report.claims) == 40
    with Workspace.open(tmp_path / "state", rpc=anvil_node.url) as workspace:
        onchain = count_plan_submissions(workspace, plan_id)
        assert len(onchain) == 40 and set(onchain.values()) == {1}
        assert workspace.journal.count(workspace.chain_key, PREPARED) == 0


@pytest.mark.anvil
def test_a_node_that_goes_away_stops_the_run_and_running_again_resumes(
    anvil_node: Any, tmp_path: Path
) -> None:
    plan_id = "RPC-STOP"
    folder = rpc_setup(tmp_path, anvil_node.url, plan_id)
    sends = 0

    def decide(number: int, method: str) -> str:
        nonlocal sends
        if method == "eth_sendTransaction":
            sends += 1
        return "fail" if sends > 1 else "pass"  # the node goes away after the first batch

    with (
        serve(FlakyProxy(anvil_node.url, decide)) as url,
        Workspace.open(tmp_path / "state", rpc=url) as workspace,
        pytest.raises(SubmitInterrupted) as stopped,
    ):
        submit_paths(workspace, [folder], chunk_size=20)
    error = stopped.value
    assert "failed after 5 tries" in error.message
    assert "run the same command again" in (error.hint or "")
    assert "resumes from the journal" in (error.hint or "")
    assert error.report.submitted == 20  # the first chunk, committed before the node went

    with Workspace.open(tmp_path / "state", rpc=anvil_node.url) as workspace:
        report = submit_paths(workspace, [folder])
        onchain = count_plan_submissions(workspace, plan_id)
        assert len(onchain) == 40 and set(onchain.values()) == {1}
        assert report.submitted + report.already_submitted == 40
        assert workspace.journal.count(workspace.chain_key, PREPARED) == 0


# -- the fault points themselves --------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["after-prepar:1", "after-send", "after-send:0", "after-send:x", "after-send:1:stop"]
)
def test_a_mistyped_fault_point_is_refused_instead_of_testing_nothing(value: str) -> None:
    env = {**os.environ, faults.ENV: value}
    done = subprocess.run(
        [sys.executable, "-c", "import claimsengine.faults"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 1
    assert (
        f"ValueError: CLAIMS_TEST_FAULT={value!r}: expected POINT:N or POINT:N:pause, POINT one "
        "of after-prepare, after-send, after-receipt"
    ) in done.stderr


def test_without_the_variable_the_fault_points_do_nothing(workspace: Workspace) -> None:
    assert faults.ENV not in os.environ
    for point in faults.POINTS:
        for _ in range(3):
            faults.reach(point)  # returns: the test process is still here
    assert submit_paths(workspace, [FIXTURES / "records"]).submitted == 9


def test_an_engine_set_up_in_a_command_that_dies_is_not_remembered(tmp_path: Path) -> None:
    # `claims init` killed after deploying but before its command committed: the chain
    # rolled back, but deployments.json named the engine, so the next init did nothing
    # ("already exists") and `deploy` failed on an address without code.
    ws = Workspace.open(tmp_path / "state", create=True)
    try:
        with pytest.raises(RuntimeError), ws.command():
            ws.setup()
            raise RuntimeError("killed before the commit")
        assert not ws.has_engine
        assert ws.deployed_engine() is None
    finally:
        ws.close()
    again = Workspace.open(tmp_path / "state")
    try:
        assert not again.has_engine
        with again.command():
            engine = again.setup()
        assert again.deployed_engine() == engine.address
        assert engine.owner() == again.chain.address_of("insurer")  # code is there
    finally:
        again.close()


def test_a_folder_whose_chain_is_gone_sets_the_engine_up_again(tmp_path: Path) -> None:
    # deployments.json names an engine, but the chain's folder was deleted (or the chain
    # never kept it): init sets it up again instead of saying it exists, and deploy works.
    ws = Workspace.open(tmp_path / "state", create=True)
    with ws.command():
        old = ws.setup().address
    ws.close()
    shutil.rmtree(tmp_path / "state" / "chain")
    again = Workspace.open(tmp_path / "state", create=True)
    try:
        assert again.deployed_engine() == old and not again.engine_deployed()
        with again.command():
            engine = again.setup()
        assert again.engine_deployed() and again.deployed_engine() == engine.address
        assert engine.owner() == again.chain.address_of("insurer")
    finally:
        again.close()
