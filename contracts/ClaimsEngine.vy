# pragma version ~=0.4.3
# pragma evm-version cancun
"""
@title Claims engine
@notice One deployment serves many plans and many insurers. An insurer creates a plan
        (terms and service schedule), enrols members under keyed pseudonyms, registers
        providers and funds the plan's pool. Providers submit claims, one per call or in
        batches; each claim is adjudicated line by line as `adjudication.md` orders it,
        the member's accumulators are updated, and approved claims are paid from the pool
        in the same transaction, or queued first-in, first-out when the pool is short.
        Claims above the plan's auto-approve limit wait for an adjudicator.
        No PHI is ever stored or emitted: members are HMAC pseudonyms and records are
        salted commitments.
@custom:contact claimsengine developers
"""

from modules import plan_access
from modules import pool
from modules import pricing

initializes: plan_access
initializes: pool

exports: (
    plan_access.roles,
    plan_access.admin,
    plan_access.pending_admin,
    plan_access.set_role,
    plan_access.transfer_admin,
    plan_access.accept_admin,
)


# @dev A plan's terms as the insurer writes them. Money in cents, days in days.
struct PlanTerms:
    token: address
    effective_day: uint256
    benefit_period_days: uint256
    waiting_period_days: uint256
    timely_filing_days: uint256
    deductible: uint256
    out_of_pocket_max: uint256
    has_benefit_max: bool
    annual_benefit_max: uint256
    coinsurance_bps: uint256
    auto_approve_limit: uint256


# @dev One code of a plan's service schedule. A limit of 0 means no limit.
struct Service:
    code: bytes32
    fee: uint256
    has_copay: bool
    copay: uint256
    deductible_applies: bool
    prior_auth: bool
    max_units_per_day: uint256
    max_units_per_period: uint256


# @dev A member's coverage dates, by pseudonym. A coverage_end of 0 means open-ended.
struct Enrollment:
    member: bytes32
    coverage_start: uint256
    coverage_end: uint256


# @dev One line of a submitted claim.
struct ClaimLine:
    code: bytes32
    units: uint256
    billed: uint256


# @dev A submitted claim. `commitment` is keccak256(salt || canonical record).
struct ClaimInput:
    commitment: bytes32
    member: bytes32
    service_day: uint256
    prior_auth: bool
    lines: DynArray[ClaimLine, MAX_LINES]


# @dev What a review denial must take back of one line: whether it was priced (so its
# duplicate-line key is set) and whether its units were counted toward a period limit,
# both as they were at submission (the schedule may change before the review).
struct PendingLine:
    code: bytes32
    units: uint256
    counted: bool
    units_counted: bool


# @dev A claim waiting for an adjudicator, with its accumulator effects.
struct PendingClaim:
    plan_id: bytes32
    commitment: bytes32
    provider: address
    member: bytes32
    service_day: uint256
    period: uint256
    deductible: uint256
    out_of_pocket: uint256
    plan_paid: uint256
    lines: DynArray[PendingLine, MAX_LINES]


# @dev A claim's state, as `claim_status` returns it.
struct ClaimState:
    claim_id: uint256
    status: uint256
    plan_paid: uint256


MAX_LINES: constant(uint256) = 32
MAX_BATCH: constant(uint256) = 100
MAX_SERVICES_PER_CALL: constant(uint256) = 64
MAX_ENROLMENTS_PER_CALL: constant(uint256) = 256
MAX_SETTLE: constant(uint256) = 256
# @dev Funding settles at most this many queued claims; `settle` does the rest.
AUTO_SETTLE: constant(uint256) = 32
MAX_SERVICES: constant(uint256) = 65_535
SECONDS_PER_DAY: constant(uint256) = 86_400

MASK_1: constant(uint256) = 1
MASK_14: constant(uint256) = 2**14 - 1
MASK_16: constant(uint256) = 2**16 - 1
MASK_24: constant(uint256) = 2**24 - 1
MASK_40: constant(uint256) = 2**40 - 1
MASK_32: constant(uint256) = 2**32 - 1
MASK_64: constant(uint256) = 2**64 - 1
OPEN_ENDED: constant(uint256) = 2**32 - 1

# @dev Claim statuses. 0 means never submitted.
STATUS_DENIED: constant(uint256) = 1
STATUS_PENDING_REVIEW: constant(uint256) = 2
STATUS_QUEUED: constant(uint256) = 3
STATUS_PAID: constant(uint256) = 4

# @dev Denial codes of `adjudication.md`.
DENY_NOT_ENROLLED: constant(uint256) = 31
DENY_OUTSIDE_COVERAGE_START: constant(uint256) = 26
DENY_AFTER_COVERAGE_END: constant(uint256) = 27
DENY_LATE_FILING: constant(uint256) = 29
DENY_NOT_COVERED: constant(uint256) = 96
DENY_NO_PRIOR_AUTH: constant(uint256) = 197
DENY_DUPLICATE_LINE: constant(uint256) = 18
DENY_DAILY_UNITS: constant(uint256) = 151
DENY_PERIOD_UNITS: constant(uint256) = 119


