# pragma version ~=0.4.3
"""
@title Plan access
@notice Per-plan roles kept as a flag bitset, checked in one place, with a two-step
        hand-over of the admin role. Every plan has its own roles, so no insurer can
        touch another insurer's plan. (The pause switch lives in the plan's packed terms
        word in the engine, so that a submission reads one slot, not two.)
"""


# @dev The roles an account can hold in a plan.
flag Role:
    ADMIN
    ADJUDICATOR


# @dev The roles each account holds, per plan.
roles: public(HashMap[bytes32, HashMap[address, Role]])

# @dev The one admin of each plan (the insurer); empty while the plan does not exist.
admin: public(HashMap[bytes32, address])

# @dev The account offered the admin role, until it accepts.
pending_admin: public(HashMap[bytes32, address])

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


@external
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
    assert account != empty(address), "access: zero address"
    held: Role = roles
    if Role.ADMIN in self.roles[plan_id][account]:
        held = held | Role.ADMIN
    self.roles[plan_id][account] = held
    log RoleSet(plan_id=plan_id, account=account, roles=held)


@external
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
def accept_admin(plan_id: bytes32):
    """
    @notice Takes the admin role that was offered to the caller.
    @param plan_id The plan.
    """
    assert msg.sender == self.pending_admin[plan_id], "access: not pending admin"
    previous: address = self.admin[plan_id]
    self.roles[plan_id][previous] = self.roles[plan_id][previous] & ~Role.ADMIN
    self.roles[plan_id][msg.sender] = self.roles[plan_id][msg.sender] | Role.ADMIN
    self.admin[plan_id] = msg.sender
    self.pending_admin[plan_id] = empty(address)
    log AdminTransferred(plan_id=plan_id, previous_admin=previous, new_admin=msg.sender)


@internal
def _init_plan(plan_id: bytes32, admin: address):
    """
    @dev Makes `admin` the admin of a new plan.
    """
    self.admin[plan_id] = admin
    self.roles[plan_id][admin] = Role.ADMIN
    log RoleSet(plan_id=plan_id, account=admin, roles=Role.ADMIN)


@internal
@view
def _enforce_role(plan_id: bytes32, role: Role):
    """
    @dev The one place where a caller's role is checked.
    """
    assert role in self.roles[plan_id][msg.sender], "access: not authorised"

