"""The on-chain identifiers: one rule each, shared by plans and records, and their bytes32."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from claimsengine import abi, ids
from claimsengine.ids import (
    CODE,
    PLAN_ID,
    PROVIDER_ID,
    bytes32_to_text,
    plan_id_problem,
    provider_id_problem,
    text_to_bytes32,
)


def test_bytes32_is_left_aligned_and_zero_padded() -> None:
    assert text_to_bytes32("SILVER-2027") == b"SILVER-2027" + b"\0" * 21
    assert bytes32_to_text(text_to_bytes32("99213")) == "99213"
    assert len(text_to_bytes32("C" * 32)) == 32


@pytest.mark.parametrize("text", ["", "C" * 33, "café"])
def test_bytes32_refuses_what_does_not_fit(text: str) -> None:
    with pytest.raises(ValueError):
        text_to_bytes32(text)


def test_abi_re_exports_the_one_encoding() -> None:
    assert abi.text_to_bytes32 is ids.text_to_bytes32
    assert abi.bytes32_to_text is ids.bytes32_to_text


@pytest.mark.parametrize(
    ("pattern", "good", "bad"),
    [
        (PLAN_ID, ["SILVER-2027", "a.b_c-1", "P" * 32], ["SILVER 2027", "P" * 33, "", "PLAN/1"]),
        (CODE, ["99213", "J1100:A", "~!", "C" * 32], ["99 213", " 99213", "C" * 33, "café"]),
        (PROVIDER_ID, ["HOSP-A", "hosp/a#1"], ["HOSP A", "", "H" * 33]),
    ],
)
def test_each_rule_holds_and_refuses(
    pattern: re.Pattern[str], good: list[str], bad: list[str]
) -> None:
    assert all(pattern.fullmatch(text) for text in good)
    assert not any(pattern.fullmatch(text) for text in bad)


def test_an_id_that_fits_its_rule_has_no_problem() -> None:
    assert plan_id_problem("SILVER-2027") is None
    assert provider_id_problem("hosp/a#1") is None


@pytest.mark.parametrize(
    ("problem", "value", "words"),
    [
        (plan_id_problem, "P" * 33, f"{'P' * 33!r} is not a plan id: 1-32 characters of"),
        (plan_id_problem, "SILVER-2027-Ä", "'SILVER-2027-Ä' is not a plan id"),
        (plan_id_problem, "", "'' is not a plan id: 1-32 characters of A-Z a-z 0-9 . _ -"),
        (plan_id_problem, 2027, "2027 is not a plan id"),
        (
            provider_id_problem,
            "HOSP C",
            "'HOSP C' is not a provider id: 1-32 ASCII letters, digits or symbols, no spaces",
        ),
        (provider_id_problem, "", "'' is not a provider id"),
        (provider_id_problem, "HÔPITAL", "'HÔPITAL' is not a provider id"),
    ],
)
def test_an_id_that_breaks_its_rule_says_which_rule(
    problem: Callable[[object], str | None], value: object, words: str
) -> None:
    said = problem(value)
    assert said is not None and said.startswith(words)
