"""One reader for the fields of a parsed document (a plan or scenario in YAML, a result or a
record in JSON): each value is read at a field path, and a bad one fails there.

A ``FieldReader`` is made with the error class of its document and where the document is
(``FieldReader(PlanError, file="silver.yaml")``); every failure is that error with the field
path (``services[2].allowed``), the message and, where it helps, a hint. ``describe`` words
the value that was found, the same way for every document.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, NoReturn, TypeVar

from claimsengine.days import parse_date
from claimsengine.errors import InputError
from claimsengine.money import parse_amount

__all__ = ["FieldReader", "describe", "join"]

_T = TypeVar("_T")


def join(where: str | None, key: str) -> str:
    """The path of ``key`` inside ``where``: ``services[2]`` + ``allowed``."""
    return f"{where}.{key}" if where else key


def describe(value: Any) -> str:
    """A value found where another was expected, for an error message: 'a number 1.5'."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean {'true' if value else 'false'}"
    if isinstance(value, float):
        return f'a number {value!r} (quote amounts: "80.00")'
    if isinstance(value, int | Decimal):
        return f"a number {value}"
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        return f"a string {text if len(text) <= 60 else text[:57] + '...'}"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return f"an array of {len(value)}"
    if isinstance(value, date):
        return f"the date {value.isoformat()}"
    return type(value).__name__


class FieldReader:
    """Reads values at field paths; a bad value raises ``error`` at its path.

    ``location`` is passed to every error (``file=``, ``record=``); ``at`` of a read is the
    mapping that holds the value, for documents that know its line (``located``).
    """

    #: What a missing (or null) required key is said to be.
    MISSING = "is required"

    def __init__(self, error: type[InputError] = InputError, **location: Any) -> None:
        self.error = error
        self.location = location

    def located(self, at: Any) -> dict[str, Any]:
        """The error's keyword arguments for where the document is (and ``at``)."""
        return dict(self.location)

    def fail(
        self, where: str | None, message: str, at: Any = None, *, hint: str | None = None
    ) -> NoReturn:
        raise self.error(message, field=where, hint=hint, **self.located(at))

    def parsed(self, parse: Callable[[], _T], at: Any = None) -> _T:
        """``parse()`` (a parser of money.py or days.py, which names the field), failing at
        this document's location."""
        try:
            return parse()
        except InputError as error:
            self.fail(error.field, error.message, at, hint=error.hint)

    # -- containers ------------------------------------------------------------------------

    def mapping(
        self,
        value: Any,
        where: str | None,
        keys: Sequence[str],
        *,
        required: Sequence[str] | set[str] | frozenset[str] = (),
        at: Any = None,
        what: str = "a mapping",
    ) -> Mapping[str, Any]:
        """A mapping with only ``keys``, and a value for each of ``required``."""
        if value is None:
            value = {}
        if not isinstance(value, Mapping):
            self.fail(where, f"expected {what}, got {describe(value)}", at)
        for key in value:
            if key not in keys:
                hint = f"the keys here are: {', '.join(keys)}"
                if isinstance(key, bool):
                    hint = "YAML reads a bare on/off/yes/no key as true/false; " + hint
                self.fail(join(where, str(key)), f"unknown key {key!r}", value, hint=hint)
        # A sequence is checked in its order; a set in the order of ``keys``.
        order = required if isinstance(required, Sequence) else [k for k in keys if k in required]
        for key in order:
            if value.get(key) is None:
                self.fail(join(where, key), self.MISSING, value)
        return value

    def items(self, value: Any, where: str, at: Any = None, *, what: str) -> list[Any]:
        if not isinstance(value, list):
            self.fail(where, f"expected a list of {what}, got {describe(value)}", at)
        return value

    def required(self, data: Mapping[str, Any], key: str, where: str | None = None) -> Any:
        """``data[key]``, which must be there and not null."""
        value = data.get(key)
        if value is None:
            self.fail(join(where, key), self.MISSING, data)
        return value

    def typed(self, data: Mapping[str, Any], key: str, kind: type[Any], where: str | None) -> Any:
        """``data[key]``, which must be a ``kind`` (never a boolean for ``int``)."""
        value = self.required(data, key, where)
        # bool is an int subclass; a count or an id is never true/false.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.fail(join(where, key), f"expected {kind.__name__}, got {describe(value)}", data)
        return value

    # -- values ----------------------------------------------------------------------------

    def text(self, value: Any, where: str, at: Any = None) -> str:
        """Text that is not blank."""
        if not isinstance(value, str) or not value.strip():
            self.fail(where, f"expected text, got {describe(value)}", at)
        return value

    def count(self, value: Any, where: str, at: Any = None, *, minimum: int = 0) -> int:
        """A whole number (never a boolean, a float or a string) of at least ``minimum``."""
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(where, f"expected a whole number, got {describe(value)}", at)
        if value < minimum:
            qualifier = "positive" if minimum == 1 else f"at least {minimum}"
            self.fail(where, f"must be {qualifier}, got {value}", at)
        return value

    def flag(self, value: Any, where: str, at: Any = None) -> bool:
        if not isinstance(value, bool):
            self.fail(where, f"expected true or false, got {describe(value)}", at)
        return value

    def amount(self, value: Any, where: str, at: Any = None) -> int:
        """Money as in formats.md ("80.00"), in cents."""
        return self.parsed(lambda: parse_amount(value, field=where), at)

    def date_value(self, value: Any, where: str, at: Any = None) -> date:
        """A calendar date, YYYY-MM-DD."""
        return self.parsed(lambda: parse_date(value, field=where), at)
