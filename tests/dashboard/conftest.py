"""The dashboard under test: one chain, one `claims dashboard` process, one browser.

- ``dashboard_chain``: `claims demo --keep` (its nine records: paid, denied, one approved
  in review), then, on later chain days, a withdrawal, a claim that queues behind the
  pool, a claim that waits for review and a small top-up; and a ledger CSV in the state
  folder. Built once per test run (the first xdist worker builds it, the other waits).
- ``dashboard_url``: `claims --state DIR --json dashboard --port 0` in a child process.
- ``cli_json``: `claims --state DIR --json ...` in-process, for the figures to compare.
- ``browser``: headless Debian chromium through Playwright. Under CI a missing browser
  fails; elsewhere the browser tests are skipped with the reason.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from claimsengine.cli.main import main
from tests.conftest import in_ci

CHROMIUM = Path(os.environ.get("CLAIMS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PLAN = "SILVER-2027"
#: The screenshots the README and docs/dashboard.md show, written by the browser tests.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "img"

#: Records submitted after the demo. Q-1: M-0001 has met the out-of-pocket maximum
#: (3000.00) in the demo, so the plan pays the whole allowed 1200.00 (99285's fee), more
#: than the 623.00 left after the withdrawal: it queues. R-1: the knee replacement with its
#: prior authorisation, allowed 30000.00, all paid by the plan, above the auto-approve
#: limit of 5000.00: it waits for review.
QUEUED_RECORD = {
    "record_id": "HOSP-A-2027-000201",
    "plan_id": PLAN,
    "member_id": "M-0001",
    "provider_id": "HOSP-A",
    "service_date": "2027-07-03",
    "prior_auth": None,
    "diagnoses": ["R07.9"],
    "lines": [{"code": "99285", "units": 1, "billed": "1200.00"}],
}
REVIEW_RECORD = {
    "record_id": "HOSP-B-2027-000301",
    "plan_id": PLAN,
    "member_id": "M-0001",
    "provider_id": "HOSP-B",
    "service_date": "2027-07-05",
    "prior_auth": "PA-2027-0077",
    "diagnoses": ["M17.11"],
    "lines": [{"code": "27447", "units": 1, "billed": "48500.00"}],
}


def run_cli(state: Path, *args: str) -> Any:
    """`claims --state STATE --json ARGS...` in-process; its JSON output."""
    result = CliRunner().invoke(main, ["--state", str(state), "--json", *args])
    assert result.exit_code == 0, f"claims {' '.join(args)}: {result.output}"
    return json.loads(result.stdout) if result.stdout.strip() else None


def _build(state: Path) -> None:
    from claimsengine.demo import run_demo

    run_demo(state, new_period=False)  # the 2027 claims only; the clock on 2027-07-01
    # An 835 names each payee by its NPI; the demo registers the hospitals without one.
    run_cli(
        state, "provider", "add", PLAN, "HOSP-A", "--account", "hospital-1", "--npi", "1234567893"
    )
    run_cli(
        state, "provider", "add", PLAN, "HOSP-B", "--account", "hospital-2", "--npi", "1234567901"
    )
    records = state.parent / "records"
    records.mkdir(exist_ok=True)
    (records / "queued.json").write_text(json.dumps(QUEUED_RECORD))
    (records / "review.json").write_text(json.dumps(REVIEW_RECORD))
    run_cli(state, "time", "set", "2027-07-04")
    run_cli(state, "withdraw", PLAN, "22000.00")  # 22623.00 - 22000.00 = 623.00 left
    run_cli(state, "submit", str(records / "queued.json"))
    run_cli(state, "time", "set", "2027-07-06")
    run_cli(state, "submit", str(records / "review.json"))
    run_cli(state, "fund", PLAN, "100.00")  # 723.00: still short of the queued 1200.00
    _write_ledger(state)


def _write_ledger(state: Path) -> None:
    """A hospital's ledger: every claim at what the plan paid, except one it expected more
    for (short_paid) and one record it never submitted (not_on_chain)."""
    rows = ["record_id,expected_paid"]
    claim_id = 1
    while True:
        result = CliRunner().invoke(
            main, ["--state", str(state), "--json", "status", str(claim_id)]
        )
        if result.exit_code != 0:
            break
        claim = json.loads(result.stdout)
        expected = claim["totals"]["plan_paid"]
        if claim["record_id"] == "HOSP-A-2027-000101":
            expected = "200.00"  # the hospital expected more than the plan paid
        rows.append(f"{claim['record_id']},{expected}")
        claim_id += 1
    rows.append("HOSP-A-2027-999999,50.00")
    (state / "ledger.csv").write_text("\n".join(rows) + "\n")


@pytest.fixture(scope="session")
def dashboard_chain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Shared by the xdist workers: the first one builds it under a lock, the others wait.
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    state = root / "dashboard-chain" / "insurer"
    state.parent.mkdir(parents=True, exist_ok=True)
    with open(root / "dashboard-chain.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (state.parent / "built").exists():
            _build(state)
            (state.parent / "built").write_text("ok\n")
    return state


@pytest.fixture(scope="session")
def dashboard_url(dashboard_chain: Path) -> Iterator[str]:
    yield from _serve(dashboard_chain, {})


def _serve(state: Path, env: dict[str, str]) -> Iterator[str]:
    claims = shutil.which("claims", path=str(Path(sys.executable).parent)) or "claims"
    # Run beside the state folder, named relatively: the pages (and the screenshots) then
    # show "insurer", not a temporary path.
    process = subprocess.Popen(
        [claims, "--state", state.name, "--json", "dashboard", "--port", "0"],
        cwd=state.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.wait(timeout=10)
        pytest.fail(f"`claims dashboard` did not start: {process.stderr.read()}")  # type: ignore[union-attr]
    try:
        yield str(json.loads(line)["url"])
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="session")
def cli_json(dashboard_chain: Path) -> Callable[..., Any]:
    return lambda *args: run_cli(dashboard_chain, *args)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    problem = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = "the playwright package is not installed (`make install`)"
    if problem is None and not CHROMIUM.exists():
        problem = (
            f"no browser at {CHROMIUM}: `make test` installs Debian's chromium when run as "
            "root; otherwise `sudo apt-get install chromium`"
        )
    if problem is not None:
        if in_ci():
            pytest.fail(f"browser tests cannot run, and CI is set: {problem}")
        pytest.skip(problem)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    try:
        yield tab
    finally:
        context.close()


def screenshot(tab: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SCREENSHOTS / f"dashboard-{name}.png"), full_page=True)
