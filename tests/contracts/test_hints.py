"""Every revert string the contracts can raise has a hint in `reverts.HINTS`, and the new
strings of issue 8 read word for word as the contract raises them."""

from __future__ import annotations

import re
from pathlib import Path

from claimsengine.reverts import HINTS

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
REASON = re.compile(r'"((?:claims|pool|access): [^"]+)"')


def contract_reasons() -> set[str]:
    sources = [*CONTRACTS.glob("*.vy"), *CONTRACTS.glob("modules/*.vy")]
    return {m for path in sources for m in REASON.findall(path.read_text())}


def test_every_revert_string_has_a_hint() -> None:
    reasons = contract_reasons()
    assert len(reasons) >= 40
    assert sorted(reasons - set(HINTS)) == []
    # And no hint is left for a string the contracts no longer raise.
    assert sorted(set(HINTS) - reasons) == []


def test_the_new_revert_strings_and_their_hints() -> None:
    # Each is raised by a test in test_attacks.py or test_roles.py (issue 8), or in
    # test_void.py or test_quorum.py (issue 10), word for word.
    expected = {
        "claims: not owner": "owner",
        "claims: not an insurer": "insurer add",
        "claims: not the provider": "provider's own",
        "claims: account taken": "another provider",
        "claims: unknown provider": "provider add",
        "claims: invalid reason": "50, 16, 96, 197, 204",
        "claims: effective day not after today": "future day",
        "claims: version out of order": "in order",
        "claims: unit limit mid-period": "first day of a benefit period",
        "claims: version in force": "before it takes effect",
        "claims: service exists": "new version",
        "pool: amount not received": "fee-on-transfer",
        "pool: transfer failed": "payout address",
        # Voids and quorum (issue 10): raised in test_void.py and test_quorum.py.
        "claims: already voted": "votes once",
        "claims: not voidable": "pending_review, queued or paid",
        "claims: wrong effects": "void by claim id",
        "claims: void window closed": "timely_filing_days",
        # A pseudonym stays in its period: raised in test_attacks.py.
        "claims: enrolled for another period": "pseudonym of the other period",
        # A provider's accounts are its own: raised in test_attacks.py.
        "claims: the provider adds its own accounts": "provider account add",
        "claims: not an account of the provider": "provider list",
        "claims: the owner account stays": "owner",
        "claims: too many accounts": "16",
    }
    reasons = contract_reasons()
    for reason, words in expected.items():
        assert reason in reasons
        assert words in HINTS[reason], reason
