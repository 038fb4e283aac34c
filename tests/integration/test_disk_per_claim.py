"""Disk per claim: the state folder (chain, journal, vault, roster) grows by at most 2 KB a
claim (issue 14), measured on the generated realistic mix, with no timing involved.

Two populations of the same mix (six claims a member, weekly rounds), one twice the other:
what the larger one adds per extra claim is what a claim costs on disk, without the fixed
part (contract code, the first pages of every table, the year's blocks) that a small run
spreads over few claims. No timing: the sizes depend on the population, and on the wall
clock only through where the last pruning falls (garbage of up to a quarter of the live
state, a few hundred bytes a claim at these sizes; measured about 1.2 KB a claim).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from claimsengine.population import generate_population, run_population

pytestmark = pytest.mark.slow

TARGET_BYTES_PER_CLAIM = 2048
SEED = 11
#: (members, claims): the realistic benchmark's six claims a member, smaller.
#: Smaller than these, the year's fixed part (about 350 blocks, set-up, the first pages of
#: every table) still weighs on the difference.
SMALL = (100, 600)
LARGE = (200, 1200)


def _state_bytes(folder: Path, members: int, claims: int) -> int:
    run_population(
        generate_population(members, claims, SEED),
        state_dir=folder / "state",
        out_dir=folder / "out",
        chart=False,
    )
    return sum(p.stat().st_size for p in (folder / "state").rglob("*") if p.is_file())


def test_a_claim_costs_at_most_2_kb_of_state(tmp_path: Path) -> None:
    small = _state_bytes(tmp_path / "small", *SMALL)
    large = _state_bytes(tmp_path / "large", *LARGE)
    per_claim = (large - small) / (LARGE[1] - SMALL[1])
    assert 0 < per_claim <= TARGET_BYTES_PER_CLAIM, f"{per_claim:.0f} bytes a claim"