# @dev Per plan, all its terms in one word, so that a submission reads one slot:
# effective_day (24 bits) | benefit_period_days << 24 (16) | waiting_period_days << 40 (16) |
# timely_filing_days << 56 (16) | coinsurance_bps << 72 (14) | has_benefit_max << 86 |
# exists << 87 | paused << 88 | deductible << 96 (40) | out_of_pocket_max << 136 (40) |
# annual_benefit_max << 176 (40) | auto_approve_limit << 216 (40). Money in cents.
plan_words: HashMap[bytes32, uint256]

# @dev Per plan and code: index | fee << 16 | copay << 80 | has_copay << 144 |
# deductible_applies << 145 | prior_auth << 146 | max_units_per_day << 147 |
# max_units_per_period << 179. Index 0 means the code is not covered.
service_words: HashMap[bytes32, HashMap[bytes32, uint256]]

# @dev Per plan: how many codes its schedule has.
service_count: public(HashMap[bytes32, uint256])

# @dev Per plan and member pseudonym: enrolled | coverage_start << 1 | coverage_end << 33.
member_words: HashMap[bytes32, HashMap[bytes32, uint256]]

# @dev Per plan and provider account: payout address | active << 160.
provider_words: HashMap[bytes32, HashMap[address, uint256]]

# @dev Per plan, member and benefit period: deductible_met | oop_met << 64 |
# benefit_used << 128, in cents.
accumulator_words: HashMap[bytes32, HashMap[bytes32, HashMap[uint256, uint256]]]

# @dev Units used per plan, member, period and code; kept only for codes with a
# max_units_per_period, the one later check that needs them (events carry all units).
units_used: public(HashMap[bytes32, HashMap[bytes32, HashMap[uint256, HashMap[bytes32, uint256]]]])

# @dev Per plan: a bitmap of the covered lines seen per keccak(member, provider,
# service_day, code index // 256), bit code index % 256. It answers rule (c).
line_bitmaps: HashMap[bytes32, HashMap[bytes32, uint256]]

# @dev Per record commitment, across all plans: claim_id | status << 64 | plan_paid << 72.
claim_words: HashMap[bytes32, uint256]

# @dev Claims waiting for review, by claim id.
pending: public(HashMap[uint256, PendingClaim])

# @dev The id the next claim gets. Ids start at 1.
next_claim_id: public(uint256)


# @dev A plan was created with these terms.
event PlanCreated:
    plan_id: indexed(bytes32)
    admin: indexed(address)
    token: address
    effective_day: uint256
    benefit_period_days: uint256
    waiting_period_days: uint256
    timely_filing_days: uint256
    deductible: uint256
    out_of_pocket_max: uint256
    has_benefit_max: bool
    annual_benefit_max: uint256
    coinsurance_bps: uint256
    auto_approve_limit: uint256


# @dev A code of a plan's schedule was added or changed.
event ServiceSet:
    plan_id: indexed(bytes32)
    code: indexed(bytes32)
    fee: uint256
    has_copay: bool
    copay: uint256
    deductible_applies: bool
    prior_auth: bool
    max_units_per_day: uint256
    max_units_per_period: uint256


# @dev A member was enrolled or their coverage dates changed.
event MemberEnrolled:
    plan_id: indexed(bytes32)
    member: indexed(bytes32)
    coverage_start: uint256
    coverage_end: uint256


# @dev A provider was registered, changed, suspended or reinstated.
event ProviderSet:
    plan_id: indexed(bytes32)
    account: indexed(address)
    payout: address
    provider_ref: bytes32
    active: bool


# @dev A claim was adjudicated. `status` is its status right after submission. Its lines
# (LineAdjudicated, emitted just before) carry the amounts; `plan_paid` is their total.
event ClaimSubmitted:
    claim_id: indexed(uint256)
    plan_id: indexed(bytes32)
    member: indexed(bytes32)
    provider: address
    commitment: bytes32
    service_day: uint256
    status: uint256
    plan_paid: uint256


# @dev One line's adjudication. `denial` is 0 for a line that was priced.
event LineAdjudicated:
    claim_id: indexed(uint256)
    line: uint256
    code: bytes32
    units: uint256
    billed: uint256
    allowed: uint256
    deductible: uint256
    copay: uint256
    coinsurance: uint256
    benefit_limit: uint256
    plan_paid: uint256
    denial: uint256


# @dev The plan was paused or resumed.
event PauseSet:
    plan_id: indexed(bytes32)
    paused: bool


# @dev A claim above the auto-approve limit waits for an adjudicator.
event ClaimPendingReview:
    claim_id: indexed(uint256)
    plan_id: indexed(bytes32)
    plan_paid: uint256


