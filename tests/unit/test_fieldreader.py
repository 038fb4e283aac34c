"""The one field reader of plans, scenarios, results and records, and its one wording."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from claimsengine.errors import InputError, PlanError, ScenarioError, with_hint
from claimsengine.fieldreader import FieldReader, describe, join


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (None, "null"),
        (True, "a boolean true"),
        (42, "a number 42"),
        (Decimal("1.5"), "a number 1.5"),
        (1.5, 'a number 1.5 (quote amounts: "80.00")'),
        ("abc", 'a string "abc"'),
        ("x" * 70, 'a string "' + "x" * 56 + "..."),
        ({"a": 1}, "an object"),
        ([1, 2, 3], "an array of 3"),
        (date(2027, 3, 14), "the date 2027-03-14"),
    ],
)
def test_describe_words_every_kind_of_value_once(value: Any, words: str) -> None:
    assert describe(value) == words


def test_join_builds_field_paths() -> None:
    assert join(None, "id") == "id"
    assert join("services[2]", "allowed") == "services[2].allowed"


def test_a_failure_is_the_documents_error_at_the_field_path() -> None:
    read = FieldReader(PlanError, file="silver.yaml")
    with pytest.raises(PlanError) as caught:
        read.count("365", "benefit_period_days", minimum=1)
    assert str(caught.value) == (
        'silver.yaml: field benefit_period_days: expected a whole number, got a string "365"'
    )
    with pytest.raises(PlanError, match="field days: must be positive, got 0"):
        read.count(0, "days", minimum=1)
    with pytest.raises(PlanError, match="field days: must be at least 2, got 1"):
        read.count(1, "days", minimum=2)


def test_a_mapping_refuses_unknown_keys_with_the_keys_as_hint_and_needs_required_ones() -> None:
    read = FieldReader()
    with pytest.raises(InputError) as caught:
        read.mapping({"id": 1, "colour": 2}, "plan", ("id", "name"))
    assert (caught.value.field, caught.value.message) == ("plan.colour", "unknown key 'colour'")
    assert caught.value.hint == "the keys here are: id, name"
    with pytest.raises(InputError) as missing:
        read.mapping({"id": None}, None, ("id", "name"), required={"name", "id"})
    assert (missing.value.field, missing.value.message) == ("id", "is required")
    with pytest.raises(InputError, match="field True: unknown key True") as yaml_key:
        read.mapping({True: 1}, None, ("id",))
    assert "YAML reads a bare on/off/yes/no key as true/false" in (yaml_key.value.hint or "")


def test_typed_values_and_parsed_money_and_dates() -> None:
    read = FieldReader()
    assert read.typed({"n": 3}, "n", int, None) == 3
    with pytest.raises(InputError, match="field lines.n: expected int, got a boolean true"):
        read.typed({"n": True}, "n", int, "lines")
    assert read.amount("80.00", "fee") == 8_000
    with pytest.raises(InputError) as caught:
        read.amount(80.0, "fee")
    assert caught.value.field == "fee"
    assert read.date_value("2027-03-14", "day") == date(2027, 3, 14)


def test_a_scenario_reader_adds_the_line_of_the_mapping() -> None:
    class Lined(dict[str, Any]):
        line = 7

    class ScenarioReader(FieldReader):
        def located(self, at: Any) -> dict[str, Any]:
            return {**self.location, "line": getattr(at, "line", None)}

    read = ScenarioReader(ScenarioError, file="s.yaml")
    with pytest.raises(ScenarioError) as caught:
        read.flag("yes", "steps[0].approve", Lined())
    assert str(caught.value) == (
        's.yaml:7: field steps[0].approve: expected true or false, got a string "yes"'
    )


def test_one_way_to_show_a_hint() -> None:
    assert with_hint("bad", None) == "bad"
    assert with_hint("bad", "fix it") == "bad (hint: fix it)"
    assert InputError("bad", field="x", hint="fix it").explained() == "field x: bad (hint: fix it)"
