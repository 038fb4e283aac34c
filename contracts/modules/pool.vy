# pragma version ~=0.4.3
"""
@title Payout pool
@notice Each plan's own ledger of the settlement token it holds and owes, its first-in,
        first-out queue of approved claims waiting for funds, and the credits of
        providers whose payment the token refused. The ledger is kept in cents and never
        read from `balanceOf(self)`: several plans may share a token, and tokens sent to
        the engine by mistake belong to no pool. Funding must arrive whole. The pool
        emits its own events.
"""

from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed

from modules import packing


# @dev A pool's state, unpacked from its one storage word.
struct Pool:
    balance: uint256
    reserved: uint256
    head: uint256
    tail: uint256


# @dev A queued claim, unpacked from its two storage words. `provider` is the provider's
# number in the plan.
struct QueuedClaim:
    claim_id: uint256
    commitment: bytes32
    provider: uint256
    amount: uint256


# @dev Pool word: balance (64) | reserved (64) | queue head (64) | queue tail (64).
POOL_RESERVED: constant(uint256) = 64
POOL_HEAD: constant(uint256) = 128
POOL_TAIL: constant(uint256) = 192

# @dev Queue entry word: provider number (32) | amount (64) | claim id.
QUEUE_AMOUNT: constant(uint256) = 32
QUEUE_CLAIM_ID: constant(uint256) = 96

# @dev Token word: token address (160) | units per cent.
TOKEN_SCALE: constant(uint256) = 160

# @dev Gas a claim's payment may spend in the token (and any receive hook it calls). A
# standard transfer to a new account costs about 30,000-60,000 (a proxied, blocklist-checking
# token at the top); the rest leaves room for a modest hook. A payout hook that burns all it
# is given then costs settlement this much, not all but 1/64 of what is left, so one claim
# cannot starve the claims behind it. A payment that needs more is credited, and `collect`
# (whose caller pays for its own transfer) passes all the gas.
PAY_GAS: constant(uint256) = 100_000

# @dev Holes (voided claims' places) one look at the queue's head moves past. Longer runs
# are passed by the next call.
MAX_HOLES: constant(uint256) = 256


# @dev Per plan: the packed pool word. `reserved` is what the queued claims need.
pools: HashMap[bytes32, uint256]

# @dev Per plan: token address | (10 ** (decimals - 2)) << TOKEN_SCALE, the units in a cent.
tokens: HashMap[bytes32, uint256]

# @dev Per plan and position: the packed queue entry.
queue_head_words: HashMap[bytes32, HashMap[uint256, uint256]]

# @dev Per plan and position: the queued claim's record commitment.
queue_commitments: HashMap[bytes32, HashMap[uint256, bytes32]]

# @dev Per plan and provider number: cents owed to the provider whose payment the token
# refused. They are out of the pool's balance and still held by the engine.
credits: HashMap[bytes32, HashMap[uint256, uint256]]


# @dev Tokens moved into a plan's pool.
event PoolFunded:
    plan_id: indexed(bytes32)
    funder: indexed(address)
    amount: uint256
    balance: uint256


# @dev The insurer took money that no queued claim needs out of a pool.
event PoolWithdrawn:
    plan_id: indexed(bytes32)
    recipient: indexed(address)
    amount: uint256
    balance: uint256


# @dev An approved claim was paid to its provider's payout address (or, when the token
# refused the transfer, credited to the provider: see ProviderCredited). `amount` is in
# cents: the token moved amount x 10 ** (decimals - 2) units.
event ClaimPaid:
    claim_id: indexed(uint256)
    plan_id: indexed(bytes32)
    payee: indexed(address)
    amount: uint256


# @dev An approved claim found the pool short, or others waiting, and joined the queue.
event ClaimQueued:
    claim_id: indexed(uint256)
    plan_id: indexed(bytes32)
    position: uint256
    amount: uint256


# @dev The token refused a payment; the amount is credited to the provider in the engine.
# `claim_id` is the claim's id, or 0 for the one transfer of a batch's payments.
event ProviderCredited:
    plan_id: indexed(bytes32)
    provider_ref: indexed(bytes32)
    claim_id: indexed(uint256)
    amount: uint256


# @dev Part of a payment to a provider was kept back for its debt to the plan (its voided
# paid claims) and returned to the pool's balance. `claim_id` is the paid claim, or 0 for
# a batch's one transfer or a collect.
event DebtRecovered:
    plan_id: indexed(bytes32)
    provider_ref: indexed(bytes32)
    claim_id: indexed(uint256)
    amount: uint256


# @dev A provider collected its credit to its payout address.
event CreditCollected:
    plan_id: indexed(bytes32)
    provider_ref: indexed(bytes32)
    payout: address
    amount: uint256


@internal
def _set_token(plan_id: bytes32, token: address):
    """
    @dev Records a plan's settlement token and how many token units make a cent.
    """
    decimals: uint256 = convert(staticcall IERC20Detailed(token).decimals(), uint256)  # EXTERNAL CALL
    assert decimals >= 2 and decimals <= 30, "pool: token decimals"
    scale: uint256 = 10 ** (decimals - 2)
    self.tokens[plan_id] = convert(token, uint256) | (scale << TOKEN_SCALE)