# @dev An adjudicator decided a claim that was pending review.
event ClaimReviewed:
    claim_id: indexed(uint256)
    plan_id: indexed(bytes32)
    adjudicator: indexed(address)
    approved: bool


@deploy
def __init__():
    """
    @notice Deploys an engine with no plans. Anyone may create a plan and becomes its admin.
    """
    self.next_claim_id = 1


@external
@nonreentrant
def create_plan(plan_id: bytes32, terms: PlanTerms, services: DynArray[Service, MAX_SERVICES_PER_CALL]):
    """
    @notice Creates a plan; the caller becomes its admin (the insurer).
    @param plan_id The plan's id, ASCII, left-aligned.
    @param terms The plan's terms.
    @param services The first codes of its service schedule (more via `set_services`).
    """
    assert plan_id != empty(bytes32), "claims: invalid plan"
    assert plan_access.admin[plan_id] == empty(address), "claims: plan exists"
    assert terms.benefit_period_days > 0 and terms.benefit_period_days <= MASK_16, "claims: invalid terms"
    assert terms.effective_day <= MASK_24 and terms.waiting_period_days <= MASK_16, "claims: invalid terms"
    assert terms.timely_filing_days <= MASK_16 and terms.coinsurance_bps <= 10_000, "claims: invalid terms"
    assert terms.deductible <= MASK_40 and terms.out_of_pocket_max <= MASK_40, "claims: invalid terms"
    assert terms.annual_benefit_max <= MASK_40 and terms.auto_approve_limit <= MASK_40, "claims: invalid terms"

    self.plan_words[plan_id] = (
        terms.effective_day
        | (terms.benefit_period_days << 24)
        | (terms.waiting_period_days << 40)
        | (terms.timely_filing_days << 56)
        | (terms.coinsurance_bps << 72)
        | (convert(terms.has_benefit_max, uint256) << 86)
        | (1 << 87)
        | (terms.deductible << 96)
        | (terms.out_of_pocket_max << 136)
        | (terms.annual_benefit_max << 176)
        | (terms.auto_approve_limit << 216)
    )
    plan_access._init_plan(plan_id, msg.sender)
    pool._set_token(plan_id, terms.token)
    log PlanCreated(
        plan_id=plan_id,
        admin=msg.sender,
        token=terms.token,
        effective_day=terms.effective_day,
        benefit_period_days=terms.benefit_period_days,
        waiting_period_days=terms.waiting_period_days,
        timely_filing_days=terms.timely_filing_days,
        deductible=terms.deductible,
        out_of_pocket_max=terms.out_of_pocket_max,
        has_benefit_max=terms.has_benefit_max,
        annual_benefit_max=terms.annual_benefit_max,
        coinsurance_bps=terms.coinsurance_bps,
        auto_approve_limit=terms.auto_approve_limit,
    )
    self._set_services(plan_id, services)


@external
def set_services(plan_id: bytes32, services: DynArray[Service, MAX_SERVICES_PER_CALL]):
    """
    @notice Adds codes to a plan's schedule or changes them. A changed code keeps its place.
    @param plan_id The plan.
    @param services The codes.
    """
    plan_access._enforce_role(plan_id, plan_access.Role.ADMIN)
    self._set_services(plan_id, services)


@external
def enroll(plan_id: bytes32, enrollments: DynArray[Enrollment, MAX_ENROLMENTS_PER_CALL]):
    """
    @notice Enrols members, or updates the coverage dates of enrolled ones.
    @param plan_id The plan.
    @param enrollments Pseudonyms with coverage start and end days (end 0: open-ended).
    """
    plan_access._enforce_role(plan_id, plan_access.Role.ADMIN)
    for e: Enrollment in enrollments:
        assert e.member != empty(bytes32), "claims: invalid member"
        end: uint256 = e.coverage_end
        if end == 0:
            end = OPEN_ENDED
        assert e.coverage_start <= end and end <= OPEN_ENDED, "claims: invalid coverage"
        self.member_words[plan_id][e.member] = 1 | (e.coverage_start << 1) | (end << 33)
        log MemberEnrolled(plan_id=plan_id, member=e.member, coverage_start=e.coverage_start, coverage_end=e.coverage_end)


@external
def set_provider(plan_id: bytes32, account: address, payout: address, provider_ref: bytes32, active: bool):
    """
    @notice Registers a provider (a hospital) and its payout address, or changes,
            suspends or reinstates it.
    @param plan_id The plan.
    @param account The account the provider submits claims from.
    @param payout Where its claims are paid.
    @param provider_ref The provider's public id (not PHI), ASCII, left-aligned.
    @param active False suspends the provider: it can no longer submit claims.
    """
    plan_access._enforce_role(plan_id, plan_access.Role.ADMIN)
    assert account != empty(address) and payout != empty(address), "claims: zero address"
    self.provider_words[plan_id][account] = convert(payout, uint256) | (convert(active, uint256) << 160)
    log ProviderSet(plan_id=plan_id, account=account, payout=payout, provider_ref=provider_ref, active=active)


