# pragma version ~=0.4.3
"""
@title No-return test token
@notice An ERC-20 for tests only whose transfer and transferFrom return nothing, as some
        old tokens do. Anyone may mint. A payment to a blocked account reverts.
@custom:contact claimsengine developers
"""

# @dev Standard ERC-20 state.
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])

# @dev Recipients the token refuses to pay.
blocked: public(HashMap[address, bool])


# @dev Standard ERC-20 event.
event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
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
    log Transfer(sender=empty(address), receiver=to, value=amount)


@external
def set_blocked(account: address, blocked: bool):
    """
    @notice Blocks or unblocks payments to an account.
    @param account The account.
    @param blocked True to refuse it.
    """
    self.blocked[account] = blocked


@external
def approve(spender: address, amount: uint256):
    """
    @notice Approve, returning nothing.
    @param spender The spender.
    @param amount The allowance.
    """
    self.allowance[msg.sender][spender] = amount


@external
def transfer(receiver: address, amount: uint256):
    """
    @notice Transfer, returning nothing.
    @param receiver The receiver.
    @param amount The amount.
    """
    self._transfer(msg.sender, receiver, amount)


@external
def transferFrom(owner: address, receiver: address, amount: uint256):
    """
    @notice TransferFrom, returning nothing.
    @param owner Whose tokens move.
    @param receiver The receiver.
    @param amount The amount.
    """
    self.allowance[owner][msg.sender] -= amount
    self._transfer(owner, receiver, amount)


@internal
def _transfer(owner: address, receiver: address, amount: uint256):
    assert not self.blocked[receiver], "token: receiver blocked"
    self.balanceOf[owner] -= amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=owner, receiver=receiver, value=amount)