@internal
@view
def _token(plan_id: bytes32) -> (address, uint256):
    """
    @dev A plan's token and its units per cent.
    """
    word: uint256 = self.tokens[plan_id]
    return convert(word & packing.MASK_160, address), word >> TOKEN_SCALE


@internal
@view
def _pool(plan_id: bytes32) -> Pool:
    word: uint256 = self.pools[plan_id]
    return Pool(
        balance=word & packing.MASK_64,
        reserved=(word >> POOL_RESERVED) & packing.MASK_64,
        head=(word >> POOL_HEAD) & packing.MASK_64,
        tail=word >> POOL_TAIL,
    )


@internal
def _store_pool(plan_id: bytes32, pool: Pool):
    # @dev Amounts are cents; 2**64 cents is far beyond any pool, so the packing holds.
    assert pool.balance <= packing.MASK_64 and pool.reserved <= packing.MASK_64, "pool: overflow"
    self.pools[plan_id] = pool.balance | (pool.reserved << POOL_RESERVED) | (pool.head << POOL_HEAD) | (pool.tail << POOL_TAIL)


@internal
@view
def _queued(plan_id: bytes32, position: uint256) -> QueuedClaim:
    word: uint256 = self.queue_head_words[plan_id][position]
    return QueuedClaim(
        claim_id=word >> QUEUE_CLAIM_ID,
        commitment=self.queue_commitments[plan_id][position],
        provider=word & packing.MASK_32,
        amount=(word >> QUEUE_AMOUNT) & packing.MASK_64,
    )


@internal
def _approve_payment(
    plan_id: bytes32, claim_id: uint256, commitment: bytes32, provider: uint256, payout: address, amount: uint256
) -> bool:
    """
    @dev An approved claim is paid now when nothing is queued and the balance covers it;
         otherwise it joins the queue. A new claim never overtakes a queued one (a
         voided claim's hole is not a queued claim). Returns True when the caller must
         pay `amount` now (ClaimPaid is logged here).
    """
    word: uint256 = self.pools[plan_id]
    if (word >> POOL_HEAD) & packing.MASK_64 == word >> POOL_TAIL and word & packing.MASK_64 >= amount:
        # @dev The balance is the word's low bits and covers the amount: subtracting from
        # the word takes it from the balance alone. (The common case, so done in place.)
        self.pools[plan_id] = unsafe_sub(word, amount)
    else:
        pool: Pool = self._skip_holes(plan_id, self._pool(plan_id))
        if pool.head != pool.tail or pool.balance < amount:
            # @dev Claim ids stay below 2**40 and provider numbers fit 32 bits (`packing`).
            self.queue_head_words[plan_id][pool.tail] = provider | (amount << QUEUE_AMOUNT) | (claim_id << QUEUE_CLAIM_ID)
            self.queue_commitments[plan_id][pool.tail] = commitment
            log ClaimQueued(claim_id=claim_id, plan_id=plan_id, position=pool.tail, amount=amount)
            pool.reserved += amount
            pool.tail += 1
            self._store_pool(plan_id, pool)
            return False
        # @dev Only voided claims' holes were ahead: the queue is empty.
        pool.balance = unsafe_sub(pool.balance, amount)
        self._store_pool(plan_id, pool)
    log ClaimPaid(claim_id=claim_id, plan_id=plan_id, payee=payout, amount=amount)
    return True


@internal
def _log_paid(plan_id: bytes32, claim_id: uint256, payout: address, amount: uint256):
    log ClaimPaid(claim_id=claim_id, plan_id=plan_id, payee=payout, amount=amount)


@internal
def _pop_payable(plan_id: bytes32) -> QueuedClaim:
    """
    @dev Takes the head of the queue when the balance covers it, first-in, first-out,
         passing voided claims' holes. Returns an empty QueuedClaim (claim_id 0) when
         the queue is empty or the balance does not cover its head: settlement stops there.
    """
    pool: Pool = self._skip_holes(plan_id, self._pool(plan_id))
    queued: QueuedClaim = self._queued(plan_id, pool.head)
    if pool.head == pool.tail or queued.claim_id == 0 or pool.balance < queued.amount:
        self._store_pool(plan_id, pool)
        return empty(QueuedClaim)
    self.queue_head_words[plan_id][pool.head] = 0
    self.queue_commitments[plan_id][pool.head] = empty(bytes32)
    # @dev The queue's claims are part of both balance and reserved.
    pool.balance = unsafe_sub(pool.balance, queued.amount)
    pool.reserved = unsafe_sub(pool.reserved, queued.amount)
    pool.head += 1
    self._store_pool(plan_id, pool)
    return queued


@internal
@view
def _skip_holes(plan_id: bytes32, pool: Pool) -> Pool:
    """
    @dev The pool with its head moved past the holes that voids left at the front.
    """
    moved: Pool = pool
    for i: uint256 in range(MAX_HOLES):
        if moved.head == moved.tail or self.queue_head_words[plan_id][moved.head] != 0:
            break
        moved.head += 1
    return moved


