# pragma version ~=0.4.3
"""
@title Payout pool
@notice Each plan's own ledger of the settlement token it holds and owes, and its
        first-in, first-out queue of approved claims waiting for funds. The ledger is
        kept in cents and never read from `balanceOf(self)`: several plans may share a
        token, and tokens sent to the engine by mistake belong to no pool.
"""

from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed


# @dev A pool's state, unpacked from its one storage word.
struct Pool:
    balance: uint256
    reserved: uint256
    head: uint256
    tail: uint256


# @dev A queued claim, unpacked from its two storage words.
struct QueuedClaim:
    claim_id: uint256
    commitment: bytes32
    provider: address
    amount: uint256


# @dev Masks of the packed words.
MASK_64: constant(uint256) = 2**64 - 1
MASK_160: constant(uint256) = 2**160 - 1

# @dev Claim ids are packed into 32 bits of a queue entry.
MAX_CLAIM_ID: constant(uint256) = 2**32 - 1


# @dev Per plan: balance | reserved << 64 | queue head << 128 | queue tail << 192, all
# in cents or positions. `reserved` is what the queued claims need.
pools: HashMap[bytes32, uint256]

# @dev Per plan: token address | (10 ** (decimals - 2)) << 160, the units in a cent.
tokens: HashMap[bytes32, uint256]

# @dev Per plan and position: provider | amount << 160 | claim id << 224.
queue_head_words: HashMap[bytes32, HashMap[uint256, uint256]]

# @dev Per plan and position: the queued claim's record commitment.
queue_commitments: HashMap[bytes32, HashMap[uint256, bytes32]]


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


# @dev An approved claim was paid to its provider's payout address. `amount` is in
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


@internal
def _set_token(plan_id: bytes32, token: address):
    """
    @dev Records a plan's settlement token and how many token units make a cent.
    """
    decimals: uint256 = convert(staticcall IERC20Detailed(token).decimals(), uint256)  # EXTERNAL CALL
    assert decimals >= 2 and decimals <= 30, "pool: token decimals"
    scale: uint256 = 10 ** (decimals - 2)
    self.tokens[plan_id] = convert(token, uint256) | (scale << 160)


@internal
@view
def _token(plan_id: bytes32) -> (address, uint256):
    """
    @dev A plan's token and its units per cent.
    """
    word: uint256 = self.tokens[plan_id]
    return convert(word & MASK_160, address), word >> 160


@internal
@view
def _pool(plan_id: bytes32) -> Pool:
    word: uint256 = self.pools[plan_id]
    return Pool(
        balance=word & MASK_64,
        reserved=(word >> 64) & MASK_64,
        head=(word >> 128) & MASK_64,
        tail=word >> 192,
    )


@internal
def _store_pool(plan_id: bytes32, pool: Pool):
    # @dev Amounts are cents; 2**64 cents is far beyond any pool, so the packing holds.
    assert pool.balance <= MASK_64 and pool.reserved <= MASK_64, "pool: overflow"
    self.pools[plan_id] = pool.balance | (pool.reserved << 64) | (pool.head << 128) | (pool.tail << 192)


@internal
def _approve_payment(
    plan_id: bytes32, claim_id: uint256, commitment: bytes32, provider: address, amount: uint256
) -> bool:
    """
    @dev An approved claim is paid now when nothing is queued and the balance covers it;
         otherwise it joins the queue. A new claim never overtakes a queued one.
         Returns True when the caller must pay `amount` now.
    """
    pool: Pool = self._pool(plan_id)
    if pool.head == pool.tail and pool.balance >= amount:
        pool.balance = unsafe_sub(pool.balance, amount)
        self._store_pool(plan_id, pool)
        return True
    assert claim_id <= MAX_CLAIM_ID, "pool: claim id overflow"
    self.queue_head_words[plan_id][pool.tail] = (
        convert(provider, uint256) | (amount << 160) | (claim_id << 224)
    )
    self.queue_commitments[plan_id][pool.tail] = commitment
    log ClaimQueued(claim_id=claim_id, plan_id=plan_id, position=pool.tail, amount=amount)
    pool.reserved += amount
    pool.tail += 1
    self._store_pool(plan_id, pool)
    return False


@internal
def _pop_payable(plan_id: bytes32) -> QueuedClaim:
    """
    @dev Takes the head of the queue when the balance covers it, first-in, first-out.
         Returns an empty QueuedClaim (claim_id 0) when the queue is empty or the
         balance does not cover its head: settlement stops there.
    """
    pool: Pool = self._pool(plan_id)
    if pool.head == pool.tail:
        return empty(QueuedClaim)
    word: uint256 = self.queue_head_words[plan_id][pool.head]
    amount: uint256 = (word >> 160) & MASK_64
    if pool.balance < amount:
        return empty(QueuedClaim)
    queued: QueuedClaim = QueuedClaim(
        claim_id=word >> 224,
        commitment=self.queue_commitments[plan_id][pool.head],
        provider=convert(word & MASK_160, address),
        amount=amount,
    )
    self.queue_head_words[plan_id][pool.head] = 0
    self.queue_commitments[plan_id][pool.head] = empty(bytes32)
    # @dev The queue's claims are part of both balance and reserved.
    pool.balance = unsafe_sub(pool.balance, amount)
    pool.reserved = unsafe_sub(pool.reserved, amount)
    pool.head += 1
    self._store_pool(plan_id, pool)
    return queued


@internal
def _fund(plan_id: bytes32, amount: uint256):
    """
    @dev Pulls `amount` cents of the plan's token from the caller into the pool.
    """
    token: address = empty(address)
    scale: uint256 = 0
    token, scale = self._token(plan_id)
    pool: Pool = self._pool(plan_id)
    pool.balance += amount
    self._store_pool(plan_id, pool)
    log PoolFunded(plan_id=plan_id, funder=msg.sender, amount=amount, balance=pool.balance)
    assert extcall IERC20(token).transferFrom(msg.sender, self, amount * scale, default_return_value=True), "pool: transfer failed"  # EXTERNAL CALL


@internal
def _withdraw(plan_id: bytes32, amount: uint256, recipient: address):
    """
    @dev Sends the insurer money that no queued claim needs.
    """
    pool: Pool = self._pool(plan_id)
    assert amount + pool.reserved <= pool.balance, "pool: amount exceeds free balance"
    pool.balance = unsafe_sub(pool.balance, amount)
    self._store_pool(plan_id, pool)
    log PoolWithdrawn(plan_id=plan_id, recipient=recipient, amount=amount, balance=pool.balance)
    self._send(plan_id, recipient, amount)


@internal
def _send(plan_id: bytes32, recipient: address, amount: uint256):
    """
    @dev Moves `amount` cents of the plan's token out of the engine.
    """
    token: address = empty(address)
    scale: uint256 = 0
    token, scale = self._token(plan_id)
    assert extcall IERC20(token).transfer(recipient, amount * scale, default_return_value=True), "pool: transfer failed"  # EXTERNAL CALL
