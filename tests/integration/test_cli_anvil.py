"""The insurer → hospital → adjudicator flow with `claims --rpc` against a real anvil node.

Uses the session's ``anvil_node`` (tests/conftest.py): skipped when anvil is not installed,
unless CI is set, where a missing anvil fails. The node is shared with other tests, so this
one deploys its own engine (a fresh --state has no deployment recorded for the node) and
only moves the node's clock forward when it is behind 2027-07-01.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from claimsengine.chain.anvil import AnvilNode
from claimsengine.cli.main import main

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
PLAN = "SILVER-2027"

pytestmark = pytest.mark.anvil


class Cli:
    """`claims --state STATE --rpc URL ...` in process."""

    def __init__(self, state: Path, url: str) -> None:
        self.runner = CliRunner()
        self.base = ["--state", str(state), "--rpc", url]

    def __call__(self, *args: object, code: int = 0) -> Result:
        argv = [*self.base, *map(str, args)]
        result = self.runner.invoke(main, argv, catch_exceptions=False)
        assert result.exit_code == code, (
            f"claims {' '.join(argv)} exited {result.exit_code}\n{result.output}"
        )
        return result

    def json(self, *args: object) -> Any:
        return json.loads(self("--json", *args).stdout)


def submit_fixture_records(state: Path, url: str) -> dict[str, int]:
    """The hospitals submit, through the SDK on the same node (not `claims submit`)."""
    from claimsengine.records import load_paths
    from claimsengine.sdk import HospitalClient
    from claimsengine.workspace import Workspace

    loaded = load_paths([FIXTURES / "records"])
    with Workspace.open(state, rpc=url) as workspace, workspace.command():
        outcomes = HospitalClient(workspace).submit_many([s.record for s in loaded.records])
    ids = {}
    for outcome in outcomes:
        assert outcome.result is not None, outcome.error
        ids[outcome.record.record_id] = outcome.result.claim_id
    return ids


def test_the_whole_flow_over_json_rpc(anvil_node: AnvilNode, tmp_path: Path) -> None:
    state = tmp_path / "state"
    claims = Cli(state, anvil_node.url)

    # The aliases are the node's own unlocked accounts, in order.
    init = claims.json("init")
    assert init["chain"].startswith("rpc:")
    assert init["accounts"]["insurer"] == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert init["accounts"]["hospital-1"] == "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
    assert claims.json("init")["created"] is False

    deployed = claims.json("deploy", FIXTURES / "plans" / "silver.yaml")
    assert deployed["plan_id"] == PLAN and deployed["engine"] == init["engine"]
    assert claims.json("enroll", PLAN, FIXTURES / "members.csv")["enrolled"] == 6
    claims("provider", "add", PLAN, "HOSP-A", "--account", "hospital-1")
    claims("provider", "add", PLAN, "HOSP-B", "--account", "hospital-2")
    claims("adjudicator", "add", PLAN, "--account", "adjudicator")
    assert claims.json("fund", PLAN, "300.00")["pool"]["balance"] == "300.00"

    today = claims.json("time", "show")["date"]
    if today < "2027-07-01":
        assert claims.json("time", "set", "2027-07-01")["date"] == "2027-07-01"
    later = claims.json("time", "advance", "1")["date"]
    assert later > today

    wrong = claims("--as", "hospital-1", "fund", PLAN, "1.00", code=1)
    assert "is not the insurer (admin) of plan SILVER-2027" in wrong.stderr

    ids = submit_fixture_records(state, anvil_node.url)
    visit = claims.json("status", ids["HOSP-A-2027-000101"])
    assert visit["status"] == "paid" and visit["totals"]["plan_paid"] == "95.00"
    assert visit["transactions"]["submitted"].startswith("0x")
    assert claims.json("status", "--record", "HOSP-B-2027-000202")["status"] == "denied"

    knee = ids["HOSP-A-2027-000104"]
    assert [c["claim_id"] for c in claims.json("review", "list", PLAN)] == [knee]
    assert claims.json("review", knee, "--approve")["status"] == "queued"
    assert claims.json("pool", PLAN)["queued"] == 3

    funded = claims.json("fund", PLAN, "50000.00")
    assert funded["settled"] == 3
    assert funded["pool"]["balance"] == "22623.00"
    assert claims.json("settle", PLAN)["settled"] == 0
    assert claims.json("status", knee)["status"] == "paid"

    member = claims.json("member", PLAN, "M-0002")
    assert member["oop_met"] == "145.00" and member["units_used"] == {"71046": 1, "99213": 2}

    # Trust between parties over JSON-RPC: the deployer owns the engine and admits insurers;
    # a provider moves its own payout; schedules change from a future day.
    assert claims.json("insurer", "add", "hospital-3")["insurer"] is True
    refused = claims("--as", "hospital-3", "insurer", "add", "hospital-4", code=1)
    assert "is not the engine's owner" in refused.stderr
    moved = claims.json("provider", "payout", PLAN, "HOSP-A", "hospital-3")
    assert moved["payout"] == init["accounts"]["hospital-3"]
    assert claims.json("provider", "collect", PLAN, "HOSP-A")["collected"] == "0.00"
    tomorrow = date.fromisoformat(claims.json("time", "show")["date"]) + timedelta(days=1)
    updated = claims.json(
        "schedule", "update", FIXTURES / "plans" / "silver.yaml", "--effective", tomorrow
    )
    assert updated["version"] == 1 and updated["effective_date"] == tomorrow.isoformat()
