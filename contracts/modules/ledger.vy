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

# @dev A duplicate-line bitmap word covers 8 consecutive days (day // 8) x 32 codes
# (code index // 32): bit (day % 8) * 32 + code index % 32. A member's visits to one
# provider within those days share a word, so most claims update a word, not create one.
LINE_DAY_BITS: constant(uint256) = 3
LINE_CODE_BITS: constant(uint256) = 5


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

# @dev Per plan: a bitmap of the priced lines seen, per keccak(member, provider number,
# service_day // 8, code index // 32) (layout above `LINE_DAY_BITS`). It answers rule (c).
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
@view
def _accumulators(plan_id: bytes32, member: bytes32, period: uint256) -> (uint256, uint256, uint256):
    # @dev Unpacked here (layout in `packing`): this runs for every claim.
    word: uint256 = self.accumulator_words[plan_id][member][period]
    return word & packing.MASK_64, (word >> packing.ACC_OOP) & packing.MASK_64, word >> packing.ACC_BENEFIT


@internal
def _store_accumulators(
    plan_id: bytes32, member: bytes32, period: uint256, deductible_met: uint256, oop_met: uint256, benefit_used: uint256
):
    self.accumulator_words[plan_id][member][period] = (
        deductible_met | (oop_met << packing.ACC_OOP) | (benefit_used << packing.ACC_BENEFIT)
    )


@internal
@pure
def _line_key(member: bytes32, provider: uint256, service_day: uint256, index: uint256) -> (bytes32, uint256):
    """
    @dev The duplicate-line key and bit of a (member, provider, service day, code).
    """
    day_bit: uint256 = (service_day & (2**LINE_DAY_BITS - 1)) << LINE_CODE_BITS
    key: bytes32 = keccak256(abi_encode(member, provider, service_day >> LINE_DAY_BITS, index >> LINE_CODE_BITS))
    return key, 1 << (day_bit | (index & (2**LINE_CODE_BITS - 1)))


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
    self.claim_words[plan_id][provider][commitment] = (
        claim_id | (status << packing.CLAIM_STATUS) | (plan_paid << packing.CLAIM_PLAN_PAID)
    )


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
def _hold(claim_id: uint256, plan_id: bytes32, commitment: bytes32, provider: uint256, member: bytes32, service_day: uint256):
    """
    @dev Starts a claim's review record (its totals and lines follow). The struct is
         written field by field, never copied whole through memory.
    """
    self.pending[claim_id].plan_id = plan_id
    self.pending[claim_id].commitment = commitment
    self.pending[claim_id].provider = provider
    self.pending[claim_id].member = member
    self.pending[claim_id].service_day = service_day


@internal
def _hold_totals(claim_id: uint256, period: uint256, deductible: uint256, out_of_pocket: uint256, plan_paid: uint256):
    self.pending[claim_id].period = period
    self.pending[claim_id].deductible = deductible
    self.pending[claim_id].out_of_pocket = out_of_pocket
    self.pending[claim_id].plan_paid = plan_paid


@internal
def _hold_line(claim_id: uint256, line: PendingLine):
    self.pending[claim_id].lines.append(line)


@internal
def _release(claim_id: uint256) -> (bytes32, bytes32, uint256, uint256):
    """
    @dev Takes a claim out of review; reverts when it is not pending. Returns its plan,
         commitment, provider number and plan_paid. Its lines stay until `_reverse` or
         `_forget_lines`.
    """
    plan_id: bytes32 = self.pending[claim_id].plan_id
    assert plan_id != empty(bytes32), "claims: not pending review"
    self.pending[claim_id].plan_id = empty(bytes32)
    return plan_id, self.pending[claim_id].commitment, self.pending[claim_id].provider, self.pending[claim_id].plan_paid


@internal
def _forget_lines(claim_id: uint256):
    self.pending[claim_id].lines = []


@internal
def _reverse(claim_id: uint256, plan_id: bytes32):
    """
    @dev A review denial takes back the claim's accumulator effects, its units and its
         duplicate-line keys. Other claims are not re-priced. Read from storage piece by
         piece, so that review needs little memory.
    """
    member: bytes32 = self.pending[claim_id].member
    period: uint256 = self.pending[claim_id].period
    provider: uint256 = self.pending[claim_id].provider
    service_day: uint256 = self.pending[claim_id].service_day
    deductible_met: uint256 = 0
    oop_met: uint256 = 0
    benefit_used: uint256 = 0
    deductible_met, oop_met, benefit_used = self._accumulators(plan_id, member, period)
    self._store_accumulators(
        plan_id,
        member,
        period,
        deductible_met - self.pending[claim_id].deductible,
        oop_met - self.pending[claim_id].out_of_pocket,
        benefit_used - self.pending[claim_id].plan_paid,
    )
    for i: uint256 in range(len(self.pending[claim_id].lines), bound=MAX_LINES):
        line: PendingLine = self.pending[claim_id].lines[i]
        if line.index == 0:
            continue
        if line.units_counted:
            self.units_used[plan_id][member][period][line.code] -= line.units
        key: bytes32 = empty(bytes32)
        bit: uint256 = 0
        key, bit = self._line_key(member, provider, service_day, line.index)
        self.line_bitmaps[plan_id][key] &= ~bit
    self._forget_lines(claim_id)
