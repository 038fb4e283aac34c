# pragma version ~=0.4.3
# pragma evm-version cancun
# pragma optimize codesize
# pragma experimental-codegen
"""
@title Claims engine
@notice One deployment serves many plans and many insurers. The owner admits insurers; an
        insurer creates a plan (terms and dated service schedule versions), enrols members
        under keyed pseudonyms, registers providers and funds the plan's pool. Providers
        submit claims, one per call or in batches; each claim is adjudicated line by line
        as `adjudication.md` orders it, the member's accumulators are updated, and approved
        claims are paid from the pool in the same transaction, or queued first-in,
        first-out when the pool is short. Claims above the plan's auto-approve limit, or
        past its provider daily limit, wait for the plan's quorum of adjudicators. A
        provider may void its claim, or replace it with a corrected one; a voided paid
        claim is a debt kept back from the provider's next payments. A payment the token
        refuses is credited to the provider in the engine, and settlement goes on.
        This contract composes the modules: `plan_access` (owner, insurers, roles),
        `registry` (plans, schedules, members, providers), `ledger` (claims and their
        effects) and `pool` (money); `pricing` and `packing` are stateless.
@custom:contact claimsengine developers
"""

from modules import ledger
from modules import packing
from modules import plan_access
from modules import pool
from modules import pricing
from modules import registry

initializes: plan_access
initializes: registry[plan_access := plan_access]
initializes: ledger[plan_access := plan_access]
initializes: pool

exports: (
    plan_access.owner,
    plan_access.insurers,
    plan_access.set_insurer,
    plan_access.roles,
    plan_access.admin,
    plan_access.pending_admin,
    plan_access.set_role,
    plan_access.transfer_admin,
    plan_access.accept_admin,
    registry.add_services,
    registry.update_schedule,
    registry.enroll,
    registry.register_provider,
    registry.add_provider_account,
    registry.remove_provider_account,
    registry.set_provider_active,
    registry.set_payout,
    registry.set_paused,
    registry.member,
    registry.provider_of,
    registry.service_on,
    ledger.units_used,
    ledger.next_claim_id,
)


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


# @dev A claim's state, as `claim_status` returns it.
struct ClaimState:
    claim_id: uint256
    status: uint256
    plan_paid: uint256


# @dev What one call of a provider needs to know, read once per call.
struct Submission:
    plan_id: bytes32
    terms: packing.Terms
    provider: uint256
    payout: address
    in_debt: bool
    today: uint256


# @dev A claim's running totals while its lines are priced. `denial` is the claim-level
# denial (0: eligible); `counted` has bit i set when line i was priced.
struct Tally:
    denial: uint256
    period: uint256
    version: uint256
    deductible_met: uint256
    oop_met: uint256
    benefit_used: uint256
    deductible: uint256
    out_of_pocket: uint256
    plan_paid: uint256
    counted: uint256
    lines_hash: bytes32


MAX_LINES: constant(uint256) = ledger.MAX_LINES
MAX_BATCH: constant(uint256) = 100
MAX_SETTLE: constant(uint256) = 256
# @dev Funding settles at most this many queued claims; `settle` does the rest.
AUTO_SETTLE: constant(uint256) = 32
SECONDS_PER_DAY: constant(uint256) = 86_400

# @dev Claim statuses. 0 means never submitted.
STATUS_DENIED: constant(uint256) = 1
STATUS_PENDING_REVIEW: constant(uint256) = 2
STATUS_QUEUED: constant(uint256) = 3
STATUS_PAID: constant(uint256) = 4
STATUS_VOIDED: constant(uint256) = 5

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

# @dev Review denial reasons: 50 (the default), 16, 96, 197, 204.
REVIEW_DEFAULT_REASON: constant(uint256) = 50


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
    has_provider_daily_limit: bool
    provider_daily_limit: uint256
    review_quorum: uint256


# @dev A claim was adjudicated. `status` is its status right after submission. Its lines
# (LineAdjudicated, emitted just before) carry the amounts; `plan_paid` is their total.
# `provider` is the account that sent it.
event ClaimSubmitted:
    claim_id: indexed(uint256)
    plan_id: indexed(bytes32)
    member: indexed(bytes32)
    provider: address
    commitment: bytes32
    service_day: uint256
    status: uint256
    plan_paid: uint256


# @dev One line's adjudication. `denial` is 0 for a line that was priced. A claim's lines
# are logged in their order, just before its ClaimSubmitted.
event LineAdjudicated:
    claim_id: indexed(uint256)
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