@external
def set_paused(plan_id: bytes32, paused: bool):
    """
    @notice The emergency switch: a paused plan takes no claims, reviews, settlements
            or withdrawals. Funding still works.
    @param plan_id The plan.
    @param paused True to pause, False to resume.
    """
    plan_access._enforce_role(plan_id, plan_access.Role.ADMIN)
    word: uint256 = self.plan_words[plan_id] & ~(1 << 88)
    self.plan_words[plan_id] = word | (convert(paused, uint256) << 88)
    log PauseSet(plan_id=plan_id, paused=paused)


@external
@view
def paused(plan_id: bytes32) -> bool:
    """
    @notice Whether the plan is paused.
    @param plan_id The plan.
    @return bool True when paused.
    """
    return (self.plan_words[plan_id] >> 88) & MASK_1 == 1


@external
@nonreentrant
def submit_claim(plan_id: bytes32, claim: ClaimInput) -> uint256:
    """
    @notice Submits one claim from the calling provider. It is adjudicated now, and paid
            in this transaction when it is approved and the pool covers it.
    @param plan_id The plan.
    @param claim The claim.
    @return uint256 The claim's id.
    """
    terms: PlanTerms = self._open_submission(plan_id)
    payout: address = self._payout(plan_id, msg.sender)
    claim_id: uint256 = 0
    pay_now: uint256 = 0
    claim_id, pay_now = self._submit(plan_id, terms, payout, claim)
    if pay_now > 0:
        pool._send(plan_id, payout, pay_now)
    return claim_id


@external
@nonreentrant
def submit_claims(plan_id: bytes32, claims: DynArray[ClaimInput, MAX_BATCH]) -> DynArray[uint256, MAX_BATCH]:
    """
    @notice Submits a batch of claims from the calling provider, in order. The batch is
            atomic: a rejected claim reverts the whole batch. The claims paid now reach
            the provider in one transfer.
    @param plan_id The plan.
    @param claims The claims.
    @return DynArray The claims' ids, in order.
    """
    terms: PlanTerms = self._open_submission(plan_id)
    payout: address = self._payout(plan_id, msg.sender)
    ids: DynArray[uint256, MAX_BATCH] = []
    total: uint256 = 0
    for claim: ClaimInput in claims:
        claim_id: uint256 = 0
        pay_now: uint256 = 0
        claim_id, pay_now = self._submit(plan_id, terms, payout, claim)
        ids.append(claim_id)
        total += pay_now
    if total > 0:
        pool._send(plan_id, payout, total)
    return ids


@external
@nonreentrant
def review(claim_id: uint256, approve: bool):
    """
    @notice Decides a claim that is pending review. Approval pays or queues it; denial
            takes back its accumulator effects (other claims are not re-priced).
    @param claim_id The claim.
    @param approve True to approve, False to deny.
    """
    claim: PendingClaim = self.pending[claim_id]
    assert claim.plan_id != empty(bytes32), "claims: not pending review"
    plan_access._enforce_role(claim.plan_id, plan_access.Role.ADJUDICATOR)
    self._enforce_running(claim.plan_id)
    self.pending[claim_id].plan_id = empty(bytes32)
    self.pending[claim_id].lines = []
    log ClaimReviewed(claim_id=claim_id, plan_id=claim.plan_id, adjudicator=msg.sender, approved=approve)

    if approve:
        payout: address = self._payout(claim.plan_id, claim.provider)
        status: uint256 = self._approve(claim.plan_id, claim_id, claim.commitment, claim.provider, payout, claim.plan_paid)
        self._set_claim_status(claim.commitment, status)
        if status == STATUS_PAID:
            pool._send(claim.plan_id, payout, claim.plan_paid)
        return

    self._reverse(claim)
    self._set_claim_status(claim.commitment, STATUS_DENIED)


@external
@nonreentrant
def settle(plan_id: bytes32, max_claims: uint256) -> uint256:
    """
    @notice Pays queued claims first-in, first-out while the pool covers them. Anyone
            may call it: it only pays claims that were approved.
    @param plan_id The plan.
    @param max_claims At most this many claims (bounded by MAX_SETTLE).
    @return uint256 How many claims were paid.
    """
    self._enforce_plan(plan_id)
    self._enforce_running(plan_id)
    return self._settle(plan_id, max_claims)


@external
@nonreentrant
def fund(plan_id: bytes32, amount: uint256):
    """
    @notice Moves `amount` cents of the plan's token from the caller (the admin, who has
            approved the engine) into the pool, then settles queued claims it now covers.
    @param plan_id The plan.
    @param amount The amount in cents.
    """
    plan_access._enforce_role(plan_id, plan_access.Role.ADMIN)
    assert amount > 0, "pool: zero amount"
    pool._fund(plan_id, amount)
    if (self.plan_words[plan_id] >> 88) & MASK_1 == 0:
        self._settle(plan_id, AUTO_SETTLE)


