# pragma version ~=0.4.3
"""
@title Hostile test token
@notice An ERC-20 for tests only, with switches for the ways a token can hurt a contract
        that holds it: a fee taken on every transfer, accounts it refuses to pay, transfers
        that return false instead of reverting, a hook that calls back into another
        contract (to try re-entry) before a transfer completes, and an ERC-777-style hook
        that calls the receiver of a transfer. Anyone may mint and flip
        the switches: never deploy it anywhere that matters.
@custom:contact claimsengine developers
"""

from ethereum.ercs import IERC20

implements: IERC20


# @dev Standard ERC-20 state.
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])
totalSupply: public(uint256)

# @dev Basis points of every transfer that vanish (a fee-on-transfer token).
fee_bps: public(uint256)

# @dev Recipients the token refuses to pay (a blocklist token): transfers revert.
blocked: public(HashMap[address, bool])

# @dev When set, transfers return false instead of moving anything.
refuse_by_false: public(bool)

# @dev When set, every transfer first calls `hook_target` with `hook_data` and reverts if
# that call fails (a token with a receive hook that lets the caller re-enter).
hook_target: public(address)
hook_data: public(Bytes[1024])

# @dev When set, a transfer to a contract calls `tokensReceived()` on it and reverts if that
# call fails (an ERC-777-style receive hook: the receiver decides, and may burn all gas).
call_receiver: public(bool)


# @dev Standard ERC-20 events.
event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256


event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256


@external
@view
def decimals() -> uint8:
    """
    @notice Six decimals, as the dev token.
    @return uint8 6.
    """
    return 6


@external
def mint(to: address, amount: uint256):
    """
    @notice Mints tokens to anyone (test token).
    @param to The receiver.
    @param amount The amount in token units.
    """
    self.balanceOf[to] += amount
    self.totalSupply += amount
    log Transfer(sender=empty(address), receiver=to, value=amount)


@external
def set_fee(fee_bps: uint256):
    """
    @notice Sets the fee taken on every transfer.
    @param fee_bps The fee in basis points.
    """
    self.fee_bps = fee_bps


@external
def set_blocked(account: address, blocked: bool):
    """
    @notice Blocks or unblocks payments to an account.
    @param account The account.
    @param blocked True to refuse it.
    """
    self.blocked[account] = blocked


@external
def set_refuse_by_false(refuse: bool):
    """
    @notice Makes transfers return false (moving nothing) instead of working.
    @param refuse True to refuse.
    """
    self.refuse_by_false = refuse


@external
def set_hook(target: address, data: Bytes[1024]):
    """
    @notice Calls `target` with `data` at the start of every transfer (empty target: off).
    @param target The contract to call.
    @param data The calldata.
    """
    self.hook_target = target
    self.hook_data = data


@external
def set_call_receiver(call: bool):
    """
    @notice Makes transfers to a contract call `tokensReceived()` on it.
    @param call True to call the receiver.
    """
    self.call_receiver = call


@external
def approve(spender: address, amount: uint256) -> bool:
    """
    @notice Standard approve.
    @param spender The spender.
    @param amount The allowance.
    @return bool True.
    """
    self.allowance[msg.sender][spender] = amount
    log Approval(owner=msg.sender, spender=spender, value=amount)
    return True


@external
def transfer(receiver: address, amount: uint256) -> bool:
    """
    @notice Standard transfer, with the switches above.
    @param receiver The receiver.
    @param amount The amount.
    @return bool False when refusing by false.
    """
    return self._transfer(msg.sender, receiver, amount)


@external
def transferFrom(owner: address, receiver: address, amount: uint256) -> bool:
    """
    @notice Standard transferFrom, with the switches above.
    @param owner Whose tokens move.
    @param receiver The receiver.
    @param amount The amount.
    @return bool False when refusing by false.
    """
    self.allowance[owner][msg.sender] -= amount
    return self._transfer(owner, receiver, amount)


@internal
def _transfer(owner: address, receiver: address, amount: uint256) -> bool:
    if self.hook_target != empty(address):
        raw_call(self.hook_target, self.hook_data)  # EXTERNAL CALL
    if self.refuse_by_false:
        return False
    assert not self.blocked[receiver], "token: receiver blocked"
    fee: uint256 = amount * self.fee_bps // 10_000
    self.balanceOf[owner] -= amount
    self.balanceOf[receiver] += amount - fee
    self.totalSupply -= fee
    log Transfer(sender=owner, receiver=receiver, value=amount - fee)
    if self.call_receiver and receiver.is_contract and receiver != msg.sender:
        raw_call(receiver, method_id("tokensReceived()"))  # EXTERNAL CALL
    return True