# @dev A claim waits for an adjudicator: above the auto-approve limit, or past the
# provider daily limit.
event ClaimPendingReview:
    claim_id: indexed(uint256)
    plan_id: indexed(bytes32)
    plan_paid: uint256


# @dev A claim in review was decided: the vote of `adjudicator` completed the plan's
# review quorum. `reason` is the denial code (0 on approval): after a denial every line
# reads as denied with it.
event ClaimReviewed:
    claim_id: indexed(uint256)
    plan_id: indexed(bytes32)
    adjudicator: indexed(address)
    approved: bool
    reason: uint256


# @dev An adjudicator voted on a claim in review. `reason` is the denial code (0 on an
# approval); `approvals` and `denials` count the votes so far, this one included.
event ReviewVoted:
    claim_id: indexed(uint256)
    plan_id: indexed(bytes32)
    adjudicator: indexed(address)
    approved: bool
    reason: uint256
    approvals: uint256
    denials: uint256


# @dev The provider voided its claim: its effects were taken back, and it left the queue.
# `status_before` is its status then; `replaced_by` the id of the claim that replaced it
# (0 for a plain void); `debt` what the void added to the provider's debt to the plan
# (the claim's plan_paid when it had been paid, else 0).
event ClaimVoided:
    claim_id: indexed(uint256)
    plan_id: indexed(bytes32)
    provider_ref: indexed(bytes32)
    status_before: uint256
    replaced_by: uint256
    debt: uint256


@deploy
def __init__():
    """
    @notice Deploys an engine with no plans. The deployer is the owner, who admits
            insurers; only an insurer creates a plan.
    """
    plan_access.__init__()
    ledger.__init__()


@external
@nonreentrant
def create_plan(plan_id: bytes32, terms: registry.PlanTerms, services: DynArray[registry.Service, registry.MAX_SERVICES_PER_CALL]):
    """
    @notice Creates a plan; the caller, an insurer, becomes its admin.
    @param plan_id The plan's id, ASCII, left-aligned.
    @param terms The plan's terms.
    @param services The first codes of its first schedule version (more via `add_services`).
    """
    plan_access._init_plan(plan_id, msg.sender)
    registry._create(plan_id, terms, services)
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
        has_provider_daily_limit=terms.has_provider_daily_limit,
        provider_daily_limit=terms.provider_daily_limit,
        review_quorum=terms.review_quorum,
    )


@external
@nonreentrant
def submit_claim(plan_id: bytes32, claim: ClaimInput) -> uint256:
    """
    @notice Submits one claim from the calling provider account. It is adjudicated now,
            and paid in this transaction when it is approved and the pool covers it.
    @param plan_id The plan.
    @param claim The claim.
    @return uint256 The claim's id.
    """
    ctx: Submission = self._open_submission(plan_id)
    claim_id: uint256 = 0
    pay_now: uint256 = 0
    claim_id, pay_now = self._submit(ctx, claim)
    if pay_now > 0:
        self._pay(plan_id, ctx.provider, ctx.payout, claim_id, pay_now, self._debt(ctx))
    return claim_id


@external
@nonreentrant
def submit_claims(plan_id: bytes32, claims: DynArray[ClaimInput, MAX_BATCH]) -> DynArray[uint256, MAX_BATCH]:
    """
    @notice Submits a batch of claims from the calling provider account, in order. The
            batch is atomic: a rejected claim reverts the whole batch. The claims paid now
            reach the provider in one transfer.
    @param plan_id The plan.
    @param claims The claims.
    @return DynArray The claims' ids, in order.
    """
    ctx: Submission = self._open_submission(plan_id)
    ids: DynArray[uint256, MAX_BATCH] = []
    total: uint256 = 0
    for claim: ClaimInput in claims:
        claim_id: uint256 = 0
        pay_now: uint256 = 0
        claim_id, pay_now = self._submit(ctx, claim)
        ids.append(claim_id)
        total += pay_now
    if total > 0:
        self._pay(plan_id, ctx.provider, ctx.payout, 0, total, self._debt(ctx))
    return ids


