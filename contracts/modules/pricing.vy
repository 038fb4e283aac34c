# pragma version ~=0.4.3
"""
@title Line pricing
@notice Stateless money math of one covered claim line, in cents, exactly as
        `adjudication.md` orders it: fee schedule, deductible, copay or coinsurance,
        then the annual benefit limit. Plain import; it holds no state.
"""


# @dev The priced shares of one line. Every field is in cents and the line balances:
# allowed = deductible + copay + coinsurance + benefit_limit + plan_paid.
struct LinePrice:
    allowed: uint256
    deductible: uint256
    copay: uint256
    coinsurance: uint256
    benefit_limit: uint256
    plan_paid: uint256


# @dev Coinsurance is a share in basis points of the rest after the deductible.
BPS: constant(uint256) = 10_000


@internal
@pure
def _price_line(
    billed: uint256,
    fee: uint256,
    units: uint256,
    copay_amount: uint256,
    has_copay: bool,
    deductible_applies: bool,
    coinsurance_bps: uint256,
    deductible_left: uint256,
    oop_left: uint256,
    benefit_left: uint256,
) -> LinePrice:
    """
    @dev Prices one line that passed every line check.
    @param billed What the provider billed for the line.
    @param fee The plan's fee per unit for the code.
    @param units The units on the line.
    @param copay_amount The code's copay, when it has one.
    @param has_copay Whether the code has a copay (it then replaces coinsurance).
    @param deductible_applies Whether the deductible applies to the code.
    @param coinsurance_bps The plan's coinsurance in basis points.
    @param deductible_left The deductible the member still has to meet.
    @param oop_left The out-of-pocket maximum minus what the member already paid.
    @param benefit_left What the plan may still pay this period.
    @return LinePrice The line's shares.
    """
    price: LinePrice = empty(LinePrice)
    price.allowed = min(billed, fee * units)

    left: uint256 = oop_left
    if deductible_applies:
        price.deductible = min(price.allowed, min(deductible_left, left))
        # @dev deductible <= left by the min above.
        left = unsafe_sub(left, price.deductible)

    # @dev deductible <= allowed by the min above.
    rest: uint256 = unsafe_sub(price.allowed, price.deductible)
    if has_copay:
        price.copay = min(copay_amount, min(rest, left))
    else:
        # @dev Floor to the cent: the one rounding the rules allow.
        price.coinsurance = min(rest * coinsurance_bps // BPS, left)

    # @dev copay <= rest and coinsurance <= rest (bps <= 10000), and only one is non-zero.
    plan_share: uint256 = unsafe_sub(rest, price.copay + price.coinsurance)
    price.plan_paid = min(plan_share, benefit_left)
    price.benefit_limit = unsafe_sub(plan_share, price.plan_paid)
    return price