@external
@nonreentrant
def withdraw(plan_id: bytes32, amount: uint256, recipient: address):
    """
    @notice Sends the insurer money that no queued claim needs.
    @param plan_id The plan.
    @param amount The amount in cents.
    @param recipient Where it goes.
    """
    plan_access._enforce_role(plan_id, plan_access.Role.ADMIN)
    self._enforce_running(plan_id)
    assert recipient != empty(address), "pool: zero address"
    pool._withdraw(plan_id, amount, recipient)


@external
@view
def plan_terms(plan_id: bytes32) -> PlanTerms:
    """
    @notice A plan's terms.
    @param plan_id The plan.
    @return PlanTerms Its terms (all zero when it does not exist).
    """
    return self._terms(plan_id, self.plan_words[plan_id])


@external
@view
def service(plan_id: bytes32, code: bytes32) -> Service:
    """
    @notice One code of a plan's schedule.
    @param plan_id The plan.
    @param code The code.
    @return Service The code's terms; `code` is empty when the code is not covered.
    """
    word: uint256 = self.service_words[plan_id][code]
    if word == 0:
        return empty(Service)
    return self._service(code, word)


@external
@view
def member(plan_id: bytes32, member: bytes32) -> (bool, uint256, uint256):
    """
    @notice A member's enrolment.
    @param plan_id The plan.
    @param member The member's pseudonym.
    @return bool Whether the member is enrolled.
    @return uint256 The coverage start day.
    @return uint256 The coverage end day (0: open-ended).
    """
    word: uint256 = self.member_words[plan_id][member]
    end: uint256 = (word >> 33) & MASK_32
    if end == OPEN_ENDED:
        end = 0
    return word & MASK_1 == 1, (word >> 1) & MASK_32, end


@external
@view
def accumulators(plan_id: bytes32, member: bytes32, period: uint256) -> (uint256, uint256, uint256):
    """
    @notice A member's accumulators in a benefit period.
    @param plan_id The plan.
    @param member The member's pseudonym.
    @param period The benefit period.
    @return uint256 deductible_met, in cents.
    @return uint256 oop_met, in cents.
    @return uint256 benefit_used, in cents.
    """
    word: uint256 = self.accumulator_words[plan_id][member][period]
    return word & MASK_64, (word >> 64) & MASK_64, word >> 128


@external
@view
def provider(plan_id: bytes32, account: address) -> (address, bool):
    """
    @notice A provider's payout address and whether it is active.
    @param plan_id The plan.
    @param account The provider's account.
    @return address The payout address.
    @return bool Whether it may submit claims.
    """
    word: uint256 = self.provider_words[plan_id][account]
    return convert(word & (2**160 - 1), address), (word >> 160) & MASK_1 == 1


@external
@view
def claim_status(commitment: bytes32) -> ClaimState:
    """
    @notice The state of the claim submitted with a record commitment.
    @param commitment The record commitment.
    @return ClaimState Its id, status (0 none, 1 denied, 2 pending review, 3 queued,
            4 paid) and plan_paid in cents.
    """
    word: uint256 = self.claim_words[commitment]
    return ClaimState(claim_id=word & MASK_64, status=(word >> 64) & 255, plan_paid=word >> 72)


@external
@view
def pool_state(plan_id: bytes32) -> pool.Pool:
    """
    @notice A plan's pool: balance and reserved (what queued claims need) in cents, and
            the queue's head and tail positions.
    @param plan_id The plan.
    @return Pool The pool.
    """
    return pool._pool(plan_id)


@external
@view
def queued_claim(plan_id: bytes32, position: uint256) -> pool.QueuedClaim:
    """
    @notice The claim at a queue position (empty once it is paid).
    @param plan_id The plan.
    @param position The position.
    @return QueuedClaim The claim.
    """
    word: uint256 = pool.queue_head_words[plan_id][position]
    return pool.QueuedClaim(
        claim_id=word >> 224,
        commitment=pool.queue_commitments[plan_id][position],
        provider=convert(word & (2**160 - 1), address),
        amount=(word >> 160) & MASK_64,
    )


@external
@view
def token_of(plan_id: bytes32) -> (address, uint256):
    """
    @notice A plan's settlement token and how many token units make a cent.
    @param plan_id The plan.
    @return address The token.
    @return uint256 Token units per cent.
    """
    return pool._token(plan_id)


@external
@view
def today() -> uint256:
    """
    @notice The chain's current day: days since 1970-01-01.
    @return uint256 The day.
    """
    return block.timestamp // SECONDS_PER_DAY