@external
@nonreentrant
def submit_replacement(
    plan_id: bytes32, commitment: bytes32, effects: ledger.Effects, position: uint256, claim: ClaimInput
) -> uint256:
    """
    @notice Voids the calling provider's claim with record `commitment` (as `void_claim`)
            and submits the corrected claim in its place (as `submit_claim`), in one
            transaction. A paid claim's plan_paid is recovered from the new claim's payment.
    @param plan_id The plan.
    @param commitment The replaced claim's record commitment.
    @param effects The replaced claim's effects, as `void_claim` takes them.
    @param position The replaced claim's queue position when it is queued.
    @param claim The corrected claim.
    @return uint256 The new claim's id.
    """
    ctx: Submission = self._open_submission(plan_id)
    self._void(plan_id, ctx.provider, commitment, effects, position, ledger.next_claim_id)
    claim_id: uint256 = 0
    pay_now: uint256 = 0
    claim_id, pay_now = self._submit(ctx, claim)
    if pay_now > 0:
        # @dev The void may have just put the provider in debt: read it afresh.
        self._pay(plan_id, ctx.provider, ctx.payout, claim_id, pay_now, registry._payout(plan_id, ctx.provider)[1])
    return claim_id


@external
@nonreentrant
def void_claim(plan_id: bytes32, commitment: bytes32, effects: ledger.Effects, position: uint256) -> uint256:
    """
    @notice Voids the calling provider's claim with record `commitment`: pending review,
            queued or paid, within timely_filing_days of its service day. Its accumulator
            effects, period units and duplicate-line keys are taken back, it leaves the
            queue (the others keep their order), and a paid claim's plan_paid becomes the
            provider's debt to the plan, kept back from its next payments. Any account
            of the provider may, also while it is suspended.
    @param plan_id The plan.
    @param commitment The claim's record commitment.
    @param effects What the claim left behind, as its events record it (checked against
           the hash kept with the claim).
    @param position The claim's queue position (its ClaimQueued event) when it is queued.
    @return uint256 The claim's id.
    """
    account: uint256 = registry.account_words[plan_id][msg.sender]
    provider: uint256 = (account >> packing.ACCOUNT_PROVIDER) & packing.MASK_32
    # @dev A removed account keeps its provider's number, and no payout.
    assert provider != 0 and account & packing.MASK_160 != 0, "claims: not authorised"
    return self._void(plan_id, provider, commitment, effects, position, 0)


@external
@nonreentrant
def review(
    plan_id: bytes32, provider_ref: bytes32, commitment: bytes32, effects: ledger.Effects, approve: bool, reason: uint256
) -> uint256:
    """
    @notice Votes on a claim that is pending review; each adjudicator votes once. The
            plan's review_quorum of approvals approves it (it is paid or queued), the same
            number of denials denies it: its accumulator effects are taken back (other
            claims are not re-priced), and every line then reads as denied with the
            reason of the vote that completed the denial.
    @param plan_id The plan.
    @param provider_ref The claim's provider.
    @param commitment The claim's record commitment.
    @param effects What the claim left behind, as `void_claim` takes them (used on denial).
    @param approve True to approve, False to deny.
    @param reason On denial: 50, 16, 96, 197 or 204 (0 means 50). Ignored on approval.
    @return uint256 The claim's status after the vote.
    """
    plan_access._enforce_role(plan_id, plan_access.Role.ADJUDICATOR)
    plan_word: uint256 = registry.plan_words[plan_id]
    self._enforce_not_paused(plan_word)
    provider: uint256 = registry.provider_numbers[plan_id][provider_ref]
    word: uint256 = ledger.claim_words[plan_id][provider][commitment]
    claim_id: uint256 = 0
    status: uint256 = 0
    plan_paid: uint256 = 0
    claim_id, status, plan_paid = packing._unpack_claim(word)
    assert status == STATUS_PENDING_REVIEW, "claims: not pending review"
    code: uint256 = 0
    if not approve:
        code = self._review_reason(reason)
    approvals: uint256 = 0
    denials: uint256 = 0
    quorum: uint256 = (plan_word >> packing.PLAN_QUORUM) & packing.MASK_5
    approvals, denials = ledger._vote(plan_id, claim_id, approve, quorum)
    log ReviewVoted(
        claim_id=claim_id, plan_id=plan_id, adjudicator=msg.sender, approved=approve, reason=code, approvals=approvals, denials=denials
    )
    if max(approvals, denials) < quorum:
        return STATUS_PENDING_REVIEW
    log ClaimReviewed(claim_id=claim_id, plan_id=plan_id, adjudicator=msg.sender, approved=approve, reason=code)

    status = STATUS_DENIED
    if approve:
        payout: address = empty(address)
        debt: uint256 = 0
        payout, debt = registry._payout(plan_id, provider)
        status = STATUS_QUEUED
        if pool._approve_payment(plan_id, claim_id, commitment, provider, payout, plan_paid):
            status = STATUS_PAID
        ledger._set_status(plan_id, provider, commitment, status)
        if status == STATUS_PAID:
            self._pay(plan_id, provider, payout, claim_id, plan_paid, debt)
    else:
        ledger._check_effects(word, effects)
        self._take_back(plan_id, provider, plan_word, plan_paid, effects)
        ledger._set_status(plan_id, provider, commitment, status)
    return status


