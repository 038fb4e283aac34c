"""The pieces an X12 835 is made of, as ``x12`` builds them: the delimiters, a segment and
the text of its elements, and the values each transaction set was built from (which
``x12_check`` checks the segments against, with no X12 parser)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

from claimsengine.money import format_cents

__all__ = [
    "COMPONENT",
    "ELEMENT",
    "REPETITION",
    "TERMINATOR",
    "BuiltClaim",
    "BuiltLine",
    "Segment",
    "TransactionSet",
    "dollars",
    "element_text",
    "segment",
]

ELEMENT = "*"
COMPONENT = ":"
REPETITION = "^"
TERMINATOR = "~"
_DELIMITERS = re.compile(r"[*:^~\r\n]")


def element_text(value: str) -> str:
    """Free text made safe for an element: no delimiter can end it early."""
    return _DELIMITERS.sub("-", value)


class Segment(NamedTuple):
    """One segment: its id and its elements, already as text."""

    id: str
    elements: tuple[str, ...]

    @property
    def text(self) -> str:
        return ELEMENT.join((self.id, *self.elements))


def segment(segment_id: str, *elements: str) -> Segment:
    # Trailing empty elements are left out, as X12 asks.
    end = len(elements)
    while end and not elements[end - 1]:
        end -= 1
    return Segment(segment_id, elements[:end])


# Amounts repeat (the same fees, copays and totals), so their text is formatted once each.
dollars = lru_cache(maxsize=1 << 16)(format_cents)


@dataclass(frozen=True)
class BuiltLine:
    """A line as remitted: charge, payment and its CAS adjustments."""

    charge: int
    paid: int
    adjustments: tuple[tuple[str, int, int], ...]  # (group, reason, cents)


@dataclass(frozen=True)
class BuiltClaim:
    """A claim as remitted (a reversal with its amounts negated)."""

    claim_id: int
    charge: int
    paid: int
    patient: int
    lines: tuple[BuiltLine, ...]


@dataclass
class TransactionSet:
    """One provider's transaction set: what was built, to check the segments against."""

    control: str
    provider: str
    paid: int
    transfers: int  # token units the payee received for the plan
    token_scale: int
    claims: list[BuiltClaim] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    #: PLB adjustments: (reason, reference, cents), positive when taken from the payment.
    adjustments: list[tuple[str, str, int]] = field(default_factory=list)
