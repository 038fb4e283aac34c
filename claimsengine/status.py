"""A claim's status: one vocabulary for the contract, the results and the reports.

The contract keeps a status as a small integer (``ClaimsEngine.vy``: denied 1,
pending_review 2, queued 3, paid 4, voided 5; 0 means no claim). Everything above the chain
speaks the words of formats.md. The words are a ``StrEnum``, so a status prints, compares
and serialises as its word (``ClaimStatus.PAID == "paid"``) and never as a number: an
integer from the chain becomes a status at the boundary, with ``ClaimStatus.from_code``.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["NO_CLAIM", "STATUSES", "ClaimStatus"]

#: The code ``claim_status`` returns for a commitment no claim was ever submitted with.
NO_CLAIM = 0


class ClaimStatus(StrEnum):
    """A claim's status (formats.md, "Claim result"), in the order reports list them."""

    PAID = "paid"
    QUEUED = "queued"
    PENDING_REVIEW = "pending_review"
    DENIED = "denied"
    VOIDED = "voided"

    @property
    def code(self) -> int:
        """The contract's number for this status."""
        return _CODES[self]

    @classmethod
    def from_code(cls, code: int) -> ClaimStatus:
        """The status the contract means by ``code`` (ValueError for 0 or an unknown code)."""
        try:
            return _BY_CODE[int(code)]
        except KeyError:
            raise ValueError(f"{code!r} is not a claim status code") from None


_CODES: dict[ClaimStatus, int] = {
    ClaimStatus.DENIED: 1,
    ClaimStatus.PENDING_REVIEW: 2,
    ClaimStatus.QUEUED: 3,
    ClaimStatus.PAID: 4,
    ClaimStatus.VOIDED: 5,
}
_BY_CODE = {code: status for status, code in _CODES.items()}

#: Every status, in the order reports list them.
STATUSES: tuple[ClaimStatus, ...] = tuple(ClaimStatus)