@external
@nonreentrant
def settle(plan_id: bytes32, max_claims: uint256) -> uint256:
    """
    @notice Pays queued claims first-in, first-out while the pool covers them. Anyone
            may call it: it only pays claims that were approved. Works while the plan is
            paused: the insurer's switch stops new work, not payment of approved claims.
    @param plan_id The plan.
    @param max_claims At most this many claims; more than 256 pays up to 256.
    @return uint256 How many claims were paid.
    """
    self._enforce_plan(plan_id)
    return self._settle(plan_id, min(max_claims, MAX_SETTLE))


@external
@nonreentrant
def fund(plan_id: bytes32, amount: uint256):
    """
    @notice Moves `amount` cents of the plan's token from the caller (the admin, who has
            approved the engine) into the pool, then settles queued claims it now covers.
            The engine's balance must grow by the whole amount.
    @param plan_id The plan.
    @param amount The amount in cents.
    """
    plan_access._enforce_role(plan_id, plan_access.Role.ADMIN)
    pool._fund(plan_id, amount)
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
    pool._withdraw(plan_id, amount, recipient)


@external
@nonreentrant
def collect(plan_id: bytes32, provider_ref: bytes32) -> uint256:
    """
    @notice Sends the provider's credit (payments the token refused) to its current payout
            address. Only the provider's owner account may. Works while the plan is paused.
    @param plan_id The plan.
    @param provider_ref The provider.
    @return uint256 The amount collected, in cents.
    """
    number: uint256 = registry._owned_provider(plan_id, provider_ref)
    payout: address = empty(address)
    debt: uint256 = 0
    payout, debt = registry._payout(plan_id, number)
    kept: uint256 = min(debt, pool.credits[plan_id][number])
    if kept != 0:
        self._keep_for_debt(plan_id, number, 0, debt, kept)
    return pool._collect(plan_id, number, provider_ref, payout, kept)


@external
@view
def plan_terms(plan_id: bytes32) -> registry.PlanTerms:
    """
    @notice A plan's terms.
    @param plan_id The plan.
    @return PlanTerms Its terms (all zero when it does not exist).
    """
    terms: packing.Terms = packing._unpack_plan(registry.plan_words[plan_id])
    limit: uint256 = 0
    if terms.has_daily_limit:
        limit = registry.daily_limits[plan_id]
    return registry.PlanTerms(
        token=pool._token(plan_id)[0],
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
        review_quorum=terms.review_quorum,
        has_provider_daily_limit=terms.has_daily_limit,
        provider_daily_limit=limit,
    )


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
    return ledger._accumulators(plan_id, member, period)


@external
@view
def provider_info(plan_id: bytes32, provider_ref: bytes32) -> (address, address, bool, uint256, uint256, uint256):
    """
    @notice A provider's owner account, payout address, status, NPI, credit and debt.
    @param plan_id The plan.
    @param provider_ref The provider.
    @return address Its owner account (empty when unknown).
    @return address Its payout address.
    @return bool Whether it may submit claims.
    @return uint256 Its NPI (0: none).
    @return uint256 Its credit in cents: payments the token refused, to collect.
    @return uint256 Its debt in cents: voided paid claims not yet recovered.
    """
    number: uint256 = registry.provider_numbers[plan_id][provider_ref]
    payout: address = empty(address)
    debt: uint256 = 0
    payout, debt = registry._payout(plan_id, number)
    return (
        registry.provider_owners[plan_id][number],
        payout,
        registry.provider_active[plan_id][number],
        registry.provider_npis[plan_id][number],
        pool.credits[plan_id][number],
        debt,
    )