@internal
def _set_services(plan_id: bytes32, services: DynArray[Service, MAX_SERVICES_PER_CALL]):
    count: uint256 = self.service_count[plan_id]
    for s: Service in services:
        assert s.code != empty(bytes32), "claims: invalid service"
        assert s.fee <= MASK_64 and s.copay <= MASK_64, "claims: invalid service"
        assert s.max_units_per_day <= MASK_32 and s.max_units_per_period <= MASK_32, "claims: invalid service"
        index: uint256 = self.service_words[plan_id][s.code] & MASK_16
        if index == 0:
            count += 1
            assert count <= MAX_SERVICES, "claims: schedule full"
            index = count
        self.service_words[plan_id][s.code] = (
            index
            | (s.fee << 16)
            | (s.copay << 80)
            | (convert(s.has_copay, uint256) << 144)
            | (convert(s.deductible_applies, uint256) << 145)
            | (convert(s.prior_auth, uint256) << 146)
            | (s.max_units_per_day << 147)
            | (s.max_units_per_period << 179)
        )
        log ServiceSet(
            plan_id=plan_id,
            code=s.code,
            fee=s.fee,
            has_copay=s.has_copay,
            copay=s.copay,
            deductible_applies=s.deductible_applies,
            prior_auth=s.prior_auth,
            max_units_per_day=s.max_units_per_day,
            max_units_per_period=s.max_units_per_period,
        )
    self.service_count[plan_id] = count


@internal
@view
def _enforce_plan(plan_id: bytes32):
    assert self.plan_words[plan_id] != 0, "claims: unknown plan"


@internal
@view
def _open_submission(plan_id: bytes32) -> PlanTerms:
    """
    @dev Check 1 of the spec: only an active provider of the plan may submit.
    """
    assert (self.provider_words[plan_id][msg.sender] >> 160) & MASK_1 == 1, "claims: not authorised"
    word: uint256 = self.plan_words[plan_id]
    assert (word >> 88) & MASK_1 == 0, "claims: plan paused"
    return self._terms(plan_id, word)


@internal
@view
def _payout(plan_id: bytes32, account: address) -> address:
    return convert(self.provider_words[plan_id][account] & (2**160 - 1), address)


@internal
@view
def _terms(plan_id: bytes32, word: uint256) -> PlanTerms:
    return PlanTerms(
        token=pool._token(plan_id)[0],
        effective_day=word & MASK_24,
        benefit_period_days=(word >> 24) & MASK_16,
        waiting_period_days=(word >> 40) & MASK_16,
        timely_filing_days=(word >> 56) & MASK_16,
        deductible=(word >> 96) & MASK_40,
        out_of_pocket_max=(word >> 136) & MASK_40,
        has_benefit_max=(word >> 86) & MASK_1 == 1,
        annual_benefit_max=(word >> 176) & MASK_40,
        coinsurance_bps=(word >> 72) & MASK_14,
        auto_approve_limit=word >> 216,
    )


@internal
@view
def _enforce_running(plan_id: bytes32):
    """
    @dev Refuses work on a paused plan.
    """
    assert (self.plan_words[plan_id] >> 88) & MASK_1 == 0, "claims: plan paused"


@internal
@pure
def _service(code: bytes32, word: uint256) -> Service:
    return Service(
        code=code,
        fee=(word >> 16) & MASK_64,
        has_copay=(word >> 144) & MASK_1 == 1,
        copay=(word >> 80) & MASK_64,
        deductible_applies=(word >> 145) & MASK_1 == 1,
        prior_auth=(word >> 146) & MASK_1 == 1,
        max_units_per_day=(word >> 147) & MASK_32,
        max_units_per_period=(word >> 179) & MASK_32,
    )


@internal
@view
def _claim_denial(plan_id: bytes32, terms: PlanTerms, member: bytes32, service_day: uint256, today: uint256) -> uint256:
    """
    @dev Claim-level checks 5 to 9, in the spec's order. 0 when none fails.
    """
    word: uint256 = self.member_words[plan_id][member]
    if word & MASK_1 == 0:
        return DENY_NOT_ENROLLED
    start: uint256 = (word >> 1) & MASK_32
    end: uint256 = (word >> 33) & MASK_32
    if service_day < max(terms.effective_day, start):
        return DENY_OUTSIDE_COVERAGE_START
    if service_day > end:
        return DENY_AFTER_COVERAGE_END
    if service_day < start + terms.waiting_period_days:
        return DENY_OUTSIDE_COVERAGE_START
    # @dev service_day <= today was checked before (reject 4).
    if unsafe_sub(today, service_day) > terms.timely_filing_days:
        return DENY_LATE_FILING
    return 0


