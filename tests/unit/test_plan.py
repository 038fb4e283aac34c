"""Plan YAML: loading the fixtures, round trips, and one test per kind of bad field.

Every error must name the file and the field, so the insurer can find what to fix.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from claimsengine.errors import (
    ChainError,
    ClaimsError,
    InputError,
    NotAuthorised,
    NotFound,
    PlanError,
    RecordError,
    StateLocked,
    TransactionReverted,
)
from claimsengine.plan import Plan, Service, load_plan, plan_from_dict, plan_to_dict
from claimsengine.records import RecordLine, TreatmentRecord

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "plans"
SILVER = FIXTURES / "silver.yaml"
WORKED = FIXTURES / "worked-example.yaml"


def silver_dict() -> dict[str, Any]:
    with open(SILVER, encoding="utf-8") as handle:
        data: dict[str, Any] = yaml.safe_load(handle)
    return data


# --------------------------------------------------------------------------------------------
# The fixtures.


def test_silver_plan_loads_exactly() -> None:
    plan = load_plan(SILVER)
    assert plan.id == "SILVER-2027"
    assert plan.name == "Silver PPO 2027"
    assert plan.token == "dev"
    assert plan.effective_date == date(2027, 1, 1)
    assert plan.effective_day == 20_819  # 57 x 365 + 14 leap days
    assert plan.benefit_period_days == 365
    assert plan.deductible == 100_000  # "1000.00"
    assert plan.out_of_pocket_max == 300_000  # "3000.00"
    assert plan.coinsurance_bps == 2000  # 20%
    assert plan.annual_benefit_max == 25_000_000  # "250000.00"
    assert plan.waiting_period_days == 30
    assert plan.timely_filing_days == 365
    assert plan.auto_approve_limit == 500_000  # "5000.00"
    # 8 codes of the original schedule plus 80053, 99285 and 27447 used by the fixture records.
    assert len(plan.services) == 11
    knee = plan.service("27447")
    assert knee is not None and knee.prior_auth and knee.fee == 3_000_000  # "30000.00"


def test_silver_services() -> None:
    plan = load_plan(SILVER)
    assert plan.service("99213") == Service(
        code="99213",
        description="Office visit, established patient",
        fee=12_000,
        copay=2_500,
        deductible_applies=False,
        max_units_per_day=1,
        max_units_per_period=12,
        prior_auth=False,
    )
    # Defaults: no copay, deductible applies, no unit limits, no prior auth.
    xray = plan.service("71046")
    assert xray is not None
    assert (xray.fee, xray.copay, xray.deductible_applies) == (9_500, None, True)
    assert (xray.max_units_per_day, xray.max_units_per_period, xray.prior_auth) == (
        None,
        None,
        False,
    )
    mri = plan.service("70553")
    assert mri is not None and mri.prior_auth
    therapy = plan.service("97110")
    assert therapy is not None
    assert (therapy.max_units_per_day, therapy.max_units_per_period) == (4, 60)
    for synthea_code in ("274804006", "225158009", "140", "710824005"):
        service = plan.service(synthea_code)
        assert service is not None and service.deductible_applies
    assert plan.service("99999") is None


def test_worked_example_plan_is_the_specs() -> None:
    plan = load_plan(WORKED)
    assert (plan.deductible, plan.coinsurance_bps, plan.out_of_pocket_max) == (
        100_000,
        2000,
        300_000,
    )
    assert plan.annual_benefit_max is None  # "no annual benefit max"
    x, y, z = (plan.service(code) for code in ("X", "Y", "Z"))
    assert x is not None and (x.fee, x.copay) == (30_000, None)
    assert y is not None and (y.fee, y.copay) == (1_200_000, None)
    assert z is not None and (z.fee, z.copay, z.deductible_applies) == (12_000, 2_500, False)
    assert plan.auto_approve_limit > 1_042_000  # claim B's plan_paid is auto-approved


@pytest.mark.parametrize("path", [SILVER, WORKED])
def test_round_trip(path: Path, tmp_path: Path) -> None:
    plan = load_plan(path)
    assert plan_from_dict(plan_to_dict(plan), source="dict") == plan
    written = tmp_path / "plan.yaml"
    written.write_text(yaml.safe_dump(plan_to_dict(plan), sort_keys=False), encoding="utf-8")
    assert load_plan(written) == plan


def test_round_trip_keeps_fractional_coinsurance() -> None:
    data = silver_dict()
    data["coinsurance"] = 12.5  # as YAML reads `coinsurance: 12.5`
    plan = plan_from_dict(data, source="x.yaml")
    assert plan.coinsurance_bps == 1250
    assert plan_to_dict(plan)["coinsurance"] == "12.5"  # exact text, never a float
    assert plan_from_dict(plan_to_dict(plan), source="again") == plan


def test_plan_is_immutable() -> None:
    plan = load_plan(SILVER)
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.deductible = 0  # type: ignore[misc]


def test_optional_fields_may_be_left_out() -> None:
    data = silver_dict()
    del data["annual_benefit_max"]
    data["services"] = [{"code": "A1", "allowed": "10.00"}]
    plan = plan_from_dict(data, source="minimal.yaml")
    assert plan.annual_benefit_max is None
    assert plan.services == (Service(code="A1", description="", fee=1_000),)


def test_review_quorum_defaults_to_one_and_round_trips() -> None:
    data = silver_dict()
    data.pop("review_quorum", None)
    assert plan_from_dict(data, source="x.yaml").review_quorum == 1
    assert "review_quorum" not in plan_to_dict(plan_from_dict(data, source="x.yaml"))
    data["review_quorum"] = 31
    plan = plan_from_dict(data, source="x.yaml")
    assert plan.review_quorum == 31
    assert plan_from_dict(plan_to_dict(plan), source="again.yaml") == plan


def test_token_address_is_checksummed() -> None:
    data = silver_dict()
    data["token"] = "0x" + "ab" * 20
    plan = plan_from_dict(data, source="x.yaml")
    assert plan.token == "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB"
    data["token"] = plan.token  # a correct checksum is accepted as it is
    assert plan_from_dict(data, source="x.yaml").token == plan.token


# --------------------------------------------------------------------------------------------
# Bad fields: one case per kind, each naming the file and the field.

Mutation = Callable[[dict[str, Any]], None]


# Codes with a space inside: records refuse them, so plans must too.
INNER_SPACES = ["99 213", "XR CHEST", "A\tB"]


def setting(key: str, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        data[key] = value

    return mutate


def removing(key: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        del data[key]

    return mutate


def service_setting(index: int, key: str, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        data["services"][index][key] = value

    return mutate


def service_removing(index: int, key: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        del data["services"][index][key]

    return mutate


BAD_FIELDS: list[Any] = [
    pytest.param(setting("review_quorum", 0), "review_quorum", "must be positive",
                 id="quorum-zero"),
    pytest.param(setting("review_quorum", 32), "review_quorum", "at most 31 adjudicators",
                 id="quorum-too-big"),
    pytest.param(setting("review_quorum", "2"), "review_quorum", "expected a whole number",
                 id="quorum-text"),
    pytest.param(setting("review_quorum", True), "review_quorum", "expected a whole number",
                 id="quorum-bool"),
    pytest.param(setting("id", "SILVER 2027"), "id", "must be 1-32 characters", id="id-space"),
    pytest.param(setting("id", "S" * 33), "id", "must be 1-32 characters", id="id-too-long"),
    pytest.param(setting("id", ""), "id", "must be 1-32 characters", id="id-empty"),
    pytest.param(setting("id", 2027), "id", "must be 1-32 characters", id="id-number"),
    pytest.param(setting("name", ""), "name", "non-empty name", id="name-empty"),
    pytest.param(setting("token", "usdc"), "token", "'dev' or an ERC-20", id="token-word"),
    pytest.param(setting("token", "0x1234"), "token", "'dev' or an ERC-20", id="token-short"),
    pytest.param(setting("token", 0xAB), "token", "'dev' or an ERC-20", id="token-unquoted"),
    pytest.param(setting("token", "0xABaBaBaBABabABabAbAbABAbABabababaBaBABab"), "token",
                 "wrong checksum", id="token-checksum"),
    pytest.param(setting("effective_date", "2027-13-01"), "effective_date", "not a calendar date",
                 id="date-month"),
    pytest.param(setting("effective_date", "01/02/2027"), "effective_date", "YYYY-MM-DD",
                 id="date-format"),
    pytest.param(setting("benefit_period_days", 0), "benefit_period_days", "must be positive",
                 id="period-zero"),
    pytest.param(setting("benefit_period_days", "365"), "benefit_period_days",
                 "expected a whole number", id="period-text"),
    pytest.param(setting("benefit_period_days", True), "benefit_period_days",
                 "expected a whole number", id="period-bool"),
    pytest.param(setting("benefit_period_days", 365.0), "benefit_period_days",
                 "expected a whole number", id="period-float"),
    pytest.param(setting("deductible", 1000.0), "deductible", "floating-point",
                 id="money-float"),
    pytest.param(setting("deductible", "-1.00"), "deductible", "negative", id="money-negative"),
    pytest.param(setting("out_of_pocket_max", "3000.001"), "out_of_pocket_max",
                 "more than 2 decimals", id="money-decimals"),
    pytest.param(setting("auto_approve_limit", "lots"), "auto_approve_limit", "not a number",
                 id="money-text"),
    pytest.param(setting("annual_benefit_max", "1.001"), "annual_benefit_max",
                 "more than 2 decimals", id="optional-money"),
    pytest.param(setting("coinsurance", 101), "coinsurance", "not from 0 to 100",
                 id="percent-range"),
    pytest.param(setting("coinsurance", "12.345"), "coinsurance", "more than 2 decimals",
                 id="percent-decimals"),
    pytest.param(setting("waiting_period_days", -1), "waiting_period_days", "at least 0",
                 id="days-negative"),
    pytest.param(setting("timely_filing_days", "a year"), "timely_filing_days",
                 "expected a whole number", id="days-text"),
    pytest.param(removing("deductible"), "deductible", "is required", id="missing"),
    pytest.param(setting("deductible", None), "deductible", "is required", id="null"),
    pytest.param(setting("copay", "25.00"), "copay", "unknown key", id="unknown-key"),
    pytest.param(setting("services", []), "services", "at least one service",
                 id="services-empty"),
    pytest.param(setting("services", {"code": "1"}), "services", "at least one service",
                 id="services-not-list"),
    pytest.param(lambda data: data["services"].append("99214"), "services[11]", "a mapping",
                 id="service-not-mapping"),
    pytest.param(service_removing(2, "allowed"), "services[2].allowed", "is required",
                 id="service-missing"),
    pytest.param(service_setting(2, "allowed", 1400.0), "services[2].allowed",
                 "floating-point", id="service-float"),
    pytest.param(service_setting(2, "allowed", "-5"), "services[2].allowed", "negative",
                 id="service-negative"),
    pytest.param(service_setting(0, "copay", "abc"), "services[0].copay", "not a number",
                 id="copay-text"),
    pytest.param(service_setting(0, "copy", "25.00"), "services[0].copy", "unknown key",
                 id="service-unknown-key"),
    pytest.param(service_setting(0, "code", 99213), "services[0].code", "must be a string",
                 id="code-number"),
    pytest.param(service_setting(0, "code", "C" * 33), "services[0].code", "1-32 printable",
                 id="code-too-long"),
    pytest.param(service_setting(0, "code", "café"), "services[0].code", "1-32 printable",
                 id="code-non-ascii"),
    pytest.param(service_setting(0, "code", " 99213"), "services[0].code", "1-32 printable",
                 id="code-space"),
    pytest.param(service_setting(0, "code", ""), "services[0].code", "1-32 printable",
                 id="code-empty"),
    *(pytest.param(service_setting(1, "code", code), "services[1].code",
                   f"{code!r} must be 1-32 printable ASCII characters, with no spaces",
                   id=f"code-inner-space-{n}") for n, code in enumerate(INNER_SPACES)),
    pytest.param(service_setting(1, "code", "99213"), "services[1].code", "already listed",
                 id="code-duplicate"),
    pytest.param(service_setting(0, "description", 5), "services[0].description",
                 "expected text", id="description"),
    pytest.param(service_setting(0, "deductible_applies", "yes"),
                 "services[0].deductible_applies", "true or false", id="bool-text"),
    pytest.param(service_setting(0, "prior_auth", 1), "services[0].prior_auth",
                 "true or false", id="bool-number"),
    pytest.param(service_setting(0, "max_units_per_day", -1), "services[0].max_units_per_day",
                 "at least 0", id="units-negative"),
    pytest.param(service_setting(0, "max_units_per_day", 1.5), "services[0].max_units_per_day",
                 "expected a whole number", id="units-float"),
    pytest.param(service_setting(0, "max_units_per_period", "12"),
                 "services[0].max_units_per_period", "expected a whole number",
                 id="units-text"),
]  # fmt: skip


@pytest.mark.parametrize(("mutate", "field", "words"), BAD_FIELDS)
def test_bad_field_names_file_and_field(
    mutate: Mutation, field: str, words: str, tmp_path: Path
) -> None:
    data = copy.deepcopy(silver_dict())
    mutate(data)
    path = tmp_path / "bad-plan.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    error = caught.value
    assert error.file == str(path)
    assert error.field == field
    assert str(error).startswith(f"{path}: field {field}: ")
    assert words in str(error)


def test_plan_from_dict_names_its_source() -> None:
    data = silver_dict()
    data["deductible"] = 1000.0
    with pytest.raises(PlanError) as caught:
        plan_from_dict(data, source="insurer-upload")
    assert str(caught.value).startswith("insurer-upload: field deductible: ")
    assert isinstance(caught.value, InputError)
    assert caught.value.hint is not None  # tells the user to quote the amount


def test_unquoted_code_gets_a_hint(tmp_path: Path) -> None:
    text = SILVER.read_text(encoding="utf-8").replace('code: "140"', "code: 0140")
    path = tmp_path / "octal.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    assert caught.value.field == "services[6].code"
    assert caught.value.hint is not None and "quote" in caught.value.hint


@pytest.mark.parametrize("code", INNER_SPACES)
def test_records_refuse_the_codes_a_plan_refuses(code: str) -> None:
    # A claim line is matched to the plan's code byte for byte, and a record's code may hold
    # no space: a plan that covered "99 213" would cover a code no claim could ever bill.
    with pytest.raises(RecordError, match="is not a service code"):
        TreatmentRecord(
            record_id="R-1",
            plan_id="SILVER-2027",
            member_id="M-1",
            provider_id="HOSP-A",
            service_date=date(2027, 3, 14),
            prior_auth=None,
            diagnoses=(),
            lines=(RecordLine(code, 1, 100),),
        )


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    assert caught.value.file == str(path)
    assert str(caught.value).startswith(f"{path}: cannot read the plan file")


def test_invalid_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("id: SILVER-2027\nname: [unclosed\n", encoding="utf-8")
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    assert str(caught.value).startswith(f"{path}: not valid YAML")
    assert "line" in str(caught.value)


def test_duplicate_yaml_key_is_refused(tmp_path: Path) -> None:
    # Plain YAML silently keeps the last value; a second deductible must not slip through.
    text = SILVER.read_text(encoding="utf-8").replace(
        'deductible: "1000.00"\n', 'deductible: "1000.00"\ndeductible: "0.00"\n'
    )
    path = tmp_path / "twice.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    assert "found the key 'deductible' twice" in str(caught.value)
    assert str(caught.value).startswith(str(path))


def test_a_plan_must_be_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- id: SILVER-2027\n", encoding="utf-8")
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    assert str(caught.value).startswith(f"{path}: a plan must be a mapping")


def test_plan_error_fields_are_optional_in_the_message() -> None:
    assert str(PlanError("bad", file="p.yaml")) == "p.yaml: bad"
    assert str(PlanError("bad", field="id")) == "field id: bad"
    assert str(InputError("bad", file="r.json", record="R-1", field="lines[0].billed")) == (
        "r.json: record R-1: field lines[0].billed: bad"
    )


def test_plan_dataclass_fields_are_as_documented() -> None:
    assert [f.name for f in dataclasses.fields(Plan)] == [
        "id", "name", "token", "effective_date", "benefit_period_days", "deductible",
        "out_of_pocket_max", "coinsurance_bps", "annual_benefit_max", "waiting_period_days",
        "timely_filing_days", "auto_approve_limit", "services", "provider_daily_limit", "payer",
        "review_quorum",
    ]  # fmt: skip
    assert [f.name for f in dataclasses.fields(Service)] == [
        "code", "description", "fee", "copay", "deductible_applies", "max_units_per_day",
        "max_units_per_period", "prior_auth",
    ]  # fmt: skip


def test_errors_survive_pickling() -> None:
    # Workers (pytest-xdist, multiprocessing) pickle errors; keyword fields must survive.
    error = PlanError("bad", file="p.yaml", field="id", hint="fix it")
    copied = pickle.loads(pickle.dumps(error))
    assert (type(copied), str(copied), copied.field, copied.hint) == (
        PlanError,
        "p.yaml: field id: bad",
        "id",
        "fix it",
    )
    reverted = pickle.loads(pickle.dumps(TransactionReverted("engine: not authorised")))
    assert reverted.reason == "engine: not authorised"
    assert str(reverted) == "transaction reverted: engine: not authorised"


def test_error_hierarchy() -> None:
    assert issubclass(PlanError, InputError) and issubclass(RecordError, InputError)
    assert issubclass(InputError, ClaimsError) and issubclass(NotFound, ClaimsError)
    assert issubclass(NotAuthorised, TransactionReverted)
    assert issubclass(TransactionReverted, ChainError) and issubclass(StateLocked, ChainError)
    assert issubclass(ChainError, ClaimsError)


def test_impossible_date_is_a_plan_error(tmp_path: Path) -> None:
    text = SILVER.read_text()
    bad = tmp_path / "bad-date.yaml"
    bad.write_text(text.replace("effective_date: 2027-01-01", "effective_date: 2027-02-30"))
    with pytest.raises(PlanError) as caught:
        load_plan(bad)
    assert caught.value.file == str(bad)
    assert "2027-02-30" in str(caught.value) and "line 6" in str(caught.value)
