"""What each revert the contracts can raise means to a user: a hint of what to do, and
whether it is a matter of role (``NotAuthorised``). engine.py turns every revert it meets
into these exceptions; tests/contracts/test_hints.py holds the table to the contracts'
revert strings, one for one.
"""

from __future__ import annotations

from claimsengine.errors import NotAuthorised, TransactionReverted

__all__ = ["HINTS", "reverted"]

# What to do about each revert the contract can raise.
HINTS = {
    "access: not authorised": "act as an account that holds this role in the plan (--as)",
    "claims: not authorised": (
        "register the hospital with `claims provider add`, or act as it (--as)"
    ),
    "claims: duplicate": (
        "this record was submitted before; look it up with `claims status --record`"
    ),
    "claims: invalid claim": "a claim needs 1 to 32 lines, each with at least 1 unit",
    "claims: service date in the future": (
        "wait until the service date, or move the dev clock (`claims time`)"
    ),
    "claims: plan exists": "choose another plan id",
    "claims: unknown plan": "deploy the plan first (`claims deploy`)",
    "claims: not pending review": "only claims with status pending_review can be reviewed",
    "claims: plan paused": "the insurer has paused this plan; ask them to resume it",
    "pool: amount exceeds free balance": "queued claims need that money; withdraw less",
    "access: not pending admin": "only the account offered the admin role can accept it",
    "claims: not owner": "only the engine's owner (its deployer) admits insurers",
    "claims: not an insurer": "ask the engine's owner to admit this account (`claims insurer add`)",
    "claims: not the provider": "only the provider's own (first registered) account may do this",
    "claims: account taken": (
        "this account submits for another provider of the plan, or was removed from one: "
        "choose another account"
    ),
    "claims: the provider adds its own accounts": (
        "the provider's owner account adds another account (`claims provider account add`)"
    ),
    "claims: not an account of the provider": (
        "the account is not one the provider added (`claims provider list` shows them)"
    ),
    "claims: the owner account stays": "a provider's owner (first registered) account stays",
    "claims: too many accounts": "a provider has at most 16 accounts; remove one first",
    "claims: unknown provider": "register the provider first (`claims provider add`)",
    "claims: invalid provider": "give a provider id of 1 to 32 ASCII characters",
    "claims: invalid npi": "an NPI has 10 digits",
    "claims: invalid reason": "a review denial reason is one of 50, 16, 96, 197, 204",
    "claims: effective day not after today": "a schedule change takes effect from a future day",
    "claims: version out of order": (
        "schedule versions take effect in order: choose a day after the latest version's"
    ),
    "claims: unit limit mid-period": (
        "a change to max_units_per_period takes effect on the first day of a benefit period"
    ),
    "claims: version in force": (
        "codes can be added to a schedule version only before it takes effect"
    ),
    "claims: service exists": "the version already has this code; start a new version instead",
    "claims: too many versions": "a plan has at most 1024 schedule versions",
    "pool: amount not received": (
        "the token delivered less than the amount (fee-on-transfer tokens are not supported)"
    ),
    "access: admin moves by transfer": "hand the admin role over with `transfer_admin`",
    "access: zero address": "give a real account, not the zero address",
    "claims: zero address": "give a real account, not the zero address",
    "pool: zero address": "give a real recipient, not the zero address",
    "claims: invalid coverage": "coverage_start must be on or before coverage_end",
    "claims: coverage already lived": (
        "new coverage dates must still cover every day up to today that the old ones did "
        "(a claim for such a day may be on its way): end the coverage today or later, and "
        "keep the start or move it earlier"
    ),
    "claims: enrolled for another period": (
        "a pseudonym stands for one benefit period and stays enrolled for it; enrol the "
        "member's pseudonym of the other period instead"
    ),
    "claims: invalid member": "a member pseudonym cannot be empty",
    "claims: invalid plan": "a plan id cannot be empty",
    "claims: invalid service": "a code cannot be empty, and fees and limits must fit their fields",
    "claims: invalid terms": "check the plan's terms: a period of at least 1 day, amounts in range",
    "claims: schedule full": "a plan's schedules name at most 65535 distinct codes",
    "pool: overflow": "the amount is beyond what a pool can hold",
    "pool: token decimals": "the settlement token must have 2 to 30 decimals",
    "pool: zero amount": "the amount must be more than 0.00",
    "pool: transfer failed": (
        "the token refused the transfer; check balances and allowance, or the payout address"
    ),
    "claims: already voted": "each adjudicator votes once on a claim; another must vote now",
    "claims: not voidable": (
        "only your own claims that are pending_review, queued or paid can be voided or replaced"
    ),
    "claims: wrong effects": (
        "the claim's effects must be passed as its events record them: void by claim id"
    ),
    "claims: void window closed": (
        "a claim can be voided only within timely_filing_days of its service date"
    ),
}
_ROLE_REVERTS = {
    "access: not authorised",
    "claims: not authorised",
    "access: not pending admin",
    "claims: not owner",
    "claims: not an insurer",
    "claims: not the provider",
    "claims: the provider adds its own accounts",
}


def reverted(error: TransactionReverted) -> TransactionReverted:
    """The same revert as a project exception with a hint (NotAuthorised for role errors)."""
    hint = HINTS.get(error.reason)
    if error.reason in _ROLE_REVERTS:
        return NotAuthorised(error.reason, hint=hint)
    return TransactionReverted(error.reason, hint=hint)