@internal
def _submit(
    plan_id: bytes32, terms: PlanTerms, payout: address, claim: ClaimInput
) -> (uint256, uint256):
    """
    @dev Adjudicates one claim, records it, and pays or queues it when approved.
         Returns the claim id and what must be paid to the provider now, in cents.
    """
    assert self.claim_words[claim.commitment] == 0, "claims: duplicate"
    assert len(claim.lines) > 0, "claims: invalid claim"
    for line: ClaimLine in claim.lines:
        assert line.units > 0 and line.units <= MASK_32 and line.billed <= MASK_64, "claims: invalid claim"
    today: uint256 = block.timestamp // SECONDS_PER_DAY
    assert claim.service_day <= today, "claims: service date in the future"

    claim_id: uint256 = self.next_claim_id
    self.next_claim_id = claim_id + 1

    denial: uint256 = self._claim_denial(plan_id, terms, claim.member, claim.service_day, today)
    period: uint256 = 0
    deductible_met: uint256 = 0
    oop_met: uint256 = 0
    benefit_used: uint256 = 0
    if denial == 0:
        period = (claim.service_day - terms.effective_day) // terms.benefit_period_days
        word: uint256 = self.accumulator_words[plan_id][claim.member][period]
        deductible_met = word & MASK_64
        oop_met = (word >> 64) & MASK_64
        benefit_used = word >> 128

    plan_paid: uint256 = 0
    deductible: uint256 = 0
    out_of_pocket: uint256 = 0
    priced: uint256 = 0
    keys: DynArray[bytes32, MAX_LINES] = []
    bits: DynArray[uint256, MAX_LINES] = []
    counted: uint256 = 0
    index: uint256 = 0
    for line: ClaimLine in claim.lines:
        price: pricing.LinePrice = empty(pricing.LinePrice)
        line_denial: uint256 = denial
        if line_denial == 0:
            key: bytes32 = empty(bytes32)
            bit: uint256 = 0
            line_denial, price, key, bit = self._adjudicate_line(
                plan_id, terms, claim.member, claim.service_day, claim.prior_auth, line, period,
                deductible_met, oop_met, benefit_used
            )
            if line_denial == 0:
                # @dev Rule (c) looks at earlier claims only, so this claim's keys are
                # written after all its lines.
                keys.append(key)
                bits.append(bit)
        if line_denial == 0:
            deductible_met += price.deductible
            oop_met += price.deductible + price.copay + price.coinsurance
            benefit_used += price.plan_paid
            deductible += price.deductible
            out_of_pocket += price.deductible + price.copay + price.coinsurance
            plan_paid += price.plan_paid
            priced += 1
            counted |= 1 << index
        log LineAdjudicated(
            claim_id=claim_id,
            line=index,
            code=line.code,
            units=line.units,
            billed=line.billed,
            allowed=price.allowed,
            deductible=price.deductible,
            copay=price.copay,
            coinsurance=price.coinsurance,
            benefit_limit=price.benefit_limit,
            plan_paid=price.plan_paid,
            denial=line_denial,
        )
        index += 1

    for i: uint256 in range(len(keys), bound=MAX_LINES):
        self.line_bitmaps[plan_id][keys[i]] |= bits[i]
    if priced > 0:
        self.accumulator_words[plan_id][claim.member][period] = (
            deductible_met | (oop_met << 64) | (benefit_used << 128)
        )

    status: uint256 = STATUS_DENIED
    if priced > 0:
        if plan_paid > terms.auto_approve_limit:
            status = STATUS_PENDING_REVIEW
        else:
            status = self._approve(plan_id, claim_id, claim.commitment, msg.sender, payout, plan_paid)

    self.claim_words[claim.commitment] = claim_id | (status << 64) | (plan_paid << 72)
    log ClaimSubmitted(
        claim_id=claim_id,
        plan_id=plan_id,
        member=claim.member,
        provider=msg.sender,
        commitment=claim.commitment,
        service_day=claim.service_day,
        status=status,
        plan_paid=plan_paid,
    )
    if status == STATUS_PENDING_REVIEW:
        lines: DynArray[PendingLine, MAX_LINES] = []
        for i: uint256 in range(len(claim.lines), bound=MAX_LINES):
            priced_line: bool = (counted >> i) & 1 == 1
            limited: bool = (self.service_words[plan_id][claim.lines[i].code] >> 179) & MASK_32 != 0
            lines.append(
                PendingLine(
                    code=claim.lines[i].code,
                    units=claim.lines[i].units,
                    counted=priced_line,
                    units_counted=priced_line and limited,
                )
            )
        self.pending[claim_id] = PendingClaim(
            plan_id=plan_id,
            commitment=claim.commitment,
            provider=msg.sender,
            member=claim.member,
            service_day=claim.service_day,
            period=period,
            deductible=deductible,
            out_of_pocket=out_of_pocket,
            plan_paid=plan_paid,
            lines=lines,
        )
        log ClaimPendingReview(claim_id=claim_id, plan_id=plan_id, plan_paid=plan_paid)
    if status == STATUS_PAID:
        return claim_id, plan_paid
    return claim_id, 0


