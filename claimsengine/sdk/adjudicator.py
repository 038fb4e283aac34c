"""The adjudicator's client: the review queue and the votes on it."""

from __future__ import annotations

from claimsengine.claim_reads import (
    ReviewQueue,
    claim_result,
    review_quorum,
    with_quorum,
)
from claimsengine.engine import (
    DEFAULT_REVIEW_REASON,
    REVIEW_REASONS,
)
from claimsengine.errors import (
    ClaimsError,
    InputError,
    TransactionReverted,
)
from claimsengine.results import ClaimResult
from claimsengine.sdk.party import Party, describe_account

#: The contract's revert for a second vote by one adjudicator on one claim.
ALREADY_VOTED = "claims: already voted"


def check_denial_reason(reason: int) -> None:
    """Refuse a reason code that a review denial may not carry (InputError)."""
    if reason not in REVIEW_REASONS:
        allowed = ", ".join(str(code) for code in REVIEW_REASONS)
        raise InputError(
            f"{reason} is not a reason code for a review denial; use one of {allowed}",
            field="--reason",
            hint="50 is 'not medically necessary' (the default)",
        )


class AdjudicatorClient(Party):
    """Works the review queue: claims above a plan's auto-approve limit."""

    def queue(self, plan_id: str | None = None) -> list[ClaimResult]:
        """The claims pending review, oldest first, each with its votes so far in
        `result.review` (the plan's quorum, the approvals and denials, and who voted).

        Read from what is pending now (claim_reads.ReviewQueue): the client keeps the
        claims it found waiting and, on each call, reads only the events of the blocks
        mined since the last one, then each waiting claim's result."""
        queue: ReviewQueue = self.__dict__.setdefault("_queue", ReviewQueue())
        return queue.read(self.workspace, plan_id)

    def review(
        self, claim_id: int, approve: bool, reason: int = DEFAULT_REVIEW_REASON
    ) -> ClaimResult:
        """Vote on a claim pending review. With the plan's review_quorum at 1 the vote
        decides it; with k, the k-th approval approves it and the k-th denial denies it.
        A denial carries `reason` (one of REVIEW_REASONS); on approval it is not used.
        The result carries the votes so far."""
        if not approve:
            check_denial_reason(reason)
        try:
            self.engine.review(self.account, claim_id, approve, 0 if approve else reason)
        except TransactionReverted as error:
            if error.reason != ALREADY_VOTED:
                raise
            raise ClaimsError(
                f"{describe_account(self.workspace, self.account)} has voted on claim "
                f"{claim_id} already; each adjudicator decides a claim once",
                hint="another adjudicator casts the next vote (--as ALIAS); `claims review "
                "list` shows who has voted",
            ) from error
        result = claim_result(self.workspace, claim_id)
        return with_quorum(result, review_quorum(self.workspace, result.plan_id))

    def approve(self, claim_id: int) -> ClaimResult:
        return self.review(claim_id, True)

    def deny(self, claim_id: int, reason: int = DEFAULT_REVIEW_REASON) -> ClaimResult:
        return self.review(claim_id, False, reason)
