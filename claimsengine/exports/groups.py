"""The remittance group (CO or PR) of each adjustment reason code, for every export format.

A module of its own so that the format modules (x12, fhir) need not import the package
that dispatches to them.
"""

from __future__ import annotations

from claimsengine.adjudication import GROUP_CODES
from claimsengine.errors import ExportError

__all__ = ["adjustment_group"]

#: The groups of the reasons an adjudicator may give a denial in review (adjudication.md,
#: "Group codes"), for an engine whose adjudication table does not list them yet.
_REVIEW_GROUPS = {50: "CO", 16: "CO", 204: "PR"}


def adjustment_group(code: int) -> str:
    """The remittance group (CO or PR) of an adjustment reason code (adjudication.md)."""
    group = GROUP_CODES.get(code) or _REVIEW_GROUPS.get(code)
    if group is None:
        raise ExportError(
            f"reason code {code} has no remittance group",
            hint="adjudication.md lists the CO and PR codes",
        )
    return group
