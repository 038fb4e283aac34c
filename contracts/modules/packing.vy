# pragma version ~=0.4.3
"""
@title Storage packing
@notice The bit layout of every packed storage word of the engine, in one place, with
        named positions and widths. Stateless: plain import. Each word is read and
        written only through these helpers, so no shift or mask is repeated elsewhere.
"""


# @dev A plan's terms as a submission needs them (the token is kept by the pool).
struct Terms:
    effective_day: uint256
    benefit_period_days: uint256
    waiting_period_days: uint256
    timely_filing_days: uint256
    coinsurance_bps: uint256
    has_benefit_max: bool
    paused: bool
    has_daily_limit: bool
    versioned: bool
    review_quorum: uint256
    deductible: uint256
    out_of_pocket_max: uint256
    annual_benefit_max: uint256
    auto_approve_limit: uint256


# @dev One code of one schedule version, unpacked. `index` 0: the code is not covered.
struct ServiceTerms:
    index: uint256
    fee: uint256
    copay: uint256
    has_copay: bool
    deductible_applies: bool
    prior_auth: bool
    max_units_per_day: uint256
    max_units_per_period: uint256


# @dev Widths.
MASK_1: constant(uint256) = 2**1 - 1
MASK_5: constant(uint256) = 2**5 - 1
MASK_8: constant(uint256) = 2**8 - 1
MASK_14: constant(uint256) = 2**14 - 1
MASK_16: constant(uint256) = 2**16 - 1
MASK_24: constant(uint256) = 2**24 - 1
MASK_32: constant(uint256) = 2**32 - 1
MASK_40: constant(uint256) = 2**40 - 1
MASK_43: constant(uint256) = 2**43 - 1
MASK_48: constant(uint256) = 2**48 - 1
MASK_64: constant(uint256) = 2**64 - 1
MASK_160: constant(uint256) = 2**160 - 1

# @dev Plan word: effective_day (24) | benefit_period_days (16) | waiting_period_days (16) |
# timely_filing_days (16) | coinsurance_bps (14) | flags (5) | review_quorum (5) |
# deductible (40) | out_of_pocket_max (40) | annual_benefit_max (40) | auto_approve_limit (40).
PLAN_EFFECTIVE_DAY: constant(uint256) = 0
PLAN_PERIOD_DAYS: constant(uint256) = 24
PLAN_WAITING_DAYS: constant(uint256) = 40
PLAN_FILING_DAYS: constant(uint256) = 56
PLAN_COINSURANCE: constant(uint256) = 72
PLAN_HAS_BENEFIT_MAX: constant(uint256) = 86
PLAN_EXISTS: constant(uint256) = 87
PLAN_PAUSED: constant(uint256) = 88
PLAN_HAS_DAILY_LIMIT: constant(uint256) = 89
# @dev Set once the plan has a second schedule version: only then does a claim look up
# the version in force on its service day (one version costs nothing extra).
PLAN_VERSIONED: constant(uint256) = 90
# @dev Adjudicators needed to approve, or to deny, a claim in review: 1 to 31.
PLAN_QUORUM: constant(uint256) = 91
PLAN_DEDUCTIBLE: constant(uint256) = 96
PLAN_OOP_MAX: constant(uint256) = 136
PLAN_BENEFIT_MAX: constant(uint256) = 176
PLAN_AUTO_APPROVE: constant(uint256) = 216

# @dev Service word: index (16) | fee (64) | copay (64) | has_copay | deductible_applies |
# prior_auth | max_units_per_day (32) | max_units_per_period (32).
SERVICE_INDEX: constant(uint256) = 0
SERVICE_FEE: constant(uint256) = 16
SERVICE_COPAY: constant(uint256) = 80
SERVICE_HAS_COPAY: constant(uint256) = 144
SERVICE_DEDUCTIBLE_APPLIES: constant(uint256) = 145
SERVICE_PRIOR_AUTH: constant(uint256) = 146
SERVICE_UNITS_PER_DAY: constant(uint256) = 147
SERVICE_UNITS_PER_PERIOD: constant(uint256) = 179

# @dev Member word: enrolled | coverage_start (32) | coverage_end (32) | period (32), the
# benefit period the pseudonym is enrolled for (a pseudonym belongs to one period).
MEMBER_START: constant(uint256) = 1
MEMBER_END: constant(uint256) = 33
MEMBER_PERIOD: constant(uint256) = 65
# @dev The stored coverage end of an open-ended enrolment.
OPEN_ENDED: constant(uint256) = 2**32 - 1

# @dev Account word, per plan and submitting account, a cache of its provider:
# payout (160) | provider number (32) | active | in debt (the provider owes the plan).
ACCOUNT_PROVIDER: constant(uint256) = 160
ACCOUNT_ACTIVE: constant(uint256) = 192
ACCOUNT_IN_DEBT: constant(uint256) = 193