@internal
def _unqueue(plan_id: bytes32, claim_id: uint256, position: uint256):
    """
    @dev Takes a voided claim out of the queue at `position`, leaving a hole: the claims
         behind keep their order. Its amount is no longer reserved.
    """
    word: uint256 = self.queue_head_words[plan_id][position]
    assert word >> QUEUE_CLAIM_ID == claim_id, "claims: wrong effects"
    self.queue_head_words[plan_id][position] = 0
    self.queue_commitments[plan_id][position] = empty(bytes32)
    pool: Pool = self._pool(plan_id)
    pool.reserved -= (word >> QUEUE_AMOUNT) & packing.MASK_64
    self._store_pool(plan_id, self._skip_holes(plan_id, pool))


@internal
def _recover(plan_id: bytes32, provider_ref: bytes32, claim_id: uint256, amount: uint256):
    """
    @dev Returns `amount` kept back from a payment for the provider's debt to the pool.
    """
    pool: Pool = self._pool(plan_id)
    pool.balance += amount
    self._store_pool(plan_id, pool)
    log DebtRecovered(plan_id=plan_id, provider_ref=provider_ref, claim_id=claim_id, amount=amount)


@internal
def _fund(plan_id: bytes32, amount: uint256):
    """
    @dev Pulls `amount` cents of the plan's token from the caller into the pool. The
         engine's balance must grow by the whole amount (no fee-on-transfer tokens).
    """
    assert amount > 0, "pool: zero amount"
    token: address = empty(address)
    scale: uint256 = 0
    token, scale = self._token(plan_id)
    pool: Pool = self._pool(plan_id)
    pool.balance += amount
    self._store_pool(plan_id, pool)
    log PoolFunded(plan_id=plan_id, funder=msg.sender, amount=amount, balance=pool.balance)
    before: uint256 = staticcall IERC20(token).balanceOf(self)  # EXTERNAL CALL
    assert extcall IERC20(token).transferFrom(msg.sender, self, amount * scale, default_return_value=True), "pool: transfer failed"  # EXTERNAL CALL
    after: uint256 = staticcall IERC20(token).balanceOf(self)  # EXTERNAL CALL
    assert after >= before and after - before == amount * scale, "pool: amount not received"


@internal
def _withdraw(plan_id: bytes32, amount: uint256, recipient: address):
    """
    @dev Sends the insurer money that no queued claim needs.
    """
    assert recipient != empty(address), "pool: zero address"
    pool: Pool = self._pool(plan_id)
    assert amount + pool.reserved <= pool.balance, "pool: amount exceeds free balance"
    pool.balance = unsafe_sub(pool.balance, amount)
    self._store_pool(plan_id, pool)
    log PoolWithdrawn(plan_id=plan_id, recipient=recipient, amount=amount, balance=pool.balance)
    self._send(plan_id, recipient, amount)


@internal
def _credit(plan_id: bytes32, provider: uint256, provider_ref: bytes32, claim_id: uint256, amount: uint256):
    """
    @dev Keeps a payment the token refused as the provider's credit in the engine.
    """
    self.credits[plan_id][provider] += amount
    log ProviderCredited(plan_id=plan_id, provider_ref=provider_ref, claim_id=claim_id, amount=amount)


@internal
def _collect(plan_id: bytes32, provider: uint256, provider_ref: bytes32, payout: address, kept: uint256) -> uint256:
    """
    @dev Sends a provider's whole credit, less `kept` (kept back for its debt), to its
         payout address; reverts when the token refuses, so that the provider can change
         its payout and try again.
    """
    amount: uint256 = self.credits[plan_id][provider] - kept
    self.credits[plan_id][provider] = 0
    log CreditCollected(plan_id=plan_id, provider_ref=provider_ref, payout=payout, amount=amount)
    if amount > 0:
        self._send(plan_id, payout, amount)
    return amount


@internal
def _send(plan_id: bytes32, recipient: address, amount: uint256):
    """
    @dev Moves `amount` cents of the plan's token out of the engine, or reverts.
    """
    assert self._try_send(plan_id, recipient, amount, msg.gas), "pool: transfer failed"


@internal
def _try_send(plan_id: bytes32, recipient: address, amount: uint256, gas_limit: uint256) -> bool:
    """
    @dev Moves `amount` cents of the plan's token out of the engine, giving the token at most
         `gas_limit` gas. False when the token refuses (reverts, runs out of gas, or returns
         false); a token that returns nothing succeeded.
         The token was checked to be a contract when the plan was created.
    """
    word: uint256 = self.tokens[plan_id]
    token: address = convert(word & packing.MASK_160, address)
    scale: uint256 = word >> TOKEN_SCALE
    success: bool = False
    response: Bytes[32] = b""
    success, response = raw_call(
        token,
        abi_encode(recipient, amount * scale, method_id=method_id("transfer(address,uint256)")),
        max_outsize=32,
        gas=gas_limit,
        revert_on_failure=False,
    )  # EXTERNAL CALL
    if not success:
        return False
    return len(response) == 0 or convert(response, bool)
