"""`claims renew`, the 31 of a period not yet enrolled as the CLI reports it, and state
folders of the older kind (one pseudonym per plan), through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.test_cli import FIXTURES, PLAN, claims, claims_json


def record(record_id: str, member: str, day: str) -> dict[str, object]:
    return {
        "record_id": record_id,
        "plan_id": PLAN,
        "member_id": member,
        "provider_id": "HOSP-A",
        "service_date": day,
        "prior_auth": None,
        "diagnoses": ["R07.9"],
        "lines": [{"code": "71046", "units": 1, "billed": "95.00"}],
    }


def test_renew_enrols_the_still_covered_members_in_the_next_period(tmp_path: Path) -> None:
    state = tmp_path / "state"
    claims_json(state, "init")
    claims_json(state, "time", "set", "2027-07-01")  # period 0: enrol covers 0 and 1
    claims_json(state, "deploy", FIXTURES / "plans" / "silver.yaml")
    claims_json(state, "enroll", PLAN, FIXTURES / "members.csv")
    claims_json(state, "provider", "add", PLAN, "HOSP-A", "--account", "hospital-1")
    claims_json(state, "fund", PLAN, "1000.00")

    # Only the insurer renews.
    refused = claims(state, "--as", "hospital-1", "renew", PLAN, code=1)
    assert refused.stderr.startswith("error: hospital-1 (0x90F7…b906) is not the insurer")
    assert "so it cannot renew its members" in refused.stderr

    # 2028-06-01 is in period 1 (2028-01-01 to 2028-12-30, 365 days from 2027-01-01), so the
    # next period is 2, from 2028-12-31 (2027-01-01 + 730 days; 2028 has 366). Of the six
    # members, M-0003 (to 2027-12-31) and M-0005 (to 2027-04-30) have ended: four renewed,
    # one pseudonym each (periods 0 and 1 were enrolled already).
    claims_json(state, "time", "set", "2028-06-01")
    renewed = claims_json(state, "renew", PLAN)
    assert renewed == {
        "plan_id": PLAN,
        "period": 2,
        "period_start": "2028-12-31",
        "renewed": 4,
        "ended": 2,
        "not_started": 0,
        "enrolments": 4,
    }
    again = claims(state, "renew", PLAN).stdout
    assert again.strip() == (
        f"Renewed 4 members of {PLAN} for benefit period 2 (from 2028-12-31): 0 enrolments "
        "sent; 2 not renewed (coverage ended), 0 not covered yet."
    )

    # In period 2 the renewed member's claim is paid (filed within 365 days: not 29); in
    # period 3 (from 2029-12-31), which nobody renewed yet, the record is set aside with
    # the fix, and eligibility says 31.
    claims_json(state, "time", "set", "2030-01-10")
    path = tmp_path / "records.json"
    path.write_text(
        json.dumps([record("R-P2", "M-0001", "2029-06-01"), record("R-P3", "M-0001", "2030-01-05")])
    )
    submitted = claims(state, "submit", path, json_output=True, code=1)
    results = json.loads(submitted.stdout)
    paid = next(r for r in results if r.get("record_id") == "R-P2" and "status" in r)
    assert paid["status"] == "paid"
    text = json.dumps(results)
    assert (
        "member 'M-0001' is not enrolled in plan 'SILVER-2027' in the benefit period of "
        "2030-01-05" in text
    )
    assert f"claims renew {PLAN}" in text
    eligibility = claims_json(state, "eligibility", PLAN, "M-0001", "--date", "2030-01-05")
    assert (eligibility["covered"], eligibility["denial"], eligibility["period"]) == (
        False,
        "31",
        3,
    )
    text = " ".join(
        claims(state, "eligibility", PLAN, "M-0001", "--date", "2030-01-05").stdout.split()
    )
    assert (
        "Not enrolled in this benefit period: check the member id; if the member is covered "
        f"that day, the insurer enrols the benefit period with `claims renew {PLAN}` (or "
        "`claims enroll` again)." in text
    )
    assert claims_json(state, "renew", PLAN)["period"] == 4  # fills 3, adds 4
    eligibility = claims_json(state, "eligibility", PLAN, "M-0001", "--date", "2030-01-05")
    assert (eligibility["covered"], eligibility["denial"]) == (True, None)


def test_renew_without_enrolled_members_names_the_fix(tmp_path: Path) -> None:
    state = tmp_path / "state"
    claims_json(state, "init")
    claims_json(state, "deploy", FIXTURES / "plans" / "silver.yaml")
    result = claims(state, "renew", PLAN, code=1)
    assert result.stderr == (
        f"error: this workspace knows no members of plan {PLAN} (hint: enrol them from this "
        f"--state first: claims enroll {PLAN} MEMBERS.csv)\n"
    )


def test_a_state_folder_of_one_pseudonym_per_plan_is_refused(tmp_path: Path) -> None:
    old = tmp_path / "old"
    old.mkdir()
    (old / "deployments.json").write_text("{}")  # as the older version left it: no state.json
    result = claims(old, "status", "1", code=1)
    assert result.stderr == (
        f"error: the state folder {old} was made by an older claimsengine, which gave each "
        "member one pseudonym per plan; this version gives members a new pseudonym in each "
        "benefit period, and the two cannot be mixed (hint: start afresh: a new --state on "
        "a new chain (there is no migration))\n"
    )
    served = claims(old, "node", "--port", "0", code=1)  # nor is it served to others
    assert "was made by an older claimsengine" in served.stderr

    other = tmp_path / "other"
    other.mkdir()
    (other / "state.json").write_text('{"version": 1}')
    result = claims(other, "status", "1", code=1)
    assert result.stderr == (
        f"error: {other / 'state.json'}: state folder version 1 is not this version's (2) "
        "(hint: use a state folder made by this version of claimsengine)\n"
    )


def test_a_new_state_folder_is_marked_with_its_version(tmp_path: Path) -> None:
    state = tmp_path / "state"
    claims_json(state, "init")
    assert json.loads((state / "state.json").read_text()) == {"version": 2}
