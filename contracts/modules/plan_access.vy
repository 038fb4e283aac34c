# pragma version ~=0.4.3
"""
@title Plan access
@notice Who may do what. The engine's owner (its deployer) admits insurers; only an
        insurer creates a plan and becomes its admin. Per-plan roles are a flag bitset,
        checked in one place, with a two-step hand-over of the admin role after which the
        previous admin holds no role on the plan. Every plan has its own roles, so no
        insurer can touch another insurer's plan.
"""


# @dev The roles an account can hold in a plan.
flag Role:
    ADMIN
    ADJUDICATOR


# @dev The engine's owner: the deployer. It admits and removes insurers, nothing else.
owner: public(address)

# @dev Accounts the owner admitted as insurers: only they create plans.
insurers: public(HashMap[address, bool])

# @dev The roles each account holds, per plan.
roles: public(HashMap[bytes32, HashMap[address, Role]])

# @dev The one admin of each plan (the insurer); empty while the plan does not exist.
admin: public(HashMap[bytes32, address])

# @dev The account offered the admin role, until it accepts.
pending_admin: public(HashMap[bytes32, address])

# @dev The owner admitted or removed an insurer.
event InsurerSet:
    account: indexed(address)
    allowed: bool


# @dev An account's roles in a plan changed.
event RoleSet:
    plan_id: indexed(bytes32)
    account: indexed(address)
    roles: Role


# @dev The admin offered the admin role to another account.
event AdminTransferStarted:
    plan_id: indexed(bytes32)
    admin: indexed(address)
    pending_admin: indexed(address)


# @dev The offered account accepted the admin role.
event AdminTransferred:
    plan_id: indexed(bytes32)
    previous_admin: indexed(address)
    new_admin: indexed(address)


@deploy
def __init__():
    """
    @dev The deployer becomes the owner.
    """
    self.owner = msg.sender


@external
@nonreentrant
def set_insurer(account: address, allowed: bool):
    """
    @notice Admits an account as an insurer (it may then create plans), or removes it.
            Removing an insurer leaves the plans it created as they are.
    @param account The account.
    @param allowed True to admit, False to remove.
    """
    assert msg.sender == self.owner, "claims: not owner"
    self._enforce_address(account)
    self.insurers[account] = allowed
    log InsurerSet(account=account, allowed=allowed)


@external
@nonreentrant
def set_role(plan_id: bytes32, account: address, roles: Role):
    """
    @notice Gives an account its roles in a plan, replacing what it had. The admin role
            itself moves only through `transfer_admin`.
    @param plan_id The plan.
    @param account The account.
    @param roles The roles it should hold.
    """
    self._enforce_role(plan_id, Role.ADMIN)
    assert Role.ADMIN not in roles, "access: admin moves by transfer"
    self._enforce_address(account)
    held: Role = roles
    if Role.ADMIN in self.roles[plan_id][account]:
        held = held | Role.ADMIN
    self.roles[plan_id][account] = held
    log RoleSet(plan_id=plan_id, account=account, roles=held)


@external
@nonreentrant
def transfer_admin(plan_id: bytes32, new_admin: address):
    """
    @notice Offers the plan's admin role to another account. It moves when that account
            calls `accept_admin`.
    @param plan_id The plan.
    @param new_admin The account offered the role.
    """
    self._enforce_role(plan_id, Role.ADMIN)
    self.pending_admin[plan_id] = new_admin
    log AdminTransferStarted(plan_id=plan_id, admin=msg.sender, pending_admin=new_admin)


@external
@nonreentrant
def accept_admin(plan_id: bytes32):
    """
    @notice Takes the admin role that was offered to the caller. The previous admin
            loses every role it held on the plan.
    @param plan_id The plan.
    """
    assert msg.sender == self.pending_admin[plan_id], "access: not pending admin"
    previous: address = self.admin[plan_id]
    # @dev The previous admin keeps no role: not ADMIN, not ADJUDICATOR.
    self.roles[plan_id][previous] = empty(Role)
    log RoleSet(plan_id=plan_id, account=previous, roles=empty(Role))
    self.roles[plan_id][msg.sender] = self.roles[plan_id][msg.sender] | Role.ADMIN
    self.admin[plan_id] = msg.sender
    self.pending_admin[plan_id] = empty(address)
    log AdminTransferred(plan_id=plan_id, previous_admin=previous, new_admin=msg.sender)


@internal
def _init_plan(plan_id: bytes32, admin: address):
    """
    @dev Makes `admin`, who must be an insurer, the admin of a new plan.
    """
    assert self.insurers[admin], "claims: not an insurer"
    self.admin[plan_id] = admin
    self.roles[plan_id][admin] = Role.ADMIN
    log RoleSet(plan_id=plan_id, account=admin, roles=Role.ADMIN)


@internal
@pure
def _enforce_address(account: address):
    assert account != empty(address), "access: zero address"


@internal
@view
def _enforce_role(plan_id: bytes32, role: Role):
    """
    @dev The one place where a caller's role is checked.
    """
    assert role in self.roles[plan_id][msg.sender], "access: not authorised"