@external
@view
def claim_status(plan_id: bytes32, provider_ref: bytes32, commitment: bytes32) -> ClaimState:
    """
    @notice The state of the claim a provider submitted to a plan with a record commitment.
    @param plan_id The plan.
    @param provider_ref The provider.
    @param commitment The record commitment.
    @return ClaimState Its id, status (0 none, 1 denied, 2 pending review, 3 queued,
            4 paid, 5 voided) and plan_paid in cents.
    """
    number: uint256 = registry.provider_numbers[plan_id][provider_ref]
    claim_id: uint256 = 0
    status: uint256 = 0
    plan_paid: uint256 = 0
    if number != 0:
        claim_id, status, plan_paid = packing._unpack_claim(ledger._claim_word(plan_id, number, commitment))
    return ClaimState(claim_id=claim_id, status=status, plan_paid=plan_paid)


@external
@view
def review_votes(plan_id: bytes32, claim_id: uint256) -> (uint256, uint256):
    """
    @notice The votes on a claim in review so far that count: those of accounts that hold
            the adjudicator role now.
    @param plan_id The claim's plan.
    @param claim_id The claim.
    @return uint256 Approvals.
    @return uint256 Denials.
    """
    return ledger._counted_votes(plan_id, claim_id)


@external
@view
def has_voted(claim_id: uint256, account: address) -> bool:
    """
    @notice Whether an adjudicator's vote is on the ballot of a claim in review (a vote
            of an account that lost the role is dropped at the next vote; the vote that
            decides a claim is in its events only).
    @param claim_id The claim.
    @param account The adjudicator.
    @return bool True when it voted.
    """
    return ledger._has_voted(claim_id, account)


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
    @notice The claim at a queue position (empty once it is paid). `provider` is the
            provider's number in the plan.
    @param plan_id The plan.
    @param position The position.
    @return QueuedClaim The claim.
    """
    return pool._queued(plan_id, position)


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
@view
def _enforce_plan(plan_id: bytes32):
    assert registry.plan_words[plan_id] != 0, "claims: unknown plan"


@internal
@view
def _enforce_running(plan_id: bytes32):
    """
    @dev Refuses work on a paused plan.
    """
    self._enforce_not_paused(registry.plan_words[plan_id])


@internal
@pure
def _enforce_not_paused(plan_word: uint256):
    assert (plan_word >> packing.PLAN_PAUSED) & packing.MASK_1 == 0, "claims: plan paused"


@internal
@pure
def _review_reason(reason: uint256) -> uint256:
    if reason == 0:
        return REVIEW_DEFAULT_REASON
    assert reason == 50 or reason == 16 or reason == 96 or reason == 197 or reason == 204, "claims: invalid reason"
    return reason


@internal
@view
def _open_submission(plan_id: bytes32) -> Submission:
    """
    @dev Check 1 of the spec: only an account of an active provider of the plan may
         submit, and not while the plan is paused.
    """
    account: uint256 = registry.account_words[plan_id][msg.sender]
    assert (account >> packing.ACCOUNT_ACTIVE) & packing.MASK_1 == 1, "claims: not authorised"
    word: uint256 = registry.plan_words[plan_id]
    self._enforce_not_paused(word)
    return Submission(
        plan_id=plan_id,
        terms=packing._unpack_plan(word),
        provider=(account >> packing.ACCOUNT_PROVIDER) & packing.MASK_32,
        payout=convert(account & packing.MASK_160, address),
        in_debt=(account >> packing.ACCOUNT_IN_DEBT) & packing.MASK_1 == 1,
        today=block.timestamp // SECONDS_PER_DAY,
    )


@internal
def _submit(ctx: Submission, claim: ClaimInput) -> (uint256, uint256):
    """
    @dev One claim: check, price, record, route. Returns the claim id and what must be
         paid to the provider now, in cents. The lines are priced here, not in a callee,
         so that the claim is copied once (memory is what a submission pays most for).
    """
    # @dev Check: rejects 2 to 4; nothing is recorded.
    self._check(ctx, claim.commitment, claim.service_day, claim.lines)
    # @dev The ledger's claim counter, taken in place (every claim pays for this).
    claim_id: uint256 = ledger.next_claim_id
    ledger.next_claim_id = claim_id + 1

    # @dev Price: checks 5 to 9, then each line's rules (a) to (e) and its price.
    tally: Tally = self._open_tally(ctx, claim.member, claim.service_day)
    keys: DynArray[bytes32, MAX_LINES] = []
    bits: DynArray[uint256, MAX_LINES] = []
    index: uint256 = 0
    for line: ClaimLine in claim.lines:
        price: pricing.LinePrice = empty(pricing.LinePrice)
        denial: uint256 = tally.denial
        if denial == 0:
            key: bytes32 = empty(bytes32)
            bit: uint256 = 0
            denial, price, key, bit = self._price_line(ctx, claim.member, claim.service_day, claim.prior_auth, line, tally)
            if denial == 0:
                keys.append(key)
                bits.append(bit)
                tally.lines_hash = ledger._chain_line(tally.lines_hash, line.code, line.units)
                # @dev A priced line's shares go to the claim's and the member's totals.
                patient: uint256 = price.deductible + price.copay + price.coinsurance
                tally.deductible_met += price.deductible
                tally.oop_met += patient
                tally.benefit_used += price.plan_paid
                tally.deductible += price.deductible
                tally.out_of_pocket += patient
                tally.plan_paid += price.plan_paid
                tally.counted |= 1 << index
        log LineAdjudicated(
            claim_id=claim_id,
            code=line.code,
            units=line.units,
            billed=line.billed,
            allowed=price.allowed,
            deductible=price.deductible,
            copay=price.copay,
            coinsurance=price.coinsurance,
            benefit_limit=price.benefit_limit,
            plan_paid=price.plan_paid,
            denial=denial,
        )
        index += 1

    # @dev Record: the member's accumulators and the duplicate-line keys, when any line
    # was priced (rule (c) looks at earlier claims only, so keys follow all the lines).
    if tally.counted != 0:
        ledger._store_accumulators(ctx.plan_id, claim.member, tally.period, tally.deductible_met, tally.oop_met, tally.benefit_used)
        for i: uint256 in range(len(keys), bound=MAX_LINES):
            ledger._mark_line(ctx.plan_id, keys[i], bits[i])

    # @dev Route: denied, pending review, or approved and paid now or queued.
    status: uint256 = self._route(ctx, claim.commitment, claim.member, claim.service_day, claim_id, tally)
    if status == STATUS_PENDING_REVIEW:
        log ClaimPendingReview(claim_id=claim_id, plan_id=ctx.plan_id, plan_paid=tally.plan_paid)
    if status == STATUS_PAID:
        return claim_id, tally.plan_paid
    return claim_id, 0


@internal
@view
def _check(ctx: Submission, commitment: bytes32, service_day: uint256, lines: DynArray[ClaimLine, MAX_LINES]):
    """
    @dev Rejects of checks 2 to 4, in order.
    """
    assert ledger.claim_words[ctx.plan_id][ctx.provider][commitment] == 0, "claims: duplicate"
    valid: bool = len(lines) > 0
    for line: ClaimLine in lines:
        valid = valid and line.units > 0 and line.units <= packing.MASK_32 and line.billed <= packing.MASK_43
    assert valid, "claims: invalid claim"
    assert service_day <= ctx.today, "claims: service date in the future"


@internal
@view
def _open_tally(ctx: Submission, member: bytes32, service_day: uint256) -> Tally:
    """
    @dev Claim-level checks 5 to 9, in the spec's order: the first that fails is the
         claim's denial. For an eligible claim, its benefit period, the schedule version
         in force on its service day, and the member's accumulators of the period.
    """
    tally: Tally = empty(Tally)
    enrolled: bool = False
    start: uint256 = 0
    end: uint256 = 0
    enrolled_period: uint256 = 0
    enrolled, start, end, enrolled_period = packing._unpack_member(registry.member_words[ctx.plan_id][member])
    # @dev The claim's benefit period; a day before the plan's effective day is in period 0
    # (denied 26 below). A pseudonym is enrolled for one period: a claim of another is 31.
    tally.period = unsafe_sub(max(service_day, ctx.terms.effective_day), ctx.terms.effective_day) // ctx.terms.benefit_period_days
    if not enrolled or tally.period != enrolled_period:
        tally.denial = DENY_NOT_ENROLLED
    elif service_day < max(ctx.terms.effective_day, start):
        tally.denial = DENY_OUTSIDE_COVERAGE_START
    elif service_day > end:
        tally.denial = DENY_AFTER_COVERAGE_END
    elif service_day < start + ctx.terms.waiting_period_days:
        tally.denial = DENY_OUTSIDE_COVERAGE_START
    # @dev service_day <= today was checked before (reject 4).
    elif registry._filed_late(ctx.plan_id, ctx.terms.timely_filing_days, service_day):
        tally.denial = DENY_LATE_FILING
    else:
        if ctx.terms.versioned:
            tally.version = registry._version_on(ctx.plan_id, registry.plan_words[ctx.plan_id], service_day)
        tally.deductible_met, tally.oop_met, tally.benefit_used = ledger._accumulators(ctx.plan_id, member, tally.period)
    return tally


@internal
def _price_line(
    ctx: Submission, member: bytes32, service_day: uint256, prior_auth: bool, line: ClaimLine, tally: Tally
) -> (uint256, pricing.LinePrice, bytes32, uint256):
    """
    @dev Line rules (a) to (e) in order, then pricing, with the schedule version in force
         on the service day. Returns the denial code (0 when the line is priced), its
         price, and its duplicate-line key and bit. Counts the line's units when it
         passes (e).
    """
    word: uint256 = registry.service_words[ctx.plan_id][tally.version][line.code]
    if word == 0:
        return DENY_NOT_COVERED, empty(pricing.LinePrice), empty(bytes32), 0
    svc: packing.ServiceTerms = packing._unpack_service(word)
    if svc.prior_auth and not prior_auth:
        return DENY_NO_PRIOR_AUTH, empty(pricing.LinePrice), empty(bytes32), 0
    key: bytes32 = empty(bytes32)
    bit: uint256 = 0
    key, bit = ledger._line_key(member, ctx.provider, service_day, svc.index)
    if ledger.line_bitmaps[ctx.plan_id][key] & bit != 0:
        return DENY_DUPLICATE_LINE, empty(pricing.LinePrice), empty(bytes32), 0
    if svc.max_units_per_day != 0 and line.units > svc.max_units_per_day:
        return DENY_DAILY_UNITS, empty(pricing.LinePrice), empty(bytes32), 0
    if svc.max_units_per_period != 0:
        if not ledger._count_units(ctx.plan_id, member, tally.period, line.code, line.units, svc.max_units_per_period):
            return DENY_PERIOD_UNITS, empty(pricing.LinePrice), empty(bytes32), 0

    benefit_left: uint256 = max_value(uint256)
    if ctx.terms.has_benefit_max:
        benefit_left = ctx.terms.annual_benefit_max - min(tally.benefit_used, ctx.terms.annual_benefit_max)
    price: pricing.LinePrice = pricing._price_line(
        line.billed,
        svc.fee,
        line.units,
        svc.copay,
        svc.has_copay,
        svc.deductible_applies,
        ctx.terms.coinsurance_bps,
        ctx.terms.deductible - min(tally.deductible_met, ctx.terms.deductible),
        ctx.terms.out_of_pocket_max - min(tally.oop_met, ctx.terms.out_of_pocket_max),
        benefit_left,
    )
    return 0, price, key, bit


@internal
def _route(ctx: Submission, commitment: bytes32, member: bytes32, service_day: uint256, claim_id: uint256, tally: Tally) -> uint256:
    """
    @dev The claim outcome: denied, pending review (auto-approve limit, then provider
         daily limit), or approved and paid now or queued. Records and logs the claim
         with its status, and returns the status.
    """
    status: uint256 = STATUS_DENIED
    effects: uint256 = 0
    if tally.counted != 0:
        effects = ledger._effects_hash(member, service_day, tally.deductible, tally.out_of_pocket, tally.lines_hash)
        status = STATUS_PENDING_REVIEW
        if tally.plan_paid <= ctx.terms.auto_approve_limit and (
            not ctx.terms.has_daily_limit or self._within_daily_limit(ctx, tally.plan_paid)
        ):
            status = STATUS_QUEUED
            if pool._approve_payment(ctx.plan_id, claim_id, commitment, ctx.provider, ctx.payout, tally.plan_paid):
                status = STATUS_PAID

    ledger._record_claim(ctx.plan_id, ctx.provider, commitment, claim_id, status, tally.plan_paid, effects)
    log ClaimSubmitted(
        claim_id=claim_id,
        plan_id=ctx.plan_id,
        member=member,
        provider=msg.sender,
        commitment=commitment,
        service_day=service_day,
        status=status,
        plan_paid=tally.plan_paid,
    )
    return status


@internal
def _within_daily_limit(ctx: Submission, amount: uint256) -> bool:
    """
    @dev The provider daily limit of a plan that has one: adds the claim to the
         provider's total of the day, or says it would go above.
    """
    return ledger._within_daily_limit(ctx.plan_id, ctx.provider, ctx.today, amount, registry.daily_limits[ctx.plan_id])


@internal
@view
def _debt(ctx: Submission) -> uint256:
    """
    @dev The submitting provider's debt: read only when its account word says it has one.
    """
    if not ctx.in_debt:
        return 0
    return registry._payout(ctx.plan_id, ctx.provider)[1]


@internal
def _pay(plan_id: bytes32, provider: uint256, payout: address, claim_id: uint256, amount: uint256, debt: uint256):
    """
    @dev Pays a provider, or credits it in the engine when the token refuses. Its debt to
         the plan (`debt`) is kept back first.
    """
    owed: uint256 = amount
    if debt != 0:
        kept: uint256 = min(debt, amount)
        self._keep_for_debt(plan_id, provider, claim_id, debt, kept)
        owed = amount - kept
        if owed == 0:
            return
    if not pool._try_send(plan_id, payout, owed, pool.PAY_GAS):
        pool._credit(plan_id, provider, registry.provider_refs[plan_id][provider], claim_id, owed)


@internal
def _keep_for_debt(plan_id: bytes32, provider: uint256, claim_id: uint256, debt: uint256, kept: uint256):
    """
    @dev Keeps `kept` of a payment for the provider's debt: back to the pool's balance.
    """
    registry._set_debt(plan_id, provider, debt - kept)
    pool._recover(plan_id, registry.provider_refs[plan_id][provider], claim_id, kept)


@internal
def _void(plan_id: bytes32, provider: uint256, commitment: bytes32, effects: ledger.Effects, position: uint256, replaced_by: uint256) -> uint256:
    """
    @dev Voids a provider's claim: the checks of `void_claim`, then the take-back.
    """
    plan_word: uint256 = registry.plan_words[plan_id]
    self._enforce_not_paused(plan_word)
    word: uint256 = ledger.claim_words[plan_id][provider][commitment]
    claim_id: uint256 = 0
    status: uint256 = 0
    plan_paid: uint256 = 0
    claim_id, status, plan_paid = packing._unpack_claim(word)
    assert status >= STATUS_PENDING_REVIEW and status <= STATUS_PAID, "claims: not voidable"
    ledger._check_effects(word, effects)
    # @dev The service day was on or before the day of submission, so before today.
    assert not registry._filed_late(plan_id, (plan_word >> packing.PLAN_FILING_DAYS) & packing.MASK_16, effects.service_day), "claims: void window closed"
    self._take_back(plan_id, provider, plan_word, plan_paid, effects)
    debt: uint256 = 0
    if status == STATUS_QUEUED:
        pool._unqueue(plan_id, claim_id, position)
    elif status == STATUS_PAID:
        debt = plan_paid
        registry._set_debt(plan_id, provider, registry._payout(plan_id, provider)[1] + debt)
    ledger._set_status(plan_id, provider, commitment, STATUS_VOIDED)
    log ClaimVoided(
        claim_id=claim_id,
        plan_id=plan_id,
        provider_ref=registry.provider_refs[plan_id][provider],
        status_before=status,
        replaced_by=replaced_by,
        debt=debt,
    )
    return claim_id


@internal
def _take_back(plan_id: bytes32, provider: uint256, plan_word: uint256, plan_paid: uint256, effects: ledger.Effects):
    """
    @dev Takes back what a claim left behind (checked effects): its shares of the member's
         accumulators, its period units and its duplicate-line keys.
    """
    terms: packing.Terms = packing._unpack_plan(plan_word)
    period: uint256 = (effects.service_day - terms.effective_day) // terms.benefit_period_days
    ledger._take_back_totals(plan_id, effects.member, period, effects.deductible, effects.out_of_pocket, plan_paid)
    version: uint256 = registry._version_on(plan_id, plan_word, effects.service_day)
    for line: ledger.EffectLine in effects.lines:
        ledger._take_back_line(
            plan_id, effects.member, provider, effects.service_day, period, line, registry.service_words[plan_id][version][line.code]
        )


@internal
def _settle(plan_id: bytes32, max_claims: uint256) -> uint256:
    """
    @dev Pays queued claims first-in, first-out, and stops at the first one the pool
         cannot cover. A payment the token refuses is credited and settlement goes on.
    """
    paid: uint256 = 0
    for i: uint256 in range(max_claims, bound=MAX_SETTLE):
        queued: pool.QueuedClaim = pool._pop_payable(plan_id)
        if queued.claim_id == 0:
            break
        payout: address = empty(address)
        debt: uint256 = 0
        payout, debt = registry._payout(plan_id, queued.provider)
        ledger._set_status(plan_id, queued.provider, queued.commitment, STATUS_PAID)
        pool._log_paid(plan_id, queued.claim_id, payout, queued.amount)
        self._pay(plan_id, queued.provider, payout, queued.claim_id, queued.amount, debt)
        paid += 1
    return paid
