"""The real `claims` executable, run as a subprocess on a persistent --state folder.

Besides the plain flow, two things only separate processes can show:
- a command killed with SIGKILL half-way leaves the chain exactly as it was before the
  command, and the next command works;
- a second command started while one runs waits for it (saying so on stderr) instead of
  corrupting the state.

Both stop the first command at an exact step with a fault point (``claimsengine.faults``),
not after a wall-clock delay, so that the outcome never depends on the machine's load.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from claimsengine import faults

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
PLAN = "SILVER-2027"
CLAIMS = shutil.which("claims", path=str(Path(sys.executable).parent)) or shutil.which("claims")
#: Members in the long-running enrolment: about 5 s on a laptop (20 transactions).
BIG = 5000
#: HOSP-A's records: the only provider the prepared state registers.
HOSP_A_RECORDS = [
    FIXTURES / "records" / "hosp-a-2027-02-office-visit.json",
    FIXTURES / "records" / "hosp-a-2027-batch.json",
]

pytestmark = pytest.mark.skipif(CLAIMS is None, reason="the claims executable is not installed")


def run(state: Path, *args: object, code: int | None = 0) -> subprocess.CompletedProcess[str]:
    """Run `claims ARGS`; check its exit status is ``code`` (None: any)."""
    assert CLAIMS is not None
    argv = [CLAIMS, "--state", str(state), *map(str, args)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert code is None or done.returncode == code, (
        f"{' '.join(argv)} exited {done.returncode}, expected {code}\n"
        f"stdout: {done.stdout}\nstderr: {done.stderr}"
    )
    return done


def run_json(state: Path, *args: object) -> Any:
    return json.loads(run(state, "--json", *args).stdout)


def start(state: Path, *args: object, fault: str | None = None) -> subprocess.Popen[str]:
    """Start `claims ARGS`; ``fault`` sets ``CLAIMS_TEST_FAULT`` (claimsengine.faults)."""
    assert CLAIMS is not None
    env = {key: value for key, value in os.environ.items() if key != faults.ENV}
    if fault is not None:
        env[faults.ENV] = fault
    return subprocess.Popen(
        [CLAIMS, "--state", str(state), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def read_stderr_until(process: subprocess.Popen[str], expected: str) -> list[str]:
    """The process's stderr lines up to the first that contains ``expected``."""
    assert process.stderr is not None
    lines: list[str] = []
    for line in process.stderr:
        lines.append(line)
        if expected in line:
            return lines
    process.wait(timeout=60)
    raise AssertionError(f"{expected!r} never came; exit {process.returncode}: {''.join(lines)}")


def start_paused(state: Path, point: str, *args: object) -> subprocess.Popen[str]:
    """Start `claims ARGS` and return once it has stopped itself (SIGSTOP) at ``point``,
    holding the state."""
    process = start(state, *args, fault=f"{point}:pause")
    read_stderr_until(process, f"fault: paused at {point}")
    return process


