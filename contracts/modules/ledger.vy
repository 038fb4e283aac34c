# pragma version ~=0.4.3
"""
@title Claims ledger
@notice What claims leave behind: each claim's status by (plan, provider, commitment),
        the members' accumulators and units per benefit period, the duplicate-line keys
        of rule (c), the claims waiting for review (with what a denial must take back),
        and each provider's daily total for the provider daily limit.
"""

from modules import packing


MAX_LINES: constant(uint256) = 32


# @dev What a review denial must take back of one line: its code index (0 when the line
# was not priced, so it set no duplicate-line key) and whether its units were counted
# toward a period limit, both as they were at submission.
struct PendingLine:
    code: bytes32
    units: uint256
    index: uint256
    units_counted: bool


# @dev A claim waiting for an adjudicator, with its accumulator effects. `provider` is the
# provider's number in the plan.
struct PendingClaim:
    plan_id: bytes32
    commitment: bytes32
    provider: uint256
    member: bytes32
    service_day: uint256
    period: uint256
    deductible: uint256
    out_of_pocket: uint256
    plan_paid: uint256
    lines: DynArray[PendingLine, MAX_LINES]


# @dev Per plan, provider number and record commitment: the packed claim word (layout in
# `packing`). Check 2 is per provider and plan, so a commitment copied into another plan
# or sent by another provider neither blocks a claim nor is taken for it.
claim_words: HashMap[bytes32, HashMap[uint256, HashMap[bytes32, uint256]]]

# @dev Per plan, member and benefit period: the packed accumulators (layout in `packing`).
accumulator_words: HashMap[bytes32, HashMap[bytes32, HashMap[uint256, uint256]]]

# @dev Units used per plan, member, period and code; kept for codes with a
# max_units_per_period, the one later check that needs them (events carry all units).
# A code's limit changes only at a period's start, so the count is whole for its period.
units_used: public(HashMap[bytes32, HashMap[bytes32, HashMap[uint256, HashMap[bytes32, uint256]]]])

# @dev Per plan: a bitmap of the priced lines seen per keccak(member, provider number,
# service_day, code index // 256), bit code index % 256. It answers rule (c).
line_bitmaps: HashMap[bytes32, HashMap[bytes32, uint256]]

# @dev Per plan and provider number: the chain day and the plan_paid of its claims
# approved that day without review (layout in `packing`).
daily_words: HashMap[bytes32, HashMap[uint256, uint256]]

# @dev Claims waiting for review, by claim id.
pending: HashMap[uint256, PendingClaim]

# @dev The id the next claim gets. Ids start at 1.
next_claim_id: public(uint256)


@deploy
def __init__():
    self.next_claim_id = 1


@internal
def _take_claim_id() -> uint256:
    claim_id: uint256 = self.next_claim_id
    self.next_claim_id = claim_id + 1
    return claim_id


@internal
@view
def _accumulators(plan_id: bytes32, member: bytes32, period: uint256) -> (uint256, uint256, uint256):
    return packing._unpack_accumulators(self.accumulator_words[plan_id][member][period])


@internal
def _store_accumulators(
    plan_id: bytes32, member: bytes32, period: uint256, deductible_met: uint256, oop_met: uint256, benefit_used: uint256
):
    self.accumulator_words[plan_id][member][period] = packing._pack_accumulators(deductible_met, oop_met, benefit_used)


@internal
@pure
def _line_key(member: bytes32, provider: uint256, service_day: uint256, index: uint256) -> (bytes32, uint256):
    """
    @dev The duplicate-line key and bit of a (member, provider, service day, code).
    """
    return keccak256(abi_encode(member, provider, service_day, index >> 8)), 1 << (index & 255)


@internal
@view
def _line_seen(plan_id: bytes32, key: bytes32, bit: uint256) -> bool:
    return self.line_bitmaps[plan_id][key] & bit != 0


@internal
def _mark_line(plan_id: bytes32, key: bytes32, bit: uint256):
    self.line_bitmaps[plan_id][key] |= bit


@internal
def _count_units(plan_id: bytes32, member: bytes32, period: uint256, code: bytes32, units: uint256, limit: uint256) -> bool:
    """
    @dev Rule (e): counts the units when they fit the period limit; False when not.
    """
    used: uint256 = self.units_used[plan_id][member][period][code] + units
    if used > limit:
        return False
    self.units_used[plan_id][member][period][code] = used
    return True


@internal
def _record_claim(plan_id: bytes32, provider: uint256, commitment: bytes32, claim_id: uint256, status: uint256, plan_paid: uint256):
    self.claim_words[plan_id][provider][commitment] = packing._pack_claim(claim_id, status, plan_paid)


@internal
@view
def _claim_word(plan_id: bytes32, provider: uint256, commitment: bytes32) -> uint256:
    return self.claim_words[plan_id][provider][commitment]


@internal
def _set_status(plan_id: bytes32, provider: uint256, commitment: bytes32, status: uint256):
    word: uint256 = self.claim_words[plan_id][provider][commitment]
    self.claim_words[plan_id][provider][commitment] = packing._with_claim_status(word, status)


@internal
def _within_daily_limit(plan_id: bytes32, provider: uint256, today: uint256, amount: uint256, limit: uint256) -> bool:
    """
    @dev Adds `amount` to the provider's total of the day when the total stays within
         `limit`; False (and nothing added) when it would go above.
    """
    word: uint256 = self.daily_words[plan_id][provider]
    total: uint256 = amount
    if word & packing.MASK_32 == today:
        total += word >> packing.DAILY_TOTAL
    if total > limit:
        return False
    self.daily_words[plan_id][provider] = today | (total << packing.DAILY_TOTAL)
    return True


@internal
def _hold(claim_id: uint256, claim: PendingClaim):
    self.pending[claim_id] = claim


@internal
def _release(claim_id: uint256) -> PendingClaim:
    """
    @dev Takes a claim out of review. Reverts when it is not pending.
    """
    claim: PendingClaim = self.pending[claim_id]
    assert claim.plan_id != empty(bytes32), "claims: not pending review"
    self.pending[claim_id].plan_id = empty(bytes32)
    self.pending[claim_id].lines = []
    return claim


@internal
def _reverse(claim: PendingClaim):
    """
    @dev A review denial takes back the claim's accumulator effects, its units and its
         duplicate-line keys. Other claims are not re-priced.
    """
    deductible_met: uint256 = 0
    oop_met: uint256 = 0
    benefit_used: uint256 = 0
    deductible_met, oop_met, benefit_used = self._accumulators(claim.plan_id, claim.member, claim.period)
    self._store_accumulators(
        claim.plan_id,
        claim.member,
        claim.period,
        deductible_met - claim.deductible,
        oop_met - claim.out_of_pocket,
        benefit_used - claim.plan_paid,
    )
    for line: PendingLine in claim.lines:
        if line.index == 0:
            continue
        if line.units_counted:
            self.units_used[claim.plan_id][claim.member][claim.period][line.code] -= line.units
        key: bytes32 = empty(bytes32)
        bit: uint256 = 0
        key, bit = self._line_key(claim.member, claim.provider, claim.service_day, line.index)
        self.line_bitmaps[claim.plan_id][key] &= ~bit
