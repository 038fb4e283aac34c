# pragma version ~=0.4.3
"""
@title Claims ledger
@notice What claims leave behind: each claim's status by (plan, provider, commitment),
        the members' accumulators and units per benefit period, the duplicate-line keys
        of rule (c), the votes on claims in review, and each provider's daily total for
        the provider daily limit. What a claim left behind is taken back (on a void or a
        review denial) from effects the caller passes, checked against their hash.
"""

from modules import packing
from modules import plan_access

uses: plan_access


MAX_LINES: constant(uint256) = 32
# @dev Votes a claim's ballot holds at most (see `_vote`: 60 with the largest quorum, 31).
MAX_BALLOT: constant(uint256) = 64

# @dev A duplicate-line bitmap word covers 8 consecutive days (day // 8) x 32 codes
# (code index // 32): bit (day % 8) * 32 + code index % 32. A member's visits to one
# provider within those days share a word, so most claims update a word, not create one.
LINE_DAY_BITS: constant(uint256) = 3
LINE_CODE_BITS: constant(uint256) = 5


# @dev One priced line as a void or a review denial takes it back: its code and units.
struct EffectLine:
    code: bytes32
    units: uint256


# @dev What a claim left behind, as a void or a review denial takes it back: the member
# and service day (hence the benefit period and the duplicate-line keys), its deductible
# and out-of-pocket shares, and its priced lines in order. Its plan_paid is in the claim
# word. Not stored: its 160-bit hash is in the claim word, and the caller passes it back
# (the claim's events hold every field), so that a claim costs no extra storage slot.
struct Effects:
    member: bytes32
    service_day: uint256
    deductible: uint256
    out_of_pocket: uint256
    lines: DynArray[EffectLine, MAX_LINES]


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

# @dev Per claim id in review: how many votes its ballot holds.
votes: HashMap[uint256, uint256]

# @dev Per claim id in review: its ballot, vote by vote: the adjudicator | approved << 160.
# A vote of an account that has lost the adjudicator role is dropped at the next vote.
ballots: HashMap[uint256, HashMap[uint256, uint256]]

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
def _record_claim(
    plan_id: bytes32, provider: uint256, commitment: bytes32, claim_id: uint256, status: uint256, plan_paid: uint256, effects: uint256
):
    self.claim_words[plan_id][provider][commitment] = (
        claim_id | (status << packing.CLAIM_STATUS) | (plan_paid << packing.CLAIM_PLAN_PAID) | (effects << packing.CLAIM_EFFECTS)
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
@pure
def _chain_line(lines_hash: bytes32, code: bytes32, units: uint256) -> bytes32:
    """
    @dev Adds a priced line to the running hash of a claim's priced lines.
    """
    return keccak256(concat(lines_hash, code, convert(units, bytes32)))


@internal
@pure
def _effects_hash(member: bytes32, service_day: uint256, deductible: uint256, out_of_pocket: uint256, lines_hash: bytes32) -> uint256:
    """
    @dev The 160 bits of a claim's effects kept in its claim word.
    """
    return convert(
        keccak256(concat(member, convert(service_day, bytes32), convert(deductible, bytes32), convert(out_of_pocket, bytes32), lines_hash)),
        uint256,
    ) >> 96


@internal
def _vote(plan_id: bytes32, claim_id: uint256, approve: bool, quorum: uint256) -> (uint256, uint256):
    """
    @dev Counts the caller's vote on a claim in review, once per adjudicator, with the
         votes on its ballot whose adjudicators hold the role now; drops the others (each
         may vote again if it is given the role back before the claim is decided). Returns
         the approvals and denials that count, this vote included, and keeps the vote on
         the ballot unless it reaches `quorum` (it decides the claim). A ballot holds at
         most 2 * (quorum - 1) votes (more, and one would have decided), so at most 60.
    """
    kept: uint256 = 0
    approvals: uint256 = 0
    denials: uint256 = 0
    for i: uint256 in range(self.votes[claim_id], bound=MAX_BALLOT):
        vote: uint256 = self.ballots[claim_id][i]
        voter: address = convert(vote & packing.MASK_160, address)
        assert voter != msg.sender, "claims: already voted"
        if plan_access.Role.ADJUDICATOR in plan_access.roles[plan_id][voter]:
            self.ballots[claim_id][kept] = vote
            kept += 1
            if vote >> 160 == 1:
                approvals += 1
            else:
                denials += 1
    if approve:
        approvals += 1
    else:
        denials += 1
    if max(approvals, denials) < quorum:  # a vote that decides the claim need not be kept
        self.ballots[claim_id][kept] = convert(msg.sender, uint256) | (convert(approve, uint256) << 160)
        self.votes[claim_id] = kept + 1
    return approvals, denials


@internal
@view
def _has_voted(claim_id: uint256, account: address) -> bool:
    """
    @dev Whether the account's vote is on the claim's ballot.
    """
    for i: uint256 in range(self.votes[claim_id], bound=MAX_BALLOT):
        if convert(self.ballots[claim_id][i] & packing.MASK_160, address) == account:
            return True
    return False


@internal
@view
def _counted_votes(plan_id: bytes32, claim_id: uint256) -> (uint256, uint256):
    """
    @dev The approvals and denials on a claim's ballot whose adjudicators hold the role now.
    """
    approvals: uint256 = 0
    denials: uint256 = 0
    for i: uint256 in range(self.votes[claim_id], bound=MAX_BALLOT):
        vote: uint256 = self.ballots[claim_id][i]
        if plan_access.Role.ADJUDICATOR in plan_access.roles[plan_id][convert(vote & packing.MASK_160, address)]:
            if vote >> 160 == 1:
                approvals += 1
            else:
                denials += 1
    return approvals, denials


@internal
@pure
def _check_effects(word: uint256, effects: Effects):
    """
    @dev Refuses effects that are not the ones the claim word's hash was made of.
    """
    lines_hash: bytes32 = empty(bytes32)
    for line: EffectLine in effects.lines:
        lines_hash = self._chain_line(lines_hash, line.code, line.units)
    assert self._effects_hash(
        effects.member, effects.service_day, effects.deductible, effects.out_of_pocket, lines_hash
    ) == word >> packing.CLAIM_EFFECTS, "claims: wrong effects"


@internal
def _take_back_totals(plan_id: bytes32, member: bytes32, period: uint256, deductible: uint256, out_of_pocket: uint256, plan_paid: uint256):
    """
    @dev Takes a claim's shares out of the member's accumulators of the period.
    """
    deductible_met: uint256 = 0
    oop_met: uint256 = 0
    benefit_used: uint256 = 0
    deductible_met, oop_met, benefit_used = self._accumulators(plan_id, member, period)
    self._store_accumulators(plan_id, member, period, deductible_met - deductible, oop_met - out_of_pocket, benefit_used - plan_paid)


@internal
def _take_back_line(
    plan_id: bytes32, member: bytes32, provider: uint256, service_day: uint256, period: uint256, line: EffectLine, service_word: uint256
):
    """
    @dev Takes back one priced line: its units, when its code has a period limit, and
         its duplicate-line key. `service_word` is its code in the schedule version in
         force on the service day: a code's index and period limit there never change
         once a claim has used them.
    """
    if packing._units_per_period(service_word) != 0:
        self.units_used[plan_id][member][period][line.code] -= line.units
    key: bytes32 = empty(bytes32)
    bit: uint256 = 0
    key, bit = self._line_key(member, provider, service_day, packing._service_index(service_word))
    self.line_bitmaps[plan_id][key] &= ~bit