def wait_until_locked(state: Path, process: subprocess.Popen[str], timeout: float = 60) -> None:
    """Wait until `process` holds the embedded chain's lock (it has opened the chain), or
    has ended already (on a busy machine this loop may not run again before it does)."""
    lock = state / "chain" / "lock"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return
        fd = os.open(lock, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
        time.sleep(0.02)
    raise AssertionError("the command never took the lock")


def members_csv(folder: Path, prefix: str, count: int) -> Path:
    path = folder / f"{prefix}.csv"
    rows = "".join(f"{prefix}-{i:05d},2027-01-01,\n" for i in range(count))
    path.write_text("member_id,coverage_start,coverage_end\n" + rows)
    return path


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The insurer's set-up, each step a separate `claims` process."""
    state = tmp_path_factory.mktemp("subprocess") / "state"
    init = run_json(state, "init")
    assert init["created"] is True
    assert run_json(state, "deploy", FIXTURES / "plans" / "silver.yaml")["plan_id"] == PLAN
    run(state, "enroll", PLAN, FIXTURES / "members.csv")
    run(state, "provider", "add", PLAN, "HOSP-A", "--account", "hospital-1")
    run(state, "adjudicator", "add", PLAN, "--account", "adjudicator")
    run(state, "fund", PLAN, "2500.00")
    assert run_json(state, "time", "set", "2027-07-01")["date"] == "2027-07-01"
    return state


@pytest.fixture
def state(prepared: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "state"
    shutil.copytree(prepared, copy)
    return copy


def test_the_state_persists_across_processes(prepared: Path) -> None:
    assert run_json(prepared, "pool", PLAN)["balance"] == "2500.00"
    member = run_json(prepared, "member", PLAN, "M-0001")
    assert member["deductible_met"] == "0.00" and member["period"] == 0
    assert run_json(prepared, "time", "show")["date"] == "2027-07-01"
    again = run(prepared, "init")
    assert "already exists" in again.stdout


def test_errors_from_the_executable(prepared: Path, tmp_path: Path) -> None:
    usage = run(prepared, "fund", PLAN, "1.234", code=2)
    assert usage.stdout == ""
    assert usage.stderr.startswith("error: Invalid value for 'AMOUNT'")
    assert len(usage.stderr.splitlines()) == 1
    missing = run(tmp_path / "nothing-here", "pool", PLAN, code=1)
    assert missing.stderr.startswith("error: no embedded chain in")
    assert "Traceback" not in missing.stderr


def test_trust_commands_from_the_executable(state: Path) -> None:
    # The owner admits an insurer; a provider moves its own payout; an outsider is refused.
    added = run_json(state, "insurer", "add", "hospital-3")
    assert added["insurer"] is True
    moved = run_json(state, "provider", "payout", PLAN, "HOSP-A", "hospital-3")
    assert moved["payout"] == added["account"] and moved["credit"] == "0.00"
    assert run_json(state, "provider", "collect", PLAN, "HOSP-A")["collected"] == "0.00"
    refused = run(state, "--as", "insurer", "provider", "payout", PLAN, "HOSP-A", "insurer", code=1)
    assert refused.stdout == "" and len(refused.stderr.splitlines()) == 1
    assert refused.stderr.startswith(
        "error: insurer (0xf39F…2266) is not the owner account of provider HOSP-A"
    )
    usage = run(state, "review", "1", "--deny", "--reason", "7", code=2)
    assert usage.stderr.startswith("error: Invalid value for '--reason': 7 is not a reason code")


def claims_on_chain(state: Path) -> int:
    """How many ClaimSubmitted events the state's chain holds."""
    from claimsengine.workspace import Workspace

    with Workspace.open(state) as workspace:
        return len(workspace.engine.events("ClaimSubmitted"))


def test_sigkill_half_way_leaves_the_chain_as_it_was(state: Path) -> None:
    pool_before = run_json(state, "pool", PLAN)
    member_before = run_json(state, "member", PLAN, "M-0001")
    time_before = run_json(state, "time", "show")

    # Stopped after its batch was sent, before the command committed; killed there.
    submitting = start_paused(state, "after-prepare:1", "--json", "submit", *HOSP_A_RECORDS)
    submitting.kill()
    out, _ = submitting.communicate(timeout=30)
    assert submitting.returncode == -signal.SIGKILL
    assert out == ""

    # Nothing of the killed command is left on the chain.
    assert claims_on_chain(state) == 0
    assert run_json(state, "pool", PLAN) == pool_before
    assert run_json(state, "member", PLAN, "M-0001") == member_before
    assert run_json(state, "time", "show")["date"] == time_before["date"]

    # ... and the next commands work, the same submission included (each claim once).
    funded = run_json(state, "fund", PLAN, "1.00")
    assert funded["pool"]["balance"] == "2501.00"
    claims = run_json(state, "submit", *HOSP_A_RECORDS)
    assert sorted(claim["claim_id"] for claim in claims) == [1, 2, 3, 4, 5]
    assert claims_on_chain(state) == 5


def test_sigkill_at_a_moment_leaves_a_command_whole_or_not_at_all(
    state: Path, tmp_path: Path
) -> None:
    # Extra coverage: a kill at a wall-clock moment lands wherever the machine's load puts
    # it (before, during or after the 20 transactions), so only the outcome is asserted.
    big = members_csv(tmp_path, "G", BIG)
    pool_before = run_json(state, "pool", PLAN)
    enrolling = start(state, "enroll", PLAN, big)
    wait_until_locked(state, enrolling)
    time.sleep(1.5)
    enrolling.kill()
    enrolling.communicate(timeout=30)

    first, last = (
        run(state, "member", PLAN, member_id, code=None).returncode == 0
        for member_id in ("G-00000", f"G-{BIG - 1:05d}")
    )
    assert first == last  # all of the enrolment, or none of it
    assert run_json(state, "pool", PLAN) == pool_before
    assert run_json(state, "fund", PLAN, "1.00")["pool"]["balance"] == "2501.00"
    if not first:
        assert run_json(state, "enroll", PLAN, big) == {"plan_id": PLAN, "enrolled": BIG}
    assert run_json(state, "member", PLAN, f"G-{BIG - 1:05d}")["period"] == 0


def test_a_second_command_waits_for_the_first(state: Path) -> None:
    # The first is stopped inside its command, holding the state, until the second has
    # said that it waits.
    submitting = start_paused(state, "after-prepare:1", "--json", "submit", *HOSP_A_RECORDS)
    funding = start(state, "--json", "fund", PLAN, "10.00")
    try:
        read_stderr_until(funding, "waiting for another claims command to finish")
    finally:
        submitting.send_signal(signal.SIGCONT)
    out, err = submitting.communicate(timeout=120)
    assert submitting.returncode == 0, err
    funded, err = funding.communicate(timeout=120)
    assert funding.returncode == 0, err

    # Both took effect, one after the other: the fund saw the submission's payments.
    paid = [claim["totals"]["plan_paid"] for claim in json.loads(out) if claim["status"] == "paid"]
    assert paid == ["95.00"] * 3  # three office visits: allowed 120.00 - copay 25.00
    # 2500.00 funded - 3 x 95.00 paid + 10.00 = 2225.00
    assert json.loads(funded)["pool"]["balance"] == "2225.00"
    assert run_json(state, "pool", PLAN)["balance"] == "2225.00"