# @dev Payout word, per plan and provider number: payout (160) | debt (96), the cents
# of its voided paid claims not yet recovered from its later payments.
PAYOUT_DEBT: constant(uint256) = 160

# @dev Accumulator word: deductible_met (64) | oop_met (64) | benefit_used (128). Packed
# and unpacked by the ledger itself (it runs for every claim).
ACC_OOP: constant(uint256) = 64
ACC_BENEFIT: constant(uint256) = 128

# @dev Claim word: claim_id (40) | status (8) | plan_paid (48) | effects (160), the top
# 160 bits of the keccak of what a void or a review denial must take back (`ledger`).
# Ids stay below 2**40: a claim costs over 40,000 gas, so 2**40 claims would fill more
# than a billion blocks. plan_paid fits 48 bits: a line's billed amount is at most
# 2**43 - 1 cents (check 3), and a claim has at most 32 lines.
CLAIM_STATUS: constant(uint256) = 40
CLAIM_PLAN_PAID: constant(uint256) = 48
CLAIM_EFFECTS: constant(uint256) = 96

# @dev Daily word, per plan and provider: chain day (32) | plan_paid approved that day
# without review.
DAILY_TOTAL: constant(uint256) = 32


@internal
@pure
def _bit(word: uint256, position: uint256) -> bool:
    return (word >> position) & MASK_1 == 1


@internal
@pure
def _with_bit(word: uint256, position: uint256, flag_on: bool) -> uint256:
    return (word & ~(1 << position)) | (convert(flag_on, uint256) << position)


@internal
@pure
def _pack_plan(terms: Terms, daily_limit: uint256) -> uint256:
    """
    @dev Checks that every field fits its width (and the daily limit, kept apart, 64 bits).
    """
    assert (
        terms.benefit_period_days > 0
        and terms.benefit_period_days <= MASK_16
        and terms.effective_day <= MASK_24
        and terms.waiting_period_days <= MASK_16
        and terms.timely_filing_days <= MASK_16
        and terms.coinsurance_bps <= 10_000
        and terms.deductible <= MASK_40
        and terms.out_of_pocket_max <= MASK_40
        and terms.annual_benefit_max <= MASK_40
        and terms.auto_approve_limit <= MASK_40
        and terms.review_quorum >= 1
        and terms.review_quorum <= MASK_5
        and daily_limit <= MASK_64
    ), "claims: invalid terms"
    return (
        (terms.effective_day << PLAN_EFFECTIVE_DAY)
        | (terms.benefit_period_days << PLAN_PERIOD_DAYS)
        | (terms.waiting_period_days << PLAN_WAITING_DAYS)
        | (terms.timely_filing_days << PLAN_FILING_DAYS)
        | (terms.coinsurance_bps << PLAN_COINSURANCE)
        | (convert(terms.has_benefit_max, uint256) << PLAN_HAS_BENEFIT_MAX)
        | (1 << PLAN_EXISTS)
        | (convert(terms.paused, uint256) << PLAN_PAUSED)
        | (convert(terms.has_daily_limit, uint256) << PLAN_HAS_DAILY_LIMIT)
        | (convert(terms.versioned, uint256) << PLAN_VERSIONED)
        | (terms.review_quorum << PLAN_QUORUM)
        | (terms.deductible << PLAN_DEDUCTIBLE)
        | (terms.out_of_pocket_max << PLAN_OOP_MAX)
        | (terms.annual_benefit_max << PLAN_BENEFIT_MAX)
        | (terms.auto_approve_limit << PLAN_AUTO_APPROVE)
    )


@internal
@pure
def _unpack_plan(word: uint256) -> Terms:
    return Terms(
        effective_day=(word >> PLAN_EFFECTIVE_DAY) & MASK_24,
        benefit_period_days=(word >> PLAN_PERIOD_DAYS) & MASK_16,
        waiting_period_days=(word >> PLAN_WAITING_DAYS) & MASK_16,
        timely_filing_days=(word >> PLAN_FILING_DAYS) & MASK_16,
        coinsurance_bps=(word >> PLAN_COINSURANCE) & MASK_14,
        has_benefit_max=(word >> PLAN_HAS_BENEFIT_MAX) & MASK_1 == 1,
        paused=(word >> PLAN_PAUSED) & MASK_1 == 1,
        has_daily_limit=(word >> PLAN_HAS_DAILY_LIMIT) & MASK_1 == 1,
        versioned=(word >> PLAN_VERSIONED) & MASK_1 == 1,
        review_quorum=(word >> PLAN_QUORUM) & MASK_5,
        deductible=(word >> PLAN_DEDUCTIBLE) & MASK_40,
        out_of_pocket_max=(word >> PLAN_OOP_MAX) & MASK_40,
        annual_benefit_max=(word >> PLAN_BENEFIT_MAX) & MASK_40,
        auto_approve_limit=word >> PLAN_AUTO_APPROVE,
    )