@internal
def _adjudicate_line(
    plan_id: bytes32,
    terms: PlanTerms,
    member: bytes32,
    service_day: uint256,
    prior_auth: bool,
    line: ClaimLine,
    period: uint256,
    deductible_met: uint256,
    oop_met: uint256,
    benefit_used: uint256,
) -> (uint256, pricing.LinePrice, bytes32, uint256):
    """
    @dev Line rules (a) to (e) in order, then pricing. Returns the denial code (0 when
         the line is priced), its price, and its duplicate-line key and bit. Counts the
         line's units when it passes (e).
    """
    word: uint256 = self.service_words[plan_id][line.code]
    if word == 0:
        return DENY_NOT_COVERED, empty(pricing.LinePrice), empty(bytes32), 0
    svc: Service = self._service(line.code, word)
    if svc.prior_auth and not prior_auth:
        return DENY_NO_PRIOR_AUTH, empty(pricing.LinePrice), empty(bytes32), 0
    index: uint256 = word & MASK_16
    key: bytes32 = keccak256(abi_encode(member, msg.sender, service_day, index >> 8))
    bit: uint256 = 1 << (index & 255)
    if self.line_bitmaps[plan_id][key] & bit != 0:
        return DENY_DUPLICATE_LINE, empty(pricing.LinePrice), empty(bytes32), 0
    if svc.max_units_per_day != 0 and line.units > svc.max_units_per_day:
        return DENY_DAILY_UNITS, empty(pricing.LinePrice), empty(bytes32), 0
    if svc.max_units_per_period != 0:
        used: uint256 = self.units_used[plan_id][member][period][line.code]
        if used + line.units > svc.max_units_per_period:
            return DENY_PERIOD_UNITS, empty(pricing.LinePrice), empty(bytes32), 0
        self.units_used[plan_id][member][period][line.code] = used + line.units

    benefit_left: uint256 = max_value(uint256)
    if terms.has_benefit_max:
        benefit_left = terms.annual_benefit_max - min(benefit_used, terms.annual_benefit_max)
    price: pricing.LinePrice = pricing._price_line(
        line.billed,
        svc.fee,
        line.units,
        svc.copay,
        svc.has_copay,
        svc.deductible_applies,
        terms.coinsurance_bps,
        terms.deductible - min(deductible_met, terms.deductible),
        terms.out_of_pocket_max - min(oop_met, terms.out_of_pocket_max),
        benefit_left,
    )
    return 0, price, key, bit


@internal
def _approve(
    plan_id: bytes32, claim_id: uint256, commitment: bytes32, provider: address, payout: address, amount: uint256
) -> uint256:
    """
    @dev An approved claim: paid now (the caller transfers) or queued.
    """
    if pool._approve_payment(plan_id, claim_id, commitment, provider, amount):
        log pool.ClaimPaid(claim_id=claim_id, plan_id=plan_id, payee=payout, amount=amount)
        return STATUS_PAID
    return STATUS_QUEUED


@internal
def _reverse(claim: PendingClaim):
    """
    @dev A review denial takes back the claim's accumulator effects, its units and its
         duplicate-line keys. Other claims are not re-priced.
    """
    word: uint256 = self.accumulator_words[claim.plan_id][claim.member][claim.period]
    deductible_met: uint256 = (word & MASK_64) - claim.deductible
    oop_met: uint256 = ((word >> 64) & MASK_64) - claim.out_of_pocket
    benefit_used: uint256 = (word >> 128) - claim.plan_paid
    self.accumulator_words[claim.plan_id][claim.member][claim.period] = (
        deductible_met | (oop_met << 64) | (benefit_used << 128)
    )
    for line: PendingLine in claim.lines:
        if not line.counted:
            continue
        svc: uint256 = self.service_words[claim.plan_id][line.code]
        if line.units_counted:
            self.units_used[claim.plan_id][claim.member][claim.period][line.code] -= line.units
        index: uint256 = svc & MASK_16
        key: bytes32 = keccak256(abi_encode(claim.member, claim.provider, claim.service_day, index >> 8))
        self.line_bitmaps[claim.plan_id][key] &= ~(1 << (index & 255))


@internal
def _set_claim_status(commitment: bytes32, status: uint256):
    word: uint256 = self.claim_words[commitment]
    self.claim_words[commitment] = (word & MASK_64) | (status << 64) | ((word >> 72) << 72)


@internal
def _settle(plan_id: bytes32, max_claims: uint256) -> uint256:
    """
    @dev Pays queued claims first-in, first-out, and stops at the first one the pool
         cannot cover.
    """
    paid: uint256 = 0
    for i: uint256 in range(max_claims, bound=MAX_SETTLE):
        queued: pool.QueuedClaim = pool._pop_payable(plan_id)
        if queued.claim_id == 0:
            break
        payout: address = self._payout(plan_id, queued.provider)
        self._set_claim_status(queued.commitment, STATUS_PAID)
        log pool.ClaimPaid(claim_id=queued.claim_id, plan_id=plan_id, payee=payout, amount=queued.amount)
        pool._send(plan_id, payout, queued.amount)
        paid += 1
    return paid
