"""The `claims` commands of "Trust between parties" through click's CliRunner: who creates
plans (`insurer`), schedule changes from a future day (`schedule update`), a provider's own
money (`provider payout`, `provider collect`) and review denials with a reason code.

They run on a copy of test_cli's prepared state: the silver plan, HOSP-A (hospital-1) and
HOSP-B (hospital-2), the nine fixture claims, the clock at 2027-07-01. Each command's
refusal of an outsider is in test_cli_errors.py (with the exact message).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from claimsengine.days import from_day
from claimsengine.workspace import Workspace
from tests.integration import test_cli as cli_flow
from tests.integration.test_cli import FIXTURES, PLAN, claims, claims_json

SILVER = (FIXTURES / "plans" / "silver.yaml").read_text()


# The prepared state, a copy of it per test, and the fixture claims' ids: test_cli's fixtures.
prepared = cli_flow.prepared
state = cli_flow.state
claim_ids = cli_flow.claim_ids


def plan_file(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def address(state: Path, alias: str) -> str:
    with Workspace.open(state) as workspace:
        return workspace.chain.address_of(alias)


def balance(state: Path, alias: str) -> int:
    """The dev token balance of an account, in cents (the dev token has 6 decimals)."""
    with Workspace.open(state) as workspace:
        return workspace.dev_token.balance_of(workspace.chain.address_of(alias)) // 10**4


def coverage(state: Path, member_id: str, period: int = 0) -> tuple[date, date | None] | None:
    """A member's coverage dates as the chain holds them for its pseudonym of ``period``,
    None if that one is not enrolled."""
    with Workspace.open(state) as workspace:
        pseudonym = workspace.pseudonym(PLAN, member_id, period, create=True)
        enrolled, start, end, _period = workspace.engine.member(PLAN, pseudonym)
    if not enrolled:
        return None
    return from_day(start), (from_day(end) if end is not None else None)


def submit(state: Path, folder: Path, record: dict[str, Any]) -> dict[str, Any]:
    path = folder / f"{record['record_id']}.json"
    path.write_text(json.dumps(record))
    (result,) = claims_json(state, "submit", path)
    assert isinstance(result, dict)
    return result


def x_ray(record_id: str, service_date: str, *, member: str = "M-0002") -> dict[str, Any]:
    """A chest X-ray (71046, billed 95.00) at HOSP-A."""
    return {
        "record_id": record_id,
        "plan_id": PLAN,
        "member_id": member,
        "provider_id": "HOSP-A",
        "service_date": service_date,
        "prior_auth": None,
        "diagnoses": ["J20.9"],
        "lines": [{"code": "71046", "units": 1, "billed": "95.00"}],
    }


# -- insurer ------------------------------------------------------------------------------------


def test_only_an_insurer_creates_plans_and_the_owner_decides_who(
    state: Path, tmp_path: Path
) -> None:
    other = plan_file(tmp_path, "other.yaml", SILVER.replace("SILVER-2027", "OTHER-2027"))
    third = plan_file(tmp_path, "third.yaml", SILVER.replace("SILVER-2027", "THIRD-2027"))
    refused = claims(state, "--as", "hospital-3", "deploy", other, code=1)
    assert refused.stderr.startswith("error: transaction reverted: claims: not an insurer")

    hospital_3 = address(state, "hospital-3")
    assert claims_json(state, "insurer", "add", "hospital-3") == {
        "account": hospital_3,
        "insurer": True,
    }
    deployed = claims_json(state, "--as", "hospital-3", "deploy", other)
    assert deployed["plan_id"] == "OTHER-2027" and deployed["admin"] == hospital_3

    out = claims(state, "insurer", "remove", hospital_3).stdout
    # An account with an alias is named by it, also when given as an address.
    assert out == "hospital-3 (0x9965…A4dc) is no longer an insurer: it may not create plans.\n"
    assert claims_json(state, "insurer", "remove", "hospital-3")["insurer"] is False
    again = claims(state, "--as", "hospital-3", "deploy", third, code=1)
    assert again.stderr.startswith("error: transaction reverted: claims: not an insurer")
    # The plan it made stays, with it as the admin.
    assert claims_json(state, "pool", "OTHER-2027")["balance"] == "0.00"


def test_insurer_add_for_people(state: Path) -> None:
    out = claims(state, "insurer", "add", "hospital-3").stdout
    assert out == "hospital-3 (0x9965…A4dc) is now an insurer: it may create plans.\n"


# -- schedule -----------------------------------------------------------------------------------


def test_a_schedule_change_prices_services_from_its_effective_date(
    state: Path, tmp_path: Path
) -> None:
    cheaper = plan_file(
        tmp_path,
        "cheaper.yaml",
        SILVER.replace('allowed: "95.00"', 'allowed: "80.00"'),
    )
    updated = claims_json(state, "schedule", "update", cheaper, "--effective", "2027-07-02")
    # Version 0 is the schedule the plan was deployed with.
    assert updated == {
        "plan_id": PLAN,
        "version": 1,
        "effective_date": "2027-07-02",
        "services": 11,
    }

    # Services before the effective date keep the old fee, also when filed after it.
    before = submit(state, tmp_path, x_ray("HOSP-A-SCHED-1", "2027-07-01"))
    claims(state, "time", "set", "2027-07-03")
    late = submit(state, tmp_path, x_ray("HOSP-A-SCHED-2", "2027-07-01", member="M-0004"))
    after = submit(state, tmp_path, x_ray("HOSP-A-SCHED-3", "2027-07-02", member="M-0003"))
    assert before["lines"][0]["allowed"] == "95.00"
    assert late["lines"][0]["allowed"] == "95.00"
    # On or after 2027-07-02: the new fee 80.00; billed 95.00 - 80.00 = 15.00 under 45.
    assert after["lines"][0]["allowed"] == "80.00"
    assert after["lines"][0]["reasons"][0] == "45"


def test_a_unit_limit_changes_only_at_a_benefit_period_start(state: Path, tmp_path: Path) -> None:
    fewer = plan_file(
        tmp_path,
        "fewer-visits.yaml",
        SILVER.replace("max_units_per_period: 12", "max_units_per_period: 6"),
    )
    mid = claims(state, "schedule", "update", fewer, "--effective", "2027-08-01", code=1)
    assert mid.stderr.startswith("error: transaction reverted: claims: unit limit mid-period")
    # The silver plan's periods are 365 days from 2027-01-01: the next one starts 2028-01-01.
    done = claims_json(state, "schedule", "update", fewer, "--effective", "2028-01-01")
    assert done["effective_date"] == "2028-01-01"


def test_schedule_update_for_people(state: Path) -> None:
    out = claims(
        state, "schedule", "update", FIXTURES / "plans" / "silver.yaml", "--effective", "2027-09-01"
    ).stdout
    assert out.startswith(
        "Schedule version 1 of SILVER-2027: 11 services, for services on or after 2027-09-01."
    )
    assert "71046" in out and "95.00" in out


# -- a provider's own money ---------------------------------------------------------------------


def test_the_provider_moves_its_payout_and_its_payments_follow(
    state: Path, claim_ids: dict[str, int]
) -> None:
    hospital_1, hospital_3 = address(state, "hospital-1"), address(state, "hospital-3")
    moved = claims_json(state, "provider", "payout", PLAN, "HOSP-A", "hospital-3")
    assert moved == {
        "plan_id": PLAN,
        "provider_id": "HOSP-A",
        "owner": hospital_1,
        "payout": hospital_3,
        "active": True,
        "credit": "0.00",
        "debt": "0.00",
    }
    knee = claim_ids["HOSP-A-2027-000104"]
    assert claims_json(state, "review", knee, "--approve")["status"] == "queued"
    queued_a = [
        claims_json(state, "status", claim_id)
        for record_id, claim_id in claim_ids.items()
        if record_id.startswith("HOSP-A")
    ]
    owed = sum(
        int(c["totals"]["plan_paid"].replace(".", "")) for c in queued_a if c["status"] == "queued"
    )
    # The knee (27,025.00) at least is owed to HOSP-A.
    assert owed >= 2_702_500
    before_1, before_3 = balance(state, "hospital-1"), balance(state, "hospital-3")

    claims_json(state, "fund", PLAN, "50000.00")

    assert balance(state, "hospital-1") == before_1  # the old payout gets nothing more
    assert balance(state, "hospital-3") == before_3 + owed
    assert claims_json(state, "status", knee)["status"] == "paid"


def test_provider_payout_to_an_address_for_people(state: Path) -> None:
    hospital_4 = address(state, "hospital-4")
    out = claims(
        state, "--as", "hospital-1", "provider", "payout", PLAN, "HOSP-A", hospital_4.lower()
    ).stdout
    assert out == f"HOSP-A's payments in SILVER-2027 now go to {hospital_4}.\n"


def test_provider_collect_with_no_credit(state: Path) -> None:
    collected = claims_json(state, "provider", "collect", PLAN, "HOSP-B")
    assert collected["collected"] == "0.00" and collected["credit"] == "0.00"
    assert collected["payout"] == address(state, "hospital-2")
    out = claims(state, "provider", "collect", PLAN, "HOSP-B").stdout
    assert out == "HOSP-B has no credit to collect in SILVER-2027.\n"


# -- review denials with a reason ---------------------------------------------------------------


def test_a_review_denial_carries_its_reason_and_reads_denied_at_once(
    state: Path, claim_ids: dict[str, int]
) -> None:
    knee = claim_ids["HOSP-A-2027-000104"]
    before = claims_json(state, "member", PLAN, "M-0001")
    # 25.00 copay (claim 101) + 1,000.00 deductible + 1,975.00 coinsurance (the knee).
    assert before["oop_met"] == "3000.00"

    denied = claims_json(state, "review", knee, "--deny", "--reason", "96")

    assert denied["status"] == "denied"
    # Every line reads as a denied line with the code: allowed 0, plan_paid 0, the whole
    # billed amount (48,500.00) the patient's, under 96.
    assert [(line["denied"], line["reasons"]) for line in denied["lines"]] == [(True, ["96"])]
    assert denied["lines"][0]["allowed"] == "0.00"
    assert denied["lines"][0]["plan_paid"] == "0.00"
    assert denied["totals"]["plan_paid"] == "0.00"
    assert denied["totals"]["billed"] == "48500.00"
    assert claims_json(state, "status", knee) == denied
    after = claims_json(state, "member", PLAN, "M-0001")
    # The knee's effects are taken back: only claim 101's 25.00 copay is left.
    assert after["oop_met"] == "25.00" and after["deductible_met"] == "0.00"
    assert "27447" not in after["units_used"]


def test_a_review_denial_without_a_reason_carries_50(
    state: Path, claim_ids: dict[str, int]
) -> None:
    knee = claim_ids["HOSP-A-2027-000104"]
    out = claims(state, "--as", "adjudicator", "review", knee, "--deny").stdout
    assert out.startswith(f"Denied claim {knee} (reason 50): it is now denied.")
    status = claims_json(state, "status", knee)
    assert [line["reasons"] for line in status["lines"]] == [["50"]]


def test_an_outsider_cannot_review(state: Path, claim_ids: dict[str, int]) -> None:
    knee = claim_ids["HOSP-A-2027-000104"]
    refused = claims(
        state, "--as", "hospital-1", "review", knee, "--deny", "--reason", "16", code=1
    )
    assert refused.stderr.startswith(
        "error: hospital-1 (0x90F7…b906) is not an adjudicator of plan SILVER-2027, so it "
        "cannot deny claims"
    )
    assert claims_json(state, "status", knee)["status"] == "pending_review"


# -- a token that refuses: the provider's credit ------------------------------------------------


def test_a_refused_payment_is_credited_and_the_provider_collects_it(tmp_path: Path) -> None:
    from tests.contracts.test_attacks import HostileToken

    state = tmp_path / "state"
    claims(state, "init")
    with Workspace.open(state) as workspace, workspace.command():
        chain = workspace.chain
        token = HostileToken.deploy(chain, chain.address_of("insurer"))
        assert isinstance(token, HostileToken)
        token.mint("insurer", chain.address_of("insurer"), 10**12)
        token.transact("insurer", "set_blocked", chain.address_of("hospital-1"), True)
    plan = SILVER.replace("SILVER-2027", "BLOCKED-2027").replace(
        "token: dev", f'token: "{token.address}"'
    )
    claims(state, "deploy", plan_file(tmp_path, "blocked.yaml", plan))
    claims(state, "enroll", "BLOCKED-2027", FIXTURES / "members.csv")
    claims(state, "provider", "add", "BLOCKED-2027", "HOSP-A", "--account", "hospital-1")
    claims(state, "fund", "BLOCKED-2027", "1000.00")
    claims(state, "time", "set", "2027-07-01")

    visit = {
        **x_ray("HOSP-A-BLOCKED-1", "2027-03-14", member="M-0001"),
        "plan_id": "BLOCKED-2027",
        "lines": [{"code": "99213", "units": 1, "billed": "180.00"}],
    }
    # 99213 billed 180.00, fee 120.00, copay 25.00, no deductible: plan paid 95.00. The token
    # refuses hospital-1, so the claim is paid into HOSP-A's credit in the engine.
    paid = submit(state, tmp_path, visit)
    assert paid["status"] == "paid" and paid["totals"]["plan_paid"] == "95.00"
    refused = claims(state, "provider", "collect", "BLOCKED-2027", "HOSP-A", code=1)
    assert refused.stderr.startswith("error: transaction reverted: pool: transfer failed")

    claims(state, "provider", "payout", "BLOCKED-2027", "HOSP-A", "hospital-3")
    collected = claims_json(state, "provider", "collect", "BLOCKED-2027", "HOSP-A")
    assert collected["collected"] == "95.00" and collected["credit"] == "0.00"
    with Workspace.open(state) as workspace:
        units = HostileToken(workspace.chain, token.address).balance_of(
            workspace.chain.address_of("hospital-3")
        )
    assert units == 95_000_000  # 95.00 in a 6-decimal token
    out = claims(state, "provider", "collect", "BLOCKED-2027", "HOSP-A").stdout
    assert out == "HOSP-A has no credit to collect in BLOCKED-2027.\n"


def test_a_second_account_submits_for_the_provider_but_does_not_move_its_money(
    state: Path, tmp_path: Path
) -> None:
    # Only the provider adds an account: the insurer registering HOSP-A again with
    # another account is refused before anything is sent.
    refused = claims(state, "provider", "add", PLAN, "HOSP-A", "--account", "hospital-3", code=1)
    assert refused.stderr.startswith(
        f"error: provider HOSP-A of plan {PLAN} is registered with account hospital-1"
    )
    assert "provider account add" in refused.stderr
    added = claims_json(
        state, "provider", "account", "add", PLAN, "HOSP-A", "--account", "hospital-3"
    )
    hospital_1, hospital_3 = address(state, "hospital-1"), address(state, "hospital-3")
    assert (added["account"], added["accounts"]) == (hospital_1, [hospital_1, hospital_3])
    claim = {
        **x_ray("HOSP-A-SECOND-1", "2027-06-30"),
        "lines": [{"code": "71046", "units": 1, "billed": "95.00"}],
    }
    path = tmp_path / "second.json"
    path.write_text(json.dumps(claim))
    (result,) = claims_json(state, "--as", "hospital-3", "submit", path)
    assert result["provider_id"] == "HOSP-A" and result["record_id"] == "HOSP-A-SECOND-1"
    assert claims_json(state, "status", "--record", "HOSP-A-SECOND-1") == result
    # The provider's money stays with its owner account (hospital-1).
    refused = claims(
        state, "--as", "hospital-3", "provider", "payout", PLAN, "HOSP-A", "hospital-3", code=1
    )
    assert refused.stderr.startswith(
        "error: hospital-3 (0x9965…A4dc) is not the owner account of provider HOSP-A"
    )


def test_the_provider_removes_an_account_it_added(state: Path, tmp_path: Path) -> None:
    claims(state, "provider", "account", "add", PLAN, "HOSP-A", "--account", "hospital-3")
    sent = tmp_path / "sent.json"
    sent.write_text(json.dumps(x_ray("HOSP-A-SENT-1", "2027-06-29")))
    (before,) = claims_json(state, "--as", "hospital-3", "submit", sent)
    # Neither the insurer nor the added account removes it: the owner account does.
    for alias in ("insurer", "hospital-3"):
        refused = claims(
            state, "--as", alias, "provider", "account", "remove", PLAN, "HOSP-A",
            "--account", "hospital-3", code=1,
        )  # fmt: skip
        assert "is not the owner account of provider HOSP-A" in refused.stderr
    removed = claims_json(
        state, "provider", "account", "remove", PLAN, "HOSP-A", "--account", "hospital-3"
    )
    assert removed["accounts"] == [address(state, "hospital-1")]
    assert removed["added"] is False
    path = tmp_path / "removed.json"
    path.write_text(json.dumps(x_ray("HOSP-A-REMOVED-1", "2027-06-30")))
    # The removed account's records are set aside before anything is sent.
    out = claims(state, "--json", "--as", "hospital-3", "submit", path, code=1)
    (aside,) = json.loads(out.stdout)
    assert aside["record_id"] == "HOSP-A-REMOVED-1" and "provider_id" in aside["error"]
    listed = claims_json(state, "provider", "list", PLAN)
    assert [p["accounts"] for p in listed if p["provider_id"] == "HOSP-A"] == [
        [address(state, "hospital-1")]
    ]
    # What it sent before stays HOSP-A's claim.
    after = claims_json(state, "status", str(before["claim_id"]))
    assert (after["provider_id"], after["status"]) == ("HOSP-A", before["status"])


# -- enrolment ----------------------------------------------------------------------------------


def test_new_dates_cannot_take_back_coverage_already_lived(state: Path, tmp_path: Path) -> None:
    # Today is 2027-07-01; M-0001 and M-0002 are covered from 2027-01-01, open-ended. Ending
    # their coverage in March (or starting it in May) would deny claims for days already
    # lived, some of them perhaps on their way: refused before anything is sent, every such
    # row named, and nothing else in the file enrolled either.
    members = tmp_path / "members.csv"
    members.write_text(
        "member_id,coverage_start,coverage_end\n"
        "M-0001,2027-01-01,2027-03-31\n"
        "M-0002,2027-05-01,\n"
        "M-0004,2027-01-01,2027-07-01\n"  # from today on: allowed
        "M-0099,2026-01-01,2026-12-31\n"  # new: any dates
    )
    refused = claims(state, "enroll", PLAN, members, code=1)
    assert refused.stderr.startswith(
        f"error: {members}: 2 rows are wrong: record M-0001: field coverage_end: 2027-03-31 "
        "would take back coverage already lived (enrolled from 2027-01-01, open-ended; today "
        "is 2027-07-01); record M-0002: field coverage_start: 2027-05-01 would take back"
    )
    assert "hint: end the coverage today or later" in refused.stderr
    for member in ("M-0001", "M-0002", "M-0004"):
        assert coverage(state, member) == (date(2027, 1, 1), None)
    assert coverage(state, "M-0099") is None
    # One row alone: named the same way, with the hint.
    members.write_text("member_id,coverage_start,coverage_end\nM-0001,2027-01-01,2027-06-30\n")
    one = claims(state, "enroll", PLAN, members, code=1)
    assert one.stderr.startswith(
        f"error: {members}: record M-0001: field coverage_end: 2027-06-30 would take back"
    )
    assert "(hint: end the coverage today or later" in one.stderr
    # Ending from today on is a plain update.
    members.write_text("member_id,coverage_start,coverage_end\nM-0001,2026-12-01,2027-07-01\n")
    claims(state, "enroll", PLAN, members)
    assert coverage(state, "M-0001") == (date(2026, 12, 1), date(2027, 7, 1))


def test_a_member_who_left_comes_back(state: Path, tmp_path: Path) -> None:
    # M-0001's coverage ends today (2027-07-01); the member comes back from 2028-02-01, in
    # the next benefit period (the silver plan's periods are calendar years). The new dates
    # go to the period-1 pseudonym; period 0's keeps the dates its days were lived under.
    members = tmp_path / "members.csv"
    members.write_text("member_id,coverage_start,coverage_end\nM-0001,2027-01-01,2027-07-01\n")
    claims(state, "enroll", PLAN, members)
    claims(state, "time", "set", "2028-01-20")
    members.write_text("member_id,coverage_start,coverage_end\nM-0001,2028-02-01,\n")
    claims(state, "enroll", PLAN, members)
    assert coverage(state, "M-0001", 0) == (date(2027, 1, 1), date(2027, 7, 1))
    assert coverage(state, "M-0001", 1) == (date(2028, 2, 1), None)
