"""A submission run that is killed at any point loses nothing and sends nothing twice.

The main test runs the real thing as a subprocess (a small driver of ``submit_paths`` that
prints its progress, and the `claims submit` command itself) on ~300 generated records, and
SIGKILLs it again and again at points spread over the run: while Python starts, while it
loads, right after the records are checked, in the middle of sending, as the last batch
commits, and after. Then it runs to completion and checks the chain: every good record has
exactly one ClaimSubmitted event, the providers received exactly the plan_paid of the paid
claims, and the journal has nothing left in flight.

The two windows a kill rarely hits by chance are set up exactly, in-process: the chain has
committed but the journal still says `prepared`; and the journal says `prepared` but the
chain rolled back. Over JSON-RPC (anvil, when installed): transient failures are retried
(including an answer lost after the node mined the transaction), and a node that goes away
stops the run with a message saying that running again resumes.
"""

from __future__ import annotations

import json
import os
import random
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

from claimsengine.abi import text_to_bytes32
from claimsengine.engine import DevToken, Status
from claimsengine.journal import PREPARED, SUBMITTED
from claimsengine.members import Member
from claimsengine.orchestrator import SubmitInterrupted, submit_paths
from claimsengine.records import TreatmentRecord, load_paths
from claimsengine.sdk import HospitalClient
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
        assert state.status != Status.NONE
        if state.status == Status.PAID:
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


def claims_command() -> list[str]:
    script = Path(sys.executable).with_name("claims")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from claimsengine.cli.main import run; run()"]


def run_and_kill(point: KillPoint, state: Path, folder: Path, log: Path, *, chunk: int) -> str:
    """Start the run, SIGKILL it at ``point``; say how it ended."""
    if point.cli:
        args = [*claims_command(), "--state", str(state), "submit", str(folder)]
    else:
        args = [sys.executable, "-c", DRIVER, str(state), str(folder), str(chunk)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
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
            ended = "finished first" if process.poll() is not None else "killed"
            if ended == "killed":
                process.kill()  # SIGKILL: no cleanup, no atexit, no rollback by Python
            process.wait(timeout=60)
    return ended


def prepared_rows(state: Path) -> int:
    path = state / "journal.sqlite"
    if not path.exists():
        return 0
    with sqlite3.connect(path) as journal:
        (count,) = journal.execute(
            "SELECT COUNT(*) FROM records WHERE state = ?", (PREPARED,)
        ).fetchone()
    return int(count)


def test_killed_runs_resume_and_every_record_lands_exactly_once(tmp_path: Path) -> None:
    state = tmp_path / "state"
    workspace = open_workspace(state)
    set_up_plan(workspace, members=MEMBERS, fund_cents=100_000_000)
    workspace.close()
    folder = tmp_path / "records"
    records = generated_records(300)
    bad_ids = write_inputs(folder, records)
    log = tmp_path / "stderr.log"

    endings: dict[str, str] = {}
    in_flight: dict[str, int] = {}  # journal rows a kill left `prepared`
    for point in KILL_POINTS:
        endings[point.name] = run_and_kill(point, state, folder, log, chunk=50)
        in_flight[point.name] = prepared_rows(state)
    assert list(endings.values()).count("killed") >= 8, endings
    # Some kills caught records in flight, so the runs after them had to resume.
    assert any(in_flight.values()), in_flight

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
        journal.execute(
            "UPDATE records SET state = ?, claim_id = NULL, tx_hash = NULL", (PREPARED,)
        )
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
