"""The real `claims` executable, run as a subprocess on a persistent --state folder.

Besides the plain flow, two things only separate processes can show:
- a command killed with SIGKILL half-way leaves the chain exactly as it was before the
  command, and the next command works;
- a second command started while one runs waits for it (saying so on stderr) instead of
  corrupting the state.
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

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
PLAN = "SILVER-2027"
CLAIMS = shutil.which("claims", path=str(Path(sys.executable).parent)) or shutil.which("claims")
#: Members in the long-running enrolment: about 5 s on a laptop (20 transactions).
BIG = 5000

pytestmark = pytest.mark.skipif(CLAIMS is None, reason="the claims executable is not installed")


def run(state: Path, *args: object, code: int = 0) -> subprocess.CompletedProcess[str]:
    assert CLAIMS is not None
    argv = [CLAIMS, "--state", str(state), *map(str, args)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == code, (
        f"{' '.join(argv)} exited {done.returncode}, expected {code}\n"
        f"stdout: {done.stdout}\nstderr: {done.stderr}"
    )
    return done


def run_json(state: Path, *args: object) -> Any:
    return json.loads(run(state, "--json", *args).stdout)


def start(state: Path, *args: object) -> subprocess.Popen[str]:
    assert CLAIMS is not None
    return subprocess.Popen(
        [CLAIMS, "--state", str(state), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until_locked(state: Path, process: subprocess.Popen[str], timeout: float = 60) -> None:
    """Wait until `process` holds the embedded chain's lock (it has opened the chain)."""
    lock = state / "chain" / "lock"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the command ended early: {process.communicate()}"
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


def test_sigkill_half_way_leaves_the_chain_as_it_was(state: Path, tmp_path: Path) -> None:
    big = members_csv(tmp_path, "G", BIG)
    pool_before = run_json(state, "pool", PLAN)
    member_before = run_json(state, "member", PLAN, "M-0001")
    time_before = run_json(state, "time", "show")

    enrolling = start(state, "enroll", PLAN, big)
    wait_until_locked(state, enrolling)
    time.sleep(1.5)  # well into the 20 enrolment transactions
    assert enrolling.poll() is None, "enroll finished before it could be killed: raise BIG"
    os.kill(enrolling.pid, signal.SIGKILL)
    enrolling.communicate(timeout=30)
    assert enrolling.returncode == -signal.SIGKILL

    # Nothing of the killed command is left: not the first members, not the last.
    for member_id in ("G-00000", f"G-{BIG - 1:05d}"):
        gone = run(state, "member", PLAN, member_id, code=1)
        assert f"member {member_id} is not enrolled" in gone.stderr
    assert run_json(state, "pool", PLAN) == pool_before
    assert run_json(state, "member", PLAN, "M-0001") == member_before
    assert run_json(state, "time", "show")["date"] == time_before["date"]

    # ... and the next commands work, the same enrolment included.
    funded = run_json(state, "fund", PLAN, "1.00")
    assert funded["pool"]["balance"] == "2501.00"
    assert run_json(state, "enroll", PLAN, big) == {"plan_id": PLAN, "enrolled": BIG}
    assert run_json(state, "member", PLAN, f"G-{BIG - 1:05d}")["period"] == 0


def test_a_second_command_waits_for_the_first(state: Path, tmp_path: Path) -> None:
    big = members_csv(tmp_path, "W", BIG)
    enrolling = start(state, "enroll", PLAN, big)
    wait_until_locked(state, enrolling)

    second = run(state, "--json", "fund", PLAN, "10.00")  # waits, then runs
    assert "waiting for another claims command to finish" in second.stderr
    assert json.loads(second.stdout)["pool"]["balance"] == "2510.00"
    out, err = enrolling.communicate(timeout=120)
    assert enrolling.returncode == 0, err
    assert f"Enrolled {BIG} members" in out

    # Both commands took effect, one after the other.
    assert run_json(state, "member", PLAN, f"W-{BIG - 1:05d}")["member_id"] == f"W-{BIG - 1:05d}"
    assert run_json(state, "pool", PLAN)["balance"] == "2510.00"
