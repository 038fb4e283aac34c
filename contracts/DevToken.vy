# pragma version ~=0.4.3
"""
@title Claims Dev Dollar
@notice A 6-decimal test stablecoin for dev chains (the embedded chain and anvil).
        It is snekmate's erc20 module as it is: the deployer owns it and may mint.
@custom:contact claimsengine developers
"""

from snekmate.auth import ownable
from snekmate.tokens import erc20

initializes: ownable
initializes: erc20[ownable := ownable]

exports: erc20.__interface__


@deploy
def __init__():
    """
    @notice The deployer becomes the owner and the only minter.
    """
    ownable.__init__()
    erc20.__init__("Claims Dev Dollar", "cUSD", 6, "Claims Dev Dollar", "1")