@internal
@pure
def _pack_service(svc: ServiceTerms) -> uint256:
    """
    @dev The caller checks that the fields fit (`_service_fits`).
    """
    return (
        (svc.index << SERVICE_INDEX)
        | (svc.fee << SERVICE_FEE)
        | (svc.copay << SERVICE_COPAY)
        | (convert(svc.has_copay, uint256) << SERVICE_HAS_COPAY)
        | (convert(svc.deductible_applies, uint256) << SERVICE_DEDUCTIBLE_APPLIES)
        | (convert(svc.prior_auth, uint256) << SERVICE_PRIOR_AUTH)
        | (svc.max_units_per_day << SERVICE_UNITS_PER_DAY)
        | (svc.max_units_per_period << SERVICE_UNITS_PER_PERIOD)
    )


@internal
@pure
def _service_fits(fee: uint256, copay: uint256, max_units_per_day: uint256, max_units_per_period: uint256) -> bool:
    return fee <= MASK_64 and copay <= MASK_64 and max_units_per_day <= MASK_32 and max_units_per_period <= MASK_32


@internal
@pure
def _unpack_service(word: uint256) -> ServiceTerms:
    return ServiceTerms(
        index=(word >> SERVICE_INDEX) & MASK_16,
        fee=(word >> SERVICE_FEE) & MASK_64,
        copay=(word >> SERVICE_COPAY) & MASK_64,
        has_copay=(word >> SERVICE_HAS_COPAY) & MASK_1 == 1,
        deductible_applies=(word >> SERVICE_DEDUCTIBLE_APPLIES) & MASK_1 == 1,
        prior_auth=(word >> SERVICE_PRIOR_AUTH) & MASK_1 == 1,
        max_units_per_day=(word >> SERVICE_UNITS_PER_DAY) & MASK_32,
        max_units_per_period=(word >> SERVICE_UNITS_PER_PERIOD) & MASK_32,
    )


@internal
@pure
def _starts_period(plan_word: uint256, day: uint256) -> bool:
    """
    @dev Whether `day` (on or after the plan's effective day) starts a benefit period.
    """
    effective_day: uint256 = (plan_word >> PLAN_EFFECTIVE_DAY) & MASK_24
    return (day - effective_day) % ((plan_word >> PLAN_PERIOD_DAYS) & MASK_16) == 0


@internal
@pure
def _service_index(word: uint256) -> uint256:
    return (word >> SERVICE_INDEX) & MASK_16


@internal
@pure
def _units_per_period(word: uint256) -> uint256:
    return (word >> SERVICE_UNITS_PER_PERIOD) & MASK_32


@internal
@pure
def _pack_member(coverage_start: uint256, coverage_end: uint256, period: uint256) -> uint256:
    return 1 | (coverage_start << MEMBER_START) | (coverage_end << MEMBER_END) | (period << MEMBER_PERIOD)


@internal
@pure
def _unpack_member(word: uint256) -> (bool, uint256, uint256, uint256):
    """
    @dev Enrolled, coverage start, stored coverage end (OPEN_ENDED when open-ended), period.
    """
    return (
        word & MASK_1 == 1,
        (word >> MEMBER_START) & MASK_32,
        (word >> MEMBER_END) & MASK_32,
        (word >> MEMBER_PERIOD) & MASK_32,
    )


@internal
@pure
def _pack_account(payout_word: uint256, provider: uint256, active: bool) -> uint256:
    """
    @dev From the provider's payout word: its payout, and whether it is in debt.
    """
    return (
        (payout_word & MASK_160)
        | (provider << ACCOUNT_PROVIDER)
        | (convert(active, uint256) << ACCOUNT_ACTIVE)
        | (convert(payout_word >> PAYOUT_DEBT != 0, uint256) << ACCOUNT_IN_DEBT)
    )


@internal
@pure
def _unpack_account(word: uint256) -> (address, uint256, bool):
    """
    @dev Payout, provider number (0: no provider), active.
    """
    return convert(word & MASK_160, address), (word >> ACCOUNT_PROVIDER) & MASK_32, (word >> ACCOUNT_ACTIVE) & MASK_1 == 1


@internal
@pure
def _unpack_claim(word: uint256) -> (uint256, uint256, uint256):
    """
    @dev Claim id, status, plan_paid.
    """
    return word & MASK_40, (word >> CLAIM_STATUS) & MASK_8, (word >> CLAIM_PLAN_PAID) & MASK_48


@internal
@pure
def _with_claim_status(word: uint256, status: uint256) -> uint256:
    return (word & ~(MASK_8 << CLAIM_STATUS)) | (status << CLAIM_STATUS)
